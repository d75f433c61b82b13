//! The replier: each reply written through a chat backend under the out-of-character guard (its
//! attempts, the best kept, the caught ones kept as alternatives), with the persona's sampler and a
//! new seed each time; with no model to answer, the script's line.

use std::path::PathBuf;

use crate::{ChatSettings, GuardAction};
use kotodama_engine::{CancelToken, DeviceInfo, LoadOptions, SamplingParams};
use kotodama_store::{MessageSource, StyleScoreColumns};
use serde::Serialize;

use super::backend::{ChatBackend, Request, Rewrite};
use super::guard::{GuardReport, Verdict};
use super::local::LocalEngine;
use super::remote::RemoteBackend;
use super::turn::{scripted_reply, ChatContext, Reply, ReplyDraft, ReplyEvent};
use crate::settings::RemoteModel;
use crate::Result;

/// What the app shows about the model that answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ReplierStatus {
    /// The installed chat model's id, or the served model's name; None means replies come from the
    /// persona's script.
    pub model: Option<String>,
    /// The server a served model answers from (None: the local engine).
    pub server: Option<String>,
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

/// Writes a persona's replies through its backend (the local engine unless told otherwise), under
/// the out-of-character guard; with no model to answer, the script's line.
pub struct Replier {
    /// The local engine, kept (with its loaded model) while a served model answers.
    local: Box<dyn ChatBackend>,
    /// The served model chats use instead, when the user chose one.
    remote: Option<Box<dyn ChatBackend>>,
    /// Replaces every persona's sampler (tests use greedy decoding).
    sampling_override: Option<SamplingParams>,
    /// The seed of the next reply: each reply (and each guard attempt) draws a new one, so a
    /// regenerated reply is another reply, not the same one again.
    next_seed: u64,
    /// Texts the fake backend writes as the next attempts (`queue_canned_reply`).
    #[cfg(any(test, feature = "test-support"))]
    canned: super::fake::CannedQueue,
}

/// Tokens back that the repetition penalty looks at.
pub(crate) const PENALTY_WINDOW: usize = 128;

/// A persona's sampler settings as the engine's parameters: its reply length, and its stop strings with
/// the persona's and the user's names filled in.
fn sampling_params(
    settings: &ChatSettings,
    persona_name: &str,
    user_name: &str,
    seed: u64,
) -> SamplingParams {
    SamplingParams {
        temperature: settings.temperature,
        top_p: settings.top_p,
        min_p: settings.min_p,
        repetition_penalty: settings.repetition_penalty,
        penalty_last_n: PENALTY_WINDOW,
        max_tokens: settings.max_reply_tokens as usize,
        stop: settings
            .stop_strings
            .iter()
            .map(|s| crate::prompt::fill(s, persona_name, user_name))
            .collect(),
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
    /// Answers with the local engine: the installed chat models in `models_dir`, loaded with `load`.
    pub fn new(models_dir: PathBuf, load: LoadOptions) -> Self {
        Self::with_backend(Box::new(LocalEngine::new(models_dir, load)))
    }

    pub(super) fn with_backend(backend: Box<dyn ChatBackend>) -> Self {
        let clock = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        // Test builds put the fake in front of every backend: it answers only when texts are queued.
        #[cfg(any(test, feature = "test-support"))]
        let (backend, canned) = {
            let (fake, canned) = super::fake::CannedReplies::wrap(backend);
            (Box::new(fake) as Box<dyn ChatBackend>, canned)
        };
        Self {
            local: backend,
            remote: None,
            sampling_override: None,
            next_seed: clock,
            #[cfg(any(test, feature = "test-support"))]
            canned,
        }
    }

    /// Answers with installed model `id` from the next reply on (None: the default chat model), once
    /// no served model is chosen.
    pub fn prefer_model(&mut self, id: Option<String>) {
        self.local.prefer_model(id);
    }

    /// Answers with a model served elsewhere from the next reply on (its API key, if it needs one), or
    /// with the local engine again (None).
    pub fn use_remote(&mut self, remote: Option<(RemoteModel, Option<String>)>) {
        self.remote = remote.map(|(model, key)| {
            let backend: Box<dyn ChatBackend> = Box::new(RemoteBackend::new(model, key));
            #[cfg(any(test, feature = "test-support"))]
            let backend: Box<dyn ChatBackend> = Box::new(super::fake::CannedReplies::sharing(
                self.canned.clone(),
                backend,
            ));
            backend
        });
    }

    /// The backend replies come from now.
    fn backend(&mut self) -> &mut dyn ChatBackend {
        self.remote.as_deref_mut().unwrap_or(self.local.as_mut())
    }

    /// Replaces every persona's sampling settings (tests use greedy decoding).
    pub fn set_sampling(&mut self, params: SamplingParams) {
        self.sampling_override = Some(params);
    }

    /// The next attempt streams `text` instead of the model's reply, through the fake backend
    /// (tests force an out-of-character reply this way).
    #[cfg(any(test, feature = "test-support"))]
    pub fn queue_canned_reply(&mut self, text: impl Into<String>) {
        self.canned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push_back(text.into());
    }

    fn params(&mut self, draft: &ReplyDraft) -> SamplingParams {
        self.next_seed = self.next_seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        match &self.sampling_override {
            Some(p) => p.clone(),
            None => sampling_params(
                &draft.settings,
                &draft.persona_name,
                &draft.user_name,
                self.next_seed,
            ),
        }
    }

    /// The loaded local model, for tests that look at its prompt and cache.
    #[cfg(test)]
    pub(super) fn loaded_model(&self) -> Option<&kotodama_engine::Model> {
        self.local.loaded_model()
    }

    pub fn status(&self) -> ReplierStatus {
        self.remote
            .as_deref()
            .unwrap_or(self.local.as_ref())
            .status()
    }

    /// Gets the chat model ready (loads it); Ok(false) when none is installed.
    pub fn warm_up(&mut self) -> Result<bool> {
        self.backend().warm_up()
    }

    /// Streams one reply to `turn` through `on_piece`, unguarded; with no chat model installed, the
    /// script's line comes as one piece. A stopped generation returns what was written so far.
    pub fn reply(
        &mut self,
        turn: &ChatContext,
        on_piece: impl FnMut(&str),
        cancel: &CancelToken,
    ) -> Result<Reply> {
        self.write(turn, Attempt::Reply, on_piece, cancel)
    }

    /// Streams the reply to `turn` under the out-of-character guard: while the model's reply is
    /// caught (see `ReplyJudge`), another is written (or the caught one rewritten in character), up to the
    /// persona's attempts, and the best is kept. Script lines (no model installed) are the character's
    /// own words: never caught. A stop keeps the best complete attempt (or the first, however short).
    pub fn reply_guarded(
        &mut self,
        turn: &ChatContext,
        mut on_event: impl FnMut(ReplyEvent<'_>),
        cancel: &CancelToken,
    ) -> Result<Reply> {
        let judge = &turn.draft.judge;
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
            // While another attempt remains, one caught early is stopped at the end of a sentence.
            let (reply, caught_early) = if n < attempts {
                self.write_watched(turn, attempt, &mut on_event, cancel)?
            } else {
                let reply =
                    self.write(turn, attempt, |p| on_event(ReplyEvent::Piece(p)), cancel)?;
                (reply, None)
            };
            if reply.text.trim().is_empty() || (cancel.is_cancelled() && kept.is_some()) {
                match kept {
                    None => return Ok(reply),
                    Some(_) => break,
                }
            }
            written = n;
            let mut verdict = judge.judge(&reply.text)?;
            if verdict.caught.is_none() {
                verdict.caught = caught_early;
            }
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
        self.backend().prefill(&context.prompt(), cancel)
    }

    /// `write`, with the text judged at each sentence's end: an attempt caught early (see
    /// `ReplyJudge::caught_early`) stops there, and its cause comes back with what it wrote.
    fn write_watched(
        &mut self,
        turn: &ChatContext,
        attempt: Attempt<'_>,
        on_event: &mut impl FnMut(ReplyEvent<'_>),
        cancel: &CancelToken,
    ) -> Result<(Reply, Option<String>)> {
        let judge = &turn.draft.judge;
        let this_attempt = CancelToken::new();
        let mut text = String::new();
        let mut judged_at = 0;
        let mut caught = None;
        let mut failure = None;
        let reply = self.write(
            turn,
            attempt,
            |piece| {
                on_event(ReplyEvent::Piece(piece));
                if cancel.is_cancelled() {
                    this_attempt.cancel();
                }
                text.push_str(piece);
                let sentence_end = piece
                    .trim_end()
                    .ends_with(['.', '!', '?', '。', '！', '？', '…'])
                    || piece.contains('\n');
                if caught.is_some() || !sentence_end || text.len() == judged_at {
                    return;
                }
                judged_at = text.len();
                match judge.caught_early(&text) {
                    Ok(Some(cause)) => {
                        caught = Some(cause);
                        this_attempt.cancel();
                    }
                    Ok(None) => {}
                    Err(e) => failure = Some(e),
                }
            },
            &this_attempt,
        )?;
        if let Some(e) = failure {
            return Err(e);
        }
        Ok((reply, caught))
    }

    fn write(
        &mut self,
        turn: &ChatContext,
        attempt: Attempt<'_>,
        mut on_piece: impl FnMut(&str),
        cancel: &CancelToken,
    ) -> Result<Reply> {
        if !self.backend().warm_up()? {
            let reply = scripted_reply(turn)?;
            on_piece(&reply.text);
            return Ok(reply);
        }
        let request = Request {
            prompt: turn.prompt(),
            params: self.params(&turn.draft),
            // The distillation's rewrite task: the instruction it was trained with, the caught text.
            rewrite: match attempt {
                Attempt::Reply => None,
                Attempt::Rewrite(text) => Some(Rewrite {
                    instruction: crate::prompt::rewrite_instruction(&turn.draft.persona_name),
                    text,
                }),
            },
        };
        let written = self.backend().write(&request, &mut on_piece, cancel)?;
        Ok(Reply {
            model: written.model,
            adapter_id: written.adapter_id,
            stats: written.stats,
            ..Reply::unjudged(written.text)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_personas_stop_strings_get_its_name_and_the_users_and_its_length_is_the_limit() {
        let settings = ChatSettings {
            max_reply_tokens: 77,
            stop_strings: vec!["\n{{user}}:".into(), "{{char}}:".into()],
            ..ChatSettings::default()
        };
        let params = sampling_params(&settings, "Tsubaki", "Haru", 9);
        assert_eq!(params.stop, ["\nHaru:", "Tsubaki:"]);
        assert_eq!((params.max_tokens, params.seed), (77, 9));
    }
}
