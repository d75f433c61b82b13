//! Character Cards: V1/V2/V3 JSON, PNG/APNG with `chara`/`ccv3` text chunks, CharX zips; export back.

pub mod charx;
mod crc32;
mod export;
mod json;
mod lorebook;
pub mod lorebook_edit;
pub mod png;

pub use export::{card_charx, card_json_bytes, card_png, card_v3, CardFormat};
pub use json::{persona_from_card_json, read_card, ImportedCard};
pub use lorebook::{lorebook, Lorebook, LorebookEntry, DEFAULT_SCAN_DEPTH};

use base64::Engine;
use serde_json::Value;

use crate::{Error, Result};

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// What a card file holds: the card JSON and, for PNG and CharX, the avatar image.
#[derive(Debug, Clone, PartialEq)]
pub struct CardFileContent {
    pub card: Value,
    pub avatar_png: Option<Vec<u8>>,
}

/// Whether `bytes` are a card file rather than a script: a PNG, a zip, or JSON with a card `spec`
/// (or the V1 pair `name` + `first_mes`).
pub fn is_card_file(bytes: &[u8]) -> bool {
    if bytes.starts_with(png::SIGNATURE) || bytes.starts_with(ZIP_MAGIC) {
        return true;
    }
    let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    match serde_json::from_slice::<Value>(text) {
        Ok(Value::Object(card)) => {
            card.get("spec")
                .and_then(Value::as_str)
                .is_some_and(|s| s.starts_with("chara_card"))
                || (card.contains_key("name") && card.contains_key("first_mes"))
        }
        _ => false,
    }
}

/// Reads a PNG, CharX or JSON card file. `file` names it in errors.
pub fn read_card_bytes(bytes: &[u8], file: &str) -> Result<CardFileContent> {
    if bytes.starts_with(png::SIGNATURE) {
        return read_png_card(bytes, file);
    }
    if bytes.starts_with(ZIP_MAGIC) {
        let content = charx::read_charx(std::io::Cursor::new(bytes), file)?;
        let mut card = parse_card_json(content.card_json.as_bytes(), file, "card.json")?;
        drop_embedded_assets(&mut card);
        return Ok(CardFileContent {
            card,
            avatar_png: content.icon_png,
        });
    }
    let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    Ok(CardFileContent {
        card: parse_card_json(text, file, "the file")?,
        avatar_png: None,
    })
}

fn read_png_card(bytes: &[u8], file: &str) -> Result<CardFileContent> {
    let chunks = png::read_chunks(bytes, file)?;
    let texts: Vec<(&str, String)> = chunks.iter().filter_map(png::text_chunk).collect();
    let find = |keyword: &str| texts.iter().find(|(k, _)| k.eq_ignore_ascii_case(keyword));
    let (keyword, encoded) = find("ccv3").or_else(|| find("chara")).ok_or_else(|| {
        Error::Card(format!(
            "{file}: the PNG has no `chara` or `ccv3` text chunk"
        ))
    })?;
    let compact: String = encoded
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|e| Error::Card(format!("{file}: the `{keyword}` chunk is not base64: {e}")))?;
    let card = parse_card_json(&decoded, file, &format!("the `{keyword}` chunk"))?;
    let avatar = png::with_text_chunks(bytes, file, &["chara", "ccv3"], &[])?;
    Ok(CardFileContent {
        card,
        avatar_png: Some(avatar),
    })
}

fn parse_card_json(bytes: &[u8], file: &str, what: &str) -> Result<Value> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::Card(format!("{file}: {what} is not card JSON: {e}")))
}

/// `embeded://` assets point into the CharX, whose files are not kept: drop them so that an export elsewhere
/// does not carry dangling links (remote and default assets stay).
fn drop_embedded_assets(card: &mut Value) {
    let Some(data) = card.get_mut("data").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(Value::Array(assets)) = data.get_mut("assets") {
        assets.retain(|a| {
            !a.get("uri")
                .and_then(Value::as_str)
                .is_some_and(|u| u.starts_with("embeded://"))
        });
        if assets.is_empty() {
            data.shift_remove("assets");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    fn png_with(texts: &[(&str, &str)]) -> Vec<u8> {
        png::with_text_chunks(&png::solid_png(1, 1, [0, 0, 0]), "t.png", &[], texts).unwrap()
    }

    #[test]
    fn ccv3_is_preferred_over_chara_and_the_avatar_loses_both() {
        let v2 = STANDARD.encode(r#"{"spec":"chara_card_v2","data":{"name":"Old"}}"#);
        let v3 = STANDARD.encode(r#"{"spec":"chara_card_v3","data":{"name":"New"}}"#);
        let content =
            read_card_bytes(&png_with(&[("chara", &v2), ("ccv3", &v3)]), "t.png").unwrap();
        assert_eq!(content.card["data"]["name"], "New");
        let avatar = content.avatar_png.unwrap();
        assert!(png::read_chunks(&avatar, "a")
            .unwrap()
            .iter()
            .all(|c| png::text_chunk(c).is_none()));
        let only_v2 = read_card_bytes(&png_with(&[("chara", &v2)]), "t.png").unwrap();
        assert_eq!(only_v2.card["data"]["name"], "Old");
    }

    #[test]
    fn an_apng_card_is_read_through_its_animation_chunks() {
        let still = png::solid_png(1, 1, [5, 5, 5]);
        let chunks = png::read_chunks(&still, "a.png").unwrap();
        let actl = png::Chunk {
            kind: *b"acTL",
            data: &[0, 0, 0, 1, 0, 0, 0, 0],
        };
        let animated = png::write_chunks([&chunks[0], &actl, &chunks[1], &chunks[2]]);
        let card = STANDARD.encode(r#"{"name":"Blink","first_mes":"Hi."}"#);
        let apng = png::with_text_chunks(&animated, "a.png", &[], &[("chara", &card)]).unwrap();
        assert_eq!(
            read_card_bytes(&apng, "a.png").unwrap().card["name"],
            "Blink"
        );
    }

    #[test]
    fn bad_card_payloads_say_what_is_wrong() {
        let err = |bytes: &[u8]| read_card_bytes(bytes, "t.png").unwrap_err().to_string();
        assert!(err(&png_with(&[("Comment", "hi")])).contains("no `chara` or `ccv3`"));
        assert!(
            err(&png_with(&[("chara", "%%%not base64")])).contains("`chara` chunk is not base64")
        );
        assert!(err(&png_with(&[("chara", &STANDARD.encode("hello"))]))
            .contains("`chara` chunk is not card JSON"));
        assert!(err(b"{\"spec\": ").contains("t.png: the file is not card JSON"));
    }

    #[test]
    fn card_files_are_told_apart_from_scripts() {
        assert!(is_card_file(&png::solid_png(1, 1, [0, 0, 0])));
        assert!(is_card_file(br#"{"spec":"chara_card_v3","data":{}}"#));
        assert!(is_card_file(br#"{"name":"Kuro","first_mes":"Mrrp."}"#));
        assert!(!is_card_file(br#"[{"speaker":"Ren","line":"Hi"}]"#));
        assert!(!is_card_file(b"REN: hi\n"));
    }
}
