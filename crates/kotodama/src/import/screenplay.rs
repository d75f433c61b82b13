//! Screenplay / transcript text: `NAME: line`, `NAME：line` or `NAME「line」` turns, `[Scene ...]` headers,
//! `(directions)` inline.

use super::speaker::normalize_speaker;
use super::Script;
use crate::Result;

pub fn parse_screenplay(text: &str, file: &str) -> Result<Script> {
    let mut script = Script::default();
    let mut scene = 0;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('[') && line.ends_with(']') {
            scene += 1;
        } else if let Some((speaker, said)) = split_speaker(line) {
            script.push_turn(speaker, said, i + 1, scene);
        } // anything else is narration between turns
    }
    script.require_turns(file, "`NAME: line` turns")
}

/// `NAME: said`, `NAME：said` or `NAME「said」` -> (normalized name, said).
pub fn split_speaker(line: &str) -> Option<(String, &str)> {
    if let Some(open) = line.find('「') {
        let said = line[open + '「'.len_utf8()..].trim_end();
        let said = said.strip_suffix('」').unwrap_or(said);
        return normalize_speaker(&line[..open]).map(|name| (name, said));
    }
    let (name, said) = line.split_once(':').or_else(|| line.split_once('：'))?;
    // A name is written in capitals or Title Case; "Nobody spoke: ..." is prose.
    let prose = name
        .split_whitespace()
        .any(|word| word.starts_with(char::is_lowercase));
    (!prose)
        .then(|| normalize_speaker(name))
        .flatten()
        .map(|name| (name, said.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "[Scene 1: Dojo]\nREN: I fell again.\nTSUBAKI: (sighs) Stand up, baka. Again.\n\
        Some narration without a speaker.\nREN: Okay.\n\n[Scene 2: Inn]\nTSUBAKI: Hmph. You're late.\nOkami：Welcome!\n\
        椿「遅いわよ、ばか。」\n";

    #[test]
    fn turns_keep_line_numbers_scenes_and_directions() {
        let s = parse_screenplay(SAMPLE, "t.txt").unwrap();
        assert_eq!(s.turns.len(), 6);
        assert_eq!(s.turns[1].text, "Stand up, baka. Again.");
        assert_eq!(s.turns[1].directions, vec!["sighs"]);
        assert_eq!(s.turns[1].line_no, 3);
        assert_eq!(
            (s.turns[3].scene, s.turns[3].speaker.as_str()),
            (2, "TSUBAKI")
        );
        assert_eq!(
            s.turns[4].speaker, "OKAMI",
            "full-width colon and case are normalized"
        );
        assert_eq!(
            (s.turns[5].speaker.as_str(), s.turns[5].text.as_str()),
            ("椿", "遅いわよ、ばか。")
        );
        assert_eq!(s.speakers()[0], ("REN".to_string(), 2));
    }

    #[test]
    fn context_is_the_previous_turn_within_the_scene() {
        let lines = parse_screenplay(SAMPLE, "t.txt")
            .unwrap()
            .lines_of("TSUBAKI");
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].context_text.as_deref(), Some("I fell again."));
        assert_eq!(lines[0].context_speaker.as_deref(), Some("REN"));
        assert_eq!(
            lines[1].context_text, None,
            "a scene's first line has no context"
        );
    }

    #[test]
    fn a_file_without_turns_is_an_error() {
        assert_eq!(split_speaker("Nobody spoke: not a word."), None);
        let err = parse_screenplay("just prose.\nmore prose.", "notes.txt").unwrap_err();
        assert!(err.to_string().contains("notes.txt"), "{err}");
    }
}
