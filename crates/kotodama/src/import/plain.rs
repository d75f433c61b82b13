//! Plain text holding one character's lines, one per line. Each line is its own scene: the lines do not
//! answer one another, so none gets another as context.

use super::Script;
use crate::Result;

pub fn parse_plain(text: &str, speaker: &str, file: &str) -> Result<Script> {
    let mut script = Script::default();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        script.push_turn(speaker.to_string(), line, i + 1, i);
    }
    script.require_turns(file, "non-empty lines")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_is_a_turn_without_context() {
        let s = parse_plain("Hmph.\r\n\r\nBaka!\r\n", "TSUBAKI", "t.txt").unwrap();
        let lines = s.lines_of("TSUBAKI");
        assert_eq!(
            lines
                .iter()
                .map(|l| (l.line_no, l.text.as_str()))
                .collect::<Vec<_>>(),
            vec![(1, "Hmph."), (3, "Baka!")]
        );
        assert!(lines.iter().all(|l| l.context_text.is_none()));
        assert!(parse_plain(" \n\n", "X", "empty.txt").is_err());
    }
}
