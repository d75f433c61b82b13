//! Which parts of speech WordNet allows a word, directly or through a regular inflection: a
//! lexicon that also covers the many words the tagger's treebanks never show it.

use std::collections::HashMap;

/// Bits of a form's entry: the WordNet categories of its lemma(s) (noun, verb, adjective,
/// adverb) and the categories it is an irregular inflection of ("geese", "went", "better").
const NOUN: u8 = 1;
const VERB: u8 = 2;
const ADJ: u8 = 4;
const ADV: u8 = 8;
const IRREGULAR_SHIFT: u32 = 4;

/// The WordNet files of one category: (index file, exception file, bit).
pub const FILES: [(&str, &str, u8); 4] = [
    ("index.noun", "noun.exc", NOUN),
    ("index.verb", "verb.exc", VERB),
    ("index.adj", "adj.exc", ADJ),
    ("index.adv", "adv.exc", ADV),
];

/// Lowercase one-word forms -> entry bits.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WordNet(pub(crate) HashMap<String, u8>);

impl WordNet {
    /// Adds the one-word lemmas of an index file (e.g. index.noun) under `bit`.
    pub fn add_index(&mut self, text: &str, bit: u8) {
        // License lines start with a space; multi-word lemmas are joined with '_'.
        let lemmas = text.lines().filter(|l| !l.starts_with(' '));
        for lemma in lemmas.filter_map(|l| l.split(' ').next()) {
            if !lemma.contains('_') {
                *self.0.entry(lemma.to_string()).or_default() |= bit;
            }
        }
    }

    /// Adds the irregular forms of an exception file (e.g. noun.exc: "geese goose") under `bit`.
    pub fn add_exceptions(&mut self, text: &str, bit: u8) {
        for form in text.lines().filter_map(|l| l.split(' ').next()) {
            if !form.contains('_') {
                *self.0.entry(form.to_string()).or_default() |= bit << IRREGULAR_SHIFT;
            }
        }
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn lemma(&self, form: &str) -> u8 {
        self.0.get(form).map_or(0, |b| b & 0xf)
    }

    /// What WordNet says of a lowercase word: its own entry bits, plus one bit per regular
    /// inflection it can be of a WordNet lemma (plural noun, -s / -ed / -ing verb, -er / -est
    /// adjective, -ly adverb of an adjective).
    pub fn signature(&self, word: &str) -> u16 {
        let own = u16::from(self.0.get(word).copied().unwrap_or(0));
        let stem = |cut: &str, add: &str, category: u8| {
            word.strip_suffix(cut)
                .is_some_and(|s| s.len() > 1 && self.lemma(&format!("{s}{add}")) & category != 0)
        };
        let inflections = [
            stem("s", "", NOUN) || stem("es", "", NOUN) || stem("ies", "y", NOUN),
            stem("s", "", VERB) || stem("es", "", VERB) || stem("ies", "y", VERB),
            stem("ed", "", VERB) || stem("d", "", VERB) || stem("ied", "y", VERB),
            stem("ing", "", VERB) || stem("ing", "e", VERB),
            stem("er", "", ADJ) || stem("est", "", ADJ) || stem("r", "", ADJ),
            stem("ly", "", ADJ) || stem("ily", "y", ADJ),
        ];
        inflections
            .iter()
            .enumerate()
            .fold(own, |sig, (i, &on)| sig | (u16::from(on) << (8 + i)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lemmas_and_guesses_inflections() {
        let mut wn = WordNet::default();
        wn.add_index(
            "  1 license line\ncater v 1 1 @ 1 0 0\nbig_deal n 1\n",
            VERB,
        );
        wn.add_index("stocking n 1 1 @ 1 0 0\n", NOUN);
        wn.add_exceptions("went go\n", VERB);
        assert_eq!(wn.len(), 3);
        assert_eq!(wn.signature("cater"), u16::from(VERB));
        assert_eq!(wn.signature("caters"), 1 << 9);
        assert_eq!(wn.signature("stockings"), 1 << 8);
        assert_eq!(wn.signature("catering"), 1 << 11);
        assert_eq!(wn.signature("went"), u16::from(VERB << IRREGULAR_SHIFT));
        assert_eq!(wn.signature("xyzzy"), 0);
    }
}
