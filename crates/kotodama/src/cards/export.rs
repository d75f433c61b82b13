//! A persona -> Character Card V3 JSON, PNG (`ccv3` + `chara` chunks) or CharX. The persona's stored card
//! JSON is the starting point, so keys Kotodama does not know (other apps' extensions, lorebook) survive.

use std::str::FromStr;

use base64::Engine;
use kotodama_store::{NewPersona, NewProfile};
use serde_json::{json, Map, Value};

use super::charx::{write_charx, ICON_PATH};
use super::png::with_text_chunks;
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardFormat {
    Png,
    Json,
    Charx,
}

impl FromStr for CardFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<CardFormat> {
        match s.to_ascii_lowercase().as_str() {
            "png" => Ok(CardFormat::Png),
            "json" => Ok(CardFormat::Json),
            "charx" => Ok(CardFormat::Charx),
            other => Err(Error::InvalidInput(format!(
                "unknown card format {other:?}: use png, json or charx"
            ))),
        }
    }
}

/// Where the adapter's files go inside a CharX, and the asset type that marks them.
const ADAPTER_DIR: &str = "assets/other/kotodama/adapter";
const ADAPTER_ASSET_TYPE: &str = "x_kotodama_adapter";

/// The persona as a V3 card, with its style profile under `extensions.kotodama.profile`.
pub fn card_v3(persona: &NewPersona, profile: Option<&NewProfile>) -> Value {
    let stored = &persona.card_json;
    let stored_data = if stored.get("spec").is_some() {
        stored.get("data")
    } else {
        Some(stored)
    }; // V1 is flat
    let mut data = stored_data
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (key, value) in [
        ("name", json!(persona.name)),
        ("description", json!(persona.description)),
        ("personality", json!(persona.personality)),
        ("scenario", json!(persona.scenario)),
        ("first_mes", json!(persona.first_message)),
        ("mes_example", json!(persona.example_dialogue)),
        ("creator_notes", json!(persona.creator_notes)),
        ("system_prompt", json!(persona.system_prompt)),
        (
            "post_history_instructions",
            json!(persona.post_history_instructions),
        ),
        ("alternate_greetings", json!(persona.alternate_greetings)),
        ("tags", json!(persona.tags)),
    ] {
        data.insert(key.into(), value);
    }
    for required_by_v3 in ["creator", "character_version"] {
        data.entry(required_by_v3).or_insert(json!(""));
    }
    data.entry("group_only_greetings").or_insert(json!([]));
    let extensions = object_at(&mut data, "extensions");
    let ours = object_at(extensions, "kotodama");
    ours.insert("tagline".into(), json!(persona.tagline));
    match &persona.speaker {
        Some(speaker) => ours.insert("speaker".into(), json!(speaker)),
        None => ours.shift_remove("speaker"),
    };
    if let Some(profile) = profile {
        ours.insert(
            "profile".into(),
            serde_json::to_value(profile).unwrap_or(Value::Null),
        );
    }
    json!({"spec": "chara_card_v3", "spec_version": "3.0", "data": data})
}

/// The object under `key`, replacing a value of another type.
fn object_at<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = map.entry(key).or_insert_with(|| json!({}));
    if !slot.is_object() {
        *slot = json!({});
    }
    slot.as_object_mut().expect("made an object just above")
}

pub fn card_json_bytes(card: &Value) -> Vec<u8> {
    serde_json::to_vec_pretty(card).expect("a JSON value always serializes")
}

/// The avatar PNG carrying the card twice: `ccv3` for V3 readers, `chara` (as V2) for older ones.
pub fn card_png(card: &Value, avatar_png: &[u8], file: &str) -> Result<Vec<u8>> {
    let mut v2 = card.clone();
    v2["spec"] = json!("chara_card_v2");
    v2["spec_version"] = json!("2.0");
    let encode = |v: &Value| {
        base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(v).unwrap_or_default())
    };
    let (chara, ccv3) = (encode(&v2), encode(card));
    with_text_chunks(
        avatar_png,
        file,
        &["chara", "ccv3"],
        &[("chara", &chara), ("ccv3", &ccv3)],
    )
}

/// A CharX with the card, the avatar as its main icon and the adapter's files (name, bytes), if any.
pub fn card_charx(
    card: &Value,
    avatar_png: &[u8],
    adapter_files: &[(String, Vec<u8>)],
    file: &str,
) -> Result<Vec<u8>> {
    let mut card = card.clone();
    let mut assets = vec![
        json!({"type": "icon", "uri": format!("embeded://{ICON_PATH}"), "name": "main", "ext": "png"}),
    ];
    let mut entries = vec![(ICON_PATH.to_string(), avatar_png.to_vec())];
    for (name, bytes) in adapter_files {
        let path = format!("{ADAPTER_DIR}/{name}");
        let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
        assets.push(json!({"type": ADAPTER_ASSET_TYPE, "uri": format!("embeded://{path}"), "name": name, "ext": ext}));
        entries.push((path, bytes.clone()));
    }
    card["data"]["assets"] = Value::Array(assets);
    let mut out = std::io::Cursor::new(Vec::new());
    write_charx(
        &mut out,
        &String::from_utf8_lossy(&card_json_bytes(&card)),
        &entries,
    )
    .map_err(|e| Error::Io {
        path: file.into(),
        source: std::io::Error::other(e),
    })?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cards::{read_card, read_card_bytes};
    use kotodama_store::{LexicalSignatureRow, PersonaSource};

    fn profile() -> NewProfile {
        NewProfile {
            schema_version: 1,
            line_count: 2,
            token_count: 7,
            profile_json: json!({"lexical": [{"term": "hmph", "pmi": 3.25}]}),
            lexical: vec![LexicalSignatureRow {
                term: "hmph".into(),
                n: 1,
                pmi: 3.25,
                count: 2,
                rate_per_1k: 0.1,
                catchphrase: false,
            }],
            rules: vec![],
            traits: vec![],
        }
    }

    fn v2_persona() -> NewPersona {
        let card = json!({"spec": "chara_card_v2", "spec_version": "2.0", "data": {
            "name": "Aoi", "description": "Paints. Quietly.", "first_mes": "Oh.", "tags": ["art"],
            "character_book": {"entries": [{"keys": ["easel"], "content": "Her easel is old."}]},
            "extensions": {"depth_prompt": {"depth": 4}, "kotodama": "not an object"}}});
        read_card(card, "aoi", PersonaSource::Imported)
            .unwrap()
            .persona
    }

    #[test]
    fn export_keeps_unknown_keys_and_import_of_export_is_identity() {
        let p = v2_persona();
        let card = card_v3(&p, Some(&profile()));
        assert_eq!(card["data"]["extensions"]["depth_prompt"]["depth"], 4);
        assert_eq!(
            card["data"]["character_book"]["entries"][0]["content"],
            "Her easel is old."
        );
        let back = read_card(card.clone(), "aoi", PersonaSource::Imported).unwrap();
        assert_eq!(back.profile, Some(profile()));
        let p1 = back.persona;
        assert_eq!(
            NewPersona {
                card_json: p1.card_json.clone(),
                ..p.clone()
            },
            p1,
            "every field but the card JSON"
        );
        // From here on the persona is a fixpoint: import(export(p1)) == p1, byte for byte.
        for format in [CardFormat::Json, CardFormat::Png, CardFormat::Charx] {
            let exported = export(&p1, format);
            let read = read_card_bytes(&exported, "x").unwrap();
            let p2 = read_card(read.card, "aoi", PersonaSource::Imported).unwrap();
            assert_eq!(
                (p2.persona.clone(), p2.profile),
                (p1.clone(), Some(profile())),
                "{format:?}"
            );
            if format != CardFormat::Charx {
                assert_eq!(
                    export(&p2.persona, format),
                    exported,
                    "{format:?} export is stable"
                );
            }
        }
    }

    fn export(p: &NewPersona, format: CardFormat) -> Vec<u8> {
        let card = card_v3(p, Some(&profile()));
        let avatar = super::super::png::solid_png(4, 4, [9, 9, 9]);
        match format {
            CardFormat::Json => card_json_bytes(&card),
            CardFormat::Png => card_png(&card, &avatar, "x.png").unwrap(),
            CardFormat::Charx => card_charx(
                &card,
                &avatar,
                &[("adapter_config.json".into(), b"{}".to_vec())],
                "x",
            )
            .unwrap(),
        }
    }

    #[test]
    fn the_png_carries_a_v2_chara_chunk_and_a_v3_ccv3_chunk() {
        let card = card_v3(&v2_persona(), None);
        let png = card_png(
            &card,
            &super::super::png::solid_png(1, 1, [0, 0, 0]),
            "x.png",
        )
        .unwrap();
        let chunks = super::super::png::read_chunks(&png, "x.png").unwrap();
        let texts: Vec<_> = chunks
            .iter()
            .filter_map(super::super::png::text_chunk)
            .collect();
        let decode = |t: &str| -> Value {
            serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(t).unwrap())
                .unwrap()
        };
        assert_eq!(texts.len(), 2);
        assert_eq!(
            (texts[0].0, decode(&texts[0].1)["spec"].as_str()),
            ("chara", Some("chara_card_v2"))
        );
        assert_eq!(
            (texts[1].0, decode(&texts[1].1)["spec"].as_str()),
            ("ccv3", Some("chara_card_v3"))
        );
    }
}
