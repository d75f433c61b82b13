//! Replies streamed into the window: the user's message is stored, the reply's text goes to the
//! webview piece by piece over a channel while only the model is locked (the UI keeps working), then
//! the reply is stored. `regenerate_reply` writes another alternative of the last reply the same way.
//! `stop_reply` ends a reply early; what was written is kept.

use kotodama::models::engine::{CancelToken, GenerationStats};
use kotodama::store::Message;
use kotodama::{PendingReply, ReplyEvent as CoreEvent};
use std::sync::atomic::Ordering;

use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};

use crate::commands::{with_core, CommandError};
use crate::AppState;

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ReplyEvent {
    /// The user's message, stored (not sent when regenerating). Boxed: pieces are the common event.
    UserMessage { message: Box<Message> },
    /// The next piece of the reply.
    Piece { text: String },
    /// The attempt written so far was caught out of character: its pieces are dropped and attempt
    /// `attempt` of `of` streams next.
    Retry {
        attempt: u32,
        of: u32,
        cause: String,
    },
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SentReply {
    /// The message replied to.
    user_message: Message,
    /// None when the reply was stopped before its first word. A regenerated reply is the new chosen
    /// alternative of the last message.
    reply: Option<Message>,
    /// Timings and stop reason of a model reply (None for a script line).
    stats: Option<GenerationStats>,
}

/// Runs an opened chat's conversation into the model's KV cache in the background, so that its next
/// reply prefills only the new message (Enter to first token stays short on a long card). A request
/// still waiting when a newer one comes (the user switched chats) is dropped.
pub fn prefill_in_background(app: &AppHandle, chat_id: i64) {
    let ticket = app
        .state::<AppState>()
        .prefills
        .fetch_add(1, Ordering::SeqCst)
        + 1;
    let app = app.clone();
    std::thread::spawn(move || {
        let state = app.state::<AppState>();
        let Ok(context) = with_core(&state, |k| k.chat_context(chat_id)) else {
            return;
        };
        let Some(Ok(mut replier)) = state.replier.as_ref().map(|r| r.lock()) else {
            return;
        };
        if state.prefills.load(Ordering::SeqCst) != ticket {
            return;
        }
        if let Err(e) = replier.prefill(&context, &CancelToken::new()) {
            eprintln!("kotodama: the chat could not be prefilled: {e}");
        }
        let status = replier.status();
        if let Ok(mut shown) = state.replier_status.write() {
            *shown = Some(status);
        };
    });
}

/// Loads the chat model ahead of the first message; failures surface again on that message.
pub fn warm_up(state: &AppState) {
    let Some(replier) = &state.replier else {
        return;
    };
    let Ok(mut replier) = replier.lock() else {
        return;
    };
    if let Err(e) = replier.warm_up() {
        eprintln!("kotodama: the chat model could not be loaded: {e}");
    }
    if let Ok(mut status) = state.replier_status.write() {
        *status = Some(replier.status());
    }
}

#[tauri::command]
pub async fn send_message(
    app: AppHandle,
    chat_id: i64,
    text: String,
    on_event: Channel<ReplyEvent>,
) -> Result<SentReply, CommandError> {
    on_worker(app, move |state| {
        let pending = with_core(state, |k| k.begin_reply(chat_id, &text))?;
        // A closed window drops the channel; the reply is still written and stored.
        let _ = on_event.send(ReplyEvent::UserMessage {
            message: Box::new(pending.user_message.clone()),
        });
        stream_reply(state, pending, &on_event)
    })
    .await
}

/// Writes another reply to the chat's last message of the user, streamed like `send_message`'s: a new
/// alternative (swipe) of the last reply, chosen once stored.
#[tauri::command]
pub async fn regenerate_reply(
    app: AppHandle,
    chat_id: i64,
    on_event: Channel<ReplyEvent>,
) -> Result<SentReply, CommandError> {
    on_worker(app, move |state| {
        let pending = with_core(state, |k| k.begin_regenerate(chat_id))?;
        stream_reply(state, pending, &on_event)
    })
    .await
}

#[tauri::command]
pub fn stop_reply(state: State<'_, AppState>, chat_id: i64) -> Result<bool, CommandError> {
    let running = state
        .running
        .lock()
        .map_err(|_| CommandError::internal("the stop list"))?;
    Ok(running.get(&chat_id).map(CancelToken::cancel).is_some())
}

/// Runs a reply off the async runtime: generation blocks for seconds.
async fn on_worker(
    app: AppHandle,
    work: impl FnOnce(&AppState) -> Result<SentReply, CommandError> + Send + 'static,
) -> Result<SentReply, CommandError> {
    tauri::async_runtime::spawn_blocking(move || work(&app.state::<AppState>()))
        .await
        .map_err(|e| CommandError {
            code: "INTERNAL".into(),
            message: format!("the reply task failed: {e}"),
        })?
}

/// Streams the reply to `pending` piece by piece under the out-of-character guard (stoppable by
/// `stop_reply`), then stores it.
fn stream_reply(
    state: &AppState,
    pending: PendingReply,
    on_event: &Channel<ReplyEvent>,
) -> Result<SentReply, CommandError> {
    let chat_id = pending.chat_id;
    let replier = state
        .replier
        .as_ref()
        .ok_or_else(|| CommandError::internal("the chat model"))?;
    let cancel = CancelToken::new();
    set_running(state, chat_id, Some(cancel.clone()))?;
    let generated = replier
        .lock()
        .map_err(|_| CommandError::internal("the chat model"))
        .and_then(|mut replier| {
            let reply = replier.reply_guarded(
                &pending,
                |event| {
                    let _ = on_event.send(match event {
                        CoreEvent::Piece(text) => ReplyEvent::Piece {
                            text: text.to_string(),
                        },
                        CoreEvent::Retry { attempt, of, cause } => ReplyEvent::Retry {
                            attempt,
                            of,
                            cause: cause.to_string(),
                        },
                    });
                },
                &cancel,
            );
            if let Ok(mut status) = state.replier_status.write() {
                *status = Some(replier.status());
            }
            reply.map_err(|e| CommandError::from(&e))
        });
    set_running(state, chat_id, None)?;
    let generated = generated?;
    let stats = generated.stats.clone();
    let reply = with_core(state, |k| k.finish_reply(&pending, generated))?;
    Ok(SentReply {
        user_message: pending.user_message,
        reply,
        stats,
    })
}

fn set_running(
    state: &AppState,
    chat_id: i64,
    cancel: Option<CancelToken>,
) -> Result<(), CommandError> {
    let mut running = state
        .running
        .lock()
        .map_err(|_| CommandError::internal("the stop list"))?;
    match cancel {
        Some(c) => running.insert(chat_id, c),
        None => running.remove(&chat_id),
    };
    Ok(())
}
