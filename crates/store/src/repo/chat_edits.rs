//! Changing a conversation after the fact: edit a message's text, delete a message, branch a new chat
//! off a message.

use rusqlite::params;

use super::alternatives::position_of;
use super::chats::{
    finish_message, insert_row, message_from_row, touch_chat, Slot, MESSAGE_COLUMNS,
};
use crate::{now_ms, Chat, Message, Result, Store, StyleScoreColumns};

impl Store {
    /// Replaces the text of message `id` (one alternative) and its style score; marks it edited. The
    /// guard's note goes: it spoke of the text as generated.
    pub fn edit_message(
        &mut self,
        id: i64,
        content: &str,
        style: &StyleScoreColumns,
    ) -> Result<Message> {
        let tx = self.conn.transaction()?;
        let at = position_of(&tx, id)?;
        let flags = style
            .ooc_flags
            .as_ref()
            .map(serde_json::to_string)
            .transpose()?;
        tx.execute(
            "UPDATE messages SET content = ?2, style_overall = ?3, style_lexical = ?4, style_syntactic = ?5, \
             style_pragmatic = ?6, ooc_flags = ?7, edited_at = ?8, guard = NULL WHERE id = ?1",
            params![
                id,
                content,
                style.overall,
                style.lexical,
                style.syntactic,
                style.pragmatic,
                flags,
                now_ms()
            ],
        )?;
        touch_chat(&tx, at.chat_id)?;
        tx.commit()?;
        self.message(id)
    }

    /// Deletes the message at the position of `id` with all its alternatives; the messages after it stay
    /// where they are. Returns how many alternatives were deleted.
    pub fn delete_message(&mut self, id: i64) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let at = position_of(&tx, id)?;
        let deleted = tx.execute(
            "DELETE FROM messages WHERE chat_id = ?1 AND seq = ?2",
            params![at.chat_id, at.seq],
        )?;
        touch_chat(&tx, at.chat_id)?;
        tx.commit()?;
        Ok(deleted)
    }

    /// A new chat of the same persona, titled `title`, holding copies of the conversation up to and
    /// including message `id`: the chosen alternative of every earlier position, and `id` itself last.
    /// The original chat is not changed.
    pub fn branch_chat(&mut self, id: i64, title: &str) -> Result<Chat> {
        let tx = self.conn.transaction()?;
        let at = position_of(&tx, id)?;
        let persona_id: i64 = tx.query_row(
            "SELECT persona_id FROM chats WHERE id = ?1",
            [at.chat_id],
            |r| r.get(0),
        )?;
        let copied: Vec<Message> = {
            let mut stmt = tx.prepare(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages \
                 WHERE chat_id = ?1 AND ((seq < ?2 AND active = 1) OR id = ?3) ORDER BY seq"
            ))?;
            let rows = stmt
                .query_map(params![at.chat_id, at.seq, id], message_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(finish_message)
                .collect::<Result<_>>()?
        };
        let now = now_ms();
        tx.execute(
            "INSERT INTO chats (persona_id, title, created_at, updated_at, user_persona_id) \
             VALUES (?1, ?2, ?3, ?3, (SELECT user_persona_id FROM chats WHERE id = ?4))",
            params![persona_id, title, now, at.chat_id],
        )?;
        let branch = tx.last_insert_rowid();
        for (seq, m) in copied.iter().enumerate() {
            let slot = Slot {
                seq: seq as i64,
                alt_index: 0,
                active: true,
            };
            insert_row(&tx, branch, slot, &m.message, m.created_at, m.edited_at)?;
        }
        tx.commit()?;
        self.chat(branch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::alternatives::tests::{chat_of_three, text};
    use crate::repo::personas::tests::open_temp;
    use crate::{Error, MessageSource, Role};

    fn contents(store: &Store, chat_id: i64) -> Vec<String> {
        store
            .messages(chat_id)
            .unwrap()
            .into_iter()
            .map(|m| m.message.content)
            .collect()
    }

    #[test]
    fn an_edit_changes_the_text_in_place_and_marks_it() {
        let (_dir, mut store) = open_temp();
        let chat = chat_of_three(&mut store);
        let style = StyleScoreColumns {
            overall: Some(0.25),
            ooc_flags: Some(serde_json::json!([])),
            ..Default::default()
        };
        let edited = store
            .edit_message(chat[1].id, "Hello there!", &style)
            .unwrap();
        assert_eq!(edited.message.content, "Hello there!");
        assert_eq!(edited.message.style.overall, Some(0.25));
        assert!(edited.edited_at.is_some());
        assert_eq!((edited.id, edited.seq), (chat[1].id, 1));
        assert_eq!(
            contents(&store, chat[0].chat_id),
            ["Hello.", "Hello there!", "Hmph."]
        );
        assert!(matches!(
            store.edit_message(4242, "x", &style),
            Err(Error::NotFound {
                what: "message",
                id: 4242
            })
        ));
    }

    #[test]
    fn deleting_a_message_removes_it_with_its_alternatives_and_keeps_the_later_ones() {
        let (_dir, mut store) = open_temp();
        let chat = chat_of_three(&mut store);
        let chat_id = chat[0].chat_id;
        store
            .add_alternative(
                chat[0].id,
                &text(Role::Assistant, MessageSource::Greeting, "Yo."),
                false,
            )
            .unwrap();
        assert_eq!(store.delete_message(chat[0].id).unwrap(), 2);
        assert_eq!(contents(&store, chat_id), ["Hi!", "Hmph."]);
        assert!(matches!(
            store.delete_message(chat[0].id),
            Err(Error::NotFound { .. })
        ));
        // New messages still go after the last one.
        let added = store
            .append_messages(chat_id, &[text(Role::User, MessageSource::User, "Bye.")])
            .unwrap();
        assert_eq!(added[0].seq, 3);
        assert_eq!(contents(&store, chat_id), ["Hi!", "Hmph.", "Bye."]);
    }

    #[test]
    fn a_branch_copies_the_chosen_messages_up_to_the_one_branched_from() {
        let (_dir, mut store) = open_temp();
        let chat = chat_of_three(&mut store);
        let original = store.chat(chat[0].chat_id).unwrap();
        let swipe = store
            .add_alternative(
                chat[0].id,
                &text(Role::Assistant, MessageSource::Greeting, "Yo."),
                true,
            )
            .unwrap();
        store
            .edit_message(chat[1].id, "Hi, edited!", &Default::default())
            .unwrap();
        let branch = store.branch_chat(chat[1].id, "Branch of First").unwrap();
        assert_ne!(branch.id, original.id);
        assert_eq!(
            (branch.persona_id, branch.title.as_str()),
            (original.persona_id, "Branch of First")
        );
        let copied = store.messages(branch.id).unwrap();
        assert_eq!(
            copied
                .iter()
                .map(|m| m.message.content.as_str())
                .collect::<Vec<_>>(),
            ["Yo.", "Hi, edited!"],
            "the chosen greeting and the edited text, nothing after the message"
        );
        assert_eq!(
            copied
                .iter()
                .map(|m| (m.seq, m.alt_count))
                .collect::<Vec<_>>(),
            [(0, 1), (1, 1)]
        );
        assert!(copied[1].edited_at.is_some());
        assert_eq!(copied[0].message.source, MessageSource::Greeting);
        // The original is untouched and both are the persona's chats.
        assert_eq!(
            contents(&store, original.id),
            ["Yo.", "Hi, edited!", "Hmph."]
        );
        assert_eq!(store.alternatives(swipe.id).unwrap().len(), 2);
        let listed: Vec<i64> = store
            .chats(original.persona_id)
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect();
        assert!(listed.contains(&branch.id) && listed.contains(&original.id));
        assert!(matches!(
            store.branch_chat(777, "x"),
            Err(Error::NotFound { .. })
        ));
    }
}
