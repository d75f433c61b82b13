//! The scorer's models of a character: how often it uses each word and each grammar rule, kept in
//! the profile as counts so that the scorer compares them with the background at score time.
//!
//! An item's evidence is the log of its rate ratio, character over background, estimated with a
//! gamma prior of mean 1 (empirical-Bayes Poisson shrinkage): with c uses where the background
//! predicts E = N p_bg, the ratio is (a + c) / (a + E). So
//! - an item used far more than the background predicts is evidence for the character;
//! - a common item the character never uses (large E, c = 0) is evidence against it;
//! - a rare item the character never used (E << 1) is no evidence either way. A smoothed
//!   language model would instead price every new word as a loss, so that a character's own
//!   unseen lines, full of new words, scored below stock replies made of common ones (see
//!   docs/benchmarks.md for the comparison).

use std::collections::HashMap;

use crate::doc::Document;
use crate::syntax::Parses;

/// Strength of the prior, in uses: with fewer expected uses than this an item says little.
const PRIOR: f64 = 1.0;
/// Words and rules kept per profile: the most frequent ones. The rest (used once or twice) are
/// scored as unseen, which the prior makes close to neutral.
const KEEP_WORDS: usize = 4000;
const KEEP_RULES: usize = 1500;

/// Counts of one kind of item (words, rules) in a character's lines.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// (item, count), most frequent first.
    pub items: Vec<(String, u32)>,
    /// All tokens and distinct items, including those not kept in `items`.
    pub tokens: u32,
    pub types: u32,
}

impl Counts {
    fn of<'a>(items: impl IntoIterator<Item = &'a str>, keep: usize) -> Self {
        let mut map: HashMap<&str, u32> = HashMap::new();
        let mut tokens = 0u32;
        for i in items {
            *map.entry(i).or_default() += 1;
            tokens += 1;
        }
        let types = map.len() as u32;
        let mut items: Vec<(String, u32)> =
            map.into_iter().map(|(k, c)| (k.to_string(), c)).collect();
        items.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        items.truncate(keep);
        Counts {
            items,
            tokens,
            types,
        }
    }

    /// A lookup table for scoring.
    pub fn table(&self) -> CountTable<'_> {
        CountTable {
            counts: self
                .items
                .iter()
                .map(|(k, c)| (k.as_str(), f64::from(*c)))
                .collect(),
            tokens: f64::from(self.tokens.max(1)),
        }
    }
}

pub struct CountTable<'a> {
    counts: HashMap<&'a str, f64>,
    tokens: f64,
}

impl CountTable<'_> {
    pub fn count(&self, item: &str) -> f64 {
        self.counts.get(item).copied().unwrap_or(0.0)
    }

    /// ln of the item's estimated rate ratio, character over background (`bg_prob`).
    pub fn llr(&self, item: &str, bg_prob: f64) -> f64 {
        let c = self.count(item);
        let expected = self.tokens * bg_prob.max(1e-12);
        ((PRIOR + c) / (PRIOR + expected)).ln()
    }
}

/// The scorer's view of a character: word and rule counts.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoringModel {
    pub words: Counts,
    /// Pairs of adjacent words within a sentence, keyed "a b" (a U+001F b in Chinese and Japanese).
    #[serde(default)]
    pub bigrams: Counts,
    pub rules: Counts,
}

/// The key of two adjacent words (as `lexical`'s n-gram keys).
pub fn bigram_key(a: &str, b: &str, sep: &str) -> String {
    format!("{a}{sep}{b}")
}

impl ScoringModel {
    pub fn of(doc: &Document, parses: &Parses) -> Self {
        ScoringModel {
            words: Counts::of(
                doc.sentences
                    .iter()
                    .flat_map(|s| s.words.iter().map(String::as_str)),
                KEEP_WORDS,
            ),
            bigrams: {
                let sep = crate::lexical::key_joiner(doc.language);
                let keys: Vec<String> = doc
                    .sentences
                    .iter()
                    .flat_map(|s| s.words.windows(2).map(|w| bigram_key(&w[0], &w[1], sep)))
                    .collect();
                Counts::of(keys.iter().map(String::as_str), KEEP_WORDS)
            },
            rules: Counts::of(
                parses
                    .by_sentence
                    .iter()
                    .flatten()
                    .flatten()
                    .map(String::as_str),
                KEEP_RULES,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overuse_is_evidence_and_rare_unseen_items_are_neutral() {
        let words = ["a", "a", "a", "a", "b", "c", "d", "e"];
        let counts = Counts::of(words, 10);
        let t = counts.table();
        // "a": 4 uses where 8 * 0.1 = 0.8 were expected: (1 + 4) / (1 + 0.8).
        assert!((t.llr("a", 0.1) - (5.0f64 / 1.8).ln()).abs() < 1e-12);
        // Never used and rare: close to no evidence; never used and common: against.
        assert!(t.llr("zzz", 1e-6).abs() < 1e-5);
        assert!((t.llr("the", 0.5) - (1.0f64 / 5.0).ln()).abs() < 1e-12);
        assert!(t.llr("a", 0.1) > t.llr("b", 0.1) && t.llr("b", 0.1) > t.llr("zzz", 0.1));
        // Items beyond `keep` still count towards tokens and types.
        let kept = Counts::of(words, 2);
        assert_eq!((kept.items.len(), kept.tokens, kept.types), (2, 8, 5));
        assert_eq!(kept.items[0], ("a".to_string(), 4));
    }
}
