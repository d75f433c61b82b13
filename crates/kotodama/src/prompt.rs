//! A persona's card -> the system prompt of a chat. A card's own `system_prompt` wins, as card
//! editors expect; otherwise one is composed from the description, personality, scenario and examples.

use kotodama_store::NewPersona;

/// Replaces the card macros `{{char}}` and `{{user}}` (any case, as card editors write them).
fn fill(text: &str, char_name: &str, user: &str) -> String {
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
    let mut parts = vec![format!(
        "You are {name}. Stay in character: speak as {name} would, never as an assistant."
    )];
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
    fn the_cards_own_system_prompt_wins() {
        let mut c = card();
        c.system_prompt = "Be {{char}}, talking to {{user}}.".into();
        assert_eq!(system_prompt(&c, "Ren"), "Be Aoi, talking to Ren.");
    }
}
