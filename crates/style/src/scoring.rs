//! Scoring a text against a profile, OOC flags, and attribution among several profiles.
//!
//! Each dimension yields log-likelihood-ratio evidence of "this character" over "the background":
//! lexical (unigram log rate ratios, naive-Bayes style), syntactic (rule log-odds of the text's
//! parses) and pragmatic (Bernoulli/Poisson likelihood ratios of the traits). Evidence is
//! comparable across profiles, so attribution sums it; display scores squash its mean per unit.

use std::collections::HashMap;

use crate::doc::Document;
use crate::pragmatics::{self, Context, Unit};
use crate::profile::{self, StyleProfile};
use crate::resources::Resources;
use crate::syntax::{self, ParseStats};
use crate::text::Language;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OocFlag {
    /// Stable id: `assistant_speak`, `language_mismatch`, `missing_trait`, `foreign_trait`, `low_style`.
    pub kind: String,
    pub cause: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StyleScore {
    pub lexical: f64,
    pub syntactic: f64,
    pub pragmatic: f64,
    /// 0..1
    pub overall: f64,
    pub ooc_flags: Vec<OocFlag>,
}

/// A text prepared once (normalized, tagged, parsed) for scoring against many profiles.
pub struct PreparedText {
    pub doc: Document,
    pub rules: Vec<String>,
    pub parse_stats: ParseStats,
}

pub fn prepare_text(text: &str, res: &Resources) -> PreparedText {
    let lines: Vec<&str> = text.lines().collect();
    let doc = profile::prepare(&lines, res);
    let parses = syntax::parse_document(&doc, &res.grammar);
    let rules = parses.by_sentence.into_iter().flatten().flatten().collect();
    PreparedText {
        doc,
        rules,
        parse_stats: parses.stats,
    }
}

/// Summed log-likelihood-ratio evidence per dimension (nats), with the units it was summed over.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Evidence {
    pub lexical: f64,
    pub syntactic: f64,
    pub pragmatic: f64,
    pub tokens: usize,
    pub rules: usize,
    pub sentences: usize,
}

/// Which dimensions count towards attribution (ablations switch some off).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    pub lexical: f64,
    pub syntactic: f64,
    pub pragmatic: f64,
}

impl Weights {
    pub const ALL: Weights = Weights {
        lexical: 1.0,
        syntactic: 0.5,
        pragmatic: 0.5,
    };
    pub const LEXICAL: Weights = Weights {
        lexical: 1.0,
        syntactic: 0.0,
        pragmatic: 0.0,
    };
    pub const SYNTAX: Weights = Weights {
        lexical: 0.0,
        syntactic: 1.0,
        pragmatic: 0.0,
    };
    pub const PRAGMATICS: Weights = Weights {
        lexical: 0.0,
        syntactic: 0.0,
        pragmatic: 1.0,
    };
}

impl Evidence {
    pub fn total(&self, w: Weights) -> f64 {
        w.lexical * self.lexical + w.syntactic * self.syntactic + w.pragmatic * self.pragmatic
    }
}

/// Unmatched tokens and rules are penalized at most this much (nats), so one odd word cannot veto.
const MAX_PENALTY: f64 = 3.0;

pub fn evidence(text: &PreparedText, p: &StyleProfile, res: &Resources) -> Evidence {
    let bg = res.background(text.doc.language);
    let terms: HashMap<&str, f64> = p
        .term_weights
        .iter()
        .map(|t| {
            (
                t.term.as_str(),
                f64::from(t.weight) * std::f64::consts::LN_2,
            )
        })
        .collect();
    let n = p.token_count.max(1) as f64;
    let mut ev = Evidence {
        tokens: text.doc.token_count(),
        rules: text.rules.len(),
        sentences: text.doc.sentences.len(),
        ..Evidence::default()
    };
    for w in text.doc.sentences.iter().flat_map(|s| &s.words) {
        ev.lexical += match terms.get(w.as_str()) {
            Some(&lr) => lr,
            // Unseen by the character: rate at most 0.5/N, capped penalty.
            None => {
                ((0.5 / n).log2() - bg.log2_prob(&[w.as_str()]))
                    .clamp(-MAX_PENALTY / std::f64::consts::LN_2, 0.0)
                    * std::f64::consts::LN_2
            }
        };
    }
    let rules: HashMap<&str, f64> = p
        .rule_weights
        .iter()
        .map(|r| (r.term.as_str(), f64::from(r.weight)))
        .collect();
    let total_rules = p.parse_stats.rules_total as f64;
    for r in &text.rules {
        ev.syntactic += match rules.get(r.as_str()) {
            Some(&lo) => lo,
            None => syntax::rule_log_odds(r, 0.0, total_rules, &res.grammar)
                .0
                .clamp(-MAX_PENALTY, 0.0),
        };
    }
    ev.pragmatic = trait_llrs(text, p).iter().map(|(_, llr, _)| llr).sum();
    ev
}

/// Per-trait (name, log-likelihood ratio, hits in the text).
fn trait_llrs(text: &PreparedText, p: &StyleProfile) -> Vec<(&'static str, f64, f64)> {
    let ctx = Context {
        self_names: &p.self_names,
        language: p.language,
    };
    let counts = pragmatics::tally(&text.doc.sentences, &ctx);
    pragmatics::defs(p.language)
        .iter()
        .filter_map(|def| {
            let t = p.pragmatics.get(def.name)?;
            let c = counts.get(def.name)?;
            let llr = match def.unit {
                Unit::PerSentence => {
                    let (q, q0) = (
                        t.value.clamp(0.005, 0.995),
                        t.background.clamp(0.005, 0.995),
                    );
                    c.hits * (q / q0).ln() + (c.sentences - c.hits) * ((1.0 - q) / (1.0 - q0)).ln()
                }
                Unit::Per1kTokens => {
                    let (r, r0) = (
                        (t.value / 1000.0).max(1e-4),
                        (t.background / 1000.0).max(1e-4),
                    );
                    c.hits * (r / r0).ln() - c.tokens * (r - r0)
                }
                Unit::MeanPerSentence => {
                    let (m, m0) = (t.value.max(1.0), t.background.max(1.0));
                    c.hits * (m / m0).ln() - c.sentences * (m - m0)
                }
            };
            Some((def.name, llr, c.hits))
        })
        .collect()
}

fn squash(evidence: f64, units: usize) -> f64 {
    if units == 0 {
        return 0.5;
    }
    1.0 / (1.0 + (-2.0 * evidence / units as f64).exp())
}

/// How well `text` matches the profile's style (0..1 per dimension) and why it may be out of character.
pub fn score(text: &str, p: &StyleProfile, res: &Resources) -> StyleScore {
    let t = prepare_text(text, res);
    let ev = evidence(&t, p, res);
    let lexical = squash(ev.lexical, ev.tokens);
    let syntactic = squash(ev.syntactic, ev.rules);
    let pragmatic = squash(ev.pragmatic, ev.sentences);
    let overall = (lexical + syntactic + pragmatic) / 3.0;
    let ooc_flags = ooc_flags(&t, p, overall);
    StyleScore {
        lexical,
        syntactic,
        pragmatic,
        overall,
        ooc_flags,
    }
}

fn ooc_flags(t: &PreparedText, p: &StyleProfile, overall: f64) -> Vec<OocFlag> {
    let mut flags = Vec::new();
    let flag = |kind: &str, cause: String| OocFlag {
        kind: kind.to_string(),
        cause,
    };
    if t.doc.token_count() == 0 {
        return vec![flag("low_style", "the text has no words to analyze".into())];
    }
    if t.doc.language != p.language && t.doc.language != Language::Other {
        flags.push(flag(
            "language_mismatch",
            format!(
                "text is {} but the character speaks {}",
                t.doc.language.code(),
                p.language.code()
            ),
        ));
    }
    let ctx = Context {
        self_names: &p.self_names,
        language: p.language,
    };
    let first_hit = |name: &str| {
        let def = pragmatics::trait_def(p.language, name)?;
        t.doc
            .sentences
            .iter()
            .find(|s| pragmatics::measure(def, s, &ctx) > 0.0)
            .map(|s| s.text.clone())
    };
    if let Some(s) = first_hit("assistant_speak_rate") {
        flags.push(flag(
            "assistant_speak",
            format!("assistant/fourth-wall phrasing: \"{s}\""),
        ));
    }
    for (name, llr, hits) in trait_llrs(t, p) {
        let Some(tr) = p.pragmatics.get(name) else {
            continue;
        };
        if name == "assistant_speak_rate" {
            continue;
        }
        if hits == 0.0 && tr.z_or_ratio >= 4.0 && llr <= -2.0 {
            flags.push(flag(
                "missing_trait",
                format!(
                    "never shows {name} (character {:.2} vs background {:.2})",
                    tr.value, tr.background
                ),
            ));
        } else if hits > 0.0 && tr.z_or_ratio <= 0.0 && llr <= -3.0 {
            let example = first_hit(name).unwrap_or_default();
            flags.push(flag(
                "foreign_trait",
                format!("shows {name}, which the character avoids: \"{example}\""),
            ));
        }
    }
    if overall < 0.3 {
        flags.push(flag(
            "low_style",
            format!("overall style match {overall:.2} is low"),
        ));
    }
    flags
}

/// Ranks profiles by how likely each speaker said `text` (summed evidence, best first).
pub fn attribute(
    text: &str,
    profiles: &[(&str, &StyleProfile)],
    res: &Resources,
) -> Vec<(String, f64)> {
    let t = prepare_text(text, res);
    attribute_prepared(&t, profiles, res, Weights::ALL)
}

pub fn attribute_prepared(
    t: &PreparedText,
    profiles: &[(&str, &StyleProfile)],
    res: &Resources,
    w: Weights,
) -> Vec<(String, f64)> {
    let mut ranked: Vec<(String, f64)> = profiles
        .iter()
        .map(|(id, p)| (id.to_string(), evidence(t, p, res).total(w)))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked
}
