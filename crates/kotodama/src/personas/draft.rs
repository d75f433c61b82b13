//! A card drafted from a script, for the user to edit before the persona is created: who the character
//! is as far as their lines show (what they talk about), how they speak in plain words (the profile's
//! habits, traits and patterns), a greeting (their most characteristic line that opens a scene) and
//! example exchanges (their most characteristic answers, with the line they answer).

use kotodama_store::NewScriptLine;
use kotodama_style::{Resources, StyleProfile};

use super::CardFields;

/// Lines scored for the greeting and the examples: enough to find characteristic ones, few enough
/// that a long script drafts in a second or two (every score parses its line).
const MAX_CANDIDATES: usize = 300;
/// A greeting or an example answer: a line of a few words to a few sentences.
const WORDS: std::ops::RangeInclusive<usize> = 4..=45;
const EXAMPLES: usize = 3;
/// Traits shown: those furthest from the other characters' (|z| at least this).
const TRAIT_Z: f64 = 2.0;

/// The card of `name`, whose `lines` (with the line each answers) gave `profile`; `file` names the script.
pub(crate) fn draft_card(
    name: &str,
    file: &str,
    lines: &[NewScriptLine],
    profile: &StyleProfile,
    res: &Resources,
) -> CardFields {
    let scored = characteristic_lines(lines, profile, res);
    // A greeting opens a scene (no line before it) when the script has such lines of theirs.
    let greeting = scored
        .iter()
        .find(|(l, _)| l.context_text.is_none())
        .or(scored.first())
        .map(|(l, _)| l.text.clone())
        .unwrap_or_default();
    let examples: Vec<String> = scored
        .iter()
        .filter(|(l, _)| l.text != greeting)
        .filter_map(|(l, _)| {
            let asked = l.context_text.as_deref()?.trim();
            Some(format!(
                "<START>\n{{{{user}}}}: {asked}\n{{{{char}}}}: {}",
                l.text.trim()
            ))
        })
        .take(EXAMPLES)
        .collect();
    CardFields {
        name: name.to_string(),
        tagline: format!("From {file}"),
        description: description(name, file, profile),
        personality: personality(name, profile),
        scenario: String::new(),
        first_message: greeting,
        alternate_greetings: Vec::new(),
        example_dialogue: examples.join("\n"),
        system_prompt: String::new(),
        post_history_instructions: String::new(),
        creator_notes: format!(
            "Drafted by Kotodama from {} lines of {file}; edit freely.",
            profile.line_count
        ),
        tags: Vec::new(),
    }
}

/// The speaker's lines of a greeting's or an answer's length, most characteristic first (their style
/// score against their own profile), from an even sample of the script.
fn characteristic_lines<'a>(
    lines: &'a [NewScriptLine],
    profile: &StyleProfile,
    res: &Resources,
) -> Vec<(&'a NewScriptLine, f64)> {
    let fitting: Vec<&NewScriptLine> = lines
        .iter()
        .filter(|l| WORDS.contains(&words(&l.text)))
        .collect();
    let step = fitting.len().div_ceil(MAX_CANDIDATES).max(1);
    let mut scored: Vec<(&NewScriptLine, f64)> = fitting
        .into_iter()
        .step_by(step)
        .map(|l| (l, kotodama_style::score(&l.text, profile, res).overall))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    scored
}

/// Words, or characters for a language written without spaces (a Japanese or Chinese line's
/// characters over three stand in for words).
fn words(text: &str) -> usize {
    let spaced = text.split_whitespace().count();
    let chars = text.chars().filter(|c| !c.is_whitespace()).count();
    if spaced * 8 < chars {
        chars / 3
    } else {
        spaced
    }
}

fn quoted(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| format!("\u{201c}{t}\u{201d}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the lines show of who the character is: how much they say, their habits of speech and the
/// names and topics they talk about.
fn description(name: &str, file: &str, profile: &StyleProfile) -> String {
    let mut parts = vec![format!(
        "{name}, as {} lines of {file} show them.",
        profile.line_count
    )];
    let habits: Vec<String> = profile
        .catchphrases
        .iter()
        .chain(&profile.lexical)
        .take(6)
        .map(|s| s.term.clone())
        .collect();
    if !habits.is_empty() {
        parts.push(format!("Often says {}.", quoted(&habits)));
    }
    let topics: Vec<String> = profile
        .vocabulary
        .iter()
        .take(8)
        .map(|s| s.term.clone())
        .collect();
    if !topics.is_empty() {
        parts.push(format!("Talks about {}.", topics.join(", ")));
    }
    let patterns: Vec<&str> = profile
        .syntax
        .iter()
        .filter_map(|r| r.gloss.as_deref())
        .take(3)
        .collect();
    if !patterns.is_empty() {
        parts.push(format!("Speech patterns: {}.", patterns.join("; ")));
    }
    parts.join(" ")
}

/// The traits that set the character's speech apart from the others', in plain words.
fn personality(name: &str, profile: &StyleProfile) -> String {
    let mut traits: Vec<&kotodama_style::pragmatics::Trait> = profile
        .pragmatics
        .traits
        .iter()
        .filter(|t| t.z_or_ratio.abs() >= TRAIT_Z)
        .collect();
    traits.sort_by(|a, b| b.z_or_ratio.abs().total_cmp(&a.z_or_ratio.abs()));
    let gloss = |t: &kotodama_style::pragmatics::Trait| {
        if t.gloss.is_empty() {
            kotodama_style::pragmatics::trait_def(profile.language, &t.name)
                .map_or(t.name.replace('_', " "), |d| d.gloss.to_string())
        } else {
            t.gloss.clone()
        }
    };
    let (more, less): (Vec<_>, Vec<_>) =
        traits.into_iter().take(6).partition(|t| t.z_or_ratio > 0.0);
    let mut parts = Vec::new();
    if !more.is_empty() {
        let glosses: Vec<String> = more.into_iter().map(gloss).collect();
        parts.push(format!(
            "More than the others, {name} {}.",
            glosses.join("; ")
        ));
    }
    if !less.is_empty() {
        let glosses: Vec<String> = less.into_iter().map(gloss).collect();
        parts.push(format!("Less than the others: {}.", glosses.join("; ")));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str, before: Option<&str>) -> NewScriptLine {
        NewScriptLine {
            line_no: 0,
            text: text.into(),
            context_speaker: before.map(|_| "OTHER".into()),
            context_text: before.map(str::to_string),
        }
    }

    #[test]
    fn a_drafted_card_describes_the_speech_greets_with_a_scene_opener_and_gives_exchanges() {
        let res = crate::analysis::style_resources().unwrap();
        let own = [
            line(
                "Well, well, well. Look who finally crawled out of bed, partner.",
                None,
            ),
            line(
                "Reckon the coffee's gone cold again, partner, but I saved you a cup.",
                Some("Morning. Is there coffee?"),
            ),
            line(
                "Well, partner, the horses won't feed themselves, now will they?",
                Some("Do I have to help with the horses?"),
            ),
            line(
                "Reckon we ride at dawn, partner, storm or no storm.",
                Some("When do we leave?"),
            ),
            line(
                "Well now, that's a fine hat you got there, partner.",
                Some("Do you like my hat?"),
            ),
            line("Hush.", Some("What was that?")),
        ];
        let others = [
            "Morning. Is there coffee?",
            "Do I have to help with the horses?",
            "When do we leave?",
            "Do you like my hat?",
            "What was that?",
            "I think we should go back to town and see the doctor about it.",
        ];
        let texts: Vec<&str> = own.iter().map(|l| l.text.as_str()).collect();
        let profile = kotodama_style::analyze_speaker(&texts, &others, Some("Cal"), res).unwrap();
        let card = draft_card("Cal", "western.txt", &own, &profile, res);

        assert_eq!(card.name, "Cal");
        assert!(
            card.description
                .starts_with("Cal, as 6 lines of western.txt show them."),
            "{}",
            card.description
        );
        assert!(card.description.contains("partner"), "{}", card.description);
        assert_eq!(
            card.first_message, own[0].text,
            "the only line that opens a scene"
        );
        let exchanges = card.example_dialogue.matches("<START>").count();
        assert_eq!(exchanges, EXAMPLES);
        assert!(
            card.example_dialogue.contains("{{user}}: ")
                && card.example_dialogue.contains("{{char}}: ")
        );
        assert!(
            !card.example_dialogue.contains("Hush."),
            "too short for an example"
        );
    }

    #[test]
    fn japanese_and_chinese_lines_are_measured_by_characters() {
        assert_eq!(words("お茶をどうぞ、ゆっくりしていってくださいね"), 21 / 3);
        assert_eq!(words("Reckon we ride at dawn"), 5);
    }
}
