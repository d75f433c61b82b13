//! Background frequency tables (derived from wordfreq 3.1.1; see assets/style/NOTICE.md).
//!
//! Keys are words in every language (Chinese and Japanese ones as wordfreq segments them, with
//! jieba and MeCab + IPADIC, the segmentations `segment` reproduces). n-grams are estimated from
//! their words, so every n-gram gets a background probability; English n-grams also from a table
//! of measured phrase frequencies (EWT, see `with_phrases`).

use std::collections::HashMap;
use std::io::Read;

use crate::error::{corrupt, Result};

const MAGIC: &str = "KDBG1\n";
/// A key's frequency is 10^(-bucket / BUCKETS_PER_DECADE).
pub const BUCKETS_PER_DECADE: f64 = 100.0;

#[derive(Debug, Clone)]
pub struct Background {
    log10: HashMap<String, f32>,
    floor: f32,
    /// English words, 2-grams and 3-grams of a treebank's text (`with_phrases`), keyed with spaces.
    phrases: HashMap<String, f32>,
}

/// log10 frequency of each key of a table, and the largest bucket.
fn read_table(bytes: &[u8], what: &'static str) -> Result<(HashMap<String, f32>, u32)> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .map_err(|e| corrupt(what, e.to_string()))?;
    let body = text
        .strip_prefix(MAGIC)
        .ok_or_else(|| corrupt(what, "bad magic"))?;
    let mut log10 = HashMap::with_capacity(130_000);
    let mut max_bucket = 0u32;
    for line in body.lines() {
        let mut fields = line.split('\t');
        let bucket: u32 = fields
            .next()
            .and_then(|b| b.parse().ok())
            .ok_or_else(|| corrupt(what, format!("bad bucket line {line:.40}")))?;
        max_bucket = max_bucket.max(bucket);
        for key in fields {
            log10
                .entry(key.to_string())
                .or_insert(-(bucket as f32) / BUCKETS_PER_DECADE as f32);
        }
    }
    if log10.is_empty() {
        return Err(corrupt(what, "no entries"));
    }
    Ok((log10, max_bucket))
}

/// Encodes (bucket, key) rows in the table format `from_gzip` reads.
pub fn write_table(mut rows: Vec<(u32, String)>) -> Vec<u8> {
    rows.sort();
    let mut text = String::from(MAGIC);
    for (i, (bucket, key)) in rows.iter().enumerate() {
        if i == 0 || rows[i - 1].0 != *bucket {
            if i > 0 {
                text.push('\n');
            }
            text.push_str(&bucket.to_string());
        }
        text.push('\t');
        text.push_str(key);
    }
    text.push('\n');
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut enc, text.as_bytes()).expect("writing to memory");
    enc.finish().expect("writing to memory")
}

impl Background {
    pub fn from_gzip(bytes: &[u8]) -> Result<Self> {
        let (log10, max_bucket) = read_table(bytes, "background table")?;
        Ok(Self {
            log10,
            floor: -(max_bucket as f32) / BUCKETS_PER_DECADE as f32 - 0.5,
            phrases: HashMap::new(),
        })
    }

    /// Adds measured n-gram frequencies (a table written by the `count-phrases` tool): an
    /// everyday collocation is far more frequent than its words' frequencies multiplied.
    pub fn with_phrases(mut self, bytes: &[u8]) -> Result<Self> {
        self.phrases = read_table(bytes, "phrase table")?.0;
        Ok(self)
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

    fn phrase_log10(&self, key: &str) -> Option<f64> {
        self.phrases.get(key).map(|&v| f64::from(v))
    }

    /// log10 frequency of an English n-gram measured in the phrase table: directly, or for a
    /// 3-gram a b c from its 2-grams, f(a b) f(b c) / f(b).
    fn measured_log10(&self, parts: &[&str]) -> Option<f64> {
        if let Some(direct) = self.phrase_log10(&parts.join(" ")) {
            return Some(direct);
        }
        match parts {
            [a, b, c] => Some(
                self.phrase_log10(&format!("{a} {b}"))? + self.phrase_log10(&format!("{b} {c}"))?
                    - self.phrase_log10(b)?,
            ),
            _ => None,
        }
    }

    pub fn log2_prob(&self, parts: &[&str]) -> f64 {
        // Profiles keep numbers as written; the tables hold them folded (wordfreq's convention).
        let folded: Vec<_> = parts
            .iter()
            .map(|p| crate::text::background_key(p))
            .collect();
        let folded: Vec<&str> = folded.iter().map(|p| p.as_ref()).collect();
        let parts = folded.as_slice();
        let independent: f64 = parts.iter().map(|w| self.key_log10(w)).sum();
        // The larger estimate: independence underrates collocations, and a phrase the treebank
        // lacks may still be common.
        let log10 = match parts {
            [_] => independent,
            _ => self
                .measured_log10(parts)
                .map_or(independent, |m| m.max(independent)),
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
        let bg = Background::from_gzip(&table("KDBG1\n100\tthe\tof\n300\tcat\n")).unwrap();
        assert_eq!(bg.len(), 3);
        assert!((bg.log2_prob(&["the"]) - -std::f64::consts::LOG2_10).abs() < 1e-6);
        assert!((bg.log2_prob(&["the", "cat"]) - (-4.0 * std::f64::consts::LOG2_10)).abs() < 1e-5);
        // unseen words fall below the rarest bucket
        assert!(bg.log2_prob(&["zyzzyva"]) < bg.log2_prob(&["cat"]));
        // numbers are looked up folded, as wordfreq stores them
        let bg = Background::from_gzip(&table("KDBG1\n400\t0000\n")).unwrap();
        assert!((bg.log2_prob(&["1999"]) - -4.0 * std::f64::consts::LOG2_10).abs() < 1e-5);
    }

    #[test]
    fn measured_phrases_raise_collocations_only() {
        let bg = Background::from_gzip(&table("KDBG1\n100\tthe\tof\n200\tyou\n300\tknow\tcat\n"))
            .unwrap()
            .with_phrases(&write_table(vec![
                (200, "you".into()),
                (250, "know".into()),
                (300, "you know".into()),
                (350, "know what".into()),
                (800, "the cat".into()),
            ]))
            .unwrap();
        let log10 = |parts: &[&str]| bg.log2_prob(parts) / std::f64::consts::LOG2_10;
        // Measured above independence (10^-5): the measured rate.
        assert!((log10(&["you", "know"]) - -3.0).abs() < 1e-5);
        // Measured below independence (10^-4): independence stands.
        assert!((log10(&["the", "cat"]) - -4.0).abs() < 1e-5);
        // A 3-gram through its 2-grams: -3 - 3.5 + 2.5.
        assert!((log10(&["you", "know", "what"]) - -4.0).abs() < 1e-5);
        // Words keep their wordfreq frequency.
        assert!((log10(&["know"]) - -3.0).abs() < 1e-5);
    }

    #[test]
    fn rejects_garbage() {
        assert!(Background::from_gzip(b"not gzip").is_err());
        assert!(Background::from_gzip(&table("WRONG\n")).is_err());
        assert!(Background::from_gzip(&table("KDBG1\nx\ty\n")).is_err());
    }
}
