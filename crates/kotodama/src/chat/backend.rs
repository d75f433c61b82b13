//! Where a reply's text comes from: a chat backend writes one attempt for a prompt. The local engine
//! (`LocalEngine`) is one; servers the user already runs will be others. The replier above it owns
//! what does not depend on the backend: the seed, the guard's attempts, the script's fallback.

use kotodama_engine::{CancelToken, GenerationStats, SamplingParams};
use kotodama_store::NewModel;

use super::replier::ReplierStatus;
use super::turn::PromptParts;
use crate::Result;

/// One attempt to write.
pub(super) struct Request<'a> {
    /// The chat's turns, adapter and lorebook.
    pub prompt: PromptParts<'a>,
    pub params: SamplingParams,
    /// Instead of answering the chat: rewrite this caught reply in the persona's voice, given this
    /// system instruction (the distillation's rewrite task).
    pub rewrite: Option<Rewrite<'a>>,
}

pub(super) struct Rewrite<'a> {
    pub instruction: String,
    pub text: &'a str,
}

/// What an attempt wrote, with who wrote it.
pub(super) struct Written {
    pub text: String,
    /// The model, as the database records it (None when the backend does not say).
    pub model: Option<NewModel>,
    /// The persona's adapter, when the backend applied it.
    pub adapter_id: Option<i64>,
    pub stats: Option<GenerationStats>,
}

pub(super) trait ChatBackend: Send {
    /// The model replies come from (None: there is none; replies come from the script), where it runs
    /// and what it holds of a chat.
    fn status(&self) -> ReplierStatus;

    /// Answers with model `id` from the next reply on (None: the default).
    fn prefer_model(&mut self, id: Option<String>);

    /// Gets the model ready (loads it, or reaches it); Ok(false) when there is none to answer with.
    fn warm_up(&mut self) -> Result<bool>;

    /// Runs the chat so far into the model's cache, so that the next reply starts from there; the
    /// tokens cached (0 when the backend keeps no cache).
    fn prefill(&mut self, prompt: &PromptParts<'_>, cancel: &CancelToken) -> Result<usize>;

    /// Writes one attempt, each piece to `on_piece` as it comes; a cancel returns what was written.
    fn write(
        &mut self,
        request: &Request<'_>,
        on_piece: &mut dyn FnMut(&str),
        cancel: &CancelToken,
    ) -> Result<Written>;

    /// The loaded local model, for tests that look at its prompt and cache.
    #[cfg(test)]
    fn loaded_model(&self) -> Option<&kotodama_engine::Model> {
        None
    }
}
