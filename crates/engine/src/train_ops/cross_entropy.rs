//! Summed next-token cross-entropy over rows of logits: Σᵢ −log softmax(zᵢ)[labelᵢ].
//! Backward: g · (softmax(zᵢ) − onehot(labelᵢ)). A row is a whole vocabulary (49k values for
//! SmolLM2), so candle's composed log-softmax, which writes several tensors of that size per row
//! and as many again in the backward, costs more than the loss's arithmetic.

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::exp::{exp, sum_exp};
use super::{values, with_values};

pub(crate) fn cross_entropy_sum(logits: &Tensor, labels: &[u32]) -> candle_core::Result<Tensor> {
    let (rows, vocab) = logits.dims2()?;
    if rows != labels.len() {
        candle_core::bail!("cross-entropy: {rows} rows, {} labels", labels.len());
    }
    if let Some(bad) = labels.iter().find(|&&l| l as usize >= vocab) {
        candle_core::bail!("cross-entropy: label {bad} outside a vocabulary of {vocab}");
    }
    logits.contiguous()?.apply_op1(CrossEntropy {
        labels: labels.to_vec(),
    })
}

struct CrossEntropy {
    labels: Vec<u32>,
}

/// The row's max and log Σ exp(z − max).
fn log_sum_exp(z: &[f32]) -> (f32, f32) {
    let max = z.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    (max, sum_exp(z, max).ln())
}

impl CustomOp1 for CrossEntropy {
    fn name(&self) -> &'static str {
        "cross-entropy"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let z = values(s, l, self.name())?;
        let vocab = l.dims()[1];
        let loss: f64 = z
            .par_chunks(vocab)
            .zip(self.labels.par_iter())
            .map(|(z, &label)| {
                let (max, lse) = log_sum_exp(z);
                (max + lse - z[label as usize]) as f64
            })
            .sum();
        Ok((CpuStorage::F32(vec![loss as f32]), Shape::from(())))
    }

    fn bwd(&self, z: &Tensor, _loss: &Tensor, g: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let g = g.to_dtype(candle_core::DType::F32)?.to_scalar::<f32>()?;
        let vocab = z.dim(1)?;
        let dz = with_values(z, self.name(), |z| {
            let mut dz = vec![0f32; z.len()];
            dz.par_chunks_mut(vocab)
                .zip(z.par_chunks(vocab).zip(self.labels.par_iter()))
                .for_each(|(dz, (z, &label))| {
                    let (max, lse) = log_sum_exp(z);
                    let shift = max + lse;
                    for (d, v) in dz.iter_mut().zip(z) {
                        *d = g * exp(v - shift);
                    }
                    dz[label as usize] -= g;
                });
            dz
        })?;
        Ok(Some(Tensor::from_vec(dz, z.shape(), z.device())?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train_ops::testing::assert_same_values_and_gradients;
    use candle_core::{Device, Var};

    #[test]
    fn matches_candles_cross_entropy_times_rows_in_value_and_gradient() {
        let dev = Device::Cpu;
        let logits = Var::randn(0f32, 3.0, (6, 300), &dev).unwrap();
        let labels = [0u32, 299, 17, 17, 150, 3];
        let reference = || {
            let mean = candle_nn::loss::cross_entropy(
                logits.as_tensor(),
                &Tensor::new(&labels, &dev).unwrap(),
            )
            .unwrap();
            (mean * labels.len() as f64).unwrap()
        };
        assert_same_values_and_gradients(
            &[&logits],
            || cross_entropy_sum(logits.as_tensor(), &labels).unwrap(),
            reference,
            1e-4,
        );
        assert!(cross_entropy_sum(logits.as_tensor(), &[0, 1]).is_err());
        assert!(cross_entropy_sum(logits.as_tensor(), &[0, 1, 2, 3, 4, 300]).is_err());
    }
}
