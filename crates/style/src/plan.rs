//! Style plans: which of a profile's features a line actually realizes (the chain of thought that
//! distillation trains on, so every item is checked against the line itself).

use crate::pragmatics::{self, Context};
use crate::profile::StyleProfile;
use crate::resources::Resources;
use crate::scoring::prepare_text;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PlannedRule {
    pub rule: String,
    pub gloss: Option<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PlannedTrait {
    pub name: String,
    /// The trait in plain words, for people (the name is for the style plan's text).
    #[serde(default)]
    pub gloss: String,
    /// The sentence of the line that shows the trait.
    pub evidence: String,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct StylePlan {
    /// Signature terms and catchphrases of the profile that occur in the line.
    pub signatures: Vec<String>,
    /// Over-used rules of the profile that the line's parse contains.
    pub rules: Vec<PlannedRule>,
    /// Distinctive traits of the profile (z >= 2) that the line shows.
    pub traits: Vec<PlannedTrait>,
}

/// Traits count as distinctive above this z-score.
const TRAIT_Z: f64 = 2.0;
/// A rule is a habit worth planning when the character uses it at least 1.5 times as often as
/// the background (a log-odds of ln 1.5) with confidence: rules every sentence has (a clause
/// under the root) are slightly over-used by talkative characters with a large z, and say nothing.
const RULE_MIN_LOG_ODDS: f64 = 0.405;
const RULE_Z: f64 = 2.0;
/// At most this many items of each kind: a plan is a short prompt, not an inventory.
const MAX_ITEMS: usize = 3;

pub fn plan(line: &str, p: &StyleProfile, res: &Resources) -> StylePlan {
    let t = prepare_text(line, res);
    let sep = crate::lexical::joiner(t.doc.language);
    let mut present = std::collections::HashSet::new();
    for s in &t.doc.sentences {
        present.extend(crate::lexical::ngrams(&s.words, sep).map(|(_, g)| g));
    }
    let mut signatures: Vec<String> = Vec::new();
    for sig in p.catchphrases.iter().chain(&p.lexical) {
        if present.contains(&sig.term) && !signatures.contains(&sig.term) {
            signatures.push(sig.term.clone());
        }
        if signatures.len() == MAX_ITEMS {
            break;
        }
    }
    let rules = p
        .syntax
        .iter()
        .filter(|r| r.log_odds >= RULE_MIN_LOG_ODDS && r.z >= RULE_Z)
        .filter(|r| t.rules.contains(&r.rule))
        .take(MAX_ITEMS)
        .map(|r| PlannedRule {
            rule: r.rule.clone(),
            gloss: r.gloss.clone(),
        })
        .collect();
    let ctx = Context {
        self_names: &p.self_names,
        language: p.language,
    };
    // The most distinctive traits first, so that the cap keeps them.
    let mut distinctive: Vec<_> = p
        .pragmatics
        .traits
        .iter()
        .filter(|tr| tr.z_or_ratio >= TRAIT_Z)
        .collect();
    distinctive.sort_by(|a, b| b.z_or_ratio.total_cmp(&a.z_or_ratio));
    let traits = distinctive
        .into_iter()
        .filter_map(|tr| {
            let def = pragmatics::trait_def(p.language, &tr.name)?;
            if def.unit == pragmatics::Unit::MeanPerSentence {
                return None;
            }
            let s = t
                .doc
                .sentences
                .iter()
                .find(|s| pragmatics::measure(def, s, &ctx) > 0.0)?;
            Some(PlannedTrait {
                name: tr.name.clone(),
                gloss: def.gloss.to_string(),
                evidence: s.text.clone(),
            })
        })
        .take(MAX_ITEMS)
        .collect();
    StylePlan {
        signatures,
        rules,
        traits,
    }
}

impl StylePlan {
    /// One short line in plain words naming what the line does, e.g.
    /// `Words: "hmph". Grammar: yes/no question. Traits: stutters.` It is the plan distillation
    /// trains on, so it holds only the profile's real rules and traits, named by their glosses.
    pub fn render(&self) -> String {
        let mut parts = Vec::new();
        if !self.signatures.is_empty() {
            let terms: Vec<String> = self.signatures.iter().map(|s| format!("\"{s}\"")).collect();
            parts.push(format!("Words: {}.", terms.join(", ")));
        }
        if !self.rules.is_empty() {
            let rules: Vec<&str> = self
                .rules
                .iter()
                .map(|r| r.gloss.as_deref().unwrap_or(&r.rule))
                .collect();
            parts.push(format!("Grammar: {}.", rules.join("; ")));
        }
        if !self.traits.is_empty() {
            let traits: Vec<&str> = self.traits.iter().map(|t| t.gloss.as_str()).collect();
            parts.push(format!("Traits: {}.", traits.join("; ")));
        }
        if parts.is_empty() {
            "Plain line: no distinctive feature of the character.".to_string()
        } else {
            parts.join(" ")
        }
    }
}
