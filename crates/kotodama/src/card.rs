//! Character Card V1/V2/V3 JSON -> persona card fields. The whole card is kept alongside the parsed
//! fields, so unknown keys (other apps' `extensions`) survive as the card spec requires.

use kotodama_store::{NewPersona, PersonaSource};
use serde::Deserialize;

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
    extensions: serde_json::Map<String, serde_json::Value>,
}

/// Parses a card's JSON. `slug` names the persona in the database.
pub fn persona_from_card_json(json: &str, slug: &str, source: PersonaSource) -> Result<NewPersona> {
    let card: serde_json::Value = serde_json::from_str(json).map_err(|e| Error::Card(format!("not JSON: {e}")))?;
    let spec = card.get("spec").and_then(|s| s.as_str());
    let data_value = match spec {
        Some("chara_card_v2") | Some("chara_card_v3") => {
            card.get("data").cloned().ok_or_else(|| Error::Card(format!("{} card without `data`", spec.unwrap_or(""))))?
        }
        Some(other) => return Err(Error::Card(format!("unknown card spec {other:?}"))),
        None => card.clone(), // V1: flat
    };
    let data: CardData =
        serde_json::from_value(data_value).map_err(|e| Error::Card(format!("field of the wrong type: {e}")))?;
    if data.name.trim().is_empty() {
        return Err(Error::Card("the card has no name".into()));
    }
    let ours = data.extensions.get("kotodama");
    let ext_str = |key: &str| ours.and_then(|k| k.get(key)).and_then(|v| v.as_str()).map(str::to_string);
    Ok(NewPersona {
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
    })
}

fn first_sentence(text: &str) -> String {
    let end = text.find(['.', '!', '?', '\n']).map(|i| i + 1).unwrap_or(text.len());
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
        assert_eq!((p.name.as_str(), p.tagline.as_str(), p.speaker.as_deref()), ("Aoi", "Paints at dawn", Some("AOI")));
        assert_eq!(p.alternate_greetings, vec!["Back?"]);
        assert_eq!(p.card_json["data"]["extensions"]["depth_prompt"]["depth"], 4);
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
            (r#"{"spec":"chara_card_v2"}"#, "without `data`"),
            (r#"{"spec":"chara_card_v9","data":{}}"#, "unknown card spec"),
            (r#"{"spec":"chara_card_v2","data":{"name":5}}"#, "wrong type"),
            (r#"{"spec":"chara_card_v2","data":{"name":"  "}}"#, "no name"),
        ] {
            let err = persona_from_card_json(json, "x", PersonaSource::Imported).unwrap_err().to_string();
            assert!(err.contains(needle), "{json}: {err}");
        }
    }
}
