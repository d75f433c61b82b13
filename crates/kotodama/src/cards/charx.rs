//! CharX: a zip holding `card.json` (a V3 card) and its assets. Reading is bounded: entries with unsafe
//! paths (`../`, absolute) refuse the whole archive, and sizes are capped on the bytes actually inflated,
//! not on the sizes the archive declares (a zip bomb lies about those).

use std::io::{Read, Seek, Write};

use zip::write::SimpleFileOptions;
use zip::ZipArchive;

use crate::{Error, Result};

const MAX_ENTRIES: usize = 10_000;
const MAX_CARD_JSON_BYTES: u64 = 8 << 20;
const MAX_ICON_BYTES: u64 = 16 << 20;
/// Sum of the sizes the entries declare; a card with its assets and an adapter stays far below.
const MAX_DECLARED_TOTAL: u64 = 2 << 30;

pub const ICON_PATH: &str = "assets/icon/images/main.png";

/// What Kotodama takes from a CharX: the card JSON text and the main icon, if it is a PNG.
#[derive(Debug, Clone, PartialEq)]
pub struct CharxContent {
    pub card_json: String,
    pub icon_png: Option<Vec<u8>>,
}

pub fn read_charx(reader: impl Read + Seek, file: &str) -> Result<CharxContent> {
    let unsafe_archive = |detail: String| Error::UnsafeArchive {
        file: file.into(),
        detail,
    };
    let mut zip = ZipArchive::new(reader)
        .map_err(|e| Error::Card(format!("{file}: not a CharX zip: {e}")))?;
    if zip.len() > MAX_ENTRIES {
        return Err(unsafe_archive(format!(
            "{} entries (limit {MAX_ENTRIES})",
            zip.len()
        )));
    }
    let mut declared_total = 0u64;
    for i in 0..zip.len() {
        let entry = zip
            .by_index_raw(i)
            .map_err(|e| Error::Card(format!("{file}: entry {i}: {e}")))?;
        let name = entry
            .name()
            .map_err(|e| Error::Card(format!("{file}: entry {i}: {e}")))?;
        if entry.enclosed_name().is_none() || !is_safe_entry_name(&name) {
            return Err(unsafe_archive(format!(
                "entry {name:?} points outside the archive"
            )));
        }
        declared_total = declared_total.saturating_add(entry.size());
    }
    if declared_total > MAX_DECLARED_TOTAL {
        return Err(unsafe_archive(format!(
            "entries unpack to {declared_total} bytes (limit {MAX_DECLARED_TOTAL})"
        )));
    }
    let card = read_entry(&mut zip, "card.json", MAX_CARD_JSON_BYTES, file)?
        .ok_or_else(|| Error::Card(format!("{file}: the CharX has no card.json")))?;
    let card_json = String::from_utf8(card)
        .map_err(|_| Error::Card(format!("{file}: card.json is not UTF-8")))?;
    let icon_png = read_entry(&mut zip, ICON_PATH, MAX_ICON_BYTES, file)?
        .filter(|b| b.starts_with(super::png::SIGNATURE));
    Ok(CharxContent {
        card_json,
        icon_png,
    })
}

/// A relative path with `/` separators that stays inside the archive (no `..`, root, drive or backslash).
fn is_safe_entry_name(name: &str) -> bool {
    !name.starts_with('/')
        && !name.contains(['\\', ':', '\0'])
        && name.split('/').all(|part| part != "..")
}

/// Inflates one entry, stopping at `limit` bytes whatever the entry declares.
fn read_entry<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    name: &str,
    limit: u64,
    file: &str,
) -> Result<Option<Vec<u8>>> {
    let entry = match zip.by_name(name) {
        Ok(entry) => entry,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(Error::Card(format!("{file}: {name}: {e}"))),
    };
    let mut bytes = Vec::new();
    entry
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::Card(format!("{file}: {name}: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(Error::UnsafeArchive {
            file: file.into(),
            detail: format!("{name} inflates past {limit} bytes (zip bomb?)"),
        });
    }
    Ok(Some(bytes))
}

/// Writes a CharX: `card.json` first, then each (path in the archive, bytes) asset.
pub fn write_charx(
    out: impl Write + Seek,
    card_json: &str,
    assets: &[(String, Vec<u8>)],
) -> zip::result::ZipResult<()> {
    let mut zip = zip::ZipWriter::new(out);
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("card.json", options)?;
    zip.write_all(card_json.as_bytes())?;
    for (path, bytes) in assets {
        zip.start_file(path.as_str(), options)?;
        zip.write_all(bytes)?;
    }
    zip.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut out);
        for (name, bytes) in entries {
            zip.start_file(*name, SimpleFileOptions::default()).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap();
        out.into_inner()
    }

    fn read(bytes: Vec<u8>) -> Result<CharxContent> {
        read_charx(Cursor::new(bytes), "c.charx")
    }

    #[test]
    fn card_and_icon_are_read_back() {
        let icon = super::super::png::solid_png(1, 1, [1, 2, 3]);
        let mut out = Cursor::new(Vec::new());
        write_charx(
            &mut out,
            "{\"spec\":\"chara_card_v3\"}",
            &[(ICON_PATH.to_string(), icon.clone())],
        )
        .unwrap();
        let content = read(out.into_inner()).unwrap();
        assert_eq!(
            content,
            CharxContent {
                card_json: "{\"spec\":\"chara_card_v3\"}".into(),
                icon_png: Some(icon)
            }
        );
    }

    #[test]
    fn unsafe_and_malformed_archives_are_refused() {
        let err = |bytes| read(bytes).unwrap_err();
        let escape = err(zip_of(&[("card.json", b"{}"), ("../../evil.sh", b"x")]));
        assert!(
            matches!(escape, Error::UnsafeArchive { .. })
                && escape.to_string().contains("../../evil.sh"),
            "{escape}"
        );
        for name in ["/etc/passwd", "assets/../../x", "..\\x", "C:/x"] {
            assert!(
                matches!(
                    err(zip_of(&[("card.json", b"{}"), (name, b"x")])),
                    Error::UnsafeArchive { .. }
                ),
                "{name}"
            );
        }
        assert!(err(zip_of(&[("readme.txt", b"x")]))
            .to_string()
            .contains("no card.json"));
        assert!(err(b"PK\x03\x04 not really".to_vec())
            .to_string()
            .contains("not a CharX zip"));
    }

    #[test]
    fn a_zip_bomb_stops_at_the_limit() {
        // 9 MiB of zeros deflates to a few KiB; the cap is on inflated bytes.
        let zeros = vec![0u8; 9 << 20];
        let mut bomb = Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut bomb);
        zip.start_file(
            "card.json",
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated),
        )
        .unwrap();
        zip.write_all(&zeros).unwrap();
        zip.finish().unwrap();
        let bomb = bomb.into_inner();
        assert!(bomb.len() < 64 << 10, "{}", bomb.len());
        let err = read(bomb).unwrap_err();
        assert!(
            matches!(err, Error::UnsafeArchive { .. }) && err.to_string().contains("zip bomb"),
            "{err}"
        );
    }
}
