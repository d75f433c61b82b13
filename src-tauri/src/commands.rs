//! The Tauri commands the chat UI calls. Each locks the core, calls one method, maps the error.

use kotodama::{ChatView, PersonaSummary, ReplierStatus};
use serde::Serialize;
use tauri::{AppHandle, State};

use crate::AppState;

/// An error as the UI shows it: a stable code and a readable message.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandError {
    pub code: String,
    pub message: String,
}

impl CommandError {
    pub fn internal(what: &str) -> Self {
        CommandError {
            code: "INTERNAL".into(),
            message: format!("{what} was poisoned by an earlier failure"),
        }
    }
}

impl From<&kotodama::Error> for CommandError {
    fn from(e: &kotodama::Error) -> Self {
        CommandError {
            code: e.code().to_string(),
            message: e.to_string(),
        }
    }
}

type CommandResult<T> = Result<T, CommandError>;

pub fn with_core<T>(
    state: &AppState,
    f: impl FnOnce(&mut kotodama::Kotodama) -> kotodama::Result<T>,
) -> CommandResult<T> {
    let core = state.core.as_ref().map_err(Clone::clone)?;
    let mut core = core
        .lock()
        .map_err(|_| CommandError::internal("the core lock"))?;
    f(&mut core).map_err(|e| (&e).into())
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    version: &'static str,
    data_dir: String,
    /// Why the data could not be opened; the UI shows this instead of the chat.
    startup_error: Option<CommandError>,
    /// How replies are produced: `model` (the installed chat model) or `script` (lines picked from the
    /// persona's script, when no model is installed).
    reply_mode: &'static str,
    /// The chat model and, once loaded, the device and threads it runs on.
    replier: Option<ReplierStatus>,
    /// The update of style profiles written by an older analyzer; None when none was needed.
    profile_update: Option<kotodama::UpgradeProgress>,
}

#[tauri::command]
pub fn app_status(state: State<'_, AppState>) -> AppStatus {
    let replier = state
        .replier_status
        .read()
        .ok()
        .and_then(|status| status.clone());
    AppStatus {
        version: env!("CARGO_PKG_VERSION"),
        data_dir: state.data_dir.clone(),
        startup_error: state.core.as_ref().err().cloned(),
        reply_mode: if replier.as_ref().is_some_and(|r| r.model.is_some()) {
            "model"
        } else {
            "script"
        },
        replier,
        profile_update: state.profile_update.read().ok().and_then(|p| *p),
    }
}

#[tauri::command]
pub fn list_personas(state: State<'_, AppState>) -> CommandResult<Vec<PersonaSummary>> {
    with_core(&state, |k| k.personas())
}

/// Gives the chat the window shows, and prefills it for the model in the background.
pub fn shown(app: &AppHandle, view: CommandResult<ChatView>) -> CommandResult<ChatView> {
    if let Ok(v) = &view {
        crate::streaming::prefill_in_background(app, v.chat.id);
    }
    view
}

#[tauri::command]
pub fn open_chat(
    app: AppHandle,
    state: State<'_, AppState>,
    persona_id: i64,
) -> CommandResult<ChatView> {
    shown(&app, with_core(&state, |k| k.open_chat(persona_id)))
}

#[tauri::command]
pub fn new_chat(
    app: AppHandle,
    state: State<'_, AppState>,
    persona_id: i64,
) -> CommandResult<ChatView> {
    shown(&app, with_core(&state, |k| k.new_chat(persona_id)))
}

/// What a reply realizes of its persona's style, for the style meter's hover.
#[tauri::command]
pub fn explain_style(
    state: State<'_, AppState>,
    message_id: i64,
) -> CommandResult<Option<kotodama::style::StylePlan>> {
    with_core(&state, |k| k.explain_style(message_id))
}
