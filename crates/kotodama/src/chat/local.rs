//! The local engine as a chat backend: the installed chat model, loaded on first use and kept with
//! the persona's adapter and the KV cache of the chat it answered last (its next turn prefills only
//! the new messages); the prompt gets the lorebook's entries and is fitted to the model's context.

use std::ops::ControlFlow;
use std::path::PathBuf;

use kotodama_engine::{CancelToken, ChatMessage, ChatSession, KvCache, LoadOptions, Model};
use kotodama_store::NewModel;

use super::backend::{ChatBackend, Request, Written};
use super::replier::{CachedChat, ReplierStatus};
use super::turn::PromptParts;
use super::window::window_start;
use crate::models::{InstalledModel, ModelKind, ModelManager, ModelsError};
use crate::Result;

pub(super) struct LocalEngine {
    models: ModelManager,
    load: LoadOptions,
    /// The installed chat model the user chose; None (or one no longer installed): the default.
    preferred: Option<String>,
    loaded: Option<LoadedModel>,
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

impl LocalEngine {
    pub(super) fn new(models_dir: PathBuf, load: LoadOptions) -> Self {
        Self {
            models: ModelManager::new(models_dir),
            load,
            preferred: None,
            loaded: None,
        }
    }

    /// The chat model replies use: the preferred one if installed, else the default.
    fn chat_model(&self) -> std::result::Result<InstalledModel, ModelsError> {
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
        add_lore(token_counter(&loaded.model), prompt, &mut turns[0].content);
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
}

impl ChatBackend for LocalEngine {
    fn status(&self) -> ReplierStatus {
        match &self.loaded {
            Some(l) => ReplierStatus {
                model: Some(l.id.clone()),
                server: None,
                device: Some(l.model.info().device.clone()),
                cached: l.cache.as_ref().map(|(chat_id, cache)| CachedChat {
                    chat_id: *chat_id,
                    tokens: cache.len(),
                }),
            },
            None => ReplierStatus {
                model: self.chat_model().ok().map(|m| m.id),
                server: None,
                device: None,
                cached: None,
            },
        }
    }

    fn prefer_model(&mut self, id: Option<String>) {
        self.preferred = id;
        let wanted = self.chat_model().ok().map(|m| m.id);
        if self.loaded.as_ref().map(|l| &l.id) != wanted.as_ref() {
            self.loaded = None;
        }
    }

    fn warm_up(&mut self) -> Result<bool> {
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

    fn prefill(&mut self, prompt: &PromptParts<'_>, cancel: &CancelToken) -> Result<usize> {
        if !self.warm_up()? {
            return Ok(0);
        }
        let (turns, _, cache) = self.session_for(prompt, prompt.reply_tokens)?;
        let loaded = self.loaded.as_mut().expect("session_for loaded the model");
        let mut session = ChatSession::resume(&loaded.model, cache);
        let cached = session.prefill(&turns, cancel);
        loaded.cache = Some((prompt.chat_id, session.into_cache()));
        Ok(cached?)
    }

    fn write(
        &mut self,
        request: &Request<'_>,
        on_piece: &mut dyn FnMut(&str),
        cancel: &CancelToken,
    ) -> Result<Written> {
        let params = &request.params;
        let (turns, prefix, cache) = self.session_for(&request.prompt, params.max_tokens)?;
        let turns = match &request.rewrite {
            None => turns,
            Some(rewrite) => vec![
                ChatMessage::new("system", rewrite.instruction.clone()),
                ChatMessage::new("user", rewrite.text),
            ],
        };
        let loaded = self.loaded.as_mut().expect("session_for loaded the model");
        // A rewrite's prompt shares nothing with the chat: it runs in a cache of its own, and the
        // chat's stays for its next turn.
        let (cache, chat_cache) = match request.rewrite {
            None => (cache, None),
            Some(_) => (loaded.model.decoder().new_cache(), Some(cache)),
        };
        let mut session = ChatSession::resume(&loaded.model, cache);
        let mut text = String::new();
        let mut filter = crate::reasoning_filter::ReasoningFilter::default();
        let stats = session.generate_after(
            &turns,
            prefix,
            params,
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
        loaded.cache = Some((request.prompt.chat_id, chat_cache.unwrap_or(used)));
        Ok(Written {
            text,
            model: Some(loaded.record.clone()),
            adapter_id: loaded.adapter,
            stats: Some(stats),
        })
    }

    #[cfg(test)]
    fn loaded_model(&self) -> Option<&Model> {
        self.loaded.as_ref().map(|l| &l.model)
    }
}

/// Counts a text's tokens with the model's tokenizer (a text it cannot encode counts as too long).
pub(super) fn token_counter(model: &Model) -> impl Fn(&str) -> usize + '_ {
    |text: &str| {
        model
            .tokenizer()
            .encode(text)
            .map_or(usize::MAX, |t| t.len())
    }
}

/// Appends the lorebook entries the latest messages call for to the system prompt, within the book's
/// token budget as `tokens` counts it (the model's tokenizer, or an estimate for a served model).
pub(super) fn add_lore(
    tokens: impl Fn(&str) -> usize,
    prompt: &PromptParts<'_>,
    system: &mut String,
) {
    let recent: Vec<&str> = prompt.recent.iter().map(String::as_str).collect();
    let picked = prompt.lorebook.pick(&recent, tokens);
    if !picked.is_empty() {
        system.push_str("\n\nWhat you know that matters now:");
        for entry in picked {
            system.push_str("\n- ");
            system.push_str(entry.content.trim());
        }
    }
}

/// The system prompt and the latest turns, leaving room for the reply: the oldest turns go first, in
/// blocks (`window`), else just enough of them (found by bisection: the prompt only shrinks as turns
/// are dropped). The newest user message alone must fit.
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
    // The oldest messages leave in blocks, so the next turns keep this prompt's start and its cache.
    let sizes: Vec<usize> = chat
        .iter()
        .map(|m| token_counter(model)(&m.content))
        .collect();
    if let Some(first) = window_start(&sizes, budget, |first| Ok(tokens(first)? <= budget))? {
        return Ok(keep_from(first));
    }
    // The newest messages alone outgrow a block: drop just enough.
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
