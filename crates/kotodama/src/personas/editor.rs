//! The character editor: a card's fields as the user edits them, checked and saved as a new revision
//! of the card. What the editor does not show (a lorebook, other apps' extensions) stays in the card.

use kotodama_store::NewPersona;
use serde::{Deserialize, Serialize};

use crate::cards::card_v3;
use crate::cards::lorebook_edit::{from_world_info, to_world_info, LorebookView};
use crate::{Error, Kotodama, PersonaPage, Result};

/// Longest text a field takes (characters); cards this long are already far past any context.
pub const MAX_FIELD_CHARS: usize = 100_000;

/// The fields of a card the editor shows (Character Card V3's, by their meaning).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CardFields {
    pub name: String,
    /// One line under the name in the persona list.
    pub tagline: String,
    pub description: String,
    pub personality: String,
    pub scenario: String,
    /// The greeting that opens a new chat; the alternate greetings are its swipes.
    pub first_message: String,
    pub alternate_greetings: Vec<String>,
    /// Example exchanges (`<START>` blocks of `{{user}}:` and `{{char}}:` lines).
    pub example_dialogue: String,
    /// Replaces the app's own instructions when not empty.
    pub system_prompt: String,
    /// Sent after the chat, just before the reply.
    pub post_history_instructions: String,
    /// For people, never sent to the model.
    pub creator_notes: String,
    pub tags: Vec<String>,
}

impl From<&NewPersona> for CardFields {
    fn from(card: &NewPersona) -> Self {
        CardFields {
            name: card.name.clone(),
            tagline: card.tagline.clone(),
            description: card.description.clone(),
            personality: card.personality.clone(),
            scenario: card.scenario.clone(),
            first_message: card.first_message.clone(),
            alternate_greetings: card.alternate_greetings.clone(),
            example_dialogue: card.example_dialogue.clone(),
            system_prompt: card.system_prompt.clone(),
            post_history_instructions: card.post_history_instructions.clone(),
            creator_notes: card.creator_notes.clone(),
            tags: card.tags.clone(),
        }
    }
}

impl CardFields {
    /// Refuses a card without a name or with a field past the limit; trims the name and tagline and
    /// drops empty greetings and tags (and repeated tags).
    pub(crate) fn checked(mut self) -> Result<CardFields> {
        self.name = self.name.trim().to_string();
        self.tagline = self.tagline.trim().to_string();
        if self.name.is_empty() {
            return Err(Error::InvalidInput("the character needs a name".into()));
        }
        let texts = [
            ("name", &self.name),
            ("tagline", &self.tagline),
            ("description", &self.description),
            ("personality", &self.personality),
            ("scenario", &self.scenario),
            ("first message", &self.first_message),
            ("example messages", &self.example_dialogue),
            ("system prompt", &self.system_prompt),
            ("post-history instructions", &self.post_history_instructions),
            ("creator notes", &self.creator_notes),
        ];
        let lists = self.alternate_greetings.iter().chain(&self.tags);
        let long = texts
            .into_iter()
            .chain(lists.map(|t| ("greeting or tag", t)))
            .find(|(_, text)| text.chars().count() > MAX_FIELD_CHARS);
        if let Some((field, _)) = long {
            return Err(Error::InvalidInput(format!(
                "the {field} is longer than {MAX_FIELD_CHARS} characters"
            )));
        }
        self.alternate_greetings.retain(|g| !g.trim().is_empty());
        let mut seen = std::collections::HashSet::new();
        self.tags = std::mem::take(&mut self.tags)
            .into_iter()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty() && seen.insert(t.to_lowercase()))
            .collect();
        Ok(self)
    }
}

impl CardFields {
    /// `base` with these fields (its slug, source, script speaker and card JSON kept).
    pub(crate) fn into_card(self, base: NewPersona) -> NewPersona {
        NewPersona {
            name: self.name,
            tagline: self.tagline,
            description: self.description,
            personality: self.personality,
            scenario: self.scenario,
            first_message: self.first_message,
            alternate_greetings: self.alternate_greetings,
            example_dialogue: self.example_dialogue,
            system_prompt: self.system_prompt,
            post_history_instructions: self.post_history_instructions,
            creator_notes: self.creator_notes,
            tags: self.tags,
            ..base
        }
    }
}

impl Kotodama {
    /// The persona's card as the editor shows it.
    pub fn card_fields(&self, persona_id: i64) -> Result<CardFields> {
        Ok(CardFields::from(&self.store.persona(persona_id)?.card))
    }

    /// Saves the edited card as its newest revision (the earlier ones are kept); the next prompt and
    /// new chats use it, exports carry it. Returns the persona's page.
    pub fn save_card(&mut self, persona_id: i64, fields: CardFields) -> Result<PersonaPage> {
        let before = self.store.persona(persona_id)?.card;
        let mut card = fields.checked()?.into_card(before);
        // The stored card JSON follows the fields, keeping what the editor does not show.
        card.card_json = card_v3(&card, None);
        self.store.save_card(persona_id, &card)?;
        self.persona_page(persona_id)
    }
}

impl Kotodama {
    /// The persona's lorebook as the editor shows it.
    pub fn lorebook_view(&self, persona_id: i64) -> Result<LorebookView> {
        let card = card_v3(&self.store.persona(persona_id)?.card, None);
        LorebookView::of_card(&card["data"])
    }

    /// Saves the edited lorebook into the card, as a new card revision; the next prompt uses it.
    pub fn save_lorebook(&mut self, persona_id: i64, book: &LorebookView) -> Result<LorebookView> {
        book.check()?;
        let mut card = self.store.persona(persona_id)?.card;
        let mut json = card_v3(&card, None);
        let data = json["data"]
            .as_object_mut()
            .expect("card_v3 writes an object under data");
        book.write_into(data);
        card.card_json = json;
        self.store.save_card(persona_id, &card)?;
        self.lorebook_view(persona_id)
    }

    /// Adds the entries of a SillyTavern World Info file to the persona's lorebook (the book as it was
    /// stays as the card's previous revision).
    pub fn import_world_info(&mut self, persona_id: i64, text: &str) -> Result<LorebookView> {
        let mut book = self.lorebook_view(persona_id)?;
        book.entries.extend(from_world_info(text)?);
        self.save_lorebook(persona_id, &book)
    }

    /// The persona's lorebook as a SillyTavern World Info file.
    pub fn world_info(&self, persona_id: i64) -> Result<String> {
        let book = self.lorebook_view(persona_id)?;
        Ok(serde_json::to_string_pretty(&to_world_info(&book.entries))
            .expect("a JSON value always serializes"))
    }

    /// Writes the World Info file to `<data dir>/exports/<slug>.worldinfo.json`; returns its path.
    pub fn export_world_info(&self, persona_id: i64) -> Result<std::path::PathBuf> {
        let slug = self.store.persona(persona_id)?.card.slug;
        let out = self
            .home
            .root()
            .join("exports")
            .join(format!("{slug}.worldinfo.json"));
        crate::fsutil::write_atomically(&out, self.world_info(persona_id)?.as_bytes())?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::temp_app;

    #[test]
    fn an_edited_card_reaches_the_prompt_and_the_export_and_keeps_its_lorebook() {
        let (_dir, mut app) = temp_app();
        let pid = app.personas().unwrap()[0].id;
        let chat = app.new_chat(pid).unwrap().chat.id;
        let mut fields = app.card_fields(pid).unwrap();
        let lore_before = app.lorebook(pid).unwrap().entries.len();
        fields.description = "She keeps a jar of sea glass on the windowsill.".into();
        fields.tags = vec![" calm ".into(), "Calm".into(), "".into(), "sea".into()];
        fields.alternate_greetings.push("   ".into());
        let greetings = fields.alternate_greetings.len() - 1;
        let page = app.save_card(pid, fields).unwrap();
        assert_eq!(
            page.description,
            "She keeps a jar of sea glass on the windowsill."
        );

        let saved = app.card_fields(pid).unwrap();
        assert_eq!(saved.tags, ["calm", "sea"]);
        assert_eq!(saved.alternate_greetings.len(), greetings);
        let prompt = app.next_prompt(chat).unwrap();
        assert!(
            prompt[0].content.contains("jar of sea glass"),
            "{}",
            prompt[0].content
        );
        assert_eq!(app.lorebook(pid).unwrap().entries.len(), lore_before);
        let card = card_v3(&app.persona(pid).unwrap().card, None);
        assert_eq!(
            card["data"]["description"],
            "She keeps a jar of sea glass on the windowsill."
        );
        assert_eq!(app.store.card_revisions(pid).unwrap().len(), 2);
    }

    #[test]
    fn a_card_without_a_name_or_with_a_huge_field_is_refused_and_nothing_changes() {
        let (_dir, mut app) = temp_app();
        let pid = app.personas().unwrap()[0].id;
        let before = app.card_fields(pid).unwrap();
        let nameless = CardFields {
            name: "  ".into(),
            ..before.clone()
        };
        let err = app.save_card(pid, nameless).unwrap_err();
        assert!(err.to_string().contains("needs a name"), "{err}");
        let huge = CardFields {
            scenario: "x".repeat(MAX_FIELD_CHARS + 1),
            ..before.clone()
        };
        let err = app.save_card(pid, huge).unwrap_err();
        assert!(err.to_string().contains("scenario"), "{err}");
        assert_eq!(app.card_fields(pid).unwrap(), before);
        assert!(app.store.card_revisions(pid).unwrap().is_empty());
    }

    #[test]
    fn a_world_info_file_joins_the_lorebook_the_chat_reads_and_exports_back() {
        let (_dir, mut app) = temp_app();
        let pid = app.find_persona("mikoto").unwrap().id;
        let before = app.lorebook_view(pid).unwrap().entries.len();
        let file = r#"{"entries": {"0": {"uid": 0, "key": ["lantern"], "keysecondary": [], "comment": "Lanterns",
            "content": "Fifty lanterns climb the hill on festival night.", "constant": false, "selective": false,
            "order": 100, "disable": false, "probability": 100}}}"#;
        let book = app.import_world_info(pid, file).unwrap();
        assert_eq!(book.entries.len(), before + 1);
        let chat = app.new_chat(pid).unwrap().chat.id;
        app.send_message(chat, "Will you light a lantern tonight?")
            .unwrap();
        let prompt = app.next_prompt(chat).unwrap();
        assert!(
            prompt[0].content.contains("Fifty lanterns climb the hill"),
            "{}",
            prompt[0].content
        );

        let out = app.export_world_info(pid).unwrap();
        let exported: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        let last = &exported["entries"][before.to_string()];
        assert_eq!(
            (last["comment"].clone(), last["probability"].clone()),
            ("Lanterns".into(), 100.into())
        );

        let mut bad = app.lorebook_view(pid).unwrap();
        bad.entries[before].content.clear();
        assert!(app.save_lorebook(pid, &bad).is_err());
        assert_eq!(
            app.lorebook_view(pid).unwrap(),
            book,
            "a refused book changes nothing"
        );
        assert!(app.import_world_info(pid, "{}").is_err());
    }
}
