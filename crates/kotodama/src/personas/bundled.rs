//! The original personas shipped in `personas/`, imported into the database on first start.

use kotodama_store::{PersonaSource, Store};

use crate::analysis::analyze_persona;
use crate::cards::persona_from_card_json;
use crate::import::parse_screenplay;
use crate::{Error, Result};

pub struct BundledPersona {
    pub slug: &'static str,
    pub card_json: &'static str,
    pub script: &'static str,
}

pub const BUNDLED: &[BundledPersona] = include!(concat!(env!("OUT_DIR"), "/bundled_personas.rs"));

/// Imports each bundled persona that is not in the database yet. A persona the user deleted comes back
/// on the next start: bundled personas are the app's demo, always present.
pub fn seed_bundled(store: &mut Store) -> Result<usize> {
    let mut added = 0;
    for b in BUNDLED {
        if store.persona_by_slug(b.slug)?.is_some() {
            continue;
        }
        let fail = |detail: String| Error::BundledPersona {
            slug: b.slug.into(),
            detail,
        };
        let card = persona_from_card_json(b.card_json, b.slug, PersonaSource::Bundled)
            .map_err(|e| fail(e.to_string()))?;
        let speaker = card
            .speaker
            .clone()
            .ok_or_else(|| fail("card lacks extensions.kotodama.speaker".into()))?;
        let script = parse_screenplay(b.script, &format!("personas/{}/script.txt", b.slug))?;
        let lines = script.lines_of(&speaker);
        if lines.is_empty() {
            return Err(fail(format!("no lines for speaker {speaker}")));
        }
        let profile = analyze_persona(&lines, &script.texts_of_others(&speaker), Some(&speaker))?;
        store.insert_persona(&card, &lines, Some(&profile))?;
        added += 1;
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_persona_has_a_card_and_at_least_300_lines() {
        assert!(BUNDLED.len() >= 3, "at least three bundled personas");
        for b in BUNDLED {
            let card = persona_from_card_json(b.card_json, b.slug, PersonaSource::Bundled).unwrap();
            for (field, value) in [
                ("description", &card.description),
                ("personality", &card.personality),
                ("scenario", &card.scenario),
                ("first message", &card.first_message),
                ("example dialogue", &card.example_dialogue),
                ("tagline", &card.tagline),
            ] {
                assert!(!value.trim().is_empty(), "{}: empty {field}", b.slug);
            }
            let speaker = card.speaker.unwrap();
            let lines = parse_screenplay(b.script, b.slug)
                .unwrap()
                .lines_of(&speaker);
            assert!(lines.len() >= 300, "{}: only {} lines", b.slug, lines.len());
            let with_context = lines.iter().filter(|l| l.context_text.is_some()).count();
            assert!(
                with_context * 10 >= lines.len() * 9,
                "{}: most lines answer a preceding turn",
                b.slug
            );
        }
    }

    #[test]
    fn seeding_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("k.db")).unwrap();
        assert_eq!(seed_bundled(&mut store).unwrap(), BUNDLED.len());
        assert_eq!(seed_bundled(&mut store).unwrap(), 0);
        assert_eq!(store.personas().unwrap().len(), BUNDLED.len());
    }
}
