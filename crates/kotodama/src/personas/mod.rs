//! Personas: listing and finding them, importing them from scripts and cards, their page, how their
//! style profile changed between versions, profiles brought up to the current analyzer, and the
//! personas bundled with the app.

mod avatar;
mod bundled;
mod diff;
mod draft;
mod editor;
mod import;
mod page;
mod upgrade;

use kotodama_store::Persona;
use serde::Serialize;

use crate::{Error, Kotodama, Result};

pub(crate) use bundled::seed_bundled;
pub use bundled::BUNDLED;
pub use diff::{ProfileChange, ProfileDiff};
pub use editor::{CardFields, MAX_FIELD_CHARS};
pub use import::{
    preview_file, preview_script, FilePreview, ImportPhase, ImportedFrom, ScriptImport,
    ScriptPreview, SpeakerSummary,
};
pub use page::{AdapterReport, AdapterView, PersonaPage, ProfileView};
pub use upgrade::{
    upgrade_profiles, StaleProfile, UpgradeProgress, UpgradeReport, ANALYZER_VERSION,
};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PersonaSummary {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub tagline: String,
    /// First letter of the name, for the avatar.
    pub initial: String,
    /// Whether the persona has an image (its card's, or one chosen in the editor).
    pub has_avatar: bool,
    pub line_count: i64,
}

impl Kotodama {
    pub fn personas(&self) -> Result<Vec<PersonaSummary>> {
        self.store
            .personas()?
            .into_iter()
            .map(|p| self.summary(p))
            .collect()
    }

    pub fn persona(&self, id: i64) -> Result<Persona> {
        Ok(self.store.persona(id)?)
    }

    /// A persona named by id or by slug (how the CLI names them).
    pub fn find_persona(&self, key: &str) -> Result<Persona> {
        let by_slug = self.store.persona_by_slug(key)?;
        let by_id = || {
            key.parse::<i64>()
                .ok()
                .and_then(|id| self.store.persona(id).ok())
        };
        by_slug.or_else(by_id).ok_or_else(|| {
            Error::InvalidInput(format!("no persona {key:?}: see `kotodama personas list`"))
        })
    }

    pub(crate) fn summary(&self, p: Persona) -> Result<PersonaSummary> {
        Ok(PersonaSummary {
            line_count: self.store.script_line_count(p.id)?,
            initial: p
                .card
                .name
                .chars()
                .next()
                .map(|c| c.to_uppercase().to_string())
                .unwrap_or_default(),
            has_avatar: self.avatar_path(&p.card.slug).is_file(),
            id: p.id,
            slug: p.card.slug,
            name: p.card.name,
            tagline: p.card.tagline,
        })
    }
}
