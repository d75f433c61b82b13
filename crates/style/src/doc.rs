//! Turns raw lines into analyzable sentences, counting what had to be skipped.

use crate::segment::{self, WordTag};
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
    /// Lexical keys: lowercased words, punctuation dropped (Japanese and Chinese words as their
    /// segmenter cuts them).
    pub words: Vec<String>,
    /// Penn-Treebank-style tokens and their tags (English only; empty otherwise).
    pub ptb: Vec<String>,
    pub tags: Vec<Tag>,
    /// Japanese and Chinese only (empty otherwise): the part of speech of each of `words`, same
    /// length and order.
    pub cjk_tags: Vec<WordTag>,
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
            let (words, cjk_tags) = match segment::segment(language, s) {
                Some(segments) => lexical_segments(segments),
                None => (text::words(s), Vec::new()),
            };
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
                cjk_tags,
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

/// The lexical keys of segmented words and their tags, leaving out punctuation and symbols as
/// `text::words` does (a word counts when it holds a letter or digit).
fn lexical_segments(segments: Vec<segment::Segment>) -> (Vec<String>, Vec<WordTag>) {
    segments
        .into_iter()
        .filter(|s| s.text.chars().any(char::is_alphanumeric))
        .map(|s| (text::lexical_key(&s.text), s.tag))
        .unzip()
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
        assert!(doc.sentences[0].cjk_tags.is_empty());
    }

    #[test]
    fn japanese_and_chinese_sentences_carry_words_and_their_tags() {
        let no_tagger = |t: &[&str]| vec![0; t.len()];
        let doc = prepare(&["私は学生です。", "よろしくね！"], &no_tagger);
        assert_eq!(doc.language, Language::Ja);
        assert_eq!(doc.sentences[0].words, vec!["私", "は", "学生", "です"]);
        assert_eq!(doc.sentences[1].words, vec!["よろしく", "ね"]);
        let fine: Vec<&str> = doc.sentences[1]
            .cjk_tags
            .iter()
            .map(|t| t.fine.as_str())
            .collect();
        assert_eq!(fine, vec!["副詞-一般", "助詞-終助詞"]);
        assert!(doc.sentences[0].ptb.is_empty());

        let doc = prepare(&["我们走吧。", "好的，走！"], &no_tagger);
        assert_eq!(doc.language, Language::Zh);
        assert_eq!(doc.sentences[0].words, vec!["我们", "走", "吧"]);
        assert_eq!(doc.sentences[0].cjk_tags[2].fine, "y");
        assert_eq!(doc.token_count(), 6);
    }
}
