//! Attention probabilities in one pass: p = softmax(scale · scores) over the keys a query may see
//! (key j ≤ start + the query's position), zero elsewhere. Backward: ds = scale · p · (g − Σ p·g).
//! Replaces scaling, a mask addition and candle's composed softmax (five passes, each with its
//! backward).

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::exp::exp_into;
use super::{values, with_values, MIN_ROWS_PER_TASK};

/// `scores` (…, rows, total): row r is the query at position start + r % seq (grouped-query heads
/// stack their queries along the rows), over `total` keys.
pub(crate) fn causal_softmax(
    scores: &Tensor,
    scale: f32,
    seq: usize,
    start: usize,
) -> candle_core::Result<Tensor> {
    let total = scores.dim(candle_core::D::Minus1)?;
    let rows = scores.dim(candle_core::D::Minus2)?;
    if seq == 0 || rows % seq != 0 || start + seq > total {
        candle_core::bail!(
            "causal-softmax: {:?} for {seq} queries after {start}",
            scores.dims()
        );
    }
    scores
        .contiguous()?
        .apply_op1(CausalSoftmax { scale, seq, start })
}

struct CausalSoftmax {
    scale: f32,
    seq: usize,
    start: usize,
}

impl CausalSoftmax {
    /// Keys visible to row `r` of a matrix.
    fn visible(&self, r: usize) -> usize {
        self.start + r % self.seq + 1
    }
}

impl CustomOp1 for CausalSoftmax {
    fn name(&self) -> &'static str {
        "causal-softmax"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let scores = values(s, l, self.name())?;
        let total = *l.dims().last().expect("checked rank");
        let rows = l.dims()[l.dims().len() - 2];
        let mut p = vec![0f32; scores.len()];
        p.par_chunks_mut(total)
            .zip(scores.par_chunks(total))
            .enumerate()
            .with_min_len(MIN_ROWS_PER_TASK)
            .for_each(|(i, (p, s))| {
                let n = self.visible(i % rows);
                let max = s[..n].iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v)) * self.scale;
                let sum = exp_into(&s[..n], self.scale, max, &mut p[..n]);
                let inv = 1.0 / sum;
                p[..n].iter_mut().for_each(|p| *p *= inv);
            });
        Ok((CpuStorage::F32(p), l.shape().clone()))
    }

    fn bwd(&self, _s: &Tensor, p: &Tensor, g: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let total = p.dim(candle_core::D::Minus1)?;
        let ds = with_values(p, self.name(), |p| {
            with_values(g, self.name(), |g| {
                let mut ds = vec![0f32; p.len()];
                ds.par_chunks_mut(total)
                    .zip(p.par_chunks(total).zip(g.par_chunks(total)))
                    .with_min_len(MIN_ROWS_PER_TASK)
                    .for_each(|(ds, (p, g))| {
                        let dot: f32 = p.iter().zip(g).map(|(p, g)| p * g).sum();
                        for ((ds, p), g) in ds.iter_mut().zip(p).zip(g) {
                            *ds = self.scale * p * (g - dot);
                        }
                    });
                ds
            })
        })??;
        Ok(Some(Tensor::from_vec(ds, p.shape(), p.device())?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train_ops::testing::assert_same_values_and_gradients;
    use candle_core::{Device, Var};

    #[test]
    fn matches_scaled_masked_candle_softmax_in_value_and_gradient() {
        let dev = Device::Cpu;
        // Two kv groups of 3 query heads over 5 new positions after 4 cached ones.
        let (seq, start, reps) = (5, 4, 3);
        let total = start + seq;
        let scores = Var::randn(0f32, 2.0, (2, 2, reps * seq, total), &dev).unwrap();
        // The mask inference adds: the composition this op replaces.
        let mask = crate::decoder::causal_mask(seq, start, &dev).unwrap();
        let scale = 0.125f32;
        let reference = || {
            let s = (scores.as_tensor() * scale as f64)
                .unwrap()
                .reshape((2, 2, reps, seq, total))
                .unwrap()
                .broadcast_add(&mask)
                .unwrap()
                .reshape((2, 2, reps * seq, total))
                .unwrap();
            candle_nn::ops::softmax(&s, candle_core::D::Minus1).unwrap()
        };
        assert_same_values_and_gradients(
            &[&scores],
            || causal_softmax(scores.as_tensor(), scale, seq, start).unwrap(),
            reference,
            1e-5,
        );
    }
}
