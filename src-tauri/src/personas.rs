//! The import wizard and the persona page. A file chosen in the webview arrives as raw bytes (no JSON
//! detour for a multi-megabyte script) with its name percent-encoded in the `x-file-name` header.

use kotodama::cards::lorebook_edit::LorebookView;
use kotodama::cards::CardFormat;
use kotodama::runtime::UploadPreview;
use kotodama::AdapterChoice;
use kotodama::{
    CardFields, Error, ErrorView, ImportPhase, PersonaPage, PersonaSummary, ProfileDiff,
    ScriptImport,
};
use tauri::ipc::{Channel, InvokeBody, Request};
use tauri::State;

use crate::commands::{blocking, CommandResult};
use crate::Rt;

fn invalid(message: &str) -> ErrorView {
    Error::InvalidInput(message.into()).into()
}

fn file_name(request: &Request<'_>) -> CommandResult<String> {
    let raw = request
        .headers()
        .get("x-file-name")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| invalid("the upload has no file name"))?;
    Ok(percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| invalid("the file name is not valid UTF-8"))?
        .into_owned())
}

#[tauri::command]
pub fn preview_import(rt: State<'_, Rt>, request: Request<'_>) -> CommandResult<UploadPreview> {
    let InvokeBody::Raw(bytes) = request.body() else {
        return Err(invalid("expected the file's bytes"));
    };
    Ok(rt.preview_upload(bytes.clone(), &file_name(&request)?)?)
}

/// Imports the previewed file (a card, or one speaker of a script) and returns the new persona's id.
#[tauri::command]
pub async fn import_upload(
    rt: State<'_, Rt>,
    upload_id: u64,
    speaker: Option<String>,
    name: Option<String>,
    card: Option<CardFields>,
    on_phase: Channel<ImportPhase>,
) -> CommandResult<i64> {
    let rt = rt.inner().clone();
    let request = ScriptImport {
        speaker,
        name: name.filter(|n| !n.trim().is_empty()),
        card,
        ..Default::default()
    };
    blocking(move || rt.import_upload(upload_id, &request, &mut |p| drop(on_phase.send(p)))).await
}

/// The card a script upload would make for `speaker`, drafted from their lines, to edit before Create.
#[tauri::command]
pub async fn draft_card(
    rt: State<'_, Rt>,
    upload_id: u64,
    speaker: Option<String>,
    name: Option<String>,
) -> CommandResult<CardFields> {
    let rt = rt.inner().clone();
    let request = ScriptImport {
        speaker,
        name: name.filter(|n| !n.trim().is_empty()),
        ..Default::default()
    };
    blocking(move || rt.draft_upload_card(upload_id, &request)).await
}

#[tauri::command]
pub fn persona_page(rt: State<'_, Rt>, persona_id: i64) -> CommandResult<PersonaPage> {
    Ok(rt.core(|k| k.persona_page(persona_id))?)
}

/// The persona's image as PNG bytes (an empty answer: it has none).
#[tauri::command]
pub fn persona_avatar(rt: State<'_, Rt>, persona_id: i64) -> CommandResult<tauri::ipc::Response> {
    let png = rt.core(|k| k.avatar_png(persona_id))?.unwrap_or_default();
    Ok(tauri::ipc::Response::new(png))
}

/// Makes the request's body (a PNG) the image of the persona named by the `x-persona-id` header.
#[tauri::command]
pub fn set_avatar(rt: State<'_, Rt>, request: Request<'_>) -> CommandResult<PersonaSummary> {
    let InvokeBody::Raw(bytes) = request.body() else {
        return Err(invalid("expected the image's bytes"));
    };
    let persona_id: i64 = request
        .headers()
        .get("x-persona-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| invalid("the image names no persona"))?;
    Ok(rt.core(|k| k.set_avatar(persona_id, bytes))?)
}

/// The persona's card as the character editor shows it.
#[tauri::command]
pub fn card_fields(rt: State<'_, Rt>, persona_id: i64) -> CommandResult<CardFields> {
    Ok(rt.core(|k| k.card_fields(persona_id))?)
}

/// Saves the edited card as its newest revision and returns the persona's page.
#[tauri::command]
pub fn save_card(
    rt: State<'_, Rt>,
    persona_id: i64,
    fields: CardFields,
) -> CommandResult<PersonaPage> {
    Ok(rt.core(|k| k.save_card(persona_id, fields))?)
}

/// The persona's lorebook as the editor shows it.
#[tauri::command]
pub fn lorebook_view(rt: State<'_, Rt>, persona_id: i64) -> CommandResult<LorebookView> {
    Ok(rt.core(|k| k.lorebook_view(persona_id))?)
}

/// Saves the edited lorebook into the card (a new card revision).
#[tauri::command]
pub fn save_lorebook(
    rt: State<'_, Rt>,
    persona_id: i64,
    book: LorebookView,
) -> CommandResult<LorebookView> {
    Ok(rt.core(|k| k.save_lorebook(persona_id, &book))?)
}

/// Adds the entries of a SillyTavern World Info file (its text) to the persona's lorebook.
#[tauri::command]
pub fn import_world_info(
    rt: State<'_, Rt>,
    persona_id: i64,
    text: String,
) -> CommandResult<LorebookView> {
    Ok(rt.core(|k| k.import_world_info(persona_id, &text))?)
}

/// Writes the lorebook as World Info JSON into the data folder's exports; returns the path.
#[tauri::command]
pub fn export_world_info(rt: State<'_, Rt>, persona_id: i64) -> CommandResult<String> {
    Ok(rt
        .core(|k| k.export_world_info(persona_id))?
        .display()
        .to_string())
}

/// What changed between two versions of the persona's style profile.
#[tauri::command]
pub fn profile_diff(
    rt: State<'_, Rt>,
    persona_id: i64,
    from: i64,
    to: i64,
) -> CommandResult<ProfileDiff> {
    Ok(rt.core(|k| k.profile_diff(persona_id, from, to))?)
}

/// Chooses which adapter the persona's chats use (newest, none, or one of its adapters).
#[tauri::command]
pub fn set_chat_adapter(
    rt: State<'_, Rt>,
    persona_id: i64,
    choice: AdapterChoice,
) -> CommandResult<PersonaPage> {
    Ok(rt.core(|k| {
        k.set_chat_adapter(persona_id, choice)?;
        k.persona_page(persona_id)
    })?)
}

/// Writes the persona's card (png, json or charx) into the data folder's `exports/`; returns the path.
#[tauri::command]
pub fn export_persona(rt: State<'_, Rt>, persona_id: i64, format: String) -> CommandResult<String> {
    Ok(rt.core(|k| {
        let format: CardFormat = format.parse()?;
        Ok(k.export_to_data_dir(persona_id, format)?
            .display()
            .to_string())
    })?)
}
