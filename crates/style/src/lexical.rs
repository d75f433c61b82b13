//! Lexical signatures: words and 2-3-grams ranked by smoothed PMI against the background and,
//! when the script has other speakers, against them; each told apart as a verbal habit, a scene's
//! topic or a name (`SignatureKind`), since only habits are the character's voice.

use std::collections::{HashMap, HashSet};

use crate::background::Background;
use crate::catchphrases;
use crate::doc::Document;
use crate::scenes::Scenes;
use crate::text::Language;
use crate::word_roles::{self, Role, Roles};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LexicalSignature {
    pub term: String,
    /// Number of words in the term (Japanese and Chinese ones as their segmenter cuts them).
    pub n: u8,
    /// log2 of the term's rate in the character's lines over its background rate (discounted count).
    pub pmi: f64,
    /// log2 rate ratio against the other speakers of the same script, when there are any.
    pub pmi_vs_others: Option<f64>,
    pub count: u32,
    pub rate_per_1k: f64,
    pub examples: Vec<String>,
    /// Profiles stored before kinds were told apart hold habits only.
    #[serde(default)]
    pub kind: SignatureKind,
}

/// What a distinctive term says about a character.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SignatureKind {
    /// A verbal habit, used all over the script: part of the voice.
    #[default]
    Habit,
    /// A noun or noun phrase used in a few neighbouring lines: what one scene was about.
    Topic,
    /// A proper name, or names joined by function words ("crabbe and goyle").
    Name,
}

/// A profile's signatures: habits (what the scorer, plans and catchphrase checks use) apart from
/// the topics and names the character talks about.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signatures {
    pub habits: Vec<LexicalSignature>,
    pub catchphrases: Vec<LexicalSignature>,
    /// Topics and names, best first.
    pub vocabulary: Vec<LexicalSignature>,
}

const MIN_COUNT: u32 = 3;
const MAX_EXAMPLES: usize = 3;
/// Independence-based n-gram backgrounds inflate multi-word PMI, so words and phrases get quotas.
const TOP_WORDS: usize = 25;
const TOP_PHRASES: usize = 15;
const TOP_CATCHPHRASES: usize = 20;
const TOP_VOCABULARY: usize = 20;
/// Absolute discount on counts: tempers PMI's bias toward rare terms.
const DISCOUNT: f64 = 0.5;

#[derive(Debug, Default)]
struct Entry {
    count: u32,
    /// Uses that span punctuation ("Threepio, human").
    across_punct: u32,
    /// Distinct line indices, in order of first use.
    lines: Vec<usize>,
}

/// n-gram counts (n = 1..=3) of a document, within sentence boundaries.
#[derive(Debug, Default)]
pub struct NgramCounts {
    entries: HashMap<String, Entry>,
    pub tokens: usize,
}

pub fn joiner(lang: Language) -> &'static str {
    if matches!(lang, Language::Zh | Language::Ja) {
        ""
    } else {
        " "
    }
}

/// Joins the words of a counting key. Japanese and Chinese terms are shown without spaces
/// (`joiner`), which would lose their word boundaries, so their keys join words with U+001F: a
/// control character, which `text::normalize` removes from all text, so no word holds one.
pub fn key_joiner(lang: Language) -> &'static str {
    if joiner(lang).is_empty() {
        "\u{1F}"
    } else {
        " "
    }
}

/// The terms (n = 1..=3) of one sentence's lexical keys.
pub fn ngrams<'a>(words: &'a [String], sep: &'a str) -> impl Iterator<Item = (u8, String)> + 'a {
    (1..=3u8).flat_map(move |n| words.windows(usize::from(n)).map(move |w| (n, w.join(sep))))
}

impl NgramCounts {
    pub fn of(doc: &Document) -> Self {
        let sep = key_joiner(doc.language);
        let mut counts = NgramCounts::default();
        for s in &doc.sentences {
            counts.tokens += s.words.len();
            let punct = word_roles::punctuation_before(s);
            for n in 1..=3 {
                for (i, w) in s.words.windows(n).enumerate() {
                    let e = counts.entries.entry(w.join(sep)).or_default();
                    e.count += 1;
                    e.across_punct += u32::from(punct[i + 1..i + n].contains(&true));
                    if e.lines.last() != Some(&s.line) {
                        e.lines.push(s.line);
                    }
                }
            }
        }
        counts
    }

    pub fn count(&self, term: &str) -> u32 {
        self.entries.get(term).map_or(0, |e| e.count)
    }
}

/// The words of a counting key.
fn parts(key: &str, lang: Language) -> Vec<&str> {
    key.split(key_joiner(lang)).collect()
}

/// The kind of a term from its words' roles, or None for a phrase that is neither a habit nor
/// vocabulary: a name plus function words ("you potter", "hey pam"), a name cut off from the rest
/// by punctuation ("threepio, human"), or function words alone ("are you").
fn kind(parts: &[&str], e: &Entry, roles: &Roles, scenes: &Scenes) -> Option<SignatureKind> {
    let r: Vec<Role> = parts.iter().map(|p| roles.role(p)).collect();
    let is_name = |x: &Role| *x == Role::Name;
    let contentful = |x: &Role| matches!(x, Role::Noun | Role::Content);
    if r.iter().all(is_name) {
        // A name said twice over ("Penny, Penny, Penny") is a habit.
        let repeated = parts.len() > 1 && parts.iter().all(|p| *p == parts[0]);
        return Some(if repeated {
            SignatureKind::Habit
        } else {
            SignatureKind::Name
        });
    }
    if r.iter().any(is_name) {
        if 2 * e.across_punct > e.count {
            return None;
        }
        // Names joined by function words: "jabba the hutt", "crabbe and goyle".
        let joined_names = is_name(&r[0])
            && is_name(&r[r.len() - 1])
            && r.iter().all(|x| is_name(x) || *x == Role::Function);
        if joined_names {
            return Some(SignatureKind::Name);
        }
        if !r.iter().any(contentful) {
            return None;
        }
    } else if parts.len() > 1 && !r.iter().any(|x| contentful(x) || *x == Role::Interjection) {
        return None;
    }
    if r.contains(&Role::Noun) && scenes.is_clustered(&e.lines) {
        Some(SignatureKind::Topic)
    } else {
        Some(SignatureKind::Habit)
    }
}

/// Ranked lexical signatures and catchphrases of `doc`.
pub fn signatures(doc: &Document, others: Option<&NgramCounts>, bg: &Background) -> Signatures {
    let counts = NgramCounts::of(doc);
    let roles = Roles::of(doc);
    let scenes = Scenes::of(doc.lines.len());
    let total = counts.tokens.max(1) as f64;
    let mut words = Vec::new();
    let mut phrases = Vec::new();
    let mut vocabulary = Vec::new();
    for (term, e) in &counts.entries {
        if e.count < MIN_COUNT || e.lines.len() < 2 {
            continue;
        }
        let parts = parts(term, doc.language);
        if !parts.iter().any(|p| p.chars().any(char::is_alphabetic)) {
            continue;
        }
        let Some(kind) = kind(&parts, e, &roles, &scenes) else {
            continue;
        };
        let n = parts.len() as u8;
        let rate = (f64::from(e.count) - DISCOUNT) / total;
        let pmi = rate.log2() - bg.log2_prob(&parts);
        let pmi_vs_others = others.filter(|o| o.tokens > 0).map(|o| {
            let other_rate = (f64::from(o.count(term)) + DISCOUNT) / o.tokens as f64;
            rate.log2() - other_rate.log2()
        });
        if pmi <= 0.0 || pmi_vs_others.is_some_and(|p| p <= 0.0) {
            continue;
        }
        let sig = LexicalSignature {
            term: parts.join(joiner(doc.language)),
            n,
            pmi,
            pmi_vs_others,
            count: e.count,
            rate_per_1k: f64::from(e.count) * 1000.0 / total,
            examples: e
                .lines
                .iter()
                .take(MAX_EXAMPLES)
                .map(|&l| doc.lines[l].clone())
                .collect(),
            kind,
        };
        if n == 1 && kind != SignatureKind::Habit {
            vocabulary.push(sig);
        } else if n == 1 {
            words.push(sig);
        } else {
            phrases.push(Phrase {
                sig,
                parts: parts.iter().map(|p| p.to_string()).collect(),
                lines: e.lines.clone(),
            });
        }
    }
    let dropped = subsumed(&phrases);
    let (habit_phrases, other_phrases): (Vec<Phrase>, Vec<Phrase>) = phrases
        .into_iter()
        .enumerate()
        .filter_map(|(i, p)| (!dropped.contains(&i)).then_some(p))
        .partition(|p| p.sig.kind == SignatureKind::Habit);
    vocabulary.extend(other_phrases.into_iter().map(|p| p.sig));
    let mut habits = top(words, TOP_WORDS);
    habits.extend(top(
        habit_phrases.iter().map(|p| p.sig.clone()).collect(),
        TOP_PHRASES,
    ));
    Signatures {
        habits: top(habits, TOP_WORDS + TOP_PHRASES),
        catchphrases: catchphrases::pick(habit_phrases, &scenes, TOP_CATCHPHRASES),
        vocabulary: top(vocabulary, TOP_VOCABULARY),
    }
}

/// A multi-word term and the distinct lines it is used in.
pub struct Phrase {
    pub sig: LexicalSignature,
    pub parts: Vec<String>,
    pub lines: Vec<usize>,
}

/// A longer phrase stands for a shorter one inside it when it holds at least this share of the
/// shorter one's uses; otherwise the longer one is the shorter one plus a context word
/// ("at dunder mifflin").
const SUBSUMES_SHARE: f64 = 0.75;

/// Indices of the phrases that another one inside or around them stands for.
fn subsumed(phrases: &[Phrase]) -> HashSet<usize> {
    let by_term: HashMap<&str, usize> = phrases
        .iter()
        .enumerate()
        .map(|(i, p)| (p.sig.term.as_str(), i))
        .collect();
    let mut dropped = HashSet::new();
    for (long, p) in phrases.iter().enumerate() {
        let sep = if p.sig.term.contains(' ') { " " } else { "" };
        for n in 2..p.parts.len() {
            for inner in p.parts.windows(n) {
                let Some(&short) = by_term.get(inner.join(sep).as_str()) else {
                    continue;
                };
                let share = f64::from(p.sig.count) / f64::from(phrases[short].sig.count);
                dropped.insert(if share >= SUBSUMES_SHARE { short } else { long });
            }
        }
    }
    dropped
}

fn top(mut sigs: Vec<LexicalSignature>, k: usize) -> Vec<LexicalSignature> {
    sigs.sort_by(|a, b| b.pmi.total_cmp(&a.pmi).then_with(|| a.term.cmp(&b.term)));
    sigs.truncate(k);
    sigs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::shared::resources;

    #[test]
    fn planted_catchphrase_ranks_first() {
        // Filler lines of made-up words that never repeat, plus a phrase planted in 8 of them.
        let mut lines: Vec<String> = (0..60).map(crate::catchphrases::tests::filler).collect();
        for i in 0..8 {
            lines[i * 7].push_str(" Believe it or not!");
        }
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let doc = crate::profile::prepare(&refs, resources());
        let catchphrases = signatures(&doc, None, &resources().background_en).catchphrases;
        assert!(
            "believe it or not".contains(&catchphrases[0].term) && catchphrases[0].n >= 2,
            "{catchphrases:?}"
        );
        assert!(
            catchphrases
                .iter()
                .all(|c| "believe it or not".contains(&c.term)),
            "{catchphrases:?}"
        );
        assert!(catchphrases[0].examples.len() == 3 && catchphrases[0].count == 8);
    }

    #[test]
    fn others_filter_shared_vocabulary() {
        let me = [
            "The sword is sharp today.",
            "My sword never lies.",
            "A sword, a sword!",
            "Sharpen the sword.",
        ];
        let others = [
            "The sword is sharp.",
            "Your sword is dull.",
            "I sold a sword.",
            "Swords everywhere, sword sword.",
        ];
        let res = resources();
        let doc = crate::profile::prepare(&me, res);
        let other = NgramCounts::of(&crate::profile::prepare(&others, res));
        let alone = signatures(&doc, None, &res.background_en).habits;
        let vs = signatures(&doc, Some(&other), &res.background_en).habits;
        assert!(alone.iter().any(|s| s.term == "sword"));
        assert!(!vs.iter().any(|s| s.term == "sword"), "{vs:?}");
    }

    /// A reference character's profile, from `characters/en/{name}.txt` of the reference data.
    fn shared_profile(name: &str) -> crate::StyleProfile {
        let text = crate::profile::tests::shared_character_text("en", name);
        let lines: Vec<&str> = text.lines().collect();
        crate::analyze(&lines, &[], resources()).unwrap()
    }

    #[test]
    fn habits_leave_out_scene_topics_and_names() {
        let sheldon = shared_profile("sheldon_cooper");
        let habits: Vec<&str> = sheldon.lexical.iter().map(|s| s.term.as_str()).collect();
        // "tampons" and "hamburger" are each talked about in a few neighbouring lines.
        for noise in ["tampons", "hamburger", "leonard", "penny", "penny's"] {
            assert!(!habits.contains(&noise), "{noise}: {habits:?}");
        }
        // The three-fold knock on Penny's door is a habit, though made of a name.
        assert!(habits.contains(&"penny penny"), "{habits:?}");
        let kind_of = |p: &crate::StyleProfile, term: &str| {
            p.vocabulary.iter().find(|s| s.term == term).map(|s| s.kind)
        };
        assert_eq!(kind_of(&sheldon, "wolowitz"), Some(SignatureKind::Name));
        assert_eq!(
            kind_of(&sheldon, "tangerine chicken"),
            Some(SignatureKind::Topic)
        );

        let c3po = shared_profile("c3po");
        let terms: Vec<&str> = c3po
            .lexical
            .iter()
            .chain(&c3po.catchphrases)
            .map(|s| s.term.as_str())
            .collect();
        // "I am See-Threepio, human-cyborg relations": the name ends at the comma.
        assert!(!terms.contains(&"see threepio human"), "{terms:?}");
        assert!(!terms.contains(&"threepio human cyborg"), "{terms:?}");
        assert!(terms.contains(&"human cyborg relations"), "{terms:?}");
        assert_eq!(kind_of(&c3po, "jabba the hutt"), Some(SignatureKind::Name));
        // A name plus function words is neither a habit nor vocabulary.
        let penny = shared_profile("penny");
        let all: Vec<&str> = [&penny.lexical, &penny.catchphrases, &penny.vocabulary]
            .into_iter()
            .flatten()
            .map(|s| s.term.as_str())
            .collect();
        for noise in ["hey sheldon", "oh sheldon", "hey leonard", "sheldon what"] {
            assert!(!all.contains(&noise), "{noise}: {all:?}");
        }
    }

    /// Prints every shared English character's signatures and catchphrases: run with
    /// `cargo test -p kotodama-style --lib print_shared_signatures -- --ignored --nocapture`.
    #[test]
    #[ignore = "measurement printout over the reference data"]
    fn print_shared_signatures() {
        let dir = crate::test_data::dir().join("characters/en");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("reference characters missing at {}: {e}", dir.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            let p = crate::analyze(&lines, &[], resources()).unwrap();
            let show = |sigs: &[LexicalSignature]| {
                sigs.iter()
                    .map(|s| match s.kind {
                        SignatureKind::Habit => s.term.clone(),
                        kind => format!("{} ({kind:?})", s.term),
                    })
                    .collect::<Vec<_>>()
                    .join(" | ")
            };
            println!("== {}", path.file_stem().unwrap().to_string_lossy());
            println!("lexical: {}", show(&p.lexical));
            println!("catchphrases: {}", show(&p.catchphrases));
            println!("vocabulary: {}", show(&p.vocabulary));
        }
    }
}
