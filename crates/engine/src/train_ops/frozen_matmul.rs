//! y = x·Wᵀ for a frozen weight W, whose backward pass computes only the input's gradient.
//!
//! candle's `matmul` backward always computes both operands' gradients. For LoRA training on a
//! frozen base, the base weights' gradients (each as large as the weight, the lm_head's 49k x 576) are
//! computed and thrown away: about a third of all training FLOPs and most of its memory traffic. This
//! op records W as a constant instead of an operand, and multiplies with the engine's own blocked
//! f32 kernel (`kernels::sgemm`, about twice as fast here as candle's).

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Storage, Tensor};

use super::with_values;
use crate::kernels::sgemm::{sgemm, Lhs, Rhs};

pub(crate) struct FrozenMatmul {
    /// (out, in), f32, on the CPU.
    pub weight: Tensor,
}

impl FrozenMatmul {
    /// x (…, k) times Wᵀ (`transposed`, the forward) or W (the input gradient).
    fn product(
        &self,
        x: &[f32],
        dims: &[usize],
        transposed: bool,
    ) -> candle_core::Result<(Vec<f32>, Shape)> {
        let (storage, layout) = self.weight.storage_and_layout();
        let (Storage::Cpu(CpuStorage::F32(w)), Some((start, end))) =
            (&*storage, layout.contiguous_offsets())
        else {
            candle_core::bail!("frozen-matmul: the weight is not a contiguous f32 CPU tensor");
        };
        let (out, inp) = self.weight.dims2()?;
        let (k, n, rhs) = if transposed {
            (inp, out, Rhs::Transposed(&w[start..end]))
        } else {
            (out, inp, Rhs::RowMajor(&w[start..end]))
        };
        let (&last, lead) = dims.split_last().unwrap_or((&0, &[]));
        if last != k {
            candle_core::bail!("frozen-matmul: input width {last}, weight wants {k}");
        }
        let m = lead.iter().product();
        let shape: Vec<usize> = lead.iter().copied().chain([n]).collect();
        Ok((sgemm(Lhs::RowMajor(x), rhs, m, k, n), Shape::from(shape)))
    }
}

impl CustomOp1 for FrozenMatmul {
    fn name(&self) -> &'static str {
        "frozen-matmul"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (CpuStorage::F32(values), Some((start, end))) = (storage, layout.contiguous_offsets())
        else {
            candle_core::bail!("frozen-matmul takes a contiguous f32 input");
        };
        let (y, shape) = self.product(&values[start..end], layout.dims(), true)?;
        Ok((CpuStorage::F32(y), shape))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        _y: &Tensor,
        grad_y: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let (grad_x, shape) = with_values(grad_y, self.name(), |g| {
            self.product(g, grad_y.dims(), false)
        })??;
        Ok(Some(Tensor::from_vec(grad_x, shape, grad_y.device())?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn forward_and_input_gradient_match_matmul_and_the_weight_gets_none() {
        let dev = Device::Cpu;
        let w = Tensor::randn(0f32, 1.0, (6, 4), &dev).unwrap();
        let x = Var::randn(0f32, 1.0, (2, 3, 4), &dev).unwrap();
        let ours = x
            .as_tensor()
            .apply_op1(FrozenMatmul { weight: w.clone() })
            .unwrap();
        let reference = x.as_tensor().broadcast_matmul(&w.t().unwrap()).unwrap();
        let d = (&ours - &reference)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap();
        assert!(d.to_scalar::<f32>().unwrap() < 1e-5);

        let g_ours = ours.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        let g_ref = reference
            .sqr()
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let (a, b) = (
            g_ours.get(x.as_tensor()).unwrap(),
            g_ref.get(x.as_tensor()).unwrap(),
        );
        let d = (a - b).unwrap().abs().unwrap().max_all().unwrap();
        assert!(d.to_scalar::<f32>().unwrap() < 1e-4);
        assert!(
            g_ours.get(&w).is_none(),
            "no gradient for the frozen weight"
        );
    }
}
