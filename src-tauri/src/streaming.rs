//! Replies streamed into the window: the runtime's chat events go over the command's channel. A closed
//! window drops the channel; the reply is still written and stored.

use kotodama::runtime::{ChatEvent, SentReply};
use tauri::ipc::Channel;
use tauri::State;

use crate::commands::{blocking, CommandResult};
use crate::Rt;

#[tauri::command]
pub async fn send_message(
    rt: State<'_, Rt>,
    chat_id: i64,
    text: String,
    on_event: Channel<ChatEvent>,
) -> CommandResult<SentReply> {
    let rt = rt.inner().clone();
    blocking(move || rt.send(chat_id, &text, &mut |e| drop(on_event.send(e)))).await
}

/// Another reply to the chat's last message of the user: a new alternative (swipe), chosen once stored.
#[tauri::command]
pub async fn regenerate_reply(
    rt: State<'_, Rt>,
    chat_id: i64,
    on_event: Channel<ChatEvent>,
) -> CommandResult<SentReply> {
    let rt = rt.inner().clone();
    blocking(move || rt.regenerate(chat_id, &mut |e| drop(on_event.send(e)))).await
}

#[tauri::command]
pub fn stop_reply(rt: State<'_, Rt>, chat_id: i64) -> CommandResult<bool> {
    Ok(rt.stop(chat_id)?)
}
