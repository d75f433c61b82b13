//! A card's lorebook as the editor shows it, written back into the card without losing what the editor
//! does not show (an entry's other fields, the book's name and extensions), and SillyTavern's World
//! Info files read into entries and written from them.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::{Error, Result};

/// Most entries a book takes (SillyTavern's largest shared books hold a few thousand).
pub const MAX_ENTRIES: usize = 10_000;
/// Largest World Info file read.
pub const MAX_WORLD_INFO_BYTES: usize = 16 << 20;

/// The lorebook of a card as the editor edits it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct LorebookView {
    /// Latest messages scanned for keys (None: 4).
    pub scan_depth: Option<usize>,
    /// Tokens of lore one prompt may carry (None: 400).
    pub token_budget: Option<usize>,
    pub entries: Vec<LoreEntryView>,
}

/// One entry: when a key appears in the chat, its content joins the prompt.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct LoreEntryView {
    /// A title for people (the card's `comment`).
    pub comment: String,
    pub keys: Vec<String>,
    /// With `selective`, one of these must appear too.
    pub secondary_keys: Vec<String>,
    pub content: String,
    pub enabled: bool,
    /// Always inserted, keys or not.
    pub constant: bool,
    pub selective: bool,
    pub case_sensitive: bool,
    /// Lower comes first in the prompt.
    pub insertion_order: i64,
    /// Over the budget, lower priorities are left out first.
    pub priority: i64,
    /// The entry's fields the editor does not show (its id, position, other apps' extensions), kept.
    #[cfg_attr(test, ts(type = "Record<string, unknown>"))]
    pub other: Map<String, Value>,
}

/// The fields `LoreEntryView` shows, by their names in the card.
const SHOWN: &[&str] = &[
    "comment",
    "keys",
    "secondary_keys",
    "content",
    "enabled",
    "constant",
    "selective",
    "case_sensitive",
    "insertion_order",
    "priority",
];

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

impl LoreEntryView {
    fn from_card(entry: &Map<String, Value>) -> Self {
        let flag =
            |k: &str, default: bool| entry.get(k).and_then(Value::as_bool).unwrap_or(default);
        let int = |k: &str| entry.get(k).and_then(Value::as_i64).unwrap_or(0);
        LoreEntryView {
            comment: entry
                .get("comment")
                .or(entry.get("name"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            keys: strings(entry.get("keys")),
            secondary_keys: strings(entry.get("secondary_keys")),
            content: entry
                .get("content")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            enabled: flag("enabled", true),
            constant: flag("constant", false),
            selective: flag("selective", false),
            case_sensitive: flag("case_sensitive", false),
            insertion_order: int("insertion_order"),
            priority: int("priority"),
            other: entry
                .iter()
                .filter(|(k, _)| !SHOWN.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    fn to_card(&self) -> Value {
        let mut entry = self.other.clone();
        let trimmed = |keys: &[String]| -> Vec<String> {
            keys.iter()
                .map(|k| k.trim().to_string())
                .filter(|k| !k.is_empty())
                .collect()
        };
        for (k, v) in [
            ("comment", json!(self.comment.trim())),
            ("keys", json!(trimmed(&self.keys))),
            ("secondary_keys", json!(trimmed(&self.secondary_keys))),
            ("content", json!(self.content)),
            ("enabled", json!(self.enabled)),
            ("constant", json!(self.constant)),
            ("selective", json!(self.selective)),
            ("case_sensitive", json!(self.case_sensitive)),
            ("insertion_order", json!(self.insertion_order)),
            ("priority", json!(self.priority)),
        ] {
            entry.insert(k.into(), v);
        }
        // V2 and V3 readers require `extensions` on every entry.
        entry.entry("extensions").or_insert(json!({}));
        Value::Object(entry)
    }
}

impl LorebookView {
    /// The lorebook of a card's `data` (empty when it has none).
    pub fn of_card(data: &Value) -> Result<LorebookView> {
        super::lorebook(data)?; // Refuses a malformed book with the entry named.
        let Some(book) = data.get("character_book").and_then(Value::as_object) else {
            return Ok(LorebookView::default());
        };
        let count = |k: &str| book.get(k).and_then(Value::as_u64).map(|n| n as usize);
        Ok(LorebookView {
            scan_depth: count("scan_depth"),
            token_budget: count("token_budget"),
            entries: book
                .get("entries")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_object)
                .map(LoreEntryView::from_card)
                .collect(),
        })
    }

    /// Refuses a book the chat could not use: too many entries, an entry with keys but no content, a
    /// key-less entry that is not constant (it could never be called), or a scan depth of 0.
    pub fn check(&self) -> Result<()> {
        if self.entries.len() > MAX_ENTRIES {
            return Err(Error::InvalidInput(format!(
                "a lorebook holds at most {MAX_ENTRIES} entries (this one {})",
                self.entries.len()
            )));
        }
        if self.scan_depth == Some(0) {
            return Err(Error::InvalidInput(
                "the scan depth must be at least 1 message".into(),
            ));
        }
        for (i, e) in self.entries.iter().enumerate() {
            let name = if e.comment.trim().is_empty() {
                format!("entry {}", i + 1)
            } else {
                format!("entry {} ({})", i + 1, e.comment.trim())
            };
            if e.content.trim().is_empty() {
                return Err(Error::InvalidInput(format!("{name} has no content")));
            }
            if !e.constant && e.keys.iter().all(|k| k.trim().is_empty()) {
                return Err(Error::InvalidInput(format!(
                    "{name} has no keys: give it one, or make it constant"
                )));
            }
        }
        Ok(())
    }

    /// Writes the book into a card's `data`, keeping the book's other fields (name, extensions).
    pub fn write_into(&self, data: &mut Map<String, Value>) {
        if self.entries.is_empty() && self.scan_depth.is_none() && self.token_budget.is_none() {
            data.remove("character_book");
            return;
        }
        let book = data.entry("character_book").or_insert_with(|| json!({}));
        if !book.is_object() {
            *book = json!({});
        }
        let book = book.as_object_mut().expect("made an object just above");
        book.insert(
            "entries".into(),
            Value::Array(self.entries.iter().map(LoreEntryView::to_card).collect()),
        );
        for (k, v) in [
            ("scan_depth", self.scan_depth),
            ("token_budget", self.token_budget),
        ] {
            match v {
                Some(n) => book.insert(k.into(), json!(n)),
                None => book.remove(k),
            };
        }
        book.entry("extensions").or_insert(json!({}));
    }
}

/// SillyTavern's World Info fields this editor maps to the card's (the rest ride along under
/// `extensions.sillytavern` of each entry, and come back on export).
const WORLD_INFO_MAPPED: &[&str] = &[
    "uid",
    "key",
    "keysecondary",
    "comment",
    "content",
    "constant",
    "selective",
    "order",
    "disable",
    "caseSensitive",
];

/// The entries of a SillyTavern World Info file (`{"entries": {"<uid>": {...}}}`), in uid order.
pub fn from_world_info(text: &str) -> Result<Vec<LoreEntryView>> {
    if text.len() > MAX_WORLD_INFO_BYTES {
        return Err(Error::InvalidInput(format!(
            "a World Info file is at most {} MB",
            MAX_WORLD_INFO_BYTES >> 20
        )));
    }
    let file: Value = serde_json::from_str(text)
        .map_err(|e| Error::InvalidInput(format!("not a World Info file (JSON): {e}")))?;
    let entries = file
        .get("entries")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            Error::InvalidInput("not a World Info file: no `entries` object keyed by uid".into())
        })?;
    let mut read: Vec<(i64, LoreEntryView)> = Vec::with_capacity(entries.len());
    for (uid, entry) in entries {
        let entry = entry.as_object().ok_or_else(|| {
            Error::InvalidInput(format!("World Info entry {uid} is not an object"))
        })?;
        let flag = |k: &str| entry.get(k).and_then(Value::as_bool).unwrap_or(false);
        let rest: Map<String, Value> = entry
            .iter()
            .filter(|(k, _)| !WORLD_INFO_MAPPED.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let order = entry.get("order").and_then(Value::as_i64).unwrap_or(100);
        let view = LoreEntryView {
            comment: entry
                .get("comment")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            keys: strings(entry.get("key")),
            secondary_keys: strings(entry.get("keysecondary")),
            content: entry
                .get("content")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            enabled: !flag("disable"),
            constant: flag("constant"),
            selective: flag("selective") && !strings(entry.get("keysecondary")).is_empty(),
            case_sensitive: flag("caseSensitive"),
            insertion_order: order,
            // SillyTavern keeps the higher-ordered entries when the budget runs out.
            priority: order,
            other: Map::from_iter([(
                "extensions".to_string(),
                json!({ "sillytavern": Value::Object(rest) }),
            )]),
        };
        let uid = entry
            .get("uid")
            .and_then(Value::as_i64)
            .or_else(|| uid.parse().ok())
            .unwrap_or(read.len() as i64);
        read.push((uid, view));
    }
    if read.len() > MAX_ENTRIES {
        return Err(Error::InvalidInput(format!(
            "a lorebook holds at most {MAX_ENTRIES} entries (this file {})",
            read.len()
        )));
    }
    read.sort_by_key(|(uid, _)| *uid);
    Ok(read.into_iter().map(|(_, v)| v).collect())
}

/// The entries as a SillyTavern World Info file.
pub fn to_world_info(entries: &[LoreEntryView]) -> Value {
    let entries: Map<String, Value> = entries
        .iter()
        .enumerate()
        .map(|(uid, e)| {
            let mut entry = e
                .other
                .get("extensions")
                .and_then(|x| x.get("sillytavern"))
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            for (k, v) in [
                ("uid", json!(uid)),
                ("key", json!(e.keys)),
                ("keysecondary", json!(e.secondary_keys)),
                ("comment", json!(e.comment)),
                ("content", json!(e.content)),
                ("constant", json!(e.constant)),
                ("selective", json!(e.selective)),
                ("order", json!(e.insertion_order)),
                ("disable", json!(!e.enabled)),
                ("caseSensitive", json!(e.case_sensitive)),
            ] {
                entry.insert(k.into(), v);
            }
            (uid.to_string(), Value::Object(entry))
        })
        .collect();
    json!({ "entries": entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card_with_book() -> Value {
        json!({
            "name": "Aoi",
            "character_book": {
                "name": "Aoi's world",
                "scan_depth": 3,
                "extensions": {"other_app": 1},
                "entries": [
                    {"keys": ["dojo"], "content": "The dojo is old.", "id": 7, "position": "before_char",
                     "extensions": {"x": true}, "insertion_order": 2, "enabled": true},
                    {"keys": [], "content": "It always rains.", "constant": true, "comment": "weather",
                     "insertion_order": 1, "enabled": false}
                ]
            }
        })
    }

    #[test]
    fn an_edited_book_keeps_what_the_editor_does_not_show() {
        let mut data = card_with_book();
        let mut view = LorebookView::of_card(&data).unwrap();
        assert_eq!(view.scan_depth, Some(3));
        assert_eq!(view.entries.len(), 2);
        assert_eq!(view.entries[1].comment, "weather");
        assert!(view.entries[1].constant && !view.entries[1].enabled);
        view.entries[0].keys = vec![" dojo ".into(), "".into(), "hall".into()];
        view.entries[0].content = "The dojo is older than the town.".into();
        view.token_budget = Some(120);
        view.check().unwrap();
        view.write_into(data.as_object_mut().unwrap());

        let book = &data["character_book"];
        assert_eq!(book["name"], "Aoi's world");
        assert_eq!(book["extensions"]["other_app"], 1);
        assert_eq!(book["token_budget"], 120);
        let first = &book["entries"][0];
        assert_eq!(first["keys"], json!(["dojo", "hall"]));
        assert_eq!(
            (first["id"].clone(), first["position"].clone()),
            (json!(7), json!("before_char"))
        );
        assert_eq!(first["extensions"]["x"], true);
        // What the chat reads: the edited entry is called by its new key.
        let book = super::super::lorebook(&data).unwrap();
        let picked = book.pick(&["Meet me in the hall."], |t| t.len() / 4);
        assert_eq!(picked.len(), 1);
        assert_eq!(picked[0].content, "The dojo is older than the town.");
    }

    #[test]
    fn a_book_the_chat_could_not_use_is_refused_with_the_entry_named() {
        let mut view = LorebookView::of_card(&card_with_book()).unwrap();
        view.entries[0].keys.clear();
        let err = view.check().unwrap_err().to_string();
        assert!(err.contains("entry 1 has no keys"), "{err}");
        view.entries[0].keys = vec!["dojo".into()];
        view.entries[1].content = "  ".into();
        let err = view.check().unwrap_err().to_string();
        assert!(err.contains("entry 2 (weather) has no content"), "{err}");
    }

    #[test]
    fn world_info_comes_in_as_entries_and_goes_back_out_with_its_own_fields() {
        let file = json!({"entries": {
            "1": {"uid": 1, "key": ["lantern"], "keysecondary": ["festival"], "comment": "Lanterns",
                  "content": "Fifty lanterns climb the hill.", "constant": false, "selective": true,
                  "order": 90, "disable": false, "depth": 4, "probability": 80, "group": "night"},
            "0": {"uid": 0, "key": ["fox"], "keysecondary": [], "comment": "", "content": "The fox steals rice cakes.",
                  "constant": false, "selective": true, "order": 100, "disable": true}
        }})
        .to_string();
        let entries = from_world_info(&file).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].keys, ["fox"]);
        assert!(!entries[0].enabled, "disabled stays disabled");
        assert!(
            !entries[0].selective,
            "selective without secondary keys is plain"
        );
        let lantern = &entries[1];
        assert_eq!(
            (lantern.comment.as_str(), lantern.insertion_order),
            ("Lanterns", 90)
        );
        assert!(lantern.selective);
        assert_eq!(lantern.secondary_keys, ["festival"]);

        let out = to_world_info(&entries);
        let back = &out["entries"]["1"];
        assert_eq!(back["key"], json!(["lantern"]));
        assert_eq!(
            (back["probability"].clone(), back["group"].clone()),
            (json!(80), json!("night"))
        );
        assert_eq!(
            from_world_info(&out.to_string()).unwrap(),
            entries,
            "a round trip loses nothing"
        );

        for bad in [
            "[]",
            "{\"entries\": []}",
            "{\"entries\": {\"0\": 5}}",
            "not json",
        ] {
            assert!(from_world_info(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_large_number_of_sillytaverns_own_comes_back_exactly() {
        // Found by the world_info fuzz target: the default JSON parser moved the last digit of
        // 1.00000000000008e22 (serde_json's float_roundtrip reads it exactly).
        let odd = r#"{"entries": {"0": {"key": ["k"], "content": "c", "weight": 10000000000000080000000}}}"#;
        let entries = from_world_info(odd).unwrap();
        assert_eq!(
            from_world_info(&to_world_info(&entries).to_string()).unwrap(),
            entries
        );
    }
}
