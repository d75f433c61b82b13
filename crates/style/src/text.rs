//! Text normalization, sentence splitting, tokenization and script detection.
//!
//! Two token views share one scanner: `words` gives lexical keys (lowercase, contractions kept
//! whole, numbers as written; `background_key` folds digits the way wordfreq does) for PMI, and `ptb_tokens` splits clitics the way the
//! Penn Treebank / UD EWT do ("don't" -> "do n't") so the tagger sees what it was trained on.

use unicode_normalization::UnicodeNormalization;

/// The writing system a character belongs to (coarse, for language detection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    Latin,
    Han,
    Kana,
    Hangul,
    Other,
}

pub fn script_of(c: char) -> Script {
    match c as u32 {
        0x41..=0x5A | 0x61..=0x7A | 0xC0..=0x24F => Script::Latin,
        0x3040..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9F => Script::Kana,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F => Script::Han,
        0xAC00..=0xD7AF | 0x1100..=0x11FF => Script::Hangul,
        _ => Script::Other,
    }
}

/// Han or kana: the letters of Chinese and Japanese, which `segment` cuts into words (`tokens`
/// leaves them one character a token).
pub fn is_cjk(c: char) -> bool {
    matches!(script_of(c), Script::Han | Script::Kana)
}

/// Language of a body of text, decided from its letters' scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Language {
    En,
    Zh,
    Ja,
    Other,
}

impl Language {
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Zh => "zh",
            Language::Ja => "ja",
            Language::Other => "other",
        }
    }
}

/// Majority vote over letters: any real share of kana means Japanese (kanji alone is ambiguous).
pub fn detect_language<'a>(lines: impl IntoIterator<Item = &'a str>) -> Language {
    let (mut latin, mut han, mut kana, mut other) = (0usize, 0usize, 0usize, 0usize);
    for c in lines
        .into_iter()
        .flat_map(str::chars)
        .filter(|c| c.is_alphabetic())
    {
        match script_of(c) {
            Script::Latin => latin += 1,
            Script::Han => han += 1,
            Script::Kana => kana += 1,
            Script::Hangul | Script::Other => other += 1,
        }
    }
    let cjk = han + kana;
    if cjk > latin && cjk >= other {
        if kana * 10 >= cjk {
            Language::Ja
        } else {
            Language::Zh
        }
    } else if latin > 0 && latin >= other {
        Language::En
    } else {
        Language::Other
    }
}

/// NFKC, straight quotes, no control characters, single spaces.
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.nfkc() {
        let c = match c {
            '\u{2018}' | '\u{2019}' | '\u{201B}' | '\u{2032}' | '`' => '\'',
            '\u{201C}' | '\u{201D}' | '\u{201F}' | '\u{2033}' => '"',
            '\u{2013}' | '\u{2014}' | '\u{2015}' => '-',
            c => c,
        };
        if c.is_whitespace() || c.is_control() || c == '\u{FEFF}' {
            pending_space = true;
            continue;
        }
        if pending_space && !out.is_empty() {
            out.push(' ');
        }
        pending_space = false;
        out.push(c);
    }
    out
}

const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "st", "jr", "sr", "prof", "vs", "etc", "e.g", "i.e", "mt", "no", "lt",
    "col", "gen", "capt", "sgt",
];

fn is_terminator(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…' | '。' | '！' | '？')
}

fn is_closer(c: char) -> bool {
    matches!(
        c,
        '"' | '\'' | ')' | ']' | '」' | '』' | '）' | '~' | '☆' | '★' | '♪' | '♡' | '♥'
    )
}

/// Splits one normalized line into sentences (byte slices, trimmed, never empty).
pub fn sentences(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (_, c) = chars[i];
        if !is_terminator(c) {
            i += 1;
            continue;
        }
        let run_start = i;
        while i < chars.len() && (is_terminator(chars[i].1) || is_closer(chars[i].1)) {
            i += 1;
        }
        let end = chars.get(i).map_or(line.len(), |&(b, _)| b);
        let at_boundary =
            i == chars.len() || chars[i].1.is_whitespace() || is_cjk(c) || is_cjk(chars[i].1);
        if at_boundary
            && !(chars[run_start].1 == '.'
                && i - run_start == 1
                && ends_with_abbreviation(&line[start..chars[run_start].0]))
        {
            push_trimmed(&mut out, &line[start..end]);
            start = end;
        }
    }
    push_trimmed(&mut out, &line[start..]);
    out
}

fn ends_with_abbreviation(before: &str) -> bool {
    let last = before
        .rsplit(|c: char| c.is_whitespace())
        .next()
        .unwrap_or("");
    let last = last
        .trim_start_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    ABBREVIATIONS.contains(&last.as_str())
        || (last.chars().count() == 1 && last.chars().all(char::is_uppercase))
}

fn push_trimmed<'a>(out: &mut Vec<&'a str>, s: &'a str) {
    let s = s.trim();
    if !s.is_empty() {
        out.push(s);
    }
}

/// What a surface token is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Word,
    Number,
    /// One CJK character (words are the segmenter's business, see `segment`).
    Cjk,
    Punct,
    Symbol,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    pub text: &'a str,
    pub kind: TokenKind,
}

fn is_word_char(c: char) -> bool {
    (c.is_alphanumeric() || is_mark(c)) && !is_cjk(c)
}

fn is_mark(c: char) -> bool {
    matches!(c as u32, 0x300..=0x36F)
}

/// Surface tokens: words (with internal apostrophes), numbers, single CJK characters, punctuation
/// runs ("...", "?!") and single symbols.
pub fn tokens(s: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let byte_at = |i: usize| chars.get(i).map_or(s.len(), |&(b, _)| b);
    let mut i = 0;
    while i < chars.len() {
        let (b, c) = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let kind = if is_cjk(c) {
            i += 1;
            TokenKind::Cjk
        } else if is_word_char(c) {
            while i < chars.len() {
                let c = chars[i].1;
                let apostrophe_inside = c == '\''
                    && i > start
                    && chars
                        .get(i + 1)
                        .is_some_and(|&(_, n)| n.is_alphabetic() && !is_cjk(n));
                if is_word_char(c) || apostrophe_inside || (c == '.' && is_decimal_point(&chars, i))
                {
                    i += 1;
                } else {
                    break;
                }
            }
            let text = &s[b..byte_at(i)];
            if text.chars().all(|c| c.is_ascii_digit() || c == '.') {
                TokenKind::Number
            } else {
                TokenKind::Word
            }
        } else if is_terminator(c) || c == '-' || c == '~' {
            while i < chars.len()
                && (chars[i].1 == c || (is_terminator(c) && is_terminator(chars[i].1)))
            {
                i += 1;
            }
            TokenKind::Punct
        } else {
            i += 1;
            if c.is_ascii_punctuation() || is_general_punct(c) {
                TokenKind::Punct
            } else {
                TokenKind::Symbol
            }
        };
        out.push(Token {
            text: &s[b..byte_at(i)],
            kind,
        });
    }
    out
}

fn is_decimal_point(chars: &[(usize, char)], i: usize) -> bool {
    i > 0
        && chars[i - 1].1.is_ascii_digit()
        && chars.get(i + 1).is_some_and(|&(_, n)| n.is_ascii_digit())
}

fn is_general_punct(c: char) -> bool {
    matches!(c as u32, 0x2010..=0x2027 | 0x3000..=0x303F | 0xFF01..=0xFF0F)
}

/// Lexical key: the token lowercased, numbers kept as written ("1999", "1000th") so that a
/// signature reads as the character said it.
pub fn lexical_key(token: &str) -> String {
    token.to_lowercase()
}

/// The key wordfreq files a lexical key under: it folds every digit of a token with two or more
/// digits to 0 ("1999" -> "0000"), so background lookups fold the same way.
pub fn background_key(key: &str) -> std::borrow::Cow<'_, str> {
    if key.chars().filter(char::is_ascii_digit).count() >= 2 {
        key.chars()
            .map(|c| if c.is_ascii_digit() { '0' } else { c })
            .collect::<String>()
            .into()
    } else {
        key.into()
    }
}

/// Lexical keys of a sentence's words, punctuation dropped (for Japanese and Chinese sentences
/// `doc::prepare` takes the segmenter's words instead; here CJK characters come one by one).
pub fn words(s: &str) -> Vec<String> {
    tokens(s)
        .into_iter()
        .filter(|t| matches!(t.kind, TokenKind::Word | TokenKind::Number | TokenKind::Cjk))
        .map(|t| lexical_key(t.text))
        .collect()
}

const CLITICS: &[&str] = &["n't", "'s", "'m", "'re", "'ve", "'ll", "'d"];
const FUSED: &[(&str, &str, &str)] = &[
    ("gonna", "gon", "na"),
    ("wanna", "wan", "na"),
    ("gotta", "got", "ta"),
    ("cannot", "can", "not"),
];

/// Penn-Treebank-style tokens for the tagger: clitics and fused forms split, case kept.
pub fn ptb_tokens(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for t in tokens(s) {
        if t.kind != TokenKind::Word {
            out.push(t.text);
            continue;
        }
        let lower = t.text.to_ascii_lowercase();
        if let Some(&(_, a, _)) = FUSED.iter().find(|(w, _, _)| *w == lower) {
            out.push(&t.text[..a.len()]);
            out.push(&t.text[a.len()..]);
            continue;
        }
        match CLITICS
            .iter()
            .find(|c| lower.len() > c.len() && lower.ends_with(*c))
        {
            Some(c) => {
                let cut = t.text.len() - c.len();
                out.push(&t.text[..cut]);
                out.push(&t.text[cut..]);
            }
            None => out.push(t.text),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_folds_quotes_width_and_space() {
        assert_eq!(
            normalize("  It\u{2019}s  \u{201C}ＡＢＣ\u{201D}\t ok "),
            "It's \"ABC\" ok"
        );
    }

    #[test]
    fn sentences_respect_abbreviations_and_cjk() {
        assert_eq!(
            sentences("Mr. Smith came. Did he?! Yes... fine"),
            vec!["Mr. Smith came.", "Did he?!", "Yes...", "fine"]
        );
        assert_eq!(sentences("你好。我很好！"), vec!["你好。", "我很好！"]);
        assert_eq!(
            sentences("It costs 3.50 today."),
            vec!["It costs 3.50 today."]
        );
    }

    #[test]
    fn words_keep_numbers_and_background_keys_fold_them() {
        assert_eq!(
            words("Don't PANIC, it's 1999 or 7, the 1000th!"),
            vec!["don't", "panic", "it's", "1999", "or", "7", "the", "1000th"]
        );
        assert_eq!(background_key("1999"), "0000");
        assert_eq!(background_key("1000th"), "0000th");
        assert_eq!(background_key("7"), "7");
        assert_eq!(background_key("r2"), "r2");
    }

    #[test]
    fn ptb_tokens_split_clitics() {
        assert_eq!(
            ptb_tokens("I'm sure you don't wanna go."),
            vec!["I", "'m", "sure", "you", "do", "n't", "wan", "na", "go", "."]
        );
    }

    #[test]
    fn tokens_group_punctuation_runs_and_keep_symbols() {
        let t: Vec<&str> = tokens("Wow?!... ok~☆").iter().map(|t| t.text).collect();
        assert_eq!(t, vec!["Wow", "?!...", "ok", "~", "☆"]);
    }

    #[test]
    fn language_detection() {
        assert_eq!(detect_language(["Hello there, friend."]), Language::En);
        assert_eq!(detect_language(["我们走吧，快点。"]), Language::Zh);
        assert_eq!(detect_language(["わたしは行きます。東京へ"]), Language::Ja);
        assert_eq!(detect_language(["12345 !!!"]), Language::Other);
    }
}
