//! JSON and JSONL transcripts: objects with a speaker key and a text key. The keys are configurable;
//! by default the first of several common names found is used. A JSON file may be an array of such
//! objects or an object holding one (`{"lines": [...]}`).

use serde_json::Value;

use super::speaker::normalize_speaker;
use super::Script;
use crate::{Error, Result};

/// Which keys hold the speaker and the text, in order of preference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonKeys {
    pub speaker: Vec<String>,
    pub text: Vec<String>,
}

impl Default for JsonKeys {
    fn default() -> Self {
        let owned = |keys: &[&str]| keys.iter().map(|k| k.to_string()).collect();
        JsonKeys {
            speaker: owned(&["speaker", "character", "name", "role", "from", "who"]),
            text: owned(&[
                "line",
                "text",
                "dialogue",
                "content",
                "value",
                "message",
                "utterance",
            ]),
        }
    }
}

pub fn parse_json(text: &str, keys: &JsonKeys, file: &str) -> Result<Script> {
    let root: Value = serde_json::from_str(text).map_err(|e| Error::Script {
        file: file.into(),
        line: e.line(),
        detail: format!("not valid JSON: {e}"),
    })?;
    let items = match &root {
        Value::Array(items) => items,
        Value::Object(map) => map
            .values()
            .find_map(|v| v.as_array().filter(|a| a.iter().any(Value::is_object)))
            .ok_or_else(|| Error::Script {
                file: file.into(),
                line: 0,
                detail: "no array of line objects in the JSON".into(),
            })?,
        _ => {
            return Err(Error::Script {
                file: file.into(),
                line: 0,
                detail: "expected an array of line objects".into(),
            })
        }
    };
    let mut script = Script::default();
    for (i, item) in items.iter().enumerate() {
        push_item(&mut script, item, keys, i + 1);
    }
    script.require_turns(file, &expected(keys))
}

pub fn parse_jsonl(text: &str, keys: &JsonKeys, file: &str) -> Result<Script> {
    let mut script = Script::default();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let item: Value = serde_json::from_str(line).map_err(|e| Error::Script {
            file: file.into(),
            line: i + 1,
            detail: format!("not a JSON object: {e}"),
        })?;
        push_item(&mut script, &item, keys, i + 1);
    }
    script.require_turns(file, &expected(keys))
}

fn push_item(script: &mut Script, item: &Value, keys: &JsonKeys, line_no: usize) {
    let field = |names: &[String]| {
        names
            .iter()
            .find_map(|k| item.get(k).and_then(Value::as_str))
    };
    let scene = item
        .get("scene")
        .and_then(Value::as_u64)
        .map_or(0, |s| s as usize);
    if let (Some(speaker), Some(said)) = (
        field(&keys.speaker).and_then(normalize_speaker),
        field(&keys.text),
    ) {
        script.push_turn(speaker, said, line_no, scene);
    }
}

fn expected(keys: &JsonKeys) -> String {
    format!(
        "objects with a speaker key ({}) and a text key ({})",
        keys.speaker.join("/"),
        keys.text.join("/")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_wrapped_arrays_and_jsonl_are_read() {
        let keys = JsonKeys::default();
        let array = r#"[{"speaker":"Ren","line":"I fell."},{"character":"Tsubaki","text":"Up."},{"note":"skip"}]"#;
        let wrapped = r#"{"title":"Dojo","lines":[{"speaker":"Ren","line":"I fell."},{"speaker":"Tsubaki","line":"Up."}]}"#;
        let jsonl = "{\"speaker\":\"Ren\",\"line\":\"I fell.\"}\n\n{\"speaker\":\"Tsubaki\",\"line\":\"Up.\"}\n";
        for script in [
            parse_json(array, &keys, "a").unwrap(),
            parse_json(wrapped, &keys, "w").unwrap(),
            parse_jsonl(jsonl, &keys, "l").unwrap(),
        ] {
            let turns: Vec<_> = script
                .turns
                .iter()
                .map(|t| (t.speaker.as_str(), t.text.as_str()))
                .collect();
            assert_eq!(turns, vec![("REN", "I fell."), ("TSUBAKI", "Up.")]);
        }
    }

    #[test]
    fn keys_are_configurable() {
        let keys = JsonKeys {
            speaker: vec!["who_said".into()],
            text: vec!["words".into()],
        };
        let s = parse_json(
            r#"[{"who_said":"Mikoto","words":"Evening."}]"#,
            &keys,
            "k.json",
        )
        .unwrap();
        assert_eq!(s.turns[0].speaker, "MIKOTO");
        let err = parse_json(
            r#"[{"speaker":"Mikoto","line":"Evening."}]"#,
            &keys,
            "k.json",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("who_said") && err.contains("words"), "{err}");
    }

    #[test]
    fn broken_json_names_the_line() {
        let err = parse_jsonl(
            "{\"speaker\":\"Ren\",\"line\":\"ok\"}\n{oops\n",
            &JsonKeys::default(),
            "b.jsonl",
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("b.jsonl:2:"), "{err}");
        assert!(parse_json("42", &JsonKeys::default(), "n.json").is_err());
    }
}
