//! The import wizard and the persona page. A file chosen in the webview arrives as raw bytes (no JSON
//! detour for a multi-megabyte script), is previewed and kept until the user confirms, then imported
//! with its phases streamed to the wizard. Cards are exported into the data folder.

use kotodama::cards::CardFormat;
use kotodama::store::AdapterChoice;
use kotodama::{FilePreview, ImportPhase, PersonaPage, ProfileDiff, ScriptImport};
use serde::Serialize;
use tauri::ipc::{Channel, InvokeBody, Request};
use tauri::{AppHandle, Manager, State};

use crate::commands::{with_core, CommandError};
use crate::AppState;

/// The file the wizard is working on (one at a time).
pub struct Upload {
    id: u64,
    file: String,
    bytes: Vec<u8>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadPreview {
    upload_id: u64,
    file: String,
    size: usize,
    #[serde(flatten)]
    preview: FilePreview,
}

fn invalid(message: &str) -> CommandError {
    CommandError {
        code: "INVALID_INPUT".into(),
        message: message.into(),
    }
}

/// The uploaded file's name, sent percent-encoded in the `x-file-name` header.
fn file_name(request: &Request<'_>) -> Result<String, CommandError> {
    let raw = request
        .headers()
        .get("x-file-name")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| invalid("the upload has no file name"))?;
    let name = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| invalid("the file name is not valid UTF-8"))?;
    // Only the last path component: the name labels the persona and never becomes a path.
    Ok(name.rsplit(['/', '\\']).next().unwrap_or("").to_string())
}

#[tauri::command]
pub fn preview_import(
    state: State<'_, AppState>,
    request: Request<'_>,
) -> Result<UploadPreview, CommandError> {
    let InvokeBody::Raw(bytes) = request.body() else {
        return Err(invalid("expected the file's bytes"));
    };
    let file = file_name(&request)?;
    let preview = kotodama::preview_file(bytes, &file).map_err(|e| CommandError::from(&e))?;
    let mut upload = state
        .upload
        .lock()
        .map_err(|_| CommandError::internal("the upload slot"))?;
    let id = upload.as_ref().map_or(1, |u| u.id + 1);
    *upload = Some(Upload {
        id,
        file: file.clone(),
        bytes: bytes.clone(),
    });
    Ok(UploadPreview {
        upload_id: id,
        size: bytes.len(),
        file,
        preview,
    })
}

/// Imports the previewed file (a card, or one speaker of a script) and returns the new persona's id.
#[tauri::command]
pub async fn import_upload(
    app: AppHandle,
    upload_id: u64,
    speaker: Option<String>,
    name: Option<String>,
    on_phase: Channel<ImportPhase>,
) -> Result<i64, CommandError> {
    tauri::async_runtime::spawn_blocking(move || {
        let state = app.state::<AppState>();
        let mut slot = state
            .upload
            .lock()
            .map_err(|_| CommandError::internal("the upload slot"))?;
        let upload = match slot.as_ref() {
            Some(u) if u.id == upload_id => u,
            _ => return Err(invalid("that file is no longer open: choose it again")),
        };
        let request = ScriptImport {
            speaker,
            name: name.filter(|n| !n.trim().is_empty()),
            ..Default::default()
        };
        let (id, _) = with_core(&state, |k| {
            k.import_bytes(&upload.bytes, &upload.file, &request, &mut |phase| {
                let _ = on_phase.send(phase);
            })
        })?;
        *slot = None;
        Ok(id)
    })
    .await
    .map_err(|e| CommandError {
        code: "INTERNAL".into(),
        message: format!("the import task failed: {e}"),
    })?
}

#[tauri::command]
pub fn persona_page(
    state: State<'_, AppState>,
    persona_id: i64,
) -> Result<PersonaPage, CommandError> {
    with_core(&state, |k| k.persona_page(persona_id))
}

/// What changed between two versions of the persona's style profile.
#[tauri::command]
pub fn profile_diff(
    state: State<'_, AppState>,
    persona_id: i64,
    from: i64,
    to: i64,
) -> Result<ProfileDiff, CommandError> {
    with_core(&state, |k| k.profile_diff(persona_id, from, to))
}

/// Chooses which adapter the persona's chats use (newest, none, or one of its adapters).
#[tauri::command]
pub fn set_chat_adapter(
    state: State<'_, AppState>,
    persona_id: i64,
    choice: AdapterChoice,
) -> Result<PersonaPage, CommandError> {
    with_core(&state, |k| {
        k.set_chat_adapter(persona_id, choice)?;
        k.persona_page(persona_id)
    })
}

/// Writes the persona's card (png, json or charx) into the data folder's `exports/`; returns the path.
#[tauri::command]
pub fn export_persona(
    state: State<'_, AppState>,
    persona_id: i64,
    format: String,
) -> Result<String, CommandError> {
    with_core(&state, |k| {
        let format: CardFormat = format.parse()?;
        Ok(k.export_to_data_dir(persona_id, format)?
            .display()
            .to_string())
    })
}
