//! Kotodama desktop shell: translates webview calls into `kotodama` core calls and core errors into
//! stable codes. No business logic lives here.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;

use std::sync::Mutex;

use kotodama::{Home, Kotodama};

/// The core, or why it could not open (shown by the UI instead of the chat).
pub struct AppState {
    core: Result<Mutex<Kotodama>, commands::CommandError>,
    data_dir: String,
}

fn open_core() -> AppState {
    let Some(home) = Home::resolve() else {
        let err = kotodama::Error::NoHome;
        return AppState {
            core: Err((&err).into()),
            data_dir: String::new(),
        };
    };
    let data_dir = home.root().display().to_string();
    let core = Kotodama::open(home)
        .map(Mutex::new)
        .map_err(|e| (&e).into());
    AppState { core, data_dir }
}

fn main() {
    let state = open_core();
    if let Err(e) = &state.core {
        eprintln!("kotodama: {} ({})", e.message, e.code);
    }
    tauri::Builder::default()
        .manage(state)
        .invoke_handler(tauri::generate_handler![
            commands::app_status,
            commands::list_personas,
            commands::open_chat,
            commands::new_chat,
            commands::send_message,
        ])
        .run(tauri::generate_context!())
        .expect("the Kotodama window could not start");
}
