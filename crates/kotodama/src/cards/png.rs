//! PNG/APNG chunks: a bounded, CRC-checked reader, a writer, and the `tEXt` chunks that carry cards.
//! Only the chunk layer is handled; image data (and APNG animation chunks) pass through untouched.

use super::crc32::crc32;
use crate::{Error, Result};

pub const SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";
/// The PNG spec caps chunk lengths at 2^31-1; a declared length past that or past the file is refused.
const MAX_CHUNK_LEN: u32 = 0x7fff_ffff;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk<'a> {
    pub kind: [u8; 4],
    pub data: &'a [u8],
}

/// Splits a PNG into its chunks, checking the signature, every declared length and CRC, and that the file
/// ends with `IEND`.
pub fn read_chunks<'a>(bytes: &'a [u8], file: &str) -> Result<Vec<Chunk<'a>>> {
    let fail = |detail: String| Error::Png {
        file: file.into(),
        detail,
    };
    let mut rest = bytes
        .strip_prefix(SIGNATURE.as_slice())
        .ok_or_else(|| fail("no PNG signature".into()))?;
    let mut chunks = Vec::new();
    loop {
        let offset = bytes.len() - rest.len();
        let (header, body) = rest
            .split_at_checked(8)
            .ok_or_else(|| fail(format!("truncated at byte {offset}: no IEND chunk")))?;
        let declared = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let kind = [header[4], header[5], header[6], header[7]];
        let name = String::from_utf8_lossy(&kind).into_owned();
        if declared > MAX_CHUNK_LEN || declared as usize + 4 > body.len() {
            return Err(fail(format!(
                "chunk {name:?} at byte {offset} declares {declared} bytes but only {} remain",
                body.len().saturating_sub(4)
            )));
        }
        let (data, after) = body.split_at(declared as usize);
        let (stored_crc, after) = after.split_at(4);
        let stored_crc =
            u32::from_be_bytes([stored_crc[0], stored_crc[1], stored_crc[2], stored_crc[3]]);
        if crc32(&[&kind, data]) != stored_crc {
            return Err(fail(format!(
                "chunk {name:?} at byte {offset} has a bad CRC"
            )));
        }
        chunks.push(Chunk { kind, data });
        rest = after;
        if &kind == b"IEND" {
            return Ok(chunks);
        }
    }
}

pub fn write_chunks<'a>(chunks: impl IntoIterator<Item = &'a Chunk<'a>>) -> Vec<u8> {
    let mut out = SIGNATURE.to_vec();
    for chunk in chunks {
        out.extend((chunk.data.len() as u32).to_be_bytes());
        out.extend(chunk.kind);
        out.extend(chunk.data);
        out.extend(crc32(&[&chunk.kind, chunk.data]).to_be_bytes());
    }
    out
}

/// `tEXt` chunk `keyword\0text`, the text being Latin-1 (cards store ASCII base64 there).
pub fn text_chunk<'a>(chunk: &Chunk<'a>) -> Option<(&'a str, String)> {
    if &chunk.kind != b"tEXt" {
        return None;
    }
    let nul = chunk.data.iter().position(|b| *b == 0)?;
    let keyword = std::str::from_utf8(&chunk.data[..nul]).ok()?;
    Some((
        keyword,
        chunk.data[nul + 1..]
            .iter()
            .map(|b| char::from(*b))
            .collect(),
    ))
}

fn text_chunk_data(keyword: &str, text: &str) -> Vec<u8> {
    [keyword.as_bytes(), &[0], text.as_bytes()].concat()
}

/// The PNG with every `tEXt` chunk whose keyword is in `replace` dropped and `texts` added before `IEND`.
pub fn with_text_chunks(
    png: &[u8],
    file: &str,
    replace: &[&str],
    texts: &[(&str, &str)],
) -> Result<Vec<u8>> {
    let text_data: Vec<Vec<u8>> = texts.iter().map(|(k, t)| text_chunk_data(k, t)).collect();
    let replaced = |c: &Chunk| text_chunk(c).is_some_and(|(k, _)| replace.contains(&k));
    let mut out: Vec<Chunk> = read_chunks(png, file)?
        .into_iter()
        .filter(|c| &c.kind != b"IEND" && !replaced(c))
        .collect();
    out.extend(text_data.iter().map(|data| Chunk {
        kind: *b"tEXt",
        data,
    }));
    out.push(Chunk {
        kind: *b"IEND",
        data: &[],
    });
    Ok(write_chunks(&out))
}

/// A solid-colour RGB image: the avatar of a persona that has none.
pub fn solid_png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    use std::io::Write;
    let mut header = Vec::with_capacity(13);
    header.extend(width.to_be_bytes());
    header.extend(height.to_be_bytes());
    header.extend([8, 2, 0, 0, 0]); // 8-bit RGB, deflate, no filter method, no interlace
    let row: Vec<u8> = std::iter::once(0)
        .chain(rgb.iter().copied().cycle().take(width as usize * 3))
        .collect();
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    for _ in 0..height {
        zlib.write_all(&row).expect("writing to a Vec cannot fail");
    }
    let image = zlib.finish().expect("writing to a Vec cannot fail");
    write_chunks(&[
        Chunk {
            kind: *b"IHDR",
            data: &header,
        },
        Chunk {
            kind: *b"IDAT",
            data: &image,
        },
        Chunk {
            kind: *b"IEND",
            data: &[],
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(bytes: &[u8]) -> String {
        read_chunks(bytes, "c.png").unwrap_err().to_string()
    }

    #[test]
    fn written_chunks_read_back_and_text_is_replaced() {
        let png = with_text_chunks(
            &solid_png(2, 2, [200, 10, 10]),
            "c.png",
            &["chara"],
            &[("chara", "old")],
        )
        .unwrap();
        let png = with_text_chunks(
            &png,
            "c.png",
            &["chara"],
            &[("chara", "new"), ("ccv3", "v3")],
        )
        .unwrap();
        let chunks = read_chunks(&png, "c.png").unwrap();
        let kinds: Vec<_> = chunks
            .iter()
            .map(|c| String::from_utf8_lossy(&c.kind).into_owned())
            .collect();
        assert_eq!(kinds, ["IHDR", "IDAT", "tEXt", "tEXt", "IEND"]);
        let texts: Vec<_> = chunks.iter().filter_map(text_chunk).collect();
        assert_eq!(
            texts,
            vec![("chara", "new".to_string()), ("ccv3", "v3".to_string())]
        );
    }

    #[test]
    fn damaged_files_are_refused_with_the_reason() {
        let png = solid_png(1, 1, [0, 0, 0]);
        assert!(err(b"GIF89a").contains("no PNG signature"));
        assert!(
            err(&png[..png.len() - 2]).contains("\"IEND\" at byte"),
            "truncated IEND CRC"
        );
        assert!(
            err(&png[..png.len() - 5]).contains("no IEND"),
            "truncated IEND header"
        );
        assert!(
            err(&png[..20]).contains("declares 13 bytes"),
            "truncated IHDR"
        );
        assert!(err(&png[..8]).contains("no IEND"));
        let mut bad_crc = png.clone();
        bad_crc[8 + 8 + 13] ^= 1;
        assert!(err(&bad_crc).contains("\"IHDR\" at byte 8 has a bad CRC"));
        let mut huge = png.clone();
        huge[8..12].copy_from_slice(&0xffff_fff0u32.to_be_bytes());
        assert!(err(&huge).contains("declares 4294967280 bytes"));
    }
}
