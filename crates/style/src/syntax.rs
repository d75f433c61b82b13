//! Syntactic patterns: rules used in a character's parses, ranked against the background rule
//! distribution with the log-odds ratio with informative Dirichlet prior (Monroe, Colaresi & Quinn
//! 2008), each with a gloss when the pattern is a known construction.

use std::collections::{BTreeMap, HashMap};

use crate::doc::Document;
use crate::grammar::Grammar;
use crate::parser::{self, MAX_PARSE_LEN};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleStat {
    /// n-ary rule, e.g. "SQ -> VBZ NP VP".
    pub rule: String,
    pub gloss: Option<String>,
    /// Log-odds of the rule in the character's parses vs the background.
    pub log_odds: f64,
    pub z: f64,
    pub count: u32,
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParseStats {
    pub sentences: usize,
    pub parsed: usize,
    /// Longer than the parser's length bound.
    pub skipped_too_long: usize,
    /// No parse survived the beam.
    pub failed: usize,
    /// Rule occurrences over all parses.
    pub rules_total: usize,
}

impl ParseStats {
    pub fn parsed_share(&self) -> f64 {
        self.parsed as f64 / self.sentences.max(1) as f64
    }
}

/// Rules of each parsed sentence (index into `doc.sentences`).
#[derive(Debug, Default)]
pub struct Parses {
    pub by_sentence: Vec<Option<Vec<String>>>,
    pub stats: ParseStats,
}

pub fn parse_document(doc: &Document, g: &Grammar) -> Parses {
    let mut out = Parses::default();
    for s in &doc.sentences {
        if s.tags.is_empty() {
            out.by_sentence.push(None);
            continue;
        }
        out.stats.sentences += 1;
        let rules = parse_rules(g, s, &mut out.stats);
        out.stats.rules_total += rules.as_ref().map_or(0, Vec::len);
        out.by_sentence.push(rules);
    }
    out
}

/// Rules of one tagged sentence's Viterbi parse, updating `stats`.
pub fn parse_rules(
    g: &Grammar,
    s: &crate::doc::Sentence,
    stats: &mut ParseStats,
) -> Option<Vec<String>> {
    if s.tags.len() > MAX_PARSE_LEN {
        stats.skipped_too_long += 1;
        return None;
    }
    let words: Vec<&str> = s.ptb.iter().map(String::as_str).collect();
    match parser::parse(g, &s.tags, &words) {
        Some(tree) => {
            stats.parsed += 1;
            Some(tree.rules())
        }
        None => {
            stats.failed += 1;
            None
        }
    }
}

/// Prior strength: the background proportions act as this many pseudo-counts.
const PRIOR_MASS: f64 = 500.0;
const MIN_COUNT: u32 = 2;
const TOP_RULES: usize = 30;
const MAX_EXAMPLES: usize = 3;

/// Monroe et al. (2008) log-odds of `y` in a corpus of `n` against `y_bg` in `n_bg`, with prior
/// pseudo-count `alpha` for this rule out of `alpha0`. Returns (delta, z).
pub fn log_odds(y: f64, n: f64, y_bg: f64, n_bg: f64, alpha: f64, alpha0: f64) -> (f64, f64) {
    let odds = |y: f64, n: f64| ((y + alpha) / (n + alpha0 - y - alpha).max(1e-9)).ln();
    let delta = odds(y, n) - odds(y_bg, n_bg);
    let var = 1.0 / (y + alpha) + 1.0 / (y_bg + alpha);
    (delta, delta / var.sqrt())
}

/// Log-odds of a rule seen `count` times among `total` rule uses, against the background.
pub fn rule_log_odds(rule: &str, count: f64, total: f64, g: &Grammar) -> (f64, f64) {
    let n_bg: f64 = g.background_total().max(1.0);
    let y_bg = f64::from(g.background_rules.get(rule).copied().unwrap_or(0));
    let alpha = PRIOR_MASS * (y_bg + 0.5) / (n_bg + 0.5);
    log_odds(count, total, y_bg, n_bg, alpha, PRIOR_MASS)
}

/// Log-odds of every rule used at least twice (the scorer's syntactic model), strongest first.
pub fn rule_weights(parses: &Parses, g: &Grammar, keep: usize) -> Vec<crate::WeightedTerm> {
    let counts = count_rules(parses.by_sentence.iter().flatten());
    let n = parses.stats.rules_total as f64;
    let mut out: Vec<crate::WeightedTerm> = counts
        .into_iter()
        .filter(|(_, c)| *c >= MIN_COUNT)
        .map(|(rule, c)| {
            let weight = rule_log_odds(&rule, f64::from(c), n, g).0 as f32;
            crate::WeightedTerm { term: rule, weight }
        })
        .collect();
    out.sort_by(|a, b| {
        b.weight
            .abs()
            .total_cmp(&a.weight.abs())
            .then_with(|| a.term.cmp(&b.term))
    });
    out.truncate(keep);
    out
}

/// Ranks the rules of a document's parses against the grammar's background rule counts.
pub fn rank_rules(doc: &Document, parses: &Parses, g: &Grammar) -> Vec<RuleStat> {
    let mut counts: HashMap<&str, (u32, Vec<usize>)> = HashMap::new();
    for (si, rules) in parses.by_sentence.iter().enumerate() {
        for r in rules.iter().flatten() {
            let e = counts.entry(r.as_str()).or_default();
            e.0 += 1;
            if e.1.last() != Some(&si) {
                e.1.push(si);
            }
        }
    }
    let n: f64 = counts.values().map(|c| f64::from(c.0)).sum();
    let mut stats: Vec<RuleStat> = counts
        .into_iter()
        .filter(|(_, (c, _))| *c >= MIN_COUNT)
        .map(|(rule, (count, sents))| {
            let (delta, z) = rule_log_odds(rule, f64::from(count), n, g);
            let mut examples: Vec<String> = Vec::new();
            for &si in &sents {
                let line = &doc.lines[doc.sentences[si].line];
                if !examples.contains(line) {
                    examples.push(line.clone());
                }
                if examples.len() == MAX_EXAMPLES {
                    break;
                }
            }
            RuleStat {
                rule: rule.to_string(),
                gloss: gloss(rule),
                log_odds: delta,
                z,
                count,
                examples,
            }
        })
        .filter(|r| r.z > 0.0)
        .collect();
    stats.sort_by(|a, b| b.z.total_cmp(&a.z).then_with(|| a.rule.cmp(&b.rule)));
    stats.truncate(TOP_RULES);
    stats
}

/// Rule counts over many sentences' parses (used to build the background).
pub fn count_rules<'a>(parses: impl IntoIterator<Item = &'a Vec<String>>) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    for r in parses.into_iter().flatten() {
        *out.entry(r.clone()).or_insert(0) += 1;
    }
    out
}

fn is_verbal(label: &str) -> bool {
    label.starts_with("VB") || label == "MD" || label == "VP"
}

/// A readable name for rules that realize a known construction.
pub fn gloss(rule: &str) -> Option<String> {
    let (lhs, rhs) = rule.split_once(" -> ")?;
    let kids: Vec<&str> = rhs.split(' ').collect();
    let first_np = kids.iter().position(|k| *k == "NP");
    let first_verbal = kids.iter().position(|k| is_verbal(k));
    let g = match lhs {
        "ROOT" => match kids.as_slice() {
            ["FRAG"] => "utterance is a fragment",
            ["SQ"] => "utterance is a yes/no question",
            ["SBARQ"] => "utterance is a wh-question",
            ["SINV"] => "utterance with subject-verb inversion",
            ["INTJ"] => "utterance is an interjection",
            ["NP"] => "utterance is a bare noun phrase",
            [_, ..] if kids.len() > 1 => "run-on utterance",
            _ => return None,
        },
        "SQ" if kids.last() == Some(&"SQ") || kids.contains(&",") && kids.first() == Some(&"S") => {
            "tag question"
        }
        "SQ" => "yes/no question (auxiliary before subject)",
        "SBARQ" => "wh-question",
        "SINV" => "inversion (verb before subject)",
        "FRAG" => "fragment (no main clause)",
        "INTJ" => "interjection",
        "PRN" => "parenthetical",
        "S" if kids.contains(&"SQ") => "tag question",
        "S" if kids.first() == Some(&"VP") => "subjectless clause (imperative)",
        "S" if first_verbal.is_some_and(|v| first_np.is_some_and(|np| v < np)) => {
            "inversion (predicate before subject)"
        }
        "S" if kids
            .first()
            .is_some_and(|k| matches!(*k, "ADJP" | "PP" | "NP" | "VP" | "S"))
            && (kids.get(1) == Some(&"NP")
                || kids.get(1) == Some(&",")
                    && kids.get(2) == Some(&"NP")
                    && kids.get(3) == Some(&"VP")) =>
        {
            "fronted constituent before subject (inversion)"
        }
        "S" if kids.iter().filter(|k| **k == "S").count() >= 2 => "coordinated clauses",
        "S" if kids.first() == Some(&"INTJ") => "clause opened by an interjection",
        "S" if first_np.is_some() && first_verbal.is_none() => "verbless clause",
        "VP" if kids.first() == Some(&"MD") => "modal verb",
        "VP" if kids.len() == 1 && kids[0].starts_with("VB") => {
            "bare verb (complement fronted or dropped)"
        }
        "VP" if kids.contains(&"RB") => "negated/adverb-modified verb phrase",
        "NP" if kids == ["PRP"] => "pronoun",
        "NP" if kids == ["NNP"] || kids == ["NNP", "NNP"] => "proper name",
        "NP" if kids.contains(&"UH") || kids.contains(&",") && kids.len() == 2 => {
            "vocative/address"
        }
        "ADJP" if kids.first() == Some(&"RB") => "intensified adjective",
        _ => return None,
    };
    Some(g.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glosses_name_constructions() {
        assert_eq!(
            gloss("SQ -> VBZ NP VP .").as_deref(),
            Some("yes/no question (auxiliary before subject)")
        );
        assert_eq!(gloss("SBARQ -> WHNP SQ .").as_deref(), Some("wh-question"));
        assert_eq!(
            gloss("S -> VP .").as_deref(),
            Some("subjectless clause (imperative)")
        );
        assert_eq!(
            gloss("S -> ADJP VBP NP .").as_deref(),
            Some("inversion (predicate before subject)")
        );
        assert_eq!(gloss("S -> S , SQ .").as_deref(), Some("tag question"));
        assert_eq!(
            gloss("S -> ADJP , NP VP .").as_deref(),
            Some("fronted constituent before subject (inversion)")
        );
        assert_eq!(gloss("NP -> DT NN"), None);
    }

    #[test]
    fn log_odds_favours_overused_rules() {
        // 30 of 100 vs 10 of 1000: strongly over-used.
        let (d, z) = log_odds(30.0, 100.0, 10.0, 1000.0, 5.0, 500.0);
        assert!(d > 1.0 && z > 3.0, "{d} {z}");
        let (d2, _) = log_odds(1.0, 100.0, 100.0, 1000.0, 50.0, 500.0);
        assert!(d2 < 0.0);
    }
}
