//! Changing a chat after the fact: choose among a message's alternatives (swipes), edit a message,
//! delete one, branch a new chat off one. Regenerating a reply is `Kotodama::begin_regenerate`.

use kotodama_store::{Role, StyleScoreColumns};

use crate::chat::turn::checked_text;
use crate::{ChatView, Kotodama, MessageView, Result};

impl Kotodama {
    /// Makes alternative `index` (from 0) of message `message_id`'s position the chosen one: the chat
    /// shows it and later prompts read it.
    pub fn choose_alternative(&mut self, message_id: i64, index: i64) -> Result<MessageView> {
        let chosen = self.store.choose_alternative(message_id, index)?;
        self.shown_one(chosen)
    }

    /// Replaces a message's text in place; later messages stay, and later prompts read the new text.
    /// A reply of the persona is scored again on the style meter.
    pub fn edit_message(&mut self, message_id: i64, text: &str) -> Result<MessageView> {
        let text = checked_text(text)?;
        let message = self.store.message(message_id)?;
        let style = match message.message.role {
            Role::Assistant => self.style_meter(message.chat_id, text)?,
            Role::User | Role::System => StyleScoreColumns::default(),
        };
        let edited = self.store.edit_message(message_id, text, &style)?;
        self.shown_one(edited)
    }

    /// Deletes this one message (all its alternatives); the messages after it stay. Returns the chat.
    pub fn delete_message(&mut self, message_id: i64) -> Result<ChatView> {
        let chat_id = self.store.message(message_id)?.chat_id;
        self.store.delete_message(message_id)?;
        self.chat(chat_id)
    }

    /// Starts a new chat holding copies of the conversation up to and including this message (the
    /// chosen alternatives), titled "Branch of <title>"; the original chat stays as it is.
    pub fn branch_chat(&mut self, message_id: i64) -> Result<ChatView> {
        let original = self.store.chat(self.store.message(message_id)?.chat_id)?;
        let branch = self
            .store
            .branch_chat(message_id, &format!("Branch of {}", original.title))?;
        self.chat(branch.id)
    }
}

#[cfg(test)]
mod tests {
    use kotodama_engine::{CancelToken, LoadOptions};
    use kotodama_store::MessageSource;

    use crate::Replier;

    use super::*;

    use crate::temp_app as open;

    /// A new chat with the first bundled persona, one exchange answered from the script.
    fn chat_with_an_exchange(app: &mut Kotodama) -> ChatView {
        let pid = app.personas().unwrap()[0].id;
        let chat = app.new_chat(pid).unwrap().chat.id;
        app.send_message(chat, "Can you teach me to fight?")
            .unwrap();
        app.chat(chat).unwrap()
    }

    /// Regenerates the chat's last reply the way the app does: begin, reply (no model installed here,
    /// so from the script), finish.
    fn regenerate(app: &mut Kotodama, chat_id: i64) -> MessageView {
        let models = app.home().models_dir();
        let mut replier = Replier::new(models, LoadOptions::default());
        let pending = app.begin_regenerate(chat_id).unwrap();
        let reply = replier
            .reply(&pending.context, |_| {}, &CancelToken::new())
            .unwrap();
        app.finish_reply(&pending, reply).unwrap().unwrap().into()
    }

    fn prompt_texts(app: &mut Kotodama, chat_id: i64) -> Vec<String> {
        let pending = app.begin_reply(chat_id, "And then?").unwrap();
        pending
            .context
            .draft
            .turns
            .into_iter()
            .map(|t| t.content)
            .collect()
    }

    #[test]
    fn a_new_chat_offers_the_cards_alternate_greetings_as_swipes() {
        let (_dir, mut app) = open();
        let persona = app.personas().unwrap()[0].clone();
        let card = app.persona(persona.id).unwrap().card;
        assert!(!card.alternate_greetings.is_empty());
        let view = app.new_chat(persona.id).unwrap();
        let greeting = &view.messages[0];
        assert_eq!(
            greeting.alt_count,
            1 + card.alternate_greetings.len() as i64
        );
        assert_eq!(greeting.content, card.first_message.trim());
        let other = app.choose_alternative(greeting.id, 1).unwrap();
        assert_eq!(other.content, card.alternate_greetings[0].trim());
        assert_eq!(other.source, MessageSource::Greeting);
        assert_eq!(app.chat(view.chat.id).unwrap().messages[0].id, other.id);
    }

    #[test]
    fn regenerated_replies_are_kept_as_swipes_and_the_chosen_one_is_in_the_next_prompt() {
        let (_dir, mut app) = open();
        let view = chat_with_an_exchange(&mut app);
        let chat = view.chat.id;
        let first = view.messages[2].clone();
        let second = regenerate(&mut app, chat);
        assert_eq!(
            (second.seq, second.alt_index, second.alt_count),
            (first.seq, 1, 2)
        );
        assert_ne!(second.content, first.content, "another line");
        assert!(second.style.overall.is_some(), "scored on the style meter");
        let shown = app.chat(chat).unwrap().messages;
        assert_eq!(shown.len(), 3);
        assert_eq!(shown[2].id, second.id, "the new alternative is chosen");
        assert!(prompt_texts(&mut app, chat).contains(&second.content));

        // Swipe back: the first reply is what the next turn reads.
        let (_dir, mut app) = open();
        let view = chat_with_an_exchange(&mut app);
        let chat = view.chat.id;
        let first = view.messages[2].clone();
        let second = regenerate(&mut app, chat);
        app.choose_alternative(second.id, 0).unwrap();
        let prompt = prompt_texts(&mut app, chat);
        assert!(prompt.contains(&first.content));
        assert!(!prompt.contains(&second.content));
    }

    #[test]
    fn an_edit_changes_what_the_next_prompt_contains() {
        let (_dir, mut app) = open();
        let view = chat_with_an_exchange(&mut app);
        let chat = view.chat.id;
        let (user, reply) = (&view.messages[1], &view.messages[2]);
        let edited_user = app
            .edit_message(user.id, "  Teach me to cook rice.  ")
            .unwrap();
        assert_eq!(edited_user.content, "Teach me to cook rice.");
        assert!(edited_user.edited_at.is_some());
        let edited_reply = app
            .edit_message(reply.id, "Hmph. Rinse it three times, baka.")
            .unwrap();
        assert!(edited_reply.style.overall.is_some(), "rescored");
        assert_ne!(edited_reply.style, reply.style);

        let prompt = prompt_texts(&mut app, chat);
        assert!(prompt.contains(&"Teach me to cook rice.".to_string()));
        assert!(prompt.contains(&"Hmph. Rinse it three times, baka.".to_string()));
        assert!(!prompt.contains(&user.content));
        assert!(!prompt.contains(&reply.content));
    }

    #[test]
    fn deleting_a_message_keeps_the_ones_after_it() {
        let (_dir, mut app) = open();
        let view = chat_with_an_exchange(&mut app);
        let after = app.delete_message(view.messages[1].id).unwrap();
        let ids: Vec<i64> = after.messages.iter().map(|m| m.id).collect();
        assert_eq!(ids, [view.messages[0].id, view.messages[2].id]);
        assert!(!prompt_texts(&mut app, view.chat.id).contains(&view.messages[1].content));
    }

    #[test]
    fn a_branch_is_a_new_chat_up_to_the_message_listed_beside_the_original() {
        let (_dir, mut app) = open();
        let view = chat_with_an_exchange(&mut app);
        let second = regenerate(&mut app, view.chat.id);
        let branch = app.branch_chat(second.id).unwrap();
        assert_ne!(branch.chat.id, view.chat.id);
        assert_eq!(branch.chat.title, format!("Branch of {}", view.chat.title));
        let texts: Vec<&str> = branch.messages.iter().map(|m| m.content.as_str()).collect();
        assert_eq!(
            texts,
            [
                view.messages[0].content.as_str(),
                view.messages[1].content.as_str(),
                second.content.as_str()
            ]
        );
        assert!(
            branch.messages.iter().all(|m| m.alt_count == 1),
            "chosen alternatives only"
        );
        let listed: Vec<i64> = branch.chats.iter().map(|c| c.id).collect();
        assert_eq!(
            listed,
            [branch.chat.id, view.chat.id],
            "newest first, beside the original"
        );
        // The original keeps its swipes.
        assert_eq!(app.chat(view.chat.id).unwrap().messages[2].alt_count, 2);
    }

    #[test]
    fn bad_input_gets_a_stable_code_and_changes_nothing() {
        let (_dir, mut app) = open();
        let view = chat_with_an_exchange(&mut app);
        let chat = view.chat.id;
        let reply = view.messages[2].id;
        let codes = [
            app.edit_message(999_999, "x").unwrap_err().code(),
            app.edit_message(reply, "   ").unwrap_err().code(),
            app.choose_alternative(reply, 1).unwrap_err().code(),
            app.choose_alternative(999_999, 0).unwrap_err().code(),
            app.delete_message(999_999).unwrap_err().code(),
            app.branch_chat(999_999).unwrap_err().code(),
        ];
        assert_eq!(
            codes,
            [
                "NOT_FOUND",
                "INVALID_INPUT",
                "NO_SUCH_ALTERNATIVE",
                "NOT_FOUND",
                "NOT_FOUND",
                "NOT_FOUND"
            ]
        );
        assert_eq!(app.chat(chat).unwrap().messages, view.messages);
        assert_eq!(app.chat(chat).unwrap().chats.len(), 1);

        // A chat holding only the greeting has no reply to regenerate.
        let pid = app.personas().unwrap()[0].id;
        let fresh = app.new_chat(pid).unwrap();
        assert_eq!(
            app.begin_regenerate(fresh.chat.id).unwrap_err().code(),
            "INVALID_INPUT"
        );
        assert_eq!(app.chat(fresh.chat.id).unwrap().messages, fresh.messages);
    }
}
