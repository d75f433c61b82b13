//! Settings: a persona's chat settings (sampler and out-of-character guard) and app-wide key/value
//! settings.

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::json_column;
use super::personas::update_persona;
use crate::{Error, Result, Store};

/// How a persona's replies are sampled and guarded. Stored as one JSON document; keys missing from it
/// (settings added later) read as their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", default)]
pub struct ChatSettings {
    pub temperature: f32,
    pub top_p: f32,
    pub min_p: f32,
    pub repetition_penalty: f32,
    pub guard: GuardSettings,
    /// The longest reply, in tokens; a reply cut there says so.
    pub max_reply_tokens: u32,
    /// Text that ends a reply where it appears (a model starting to speak for the user), itself left
    /// out; `{{user}}` and `{{char}}` are filled in.
    pub stop_strings: Vec<String>,
}

/// Role-play defaults: some variety, a penalty against the loops small models fall into.
impl Default for ChatSettings {
    fn default() -> Self {
        ChatSettings {
            temperature: 0.8,
            top_p: 0.95,
            min_p: 0.05,
            repetition_penalty: 1.15,
            guard: GuardSettings::default(),
            max_reply_tokens: 300,
            stop_strings: vec!["\n{{user}}:".into()],
        }
    }
}

/// What happens to a reply that scores below the threshold or carries out-of-character flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", default)]
pub struct GuardSettings {
    pub action: GuardAction,
    /// Replies written in all, the first included; the best is kept.
    pub attempts: u32,
    /// Overall style score (0..1) below which a reply is caught; None: from the persona's own script.
    pub threshold: Option<f64>,
}

/// Two attempts: one retry catches most slips, and each attempt is a whole reply's wait on a laptop CPU.
impl Default for GuardSettings {
    fn default() -> Self {
        GuardSettings {
            action: GuardAction::Regenerate,
            attempts: 2,
            threshold: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum GuardAction {
    /// Write the reply again.
    Regenerate,
    /// Rewrite the caught reply in the persona's voice (the rewrite task of the distilled adapter).
    Rewrite,
    /// Keep every reply as written; the style meter still flags it.
    Off,
}

impl Store {
    /// The persona's chat settings (the defaults until set).
    pub fn chat_settings(&self, persona_id: i64) -> Result<ChatSettings> {
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
        stored.map_or(Ok(ChatSettings::default()), |s| {
            json_column("personas.chat_settings", &s)
        })
    }

    pub fn set_chat_settings(&mut self, persona_id: i64, settings: &ChatSettings) -> Result<()> {
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

    #[test]
    fn chat_settings_default_until_set_and_keep_what_was_set() {
        let (_dir, mut store) = open_temp();
        let pid = store.insert_persona(&sample_card("t"), &[], None).unwrap();
        assert_eq!(store.chat_settings(pid).unwrap(), ChatSettings::default());
        let mine = ChatSettings {
            temperature: 0.3,
            guard: GuardSettings {
                action: GuardAction::Rewrite,
                attempts: 2,
                threshold: Some(0.4),
            },
            ..ChatSettings::default()
        };
        store.set_chat_settings(pid, &mine).unwrap();
        assert_eq!(store.chat_settings(pid).unwrap(), mine);
        let missing = store.set_chat_settings(9999, &mine).unwrap_err();
        assert!(matches!(
            missing,
            Error::NotFound {
                what: "persona",
                ..
            }
        ));
        assert!(matches!(
            store.chat_settings(9999).unwrap_err(),
            Error::NotFound { .. }
        ));
    }

    #[test]
    fn settings_stored_before_a_new_key_existed_read_it_as_its_default() {
        let (_dir, mut store) = open_temp();
        let pid = store.insert_persona(&sample_card("t"), &[], None).unwrap();
        store
            .conn
            .execute(
                "UPDATE personas SET chat_settings = '{\"temperature\": 0.5}' WHERE id = ?1",
                [pid],
            )
            .unwrap();
        let read = store.chat_settings(pid).unwrap();
        assert_eq!(read.temperature, 0.5);
        assert_eq!(read.guard, GuardSettings::default());
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
