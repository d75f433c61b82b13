//! CPU kernels for the inference hot path where candle's generic ones are slow: Q8_0 and Q4_1 matrix
//! products split over the current rayon pool, single-token attention. Weights in other formats keep
//! candle's `QMatMul`.

pub mod attention;
pub mod quant;
pub mod sgemm;

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{DType, Device, Tensor};
use rayon::prelude::*;

use crate::error::Result;
use quant::{BlockQ4_1, BlockQ8_0, QuantizedRows, WeightBlock};

/// Row chunks per thread: a few, so a thread slowed by other load does not hold the others up.
const CHUNKS_PER_THREAD: usize = 4;

/// x (..., in) times the (out, in) quantized weight `w` transposed: (..., out). `None` when `w` or `x`
/// is not something these kernels handle.
pub fn matmul(w: &QTensor, x: &Tensor) -> Result<Option<Tensor>> {
    match w.dtype() {
        GgmlDType::Q8_0 => matmul_as::<BlockQ8_0>(w, x),
        GgmlDType::Q4_1 => matmul_as::<BlockQ4_1>(w, x),
        _ => Ok(None),
    }
}

fn matmul_as<W: WeightBlock>(w: &QTensor, x: &Tensor) -> Result<Option<Tensor>> {
    debug_assert_eq!(w.dtype(), W::DTYPE);
    let Ok((rows, cols)) = w.shape().dims2() else {
        return Ok(None);
    };
    if !matches!(w.device(), Device::Cpu)
        || x.dtype() != DType::F32
        || !x.device().is_cpu()
        || cols % quant::BLOCK != 0
        || x.dims().last() != Some(&cols)
    {
        return Ok(None);
    }
    let data = w.data()?;
    let Ok(blocks) = bytemuck::try_cast_slice::<u8, W>(&data) else {
        return Ok(None);
    };
    let xs = x.flatten_all()?.to_vec1::<f32>()?;
    let out = matmul_rows(blocks, rows, &QuantizedRows::quantize(&xs, cols));
    let mut dims = x.dims().to_vec();
    *dims.last_mut().expect("x has a last dimension") = rows;
    Ok(Some(Tensor::from_vec(out, dims, x.device())?))
}

/// (tokens, rows) products of the quantized activations with `rows` weight rows, rows split in chunks
/// over the current rayon pool.
pub fn matmul_rows<W: WeightBlock>(w: &[W], rows: usize, x: &QuantizedRows) -> Vec<f32> {
    let tokens = x.rows();
    let chunks = rayon::current_num_threads() * CHUNKS_PER_THREAD;
    // Multiples of 4 rows keep every chunk on the kernel's full register tiles.
    let chunk = rows.div_ceil(chunks).next_multiple_of(4).max(4);
    let parts: Vec<(usize, Vec<f32>)> = (0..rows)
        .into_par_iter()
        .step_by(chunk)
        .map(|r0| {
            let r1 = (r0 + chunk).min(rows);
            let mut part = vec![0f32; (r1 - r0) * tokens];
            quant::matmul(w, r0..r1, x, &mut part);
            (r0, part)
        })
        .collect();
    let mut out = vec![0f32; rows * tokens];
    for (r0, part) in parts {
        let n = part.len() / tokens.max(1);
        for (t, src) in part.chunks_exact(n).enumerate() {
            out[t * rows + r0..t * rows + r0 + n].copy_from_slice(src);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::QMatMul;
    use candle_core::Module;

    #[test]
    fn block_matmuls_match_candle() {
        let dev = Device::Cpu;
        // 128 columns: candle's scalar Q4_1 reference asserts (in debug builds) an even block count.
        // 40 weight rows and 10 activation rows leave partial register tiles on both sides.
        let w = Tensor::randn(0f32, 1.0, (40, 128), &dev).unwrap();
        let x = Tensor::randn(0f32, 1.0, (2, 5, 128), &dev).unwrap();
        for dtype in [GgmlDType::Q8_0, GgmlDType::Q4_1] {
            let q = QTensor::quantize(&w, dtype).unwrap();
            let ours = matmul(&q, &x).unwrap().expect("handled");
            let theirs = QMatMul::from_qtensor(q).unwrap().forward(&x).unwrap();
            assert_eq!(ours.dims(), theirs.dims());
            let diff = (ours - theirs)
                .unwrap()
                .abs()
                .unwrap()
                .max_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            // Same quantized activations and block integers: only f32 summation order differs.
            assert!(diff < 1e-4, "{dtype:?}: {diff}");
        }
    }
}
