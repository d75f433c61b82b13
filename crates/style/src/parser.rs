//! Viterbi CKY over POS-tag sequences with beam pruning per cell.

use crate::grammar::{pair_key, Grammar, Sym};
use crate::tags::Tag;
use crate::tree::Tree;

/// Longer sentences are not parsed (they are counted as skipped by the caller).
pub const MAX_PARSE_LEN: usize = 25;
/// Entries kept per chart cell, and the log-probability window below the cell's best.
const BEAM: usize = 10;
const BEAM_WINDOW: f32 = 9.0;
/// Unary rules are applied at most this many times in a row.
const UNARY_PASSES: usize = 2;

#[derive(Debug, Clone, Copy)]
enum Back {
    Tag,
    Unary(Sym),
    Binary { split: u16, left: Sym, right: Sym },
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    sym: Sym,
    score: f32,
    back: Back,
}

/// Reusable dense scratch row: best score and back-pointer per symbol for the cell being built.
struct Scratch {
    score: Vec<f32>,
    back: Vec<Back>,
    touched: Vec<Sym>,
}

impl Scratch {
    fn new(n: usize) -> Self {
        Self {
            score: vec![f32::NEG_INFINITY; n],
            back: vec![Back::Tag; n],
            touched: Vec::new(),
        }
    }

    fn offer(&mut self, sym: Sym, score: f32, back: Back) -> bool {
        let i = usize::from(sym);
        if score > self.score[i] {
            if self.score[i] == f32::NEG_INFINITY {
                self.touched.push(sym);
            }
            self.score[i] = score;
            self.back[i] = back;
            true
        } else {
            false
        }
    }

    fn close_unaries(&mut self, g: &Grammar) {
        let mut frontier: Vec<Sym> = self.touched.clone();
        for _ in 0..UNARY_PASSES {
            let mut next = Vec::new();
            for &b in &frontier {
                let sb = self.score[usize::from(b)];
                for &(a, lp) in g
                    .unary_by_child
                    .get(usize::from(b))
                    .map_or(&[][..], Vec::as_slice)
                {
                    if self.offer(a, sb + lp, Back::Unary(b)) {
                        next.push(a);
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
    }

    /// Moves the cell out (pruned to the beam unless `keep_all`) and resets the scratch.
    fn drain(&mut self, keep_all: bool) -> Vec<Entry> {
        let mut cell: Vec<Entry> = self
            .touched
            .iter()
            .map(|&s| Entry {
                sym: s,
                score: self.score[usize::from(s)],
                back: self.back[usize::from(s)],
            })
            .collect();
        for &s in &self.touched {
            self.score[usize::from(s)] = f32::NEG_INFINITY;
        }
        self.touched.clear();
        cell.sort_by(|a, b| b.score.total_cmp(&a.score));
        if !keep_all {
            if let Some(best) = cell.first().map(|e| e.score) {
                cell.retain(|e| e.score >= best - BEAM_WINDOW);
            }
            cell.truncate(BEAM);
        }
        cell
    }
}

/// Parses a tag sequence; returns the debinarized Viterbi tree with `words` at the leaves, or
/// None when no parse rooted in ROOT survives the beam.
pub fn parse(g: &Grammar, tags: &[Tag], words: &[&str]) -> Option<Tree> {
    let n = tags.len();
    if n == 0 || n > MAX_PARSE_LEN || words.len() != n {
        return None;
    }
    let idx = |start: usize, len: usize| (len - 1) * n + start;
    let mut chart: Vec<Vec<Entry>> = vec![Vec::new(); n * n];
    let mut scratch = Scratch::new(g.symbols.len());
    for (i, &t) in tags.iter().enumerate() {
        scratch.offer(Sym::from(t), 0.0, Back::Tag);
        scratch.close_unaries(g);
        chart[idx(i, 1)] = scratch.drain(n == 1);
    }
    for len in 2..=n {
        for start in 0..=n - len {
            for split in 1..len {
                let (left, right) = (
                    &chart[idx(start, split)],
                    &chart[idx(start + split, len - split)],
                );
                for l in left {
                    for r in right {
                        if let Some(rules) = g.binary.get(&pair_key(l.sym, r.sym)) {
                            let base = l.score + r.score;
                            for &(a, lp) in rules {
                                scratch.offer(
                                    a,
                                    base + lp,
                                    Back::Binary {
                                        split: split as u16,
                                        left: l.sym,
                                        right: r.sym,
                                    },
                                );
                            }
                        }
                    }
                }
            }
            scratch.close_unaries(g);
            chart[idx(start, len)] = scratch.drain(len == n);
        }
    }
    let top = &chart[idx(0, n)];
    top.iter().find(|e| e.sym == g.start)?;
    let mut budget = 4 * n + 16;
    build(g, &chart, &idx, 0, n, g.start, words, &mut budget).map(|t| t.debinarize())
}

#[allow(clippy::too_many_arguments)]
fn build(
    g: &Grammar,
    chart: &[Vec<Entry>],
    idx: &dyn Fn(usize, usize) -> usize,
    start: usize,
    len: usize,
    sym: Sym,
    words: &[&str],
    budget: &mut usize,
) -> Option<Tree> {
    // Guards against a malformed back-pointer chain (cannot happen with strictly improving updates).
    *budget = budget.checked_sub(1)?;
    let e = chart[idx(start, len)].iter().find(|e| e.sym == sym)?;
    let label = g.symbol(sym).to_string();
    match e.back {
        Back::Tag => Some(Tree {
            label,
            children: Vec::new(),
            word: Some(words[start].to_string()),
        }),
        Back::Unary(b) => {
            let child = build(g, chart, idx, start, len, b, words, budget)?;
            Some(Tree {
                label,
                children: vec![child],
                word: None,
            })
        }
        Back::Binary { split, left, right } => {
            let s = usize::from(split);
            let l = build(g, chart, idx, start, s, left, words, budget)?;
            let r = build(g, chart, idx, start + s, len - s, right, words, budget)?;
            Some(Tree {
                label,
                children: vec![l, r],
                word: None,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tags::tag_id;
    use crate::tree::read_ptb;

    fn toy_grammar() -> Grammar {
        let src = "(ROOT (S (NP (PRP I)) (VP (VBP see) (NP (DT the) (NN dog))) (. .)))
                   (ROOT (SQ (VBP Do) (NP (PRP you)) (VP (VB see) (NP (PRP it))) (. ?)))";
        let trees: Vec<Tree> = read_ptb(src, "toy")
            .unwrap()
            .iter()
            .map(Tree::binarize)
            .collect();
        Grammar::estimate(&trees)
    }

    fn tags(names: &[&str]) -> Vec<Tag> {
        names.iter().map(|t| tag_id(t).unwrap()).collect()
    }

    #[test]
    fn parses_a_question_with_sq() {
        let g = toy_grammar();
        let t = parse(
            &g,
            &tags(&["VBP", "PRP", "VB", "DT", "NN", "."]),
            &["Do", "you", "see", "the", "dog", "?"],
        )
        .unwrap();
        let rules = t.rules();
        assert!(
            rules.contains(&"SQ -> VBP NP VP .".to_string()),
            "{rules:?}"
        );
        assert_eq!(t.leaves().len(), 6);
    }

    #[test]
    fn refuses_what_it_cannot_parse() {
        let g = toy_grammar();
        assert!(parse(&g, &tags(&["DT", "DT", "DT"]), &["a", "a", "a"]).is_none());
        assert!(parse(&g, &[], &[]).is_none());
        let long = tags(&["NN"; MAX_PARSE_LEN + 1]);
        assert!(parse(&g, &long, &vec!["x"; MAX_PARSE_LEN + 1]).is_none());
    }
}
