//! Bytes of a text file -> `String`: UTF-8 (BOM or not), UTF-16 LE/BE (BOM or not), Shift_JIS, GBK.

use encoding_rs::{Encoding, GBK, SHIFT_JIS, UTF_16BE, UTF_16LE, UTF_8};

use crate::{Error, Result};

/// Decodes `bytes`, returning the text and the name of the encoding found.
pub fn decode_text(bytes: &[u8], file: &str) -> Result<(String, &'static str)> {
    let encoding = detect_encoding(bytes).ok_or_else(|| Error::Script {
        file: file.into(),
        line: 0,
        detail: "not text in UTF-8, UTF-16, Shift_JIS or GBK".into(),
    })?;
    // `decode` strips a BOM matching the encoding; errors cannot occur here because detection decoded
    // the same bytes without replacement (UTF-16 excepted, where a stray unpaired surrogate is tolerated).
    let (text, _, _) = encoding.decode(bytes);
    Ok((text.into_owned(), encoding.name()))
}

fn detect_encoding(bytes: &[u8]) -> Option<&'static Encoding> {
    if let Some((encoding, _)) = Encoding::for_bom(bytes) {
        return Some(encoding);
    }
    if let Some(utf16) = utf16_without_bom(bytes) {
        return Some(utf16);
    }
    if std::str::from_utf8(bytes).is_ok() {
        return Some(UTF_8);
    }
    let decodes =
        |e: &'static Encoding| e.decode_without_bom_handling_and_without_replacement(bytes);
    match (decodes(SHIFT_JIS), decodes(GBK)) {
        (Some(sjis), Some(_)) if !looks_japanese(&sjis) => Some(GBK),
        (Some(_), _) => Some(SHIFT_JIS),
        (None, Some(_)) => Some(GBK),
        (None, None) => None,
    }
}

/// Text without a BOM whose even or odd bytes are mostly zero is UTF-16 (ASCII-range text).
fn utf16_without_bom(bytes: &[u8]) -> Option<&'static Encoding> {
    if bytes.len() < 4 || !bytes.len().is_multiple_of(2) {
        return None;
    }
    let pairs = bytes.len() / 2;
    let zeros_at = |offset: usize| {
        bytes
            .iter()
            .skip(offset)
            .step_by(2)
            .filter(|b| **b == 0)
            .count()
    };
    let (even, odd) = (zeros_at(0), zeros_at(1));
    if odd * 10 >= pairs * 3 && even == 0 {
        Some(UTF_16LE)
    } else if even * 10 >= pairs * 3 && odd == 0 {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// Chinese GBK bytes also decode as Shift_JIS, but as half-width katakana; Japanese text has full-width kana.
fn looks_japanese(text: &str) -> bool {
    let kana = text
        .chars()
        .filter(|c| ('\u{3040}'..='\u{30ff}').contains(c))
        .count();
    let half_width = text
        .chars()
        .filter(|c| ('\u{ff61}'..='\u{ff9f}').contains(c))
        .count();
    kana > half_width
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(encoding: &'static Encoding, text: &str) -> Vec<u8> {
        encoding.encode(text).0.into_owned()
    }

    fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        for unit in std::iter::once(0xfeff)
            .filter(|_| bom)
            .chain(text.encode_utf16())
        {
            out.extend(if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        out
    }

    #[test]
    fn detects_each_supported_encoding() {
        let ja = "椿：ふん、遅いわよ。\n蓮：ごめん。\n";
        let zh = "小明：你好，我们走吧。\n老师：今天下雨了。\n";
        let en = "REN: Hello.\r\nTSUBAKI: Hmph.\r\n";
        let cases: Vec<(Vec<u8>, &str, &str)> = vec![
            (en.as_bytes().to_vec(), en, "UTF-8"),
            (
                [b"\xef\xbb\xbf".as_slice(), en.as_bytes()].concat(),
                en,
                "UTF-8",
            ),
            (utf16(en, false, true), en, "UTF-16LE"),
            (utf16(en, true, true), en, "UTF-16BE"),
            (utf16(en, false, false), en, "UTF-16LE"),
            (utf16(en, true, false), en, "UTF-16BE"),
            (encode(SHIFT_JIS, ja), ja, "Shift_JIS"),
            (encode(GBK, zh), zh, "GBK"),
        ];
        for (bytes, text, name) in cases {
            assert_eq!(
                decode_text(&bytes, "f.txt").unwrap(),
                (text.to_string(), name),
                "{name}"
            );
        }
    }

    #[test]
    fn binary_noise_is_refused_with_the_file_name() {
        let err = decode_text(&[0x80, 0xff, 0xfe, 0x81, 0x00, 0xff, 0x85], "blob.bin").unwrap_err();
        assert!(err.to_string().contains("blob.bin"), "{err}");
    }
}
