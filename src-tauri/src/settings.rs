//! The settings page: theme, chat model (installed ones, a download from the hub with progress), device
//! and threads, data folder, and each persona's sampler and out-of-character guard.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use kotodama::models::engine::DeviceInfo;
use kotodama::models::{DownloadProgress, InstalledModel, ModelKind, ModelManager, HF_ENDPOINT};
use kotodama::settings::RuntimeSettings;
use kotodama::store::ChatSettings;
use kotodama::Theme;
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};

use crate::commands::{with_core, CommandError};
use crate::AppState;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    theme: Theme,
    data_dir: String,
    /// Installed chat models.
    models: Vec<InstalledModel>,
    /// The model replies use (the chosen one, else the default).
    chat_model: Option<String>,
    /// Stored device and threads (applied at start).
    runtime: RuntimeSettings,
    /// What the loaded model runs on now; None until it is loaded.
    device: Option<DeviceInfo>,
}

fn models_error(e: kotodama::models::ModelsError) -> CommandError {
    (&kotodama::Error::from(e)).into()
}

#[tauri::command]
pub fn settings_view(state: State<'_, AppState>) -> Result<SettingsView, CommandError> {
    let (theme, runtime, models_dir) = with_core(&state, |k| {
        Ok((k.theme()?, k.runtime()?, k.home().models_dir()))
    })?;
    let models = ModelManager::new(models_dir)
        .list()
        .map_err(models_error)?
        .into_iter()
        .filter(|m| m.kind == ModelKind::Chat)
        .collect();
    let status = state.replier_status.read().ok().and_then(|s| s.clone());
    Ok(SettingsView {
        theme,
        data_dir: state.data_dir.clone(),
        models,
        chat_model: status.as_ref().and_then(|s| s.model.clone()),
        runtime,
        device: status.and_then(|s| s.device),
    })
}

/// Records another data folder, used from the next start (nothing is moved).
#[tauri::command]
pub fn set_data_dir(path: String) -> Result<String, CommandError> {
    let config =
        kotodama::config_file().ok_or_else(|| CommandError::from(&kotodama::Error::NoHome))?;
    kotodama::Home::choose(std::path::Path::new(path.trim()), &config)
        .map(|home| home.root().display().to_string())
        .map_err(|e| (&e).into())
}

#[tauri::command]
pub fn set_theme(state: State<'_, AppState>, theme: Theme) -> Result<(), CommandError> {
    with_core(&state, |k| k.set_theme(theme))
}

#[tauri::command]
pub fn set_runtime(
    state: State<'_, AppState>,
    runtime: RuntimeSettings,
) -> Result<(), CommandError> {
    with_core(&state, |k| k.set_runtime(&runtime))
}

#[tauri::command]
pub fn chat_settings(
    state: State<'_, AppState>,
    persona_id: i64,
) -> Result<ChatSettings, CommandError> {
    with_core(&state, |k| k.chat_settings(persona_id))
}

#[tauri::command]
pub fn set_chat_settings(
    state: State<'_, AppState>,
    persona_id: i64,
    settings: ChatSettings,
) -> Result<ChatSettings, CommandError> {
    with_core(&state, |k| {
        k.set_chat_settings(persona_id, &settings)?;
        k.chat_settings(persona_id)
    })
}

/// Chooses the chat model; off the main thread, since it waits for a reply being written to end.
#[tauri::command]
pub async fn set_chat_model(app: AppHandle, id: String) -> Result<(), CommandError> {
    tauri::async_runtime::spawn_blocking(move || {
        let state = app.state::<AppState>();
        with_core(&state, |k| k.set_chat_model(&id))?;
        let replier = state
            .replier
            .as_ref()
            .ok_or_else(|| CommandError::internal("the chat model"))?;
        let mut replier = replier
            .lock()
            .map_err(|_| CommandError::internal("the chat model"))?;
        replier.prefer_model(Some(id));
        if let Ok(mut status) = state.replier_status.write() {
            *status = Some(replier.status());
        }
        Ok(())
    })
    .await
    .map_err(|e| CommandError {
        code: "INTERNAL".into(),
        message: format!("choosing the model failed: {e}"),
    })?
}

/// The download running now, stopped by `cancel_download`.
#[derive(Default)]
pub struct Downloads {
    cancel: std::sync::Mutex<Option<Arc<AtomicBool>>>,
}

/// Downloads a model from the hub into the models folder (resumable, sha256-verified), streaming
/// progress; it is then listed and can be chosen.
#[tauri::command]
pub async fn download_model(
    app: AppHandle,
    repo: String,
    include: String,
    id: String,
    endpoint: Option<String>,
    on_progress: Channel<DownloadProgress>,
) -> Result<InstalledModel, CommandError> {
    tauri::async_runtime::spawn_blocking(move || {
        let state = app.state::<AppState>();
        let models_dir = with_core(&state, |k| Ok(k.home().models_dir()))?;
        let cancel = Arc::new(AtomicBool::new(false));
        {
            let mut running = state
                .downloads
                .cancel
                .lock()
                .map_err(|_| CommandError::internal("the download"))?;
            if running.is_some() {
                return Err(CommandError {
                    code: "BUSY".into(),
                    message: "a download is already running".into(),
                });
            }
            *running = Some(cancel.clone());
        }
        let endpoint = endpoint.unwrap_or_else(|| HF_ENDPOINT.to_string());
        let result = ModelManager::new(models_dir).download_from_hub(
            &id,
            &endpoint,
            &repo,
            "main",
            |name| name.contains(include.as_str()),
            &mut |p| {
                let _ = on_progress.send(p.clone());
            },
            &cancel,
        );
        if let Ok(mut running) = state.downloads.cancel.lock() {
            *running = None;
        }
        result.map_err(models_error)
    })
    .await
    .map_err(|e| CommandError {
        code: "INTERNAL".into(),
        message: format!("the download task failed: {e}"),
    })?
}

#[tauri::command]
pub fn cancel_download(state: State<'_, AppState>) -> bool {
    let running = state.downloads.cancel.lock().ok().and_then(|r| r.clone());
    running.map(|c| c.store(true, Ordering::Relaxed)).is_some()
}
