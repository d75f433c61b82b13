//! The chat model: loaded on first use and kept with the KV cache of the chat it answered last (its
//! next turn prefills only the new messages), the prompt fitted to its context with the lorebook's
//! entries, and each reply written under the out-of-character guard.

use std::ops::ControlFlow;
use std::path::PathBuf;

use kotodama_engine::{
    CancelToken, ChatMessage, ChatSession, DeviceInfo, KvCache, LoadOptions, Model, SamplingParams,
};
use kotodama_store::{ChatSettings, GuardAction, MessageSource, NewModel, StyleScoreColumns};
use serde::Serialize;

use super::guard::{GuardReport, Verdict};
use super::turn::{scripted_reply, ChatContext, PendingReply, PromptParts, Reply, ReplyEvent};
use crate::models::{ModelKind, ModelManager, ModelsError};
use crate::Result;

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

    /// The loaded model, for tests that look at its prompt and cache.
    #[cfg(test)]
    pub(super) fn loaded_model(&self) -> Option<&Model> {
        self.loaded.as_ref().map(|l| &l.model)
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
        let judge = &pending.draft.judge;
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
        let params = self.params(&pending.draft.settings);
        let (turns, prefix, cache) = self.session_for(&pending.prompt(), params.max_tokens)?;
        let turns = match attempt {
            Attempt::Reply => turns,
            // The distillation's rewrite task: the instruction it was trained with, the caught text.
            Attempt::Rewrite(caught) => vec![
                ChatMessage::new(
                    "system",
                    crate::prompt::rewrite_instruction(&pending.draft.persona_name),
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
pub(super) fn add_lore(model: &Model, prompt: &PromptParts<'_>, system: &mut String) {
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
pub(super) fn fit_context(
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
