//! Character Card V1/V2/V3 JSON -> persona card fields. The whole card is kept alongside the parsed
//! fields, so unknown keys (other apps' `extensions`) survive as the card spec requires.

use kotodama_store::{NewPersona, NewProfile, PersonaSource};
use serde::Deserialize;
use serde_json::Value;

use super::lorebook::lorebook;
use crate::{Error, Result};

/// The fields Kotodama reads from a card. V1 cards have them at the top level; V2/V3 under `data`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CardData {
    name: String,
    description: String,
    personality: String,
    scenario: String,
    first_mes: String,
    mes_example: String,
    system_prompt: String,
    post_history_instructions: String,
    creator_notes: String,
    alternate_greetings: Vec<String>,
    tags: Vec<String>,
    extensions: serde_json::Map<String, Value>,
}

/// A card as read: the persona and the style profile a Kotodama export carried, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedCard {
    pub persona: NewPersona,
    pub profile: Option<NewProfile>,
}

/// Parses a card's JSON text. `slug` names the persona in the database.
pub fn persona_from_card_json(json: &str, slug: &str, source: PersonaSource) -> Result<NewPersona> {
    let card: Value =
        serde_json::from_str(json).map_err(|e| Error::Card(format!("not JSON: {e}")))?;
    Ok(read_card(card, slug, source)?.persona)
}

/// Reads a parsed card. The embedded style profile (`extensions.kotodama.profile`) is taken out of the
/// stored card JSON: it lives in the profile table, and export puts the latest one back.
pub fn read_card(mut card: Value, slug: &str, source: PersonaSource) -> Result<ImportedCard> {
    if !card.is_object() {
        return Err(Error::Card("the card JSON is not an object".into()));
    }
    let spec = card
        .get("spec")
        .map(|s| {
            s.as_str()
                .map(str::to_string)
                .ok_or_else(|| Error::Card("`spec` is not a string".into()))
        })
        .transpose()?;
    let data = match spec.as_deref() {
        Some(spec @ ("chara_card_v2" | "chara_card_v3")) => card
            .get_mut("data")
            .filter(|d| d.is_object())
            .ok_or_else(|| Error::Card(format!("{spec} card without `data`")))?,
        Some(other) => return Err(Error::Card(format!("unknown card spec {other:?}"))),
        None => &mut card, // V1: flat
    };
    let profile = take_embedded_profile(data)?;
    lorebook(data)?;
    check_field_types(data)?;
    let data: CardData = serde_json::from_value(data.clone())
        .map_err(|e| Error::Card(format!("card fields: {e}")))?;
    if data.name.trim().is_empty() {
        return Err(Error::Card("the card has no name".into()));
    }
    let ours = data.extensions.get("kotodama");
    let ext_str = |key: &str| {
        ours.and_then(|k| k.get(key))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let persona = NewPersona {
        slug: slug.to_string(),
        tagline: ext_str("tagline").unwrap_or_else(|| first_sentence(&data.description)),
        speaker: ext_str("speaker"),
        name: data.name,
        description: data.description,
        personality: data.personality,
        scenario: data.scenario,
        first_message: data.first_mes,
        example_dialogue: data.mes_example,
        system_prompt: data.system_prompt,
        post_history_instructions: data.post_history_instructions,
        creator_notes: data.creator_notes,
        alternate_greetings: data.alternate_greetings,
        tags: data.tags,
        card_json: card,
        source,
    };
    Ok(ImportedCard { persona, profile })
}

/// Names the first card field whose JSON type differs from the spec's (serde's own message does not).
fn check_field_types(data: &Value) -> Result<()> {
    const TEXT: [&str; 9] = [
        "name",
        "description",
        "personality",
        "scenario",
        "first_mes",
        "mes_example",
        "system_prompt",
        "post_history_instructions",
        "creator_notes",
    ];
    let text_list = |v: &Value| v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
    let wrong = TEXT
        .iter()
        .map(|k| (*k, "a string", data.get(*k).is_some_and(|v| !v.is_string())))
        .chain(["alternate_greetings", "tags"].map(|k| {
            (
                k,
                "a list of strings",
                data.get(k).is_some_and(|v| !text_list(v)),
            )
        }))
        .chain([(
            "extensions",
            "an object",
            data.get("extensions").is_some_and(|v| !v.is_object()),
        )])
        .find(|(_, _, wrong)| *wrong);
    match wrong {
        Some((key, expected, _)) => Err(Error::Card(format!("field `{key}` should be {expected}"))),
        None => Ok(()),
    }
}

fn take_embedded_profile(data: &mut Value) -> Result<Option<NewProfile>> {
    let Some(embedded) = data
        .pointer_mut("/extensions/kotodama")
        .and_then(Value::as_object_mut)
        .and_then(|k| k.shift_remove("profile"))
    else {
        return Ok(None);
    };
    serde_json::from_value(embedded)
        .map(Some)
        .map_err(|e| Error::Card(format!("extensions.kotodama.profile: {e}")))
}

fn first_sentence(text: &str) -> String {
    let end = text
        .find(['.', '!', '?', '\n'])
        .map(|i| i + 1)
        .unwrap_or(text.len());
    text[..end].trim().chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_v3_card_and_keeps_unknown_extensions() {
        let json = r#"{"spec":"chara_card_v3","spec_version":"3.0","data":{"name":"Aoi","description":"A painter. Quiet.",
            "first_mes":"Oh, hello.","alternate_greetings":["Back?"],"tags":["art"],
            "extensions":{"kotodama":{"tagline":"Paints at dawn","speaker":"AOI"},"depth_prompt":{"depth":4}}}}"#;
        let p = persona_from_card_json(json, "aoi", PersonaSource::Imported).unwrap();
        assert_eq!(
            (p.name.as_str(), p.tagline.as_str(), p.speaker.as_deref()),
            ("Aoi", "Paints at dawn", Some("AOI"))
        );
        assert_eq!(p.alternate_greetings, vec!["Back?"]);
        assert_eq!(
            p.card_json["data"]["extensions"]["depth_prompt"]["depth"],
            4
        );
    }

    #[test]
    fn reads_a_flat_v1_card_and_derives_a_tagline() {
        let json = r#"{"name":"Kuro","description":"A grumpy cat. Sleeps a lot.","personality":"lazy","first_mes":"Mrrp."}"#;
        let p = persona_from_card_json(json, "kuro", PersonaSource::Imported).unwrap();
        assert_eq!(p.tagline, "A grumpy cat.");
        assert_eq!(p.personality, "lazy");
    }

    #[test]
    fn rejects_cards_of_the_wrong_shape() {
        for (json, needle) in [
            ("not json", "not JSON"),
            ("[1]", "not an object"),
            (r#"{"spec":"chara_card_v2"}"#, "without `data`"),
            (r#"{"spec":2,"data":{}}"#, "`spec` is not a string"),
            (
                r#"{"spec":"chara_card_v2","data":{"name":"A","extensions":{"kotodama":{"profile":7}}}}"#,
                "kotodama.profile",
            ),
            (r#"{"spec":"chara_card_v9","data":{}}"#, "unknown card spec"),
            (
                r#"{"spec":"chara_card_v2","data":{"name":5}}"#,
                "field `name` should be a string",
            ),
            (
                r#"{"spec":"chara_card_v3","data":{"name":"A","tags":[1]}}"#,
                "field `tags` should be a list of strings",
            ),
            (
                r#"{"spec":"chara_card_v2","data":{"name":"  "}}"#,
                "no name",
            ),
        ] {
            let err = persona_from_card_json(json, "x", PersonaSource::Imported)
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{json}: {err}");
        }
    }
}
