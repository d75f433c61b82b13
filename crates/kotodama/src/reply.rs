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
    AdapterChoice, Message, MessageSource, NewMessage, NewModel, Role, StyleScoreColumns,
};
use serde::Serialize;

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
}

/// Where a finished reply goes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ReplyTarget {
    /// After the last message.
    Append,
    /// A new alternative of message `of`'s position, chosen.
    Alternative { of: i64 },
}

/// A reply's prompt and fallbacks, before the user's message is stored.
struct ReplyDraft {
    turns: Vec<ChatMessage>,
    scripted: Option<String>,
    adapter: Option<ReplyAdapter>,
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
    /// Trained on style plans: at chat time it gets an empty reasoning block (implicit style
    /// conditioning, no reasoning tokens).
    cot: bool,
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
}

impl Kotodama {
    /// Stores the user's message and gathers what the reply needs.
    pub fn begin_reply(&mut self, chat_id: i64, text: &str) -> Result<PendingReply> {
        let text = checked_text(text)?;
        let history = self.store.messages(chat_id)?;
        let said = history.iter().map(|m| m.message.content.as_str()).collect();
        let draft = self.draft_reply(chat_id, &history, text, &said)?;
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
            .map(|m| m.message.content.as_str())
            .collect();
        let user_message = history[user_at].clone();
        let draft = self.draft_reply(
            chat_id,
            &history[..user_at],
            &user_message.message.content,
            &said,
        )?;
        Ok(draft.pending(chat_id, user_message, target))
    }

    /// What a reply to `user_text` after `earlier` needs: the prompt, the script line that answers
    /// best (avoiding `said`), the persona's adapter.
    fn draft_reply(
        &self,
        chat_id: i64,
        earlier: &[Message],
        user_text: &str,
        said: &HashSet<&str>,
    ) -> Result<ReplyDraft> {
        let chat = self.store.chat(chat_id)?;
        let persona = self.store.persona(chat.persona_id)?;
        let lines = self.store.script_lines(chat.persona_id)?;
        let scripted = pick_scripted_reply(&lines, user_text, said).map(|l| l.line.text.clone());
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
        turns.push(ChatMessage::new("user", user_text));
        Ok(ReplyDraft {
            turns,
            scripted,
            adapter: self.chat_adapter(chat.persona_id)?,
        })
    }

    /// The adapter the persona's chats use (see `AdapterChoice`); whether it fits the loaded model is
    /// checked when the reply runs.
    fn chat_adapter(&self, persona_id: i64) -> Result<Option<ReplyAdapter>> {
        let adapters = self.store.adapters(persona_id)?;
        let chosen = match self.store.chat_adapter(persona_id)? {
            AdapterChoice::None => None,
            AdapterChoice::Newest => adapters.into_iter().next(),
            AdapterChoice::Adapter(id) => adapters.into_iter().find(|a| a.id == id),
        };
        let Some(a) = chosen else {
            return Ok(None);
        };
        let base = match a.adapter.model_id {
            Some(id) => self
                .store
                .models()?
                .into_iter()
                .find(|m| m.id == id)
                .map(|m| m.model.path),
            None => None,
        };
        Ok(Some(ReplyAdapter {
            id: a.id,
            dir: PathBuf::from(a.adapter.path),
            base,
            cot: a.adapter.variant == "cot",
        }))
    }

    /// Stores the reply; an empty one (stopped before its first word) stores nothing.
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
        let message = NewMessage {
            model_id,
            adapter_id: reply.adapter_id,
            style: self.style_meter(pending.chat_id, text)?,
            ..plain_message(Role::Assistant, reply.source, text.to_string())
        };
        let stored = match pending.target {
            ReplyTarget::Append => self
                .store
                .append_messages(pending.chat_id, &[message])?
                .pop(),
            ReplyTarget::Alternative { of } => {
                Some(self.store.add_alternative(of, &message, true)?)
            }
        };
        Ok(stored)
    }

    /// The reply's style score against the persona's profile (the chat's style meter); empty columns
    /// for a persona without a profile.
    pub(crate) fn style_meter(&self, chat_id: i64, text: &str) -> Result<StyleScoreColumns> {
        let persona_id = self.store.chat(chat_id)?.persona_id;
        if self.store.latest_profile(persona_id)?.is_none() {
            return Ok(StyleScoreColumns::default());
        }
        let profile = self.style_profile(persona_id)?;
        let score = kotodama_style::score(text, &profile, crate::analysis::style_resources()?);
        Ok(StyleScoreColumns {
            overall: Some(score.overall),
            lexical: Some(score.lexical),
            syntactic: Some(score.syntactic),
            pragmatic: Some(score.pragmatic),
            ooc_flags: Some(
                serde_json::to_value(&score.ooc_flags)
                    .map_err(|e| Error::InvalidInput(format!("style flags: {e}")))?,
            ),
        })
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
        text,
        source: MessageSource::Script,
        model: None,
        adapter_id: None,
        stats: None,
    })
}

/// What the app shows about the model that answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplierStatus {
    /// The installed chat model's id; None means replies come from the persona's script.
    pub model: Option<String>,
    /// Where it runs, once loaded.
    pub device: Option<DeviceInfo>,
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
    params: SamplingParams,
    loaded: Option<LoadedModel>,
}

/// Sampling for role-play: some variety, penalties against the loops small models fall into.
fn chat_sampling() -> SamplingParams {
    SamplingParams {
        temperature: 0.8,
        top_p: 0.95,
        min_p: 0.05,
        repetition_penalty: 1.15,
        penalty_last_n: 128,
        max_tokens: 200,
        ..SamplingParams::default()
    }
}

impl Replier {
    pub fn new(models_dir: PathBuf, load: LoadOptions) -> Self {
        Self {
            models: ModelManager::new(models_dir),
            load,
            params: chat_sampling(),
            loaded: None,
        }
    }

    /// Replaces the sampling settings (tests use greedy decoding).
    pub fn set_sampling(&mut self, params: SamplingParams) {
        self.params = params;
    }

    pub fn status(&self) -> ReplierStatus {
        match &self.loaded {
            Some(l) => ReplierStatus {
                model: Some(l.id.clone()),
                device: Some(l.model.info().device.clone()),
            },
            None => ReplierStatus {
                model: self.models.default_of(ModelKind::Chat).ok().map(|m| m.id),
                device: None,
            },
        }
    }

    /// Loads the installed chat model if not loaded yet; Ok(false) when none is installed.
    pub fn warm_up(&mut self) -> Result<bool> {
        if self.loaded.is_some() {
            return Ok(true);
        }
        let installed = match self.models.default_of(ModelKind::Chat) {
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

    /// Streams the reply to `pending` through `on_piece`; with no chat model installed, the script's
    /// line comes as one piece. A stopped generation returns what was written so far.
    pub fn reply(
        &mut self,
        pending: &PendingReply,
        mut on_piece: impl FnMut(&str),
        cancel: &CancelToken,
    ) -> Result<Reply> {
        if !self.warm_up()? {
            let reply = scripted_reply(pending)?;
            on_piece(&reply.text);
            return Ok(reply);
        }
        let params = self.params.clone();
        let loaded = self.loaded.as_mut().expect("warm_up loaded the model");
        // The persona's adapter, if it was trained on this model; switching drops the KV cache.
        let adapter = pending
            .adapter
            .as_ref()
            .filter(|a| a.base.as_deref() == Some(loaded.record.path.as_str()));
        if loaded.adapter != adapter.map(|a| a.id) {
            loaded.cache = None;
            loaded.adapter = None;
            loaded.model.set_adapter(adapter.map(|a| a.dir.as_path()))?;
            loaded.adapter = adapter.map(|a| a.id);
        }
        let prefix = if adapter.is_some_and(|a| a.cot) {
            crate::distill::EMPTY_REASONING
        } else {
            ""
        };
        // The chat id only picks the cache to try: ChatSession keeps just the token prefix the cache
        // shares with the new prompt, so an edited or swiped history re-prefills from its first changed
        // token and never reads stale positions.
        let cache = match loaded.cache.take() {
            Some((chat, cache)) if chat == pending.chat_id => cache,
            _ => loaded.model.decoder().new_cache(),
        };
        let turns = fit_context(&loaded.model, &pending.turns, params.max_tokens)?;
        let mut session = ChatSession::resume(&loaded.model, cache);
        let mut text = String::new();
        let stats = session.generate_after(
            &turns,
            prefix,
            &params,
            |piece| {
                text.push_str(piece);
                on_piece(piece);
                ControlFlow::Continue(())
            },
            cancel,
        )?;
        loaded.cache = Some((pending.chat_id, session.into_cache()));
        Ok(Reply {
            text,
            source: MessageSource::Model,
            model: Some(loaded.record.clone()),
            adapter_id: loaded.adapter,
            stats: Some(stats),
        })
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
    let last = chat.len() - 1;
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
        let empty = Reply {
            text: String::new(),
            source: MessageSource::Model,
            model: None,
            adapter_id: None,
            stats: None,
        };
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

    #[test]
    fn an_assistant_speak_reply_is_flagged_on_the_style_meter() {
        let (_dir, mut app) = open();
        let chat = first_chat(&mut app);
        let pending = app.begin_reply(chat, "Who are you?").unwrap();
        let canned = Reply {
            text: "As an AI language model, I don't have personal feelings.".into(),
            source: MessageSource::Model,
            model: None,
            adapter_id: None,
            stats: None,
        };
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
