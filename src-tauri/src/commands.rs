//! The window's calls on personas and chats: each is one runtime call, its error passed on as the
//! core's code and message.

use kotodama::runtime::AppStatus;
use kotodama::MessageView;
use kotodama::{ChatView, ErrorView, PersonaSummary, PromptTurn};
use tauri::State;

use crate::Rt;

pub type CommandResult<T> = Result<T, ErrorView>;

/// Runs blocking work (a reply, a download, an import) off the async runtime.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> kotodama::Result<T> + Send + 'static,
) -> CommandResult<T> {
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(|e| ErrorView {
            code: "INTERNAL".into(),
            message: format!("the task failed: {e}"),
        })?
        .map_err(Into::into)
}

#[tauri::command]
pub fn app_status(rt: State<'_, Rt>) -> AppStatus {
    rt.status()
}

#[tauri::command]
pub fn list_personas(rt: State<'_, Rt>) -> CommandResult<Vec<PersonaSummary>> {
    Ok(rt.core(|k| k.personas())?)
}

#[tauri::command]
pub fn open_chat(rt: State<'_, Rt>, persona_id: i64) -> CommandResult<ChatView> {
    Ok(rt.open_chat(persona_id)?)
}

#[tauri::command]
pub fn new_chat(rt: State<'_, Rt>, persona_id: i64) -> CommandResult<ChatView> {
    Ok(rt.new_chat(persona_id)?)
}

/// One of the persona's chats, by id (the chat list in the header).
#[tauri::command]
pub fn show_chat(rt: State<'_, Rt>, chat_id: i64) -> CommandResult<ChatView> {
    Ok(rt.show_chat(chat_id)?)
}

#[tauri::command]
pub fn branch_chat(rt: State<'_, Rt>, message_id: i64) -> CommandResult<ChatView> {
    Ok(rt.branch_chat(message_id)?)
}

#[tauri::command]
pub fn choose_alternative(
    rt: State<'_, Rt>,
    message_id: i64,
    index: i64,
) -> CommandResult<MessageView> {
    Ok(rt.core(|k| k.choose_alternative(message_id, index))?)
}

#[tauri::command]
pub fn edit_message(
    rt: State<'_, Rt>,
    message_id: i64,
    text: String,
) -> CommandResult<MessageView> {
    Ok(rt.core(|k| k.edit_message(message_id, &text))?)
}

#[tauri::command]
pub fn delete_message(rt: State<'_, Rt>, message_id: i64) -> CommandResult<ChatView> {
    Ok(rt.core(|k| k.delete_message(message_id))?)
}

/// Names who the user is in the chat (a user persona; null: the default).
#[tauri::command]
pub fn set_chat_user_persona(
    rt: State<'_, Rt>,
    chat_id: i64,
    user_persona_id: Option<i64>,
) -> CommandResult<ChatView> {
    Ok(rt.core(|k| k.set_chat_user_persona(chat_id, user_persona_id))?)
}

/// What the model would be given to reply next in the chat (the prompt viewer).
#[tauri::command]
pub fn next_prompt(rt: State<'_, Rt>, chat_id: i64) -> CommandResult<Vec<PromptTurn>> {
    Ok(rt.core(|k| k.next_prompt(chat_id))?)
}

/// What a reply realizes of its persona's style, for the style meter's hover.
#[tauri::command]
pub fn explain_style(
    rt: State<'_, Rt>,
    message_id: i64,
) -> CommandResult<Option<kotodama::StylePlan>> {
    Ok(rt.core(|k| k.explain_style(message_id))?)
}
