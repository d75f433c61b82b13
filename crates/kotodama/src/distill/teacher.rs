//! Teachers of the style rewrite: each turns a character's line into a plain, neutral sentence with the
//! same meaning. (a) a local model through the engine, (b) an OpenAI-compatible endpoint (llama.cpp
//! server, Ollama, LM Studio, vLLM), (c) the deterministic neutralizer driven by the profile.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Duration;

use kotodama_engine::{CancelToken, ChatMessage, ChatSession, Model, SamplingParams};
use kotodama_style::StyleProfile;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

const INSTRUCTION: &str = "Rewrite the user's line as one plain, neutral sentence in standard English. \
Keep its meaning; drop the speaker's mannerisms, catchphrases, dialect, honorifics and stage directions. \
Answer with the sentence only.";
/// A neutral sentence is about as long as the line; this bounds a rambling teacher.
const MAX_TOKENS: usize = 96;
const HTTP_TIMEOUT: Duration = Duration::from_secs(120);

pub trait Teacher {
    fn neutralize(&mut self, line: &str) -> Result<String>;
    /// How the report names this teacher.
    fn name(&self) -> String;
}

/// Which teacher a job uses (stored in the job's parameters).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum TeacherSpec {
    #[default]
    Rules,
    Local {
        model: PathBuf,
    },
    OpenAi {
        url: String,
        model: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api_key: Option<String>,
    },
}

impl TeacherSpec {
    /// `rules`, `local:PATH` or `openai:URL[#MODEL]` (the key comes from `OPENAI_API_KEY`).
    pub fn parse(spec: &str) -> Result<Self> {
        if spec == "rules" {
            return Ok(Self::Rules);
        }
        if let Some(path) = spec.strip_prefix("local:") {
            return Ok(Self::Local { model: path.into() });
        }
        if let Some(rest) = spec.strip_prefix("openai:") {
            let (url, model) = rest.split_once('#').unwrap_or((rest, "default"));
            return Ok(Self::OpenAi {
                url: url.to_string(),
                model: model.to_string(),
                api_key: std::env::var("OPENAI_API_KEY")
                    .ok()
                    .filter(|k| !k.is_empty()),
            });
        }
        Err(Error::InvalidInput(format!(
            "unknown teacher {spec:?}: use rules, local:PATH or openai:URL#MODEL"
        )))
    }

    pub fn build(&self, profile: &StyleProfile) -> Result<Box<dyn Teacher>> {
        Ok(match self {
            Self::Rules => Box::new(RulesTeacher::new(profile.clone())),
            Self::Local { model } => Box::new(LocalTeacher::load(model)?),
            Self::OpenAi {
                url,
                model,
                api_key,
            } => Box::new(OpenAiTeacher::new(url, model, api_key.clone())),
        })
    }
}

/// (c) The deterministic neutralizer (`kotodama_style::neutralize`).
pub struct RulesTeacher {
    profile: StyleProfile,
}

impl RulesTeacher {
    pub fn new(profile: StyleProfile) -> Self {
        Self { profile }
    }
}

impl Teacher for RulesTeacher {
    fn neutralize(&mut self, line: &str) -> Result<String> {
        Ok(kotodama_style::neutralize(line, &self.profile))
    }

    fn name(&self) -> String {
        "rules".into()
    }
}

/// The first line of a model's answer, without quotes it may have wrapped the sentence in.
fn first_sentence(answer: &str) -> String {
    let line = answer
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    line.trim_matches(|c| c == '"' || c == '“' || c == '”')
        .to_string()
}

fn prompt(line: &str) -> [ChatMessage; 2] {
    [
        ChatMessage::new("system", INSTRUCTION),
        ChatMessage::new("user", line),
    ]
}

/// (a) A local model run greedily through the engine.
pub struct LocalTeacher {
    model: Model,
    name: String,
}

impl LocalTeacher {
    pub fn load(path: &std::path::Path) -> Result<Self> {
        let model = Model::load(path, crate::models::load_options()?)?;
        Ok(Self {
            name: format!("local:{}", model.info().name),
            model,
        })
    }
}

impl Teacher for LocalTeacher {
    fn neutralize(&mut self, line: &str) -> Result<String> {
        let mut answer = String::new();
        ChatSession::new(&self.model).generate(
            &prompt(line),
            &SamplingParams::greedy(MAX_TOKENS),
            |piece| {
                answer.push_str(piece);
                ControlFlow::Continue(())
            },
            &CancelToken::new(),
        )?;
        Ok(first_sentence(&answer))
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}

/// (b) An OpenAI-compatible chat-completions endpoint.
pub struct OpenAiTeacher {
    endpoint: String,
    model: String,
    api_key: Option<String>,
    agent: ureq::Agent,
}

impl OpenAiTeacher {
    /// `url` is the server's base (`http://127.0.0.1:8080`) or its `/v1` root.
    pub fn new(url: &str, model: &str, api_key: Option<String>) -> Self {
        Self {
            endpoint: crate::settings::RemoteModel::endpoint_of(url),
            model: model.to_string(),
            api_key,
            agent: crate::models::download::http_agent(Some(HTTP_TIMEOUT)),
        }
    }
}

impl Teacher for OpenAiTeacher {
    fn neutralize(&mut self, line: &str) -> Result<String> {
        let fail = |why: String| Error::Teacher(format!("{}: {why}", self.endpoint));
        let messages: Vec<serde_json::Value> = prompt(line)
            .iter()
            .map(|m| serde_json::json!({"role": m.role, "content": m.content}))
            .collect();
        let body = serde_json::json!({
            "model": self.model, "messages": messages, "temperature": 0, "max_tokens": MAX_TOKENS,
        });
        let mut request = self
            .agent
            .post(&self.endpoint)
            .header("Content-Type", "application/json");
        if let Some(key) = &self.api_key {
            request = request.header("Authorization", &format!("Bearer {key}"));
        }
        let mut response = request
            .send(body.to_string())
            .map_err(|e| fail(format!("unreachable ({e})")))?;
        let status = response.status();
        let text = response
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_string()
            .map_err(|e| fail(format!("unreadable answer ({e})")))?;
        if !status.is_success() {
            return Err(fail(format!(
                "HTTP {status}: {}",
                text.chars().take(200).collect::<String>()
            )));
        }
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|_| fail("the answer is not JSON".into()))?;
        let content = json["choices"][0]["message"]["content"]
            .as_str()
            .ok_or_else(|| fail("no choices[0].message.content in the answer".into()))?;
        Ok(first_sentence(content))
    }

    fn name(&self) -> String {
        format!("openai:{}#{}", self.endpoint, self.model)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    use super::*;

    /// A real HTTP server on loopback answering every request with `status` and `body`; returns its
    /// base URL and the request bodies it received.
    fn serve(status: u16, body: &'static str) -> (String, std::sync::mpsc::Receiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).unwrap();
                    if header.trim().is_empty() {
                        break;
                    }
                    if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                }
                let mut request = vec![0; length];
                reader.read_exact(&mut request).unwrap();
                let _ = tx.send(String::from_utf8(request).unwrap());
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        (url, rx)
    }

    #[test]
    fn an_openai_compatible_endpoint_neutralizes_a_line() {
        let (url, requests) = serve(
            200,
            r#"{"choices":[{"message":{"role":"assistant","content":"\"You are late.\"\nExtra."}}]}"#,
        );
        let mut teacher = OpenAiTeacher::new(&format!("{url}/v1/"), "qwen3", Some("k".into()));
        assert_eq!(
            teacher.neutralize("Thou art late!").unwrap(),
            "You are late."
        );
        let sent: serde_json::Value = serde_json::from_str(&requests.recv().unwrap()).unwrap();
        assert_eq!(sent["model"], "qwen3");
        assert_eq!(sent["messages"][1]["content"], "Thou art late!");
        assert_eq!(sent["temperature"], 0);
    }

    #[test]
    fn a_down_or_garbled_endpoint_gives_a_clear_error() {
        let (url, _) = serve(200, "<html>not json</html>");
        let err = OpenAiTeacher::new(&url, "m", None)
            .neutralize("Hi")
            .unwrap_err();
        assert_eq!(err.code(), "TEACHER_FAILED");
        assert!(err.to_string().contains("not JSON"), "{err}");

        let (url, _) = serve(500, r#"{"error":"overloaded"}"#);
        let err = OpenAiTeacher::new(&url, "m", None)
            .neutralize("Hi")
            .unwrap_err();
        assert!(err.to_string().contains("HTTP 500"), "{err}");

        // Nothing listens on a port that was just closed.
        let closed = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let err = OpenAiTeacher::new(&format!("http://{closed}"), "m", None)
            .neutralize("Hi")
            .unwrap_err();
        assert!(err.to_string().contains("unreachable"), "{err}");
    }

    #[test]
    fn teacher_specs_parse() {
        assert_eq!(TeacherSpec::parse("rules").unwrap(), TeacherSpec::Rules);
        assert_eq!(
            TeacherSpec::parse("local:/m/q.gguf").unwrap(),
            TeacherSpec::Local {
                model: "/m/q.gguf".into()
            }
        );
        match TeacherSpec::parse("openai:http://127.0.0.1:8080#qwen3").unwrap() {
            TeacherSpec::OpenAi { url, model, .. } => {
                assert_eq!(
                    (url.as_str(), model.as_str()),
                    ("http://127.0.0.1:8080", "qwen3")
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            TeacherSpec::parse("gpt").unwrap_err().code(),
            "INVALID_INPUT"
        );
    }
}
