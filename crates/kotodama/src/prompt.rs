//! A persona's card -> the system prompt of a chat. A card's own `system_prompt` wins, as card
//! editors expect; otherwise one is composed from the description, personality, scenario and examples.
//! A persona's adapter has its own, shorter prompt (`adapter_system_prompt`), the same in training,
//! evaluation and chat.

use kotodama_store::NewPersona;

/// Replaces the card macros `{{char}}` and `{{user}}` (any case, as card editors write them).
pub(crate) fn fill(text: &str, char_name: &str, user: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open..].find("}}") else {
            break;
        };
        out.push_str(&rest[..open]);
        let inner = &rest[open + 2..open + close];
        match inner.trim().to_ascii_lowercase().as_str() {
            "char" => out.push_str(char_name),
            "user" => out.push_str(user),
            _ => out.push_str(&rest[open..open + close + 2]),
        }
        rest = &rest[open + close + 2..];
    }
    out.push_str(rest);
    out
}

pub fn system_prompt(card: &NewPersona, user: &str) -> String {
    let name = card.name.as_str();
    if !card.system_prompt.trim().is_empty() {
        return fill(card.system_prompt.trim(), name, user);
    }
    let mut parts = vec![identity(name)];
    for (label, field) in [
        ("", &card.description),
        ("Personality: ", &card.personality),
        ("Scenario: ", &card.scenario),
    ] {
        if !field.trim().is_empty() {
            parts.push(format!("{label}{}", fill(field.trim(), name, user)));
        }
    }
    let examples: Vec<&str> = card
        .example_dialogue
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "<START>")
        .collect();
    if !examples.is_empty() {
        parts.push(format!(
            "How {name} speaks:\n{}",
            fill(&examples.join("\n"), name, user)
        ));
    }
    parts.join("\n\n")
}

/// What the character knows of the user (their persona's description), for the system prompt; None
/// without a description.
pub fn about_user(user: &str, description: &str, char_name: &str) -> Option<String> {
    let description = description.trim();
    (!description.is_empty())
        .then(|| format!("About {user}: {}", fill(description, char_name, user)))
}

fn identity(name: &str) -> String {
    format!("You are {name}. Stay in character: speak as {name} would, never as an assistant.")
}

/// Longest part of the description an adapter's prompt carries.
const ADAPTER_DESCRIPTION_CHARS: usize = 240;

/// The system prompt of every sequence an adapter sees, in training, in its evaluation and in chats
/// that use it: who the character is (the identity line and the description's first sentences),
/// without the card's style notes and example dialogue, which the adapter learnt from the script.
/// Training sequences stay short this way (each carries the prompt), and the adapter never meets a
/// prompt it was not trained with.
pub fn adapter_system_prompt(card: &NewPersona, user: &str) -> String {
    let name = card.name.as_str();
    let description = leading_sentences(
        &fill(card.description.trim(), name, user),
        ADAPTER_DESCRIPTION_CHARS,
    );
    if description.is_empty() {
        identity(name)
    } else {
        format!("{}\n\n{description}", identity(name))
    }
}

/// The longest run of whole sentences from the start of `text` within `max_chars` characters; the
/// first sentence cut at a word when even it is longer.
fn leading_sentences(text: &str, max_chars: usize) -> String {
    let mut end = 0;
    let mut last_space = None;
    for (count, (i, c)) in text.char_indices().enumerate() {
        if count == max_chars {
            break;
        }
        let after = i + c.len_utf8();
        if matches!(c, '.' | '!' | '?' | '。' | '！' | '？') {
            end = after;
        }
        if c.is_whitespace() {
            last_space = Some(i);
        }
        if count + 1 == text.chars().count() {
            end = after;
        }
    }
    if end == 0 {
        end = last_space.unwrap_or(0);
    }
    text[..end].trim().to_string()
}

/// The system prompt of rewrite examples (and of "rewrite in character" at chat time).
pub fn rewrite_instruction(persona: &str) -> String {
    format!("Rewrite the user's sentence in {persona}'s voice, keeping its meaning.")
}

/// What a plan-trained adapter finds at the start of its turn instead of a plan: it answers without
/// reasoning tokens (implicit style conditioning).
pub const EMPTY_REASONING: &str = "<think>\n\n</think>\n\n";

#[cfg(test)]
mod tests {
    use super::*;
    use kotodama_store::PersonaSource;

    fn card() -> NewPersona {
        NewPersona {
            slug: "aoi".into(),
            name: "Aoi".into(),
            tagline: String::new(),
            description: "{{char}} paints for {{User}}.".into(),
            personality: "quiet".into(),
            scenario: String::new(),
            first_message: String::new(),
            example_dialogue: "<START>\n{{user}}: Hi\n{{char}}: ...hello. {{unknown}}".into(),
            system_prompt: String::new(),
            post_history_instructions: String::new(),
            creator_notes: String::new(),
            alternate_greetings: vec![],
            tags: vec![],
            card_json: serde_json::json!({}),
            speaker: None,
            source: PersonaSource::Imported,
        }
    }

    #[test]
    fn composes_the_card_fields_with_macros_filled() {
        let prompt = system_prompt(&card(), "Ren");
        assert!(prompt.starts_with("You are Aoi."));
        assert!(prompt.contains("Aoi paints for Ren."));
        assert!(prompt.contains("Personality: quiet"));
        assert!(!prompt.contains("Scenario:"), "empty fields are left out");
        assert!(prompt.contains("How Aoi speaks:\nRen: Hi\nAoi: ...hello. {{unknown}}"));
        assert!(!prompt.contains("<START>"));
    }

    #[test]
    fn an_adapters_prompt_is_the_identity_and_the_descriptions_first_sentences() {
        let mut c = card();
        c.description = format!(
            "{{{{char}}}} paints for {{{{user}}}}. She lives by the sea! {}",
            "Long backstory. ".repeat(40)
        );
        c.system_prompt = "Be {{char}}.".into();
        let prompt = adapter_system_prompt(&c, "Ren");
        assert!(
            prompt.starts_with("You are Aoi. Stay in character"),
            "{prompt}"
        );
        assert!(prompt.contains("Aoi paints for Ren. She lives by the sea!"));
        assert!(prompt.chars().count() < 100 + ADAPTER_DESCRIPTION_CHARS);
        assert!(prompt.ends_with('.') && !prompt.contains("quiet") && !prompt.contains("Hi"));
        c.description = String::new();
        assert_eq!(
            adapter_system_prompt(&c, "Ren"),
            "You are Aoi. Stay in character: speak as Aoi would, never as an assistant."
        );
        assert_eq!(leading_sentences("one two three four", 9), "one two");
        assert_eq!(leading_sentences("短い。", 240), "短い。");
        assert_eq!(leading_sentences("no stop at all", 240), "no stop at all");
    }

    #[test]
    fn the_cards_own_system_prompt_wins() {
        let mut c = card();
        c.system_prompt = "Be {{char}}, talking to {{user}}.".into();
        assert_eq!(system_prompt(&c, "Ren"), "Be Aoi, talking to Ren.");
    }
}
