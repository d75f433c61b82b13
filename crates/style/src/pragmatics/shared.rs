//! Measures that read the same in every language: sentence-final punctuation, ellipses and
//! emoticons.

use crate::doc::Sentence;
use crate::lexicons::WESTERN_EMOTICONS;

/// The sentence ends with `c`, possibly followed by closing quotes or brackets.
fn ends_with(s: &Sentence, c: char) -> bool {
    s.text
        .trim_end_matches(|x: char| {
            !(matches!(x, '?' | '!' | '.' | '？' | '！' | '。') || x.is_alphanumeric())
        })
        .ends_with(c)
        || s.text.trim_end().ends_with(c)
}

/// Ends with a question mark (ASCII or full-width).
pub fn ends_as_question(s: &Sentence) -> bool {
    ends_with(s, '?') || ends_with(s, '？')
}

/// Ends with (or, in CJK text, contains) an exclamation mark and is not a question.
pub fn exclaims(s: &Sentence, is_question: bool) -> bool {
    !is_question && (ends_with(s, '!') || s.text.contains('！'))
}

/// Trailing-off marks: "...", "…" (and "……", "‥").
pub fn has_ellipsis(s: &Sentence) -> bool {
    s.text.contains("...") || s.text.contains('…') || s.text.contains('‥')
}

fn is_symbol_emoticon(c: char) -> bool {
    matches!(c as u32, 0x2600..=0x27BF | 0x1F300..=0x1FAFF)
}

/// Kaomoji ("(≧▽≦)", "(^_^)"), western emoticons (":)") and emoji/symbol marks ("☆", "♪").
pub fn emoticons(text: &str) -> usize {
    let western = WESTERN_EMOTICONS
        .iter()
        .map(|e| text.matches(e).count())
        .sum::<usize>();
    let symbols = text.chars().filter(|&c| is_symbol_emoticon(c)).count();
    let mut kaomoji = 0;
    let mut rest = text;
    while let Some(open) = rest.find('(') {
        let after = &rest[open + 1..];
        let Some(close) = after.find(')') else { break };
        let inner = &after[..close];
        let n = inner.chars().count();
        let odd = inner
            .chars()
            .filter(|c| !c.is_alphanumeric() && !c.is_whitespace())
            .count();
        if (2..=16).contains(&n) && odd * 2 >= n && !inner.chars().any(|c| c.is_ascii_alphabetic())
        {
            kaomoji += 1;
        }
        rest = &after[close + 1..];
    }
    western + symbols + kaomoji
}

fn is_kana(c: char) -> bool {
    crate::text::script_of(c) == crate::text::Script::Kana
}

/// Chinese sound words that are drawn out by repeating them.
const DRAWN_OUT_HANZI: &str = "啊呀哇哦嗯呜喔唉哎噢";

fn is_cjk_letter(c: char) -> bool {
    crate::text::is_cjk(c) && c != 'ー'
}

/// Japanese and Chinese stutters: a clause opening with a syllable cut off and repeated
/// ("そ、そうです", "我、我不知道"), or a kana tripled ("そそそ、そう"; a tripled hanzi is
/// emphasis, 来来来 "come on"). Counted once per clause.
pub fn cjk_stutters(text: &str) -> usize {
    let chars: Vec<char> = text.chars().collect();
    (0..chars.len())
        .filter(|&i| {
            let c = chars[i];
            let opens = i == 0 || !chars[i - 1].is_alphanumeric();
            if !opens || !is_cjk_letter(c) {
                return false;
            }
            let mut j = i + 1;
            while chars
                .get(j)
                .is_some_and(|&p| matches!(p, '、' | ',' | '，' | '…' | '‥' | '.'))
            {
                j += 1;
            }
            let paused = j > i + 1 && chars.get(j) == Some(&c);
            let tripled =
                is_kana(c) && chars.get(i + 1) == Some(&c) && chars.get(i + 2) == Some(&c);
            paused || tripled && !LAUGH_SYLLABLES.contains(c)
        })
        .count()
}

/// Syllables whose repetition is laughter, counted as such and not as stutter or elongation.
const LAUGH_SYLLABLES: &str = "哈呵嘿嘻はふへひ";

/// Drawn-out sounds in Japanese and Chinese: a long-vowel mark or small vowel after hiragana
/// (すごーい, ねぇ — katakana words take ー as spelling), a wave dash after a letter (〜, ~), or
/// a kana or a Chinese sound word said three times or more (あああ, 啊啊啊; 来来来 is a word
/// repeated, and repeated laughter is laughter).
pub fn cjk_elongations(text: &str) -> usize {
    let chars: Vec<char> = text.chars().collect();
    let hiragana = |c: char| ('\u{3041}'..='\u{309F}').contains(&c);
    (1..chars.len())
        .filter(|&i| {
            let (prev, c) = (chars[i - 1], chars[i]);
            let marked = match c {
                'ー' | 'ぁ' | 'ぃ' | 'ぅ' | 'ぇ' | 'ぉ' => hiragana(prev),
                '〜' | '~' => prev.is_alphanumeric(),
                _ => false,
            };
            let tripled = i >= 2
                && (is_kana(c) && c != 'ー' || DRAWN_OUT_HANZI.contains(c))
                && prev == c
                && chars[i - 2] == c
                && chars.get(i + 1) != Some(&c)
                && !LAUGH_SYLLABLES.contains(c);
            marked || tripled
        })
        .count()
}

/// Mentions of the speaker's own name in Japanese or Chinese text (names of two letters or more,
/// so that a one-letter nickname does not match inside words).
pub fn cjk_name_mentions(text: &str, names: &[String]) -> usize {
    names
        .iter()
        .filter(|n| n.chars().count() >= 2)
        .map(|n| text.matches(n.as_str()).count())
        .sum()
}
