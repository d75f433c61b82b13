use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use super::json_column;
use crate::repo::profiles::{insert_profile, NewProfile};
use crate::repo::script_lines::{insert_lines, NewScriptLine};
use crate::{now_ms, Error, Result, Store};

/// How a persona came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PersonaSource {
    /// Shipped with the app in `personas/`.
    Bundled,
    /// Imported from a script or a character card.
    Imported,
    /// Written by hand in the app.
    Created,
}

text_enum!(PersonaSource, "personas.source", {
    PersonaSource::Bundled => "bundled",
    PersonaSource::Imported => "imported",
    PersonaSource::Created => "created",
});

/// The card fields of a persona, as they are written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewPersona {
    pub slug: String,
    pub name: String,
    pub tagline: String,
    pub description: String,
    pub personality: String,
    pub scenario: String,
    pub first_message: String,
    pub example_dialogue: String,
    pub system_prompt: String,
    pub post_history_instructions: String,
    pub creator_notes: String,
    pub alternate_greetings: Vec<String>,
    pub tags: Vec<String>,
    /// The whole card as imported, so unknown extension keys survive a round trip.
    pub card_json: serde_json::Value,
    /// The script speaker this persona was built from, if any.
    pub speaker: Option<String>,
    pub source: PersonaSource,
}

/// A stored persona.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Persona {
    pub id: i64,
    #[serde(flatten)]
    pub card: NewPersona,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, slug, name, tagline, description, personality, scenario, first_message, \
    example_dialogue, system_prompt, post_history_instructions, creator_notes, alternate_greetings, tags, \
    card_json, speaker, source, created_at, updated_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<(Persona, [String; 4])> {
    // JSON and enum columns are parsed after the row closure, where our own error type is available.
    let raw = [row.get(12)?, row.get(13)?, row.get(14)?, row.get(16)?];
    let persona = Persona {
        id: row.get(0)?,
        card: NewPersona {
            slug: row.get(1)?,
            name: row.get(2)?,
            tagline: row.get(3)?,
            description: row.get(4)?,
            personality: row.get(5)?,
            scenario: row.get(6)?,
            first_message: row.get(7)?,
            example_dialogue: row.get(8)?,
            system_prompt: row.get(9)?,
            post_history_instructions: row.get(10)?,
            creator_notes: row.get(11)?,
            alternate_greetings: Vec::new(),
            tags: Vec::new(),
            card_json: serde_json::Value::Null,
            speaker: row.get(15)?,
            source: PersonaSource::Bundled,
        },
        created_at: row.get(17)?,
        updated_at: row.get(18)?,
    };
    Ok((persona, raw))
}

fn finish(
    (mut persona, [greetings, tags, card, source]): (Persona, [String; 4]),
) -> Result<Persona> {
    persona.card.alternate_greetings = json_column("personas.alternate_greetings", &greetings)?;
    persona.card.tags = json_column("personas.tags", &tags)?;
    persona.card.card_json = json_column("personas.card_json", &card)?;
    persona.card.source = PersonaSource::parse(&source)?;
    Ok(persona)
}

/// Runs an UPDATE of persona `persona_id`'s row (`?1` is the id); NotFound when there is no such persona.
pub(crate) fn update_persona(
    conn: &rusqlite::Connection,
    persona_id: i64,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<()> {
    match conn.execute(sql, params)? {
        0 => Err(Error::NotFound {
            what: "persona",
            id: persona_id,
        }),
        _ => Ok(()),
    }
}

impl Store {
    /// Stores a persona with its script lines and (when analyzed) its first style profile, in one transaction.
    pub fn insert_persona(
        &mut self,
        card: &NewPersona,
        lines: &[NewScriptLine],
        profile: Option<&NewProfile>,
    ) -> Result<i64> {
        let tx = self.conn.transaction()?;
        let now = now_ms();
        tx.execute(
            "INSERT INTO personas (slug, name, tagline, description, personality, scenario, first_message, \
             example_dialogue, system_prompt, post_history_instructions, creator_notes, alternate_greetings, \
             tags, card_json, speaker, source, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?17)",
            params![
                card.slug,
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
                card.speaker,
                card.source.as_str(),
                now,
            ],
        )?;
        let id = tx.last_insert_rowid();
        insert_lines(&tx, id, lines)?;
        if let Some(profile) = profile {
            insert_profile(&tx, id, profile)?;
        }
        tx.commit()?;
        Ok(id)
    }

    pub fn personas(&self) -> Result<Vec<Persona>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM personas ORDER BY name COLLATE NOCASE"
        ))?;
        let rows = stmt
            .query_map([], from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(finish).collect()
    }

    pub fn persona(&self, id: i64) -> Result<Persona> {
        let row = self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM personas WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()?
            .ok_or(Error::NotFound {
                what: "persona",
                id,
            })?;
        finish(row)
    }

    pub fn persona_by_slug(&self, slug: &str) -> Result<Option<Persona>> {
        let row = self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM personas WHERE slug = ?1"),
                [slug],
                from_row,
            )
            .optional()?;
        row.map(finish).transpose()
    }

    /// Deletes a persona and, through the foreign keys, its lines, profiles, chats and adapters.
    pub fn delete_persona(&mut self, id: i64) -> Result<()> {
        match self
            .conn
            .execute("DELETE FROM personas WHERE id = ?1", [id])?
        {
            0 => Err(Error::NotFound {
                what: "persona",
                id,
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn sample_card(slug: &str) -> NewPersona {
        NewPersona {
            slug: slug.into(),
            name: format!("Test {slug}"),
            tagline: "A test persona".into(),
            description: "Writes tests.".into(),
            personality: "Careful".into(),
            scenario: "A lab".into(),
            first_message: "Hello, tester.".into(),
            example_dialogue: "<START>\n{{user}}: Hi\n{{char}}: Hello.".into(),
            system_prompt: String::new(),
            post_history_instructions: String::new(),
            creator_notes: String::new(),
            alternate_greetings: vec!["Back again?".into()],
            tags: vec!["test".into()],
            card_json: serde_json::json!({"spec": "chara_card_v3", "data": {"extensions": {"other_app": {"x": 1}}}}),
            speaker: Some("TESTER".into()),
            source: PersonaSource::Bundled,
        }
    }

    pub fn open_temp() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("k.db")).unwrap();
        (dir, store)
    }

    #[test]
    fn persona_round_trips_with_its_card_json() {
        let (_dir, mut store) = open_temp();
        let card = sample_card("ada");
        let id = store.insert_persona(&card, &[], None).unwrap();
        let back = store.persona(id).unwrap();
        assert_eq!(back.card, card);
        assert_eq!(store.persona_by_slug("ada").unwrap().unwrap().id, id);
        assert!(store.persona_by_slug("nobody").unwrap().is_none());
        assert_eq!(store.personas().unwrap().len(), 1);
    }

    #[test]
    fn a_duplicate_slug_fails_and_stores_nothing() {
        let (_dir, mut store) = open_temp();
        store
            .insert_persona(&sample_card("ada"), &[], None)
            .unwrap();
        let lines = vec![NewScriptLine {
            line_no: 1,
            text: "x".into(),
            context_speaker: None,
            context_text: None,
        }];
        assert!(store
            .insert_persona(&sample_card("ada"), &lines, None)
            .is_err());
        let count: i64 = store
            .conn
            .query_row("SELECT count(*) FROM script_lines", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 0, "the failed insert must roll back its lines");
    }

    #[test]
    fn deleting_a_persona_cascades() {
        let (_dir, mut store) = open_temp();
        let lines = vec![NewScriptLine {
            line_no: 3,
            text: "Hmph.".into(),
            context_speaker: None,
            context_text: None,
        }];
        let id = store
            .insert_persona(&sample_card("ada"), &lines, None)
            .unwrap();
        store.delete_persona(id).unwrap();
        assert!(matches!(store.persona(id), Err(Error::NotFound { .. })));
        let count: i64 = store
            .conn
            .query_row("SELECT count(*) FROM script_lines", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 0);
        assert!(matches!(
            store.delete_persona(id),
            Err(Error::NotFound { .. })
        ));
    }
}
