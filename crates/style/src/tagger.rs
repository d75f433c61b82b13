//! Averaged-perceptron part-of-speech tagger over Penn Treebank tags, after Collins (2002) and
//! Honnibal's well-known feature set, with a tag dictionary for frequent unambiguous words,
//! decoded with a small beam and trained with early updates (Collins and Roark 2004).
//!
//! What lifts it above a plain greedy tagger on UD English-EWT (dev accuracy 94.2% -> 95.2%):
//! - GUM as auxiliary training text, learned at half strength (see `Example::rate`);
//! - WordNet's parts of speech for every word, including regular inflections of its lemmas, so
//!   that words absent from the treebanks are not left to their suffixes alone (`WordNet`);
//! - ambiguity classes for training sentences taken from the other folds of the data, so that
//!   the trainer meets rare and unseen words as often as the tagger will;
//! - features pairing a word or the tag before it with the ambiguity class of its neighbour
//!   ("that" before a word that can only be a verb);
//! - the average of models trained on differently shuffled data.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{Read, Write};

use crate::error::{corrupt, Result};
use crate::tags::{tag_name, Tag, TAGS};
use crate::treebank::TaggedSentence;
use crate::wordnet::WordNet;

const N_TAGS: usize = TAGS.len();
const MAGIC: &[u8] = b"KDTG2";
/// Weights are stored as i16 scaled so that the largest weight maps to this value.
const QUANT_MAX: f32 = 32_000.0;
/// Stored weights below 1/200 of the largest barely move a score: they are dropped, which keeps
/// the model file small.
const PRUNE_BELOW: u16 = 160;
/// Pseudo-tags before the sentence.
const START: u64 = N_TAGS as u64;
const START2: u64 = START + 1;
/// Hypotheses kept per word.
const BEAM: usize = 3;
/// Tag dictionary: words seen at least this often with one tag at least this share of the time
/// skip the model (the most frequent words: a large saving in time, none in accuracy).
const FIXED_MIN: u32 = 20;
const FIXED_SHARE: f64 = 0.99;
/// Models trained on differently shuffled data whose weights are averaged.
const RUNS: usize = 3;
/// Folds for the held-out ambiguity classes of training sentences.
const FOLDS: usize = 10;

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

/// FNV-1a.
fn hash_str(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Feature key of a template over already-hashed parts.
fn key(template: u8, parts: &[u64]) -> u64 {
    let mut h = u64::from(template).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for &p in parts {
        h = (h.rotate_left(5) ^ p).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    // splitmix64 finalizer, so that the identity-hashed map spreads keys well
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
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

/// What the features look at in one token, hashed once per sentence.
#[derive(Debug, Clone, Copy)]
struct Token {
    word: u64,
    /// suffixes[n - 1]: the last n characters of the normalized word.
    suffixes: [u64; 4],
    prefix1: u64,
    prefix3: u64,
    shape: u64,
    /// Ambiguity class: bit set of the tags the word had in training (0 if unseen).
    class: u64,
    /// The part after the last hyphen ("well-known" -> "known").
    tail: u64,
    /// `WordNet::signature` of the normalized word.
    wordnet: u64,
}

impl Token {
    fn new(norm: &str, raw: &str, class: u64, wordnet: u16) -> Self {
        Self {
            word: hash_str(norm),
            suffixes: [1, 2, 3, 4].map(|n| hash_str(suffix(norm, n))),
            prefix1: hash_str(prefix(norm, 1)),
            prefix3: hash_str(prefix(norm, 3)),
            shape: hash_str(&shape(raw)),
            class,
            tail: hash_str(norm.rsplit('-').next().unwrap_or(norm)),
            wordnet: u64::from(wordnet),
        }
    }

    /// Stand-in for the positions outside the sentence.
    fn padding(name: &str) -> Self {
        let h = hash_str(name);
        Self {
            word: h,
            suffixes: [h; 4],
            prefix1: h,
            prefix3: h,
            shape: h,
            class: h,
            tail: h,
            wordnet: h,
        }
    }
}

/// Padding tokens on each side, so that context features need no bounds checks.
const PAD: usize = 2;

/// A sentence ready for decoding.
struct Sentence {
    /// PAD start tokens, the words, PAD end tokens.
    tokens: Vec<Token>,
    /// Tag-dictionary tags (None: the model decides).
    fixed: Vec<Option<Tag>>,
}

impl Sentence {
    fn len(&self) -> usize {
        self.fixed.len()
    }

    /// Token at offset `d` from word `i`.
    fn at(&self, i: usize, d: isize) -> &Token {
        &self.tokens[(i + PAD).wrapping_add_signed(d)]
    }
}

/// FNV-1a over a key's bytes: the lexicon's keys are short words, for which SipHash costs more
/// than the lookup.
/// (`hash_str`'s fold, written out again: routing both through one shared helper measured 25-35%
/// slower tagging in `kotodama tagger-eval`.)
#[derive(Default)]
pub struct FnvHasher(u64);

impl Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let start = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        self.0 = bytes.iter().fold(start, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    }
}

type WordMap<V> = HashMap<String, V, BuildHasherDefault<FnvHasher>>;

/// What the tagger knows of a word of its training data.
#[derive(Debug, Clone, Copy)]
struct Known {
    /// Ambiguity class: bit set of the tags it had at least 5% of the time.
    class: u64,
    /// Tag-dictionary tag (None: the model decides).
    fixed: Option<Tag>,
    /// `WordNet::signature`, worked out once.
    wordnet: u16,
}

/// What the tagger knows of words: the normalized words of its training data, and WordNet for
/// the others.
#[derive(Debug, Clone, Default)]
struct Lexicon {
    known: WordMap<Known>,
    wordnet: WordNet,
}

impl Lexicon {
    /// Words seen at least twice get an ambiguity class: the tags they had at least 5% of the
    /// time. Words frequent and unambiguous enough go in the tag dictionary.
    fn new(counts: &HashMap<String, [u32; N_TAGS]>, wordnet: &WordNet) -> Self {
        let known = counts.iter().filter_map(|(w, c)| {
            let total: u32 = c.iter().sum();
            let class = (0..N_TAGS)
                .filter(|&t| c[t] * 20 >= total)
                .fold(0u64, |m, t| m | (1 << t));
            let (best, &n) = c.iter().enumerate().max_by_key(|(_, n)| **n)?;
            let fixed = (total >= FIXED_MIN && f64::from(n) >= FIXED_SHARE * f64::from(total))
                .then_some(best as Tag);
            (total >= 2).then(|| (w.clone(), class, fixed))
        });
        Self::from_parts(known, wordnet.clone())
    }

    fn from_parts(
        known: impl Iterator<Item = (String, u64, Option<Tag>)>,
        wordnet: WordNet,
    ) -> Self {
        let known = known
            .map(|(w, class, fixed)| {
                let wordnet = wordnet.signature(&w);
                (
                    w,
                    Known {
                        class,
                        fixed,
                        wordnet,
                    },
                )
            })
            .collect();
        Self { known, wordnet }
    }

    fn prepare(&self, raw: &[&str]) -> Sentence {
        let mut tokens = Vec::with_capacity(raw.len() + 2 * PAD);
        tokens.extend([Token::padding("-START2-"), Token::padding("-START-")]);
        let mut fixed = Vec::with_capacity(raw.len());
        for w in raw {
            let norm = normalize_word(w);
            let known = self.known.get(&norm).copied().unwrap_or_else(|| Known {
                class: 0,
                fixed: None,
                wordnet: self.wordnet.signature(&norm),
            });
            fixed.push(known.fixed);
            tokens.push(Token::new(&norm, w, known.class, known.wordnet));
        }
        tokens.extend([Token::padding("-END-"), Token::padding("-END2-")]);
        Sentence { tokens, fixed }
    }
}

/// Features of word `i` that do not depend on the tags before it (shared by the whole beam).
fn word_features(s: &Sentence, i: usize, out: &mut Vec<u64>) {
    out.clear();
    let w0 = s.at(i, 0);
    let (wm1, wm2, w1, w2) = (s.at(i, -1), s.at(i, -2), s.at(i, 1), s.at(i, 2));
    let first = u64::from(i == 0);
    out.extend([
        key(0, &[]),
        key(1, &[w0.word]),
        key(2, &[w0.suffixes[2]]),
        key(3, &[w0.suffixes[1]]),
        key(4, &[w0.suffixes[0]]),
        key(5, &[w0.prefix1]),
        key(6, &[w0.prefix3]),
        key(7, &[w0.suffixes[3]]),
        key(8, &[w0.shape]),
        key(12, &[wm1.word]),
        key(13, &[wm1.suffixes[2]]),
        key(14, &[wm2.word]),
        key(15, &[w1.word]),
        key(16, &[w1.suffixes[2]]),
        key(17, &[w2.word]),
        key(18, &[wm1.word, w0.word]),
        key(19, &[w0.word, w1.word]),
        key(21, &[first, w0.shape]),
        key(23, &[w0.class]),
        key(24, &[w1.class]),
        key(25, &[w2.class]),
        key(26, &[wm1.class]),
        key(27, &[w0.class, w1.class]),
        key(30, &[w1.shape]),
        key(31, &[w0.tail]),
        key(32, &[w0.class, w1.class, wm1.class]),
        key(33, &[w0.wordnet]),
        key(34, &[w0.wordnet, w0.shape]),
        key(35, &[w0.wordnet, w0.suffixes[1]]),
        key(36, &[wm1.wordnet]),
        key(37, &[w1.wordnet]),
        key(39, &[w0.suffixes[1], w1.class]),
        key(40, &[wm1.word, w0.class]),
    ]);
}

/// Features of word `i` that combine it with the tag before it.
fn prev_features(s: &Sentence, i: usize, p1: u64, out: &mut Vec<u64>) {
    out.clear();
    let (w0, w1) = (s.at(i, 0), s.at(i, 1));
    out.extend([
        key(9, &[p1]),
        key(11, &[p1, w0.word]),
        key(20, &[p1, w1.word]),
        key(28, &[p1, w0.class]),
        key(29, &[p1, w0.suffixes[2]]),
        key(38, &[p1, w1.class]),
    ]);
}

/// Features of word `i` that look two tags back (`prev`: last one first).
fn prev2_features(prev: [u64; 2], out: &mut Vec<u64>) {
    out.clear();
    out.extend([key(10, &[prev[1], prev[0]]), key(22, &[prev[1]])]);
}

/// All features of word `i` given the two tags before it.
fn features(s: &Sentence, i: usize, prev: [u64; 2], out: &mut Vec<u64>) {
    let mut more = Vec::with_capacity(8);
    word_features(s, i, out);
    prev_features(s, i, prev[0], &mut more);
    out.extend_from_slice(&more);
    prev2_features(prev, &mut more);
    out.extend_from_slice(&more);
}

/// Anything that scores features: trained weights, or the trainer's current ones.
trait Scorer {
    fn add_scores(&self, feats: &[u64], scores: &mut [f32; N_TAGS]);
}

/// A partial tag sequence in the beam. Features only look two tags back, so two hypotheses
/// ending in the same two tags are interchangeable from here on: only the better one is kept.
#[derive(Clone, Copy)]
struct Hyp {
    score: f32,
    /// The last two tags, last one first.
    prev: [u64; 2],
    /// Index of its last step in the search's back-pointer arena (usize::MAX: none yet).
    node: usize,
    /// Whether it still agrees with the gold tags (training).
    gold: bool,
}

/// Inserts `h` into `beam` (sorted best first, at most BEAM long), merging it with a hypothesis
/// that ends in the same two tags.
fn offer(beam: &mut Vec<Hyp>, h: Hyp) {
    if let Some(j) = beam.iter().position(|b| b.prev == h.prev) {
        if beam[j].score >= h.score {
            return;
        }
        beam.remove(j);
    } else if beam.len() == BEAM {
        if beam[BEAM - 1].score >= h.score {
            return;
        }
        beam.pop();
    }
    let at = beam.partition_point(|b| b.score >= h.score);
    beam.insert(at, h);
}

/// Beam search, left to right. With `gold` (training: None at a word accepts any tag), stops
/// as soon as no hypothesis agrees with it. Returns the best hypothesis's tags so far.
fn search(s: &Sentence, scorer: &impl Scorer, gold: Option<&[Option<Tag>]>) -> Vec<Tag> {
    let mut arena: Vec<(Tag, usize)> = Vec::with_capacity(s.len() * BEAM);
    let mut beam = vec![Hyp {
        score: 0.0,
        prev: [START, START2],
        node: usize::MAX,
        gold: true,
    }];
    let mut next: Vec<Hyp> = Vec::with_capacity(BEAM);
    let (mut feats, mut base) = (Vec::with_capacity(32), [0f32; N_TAGS]);
    // Scores of the features that depend on the previous tag, per previous tag in the beam.
    let mut by_prev: Vec<(u64, [f32; N_TAGS])> = Vec::with_capacity(BEAM);
    for i in 0..s.len() {
        next.clear();
        if let Some(t) = s.fixed[i] {
            for h in &beam {
                arena.push((t, h.node));
                let hyp = Hyp {
                    prev: [u64::from(t), h.prev[0]],
                    node: arena.len() - 1,
                    ..*h
                };
                offer(&mut next, hyp);
            }
            std::mem::swap(&mut beam, &mut next);
            continue;
        }
        word_features(s, i, &mut feats);
        base.fill(0.0);
        scorer.add_scores(&feats, &mut base);
        by_prev.clear();
        for h in &beam {
            let p1 = h.prev[0];
            let mut scores = match by_prev.iter().find(|(p, _)| *p == p1) {
                Some((_, sc)) => *sc,
                None => {
                    let mut sc = base;
                    prev_features(s, i, p1, &mut feats);
                    scorer.add_scores(&feats, &mut sc);
                    by_prev.push((p1, sc));
                    sc
                }
            };
            prev2_features(h.prev, &mut feats);
            scorer.add_scores(&feats, &mut scores);
            for (t, &sc) in scores.iter().enumerate() {
                let score = h.score + sc;
                if next.len() < BEAM || score > next[next.len() - 1].score {
                    let t = t as Tag;
                    arena.push((t, h.node));
                    let fits = gold.is_none_or(|g| g[i].is_none_or(|gt| gt == t));
                    let hyp = Hyp {
                        score,
                        prev: [u64::from(t), p1],
                        node: arena.len() - 1,
                        gold: h.gold && fits,
                    };
                    offer(&mut next, hyp);
                }
            }
        }
        std::mem::swap(&mut beam, &mut next);
        if gold.is_some() && !beam.iter().any(|h| h.gold) {
            break;
        }
    }
    let mut tags = Vec::with_capacity(s.len());
    let mut node = beam[0].node;
    while node != usize::MAX {
        tags.push(arena[node].0);
        node = arena[node].1;
    }
    tags.reverse();
    tags
}

/// Averaged weights as training leaves them: feature key -> (start, len) into a flat list of
/// (tag, weight) entries.
#[derive(Debug, Clone, Default)]
struct Weights {
    index: KeyMap<(u32, u8)>,
    entries: Vec<(Tag, f32)>,
}

impl Weights {
    /// Sparse form of dense rows (zero weights left out).
    fn from_rows(rows: impl IntoIterator<Item = (u64, [f32; N_TAGS])>) -> Self {
        let mut w = Self::default();
        for (key, row) in rows {
            let start = w.entries.len() as u32;
            let nonzero = row.iter().enumerate().filter(|(_, &v)| v != 0.0);
            w.entries.extend(nonzero.map(|(t, &v)| (t as Tag, v)));
            let len = w.entries.len() as u32 - start;
            if len > 0 {
                w.index.insert(key, (start, len as u8));
            }
        }
        w
    }

    fn row(&self, start: u32, len: u8) -> &[(Tag, f32)] {
        &self.entries[start as usize..start as usize + usize::from(len)]
    }

    /// The mean of several models' weights.
    fn average(models: &[Weights]) -> Self {
        let mut sum: KeyMap<[f32; N_TAGS]> = KeyMap::default();
        for m in models {
            for (&k, &(start, len)) in &m.index {
                let row = sum.entry(k).or_insert([0.0; N_TAGS]);
                for &(t, v) in m.row(start, len) {
                    row[usize::from(t)] += v / models.len() as f32;
                }
            }
        }
        Self::from_rows(sum)
    }

    /// Scales the weights to i16 (the largest to QUANT_MAX) and drops the smallest, and
    /// features left empty. Scores only get compared, so the scale need not be undone.
    fn pack(&self) -> Packed {
        let max = self
            .entries
            .iter()
            .map(|(_, w)| w.abs())
            .fold(1e-6f32, f32::max);
        let scale = QUANT_MAX / max;
        let mut keys: Vec<(u64, u32, u8)> =
            self.index.iter().map(|(&k, &(s, l))| (k, s, l)).collect();
        keys.sort_unstable();
        let mut packed = Packed::default();
        for (key, start, len) in keys {
            let at = packed.entries.len() as u32;
            let kept = self.row(start, len).iter().filter_map(|&(t, w)| {
                let q = (w * scale).round() as i16;
                (q.unsigned_abs() >= PRUNE_BELOW).then_some((t, q))
            });
            packed.entries.extend(kept);
            let n = packed.entries.len() as u32 - at;
            if n > 0 {
                packed.index.insert(short_key(key), (at, n as u8));
            }
        }
        packed
    }
}

/// Short keys spread over 64 bits, so that the hash map's control bytes differ.
#[derive(Default)]
struct SpreadHasher(u64);

impl Hasher for SpreadHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// The weights a tagger scores with, compact so that more of them stay in cache: 32-bit
/// feature keys (at a few hundred thousand features, the odd collision costs nothing
/// measurable) and i16 weights.
#[derive(Debug, Clone, Default)]
struct Packed {
    index: HashMap<u32, (u32, u8), BuildHasherDefault<SpreadHasher>>,
    entries: Vec<(Tag, i16)>,
}

fn short_key(key: u64) -> u32 {
    (key >> 32) as u32
}

impl Scorer for Packed {
    fn add_scores(&self, feats: &[u64], scores: &mut [f32; N_TAGS]) {
        for &f in feats {
            if let Some(&(start, len)) = self.index.get(&short_key(f)) {
                let s = start as usize;
                for &(t, w) in &self.entries[s..s + usize::from(len)] {
                    scores[usize::from(t)] += f32::from(w);
                }
            }
        }
    }
}

impl Packed {
    fn write(&self, raw: &mut Vec<u8>) {
        let mut keys: Vec<(&u32, &(u32, u8))> = self.index.iter().collect();
        keys.sort_unstable();
        raw.extend_from_slice(&(keys.len() as u32).to_le_bytes());
        for (k, &(start, len)) in keys {
            raw.extend_from_slice(&k.to_le_bytes());
            raw.push(len);
            for &(t, w) in &self.entries[start as usize..start as usize + usize::from(len)] {
                raw.push(t);
                raw.extend_from_slice(&w.to_le_bytes());
            }
        }
    }

    fn read(r: &mut Reader) -> Result<Self> {
        let n_feat = r.u32()? as usize;
        let mut index = HashMap::with_capacity_and_hasher(n_feat, Default::default());
        let mut entries = Vec::with_capacity(n_feat * 4);
        for _ in 0..n_feat {
            let key = u32::from_le_bytes(r.array()?);
            let len = r.u8()?;
            let start = u32::try_from(entries.len())
                .map_err(|_| corrupt("tagger model", "too many weights"))?;
            for e in r.take(3 * usize::from(len))?.chunks_exact(3) {
                if usize::from(e[0]) >= N_TAGS {
                    return Err(corrupt(
                        "tagger model",
                        format!("tag id {} out of range", e[0]),
                    ));
                }
                entries.push((e[0], i16::from_le_bytes([e[1], e[2]])));
            }
            index.insert(key, (start, len));
        }
        Ok(Self { index, entries })
    }
}

/// A trained tagger: lexicon (ambiguity classes, WordNet) and weights.
#[derive(Debug, Clone, Default)]
pub struct Tagger {
    lexicon: Lexicon,
    weights: Packed,
}

impl Tagger {
    /// Tags PTB-style tokens.
    pub fn tag(&self, tokens: &[&str]) -> Vec<Tag> {
        search(&self.lexicon.prepare(tokens), &self.weights, None)
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
        self.weights.index.len()
    }

    /// Serializes (gzip) for assets/style/tagger.bin.gz.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut raw = Vec::new();
        raw.extend_from_slice(MAGIC);
        let mut known: Vec<(&String, &Known)> = self.lexicon.known.iter().collect();
        known.sort_by_key(|&(w, _)| w);
        raw.extend_from_slice(&(known.len() as u32).to_le_bytes());
        for &(w, k) in &known {
            raw.extend_from_slice(&k.class.to_le_bytes());
            push_word(&mut raw, w);
        }
        let fixed: Vec<(&String, Tag)> = known
            .iter()
            .filter_map(|&(w, k)| Some((w, k.fixed?)))
            .collect();
        raw.extend_from_slice(&(fixed.len() as u32).to_le_bytes());
        for (w, tag) in fixed {
            raw.push(tag);
            push_word(&mut raw, w);
        }
        let mut wordnet: Vec<(&String, &u8)> = self.lexicon.wordnet.0.iter().collect();
        wordnet.sort();
        raw.extend_from_slice(&(wordnet.len() as u32).to_le_bytes());
        for (w, &bits) in wordnet {
            raw.push(bits);
            push_word(&mut raw, w);
        }
        self.weights.write(&mut raw);
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
        let n_classes = r.u32()? as usize;
        let mut classes = Vec::with_capacity(n_classes);
        for _ in 0..n_classes {
            let class = u64::from_le_bytes(r.array()?);
            classes.push((r.word()?, class));
        }
        let n_fixed = r.u32()? as usize;
        let mut fixed = HashMap::with_capacity(n_fixed);
        for _ in 0..n_fixed {
            let tag = r.tag()?;
            fixed.insert(r.word()?, tag);
        }
        let n_wordnet = r.u32()? as usize;
        let mut wordnet = HashMap::with_capacity(n_wordnet);
        for _ in 0..n_wordnet {
            let bits = r.u8()?;
            wordnet.insert(r.word()?, bits);
        }
        let known = classes.into_iter().map(|(w, class)| {
            let tag = fixed.get(&w).copied();
            (w, class, tag)
        });
        Ok(Self {
            lexicon: Lexicon::from_parts(known, WordNet(wordnet)),
            weights: Packed::read(&mut r)?,
        })
    }
}

/// Appends a length-prefixed word (cut at 255 bytes).
fn push_word(raw: &mut Vec<u8>, w: &str) {
    let len = w.len().min(255);
    raw.push(len as u8);
    raw.extend_from_slice(&w.as_bytes()[..len]);
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
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
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

/// Training state: dense per-feature weight rows with averaging bookkeeping.
#[derive(Default)]
struct Trainer {
    rows: KeyMap<usize>,
    weights: Vec<[f32; N_TAGS]>,
    totals: Vec<[f64; N_TAGS]>,
    stamps: Vec<[u32; N_TAGS]>,
    /// Sentences seen: the clock of the averaging.
    step: u32,
}

impl Scorer for Trainer {
    fn add_scores(&self, feats: &[u64], scores: &mut [f32; N_TAGS]) {
        for f in feats {
            if let Some(&r) = self.rows.get(f) {
                for (s, w) in scores.iter_mut().zip(&self.weights[r]) {
                    *s += w;
                }
            }
        }
    }
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

    /// Adds `delta` to the weights of `feats` for `tag`.
    fn add(&mut self, feats: &[u64], tag: Tag, delta: f32) {
        let t = usize::from(tag);
        for &f in feats {
            let r = self.row(f);
            self.totals[r][t] +=
                f64::from(self.step - self.stamps[r][t]) * f64::from(self.weights[r][t]);
            self.stamps[r][t] = self.step;
            self.weights[r][t] += delta;
        }
    }

    /// Early update: rewards the gold tags and penalizes the predicted ones over the prefix
    /// searched, skipping words where both agree in tag and history. Where the example accepts
    /// any tag, the predicted one stands in for gold.
    fn update(&mut self, s: &Sentence, ex: &Example, targets: &[Option<Tag>], predicted: &[Tag]) {
        let gold: Vec<Tag> = predicted
            .iter()
            .zip(targets)
            .map(|(&p, t)| t.unwrap_or(p))
            .collect();
        let history = |tags: &[Tag], i: usize| {
            let at = |d: usize| i.checked_sub(d).map(|j| u64::from(tags[j]));
            [at(1).unwrap_or(START), at(2).unwrap_or(START2)]
        };
        let mut feats = Vec::with_capacity(40);
        for (i, (&g, &p)) in gold.iter().zip(predicted).enumerate() {
            let (hg, hp) = (history(&gold, i), history(predicted, i));
            if g == p && hg == hp {
                continue;
            }
            let rate = ex.rate(g);
            for (tag, hist, delta) in [(g, hg, rate), (p, hp, -rate)] {
                features(s, i, hist, &mut feats);
                self.add(&feats, tag, delta);
            }
        }
    }

    /// Trains for `iterations` epochs in a reproducible shuffled order (xorshift from `seed`),
    /// calling `progress(iteration, share of words searched that were tagged right)`.
    fn run(
        mut self,
        data: &[Example],
        sentences: &[Sentence],
        iterations: usize,
        mut seed: u64,
        progress: &mut impl FnMut(usize, f64),
    ) -> Weights {
        let targets: Vec<Vec<Option<Tag>>> = data
            .iter()
            .zip(sentences)
            .map(|(ex, s)| ex.targets(s))
            .collect();
        let mut order: Vec<usize> = (0..data.len()).collect();
        for it in 0..iterations {
            // Fisher-Yates: reproducible without a rand dependency.
            for i in (1..order.len()).rev() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                order.swap(i, (seed % (i as u64 + 1)) as usize);
            }
            let (mut correct, mut total) = (0usize, 0usize);
            for &si in &order {
                let (ex, s) = (&data[si], &sentences[si]);
                let predicted = search(s, &self, Some(&targets[si]));
                self.step += 1;
                let right = predicted.iter().zip(ex.gold).filter(|(p, (_, g))| *p == g);
                correct += right.count();
                total += predicted.len();
                let mut pairs = predicted.iter().zip(&targets[si]);
                if pairs.any(|(p, t)| t.is_some_and(|t| t != *p)) {
                    self.update(s, ex, &targets[si], &predicted);
                }
            }
            progress(it + 1, correct as f64 / total.max(1) as f64);
        }
        self.finish()
    }

    /// Averaged weights.
    fn finish(mut self) -> Weights {
        let step = f64::from(self.step.max(1));
        let rows = std::mem::take(&mut self.rows);
        Weights::from_rows(rows.into_iter().map(|(key, r)| {
            let mut avg = [0f32; N_TAGS];
            for (t, a) in avg.iter_mut().enumerate() {
                let total = self.totals[r][t]
                    + f64::from(self.step - self.stamps[r][t]) * f64::from(self.weights[r][t]);
                *a = (total / step) as f32;
            }
            (key, avg)
        }))
    }
}

/// A training sentence, and whether it comes from the auxiliary treebank (see `train`).
#[derive(Clone, Copy)]
struct Example<'a> {
    gold: &'a TaggedSentence,
    auxiliary: bool,
}

impl Example<'_> {
    /// Step size of the perceptron updates this sentence makes for a word with this gold tag:
    /// auxiliary sentences teach at half strength (they follow their own treebank's habits), and
    /// not at all the punctuation tags whose use differs between treebanks (GUM tags dashes ':',
    /// EWT mostly ',').
    fn rate(&self, tag: Tag) -> f32 {
        if !self.auxiliary {
            1.0
        } else if matches!(tag_name(tag), ":" | "," | "HYPH" | "SYM" | "NFP") {
            0.0
        } else {
            0.5
        }
    }

    /// Gold tags to search for (None: any tag will do, where the sentence teaches nothing or
    /// the tag dictionary decides).
    fn targets(&self, s: &Sentence) -> Vec<Option<Tag>> {
        self.gold
            .iter()
            .zip(&s.fixed)
            .map(|(&(_, t), fixed)| (self.rate(t) > 0.0 && fixed.is_none()).then_some(t))
            .collect()
    }

    fn words(&self) -> Vec<&str> {
        self.gold.iter().map(|(w, _)| w.as_str()).collect()
    }
}

/// How often each normalized word carries each tag.
fn tag_counts<'a>(data: impl Iterator<Item = &'a Example<'a>>) -> HashMap<String, [u32; N_TAGS]> {
    let mut counts: HashMap<String, [u32; N_TAGS]> = HashMap::new();
    for (w, t) in data.flat_map(|ex| ex.gold) {
        counts.entry(normalize_word(w)).or_insert([0; N_TAGS])[usize::from(*t)] += 1;
    }
    counts
}

/// Training sentences prepared with the ambiguity classes of the other folds: otherwise every
/// training word would have a class that knows its own tag, and the model would learn to trust
/// classes more than they deserve on new text.
fn held_out_sentences(
    data: &[Example],
    counts: &HashMap<String, [u32; N_TAGS]>,
    wordnet: &WordNet,
) -> Vec<Sentence> {
    let mut out: Vec<Option<Sentence>> = (0..data.len()).map(|_| None).collect();
    for fold in 0..FOLDS {
        let mut rest = counts.clone();
        let in_fold = data.iter().skip(fold).step_by(FOLDS);
        for (w, t) in in_fold.flat_map(|ex| ex.gold) {
            if let Some(c) = rest.get_mut(&normalize_word(w)) {
                c[usize::from(*t)] -= 1;
            }
        }
        let lexicon = Lexicon::new(&rest, wordnet);
        for i in (fold..data.len()).step_by(FOLDS) {
            out[i] = Some(lexicon.prepare(&data[i].words()));
        }
    }
    out.into_iter().flatten().collect()
}

/// Trains on gold-tagged sentences of the main treebank (whose conventions the tagger follows)
/// and of an auxiliary one (more text, other habits; may be empty), with WordNet (may be
/// empty): `iterations` epochs for each of RUNS models, calling
/// `progress(run, iteration, train_accuracy)` after each epoch.
pub fn train(
    main: &[TaggedSentence],
    auxiliary: &[TaggedSentence],
    wordnet: &WordNet,
    iterations: usize,
    mut progress: impl FnMut(usize, usize, f64),
) -> Tagger {
    let example = |auxiliary| move |gold| Example { gold, auxiliary };
    let data: Vec<Example> = main
        .iter()
        .map(example(false))
        .chain(auxiliary.iter().map(example(true)))
        .collect();
    let counts = tag_counts(data.iter());
    let sentences = held_out_sentences(&data, &counts, wordnet);
    let models: Vec<Weights> = (0..RUNS)
        .map(|run| {
            let seed = 0x2545_f491_4f6c_dd1d ^ (run as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let mut report = |it, acc| progress(run + 1, it, acc);
            Trainer::default().run(&data, &sentences, iterations, seed, &mut report)
        })
        .collect();
    Tagger {
        lexicon: Lexicon::new(&counts, wordnet),
        weights: Weights::average(&models).pack(),
    }
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
        let tagger = train(&data, &[], &WordNet::default(), 8, |_, _, _| {});
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
    fn auxiliary_text_teaches_less_and_not_its_punctuation() {
        let main = vec![sent(&[("a", "DT"), ("-", ","), ("b", "NN")])];
        let aux = vec![sent(&[("c", "DT"), ("-", ":"), ("d", "NN")])];
        let ex = Example {
            gold: &aux[0],
            auxiliary: true,
        };
        assert_eq!(ex.rate(tag_id("DT").unwrap()), 0.5);
        let s = Lexicon::default().prepare(&ex.words());
        assert_eq!(ex.targets(&s)[1], None);
        let tagger = train(&main, &aux, &WordNet::default(), 8, |_, _, _| {});
        assert_eq!(tagger.tag(&["c", "-", "d"])[1], tag_id(",").unwrap());
    }

    #[test]
    fn beam_keeps_the_best_hypothesis_per_tag_history() {
        let hyp = |score, last| Hyp {
            score,
            prev: [last, START],
            node: 0,
            gold: false,
        };
        let mut beam = Vec::new();
        for (score, last) in [(1.0, 1), (3.0, 2), (2.0, 1), (0.5, 3), (4.0, 4)] {
            offer(&mut beam, hyp(score, last));
        }
        let kept: Vec<(f32, u64)> = beam.iter().map(|h| (h.score, h.prev[0])).collect();
        assert_eq!(kept, vec![(4.0, 4), (3.0, 2), (2.0, 1)]);
    }

    #[test]
    fn bundled_model_meets_its_accuracy_target_on_ewt_test() {
        let path = crate::test_data::dir().join("treebanks/ud_english_ewt/en_ewt-ud-test.conllu");
        let text = std::fs::read_to_string(&path).expect("the EWT test file in KOTODAMA_DATA");
        let gold = crate::treebank::read_conllu(&text, &path.display().to_string()).unwrap();
        let (correct, total) = crate::resources::shared::resources().tagger.accuracy(&gold);
        assert_eq!(total, 25_094);
        assert!(correct as f64 >= 0.955 * total as f64, "{correct}/{total}");
    }

    #[test]
    fn bundled_model_tags_words_the_treebanks_lack() {
        let tagger = &crate::resources::shared::resources().tagger;
        let tokens = crate::text::ptb_tokens("The artisan caters to tourists who adore oolong.");
        let tags: Vec<&str> = tagger.tag(&tokens).into_iter().map(tag_name).collect();
        assert_eq!(
            tags,
            vec!["DT", "NN", "VBZ", "IN", "NNS", "WP", "VBP", "NN", "."]
        );
    }

    #[test]
    fn helpers() {
        assert_eq!(shape("McDonald's"), "XxXx'x");
        assert_eq!(suffix("héllo", 3), "llo");
        assert_eq!(prefix("é", 3), "é");
        assert_eq!(normalize_word("1999"), "!YEAR");
    }
}
