//! Next-token sampling: repetition/presence penalties, top-k, top-p, min-p, temperature, seeded RNG.
//! Temperature 0 is greedy and fully deterministic.

use serde::{Deserialize, Serialize};

/// How to pick tokens and when to stop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SamplingParams {
    /// 0 = greedy.
    pub temperature: f32,
    /// 0 = off.
    pub top_k: usize,
    /// 1 = off.
    pub top_p: f32,
    /// 0 = off. Drops tokens below `min_p` times the most likely token's probability.
    pub min_p: f32,
    /// 1 = off. Divides positive (multiplies negative) logits of recently seen tokens (CTRL paper).
    pub repetition_penalty: f32,
    /// 0 = off. Subtracted from the logits of recently seen tokens.
    pub presence_penalty: f32,
    /// How many recent tokens the penalties look at.
    pub penalty_last_n: usize,
    pub seed: u64,
    pub max_tokens: usize,
    /// Generation ends before any of these strings; they are not part of the reply.
    pub stop: Vec<String>,
    /// Qwen3 thinking mode; the app chats without reasoning tokens (implicit style conditioning).
    pub enable_thinking: bool,
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self {
            temperature: 0.7,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            repetition_penalty: 1.1,
            presence_penalty: 0.0,
            penalty_last_n: 64,
            seed: 42,
            max_tokens: 256,
            stop: Vec::new(),
            enable_thinking: false,
        }
    }
}

impl SamplingParams {
    /// Deterministic argmax decoding with no penalties.
    pub fn greedy(max_tokens: usize) -> Self {
        Self {
            temperature: 0.0,
            repetition_penalty: 1.0,
            max_tokens,
            ..Self::default()
        }
    }
}

/// SplitMix64: tiny, seedable, good enough for sampling.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_f32(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 40) as f32 / (1u64 << 24) as f32
    }
}

#[derive(Debug, Clone)]
pub struct Sampler {
    params: SamplingParams,
    rng: SplitMix64,
}

impl Sampler {
    pub fn new(params: &SamplingParams) -> Self {
        Self {
            params: params.clone(),
            rng: SplitMix64(params.seed),
        }
    }

    /// Picks the next token from `logits` given the ids generated/seen so far (for penalties).
    pub fn sample(&mut self, logits: &[f32], recent: &[u32]) -> u32 {
        let p = &self.params;
        let mut logits = logits.to_vec();
        let window = &recent[recent.len().saturating_sub(p.penalty_last_n)..];
        if p.repetition_penalty != 1.0 || p.presence_penalty != 0.0 {
            let mut seen: Vec<u32> = window.to_vec();
            seen.sort_unstable();
            seen.dedup();
            for id in seen {
                if let Some(l) = logits.get_mut(id as usize) {
                    *l = if *l > 0.0 {
                        *l / p.repetition_penalty
                    } else {
                        *l * p.repetition_penalty
                    };
                    *l -= p.presence_penalty;
                }
            }
        }
        if p.temperature <= 0.0 {
            return argmax(&logits);
        }
        // Candidates sorted by logit, best first; NaN logits never win.
        let mut cands: Vec<(u32, f32)> = logits
            .iter()
            .enumerate()
            .filter(|(_, l)| !l.is_nan())
            .map(|(i, &l)| (i as u32, l))
            .collect();
        if cands.is_empty() {
            return 0;
        }
        let k = if p.top_k == 0 {
            cands.len()
        } else {
            p.top_k.min(cands.len())
        };
        if k < cands.len() {
            cands.select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1));
            cands.truncate(k);
        }
        cands.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let max = cands[0].1;
        let mut probs: Vec<f32> = cands
            .iter()
            .map(|&(_, l)| ((l - max) / p.temperature).exp())
            .collect();
        let sum: f32 = probs.iter().sum();
        probs.iter_mut().for_each(|x| *x /= sum);
        let mut keep = probs.len();
        if p.min_p > 0.0 {
            let threshold = probs[0] * p.min_p;
            keep = keep.min(probs.iter().take_while(|&&x| x >= threshold).count().max(1));
        }
        if p.top_p < 1.0 {
            let mut cum = 0.0;
            let n = probs.iter().take_while(|&&x| {
                let inside = cum < p.top_p;
                cum += x;
                inside
            });
            keep = keep.min(n.count().max(1));
        }
        let total: f32 = probs[..keep].iter().sum();
        let mut r = self.rng.next_f32() * total;
        for (i, &prob) in probs[..keep].iter().enumerate() {
            r -= prob;
            if r <= 0.0 {
                return cands[i].0;
            }
        }
        cands[keep - 1].0
    }
}

/// Index of the largest logit; the lowest index wins ties.
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &l) in logits.iter().enumerate() {
        if l > logits[best] || logits[best].is_nan() {
            best = i;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_takes_argmax_and_ignores_seed() {
        let logits = [0.1, 2.0, 2.0, -1.0];
        let a = Sampler::new(&SamplingParams {
            seed: 1,
            ..SamplingParams::greedy(1)
        })
        .sample(&logits, &[]);
        let b = Sampler::new(&SamplingParams {
            seed: 2,
            ..SamplingParams::greedy(1)
        })
        .sample(&logits, &[]);
        assert_eq!((a, b), (1, 1));
    }

    #[test]
    fn repetition_penalty_moves_greedy_choice() {
        let params = SamplingParams {
            repetition_penalty: 2.0,
            ..SamplingParams::greedy(1)
        };
        assert_eq!(Sampler::new(&params).sample(&[1.0, 1.5, 0.0], &[1]), 0);
        let params = SamplingParams {
            presence_penalty: 1.0,
            ..SamplingParams::greedy(1)
        };
        assert_eq!(Sampler::new(&params).sample(&[1.0, 1.5, 0.0], &[1]), 0);
    }

    #[test]
    fn top_k_one_is_greedy_and_seeds_reproduce() {
        let logits: Vec<f32> = (0..50).map(|i| ((i * 37) % 11) as f32 * 0.3).collect();
        let params = SamplingParams {
            temperature: 1.0,
            top_k: 1,
            ..SamplingParams::default()
        };
        assert_eq!(Sampler::new(&params).sample(&logits, &[]), argmax(&logits));
        let params = SamplingParams {
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            repetition_penalty: 1.0,
            ..Default::default()
        };
        let run = |seed| {
            let mut s = Sampler::new(&SamplingParams {
                seed,
                ..params.clone()
            });
            (0..20).map(|_| s.sample(&logits, &[])).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn min_p_and_top_p_cut_the_tail() {
        // p ~ [0.84, 0.11, 0.04, ...]: min_p 0.2 keeps only the first token.
        let logits = [5.0, 3.0, 2.0, 0.0];
        for (min_p, top_p) in [(0.2, 1.0), (0.0, 0.5)] {
            let params = SamplingParams {
                temperature: 1.0,
                top_k: 0,
                min_p,
                top_p,
                repetition_penalty: 1.0,
                ..Default::default()
            };
            let mut s = Sampler::new(&params);
            assert!((0..100).all(|_| s.sample(&logits, &[]) == 0));
        }
        let params = SamplingParams {
            temperature: 1.0,
            top_k: 0,
            min_p: 0.0,
            top_p: 1.0,
            repetition_penalty: 1.0,
            ..Default::default()
        };
        let mut s = Sampler::new(&params);
        assert!(
            (0..200).any(|_| s.sample(&logits, &[]) != 0),
            "without cuts the tail is sampled"
        );
    }
}
