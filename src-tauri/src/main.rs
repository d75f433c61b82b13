//! Kotodama desktop shell: translates webview calls into `kotodama` core calls and core errors into
//! stable codes. No business logic lives here.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod chat_controls;
mod commands;
mod distill;
mod personas;
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
}

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
        };
    };
    let data_dir = home.root().display().to_string();
    // The device comes from KOTODAMA_DEVICE (cpu, cuda, metal, auto); the status bar shows the one in use.
    let load = kotodama::models::load_options().unwrap_or_else(|e| {
        eprintln!("{e}; models run on the CPU");
        LoadOptions::default()
    });
    let replier = Replier::new(home.models_dir(), load);
    let core = Kotodama::open(home)
        .map(Mutex::new)
        .map_err(|e| (&e).into());
    AppState {
        core,
        data_dir,
        replier_status: RwLock::new(Some(replier.status())),
        replier: Some(Mutex::new(replier)),
        running: Mutex::default(),
        upload: Mutex::default(),
        distill: Mutex::default(),
    }
}

fn main() {
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
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_status,
            commands::list_personas,
            commands::open_chat,
            commands::new_chat,
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
        ])
        .run(tauri::generate_context!())
        .expect("the Kotodama window could not start");
}
