//! Chats and messages as the front ends receive them. The store's rows keep the style columns as
//! JSON and the user's text inside the row it shares with a new message; these views are what the
//! window, the CLI and the local server read, with those columns typed.

use kotodama_store::{Chat, Message, MessageSource, Role, StyleScoreColumns};
use kotodama_style::OocFlag;
use serde::Serialize;

use crate::GuardReport;

/// One chat of a persona, as the chat list shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ChatSummary {
    pub id: i64,
    pub persona_id: i64,
    pub title: String,
    pub created_at: i64,
    /// When a message was last added or changed.
    pub updated_at: i64,
}

impl From<Chat> for ChatSummary {
    fn from(c: Chat) -> Self {
        ChatSummary {
            id: c.id,
            persona_id: c.persona_id,
            title: c.title,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A message of a chat: the chosen alternative of its position.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    pub id: i64,
    pub chat_id: i64,
    /// The message's position in its chat.
    pub seq: i64,
    /// Which of the position's alternatives (swipes) this is, from 0.
    pub alt_index: i64,
    /// How many alternatives the position holds (1 when it was never regenerated).
    pub alt_count: i64,
    pub role: Role,
    pub content: String,
    pub source: MessageSource,
    pub style: MessageStyle,
    /// The model that wrote it (None for the user's text, a greeting or a script line).
    pub model_id: Option<i64>,
    /// The adapter the model wrote it with, if any.
    pub adapter_id: Option<i64>,
    pub created_at: i64,
    /// When the user last changed the text; None when it is as written.
    pub edited_at: Option<i64>,
}

/// A message's style score against its persona's profile (the style meter), all None until scored.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct MessageStyle {
    pub overall: Option<f64>,
    pub lexical: Option<f64>,
    pub syntactic: Option<f64>,
    pub pragmatic: Option<f64>,
    /// What the score found out of character (None until scored).
    pub ooc_flags: Option<Vec<OocFlag>>,
    /// What the out-of-character guard did before keeping this reply; None when it caught nothing.
    pub guard: Option<GuardReport>,
}

impl From<StyleScoreColumns> for MessageStyle {
    /// A column this build cannot read (written by another version) shows as not there rather than
    /// failing the whole chat.
    fn from(s: StyleScoreColumns) -> Self {
        fn typed<T: serde::de::DeserializeOwned>(
            column: &str,
            json: Option<serde_json::Value>,
        ) -> Option<T> {
            let json = json.filter(|j| !j.is_null())?;
            serde_json::from_value(json)
                .inspect_err(|e| tracing::warn!("unreadable {column} column: {e}"))
                .ok()
        }
        MessageStyle {
            overall: s.overall,
            lexical: s.lexical,
            syntactic: s.syntactic,
            pragmatic: s.pragmatic,
            ooc_flags: typed("messages.ooc_flags", s.ooc_flags),
            guard: typed("messages.guard", s.guard),
        }
    }
}

impl From<Message> for MessageView {
    fn from(m: Message) -> Self {
        MessageView {
            id: m.id,
            chat_id: m.chat_id,
            seq: m.seq,
            alt_index: m.alt_index,
            alt_count: m.alt_count,
            role: m.message.role,
            content: m.message.content,
            source: m.message.source,
            style: m.message.style.into(),
            model_id: m.message.model_id,
            adapter_id: m.message.adapter_id,
            created_at: m.created_at,
            edited_at: m.edited_at,
        }
    }
}

/// One message of a prompt as the model is given it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct PromptTurn {
    /// `system`, `user` or `assistant`.
    pub role: String,
    pub content: String,
}

#[cfg(test)]
mod tests {
    use kotodama_store::NewMessage;

    use super::*;

    fn stored(style: StyleScoreColumns) -> Message {
        Message {
            id: 7,
            chat_id: 2,
            seq: 3,
            alt_index: 1,
            alt_count: 2,
            message: NewMessage {
                role: Role::Assistant,
                content: "Hmph.".into(),
                source: MessageSource::Model,
                style,
                model_id: Some(1),
                adapter_id: None,
            },
            created_at: 10,
            edited_at: Some(11),
        }
    }

    #[test]
    fn a_message_reads_its_style_columns_typed() {
        let guard = serde_json::json!({
            "action": "regenerate",
            "attempts": 2,
            "kept": 2,
            "caught": ["it spoke as an assistant"],
        });
        let flags = serde_json::json!([{ "kind": "assistant_speak", "cause": "As an AI" }]);
        let view = MessageView::from(stored(StyleScoreColumns {
            overall: Some(0.8),
            ooc_flags: Some(flags),
            guard: Some(guard),
            ..Default::default()
        }));
        assert_eq!((view.content.as_str(), view.alt_index), ("Hmph.", 1));
        assert_eq!(view.style.overall, Some(0.8));
        let report = view.style.guard.expect("the guard's report, typed");
        assert_eq!((report.attempts, report.kept), (2, 2));
        assert_eq!(view.style.ooc_flags.map(|f| f.len()), Some(1));
    }

    #[test]
    fn an_unreadable_style_column_reads_as_absent() {
        let view = MessageView::from(stored(StyleScoreColumns {
            overall: Some(0.5),
            ooc_flags: Some(serde_json::json!("not a list")),
            guard: Some(serde_json::json!({ "action": 3 })),
            ..Default::default()
        }));
        assert_eq!(view.style.overall, Some(0.5));
        assert_eq!(view.style.ooc_flags, None);
        assert_eq!(view.style.guard, None);
    }
}
