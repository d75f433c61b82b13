//! Replies: the user's message is stored, the reply streams piece by piece while only the model is
//! locked (the rest of the app keeps working), then it is stored. A regenerated reply is another
//! alternative of the last one, written the same way. `stop` ends a reply early; what was written
//! is kept. Opening a chat prefills its conversation into the model's KV cache in the background.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use kotodama_engine::{CancelToken, GenerationStats};
use serde::Serialize;

use super::{poisoned, Runtime};
use crate::{
    ChatContext, ChatView, ClientLimits, ClientMessage, GuardReport, Kotodama, MessageView,
    PendingReply, ReplyEvent, Result,
};

/// What a reply being written reports, in order.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ChatEvent {
    /// The user's message, stored (not sent when regenerating). Boxed: pieces are the common event.
    UserMessage { message: Box<MessageView> },
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

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SentReply {
    /// The message replied to.
    pub user_message: MessageView,
    /// None when the reply was stopped before its first word. A regenerated reply is the new chosen
    /// alternative of the last message.
    pub reply: Option<MessageView>,
    /// Timings and stop reason of a model reply (None for a script line).
    pub stats: Option<GenerationStats>,
}

/// A reply to a client's conversation: the text the guard kept, and what it cost.
#[derive(Debug, Clone)]
pub struct ClientReply {
    pub text: String,
    /// Token counts and timings of the kept attempt (None for a script line).
    pub stats: Option<GenerationStats>,
    /// What the guard did, when it wrote more than one attempt.
    pub guard: Option<GuardReport>,
}

impl Runtime {
    /// Stores the user's message and streams the persona's reply under the out-of-character guard.
    pub fn send(
        &self,
        chat_id: i64,
        text: &str,
        on_event: &mut dyn FnMut(ChatEvent),
    ) -> Result<SentReply> {
        let pending = self.core(|k| k.begin_reply(chat_id, text))?;
        let shown = self.core(|k| k.shown_one(pending.user_message.clone()))?;
        on_event(ChatEvent::UserMessage {
            message: Box::new(shown),
        });
        self.write_reply(pending, on_event)
    }

    /// Writes another reply to the chat's last message of the user: a new alternative (swipe) of the
    /// last reply, chosen once stored.
    pub fn regenerate(
        &self,
        chat_id: i64,
        on_event: &mut dyn FnMut(ChatEvent),
    ) -> Result<SentReply> {
        let pending = self.core(|k| k.begin_regenerate(chat_id))?;
        self.write_reply(pending, on_event)
    }

    /// Stops the reply being written in the chat; false when none is.
    pub fn stop(&self, chat_id: i64) -> Result<bool> {
        let running = self.running.lock().map_err(poisoned("the stop list"))?;
        Ok(running.get(&chat_id).map(CancelToken::cancel).is_some())
    }

    fn write_reply(
        &self,
        pending: PendingReply,
        on_event: &mut dyn FnMut(ChatEvent),
    ) -> Result<SentReply> {
        let chat_id = pending.chat_id();
        let cancel = CancelToken::new();
        self.running
            .lock()
            .map_err(poisoned("the stop list"))?
            .insert(chat_id, cancel.clone());
        let generated = self.replier().and_then(|mut replier| {
            let reply = replier.reply_guarded(
                &pending.context,
                |event| {
                    on_event(match event {
                        ReplyEvent::Piece(text) => ChatEvent::Piece {
                            text: text.to_string(),
                        },
                        ReplyEvent::Retry { attempt, of, cause } => ChatEvent::Retry {
                            attempt,
                            of,
                            cause: cause.to_string(),
                        },
                    })
                },
                &cancel,
            );
            self.show_replier(&replier);
            reply
        });
        self.running
            .lock()
            .map_err(poisoned("the stop list"))?
            .remove(&chat_id);
        let generated = generated?;
        let stats = generated.stats.clone();
        let (user_message, reply) = self.core(|k| {
            let reply = k.finish_reply(&pending, generated)?;
            Ok((
                k.shown_one(pending.user_message.clone())?,
                reply.map(|r| k.shown_one(r)).transpose()?,
            ))
        })?;
        Ok(SentReply {
            user_message,
            reply,
            stats,
        })
    }

    /// What persona `persona_id` replies to in a conversation a client keeps (the local server's
    /// requests); an error when the persona or the conversation will not do.
    pub fn client_turn(
        &self,
        persona_id: i64,
        messages: &[ClientMessage],
        limits: &ClientLimits,
    ) -> Result<ChatContext> {
        self.core(|k| k.client_turn(persona_id, messages, limits))
    }

    /// The persona's reply to a client's conversation under the guard, streamed through `on_event`;
    /// nothing is stored. `cancel` stops it (a client that went away), keeping what was written.
    pub fn reply_to_client(
        &self,
        turn: &ChatContext,
        on_event: &mut dyn FnMut(ReplyEvent<'_>),
        cancel: &CancelToken,
    ) -> Result<ClientReply> {
        let mut replier = self.replier()?;
        let reply = replier.reply_guarded(turn, on_event, cancel);
        self.show_replier(&replier);
        let reply = reply?;
        Ok(ClientReply {
            text: reply.text,
            stats: reply.stats,
            guard: reply.guard,
        })
    }

    /// Loads the chat model ahead of the first message (while the user picks a persona); a failure
    /// surfaces again on that message.
    pub fn warm_up(&self) {
        let Ok(mut replier) = self.replier() else {
            return;
        };
        if let Err(e) = replier.warm_up() {
            tracing::warn!("the chat model could not be loaded: {e}");
        }
        self.show_replier(&replier);
    }

    /// The persona's last chat (a new one when it has none), prefilled in the background.
    pub fn open_chat(self: &Arc<Self>, persona_id: i64) -> Result<ChatView> {
        self.shown(|k| k.open_chat(persona_id))
    }

    /// A new chat with the persona, opened by its greeting.
    pub fn new_chat(self: &Arc<Self>, persona_id: i64) -> Result<ChatView> {
        self.shown(|k| k.new_chat(persona_id))
    }

    /// One of the persona's chats, by id.
    pub fn show_chat(self: &Arc<Self>, chat_id: i64) -> Result<ChatView> {
        self.shown(|k| k.chat(chat_id))
    }

    /// A new chat from the conversation up to and including this message.
    pub fn branch_chat(self: &Arc<Self>, message_id: i64) -> Result<ChatView> {
        self.shown(|k| k.branch_chat(message_id))
    }

    /// The chat the window is about to show, prefilled for the model in the background.
    fn shown(
        self: &Arc<Self>,
        open: impl FnOnce(&mut Kotodama) -> Result<ChatView>,
    ) -> Result<ChatView> {
        let view = self.core(open)?;
        self.prefill_in_background(view.chat.id);
        Ok(view)
    }

    /// Runs the chat's conversation into the model's KV cache, so that its next reply prefills only
    /// the new message (Enter to first token stays short on a long card). A request still waiting
    /// when a newer one comes (the user switched chats) is dropped.
    fn prefill_in_background(self: &Arc<Self>, chat_id: i64) {
        let ticket = self.prefills.fetch_add(1, Ordering::SeqCst) + 1;
        let rt = Arc::clone(self);
        std::thread::spawn(move || {
            let Ok(context) = rt.core(|k| k.chat_context(chat_id)) else {
                return;
            };
            let Ok(mut replier) = rt.replier() else {
                return;
            };
            if rt.prefills.load(Ordering::SeqCst) != ticket {
                return;
            }
            if let Err(e) = replier.prefill(&context, &CancelToken::new()) {
                tracing::warn!("the chat could not be prefilled: {e}");
            }
            rt.show_replier(&replier);
        });
    }
}
