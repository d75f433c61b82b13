//! Scenes: blocks of consecutive lines of a script, to tell how a term's uses are spread. A habit
//! turns up all over the script; a scene's topic ("tampons", "the deflector shield") bunches in a
//! few neighbouring lines.

use std::collections::HashSet;

/// A scene is this many consecutive lines, or fewer in short scripts (which get at least
/// `SCENES_IN_SHORT_SCRIPTS` scenes).
const SCENE_LINES: usize = 20;
const SCENES_IN_SHORT_SCRIPTS: usize = 20;
/// A topic can also run over a few neighbouring scenes ("hamburger" in lines 169, 216 and 221 of
/// 1371): a term whose lines all fall in one tenth of the script is clustered too (chance puts
/// two random lines there 1 time in 10, three 1 time in 100).
const STRETCHES: usize = 10;
const MIN_STRETCH_LINES: usize = 2;
/// A term is clustered when it is used in fewer than this share of the blocks that the same
/// number of lines, drawn at random, would be expected to fall in. Two lines in one scene of a
/// long script (1 scene of ~2 expected) are clustered; a term in 10 lines of 6 scenes is not.
const CLUSTERED_SHARE: f64 = 0.6;

/// A script cut into blocks of equal numbers of consecutive lines.
#[derive(Debug, Clone, Copy)]
struct Blocks {
    lines_per_block: usize,
    count: usize,
}

impl Blocks {
    fn new(line_count: usize, lines_per_block: usize) -> Self {
        let lines_per_block = lines_per_block.max(1);
        Blocks {
            lines_per_block,
            count: line_count.div_ceil(lines_per_block).max(1),
        }
    }

    fn used(&self, lines: &[usize]) -> usize {
        lines
            .iter()
            .map(|l| l / self.lines_per_block)
            .collect::<HashSet<_>>()
            .len()
    }

    /// Blocks that `k` lines drawn at random would fall in, on average: B (1 - (1 - 1/B)^k).
    fn expected(&self, k: usize) -> f64 {
        let b = self.count as f64;
        b * (1.0 - (1.0 - 1.0 / b).powi(k.min(i32::MAX as usize) as i32))
    }

    fn is_clustered(&self, lines: &[usize]) -> bool {
        (self.used(lines) as f64) < CLUSTERED_SHARE * self.expected(lines.len())
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Scenes {
    scenes: Blocks,
    stretches: Blocks,
}

impl Scenes {
    pub fn of(line_count: usize) -> Self {
        Scenes {
            scenes: Blocks::new(
                line_count,
                (line_count / SCENES_IN_SHORT_SCRIPTS).min(SCENE_LINES),
            ),
            stretches: Blocks::new(line_count, line_count.div_ceil(STRETCHES)),
        }
    }

    /// Distinct scenes among `lines` (line indices).
    pub fn used(&self, lines: &[usize]) -> usize {
        self.scenes.used(lines)
    }

    /// Whether the term used in `lines` (distinct line indices) bunches in fewer scenes than
    /// chance spreads it over, or in one tenth of the script.
    pub fn is_clustered(&self, lines: &[usize]) -> bool {
        self.scenes.is_clustered(lines)
            || (lines.len() >= MIN_STRETCH_LINES && self.stretches.used(lines) == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbouring_lines_are_clustered_and_spread_ones_are_not() {
        let s = Scenes::of(1000);
        assert_eq!((s.scenes.lines_per_block, s.scenes.count), (20, 50));
        assert_eq!((s.stretches.lines_per_block, s.stretches.count), (100, 10));
        // Three neighbouring lines: one scene where ~2.9 are expected.
        assert!(s.is_clustered(&[400, 401, 403]));
        assert!(!s.is_clustered(&[10, 400, 900]));
        // Three lines in three neighbouring scenes: one tenth of the script.
        assert!(s.is_clustered(&[110, 150, 190]));
        assert!(!s.is_clustered(&[150, 190, 210]));
        assert!(s.is_clustered(&[150, 190]) && !s.is_clustered(&[50, 150]));
        // Ten lines in six scenes (~9.1 expected) are a habit, in two scenes a topic.
        assert!(!s.is_clustered(&[1, 2, 30, 31, 100, 101, 300, 500, 700, 901]));
        assert!(s.is_clustered(&[1, 2, 3, 4, 5, 6, 7, 30, 31, 32]));
        // Short scripts get twenty short scenes.
        let short = Scenes::of(60);
        assert_eq!((short.scenes.lines_per_block, short.scenes.count), (3, 20));
        assert_eq!(short.used(&[0, 2, 3, 59]), 3);
    }
}
