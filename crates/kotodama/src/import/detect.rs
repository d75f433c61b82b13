//! Which parser a script file needs: by extension when it is telling, else by content.

use std::str::FromStr;

use serde::Serialize;

use super::film::parse_film_script;
use super::screenplay::split_speaker;
use crate::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum ScriptFormat {
    Screenplay,
    Film,
    Srt,
    Ass,
    Csv,
    Tsv,
    Json,
    Jsonl,
    Plain,
}

impl ScriptFormat {
    pub const ALL: [ScriptFormat; 9] = [
        ScriptFormat::Screenplay,
        ScriptFormat::Film,
        ScriptFormat::Srt,
        ScriptFormat::Ass,
        ScriptFormat::Csv,
        ScriptFormat::Tsv,
        ScriptFormat::Json,
        ScriptFormat::Jsonl,
        ScriptFormat::Plain,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ScriptFormat::Screenplay => "screenplay",
            ScriptFormat::Film => "film",
            ScriptFormat::Srt => "srt",
            ScriptFormat::Ass => "ass",
            ScriptFormat::Csv => "csv",
            ScriptFormat::Tsv => "tsv",
            ScriptFormat::Json => "json",
            ScriptFormat::Jsonl => "jsonl",
            ScriptFormat::Plain => "plain",
        }
    }
}

impl FromStr for ScriptFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let s = s.to_ascii_lowercase();
        let alias = match s.as_str() {
            "ssa" => "ass",
            "ndjson" => "jsonl",
            "txt" | "text" => "plain",
            other => other,
        };
        ScriptFormat::ALL
            .into_iter()
            .find(|f| f.name() == alias)
            .ok_or_else(|| {
                let names: Vec<_> = ScriptFormat::ALL.iter().map(|f| f.name()).collect();
                Error::InvalidInput(format!(
                    "unknown script format {s:?}: use one of {}",
                    names.join(", ")
                ))
            })
    }
}

/// Lines that must be speaker turns for text to count as a screenplay (the rest may be narration).
const SCREENPLAY_TURN_SHARE: usize = 3; // one in three
/// Film scripts spend several lines per turn (heading, dialogue, action).
const FILM_TURN_SHARE: usize = 8; // one in eight

pub fn detect_format(file: &str, text: &str) -> ScriptFormat {
    let extension = file
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    // `.txt` says nothing about the layout inside, so it is left to the content.
    if let Some(format) = extension
        .parse::<ScriptFormat>()
        .ok()
        .filter(|f| *f != ScriptFormat::Plain)
    {
        return format;
    }
    let trimmed = text.trim_start();
    if trimmed.contains("[Events]") || trimmed.starts_with("[Script Info]") {
        return ScriptFormat::Ass;
    }
    let mut lines = trimmed.lines().filter(|l| !l.trim().is_empty());
    if lines
        .next()
        .is_some_and(|l| l.trim().parse::<u64>().is_ok())
        && lines.next().is_some_and(|l| l.contains("-->"))
    {
        return ScriptFormat::Srt;
    }
    let whole_json = || serde_json::from_str::<serde_json::Value>(trimmed).is_ok();
    if trimmed.starts_with('{') {
        return if whole_json() {
            ScriptFormat::Json
        } else {
            ScriptFormat::Jsonl
        };
    }
    if trimmed.starts_with('[') && whole_json() {
        return ScriptFormat::Json;
    }
    let non_empty = text.lines().filter(|l| !l.trim().is_empty()).count();
    let screenplay_turns = text
        .lines()
        .filter(|l| split_speaker(l.trim()).is_some())
        .count();
    let film_turns = parse_film_script(text, "").map_or(0, |s| s.turns.len());
    if screenplay_turns * SCREENPLAY_TURN_SHARE >= non_empty && screenplay_turns >= film_turns {
        ScriptFormat::Screenplay
    } else if film_turns >= 2 && film_turns * FILM_TURN_SHARE >= non_empty {
        ScriptFormat::Film
    } else {
        ScriptFormat::Plain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_then_content_decides() {
        let cases = [
            ("a.srt", "anything", ScriptFormat::Srt),
            ("a.SSA", "anything", ScriptFormat::Ass),
            ("a.tsv", "a\tb", ScriptFormat::Tsv),
            ("a.ndjson", "{}", ScriptFormat::Jsonl),
            (
                "a.txt",
                "1\n00:00:01,000 --> 00:00:02,000\nREN: hi\n",
                ScriptFormat::Srt,
            ),
            (
                "a.txt",
                "[Script Info]\nTitle: x\n[Events]\n",
                ScriptFormat::Ass,
            ),
            (
                "a",
                "{\"speaker\":\"A\",\"line\":\"x\"}\n{\"speaker\":\"B\",\"line\":\"y\"}\n",
                ScriptFormat::Jsonl,
            ),
            ("a", "{\"lines\": []}", ScriptFormat::Json),
            ("a", "[{\"speaker\":\"A\"}]", ScriptFormat::Json),
            (
                "a.txt",
                "[Scene 1]\nREN: hi\nTSUBAKI: hmph\nThey walk.\n",
                ScriptFormat::Screenplay,
            ),
            (
                "a.txt",
                "INT. DOJO\n\n    REN\n  Hi.\n\n    TSUBAKI\n  Hmph.\n",
                ScriptFormat::Film,
            ),
            (
                "a.txt",
                "Hmph.\nBaka.\nNote: nothing.\nStand up.\n",
                ScriptFormat::Plain,
            ),
        ];
        for (file, text, want) in cases {
            assert_eq!(detect_format(file, text), want, "{file}: {text:?}");
        }
    }

    #[test]
    fn names_parse_with_aliases_and_unknown_names_list_the_choices() {
        assert_eq!("SSA".parse::<ScriptFormat>().unwrap(), ScriptFormat::Ass);
        assert_eq!("txt".parse::<ScriptFormat>().unwrap(), ScriptFormat::Plain);
        let err = "docx".parse::<ScriptFormat>().unwrap_err().to_string();
        assert!(err.contains("docx") && err.contains("screenplay"), "{err}");
    }
}
