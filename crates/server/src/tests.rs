//! The server on loopback over a real runtime (a temporary data folder with the bundled personas),
//! through a real HTTP client. Without a chat model the persona answers from its script; the tests
//! that need the model's streaming use SmolLM2 when `KOTODAMA_SMOLLM2_GGUF` names it.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kotodama::{GuardAction, Home, Runtime};
use serde_json::{json, Value};

use super::*;

struct Served {
    _dir: tempfile::TempDir,
    runtime: Arc<Runtime>,
    server: Server,
}

fn serve_with(config: ServerConfig) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Arc::new(Runtime::open(Home::at(dir.path())).unwrap());
    let server = Server::start(
        Arc::clone(&runtime),
        ServerConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            ..config
        },
    )
    .unwrap();
    Served {
        _dir: dir,
        runtime,
        server,
    }
}

fn serve() -> Served {
    serve_with(ServerConfig::default())
}

impl Served {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.server.addr())
    }

    /// The status and JSON body of a request (errors included): a POST of `body`, or a GET.
    fn call(&self, path: &str, body: Option<&[u8]>, token: Option<&str>) -> (u16, Value) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut response = match body {
            Some(body) => {
                let mut request = agent
                    .post(self.url(path))
                    .header("content-type", "application/json");
                if let Some(t) = token {
                    request = request.header("authorization", &format!("Bearer {t}"));
                }
                request.send(body)
            }
            None => {
                let mut request = agent.get(self.url(path));
                if let Some(t) = token {
                    request = request.header("authorization", &format!("Bearer {t}"));
                }
                request.call()
            }
        }
        .unwrap();
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    fn chat(&self, request: &Value) -> (u16, Value) {
        self.call(
            "/v1/chat/completions",
            Some(request.to_string().as_bytes()),
            None,
        )
    }

    /// The `data:` payloads of a streamed answer, `[DONE]` last.
    fn stream(&self, request: &Value) -> Vec<String> {
        let mut response = ureq::post(self.url("/v1/chat/completions"))
            .header("content-type", "application/json")
            .send(request.to_string())
            .unwrap();
        assert_eq!(
            response.headers().get("content-type").unwrap(),
            "text/event-stream"
        );
        let text = response.body_mut().read_to_string().unwrap();
        text.lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .map(str::to_string)
            .collect()
    }

    /// How many tokens of a conversation the model holds in its cache.
    fn cached_tokens(&self) -> usize {
        self.runtime
            .status()
            .replier
            .unwrap()
            .cached
            .unwrap()
            .tokens
    }

    /// Sets the persona's sampler to greedy and its guard to `action`.
    fn settle(&self, slug: &str, action: GuardAction) -> i64 {
        self.runtime
            .core(|k| {
                let persona = k.personas()?.into_iter().find(|p| p.slug == slug).unwrap();
                let mut settings = k.chat_settings(persona.id)?;
                settings.temperature = 0.0;
                settings.guard.action = action;
                k.set_chat_settings(persona.id, &settings)?;
                Ok(persona.id)
            })
            .unwrap()
    }
}

fn ask(model: &str, text: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": text}]})
}

#[test]
fn models_lists_every_persona_by_slug_and_names_one() {
    let served = serve();
    let personas = served.runtime.core(|k| k.personas()).unwrap();
    let (status, body) = served.call("/v1/models", None, None);
    assert_eq!(status, 200);
    let ids: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    let slugs: Vec<&str> = personas.iter().map(|p| p.slug.as_str()).collect();
    assert_eq!(ids, slugs);
    let (status, one) = served.call(&format!("/v1/models/{}", slugs[0]), None, None);
    assert_eq!(
        (status, one["name"].as_str()),
        (200, Some(personas[0].name.as_str()))
    );
    let (status, missing) = served.call("/v1/models/nobody", None, None);
    assert_eq!(
        (status, missing["error"]["code"].as_str()),
        (404, Some("model_not_found"))
    );
}

#[test]
fn a_persona_answers_from_its_script_without_a_model_whole_and_streamed() {
    let served = serve();
    let slug = served.runtime.core(|k| k.personas()).unwrap()[0]
        .slug
        .clone();
    let (status, body) = served.chat(&ask(&slug, "Good morning! How are you today?"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], slug.as_str());
    let text = body["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(!text.trim().is_empty());
    assert_eq!(body["choices"][0]["finish_reason"], "stop");

    let mut request = ask(&slug, "Good morning! How are you today?");
    request["stream"] = json!(true);
    let events = served.stream(&request);
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let streamed: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(streamed, text, "the script's best line, whole or streamed");
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "stop"
    );
}

#[test]
fn bad_requests_get_openai_shaped_errors() {
    let served = serve_with(ServerConfig {
        max_body_bytes: 64 * 1024,
        ..ServerConfig::default()
    });
    let slug = served.runtime.core(|k| k.personas()).unwrap()[0]
        .slug
        .clone();
    let post = |body: &[u8]| served.call("/v1/chat/completions", Some(body), None);
    let (status, body) = post(b"{\"model\": ");
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (400, Some("invalid_request_error"))
    );
    let (status, body) = served.chat(&ask("nobody", "Hi"));
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("model_not_found"))
    );
    let (status, body) =
        served.chat(&json!({"model": slug, "messages": [{"role": "assistant", "content": "Hi"}]}));
    assert_eq!(status, 400);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("must end with a message of the user"));
    let huge = ask(&slug, &"a".repeat(100 * 1024)).to_string();
    let (status, body) = post(huge.as_bytes());
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("request_too_large"))
    );
    let (status, body) = served.call("/v1/embeddings", None, None);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    // The server still answers after all of that.
    assert_eq!(served.chat(&ask(&slug, "Hello")).0, 200);
}

#[test]
fn a_token_is_required_when_set() {
    let served = serve_with(ServerConfig {
        token: Some("s3cret".into()),
        ..ServerConfig::default()
    });
    assert_eq!(served.call("/v1/models", None, None).0, 401);
    assert_eq!(served.call("/v1/models", None, Some("wrong")).0, 401);
    let (status, body) = served.call("/v1/models", None, Some("s3cret"));
    assert_eq!(status, 200, "{body}");
}

/// Requests beyond the admitted ones are refused at once with 429, and admitted again once a slot frees.
#[test]
fn too_many_requests_are_refused_then_admitted_when_a_slot_frees() {
    let served = Arc::new(serve_with(ServerConfig {
        max_requests: 1,
        ..ServerConfig::default()
    }));
    let slug = served.runtime.core(|k| k.personas()).unwrap()[0]
        .slug
        .clone();
    // Holding the database keeps the first request in its slot (it waits to gather its turn).
    let core = served.runtime.lock_core().unwrap();
    let first = {
        let (served, slug) = (Arc::clone(&served), slug.clone());
        std::thread::spawn(move || served.chat(&ask(&slug, "First")).0)
    };
    std::thread::sleep(Duration::from_millis(300));
    let (status, body) = served.chat(&ask(&slug, "Second"));
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (429, Some("rate_limit_error"))
    );
    drop(core);
    assert_eq!(first.join().unwrap(), 200);
    assert_eq!(served.chat(&ask(&slug, "Third")).0, 200);
}

fn with_smollm2() -> Option<Served> {
    let Some(gguf) = std::env::var_os("KOTODAMA_SMOLLM2_GGUF") else {
        eprintln!("skipped: KOTODAMA_SMOLLM2_GGUF is not set (`make models` provides it)");
        return None;
    };
    let served = serve_with(ServerConfig {
        max_requests: 1,
        ..ServerConfig::default()
    });
    let models = served.runtime.core(|k| Ok(k.home().models_dir())).unwrap();
    kotodama::models::ModelManager::new(models)
        .add_file("smol", std::path::Path::new(&gguf))
        .unwrap();
    served.runtime.set_chat_model("smol").unwrap();
    Some(served)
}

/// With the guard off, pieces stream as the model writes them, and the streamed reply is the whole one.
#[test]
fn a_model_reply_streams_piece_by_piece_and_matches_the_whole_answer() {
    let Some(served) = with_smollm2() else { return };
    let slug = "tsubaki";
    served.settle(slug, GuardAction::Off);
    let mut request = ask(slug, "Tell me about your favourite tea.");
    let (status, whole) = served.chat(&request);
    assert_eq!(status, 200, "{whole}");
    assert!(whole["usage"]["completion_tokens"].as_u64().unwrap() > 0);
    request["stream"] = json!(true);
    request["stream_options"] = json!({"include_usage": true});
    let events = served.stream(&request);
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    let pieces: Vec<&str> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .filter(|p| !p.is_empty())
        .collect();
    assert!(pieces.len() > 3, "streamed in pieces: {pieces:?}");
    assert_eq!(
        pieces.concat(),
        whole["choices"][0]["message"]["content"].as_str().unwrap()
    );
    assert_eq!(chunks.last().unwrap()["usage"], whole["usage"]);
}

/// A client that hangs up mid-stream stops the reply: the model's cache ends a few tokens after where
/// the client left, not at the end of the reply it would have written, and the slot is free again.
#[test]
fn a_client_that_disconnects_mid_stream_stops_the_reply_and_frees_its_slot() {
    let Some(served) = with_smollm2() else { return };
    let slug = "tsubaki";
    served.settle(slug, GuardAction::Off);
    let request = ask(
        slug,
        "Count slowly from one to one hundred, one number per line.",
    );
    let (status, whole) = served.chat(&request);
    assert_eq!(status, 200);
    let full = served.cached_tokens();
    let written = whole["usage"]["completion_tokens"].as_u64().unwrap() as usize;
    assert!(
        written > 40,
        "the full reply is long enough to cut: {written} tokens"
    );

    let mut streamed = request.clone();
    streamed["stream"] = json!(true);
    let body = streamed.to_string();
    let mut socket = TcpStream::connect(served.server.addr()).unwrap();
    write!(
        socket,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reader = BufReader::new(socket.try_clone().unwrap());
    let mut contents = 0;
    while contents < 3 {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        contents +=
            usize::from(line.contains("\"content\":\"") && !line.contains("\"content\":\"\""));
    }
    drop(reader);
    socket.shutdown(std::net::Shutdown::Both).unwrap();
    drop(socket);

    // The stopped reply leaves its conversation in the model's cache: the prompt and the few tokens
    // written before the stop, fewer than the full reply's.
    let start = Instant::now();
    let cut = loop {
        let cached = served.cached_tokens();
        if cached < full {
            break cached;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the reply was not stopped"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        full - cut > 20,
        "stopped {} tokens before the end",
        full - cut
    );
    assert_eq!(
        served.chat(&ask(slug, "Hello")).0,
        200,
        "the slot is free again"
    );
}
