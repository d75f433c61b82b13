//! Lorebook (`character_book`) entries: checked at import, kept inside the stored card JSON.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Error, Result};

/// One lorebook entry: when a key appears in the chat, `content` is added to the prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LorebookEntry {
    pub keys: Vec<String>,
    pub content: String,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

/// The entries of a card's `data.character_book`, or an error naming the entry of the wrong shape.
pub fn lorebook_entries(data: &Value) -> Result<Vec<LorebookEntry>> {
    let Some(book) = data.get("character_book").filter(|b| !b.is_null()) else {
        return Ok(Vec::new());
    };
    let entries = book
        .get("entries")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::Card("character_book has no `entries` array".into()))?;
    entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            serde_json::from_value(e.clone())
                .map_err(|err| Error::Card(format!("character_book entry {}: {err}", i + 1)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entries_are_read_and_bad_ones_named() {
        let data = json!({"character_book": {"entries": [
            {"keys": ["dojo"], "content": "The dojo is cold.", "extensions": {}, "insertion_order": 0},
            {"keys": ["inn"], "content": "Okami runs the inn.", "enabled": false}
        ]}});
        let entries = lorebook_entries(&data).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!((entries[0].enabled, entries[1].enabled), (true, false));
        assert!(lorebook_entries(&json!({})).unwrap().is_empty());
        let err = lorebook_entries(&json!({"character_book": {"entries": [{"keys": "dojo"}]}}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("entry 1"), "{err}");
    }
}
