//! Script files -> `Script { turns }`: format detection (overridable), text decoding, one parser per format.

mod ass;
mod decode;
mod detect;
mod directions;
mod film;
mod json;
mod markup;
mod plain;
mod screenplay;
mod speaker;
mod srt;
mod table;

pub use decode::decode_text;
pub use detect::{detect_format, ScriptFormat};
pub use json::JsonKeys;
pub use screenplay::parse_screenplay;
pub use speaker::normalize_speaker;

use std::collections::HashMap;

use kotodama_store::NewScriptLine;
use serde::Serialize;

use crate::{Error, Result};

/// One speech turn of a script.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Turn {
    pub speaker: String,
    pub text: String,
    /// 1-based line number in the source file (entry number for a JSON array).
    pub line_no: usize,
    /// Scene index: context never crosses a scene boundary.
    pub scene: usize,
    /// Stage directions removed from the text, e.g. "(turns away)".
    pub directions: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Script {
    pub turns: Vec<Turn>,
}

/// How to read a script file; everything defaults to detection.
#[derive(Debug, Clone, Default)]
pub struct ParseOptions {
    /// Skips format detection.
    pub format: Option<ScriptFormat>,
    pub json_keys: JsonKeys,
    /// The speaker of a plain one-character file (default: the file name).
    pub plain_speaker: Option<String>,
}

/// A parsed script file with what detection found, for the import wizard to show.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScriptFile {
    pub format: ScriptFormat,
    pub encoding: &'static str,
    pub script: Script,
}

/// Decodes and parses a script file's bytes. `file` names it in errors and, for plain text, the speaker.
pub fn parse_script(bytes: &[u8], file: &str, options: &ParseOptions) -> Result<ScriptFile> {
    let (text, encoding) = decode_text(bytes, file)?;
    let format = options.format.unwrap_or_else(|| detect_format(file, &text));
    let script = match format {
        ScriptFormat::Screenplay => screenplay::parse_screenplay(&text, file)?,
        ScriptFormat::Film => film::parse_film_script(&text, file)?,
        ScriptFormat::Srt => srt::parse_srt(&text, file)?,
        ScriptFormat::Ass => ass::parse_ass(&text, file)?,
        ScriptFormat::Csv => table::parse_table(&text, table::sniff_delimiter(&text), file)?,
        ScriptFormat::Tsv => table::parse_table(&text, '\t', file)?,
        ScriptFormat::Json => json::parse_json(&text, &options.json_keys, file)?,
        ScriptFormat::Jsonl => json::parse_jsonl(&text, &options.json_keys, file)?,
        ScriptFormat::Plain => {
            let speaker = options
                .plain_speaker
                .as_deref()
                .unwrap_or_else(|| file_stem(file));
            let speaker =
                normalize_speaker(&speaker.replace('_', " ")).ok_or_else(|| Error::Script {
                    file: file.into(),
                    line: 0,
                    detail: format!("{speaker:?} cannot be a speaker name: give one"),
                })?;
            plain::parse_plain(&text, &speaker, file)?
        }
    };
    Ok(ScriptFile {
        format,
        encoding,
        script,
    })
}

fn file_stem(file: &str) -> &str {
    let name = file.rsplit(['/', '\\']).next().unwrap_or(file);
    name.split('.')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(name)
}

impl Script {
    /// Adds a turn, moving stage directions out of the spoken text.
    fn push_turn(&mut self, speaker: String, said: &str, line_no: usize, scene: usize) {
        let (text, directions) = directions::strip_directions(said);
        self.turns.push(Turn {
            speaker,
            text,
            line_no,
            scene,
            directions,
        });
    }

    /// The script, or an error naming the file and what was looked for when it has no turn with text.
    fn require_turns(self, file: &str, looked_for: &str) -> Result<Script> {
        if self.turns.iter().any(|t| !t.text.is_empty()) {
            Ok(self)
        } else {
            Err(Error::Script {
                file: file.into(),
                line: 0,
                detail: format!("no speakers found: expected {looked_for}"),
            })
        }
    }

    /// Speakers with their number of turns, most talkative first.
    pub fn speakers(&self) -> Vec<(String, usize)> {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for t in &self.turns {
            *counts.entry(&t.speaker).or_default() += 1;
        }
        let mut counts: Vec<(String, usize)> = counts
            .into_iter()
            .map(|(s, n)| (s.to_string(), n))
            .collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        counts
    }

    /// Renames every alias (any spelling that normalizes alike) to `canonical`, e.g. "BEN" into "OBI-WAN".
    pub fn merge_aliases(&mut self, canonical: &str, aliases: &[String]) {
        let canonical = normalize_speaker(canonical).unwrap_or_else(|| canonical.to_string());
        let aliases: Vec<String> = aliases
            .iter()
            .filter_map(|a| normalize_speaker(a))
            .collect();
        for turn in &mut self.turns {
            if aliases.contains(&turn.speaker) {
                turn.speaker.clone_from(&canonical);
            }
        }
    }

    /// What everyone but `speaker` says: the within-script contrast for lexical signatures.
    pub fn texts_of_others(&self, speaker: &str) -> Vec<&str> {
        self.turns
            .iter()
            .filter(|t| t.speaker != speaker)
            .map(|t| t.text.as_str())
            .collect()
    }

    /// The lines of `speaker`, each with the turn before it in the same scene as its context.
    pub fn lines_of(&self, speaker: &str) -> Vec<NewScriptLine> {
        self.turns
            .iter()
            .enumerate()
            .filter(|(_, t)| t.speaker == speaker && !t.text.is_empty())
            .map(|(i, t)| {
                let prev = i
                    .checked_sub(1)
                    .map(|j| &self.turns[j])
                    .filter(|p| p.scene == t.scene);
                NewScriptLine {
                    line_no: t.line_no as i64,
                    text: t.text.clone(),
                    context_speaker: prev.map(|p| p.speaker.clone()),
                    context_text: prev.map(|p| p.text.clone()),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_merge_into_one_speaker() {
        let mut s = parse_screenplay(
            "BEN: Hello there.\nLUKE: Hi.\nObi-Wan: Use the Force.\n",
            "s.txt",
        )
        .unwrap();
        s.merge_aliases("obi-wan", &["Ben".to_string()]);
        assert_eq!(
            s.speakers(),
            vec![("OBI-WAN".to_string(), 2), ("LUKE".to_string(), 1)]
        );
    }

    #[test]
    fn the_override_beats_detection() {
        let text = b"REN: I fell.\nTSUBAKI: Up.\n";
        let detected = parse_script(text, "a.txt", &ParseOptions::default()).unwrap();
        assert_eq!(detected.format, ScriptFormat::Screenplay);
        let forced = ParseOptions {
            format: Some(ScriptFormat::Plain),
            plain_speaker: Some("Ren".into()),
            ..Default::default()
        };
        let plain = parse_script(text, "a.txt", &forced).unwrap();
        assert_eq!(
            (plain.format, plain.script.speakers()),
            (ScriptFormat::Plain, vec![("REN".to_string(), 2)])
        );
    }

    #[test]
    fn plain_files_are_named_after_the_file() {
        let s = parse_script(
            "Hmph.\nBaka.\n".as_bytes(),
            "dir/tsubaki_kagari.txt",
            &ParseOptions::default(),
        )
        .unwrap();
        assert_eq!(
            (s.format, s.script.speakers()),
            (ScriptFormat::Plain, vec![("TSUBAKI KAGARI".to_string(), 2)])
        );
    }
}
