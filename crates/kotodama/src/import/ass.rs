//! ASS/SSA subtitles: `Dialogue:` events of the `[Events]` section; the speaker is the `Name` (ASS) or
//! `Actor` (SSA) field named by the section's `Format:` line, else a `NAME:` prefix in the text.

use super::markup::strip_markup;
use super::screenplay::split_speaker;
use super::speaker::normalize_speaker;
use super::Script;
use crate::{Error, Result};

/// The field order when a file has no `Format:` line (ASS v4+).
const DEFAULT_FORMAT: &str =
    "Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text";

pub fn parse_ass(text: &str, file: &str) -> Result<Script> {
    let mut script = Script::default();
    let mut in_events = false;
    let mut format = Fields::parse(DEFAULT_FORMAT);
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('[') {
            in_events = line.eq_ignore_ascii_case("[Events]");
            continue;
        }
        if !in_events {
            continue;
        }
        if let Some(spec) = line.strip_prefix("Format:") {
            format = Fields::parse(spec);
            format.text.ok_or_else(|| Error::Script {
                file: file.into(),
                line: i + 1,
                detail: "the [Events] Format line has no Text field".into(),
            })?;
        } else if let Some(event) = line.strip_prefix("Dialogue:") {
            if let Some((speaker, said)) = format.speaker_and_text(event) {
                script.push_turn(speaker, &said, i + 1, 0);
            }
        }
    }
    script.require_turns(file, "`Dialogue:` events with a Name/Actor field")
}

/// Positions of the fields Kotodama reads, from a `Format:` line.
struct Fields {
    count: usize,
    name: Option<usize>,
    text: Option<usize>,
}

impl Fields {
    fn parse(spec: &str) -> Fields {
        let names: Vec<String> = spec
            .split(',')
            .map(|f| f.trim().to_ascii_lowercase())
            .collect();
        let position = |wanted: &[&str]| names.iter().position(|n| wanted.contains(&n.as_str()));
        Fields {
            count: names.len(),
            name: position(&["name", "actor"]),
            text: position(&["text"]),
        }
    }

    /// The Text field is last and may contain commas, so the event is split into exactly `count` fields.
    fn speaker_and_text(&self, event: &str) -> Option<(String, String)> {
        let fields: Vec<&str> = event.splitn(self.count, ',').collect();
        let text = strip_markup(fields.get(self.text?)?.trim());
        let named = self
            .name
            .and_then(|n| fields.get(n))
            .and_then(|n| normalize_speaker(n));
        match named {
            Some(speaker) => Some((speaker, text)),
            None => split_speaker(&text).map(|(speaker, said)| (speaker, said.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "[Script Info]\nTitle: Dojo\nScriptType: v4.00+\n\n[V4+ Styles]\nFormat: Name, Fontname\nStyle: Default,Arial\n\n\
        [Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n\
        Dialogue: 0,0:00:01.00,0:00:03.00,Default,Ren,0,0,0,,I fell again, see?\n\
        Comment: 0,0:00:03.00,0:00:04.00,Default,Ren,0,0,0,,not dialogue\n\
        Dialogue: 0,0:00:04.00,0:00:06.00,Default,Tsubaki,0,0,0,,{\\i1}(sighs) Stand up,\\Nbaka.{\\i0}\n\
        Dialogue: 0,0:00:06.00,0:00:07.00,Default,,0,0,0,,OKAMI: Tea is ready!\n\
        Dialogue: 0,0:00:07.00,0:00:08.00,Default,,0,0,0,,{\\an8}Sign text\n";

    #[test]
    fn name_field_or_prefix_gives_the_speaker() {
        let s = parse_ass(SAMPLE, "ep1.ass").unwrap();
        let turns: Vec<_> = s
            .turns
            .iter()
            .map(|t| (t.speaker.as_str(), t.text.as_str()))
            .collect();
        assert_eq!(
            turns,
            vec![
                ("REN", "I fell again, see?"),
                ("TSUBAKI", "Stand up, baka."),
                ("OKAMI", "Tea is ready!")
            ]
        );
        assert_eq!(s.turns[1].directions, vec!["sighs"]);
    }

    #[test]
    fn ssa_actor_field_is_read() {
        let ssa = "[Events]\nFormat: Marked, Start, End, Style, Actor, MarginL, MarginR, MarginV, Effect, Text\n\
            Dialogue: Marked=0,0:00:01.00,0:00:02.00,*Default,Mikoto,0000,0000,0000,,Good evening.\n";
        let s = parse_ass(ssa, "old.ssa").unwrap();
        assert_eq!(
            (s.turns[0].speaker.as_str(), s.turns[0].text.as_str()),
            ("MIKOTO", "Good evening.")
        );
    }

    #[test]
    fn a_format_without_text_is_named() {
        let err = parse_ass("[Events]\nFormat: Layer, Start\n", "bad.ass")
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad.ass:2") && err.contains("Text"), "{err}");
    }
}
