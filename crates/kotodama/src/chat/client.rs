//! A conversation a client keeps (a request to the OpenAI-compatible server): the persona answers it
//! as it answers a chat, with its card, adapter, lorebook and guard, but nothing is stored; the client
//! sends the whole conversation each time.

use std::collections::HashSet;

use kotodama_engine::ChatMessage;

use super::turn::ChatContext;
use crate::{Error, Kotodama, Result};

/// The key a client conversation's KV cache is kept under. The model keeps one conversation's cache
/// and reuses only the token prefix it shares with the next prompt, so a client's next turn prefills
/// just the new messages, and alternating with the app's chats costs a prefill, never a wrong answer.
pub const CLIENT_CHAT_ID: i64 = -1;

/// Who said a message of a client's conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientRole {
    /// Instructions from the client (its system prompt): added after the persona's own.
    System,
    User,
    /// The persona's earlier replies.
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMessage {
    pub role: ClientRole,
    pub text: String,
}

/// What a client asks of the reply's length and end, on top of the persona's own settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientLimits {
    /// The longest reply the client takes (the persona's own limit if that is shorter).
    pub max_tokens: Option<u32>,
    /// Strings that end the reply, besides the persona's.
    pub stop: Vec<String>,
}

impl Kotodama {
    /// What persona `persona_id`'s reply to a client's conversation needs. The conversation must end
    /// with a message of the user; empty messages are left out.
    pub fn client_turn(
        &mut self,
        persona_id: i64,
        messages: &[ClientMessage],
        limits: &ClientLimits,
    ) -> Result<ChatContext> {
        let (last, earlier) = messages
            .iter()
            .filter(|m| !m.text.trim().is_empty())
            .collect::<Vec<_>>()
            .split_last()
            .map(|(last, earlier)| (*last, earlier.to_vec()))
            .ok_or_else(|| Error::InvalidInput("the conversation has no messages".into()))?;
        if last.role != ClientRole::User {
            return Err(Error::InvalidInput(
                "the conversation must end with a message of the user".into(),
            ));
        }
        let notes: Vec<&str> = earlier
            .iter()
            .filter(|m| m.role == ClientRole::System)
            .map(|m| m.text.trim())
            .collect();
        let turns: Vec<ChatMessage> = earlier
            .iter()
            .filter_map(|m| match m.role {
                ClientRole::System => None,
                ClientRole::User => Some(ChatMessage::new("user", m.text.clone())),
                ClientRole::Assistant => Some(ChatMessage::new("assistant", m.text.clone())),
            })
            .collect();
        let said = turns
            .iter()
            .map(|t| t.content.clone())
            .collect::<HashSet<_>>();
        let mut draft = self.draft(
            persona_id,
            &turns,
            Some(&last.text),
            &said,
            Some(&notes.join("\n\n")),
            // A client sends its own user persona, if any, in its messages.
            &crate::user_personas::You::anonymous(),
        )?;
        let settings = &mut draft.settings;
        if let Some(max) = limits.max_tokens {
            settings.max_reply_tokens = settings.max_reply_tokens.min(max.max(1));
        }
        settings.stop_strings.extend(limits.stop.iter().cloned());
        crate::settings::check_stop_strings(&settings.stop_strings)?;
        Ok(ChatContext {
            chat_id: CLIENT_CHAT_ID,
            draft,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::temp_app;

    fn message(role: ClientRole, text: &str) -> ClientMessage {
        ClientMessage {
            role,
            text: text.into(),
        }
    }

    #[test]
    fn a_client_conversation_becomes_the_personas_prompt_with_the_clients_notes_after_the_card() {
        let (_dir, mut app) = temp_app();
        let persona = app.personas().unwrap()[0].clone();
        let turn = app
            .client_turn(
                persona.id,
                &[
                    message(ClientRole::System, "The user is called Alex."),
                    message(ClientRole::User, "Hi!"),
                    message(ClientRole::Assistant, "Hello."),
                    message(ClientRole::User, "   "),
                    message(ClientRole::User, "How are you?"),
                ],
                &ClientLimits {
                    max_tokens: Some(50),
                    stop: vec!["\nAlex:".into()],
                },
            )
            .unwrap();
        let turns = &turn.draft.turns;
        let roles: Vec<&str> = turns.iter().map(|t| t.role.as_str()).collect();
        assert_eq!(roles, ["system", "user", "assistant", "user"]);
        let card_prompt =
            crate::prompt::system_prompt(&app.persona(persona.id).unwrap().card, "User");
        assert_eq!(
            turns[0].content,
            format!("{card_prompt}\n\nThe user is called Alex.")
        );
        assert_eq!(turns[3].content, "How are you?");
        assert_eq!(turn.chat_id, CLIENT_CHAT_ID);
        // The client's limits apply on top of the persona's.
        assert_eq!(turn.draft.settings.max_reply_tokens, 50);
        assert_eq!(turn.draft.settings.stop_strings, ["\n{{user}}:", "\nAlex:"]);
        // The guard compares the reply with the persona's replies in this conversation.
        assert_eq!(
            turn.draft.recent.last().map(String::as_str),
            Some("How are you?")
        );
    }

    #[test]
    fn a_client_conversation_must_end_with_the_users_message_within_the_stop_strings_limit() {
        let (_dir, mut app) = temp_app();
        let persona = app.personas().unwrap()[0].id;
        let mut err = |messages: &[ClientMessage]| {
            app.client_turn(persona, messages, &ClientLimits::default())
                .unwrap_err()
                .to_string()
        };
        assert!(err(&[]).contains("no messages"));
        assert!(err(&[
            message(ClientRole::User, "Hi"),
            message(ClientRole::Assistant, "Hey")
        ])
        .contains("must end with a message of the user"));
        assert!(app
            .client_turn(
                999_999,
                &[message(ClientRole::User, "Hi")],
                &ClientLimits::default()
            )
            .is_err());
    }
}
