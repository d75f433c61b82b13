//! Keeps reasoning out of a streamed reply. An adapter trained with style plans answers after an
//! empty reasoning block; should it open another block, write the plan task's marker, or start its
//! reply with a plan, the text from there on is never shown and generation stops. Text that might be
//! the start of such a mark is held back until it is clearly not one.

use crate::distill::dataset::PLAN_TASK_MARKER;

/// Marks that end a reply wherever they appear.
const MARKS: [&str; 3] = ["<think>", "</think>", PLAN_TASK_MARKER];
/// How a rendered style plan begins (`kotodama_style::StylePlan::render`): a reply that opens so is
/// a plan, not speech.
const PLAN_OPENINGS: [&str; 4] = [
    "Words: \"",
    "Grammar: ",
    "Traits: ",
    "Plain line: no distinctive",
];

#[derive(Debug, Default)]
pub(crate) struct ReasoningFilter {
    held: String,
    shown_any: bool,
    stopped: bool,
}

impl ReasoningFilter {
    /// Takes the next generated piece; returns the text to show now and whether to stop generating.
    pub(crate) fn push(&mut self, piece: &str) -> (String, bool) {
        if self.stopped {
            return (String::new(), true);
        }
        self.held.push_str(piece);
        if !self.shown_any {
            let start = self.held.trim_start();
            if PLAN_OPENINGS.iter().any(|o| start.starts_with(o)) {
                self.stopped = true;
                self.held.clear();
                return (String::new(), true);
            }
            if PLAN_OPENINGS.iter().any(|o| o.starts_with(start)) {
                return (String::new(), false);
            }
        }
        if let Some(at) = MARKS.iter().filter_map(|m| self.held.find(m)).min() {
            self.stopped = true;
            let shown = self.held[..at].to_string();
            self.held.clear();
            self.shown_any |= !shown.is_empty();
            return (shown, true);
        }
        // Hold back the longest tail that could still grow into a mark.
        let keep = (1..=self.held.len())
            .rev()
            .filter(|&n| self.held.is_char_boundary(self.held.len() - n))
            .find(|&n| {
                let tail = &self.held[self.held.len() - n..];
                MARKS.iter().any(|m| m.len() > n && m.starts_with(tail))
            })
            .unwrap_or(0);
        let shown = self.held[..self.held.len() - keep].to_string();
        self.held.drain(..self.held.len() - keep);
        self.shown_any |= !shown.is_empty();
        (shown, false)
    }

    /// What was held back when generation ended on its own (it never became a mark).
    pub(crate) fn finish(&mut self) -> String {
        if self.stopped {
            return String::new();
        }
        std::mem::take(&mut self.held)
    }
}

/// Whether a whole text would be cut by the filter: it holds a reasoning block, the plan task's
/// marker, or opens as a plan.
pub fn shows_reasoning(text: &str) -> bool {
    ReasoningFilter::default().push(text).1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pieces: &[&str]) -> (String, bool) {
        let mut f = ReasoningFilter::default();
        let mut out = String::new();
        for p in pieces {
            let (shown, stop) = f.push(p);
            out.push_str(&shown);
            if stop {
                return (out, true);
            }
        }
        out.push_str(&f.finish());
        (out, false)
    }

    #[test]
    fn speech_passes_through_whole_even_when_it_looks_like_a_marks_start() {
        assert_eq!(
            run(&["Hmph. ", "I'm ", "not <", "3 you."]),
            ("Hmph. I'm not <3 you.".into(), false)
        );
        assert_eq!(run(&["Wait", " <th"]), ("Wait <th".into(), false));
        assert_eq!(
            run(&["Word", "s fail me."]),
            ("Words fail me.".into(), false)
        );
        assert_eq!(run(&["「ふん", "」"]), ("「ふん」".into(), false));
    }

    #[test]
    fn a_reasoning_block_or_the_plan_marker_ends_the_reply_unseen() {
        assert_eq!(
            run(&["Fine. ", "<thi", "nk>\nWords: ..."]),
            ("Fine. ".into(), true)
        );
        assert_eq!(run(&["</think>", "Hi"]), (String::new(), true));
        assert_eq!(run(&["Sure [style", " plan] x"]), ("Sure ".into(), true));
    }

    #[test]
    fn a_reply_that_opens_as_a_plan_is_not_shown_at_all() {
        assert_eq!(
            run(&["Words", ": \"hmph\". Grammar: question."]),
            (String::new(), true)
        );
        assert_eq!(run(&[" Traits: ", "stutters."]), (String::new(), true));
        assert_eq!(
            run(&["Plain line: no distinctive feature."]),
            (String::new(), true)
        );
        assert!(shows_reasoning("Sure. <think>"));
        assert!(!shows_reasoning("Sure, I think so."));
    }
}
