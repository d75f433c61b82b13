//! Settings: a persona's chat settings (one JSON document whose shape the core defines) and app-wide
//! key/value settings.

use rusqlite::{params, OptionalExtension};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::json_column;
use super::personas::update_persona;
use crate::{Error, Result, Store};

impl Store {
    /// The persona's chat settings (the defaults until set).
    pub fn chat_settings<T: DeserializeOwned + Default>(&self, persona_id: i64) -> Result<T> {
        let stored: Option<String> = self
            .conn
            .query_row(
                "SELECT chat_settings FROM personas WHERE id = ?1",
                [persona_id],
                |r| r.get(0),
            )
            .optional()?
            .ok_or(Error::NotFound {
                what: "persona",
                id: persona_id,
            })?;
        stored.map_or(Ok(T::default()), |s| {
            json_column("personas.chat_settings", &s)
        })
    }

    pub fn set_chat_settings<T: Serialize>(&mut self, persona_id: i64, settings: &T) -> Result<()> {
        update_persona(
            &self.conn,
            persona_id,
            "UPDATE personas SET chat_settings = ?2 WHERE id = ?1",
            params![persona_id, serde_json::to_string(settings)?],
        )
    }

    /// An app-wide setting, None until set.
    pub fn app_setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM app_settings WHERE key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn set_app_setting(&mut self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO app_settings (key, value) VALUES (?1, ?2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::personas::tests::{open_temp, sample_card};

    /// A settings document as the core might shape it.
    #[derive(Debug, Default, PartialEq, serde::Deserialize, Serialize)]
    struct Sampler {
        temperature: f32,
    }

    #[test]
    fn chat_settings_default_until_set_and_keep_what_was_set() {
        let (_dir, mut store) = open_temp();
        let pid = store.insert_persona(&sample_card("t"), &[], None).unwrap();
        assert_eq!(
            store.chat_settings::<Sampler>(pid).unwrap(),
            Sampler::default()
        );
        let mine = Sampler { temperature: 0.3 };
        store.set_chat_settings(pid, &mine).unwrap();
        assert_eq!(store.chat_settings::<Sampler>(pid).unwrap(), mine);
        let missing = store.set_chat_settings(9999, &mine).unwrap_err();
        assert!(matches!(
            missing,
            Error::NotFound {
                what: "persona",
                ..
            }
        ));
        assert!(matches!(
            store.chat_settings::<Sampler>(9999).unwrap_err(),
            Error::NotFound { .. }
        ));
    }

    #[test]
    fn a_settings_document_of_another_shape_is_an_invalid_column() {
        let (_dir, mut store) = open_temp();
        let pid = store.insert_persona(&sample_card("t"), &[], None).unwrap();
        store
            .conn
            .execute(
                "UPDATE personas SET chat_settings = '{\"temperature\": \"warm\"}' WHERE id = ?1",
                [pid],
            )
            .unwrap();
        assert!(matches!(
            store.chat_settings::<Sampler>(pid).unwrap_err(),
            Error::InvalidColumn {
                column: "personas.chat_settings",
                ..
            }
        ));
    }

    #[test]
    fn app_settings_are_upserted() {
        let (_dir, mut store) = open_temp();
        assert_eq!(store.app_setting("theme").unwrap(), None);
        store.set_app_setting("theme", "dark").unwrap();
        store.set_app_setting("theme", "light").unwrap();
        assert_eq!(
            store.app_setting("theme").unwrap().as_deref(),
            Some("light")
        );
    }
}
