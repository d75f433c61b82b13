//! Lexical signatures: words and 2-3-grams ranked by smoothed PMI against the background and,
//! when the script has other speakers, against them.

use std::collections::{HashMap, HashSet};

use crate::background::Background;
use crate::catchphrases;
use crate::doc::Document;
use crate::text::Language;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LexicalSignature {
    pub term: String,
    /// Number of words (English) or characters (CJK) in the term.
    pub n: u8,
    /// log2 of the term's rate in the character's lines over its background rate (discounted count).
    pub pmi: f64,
    /// log2 rate ratio against the other speakers of the same script, when there are any.
    pub pmi_vs_others: Option<f64>,
    pub count: u32,
    pub rate_per_1k: f64,
    pub examples: Vec<String>,
}

const MIN_COUNT: u32 = 3;
const MAX_EXAMPLES: usize = 3;
/// Independence-based n-gram backgrounds inflate multi-word PMI, so words and phrases get quotas.
const TOP_WORDS: usize = 25;
const TOP_PHRASES: usize = 15;
const TOP_CATCHPHRASES: usize = 20;
/// Absolute discount on counts: tempers PMI's bias toward rare terms.
const DISCOUNT: f64 = 0.5;

#[derive(Debug, Default)]
struct Entry {
    count: u32,
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

/// The terms (n = 1..=3) of one sentence's lexical keys.
pub fn ngrams<'a>(words: &'a [String], sep: &'a str) -> impl Iterator<Item = (u8, String)> + 'a {
    (1..=3u8).flat_map(move |n| words.windows(usize::from(n)).map(move |w| (n, w.join(sep))))
}

impl NgramCounts {
    pub fn of(doc: &Document) -> Self {
        let sep = joiner(doc.language);
        let mut counts = NgramCounts::default();
        for s in &doc.sentences {
            counts.tokens += s.words.len();
            for (_, term) in ngrams(&s.words, sep) {
                let e = counts.entries.entry(term).or_default();
                e.count += 1;
                if e.lines.last() != Some(&s.line) {
                    e.lines.push(s.line);
                }
            }
        }
        counts
    }

    pub fn count(&self, term: &str) -> u32 {
        self.entries.get(term).map_or(0, |e| e.count)
    }
}

fn parts(term: &str, lang: Language) -> Vec<&str> {
    if joiner(lang).is_empty() {
        term.char_indices()
            .map(|(i, c)| &term[i..i + c.len_utf8()])
            .collect()
    } else {
        term.split(' ').collect()
    }
}

/// Ranked lexical signatures and catchphrases of `doc`.
pub fn signatures(
    doc: &Document,
    others: Option<&NgramCounts>,
    bg: &Background,
) -> (Vec<LexicalSignature>, Vec<LexicalSignature>) {
    let counts = NgramCounts::of(doc);
    let total = counts.tokens.max(1) as f64;
    let mut words = Vec::new();
    let mut phrases = Vec::new();
    for (term, e) in &counts.entries {
        if e.count < MIN_COUNT || e.lines.len() < 2 {
            continue;
        }
        let parts = parts(term, doc.language);
        if !parts.iter().any(|p| p.chars().any(char::is_alphabetic)) {
            continue;
        }
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
            term: term.clone(),
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
        };
        if n == 1 {
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
    let phrases: Vec<Phrase> = phrases
        .into_iter()
        .enumerate()
        .filter_map(|(i, p)| (!dropped.contains(&i)).then_some(p))
        .collect();
    let mut lexical = top(words, TOP_WORDS);
    lexical.extend(top(
        phrases.iter().map(|p| p.sig.clone()).collect(),
        TOP_PHRASES,
    ));
    (
        top(lexical, TOP_WORDS + TOP_PHRASES),
        catchphrases::pick(phrases, doc, TOP_CATCHPHRASES),
    )
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

/// Unigrams used at least twice (capped), weighted by log2(rate / background rate): the scorer's
/// lexical model. Most frequent first.
pub fn term_weights(doc: &Document, bg: &Background, keep: usize) -> Vec<crate::WeightedTerm> {
    let counts = NgramCounts::of(doc);
    let total = counts.tokens.max(1) as f64;
    let mut words: Vec<(&String, u32)> = counts
        .entries
        .iter()
        .filter(|(t, e)| e.count >= 2 && parts(t, doc.language).len() == 1)
        .map(|(t, e)| (t, e.count))
        .collect();
    words.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    words
        .into_iter()
        .take(keep)
        .map(|(t, c)| crate::WeightedTerm {
            term: t.clone(),
            weight: (((f64::from(c) - DISCOUNT) / total).log2() - bg.log2_prob(&[t.as_str()]))
                as f32,
        })
        .collect()
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
        let (_, catchphrases) = signatures(&doc, None, &resources().background_en);
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
        let (alone, _) = signatures(&doc, None, &res.background_en);
        let (vs, _) = signatures(&doc, Some(&other), &res.background_en);
        assert!(alone.iter().any(|s| s.term == "sword"));
        assert!(!vs.iter().any(|s| s.term == "sword"), "{vs:?}");
    }
}
