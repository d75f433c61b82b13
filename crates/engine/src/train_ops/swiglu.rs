//! The MLP's gate: y = silu(gate) · up, silu(x) = x·σ(x). Backward: d_up = g · silu(gate),
//! d_gate = g · up · σ(gate) · (1 + gate · (1 − σ(gate))).

use candle_core::{CpuStorage, CustomOp2, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::exp::exp;
use super::{values, with_values};

/// Elements per rayon task.
const CHUNK: usize = 4096;

pub(crate) fn swiglu(gate: &Tensor, up: &Tensor) -> candle_core::Result<Tensor> {
    if gate.dims() != up.dims() {
        candle_core::bail!("swiglu: gate {:?}, up {:?}", gate.dims(), up.dims());
    }
    gate.contiguous()?.apply_op2(&up.contiguous()?, Swiglu)
}

struct Swiglu;

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

impl CustomOp2 for Swiglu {
    fn name(&self) -> &'static str {
        "swiglu"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (gate, up) = (values(s1, l1, self.name())?, values(s2, l2, self.name())?);
        let mut y = vec![0f32; gate.len()];
        y.par_chunks_mut(CHUNK)
            .zip(gate.par_chunks(CHUNK).zip(up.par_chunks(CHUNK)))
            .for_each(|(y, (gate, up))| {
                for ((y, &a), u) in y.iter_mut().zip(gate).zip(up) {
                    *y = a * sigmoid(a) * u;
                }
            });
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        gate: &Tensor,
        up: &Tensor,
        _y: &Tensor,
        g: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let n = gate.elem_count();
        let (mut d_gate, mut d_up) = (vec![0f32; n], vec![0f32; n]);
        with_values(gate, self.name(), |gate| {
            with_values(up, self.name(), |up| {
                with_values(g, self.name(), |g| {
                    d_gate
                        .par_chunks_mut(CHUNK)
                        .zip(d_up.par_chunks_mut(CHUNK))
                        .zip(
                            gate.par_chunks(CHUNK)
                                .zip(up.par_chunks(CHUNK))
                                .zip(g.par_chunks(CHUNK)),
                        )
                        .for_each(|((dg, du), ((gate, up), g))| {
                            for i in 0..gate.len() {
                                let (a, s) = (gate[i], sigmoid(gate[i]));
                                du[i] = g[i] * a * s;
                                dg[i] = g[i] * up[i] * s * (1.0 + a * (1.0 - s));
                            }
                        });
                })
            })
        })???;
        let (shape, dev) = (gate.shape(), gate.device());
        Ok((
            Some(Tensor::from_vec(d_gate, shape, dev)?),
            Some(Tensor::from_vec(d_up, shape, dev)?),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train_ops::testing::assert_same_values_and_gradients;
    use candle_core::{Device, Var};

    #[test]
    fn matches_candles_silu_times_up_in_value_and_gradient() {
        let dev = Device::Cpu;
        // More values than one task's chunk, so the split over tasks is exercised.
        let gate = Var::randn(0f32, 3.0, (3, 11, 250), &dev).unwrap();
        let up = Var::randn(0f32, 1.0, (3, 11, 250), &dev).unwrap();
        assert_same_values_and_gradients(
            &[&gate, &up],
            || swiglu(gate.as_tensor(), up.as_tensor()).unwrap(),
            || (candle_nn::ops::silu(gate.as_tensor()).unwrap() * up.as_tensor()).unwrap(),
            1e-4,
        );
    }
}
