//! A fake backend for tests (the `test-support` feature; never in a release build): the texts queued
//! are written as the next attempts, as if a model had written them, then the wrapped backend answers
//! again. Tests force an out-of-character reply this way to see the guard catch it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use kotodama_engine::CancelToken;

use super::backend::{ChatBackend, Request, Written};
use super::replier::ReplierStatus;
use super::turn::PromptParts;
use crate::Result;

/// The queue of canned texts, shared with whoever fills it.
pub(super) type CannedQueue = Arc<Mutex<VecDeque<String>>>;

pub(super) struct CannedReplies {
    queue: CannedQueue,
    then: Box<dyn ChatBackend>,
}

impl CannedReplies {
    pub(super) fn wrap(then: Box<dyn ChatBackend>) -> (CannedReplies, CannedQueue) {
        let queue = CannedQueue::default();
        (
            CannedReplies {
                queue: queue.clone(),
                then,
            },
            queue,
        )
    }

    /// Puts the texts of `queue` in front of another backend (the served model, when one is chosen).
    pub(super) fn sharing(queue: CannedQueue, then: Box<dyn ChatBackend>) -> CannedReplies {
        CannedReplies { queue, then }
    }

    fn next(&self) -> Option<String> {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front()
    }

    fn has_next(&self) -> bool {
        !self
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }
}

impl ChatBackend for CannedReplies {
    fn status(&self) -> ReplierStatus {
        self.then.status()
    }

    fn prefer_model(&mut self, id: Option<String>) {
        self.then.prefer_model(id);
    }

    fn warm_up(&mut self) -> Result<bool> {
        Ok(self.then.warm_up()? || self.has_next())
    }

    fn prefill(&mut self, prompt: &PromptParts<'_>, cancel: &CancelToken) -> Result<usize> {
        self.then.prefill(prompt, cancel)
    }

    fn write(
        &mut self,
        request: &Request<'_>,
        on_piece: &mut dyn FnMut(&str),
        cancel: &CancelToken,
    ) -> Result<Written> {
        let Some(text) = self.next() else {
            return self.then.write(request, on_piece, cancel);
        };
        // Stops between pieces when asked, as a model does, keeping what it wrote.
        let mut written = String::new();
        for piece in text.split_inclusive(' ') {
            if cancel.is_cancelled() {
                break;
            }
            on_piece(piece);
            written.push_str(piece);
        }
        Ok(Written {
            text: written,
            model: None,
            adapter_id: None,
            stats: None,
        })
    }

    #[cfg(test)]
    fn loaded_model(&self) -> Option<&kotodama_engine::Model> {
        self.then.loaded_model()
    }
}
