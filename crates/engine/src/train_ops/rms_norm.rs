//! RMS norm over the last dimension with a frozen weight: y = x · r · w, r = 1/√(mean(x²) + ε).
//! Backward, with u = g·w: dx = r·u − x · r³ · Σ(u·x) / n.

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::{values, with_values, MIN_ROWS_PER_TASK};

pub(crate) fn rms_norm(x: &Tensor, weight: &Tensor, eps: f32) -> candle_core::Result<Tensor> {
    let weight = with_values(weight, "rms-norm", <[f32]>::to_vec)?;
    if x.dims().last() != Some(&weight.len()) {
        candle_core::bail!("rms-norm: input {:?}, weight of {}", x.dims(), weight.len());
    }
    x.contiguous()?.apply_op1(RmsNorm { weight, eps })
}

struct RmsNorm {
    weight: Vec<f32>,
    eps: f32,
}

impl RmsNorm {
    fn inverse_rms(&self, row: &[f32]) -> f32 {
        let mean = row.iter().map(|v| v * v).sum::<f32>() / row.len() as f32;
        1.0 / (mean + self.eps).sqrt()
    }
}

impl CustomOp1 for RmsNorm {
    fn name(&self) -> &'static str {
        "rms-norm"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = values(s, l, self.name())?;
        let n = self.weight.len();
        let mut y = vec![0f32; x.len()];
        y.par_chunks_mut(n)
            .zip(x.par_chunks(n))
            .with_min_len(MIN_ROWS_PER_TASK)
            .for_each(|(y, x)| {
                let r = self.inverse_rms(x);
                for ((y, x), w) in y.iter_mut().zip(x).zip(&self.weight) {
                    *y = x * r * w;
                }
            });
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, _y: &Tensor, g: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let n = self.weight.len();
        let dx = with_values(x, self.name(), |x| {
            with_values(g, self.name(), |g| {
                let mut dx = vec![0f32; x.len()];
                dx.par_chunks_mut(n)
                    .zip(x.par_chunks(n).zip(g.par_chunks(n)))
                    .with_min_len(MIN_ROWS_PER_TASK)
                    .for_each(|(dx, (x, g))| {
                        let r = self.inverse_rms(x);
                        let ux: f32 = g
                            .iter()
                            .zip(&self.weight)
                            .zip(x)
                            .map(|((g, w), x)| g * w * x)
                            .sum();
                        let c = r * r * r * ux / n as f32;
                        for (((dx, x), g), w) in dx.iter_mut().zip(x).zip(g).zip(&self.weight) {
                            *dx = r * g * w - x * c;
                        }
                    });
                dx
            })
        })??;
        Ok(Some(Tensor::from_vec(dx, x.shape(), x.device())?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train_ops::testing::assert_same_values_and_gradients;
    use candle_core::{Device, Var};

    #[test]
    fn matches_candles_composed_rms_norm_in_value_and_gradient() {
        let dev = Device::Cpu;
        let x = Var::randn(0f32, 1.0, (2, 37, 48), &dev).unwrap();
        let w = Tensor::randn(1f32, 0.3, 48, &dev).unwrap();
        assert_same_values_and_gradients(
            &[&x],
            || rms_norm(x.as_tensor(), &w, 1e-5).unwrap(),
            || candle_nn::ops::rms_norm_slow(x.as_tensor(), &w, 1e-5).unwrap(),
            1e-4,
        );
    }
}
