//! Which of a long chat's oldest messages leave the prompt once the chat outgrows the context.
//!
//! Dropping just enough every turn moves the prompt's start every turn, and a moved start discards
//! the model's cached prefix: each reply of a long chat would prefill the whole context again (tens
//! of seconds at 8k tokens on a laptop CPU; a served model's prompt cache is lost the same way). So
//! messages leave in blocks of about a quarter of the budget, at cut points fixed from the chat's
//! start: between two cuts the prompt only grows at its end, and the cache covers all but the newest
//! turn.

use crate::Result;

/// The share of the budget a block of dropped messages holds (at least this many tokens leave at once).
const BLOCK_DIVISOR: usize = 4;

/// The messages the kept history may start at: the first, and each message at which the sizes summed
/// from the chat's start pass another `step` tokens. A point, once there, never moves as the chat grows.
fn cut_points(sizes: &[usize], step: usize) -> Vec<usize> {
    let step = step.max(1);
    let mut points = vec![0];
    let (mut total, mut block) = (0, 0);
    for (i, size) in sizes.iter().enumerate() {
        // One point per message, however many blocks a long message spans.
        if total / step > block {
            block = total / step;
            points.push(i);
        }
        total += size;
    }
    points
}

/// The first message to keep: the earliest cut point from which the prompt fits. `fits(first)` says
/// whether the prompt keeping messages `first..` fits `budget` (it only turns true as `first` grows);
/// `sizes` are the messages' tokens, roughly (they place the cut points). None when no cut point fits:
/// the caller then drops just enough.
pub(super) fn window_start(
    sizes: &[usize],
    budget: usize,
    mut fits: impl FnMut(usize) -> Result<bool>,
) -> Result<Option<usize>> {
    let points = cut_points(sizes, budget / BLOCK_DIVISOR);
    // Bisection over the points: the invariant is that points[hi] fits and points[lo] does not.
    if !fits(points[points.len() - 1])? {
        return Ok(None);
    }
    if fits(points[0])? {
        return Ok(Some(points[0]));
    }
    let (mut lo, mut hi) = (0, points.len() - 1);
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if fits(points[mid])? {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(Some(points[hi]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The start a chat of `sizes` keeps within `budget` (the system prompt aside).
    fn start(sizes: &[usize], budget: usize) -> Option<usize> {
        window_start(sizes, budget, |first| {
            Ok(sizes[first..].iter().sum::<usize>() <= budget)
        })
        .unwrap()
    }

    /// Tokens prefilled over a chat that grows by one message at a time, when each prompt keeps
    /// messages `start(n)..n`: a prompt that starts where the last one did prefills only its new
    /// message (the cache holds the rest); one that starts elsewhere prefills all it keeps.
    fn prefilled(sizes: &[usize], start: impl Fn(usize) -> usize) -> usize {
        let mut previous = None;
        (1..=sizes.len())
            .map(|n| {
                let first = start(n);
                let cost = match previous {
                    Some(p) if p == first => sizes[n - 1],
                    _ => sizes[first..n].iter().sum(),
                };
                previous = Some(first);
                cost
            })
            .sum()
    }

    #[test]
    fn a_growing_chat_keeps_its_start_between_block_cuts() {
        // Turns of uneven length, as a chat has them, in a context of 50 or so.
        let budget = 4000;
        let sizes: Vec<usize> = (0..500).map(|i| 20 + (i * 37) % 90).collect();
        let blocks = |n: usize| start(&sizes[..n], budget).expect("a block always fits here");
        let mut previous = 0;
        for n in 1..=sizes.len() {
            let first = blocks(n);
            let kept: usize = sizes[first..n].iter().sum();
            assert!(kept <= budget, "turn {n}: {kept} tokens kept");
            assert!(first >= previous, "the start never moves back");
            previous = first;
        }
        let full: usize = sizes.iter().sum();
        let kept: usize = sizes[blocks(sizes.len())..].iter().sum();
        assert!(kept >= budget / 2, "{kept} of {full} tokens kept");
        // Dropping just enough moves the start on nearly every turn once the chat is full.
        let just_enough = |n: usize| {
            (0..n)
                .find(|&f| sizes[f..n].iter().sum::<usize>() <= budget)
                .unwrap()
        };
        let (cut_in_blocks, cut_to_fit) =
            (prefilled(&sizes, blocks), prefilled(&sizes, just_enough));
        assert!(
            cut_in_blocks * 5 < cut_to_fit,
            "{cut_in_blocks} tokens prefilled, against {cut_to_fit}"
        );
    }

    #[test]
    fn a_chat_that_fits_keeps_everything_and_a_huge_last_block_leaves_it_to_the_caller() {
        assert_eq!(start(&[10, 10, 10], 100), Some(0));
        assert_eq!(start(&[10, 10, 500], 100), None);
    }

    #[test]
    fn cut_points_are_fixed_from_the_start() {
        let sizes = [30, 30, 30, 30, 30, 30];
        assert_eq!(cut_points(&sizes, 50), vec![0, 2, 4, 5]);
        assert_eq!(cut_points(&sizes[..4], 50), vec![0, 2]);
        assert_eq!(cut_points(&[], 50), vec![0]);
        assert_eq!(cut_points(&[200, 10, 10], 50), vec![0, 1]);
    }
}
