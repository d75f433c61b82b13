//! Batched products for training's attention (q·kᵀ and probs·v) on the engine's f32 kernel, with
//! their backward. candle's matmul runs them through the gemm crate, which gathers the transposed
//! operands of the backward element by element; here each product, forward or backward, is one
//! blocked `sgemm` per batch item that reads transposed operands in place.

use candle_core::{CpuStorage, CustomOp2, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::{values, with_values};
use crate::kernels::sgemm::{sgemm_into, Lhs, Rhs};

/// (…, m, k) · (…, k, n), or (…, m, k) · (…, n, k)ᵀ with `rhs_transposed`; CPU f32 only.
pub(crate) fn batched_matmul(
    lhs: &Tensor,
    rhs: &Tensor,
    rhs_transposed: bool,
) -> candle_core::Result<Tensor> {
    lhs.contiguous()?
        .apply_op2(&rhs.contiguous()?, BatchedMatmul { rhs_transposed })
}

struct BatchedMatmul {
    rhs_transposed: bool,
}

/// The last two dims of a layout and the product of the others.
fn split(layout: &Layout) -> candle_core::Result<(usize, usize, usize)> {
    match layout.dims() {
        [lead @ .., r, c] => Ok((lead.iter().product(), *r, *c)),
        dims => candle_core::bail!("batched-matmul: {dims:?} is not a matrix"),
    }
}

impl CustomOp2 for BatchedMatmul {
    fn name(&self) -> &'static str {
        "batched-matmul"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (batch, m, k) = split(l1)?;
        let (batch2, r2, c2) = split(l2)?;
        let (k2, n) = if self.rhs_transposed {
            (c2, r2)
        } else {
            (r2, c2)
        };
        if batch != batch2 || k != k2 {
            candle_core::bail!(
                "batched-matmul: {:?} times {:?}{}",
                l1.dims(),
                l2.dims(),
                if self.rhs_transposed { "ᵀ" } else { "" }
            );
        }
        let (a, b) = (values(s1, l1, self.name())?, values(s2, l2, self.name())?);
        let mut c = vec![0f32; batch * m * n];
        // Batch items (heads) in parallel as well: one head's product is too small to keep every
        // thread of the pool busy on its own.
        c.par_chunks_exact_mut(m * n)
            .enumerate()
            .for_each(|(i, c)| {
                let b = &b[i * k * n..(i + 1) * k * n];
                let rhs = if self.rhs_transposed {
                    Rhs::Transposed(b)
                } else {
                    Rhs::RowMajor(b)
                };
                sgemm_into(
                    Lhs::RowMajor(&a[i * m * k..(i + 1) * m * k]),
                    rhs,
                    m,
                    k,
                    n,
                    c,
                );
            });
        let mut dims = l1.dims().to_vec();
        *dims.last_mut().expect("a matrix") = n;
        Ok((CpuStorage::F32(c), Shape::from(dims)))
    }

    fn bwd(
        &self,
        lhs: &Tensor,
        rhs: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let (batch, m, k) = split(lhs.layout())?;
        let n = grad.dim(grad.rank() - 1)?;
        let name = self.name();
        let (mut d_lhs, mut d_rhs) = (vec![0f32; batch * m * k], vec![0f32; batch * k * n]);
        with_values(lhs, name, |a| {
            with_values(rhs, name, |b| {
                with_values(grad, name, |g| {
                    d_lhs
                        .par_chunks_exact_mut(m * k)
                        .zip(d_rhs.par_chunks_exact_mut(k * n))
                        .enumerate()
                        .for_each(|(i, (da, db))| {
                            let a = &a[i * m * k..(i + 1) * m * k];
                            let b = &b[i * k * n..(i + 1) * k * n];
                            let g = &g[i * m * n..(i + 1) * m * n];
                            if self.rhs_transposed {
                                // C = A·Wᵀ: dA = G·W, dW = Gᵀ·A.
                                sgemm_into(Lhs::RowMajor(g), Rhs::RowMajor(b), m, n, k, da);
                                sgemm_into(Lhs::Transposed(g), Rhs::RowMajor(a), n, m, k, db);
                            } else {
                                // C = A·B: dA = G·Bᵀ, dB = Aᵀ·G.
                                sgemm_into(Lhs::RowMajor(g), Rhs::Transposed(b), m, n, k, da);
                                sgemm_into(Lhs::Transposed(a), Rhs::RowMajor(g), k, m, n, db);
                            }
                        });
                })
            })
        })???;
        Ok((
            Some(Tensor::from_vec(d_lhs, lhs.shape(), lhs.device())?),
            Some(Tensor::from_vec(d_rhs, rhs.shape(), rhs.device())?),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train_ops::testing::assert_same_values_and_gradients;
    use candle_core::{Device, Var};

    #[test]
    fn products_and_gradients_match_candles_matmul() {
        let dev = Device::Cpu;
        for transposed in [false, true] {
            let a = Var::randn(0f32, 1.0, (2, 3, 7, 5), &dev).unwrap();
            let rhs_dims = if transposed {
                (2, 3, 9, 5)
            } else {
                (2, 3, 5, 9)
            };
            let b = Var::randn(0f32, 1.0, rhs_dims, &dev).unwrap();
            let reference = || {
                let b = if transposed {
                    b.as_tensor().t().unwrap()
                } else {
                    b.as_tensor().clone()
                };
                a.as_tensor().matmul(&b).unwrap()
            };
            assert_same_values_and_gradients(
                &[&a, &b],
                || batched_matmul(a.as_tensor(), b.as_tensor(), transposed).unwrap(),
                reference,
                1e-4,
            );
        }
    }
}
