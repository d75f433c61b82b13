//! Screenplay / transcript text: `NAME: line` turns, `[Scene ...]` headers, `(directions)` inline.

use super::{Script, Turn};
use crate::{Error, Result};

/// Longest speaker name accepted before a colon; longer prefixes are prose, not a speaker.
const MAX_SPEAKER_CHARS: usize = 40;

pub fn parse_screenplay(text: &str, file: &str) -> Result<Script> {
    let mut script = Script::default();
    let mut scene = 0;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            scene += 1;
            continue;
        }
        let Some((speaker, said)) = split_speaker(line) else {
            continue; // narration between turns
        };
        let (text, directions) = strip_directions(said);
        script.turns.push(Turn { speaker, text, line_no: i + 1, scene, directions });
    }
    if script.turns.is_empty() {
        return Err(Error::Script { file: file.into(), line: 0, detail: "no `NAME: line` turns found".into() });
    }
    Ok(script)
}

fn split_speaker(line: &str) -> Option<(String, &str)> {
    let (name, rest) = line.split_once(':').or_else(|| line.split_once('：'))?;
    let name = name.trim();
    let plausible = !name.is_empty()
        && name.chars().count() <= MAX_SPEAKER_CHARS
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '.' | '\'' | '_'));
    plausible.then(|| (name.to_uppercase(), rest.trim()))
}

/// Removes `( ... )` spans (stage directions) and returns the spoken text plus the directions.
fn strip_directions(said: &str) -> (String, Vec<String>) {
    let mut spoken = String::with_capacity(said.len());
    let mut directions = Vec::new();
    let mut rest = said;
    while let Some(open) = rest.find('(') {
        let Some(close) = rest[open..].find(')') else { break };
        spoken.push_str(&rest[..open]);
        directions.push(rest[open + 1..open + close].trim().to_string());
        rest = &rest[open + close + 1..];
    }
    spoken.push_str(rest);
    let spoken = spoken.split_whitespace().collect::<Vec<_>>().join(" ");
    (spoken, directions)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "[Scene 1: Dojo]\nREN: I fell again.\nTSUBAKI: (sighs) Stand up, baka. Again.\n\
        Some narration without a speaker.\nREN: Okay.\n\n[Scene 2: Inn]\nTSUBAKI: Hmph. You're late.\nOkami：Welcome!\n";

    #[test]
    fn turns_keep_line_numbers_scenes_and_directions() {
        let s = parse_screenplay(SAMPLE, "t.txt").unwrap();
        assert_eq!(s.turns.len(), 5);
        assert_eq!(s.turns[1].text, "Stand up, baka. Again.");
        assert_eq!(s.turns[1].directions, vec!["sighs"]);
        assert_eq!(s.turns[1].line_no, 3);
        assert_eq!((s.turns[3].scene, s.turns[3].speaker.as_str()), (2, "TSUBAKI"));
        assert_eq!(s.turns[4].speaker, "OKAMI", "full-width colon and case are normalized");
        assert_eq!(s.speakers()[0], ("REN".to_string(), 2));
    }

    #[test]
    fn context_is_the_previous_turn_within_the_scene() {
        let lines = parse_screenplay(SAMPLE, "t.txt").unwrap().lines_of("TSUBAKI");
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].context_text.as_deref(), Some("I fell again."));
        assert_eq!(lines[0].context_speaker.as_deref(), Some("REN"));
        assert_eq!(lines[1].context_text, None, "a scene's first line has no context");
    }

    #[test]
    fn a_file_without_turns_is_an_error() {
        let err = parse_screenplay("just prose.\nmore prose.", "notes.txt").unwrap_err();
        assert!(err.to_string().contains("notes.txt"), "{err}");
    }
}
