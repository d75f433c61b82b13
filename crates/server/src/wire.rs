//! The OpenAI chat-completions wire format, as far as the server reads and writes it: the request's
//! conversation (text content only), what it asks of the reply's length and end, and the error body.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kotodama::{ClientLimits, ClientMessage, ClientRole};
use serde::Deserialize;
use serde_json::{json, Value};

/// What the server reads of a chat-completions request. Sampling fields (temperature, top_p, ...) are
/// accepted and left to the persona's own settings: the persona, not the client, decides how it speaks.
#[derive(Debug, Deserialize)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<WireMessage>,
    #[serde(default)]
    pub stream: bool,
    #[serde(default)]
    pub stream_options: Option<StreamOptions>,
    /// The longest reply the client takes (`max_completion_tokens` is the newer name).
    #[serde(default)]
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub max_completion_tokens: Option<u32>,
    #[serde(default)]
    pub stop: Option<Stop>,
}

/// `stop`: one string or several.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Stop {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Default, Deserialize)]
pub struct StreamOptions {
    #[serde(default)]
    pub include_usage: bool,
}

#[derive(Debug, Deserialize)]
pub struct WireMessage {
    pub role: String,
    #[serde(default)]
    pub content: Option<Content>,
}

/// A message's content: a string, or parts of which only text is understood.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Parts(Vec<Part>),
}

#[derive(Debug, Deserialize)]
pub struct Part {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub text: Option<String>,
}

impl ChatRequest {
    /// The request's body, or why it is not a chat-completions request.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        serde_json::from_slice(body).map_err(|e| {
            ApiError::invalid(format!("the body is not a chat-completions request: {e}"))
        })
    }

    /// What the client asks of the reply's length and end.
    pub fn limits(&self) -> ClientLimits {
        ClientLimits {
            max_tokens: self.max_completion_tokens.or(self.max_tokens),
            stop: match &self.stop {
                None => Vec::new(),
                Some(Stop::One(s)) => vec![s.clone()],
                Some(Stop::Many(v)) => v.clone(),
            },
        }
    }

    /// The conversation as the persona reads it.
    pub fn conversation(&self) -> Result<Vec<ClientMessage>, ApiError> {
        self.messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let role = match m.role.as_str() {
                    "system" | "developer" => ClientRole::System,
                    "user" => ClientRole::User,
                    "assistant" => ClientRole::Assistant,
                    other => {
                        return Err(ApiError::invalid(format!(
                            "messages[{i}]: role {other:?} is not supported (system, developer, user, assistant)"
                        )))
                    }
                };
                let text = match &m.content {
                    None => String::new(),
                    Some(Content::Text(t)) => t.clone(),
                    Some(Content::Parts(parts)) => parts
                        .iter()
                        .map(|p| match (p.kind.as_str(), &p.text) {
                            ("text", Some(t)) => Ok(t.as_str()),
                            (kind, _) => Err(ApiError::invalid(format!(
                                "messages[{i}]: content of type {kind:?} is not supported: only text"
                            ))),
                        })
                        .collect::<Result<Vec<_>, _>>()?
                        .join("\n"),
                };
                Ok(ClientMessage { role, text })
            })
            .collect()
    }
}

/// An error as OpenAI's clients read it: `{"error": {"message", "type", "code"}}` with its status.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            kind: "invalid_request_error",
            code: "invalid_request",
            message: message.into(),
        }
    }

    pub fn body(&self) -> Value {
        json!({"error": {"message": self.message, "type": self.kind, "param": null, "code": self.code}})
    }
}

impl From<kotodama::Error> for ApiError {
    fn from(e: kotodama::Error) -> Self {
        let code = e.code();
        let (status, kind) = match code {
            "INVALID_INPUT" | "CONTEXT_FULL" => (StatusCode::BAD_REQUEST, "invalid_request_error"),
            "NOT_FOUND" => (StatusCode::NOT_FOUND, "invalid_request_error"),
            "MODEL_NOT_INSTALLED" | "BUSY" => (StatusCode::SERVICE_UNAVAILABLE, "server_error"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
        };
        Self {
            status,
            kind,
            code: match code {
                "CONTEXT_FULL" => "context_length_exceeded",
                _ => code,
            },
            message: e.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            response
                .headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("5"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_parts_join_and_other_parts_are_refused_with_the_message_index() {
        let request = ChatRequest::parse(
            br#"{"model":"m","messages":[
                {"role":"system","content":"Be brief."},
                {"role":"user","content":[{"type":"text","text":"Hi"},{"type":"text","text":"there"}]},
                {"role":"assistant","content":null}]}"#,
        )
        .unwrap();
        let conversation = request.conversation().unwrap();
        assert_eq!(conversation[0].role, ClientRole::System);
        assert_eq!(conversation[1].text, "Hi\nthere");
        assert_eq!(conversation[2].text, "");
        assert!(!request.stream);

        let image = ChatRequest::parse(
            br#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}"#,
        )
        .unwrap();
        let err = image.conversation().unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert!(err.message.contains("messages[0]") && err.message.contains("image_url"));

        let tool =
            ChatRequest::parse(br#"{"model":"m","messages":[{"role":"tool","content":"x"}]}"#)
                .unwrap();
        assert!(tool
            .conversation()
            .unwrap_err()
            .message
            .contains("\"tool\""));
    }

    #[test]
    fn a_body_that_is_not_a_request_says_what_is_wrong() {
        for body in [&b"{"[..], b"[]", br#"{"model":"m"}"#, br#"{"messages":[]}"#] {
            let err = ChatRequest::parse(body).unwrap_err();
            assert_eq!(err.status, StatusCode::BAD_REQUEST);
            assert_eq!(err.body()["error"]["type"], "invalid_request_error");
        }
    }
}
