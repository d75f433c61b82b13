//! Style profiles written by an older analyzer, analysed again with the current one.
//!
//! The analyzer changes over time and says so with `kotodama_style::profile::SCHEMA_VERSION`, which
//! every stored profile records (`style_profiles.schema_version`); the scorer needs what the current
//! analyzer writes. When the shells start, each persona whose newest profile is behind gets a new
//! profile version computed from its stored lines; the old versions stay, so the persona page still
//! lists and diffs them. Each persona is written in one transaction and "behind" is read from the data
//! itself, so a run cut short (the app closed) simply goes on with the rest at the next start.

use std::sync::{Mutex, MutexGuard, PoisonError};

use kotodama_store::{NewProfile, NewScriptLine, PersonaSource};
use serde::Serialize;

use crate::analysis::analyze_persona;
use crate::import::parse_screenplay;
use crate::{Kotodama, Result, BUNDLED};

/// The version of the analyzer this build carries: profiles with a lower `schema_version` are behind.
pub const ANALYZER_VERSION: i64 = kotodama_style::profile::SCHEMA_VERSION as i64;

/// A persona whose newest profile an older analyzer wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaleProfile {
    pub persona_id: i64,
    /// The analyzer version that wrote it.
    pub schema_version: i64,
}

/// How far the catch-up is: `done` of `total` personas handled (updated, or failed and skipped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct UpgradeProgress {
    pub done: usize,
    pub total: usize,
}

/// What a catch-up did: the personas that got a new profile, and those that failed with why (they keep
/// their old profile and are tried again at the next start).
#[derive(Debug, Default, PartialEq)]
pub struct UpgradeReport {
    pub upgraded: Vec<i64>,
    pub failed: Vec<(StaleProfile, String)>,
}

impl Kotodama {
    /// The personas to analyse again, by id (a quick query: the shells show the count at once).
    pub fn stale_profiles(&self) -> Result<Vec<StaleProfile>> {
        Ok(self
            .store
            .personas_with_profile_before(ANALYZER_VERSION)?
            .into_iter()
            .map(|(persona_id, schema_version)| StaleProfile {
                persona_id,
                schema_version,
            })
            .collect())
    }

    fn reanalysis(&self, persona_id: i64) -> Result<Reanalysis> {
        let persona = self.store.persona(persona_id)?.card;
        let lines: Vec<NewScriptLine> = self
            .store
            .script_lines(persona_id)?
            .into_iter()
            .map(|l| l.line)
            .collect();
        let bundled = BUNDLED
            .iter()
            .find(|b| persona.source == PersonaSource::Bundled && b.slug == persona.slug);
        let others = match (bundled, &persona.speaker) {
            // A bundled persona's whole script ships in the binary: contrast with all the other
            // speakers' lines, exactly as the first start did.
            (Some(b), Some(speaker)) => parse_screenplay(b.script, b.slug)?
                .texts_of_others(speaker)
                .into_iter()
                .map(str::to_string)
                .collect(),
            // An imported script is not kept, only each line's preceding turn: the turns by other
            // speakers are what is stored of their lines, so the contrast is over fewer lines than at
            // import. A persona with no such turns is analysed against the background tables only.
            _ => lines
                .iter()
                .filter(|l| l.context_speaker.is_some() && l.context_speaker != persona.speaker)
                .filter_map(|l| l.context_text.clone())
                .collect(),
        };
        Ok(Reanalysis {
            // The import analysed with the script's speaker name (self-reference in the third person);
            // a persona made without one goes by its display name.
            speaker: persona.speaker.unwrap_or(persona.name),
            lines,
            others,
        })
    }
}

/// What analysing one persona again needs, read under the core's lock and analysed without it (about a
/// second per persona), so that the app stays responsive meanwhile.
struct Reanalysis {
    speaker: String,
    lines: Vec<NewScriptLine>,
    others: Vec<String>,
}

impl Reanalysis {
    fn analyze(&self) -> Result<NewProfile> {
        let others: Vec<&str> = self.others.iter().map(String::as_str).collect();
        analyze_persona(&self.lines, &others, Some(&self.speaker))
    }
}

/// Analyses each stale persona again and adds the result as its next profile version, one transaction
/// per persona, reporting progress before each and once at the end. A persona that fails is skipped,
/// never changed, and reported for the shell to log.
pub fn upgrade_profiles(
    core: &Mutex<Kotodama>,
    stale: &[StaleProfile],
    on_progress: &mut dyn FnMut(UpgradeProgress),
) -> UpgradeReport {
    let total = stale.len();
    let mut report = UpgradeReport::default();
    for (done, s) in stale.iter().enumerate() {
        on_progress(UpgradeProgress { done, total });
        let id = s.persona_id;
        match upgrade_one(core, id) {
            Ok(true) => report.upgraded.push(id),
            // A current profile was stored meanwhile (a re-import): nothing left to do.
            Ok(false) => {}
            Err(e) => report.failed.push((*s, e.to_string())),
        }
    }
    on_progress(UpgradeProgress { done: total, total });
    report
}

/// Whether the persona got a new profile. The lock is taken twice, to read and to write, and not held
/// while analysing.
fn upgrade_one(core: &Mutex<Kotodama>, persona_id: i64) -> Result<bool> {
    let input = lock(core).reanalysis(persona_id)?;
    let profile = input.analyze()?;
    let added = lock(core)
        .store
        .add_profile_if_behind(persona_id, &profile)?;
    Ok(added.is_some())
}

/// Every store write is a transaction, so a panic elsewhere that poisoned the lock left nothing
/// half-written: carry on with the core as it is.
fn lock(core: &Mutex<Kotodama>) -> MutexGuard<'_, Kotodama> {
    core.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
#[path = "upgrade_tests.rs"]
mod tests;
