//! Tauri commands that change a chat after the fact: swipes, edits, deletes, branches, switching chats.

use kotodama::store::Message;
use kotodama::ChatView;
use tauri::{AppHandle, State};

use crate::commands::{shown, with_core, CommandError};
use crate::AppState;

type CommandResult<T> = Result<T, CommandError>;

/// One of the persona's chats, by id (the chat list in the header).
#[tauri::command]
pub fn show_chat(
    app: AppHandle,
    state: State<'_, AppState>,
    chat_id: i64,
) -> CommandResult<ChatView> {
    shown(&app, with_core(&state, |k| k.chat(chat_id)))
}

#[tauri::command]
pub fn choose_alternative(
    state: State<'_, AppState>,
    message_id: i64,
    index: i64,
) -> CommandResult<Message> {
    with_core(&state, |k| k.choose_alternative(message_id, index))
}

#[tauri::command]
pub fn edit_message(
    state: State<'_, AppState>,
    message_id: i64,
    text: String,
) -> CommandResult<Message> {
    with_core(&state, |k| k.edit_message(message_id, &text))
}

#[tauri::command]
pub fn delete_message(state: State<'_, AppState>, message_id: i64) -> CommandResult<ChatView> {
    with_core(&state, |k| k.delete_message(message_id))
}

#[tauri::command]
pub fn branch_chat(
    app: AppHandle,
    state: State<'_, AppState>,
    message_id: i64,
) -> CommandResult<ChatView> {
    shown(&app, with_core(&state, |k| k.branch_chat(message_id)))
}
