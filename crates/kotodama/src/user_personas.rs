//! The user's own personas: who `{{user}}` is in prompts, greetings and stop strings. Each chat may
//! name one; otherwise the default one (Settings) is used, and without any the user is "User".

use serde::Serialize;

use crate::{ChatView, Error, Kotodama, Result, USER_NAME};

/// App setting: the id of the user persona chats use unless they name one.
const DEFAULT_KEY: &str = "default_user_persona";
/// Longest name (characters): it is filled into prompts and stop strings.
const MAX_NAME_CHARS: usize = 100;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct UserPersonaView {
    pub id: i64,
    pub name: String,
    /// What characters know about the user: sent with the card's prompt.
    pub description: String,
}

/// The user's personas and the default among them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct UserPersonas {
    pub personas: Vec<UserPersonaView>,
    /// The one chats use unless they name another; None: "User", with no description.
    pub default_id: Option<i64>,
}

/// Who the user is in a chat.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct You {
    pub name: String,
    pub description: String,
}

impl You {
    /// The user without a persona (also every client of the local server, which sends its own).
    pub fn anonymous() -> You {
        You {
            name: USER_NAME.to_string(),
            description: String::new(),
        }
    }
}

impl From<kotodama_store::UserPersona> for UserPersonaView {
    fn from(u: kotodama_store::UserPersona) -> Self {
        UserPersonaView {
            id: u.id,
            name: u.name,
            description: u.description,
        }
    }
}

impl Kotodama {
    pub fn user_personas(&self) -> Result<UserPersonas> {
        let personas: Vec<UserPersonaView> = self
            .store
            .user_personas()?
            .into_iter()
            .map(UserPersonaView::from)
            .collect();
        let default_id = self.default_user_persona()?;
        Ok(UserPersonas {
            default_id: default_id.filter(|id| personas.iter().any(|p| p.id == *id)),
            personas,
        })
    }

    /// Adds a user persona (`id` None) or changes one. The first one becomes the default.
    pub fn save_user_persona(
        &mut self,
        id: Option<i64>,
        name: &str,
        description: &str,
    ) -> Result<UserPersonas> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(Error::InvalidInput(format!(
                "your persona needs a name of 1 to {MAX_NAME_CHARS} characters"
            )));
        }
        if description.chars().count() > crate::personas::MAX_FIELD_CHARS {
            return Err(Error::InvalidInput(format!(
                "the description is longer than {} characters",
                crate::personas::MAX_FIELD_CHARS
            )));
        }
        let saved = self.store.save_user_persona(id, name, description.trim())?;
        if self.user_personas()?.default_id.is_none() {
            self.set_default_user_persona(Some(saved))?;
        }
        self.user_personas()
    }

    pub fn delete_user_persona(&mut self, id: i64) -> Result<UserPersonas> {
        self.store.delete_user_persona(id)?;
        self.user_personas()
    }

    /// Chooses the user persona chats use unless they name one (None: "User").
    pub fn set_default_user_persona(&mut self, id: Option<i64>) -> Result<UserPersonas> {
        if let Some(id) = id {
            self.store.user_persona(id)?;
        }
        let value = id.map_or(String::new(), |id| id.to_string());
        self.store.set_app_setting(DEFAULT_KEY, &value)?;
        self.user_personas()
    }

    /// Names who the user is in one chat (None: the default), from its next reply on.
    pub fn set_chat_user_persona(&mut self, chat_id: i64, id: Option<i64>) -> Result<ChatView> {
        if let Some(id) = id {
            self.store.user_persona(id)?;
        }
        self.store.set_chat_user_persona(chat_id, id)?;
        self.chat(chat_id)
    }

    fn default_user_persona(&self) -> Result<Option<i64>> {
        Ok(self
            .store
            .app_setting(DEFAULT_KEY)?
            .and_then(|v| v.parse().ok()))
    }

    /// Who the user is in the chat: its persona, else the default, else "User".
    pub(crate) fn you_in_chat(&self, chat_id: i64) -> Result<You> {
        let chosen = match self.store.chat(chat_id)?.user_persona_id {
            Some(id) => Some(id),
            None => self.default_user_persona()?,
        };
        // A default that was deleted reads as none.
        Ok(match chosen.map(|id| self.store.user_persona(id)) {
            Some(Ok(u)) => You {
                name: u.name,
                description: u.description,
            },
            _ => You::anonymous(),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{temp_app, ChatView};

    #[test]
    fn the_users_persona_fills_the_greeting_the_prompt_and_the_stop_strings_of_its_chats() {
        let (_dir, mut app) = temp_app();
        let mikoto = app.find_persona("mikoto").unwrap().id;
        // The alternate greeting that names the user (one of the first greeting's swipes).
        let naming = 1 + app
            .card_fields(mikoto)
            .unwrap()
            .alternate_greetings
            .iter()
            .position(|g| g.contains("{{user}}"))
            .expect("a greeting that names the user") as i64;
        let greeting_of = |app: &mut crate::Kotodama, view: &ChatView| {
            let first = view.messages[0].id;
            app.choose_alternative(first, naming).unwrap().content
        };
        let opened = app.new_chat(mikoto).unwrap();
        let chat = opened.chat.id;
        let greeting = greeting_of(&mut app, &opened);
        assert!(greeting.contains("User-dono"), "{greeting}");

        let all = app
            .save_user_persona(
                None,
                " Haru ",
                "A night-shift nurse who climbs the hill at dawn.",
            )
            .unwrap();
        let haru = all.personas[0].id;
        assert_eq!(all.default_id, Some(haru), "the first one is the default");
        let view = app.chat(chat).unwrap();
        assert!(
            view.messages[0].content.contains("Haru-dono"),
            "{}",
            view.messages[0].content
        );
        assert_eq!(view.you.name, "Haru");
        let prompt = app.next_prompt(chat).unwrap();
        let system = &prompt[0].content;
        assert!(system.contains("Haru is a university student"), "{system}");
        assert!(
            system.contains("About Haru: A night-shift nurse"),
            "{system}"
        );
        assert!(
            prompt[1].content.contains("Haru-dono"),
            "the model reads the greeting filled"
        );

        // Another persona for this chat only; deleting it brings the default back.
        let aki = app.save_user_persona(None, "Aki", "").unwrap();
        let aki = aki.personas.iter().find(|p| p.name == "Aki").unwrap().id;
        let view = app.set_chat_user_persona(chat, Some(aki)).unwrap();
        assert!(view.messages[0].content.contains("Aki-dono"));
        assert_eq!(view.you.user_persona_id, Some(aki));
        let other = app.new_chat(mikoto).unwrap();
        let greeting = greeting_of(&mut app, &other);
        assert!(
            greeting.contains("Haru-dono"),
            "other chats keep the default: {greeting}"
        );
        app.delete_user_persona(aki).unwrap();
        assert!(app.chat(chat).unwrap().messages[0]
            .content
            .contains("Haru-dono"));
        app.set_default_user_persona(None).unwrap();
        assert!(app.chat(chat).unwrap().messages[0]
            .content
            .contains("User-dono"));
    }

    #[test]
    fn a_nameless_or_unknown_user_persona_is_refused() {
        let (_dir, mut app) = temp_app();
        assert_eq!(
            app.save_user_persona(None, "  ", "").unwrap_err().code(),
            "INVALID_INPUT"
        );
        assert!(app.set_default_user_persona(Some(42)).is_err());
        assert!(app.save_user_persona(Some(42), "Haru", "").is_err());
        assert!(app.user_personas().unwrap().personas.is_empty());
    }
}
