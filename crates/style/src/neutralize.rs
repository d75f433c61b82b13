//! The deterministic neutralizer: a line rewritten plainly by removing what the style analyzer counts as
//! style (stage directions, stutters, elongations, interjections, honorifics, sentence-final tics,
//! archaic forms, third-person self-reference, the profile's catchphrases, emphatic punctuation). It is
//! the fallback teacher of the structured style rewrite: neutral sentence -> the character's line.

mod cjk;

use crate::lexicons::{HONORIFIC_SUFFIXES, INTERJECTIONS, SENTENCE_FINAL_TICS};
use crate::profile::StyleProfile;
use crate::text::Language;

/// Archaic forms and their plain equivalents (word-level; the verb after "thou" is fixed separately).
const MODERN: &[(&str, &str)] = &[
    ("thou", "you"),
    ("thee", "you"),
    ("thy", "your"),
    ("thine", "yours"),
    ("thyself", "yourself"),
    ("ye", "you"),
    ("hath", "has"),
    ("doth", "does"),
    ("dost", "do"),
    ("didst", "did"),
    ("hast", "have"),
    ("art", "are"),
    ("shalt", "shall"),
    ("wilt", "will"),
    ("wouldst", "would"),
    ("couldst", "could"),
    ("shouldst", "should"),
    ("canst", "can"),
    ("knowest", "know"),
    ("mayhap", "maybe"),
    ("methinks", "I think"),
    ("'tis", "it is"),
    ("'twas", "it was"),
    ("ere", "before"),
    ("nay", "no"),
    ("aye", "yes"),
    ("naught", "nothing"),
    ("oft", "often"),
    ("unto", "to"),
    ("hither", "here"),
    ("thither", "there"),
    ("prithee", "please"),
    ("verily", "truly"),
    ("forsooth", "truly"),
];

/// Removes `open ... close` spans (stage directions and *actions*).
fn strip_spans(text: &str, open: char, close: char) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    for c in text.chars() {
        if c == open && (open != close || depth == 0) {
            depth += 1;
        } else if c == close && depth > 0 {
            depth -= 1;
        } else if depth == 0 {
            out.push(c);
        }
    }
    // An unmatched opener kept everything after it out: keep the text instead.
    if depth > 0 {
        text.to_string()
    } else {
        out
    }
}

/// "I-I" -> "I", "W-what" -> "what": a stutter repeats the start of the word before a hyphen.
fn unstutter(word: &str) -> String {
    let mut w = word;
    while let Some((head, tail)) = w.split_once('-') {
        let head_lc = head.to_lowercase();
        if !head.is_empty()
            && head.chars().count() <= 2
            && tail.to_lowercase().starts_with(&head_lc)
        {
            w = tail;
        } else {
            break;
        }
    }
    w.to_string()
}

/// "sooo" -> "so", "nooooo" -> "no": a letter three or more times in a row becomes one.
fn unelongate(word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::with_capacity(word.len());
    let mut i = 0;
    while i < chars.len() {
        let mut j = i;
        while j < chars.len() && chars[j] == chars[i] {
            j += 1;
        }
        let run = j - i;
        let keep = if run >= 3 && chars[i].is_alphabetic() {
            1
        } else {
            run
        };
        out.extend(std::iter::repeat_n(chars[i], keep));
        i = j;
    }
    out
}

/// Splits a trailing run of punctuation off a word: "Hmph!" -> ("Hmph", "!").
fn split_punct(word: &str) -> (&str, &str) {
    let end = word
        .char_indices()
        .rev()
        .take_while(|(_, c)| !c.is_alphanumeric() && *c != '\'')
        .last()
        .map_or(word.len(), |(i, _)| i);
    word.split_at(end)
}

fn bare(word: &str) -> String {
    word.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != '-')
        .to_lowercase()
}

/// Plain punctuation: "?!" -> "?", "!!" / "!" -> ".", "..." / "…" / "~" -> ".".
fn plain_punct(p: &str) -> &'static str {
    if p.is_empty() {
        ""
    } else if p.contains('?') {
        "?"
    } else if p.contains([',', ';', ':']) && !p.contains(['.', '!', '…']) {
        ","
    } else {
        "."
    }
}

/// Rewrites one line plainly. `profile` gives the language, the catchphrases and the character's
/// self names.
pub fn neutralize(line: &str, profile: &StyleProfile) -> String {
    match profile.language {
        Language::Ja | Language::Zh => cjk::neutralize(line, profile.language),
        Language::En | Language::Other => neutralize_spaced(line, profile),
    }
}

/// English (and other space-separated text): word by word.
fn neutralize_spaced(line: &str, profile: &StyleProfile) -> String {
    let mut text = strip_spans(line, '(', ')');
    text = strip_spans(&text, '[', ']');
    text = strip_spans(&text, '*', '*');
    let lowered = text.to_lowercase();
    for phrase in profile.catchphrases.iter().filter(|c| c.term.contains(' ')) {
        // Only a catchphrase standing as its own clause goes; inside a sentence it carries meaning.
        if let Some(pos) = lowered.find(&phrase.term) {
            let before = lowered[..pos].trim_end();
            let after = lowered[pos + phrase.term.len()..].trim_start();
            let clause_start = before.is_empty() || before.ends_with(['.', '!', '?', ',', '…']);
            let clause_end = after.is_empty() || after.starts_with(['.', '!', '?', ',', '…']);
            if clause_start && clause_end && lowered.len() == text.len() {
                let skip = text[pos + phrase.term.len()..]
                    .chars()
                    .take_while(|c| !c.is_alphanumeric())
                    .map(char::len_utf8)
                    .sum::<usize>();
                text = format!(
                    "{}{}",
                    &text[..pos],
                    &text[pos + phrase.term.len() + skip..]
                );
                break;
            }
        }
    }
    let self_names: Vec<String> = profile
        .self_names
        .iter()
        .map(|n| n.to_lowercase())
        .collect();
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut sentence_start = true;
    let mut i = 0;
    while i < words.len() {
        let (core, punct) = split_punct(words[i]);
        let core = unelongate(&unstutter(core));
        let lc = core.to_lowercase();
        let punct = plain_punct(punct);
        let ends = punct == "." || punct == "?";
        i += 1;
        // Interjections and sentence-final tics carry no content.
        if (sentence_start && INTERJECTIONS.contains(&lc.as_str()))
            || SENTENCE_FINAL_TICS.contains(&lc.as_str()) && (ends || i == words.len())
        {
            if ends {
                if let Some(last) = out.last_mut() {
                    if !last.ends_with(['.', '?']) {
                        let kept = last.trim_end_matches(',').len();
                        last.truncate(kept);
                        last.push_str(punct);
                    }
                }
                sentence_start = true;
            }
            continue;
        }
        let core = match lc.rsplit_once('-') {
            Some((name, suffix)) if HONORIFIC_SUFFIXES.contains(&suffix) => {
                core[..name.len()].to_string()
            }
            _ => core,
        };
        let next = words.get(i).map(|w| bare(w)).unwrap_or_default();
        let replaced = if self_names.contains(&lc) {
            // Third-person self-reference -> first person.
            if next == "is" {
                i += 1;
                "I am".to_string()
            } else {
                "I".to_string()
            }
        } else if lc
            .strip_suffix("'s")
            .is_some_and(|n| self_names.iter().any(|s| s == n))
        {
            "my".to_string()
        } else if let Some((_, modern)) = MODERN.iter().find(|(old, _)| *old == lc) {
            modern.to_string()
        } else {
            core
        };
        let mut word = if sentence_start {
            capitalize(&replaced)
        } else {
            replaced
        };
        word.push_str(punct);
        sentence_start = ends;
        out.push(word);
    }
    let mut plain = out.join(" ");
    if !plain.is_empty() && !plain.ends_with(['.', '?']) {
        plain = plain.trim_end_matches(',').to_string();
        plain.push('.');
    }
    plain
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexical::LexicalSignature;

    fn profile() -> StyleProfile {
        let lines = [
            "Ririka is here!",
            "Sparkle power! Let's go.",
            "Sparkle power, everyone!",
        ];
        let mut p = crate::analyze(&lines, &[], crate::resources::shared::resources()).unwrap();
        p.self_names = vec!["Ririka".into()];
        p.catchphrases = vec![LexicalSignature {
            term: "sparkle power".into(),
            n: 2,
            pmi: 12.0,
            pmi_vs_others: None,
            count: 2,
            rate_per_1k: 100.0,
            examples: Vec::new(),
            kind: Default::default(),
        }];
        p
    }

    #[test]
    fn removes_what_the_analyzer_counts_as_style() {
        let p = profile();
        let cases = [
            (
                "Hmph! I-I didn't do it for you, baka~",
                "I didn't do it for you, baka.",
            ),
            (
                "*turns away* W-what are you looking at?!",
                "What are you looking at?",
            ),
            (
                "Sooo cute!!! Ririka is happy, Tanaka-san!",
                "So cute. I am happy, Tanaka.",
            ),
            (
                "Thou art late, and thy tea grows cold... mayhap.",
                "You are late, and your tea grows cold. Maybe.",
            ),
            ("Sparkle power! Let's go, desu.", "Let's go."),
            (
                "(sighs) Fine. Ririka's shoes are here.",
                "Fine. My shoes are here.",
            ),
        ];
        for (line, plain) in cases {
            assert_eq!(neutralize(line, &p), plain, "{line}");
        }
    }

    #[test]
    fn plain_lines_stay_as_they_are_and_nothing_panics_on_odd_input() {
        let p = profile();
        assert_eq!(
            neutralize("The train leaves at noon.", &p),
            "The train leaves at noon."
        );
        for odd in [
            "",
            "(((",
            "*",
            "- - -",
            "!!!",
            "a-",
            "-a",
            "日本語のテキスト",
            "x\u{0}y",
        ] {
            let _ = neutralize(odd, &p);
        }
    }
}
