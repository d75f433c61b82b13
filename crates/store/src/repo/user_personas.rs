//! The user's own personas: a name and a description that prompts give `{{user}}`, chosen per chat.

use rusqlite::{params, OptionalExtension};

use crate::{now_ms, Error, Result, Store};

#[derive(Debug, Clone, PartialEq)]
pub struct UserPersona {
    pub id: i64,
    pub name: String,
    pub description: String,
}

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserPersona> {
    Ok(UserPersona {
        id: r.get(0)?,
        name: r.get(1)?,
        description: r.get(2)?,
    })
}

impl Store {
    /// Every user persona, by name.
    pub fn user_personas(&self) -> Result<Vec<UserPersona>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, name, description FROM user_personas ORDER BY name COLLATE NOCASE, id",
        )?;
        let rows = stmt.query_map([], from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn user_persona(&self, id: i64) -> Result<UserPersona> {
        self.conn
            .query_row(
                "SELECT id, name, description FROM user_personas WHERE id = ?1",
                [id],
                from_row,
            )
            .optional()?
            .ok_or(Error::NotFound {
                what: "user persona",
                id,
            })
    }

    /// Adds a user persona (`id` None) or changes one; returns its id.
    pub fn save_user_persona(
        &mut self,
        id: Option<i64>,
        name: &str,
        description: &str,
    ) -> Result<i64> {
        let now = now_ms();
        match id {
            None => {
                self.conn.execute(
                    "INSERT INTO user_personas (name, description, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
                    params![name, description, now],
                )?;
                Ok(self.conn.last_insert_rowid())
            }
            Some(id) => match self.conn.execute(
                "UPDATE user_personas SET name = ?2, description = ?3, updated_at = ?4 WHERE id = ?1",
                params![id, name, description, now],
            )? {
                0 => Err(Error::NotFound {
                    what: "user persona",
                    id,
                }),
                _ => Ok(id),
            },
        }
    }

    /// Deletes a user persona; the chats that named it go back to the default.
    pub fn delete_user_persona(&mut self, id: i64) -> Result<()> {
        match self
            .conn
            .execute("DELETE FROM user_personas WHERE id = ?1", [id])?
        {
            0 => Err(Error::NotFound {
                what: "user persona",
                id,
            }),
            _ => Ok(()),
        }
    }

    /// Names who the user is in a chat (None: the default).
    pub fn set_chat_user_persona(&mut self, chat_id: i64, user_persona: Option<i64>) -> Result<()> {
        match self.conn.execute(
            "UPDATE chats SET user_persona_id = ?2 WHERE id = ?1",
            params![chat_id, user_persona],
        )? {
            0 => Err(Error::NotFound {
                what: "chat",
                id: chat_id,
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::personas::tests::{open_temp, sample_card};

    #[test]
    fn user_personas_are_kept_chosen_per_chat_carried_by_branches_and_released_on_delete() {
        let (_dir, mut store) = open_temp();
        let haru = store
            .save_user_persona(None, "Haru", "A night-shift nurse.")
            .unwrap();
        let aki = store.save_user_persona(None, "aki", "").unwrap();
        assert_eq!(
            store
                .save_user_persona(Some(aki), "Aki", "Twin of Haru.")
                .unwrap(),
            aki
        );
        let names: Vec<String> = store
            .user_personas()
            .unwrap()
            .into_iter()
            .map(|u| u.name)
            .collect();
        assert_eq!(names, ["Aki", "Haru"]);
        assert!(
            store.save_user_persona(None, "  ", "").is_err(),
            "a name is needed"
        );

        let pid = store.insert_persona(&sample_card("t"), &[], None).unwrap();
        let greeting = crate::NewMessage {
            role: crate::Role::Assistant,
            content: "Hello, {{user}}.".into(),
            source: crate::MessageSource::Greeting,
            style: Default::default(),
            model_id: None,
            adapter_id: None,
        };
        let chat = store
            .create_chat_with_greetings(pid, "c", &[greeting])
            .unwrap();
        assert_eq!(chat.user_persona_id, None);
        store.set_chat_user_persona(chat.id, Some(haru)).unwrap();
        assert_eq!(store.chat(chat.id).unwrap().user_persona_id, Some(haru));
        let first = store.messages(chat.id).unwrap()[0].id;
        let branch = store.branch_chat(first, "b").unwrap();
        assert_eq!(
            branch.user_persona_id,
            Some(haru),
            "a branch keeps who the user is"
        );

        store.delete_user_persona(haru).unwrap();
        assert_eq!(store.chat(chat.id).unwrap().user_persona_id, None);
        assert!(matches!(
            store.user_persona(haru),
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            store.set_chat_user_persona(9999, None),
            Err(Error::NotFound { .. })
        ));
    }
}
