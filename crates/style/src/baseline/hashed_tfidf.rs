//! The feature side of the linear baseline: character 1-5-grams and word 1-2-grams, hashed into
//! 2^bits signed buckets, weighted the way scikit-learn's `TfidfVectorizer(sublinear_tf=True)` does
//! (tf -> 1 + ln tf, smoothed IDF, L2-normalised rows).
//!
//! Hashing keeps the model a fixed size whatever the vocabulary; the sign bit (Weinberger et al.
//! 2009) makes colliding features cancel in expectation instead of piling up in one bucket.

use crate::text::{normalize, sentences, words};
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// A sparse, L2-normalised row: (bucket, value), sorted by bucket, buckets unique.
pub type SparseRow = Vec<(u32, f32)>;

const MAX_CHAR_N: usize = 5;
// Different seeds keep the character and word namespaces apart: the word "a" and the character
// "a" are different features.
const CHAR_SEED: u64 = 0x6368_6172;
const WORD_SEED: u64 = 0x776f_7264;
// Joins the two words of a bigram; it never occurs inside a word key.
const BIGRAM_JOINER: char = '\u{1f}';

/// Every feature occurrence of `text` (a line, or several joined by '\n') as a 64-bit hash.
fn feature_hashes(text: &str) -> Vec<u64> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = normalize(line);
        if line.is_empty() {
            continue;
        }
        // One space of padding marks where a turn begins and ends; n-grams never span turns.
        let padded = format!(" {} ", line.to_lowercase());
        let bounds: Vec<usize> = padded
            .char_indices()
            .map(|(b, _)| b)
            .chain([padded.len()])
            .collect();
        for n in 1..=MAX_CHAR_N {
            for w in bounds.windows(n + 1) {
                let gram = &padded[w[0]..w[n]];
                // A lone space would be a constant feature (every turn has one).
                if gram != " " {
                    out.push(xxh3_64_with_seed(gram.as_bytes(), CHAR_SEED));
                }
            }
        }
        for sentence in sentences(&line) {
            let keys = words(sentence);
            out.extend(
                keys.iter()
                    .map(|k| xxh3_64_with_seed(k.as_bytes(), WORD_SEED)),
            );
            out.extend(keys.windows(2).map(|pair| {
                let bigram = format!("{}{BIGRAM_JOINER}{}", pair[0], pair[1]);
                xxh3_64_with_seed(bigram.as_bytes(), WORD_SEED)
            }));
        }
    }
    out
}

/// (feature hash, term frequency) of each distinct feature of `text`.
fn term_counts(text: &str) -> Vec<(u64, u32)> {
    let mut hashes = feature_hashes(text);
    hashes.sort_unstable();
    let mut counts: Vec<(u64, u32)> = Vec::new();
    for h in hashes {
        match counts.last_mut() {
            Some((last, n)) if *last == h => *n += 1,
            _ => counts.push((h, 1)),
        }
    }
    counts
}

/// The fitted IDF table over 2^bits buckets.
pub struct HashedTfidf {
    bits: u32,
    /// Smoothed IDF per bucket; 0 for buckets no training document touched, so features never
    /// seen in training are dropped (as a fitted vocabulary drops them).
    idf: Vec<f32>,
}

impl HashedTfidf {
    /// Fits the IDF table on `docs` and returns it with the documents' rows.
    pub fn fit(docs: &[&str], bits: u32) -> (Self, Vec<SparseRow>) {
        assert!((1..=30).contains(&bits), "hash bits must be in 1..=30");
        let counts: Vec<Vec<(u64, u32)>> = docs.iter().map(|d| term_counts(d)).collect();
        let mut df = vec![0u32; 1 << bits];
        let mut buckets: Vec<u32> = Vec::new();
        for doc in &counts {
            buckets.clear();
            buckets.extend(doc.iter().map(|&(h, _)| bucket_of(h, bits)));
            buckets.sort_unstable();
            buckets.dedup();
            for &b in &buckets {
                df[b as usize] += 1;
            }
        }
        let n = docs.len() as f64;
        let idf = df
            .iter()
            .map(|&d| {
                if d == 0 {
                    0.0
                } else {
                    (((1.0 + n) / (1.0 + d as f64)).ln() + 1.0) as f32
                }
            })
            .collect();
        let model = Self { bits, idf };
        let rows = counts.iter().map(|c| model.weigh(c)).collect();
        (model, rows)
    }

    /// The number of buckets (the dimension of the rows).
    pub fn dim(&self) -> usize {
        self.idf.len()
    }

    pub fn transform(&self, text: &str) -> SparseRow {
        self.weigh(&term_counts(text))
    }

    fn weigh(&self, counts: &[(u64, u32)]) -> SparseRow {
        let mut row: SparseRow = counts
            .iter()
            .filter_map(|&(h, tf)| {
                let b = bucket_of(h, self.bits);
                let idf = self.idf[b as usize];
                // The top hash bit is independent of the low bits that pick the bucket.
                let sign = if h >> 63 == 1 { -1.0 } else { 1.0 };
                (idf > 0.0).then(|| (b, sign * (1.0 + (tf as f32).ln()) * idf))
            })
            .collect();
        row.sort_unstable_by_key(|&(b, _)| b);
        row.dedup_by(|later, kept| {
            if later.0 == kept.0 {
                kept.1 += later.1;
                true
            } else {
                false
            }
        });
        let norm = row.iter().map(|&(_, x)| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|(_, x)| *x /= norm);
        }
        row
    }
}

fn bucket_of(hash: u64, bits: u32) -> u32 {
    (hash & ((1u64 << bits) - 1)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_character_and_word_ngrams() {
        // " ab " has the character n-grams a, b, " a", ab, "b ", " ab", "ab ", " ab " (the lone
        // space left out), and the word "ab" one unigram: 9 distinct features, once each.
        let counts = term_counts("ab");
        assert_eq!(counts.len(), 9);
        assert!(counts.iter().all(|&(_, n)| n == 1));
        // Word bigrams and repeated n-grams: "no no" has the bigram "no no" and "no" twice.
        let counts = term_counts("no no");
        assert!(counts.iter().any(|&(_, n)| n == 2));
        // Case is folded, turns are separate lines.
        assert_eq!(term_counts("NO NO"), counts);
        assert_eq!(term_counts("no no\n\nno no").len(), counts.len());
    }

    #[test]
    fn rows_are_unit_length_and_unseen_features_are_dropped() {
        let (model, rows) = HashedTfidf::fit(&["the cat sat", "a dog ran"], 12);
        for row in &rows {
            let norm: f32 = row.iter().map(|&(_, x)| x * x).sum();
            assert!((norm - 1.0).abs() < 1e-5, "norm² {norm}");
            assert!(row.windows(2).all(|w| w[0].0 < w[1].0));
        }
        assert_eq!(model.dim(), 4096);
        assert!(model.transform("").is_empty());
        assert!(model.transform("ZQXJ").is_empty());
    }
}
