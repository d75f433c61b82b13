//! Swipes: the alternatives of one message position (regenerated replies, alternate greetings). Exactly
//! one alternative per position is active; it is what the chat shows and later prompts read.

use rusqlite::{params, OptionalExtension};

use super::chats::{
    finish_message, insert_row, message_from_row, touch_chat, Slot, MESSAGE_COLUMNS,
};
use crate::{now_ms, Chat, Error, Message, NewMessage, Result, Store};

/// A message's position in its chat.
pub(crate) struct Position {
    pub chat_id: i64,
    pub seq: i64,
}

/// The position of message `id` (any of its alternatives), or NotFound.
pub(crate) fn position_of(conn: &rusqlite::Connection, id: i64) -> Result<Position> {
    conn.query_row(
        "SELECT chat_id, seq FROM messages WHERE id = ?1",
        [id],
        |r| {
            Ok(Position {
                chat_id: r.get(0)?,
                seq: r.get(1)?,
            })
        },
    )
    .optional()?
    .ok_or(Error::NotFound {
        what: "message",
        id,
    })
}

impl Store {
    /// Adds `message` as a new last alternative at the position of `of` (any of its alternatives); the
    /// new one becomes the chosen alternative when `choose` is set.
    pub fn add_alternative(
        &mut self,
        of: i64,
        message: &NewMessage,
        choose: bool,
    ) -> Result<Message> {
        let tx = self.conn.transaction()?;
        let at = position_of(&tx, of)?;
        let alt_index: i64 = tx.query_row(
            "SELECT max(alt_index) + 1 FROM messages WHERE chat_id = ?1 AND seq = ?2",
            params![at.chat_id, at.seq],
            |r| r.get(0),
        )?;
        if choose {
            deactivate(&tx, &at)?;
        }
        let slot = Slot {
            seq: at.seq,
            alt_index,
            active: choose,
        };
        let id = insert_row(&tx, at.chat_id, slot, message, now_ms(), None)?;
        touch_chat(&tx, at.chat_id)?;
        tx.commit()?;
        self.message(id)
    }

    /// Makes alternative `index` (from 0) of the position of message `of` the chosen one and returns
    /// it. An index out of range is refused and changes nothing.
    pub fn choose_alternative(&mut self, of: i64, index: i64) -> Result<Message> {
        let tx = self.conn.transaction()?;
        let at = position_of(&tx, of)?;
        let chosen: Option<i64> = tx
            .query_row(
                "SELECT id FROM messages WHERE chat_id = ?1 AND seq = ?2 AND alt_index = ?3",
                params![at.chat_id, at.seq, index],
                |r| r.get(0),
            )
            .optional()?;
        let Some(chosen) = chosen else {
            let count = tx.query_row(
                "SELECT count(*) FROM messages WHERE chat_id = ?1 AND seq = ?2",
                params![at.chat_id, at.seq],
                |r| r.get(0),
            )?;
            return Err(Error::NoAlternative {
                message_id: of,
                index,
                count,
            });
        };
        deactivate(&tx, &at)?;
        tx.execute("UPDATE messages SET active = 1 WHERE id = ?1", [chosen])?;
        touch_chat(&tx, at.chat_id)?;
        tx.commit()?;
        self.message(chosen)
    }

    /// Creates a chat opened by the persona's greetings in one transaction: the first is the chosen
    /// opening message, the others (a card's alternate greetings) are its alternatives.
    pub fn create_chat_with_greetings(
        &mut self,
        persona_id: i64,
        title: &str,
        greetings: &[NewMessage],
    ) -> Result<Chat> {
        let tx = self.conn.transaction()?;
        let now = now_ms();
        tx.execute(
            "INSERT INTO chats (persona_id, title, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
            params![persona_id, title, now],
        )?;
        let chat_id = tx.last_insert_rowid();
        for (i, greeting) in greetings.iter().enumerate() {
            let slot = Slot {
                seq: 0,
                alt_index: i as i64,
                active: i == 0,
            };
            insert_row(&tx, chat_id, slot, greeting, now, None)?;
        }
        tx.commit()?;
        self.chat(chat_id)
    }

    /// Every alternative at the position of message `of`, in order.
    pub fn alternatives(&self, of: i64) -> Result<Vec<Message>> {
        let at = position_of(&self.conn, of)?;
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE chat_id = ?1 AND seq = ?2 ORDER BY alt_index"
        ))?;
        let rows = stmt
            .query_map(params![at.chat_id, at.seq], message_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(finish_message).collect()
    }
}

/// Clears the chosen flag of a position (before another alternative takes it: the partial unique index
/// allows one active row per position).
fn deactivate(conn: &rusqlite::Connection, at: &Position) -> Result<()> {
    conn.execute(
        "UPDATE messages SET active = 0 WHERE chat_id = ?1 AND seq = ?2",
        params![at.chat_id, at.seq],
    )?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::repo::personas::tests::{open_temp, sample_card};
    use crate::{MessageSource, Role};

    pub(crate) fn text(role: Role, source: MessageSource, content: &str) -> NewMessage {
        NewMessage {
            role,
            content: content.into(),
            source,
            style: Default::default(),
            model_id: None,
            adapter_id: None,
        }
    }

    /// A chat "Hello." / "Hi!" / "Hmph." in a fresh store.
    pub(crate) fn chat_of_three(store: &mut Store) -> Vec<Message> {
        let pid = store.insert_persona(&sample_card("t"), &[], None).unwrap();
        let chat = store.create_chat(pid, "First", &[]).unwrap();
        store
            .append_messages(
                chat.id,
                &[
                    text(Role::Assistant, MessageSource::Greeting, "Hello."),
                    text(Role::User, MessageSource::User, "Hi!"),
                    text(Role::Assistant, MessageSource::Script, "Hmph."),
                ],
            )
            .unwrap()
    }

    fn contents(messages: &[Message]) -> Vec<&str> {
        messages
            .iter()
            .map(|m| m.message.content.as_str())
            .collect()
    }

    #[test]
    fn alternatives_are_kept_and_the_chosen_one_is_the_chat() {
        let (_dir, mut store) = open_temp();
        let first = chat_of_three(&mut store);
        let reply = &first[2];
        let second = store
            .add_alternative(
                reply.id,
                &text(Role::Assistant, MessageSource::Model, "Baka."),
                true,
            )
            .unwrap();
        assert_eq!((second.seq, second.alt_index, second.alt_count), (2, 1, 2));
        assert_eq!(
            contents(&store.messages(reply.chat_id).unwrap()),
            ["Hello.", "Hi!", "Baka."]
        );
        // An alternative added without choosing it waits behind the chosen one.
        store
            .add_alternative(
                reply.id,
                &text(Role::Assistant, MessageSource::Model, "Fine."),
                false,
            )
            .unwrap();
        assert_eq!(
            contents(&store.messages(reply.chat_id).unwrap())[2],
            "Baka."
        );
        assert_eq!(
            contents(&store.alternatives(second.id).unwrap()),
            ["Hmph.", "Baka.", "Fine."]
        );

        let back = store.choose_alternative(second.id, 0).unwrap();
        assert_eq!((back.id, back.alt_count), (reply.id, 3));
        assert_eq!(
            contents(&store.messages(reply.chat_id).unwrap()),
            ["Hello.", "Hi!", "Hmph."]
        );
        let last = store.choose_alternative(reply.id, 2).unwrap();
        assert_eq!(last.message.content, "Fine.");
        assert_eq!(store.messages(reply.chat_id).unwrap().len(), 3);
    }

    #[test]
    fn a_chat_opens_with_its_greetings_as_alternatives_of_the_first_message() {
        let (_dir, mut store) = open_temp();
        let pid = store.insert_persona(&sample_card("t"), &[], None).unwrap();
        let greetings: Vec<NewMessage> = ["Hello.", "Back again?", "Oh, it's you."]
            .map(|g| text(Role::Assistant, MessageSource::Greeting, g))
            .to_vec();
        let chat = store
            .create_chat_with_greetings(pid, "Greeted", &greetings)
            .unwrap();
        let opening = store.messages(chat.id).unwrap();
        assert_eq!(opening.len(), 1);
        assert_eq!((opening[0].alt_index, opening[0].alt_count), (0, 3));
        assert_eq!(opening[0].message.content, "Hello.");
        let third = store.choose_alternative(opening[0].id, 2).unwrap();
        assert_eq!(third.message.content, "Oh, it's you.");
        assert!(store.create_chat_with_greetings(pid, "Silent", &[]).is_ok());
    }

    #[test]
    fn an_index_out_of_range_or_a_missing_message_is_refused_and_changes_nothing() {
        let (_dir, mut store) = open_temp();
        let first = chat_of_three(&mut store);
        let before = store.messages(first[0].chat_id).unwrap();
        for index in [1, -1, 99] {
            let err = store.choose_alternative(first[2].id, index).unwrap_err();
            assert!(
                matches!(err, Error::NoAlternative { count: 1, .. }),
                "{err}"
            );
        }
        assert!(matches!(
            store.choose_alternative(9999, 0),
            Err(Error::NotFound {
                what: "message",
                id: 9999
            })
        ));
        assert!(matches!(
            store.add_alternative(9999, &first[2].message, true),
            Err(Error::NotFound { .. })
        ));
        assert_eq!(store.messages(first[0].chat_id).unwrap(), before);
    }
}
