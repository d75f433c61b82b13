//! The settings page: theme, chat model (installed ones, a download from the hub with progress), device
//! and threads, data folder, and each persona's sampler and out-of-character guard.

use kotodama::models::{DownloadProgress, InstalledModel};
use kotodama::runtime::{DownloadRequest, KeyKept, SettingsView};
use kotodama::settings::{RemoteModel, RuntimeSettings};
use kotodama::user_personas::UserPersonas;
use kotodama::ChatSettings;
use kotodama::{Error, Theme};
use tauri::ipc::Channel;
use tauri::State;

use crate::commands::{blocking, CommandResult};
use crate::Rt;

#[tauri::command]
pub fn settings_view(rt: State<'_, Rt>) -> CommandResult<SettingsView> {
    Ok(rt.settings_view()?)
}

/// Records another data folder, used from the next start (nothing is moved).
#[tauri::command]
pub fn set_data_dir(path: String) -> CommandResult<String> {
    let config = kotodama::config_file().ok_or(Error::NoHome)?;
    let home = kotodama::Home::choose(std::path::Path::new(path.trim()), &config)?;
    Ok(home.root().display().to_string())
}

#[tauri::command]
pub fn set_theme(rt: State<'_, Rt>, theme: Theme) -> CommandResult<()> {
    Ok(rt.core(|k| k.set_theme(theme))?)
}

#[tauri::command]
pub fn set_runtime(rt: State<'_, Rt>, runtime: RuntimeSettings) -> CommandResult<()> {
    Ok(rt.core(|k| k.set_runtime(&runtime))?)
}

#[tauri::command]
pub fn chat_settings(rt: State<'_, Rt>, persona_id: i64) -> CommandResult<ChatSettings> {
    Ok(rt.core(|k| k.chat_settings(persona_id))?)
}

#[tauri::command]
pub fn set_chat_settings(
    rt: State<'_, Rt>,
    persona_id: i64,
    settings: ChatSettings,
) -> CommandResult<ChatSettings> {
    Ok(rt.core(|k| {
        k.set_chat_settings(persona_id, &settings)?;
        k.chat_settings(persona_id)
    })?)
}

/// Chooses the chat model; off the main thread, since it waits for a reply being written to end.
#[tauri::command]
pub async fn set_chat_model(rt: State<'_, Rt>, id: String) -> CommandResult<()> {
    let rt = rt.inner().clone();
    blocking(move || rt.set_chat_model(&id)).await
}

/// Chooses a served model for chats (with its API key: empty forgets the stored one, absent keeps
/// it), or the installed models again (`remote` absent); off the main thread, like set_chat_model.
#[tauri::command]
pub async fn set_remote_model(
    rt: State<'_, Rt>,
    remote: Option<RemoteModel>,
    api_key: Option<String>,
) -> CommandResult<KeyKept> {
    let rt = rt.inner().clone();
    blocking(move || rt.set_remote_model(remote, api_key.as_deref())).await
}

/// Downloads a model from the hub into the models folder, streaming progress; it is then listed and
/// can be chosen.
#[tauri::command]
pub async fn download_model(
    rt: State<'_, Rt>,
    repo: String,
    include: String,
    id: String,
    endpoint: Option<String>,
    on_progress: Channel<DownloadProgress>,
) -> CommandResult<InstalledModel> {
    let rt = rt.inner().clone();
    let request = DownloadRequest {
        id,
        repo,
        include,
        endpoint,
    };
    blocking(move || rt.download_model(&request, &mut |p| drop(on_progress.send(p.clone())))).await
}

#[tauri::command]
pub fn cancel_download(rt: State<'_, Rt>) -> bool {
    rt.cancel_download()
}

/// The user's own personas and the default among them.
#[tauri::command]
pub fn user_personas(rt: State<'_, Rt>) -> CommandResult<UserPersonas> {
    Ok(rt.core(|k| k.user_personas())?)
}

/// Adds a user persona (`id` null) or changes one.
#[tauri::command]
pub fn save_user_persona(
    rt: State<'_, Rt>,
    id: Option<i64>,
    name: String,
    description: String,
) -> CommandResult<UserPersonas> {
    Ok(rt.core(|k| k.save_user_persona(id, &name, &description))?)
}

#[tauri::command]
pub fn delete_user_persona(rt: State<'_, Rt>, id: i64) -> CommandResult<UserPersonas> {
    Ok(rt.core(|k| k.delete_user_persona(id))?)
}

#[tauri::command]
pub fn set_default_user_persona(rt: State<'_, Rt>, id: Option<i64>) -> CommandResult<UserPersonas> {
    Ok(rt.core(|k| k.set_default_user_persona(id))?)
}
