//! Background frequency tables (derived from wordfreq 3.1.1; see assets/style/NOTICE.md).
//!
//! English keys are words; Chinese/Japanese keys are character 1- and 2-grams. Longer n-grams are
//! estimated from their parts, so every n-gram gets a background probability.

use std::collections::HashMap;
use std::io::Read;

use crate::error::{corrupt, Result};

const MAGIC: &str = "KDBG1\n";

#[derive(Debug, Clone)]
pub struct Background {
    /// log10 of each key's frequency.
    log10: HashMap<String, f32>,
    /// log10 frequency given to keys absent from the table (below the rarest kept key).
    floor: f32,
    per_char: bool,
}

impl Background {
    /// Decodes a gzip-compressed table written by tools/style/make_background.py.
    pub fn from_gzip(bytes: &[u8], per_char: bool) -> Result<Self> {
        let mut text = String::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_string(&mut text)
            .map_err(|e| corrupt("background table", e.to_string()))?;
        let body = text
            .strip_prefix(MAGIC)
            .ok_or_else(|| corrupt("background table", "bad magic"))?;
        let mut log10 = HashMap::with_capacity(130_000);
        let mut max_bucket = 0u32;
        for line in body.lines() {
            let mut fields = line.split('\t');
            let bucket: u32 = fields.next().and_then(|b| b.parse().ok()).ok_or_else(|| {
                corrupt("background table", format!("bad bucket line {line:.40}"))
            })?;
            max_bucket = max_bucket.max(bucket);
            for key in fields {
                log10
                    .entry(key.to_string())
                    .or_insert(-(bucket as f32) / 100.0);
            }
        }
        if log10.is_empty() {
            return Err(corrupt("background table", "no entries"));
        }
        Ok(Self {
            log10,
            floor: -(max_bucket as f32) / 100.0 - 0.5,
            per_char,
        })
    }

    pub fn len(&self) -> usize {
        self.log10.len()
    }

    pub fn is_empty(&self) -> bool {
        self.log10.is_empty()
    }

    pub fn contains(&self, key: &str) -> bool {
        self.log10.contains_key(key)
    }

    fn key_log10(&self, key: &str) -> f64 {
        f64::from(self.log10.get(key).copied().unwrap_or(self.floor))
    }

    /// log2 background probability of an n-gram given as its parts (words, or characters for CJK).
    pub fn log2_prob(&self, parts: &[&str]) -> f64 {
        let log10 = if self.per_char {
            // Markov chain over character bigrams: p(abc) = p(ab) p(bc) / p(b).
            match parts {
                [a] => self.key_log10(a),
                _ => {
                    let mut total = self.key_log10(&format!("{}{}", parts[0], parts[1]));
                    for w in parts.windows(2).skip(1) {
                        total +=
                            self.key_log10(&format!("{}{}", w[0], w[1])) - self.key_log10(w[0]);
                    }
                    total
                }
            }
        } else {
            parts.iter().map(|w| self.key_log10(w)).sum()
        };
        log10 * std::f64::consts::LOG2_10
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut enc, text.as_bytes()).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn decodes_buckets_and_estimates_ngrams() {
        let bg = Background::from_gzip(&table("KDBG1\n100\tthe\tof\n300\tcat\n"), false).unwrap();
        assert_eq!(bg.len(), 3);
        assert!((bg.log2_prob(&["the"]) - -std::f64::consts::LOG2_10).abs() < 1e-6);
        assert!((bg.log2_prob(&["the", "cat"]) - (-4.0 * std::f64::consts::LOG2_10)).abs() < 1e-5);
        // unseen words fall below the rarest bucket
        assert!(bg.log2_prob(&["zyzzyva"]) < bg.log2_prob(&["cat"]));
    }

    #[test]
    fn rejects_garbage() {
        assert!(Background::from_gzip(b"not gzip", false).is_err());
        assert!(Background::from_gzip(&table("WRONG\n"), false).is_err());
        assert!(Background::from_gzip(&table("KDBG1\nx\ty\n"), false).is_err());
    }
}
