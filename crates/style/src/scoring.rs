//! Scoring a text against a profile, out-of-character flags, and attribution among profiles.
//!
//! **What the style score means.** A text's evidence for a character is the log-likelihood ratio,
//! in nats, of "this character said it" over "a generic speaker of the language said it", summed
//! over the text's words and word pairs (lexical), the grammar rules of its parses (syntactic) and
//! its pragmatic traits, less a fixed price per sentence of assistant-speak. The overall score is
//! that evidence squashed to 0..1: 0.5 means the text says nothing either way, above 0.5 it sounds
//! like the character, below like someone else. Because evidence is summed, not averaged, a
//! one-word stock reply stays near 0.5, while a line that uses the character's habits climbs.
//!
//! What it must do, and what `kotodama bench style` measures (ROC AUC over folds of held-out
//! lines): rank the character's own unseen lines above other characters' lines, bland stock
//! replies, assistant-speak, a copy of the user's message, and another character's line with this
//! character's signature words dropped in.

use crate::doc::Document;
use crate::pragmatics::{self, Context, Unit};
use crate::profile::{self, StyleProfile};
use crate::resources::Resources;
use crate::syntax::{self, ParseStats};
use crate::text::Language;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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

/// Summed log-likelihood-ratio evidence per dimension (nats).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Evidence {
    pub lexical: f64,
    pub syntactic: f64,
    pub pragmatic: f64,
    /// Sentences in assistant or fourth-wall phrasing.
    pub assistant_sentences: usize,
}

/// Which dimensions count towards attribution and the overall score (ablations switch some off).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    pub lexical: f64,
    pub syntactic: f64,
    pub pragmatic: f64,
}

impl Weights {
    pub const ALL: Weights = Weights {
        lexical: 1.0,
        syntactic: 1.0,
        pragmatic: 1.0,
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

    /// Both sets of dimensions.
    pub const fn plus(self, other: Weights) -> Weights {
        Weights {
            lexical: self.lexical + other.lexical,
            syntactic: self.syntactic + other.syntactic,
            pragmatic: self.pragmatic + other.pragmatic,
        }
    }
}

impl Evidence {
    /// Evidence for the character over a generic speaker, in nats: the weighted dimensions, less a
    /// fixed price for every sentence in assistant phrasing (no character talks like that).
    pub fn total(&self, w: Weights) -> f64 {
        w.lexical * self.lexical + w.syntactic * self.syntactic + w.pragmatic * self.pragmatic
            - ASSISTANT_PRICE * self.assistant_sentences as f64
    }
}

/// One word or rule adds at most this much (nats, a rate 20 times the background's), so a few
/// dropped-in signature words cannot outweigh a whole sentence in another voice.
const MAX_GAIN: f64 = 3.0;
/// Japanese and Chinese "rules" are word-class 3-grams that keep function words as words
/// (`cjk_patterns`): they overlap the word-pair evidence, and their background is written prose
/// (UD GSD), so each counts a quarter (see docs/benchmarks.md: at full weight they lowered
/// Chinese attribution and validity).
const CJK_PATTERN_WEIGHT: f64 = 0.25;
/// Evidence against the character per sentence of assistant-speak (nats).
const ASSISTANT_PRICE: f64 = 6.0;

pub fn evidence(text: &PreparedText, p: &StyleProfile, res: &Resources) -> Evidence {
    let bg = res.background(text.doc.language);
    let words = p.model.words.table();
    let mut ev = Evidence::default();
    // Each word, word pair and rule counts once per text: evidence is about which habits a text
    // shows, and repeating one ("No, no, no, no, ...", a degenerate model's loop) must not add up.
    let mut seen = std::collections::HashSet::new();
    for w in text.doc.sentences.iter().flat_map(|s| &s.words) {
        if !seen.insert(w.as_str()) {
            continue;
        }
        let bg_prob = bg.log2_prob(&[w.as_str()]).exp2();
        ev.lexical += words.llr(w, bg_prob).min(MAX_GAIN);
    }
    // Word pairs: phrasing habits that single words miss ("i mean", "you know").
    let bigrams = p.model.bigrams.table();
    let sep = crate::lexical::key_joiner(text.doc.language);
    let mut seen = std::collections::HashSet::new();
    for s in &text.doc.sentences {
        for w in s.words.windows(2) {
            let key = crate::model::bigram_key(&w[0], &w[1], sep);
            if !seen.insert(key.clone()) {
                continue;
            }
            let bg_prob = bg.log2_prob(&[w[0].as_str(), w[1].as_str()]).exp2();
            ev.lexical += bigrams.llr(&key, bg_prob).min(MAX_GAIN);
        }
    }
    let rules = p.model.rules.table();
    let rule_bg = res.rule_background(text.doc.language);
    let rule_weight = match text.doc.language {
        Language::Ja | Language::Zh => CJK_PATTERN_WEIGHT,
        Language::En | Language::Other => 1.0,
    };
    let mut seen = std::collections::HashSet::new();
    for r in &text.rules {
        if !seen.insert(r) {
            continue;
        }
        let bg_prob = rule_bg.prob(r);
        ev.syntactic += rule_weight * rules.llr(r, bg_prob).min(MAX_GAIN);
    }
    // Traits overlap (a short exclamation is also verbless, an interjection...), so their
    // log-likelihood ratios are not independent evidence: their sum is divided by the square root
    // of their number rather than taken whole.
    let llrs = trait_llrs(text, p);
    ev.pragmatic =
        llrs.iter().map(|(_, llr, _)| llr).sum::<f64>() / (llrs.len().max(1) as f64).sqrt();
    ev.assistant_sentences = assistant_sentences(text, p).len();
    ev
}

/// Sentences of the text in assistant or fourth-wall phrasing.
fn assistant_sentences<'a>(t: &'a PreparedText, p: &StyleProfile) -> Vec<&'a str> {
    let ctx = Context {
        self_names: &p.self_names,
        language: p.language,
    };
    let Some(def) = pragmatics::trait_def(p.language, "assistant_speak_rate") else {
        return Vec::new();
    };
    t.doc
        .sentences
        .iter()
        .filter(|s| pragmatics::measure(def, s, &ctx) > 0.0)
        .map(|s| s.text.as_str())
        .collect()
}

/// Per sentence, a trait's log-likelihood ratio is bounded by this (nats): traits are coarse,
/// and one sentence should not decide by a single one of them.
const MAX_TRAIT_LLR: f64 = 2.0;

/// Per-trait (name, log-likelihood ratio, hits in the text).
fn trait_llrs(text: &PreparedText, p: &StyleProfile) -> Vec<(&'static str, f64, f64)> {
    let ctx = Context {
        self_names: &p.self_names,
        language: p.language,
    };
    let counts = pragmatics::tally(&text.doc.sentences, &ctx);
    pragmatics::defs(p.language)
        .iter()
        .filter(|def| def.name != "assistant_speak_rate")
        .filter_map(|def| {
            let t = p.pragmatics.get(def.name)?;
            let c = counts.get(def.name)?;
            let per_sentence_cap = MAX_TRAIT_LLR * c.sentences.max(1.0);
            let llr = match def.unit {
                Unit::PerSentence => {
                    let (q, q0) = (t.value.clamp(0.01, 0.99), t.background.clamp(0.01, 0.99));
                    c.hits * (q / q0).ln() + (c.sentences - c.hits) * ((1.0 - q) / (1.0 - q0)).ln()
                }
                Unit::Per1kTokens => {
                    let (r, r0) = (
                        (t.value / 1000.0).max(1e-3),
                        (t.background / 1000.0).max(1e-3),
                    );
                    c.hits * (r / r0).ln() - c.tokens * (r - r0)
                }
                // A count per sentence (e.g. its length) is over-dispersed: a geometric
                // distribution with the same mean, not a Poisson, so that one short or long
                // sentence is mild evidence.
                Unit::MeanPerSentence => {
                    let (m, m0) = (t.value.max(1.0), t.background.max(1.0));
                    let (q, q0) = (1.0 / (m + 1.0), 1.0 / (m0 + 1.0));
                    c.sentences * (q / q0).ln() + c.hits * ((1.0 - q) / (1.0 - q0)).ln()
                }
            };
            Some((
                def.name,
                llr.clamp(-per_sentence_cap, per_sentence_cap),
                c.hits,
            ))
        })
        .collect()
}

/// Evidence (nats) at which a score reads 0.73 (and its negative 0.27).
const EVIDENCE_SCALE: f64 = 4.0;

/// Maps summed evidence (nats) to 0..1: 0.5 is "no more this character's than a generic
/// speaker's". Evidence is summed, not averaged: a longer line in the character's voice is
/// stronger evidence, and a one-word stock reply cannot reach a high score (averaging let "Okay."
/// outscore a character's best-known lines).
fn squash(evidence: f64) -> f64 {
    1.0 / (1.0 + (-evidence / EVIDENCE_SCALE).exp())
}

/// How well `text` matches the profile's style (0..1 per dimension) and why it may be out of character.
pub fn score(text: &str, p: &StyleProfile, res: &Resources) -> StyleScore {
    score_prepared(&prepare_text(text, res), p, res)
}

/// `score` of a text prepared once (for scoring many texts against many profiles).
pub fn score_prepared(t: &PreparedText, p: &StyleProfile, res: &Resources) -> StyleScore {
    let ev = evidence(t, p, res);
    let lexical = squash(ev.lexical);
    let syntactic = squash(ev.syntactic);
    let pragmatic = squash(ev.pragmatic);
    let overall = squash(ev.total(Weights::ALL));
    let ooc_flags = ooc_flags(t, p, overall);
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
        return vec![flag("low_style", "it has no words to measure".into())];
    }
    if t.doc.language != p.language && t.doc.language != Language::Other {
        flags.push(flag(
            "language_mismatch",
            format!(
                "it is in {}, but the character speaks {}",
                language_name(t.doc.language),
                language_name(p.language)
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
    if let Some(s) = assistant_sentences(t, p).first() {
        flags.push(flag(
            "assistant_speak",
            format!("it talks like an AI assistant or out of the story: \"{s}\""),
        ));
    }
    // Causes are shown to people: traits by their gloss, not their name.
    for (name, llr, hits) in trait_llrs(t, p) {
        let (Some(tr), Some(def)) = (
            p.pragmatics.get(name),
            pragmatics::trait_def(p.language, name),
        ) else {
            continue;
        };
        if hits == 0.0 && tr.z_or_ratio >= 4.0 && llr <= -2.0 {
            flags.push(flag(
                "missing_trait",
                format!(
                    "it lacks a habit of the character: {} (the character: {:.2}, people in general: {:.2})",
                    def.gloss, tr.value, tr.background
                ),
            ));
        } else if hits > 0.0 && tr.z_or_ratio <= 0.0 && llr <= -3.0 {
            let example = first_hit(name).unwrap_or_default();
            flags.push(flag(
                "foreign_trait",
                format!(
                    "it has a habit the character avoids, {}: \"{example}\"",
                    def.gloss
                ),
            ));
        }
    }
    if overall < 0.3 {
        flags.push(flag(
            "low_style",
            format!("it sounds little like the character (style match {overall:.2})"),
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

/// A language as people name it, in the causes shown to them.
fn language_name(language: Language) -> &'static str {
    match language {
        Language::En => "English",
        Language::Ja => "Japanese",
        Language::Zh => "Chinese",
        Language::Other => "another language",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::probes;
    use crate::profile::tests::persona_lines;
    use crate::resources::shared::resources;

    /// Each bundled persona profiled without its last 40 lines: those unseen lines score above
    /// stock replies, which score above assistant-speak, on average and line by line.
    #[test]
    fn own_unseen_lines_outrank_bland_lines_which_outrank_assistant_lines() {
        let res = resources();
        let en = probes(Language::En);
        let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
        for (persona, speaker) in [
            ("tsubaki", "TSUBAKI"),
            ("mikoto", "MIKOTO"),
            ("ririka", "RIRIKA"),
        ] {
            let (own, _) = persona_lines(persona, speaker);
            let (train, unseen) = own.split_at(own.len() - 40);
            let train: Vec<&str> = train.iter().map(String::as_str).collect();
            let p = crate::analyze_speaker(&train, &[], Some(speaker), res).unwrap();
            let overall = |l: &str| score(l, &p, res).overall;
            let own: Vec<f64> = unseen.iter().map(|l| overall(l)).collect();
            let bland: Vec<f64> = en.bland.iter().map(|l| overall(l)).collect();
            let assistant: Vec<f64> = en.assistant.iter().map(|l| overall(l)).collect();
            assert!(
                mean(&own) > mean(&bland) && mean(&bland) > mean(&assistant),
                "{persona}: own {:.3} bland {:.3} assistant {:.3}",
                mean(&own),
                mean(&bland),
                mean(&assistant)
            );
            let bland_pairs = own.iter().flat_map(|o| bland.iter().map(move |b| o > b));
            let won = bland_pairs.clone().filter(|w| *w).count() as f64;
            assert!(
                won / bland_pairs.count() as f64 > 0.75,
                "{persona}: own lines beat stock replies in only {won} pairs"
            );
            assert!(
                overall("Hello! How can I assist you today?") < overall("Okay."),
                "{persona}"
            );
            // A degenerate loop on the character's strongest signature word adds nothing by
            // repeating it: it scores as the word said once, below the character's real lines.
            let signature = &p.lexical[0].term;
            let once = overall(&format!("{signature}."));
            let looped = overall(&format!("{}.", vec![signature.as_str(); 30].join(", ")));
            assert!(
                looped <= once + 0.05,
                "{persona}: {signature:?} once {once:.3}, looped {looped:.3}"
            );
            assert!(looped < mean(&own), "{persona}: looped {looped:.3}");
        }
    }
}
