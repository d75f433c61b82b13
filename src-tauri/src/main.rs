//! Kotodama desktop shell: the window's calls become `kotodama::Runtime` calls, the runtime's events
//! go to the window over Tauri channels, and errors keep the core's stable codes. The runtime handle
//! is the only state held here, with the switch of the local server (`serve`), which runs over it.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod distill;
mod personas;
mod serve;
mod settings;
mod streaming;

use std::sync::Arc;

use kotodama::{Home, Runtime};
use tauri::Manager;

/// The state every command receives.
type Rt = Arc<Runtime>;

/// How much lower than the window the model's worker threads run: on a laptop where a reply uses every
/// core, the webview still gets the CPU to draw each frame (the e2e suite measures frame times).
const WORKER_NICE: i32 = 5;

fn main() {
    kotodama::models::set_worker_nice(WORKER_NICE);
    let runtime = Arc::new(Runtime::start(Home::resolve()));
    if let Some(e) = runtime.startup_error() {
        eprintln!("kotodama: {} ({})", e.message, e.code);
    }
    #[cfg(feature = "test-support")]
    queue_canned_reply(&runtime);
    tauri::Builder::default()
        .manage(runtime)
        .manage(serve::Served::default())
        .setup(|app| {
            let rt = app.state::<Rt>().inner().clone();
            // The local server, if the user left it on.
            if let Ok(settings) = rt.core(|k| k.local_server()) {
                if settings.enabled {
                    let status = app.state::<serve::Served>().apply(&rt, settings);
                    if let Some(e) = status.error {
                        eprintln!("kotodama: the local server did not start: {e}");
                    }
                }
            }
            // Load the chat model while the user picks a persona, not on their first message.
            let warm = rt.clone();
            std::thread::spawn(move || warm.warm_up());
            rt.resume_interrupted();
            rt.update_old_profiles();
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_status,
            commands::list_personas,
            commands::open_chat,
            commands::new_chat,
            commands::show_chat,
            commands::branch_chat,
            commands::choose_alternative,
            commands::edit_message,
            commands::delete_message,
            commands::explain_style,
            commands::next_prompt,
            commands::set_chat_user_persona,
            streaming::send_message,
            streaming::regenerate_reply,
            streaming::stop_reply,
            personas::preview_import,
            personas::import_upload,
            personas::draft_card,
            personas::persona_page,
            personas::card_fields,
            personas::save_card,
            personas::persona_avatar,
            personas::set_avatar,
            personas::lorebook_view,
            personas::save_lorebook,
            personas::import_world_info,
            personas::export_world_info,
            personas::set_chat_adapter,
            personas::profile_diff,
            personas::export_persona,
            distill::start_distill,
            distill::distill_status,
            distill::cancel_distill,
            distill::resume_distill,
            settings::settings_view,
            settings::set_theme,
            settings::set_data_dir,
            settings::set_runtime,
            settings::chat_settings,
            settings::set_chat_settings,
            settings::user_personas,
            settings::save_user_persona,
            settings::delete_user_persona,
            settings::set_default_user_persona,
            settings::set_chat_model,
            settings::set_remote_model,
            serve::local_server_status,
            serve::set_local_server,
            settings::download_model,
            settings::cancel_download,
        ])
        .run(tauri::generate_context!())
        .expect("the Kotodama window could not start");
}

/// The e2e suite's hook, only in builds with the `test-support` feature: the first reply's first
/// attempt is this text instead of the model's (a canned out-of-character reply, to see the guard
/// catch it).
#[cfg(feature = "test-support")]
fn queue_canned_reply(runtime: &Runtime) {
    if let Some(canned) = std::env::var_os("KOTODAMA_TEST_CANNED_REPLY") {
        runtime.queue_canned_reply(canned.to_string_lossy());
    }
}
