//! Chats: personas as the UI lists them, chats opened, started and changed (`controls`), and a
//! reply's way from the user's message to the stored answer: the turn (`turn`: stored, gathered,
//! finished), the model writing it (`replier`), the out-of-character guard (`guard`) and the script
//! line that answers when no model is installed (`scripted`). A client of the local server brings its
//! own conversation (`client`).

mod backend;
mod client;
pub(crate) mod controls;
#[cfg(any(test, feature = "test-support"))]
mod fake;
pub(crate) mod guard;
mod local;
mod remote;
mod replier;
mod scripted;
mod turn;
mod view;
mod window;

pub use client::{ClientLimits, ClientMessage, ClientRole};
pub use guard::{GuardReport, MAX_ATTEMPTS};
pub(crate) use replier::PENALTY_WINDOW;
pub use replier::{CachedChat, Replier, ReplierStatus};
pub use turn::{ChatContext, PendingReply, Reply, ReplyEvent, USER_NAME};
pub use view::{ChatSummary, MessageStyle, MessageView, PromptTurn};

use kotodama_store::{Chat, Message, MessageSource, NewMessage, Role};
use serde::Serialize;

use crate::user_personas::UserPersonaView;
use crate::{Kotodama, PersonaSummary, Result};
use turn::plain_message;

/// Longest message accepted from the user (characters).
pub const MAX_MESSAGE_CHARS: usize = 16_000;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ChatView {
    pub chat: ChatSummary,
    pub persona: PersonaSummary,
    pub messages: Vec<MessageView>,
    /// All chats with this persona (this one included), most recently active first.
    pub chats: Vec<ChatSummary>,
    /// Who the user is in this chat.
    pub you: ChatUser,
}

/// Who the user is in a chat, and whom they can choose to be.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ChatUser {
    /// `{{user}}` in this chat's prompts and greetings.
    pub name: String,
    /// The persona the chat names; None: the default.
    pub user_persona_id: Option<i64>,
    pub choices: Vec<UserPersonaView>,
}

impl Kotodama {
    /// The persona's most recent chat, or a new one opened by its greeting.
    pub fn open_chat(&mut self, persona_id: i64) -> Result<ChatView> {
        match self.store.chats(persona_id)?.into_iter().next() {
            Some(chat) => self.chat_view(chat),
            None => self.new_chat(persona_id),
        }
    }

    /// Starts a new chat; the card's first message opens it, its alternate greetings are that
    /// message's alternatives (swipes).
    pub fn new_chat(&mut self, persona_id: i64) -> Result<ChatView> {
        let persona = self.store.persona(persona_id)?;
        let card = &persona.card;
        let greetings: Vec<NewMessage> = std::iter::once(&card.first_message)
            .chain(&card.alternate_greetings)
            .map(|g| g.trim())
            .filter(|g| !g.is_empty())
            .map(|g| plain_message(Role::Assistant, MessageSource::Greeting, g.to_string()))
            .collect();
        let chat = self.store.create_chat_with_greetings(
            persona_id,
            &format!("Chat with {}", card.name),
            &greetings,
        )?;
        self.chat_view(chat)
    }

    /// The persona's chats, most recently active first.
    pub fn chats(&self, persona_id: i64) -> Result<Vec<ChatSummary>> {
        self.store.persona(persona_id)?;
        self.summaries(persona_id)
    }

    pub fn chat(&self, chat_id: i64) -> Result<ChatView> {
        self.chat_view(self.store.chat(chat_id)?)
    }

    fn chat_view(&self, chat: Chat) -> Result<ChatView> {
        let persona = self.summary(self.store.persona(chat.persona_id)?)?;
        let messages = self.shown(chat.id, self.store.messages(chat.id)?)?;
        Ok(ChatView {
            persona,
            messages,
            chats: self.summaries(chat.persona_id)?,
            you: ChatUser {
                name: self.you_in_chat(chat.id)?.name,
                user_persona_id: chat.user_persona_id,
                choices: self.user_personas()?.personas,
            },
            chat: chat.into(),
        })
    }

    /// Messages of chat `chat_id` as shown: `{{user}}` and `{{char}}` (a greeting's, say) filled with
    /// the chat's names.
    pub(crate) fn shown(&self, chat_id: i64, messages: Vec<Message>) -> Result<Vec<MessageView>> {
        let persona = self.store.persona(self.store.chat(chat_id)?.persona_id)?;
        let you = self.you_in_chat(chat_id)?;
        Ok(messages
            .into_iter()
            .map(|m| {
                let mut view = MessageView::from(m);
                view.content = crate::prompt::fill(&view.content, &persona.card.name, &you.name);
                view
            })
            .collect())
    }

    /// One message of a chat as shown (see `shown`).
    pub(crate) fn shown_one(&self, message: Message) -> Result<MessageView> {
        let chat_id = message.chat_id;
        Ok(self.shown(chat_id, vec![message])?.remove(0))
    }

    /// What the model would be given to reply next in the chat: the system prompt (from the card, with
    /// the lorebook entries the chat calls for, counted by estimate) and the chat so far. The oldest
    /// turns a model with a short context drops are still shown.
    pub fn next_prompt(&mut self, chat_id: i64) -> Result<Vec<PromptTurn>> {
        let context = self.chat_context(chat_id)?;
        let mut turns = context.draft.turns.clone();
        local::add_lore(
            remote::estimated_tokens,
            &context.draft.prompt(chat_id),
            &mut turns[0].content,
        );
        Ok(turns
            .into_iter()
            .map(|t| PromptTurn {
                role: t.role,
                content: t.content,
            })
            .collect())
    }

    fn summaries(&self, persona_id: i64) -> Result<Vec<ChatSummary>> {
        let chats = self.store.chats(persona_id)?;
        Ok(chats.into_iter().map(ChatSummary::from).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Home;

    use crate::temp_app as open;

    #[test]
    fn bundled_personas_are_listed_with_their_lines() {
        let (_dir, app) = open();
        let personas = app.personas().unwrap();
        assert!(personas.len() >= 3);
        for p in &personas {
            assert!(p.line_count >= 300, "{}", p.slug);
            assert_eq!(p.initial, p.name[..1].to_uppercase());
        }
    }

    #[test]
    fn a_chat_opens_with_the_greeting_and_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let (chat_id, persona_id) = {
            let mut app = Kotodama::open(Home::at(dir.path())).unwrap();
            let persona = app.personas().unwrap()[0].clone();
            let view = app.open_chat(persona.id).unwrap();
            assert_eq!(view.messages.len(), 1);
            assert_eq!(view.messages[0].source, MessageSource::Greeting);
            let added = app
                .send_message(view.chat.id, "Can you help me with something?")
                .unwrap();
            assert_eq!(added.len(), 2);
            assert_eq!(added[1].source, MessageSource::Script);
            let lines = app.store.script_lines(persona.id).unwrap();
            assert!(
                lines.iter().any(|l| l.line.text == added[1].content),
                "the reply is one of the persona's lines"
            );
            (view.chat.id, persona.id)
        };
        let mut app = Kotodama::open(Home::at(dir.path())).unwrap();
        let view = app.open_chat(persona_id).unwrap();
        assert_eq!(view.chat.id, chat_id, "the last chat reopens");
        assert_eq!(view.messages.len(), 3);
        assert_eq!(view.messages[1].content, "Can you help me with something?");
    }
}

#[cfg(test)]
#[path = "reply_tests.rs"]
mod reply_tests;
