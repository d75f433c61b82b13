//! SplitMix64: seeded, fast, and its whole state is one number, so training checkpoints can keep it and
//! a resumed run draws exactly what a straight run would have drawn.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), 24 bits.
    pub(crate) fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in [-bound, bound).
    pub(crate) fn uniform(&mut self, bound: f32) -> f32 {
        (self.unit() * 2.0 - 1.0) * bound
    }

    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }

    /// A seed for an independent stream, derived from this seed and `parts` (e.g. example and layer).
    pub(crate) fn derive(seed: u64, parts: &[u64]) -> u64 {
        parts.iter().fold(seed, |acc, &p| {
            Rng(acc ^ p.wrapping_mul(0xD6E8_FEB8_6659_FD93)).next_u64()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_streams_differ_and_repeat() {
        let a = Rng::derive(7, &[1, 2]);
        assert_eq!(a, Rng::derive(7, &[1, 2]));
        assert_ne!(a, Rng::derive(7, &[2, 1]));
        assert_ne!(a, Rng::derive(8, &[1, 2]));
        let mut r = Rng(a);
        let mean = (0..10_000).map(|_| r.unit() as f64).sum::<f64>() / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02, "mean {mean}");
    }
}
