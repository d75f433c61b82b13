//! SRT subtitles: numbered cues with a `-->` timing line; speakers come from `NAME:` prefixes (optionally
//! after a dialogue dash). Unprefixed lines continue the cue's current speaker; cues nobody is named in are
//! skipped rather than guessed.

use super::markup::strip_markup;
use super::screenplay::split_speaker;
use super::Script;
use crate::Result;

pub fn parse_srt(text: &str, file: &str) -> Result<Script> {
    let mut script = Script::default();
    let mut current: Option<(String, String, usize)> = None; // speaker, text so far, line number
    let mut in_cue_text = false;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.contains("-->") {
            in_cue_text = true;
            continue;
        }
        if line.is_empty() {
            in_cue_text = false;
            flush(&mut script, &mut current);
            continue;
        }
        if !in_cue_text {
            continue; // cue number
        }
        let line = strip_markup(line);
        let line = line.trim_start_matches(['-', '–', ' ']);
        match split_speaker(line) {
            Some((speaker, said)) => {
                flush(&mut script, &mut current);
                current = Some((speaker, said.to_string(), i + 1));
            }
            None => {
                if let Some((_, said, _)) = current.as_mut() {
                    said.push(' ');
                    said.push_str(line);
                }
            }
        }
    }
    flush(&mut script, &mut current);
    script.require_turns(file, "subtitle cues with `NAME:` speaker prefixes")
}

fn flush(script: &mut Script, current: &mut Option<(String, String, usize)>) {
    if let Some((speaker, said, line_no)) = current.take() {
        script.push_turn(speaker, &said, line_no, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "1\r\n00:00:01,000 --> 00:00:03,500\r\nREN: I fell again.\r\n\r\n2\r\n00:00:04,000 --> 00:00:06,000\r\n\
        <i>TSUBAKI: Stand up,</i>\r\nbaka.\r\n\r\n3\r\n00:00:06,100 --> 00:00:07,000\r\n(wind blows)\r\n\r\n4\r\n00:00:07,000 --> 00:00:09,000\r\n\
        - REN: Okay!\r\n- TSUBAKI: {\\an8}Hmph.\r\n";

    #[test]
    fn prefixed_cues_are_turns() {
        let s = parse_srt(SAMPLE, "ep1.srt").unwrap();
        let turns: Vec<_> = s
            .turns
            .iter()
            .map(|t| (t.speaker.as_str(), t.text.as_str(), t.line_no))
            .collect();
        assert_eq!(
            turns,
            vec![
                ("REN", "I fell again.", 3),
                ("TSUBAKI", "Stand up, baka.", 7),
                ("REN", "Okay!", 16),
                ("TSUBAKI", "Hmph.", 17)
            ]
        );
    }

    #[test]
    fn subtitles_without_names_are_an_error_that_says_so() {
        let err = parse_srt(
            "1\n00:00:01,000 --> 00:00:02,000\nHello there.\n",
            "anon.srt",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("anon.srt") && err.contains("NAME:"), "{err}");
    }
}
