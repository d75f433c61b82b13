//! The running application, one per process: it owns the database handle, the chat model with its
//! KV cache, the replies being written (to stop them), the distillation worker, the download and the
//! import wizard's file. Every user action is a method here; the desktop shell's commands and the
//! CLI's subcommands only translate arguments and events. Long actions report through a callback
//! (`&mut dyn FnMut(Event)`), which the window turns into a channel and the terminal into lines.

mod downloads;
mod jobs;
mod replies;
mod settings;
mod uploads;

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use kotodama_engine::{CancelToken, LoadOptions};
use serde::Serialize;

pub use downloads::DownloadRequest;
pub use jobs::{DistillStatus, JobEvent, JobOutcome, WorkerState};
pub use replies::{ChatEvent, ClientReply, SentReply};
pub use settings::{KeyKept, SettingsView};
pub use uploads::UploadPreview;

use crate::{
    Error, ErrorView, Home, Kotodama, Replier, ReplierStatus, Result, StaleProfile,
    UpgradeProgress, UpgradeReport,
};

pub struct Runtime {
    /// The data folder, shown even when it could not be opened.
    data_dir: String,
    core: std::result::Result<Mutex<Kotodama>, StartupFailure>,
    /// The chat model; locked only while it is loaded or writes, never together with `core`.
    replier: Option<Mutex<Replier>>,
    /// What `replier` reports, kept apart so that the status never waits for a running reply.
    replier_status: RwLock<Option<ReplierStatus>>,
    /// The replies being written, by chat: their stop buttons.
    running: Mutex<HashMap<i64, CancelToken>>,
    /// Counts prefill requests, so that a waiting one knows when a newer one superseded it.
    prefills: AtomicU64,
    /// The distillation the worker runs (or ran last).
    distill: Mutex<Option<DistillStatus>>,
    /// The model download running now.
    download: Mutex<Option<CancelToken>>,
    /// The file the import wizard previewed, kept until it is imported.
    upload: Mutex<Option<uploads::Upload>>,
    /// How far the update of style profiles written by an older analyzer is; None when none was needed.
    profile_update: RwLock<Option<UpgradeProgress>>,
}

/// Why the data folder could not be opened.
struct StartupFailure {
    code: &'static str,
    message: String,
}

impl StartupFailure {
    fn error(&self) -> Error {
        Error::Startup {
            code: self.code,
            message: self.message.clone(),
        }
    }
}

/// What the status bar and the sidebar show.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    pub version: &'static str,
    pub data_dir: String,
    /// Why the data could not be opened; the UI shows this instead of the chat.
    pub startup_error: Option<ErrorView>,
    /// How replies are produced: `model` (the installed chat model) or `script` (lines picked from the
    /// persona's script, when no model is installed).
    pub reply_mode: &'static str,
    /// The chat model and, once loaded, the device and threads it runs on.
    pub replier: Option<ReplierStatus>,
    /// The update of style profiles written by an older analyzer; None when none was needed.
    pub profile_update: Option<UpgradeProgress>,
    /// The distillation running in the background, if any.
    pub job: Option<DistillStatus>,
}

fn poisoned<T>(what: &'static str) -> impl FnOnce(T) -> Error {
    move |_| Error::Poisoned(what)
}

impl Runtime {
    /// Opens the data folder (`None`: none could be determined). A failure is kept and every call
    /// answers with it, so that the window can open and say why.
    pub fn start(home: Option<Home>) -> Runtime {
        match home {
            Some(home) => {
                let data_dir = home.root().display().to_string();
                Runtime::open(home).unwrap_or_else(|e| Runtime::failed(data_dir, &e))
            }
            None => Runtime::failed(String::new(), &Error::NoHome),
        }
    }

    /// Opens the data folder, or fails (the CLI's way).
    pub fn open(home: Home) -> Result<Runtime> {
        let data_dir = home.root().display().to_string();
        let models_dir = home.models_dir();
        let core = Kotodama::open(home)?;
        // The device: KOTODAMA_DEVICE, else the settings' (cpu, cuda, metal, auto).
        let load = core.load_options().unwrap_or_else(|e| {
            tracing::warn!("{e}; models run on the CPU");
            LoadOptions::default()
        });
        let mut replier = Replier::new(models_dir, load);
        replier.prefer_model(core.chat_model()?);
        if let Some(remote) = core.remote_model()? {
            // A keyring that cannot answer leaves the key out: a server on this machine needs none,
            // and one that does says so on the first reply.
            let key = crate::secrets::api_key(&remote.url).unwrap_or_else(|e| {
                tracing::warn!("no API key for {}: {e}", remote.url);
                None
            });
            replier.use_remote(Some((remote, key)));
        }
        Ok(Runtime::with(data_dir, Ok(core), Some(replier)))
    }

    fn failed(data_dir: String, e: &Error) -> Runtime {
        let failure = StartupFailure {
            code: e.code(),
            message: e.to_string(),
        };
        Runtime::with(data_dir, Err(failure), None)
    }

    fn with(
        data_dir: String,
        core: std::result::Result<Kotodama, StartupFailure>,
        replier: Option<Replier>,
    ) -> Runtime {
        Runtime {
            data_dir,
            core: core.map(Mutex::new),
            replier_status: RwLock::new(replier.as_ref().map(Replier::status)),
            replier: replier.map(Mutex::new),
            running: Mutex::default(),
            prefills: AtomicU64::default(),
            distill: Mutex::default(),
            download: Mutex::default(),
            upload: Mutex::default(),
            profile_update: RwLock::new(None),
        }
    }

    /// Why the data folder could not be opened, if it could not.
    pub fn startup_error(&self) -> Option<ErrorView> {
        self.core.as_ref().err().map(|f| ErrorView {
            code: f.code.to_string(),
            message: f.message.clone(),
        })
    }

    /// Runs `f` on the core, holding its lock (the database) for the call.
    pub fn core<T>(&self, f: impl FnOnce(&mut Kotodama) -> Result<T>) -> Result<T> {
        let mut core = self.lock_core()?;
        f(&mut core)
    }

    /// The core, locked until the guard is dropped (a CLI command that does one thing holds it;
    /// never hold it across a reply, which locks it again).
    pub fn lock_core(&self) -> Result<MutexGuard<'_, Kotodama>> {
        let core = self.core.as_ref().map_err(StartupFailure::error)?;
        core.lock().map_err(poisoned("the database"))
    }

    fn replier(&self) -> Result<MutexGuard<'_, Replier>> {
        let replier = self
            .replier
            .as_ref()
            .ok_or(Error::Poisoned("the chat model"))?;
        replier.lock().map_err(poisoned("the chat model"))
    }

    /// Publishes what the replier reports (after it loaded, wrote or prefilled).
    fn show_replier(&self, replier: &Replier) {
        if let Ok(mut shown) = self.replier_status.write() {
            *shown = Some(replier.status());
        }
    }

    pub fn status(&self) -> AppStatus {
        let replier = self
            .replier_status
            .read()
            .ok()
            .and_then(|status| status.clone());
        AppStatus {
            version: env!("CARGO_PKG_VERSION"),
            data_dir: self.data_dir.clone(),
            startup_error: self.startup_error(),
            reply_mode: if replier.as_ref().is_some_and(|r| r.model.is_some()) {
                "model"
            } else {
                "script"
            },
            replier,
            profile_update: self.profile_update.read().ok().and_then(|p| *p),
            job: self.running_job(),
        }
    }

    /// Analyses again, on this thread, the personas whose profile an older analyzer wrote (one
    /// transaction each), reporting progress; a persona that fails keeps its profile and is reported.
    pub fn update_profiles(
        &self,
        stale: &[StaleProfile],
        on_progress: &mut dyn FnMut(UpgradeProgress),
    ) -> Result<UpgradeReport> {
        let core = self.core.as_ref().map_err(StartupFailure::error)?;
        Ok(crate::upgrade_profiles(core, stale, on_progress))
    }

    /// Lists the profiles an older analyzer wrote now (so that the first `status` already counts
    /// them), then updates them on a background thread. Nothing is lost if the app closes meanwhile:
    /// the rest are still behind at the next start.
    pub fn update_old_profiles(self: &Arc<Self>) {
        let stale = match self.core(|k| k.stale_profiles()) {
            Ok(stale) if !stale.is_empty() => stale,
            Ok(_) => return,
            Err(e) => {
                tracing::warn!("could not list the style profiles to update: {e}");
                return;
            }
        };
        self.show_profile_update(UpgradeProgress {
            done: 0,
            total: stale.len(),
        });
        let rt = Arc::clone(self);
        std::thread::spawn(move || {
            let Ok(report) = rt.update_profiles(&stale, &mut |p| rt.show_profile_update(p)) else {
                return;
            };
            for (s, why) in &report.failed {
                tracing::warn!(
                    "persona {} keeps its style profile of analyzer version {}: {why}",
                    s.persona_id,
                    s.schema_version
                );
            }
        });
    }

    fn show_profile_update(&self, progress: UpgradeProgress) {
        if let Ok(mut p) = self.profile_update.write() {
            *p = Some(progress);
        }
    }

    /// The next reply's first attempt streams `text` instead of the model's (the e2e suite's canned
    /// out-of-character reply).
    #[cfg(feature = "test-support")]
    pub fn queue_canned_reply(&self, text: impl Into<String>) {
        if let Ok(mut replier) = self.replier() {
            replier.queue_canned_reply(text);
        }
    }
}
