//! English traits: word lists (`crate::lexicons`), PTB tags, Latin-script marks. Backgrounds
//! are GUM's spoken and fiction sentences, measured with this same code.

use super::shared::{emoticons, ends_as_question, exclaims, has_ellipsis};
use super::{Context, Measure, Source, TraitDef, Unit};
use crate::doc::Sentence;
use crate::lexicons::*;
use crate::tags::{self, tag_name};

fn is_exclamation(s: &Sentence) -> bool {
    exclaims(s, ends_as_question(s))
}

/// Prefixes written with a hyphen ("re-read", "co-op"): a repeated prefix is not a stutter.
const HYPHEN_PREFIXES: &[&str] = &[
    "re", "co", "de", "un", "ex", "bi", "pre", "non", "sub", "mis", "pro", "anti",
];

/// A stuttered word: one to three letters repeated before the whole word ("W-what", "I-I-it's",
/// "Th-that"), never a reduplication ("bye-bye", "so-so") or a compound ("well-known", "x-ray").
fn is_stutter(word: &str) -> bool {
    let word = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '-' && c != '\'');
    let parts: Vec<String> = word.split('-').map(str::to_lowercase).collect();
    let Some((last, fragments)) = parts.split_last() else {
        return false;
    };
    !fragments.is_empty()
        && fragments.iter().all(|f| {
            let n = f.chars().count();
            (1..=3).contains(&n)
                && f.chars().all(char::is_alphabetic)
                && !HYPHEN_PREFIXES.contains(&f.as_str())
                && last.starts_with(f.as_str())
                // "I-I" repeats a one-letter word; longer whole-word repeats are reduplications.
                && (last.chars().count() > n || n == 1)
        })
}

fn stutters(s: &Sentence) -> usize {
    s.text.split_whitespace().filter(|w| is_stutter(w)).count()
}

fn has_phrase(words: &[String], list: &[&str]) -> usize {
    list.iter()
        .map(|p| {
            let parts: Vec<&str> = p.split(' ').collect();
            words
                .windows(parts.len())
                .filter(|w| w.iter().zip(&parts).all(|(a, b)| a == b))
                .count()
        })
        .sum()
}

fn count_words(words: &[String], list: &[&str]) -> usize {
    words.iter().filter(|w| list.contains(&w.as_str())).count()
}

/// Base-form verb first (after interjections, "please", "just", "don't"), not a question.
pub fn is_imperative(s: &Sentence) -> bool {
    if ends_as_question(s) || s.tags.is_empty() {
        return false;
    }
    let skip = [
        "please", "just", "do", "n't", "now", "so", "then", "oh", "hey", "come", "quick", "quickly",
    ];
    let mut first_verb = None;
    for (tok, &tag) in s.ptb.iter().zip(&s.tags) {
        let name = tag_name(tag);
        if name == "UH"
            || name == ","
            || skip.contains(&tok.to_lowercase().as_str()) && name != "VB"
        {
            continue;
        }
        first_verb = Some(name);
        break;
    }
    first_verb == Some("VB")
}

fn elongations(s: &Sentence) -> usize {
    s.words
        .iter()
        .filter(|w| {
            let c: Vec<char> = w.chars().collect();
            c.windows(3)
                .any(|x| x[0].is_alphabetic() && x[0] == x[1] && x[1] == x[2])
        })
        .count()
}

fn caps_words(s: &Sentence) -> usize {
    s.ptb
        .iter()
        .filter(|w| w.chars().count() >= 3 && w.chars().all(|c| c.is_ascii_uppercase()))
        .count()
}

fn final_tic(s: &Sentence) -> bool {
    let t = s
        .text
        .trim_end_matches(['.', '!', '?', '。', '！', '？', ' ']);
    t.ends_with(['~', '〜', '☆', '★', '♪', '♡', '♥'])
        || SENTENCE_FINAL_TICS.iter().any(|tic| {
            let words: Vec<&str> = tic.split(' ').collect();
            s.words.len() >= words.len()
                && s.words[s.words.len() - words.len()..]
                    .iter()
                    .zip(&words)
                    .all(|(a, b)| a == b)
        })
}

fn self_reference_in_third_person(s: &Sentence, ctx: &Context) -> usize {
    let this_one = s
        .words
        .windows(2)
        .filter(|w| w[0] == "this" && w[1] == "one")
        .count();
    // "this one" is self-reference when followed by a verb ("this one did"), not "this one is broken" heuristics
    // beyond tags are out of scope: count it only when the next tag is a verb or modal.
    let this_one_verb = s
        .ptb
        .windows(3)
        .zip(s.tags.windows(3))
        .filter(|(w, t)| w[0].eq_ignore_ascii_case("this") && w[1] == "one" && tags::is_verb(t[2]))
        .count();
    let names = s
        .words
        .iter()
        .filter(|w| ctx.self_names.iter().any(|n| n == *w))
        .count();
    names
        + if s.tags.is_empty() {
            this_one
        } else {
            this_one_verb
        }
}

fn honorifics(s: &Sentence) -> usize {
    let suffixed = s
        .text
        .split(|c: char| c.is_whitespace() || (c.is_ascii_punctuation() && c != '-'))
        .filter(|w| {
            w.rsplit_once('-')
                .is_some_and(|(_, suf)| HONORIFIC_SUFFIXES.contains(&suf.to_lowercase().as_str()))
        })
        .count();
    suffixed + has_phrase(&s.words, HONORIFIC_WORDS)
}

pub const TRAITS: &[TraitDef] = &[
    TraitDef {
        name: "question_rate",
        gloss: "asks questions",
        source: Source::Conversation,
        unit: Unit::PerSentence,
        measure: Measure::Custom(|s, _| f64::from(ends_as_question(s))),
    },
    TraitDef {
        name: "exclamation_rate",
        gloss: "exclaims (ends sentences with \"!\")",
        source: Source::Conversation,
        unit: Unit::PerSentence,
        measure: Measure::Custom(|s, _| f64::from(is_exclamation(s))),
    },
    TraitDef {
        name: "imperative_rate",
        gloss: "gives orders and requests (\"Sit down.\")",
        source: Source::Conversation,
        unit: Unit::PerSentence,
        measure: Measure::Custom(|s, _| f64::from(is_imperative(s))),
    },
    TraitDef {
        name: "declarative_rate",
        gloss: "makes plain statements",
        source: Source::Conversation,
        unit: Unit::PerSentence,
        measure: Measure::Custom(|s, _| {
            f64::from(!ends_as_question(s) && !is_exclamation(s) && !is_imperative(s))
        }),
    },
    TraitDef {
        name: "sentence_length",
        gloss: "long sentences (words per sentence)",
        source: Source::Conversation,
        unit: Unit::MeanPerSentence,
        measure: Measure::Custom(|s, _| s.words.len() as f64),
    },
    TraitDef {
        name: "verbless_sentence_rate",
        gloss: "speaks in fragments without a verb (\"Nice.\", \"Not again.\")",
        source: Source::Conversation,
        unit: Unit::PerSentence,
        measure: Measure::Custom(|s, _| {
            f64::from(!s.tags.is_empty() && !s.tags.iter().any(|&t| tags::is_verb(t)))
        }),
    },
    TraitDef {
        name: "ellipsis_rate",
        gloss: "trails off with \"...\"",
        source: Source::Conversation,
        unit: Unit::PerSentence,
        measure: Measure::Custom(|s, _| f64::from(has_ellipsis(s))),
    },
    TraitDef {
        name: "sentence_final_tic_rate",
        gloss: "ends sentences with a verbal tic (\"~\", \"desu\", \"nya\")",
        source: Source::Conversation,
        unit: Unit::PerSentence,
        measure: Measure::Custom(|s, _| f64::from(final_tic(s))),
    },
    TraitDef {
        name: "interjection_rate",
        gloss: "uses interjections (\"oh\", \"hmm\", \"ugh\")",
        source: Source::Conversation,
        unit: Unit::Per1kTokens,
        measure: Measure::Custom(|s, _| count_words(&s.words, INTERJECTIONS) as f64),
    },
    TraitDef {
        name: "hedge_rate",
        gloss: "hedges (\"maybe\", \"I think\", \"sort of\")",
        source: Source::Conversation,
        unit: Unit::Per1kTokens,
        measure: Measure::Custom(|s, _| has_phrase(&s.words, HEDGES) as f64),
    },
    TraitDef {
        name: "politeness_rate",
        gloss: "uses polite formulas (\"please\", \"thank you\", \"sorry\")",
        source: Source::Conversation,
        unit: Unit::Per1kTokens,
        measure: Measure::Custom(|s, _| has_phrase(&s.words, POLITENESS) as f64),
    },
    TraitDef {
        name: "honorific_rate",
        gloss: "uses honorifics (\"-san\", \"senpai\", \"my lord\")",
        source: Source::Conversation,
        unit: Unit::Per1kTokens,
        measure: Measure::Custom(|s, _| honorifics(s) as f64),
    },
    TraitDef {
        name: "first_person_rate",
        gloss: "talks about themself (I, me, we)",
        source: Source::Conversation,
        unit: Unit::Per1kTokens,
        measure: Measure::Custom(|s, _| count_words(&s.words, FIRST_PERSON) as f64),
    },
    TraitDef {
        name: "third_person_self_reference",
        gloss: "refers to themself by name or as \"this one\"",
        source: Source::Conversation,
        unit: Unit::Per1kTokens,
        measure: Measure::Custom(|s, c| self_reference_in_third_person(s, c) as f64),
    },
    TraitDef {
        name: "second_person_address_rate",
        gloss: "addresses the listener directly (you, your)",
        source: Source::Conversation,
        unit: Unit::Per1kTokens,
        measure: Measure::Custom(|s, _| count_words(&s.words, SECOND_PERSON) as f64),
    },
    TraitDef {
        name: "archaic_rate",
        gloss: "uses archaic words (\"thou\", \"hath\", \"'tis\")",
        source: Source::Conversation,
        unit: Unit::Per1kTokens,
        measure: Measure::Custom(|s, _| count_words(&s.words, ARCHAIC) as f64),
    },
    TraitDef {
        name: "positive_emotion_rate",
        gloss: "uses words of joy and affection (\"happy\", \"love\")",
        source: Source::Conversation,
        unit: Unit::Per1kTokens,
        measure: Measure::Custom(|s, _| count_words(&s.words, POSITIVE_EMOTION) as f64),
    },
    TraitDef {
        name: "negative_emotion_rate",
        gloss: "uses words of anger, fear or sadness (\"hate\", \"scared\")",
        source: Source::Conversation,
        unit: Unit::Per1kTokens,
        measure: Measure::Custom(|s, _| count_words(&s.words, NEGATIVE_EMOTION) as f64),
    },
    TraitDef {
        name: "emoticon_rate",
        gloss: "uses emoticons and symbols (\":)\", \"(^_^)\", \"☆\")",
        source: Source::Conversation,
        unit: Unit::Per1kTokens,
        measure: Measure::Custom(|s, _| emoticons(&s.text) as f64),
    },
    TraitDef {
        name: "stutter_rate",
        gloss: "stutters (\"W-what\", \"I-I\")",
        source: Source::Conversation,
        unit: Unit::Per1kTokens,
        measure: Measure::Custom(|s, _| stutters(s) as f64),
    },
    TraitDef {
        name: "elongation_rate",
        gloss: "drags out words (\"sooo\", \"noooo\")",
        source: Source::Conversation,
        unit: Unit::Per1kTokens,
        measure: Measure::Custom(|s, _| elongations(s) as f64),
    },
    TraitDef {
        name: "shouting_caps_rate",
        gloss: "shouts in capitals (\"STOP\")",
        source: Source::Conversation,
        unit: Unit::Per1kTokens,
        measure: Measure::Custom(|s, _| caps_words(s) as f64),
    },
    TraitDef {
        name: "assistant_speak_rate",
        gloss: "sounds like an AI assistant (\"As an AI...\")",
        source: Source::Conversation,
        unit: Unit::Per1kTokens,
        measure: Measure::Custom(|s, _| has_phrase(&s.words, ASSISTANT_SPEAK) as f64),
    },
];
