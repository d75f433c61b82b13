//! Film-script layout: `INT./EXT.` scene headings, an upper-case character heading, then indented dialogue
//! (parenthetical lines are directions) until a blank or flush-left line.

use super::speaker::normalize_speaker;
use super::Script;
use crate::Result;

pub fn parse_film_script(text: &str, file: &str) -> Result<Script> {
    let mut script = Script::default();
    let mut scene = 0;
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        if is_scene_heading(line) {
            scene += 1;
            i += 1;
            continue;
        }
        let Some(speaker) = character_heading(line) else {
            i += 1;
            continue;
        };
        let heading_line = i + 1;
        let mut said = String::new();
        i += 1;
        while let Some(next) = lines
            .get(i)
            .filter(|l| is_indented(l) && !l.trim().is_empty())
        {
            if character_heading(next.trim()).is_some() && !said.is_empty() {
                break; // the next speaker's heading, directly after this dialogue
            }
            said.push_str(next.trim());
            said.push(' ');
            i += 1;
        }
        if !said.is_empty() {
            script.push_turn(speaker, &said, heading_line, scene);
        }
    }
    script.require_turns(
        file,
        "upper-case character headings followed by indented dialogue",
    )
}

fn is_scene_heading(line: &str) -> bool {
    ["INT.", "EXT.", "INT/EXT", "I/E."]
        .iter()
        .any(|p| line.starts_with(p))
}

/// An upper-case name alone on its line (transitions such as `CUT TO:` end with a colon and are not names).
fn character_heading(line: &str) -> Option<String> {
    let has_letters = line.chars().any(char::is_alphabetic);
    let upper = line
        .chars()
        .filter(|c| c.is_alphabetic())
        .all(char::is_uppercase);
    (has_letters && upper && !line.ends_with(':') && !is_scene_heading(line))
        .then(|| normalize_speaker(line))
        .flatten()
}

fn is_indented(line: &str) -> bool {
    line.starts_with([' ', '\t'])
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "INT. DOJO - NIGHT\r\n\r\nRen limps in, holding a wooden sword.\r\n\r\n                    REN\r\n          I fell again.\r\n          Third time today.\r\n\r\n                    TSUBAKI (V.O.)\r\n               (sighs)\r\n          Stand up, baka.\r\n\r\n                                        CUT TO:\r\n\r\nEXT. INN - DAWN\r\n\r\n                    TSUBAKI\r\n          You're late.\r\n";

    #[test]
    fn headings_with_indented_dialogue_are_turns() {
        let s = parse_film_script(SAMPLE, "dojo.script").unwrap();
        let turns: Vec<_> = s
            .turns
            .iter()
            .map(|t| (t.speaker.as_str(), t.text.as_str(), t.scene))
            .collect();
        assert_eq!(
            turns,
            vec![
                ("REN", "I fell again. Third time today.", 1),
                ("TSUBAKI", "Stand up, baka.", 1),
                ("TSUBAKI", "You're late.", 2)
            ]
        );
        assert_eq!(s.turns[1].directions, vec!["sighs"]);
        assert_eq!(s.turns[0].line_no, 5);
    }

    #[test]
    fn prose_has_no_turns() {
        assert!(parse_film_script("Just a story.\nNothing else.", "story.txt").is_err());
    }
}
