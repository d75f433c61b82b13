//! A persona's card as the user edits it: the persona row holds the newest card, `card_revisions`
//! every saved version (the first save also keeps the card as it was before).

use rusqlite::{params, OptionalExtension};

use super::json_column;
use super::personas::update_persona;
use crate::{now_ms, NewPersona, Result, Store};

/// A saved version of a card.
#[derive(Debug, Clone, PartialEq)]
pub struct CardRevision {
    /// From 1, per persona.
    pub revision: i64,
    pub card: NewPersona,
    pub created_at: i64,
}

impl Store {
    /// Replaces persona `persona_id`'s card (its slug, source and script speaker stay) and keeps it as
    /// a new revision, in one transaction; returns the revision's number.
    pub fn save_card(&mut self, persona_id: i64, card: &NewPersona) -> Result<i64> {
        let before = self.persona(persona_id)?.card;
        let tx = self.conn.transaction()?;
        let newest: Option<i64> = tx
            .query_row(
                "SELECT MAX(revision) FROM card_revisions WHERE persona_id = ?1",
                [persona_id],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        let now = now_ms();
        let insert = |revision: i64, card: &NewPersona| -> Result<()> {
            tx.execute(
                "INSERT INTO card_revisions (persona_id, revision, card, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![persona_id, revision, serde_json::to_string(card)?, now],
            )?;
            Ok(())
        };
        let revision = match newest {
            Some(n) => n + 1,
            None => {
                insert(1, &before)?;
                2
            }
        };
        let card = NewPersona {
            slug: before.slug,
            speaker: before.speaker,
            source: before.source,
            ..card.clone()
        };
        insert(revision, &card)?;
        update_persona(
            &tx,
            persona_id,
            "UPDATE personas SET name = ?2, tagline = ?3, description = ?4, personality = ?5, scenario = ?6, \
             first_message = ?7, example_dialogue = ?8, system_prompt = ?9, post_history_instructions = ?10, \
             creator_notes = ?11, alternate_greetings = ?12, tags = ?13, card_json = ?14, updated_at = ?15 \
             WHERE id = ?1",
            params![
                persona_id,
                card.name,
                card.tagline,
                card.description,
                card.personality,
                card.scenario,
                card.first_message,
                card.example_dialogue,
                card.system_prompt,
                card.post_history_instructions,
                card.creator_notes,
                serde_json::to_string(&card.alternate_greetings)?,
                serde_json::to_string(&card.tags)?,
                serde_json::to_string(&card.card_json)?,
                now,
            ],
        )?;
        tx.commit()?;
        Ok(revision)
    }

    /// The persona's saved card versions, oldest first (none until its card is first edited).
    pub fn card_revisions(&self, persona_id: i64) -> Result<Vec<CardRevision>> {
        let mut stmt = self.conn.prepare(
            "SELECT revision, card, created_at FROM card_revisions WHERE persona_id = ?1 ORDER BY revision",
        )?;
        let rows = stmt
            .query_map([persona_id], |r| {
                Ok((r.get(0)?, r.get::<_, String>(1)?, r.get(2)?))
            })?
            .collect::<rusqlite::Result<Vec<(i64, String, i64)>>>()?;
        rows.into_iter()
            .map(|(revision, card, created_at)| {
                Ok(CardRevision {
                    revision,
                    card: json_column("card_revisions.card", &card)?,
                    created_at,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::personas::tests::{open_temp, sample_card};
    use crate::{Error, PersonaSource};

    #[test]
    fn a_saved_card_replaces_the_row_and_every_version_is_kept() {
        let (_dir, mut store) = open_temp();
        let original = sample_card("t");
        let pid = store.insert_persona(&original, &[], None).unwrap();
        assert!(store.card_revisions(pid).unwrap().is_empty());

        let edited = NewPersona {
            description: "Writes tests, and reads them.".into(),
            // What identifies the persona is not the editor's to change.
            slug: "other".into(),
            source: PersonaSource::Imported,
            speaker: None,
            ..original.clone()
        };
        assert_eq!(store.save_card(pid, &edited).unwrap(), 2);
        let stored = store.persona(pid).unwrap().card;
        assert_eq!(stored.description, "Writes tests, and reads them.");
        assert_eq!(
            (stored.slug.as_str(), stored.source),
            ("t", PersonaSource::Bundled)
        );
        assert_eq!(stored.speaker.as_deref(), Some("TESTER"));

        let again = NewPersona {
            name: "Tess".into(),
            ..stored.clone()
        };
        assert_eq!(store.save_card(pid, &again).unwrap(), 3);
        let revisions = store.card_revisions(pid).unwrap();
        let kept: Vec<(i64, &str, &str)> = revisions
            .iter()
            .map(|r| {
                (
                    r.revision,
                    r.card.name.as_str(),
                    r.card.description.as_str(),
                )
            })
            .collect();
        assert_eq!(
            kept,
            [
                (1, "Test t", "Writes tests."),
                (2, "Test t", "Writes tests, and reads them."),
                (3, "Tess", "Writes tests, and reads them."),
            ]
        );
        assert!(matches!(
            store.save_card(9999, &again).unwrap_err(),
            Error::NotFound { .. }
        ));
        store.delete_persona(pid).unwrap();
        assert!(
            store.card_revisions(pid).unwrap().is_empty(),
            "revisions go with their persona"
        );
    }
}
