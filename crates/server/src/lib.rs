//! The local OpenAI-compatible server (`kotodama serve`, and the app's switch in Settings): any
//! OpenAI client (SillyTavern, the `openai` library) talks to a Kotodama persona through the local
//! engine, the persona's adapter and its guard. `GET /v1/models` lists each persona as a model;
//! `POST /v1/chat/completions` answers the client's conversation, whole or streamed. Bound to
//! loopback by default; a bearer token can be required.

mod routes;
pub mod wire;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use kotodama::Runtime;
use tokio::sync::{oneshot, Semaphore};

use wire::ApiError;

/// Where the server listens unless told otherwise: loopback only.
pub const DEFAULT_ADDR: &str = "127.0.0.1:11435";

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub addr: SocketAddr,
    /// When set, every request must carry `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// The largest request body accepted (413 above it).
    pub max_body_bytes: usize,
    /// Chat requests admitted at once: the one the model writes and those waiting for it; more are
    /// refused with 429.
    pub max_requests: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            addr: DEFAULT_ADDR.parse().expect("a valid address"),
            token: None,
            // A long roleplay with a big card and lorebook is well under 1 MiB of JSON.
            max_body_bytes: 4 << 20,
            max_requests: 4,
        }
    }
}

/// What every request handler reads.
struct Shared {
    runtime: Arc<Runtime>,
    token: Option<String>,
    slots: Arc<Semaphore>,
    max_requests: usize,
    max_body_bytes: usize,
}

/// The server's routes over `runtime`.
pub fn router(runtime: Arc<Runtime>, config: &ServerConfig) -> Router {
    let shared = Arc::new(Shared {
        runtime,
        token: config.token.clone(),
        slots: Arc::new(Semaphore::new(config.max_requests.max(1))),
        max_requests: config.max_requests.max(1),
        max_body_bytes: config.max_body_bytes,
    });
    Router::new()
        .route("/v1/models", get(routes::list_models))
        .route("/v1/models/{id}", get(routes::get_model))
        .route("/v1/chat/completions", post(routes::chat_completions))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&shared),
            require_token,
        ))
        .with_state(shared)
}

async fn not_found() -> ApiError {
    ApiError {
        status: StatusCode::NOT_FOUND,
        kind: "invalid_request_error",
        code: "not_found",
        message: "no such endpoint: this server has /v1/models and /v1/chat/completions".into(),
    }
}

async fn require_token(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = &shared.token else {
        return next.run(request).await;
    };
    let given = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if given.is_some_and(|g| same_secret(g.as_bytes(), token.as_bytes())) {
        return next.run(request).await;
    }
    ApiError {
        status: StatusCode::UNAUTHORIZED,
        kind: "invalid_request_error",
        code: "invalid_api_key",
        message: "this server needs `Authorization: Bearer <token>` with its token".into(),
    }
    .into_response()
}

/// Compares in time that does not depend on where the first difference is.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Serves on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    runtime: Arc<Runtime>,
    config: &ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(runtime, config))
        .with_graceful_shutdown(shutdown)
        .await
}

/// A server running on a thread of its own (the app's switch); stops when dropped.
pub struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Binds `config.addr` (an error now if it is taken) and serves from a thread of its own.
    pub fn start(runtime: Arc<Runtime>, config: ServerConfig) -> std::io::Result<Server> {
        let listener = std::net::TcpListener::bind(config.addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let io = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("kotodama-server".into())
            .spawn(move || {
                io.block_on(async move {
                    let result = match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => {
                            serve(listener, runtime, &config, async {
                                let _ = stopped.await;
                            })
                            .await
                        }
                        Err(e) => Err(e),
                    };
                    if let Err(e) = result {
                        tracing::error!("the local server stopped: {e}");
                    }
                });
            })?;
        Ok(Server {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Where it listens (the port chosen when the config asked for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests;
