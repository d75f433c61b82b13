//! A model the user already serves (Ollama, LM Studio, llama.cpp's server, KoboldCpp, OpenAI,
//! OpenRouter) as a chat backend, through the OpenAI chat-completions API, streamed. The server keeps
//! its own cache and cannot take the persona's adapter, so the card's system prompt is used. Its
//! tokenizer is not known here: the lorebook's budget and the context fit count with an estimate
//! that errs on the long side.

use std::io::{BufRead, BufReader, Read};
use std::time::{Duration, Instant};

use kotodama_engine::{CancelToken, ChatMessage, GenerationStats, StopReason};
use kotodama_store::NewModel;
use serde_json::{json, Value};

use super::backend::{ChatBackend, Request, Written};
use super::replier::ReplierStatus;
use super::turn::PromptParts;
use super::window::window_start;
use crate::reasoning_filter::ReasoningFilter;
use crate::settings::RemoteModel;
use crate::{Error, Result};

/// How long a server may take to start answering (a cold model loads first) or between two pieces.
const READ_TIMEOUT: Duration = Duration::from_secs(300);
/// The most of an error body kept for the message.
const ERROR_BODY_BYTES: u64 = 4096;

pub(super) struct RemoteBackend {
    remote: RemoteModel,
    endpoint: String,
    api_key: Option<String>,
    agent: ureq::Agent,
}

impl RemoteBackend {
    pub(super) fn new(remote: RemoteModel, api_key: Option<String>) -> Self {
        Self {
            endpoint: remote.endpoint(),
            remote,
            api_key,
            agent: crate::models::download::http_agent(None),
        }
    }

    /// The request's messages: the system prompt with the lorebook's entries, and as many of the
    /// latest turns as fit the context with room for the reply.
    fn messages(&self, request: &Request<'_>) -> Result<Vec<ChatMessage>> {
        if let Some(rewrite) = &request.rewrite {
            return Ok(vec![
                ChatMessage::new("system", rewrite.instruction.clone()),
                ChatMessage::new("user", rewrite.text),
            ]);
        }
        let prompt = &request.prompt;
        let mut turns = prompt.turns.to_vec();
        super::local::add_lore(estimated_tokens, prompt, &mut turns[0].content);
        fit(
            &turns,
            self.remote
                .context_tokens
                .saturating_sub(request.params.max_tokens),
        )
    }

    fn fail(&self, detail: impl std::fmt::Display) -> Error {
        Error::Remote {
            url: self.endpoint.clone(),
            detail: detail.to_string(),
        }
    }

    fn record(&self) -> NewModel {
        NewModel {
            name: self.remote.model.clone(),
            path: format!("{}#{}", self.endpoint, self.remote.model),
            format: "remote".into(),
            architecture: "remote".into(),
            quantization: None,
            size_bytes: 0,
            sha256: None,
        }
    }
}

impl ChatBackend for RemoteBackend {
    fn status(&self) -> ReplierStatus {
        ReplierStatus {
            model: Some(self.remote.model.clone()),
            server: Some(self.remote.url.clone()),
            device: None,
            cached: None,
        }
    }

    /// The installed models are the local engine's; a served model is chosen with its server.
    fn prefer_model(&mut self, _id: Option<String>) {}

    fn warm_up(&mut self) -> Result<bool> {
        Ok(true)
    }

    fn prefill(&mut self, _prompt: &PromptParts<'_>, _cancel: &CancelToken) -> Result<usize> {
        Ok(0)
    }

    fn write(
        &mut self,
        request: &Request<'_>,
        on_piece: &mut dyn FnMut(&str),
        cancel: &CancelToken,
    ) -> Result<Written> {
        let turns = self.messages(request)?;
        let estimated_prompt = turns.iter().map(estimated_message).sum();
        let messages: Vec<Value> = turns
            .iter()
            .map(|m| json!({"role": m.role, "content": m.content}))
            .collect();
        let params = &request.params;
        let mut body = json!({
            "model": self.remote.model,
            "messages": messages,
            "stream": true,
            "stream_options": {"include_usage": true},
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "seed": params.seed,
        });
        if !params.stop.is_empty() {
            body["stop"] = json!(params.stop);
        }
        if !self.endpoint.contains("://api.openai.com/") {
            // The persona's min-p and repetition penalty, under the names llama.cpp, LM Studio,
            // KoboldCpp, vLLM and OpenRouter read; OpenAI's own API refuses fields it does not know.
            body["min_p"] = json!(params.min_p);
            body["repeat_penalty"] = json!(params.repetition_penalty);
            body["repetition_penalty"] = json!(params.repetition_penalty);
            body["repeat_last_n"] = json!(params.penalty_last_n);
        }
        let start = Instant::now();
        let mut post = self
            .agent
            .post(&self.endpoint)
            .config()
            .timeout_recv_response(Some(READ_TIMEOUT))
            .timeout_recv_body(None)
            .build()
            .header("Content-Type", "application/json")
            .header("Accept", "text/event-stream");
        if let Some(key) = &self.api_key {
            post = post.header("Authorization", &format!("Bearer {key}"));
        }
        let response = post
            .send(body.to_string())
            .map_err(|e| self.fail(format!("unreachable ({e})")))?;
        let status = response.status();
        let is_json = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let mut body = response.into_body().into_reader();
        if !status.is_success() {
            let mut text = String::new();
            let _ = (&mut body).take(ERROR_BODY_BYTES).read_to_string(&mut text);
            return Err(self.fail(format!("HTTP {status}: {}", error_message(&text))));
        }
        let mut answer = Answer::default();
        let mut filter = ReasoningFilter::default();
        let mut show = |piece: &str, answer: &mut Answer| -> bool {
            answer.pieces += 1;
            if answer.first_piece.is_none() {
                answer.first_piece = Some(start.elapsed());
            }
            let (shown, stop) = filter.push(piece);
            if !shown.is_empty() {
                answer.text.push_str(&shown);
                on_piece(&shown);
            }
            stop
        };
        if is_json {
            // A server that does not stream answers with the whole completion.
            let mut text = String::new();
            body.read_to_string(&mut text)
                .map_err(|e| self.fail(format!("unreadable answer ({e})")))?;
            let json: Value =
                serde_json::from_str(&text).map_err(|_| self.fail("the answer is not JSON"))?;
            let content = json["choices"][0]["message"]["content"]
                .as_str()
                .ok_or_else(|| self.fail("no choices[0].message.content in the answer"))?;
            show(content, &mut answer);
            answer.read_chunk(&json);
        } else {
            for line in BufReader::new(body).lines() {
                if cancel.is_cancelled() {
                    answer.stop = Some(StopReason::Cancelled);
                    break;
                }
                let line = line.map_err(|e| self.fail(format!("the stream broke ({e})")))?;
                let Some(data) = line.strip_prefix("data:").map(str::trim) else {
                    continue;
                };
                if data == "[DONE]" {
                    break;
                }
                let chunk: Value = serde_json::from_str(data)
                    .map_err(|_| self.fail(format!("a streamed chunk is not JSON: {data:.200}")))?;
                if chunk.get("error").is_some() {
                    return Err(self.fail(error_message(data)));
                }
                let piece = chunk["choices"][0]["delta"]["content"].as_str();
                if piece.is_some_and(|p| !p.is_empty()) && show(piece.unwrap_or(""), &mut answer) {
                    answer.stop = Some(StopReason::StopString);
                    break;
                }
                answer.read_chunk(&chunk);
            }
        }
        let rest = filter.finish();
        if !rest.is_empty() {
            answer.text.push_str(&rest);
            on_piece(&rest);
        }
        let elapsed = start.elapsed();
        let stats = answer.stats(elapsed, estimated_prompt);
        Ok(Written {
            text: answer.text,
            model: Some(self.record()),
            adapter_id: None,
            stats: Some(stats),
        })
    }
}

/// What a streamed answer told so far.
#[derive(Default)]
struct Answer {
    text: String,
    pieces: usize,
    first_piece: Option<Duration>,
    finish: Option<String>,
    stop: Option<StopReason>,
    /// (prompt, completion) tokens, when the server reports them.
    usage: Option<(usize, usize)>,
}

impl Answer {
    fn read_chunk(&mut self, chunk: &Value) {
        if let Some(f) = chunk["choices"][0]["finish_reason"].as_str() {
            self.finish = Some(f.to_string());
        }
        let usage = &chunk["usage"];
        if let (Some(p), Some(c)) = (
            usage["prompt_tokens"].as_u64(),
            usage["completion_tokens"].as_u64(),
        ) {
            self.usage = Some((p as usize, c as usize));
        }
    }

    fn stats(&self, elapsed: Duration, estimated_prompt: usize) -> GenerationStats {
        let (prompt_tokens, generated_tokens) =
            self.usage.unwrap_or((estimated_prompt, self.pieces));
        let first = self.first_piece.unwrap_or(elapsed);
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let decode_ms = ms(elapsed.saturating_sub(first));
        GenerationStats {
            prompt_tokens,
            reused_tokens: 0,
            generated_tokens,
            prefill_ms: ms(first),
            decode_ms,
            prefill_tokens_per_second: 0.0,
            decode_tokens_per_second: if decode_ms > 0.0 {
                generated_tokens.saturating_sub(1) as f64 * 1000.0 / decode_ms
            } else {
                0.0
            },
            time_to_first_token_ms: ms(first),
            stop_reason: self.stop.unwrap_or(match self.finish.as_deref() {
                Some("length") => StopReason::MaxTokens,
                _ => StopReason::EndOfTurn,
            }),
            token_ids: Vec::new(),
        }
    }
}

/// The error's own message when the body is OpenAI-shaped (`{"error": {"message": ...}}` or
/// `{"error": "..."}`), else the body's start.
fn error_message(body: &str) -> String {
    let json: Option<Value> = serde_json::from_str(body).ok();
    let message = json.as_ref().and_then(|j| {
        j["error"]["message"]
            .as_str()
            .or_else(|| j["error"].as_str())
            .map(str::to_string)
    });
    message.unwrap_or_else(|| body.chars().take(300).collect())
}

/// Tokens a text takes, estimated without the server's tokenizer, erring long: a CJK character is
/// about one token or more, other text about four characters per token (three are counted).
pub(super) fn estimated_tokens(text: &str) -> usize {
    let (cjk, other) = text.chars().fold((0usize, 0usize), |(cjk, other), c| {
        if is_cjk(c) {
            (cjk + 1, other)
        } else {
            (cjk, other + 1)
        }
    });
    cjk + other.div_ceil(3)
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF // kana
        | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF // ideographs
        | 0xAC00..=0xD7AF // hangul
        | 0xFF00..=0xFFEF) // full-width forms
}

/// A message's estimated share of the prompt: its text and the template's markers around it.
fn estimated_message(m: &ChatMessage) -> usize {
    estimated_tokens(&m.content) + 4
}

/// The system prompt and the latest turns that fit `budget` estimated tokens: the oldest leave in
/// blocks (`window`), else just enough of them; the newest user message alone must fit.
fn fit(turns: &[ChatMessage], budget: usize) -> Result<Vec<ChatMessage>> {
    let (system, chat) = turns.split_at(1);
    let sizes: Vec<usize> = chat.iter().map(estimated_message).collect();
    let system_size = estimated_message(&system[0]);
    // The oldest messages leave in blocks, so the server's prompt cache keeps serving the start.
    let fits = |first: usize| Ok(system_size + sizes[first..].iter().sum::<usize>() <= budget);
    if let Some(first) = window_start(&sizes, budget, fits)? {
        return Ok(system.iter().chain(&chat[first..]).cloned().collect());
    }
    let mut used = system_size;
    let mut first = chat.len();
    while first > 0 && used + estimated_message(&chat[first - 1]) <= budget {
        first -= 1;
        used += estimated_message(&chat[first]);
    }
    if first == chat.len() && !chat.is_empty() {
        return Err(kotodama_engine::Error::ContextOverflow {
            prompt_tokens: used + estimated_message(&chat[chat.len() - 1]),
            context_length: budget,
        }
        .into());
    }
    Ok(system.iter().chain(&chat[first..]).cloned().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_counts_cjk_characters_as_tokens_and_errs_long_on_other_text() {
        assert_eq!(estimated_tokens("お茶をどうぞ"), 6);
        assert_eq!(estimated_tokens("Hello there"), 4);
        assert_eq!(estimated_tokens(""), 0);
    }

    #[test]
    fn fitting_drops_the_oldest_turns_and_refuses_a_newest_message_that_cannot_fit() {
        let turns: Vec<ChatMessage> = [
            ("system", "s"),
            ("user", "aaaaaa"),
            ("assistant", "bbbbbb"),
            ("user", "cccccc"),
        ]
        .into_iter()
        .map(|(r, t)| ChatMessage::new(r, t))
        .collect();
        // Each message is 2 + 4 tokens; the system prompt 1 + 4.
        assert_eq!(fit(&turns, 100).unwrap().len(), 4);
        let kept = fit(&turns, 5 + 6 + 6).unwrap();
        assert_eq!(
            kept.iter().map(|t| t.content.as_str()).collect::<Vec<_>>(),
            ["s", "bbbbbb", "cccccc"]
        );
        assert!(fit(&turns, 8).is_err());
    }

    #[test]
    fn error_bodies_give_the_servers_message() {
        assert_eq!(
            error_message(r#"{"error":{"message":"model not found","type":"x"}}"#),
            "model not found"
        );
        assert_eq!(
            error_message(r#"{"error":"no such model"}"#),
            "no such model"
        );
        assert_eq!(error_message("Bad Gateway"), "Bad Gateway");
    }
}
