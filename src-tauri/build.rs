//! Declares the app's own commands so that capabilities/ can grant exactly those to the webview.

const COMMANDS: &[&str] = &[
    "app_status",
    "list_personas",
    "open_chat",
    "new_chat",
    "explain_style",
    "next_prompt",
    "set_chat_user_persona",
    "send_message",
    "regenerate_reply",
    "stop_reply",
    "show_chat",
    "choose_alternative",
    "edit_message",
    "delete_message",
    "branch_chat",
    "preview_import",
    "import_upload",
    "draft_card",
    "persona_page",
    "card_fields",
    "save_card",
    "profile_diff",
    "set_chat_adapter",
    "export_persona",
    "start_distill",
    "distill_status",
    "cancel_distill",
    "resume_distill",
    "settings_view",
    "set_theme",
    "set_data_dir",
    "set_runtime",
    "chat_settings",
    "set_chat_settings",
    "user_personas",
    "save_user_persona",
    "delete_user_persona",
    "set_default_user_persona",
    "set_chat_model",
    "set_remote_model",
    "local_server_status",
    "set_local_server",
    "download_model",
    "cancel_download",
];

fn main() {
    let manifest = tauri_build::AppManifest::new().commands(COMMANDS);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("tauri build script");
}
