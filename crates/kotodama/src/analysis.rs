//! A persona's lines -> its style profile (kotodama-style), and the profile -> the store's rows.

use std::sync::OnceLock;

use kotodama_store::{
    GrammarRuleRow, LexicalSignatureRow, NewProfile, NewScriptLine, PragmaticTraitRow,
};
use kotodama_style::{LexicalSignature, Resources, StyleProfile};

use crate::{Error, Result};

/// The tagger, grammar and background tables: decoded once per process (~0.1 s), then shared.
pub fn style_resources() -> Result<&'static Resources> {
    static RESOURCES: OnceLock<std::result::Result<Resources, String>> = OnceLock::new();
    RESOURCES
        .get_or_init(|| Resources::bundled().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| Error::StyleAssets(e.clone()))
}

/// Analyzes `lines` (with the other speakers' lines of the same script, when known) into the profile
/// the store keeps: the full JSON plus its ranked rows.
pub fn analyze_persona(
    lines: &[NewScriptLine],
    others: &[&str],
    speaker: Option<&str>,
) -> Result<NewProfile> {
    to_new_profile(&analyze_lines(lines, others, speaker)?)
}

/// The style profile of a speaker's `lines` against the `others`' lines of the same script.
pub fn analyze_lines(
    lines: &[NewScriptLine],
    others: &[&str],
    speaker: Option<&str>,
) -> Result<StyleProfile> {
    let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    Ok(kotodama_style::analyze_speaker(
        &texts,
        others,
        speaker,
        style_resources()?,
    )?)
}

pub fn to_new_profile(p: &StyleProfile) -> Result<NewProfile> {
    let row = |s: &LexicalSignature, catchphrase: bool| LexicalSignatureRow {
        term: s.term.clone(),
        n: i64::from(s.n),
        pmi: s.pmi,
        count: i64::from(s.count),
        rate_per_1k: s.rate_per_1k,
        catchphrase,
    };
    Ok(NewProfile {
        schema_version: i64::from(p.schema_version),
        line_count: p.line_count as i64,
        token_count: p.token_count as i64,
        profile_json: serde_json::to_value(p)
            .map_err(|e| Error::InvalidInput(format!("profile JSON: {e}")))?,
        lexical: p
            .lexical
            .iter()
            .map(|s| row(s, false))
            .chain(p.catchphrases.iter().map(|s| row(s, true)))
            .collect(),
        rules: p
            .syntax
            .iter()
            .map(|r| GrammarRuleRow {
                rule: r.rule.clone(),
                gloss: r.gloss.clone(),
                log_odds: r.log_odds,
                z: r.z,
                count: i64::from(r.count),
            })
            .collect(),
        traits: p
            .pragmatics
            .traits
            .iter()
            .map(|t| PragmaticTraitRow {
                name: t.name.clone(),
                value: t.value,
                background: t.background,
                z_or_ratio: t.z_or_ratio,
            })
            .collect(),
    })
}

impl crate::Kotodama {
    /// The persona's newest style profile.
    pub fn style_profile(&self, persona_id: i64) -> Result<StyleProfile> {
        let record = self.store.latest_profile(persona_id)?.ok_or_else(|| {
            Error::InvalidInput("this persona has no style profile (no script lines)".into())
        })?;
        serde_json::from_value(record.profile_json).map_err(|e| Error::ProfileUnreadable {
            persona_id,
            detail: e.to_string(),
        })
    }

    /// Every persona's newest profile, by slug (for attribution).
    pub(crate) fn all_profiles(&self) -> Result<Vec<(String, StyleProfile)>> {
        let mut out = Vec::new();
        for p in self.store.personas()? {
            if self.store.latest_profile(p.id)?.is_some() {
                out.push((p.card.slug.clone(), self.style_profile(p.id)?));
            }
        }
        Ok(out)
    }
}
