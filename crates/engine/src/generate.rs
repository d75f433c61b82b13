//! Streaming generation for a chat: KV-cache reuse across turns, stop tokens and strings, max tokens,
//! cancellation and timing stats.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::kv_cache::KvCache;
use crate::model::Model;
use crate::sampler::{Sampler, SamplingParams};
use crate::template::ChatMessage;

/// Prompts are fed in chunks of this many tokens to bound the attention scores' memory.
const PREFILL_CHUNK: usize = 512;

/// Cooperative cancellation shared between the UI and a running generation.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum StopReason {
    /// The model produced an end-of-turn token.
    EndOfTurn,
    StopString,
    MaxTokens,
    /// The context window is full.
    ContextFull,
    /// The cancel token fired or the callback asked to stop.
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct GenerationStats {
    pub prompt_tokens: usize,
    /// Prompt tokens whose keys/values were reused from the previous turn.
    pub reused_tokens: usize,
    pub generated_tokens: usize,
    pub prefill_ms: f64,
    pub decode_ms: f64,
    pub prefill_tokens_per_second: f64,
    pub decode_tokens_per_second: f64,
    pub time_to_first_token_ms: f64,
    pub stop_reason: StopReason,
    /// Ids of the generated tokens (end-of-turn token excluded).
    pub token_ids: Vec<u32>,
}

/// A conversation with one model: keeps the KV cache between turns.
pub struct ChatSession<'m> {
    model: &'m Model,
    cache: KvCache,
}

fn per_second(tokens: usize, ms: f64) -> f64 {
    if ms > 0.0 {
        tokens as f64 * 1000.0 / ms
    } else {
        0.0
    }
}

/// Length of the longest prefix of `text` that could still grow into one of `stops`; that part is held
/// back from the stream until it is clear whether a stop string follows.
fn pending_stop_prefix(text: &str, stops: &[String]) -> usize {
    stops
        .iter()
        .flat_map(|s| {
            (1..s.len())
                .rev()
                .filter(move |&n| s.is_char_boundary(n))
                .map(move |n| &s[..n])
        })
        .filter(|prefix| text.ends_with(prefix))
        .map(str::len)
        .max()
        .unwrap_or(0)
}

impl<'m> ChatSession<'m> {
    pub fn new(model: &'m Model) -> Self {
        Self {
            model,
            cache: model.decoder().new_cache(),
        }
    }

    /// Continues a conversation whose KV cache was kept with `into_cache` (same model).
    pub fn resume(model: &'m Model, cache: KvCache) -> Self {
        Self { model, cache }
    }

    /// The KV cache, to keep across turns when the session cannot outlive a borrow of the model.
    pub fn into_cache(self) -> KvCache {
        self.cache
    }

    /// Number of positions currently cached.
    pub fn cached_tokens(&self) -> usize {
        self.cache.len()
    }

    /// Renders `messages` with the model's chat template and streams the assistant's reply.
    pub fn generate(
        &mut self,
        messages: &[ChatMessage],
        params: &SamplingParams,
        on_token: impl FnMut(&str) -> ControlFlow<()>,
        cancel: &CancelToken,
    ) -> Result<GenerationStats> {
        self.generate_after(messages, "", params, on_token, cancel)
    }

    /// Like `generate`, with `prefix` already written at the start of the assistant's turn (unless the
    /// template puts it there itself); it is not part of the streamed reply. An adapter trained on
    /// reasoning blocks gets an empty one, so it answers without reasoning tokens.
    pub fn generate_after(
        &mut self,
        messages: &[ChatMessage],
        prefix: &str,
        params: &SamplingParams,
        on_token: impl FnMut(&str) -> ControlFlow<()>,
        cancel: &CancelToken,
    ) -> Result<GenerationStats> {
        let mut prompt = self
            .model
            .template()
            .render(messages, true, params.enable_thinking)?;
        if !prompt.ends_with(prefix) {
            prompt.push_str(prefix);
        }
        let ids = self.model.tokenizer().encode(&prompt)?;
        self.generate_from_ids(&ids, params, on_token, cancel)
    }

    /// Runs the conversation so far (`messages`, no generation prompt) into the KV cache ahead of the
    /// next turn, re-using what is cached: the next `generate` then prefills only the new message. The
    /// app does this when a chat opens, while the user types. Returns the tokens now cached.
    pub fn prefill(&mut self, messages: &[ChatMessage], cancel: &CancelToken) -> Result<usize> {
        let prompt = self.model.template().render(messages, false, false)?;
        let ids = self.model.tokenizer().encode(&prompt)?;
        if ids.len() >= self.model.decoder().max_positions() {
            return Err(Error::ContextOverflow {
                prompt_tokens: ids.len(),
                context_length: self.model.decoder().max_positions(),
            });
        }
        let shared = self.keep_shared_prefix(&ids);
        self.cache.truncate(shared);
        self.feed(&ids[shared..], cancel)?;
        Ok(self.cache.len())
    }

    /// How many leading tokens of `ids` the cache already holds.
    fn keep_shared_prefix(&self, ids: &[u32]) -> usize {
        self.cache
            .tokens()
            .iter()
            .zip(ids)
            .take_while(|(a, b)| a == b)
            .count()
    }

    /// Feeds `ids` through the decoder in chunks; the last position's logits, or None when cancelled
    /// (or nothing was fed).
    fn feed(&mut self, ids: &[u32], cancel: &CancelToken) -> Result<Option<candle_core::Tensor>> {
        let (model, decoder) = (self.model, self.model.decoder());
        let mut logits = None;
        for chunk in ids.chunks(PREFILL_CHUNK) {
            if cancel.is_cancelled() {
                return Ok(None);
            }
            logits = Some(model.run(|| decoder.next_token_logits(chunk, &mut self.cache))?);
        }
        decoder.synchronize()?;
        Ok(logits)
    }

    /// Streams a continuation of `prompt_ids`, re-using the cached prefix they share with the last call.
    pub fn generate_from_ids(
        &mut self,
        prompt_ids: &[u32],
        params: &SamplingParams,
        mut on_token: impl FnMut(&str) -> ControlFlow<()>,
        cancel: &CancelToken,
    ) -> Result<GenerationStats> {
        let start = Instant::now();
        let model = self.model;
        let decoder = model.decoder();
        let tokenizer = model.tokenizer();
        if prompt_ids.is_empty() {
            return Err(Error::InvalidArgument("the prompt is empty".into()));
        }
        let context = decoder.max_positions();
        if prompt_ids.len() >= context {
            return Err(Error::ContextOverflow {
                prompt_tokens: prompt_ids.len(),
                context_length: context,
            });
        }
        // Keep the shared prefix, but always feed at least one token to get fresh logits.
        let reused = self
            .keep_shared_prefix(prompt_ids)
            .min(prompt_ids.len() - 1);
        self.cache.truncate(reused);
        let Some(mut logits) = self.feed(&prompt_ids[reused..], cancel)? else {
            return Ok(self.stats(
                prompt_ids.len(),
                reused,
                Vec::new(),
                start,
                None,
                None,
                StopReason::Cancelled,
            ));
        };
        let prefill_done = Instant::now();

        let mut sampler = Sampler::new(params);
        let mut generated: Vec<u32> = Vec::new();
        let mut emitted = 0usize; // bytes of the reply text already streamed
        let mut first_token_at = None;
        let stop_reason = loop {
            if cancel.is_cancelled() {
                break StopReason::Cancelled;
            }
            if generated.len() >= params.max_tokens {
                break StopReason::MaxTokens;
            }
            if self.cache.len() >= context {
                break StopReason::ContextFull;
            }
            let logits_vec: Vec<f32> = logits.to_vec1()?;
            let next = sampler.sample(&logits_vec, self.cache.tokens());
            first_token_at.get_or_insert_with(Instant::now);
            if tokenizer.is_stop(next) {
                break StopReason::EndOfTurn;
            }
            generated.push(next);
            let text = tokenizer.decode(&generated)?;
            if let Some(pos) = params
                .stop
                .iter()
                .filter_map(|s| text.find(s.as_str()))
                .min()
            {
                if pos > emitted {
                    let _ = on_token(&text[emitted..pos]);
                }
                break StopReason::StopString;
            }
            // Hold back an incomplete UTF-8 sequence (decoded as U+FFFD) and a possible stop-string start.
            let stable = text.trim_end_matches('\u{FFFD}');
            let ready = stable.len() - pending_stop_prefix(stable, &params.stop);
            if ready > emitted && text.is_char_boundary(ready) {
                let flow = on_token(&text[emitted..ready]);
                emitted = ready;
                if flow.is_break() {
                    break StopReason::Cancelled;
                }
            }
            logits = model.run(|| decoder.next_token_logits(&[next], &mut self.cache))?;
        };
        // Flush what was held back, unless the reply was cut (stop string) or the caller asked to stop.
        if !matches!(stop_reason, StopReason::StopString | StopReason::Cancelled) {
            let text = tokenizer.decode(&generated)?;
            if text.len() > emitted {
                let _ = on_token(&text[emitted..]);
            }
        }
        Ok(self.stats(
            prompt_ids.len(),
            reused,
            generated,
            start,
            Some(prefill_done),
            first_token_at,
            stop_reason,
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn stats(
        &self,
        prompt_tokens: usize,
        reused: usize,
        token_ids: Vec<u32>,
        start: Instant,
        prefill_done: Option<Instant>,
        first_token_at: Option<Instant>,
        stop_reason: StopReason,
    ) -> GenerationStats {
        let now = Instant::now();
        let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1000.0;
        let prefill_ms = prefill_done.map_or(0.0, |p| ms(start, p));
        let decode_ms = prefill_done.map_or(0.0, |p| ms(p, now));
        // The first sampled token comes from the prefill logits, so decode speed counts the others.
        let decoded = token_ids.len().saturating_sub(1);
        GenerationStats {
            prompt_tokens,
            reused_tokens: reused,
            generated_tokens: token_ids.len(),
            prefill_ms,
            decode_ms,
            prefill_tokens_per_second: per_second(prompt_tokens - reused, prefill_ms),
            decode_tokens_per_second: per_second(decoded, decode_ms),
            time_to_first_token_ms: first_token_at.map_or(0.0, |f| ms(start, f)),
            stop_reason,
            token_ids,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decoder::Architecture;
    use crate::model::LoadOptions;
    use crate::test_models::{self, write_tiny_model, TinySpec};
    use candle_core::quantized::GgmlDType;

    fn tiny_model(dir: &std::path::Path) -> Model {
        let tiny = write_tiny_model(&TinySpec::new(Architecture::Qwen3), GgmlDType::Q8_0, dir);
        Model::load(
            &tiny.gguf,
            LoadOptions {
                threads: 1,
                ..Default::default()
            },
        )
        .unwrap()
    }

    fn collect(
        session: &mut ChatSession,
        messages: &[ChatMessage],
        params: &SamplingParams,
    ) -> (String, GenerationStats) {
        let mut text = String::new();
        let stats = session
            .generate(
                messages,
                params,
                |piece| {
                    text.push_str(piece);
                    ControlFlow::Continue(())
                },
                &CancelToken::new(),
            )
            .unwrap();
        (text, stats)
    }

    #[test]
    fn greedy_generation_is_deterministic_and_reuses_the_cache_across_turns() {
        let dir = tempfile::tempdir().unwrap();
        let model = tiny_model(dir.path());
        let params = SamplingParams::greedy(12);
        let mut history = vec![
            ChatMessage::new("system", "You are Aki."),
            ChatMessage::new("user", "Hi"),
        ];
        let mut session = ChatSession::new(&model);
        let (reply, stats) = collect(&mut session, &history, &params);
        assert_eq!(stats.reused_tokens, 0);
        assert_eq!(stats.token_ids.len(), stats.generated_tokens);
        assert_eq!(
            model.tokenizer().decode(&stats.token_ids).unwrap(),
            reply,
            "streamed pieces add up to the reply"
        );
        let (again, _) = collect(&mut ChatSession::new(&model), &history, &params);
        assert_eq!(reply, again);

        history.push(ChatMessage::new("assistant", reply));
        history.push(ChatMessage::new("user", "And then?"));
        // The cache kept apart from the session (as the app keeps it between turns) is reused.
        let mut session = ChatSession::resume(&model, session.into_cache());
        let (_, second) = collect(&mut session, &history, &params);
        assert!(
            second.reused_tokens > 10,
            "history prefix re-used: {}",
            second.reused_tokens
        );
        // Same turn from a fresh session: same ids, more prefill.
        let (_, fresh) = collect(&mut ChatSession::new(&model), &history, &params);
        assert_eq!(fresh.reused_tokens, 0);
        assert_eq!(fresh.token_ids, second.token_ids);
    }

    #[test]
    fn a_prefilled_history_leaves_only_the_new_message_to_prefill_and_changes_no_token() {
        let dir = tempfile::tempdir().unwrap();
        let model = tiny_model(dir.path());
        let params = SamplingParams::greedy(8);
        let history = vec![
            ChatMessage::new("system", "You are Aki, who guards the mountain shrine."),
            ChatMessage::new("assistant", "Welcome, traveller."),
        ];
        let mut session = ChatSession::new(&model);
        let cached = session.prefill(&history, &CancelToken::new()).unwrap();
        assert_eq!(cached, session.cached_tokens());
        assert!(cached > 10, "{cached}");
        // Prefilling the same history again feeds nothing new.
        assert_eq!(
            session.prefill(&history, &CancelToken::new()).unwrap(),
            cached
        );

        let mut turn = history.clone();
        turn.push(ChatMessage::new("user", "Hello"));
        let (warm_text, warm) = collect(&mut session, &turn, &params);
        assert_eq!(
            warm.reused_tokens, cached,
            "the whole history came from the cache"
        );
        let (cold_text, cold) = collect(&mut ChatSession::new(&model), &turn, &params);
        assert_eq!((warm_text, warm.token_ids), (cold_text, cold.token_ids));
    }

    #[test]
    fn max_tokens_stop_strings_and_cancellation_end_generation() {
        let dir = tempfile::tempdir().unwrap();
        let model = tiny_model(dir.path());
        let history = [ChatMessage::new("user", "Tell me")];
        let mut session = ChatSession::new(&model);
        let (text, stats) = collect(
            &mut session,
            &history,
            &SamplingParams {
                temperature: 1.0,
                seed: 3,
                ..SamplingParams::greedy(8)
            },
        );
        assert!(stats.generated_tokens <= 8);
        if stats.stop_reason == StopReason::MaxTokens {
            assert_eq!(stats.generated_tokens, 8);
        }
        // Any 2 characters of an earlier reply serve as a stop string: the reply ends right before them.
        if let Some(stop) = text
            .char_indices()
            .nth(2)
            .map(|(i, _)| text[i..].chars().take(2).collect::<String>())
            .filter(|s| s.chars().count() == 2)
        {
            let params = SamplingParams {
                temperature: 1.0,
                seed: 3,
                stop: vec![stop.clone()],
                ..SamplingParams::greedy(8)
            };
            let (cut, stats) = collect(&mut ChatSession::new(&model), &history, &params);
            assert_eq!(stats.stop_reason, StopReason::StopString);
            assert!(
                !cut.contains(&stop) && text.starts_with(&cut),
                "{cut:?} vs {text:?}"
            );
        }
        let cancel = CancelToken::new();
        cancel.cancel();
        let stats = ChatSession::new(&model)
            .generate(
                &history,
                &SamplingParams::greedy(8),
                |_| ControlFlow::Continue(()),
                &cancel,
            )
            .unwrap();
        assert_eq!(
            (stats.stop_reason, stats.generated_tokens),
            (StopReason::Cancelled, 0)
        );
        let mut pieces = 0;
        let stats = ChatSession::new(&model)
            .generate(
                &history,
                &SamplingParams {
                    temperature: 1.0,
                    ..SamplingParams::greedy(8)
                },
                |_| {
                    pieces += 1;
                    ControlFlow::Break(())
                },
                &CancelToken::new(),
            )
            .unwrap();
        // The callback's first Break ends generation. A reply whose every token was held back (an
        // incomplete UTF-8 sequence) ends first and gets at most its final flush, after the end.
        match stats.stop_reason {
            StopReason::Cancelled => assert_eq!(pieces, 1, "{stats:?}"),
            _ => assert!(pieces <= 1, "{stats:?}"),
        }
    }

    #[test]
    fn prompt_longer_than_the_context_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let model = tiny_model(dir.path());
        let long = vec![65u32; 600];
        let err = ChatSession::new(&model).generate_from_ids(
            &long,
            &SamplingParams::greedy(1),
            |_| ControlFlow::Continue(()),
            &CancelToken::new(),
        );
        assert!(
            matches!(
                err,
                Err(Error::ContextOverflow {
                    prompt_tokens: 600,
                    context_length: 512
                })
            ),
            "{err:?}"
        );
    }

    #[test]
    fn smollm2_greedy_reply_is_sensible() {
        let Some(path) = test_models::smollm2_gguf() else {
            return;
        };
        let model = Model::load(&path, LoadOptions::default()).unwrap();
        let history = [ChatMessage::new("user", "What is the capital of France?")];
        let (text, stats) = collect(
            &mut ChatSession::new(&model),
            &history,
            &SamplingParams::greedy(8),
        );
        // Greedy reply of this Q4_1 file on the engine's kernels. On quantized weights near-ties are
        // decided by summation order: candle-transformers' quantized_llama, whose Q4_1 products sum
        // in another order, answers "L'Étoile, la Mar". Agreement with llama.cpp is checked on F32
        // weights (`smollm2_greedy_ids_match_llama_cpp_fixture`).
        assert_eq!(text, "The capital of France is Paris.");
        assert!(stats.decode_tokens_per_second > 0.0);
    }

    #[test]
    fn an_assistant_prefix_is_fed_once_and_not_streamed() {
        let dir = tempfile::tempdir().unwrap();
        let model = tiny_model(dir.path());
        let history = [ChatMessage::new("user", "Hi")];
        let params = SamplingParams::greedy(4);
        let plain = ChatSession::new(&model)
            .generate(
                &history,
                &params,
                |_| ControlFlow::Continue(()),
                &CancelToken::new(),
            )
            .unwrap();
        let prefix = "<think>\n\n</think>\n\n";
        let prefix_tokens = model.tokenizer().encode(prefix).unwrap().len();
        let mut streamed = String::new();
        let after = ChatSession::new(&model)
            .generate_after(
                &history,
                prefix,
                &params,
                |p| {
                    streamed.push_str(p);
                    ControlFlow::Continue(())
                },
                &CancelToken::new(),
            )
            .unwrap();
        assert_eq!(after.prompt_tokens, plain.prompt_tokens + prefix_tokens);
        assert!(!streamed.starts_with("<think>"));
    }

    #[test]
    fn holds_back_text_that_may_start_a_stop_string() {
        let stops = vec!["\nUser:".to_string()];
        assert_eq!(pending_stop_prefix("Hello\nUs", &stops), 3);
        assert_eq!(pending_stop_prefix("Hello", &stops), 0);
        assert_eq!(pending_stop_prefix("Hello\n", &stops), 1);
    }

    /// Greedy ids of llama.cpp on the same weights (the Q4_1 file dequantized to F32, see the recording
    /// script for why), recorded by `tools/engine/record_fixtures.sh`.
    #[test]
    fn smollm2_greedy_ids_match_llama_cpp_fixture() {
        let Some(quantized) = test_models::smollm2_gguf() else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("smollm2-f32.gguf");
        crate::requantize::requantize_gguf(
            &quantized,
            &path,
            &[GgmlDType::Q4_1, GgmlDType::Q8_0],
            GgmlDType::F32,
        )
        .unwrap();
        let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/smollm2_llama_cpp.json");
        let fixture: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&fixture).unwrap()).unwrap();
        let model = Model::load(&path, LoadOptions::default()).unwrap();
        for case in fixture["cases"].as_array().unwrap() {
            let ids = |v: &serde_json::Value| {
                v.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap() as u32)
                    .collect::<Vec<u32>>()
            };
            let prompt_ids = ids(&case["prompt_ids"]);
            assert_eq!(
                model
                    .tokenizer()
                    .encode(case["prompt"].as_str().unwrap())
                    .unwrap(),
                prompt_ids,
                "tokenization"
            );
            let mut greedy = SamplingParams::greedy(20);
            greedy.stop.clear();
            let mut session = ChatSession::new(&model);
            let stats = session
                .generate_from_ids(
                    &prompt_ids,
                    &greedy,
                    |_| ControlFlow::Continue(()),
                    &CancelToken::new(),
                )
                .unwrap();
            assert_eq!(
                stats.token_ids,
                ids(&case["greedy_ids"]),
                "{}",
                case["prompt"]
            );
        }
    }
}
