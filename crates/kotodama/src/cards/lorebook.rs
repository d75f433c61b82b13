//! Lorebooks (`character_book` of Character Card V2/V3): read and checked at import, kept inside the
//! stored card JSON, and at chat time the entries whose keys the recent messages mention are picked
//! for the prompt within the book's token budget.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Error, Result};

/// How many of the latest messages are scanned for keys when the book does not say.
pub const DEFAULT_SCAN_DEPTH: usize = 4;
/// Tokens of lore one prompt may carry when the book does not say.
pub const DEFAULT_TOKEN_BUDGET: usize = 400;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lorebook {
    pub scan_depth: Option<usize>,
    pub token_budget: Option<usize>,
    pub entries: Vec<LorebookEntry>,
}

/// One entry: when a key appears in the chat, `content` is added to the prompt. Field names follow the
/// card spec (snake_case in the card).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LorebookEntry {
    pub keys: Vec<String>,
    pub content: String,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// Lower comes first in the prompt.
    #[serde(default)]
    pub insertion_order: i64,
    /// Over the budget, lower priorities are dropped first.
    #[serde(default)]
    pub priority: Option<i64>,
    /// Always inserted, keys or not.
    #[serde(default)]
    pub constant: Option<bool>,
    /// With `selective`, a secondary key must appear too.
    #[serde(default)]
    pub selective: Option<bool>,
    #[serde(default)]
    pub secondary_keys: Vec<String>,
    #[serde(default)]
    pub case_sensitive: Option<bool>,
}

fn enabled_by_default() -> bool {
    true
}

#[derive(Deserialize)]
struct BookSettings {
    #[serde(default)]
    scan_depth: Option<usize>,
    #[serde(default)]
    token_budget: Option<usize>,
}

/// The lorebook of a card's `data`, empty when it has none; an entry of the wrong shape is named.
pub fn lorebook(data: &Value) -> Result<Lorebook> {
    let Some(book) = data.get("character_book").filter(|b| !b.is_null()) else {
        return Ok(Lorebook::default());
    };
    let settings: BookSettings = serde_json::from_value(book.clone())
        .map_err(|e| Error::Card(format!("character_book: {e}")))?;
    let entries = book
        .get("entries")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::Card("character_book has no `entries` array".into()))?;
    let entries = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            serde_json::from_value(e.clone())
                .map_err(|err| Error::Card(format!("character_book entry {}: {err}", i + 1)))
        })
        .collect::<Result<_>>()?;
    Ok(Lorebook {
        scan_depth: settings.scan_depth,
        token_budget: settings.token_budget,
        entries,
    })
}

/// Whether `key` occurs in `text` as a whole word (or anywhere, for keys that start or end with a
/// non-word character, or are CJK, where words have no spaces).
fn mentions(text: &str, key: &str, case_sensitive: bool) -> bool {
    let key = key.trim();
    if key.is_empty() {
        return false;
    }
    let (text, key) = if case_sensitive {
        (text.to_string(), key.to_string())
    } else {
        (text.to_lowercase(), key.to_lowercase())
    };
    let wordy = |c: char| c.is_alphanumeric() && !is_cjk(c);
    text.match_indices(&key).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + key.len()..].chars().next();
        let open = !key.starts_with(wordy) || !before.is_some_and(wordy);
        let close = !key.ends_with(wordy) || !after.is_some_and(wordy);
        open && close
    })
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF)
}

impl Lorebook {
    /// The entries the latest messages (`recent`, oldest first, the new user message last) call for,
    /// within the token budget (`tokens` counts a text in the model's tokens), in insertion order.
    pub fn pick<'a>(
        &'a self,
        recent: &[&str],
        tokens: impl Fn(&str) -> usize,
    ) -> Vec<&'a LorebookEntry> {
        let depth = self.scan_depth.unwrap_or(DEFAULT_SCAN_DEPTH).max(1);
        let scanned = recent[recent.len().saturating_sub(depth)..].join("\n");
        let found = |keys: &[String], case: bool| keys.iter().any(|k| mentions(&scanned, k, case));
        let mut called: Vec<&LorebookEntry> = self
            .entries
            .iter()
            .filter(|e| e.enabled && !e.content.trim().is_empty())
            .filter(|e| {
                let case = e.case_sensitive.unwrap_or(false);
                e.constant.unwrap_or(false)
                    || (found(&e.keys, case)
                        && (!e.selective.unwrap_or(false) || found(&e.secondary_keys, case)))
            })
            .collect();
        // Highest priority first claims the budget; ties keep the book's insertion order.
        called.sort_by_key(|e| {
            (
                std::cmp::Reverse(e.priority.unwrap_or(0)),
                e.insertion_order,
            )
        });
        let mut left = self.token_budget.unwrap_or(DEFAULT_TOKEN_BUDGET);
        let mut kept: Vec<&LorebookEntry> = called
            .into_iter()
            .filter(|e| {
                let cost = tokens(e.content.trim());
                let fits = cost <= left;
                if fits {
                    left -= cost;
                }
                fits
            })
            .collect();
        kept.sort_by_key(|e| e.insertion_order);
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn words(s: &str) -> usize {
        s.split_whitespace().count()
    }

    fn book(entries: Value, extra: Value) -> Lorebook {
        let mut b = json!({"entries": entries});
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        lorebook(&json!({ "character_book": b })).unwrap()
    }

    fn contents(picked: Vec<&LorebookEntry>) -> Vec<&str> {
        picked.into_iter().map(|e| e.content.as_str()).collect()
    }

    #[test]
    fn entries_are_read_and_bad_ones_named() {
        let data = json!({"character_book": {"scan_depth": 2, "token_budget": 50, "entries": [
            {"keys": ["dojo"], "content": "The dojo is cold.", "extensions": {}, "insertion_order": 0},
            {"keys": ["inn"], "content": "Okami runs the inn.", "enabled": false}
        ]}});
        let book = lorebook(&data).unwrap();
        assert_eq!((book.scan_depth, book.token_budget), (Some(2), Some(50)));
        assert_eq!(book.entries.len(), 2);
        assert_eq!(
            (book.entries[0].enabled, book.entries[1].enabled),
            (true, false)
        );
        assert!(lorebook(&json!({})).unwrap().entries.is_empty());
        let err = lorebook(&json!({"character_book": {"entries": [{"keys": "dojo"}]}}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("entry 1"), "{err}");
    }

    #[test]
    fn keys_match_whole_words_within_the_scan_depth() {
        let b = book(
            json!([
                {"keys": ["Dojo"], "content": "The dojo is cold.", "insertion_order": 1},
                {"keys": ["inn"], "content": "Okami runs the inn.", "insertion_order": 0},
                {"keys": ["moon"], "content": "The moon festival is tonight.", "enabled": false}
            ]),
            json!({"scan_depth": 2}),
        );
        // "dinner" does not mention "inn"; the dojo (any case) is two messages back: scanned.
        let recent = [
            "Shall we go to the inn?",
            "The DOJO first.",
            "After dinner, the moon.",
        ];
        assert_eq!(contents(b.pick(&recent, words)), vec!["The dojo is cold."]);
        // Three back is past the scan depth of 2.
        let recent = ["To the inn!", "Yes.", "Now?"];
        assert!(b.pick(&recent, words).is_empty());
        assert!(mentions("Meet at the inn.", "inn", false));
        assert!(!mentions("Meet at the inner gate.", "inn", false));
        assert!(mentions("東京へ行こう", "東京", false));
        assert!(!mentions("the Dojo", "dojo", true));
    }

    #[test]
    fn constant_and_selective_entries_follow_the_spec() {
        let b = book(
            json!([
                {"keys": [], "content": "Rain falls on the town.", "constant": true, "insertion_order": 0},
                {"keys": ["sword"], "content": "The sword is cursed.", "selective": true,
                 "secondary_keys": ["touch", "hold"], "insertion_order": 1}
            ]),
            json!({}),
        );
        assert_eq!(
            contents(b.pick(&["Look at that sword."], words)),
            vec!["Rain falls on the town."],
            "a selective entry needs a secondary key too"
        );
        assert_eq!(
            contents(b.pick(&["Can I hold the sword?"], words)),
            vec!["Rain falls on the town.", "The sword is cursed."]
        );
    }

    #[test]
    fn the_token_budget_keeps_high_priorities_and_the_insertion_order() {
        let b = book(
            json!([
                {"keys": ["a"], "content": "one two three four", "priority": 1, "insertion_order": 0},
                {"keys": ["b"], "content": "five six seven", "priority": 9, "insertion_order": 2},
                {"keys": ["c"], "content": "eight nine", "priority": 5, "insertion_order": 1}
            ]),
            json!({"token_budget": 6}),
        );
        // 3 + 2 tokens fit; the lowest priority (4 tokens) would exceed 6.
        assert_eq!(
            contents(b.pick(&["a b c"], words)),
            vec!["eight nine", "five six seven"]
        );
    }
}
