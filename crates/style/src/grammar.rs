//! The PCFG (read off GUM trees, over POS tags, no words) and the background statistics that were
//! measured with it: rule counts of our own parses of GUM and pragmatic-trait tallies.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};

use crate::error::{corrupt, Result};
use crate::pragmatics::TraitCounts;
use crate::tagger::KeyMap;
use crate::tags::TAGS;
use crate::tree::Tree;

pub type Sym = u16;
const MAGIC: &str = "KDGR1";
pub const START: &str = "ROOT";

/// Key of a binary rule's right-hand side, spread over 64 bits for the identity-hashed map.
pub fn pair_key(b: Sym, c: Sym) -> u64 {
    ((u64::from(b) << 16) | u64::from(c)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[derive(Debug, Clone, Default)]
pub struct Grammar {
    /// Symbol names; ids below `TAGS.len()` are the POS tags themselves.
    pub symbols: Vec<String>,
    /// (B, C) -> [(A, log p(A -> B C | A))]
    pub binary: KeyMap<Vec<(Sym, f32)>>,
    /// B -> [(A, log p(A -> B | A))]
    pub unary_by_child: Vec<Vec<(Sym, f32)>>,
    pub start: Sym,
    /// n-ary rule -> count in our parses of the background corpus.
    pub background_rules: BTreeMap<String, u32>,
    pub background_trait_counts: TraitCounts,
}

impl Grammar {
    pub fn symbol(&self, s: Sym) -> &str {
        self.symbols.get(usize::from(s)).map_or("?", String::as_str)
    }

    /// Rule occurrences in the background parses.
    pub fn background_total(&self) -> f64 {
        self.background_rules.values().map(|&c| f64::from(c)).sum()
    }

    pub fn rule_count(&self) -> usize {
        self.binary.values().map(Vec::len).sum::<usize>()
            + self.unary_by_child.iter().map(Vec::len).sum::<usize>()
    }

    /// Maximum-likelihood PCFG from binarized trees (unary self-loops dropped).
    pub fn estimate(binarized: &[Tree]) -> Self {
        let mut counts: HashMap<(String, Vec<String>), f64> = HashMap::new();
        let mut lhs_totals: HashMap<String, f64> = HashMap::new();
        fn walk(
            t: &Tree,
            counts: &mut HashMap<(String, Vec<String>), f64>,
            totals: &mut HashMap<String, f64>,
        ) {
            if t.is_preterminal() {
                return;
            }
            let rhs: Vec<String> = t.children.iter().map(|c| c.label.clone()).collect();
            if !(rhs.len() == 1 && rhs[0] == t.label) {
                *counts.entry((t.label.clone(), rhs)).or_default() += 1.0;
                *totals.entry(t.label.clone()).or_default() += 1.0;
            }
            t.children.iter().for_each(|c| walk(c, counts, totals));
        }
        binarized
            .iter()
            .for_each(|t| walk(t, &mut counts, &mut lhs_totals));
        let mut g = Grammar {
            symbols: TAGS.iter().map(|t| t.to_string()).collect(),
            ..Default::default()
        };
        let mut ids: HashMap<String, Sym> = g
            .symbols
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i as Sym))
            .collect();
        let mut rules: Vec<_> = counts.into_iter().collect();
        rules.sort_by(|a, b| a.0.cmp(&b.0));
        let mut intern = |name: &str, g: &mut Grammar| -> Sym {
            *ids.entry(name.to_string()).or_insert_with(|| {
                g.symbols.push(name.to_string());
                (g.symbols.len() - 1) as Sym
            })
        };
        let mut parsed = Vec::new();
        for ((lhs, rhs), c) in rules {
            let lp = (c / lhs_totals[&lhs]).ln() as f32;
            let a = intern(&lhs, &mut g);
            let kids: Vec<Sym> = rhs.iter().map(|r| intern(r, &mut g)).collect();
            parsed.push((a, kids, lp));
        }
        g.start = intern(START, &mut g);
        g.unary_by_child = vec![Vec::new(); g.symbols.len()];
        for (a, kids, lp) in parsed {
            g.add_rule(a, &kids, lp);
        }
        g
    }

    fn add_rule(&mut self, a: Sym, kids: &[Sym], lp: f32) {
        match *kids {
            [b] => {
                if let Some(list) = self.unary_by_child.get_mut(usize::from(b)) {
                    list.push((a, lp));
                }
            }
            [b, c] => self.binary.entry(pair_key(b, c)).or_default().push((a, lp)),
            _ => {}
        }
    }

    /// Serializes (gzip text) for assets/style/grammar.txt.gz.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = String::new();
        out.push_str(MAGIC);
        out.push('\n');
        out.push_str(&format!("S\t{}\n", self.symbols.join("\t")));
        let mut lines = Vec::new();
        for (b, list) in self.unary_by_child.iter().enumerate() {
            for &(a, lp) in list {
                lines.push(format!("R\t{lp:.5}\t{a}\t{b}\n"));
            }
        }
        // Binary keys are hashed: recover the children by scanning symbol pairs that occur.
        let mut pairs: Vec<(Sym, Sym)> = Vec::new();
        let n = self.symbols.len() as Sym;
        for b in 0..n {
            for c in 0..n {
                if self.binary.contains_key(&pair_key(b, c)) {
                    pairs.push((b, c));
                }
            }
        }
        for (b, c) in pairs {
            for &(a, lp) in &self.binary[&pair_key(b, c)] {
                lines.push(format!("R\t{lp:.5}\t{a}\t{b}\t{c}\n"));
            }
        }
        lines.sort();
        out.extend(lines);
        for (rule, count) in &self.background_rules {
            out.push_str(&format!("B\t{count}\t{rule}\n"));
        }
        let traits = serde_json::to_string(&self.background_trait_counts)
            .map_err(|e| corrupt("grammar", e.to_string()))?;
        out.push_str(&format!("T\t{traits}\n"));
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(out.as_bytes())?;
        Ok(enc.finish()?)
    }

    pub fn from_bytes(gz: &[u8]) -> Result<Self> {
        let mut text = String::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_string(&mut text)
            .map_err(|e| corrupt("grammar", e.to_string()))?;
        let mut lines = text.lines();
        if lines.next() != Some(MAGIC) {
            return Err(corrupt("grammar", "bad magic"));
        }
        let mut g = Grammar::default();
        for line in lines {
            let mut f = line.split('\t');
            match f.next() {
                Some("S") => {
                    g.symbols = f.map(str::to_string).collect();
                    g.unary_by_child = vec![Vec::new(); g.symbols.len()];
                    g.start = g
                        .symbols
                        .iter()
                        .position(|s| s == START)
                        .ok_or_else(|| corrupt("grammar", "no ROOT"))?
                        as Sym;
                }
                Some("R") => {
                    let lp: f32 = f
                        .next()
                        .and_then(|x| x.parse().ok())
                        .ok_or_else(|| corrupt("grammar", line))?;
                    let ids: Vec<Sym> = f
                        .map(|x| {
                            x.parse::<Sym>()
                                .ok()
                                .filter(|&s| usize::from(s) < g.symbols.len())
                        })
                        .collect::<Option<_>>()
                        .ok_or_else(|| corrupt("grammar", format!("bad rule line {line:.60}")))?;
                    match ids.split_first() {
                        Some((&a, kids)) if (1..=2).contains(&kids.len()) => {
                            g.add_rule(a, kids, lp)
                        }
                        _ => return Err(corrupt("grammar", format!("bad rule arity {line:.60}"))),
                    }
                }
                Some("B") => {
                    let count: u32 = f
                        .next()
                        .and_then(|x| x.parse().ok())
                        .ok_or_else(|| corrupt("grammar", line))?;
                    let rule = f.next().ok_or_else(|| corrupt("grammar", line))?;
                    g.background_rules.insert(rule.to_string(), count);
                }
                Some("T") => {
                    g.background_trait_counts = serde_json::from_str(f.next().unwrap_or(""))
                        .map_err(|e| corrupt("grammar", format!("trait background: {e}")))?;
                }
                _ => return Err(corrupt("grammar", format!("unknown line {line:.40}"))),
            }
        }
        if g.symbols.len() < TAGS.len() || g.binary.is_empty() {
            return Err(corrupt("grammar", "no rules"));
        }
        Ok(g)
    }
}
