//! The endpoints: `/v1/models` (each persona as a model) and `/v1/chat/completions` (a persona's
//! reply to the client's conversation, whole or streamed as server-sent events).

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kotodama::runtime::ClientReply;
use kotodama::{CancelToken, ChatContext, PersonaSummary, ReplyEvent, Runtime, StopReason};
use serde_json::{json, Value};
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;

use crate::wire::{ApiError, ChatRequest};
use crate::Shared;

/// Every persona, as a model a client can name.
pub async fn list_models(State(shared): State<Arc<Shared>>) -> Result<Json<Value>, ApiError> {
    let personas = blocking(move || shared.runtime.core(|k| k.personas())).await??;
    let data: Vec<Value> = personas.iter().map(model_object).collect();
    Ok(Json(json!({"object": "list", "data": data})))
}

pub async fn get_model(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let persona = find_persona(&shared, id).await?;
    Ok(Json(model_object(&persona)))
}

/// A persona as `/v1/models` lists it: its slug is the model's id.
fn model_object(p: &PersonaSummary) -> Value {
    json!({"id": p.slug, "object": "model", "created": 0, "owned_by": "kotodama", "name": p.name})
}

async fn find_persona(shared: &Arc<Shared>, model: String) -> Result<PersonaSummary, ApiError> {
    let shared = Arc::clone(shared);
    let personas = blocking(move || shared.runtime.core(|k| k.personas())).await??;
    personas
        .into_iter()
        .find(|p| p.slug == model || p.name.eq_ignore_ascii_case(&model))
        .ok_or_else(|| ApiError {
            status: StatusCode::NOT_FOUND,
            kind: "invalid_request_error",
            code: "model_not_found",
            message: format!("no persona {model:?}: GET /v1/models lists them"),
        })
}

pub async fn chat_completions(
    State(shared): State<Arc<Shared>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|rejection| ApiError {
        status: rejection.status(),
        kind: "invalid_request_error",
        code: if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            "request_too_large"
        } else {
            "invalid_request"
        },
        message: format!(
            "{} (the limit is {} bytes)",
            rejection.body_text(),
            shared.max_body_bytes
        ),
    })?;
    let request = ChatRequest::parse(&body)?;
    let conversation = request.conversation()?;
    // A slot for this request (the one written and those waiting for the model), or a refusal now:
    // a queue without a bound would keep clients waiting minutes per request ahead of them.
    let permit = Arc::clone(&shared.slots)
        .try_acquire_owned()
        .map_err(|_| ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            kind: "rate_limit_error",
            code: "too_many_requests",
            message: format!(
                "the model is busy: {} requests are already written or waiting",
                shared.max_requests
            ),
        })?;
    let persona = find_persona(&shared, request.model.clone()).await?;
    let turn = {
        let shared = Arc::clone(&shared);
        let limits = request.limits();
        blocking(move || {
            shared
                .runtime
                .client_turn(persona.id, &conversation, &limits)
        })
        .await??
    };
    let answer = Answer {
        id: format!("chatcmpl-{}", NEXT_ID.fetch_add(1, Ordering::Relaxed)),
        created: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        model: persona.slug,
    };
    let runtime = Arc::clone(&shared.runtime);
    if request.stream {
        let usage = request.stream_options.is_some_and(|o| o.include_usage);
        return Ok(stream(runtime, turn, permit, answer, usage).into_response());
    }
    let cancel = CancelToken::new();
    // A client that goes away drops this future, and with it the guard: the reply stops.
    let _stop_if_dropped = CancelOnDrop(cancel.clone());
    let reply = blocking(move || {
        let _permit = permit;
        runtime.reply_to_client(&turn, &mut |_| {}, &cancel)
    })
    .await??;
    Ok(Json(answer.whole(&reply)).into_response())
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// What every object of one answer repeats.
struct Answer {
    id: String,
    created: u64,
    model: String,
}

impl Answer {
    fn whole(&self, reply: &ClientReply) -> Value {
        let mut body = json!({
            "id": self.id, "object": "chat.completion", "created": self.created, "model": self.model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": reply.text},
                "finish_reason": finish_reason(reply),
            }],
            "usage": usage(reply),
        });
        if let Some(guard) = &reply.guard {
            body["kotodama"] = json!({ "guard": guard });
        }
        body
    }

    fn chunk(&self, delta: Value, finish: Option<&str>) -> Value {
        json!({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        })
    }

    fn usage_chunk(&self, reply: &ClientReply) -> Value {
        json!({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created,
            "model": self.model, "choices": [], "usage": usage(reply),
        })
    }
}

fn finish_reason(reply: &ClientReply) -> &'static str {
    match reply.stats.as_ref().map(|s| s.stop_reason) {
        Some(StopReason::MaxTokens | StopReason::ContextFull) => "length",
        _ => "stop",
    }
}

fn usage(reply: &ClientReply) -> Value {
    let (prompt, completion) = reply
        .stats
        .as_ref()
        .map_or((0, 0), |s| (s.prompt_tokens, s.generated_tokens));
    json!({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion})
}

/// Streams the reply as chat-completion chunks. Without a guard that may write again, pieces go out
/// as the model writes them; with one, each attempt is held back until judged (a client cannot take
/// back text it was sent), and the kept reply goes out once chosen.
fn stream(
    runtime: Arc<Runtime>,
    turn: ChatContext,
    permit: OwnedSemaphorePermit,
    answer: Answer,
    include_usage: bool,
) -> Sse<impl tokio_stream::Stream<Item = Result<Event, Infallible>>> {
    let (tx, rx) = mpsc::channel::<Value>(64);
    let cancel = CancelToken::new();
    let stop_if_dropped = CancelOnDrop(cancel.clone());
    let live = turn.guard_attempts() == 1;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let send = |value: Value| {
            if tx.blocking_send(value).is_err() {
                cancel.cancel();
            }
        };
        send(answer.chunk(json!({"role": "assistant", "content": ""}), None));
        let mut on_event = |event: ReplyEvent<'_>| {
            if let (true, ReplyEvent::Piece(text)) = (live, event) {
                send(answer.chunk(json!({"content": text}), None));
            }
        };
        match runtime.reply_to_client(&turn, &mut on_event, &cancel) {
            Ok(reply) => {
                if !live && !reply.text.is_empty() {
                    send(answer.chunk(json!({"content": reply.text}), None));
                }
                send(answer.chunk(json!({}), Some(finish_reason(&reply))));
                if include_usage {
                    send(answer.usage_chunk(&reply));
                }
            }
            Err(e) => send(ApiError::from(e).body()),
        }
    });
    let events = ReceiverStream::new(rx)
        .map(|value| Event::default().data(value.to_string()))
        .chain(tokio_stream::once(Event::default().data("[DONE]")))
        .map(move |event| {
            // The stream owns the guard: when the client goes away the body is dropped, and the reply
            // stops at its next token (held-back attempts included).
            let _owned = &stop_if_dropped;
            Ok(event)
        });
    Sse::new(events).keep_alive(KeepAlive::default())
}

/// Cancels the reply when dropped before it finished.
struct CancelOnDrop(CancelToken);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Runs blocking work (the database, the model) off the server's thread.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            kind: "server_error",
            code: "internal",
            message: format!("the request's work failed: {e}"),
        })
}
