//! CPU kernels for the inference hot path where candle's generic ones are slow: Q8_0 and Q4_1 matrix
//! products split over the current rayon pool (Q4_K weights are unpacked to Q4_1 at load), single-token
//! attention. Weights in other formats keep candle's `QMatMul`.

pub mod attention;
pub mod quant;
pub mod repack;
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
    Ok(matmul_many(&[w], x)?.map(|mut outs| outs.remove(0)))
}

/// x times each of several weights that read the same input (q/k/v, gate/up): the activations are
/// quantized once and all products share one parallel region. `None` unless every weight is handled
/// and all have one format.
pub fn matmul_many(ws: &[&QTensor], x: &Tensor) -> Result<Option<Vec<Tensor>>> {
    let Some(first) = ws.first() else {
        return Ok(Some(Vec::new()));
    };
    if ws.iter().any(|w| w.dtype() != first.dtype()) {
        return Ok(None);
    }
    match first.dtype() {
        GgmlDType::Q8_0 => matmul_many_as::<BlockQ8_0>(ws, x),
        GgmlDType::Q4_1 => matmul_many_as::<BlockQ4_1>(ws, x),
        _ => Ok(None),
    }
}

fn matmul_many_as<W: WeightBlock>(ws: &[&QTensor], x: &Tensor) -> Result<Option<Vec<Tensor>>> {
    let cols = ws[0].shape().dims().last().copied().unwrap_or(0);
    if x.dtype() != DType::F32
        || !x.device().is_cpu()
        || cols % quant::BLOCK != 0
        || x.dims().last() != Some(&cols)
    {
        return Ok(None);
    }
    let mut data = Vec::with_capacity(ws.len());
    let mut rows = Vec::with_capacity(ws.len());
    for w in ws {
        debug_assert_eq!(w.dtype(), W::DTYPE);
        match w.shape().dims2() {
            Ok((r, c)) if c == cols && matches!(w.device(), Device::Cpu) => rows.push(r),
            _ => return Ok(None),
        }
        data.push(w.data()?);
    }
    let mut weights = Vec::with_capacity(ws.len());
    for (d, &r) in data.iter().zip(&rows) {
        match bytemuck::try_cast_slice::<u8, W>(d) {
            Ok(blocks) => weights.push((blocks, r)),
            Err(_) => return Ok(None),
        }
    }
    let xs = x.flatten_all()?.to_vec1::<f32>()?;
    let outs = matmul_rows_many(&weights, &QuantizedRows::quantize(&xs, cols));
    outs.into_iter()
        .zip(rows)
        .map(|(out, r)| {
            let mut dims = x.dims().to_vec();
            *dims.last_mut().expect("x has a last dimension") = r;
            Ok(Tensor::from_vec(out, dims, x.device())?)
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// For each (weight, rows): the (tokens, rows) products with the quantized activations, the rows of all
/// weights split in chunks over the current rayon pool.
pub fn matmul_rows_many<W: WeightBlock>(ws: &[(&[W], usize)], x: &QuantizedRows) -> Vec<Vec<f32>> {
    let tokens = x.rows();
    let total: usize = ws.iter().map(|&(_, rows)| rows).sum();
    let chunks = rayon::current_num_threads() * CHUNKS_PER_THREAD;
    // Multiples of 4 rows keep every chunk on the kernel's full register tiles.
    let chunk = total.div_ceil(chunks).next_multiple_of(4).max(4);
    let mut outs: Vec<Vec<f32>> = ws
        .iter()
        .map(|&(_, rows)| vec![0f32; rows * tokens])
        .collect();
    if tokens == 1 {
        // One token: a chunk of rows is a contiguous run of the output, written in place.
        let tasks: Vec<(usize, usize, &mut [f32])> = outs
            .iter_mut()
            .enumerate()
            .flat_map(|(i, out)| {
                out.chunks_mut(chunk)
                    .enumerate()
                    .map(move |(c, part)| (i, c * chunk, part))
            })
            .collect();
        tasks.into_par_iter().for_each(|(i, r0, part)| {
            quant::matmul(ws[i].0, r0..r0 + part.len(), x, part);
        });
        return outs;
    }
    let tasks: Vec<(usize, usize)> = ws
        .iter()
        .enumerate()
        .flat_map(|(i, &(_, rows))| (0..rows).step_by(chunk).map(move |r0| (i, r0)))
        .collect();
    let parts: Vec<(usize, usize, Vec<f32>)> = tasks
        .into_par_iter()
        .map(|(i, r0)| {
            let r1 = (r0 + chunk).min(ws[i].1);
            let mut part = vec![0f32; (r1 - r0) * tokens];
            quant::matmul(ws[i].0, r0..r1, x, &mut part);
            (i, r0, part)
        })
        .collect();
    for (i, r0, part) in parts {
        let (rows, n) = (ws[i].1, part.len() / tokens);
        for (t, src) in part.chunks_exact(n).enumerate() {
            outs[i][t * rows + r0..t * rows + r0 + n].copy_from_slice(src);
        }
    }
    outs
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

    /// Shared activations and one parallel region change nothing in any weight's product.
    #[test]
    fn products_sharing_an_input_equal_separate_products() {
        let dev = Device::Cpu;
        for tokens in [1, 5] {
            let x = Tensor::randn(0f32, 1.0, (1, tokens, 64), &dev).unwrap();
            let ws: Vec<QTensor> = [40, 12, 28]
                .iter()
                .map(|&rows| {
                    let w = Tensor::randn(0f32, 1.0, (rows, 64), &dev).unwrap();
                    QTensor::quantize(&w, GgmlDType::Q8_0).unwrap()
                })
                .collect();
            let refs: Vec<&QTensor> = ws.iter().collect();
            let shared = matmul_many(&refs, &x).unwrap().expect("handled");
            for (w, out) in ws.iter().zip(&shared) {
                let alone = matmul(w, &x).unwrap().expect("handled");
                assert_eq!(out.dims(), alone.dims());
                assert_eq!(
                    out.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                    alone.flatten_all().unwrap().to_vec1::<f32>().unwrap()
                );
            }
        }
        // Mixed formats are left to the caller.
        let w = Tensor::randn(0f32, 1.0, (8, 64), &dev).unwrap();
        let (a, b) = (
            QTensor::quantize(&w, GgmlDType::Q8_0).unwrap(),
            QTensor::quantize(&w, GgmlDType::Q4_1).unwrap(),
        );
        let x = Tensor::randn(0f32, 1.0, (1, 1, 64), &dev).unwrap();
        assert!(matmul_many(&[&a, &b], &x).unwrap().is_none());
    }
}
