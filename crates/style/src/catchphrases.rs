//! Catchphrases: the multi-word phrases a character keeps coming back to, told apart from the
//! other recurring phrases of a script:
//! - names ("Dunder Mifflin", "Dr Gablehauser") recur but are vocabulary, not a verbal habit;
//! - a scene's topic ("the deflector shield") recurs within a few neighbouring lines only;
//! - a phrase plus a context word ("at dunder mifflin") repeats a shorter phrase (dropped before,
//!   by `lexical::signatures`).
//!
//! PMI against an independence background alone ranks rare phrases of rare words first, so the
//! ranking weighs PMI by the square root of the number of scenes the phrase is used in (the
//! log-odds z-score grows with the square root of the evidence; scenes rather than raw counts so
//! that a burst within one scene counts once).

use std::collections::{HashMap, HashSet};

use crate::doc::Document;
use crate::lexical::{LexicalSignature, Phrase};
use crate::tags::tag_name;

/// A catchphrase is used in at least this many scenes.
const MIN_SCENES: usize = 3;
/// A scene is this many consecutive lines, or fewer in short scripts (which get at least
/// `SCENES_IN_SHORT_SCRIPTS` scenes).
const SCENE_LINES: usize = 20;
const SCENES_IN_SHORT_SCRIPTS: usize = 20;

/// The top `k` catchphrases among `candidates` (phrases no other one stands for), best first.
pub fn pick(candidates: Vec<Phrase>, doc: &Document, k: usize) -> Vec<LexicalSignature> {
    let names = name_words(doc);
    let scene = (doc.lines.len() / SCENES_IN_SHORT_SCRIPTS).clamp(1, SCENE_LINES);
    let mut ranked: Vec<(f64, LexicalSignature)> = candidates
        .into_iter()
        .filter(|c| !is_name(&c.parts, &names))
        .filter_map(|c| {
            let scenes = c
                .lines
                .iter()
                .map(|l| l / scene)
                .collect::<HashSet<_>>()
                .len();
            (scenes >= MIN_SCENES).then(|| (c.sig.pmi * (scenes as f64).sqrt(), c.sig))
        })
        .collect();
    ranked.sort_by(|(a, x), (b, y)| b.total_cmp(a).then_with(|| x.term.cmp(&y.term)));
    ranked.into_iter().take(k).map(|(_, sig)| sig).collect()
}

/// Words tagged as proper nouns in most of their uses in `doc`.
fn name_words(doc: &Document) -> HashSet<String> {
    let mut uses: HashMap<String, (u32, u32)> = HashMap::new();
    for s in &doc.sentences {
        for (word, &tag) in s.ptb.iter().zip(&s.tags) {
            let e = uses.entry(word.to_lowercase()).or_default();
            e.0 += u32::from(matches!(tag_name(tag), "NNP" | "NNPS"));
            e.1 += 1;
        }
    }
    uses.into_iter()
        .filter(|(_, (proper, all))| 2 * proper > *all)
        .map(|(w, _)| w)
        .collect()
}

/// A phrase of two or more different names. A repeated name ("Penny, Penny") is a habit.
fn is_name(parts: &[String], names: &HashSet<String>) -> bool {
    parts.iter().all(|p| names.contains(p)) && parts.iter().collect::<HashSet<_>>().len() > 1
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::resources::shared::resources;

    /// A line of four made-up words that no other line repeats.
    pub(crate) fn filler(i: usize) -> String {
        const SYL: [&str; 8] = ["ka", "mo", "ri", "te", "su", "no", "ba", "lu"];
        let word = |k: usize| format!("{}{}{}", SYL[k % 8], SYL[(k / 8) % 8], SYL[(k / 64) % 8]);
        let w = |j| word(4 * i + j);
        format!("{} {} {} {}.", w(0), w(1), w(2), w(3))
    }

    fn catchphrases(plant: impl Fn(usize) -> Option<String>) -> Vec<String> {
        let lines: Vec<String> = (0..120)
            .map(|i| match plant(i) {
                Some(p) => format!("{} {p}", filler(i)),
                None => filler(i),
            })
            .collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let doc = crate::profile::prepare(&refs, resources());
        let (_, c) = crate::lexical::signatures(&doc, None, &resources().background_en);
        c.into_iter().map(|s| s.term).collect()
    }

    #[test]
    fn a_habit_is_found_and_a_name_and_a_topic_are_not() {
        let found = catchphrases(|i| match i {
            // A habit, in 6 scenes spread over the script.
            i if i % 20 == 3 => Some("Holy moly guacamole!".into()),
            // A name, in more lines than the habit, with different words around it.
            i if i % 8 == 5 => Some(filler(1000 + i).replacen(" ", " Zorbo Quillfeather ", 1)),
            // A topic, in neighbouring lines of one scene.
            60..=65 => Some("The flux capacitor hums.".into()),
            _ => None,
        });
        assert!(found[0].starts_with("holy moly"), "{found:?}");
        assert!(!found.iter().any(|t| t.contains("zorbo")), "{found:?}");
        assert!(!found.iter().any(|t| t.contains("flux")), "{found:?}");
    }

    #[test]
    fn a_phrase_plus_a_context_word_gives_way_to_the_phrase() {
        let found = catchphrases(|i| match i {
            i if i % 12 == 1 => Some("Believe it or not.".into()),
            i if i % 12 == 7 => Some("Believe it, really.".into()),
            _ => None,
        });
        // "believe it" (20 uses) is the habit; "believe it or" (10) only extends it.
        assert!(found.iter().any(|t| t == "believe it"), "{found:?}");
        assert!(!found.iter().any(|t| t == "believe it or"), "{found:?}");
    }

    #[test]
    fn a_repeated_name_is_a_habit() {
        let names: HashSet<String> = ["penny", "leonard"].map(String::from).into();
        let parts = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert!(!is_name(&parts("penny penny"), &names));
        assert!(is_name(&parts("penny leonard"), &names));
        assert!(!is_name(&parts("hey penny"), &names));
    }
}
