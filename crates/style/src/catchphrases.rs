//! Catchphrases: the multi-word phrases a character keeps coming back to, told apart from the
//! other recurring phrases of a script:
//! - names ("Dunder Mifflin", "Dr Gablehauser") recur but are vocabulary, not a verbal habit, and
//!   a scene's topic ("the deflector shield") recurs within a few neighbouring lines only: both are
//!   told apart before, by `lexical::signatures`, which hands over habits only;
//! - a phrase plus a context word ("at dunder mifflin") repeats a shorter phrase (dropped before,
//!   by `lexical::signatures`);
//! - a habit of one scene is still a scene's: a catchphrase comes back in several.
//!
//! PMI against an independence background alone ranks rare phrases of rare words first, so the
//! ranking weighs PMI by the square root of the number of scenes the phrase is used in (the
//! log-odds z-score grows with the square root of the evidence; scenes rather than raw counts so
//! that a burst within one scene counts once).

use crate::lexical::{LexicalSignature, Phrase};
use crate::scenes::Scenes;

/// A catchphrase is used in at least this many scenes.
const MIN_SCENES: usize = 3;

/// The top `k` catchphrases among `candidates` (habit phrases no other one stands for), best
/// first.
pub fn pick(candidates: Vec<Phrase>, scenes: &Scenes, k: usize) -> Vec<LexicalSignature> {
    let mut ranked: Vec<(f64, LexicalSignature)> = candidates
        .into_iter()
        .filter_map(|c| {
            let used = scenes.used(&c.lines);
            (used >= MIN_SCENES).then(|| (c.sig.pmi * (used as f64).sqrt(), c.sig))
        })
        .collect();
    ranked.sort_by(|(a, x), (b, y)| b.total_cmp(a).then_with(|| x.term.cmp(&y.term)));
    ranked.into_iter().take(k).map(|(_, sig)| sig).collect()
}

#[cfg(test)]
pub(crate) mod tests {
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
        let c = crate::lexical::signatures(&doc, None, &resources().background_en).catchphrases;
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
}
