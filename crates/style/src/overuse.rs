//! Catchphrase over-use: a signature term that a reply repeats from the replies just before it more
//! often than the character's script uses it. Small models latch onto a catchphrase and say it every
//! turn; the script is the measure of how often the character really does.

use std::collections::HashSet;

use crate::lexical::{joiner, ngrams};
use crate::profile::{prepare, StyleProfile};
use crate::resources::Resources;
use crate::scoring::OocFlag;

/// How many earlier replies the cap looks back over (the new reply makes the window one longer).
pub const OVERUSE_WINDOW: usize = 4;

/// The terms (n = 1..=3 lexical keys) a text contains.
fn terms(text: &str, res: &Resources) -> HashSet<String> {
    let lines: Vec<&str> = text.lines().collect();
    let doc = prepare(&lines, res);
    let sep = joiner(doc.language);
    doc.sentences
        .iter()
        .flat_map(|s| ngrams(&s.words, sep).map(|(_, g)| g).collect::<Vec<_>>())
        .collect()
}

/// The share of the script's lines that carry a term said `count` times in `lines` lines. Profiles keep
/// occurrences, not lines, so a term said twice in a line counts twice: an upper bound, which errs on
/// the side of allowing a repeat.
fn line_share(count: u32, lines: usize) -> f64 {
    (f64::from(count) / lines.max(1) as f64).min(1.0)
}

/// Flags the signature term `reply` over-uses, given the replies before it (oldest first): the term is
/// in the previous reply too, and the window of the last `OVERUSE_WINDOW` replies plus this one holds it
/// more often than its script share allows (at least once). The worst excess is named.
pub fn catchphrase_overuse(
    reply: &str,
    previous: &[&str],
    p: &StyleProfile,
    res: &Resources,
) -> Option<OocFlag> {
    let last = previous.last()?;
    let window = &previous[previous.len().saturating_sub(OVERUSE_WINDOW)..];
    let now = terms(reply, res);
    let before: Vec<HashSet<String>> = window.iter().map(|r| terms(r, res)).collect();
    let in_last = terms(last, res);
    let replies = window.len() + 1;
    p.catchphrases
        .iter()
        .chain(&p.lexical)
        .filter(|sig| now.contains(&sig.term) && in_last.contains(&sig.term))
        .filter_map(|sig| {
            let used = 1 + before.iter().filter(|t| t.contains(&sig.term)).count();
            let share = line_share(sig.count, p.line_count);
            let allowed = ((share * replies as f64).ceil() as usize).max(1);
            (used > allowed).then(|| (used - allowed, sig, used, share))
        })
        .max_by_key(|(excess, ..)| *excess)
        .map(|(_, sig, used, share)| OocFlag {
            kind: "catchphrase_overuse".into(),
            cause: format!(
                "it leans on \"{}\": in {used} of the last {replies} replies, where the script has it in about 1 line in {:.0}",
                sig.term,
                1.0 / share.max(1e-9)
            ),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::analyze;
    use crate::resources::shared::resources;

    /// A character who speaks of the moon in one line of twenty.
    fn profile() -> StyleProfile {
        let mut lines = Vec::new();
        for i in 0..200 {
            lines.push(if i % 20 == 0 {
                format!("By the moon, the tide {i} is turning tonight.")
            } else {
                format!("The harbour keeps its lanterns lit for boat number {i}.")
            });
        }
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        analyze(&refs, &[], resources()).unwrap()
    }

    #[test]
    fn a_rare_catchphrase_in_consecutive_replies_is_flagged_and_named() {
        let p = profile();
        let terms: Vec<&str> = p
            .catchphrases
            .iter()
            .chain(&p.lexical)
            .map(|s| s.term.as_str())
            .collect();
        assert!(
            terms.contains(&"moon"),
            "the planted word is a signature: {terms:?}"
        );
        let previous = ["What a moon tonight.", "The lanterns are lit."];
        assert_eq!(
            catchphrase_overuse("The moon, I missed you.", &previous, &p, resources()),
            None,
            "once in the window is within any script rate"
        );
        let flag = catchphrase_overuse(
            "The lanterns, and the moon!",
            &["The lanterns are lit.", "What a moon tonight."],
            &p,
            resources(),
        )
        .expect("said in two replies in a row");
        assert_eq!(flag.kind, "catchphrase_overuse");
        assert!(flag.cause.contains("\"moon\""), "{}", flag.cause);
        assert!(flag.cause.contains("2 of the last 3"), "{}", flag.cause);
    }

    #[test]
    fn a_term_the_script_uses_in_most_lines_may_repeat() {
        let p = profile();
        // "the" is in every line of the script: never capped.
        let previous = ["The tide.", "The moon.", "The boats."];
        let flagged = catchphrase_overuse("The lanterns.", &previous, &p, resources());
        assert!(
            flagged
                .as_ref()
                .is_none_or(|f| !f.cause.contains("\"the\"")),
            "{flagged:?}"
        );
        assert_eq!(line_share(400, 200), 1.0);
        assert_eq!(line_share(10, 200), 0.05);
    }
}
