//! A persona's reply in a chat, in three steps so that a shell can stream it without holding the
//! database while the model runs: `Kotodama::begin_reply` stores the user's message and gathers the
//! turn, `Replier::reply` streams the reply from the chat model (or, with none installed, picks a line
//! from the persona's script), `Kotodama::finish_reply` stores it.

use std::collections::HashSet;
use std::path::PathBuf;

use kotodama_engine::{ChatMessage, GenerationStats};
use kotodama_store::{
    AdapterChoice, Message, MessageSource, NewMessage, NewModel, Role, StyleScoreColumns,
};

use crate::cards::Lorebook;
use crate::chat::guard::{GuardReport, ReplyJudge};
use crate::chat::scripted::pick_scripted_reply;
use crate::user_personas::You;
use crate::{ChatSettings, Error, Kotodama, MessageView, Result, MAX_MESSAGE_CHARS};

/// How the user is named in prompts until the app has a user profile.
pub const USER_NAME: &str = "User";

/// A turn waiting for its reply: the stored user message and what the model is given.
#[derive(Debug, Clone)]
pub struct PendingReply {
    /// The message replied to.
    pub user_message: Message,
    /// Where the reply is stored.
    target: ReplyTarget,
    /// What the replier writes the reply from.
    pub context: ChatContext,
}

/// Where a finished reply goes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ReplyTarget {
    /// After the last message.
    Append,
    /// A new alternative of message `of`'s position, chosen.
    Alternative { of: i64 },
}

/// What a reply (or a prefill) gives the model, with the reply's fallbacks and judge.
#[derive(Debug, Clone)]
pub(super) struct ReplyDraft {
    /// System prompt (from the card) followed by the chat so far, the new user message last.
    pub(super) turns: Vec<ChatMessage>,
    /// The script line that answers best: the reply when no model is installed.
    pub(super) scripted: Option<String>,
    /// The persona's chosen (by default the newest) adapter, used when it was trained on the loaded
    /// model.
    pub(super) adapter: Option<ReplyAdapter>,
    pub(super) persona_name: String,
    /// Who the user is (`{{user}}` in stop strings).
    pub(super) user_name: String,
    /// The persona's sampler and guard settings.
    pub(super) settings: ChatSettings,
    /// Judges each written reply for the out-of-character guard.
    pub(super) judge: ReplyJudge,
    /// The persona's lorebook and the latest messages its keys are looked for in (oldest first, the
    /// new user message last); the entries are picked when the model's tokenizer can count their
    /// budget.
    pub(super) lorebook: Lorebook,
    pub(super) recent: Vec<String>,
}

impl ReplyDraft {
    fn pending(self, chat_id: i64, user_message: Message, target: ReplyTarget) -> PendingReply {
        PendingReply {
            user_message,
            target,
            context: ChatContext {
                chat_id,
                draft: self,
            },
        }
    }

    pub(super) fn prompt(&self, chat_id: i64) -> PromptParts<'_> {
        PromptParts {
            chat_id,
            reply_tokens: self.settings.max_reply_tokens as usize,
            turns: &self.turns,
            adapter: self.adapter.as_ref(),
            lorebook: &self.lorebook,
            recent: &self.recent,
        }
    }
}

/// What the replier writes from: the conversation so far (ending with the user's message for a reply,
/// for `Replier::prefill` with the chat so far) and the persona's adapter, settings, judge and lorebook.
/// The chat id picks the model's cache to try.
#[derive(Debug, Clone)]
pub struct ChatContext {
    pub(super) chat_id: i64,
    pub(super) draft: ReplyDraft,
}

/// What the model is given for a chat: its turns, adapter and lorebook.
pub(super) struct PromptParts<'a> {
    pub(super) chat_id: i64,
    /// Room the prompt leaves for the reply (the persona's longest reply).
    pub(super) reply_tokens: usize,
    pub(super) turns: &'a [ChatMessage],
    pub(super) adapter: Option<&'a ReplyAdapter>,
    pub(super) lorebook: &'a Lorebook,
    pub(super) recent: &'a [String],
}

impl PendingReply {
    pub fn chat_id(&self) -> i64 {
        self.context.chat_id
    }
}

impl ChatContext {
    /// How many attempts the guard may write for this reply (1: the first is kept, whatever it says).
    pub fn guard_attempts(&self) -> u32 {
        self.draft.judge.attempts()
    }

    pub(super) fn prompt(&self) -> PromptParts<'_> {
        self.draft.prompt(self.chat_id)
    }
}

/// A message's text as the user may store it: trimmed, not empty, not over the limit.
pub(crate) fn checked_text(text: &str) -> Result<&str> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::InvalidInput("the message is empty".into()));
    }
    if text.chars().count() > MAX_MESSAGE_CHARS {
        return Err(Error::InvalidInput(format!(
            "the message is longer than {MAX_MESSAGE_CHARS} characters"
        )));
    }
    Ok(text)
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct ReplyAdapter {
    pub(super) id: i64,
    pub(super) dir: PathBuf,
    /// The base model file it was trained on.
    pub(super) base: Option<String>,
    /// What starts its turn: an empty reasoning block for adapters trained with style plans
    /// (implicit style conditioning, no reasoning tokens), else nothing.
    pub(super) prefix: &'static str,
    /// The system prompt it was trained with, which replaces the card's when it answers.
    pub(super) system_prompt: String,
}

/// A finished (or stopped) reply, not stored yet.
#[derive(Debug, Clone)]
pub struct Reply {
    pub text: String,
    pub source: MessageSource,
    /// The model that wrote it (None for a script line).
    pub(super) model: Option<NewModel>,
    /// The adapter it ran with.
    pub adapter_id: Option<i64>,
    pub stats: Option<GenerationStats>,
    /// Its style meter, when the guard already judged it (else scored when stored).
    pub(super) style: Option<StyleScoreColumns>,
    /// What the guard did before keeping it; None when it wrote a single attempt.
    pub guard: Option<GuardReport>,
    /// Attempts the guard caught and did not keep, stored as the reply's other alternatives (swipes)
    /// so that the user can see what was replaced.
    pub(super) discarded: Vec<(String, StyleScoreColumns)>,
}

/// What a reply reports while it is written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReplyEvent<'a> {
    /// The next piece of the attempt being written.
    Piece(&'a str),
    /// The attempt just written was caught out of character: attempt `attempt` of `of` starts, and the
    /// pieces so far are to be dropped.
    Retry {
        attempt: u32,
        of: u32,
        cause: &'a str,
    },
}

impl Kotodama {
    /// Stores the user's message and gathers what the reply needs.
    pub fn begin_reply(&mut self, chat_id: i64, text: &str) -> Result<PendingReply> {
        let text = checked_text(text)?;
        let history = self.store.messages(chat_id)?;
        let said = history.iter().map(|m| m.message.content.clone()).collect();
        let draft = self.draft_reply(chat_id, &history, Some(text), &said)?;
        let user_message = self
            .store
            .append_messages(
                chat_id,
                &[plain_message(
                    Role::User,
                    MessageSource::User,
                    text.to_string(),
                )],
            )?
            .remove(0);
        Ok(draft.pending(chat_id, user_message, ReplyTarget::Append))
    }

    /// Gathers a new reply to the chat's last message of the user: another alternative (swipe) of the
    /// reply that follows it, chosen once stored, or the missing reply when the user's message is last
    /// (a reply stopped before its first word). Streams and stores like `begin_reply`'s.
    pub fn begin_regenerate(&mut self, chat_id: i64) -> Result<PendingReply> {
        let history = self.store.messages(chat_id)?;
        let (user_at, target) = match history.as_slice() {
            [.., m] if m.message.role == Role::User => (history.len() - 1, ReplyTarget::Append),
            [.., u, m] if u.message.role == Role::User && m.message.role == Role::Assistant => (
                history.len() - 2,
                ReplyTarget::Alternative { of: m.id },
            ),
            _ => {
                return Err(Error::InvalidInput(
                    "there is no reply to regenerate: the chat must end with a message of yours or a reply to one"
                        .into(),
                ))
            }
        };
        // A script reply avoids every line already said, the other alternatives included.
        let alternatives = match target {
            ReplyTarget::Alternative { of } => self.store.alternatives(of)?,
            ReplyTarget::Append => Vec::new(),
        };
        let said = history
            .iter()
            .chain(&alternatives)
            .map(|m| m.message.content.clone())
            .collect();
        let user_message = history[user_at].clone();
        let draft = self.draft_reply(
            chat_id,
            &history[..user_at],
            Some(&user_message.message.content),
            &said,
        )?;
        Ok(draft.pending(chat_id, user_message, target))
    }

    /// The chat so far, ready for the replier to prefill while the user types (see `Replier::prefill`).
    pub fn chat_context(&mut self, chat_id: i64) -> Result<ChatContext> {
        let history = self.store.messages(chat_id)?;
        let draft = self.draft_reply(chat_id, &history, None, &HashSet::new())?;
        Ok(ChatContext { chat_id, draft })
    }

    /// What a reply to `user_text` after the chat's `earlier` messages needs (see `draft`).
    fn draft_reply(
        &mut self,
        chat_id: i64,
        earlier: &[Message],
        user_text: Option<&str>,
        said: &HashSet<String>,
    ) -> Result<ReplyDraft> {
        let persona = self.store.persona(self.store.chat(chat_id)?.persona_id)?;
        let you = self.you_in_chat(chat_id)?;
        // A greeting (or any message) may say {{user}} or {{char}}: the model reads the names.
        let earlier: Vec<ChatMessage> = earlier
            .iter()
            .filter_map(|m| {
                let role = match m.message.role {
                    Role::User => "user",
                    Role::Assistant => "assistant",
                    Role::System => return None,
                };
                let text = crate::prompt::fill(&m.message.content, &persona.card.name, &you.name);
                Some(ChatMessage::new(role, text))
            })
            .collect();
        self.draft(persona.id, &earlier, user_text, said, None, &you)
    }

    /// What persona `persona_id`'s reply to `user_text` after the `earlier` turns (user and assistant)
    /// needs: the prompt (the card's system prompt, then `notes` when given, then the turns), the script
    /// line that answers best (avoiding `said`), the persona's adapter, settings, judge and lorebook.
    /// Without a user text, the conversation so far (to prefill).
    pub(super) fn draft(
        &mut self,
        persona_id: i64,
        earlier: &[ChatMessage],
        user_text: Option<&str>,
        said: &HashSet<String>,
        notes: Option<&str>,
        you: &You,
    ) -> Result<ReplyDraft> {
        let persona = self.store.persona(persona_id)?;
        let lines = self.store.script_lines(persona_id)?;
        let said: HashSet<&str> = said.iter().map(String::as_str).collect();
        let scripted = user_text
            .and_then(|text| pick_scripted_reply(&lines, text, &said))
            .map(|l| l.line.text.clone());
        let earlier_replies = earlier
            .iter()
            .filter(|m| m.role == "assistant")
            .map(|m| m.content.clone())
            .collect();
        let judge = self.reply_judge(persona_id, earlier_replies)?;
        let lorebook = self.lorebook(persona_id)?;
        let mut recent: Vec<String> = earlier
            .iter()
            .rev()
            .take(
                lorebook
                    .scan_depth
                    .unwrap_or(crate::cards::DEFAULT_SCAN_DEPTH),
            )
            .rev()
            .map(|m| m.content.clone())
            .collect();
        recent.extend(user_text.map(str::to_string));
        let mut system = crate::prompt::system_prompt(&persona.card, &you.name);
        if let Some(about) =
            crate::prompt::about_user(&you.name, &you.description, &persona.card.name)
        {
            system.push_str("\n\n");
            system.push_str(&about);
        }
        if let Some(notes) = notes.filter(|n| !n.trim().is_empty()) {
            system.push_str("\n\n");
            system.push_str(notes.trim());
        }
        let mut turns = vec![ChatMessage::new("system", system)];
        turns.extend(earlier.iter().cloned());
        turns.extend(user_text.map(|text| ChatMessage::new("user", text)));
        Ok(ReplyDraft {
            turns,
            scripted,
            adapter: self.chat_adapter(persona_id, &you.name)?,
            persona_name: persona.card.name.clone(),
            user_name: you.name.clone(),
            settings: self.store.chat_settings(persona_id)?,
            judge,
            lorebook,
            recent,
        })
    }

    /// The adapter the persona's chats use (see `AdapterChoice`); whether it fits the loaded model is
    /// checked when the reply runs.
    pub(super) fn chat_adapter(&self, persona_id: i64, user: &str) -> Result<Option<ReplyAdapter>> {
        let adapters = self.store.adapters(persona_id)?;
        let chosen = match self.store.chat_adapter(persona_id)? {
            AdapterChoice::None => None,
            // Only an adapter that beat the base model on the persona's validation lines.
            AdapterChoice::Newest => adapters
                .into_iter()
                .find(|a| crate::distill::Verdict::of_adapter(a).is_some_and(|v| v.beats_base)),
            AdapterChoice::Adapter(id) => adapters.into_iter().find(|a| a.id == id),
        };
        let Some(a) = chosen else {
            return Ok(None);
        };
        let base = self.adapter_base(&a)?.map(|p| p.display().to_string());
        let persona = self.store.persona(persona_id)?;
        Ok(Some(ReplyAdapter {
            id: a.id,
            prefix: crate::distill::adapter_prefix(&a.adapter.variant),
            dir: PathBuf::from(a.adapter.path),
            base,
            system_prompt: crate::prompt::adapter_system_prompt(&persona.card, user),
        }))
    }

    /// Stores the reply (with the attempts the guard caught as its other alternatives); an empty one
    /// (stopped before its first word) stores nothing.
    pub fn finish_reply(
        &mut self,
        pending: &PendingReply,
        reply: Reply,
    ) -> Result<Option<Message>> {
        let text = reply.text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let model_id = match &reply.model {
            Some(m) => Some(self.store.upsert_model(m)?),
            None => None,
        };
        let mut style = match reply.style {
            Some(style) => style,
            None => self.style_meter(pending.chat_id(), text)?,
        };
        style.guard = reply
            .guard
            .as_ref()
            .map(serde_json::to_value)
            .transpose()
            .map_err(|e| Error::InvalidInput(format!("guard report: {e}")))?;
        let message = |text: &str, style: StyleScoreColumns| NewMessage {
            model_id,
            adapter_id: reply.adapter_id,
            style,
            ..plain_message(Role::Assistant, reply.source, text.to_string())
        };
        let stored = match pending.target {
            ReplyTarget::Append => self
                .store
                .append_messages(pending.chat_id(), &[message(text, style)])?
                .remove(0),
            ReplyTarget::Alternative { of } => {
                self.store
                    .add_alternative(of, &message(text, style), true)?
            }
        };
        if reply.discarded.is_empty() {
            return Ok(Some(stored));
        }
        for (text, style) in reply.discarded {
            self.store
                .add_alternative(stored.id, &message(text.trim(), style), false)?;
        }
        Ok(Some(self.store.message(stored.id)?))
    }

    /// The reply's style score against the persona's profile (the chat's style meter); empty columns
    /// for a persona without a profile.
    pub(crate) fn style_meter(&self, chat_id: i64, text: &str) -> Result<StyleScoreColumns> {
        let persona_id = self.store.chat(chat_id)?.persona_id;
        if self.store.latest_profile(persona_id)?.is_none() {
            return Ok(StyleScoreColumns::default());
        }
        let profile = self.style_profile(persona_id)?;
        crate::chat::guard::columns(&kotodama_style::score(
            text,
            &profile,
            crate::analysis::style_resources()?,
        ))
    }

    /// What a message realizes of its persona's style (signature terms used, rules fired, traits
    /// shown): the style meter's explanation, worked out when the user hovers it. None for a persona
    /// without a profile.
    pub fn explain_style(&self, message_id: i64) -> Result<Option<kotodama_style::StylePlan>> {
        let message = self.store.message(message_id)?;
        let persona_id = self.store.chat(message.chat_id)?.persona_id;
        if self.store.latest_profile(persona_id)?.is_none() {
            return Ok(None);
        }
        let profile = self.style_profile(persona_id)?;
        Ok(Some(kotodama_style::plan(
            &message.message.content,
            &profile,
            crate::analysis::style_resources()?,
        )))
    }

    /// Stores the user's message and a reply picked from the persona's script (no model involved).
    pub fn send_message(&mut self, chat_id: i64, text: &str) -> Result<Vec<MessageView>> {
        let pending = self.begin_reply(chat_id, text)?;
        let reply = scripted_reply(&pending.context)?;
        let mut stored = vec![pending.user_message.clone()];
        stored.extend(self.finish_reply(&pending, reply)?);
        self.shown(chat_id, stored)
    }
}

pub(crate) fn plain_message(role: Role, source: MessageSource, content: String) -> NewMessage {
    NewMessage {
        role,
        content,
        source,
        style: Default::default(),
        model_id: None,
        adapter_id: None,
    }
}

pub(super) fn scripted_reply(context: &ChatContext) -> Result<Reply> {
    let text = context.draft.scripted.clone().ok_or_else(|| {
        Error::InvalidInput("this persona has no script lines to reply with".into())
    })?;
    Ok(Reply {
        source: MessageSource::Script,
        ..Reply::unjudged(text)
    })
}

impl Reply {
    pub(super) fn unjudged(text: String) -> Reply {
        Reply {
            text,
            source: MessageSource::Model,
            model: None,
            adapter_id: None,
            stats: None,
            style: None,
            guard: None,
            discarded: Vec::new(),
        }
    }
}
