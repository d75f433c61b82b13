//! A persona's image: the PNG of its card, or one the user chose in the editor. Kept as a file in the
//! data folder (`avatars/<slug>.png`), carried by PNG and CharX exports.

use crate::cards::png;
use crate::{Error, Kotodama, PersonaSummary, Result};

/// Largest image accepted (a card PNG with its embedded JSON is rarely over a few megabytes).
pub const MAX_AVATAR_BYTES: usize = 8 << 20;

impl Kotodama {
    /// The persona's image, if it has one.
    pub fn avatar_png(&self, persona_id: i64) -> Result<Option<Vec<u8>>> {
        let slug = self.store.persona(persona_id)?.card.slug;
        self.stored_avatar(&slug)
    }

    /// Makes `bytes` (a PNG) the persona's image. Another card's JSON inside it is dropped, so that an
    /// export carries this persona's card only.
    pub fn set_avatar(&mut self, persona_id: i64, bytes: &[u8]) -> Result<PersonaSummary> {
        if bytes.len() > MAX_AVATAR_BYTES {
            return Err(Error::InvalidInput(format!(
                "the image is larger than {} MB",
                MAX_AVATAR_BYTES >> 20
            )));
        }
        if !bytes.starts_with(png::SIGNATURE) {
            return Err(Error::InvalidInput(
                "choose a PNG image: a card carries its image as PNG".into(),
            ));
        }
        let image = png::with_text_chunks(bytes, "the image", &["chara", "ccv3"], &[])?;
        let persona = self.store.persona(persona_id)?;
        crate::fsutil::write_atomically(&self.avatar_path(&persona.card.slug), &image)?;
        self.summary(persona)
    }
}

#[cfg(test)]
mod tests {
    use crate::cards::{self, png};
    use crate::temp_app;

    #[test]
    fn a_chosen_png_becomes_the_avatar_without_another_cards_json_and_the_export_carries_it() {
        let (dir, mut app) = temp_app();
        let pid = app.find_persona("tsubaki").unwrap().id;
        assert!(app.avatar_png(pid).unwrap().is_none());
        assert!(!app.personas().unwrap().iter().any(|p| p.has_avatar));

        let foreign = png::with_text_chunks(
            &png::solid_png(8, 8, [200, 30, 30]),
            "x",
            &[],
            &[("chara", "e30=")],
        )
        .unwrap();
        let summary = app.set_avatar(pid, &foreign).unwrap();
        assert!(summary.has_avatar);
        let stored = app.avatar_png(pid).unwrap().unwrap();
        let texts: Vec<_> = png::read_chunks(&stored, "avatar")
            .unwrap()
            .iter()
            .filter_map(|c| png::text_chunk(c).map(|(k, _)| k.to_string()))
            .collect();
        assert!(texts.is_empty(), "{texts:?}");

        let out = dir.path().join("t.png");
        app.export_card(pid, cards::CardFormat::Png, &out).unwrap();
        let content = cards::read_card_bytes(&std::fs::read(&out).unwrap(), "t.png").unwrap();
        assert_eq!(
            content.avatar_png.unwrap(),
            stored,
            "the export carries the image"
        );

        let err = app.set_avatar(pid, b"\xff\xd8\xff\xe0 a jpeg").unwrap_err();
        assert!(err.to_string().contains("choose a PNG image"), "{err}");
        assert!(app
            .set_avatar(pid, &[png::SIGNATURE.as_slice(), b"garbage"].concat())
            .is_err());
        assert_eq!(
            app.avatar_png(pid).unwrap().unwrap(),
            stored,
            "a refused image changes nothing"
        );
    }
}
