//! kotodama-store: the SQLite database of Kotodama.
//!
//! One file holds personas (card fields), their script lines, every style profile they ever had,
//! chats and messages (with style scores), jobs, adapters and models. The schema is versioned with
//! `PRAGMA user_version` and migrated at open; the file is marked with an `application_id` so that a
//! foreign SQLite file at the data path is refused and left untouched, never overwritten.

pub mod backup;
mod error;
mod migrations;
mod open;
pub mod repo;

pub use error::{Error, Result};
pub use open::{Store, APPLICATION_ID};
pub use repo::adapters::{Adapter, AdapterChoice, NewAdapter};
pub use repo::card_revisions::CardRevision;
pub use repo::chats::{Chat, Message, MessageSource, NewMessage, Role, StyleScoreColumns};
pub use repo::jobs::{Job, JobLease, JobState, LeaseHeartbeat, NewJob, LEASE_MS};
pub use repo::models::{ModelRecord, NewModel};
pub use repo::personas::{NewPersona, Persona, PersonaSource};
pub use repo::profiles::{
    GrammarRuleRow, LexicalSignatureRow, NewProfile, PragmaticTraitRow, ProfileRecord,
};
pub use repo::script_lines::{NewScriptLine, ScriptLine};
pub use repo::user_personas::UserPersona;

/// Milliseconds since the Unix epoch, the timestamp unit of every table.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
