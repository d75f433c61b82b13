//! A LoRA pair's update s · (x·Aᵀ)·Bᵀ as one op, with D = x·Aᵀ and Ĝ = s · G·B in the backward:
//! dx = Ĝ·A, dA = Ĝᵀ·x, dB = s · Gᵀ·D.
//!
//! Through candle, the rank-r products are gemm calls on thin matrices that spend most of their
//! time packing, plus transposed copies of A and B in both directions; here each is one call of
//! the engine's kernel, which reads transposed operands in place.

use candle_core::{CpuStorage, CustomOp3, Layout, Shape, Tensor};

use super::{values, with_values};
use crate::kernels::sgemm::{sgemm, Lhs, Rhs};

/// x (…, in), A (r, in), B (out, r) -> (…, out).
pub(crate) fn lora_delta(
    x: &Tensor,
    a: &Tensor,
    b: &Tensor,
    scale: f64,
) -> candle_core::Result<Tensor> {
    let (rank, inp) = a.dims2()?;
    let (_, b_rank) = b.dims2()?;
    if x.dims().last() != Some(&inp) || b_rank != rank {
        candle_core::bail!("lora: x {:?}, A {:?}, B {:?}", x.dims(), a.dims(), b.dims());
    }
    x.contiguous()?.apply_op3(
        &a.contiguous()?,
        &b.contiguous()?,
        LoraDelta {
            scale: scale as f32,
        },
    )
}

struct LoraDelta {
    scale: f32,
}

/// (tokens, in, rank, out) of an op on x with A (rank, in) and B (out, rank).
fn sizes(x_len: usize, a: &[usize], b: &[usize]) -> (usize, usize, usize, usize) {
    let (rank, inp, out) = (a[0], a[1], b[0]);
    (x_len / inp, inp, rank, out)
}

impl CustomOp3 for LoraDelta {
    fn name(&self) -> &'static str {
        "lora"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let name = self.name();
        let (x, a, b) = (
            values(s1, l1, name)?,
            values(s2, l2, name)?,
            values(s3, l3, name)?,
        );
        let (t, inp, rank, out) = sizes(x.len(), l2.dims(), l3.dims());
        let mut d = sgemm(Lhs::RowMajor(x), Rhs::Transposed(a), t, inp, rank);
        d.iter_mut().for_each(|v| *v *= self.scale);
        let y = sgemm(Lhs::RowMajor(&d), Rhs::Transposed(b), t, rank, out);
        let mut dims = l1.dims().to_vec();
        *dims.last_mut().expect("checked rank") = out;
        Ok((CpuStorage::F32(y), Shape::from(dims)))
    }

    fn bwd(
        &self,
        x: &Tensor,
        a: &Tensor,
        b: &Tensor,
        _y: &Tensor,
        g: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let name = self.name();
        let (t, inp, rank, out) = sizes(x.elem_count(), a.dims(), b.dims());
        let (dx, da, db) = with_values(x, name, |x| {
            with_values(a, name, |a| {
                with_values(b, name, |b| {
                    with_values(g, name, |g| {
                        let mut d = sgemm(Lhs::RowMajor(x), Rhs::Transposed(a), t, inp, rank);
                        d.iter_mut().for_each(|v| *v *= self.scale);
                        let mut gb = sgemm(Lhs::RowMajor(g), Rhs::RowMajor(b), t, out, rank);
                        gb.iter_mut().for_each(|v| *v *= self.scale);
                        let dx = sgemm(Lhs::RowMajor(&gb), Rhs::RowMajor(a), t, rank, inp);
                        let da = sgemm(Lhs::Transposed(&gb), Rhs::RowMajor(x), rank, t, inp);
                        let db = sgemm(Lhs::Transposed(g), Rhs::RowMajor(&d), out, t, rank);
                        (dx, da, db)
                    })
                })
            })
        })????;
        let dev = x.device();
        Ok((
            Some(Tensor::from_vec(dx, x.shape(), dev)?),
            Some(Tensor::from_vec(da, a.shape(), dev)?),
            Some(Tensor::from_vec(db, b.shape(), dev)?),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train_ops::testing::assert_same_values_and_gradients;
    use candle_core::{Device, Var};

    #[test]
    fn matches_candles_two_products_in_value_and_every_gradient() {
        let dev = Device::Cpu;
        let x = Var::randn(0f32, 1.0, (2, 13, 40), &dev).unwrap();
        let a = Var::randn(0f32, 0.3, (4, 40), &dev).unwrap();
        let b = Var::randn(0f32, 0.3, (24, 4), &dev).unwrap();
        let scale = 2.0;
        let reference = || {
            let down = x
                .as_tensor()
                .broadcast_matmul(&a.as_tensor().t().unwrap())
                .unwrap();
            (down.broadcast_matmul(&b.as_tensor().t().unwrap()).unwrap() * scale).unwrap()
        };
        assert_same_values_and_gradients(
            &[&x, &a, &b],
            || lora_delta(x.as_tensor(), a.as_tensor(), b.as_tensor(), scale).unwrap(),
            reference,
            1e-4,
        );
    }
}
