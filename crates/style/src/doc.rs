//! Turns raw lines into analyzable sentences, counting what had to be skipped.

use crate::tags::Tag;
use crate::text::{self, Language};

/// Lines longer than this (after normalization) are skipped and counted: they are almost always
/// pasted prose or binary junk, and they would dominate time and memory.
pub const MAX_LINE_CHARS: usize = 4_000;

#[derive(Debug, Clone)]
pub struct Sentence {
    /// Index of the line the sentence came from.
    pub line: usize,
    pub text: String,
    /// Lexical keys (words for English, characters for CJK).
    pub words: Vec<String>,
    /// Penn-Treebank-style tokens and their tags (English only; empty otherwise).
    pub ptb: Vec<String>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputStats {
    pub lines_total: usize,
    pub lines_used: usize,
    pub lines_empty: usize,
    pub lines_too_long: usize,
    /// Lines that held U+FFFD replacement characters (e.g. invalid UTF-8 decoded lossily).
    pub lines_with_invalid_text: usize,
}

#[derive(Debug, Clone)]
pub struct Document {
    pub language: Language,
    /// Normalized text of each used line.
    pub lines: Vec<String>,
    pub sentences: Vec<Sentence>,
    pub stats: InputStats,
}

impl Document {
    pub fn token_count(&self) -> usize {
        self.sentences.iter().map(|s| s.words.len()).sum()
    }
}

/// Normalizes and splits lines; `tag` assigns POS tags to English sentences.
pub fn prepare(raw: &[&str], tag: &dyn Fn(&[&str]) -> Vec<Tag>) -> Document {
    let mut stats = InputStats {
        lines_total: raw.len(),
        ..InputStats::default()
    };
    let mut lines = Vec::new();
    for line in raw {
        if line.chars().nth(MAX_LINE_CHARS * 2).is_some() {
            stats.lines_too_long += 1;
            continue;
        }
        let norm = text::normalize(line);
        if norm.contains('\u{FFFD}') {
            stats.lines_with_invalid_text += 1;
        }
        if norm.chars().count() > MAX_LINE_CHARS {
            stats.lines_too_long += 1;
        } else if norm.chars().any(|c| c.is_alphanumeric() || !c.is_ascii()) {
            lines.push(norm);
        } else {
            stats.lines_empty += 1;
        }
    }
    let language = text::detect_language(lines.iter().map(String::as_str));
    let mut sentences = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        for s in text::sentences(line) {
            let words = text::words(s);
            let (ptb, tags) = if language == Language::En {
                let ptb = text::ptb_tokens(s);
                let tags = tag(&ptb);
                (ptb.into_iter().map(str::to_string).collect(), tags)
            } else {
                (Vec::new(), Vec::new())
            };
            sentences.push(Sentence {
                line: i,
                text: s.to_string(),
                words,
                ptb,
                tags,
            });
        }
    }
    stats.lines_used = lines.len();
    Document {
        language,
        lines,
        sentences,
        stats,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_skipped_lines() {
        let long = "a".repeat(MAX_LINE_CHARS + 10);
        let doc = prepare(
            &["Hi there. Bye!", "", "   ...", &long, "bad \u{FFFD} byte"],
            &|t| vec![0; t.len()],
        );
        assert_eq!(doc.stats.lines_total, 5);
        assert_eq!(doc.stats.lines_used, 2);
        assert_eq!(doc.stats.lines_empty, 2);
        assert_eq!(doc.stats.lines_too_long, 1);
        assert_eq!(doc.stats.lines_with_invalid_text, 1);
        assert_eq!(doc.sentences.len(), 3);
        assert_eq!(doc.sentences[2].line, 1);
        assert_eq!(doc.sentences[0].ptb, vec!["Hi", "there", "."]);
    }
}
