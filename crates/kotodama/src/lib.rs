//! kotodama: the application core shared by the desktop app and the CLI. The shells only translate
//! calls and errors; everything the user can do is a method here.

pub mod analysis;
pub mod cards;
pub mod chat;
pub mod db;
pub mod distill;
mod error;
mod fsutil;
mod home;
pub mod import;
pub mod models;
pub mod personas;
pub mod prompt;
pub mod reasoning_filter;
pub mod runtime;
pub mod secrets;
pub mod settings;
#[cfg(test)]
mod ui_bindings;
pub mod user_personas;

/// A core on a fresh temporary data folder (the folder lives as long as the guard), for tests.
#[cfg(test)]
pub(crate) fn temp_app() -> (tempfile::TempDir, Kotodama) {
    let dir = tempfile::tempdir().unwrap();
    let app = Kotodama::open(Home::at(dir.path())).unwrap();
    (dir, app)
}

pub use chat::{
    CachedChat, ChatContext, ChatSummary, ChatUser, ChatView, ClientLimits, ClientMessage,
    ClientRole, GuardReport, MessageStyle, MessageView, PendingReply, PromptTurn, Replier,
    ReplierStatus, Reply, ReplyEvent, MAX_ATTEMPTS, MAX_MESSAGE_CHARS, USER_NAME,
};
pub use error::{Error, ErrorView, Result};
pub use home::{config_file, Home, HOME_ENV};
// The store's and engine's types that are part of the core's API (the rest stays behind it).
pub use kotodama_engine::{CancelToken, GenerationStats, StopReason};
pub use kotodama_store::{AdapterChoice, JobState, MessageSource, Role};
pub use kotodama_style::{OocFlag, StylePlan};
pub use personas::{
    preview_file, preview_script, upgrade_profiles, AdapterReport, AdapterView, CardFields,
    FilePreview, ImportPhase, ImportedFrom, PersonaPage, PersonaSummary, ProfileChange,
    ProfileDiff, ProfileView, ScriptImport, ScriptPreview, SpeakerSummary, StaleProfile,
    UpgradeProgress, UpgradeReport, ANALYZER_VERSION, BUNDLED,
};
pub use runtime::Runtime;
pub use settings::{ChatSettings, GuardAction, GuardSettings, Theme};

use kotodama_store::Store;

/// The open application: its data folder and database.
pub struct Kotodama {
    home: Home,
    store: Store,
    /// The out-of-character guard's threshold of each profile version, taken from its script once.
    guard_thresholds: std::collections::HashMap<i64, f64>,
    /// This process's claim on the jobs it runs.
    lease: kotodama_store::JobLease,
}

impl Kotodama {
    /// Opens the database under `home` (refusing foreign or corrupt files untouched) and imports the
    /// bundled personas that are missing. Jobs whose process died while running them are marked
    /// interrupted.
    pub fn open(home: Home) -> Result<Kotodama> {
        let mut store = Store::open(&home.database())?;
        if !store.is_new() {
            // A backup a day (the newest few kept beside the database); one that fails costs the
            // user nothing now, so it is reported and the app opens.
            if let Err(e) = store.daily_backup() {
                tracing::warn!("daily backup of {} failed: {e}", home.database().display());
            }
        }
        personas::seed_bundled(&mut store)?;
        store.mark_interrupted_jobs()?;
        let mut core = Kotodama {
            home,
            store,
            guard_thresholds: Default::default(),
            lease: kotodama_store::JobLease::for_this_process(),
        };
        // Leftovers of a crash cost disk space, never the opening.
        if let Err(e) = core.sweep_unregistered_adapters() {
            tracing::warn!("unregistered adapters were not swept: {e}");
        }
        Ok(core)
    }

    pub fn home(&self) -> &Home {
        &self.home
    }
}
