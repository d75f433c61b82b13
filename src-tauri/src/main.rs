//! Kotodama desktop shell: translates webview calls into `kotodama` core calls and core errors into
//! stable codes. No business logic lives here.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod chat_controls;
mod commands;
mod distill;
mod personas;
mod profile_update;
mod settings;
mod streaming;

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

use kotodama::models::engine::{CancelToken, LoadOptions};
use kotodama::{Home, Kotodama, Replier, ReplierStatus};
use tauri::Manager;

/// The core, or why it could not open (shown by the UI instead of the chat).
pub struct AppState {
    core: Result<Mutex<Kotodama>, commands::CommandError>,
    data_dir: String,
    /// The chat model; locked only while a reply is generated, never together with `core`.
    replier: Option<Mutex<Replier>>,
    /// What `replier` reports, kept apart so that the status never waits for a running reply.
    replier_status: RwLock<Option<ReplierStatus>>,
    /// Stop buttons: the cancel token of the reply being written in each chat.
    running: Mutex<HashMap<i64, CancelToken>>,
    /// The file the import wizard previewed, kept until it is imported.
    upload: Mutex<Option<personas::Upload>>,
    /// The distillation job the worker runs (or ran last).
    distill: Mutex<Option<distill::DistillStatus>>,
    downloads: settings::Downloads,
    /// Counts prefill requests, so that a waiting one knows when a newer one superseded it.
    prefills: std::sync::atomic::AtomicU64,
    /// How far the update of style profiles written by an older analyzer is; None when none was needed.
    profile_update: RwLock<Option<kotodama::UpgradeProgress>>,
}

/// Test hook for the e2e suite: the first reply's first attempt is this text instead of the model's (a
/// canned out-of-character reply, to see the guard catch it). Never set outside tests.
const CANNED_REPLY_ENV: &str = "KOTODAMA_TEST_CANNED_REPLY";

fn open_core() -> AppState {
    let Some(home) = Home::resolve() else {
        let err = kotodama::Error::NoHome;
        return AppState {
            core: Err((&err).into()),
            data_dir: String::new(),
            replier: None,
            replier_status: RwLock::new(None),
            running: Mutex::default(),
            upload: Mutex::default(),
            distill: Mutex::default(),
            downloads: Default::default(),
            prefills: Default::default(),
            profile_update: RwLock::new(None),
        };
    };
    let data_dir = home.root().display().to_string();
    let models_dir = home.models_dir();
    let core = Kotodama::open(home);
    // The device: KOTODAMA_DEVICE, else the settings' (cpu, cuda, metal, auto); the status bar shows it.
    let load = match &core {
        Ok(k) => k.load_options(),
        Err(_) => kotodama::models::load_options().map_err(Into::into),
    }
    .unwrap_or_else(|e| {
        eprintln!("{e}; models run on the CPU");
        LoadOptions::default()
    });
    let mut replier = Replier::new(models_dir, load);
    if let Ok(k) = &core {
        replier.prefer_model(k.chat_model().ok().flatten());
    }
    if let Some(canned) = std::env::var_os(CANNED_REPLY_ENV) {
        replier.queue_canned_reply(canned.to_string_lossy());
    }
    AppState {
        core: core.map(Mutex::new).map_err(|e| (&e).into()),
        data_dir,
        replier_status: RwLock::new(Some(replier.status())),
        replier: Some(Mutex::new(replier)),
        running: Mutex::default(),
        upload: Mutex::default(),
        distill: Mutex::default(),
        downloads: Default::default(),
        prefills: Default::default(),
        profile_update: RwLock::new(None),
    }
}

/// How much lower than the window the model's worker threads run: on a laptop where a reply uses every
/// core, the webview still gets the CPU to draw each frame (the e2e suite measures frame times).
const WORKER_NICE: i32 = 5;

fn main() {
    kotodama::models::engine::set_worker_nice(WORKER_NICE);
    let state = open_core();
    if let Err(e) = &state.core {
        eprintln!("kotodama: {} ({})", e.message, e.code);
    }
    tauri::Builder::default()
        .manage(state)
        .setup(|app| {
            // Load the chat model while the user picks a persona, not on their first message.
            let handle = app.handle().clone();
            std::thread::spawn(move || streaming::warm_up(&handle.state::<AppState>()));
            distill::resume_interrupted(app.handle());
            profile_update::start(app.handle());
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_status,
            commands::list_personas,
            commands::open_chat,
            commands::new_chat,
            commands::explain_style,
            streaming::send_message,
            streaming::regenerate_reply,
            streaming::stop_reply,
            chat_controls::show_chat,
            chat_controls::choose_alternative,
            chat_controls::edit_message,
            chat_controls::delete_message,
            chat_controls::branch_chat,
            personas::preview_import,
            personas::import_upload,
            personas::persona_page,
            personas::set_chat_adapter,
            personas::profile_diff,
            personas::export_persona,
            distill::start_distill,
            distill::distill_status,
            distill::cancel_distill,
            settings::settings_view,
            settings::set_theme,
            settings::set_data_dir,
            settings::set_runtime,
            settings::chat_settings,
            settings::set_chat_settings,
            settings::set_chat_model,
            settings::download_model,
            settings::cancel_download,
        ])
        .run(tauri::generate_context!())
        .expect("the Kotodama window could not start");
}
