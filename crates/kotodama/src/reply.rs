//! A persona's reply in a chat, in three steps so that a shell can stream it without holding the
//! database while the model runs: `Kotodama::begin_reply` stores the user's message and gathers the
//! turn, `Replier::reply` streams the reply from the chat model (or, with none installed, picks a line
//! from the persona's script), `Kotodama::finish_reply` stores it.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::path::PathBuf;

use kotodama_engine::{
    CancelToken, ChatMessage, ChatSession, DeviceInfo, GenerationStats, KvCache, LoadOptions,
    Model, SamplingParams,
};
use kotodama_store::{
    AdapterChoice, ChatSettings, GuardAction, Message, MessageSource, NewMessage, NewModel, Role,
    StyleScoreColumns,
};
use serde::Serialize;

use crate::cards::Lorebook;
use crate::guard::{GuardReport, ReplyJudge, Verdict};
use crate::models::{ModelKind, ModelManager, ModelsError};
use crate::scripted_reply::pick_scripted_reply;
use crate::{Error, Kotodama, Result, MAX_MESSAGE_CHARS};

/// How the user is named in prompts until the app has a user profile.
pub const USER_NAME: &str = "User";

/// A turn waiting for its reply: the stored user message and what the model is given.
#[derive(Debug, Clone)]
pub struct PendingReply {
    pub chat_id: i64,
    /// The message replied to.
    pub user_message: Message,
    /// Where the reply is stored.
    target: ReplyTarget,
    /// System prompt (from the card) followed by the chat so far, the new user message last.
    pub(crate) turns: Vec<ChatMessage>,
    /// The script line that answers best: the reply when no model is installed.
    scripted: Option<String>,
    /// The persona's chosen (by default the newest) adapter, used when it was trained on the loaded model.
    adapter: Option<ReplyAdapter>,
    persona_name: String,
    /// The persona's sampler and guard settings.
    settings: ChatSettings,
    /// Judges each written reply for the out-of-character guard.
    judge: ReplyJudge,
    /// The persona's lorebook and the latest messages its keys are looked for in (oldest first, the new
    /// user message last); the entries are picked when the model's tokenizer can count their budget.
    lorebook: Lorebook,
    recent: Vec<String>,
}

/// Where a finished reply goes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ReplyTarget {
    /// After the last message.
    Append,
    /// A new alternative of message `of`'s position, chosen.
    Alternative { of: i64 },
}

/// A reply's prompt, fallbacks and judge, before the user's message is stored.
struct ReplyDraft {
    turns: Vec<ChatMessage>,
    scripted: Option<String>,
    adapter: Option<ReplyAdapter>,
    persona_name: String,
    settings: ChatSettings,
    judge: ReplyJudge,
    lorebook: Lorebook,
    recent: Vec<String>,
}

impl ReplyDraft {
    fn pending(self, chat_id: i64, user_message: Message, target: ReplyTarget) -> PendingReply {
        PendingReply {
            chat_id,
            user_message,
            target,
            turns: self.turns,
            scripted: self.scripted,
            adapter: self.adapter,
            persona_name: self.persona_name,
            settings: self.settings,
            judge: self.judge,
            lorebook: self.lorebook,
            recent: self.recent,
        }
    }
}

/// A chat's conversation so far, for `Replier::prefill`.
pub struct ChatContext {
    chat_id: i64,
    draft: ReplyDraft,
}

/// What the model is given for a chat: its turns, adapter and lorebook.
struct PromptParts<'a> {
    chat_id: i64,
    turns: &'a [ChatMessage],
    adapter: Option<&'a ReplyAdapter>,
    lorebook: &'a Lorebook,
    recent: &'a [String],
}

impl PendingReply {
    fn prompt(&self) -> PromptParts<'_> {
        PromptParts {
            chat_id: self.chat_id,
            turns: &self.turns,
            adapter: self.adapter.as_ref(),
            lorebook: &self.lorebook,
            recent: &self.recent,
        }
    }
}

impl ChatContext {
    fn prompt(&self) -> PromptParts<'_> {
        PromptParts {
            chat_id: self.chat_id,
            turns: &self.draft.turns,
            adapter: self.draft.adapter.as_ref(),
            lorebook: &self.draft.lorebook,
            recent: &self.draft.recent,
        }
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
struct ReplyAdapter {
    id: i64,
    dir: PathBuf,
    /// The base model file it was trained on.
    base: Option<String>,
    /// What starts its turn: an empty reasoning block for adapters trained with style plans
    /// (implicit style conditioning, no reasoning tokens), else nothing.
    prefix: &'static str,
    /// The system prompt it was trained with, which replaces the card's when it answers.
    system_prompt: String,
}

/// A finished (or stopped) reply, not stored yet.
#[derive(Debug, Clone)]
pub struct Reply {
    pub text: String,
    pub source: MessageSource,
    /// The model that wrote it (None for a script line).
    model: Option<NewModel>,
    /// The adapter it ran with.
    pub adapter_id: Option<i64>,
    pub stats: Option<GenerationStats>,
    /// Its style meter, when the guard already judged it (else scored when stored).
    style: Option<StyleScoreColumns>,
    /// What the guard did before keeping it; None when it wrote a single attempt.
    pub guard: Option<GuardReport>,
    /// Attempts the guard caught and did not keep, stored as the reply's other alternatives (swipes)
    /// so that the user can see what was replaced.
    discarded: Vec<(String, StyleScoreColumns)>,
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

    /// What a reply to `user_text` after `earlier` needs: the prompt, the script line that answers
    /// best (avoiding `said`), the persona's adapter, settings, judge and lorebook. Without a user
    /// text, the chat so far (to prefill).
    fn draft_reply(
        &mut self,
        chat_id: i64,
        earlier: &[Message],
        user_text: Option<&str>,
        said: &HashSet<String>,
    ) -> Result<ReplyDraft> {
        let chat = self.store.chat(chat_id)?;
        let persona = self.store.persona(chat.persona_id)?;
        let lines = self.store.script_lines(chat.persona_id)?;
        let said: HashSet<&str> = said.iter().map(String::as_str).collect();
        let scripted = user_text
            .and_then(|text| pick_scripted_reply(&lines, text, &said))
            .map(|l| l.line.text.clone());
        let earlier_replies = earlier
            .iter()
            .filter(|m| m.message.role == Role::Assistant)
            .map(|m| m.message.content.clone())
            .collect();
        let judge = self.reply_judge(chat.persona_id, earlier_replies)?;
        let lorebook = self.lorebook(chat.persona_id)?;
        let mut recent: Vec<String> = earlier
            .iter()
            .rev()
            .take(
                lorebook
                    .scan_depth
                    .unwrap_or(crate::cards::DEFAULT_SCAN_DEPTH),
            )
            .rev()
            .map(|m| m.message.content.clone())
            .collect();
        recent.extend(user_text.map(str::to_string));
        let mut turns = vec![ChatMessage::new(
            "system",
            crate::prompt::system_prompt(&persona.card, USER_NAME),
        )];
        turns.extend(earlier.iter().filter_map(|m| {
            let role = match m.message.role {
                Role::User => "user",
                Role::Assistant => "assistant",
                Role::System => return None,
            };
            Some(ChatMessage::new(role, m.message.content.clone()))
        }));
        turns.extend(user_text.map(|text| ChatMessage::new("user", text)));
        Ok(ReplyDraft {
            turns,
            scripted,
            adapter: self.chat_adapter(chat.persona_id)?,
            persona_name: persona.card.name.clone(),
            settings: self.store.chat_settings(chat.persona_id)?,
            judge,
            lorebook,
            recent,
        })
    }

    /// The adapter the persona's chats use (see `AdapterChoice`); whether it fits the loaded model is
    /// checked when the reply runs.
    fn chat_adapter(&self, persona_id: i64) -> Result<Option<ReplyAdapter>> {
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
            system_prompt: crate::prompt::adapter_system_prompt(&persona.card, USER_NAME),
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
            None => self.style_meter(pending.chat_id, text)?,
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
                .append_messages(pending.chat_id, &[message(text, style)])?
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
        crate::guard::columns(&kotodama_style::score(
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
    pub fn send_message(&mut self, chat_id: i64, text: &str) -> Result<Vec<Message>> {
        let pending = self.begin_reply(chat_id, text)?;
        let reply = scripted_reply(&pending)?;
        let mut stored = vec![pending.user_message.clone()];
        stored.extend(self.finish_reply(&pending, reply)?);
        Ok(stored)
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

fn scripted_reply(pending: &PendingReply) -> Result<Reply> {
    let text = pending.scripted.clone().ok_or_else(|| {
        Error::InvalidInput("this persona has no script lines to reply with".into())
    })?;
    Ok(Reply {
        source: MessageSource::Script,
        ..Reply::unjudged(text)
    })
}

impl Reply {
    fn unjudged(text: String) -> Reply {
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

/// What the app shows about the model that answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ReplierStatus {
    /// The installed chat model's id; None means replies come from the persona's script.
    pub model: Option<String>,
    /// Where it runs, once loaded.
    pub device: Option<DeviceInfo>,
    /// The chat whose conversation the model holds in its KV cache, and how many tokens of it: its next
    /// reply prefills only what follows.
    pub cached: Option<CachedChat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CachedChat {
    pub chat_id: i64,
    pub tokens: usize,
}

struct LoadedModel {
    id: String,
    model: Model,
    record: NewModel,
    /// The adapter applied to `model`.
    adapter: Option<i64>,
    /// The KV cache of the chat answered last, so its next turn only prefills the new messages.
    cache: Option<(i64, KvCache)>,
}

/// Answers chats with the installed chat model, loaded on first use and kept.
pub struct Replier {
    models: ModelManager,
    load: LoadOptions,
    /// Replaces every persona's sampler (tests use greedy decoding).
    sampling_override: Option<SamplingParams>,
    /// The seed of the next reply: each reply (and each guard attempt) draws a new one, so a
    /// regenerated reply is another reply, not the same one again.
    next_seed: u64,
    /// Texts streamed as the next attempts instead of the model's, as if the model had written them
    /// (tests force an out-of-character reply this way to see the guard catch it).
    #[cfg(any(test, feature = "test-support"))]
    canned: std::collections::VecDeque<String>,
    /// The installed chat model the user chose; None (or one no longer installed): the default.
    preferred: Option<String>,
    loaded: Option<LoadedModel>,
}

/// The longest reply, in tokens; the prompt leaves room for it.
const REPLY_TOKENS: usize = 200;

/// Tokens back that the repetition penalty looks at.
pub(crate) const PENALTY_WINDOW: usize = 128;

/// A persona's sampler settings as the engine's parameters.
fn sampling_params(settings: &ChatSettings, seed: u64) -> SamplingParams {
    SamplingParams {
        temperature: settings.temperature,
        top_p: settings.top_p,
        min_p: settings.min_p,
        repetition_penalty: settings.repetition_penalty,
        penalty_last_n: PENALTY_WINDOW,
        max_tokens: REPLY_TOKENS,
        seed,
        ..SamplingParams::default()
    }
}

/// What one attempt writes: a reply to the chat, or the caught reply rewritten in the persona's voice.
enum Attempt<'a> {
    Reply,
    Rewrite(&'a str),
}

impl Replier {
    pub fn new(models_dir: PathBuf, load: LoadOptions) -> Self {
        let clock = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Self {
            models: ModelManager::new(models_dir),
            load,
            sampling_override: None,
            next_seed: clock,
            #[cfg(any(test, feature = "test-support"))]
            canned: Default::default(),
            preferred: None,
            loaded: None,
        }
    }

    /// Answers with installed model `id` from the next reply on (None: the default chat model).
    pub fn prefer_model(&mut self, id: Option<String>) {
        self.preferred = id;
        let wanted = self.chat_model().ok().map(|m| m.id);
        if self.loaded.as_ref().map(|l| &l.id) != wanted.as_ref() {
            self.loaded = None;
        }
    }

    /// The chat model replies use: the preferred one if installed, else the default.
    fn chat_model(&self) -> std::result::Result<crate::models::InstalledModel, ModelsError> {
        let preferred = self
            .preferred
            .as_deref()
            .and_then(|id| self.models.get(id).ok())
            .filter(|m| m.kind == ModelKind::Chat);
        match preferred {
            Some(m) => Ok(m),
            None => self.models.default_of(ModelKind::Chat),
        }
    }

    /// Replaces every persona's sampling settings (tests use greedy decoding).
    pub fn set_sampling(&mut self, params: SamplingParams) {
        self.sampling_override = Some(params);
    }

    /// The next attempt streams `text` instead of the model's reply (tests force an out-of-character
    /// reply this way to see the guard catch it).
    #[cfg(any(test, feature = "test-support"))]
    pub fn queue_canned_reply(&mut self, text: impl Into<String>) {
        self.canned.push_back(text.into());
    }

    fn params(&mut self, settings: &ChatSettings) -> SamplingParams {
        self.next_seed = self.next_seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        match &self.sampling_override {
            Some(p) => p.clone(),
            None => sampling_params(settings, self.next_seed),
        }
    }

    pub fn status(&self) -> ReplierStatus {
        match &self.loaded {
            Some(l) => ReplierStatus {
                model: Some(l.id.clone()),
                device: Some(l.model.info().device.clone()),
                cached: l.cache.as_ref().map(|(chat_id, cache)| CachedChat {
                    chat_id: *chat_id,
                    tokens: cache.len(),
                }),
            },
            None => ReplierStatus {
                model: self.chat_model().ok().map(|m| m.id),
                device: None,
                cached: None,
            },
        }
    }

    /// Loads the installed chat model if not loaded yet; Ok(false) when none is installed.
    pub fn warm_up(&mut self) -> Result<bool> {
        if self.loaded.is_some() {
            return Ok(true);
        }
        let installed = match self.chat_model() {
            Ok(m) => m,
            Err(ModelsError::NotFound(_)) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        let model = Model::load(&installed.path, self.load)?;
        let info = model.info();
        let record = NewModel {
            name: info.name.clone(),
            path: installed.path.display().to_string(),
            format: info.format.clone(),
            architecture: format!("{:?}", info.config.architecture).to_lowercase(),
            quantization: None,
            size_bytes: installed.size_bytes as i64,
            sha256: None,
        };
        self.loaded = Some(LoadedModel {
            id: installed.id,
            model,
            record,
            adapter: None,
            cache: None,
        });
        Ok(true)
    }

    /// Streams one reply to `pending` through `on_piece`, unguarded; with no chat model installed, the
    /// script's line comes as one piece. A stopped generation returns what was written so far.
    pub fn reply(
        &mut self,
        pending: &PendingReply,
        on_piece: impl FnMut(&str),
        cancel: &CancelToken,
    ) -> Result<Reply> {
        self.write(pending, Attempt::Reply, on_piece, cancel)
    }

    /// Streams the reply to `pending` under the out-of-character guard: while the model's reply is
    /// caught (see `ReplyJudge`), another is written (or the caught one rewritten in character), up to the
    /// persona's attempts, and the best is kept. Script lines (no model installed) are the character's
    /// own words: never caught. A stop keeps the best complete attempt (or the first, however short).
    pub fn reply_guarded(
        &mut self,
        pending: &PendingReply,
        mut on_event: impl FnMut(ReplyEvent<'_>),
        cancel: &CancelToken,
    ) -> Result<Reply> {
        let judge = &pending.judge;
        let attempts = judge.attempts();
        let mut kept: Option<(Reply, Verdict, u32)> = None;
        let mut discarded: Vec<(String, StyleScoreColumns)> = Vec::new();
        let mut caught: Vec<String> = Vec::new();
        let mut written = 0;
        for n in 1..=attempts {
            let attempt = match (&kept, judge.action()) {
                (Some((best, ..)), GuardAction::Rewrite) => Attempt::Rewrite(&best.text),
                _ => Attempt::Reply,
            };
            let reply = self.write(pending, attempt, |p| on_event(ReplyEvent::Piece(p)), cancel)?;
            if reply.text.trim().is_empty() || (cancel.is_cancelled() && kept.is_some()) {
                match kept {
                    None => return Ok(reply),
                    Some(_) => break,
                }
            }
            written = n;
            let mut verdict = judge.judge(&reply.text)?;
            if reply.source == MessageSource::Script {
                // The character's own line: in character by definition, whatever its score.
                verdict.caught = None;
            }
            caught.extend(verdict.caught.clone());
            let done = verdict.caught.is_none() || cancel.is_cancelled();
            // Greedy or low-temperature sampling can write the same text twice: it is kept once.
            let repeated = kept.as_ref().is_some_and(|(k, ..)| k.text == reply.text)
                || discarded.iter().any(|(t, _)| *t == reply.text);
            if kept
                .as_ref()
                .is_none_or(|(_, best, _)| verdict.better_than(best))
            {
                if let Some((old, v, _)) = kept.replace((reply, verdict, n)) {
                    discarded.push((old.text, v.style));
                }
            } else if !repeated {
                discarded.push((reply.text, verdict.style));
            }
            if done || n == attempts {
                break;
            }
            on_event(ReplyEvent::Retry {
                attempt: n + 1,
                of: attempts,
                cause: caught.last().map_or("", String::as_str),
            });
        }
        let (mut reply, verdict, kept_at) = kept.expect("the first attempt is always judged");
        reply.style = Some(verdict.style);
        if written > 1 {
            reply.guard = Some(GuardReport {
                action: judge.action(),
                attempts: written,
                kept: kept_at,
                caught,
            });
        }
        reply.discarded = discarded;
        Ok(reply)
    }

    /// Runs the chat so far into the model's KV cache (with the persona's adapter), so that the next
    /// reply prefills only the user's new message; 0 with no model installed.
    pub fn prefill(&mut self, context: &ChatContext, cancel: &CancelToken) -> Result<usize> {
        if !self.warm_up()? {
            return Ok(0);
        }
        let (turns, _, cache) = self.session_for(&context.prompt(), REPLY_TOKENS)?;
        let loaded = self.loaded.as_mut().expect("session_for loaded the model");
        let mut session = ChatSession::resume(&loaded.model, cache);
        let cached = session.prefill(&turns, cancel);
        loaded.cache = Some((context.chat_id, session.into_cache()));
        Ok(cached?)
    }

    /// Loads the model with the chat's adapter and gives the prompt's turns (lore added, the oldest
    /// dropped to leave `reply_tokens` free), the assistant prefix and the chat's KV cache.
    fn session_for(
        &mut self,
        prompt: &PromptParts<'_>,
        reply_tokens: usize,
    ) -> Result<(Vec<ChatMessage>, &'static str, KvCache)> {
        self.warm_up()?;
        let loaded = self.loaded.as_mut().expect("warm_up loaded the model");
        // The persona's adapter, if it was trained on this model; switching drops the KV cache.
        let adapter = prompt
            .adapter
            .filter(|a| a.base.as_deref() == Some(loaded.record.path.as_str()));
        if loaded.adapter != adapter.map(|a| a.id) {
            loaded.cache = None;
            loaded.adapter = None;
            loaded.model.set_adapter(adapter.map(|a| a.dir.as_path()))?;
            loaded.adapter = adapter.map(|a| a.id);
        }
        let mut turns = prompt.turns.to_vec();
        let prefix = match adapter {
            Some(a) => {
                turns[0].content = a.system_prompt.clone();
                a.prefix
            }
            None => "",
        };
        add_lore(&loaded.model, prompt, &mut turns[0].content);
        let turns = fit_context(&loaded.model, &turns, reply_tokens)?;
        // The chat id only picks the cache to try: ChatSession keeps just the token prefix the cache
        // shares with the new prompt, so an edited or swiped history re-prefills from its first changed
        // token and never reads stale positions.
        let cache = match loaded.cache.take() {
            Some((chat, cache)) if chat == prompt.chat_id => cache,
            _ => loaded.model.decoder().new_cache(),
        };
        Ok((turns, prefix, cache))
    }

    fn write(
        &mut self,
        pending: &PendingReply,
        attempt: Attempt<'_>,
        mut on_piece: impl FnMut(&str),
        cancel: &CancelToken,
    ) -> Result<Reply> {
        #[cfg(any(test, feature = "test-support"))]
        if let Some(text) = self.canned.pop_front() {
            for piece in text.split_inclusive(' ') {
                on_piece(piece);
            }
            return Ok(Reply::unjudged(text));
        }
        if !self.warm_up()? {
            let reply = scripted_reply(pending)?;
            on_piece(&reply.text);
            return Ok(reply);
        }
        let params = self.params(&pending.settings);
        let (turns, prefix, cache) = self.session_for(&pending.prompt(), params.max_tokens)?;
        let turns = match attempt {
            Attempt::Reply => turns,
            // The distillation's rewrite task: the instruction it was trained with, the caught text.
            Attempt::Rewrite(caught) => vec![
                ChatMessage::new(
                    "system",
                    crate::distill::dataset::rewrite_instruction(&pending.persona_name),
                ),
                ChatMessage::new("user", caught),
            ],
        };
        let loaded = self.loaded.as_mut().expect("session_for loaded the model");
        // A rewrite's prompt shares nothing with the chat: it runs in a cache of its own, and the
        // chat's stays for its next turn.
        let (cache, chat_cache) = match attempt {
            Attempt::Reply => (cache, None),
            Attempt::Rewrite(_) => (loaded.model.decoder().new_cache(), Some(cache)),
        };
        let mut session = ChatSession::resume(&loaded.model, cache);
        let mut text = String::new();
        let mut filter = crate::reasoning_filter::ReasoningFilter::default();
        let stats = session.generate_after(
            &turns,
            prefix,
            &params,
            |piece| {
                let (shown, stop) = filter.push(piece);
                if !shown.is_empty() {
                    text.push_str(&shown);
                    on_piece(&shown);
                }
                if stop {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
            cancel,
        )?;
        let rest = filter.finish();
        if !rest.is_empty() {
            text.push_str(&rest);
            on_piece(&rest);
        }
        let used = session.into_cache();
        loaded.cache = Some((pending.chat_id, chat_cache.unwrap_or(used)));
        Ok(Reply {
            model: Some(loaded.record.clone()),
            adapter_id: loaded.adapter,
            stats: Some(stats),
            ..Reply::unjudged(text)
        })
    }
}

/// Appends the lorebook entries the latest messages call for to the system prompt, within the book's
/// token budget counted by the model's tokenizer.
fn add_lore(model: &Model, prompt: &PromptParts<'_>, system: &mut String) {
    let recent: Vec<&str> = prompt.recent.iter().map(String::as_str).collect();
    let tokens = |text: &str| {
        model
            .tokenizer()
            .encode(text)
            .map_or(usize::MAX, |t| t.len())
    };
    let picked = prompt.lorebook.pick(&recent, tokens);
    if !picked.is_empty() {
        system.push_str("\n\nWhat you know that matters now:");
        for entry in picked {
            system.push_str("\n- ");
            system.push_str(entry.content.trim());
        }
    }
}

/// The system prompt and as many of the latest turns as leave room for the reply; the oldest turns
/// go first (found by bisection: the prompt only shrinks as turns are dropped). The newest user message
/// alone must fit.
fn fit_context(
    model: &Model,
    turns: &[ChatMessage],
    reply_tokens: usize,
) -> Result<Vec<ChatMessage>> {
    let context = model.decoder().max_positions();
    let budget = context.saturating_sub(reply_tokens);
    let (system, chat) = turns.split_at(1);
    let keep_from = |first: usize| -> Vec<ChatMessage> {
        system.iter().chain(&chat[first..]).cloned().collect()
    };
    let tokens = |first: usize| -> Result<usize> {
        let prompt = model.template().render(&keep_from(first), true, false)?;
        Ok(model.tokenizer().encode(&prompt)?.len())
    };
    if tokens(0)? <= budget {
        return Ok(keep_from(0));
    }
    let Some(last) = chat.len().checked_sub(1) else {
        return Err(kotodama_engine::Error::ContextOverflow {
            prompt_tokens: tokens(0)? + reply_tokens,
            context_length: context,
        }
        .into());
    };
    let newest_alone = tokens(last)?;
    if newest_alone > budget {
        return Err(kotodama_engine::Error::ContextOverflow {
            prompt_tokens: newest_alone + reply_tokens,
            context_length: context,
        }
        .into());
    }
    // Invariant: tokens(lo) > budget >= tokens(hi).
    let (mut lo, mut hi) = (0, last);
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if tokens(mid)? <= budget {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(keep_from(hi))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::path::Path;

    use kotodama_engine::StopReason;

    use super::*;
    use crate::Home;

    fn open() -> (tempfile::TempDir, Kotodama) {
        let dir = tempfile::tempdir().unwrap();
        let app = Kotodama::open(Home::at(dir.path())).unwrap();
        (dir, app)
    }

    #[test]
    fn chats_take_the_newest_adapter_that_beat_the_base_model_or_the_one_chosen() {
        let (_dir, mut app) = open();
        let tsubaki = app.find_persona("tsubaki").unwrap().id;
        let verdict = |beats: bool| {
            serde_json::json!({"verdict": {
                "baseValidStyle": 0.4, "adapterValidStyle": if beats { 0.5 } else { 0.3 },
                "difference": {"mean": if beats { 0.1 } else { -0.1 }, "low": -0.2, "high": 0.2},
                "beatsBase": beats
            }})
        };
        let add = |app: &mut Kotodama, variant: &str, report: Option<serde_json::Value>| {
            app.store
                .insert_adapter(&kotodama_store::NewAdapter {
                    persona_id: tsubaki,
                    model_id: None,
                    path: format!("/adapters/{variant}"),
                    variant: variant.into(),
                    rank: 8,
                    alpha: 16.0,
                    report,
                })
                .unwrap()
        };
        let legacy = add(&mut app, "cot", Some(serde_json::json!({"losses": []})));
        assert!(
            app.chat_adapter(tsubaki).unwrap().is_none(),
            "no verdict: not used"
        );
        let good = add(&mut app, "step-by-step", Some(verdict(true)));
        let worse = add(&mut app, "vanilla", Some(verdict(false)));
        let chosen = app.chat_adapter(tsubaki).unwrap().unwrap();
        assert_eq!(chosen.id, good, "the newer adapter lost to the base model");
        assert_eq!(chosen.prefix, crate::distill::EMPTY_REASONING);
        assert!(chosen.system_prompt.starts_with("You are ") && chosen.system_prompt.len() < 400);

        app.set_chat_adapter(tsubaki, AdapterChoice::Adapter(worse))
            .unwrap();
        let chosen = app.chat_adapter(tsubaki).unwrap().unwrap();
        assert_eq!(
            (chosen.id, chosen.prefix),
            (worse, ""),
            "the user's choice stands"
        );
        app.set_chat_adapter(tsubaki, AdapterChoice::Adapter(legacy))
            .unwrap();
        assert_eq!(
            app.chat_adapter(tsubaki).unwrap().unwrap().prefix,
            crate::distill::EMPTY_REASONING
        );
    }

    /// The real SmolLM2 GGUF (`make models`), installed into `app`'s models folder; None when unset.
    fn replier_with_smollm2(app: &Kotodama) -> Option<Replier> {
        let Some(gguf) = std::env::var_os("KOTODAMA_SMOLLM2_GGUF") else {
            eprintln!("skipped: KOTODAMA_SMOLLM2_GGUF is not set (run `make models`)");
            return None;
        };
        let models = app.home().models_dir();
        ModelManager::new(&models)
            .add_file("smollm2", Path::new(&gguf))
            .unwrap();
        let mut replier = Replier::new(models, LoadOptions::default());
        replier.set_sampling(SamplingParams::greedy(24));
        Some(replier)
    }

    fn first_chat(app: &mut Kotodama) -> i64 {
        let pid = app.personas().unwrap()[0].id;
        app.new_chat(pid).unwrap().chat.id
    }

    #[test]
    fn empty_and_oversized_messages_are_refused_and_store_nothing() {
        let (_dir, mut app) = open();
        let chat = first_chat(&mut app);
        for bad in ["   ".to_string(), "x".repeat(MAX_MESSAGE_CHARS + 1)] {
            let err = app.begin_reply(chat, &bad).unwrap_err();
            assert_eq!(err.code(), "INVALID_INPUT");
        }
        assert_eq!(app.chat(chat).unwrap().messages.len(), 1);
        assert_eq!(app.begin_reply(9999, "hi").unwrap_err().code(), "NOT_FOUND");
    }

    #[test]
    fn script_replies_do_not_repeat_within_a_chat() {
        let (_dir, mut app) = open();
        let chat = first_chat(&mut app);
        let mut replies = HashSet::new();
        for _ in 0..5 {
            let added = app.send_message(chat, "What should we do today?").unwrap();
            assert_eq!(added[1].message.source, MessageSource::Script);
            assert!(
                replies.insert(added[1].message.content.clone()),
                "repeated a line"
            );
        }
    }

    #[test]
    fn with_no_model_installed_the_script_line_comes_as_one_piece() {
        let (dir, mut app) = open();
        let chat = first_chat(&mut app);
        let mut replier = Replier::new(dir.path().join("no-models"), LoadOptions::default());
        assert_eq!(replier.status().model, None);
        let pending = app.begin_reply(chat, "Hello there").unwrap();
        let mut pieces = Vec::new();
        let reply = replier
            .reply(
                &pending,
                |p| pieces.push(p.to_string()),
                &CancelToken::new(),
            )
            .unwrap();
        assert_eq!(pieces, vec![reply.text.clone()]);
        let stored = app.finish_reply(&pending, reply).unwrap().unwrap();
        assert_eq!(stored.message.source, MessageSource::Script);
        assert_eq!(stored.message.model_id, None);
        // The persona's own line scores in character on its style meter.
        let style = &stored.message.style;
        let overall = style.overall.expect("scored");
        assert!((0.0..=1.0).contains(&overall) && overall > 0.3, "{overall}");
        assert!(style.lexical.is_some() && style.ooc_flags.is_some());
    }

    #[test]
    fn a_reply_stopped_before_its_first_word_is_written_by_regenerate() {
        let (_dir, mut app) = open();
        let chat = first_chat(&mut app);
        let pending = app.begin_reply(chat, "Hello?").unwrap();
        let empty = Reply::unjudged(String::new());
        assert!(app.finish_reply(&pending, empty).unwrap().is_none());
        let pending = app.begin_regenerate(chat).unwrap();
        assert_eq!(pending.turns.last().unwrap().content, "Hello?");
        let reply = scripted_reply(&pending).unwrap();
        let stored = app.finish_reply(&pending, reply).unwrap().unwrap();
        assert_eq!(
            (stored.seq, stored.alt_count),
            (2, 1),
            "appended, not a swipe"
        );
        assert_eq!(app.chat(chat).unwrap().messages.len(), 3);
    }

    fn without_a_model(dir: &tempfile::TempDir) -> Replier {
        Replier::new(dir.path().join("no-models"), LoadOptions::default())
    }

    const ASSISTANT_SPEAK: &str = "As an AI language model, I cannot have feelings.";

    #[test]
    fn a_canned_assistant_speak_reply_is_caught_and_replaced_and_kept_as_a_swipe() {
        let (dir, mut app) = open();
        let chat = first_chat(&mut app);
        let mut replier = without_a_model(&dir);
        replier.queue_canned_reply(ASSISTANT_SPEAK);
        let pending = app.begin_reply(chat, "How are you today?").unwrap();
        let mut pieces = String::new();
        let mut retries = Vec::new();
        let reply = replier
            .reply_guarded(
                &pending,
                |e| match e {
                    ReplyEvent::Piece(p) => pieces.push_str(p),
                    ReplyEvent::Retry { attempt, of, cause } => {
                        retries.push((attempt, of, cause.to_string()));
                        pieces.clear();
                    }
                },
                &CancelToken::new(),
            )
            .unwrap();
        assert_eq!(retries.len(), 1, "{retries:?}");
        let (attempt, of, cause) = &retries[0];
        assert_eq!((*attempt, *of), (2, 2), "two attempts by default");
        assert!(cause.starts_with("assistant speak"), "{cause}");
        // With no model installed the second attempt is a line of the script, streamed after the reset.
        assert_eq!(reply.source, MessageSource::Script);
        assert_eq!(pieces, reply.text);
        let report = reply.guard.clone().unwrap();
        assert_eq!((report.attempts, report.kept), (2, 2));

        let stored = app.finish_reply(&pending, reply).unwrap().unwrap();
        assert_ne!(stored.message.content, ASSISTANT_SPEAK);
        assert_eq!((stored.alt_index, stored.alt_count), (0, 2));
        let guard = stored.message.style.guard.clone().unwrap();
        assert_eq!(guard["kept"], 2);
        assert!(
            guard["caught"][0].as_str().unwrap().contains("As an AI"),
            "{guard}"
        );
        // The caught attempt stays browsable as the other swipe, with its flag.
        let alternatives = app.store.alternatives(stored.id).unwrap();
        let caught = alternatives.iter().find(|m| m.id != stored.id).unwrap();
        assert_eq!(caught.message.content, ASSISTANT_SPEAK);
        let flags = caught.message.style.ooc_flags.clone().unwrap();
        assert_eq!(flags[0]["kind"], "assistant_speak", "{flags}");
        assert_eq!(
            app.chat(chat).unwrap().messages.last().unwrap().id,
            stored.id
        );
    }

    #[test]
    fn with_the_guard_off_a_caught_reply_is_kept_and_flagged() {
        let (dir, mut app) = open();
        let chat = first_chat(&mut app);
        let persona = app.store.chat(chat).unwrap().persona_id;
        let mut settings = app.chat_settings(persona).unwrap();
        settings.guard.action = GuardAction::Off;
        app.set_chat_settings(persona, &settings).unwrap();
        let mut replier = without_a_model(&dir);
        replier.queue_canned_reply(ASSISTANT_SPEAK);
        let pending = app.begin_reply(chat, "How are you?").unwrap();
        let mut retried = false;
        let reply = replier
            .reply_guarded(
                &pending,
                |e| retried |= matches!(e, ReplyEvent::Retry { .. }),
                &CancelToken::new(),
            )
            .unwrap();
        assert!(!retried);
        assert!(reply.guard.is_none());
        let stored = app.finish_reply(&pending, reply).unwrap().unwrap();
        assert_eq!(stored.message.content, ASSISTANT_SPEAK);
        assert_eq!(stored.alt_count, 1);
        assert_eq!(
            stored.message.style.ooc_flags.unwrap()[0]["kind"],
            "assistant_speak"
        );
    }

    #[test]
    fn a_caught_reply_is_rewritten_in_character_by_the_model_when_the_guard_says_rewrite() {
        let (_dir, mut app) = open();
        let Some(mut replier) = replier_with_smollm2(&app) else {
            return;
        };
        let chat = first_chat(&mut app);
        let persona = app.store.chat(chat).unwrap().persona_id;
        let mut settings = app.chat_settings(persona).unwrap();
        settings.guard.action = GuardAction::Rewrite;
        app.set_chat_settings(persona, &settings).unwrap();
        replier.queue_canned_reply(ASSISTANT_SPEAK);
        let pending = app.begin_reply(chat, "How are you today?").unwrap();
        let mut second = String::new();
        let mut retried = false;
        let reply = replier
            .reply_guarded(
                &pending,
                |e| match e {
                    ReplyEvent::Retry { .. } => retried = true,
                    ReplyEvent::Piece(p) if retried => second.push_str(p),
                    ReplyEvent::Piece(_) => {}
                },
                &CancelToken::new(),
            )
            .unwrap();
        assert!(retried && !second.trim().is_empty(), "the model rewrote it");
        let report = reply.guard.clone().unwrap();
        assert_eq!((report.action, report.attempts), (GuardAction::Rewrite, 2));
        assert!(report.caught[0].starts_with("assistant speak"));
        // Whichever attempt scored better is kept; the other is its swipe.
        let stored = app.finish_reply(&pending, reply).unwrap().unwrap();
        assert_eq!(stored.alt_count, 2);
        let texts: Vec<String> = app
            .store
            .alternatives(stored.id)
            .unwrap()
            .into_iter()
            .map(|m| m.message.content)
            .collect();
        assert!(texts.contains(&ASSISTANT_SPEAK.to_string()));
        assert!(texts.contains(&second.trim().to_string()), "{texts:?}");
    }

    #[test]
    fn a_signature_term_said_again_right_after_the_last_reply_is_caught() {
        let (_dir, mut app) = open();
        let persona = app.personas().unwrap()[0].id;
        let profile = app.style_profile(persona).unwrap();
        let rare = profile
            .lexical
            .iter()
            .find(|s| s.n == 1 && f64::from(s.count) / (profile.line_count as f64) < 0.1)
            .expect("a signature word in under a tenth of the lines")
            .term
            .clone();
        let reply = format!("Oh, {rare}, again.");
        let after_it = app
            .reply_judge(persona, vec![format!("Well, {rare}.")])
            .unwrap()
            .judge(&reply)
            .unwrap();
        let cause = after_it.caught.expect("caught");
        assert!(cause.starts_with("catchphrase overuse"), "{cause}");
        assert!(cause.contains(&format!("\"{rare}\"")), "{cause}");
        let flags = after_it.style.ooc_flags.unwrap();
        assert!(flags
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "catchphrase_overuse"));
        // The same reply after a reply without the term is not over-use.
        let fresh = app
            .reply_judge(persona, vec!["Good morning.".into()])
            .unwrap()
            .judge(&reply)
            .unwrap();
        assert!(fresh.caught.is_none_or(|c| !c.contains("catchphrase")));
    }

    #[test]
    fn lorebook_entries_whose_keys_the_chat_mentions_join_the_system_prompt() {
        let (_dir, mut app) = open();
        let Some(mut replier) = replier_with_smollm2(&app) else {
            return;
        };
        let card = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pillow_card.png");
        let (persona, _) = app
            .import_file(&card, &crate::ScriptImport::default())
            .unwrap();
        let chat = app.new_chat(persona).unwrap().chat.id;
        let pending = app
            .begin_reply(chat, "Where do you keep the bokken?")
            .unwrap();
        assert!(replier.warm_up().unwrap());
        let model = &replier.loaded.as_ref().unwrap().model;
        let mut system = pending.turns[0].content.clone();
        add_lore(model, &pending.prompt(), &mut system);
        assert!(
            system.ends_with("- The dojo's bokken are oak, older than the students."),
            "{system}"
        );
        assert!(
            !system.contains("hour of the ox"),
            "the lantern entry was not called"
        );
    }

    #[test]
    fn the_style_meter_explains_a_reply_by_the_signatures_rules_and_traits_it_shows() {
        let (_dir, mut app) = open();
        let mikoto = app.find_persona("mikoto").unwrap().id;
        let chat = app.new_chat(mikoto).unwrap().chat.id;
        let pending = app.begin_reply(chat, "Who are you?").unwrap();
        let stored = app
            .finish_reply(
                &pending,
                Reply::unjudged("Mayhap thou art weary, traveller?".into()),
            )
            .unwrap()
            .unwrap();
        let plan = app
            .explain_style(stored.id)
            .unwrap()
            .expect("mikoto has a profile");
        assert!(plan.signatures.iter().any(|s| s == "mayhap"), "{plan:?}");
        assert!(
            plan.traits.iter().any(|t| t.name == "archaic_rate"),
            "{plan:?}"
        );
        assert!(plan.rules.iter().any(|r| r.gloss.is_some()), "{plan:?}");
        assert_eq!(app.explain_style(9999).unwrap_err().code(), "NOT_FOUND");
    }

    #[test]
    fn an_assistant_speak_reply_is_flagged_on_the_style_meter() {
        let (_dir, mut app) = open();
        let chat = first_chat(&mut app);
        let pending = app.begin_reply(chat, "Who are you?").unwrap();
        let canned =
            Reply::unjudged("As an AI language model, I don't have personal feelings.".into());
        let stored = app.finish_reply(&pending, canned).unwrap().unwrap();
        let flags = stored.message.style.ooc_flags.clone().unwrap();
        assert!(
            flags
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["kind"] == "assistant_speak"),
            "{flags}"
        );
    }

    #[test]
    fn the_installed_model_streams_a_reply_that_is_stored_and_its_cache_reused() {
        let (_dir, mut app) = open();
        let Some(mut replier) = replier_with_smollm2(&app) else {
            return;
        };
        assert_eq!(replier.status().model.as_deref(), Some("smollm2"));
        let chat = first_chat(&mut app);
        let pending = app.begin_reply(chat, "Hello! Who are you?").unwrap();
        let mut pieces = Vec::new();
        let reply = replier
            .reply(
                &pending,
                |p| pieces.push(p.to_string()),
                &CancelToken::new(),
            )
            .unwrap();
        assert!(pieces.len() > 3, "streamed in pieces: {pieces:?}");
        assert_eq!(pieces.concat(), reply.text);
        let stats = reply.stats.clone().unwrap();
        assert_eq!(stats.reused_tokens, 0);
        let device = replier.status().device.expect("loaded");
        assert!(device.threads >= 1);

        let stored = app.finish_reply(&pending, reply).unwrap().unwrap();
        assert_eq!(stored.message.source, MessageSource::Model);
        assert!(stored.message.model_id.is_some());
        assert_eq!(stored.message.content, pieces.concat().trim());
        let view = app.chat(chat).unwrap();
        assert_eq!(view.messages.len(), 3, "greeting, user, reply");

        // The next turn prefills only what is new.
        let pending = app.begin_reply(chat, "Tell me more.").unwrap();
        let second = replier
            .reply(&pending, |_| {}, &CancelToken::new())
            .unwrap()
            .stats
            .unwrap();
        assert!(
            second.reused_tokens >= stats.prompt_tokens,
            "reused {} of {}",
            second.reused_tokens,
            second.prompt_tokens
        );
    }

    #[test]
    fn an_opened_chat_prefilled_ahead_leaves_the_first_reply_only_the_new_message() {
        let (_dir, mut app) = open();
        let Some(mut replier) = replier_with_smollm2(&app) else {
            return;
        };
        let chat = first_chat(&mut app);
        let context = app.chat_context(chat).unwrap();
        let cached = replier.prefill(&context, &CancelToken::new()).unwrap();
        assert!(cached > 50, "system prompt and greeting: {cached} tokens");
        let pending = app.begin_reply(chat, "Hello! Who are you?").unwrap();
        let stats = replier
            .reply(&pending, |_| {}, &CancelToken::new())
            .unwrap()
            .stats
            .unwrap();
        assert_eq!(stats.reused_tokens, cached);
        assert!(stats.prompt_tokens - stats.reused_tokens < 30, "{stats:?}");
    }

    #[test]
    fn after_an_edit_a_regenerated_reply_prefills_from_the_change_and_matches_a_fresh_cache() {
        let (_dir, mut app) = open();
        let Some(mut replier) = replier_with_smollm2(&app) else {
            return;
        };
        let chat = first_chat(&mut app);
        let pending = app.begin_reply(chat, "Hello! Who are you?").unwrap();
        let reply = replier
            .reply(&pending, |_| {}, &CancelToken::new())
            .unwrap();
        let first = app.finish_reply(&pending, reply).unwrap().unwrap();
        app.edit_message(pending.user_message.id, "What is your favourite food?")
            .unwrap();

        let pending = app.begin_regenerate(chat).unwrap();
        assert_eq!(
            pending.turns.last().unwrap().content,
            "What is your favourite food?"
        );
        let regenerated = replier
            .reply(&pending, |_| {}, &CancelToken::new())
            .unwrap();
        let stats = regenerated.stats.clone().unwrap();
        // The cache serves exactly the tokens the old and the new prompt share: up to the edited text.
        let model = &replier.loaded.as_ref().unwrap().model;
        let ids = |turns: &[ChatMessage]| {
            let prompt = model.template().render(turns, true, false).unwrap();
            model.tokenizer().encode(&prompt).unwrap()
        };
        let mut before_edit = pending.turns.clone();
        before_edit.last_mut().unwrap().content = "Hello! Who are you?".into();
        let (old, new) = (ids(&before_edit), ids(&pending.turns));
        let shared = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
        assert!(shared > 0 && shared < old.len());
        assert_eq!(stats.reused_tokens, shared);
        // Greedy decoding from a cold cache writes the same reply: nothing stale was read.
        let mut cold = replier_with_smollm2(&app).unwrap();
        let fresh = cold.reply(&pending, |_| {}, &CancelToken::new()).unwrap();
        assert_eq!(fresh.stats.unwrap().reused_tokens, 0);
        assert_eq!(regenerated.text, fresh.text);

        let stored = app.finish_reply(&pending, regenerated).unwrap().unwrap();
        assert_eq!(
            (stored.seq, stored.alt_index, stored.alt_count),
            (first.seq, 1, 2)
        );
        assert!(stored.message.style.overall.is_some());
    }

    #[test]
    fn a_stopped_reply_keeps_what_was_written() {
        let (_dir, mut app) = open();
        let Some(mut replier) = replier_with_smollm2(&app) else {
            return;
        };
        let chat = first_chat(&mut app);
        let pending = app.begin_reply(chat, "Describe your day.").unwrap();
        let cancel = CancelToken::new();
        let mut pieces = 0;
        let reply = replier
            .reply(
                &pending,
                |_| {
                    pieces += 1;
                    if pieces == 3 {
                        cancel.cancel();
                    }
                },
                &cancel,
            )
            .unwrap();
        let stats = reply.stats.clone().unwrap();
        assert_eq!(stats.stop_reason, StopReason::Cancelled);
        assert!(stats.generated_tokens < 24);
        let stored = app.finish_reply(&pending, reply).unwrap().unwrap();
        assert!(!stored.message.content.is_empty());
    }

    #[test]
    fn old_turns_are_dropped_to_fit_the_context_and_an_oversized_message_is_refused() {
        let (_dir, app) = open();
        let Some(mut replier) = replier_with_smollm2(&app) else {
            return;
        };
        assert!(replier.warm_up().unwrap());
        let model = &replier.loaded.as_ref().unwrap().model;
        let context = model.decoder().max_positions();
        // Each turn is about context/4 tokens: the prompt cannot hold all ten.
        let long = "the river keeps flowing ".repeat(context / 16);
        let mut turns = vec![ChatMessage::new("system", "You are Aki.")];
        for i in 0..10 {
            let role = if i % 2 == 0 { "user" } else { "assistant" };
            turns.push(ChatMessage::new(role, format!("{i}: {long}")));
        }
        let kept = fit_context(model, &turns, 200).unwrap();
        assert_eq!(kept[0].content, "You are Aki.", "the system prompt stays");
        assert_eq!(kept.last().unwrap().content, turns[10].content);
        assert!(
            kept.len() < turns.len() && kept.len() >= 3,
            "{}",
            kept.len()
        );
        let prompt = model.template().render(&kept, true, false).unwrap();
        assert!(model.tokenizer().encode(&prompt).unwrap().len() <= context - 200);

        let huge = vec![
            ChatMessage::new("system", "You are Aki."),
            ChatMessage::new("user", "word ".repeat(context + 10)),
        ];
        let err = fit_context(model, &huge, 200).unwrap_err();
        assert_eq!(err.code(), "CONTEXT_FULL");
    }
}
