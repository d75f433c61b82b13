//! The out-of-character guard: judges a written reply against the persona's profile (style score,
//! out-of-character flags, catchphrase over-use) and says whether to keep it. The replier writes again
//! (or rewrites in character) while replies are caught, and keeps the best.

use std::sync::Arc;

use crate::{ChatSettings, GuardAction, GuardSettings};
use kotodama_store::StyleScoreColumns;
use kotodama_style::{OocFlag, StyleProfile, StyleScore};
use serde::{Deserialize, Serialize};

use crate::{Error, Kotodama, Result};

/// The most replies one message may cost, whatever the settings say.
pub const MAX_ATTEMPTS: u32 = 5;

/// Flags that catch a reply whatever its score. `missing_trait` (a short reply need not show every
/// trait) and `low_style` (the threshold decides) do not.
const CATCHING_FLAGS: &[&str] = &[
    "assistant_speak",
    "language_mismatch",
    "foreign_trait",
    "catchphrase_overuse",
];

/// Characters a reply has written before its language counts (a name or an interjection can look foreign).
const EARLY_LANGUAGE_CHARS: usize = 40;

/// The share of the persona's own script lines that would be caught by the threshold taken from them.
const SCRIPT_QUANTILE: f64 = 0.05;
/// Lines of the script scored to find that threshold (evenly spaced through it).
const THRESHOLD_SAMPLE: usize = 150;

/// Everything needed to judge a reply without the database: built with the pending reply.
#[derive(Debug, Clone)]
pub struct ReplyJudge {
    /// None for a persona without a profile (nothing to judge against: every reply is kept).
    profile: Option<Arc<StyleProfile>>,
    threshold: f64,
    /// The persona's replies before this one, oldest first: the catchphrase cap's window.
    previous: Vec<String>,
    pub(crate) settings: GuardSettings,
}

/// A reply's judgement: its style meter columns and, when caught, why.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub style: StyleScoreColumns,
    pub caught: Option<String>,
}

impl Verdict {
    /// Kept replies beat caught ones; then the higher style score wins.
    pub fn better_than(&self, other: &Verdict) -> bool {
        let key = |v: &Verdict| (v.caught.is_none(), v.style.overall.unwrap_or(0.0));
        key(self) > key(other)
    }
}

/// What the guard did before keeping a reply; stored with the message and shown on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct GuardReport {
    pub action: GuardAction,
    /// Replies written in all.
    pub attempts: u32,
    /// Which attempt (from 1) was kept.
    pub kept: u32,
    /// The causes of the caught attempts, in order.
    pub caught: Vec<String>,
}

impl ReplyJudge {
    pub(crate) fn new(
        profile: Option<Arc<StyleProfile>>,
        threshold: f64,
        previous: Vec<String>,
        settings: GuardSettings,
    ) -> Self {
        ReplyJudge {
            profile,
            threshold,
            previous,
            settings,
        }
    }

    /// How many replies a message may cost: 1 with the guard off.
    pub fn attempts(&self) -> u32 {
        match self.settings.action {
            GuardAction::Off => 1,
            _ => self.settings.attempts.clamp(1, MAX_ATTEMPTS),
        }
    }

    pub fn action(&self) -> GuardAction {
        self.settings.action
    }

    /// Why a reply being written is already caught, whatever it goes on to say: it spoke as an
    /// assistant, or in another language (once it has enough words to tell). The replier then stops
    /// the attempt and writes the next one, rather than waiting for a reply it will not keep.
    pub fn caught_early(&self, partial: &str) -> Result<Option<String>> {
        let Some(profile) = &self.profile else {
            return Ok(None);
        };
        let score = kotodama_style::score(partial, profile, crate::analysis::style_resources()?);
        let decided = |kind: &str| match kind {
            "assistant_speak" => true,
            "language_mismatch" => partial.chars().count() >= EARLY_LANGUAGE_CHARS,
            _ => false,
        };
        Ok(score
            .ooc_flags
            .into_iter()
            .find(|f| decided(&f.kind))
            .map(|f| f.cause))
    }

    pub fn judge(&self, text: &str) -> Result<Verdict> {
        let Some(profile) = &self.profile else {
            return Ok(Verdict {
                style: StyleScoreColumns::default(),
                caught: None,
            });
        };
        let res = crate::analysis::style_resources()?;
        let mut score = kotodama_style::score(text, profile, res);
        let previous: Vec<&str> = self.previous.iter().map(String::as_str).collect();
        score.ooc_flags.extend(kotodama_style::catchphrase_overuse(
            text, &previous, profile, res,
        ));
        let caught = caught_by(&score, self.threshold);
        Ok(Verdict {
            style: columns(&score)?,
            caught,
        })
    }
}

/// Why a reply is caught: the first catching flag, else a score below the threshold.
fn caught_by(score: &StyleScore, threshold: f64) -> Option<String> {
    let flag = score
        .ooc_flags
        .iter()
        .find(|f| CATCHING_FLAGS.contains(&f.kind.as_str()));
    match flag {
        // The causes are written for people (see kotodama_style::scoring).
        Some(OocFlag { cause, .. }) => Some(cause.clone()),
        None if score.overall < threshold => Some(format!(
            "it does not sound enough like the character (style {:.0}%; the guard asks for {:.0}%)",
            score.overall * 100.0,
            threshold * 100.0
        )),
        None => None,
    }
}

/// A score as the message's style meter columns.
pub(crate) fn columns(score: &StyleScore) -> Result<StyleScoreColumns> {
    Ok(StyleScoreColumns {
        overall: Some(score.overall),
        lexical: Some(score.lexical),
        syntactic: Some(score.syntactic),
        pragmatic: Some(score.pragmatic),
        ooc_flags: Some(
            serde_json::to_value(&score.ooc_flags)
                .map_err(|e| Error::InvalidInput(format!("style flags: {e}")))?,
        ),
        guard: None,
    })
}

/// Consecutive script lines kept together when the script is halved (a scene stays whole).
const HALF_BLOCK: usize = 20;

/// The `q`-quantile of the overall scores of (up to `THRESHOLD_SAMPLE`) script lines, each scored
/// by a profile that did not see it: the script is halved into alternating blocks of lines and each
/// half is scored by a profile of the other. Scored by the persona's own profile, its lines would
/// count as evidence for themselves and sit far above any new reply (the 5% quantile was 0.98).
/// A script too short to halve is scored by `profile`.
fn script_quantile(lines: &[&str], profile: &StyleProfile, q: f64) -> Result<Option<f64>> {
    let res = crate::analysis::style_resources()?;
    let half = |parity: usize| -> Vec<&str> {
        lines
            .chunks(HALF_BLOCK)
            .enumerate()
            .filter(|(i, _)| i % 2 == parity)
            .flat_map(|(_, b)| b.iter().copied())
            .collect()
    };
    let (even, odd) = (half(0), half(1));
    let step = lines.len().div_ceil(THRESHOLD_SAMPLE).max(1);
    let score_all = |texts: &[&str], p: &StyleProfile| -> Vec<f64> {
        texts
            .iter()
            .step_by(step)
            .map(|l| kotodama_style::score(l, p, res).overall)
            .collect()
    };
    let analyze = |texts: &[&str]| kotodama_style::analyze(texts, &[], res).ok();
    let mut scores = match (analyze(&even), analyze(&odd)) {
        (Some(p_even), Some(p_odd)) if odd.len() >= HALF_BLOCK => {
            let mut s = score_all(&odd, &p_even);
            s.extend(score_all(&even, &p_odd));
            s
        }
        _ => score_all(lines, profile),
    };
    if scores.is_empty() {
        return Ok(None);
    }
    scores.sort_by(f64::total_cmp);
    Ok(Some(
        scores[((scores.len() - 1) as f64 * q).round() as usize],
    ))
}

impl Kotodama {
    /// The judge of the next reply in a chat of `persona_id`, given the chat's earlier replies.
    pub(crate) fn reply_judge(
        &mut self,
        persona_id: i64,
        earlier_replies: Vec<String>,
    ) -> Result<ReplyJudge> {
        let settings = self.store.chat_settings::<ChatSettings>(persona_id)?.guard;
        let Some(record) = self.store.latest_profile(persona_id)? else {
            return Ok(ReplyJudge::new(None, 0.0, Vec::new(), settings));
        };
        let profile = self.style_profile(persona_id)?;
        // With the guard off nothing is caught: the script's threshold is not worth working out.
        let threshold = match (settings.action, settings.threshold) {
            (GuardAction::Off, _) => 0.0,
            (_, Some(t)) => t,
            (_, None) => self.script_threshold(persona_id, record.id, &profile)?,
        };
        let keep_from = earlier_replies
            .len()
            .saturating_sub(kotodama_style::overuse::OVERUSE_WINDOW);
        Ok(ReplyJudge::new(
            Some(Arc::new(profile)),
            threshold,
            earlier_replies[keep_from..].to_vec(),
            settings,
        ))
    }

    /// The threshold a persona's own lines set: the score that all but the lowest 5% of its script
    /// lines reach when scored as unseen lines. Computed once per profile version (two analyses of
    /// half the script: about a second) and kept.
    fn script_threshold(
        &mut self,
        persona_id: i64,
        profile_id: i64,
        profile: &StyleProfile,
    ) -> Result<f64> {
        if let Some(&t) = self.guard_thresholds.get(&profile_id) {
            return Ok(t);
        }
        let lines = self.store.script_lines(persona_id)?;
        let texts: Vec<&str> = lines.iter().map(|l| l.line.text.as_str()).collect();
        let threshold = script_quantile(&texts, profile, SCRIPT_QUANTILE)?.unwrap_or(0.0);
        self.guard_thresholds.insert(profile_id, threshold);
        Ok(threshold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Home;

    #[test]
    fn the_script_sets_a_threshold_its_own_lines_mostly_pass_and_a_set_one_overrides_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut app = Kotodama::open(Home::at(dir.path())).unwrap();
        let persona = app.personas().unwrap()[0].id;
        let record = app.store.latest_profile(persona).unwrap().unwrap();
        let profile = app.style_profile(persona).unwrap();
        let threshold = app.script_threshold(persona, record.id, &profile).unwrap();
        assert!((0.05..0.95).contains(&threshold), "{threshold}");
        assert_eq!(app.guard_thresholds.get(&record.id), Some(&threshold));

        let lines = app.store.script_lines(persona).unwrap();
        let res = crate::analysis::style_resources().unwrap();
        let below = lines
            .iter()
            .filter(|l| kotodama_style::score(&l.line.text, &profile, res).overall < threshold)
            .count();
        let share = below as f64 / lines.len() as f64;
        assert!(share <= 0.10, "{below} of {} lines below", lines.len());

        let plain = "The weather report says it will rain tomorrow.";
        let judge = app.reply_judge(persona, Vec::new()).unwrap();
        let mut settings = app.chat_settings(persona).unwrap();
        settings.guard.threshold = Some(0.99);
        app.set_chat_settings(persona, &settings).unwrap();
        let strict = app.reply_judge(persona, Vec::new()).unwrap();
        assert!(strict.judge(plain).unwrap().caught.is_some());
        assert_eq!(judge.attempts(), 2);
    }

    #[test]
    fn a_catching_flag_is_named_first_and_a_low_score_names_the_threshold() {
        let flag = |kind: &str| OocFlag {
            kind: kind.into(),
            cause: "why".into(),
        };
        let score = |overall, ooc_flags| StyleScore {
            lexical: overall,
            syntactic: overall,
            pragmatic: overall,
            overall,
            ooc_flags,
        };
        assert_eq!(
            caught_by(&score(0.2, vec![]), 0.5).unwrap(),
            "it does not sound enough like the character (style 20%; the guard asks for 50%)"
        );
        assert_eq!(caught_by(&score(0.6, vec![]), 0.5), None);
        assert_eq!(
            caught_by(
                &score(0.6, vec![flag("missing_trait"), flag("assistant_speak")]),
                0.5
            )
            .unwrap(),
            "why"
        );
        assert_eq!(caught_by(&score(0.6, vec![flag("low_style")]), 0.5), None);
    }
}
