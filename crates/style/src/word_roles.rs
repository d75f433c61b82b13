//! The role each word plays in a speaker's lines (proper name, noun, other content word,
//! interjection, function word), decided over all its uses. Signatures need it: a phrase of a name
//! and function words ("you potter") is vocabulary, not a habit; a noun can be a scene's topic.

use std::collections::HashMap;

use crate::doc::{Document, Sentence};
use crate::tags::{tag_name, Tag};
use crate::text::{self, TokenKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// A proper name: tagged NNP/NNPS in most of its uses, and capitalised inside sentences.
    Name,
    /// A common noun (NN/NNS): what a scene's topic is made of.
    Noun,
    /// A verb, adjective or adverb that carries meaning of its own.
    Content,
    Interjection,
    Function,
}

/// Forms that carry tense, agreement, negation or person rather than content, which the tagger
/// (trained on modern English) tags as verbs, adverbs or nouns: a phrase like "he'll be" or
/// "wilt thou" would otherwise look contentful.
const FUNCTION_FORMS: &[&str] = &[
    "be", "am", "is", "are", "was", "were", "been", "being", "'s", "'m", "'re", "have", "has",
    "had", "'ve", "'d", "do", "does", "did", "gon", "not", "n't",
];
/// Early Modern English pronouns and auxiliaries: function words of their time, but to a modern
/// ear a voice of their own ("dost thou"), so they count as content. The tagger, trained on
/// modern English, would call some of them nouns and make "wilt thou" look like a topic.
const ARCHAIC_FORMS: &[&str] = &[
    "thou", "thee", "thy", "thine", "ye", "art", "hast", "hath", "dost", "doth", "didst", "wilt",
    "shalt", "canst", "wouldst", "shouldst", "couldst", "wert", "wast",
];
/// Where each lexical word of a sentence sits among its tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WordSpan {
    /// Index of the word's first Penn-Treebank piece in `Sentence::ptb`.
    pub first_piece: usize,
    /// Number of pieces ("don't" -> "do n't" is two).
    pub pieces: usize,
    /// Punctuation other than a hyphen stands between this word and the one before
    /// ("Threepio, human").
    pub after_punct: bool,
}

/// The spans of `s.words`, or None when the words do not line up with the sentence's tokens
/// (text that another segmenter split).
pub fn word_spans(s: &Sentence) -> Option<Vec<WordSpan>> {
    let mut spans = Vec::with_capacity(s.words.len());
    let (mut piece, mut punct) = (0, false);
    for t in text::tokens(&s.text) {
        let pieces = if t.kind == TokenKind::Word {
            text::ptb_tokens(t.text).len()
        } else {
            1
        };
        if matches!(t.kind, TokenKind::Word | TokenKind::Number | TokenKind::Cjk) {
            spans.push(WordSpan {
                first_piece: piece,
                pieces,
                after_punct: punct && !spans.is_empty(),
            });
            punct = false;
        } else if t.text != "-" {
            // A single hyphen joins a compound ("See-Threepio"); other punctuation separates.
            punct = true;
        }
        piece += pieces;
    }
    let aligned = spans.len() == s.words.len() && (s.ptb.is_empty() || piece == s.ptb.len());
    aligned.then_some(spans)
}

/// For each word of `s`, whether punctuation comes before it (all false when unaligned).
pub fn punctuation_before(s: &Sentence) -> Vec<bool> {
    word_spans(s).map_or_else(
        || vec![false; s.words.len()],
        |spans| spans.iter().map(|w| w.after_punct).collect(),
    )
}

/// Uses of one word, by what each use looked like.
#[derive(Debug, Default)]
struct Uses {
    all: u32,
    proper_tag: u32,
    /// Uses after the sentence's first word, and how many of them were capitalised.
    inside: u32,
    inside_capitalised: u32,
    by_role: HashMap<Role, u32>,
}

/// Roles of the words of one document.
#[derive(Debug, Default)]
pub struct Roles(HashMap<String, Role>);

impl Roles {
    /// Roles from the document's tags and capitalisation; empty for untagged (non-English) text.
    pub fn of(doc: &Document) -> Self {
        let mut uses: HashMap<&str, Uses> = HashMap::new();
        for s in doc.sentences.iter().filter(|s| !s.tags.is_empty()) {
            let Some(spans) = word_spans(s) else { continue };
            for (i, (word, span)) in s.words.iter().zip(spans).enumerate() {
                let pieces = span.first_piece..span.first_piece + span.pieces;
                let u = uses.entry(word).or_default();
                u.all += 1;
                let first = &s.ptb[span.first_piece];
                let tag = tag_name(s.tags[span.first_piece]);
                u.proper_tag += u32::from(matches!(tag, "NNP" | "NNPS"));
                if i > 0 {
                    u.inside += 1;
                    u.inside_capitalised +=
                        u32::from(first.chars().next().is_some_and(char::is_uppercase));
                }
                let role = common_role(&s.ptb[pieces.clone()], &s.tags[pieces]);
                *u.by_role.entry(role).or_default() += 1;
            }
        }
        Roles(
            uses.into_iter()
                .map(|(word, u)| (word.to_string(), role_of(&u)))
                .collect(),
        )
    }

    /// The word's role; words never seen tagged count as content. A name's possessive is a name
    /// ("Penny's", which the tagger often calls a noun).
    pub fn role(&self, word: &str) -> Role {
        let possessed = word.strip_suffix("'s").and_then(|w| self.0.get(w));
        match (possessed, self.0.get(word)) {
            (Some(Role::Name), _) => Role::Name,
            (_, Some(&role)) => role,
            _ => Role::Content,
        }
    }
}

fn role_of(u: &Uses) -> Role {
    // Both signals must agree: verse capitalises each line's first word ("Fortune", "Dost"), and
    // the tagger guesses NNP for unknown words like "d'you" that are written lowercase. A word
    // only ever seen first in its sentence has no capitalisation evidence at all: the tagger's
    // NNP for a capitalised unknown word there ("Zounds, the tide!") is not enough.
    let tagged_proper =
        2 * u.proper_tag > u.all && u.inside > 0 && 2 * u.inside_capitalised >= u.inside;
    // A name that is also a common word ("Penny") is tagged NN in places, but stays capitalised.
    let always_capitalised =
        u.proper_tag > 0 && u.inside >= 2 && 10 * u.inside_capitalised >= 9 * u.inside;
    if tagged_proper || always_capitalised {
        return Role::Name;
    }
    [
        Role::Interjection,
        Role::Noun,
        Role::Content,
        Role::Function,
    ]
    .into_iter()
    .max_by_key(|r| u.by_role.get(r).copied().unwrap_or(0))
    .unwrap_or(Role::Function)
}

/// The role of one use of a word from its pieces' tags (a proper-noun tag is counted apart).
fn common_role(pieces: &[String], tags: &[Tag]) -> Role {
    let roles = pieces.iter().zip(tags).map(|(p, &t)| {
        let p = p.to_lowercase();
        match tag_name(t) {
            _ if FUNCTION_FORMS.contains(&p.as_str()) => Role::Function,
            _ if ARCHAIC_FORMS.contains(&p.as_str()) => Role::Content,
            "UH" => Role::Interjection,
            "NN" | "NNS" => Role::Noun,
            t if t.starts_with("VB") || t.starts_with("JJ") || t.starts_with("RB") || t == "FW" => {
                Role::Content
            }
            _ => Role::Function,
        }
    });
    // A word of two pieces ("dog's", "can't") takes its most contentful piece's role.
    roles
        .min_by_key(|r| match r {
            Role::Noun => 0,
            Role::Content => 1,
            Role::Interjection => 2,
            Role::Function | Role::Name => 3,
        })
        .unwrap_or(Role::Function)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::shared::resources;

    #[test]
    fn spans_line_up_with_clitics_and_punctuation() {
        let doc =
            crate::profile::prepare(&["I am See-Threepio, human-cyborg relations."], resources());
        let s = &doc.sentences[0];
        let spans = word_spans(s).unwrap();
        assert_eq!(
            s.words,
            ["i", "am", "see", "threepio", "human", "cyborg", "relations"]
        );
        let after: Vec<bool> = spans.iter().map(|w| w.after_punct).collect();
        assert_eq!(after, [false, false, false, false, true, false, false]);
        let doc = crate::profile::prepare(&["Don't go, Sheldon's mom."], resources());
        let spans = word_spans(&doc.sentences[0]).unwrap();
        assert_eq!(
            spans.iter().map(|w| w.pieces).collect::<Vec<_>>(),
            [2, 1, 2, 1]
        );
        assert_eq!(spans[3].first_piece, 6);
    }

    #[test]
    fn names_are_told_from_content_and_function_words() {
        let lines = [
            "Hey, Pam, did you see the memo?",
            "I told Pam about the memo yesterday.",
            "Oh, the memo is on the desk.",
            "Well, Dwight wrote the memo.",
        ];
        let roles = Roles::of(&crate::profile::prepare(&lines, resources()));
        assert_eq!(roles.role("pam"), Role::Name);
        assert_eq!(roles.role("dwight"), Role::Name);
        assert_eq!(roles.role("memo"), Role::Noun);
        assert_eq!(roles.role("told"), Role::Content);
        assert_eq!(roles.role("oh"), Role::Interjection);
        assert_eq!(roles.role("did"), Role::Function);
        assert_eq!(roles.role("the"), Role::Function);
        // "I" is capitalised everywhere and still not a name.
        assert_eq!(roles.role("i"), Role::Function);
        // An unknown word seen only first in its sentence is not taken for a name.
        let lines = [
            "Zounds, the lanterns! Zounds, the tide!",
            "Zounds, the bell!",
        ];
        let roles = Roles::of(&crate::profile::prepare(&lines, resources()));
        assert_ne!(roles.role("zounds"), Role::Name);
    }
}
