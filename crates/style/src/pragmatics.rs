//! Pragmatic traits: sentence types, length, interjections, hedges, politeness, self-reference,
//! address, emotion, emoticons, stutters, elongations, ellipses, tics, assistant-speak.
//!
//! Each trait is a tally (hits over units) so that the same code measures a character and the
//! background reference corpus, and a z-score compares the two.

use std::collections::BTreeMap;

use crate::doc::{Document, Sentence};
use crate::lexicons::*;
use crate::tags::{self, tag_name};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trait {
    /// Stable snake_case id, e.g. `question_rate`.
    pub name: String,
    pub value: f64,
    pub background: f64,
    /// z-score of the difference from the background.
    pub z_or_ratio: f64,
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PragmaticTraits {
    pub traits: Vec<Trait>,
}

impl PragmaticTraits {
    pub fn get(&self, name: &str) -> Option<&Trait> {
        self.traits.iter().find(|t| t.name == name)
    }
}

/// How a trait's value is expressed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unit {
    /// Share of sentences (0..1).
    PerSentence,
    /// Occurrences per 1,000 tokens.
    Per1kTokens,
    /// Mean over sentences.
    MeanPerSentence,
}

/// Running totals of one trait over a corpus.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tally {
    pub hits: f64,
    pub hits_sq: f64,
    pub sentences: f64,
    pub tokens: f64,
}

/// Tallies of every trait, keyed by trait name (the background reference is stored this way).
pub type TraitCounts = BTreeMap<String, Tally>;

/// What the trait functions need beyond the sentence itself.
pub struct Context<'a> {
    /// Forms of the speaker's own name, lowercase (for third-person self-reference).
    pub self_names: &'a [String],
}

pub struct TraitDef {
    pub name: &'static str,
    pub unit: Unit,
    measure: fn(&Sentence, &Context) -> f64,
}

fn has_phrase(words: &[String], list: &[&str]) -> usize {
    list.iter()
        .map(|p| {
            let parts: Vec<&str> = p.split(' ').collect();
            words
                .windows(parts.len())
                .filter(|w| w.iter().zip(&parts).all(|(a, b)| a == b))
                .count()
        })
        .sum()
}

fn count_words(words: &[String], list: &[&str]) -> usize {
    words.iter().filter(|w| list.contains(&w.as_str())).count()
}

fn ends_with(s: &Sentence, c: char) -> bool {
    s.text
        .trim_end_matches(|x: char| !(x == '?' || x == '!' || x == '.' || x.is_alphanumeric()))
        .ends_with(c)
        || s.text.trim_end().ends_with(c)
}

fn is_question(s: &Sentence) -> bool {
    ends_with(s, '?') || s.text.ends_with('？')
}

fn is_exclamation(s: &Sentence) -> bool {
    !is_question(s) && (ends_with(s, '!') || s.text.contains('！'))
}

/// Base-form verb first (after interjections, "please", "just", "don't"), not a question.
pub fn is_imperative(s: &Sentence) -> bool {
    if is_question(s) || s.tags.is_empty() {
        return false;
    }
    let skip = [
        "please", "just", "do", "n't", "now", "so", "then", "oh", "hey", "come", "quick", "quickly",
    ];
    let mut first_verb = None;
    for (tok, &tag) in s.ptb.iter().zip(&s.tags) {
        let name = tag_name(tag);
        if name == "UH"
            || name == ","
            || skip.contains(&tok.to_lowercase().as_str()) && name != "VB"
        {
            continue;
        }
        first_verb = Some(name);
        break;
    }
    first_verb == Some("VB")
}

fn stutters(s: &Sentence) -> usize {
    s.text
        .split_whitespace()
        .filter(|w| {
            let w = w.trim_matches(|c: char| !c.is_alphanumeric() && c != '-');
            let mut parts = w.split('-');
            match (parts.next(), parts.next()) {
                (Some(a), Some(b)) => {
                    let n = a.chars().count();
                    (1..=3).contains(&n)
                        && a.chars().all(char::is_alphabetic)
                        && b.to_lowercase().starts_with(&a.to_lowercase())
                }
                _ => false,
            }
        })
        .count()
}

fn elongations(s: &Sentence) -> usize {
    s.words
        .iter()
        .filter(|w| {
            let c: Vec<char> = w.chars().collect();
            c.windows(3)
                .any(|x| x[0].is_alphabetic() && x[0] == x[1] && x[1] == x[2])
        })
        .count()
}

fn is_symbol_emoticon(c: char) -> bool {
    matches!(c as u32, 0x2600..=0x27BF | 0x1F300..=0x1FAFF)
}

/// Kaomoji ("(≧▽≦)", "(^_^)"), western emoticons (":)") and emoji/symbol marks ("☆", "♪").
pub fn emoticons(text: &str) -> usize {
    let western = WESTERN_EMOTICONS
        .iter()
        .map(|e| text.matches(e).count())
        .sum::<usize>();
    let symbols = text.chars().filter(|&c| is_symbol_emoticon(c)).count();
    let mut kaomoji = 0;
    let mut rest = text;
    while let Some(open) = rest.find('(') {
        let after = &rest[open + 1..];
        let Some(close) = after.find(')') else { break };
        let inner = &after[..close];
        let n = inner.chars().count();
        let odd = inner
            .chars()
            .filter(|c| !c.is_alphanumeric() && !c.is_whitespace())
            .count();
        if (2..=16).contains(&n) && odd * 2 >= n && !inner.chars().any(|c| c.is_ascii_alphabetic())
        {
            kaomoji += 1;
        }
        rest = &after[close + 1..];
    }
    western + symbols + kaomoji
}

fn caps_words(s: &Sentence) -> usize {
    s.ptb
        .iter()
        .filter(|w| w.chars().count() >= 3 && w.chars().all(|c| c.is_ascii_uppercase()))
        .count()
}

fn final_tic(s: &Sentence) -> bool {
    let t = s
        .text
        .trim_end_matches(['.', '!', '?', '。', '！', '？', ' ']);
    t.ends_with(['~', '〜', '☆', '★', '♪', '♡', '♥'])
        || SENTENCE_FINAL_TICS.iter().any(|tic| {
            let words: Vec<&str> = tic.split(' ').collect();
            s.words.len() >= words.len()
                && s.words[s.words.len() - words.len()..]
                    .iter()
                    .zip(&words)
                    .all(|(a, b)| a == b)
        })
}

fn self_reference_in_third_person(s: &Sentence, ctx: &Context) -> usize {
    let this_one = s
        .words
        .windows(2)
        .filter(|w| w[0] == "this" && w[1] == "one")
        .count();
    // "this one" is self-reference when followed by a verb ("this one did"), not "this one is broken" heuristics
    // beyond tags are out of scope: count it only when the next tag is a verb or modal.
    let this_one_verb = s
        .ptb
        .windows(3)
        .zip(s.tags.windows(3))
        .filter(|(w, t)| w[0].eq_ignore_ascii_case("this") && w[1] == "one" && tags::is_verb(t[2]))
        .count();
    let names = s
        .words
        .iter()
        .filter(|w| ctx.self_names.iter().any(|n| n == *w))
        .count();
    names
        + if s.tags.is_empty() {
            this_one
        } else {
            this_one_verb
        }
}

fn honorifics(s: &Sentence) -> usize {
    let suffixed = s
        .text
        .split(|c: char| c.is_whitespace() || (c.is_ascii_punctuation() && c != '-'))
        .filter(|w| {
            w.rsplit_once('-')
                .is_some_and(|(_, suf)| HONORIFIC_SUFFIXES.contains(&suf.to_lowercase().as_str()))
        })
        .count();
    suffixed + has_phrase(&s.words, HONORIFIC_WORDS)
}

pub const TRAITS: &[TraitDef] = &[
    TraitDef {
        name: "question_rate",
        unit: Unit::PerSentence,
        measure: |s, _| f64::from(is_question(s)),
    },
    TraitDef {
        name: "exclamation_rate",
        unit: Unit::PerSentence,
        measure: |s, _| f64::from(is_exclamation(s)),
    },
    TraitDef {
        name: "imperative_rate",
        unit: Unit::PerSentence,
        measure: |s, _| f64::from(is_imperative(s)),
    },
    TraitDef {
        name: "declarative_rate",
        unit: Unit::PerSentence,
        measure: |s, _| f64::from(!is_question(s) && !is_exclamation(s) && !is_imperative(s)),
    },
    TraitDef {
        name: "sentence_length",
        unit: Unit::MeanPerSentence,
        measure: |s, _| s.words.len() as f64,
    },
    TraitDef {
        name: "verbless_sentence_rate",
        unit: Unit::PerSentence,
        measure: |s, _| f64::from(!s.tags.is_empty() && !s.tags.iter().any(|&t| tags::is_verb(t))),
    },
    TraitDef {
        name: "ellipsis_rate",
        unit: Unit::PerSentence,
        measure: |s, _| f64::from(s.text.contains("...") || s.text.contains('…')),
    },
    TraitDef {
        name: "sentence_final_tic_rate",
        unit: Unit::PerSentence,
        measure: |s, _| f64::from(final_tic(s)),
    },
    TraitDef {
        name: "interjection_rate",
        unit: Unit::Per1kTokens,
        measure: |s, _| count_words(&s.words, INTERJECTIONS) as f64,
    },
    TraitDef {
        name: "hedge_rate",
        unit: Unit::Per1kTokens,
        measure: |s, _| has_phrase(&s.words, HEDGES) as f64,
    },
    TraitDef {
        name: "politeness_rate",
        unit: Unit::Per1kTokens,
        measure: |s, _| has_phrase(&s.words, POLITENESS) as f64,
    },
    TraitDef {
        name: "honorific_rate",
        unit: Unit::Per1kTokens,
        measure: |s, _| honorifics(s) as f64,
    },
    TraitDef {
        name: "first_person_rate",
        unit: Unit::Per1kTokens,
        measure: |s, _| count_words(&s.words, FIRST_PERSON) as f64,
    },
    TraitDef {
        name: "third_person_self_reference",
        unit: Unit::Per1kTokens,
        measure: |s, c| self_reference_in_third_person(s, c) as f64,
    },
    TraitDef {
        name: "second_person_address_rate",
        unit: Unit::Per1kTokens,
        measure: |s, _| count_words(&s.words, SECOND_PERSON) as f64,
    },
    TraitDef {
        name: "archaic_rate",
        unit: Unit::Per1kTokens,
        measure: |s, _| count_words(&s.words, ARCHAIC) as f64,
    },
    TraitDef {
        name: "positive_emotion_rate",
        unit: Unit::Per1kTokens,
        measure: |s, _| count_words(&s.words, POSITIVE_EMOTION) as f64,
    },
    TraitDef {
        name: "negative_emotion_rate",
        unit: Unit::Per1kTokens,
        measure: |s, _| count_words(&s.words, NEGATIVE_EMOTION) as f64,
    },
    TraitDef {
        name: "emoticon_rate",
        unit: Unit::Per1kTokens,
        measure: |s, _| emoticons(&s.text) as f64,
    },
    TraitDef {
        name: "stutter_rate",
        unit: Unit::Per1kTokens,
        measure: |s, _| stutters(s) as f64,
    },
    TraitDef {
        name: "elongation_rate",
        unit: Unit::Per1kTokens,
        measure: |s, _| elongations(s) as f64,
    },
    TraitDef {
        name: "shouting_caps_rate",
        unit: Unit::Per1kTokens,
        measure: |s, _| caps_words(s) as f64,
    },
    TraitDef {
        name: "assistant_speak_rate",
        unit: Unit::Per1kTokens,
        measure: |s, _| has_phrase(&s.words, ASSISTANT_SPEAK) as f64,
    },
];

pub fn trait_def(name: &str) -> Option<&'static TraitDef> {
    TRAITS.iter().find(|t| t.name == name)
}

/// Measures one trait on one sentence (hits in that sentence).
pub fn measure(def: &TraitDef, s: &Sentence, ctx: &Context) -> f64 {
    (def.measure)(s, ctx)
}

/// Tallies every trait over sentences.
pub fn tally<'a>(sentences: impl IntoIterator<Item = &'a Sentence>, ctx: &Context) -> TraitCounts {
    let mut counts: TraitCounts = TRAITS
        .iter()
        .map(|t| (t.name.to_string(), Tally::default()))
        .collect();
    for s in sentences {
        for def in TRAITS {
            let h = measure(def, s, ctx);
            if let Some(t) = counts.get_mut(def.name) {
                t.hits += h;
                t.hits_sq += h * h;
                t.sentences += 1.0;
                t.tokens += s.words.len() as f64;
            }
        }
    }
    counts
}

impl Tally {
    /// The trait's value in its unit.
    pub fn value(&self, unit: Unit) -> f64 {
        match unit {
            Unit::PerSentence | Unit::MeanPerSentence => self.hits / self.sentences.max(1.0),
            Unit::Per1kTokens => 1000.0 * self.hits / self.tokens.max(1.0),
        }
    }

    /// z-score of self against a background tally (smoothed so that zero counts stay finite).
    pub fn z_against(&self, bg: &Tally, unit: Unit) -> f64 {
        let (n1, n0) = match unit {
            Unit::Per1kTokens => (self.tokens, bg.tokens),
            _ => (self.sentences, bg.sentences),
        };
        if n1 <= 0.0 || n0 <= 0.0 {
            return 0.0;
        }
        match unit {
            Unit::MeanPerSentence => {
                let (m1, m0) = (self.hits / n1, bg.hits / n0);
                let v1 = (self.hits_sq / n1 - m1 * m1).max(1e-6);
                let v0 = (bg.hits_sq / n0 - m0 * m0).max(1e-6);
                (m1 - m0) / (v1 / n1 + v0 / n0).sqrt()
            }
            _ => {
                let p1 = self.hits / n1;
                let p0 = (bg.hits + 0.5) / (n0 + 1.0);
                let p = ((self.hits + bg.hits + 0.5) / (n1 + n0 + 1.0)).min(0.999);
                (p1 - p0) / (p * (1.0 - p) * (1.0 / n1 + 1.0 / n0)).sqrt()
            }
        }
    }
}

const MAX_EXAMPLES: usize = 3;

/// Traits of a document compared to the background tallies.
pub fn traits(doc: &Document, ctx: &Context, background: &TraitCounts) -> PragmaticTraits {
    let counts = tally(&doc.sentences, ctx);
    let traits = TRAITS
        .iter()
        .map(|def| {
            let own = counts.get(def.name).copied().unwrap_or_default();
            let bg = background.get(def.name).copied().unwrap_or_default();
            let examples = if def.unit == Unit::MeanPerSentence {
                Vec::new()
            } else {
                doc.sentences
                    .iter()
                    .filter(|s| measure(def, s, ctx) > 0.0)
                    .take(MAX_EXAMPLES)
                    .map(|s| s.text.clone())
                    .collect()
            };
            Trait {
                name: def.name.to_string(),
                value: own.value(def.unit),
                background: bg.value(def.unit),
                z_or_ratio: own.z_against(&bg, def.unit),
                examples,
            }
        })
        .collect();
    PragmaticTraits { traits }
}

/// Lowercase forms of a speaker's name used for self-reference: the name, its first word, and the
/// usual clipped nickname (first two syllable-ish chunks, e.g. "Ririka" -> "riri").
pub fn self_names(speaker: Option<&str>) -> Vec<String> {
    let Some(name) = speaker.map(str::trim).filter(|n| !n.is_empty()) else {
        return Vec::new();
    };
    let lower = name.to_lowercase();
    let first = lower
        .split_whitespace()
        .next()
        .unwrap_or(&lower)
        .to_string();
    let mut names = vec![first.clone()];
    let clipped: String = first.chars().take(4).collect();
    if first.chars().count() > 5 && clipped.chars().count() == 4 {
        names.push(clipped);
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentence(text: &str) -> Sentence {
        Sentence {
            line: 0,
            text: text.to_string(),
            words: crate::text::words(text),
            ptb: crate::text::ptb_tokens(text)
                .into_iter()
                .map(str::to_string)
                .collect(),
            tags: Vec::new(),
            cjk_tags: Vec::new(),
        }
    }

    fn hits(name: &str, text: &str, names: &[String]) -> f64 {
        let def = trait_def(name).unwrap();
        measure(def, &sentence(text), &Context { self_names: names })
    }

    #[test]
    fn surface_traits_fire_on_their_markers() {
        assert_eq!(
            hits(
                "stutter_rate",
                "W-what? I-I didn't see anything, re-do it.",
                &[]
            ),
            2.0
        );
        assert_eq!(hits("elongation_rate", "Sooo cute, noooo way", &[]), 2.0);
        assert_eq!(
            hits("emoticon_rate", "Welcome~☆ (≧▽≦) see you :)", &[]),
            3.0
        );
        assert_eq!(hits("emoticon_rate", "He said (quietly) hello", &[]), 0.0);
        assert_eq!(
            hits("honorific_rate", "Good morning, Ren-san and senpai!", &[]),
            2.0
        );
        assert_eq!(
            hits("archaic_rate", "Heard it, thou didst; 'tis so.", &[]),
            3.0
        );
        assert_eq!(
            hits(
                "assistant_speak_rate",
                "As an AI language model, I cannot.",
                &[]
            ),
            2.0
        );
        assert_eq!(hits("sentence_final_tic_rate", "Let's go~!", &[]), 1.0);
        assert_eq!(hits("question_rate", "Are you stupid?", &[]), 1.0);
        assert_eq!(hits("exclamation_rate", "No way!", &[]), 1.0);
        let riri = self_names(Some("Ririka"));
        assert_eq!(riri, vec!["ririka", "riri"]);
        assert_eq!(
            hits(
                "third_person_self_reference",
                "Riri will do her best!",
                &riri
            ),
            1.0
        );
    }

    #[test]
    fn z_scores_have_the_right_sign() {
        let hi = Tally {
            hits: 50.0,
            hits_sq: 50.0,
            sentences: 100.0,
            tokens: 800.0,
        };
        let lo = Tally {
            hits: 100.0,
            hits_sq: 100.0,
            sentences: 1000.0,
            tokens: 9000.0,
        };
        assert!(hi.z_against(&lo, Unit::PerSentence) > 5.0);
        assert!(lo.z_against(&hi, Unit::PerSentence) < 0.0);
        assert!((hi.value(Unit::Per1kTokens) - 62.5).abs() < 1e-9);
    }
}
