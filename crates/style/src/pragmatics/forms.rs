//! Finding Japanese and Chinese marker words in running text, which has no spaces between words.
//!
//! A marker is matched on the sentence's surface text, so the count is the same whether the
//! sentence was split per character or into segmenter words. Where a marker is also a piece of
//! longer words (私 in 私立, 吧 in 酒吧), those words are listed and an occurrence inside one is
//! skipped; where position decides (君 after a name is a suffix, not "you"), `Position` says so.

use crate::text::{script_of, Script};

/// Where an occurrence of a form counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// Anywhere, even inside a word (です in いいです, ござい in ございます).
    Anywhere,
    /// Anywhere it is not inside a longer word; a kana form must not continue a kana word
    /// (わし in こわし, おれ in とおれ).
    Word,
    /// As `Word`, and not right after a name (君 in シンジ君 is a suffix, not "you").
    NotAfterName,
    /// Right after a name or title (さん, 様): a kanji or katakana word before it.
    AfterName,
    /// At the end of a clause that has words before it: only other sentence-final particles,
    /// elongation marks or punctuation may follow (よ in 行くよね。, 吧 in 走吧！).
    ClauseFinal,
    /// Followed by the end of the clause, whatever comes before (laughter: "www", "笑").
    EndsClause,
    /// A clause on its own (おい、 / 唉！): a clause boundary before and after it.
    ClauseAlone,
}

/// A list of marker forms and where they count.
#[derive(Debug)]
pub struct FormSet {
    pub forms: &'static [&'static str],
    pub position: Position,
    /// Longer words containing a form that are not uses of it.
    pub not_in: &'static [&'static str],
}

/// Characters that may follow a clause-final form before the clause ends: more final particles,
/// elongation, small kana (よぉ, ねっ).
/// (No し, ら, も: か before them is から "because" or かも "maybe", not a question.)
const FINAL_TAIL: &str = "よねわぞぜさなかのっーぁぃぅぇぉ〜~吧呢啊嘛呀哦啦哈哇呗了么吗嘞咯哟喔";

fn is_letter(c: char) -> bool {
    c.is_alphanumeric()
}

/// Nothing but final particles, elongation or small kana before the clause ends.
fn ends_clause(after: &str) -> bool {
    after
        .trim_start_matches(|c| FINAL_TAIL.contains(c))
        .chars()
        .next()
        .is_none_or(|c| !is_letter(c))
}

fn is_kana(c: char) -> bool {
    script_of(c) == Script::Kana
}

/// Kanji or katakana: what Japanese names and titles are written in.
fn is_name_char(c: char) -> bool {
    matches!(script_of(c), Script::Han) || ('\u{30A0}'..='\u{30FF}').contains(&c) && c != 'ー'
}

impl FormSet {
    /// Occurrences in `text` (non-overlapping, longest form first at each position).
    pub fn count(&self, text: &str) -> usize {
        self.occurrences(text).count()
    }

    /// Byte offsets of the counted occurrences.
    pub fn occurrences<'t>(&'t self, text: &'t str) -> impl Iterator<Item = usize> + 't {
        let mut at = 0;
        std::iter::from_fn(move || {
            while at < text.len() {
                let here = at;
                let rest = &text[here..];
                let step = rest.chars().next().map_or(1, char::len_utf8);
                let form = self
                    .forms
                    .iter()
                    .filter(|f| rest.starts_with(**f))
                    .max_by_key(|f| f.len());
                match form {
                    Some(f) if self.counts_at(text, here, f) => {
                        at = here + f.len();
                        return Some(here);
                    }
                    _ => at = here + step,
                }
            }
            None
        })
    }

    fn counts_at(&self, text: &str, at: usize, form: &str) -> bool {
        let before = text[..at].chars().next_back();
        let after = &text[at + form.len()..];
        let first = form.chars().next().unwrap_or(' ');
        let inside_longer = self.not_in.iter().any(|word| {
            word.match_indices(form).any(|(k, _)| {
                at >= k && text.is_char_boundary(at - k) && text[at - k..].starts_with(word)
            })
        });
        if inside_longer {
            return false;
        }
        // A Latin form ("w" for laughter) never starts inside a Latin word ("now").
        if first.is_ascii_alphabetic() && before.is_some_and(|b| b.is_ascii_alphabetic()) {
            return false;
        }
        let continues_kana = is_kana(first) && before.is_some_and(|b| is_kana(b) && b != 'ー');
        match self.position {
            Position::Anywhere => true,
            Position::Word => !continues_kana,
            Position::NotAfterName => !continues_kana && !before.is_some_and(is_name_char),
            Position::AfterName => before.is_some_and(is_name_char),
            Position::ClauseFinal => before.is_some_and(is_letter) && ends_clause(after),
            Position::EndsClause => ends_clause(after),
            Position::ClauseAlone => {
                before.is_none_or(|b| !is_letter(b))
                    && after
                        .trim_start_matches(['ー', '〜', '~', 'っ', 'ッ'])
                        .chars()
                        .next()
                        .is_none_or(|c| !is_letter(c))
            }
        }
    }
}

/// Letters (kana, kanji, Latin letters, digits) in a text: the unit Japanese and Chinese rates
/// are counted per, so that they do not depend on how the text was split into words.
pub fn letters(text: &str) -> usize {
    text.chars().filter(|&c| is_letter(c)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longer_words_and_positions_are_respected() {
        let watashi = FormSet {
            forms: &["私", "わたし"],
            position: Position::Word,
            not_in: &["私立", "公私"],
        };
        assert_eq!(watashi.count("私は私立の学校に、わたしも。"), 2);
        assert_eq!(watashi.count("こわたし"), 0);
        let kimi = FormSet {
            forms: &["君"],
            position: Position::NotAfterName,
            not_in: &[],
        };
        assert_eq!(kimi.count("シンジ君、君は誰？"), 1);
        let suffix = FormSet {
            forms: &["君", "さん"],
            position: Position::AfterName,
            not_in: &[],
        };
        assert_eq!(suffix.count("シンジ君、君は碇さん？"), 2);
        let yo = FormSet {
            forms: &["よ", "ね"],
            position: Position::ClauseFinal,
            not_in: &[],
        };
        assert_eq!(yo.count("行くよね。よく見て"), 2);
        let ba = FormSet {
            forms: &["吧"],
            position: Position::ClauseFinal,
            not_in: &["酒吧"],
        };
        assert_eq!(ba.count("去酒吧吧！走吧"), 2);
        let oi = FormSet {
            forms: &["おい"],
            position: Position::ClauseAlone,
            not_in: &[],
        };
        assert_eq!(oi.count("おい、おいしい。おいっ！"), 2);
        assert_eq!(letters("W-what?! 私は…"), 7);
    }
}
