//! Averaged-perceptron part-of-speech tagger over Penn Treebank tags (greedy, left to right),
//! after Collins (2002) and Honnibal's well-known feature set, with a tag dictionary for frequent
//! unambiguous words.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{Read, Write};

use crate::error::{corrupt, Result};
use crate::tags::{Tag, TAGS};
use crate::treebank::TaggedSentence;

const N_TAGS: usize = TAGS.len();
const MAGIC: &[u8] = b"KDTG1";
/// Weights are stored as i16 scaled so that the largest weight maps to this value.
const QUANT_MAX: f32 = 32_000.0;

/// Feature keys are already hashes: hash them no further.
#[derive(Default)]
pub struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

pub type KeyMap<V> = HashMap<u64, V, BuildHasherDefault<IdentityHasher>>;

fn fnv(template: u8, parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ u64::from(template);
    h = h.wrapping_mul(0x100_0000_01b3);
    for p in parts {
        for &b in p.as_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    // final avalanche so that the identity-hashed map spreads keys well
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// Word shape: "Xxxx" -> "Xx", "USA" -> "X", "3.5" -> "d.d", "e-mail" -> "x-x".
fn shape(word: &str) -> String {
    let mut out = String::new();
    for c in word.chars() {
        let s = if c.is_uppercase() {
            'X'
        } else if c.is_lowercase() {
            'x'
        } else if c.is_numeric() {
            'd'
        } else {
            c
        };
        if !out.ends_with(s) {
            out.push(s);
        }
    }
    out
}

fn normalize_word(word: &str) -> String {
    if word.chars().any(|c| c.is_ascii_digit()) {
        if word.len() == 4 && word.chars().all(|c| c.is_ascii_digit()) {
            "!YEAR".into()
        } else {
            format!("!DIGITS{}", shape(word))
        }
    } else {
        word.to_lowercase()
    }
}

fn suffix(w: &str, n: usize) -> &str {
    let start = w
        .char_indices()
        .rev()
        .nth(n.saturating_sub(1))
        .map_or(0, |(i, _)| i);
    &w[start..]
}

fn prefix(w: &str, n: usize) -> &str {
    let end = w.char_indices().nth(n).map_or(w.len(), |(i, _)| i);
    &w[..end]
}

/// Context features of position `i` (word forms normalized, previous two predicted tags, and the
/// ambiguity classes — tags seen in training — of the surrounding words).
fn features(
    words: &[String],
    raw: &[&str],
    classes: &[u64],
    i: usize,
    prev: &str,
    prev2: &str,
    out: &mut Vec<u64>,
) {
    out.clear();
    let class = |j: isize| -> String {
        let k = i as isize + j;
        if k < 0 || k as usize >= classes.len() {
            "-".to_string()
        } else {
            format!("{:x}", classes[k as usize])
        }
    };
    let (c0, c1, c2, cm1) = (class(0), class(1), class(2), class(-1));
    let w = |j: isize| -> &str {
        let k = i as isize + j;
        if k < 0 {
            "-START-"
        } else {
            words.get(k as usize).map_or("-END-", String::as_str)
        }
    };
    let word = w(0);
    let raw_w = raw[i];
    let sh = shape(raw_w);
    out.extend([
        fnv(0, &[]),
        fnv(1, &[word]),
        fnv(2, &[suffix(word, 3)]),
        fnv(3, &[suffix(word, 2)]),
        fnv(4, &[suffix(word, 1)]),
        fnv(5, &[prefix(word, 1)]),
        fnv(6, &[prefix(word, 3)]),
        fnv(7, &[suffix(word, 4)]),
        fnv(8, &[&sh]),
        fnv(9, &[prev]),
        fnv(10, &[prev2, prev]),
        fnv(11, &[prev, word]),
        fnv(12, &[w(-1)]),
        fnv(13, &[suffix(w(-1), 3)]),
        fnv(14, &[w(-2)]),
        fnv(15, &[w(1)]),
        fnv(16, &[suffix(w(1), 3)]),
        fnv(17, &[w(2)]),
        fnv(18, &[w(-1), word]),
        fnv(19, &[word, w(1)]),
        fnv(20, &[prev, w(1)]),
        fnv(21, &[if i == 0 { "first" } else { "inner" }, &sh]),
        fnv(22, &[prev2]),
        fnv(23, &[&c0]),
        fnv(24, &[&c1]),
        fnv(25, &[&c2]),
        fnv(26, &[&cm1]),
        fnv(27, &[&c0, &c1]),
        fnv(28, &[prev, &c0]),
        fnv(29, &[prev, suffix(word, 3)]),
        fnv(30, &[&shape(raw.get(i + 1).copied().unwrap_or("-END-"))]),
        fnv(31, &[word.rsplit('-').next().unwrap_or(word)]),
        fnv(32, &[&c0, &c1, &cm1]),
    ]);
}

/// A trained tagger: tag dictionary + sparse averaged weights.
#[derive(Debug, Clone, Default)]
pub struct Tagger {
    tagdict: HashMap<String, Tag>,
    /// Normalized word -> bit set of the tags it had in training (its ambiguity class).
    classes: HashMap<String, u64>,
    /// feature key -> (start, len) into `entries`
    index: KeyMap<(u32, u8)>,
    entries: Vec<(Tag, f32)>,
}

impl Tagger {
    /// Tags PTB-style tokens.
    pub fn tag(&self, tokens: &[&str]) -> Vec<Tag> {
        let words: Vec<String> = tokens.iter().map(|t| normalize_word(t)).collect();
        let classes = class_of(&self.classes, &words);
        let mut tags = Vec::with_capacity(tokens.len());
        let mut feats = Vec::with_capacity(32);
        let (mut prev, mut prev2) = ("-START-", "-START2-");
        for i in 0..tokens.len() {
            let tag = match self.tagdict.get(&words[i]) {
                Some(&t) => t,
                None => {
                    features(&words, tokens, &classes, i, prev, prev2, &mut feats);
                    let mut scores = [0f32; N_TAGS];
                    for f in &feats {
                        if let Some(&(start, len)) = self.index.get(f) {
                            let s = start as usize;
                            for &(t, w) in &self.entries[s..s + usize::from(len)] {
                                scores[usize::from(t)] += w;
                            }
                        }
                    }
                    argmax(&scores)
                }
            };
            tags.push(tag);
            prev2 = prev;
            prev = TAGS[usize::from(tag)];
        }
        tags
    }

    /// Token accuracy on gold-tagged sentences.
    pub fn accuracy(&self, gold: &[TaggedSentence]) -> (usize, usize) {
        let mut correct = 0;
        let mut total = 0;
        for s in gold {
            let words: Vec<&str> = s.iter().map(|(w, _)| w.as_str()).collect();
            let predicted = self.tag(&words);
            correct += predicted
                .iter()
                .zip(s)
                .filter(|(p, (_, g))| *p == g)
                .count();
            total += s.len();
        }
        (correct, total)
    }

    pub fn feature_count(&self) -> usize {
        self.index.len()
    }

    /// Serializes (gzip) for assets/style/tagger.bin.gz.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut raw = Vec::new();
        raw.extend_from_slice(MAGIC);
        let mut dict: Vec<(&String, &Tag)> = self.tagdict.iter().collect();
        dict.sort();
        raw.extend_from_slice(&(dict.len() as u32).to_le_bytes());
        for (w, &t) in dict {
            raw.push(t);
            raw.push(u8::try_from(w.len()).unwrap_or(u8::MAX));
            raw.extend_from_slice(&w.as_bytes()[..w.len().min(255)]);
        }
        let mut classes: Vec<(&String, &u64)> = self.classes.iter().collect();
        classes.sort();
        raw.extend_from_slice(&(classes.len() as u32).to_le_bytes());
        for (w, &m) in classes {
            raw.extend_from_slice(&m.to_le_bytes());
            raw.push(u8::try_from(w.len()).unwrap_or(u8::MAX));
            raw.extend_from_slice(&w.as_bytes()[..w.len().min(255)]);
        }
        let max = self
            .entries
            .iter()
            .map(|(_, w)| w.abs())
            .fold(1e-6f32, f32::max);
        let scale = QUANT_MAX / max;
        raw.extend_from_slice(&scale.to_le_bytes());
        // Entries that quantize to zero carry no information: drop them (and features left empty).
        let mut keys: Vec<(u64, Vec<(Tag, i16)>)> = self
            .index
            .iter()
            .map(|(&k, &(start, len))| {
                let q = self.entries[start as usize..start as usize + usize::from(len)]
                    .iter()
                    .map(|&(t, w)| (t, (w * scale).round() as i16))
                    .filter(|&(_, q)| q != 0)
                    .collect();
                (k, q)
            })
            .filter(|(_, q): &(u64, Vec<(Tag, i16)>)| !q.is_empty())
            .collect();
        keys.sort();
        raw.extend_from_slice(&(keys.len() as u32).to_le_bytes());
        for (k, q) in keys {
            raw.extend_from_slice(&k.to_le_bytes());
            raw.push(q.len() as u8);
            for (t, w) in q {
                raw.push(t);
                raw.extend_from_slice(&w.to_le_bytes());
            }
        }
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        // Writing to a Vec cannot fail.
        let _ = enc.write_all(&raw);
        enc.finish().unwrap_or_default()
    }

    pub fn from_bytes(gz: &[u8]) -> Result<Self> {
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_end(&mut raw)
            .map_err(|e| corrupt("tagger model", e.to_string()))?;
        let mut r = Reader { buf: &raw, pos: 0 };
        if r.take(MAGIC.len())? != MAGIC {
            return Err(corrupt("tagger model", "bad magic"));
        }
        let n_dict = r.u32()? as usize;
        let mut tagdict = HashMap::with_capacity(n_dict);
        for _ in 0..n_dict {
            let tag = r.tag()?;
            tagdict.insert(r.word()?, tag);
        }
        let n_classes = r.u32()? as usize;
        let mut classes = HashMap::with_capacity(n_classes);
        for _ in 0..n_classes {
            let mask = u64::from_le_bytes(
                r.take(8)?
                    .try_into()
                    .map_err(|_| corrupt("tagger model", "class"))?,
            );
            let w = r.word()?;
            classes.insert(w, mask);
        }
        let scale = f32::from_le_bytes(
            r.take(4)?
                .try_into()
                .map_err(|_| corrupt("tagger model", "scale"))?,
        );
        if !(scale.is_finite() && scale > 0.0) {
            return Err(corrupt("tagger model", "bad weight scale"));
        }
        let n_feat = r.u32()? as usize;
        let mut index = KeyMap::with_capacity_and_hasher(n_feat, Default::default());
        let mut entries = Vec::with_capacity(n_feat * 4);
        for _ in 0..n_feat {
            let key = u64::from_le_bytes(
                r.take(8)?
                    .try_into()
                    .map_err(|_| corrupt("tagger model", "key"))?,
            );
            let len = r.u8()?;
            let start = u32::try_from(entries.len())
                .map_err(|_| corrupt("tagger model", "too many weights"))?;
            for _ in 0..len {
                let tag = r.tag()?;
                let w = i16::from_le_bytes([r.u8()?, r.u8()?]);
                entries.push((tag, f32::from(w) / scale));
            }
            index.insert(key, (start, len));
        }
        Ok(Self {
            tagdict,
            classes,
            index,
            entries,
        })
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| corrupt("tagger model", "truncated"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn word(&mut self) -> Result<String> {
        let len = usize::from(self.u8()?);
        let w = std::str::from_utf8(self.take(len)?)
            .map_err(|e| corrupt("tagger model", e.to_string()))?;
        Ok(w.to_string())
    }
    fn tag(&mut self) -> Result<Tag> {
        let t = self.u8()?;
        if usize::from(t) < N_TAGS {
            Ok(t)
        } else {
            Err(corrupt("tagger model", format!("tag id {t} out of range")))
        }
    }
}

fn argmax(scores: &[f32; N_TAGS]) -> Tag {
    let mut best = 0;
    for (i, &s) in scores.iter().enumerate() {
        if s > scores[best] {
            best = i;
        }
    }
    best as Tag
}

/// Feature key -> (start, len) into the flat list of (tag, weight) entries.
type SparseWeights = (KeyMap<(u32, u8)>, Vec<(Tag, f32)>);

/// Training state: dense per-feature weight rows with averaging bookkeeping.
struct Trainer {
    rows: KeyMap<usize>,
    weights: Vec<[f32; N_TAGS]>,
    totals: Vec<[f64; N_TAGS]>,
    stamps: Vec<[u32; N_TAGS]>,
    step: u32,
}

impl Trainer {
    fn row(&mut self, key: u64) -> usize {
        let n = self.weights.len();
        *self.rows.entry(key).or_insert_with(|| {
            self.weights.push([0.0; N_TAGS]);
            self.totals.push([0.0; N_TAGS]);
            self.stamps.push([0; N_TAGS]);
            n
        })
    }

    fn predict(&self, feats: &[u64]) -> Tag {
        let mut scores = [0f32; N_TAGS];
        for f in feats {
            if let Some(&r) = self.rows.get(f) {
                for (s, w) in scores.iter_mut().zip(&self.weights[r]) {
                    *s += w;
                }
            }
        }
        argmax(&scores)
    }

    fn update(&mut self, feats: &[u64], truth: Tag, guess: Tag) {
        self.step += 1;
        if truth == guess {
            return;
        }
        for &f in feats {
            let r = self.row(f);
            for (t, delta) in [(usize::from(truth), 1.0f32), (usize::from(guess), -1.0)] {
                self.totals[r][t] +=
                    f64::from(self.step - self.stamps[r][t]) * f64::from(self.weights[r][t]);
                self.stamps[r][t] = self.step;
                self.weights[r][t] += delta;
            }
        }
    }

    /// Averaged weights (non-zero entries only).
    fn finish(mut self) -> SparseWeights {
        let mut index = KeyMap::default();
        let mut entries = Vec::new();
        let mut keys: Vec<(u64, usize)> = self.rows.iter().map(|(&k, &r)| (k, r)).collect();
        keys.sort_unstable();
        for (key, r) in keys {
            let start = entries.len() as u32;
            for t in 0..N_TAGS {
                self.totals[r][t] +=
                    f64::from(self.step - self.stamps[r][t]) * f64::from(self.weights[r][t]);
                let avg = (self.totals[r][t] / f64::from(self.step.max(1))) as f32;
                if avg != 0.0 {
                    entries.push((t as Tag, avg));
                }
            }
            let len = entries.len() as u32 - start;
            if len > 0 {
                index.insert(key, (start, len as u8));
            }
        }
        (index, entries)
    }
}

/// How often each (normalized) word carries each tag in the training data.
fn tag_counts_by_word(data: &[TaggedSentence]) -> HashMap<String, [u32; N_TAGS]> {
    let mut counts: HashMap<String, [u32; N_TAGS]> = HashMap::new();
    for (w, t) in data.iter().flatten() {
        counts.entry(normalize_word(w)).or_insert([0; N_TAGS])[usize::from(*t)] += 1;
    }
    counts
}

/// Frequent words (>= 20 occurrences) seen with one tag >= 97% of the time skip the model.
fn tag_dictionary(data: &[TaggedSentence]) -> HashMap<String, Tag> {
    tag_counts_by_word(data)
        .into_iter()
        .filter_map(|(w, c)| {
            let total: u32 = c.iter().sum();
            let (best, &n) = c.iter().enumerate().max_by_key(|(_, n)| **n)?;
            (total >= 20 && f64::from(n) / f64::from(total) >= 0.97).then_some((w, best as Tag))
        })
        .collect()
}

/// Trains on gold-tagged sentences for `iterations` passes (deterministic shuffling), calling
/// `progress(iteration, train_accuracy)` after each pass.
pub fn train(
    data: &[TaggedSentence],
    iterations: usize,
    mut progress: impl FnMut(usize, f64),
) -> Tagger {
    let tagdict = tag_dictionary(data);
    let ambiguity = ambiguity_classes(data);
    let mut trainer = Trainer {
        rows: KeyMap::default(),
        weights: Vec::new(),
        totals: Vec::new(),
        stamps: Vec::new(),
        step: 0,
    };
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut feats = Vec::with_capacity(32);
    for it in 0..iterations {
        let (mut correct, mut total) = (0usize, 0usize);
        for &si in &order {
            let s = &data[si];
            let raw: Vec<&str> = s.iter().map(|(w, _)| w.as_str()).collect();
            let words: Vec<String> = raw.iter().map(|w| normalize_word(w)).collect();
            let classes = class_of(&ambiguity, &words);
            let (mut prev, mut prev2) = ("-START-", "-START2-");
            for (i, &(_, truth)) in s.iter().enumerate() {
                let guess = match tagdict.get(&words[i]) {
                    Some(&t) => t,
                    None => {
                        features(&words, &raw, &classes, i, prev, prev2, &mut feats);
                        let g = trainer.predict(&feats);
                        trainer.update(&feats, truth, g);
                        g
                    }
                };
                correct += usize::from(guess == truth);
                total += 1;
                prev2 = prev;
                prev = TAGS[usize::from(guess)];
            }
        }
        progress(it + 1, correct as f64 / total.max(1) as f64);
        // Fisher-Yates with a xorshift generator: reproducible without a rand dependency.
        for i in (1..order.len()).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            order.swap(i, (seed % (i as u64 + 1)) as usize);
        }
    }
    let (index, entries) = trainer.finish();
    Tagger {
        tagdict,
        classes: ambiguity,
        index,
        entries,
    }
}

fn class_of(classes: &HashMap<String, u64>, words: &[String]) -> Vec<u64> {
    words
        .iter()
        .map(|w| classes.get(w).copied().unwrap_or(0))
        .collect()
}

/// Words seen at least twice -> tags they had at least 5% of the time.
fn ambiguity_classes(data: &[TaggedSentence]) -> HashMap<String, u64> {
    tag_counts_by_word(data)
        .into_iter()
        .filter_map(|(w, c)| {
            let total: u32 = c.iter().sum();
            let mask = c
                .iter()
                .enumerate()
                .filter(|(_, &n)| n * 20 >= total)
                .fold(0u64, |m, (t, _)| m | (1u64 << t));
            (total >= 2).then_some((w, mask))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tags::tag_id;

    fn sent(pairs: &[(&str, &str)]) -> TaggedSentence {
        pairs
            .iter()
            .map(|(w, t)| (w.to_string(), tag_id(t).unwrap()))
            .collect()
    }

    #[test]
    fn learns_a_toy_language_and_round_trips() {
        let data = vec![
            sent(&[("the", "DT"), ("dog", "NN"), ("runs", "VBZ"), (".", ".")]),
            sent(&[("a", "DT"), ("cat", "NN"), ("sleeps", "VBZ"), (".", ".")]),
            sent(&[("dogs", "NNS"), ("run", "VBP"), ("fast", "RB"), (".", ".")]),
        ];
        let tagger = train(&data, 8, |_, _| {});
        let (c, t) = tagger.accuracy(&data);
        assert_eq!(c, t);
        let back = Tagger::from_bytes(&tagger.to_bytes()).unwrap();
        assert_eq!(
            back.tag(&["the", "cat", "runs", "."]),
            tagger.tag(&["the", "cat", "runs", "."])
        );
        assert!(Tagger::from_bytes(b"junk").is_err());
    }

    #[test]
    fn helpers() {
        assert_eq!(shape("McDonald's"), "XxXx'x");
        assert_eq!(suffix("héllo", 3), "llo");
        assert_eq!(prefix("é", 3), "é");
        assert_eq!(normalize_word("1999"), "!YEAR");
    }
}
