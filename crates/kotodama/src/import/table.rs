//! CSV/TSV with a speaker column and a text column. A header row naming them is detected; without one the
//! first column is the speaker and the last the text. An optional scene/episode column splits scenes.

use super::speaker::normalize_speaker;
use super::Script;
use crate::{Error, Result};

const SPEAKER_HEADERS: [&str; 7] = [
    "speaker",
    "character",
    "name",
    "who",
    "role",
    "actor",
    "人物",
];
const TEXT_HEADERS: [&str; 8] = [
    "line",
    "text",
    "dialogue",
    "dialog",
    "utterance",
    "quote",
    "content",
    "台词",
];
const SCENE_HEADERS: [&str; 3] = ["scene", "episode", "chapter"];

pub fn parse_table(text: &str, delimiter: char, file: &str) -> Result<Script> {
    let rows = read_rows(text, delimiter);
    let Some((_, first)) = rows.first() else {
        return Err(Error::Script {
            file: file.into(),
            line: 0,
            detail: "the table is empty".into(),
        });
    };
    let header = Columns::from_header(first);
    let columns = match header {
        Some(c) => c,
        None if first.len() >= 2 => Columns {
            speaker: 0,
            text: first.len() - 1,
            scene: None,
        },
        None => {
            return Err(Error::Script {
                file: file.into(),
                line: 1,
                detail: format!(
                    "expected a speaker column and a text column separated by {delimiter:?}"
                ),
            })
        }
    };
    let mut script = Script::default();
    let mut scene = (0, None::<String>);
    for (line_no, row) in rows.iter().skip(usize::from(header.is_some())) {
        if let Some(label) = columns.scene.and_then(|c| row.get(c)) {
            if scene.1.as_deref() != Some(label.as_str()) {
                scene = (scene.0 + 1, Some(label.clone()));
            }
        }
        let (Some(speaker), Some(said)) = (row.get(columns.speaker), row.get(columns.text)) else {
            continue;
        };
        if let Some(speaker) = normalize_speaker(speaker) {
            script.push_turn(speaker, said, *line_no, scene.0);
        }
    }
    script.require_turns(file, "rows with a speaker and a line")
}

/// Guesses the delimiter from the first line: tabs, else semicolons when they outnumber commas.
pub fn sniff_delimiter(text: &str) -> char {
    let first = text.lines().next().unwrap_or("");
    let count = |c: char| first.matches(c).count();
    if count('\t') > 0 {
        '\t'
    } else if count(';') > count(',') {
        ';'
    } else {
        ','
    }
}

#[derive(Clone, Copy)]
struct Columns {
    speaker: usize,
    text: usize,
    scene: Option<usize>,
}

impl Columns {
    fn from_header(row: &[String]) -> Option<Columns> {
        let find = |names: &[&str]| {
            row.iter()
                .position(|cell| names.contains(&cell.trim().to_lowercase().as_str()))
        };
        Some(Columns {
            speaker: find(&SPEAKER_HEADERS)?,
            text: find(&TEXT_HEADERS)?,
            scene: find(&SCENE_HEADERS),
        })
    }
}

/// RFC 4180 rows (quoted cells may hold delimiters, doubled quotes and newlines), each with the
/// 1-based line number where it starts.
fn read_rows(text: &str, delimiter: char) -> Vec<(usize, Vec<String>)> {
    let mut rows = Vec::new();
    let (mut row, mut cell) = (Vec::new(), String::new());
    let (mut line_no, mut row_start, mut quoted) = (1, 1, false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            '"' if quoted => quoted = false,
            '"' if cell.is_empty() => quoted = true,
            '\n' if !quoted => {
                row.push(std::mem::take(&mut cell));
                if row.iter().any(|c: &String| !c.trim().is_empty()) {
                    rows.push((row_start, std::mem::take(&mut row)));
                }
                row.clear();
                line_no += 1;
                row_start = line_no;
            }
            '\r' if !quoted => {}
            c if c == delimiter && !quoted => row.push(std::mem::take(&mut cell)),
            c => {
                line_no += usize::from(c == '\n');
                cell.push(c);
            }
        }
    }
    row.push(cell);
    if row.iter().any(|c| !c.trim().is_empty()) {
        rows.push((row_start, row));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_columns_quotes_and_scenes_are_read() {
        let csv = "id,episode,character,line\r\n1,1,Ren,\"I fell, again.\"\r\n2,1,Tsubaki,\"She said \"\"baka\"\"\nand left.\"\r\n3,2,Tsubaki,Late.\r\n";
        let s = parse_table(csv, sniff_delimiter(csv), "t.csv").unwrap();
        let turns: Vec<_> = s
            .turns
            .iter()
            .map(|t| (t.speaker.as_str(), t.text.as_str(), t.line_no, t.scene))
            .collect();
        assert_eq!(
            turns,
            vec![
                ("REN", "I fell, again.", 2, 1),
                ("TSUBAKI", "She said \"baka\" and left.", 3, 1),
                ("TSUBAKI", "Late.", 5, 2)
            ]
        );
    }

    #[test]
    fn headerless_tsv_uses_first_and_last_columns() {
        let tsv = "Ren\tI fell.\nTsubaki\tStand up.\n";
        assert_eq!(sniff_delimiter(tsv), '\t');
        let s = parse_table(tsv, '\t', "t.tsv").unwrap();
        assert_eq!(
            s.speakers(),
            vec![("REN".to_string(), 1), ("TSUBAKI".to_string(), 1)]
        );
    }

    #[test]
    fn a_single_column_is_an_error() {
        let err = parse_table("just\ntext\n", ',', "one.csv")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("one.csv:1") && err.contains("speaker column"),
            "{err}"
        );
    }
}
