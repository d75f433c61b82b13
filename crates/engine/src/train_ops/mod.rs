//! Training mode's differentiable CPU ops, each with a hand-written backward.
//!
//! candle's fused kernels (rms_norm, rope, softmax) record no gradient, and the composed versions
//! that do run as a chain of single-threaded elementwise passes, each allocating a fresh tensor, with
//! a longer chain again in the backward. On LoRA training of a small model those passes cost as much
//! as the matrix products. Each op here does its forward and its backward in one pass over rows, on
//! the rayon pool; the products run on the engine's blocked f32 kernel (`kernels::sgemm`).
//! They take contiguous f32 CPU tensors; the decoder uses them only there
//! (`decoder::own_training_ops`), and a GPU trains on candle's composed ops.

mod batched_matmul;
mod cross_entropy;
mod exp;
mod frozen_matmul;
mod lora;
mod rms_norm;
mod rope_heads;
mod softmax;
mod swiglu;

pub(crate) use batched_matmul::batched_matmul;
pub(crate) use cross_entropy::cross_entropy_sum;
pub(crate) use frozen_matmul::FrozenMatmul;
pub(crate) use lora::lora_delta;
pub(crate) use rms_norm::rms_norm;
pub(crate) use rope_heads::{merge_heads, split_heads, RopeTables};
pub(crate) use softmax::causal_softmax;
pub(crate) use swiglu::swiglu;

use candle_core::{CpuStorage, Layout, Tensor};

/// Rows handed to one rayon task at least: a row of a small model is a few hundred values, too
/// little work to be worth a task of its own.
const MIN_ROWS_PER_TASK: usize = 16;

/// The f32 values of a storage with a contiguous layout.
fn values<'a>(
    storage: &'a CpuStorage,
    layout: &Layout,
    op: &str,
) -> candle_core::Result<&'a [f32]> {
    match (storage, layout.contiguous_offsets()) {
        (CpuStorage::F32(v), Some((start, end))) => Ok(&v[start..end]),
        _ => candle_core::bail!("{op} takes contiguous f32 CPU tensors"),
    }
}

/// Runs `f` on the f32 values of `t` (made contiguous first), without copying them out.
fn with_values<R>(t: &Tensor, op: &str, f: impl FnOnce(&[f32]) -> R) -> candle_core::Result<R> {
    let t = t.contiguous()?;
    let (storage, layout) = t.storage_and_layout();
    match &*storage {
        candle_core::Storage::Cpu(cpu) => Ok(f(values(cpu, layout, op)?)),
        _ => candle_core::bail!("{op} runs on the CPU only"),
    }
}

#[cfg(test)]
mod testing {
    use candle_core::{Tensor, Var};

    use crate::test_models::max_abs_diff;

    /// `ours` and `reference` (functions of the same variables) agree within `tol`, and so do the
    /// gradients of every variable under a loss that weighs each output differently (a plain sum
    /// would hide wrong gradients that cancel).
    pub fn assert_same_values_and_gradients(
        vars: &[&Var],
        ours: impl Fn() -> Tensor,
        reference: impl Fn() -> Tensor,
        tol: f32,
    ) {
        let (ours, reference) = (ours(), reference());
        assert_eq!(ours.dims(), reference.dims());
        let d = max_abs_diff(&ours, &reference);
        assert!(d < tol, "values differ by {d}");
        let weights = Tensor::randn(0f32, 1.0, ours.shape(), ours.device()).unwrap();
        let loss = |t: &Tensor| (t * &weights).unwrap().sum_all().unwrap();
        let (g_ours, g_ref) = (
            loss(&ours).backward().unwrap(),
            loss(&reference).backward().unwrap(),
        );
        for (i, v) in vars.iter().enumerate() {
            let (a, b) = (g_ours.get(v).unwrap(), g_ref.get(v).unwrap());
            let d = max_abs_diff(a, b);
            assert!(d < tol, "gradient of variable {i} differs by {d}");
        }
    }
}
