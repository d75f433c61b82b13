//! CPU kernels for the inference hot path where candle's generic ones are slow: products of Q8_0,
//! Q4_1 and Q4_K weights (regrouped eight rows at a time at load, `grouped`) split over the current
//! rayon pool, single-token attention. Weights in other formats keep candle's `QMatMul`.

pub mod attention;
pub mod grouped;
pub mod quant;
pub mod sgemm;

use std::ops::Range;

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{DType, Device, Tensor};
use rayon::prelude::*;

use crate::error::Result;
use grouped::{GroupFormat, Grouped, GroupedWeight};
use quant::{BlockQ4_1, BlockQ8_0, QuantizedRows, WeightBlock};

/// Row chunks per thread: a few, so a thread slowed by other load does not hold the others up.
const CHUNKS_PER_THREAD: usize = 4;

/// A quantized (rows, cols) weight that the kernels multiply with quantized activations.
pub trait QuantMatrix: Sync {
    /// Row ranges given to one task start and end on multiples of this (whole register tiles).
    const ROW_ALIGN: usize;
    fn rows(&self) -> usize;
    /// out[t * rows.len() + r - rows.start] = row r · x[t] for every activation row t.
    fn products(&self, rows: Range<usize>, x: &QuantizedRows, out: &mut [f32]);
}

/// `rows` rows of ggml blocks, row after row.
pub struct RowBlocks<'a, W> {
    pub blocks: &'a [W],
    pub rows: usize,
}

impl<W: WeightBlock> QuantMatrix for RowBlocks<'_, W> {
    const ROW_ALIGN: usize = quant::TILE_ROWS;
    fn rows(&self) -> usize {
        self.rows
    }
    fn products(&self, rows: Range<usize>, x: &QuantizedRows, out: &mut [f32]) {
        quant::matmul(self.blocks, rows, x, out);
    }
}

impl<F: GroupFormat> QuantMatrix for Grouped<F> {
    const ROW_ALIGN: usize = grouped::ROWS;
    fn rows(&self) -> usize {
        Grouped::rows(self)
    }
    fn products(&self, rows: Range<usize>, x: &QuantizedRows, out: &mut [f32]) {
        self.matmul(rows, x, out);
    }
}

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
    let mut matrices = Vec::with_capacity(ws.len());
    for (d, &rows) in data.iter().zip(&rows) {
        match bytemuck::try_cast_slice::<u8, W>(d) {
            Ok(blocks) => matrices.push(RowBlocks { blocks, rows }),
            Err(_) => return Ok(None),
        }
    }
    products(&matrices.iter().collect::<Vec<_>>(), cols, x)
}

/// x times each of several regrouped weights, as `matmul_many`: `None` unless all have one format
/// and one width.
pub fn matmul_grouped_many(ws: &[&GroupedWeight], x: &Tensor) -> Result<Option<Vec<Tensor>>> {
    let Some(first) = ws.first() else {
        return Ok(Some(Vec::new()));
    };
    if ws.iter().any(|w| w.cols() != first.cols()) {
        return Ok(None);
    }
    /// The products with every matrix if all are `$format` ones.
    macro_rules! all_in {
        ($format:ident) => {{
            let ms: Option<Vec<_>> = ws
                .iter()
                .map(|w| match w {
                    GroupedWeight::$format(m) => Some(m),
                    _ => None,
                })
                .collect();
            match ms {
                Some(ms) => products(&ms, first.cols(), x),
                None => Ok(None),
            }
        }};
    }
    match first {
        GroupedWeight::Q4_1(_) => all_in!(Q4_1),
        GroupedWeight::Q4K(_) => all_in!(Q4K),
        GroupedWeight::Q8_0(_) => all_in!(Q8_0),
    }
}

/// The products of x (..., cols) with each matrix, as (..., rows) tensors; `None` unless x is an f32
/// CPU tensor of that width (a multiple of the 32-value block).
fn products<M: QuantMatrix>(ms: &[&M], cols: usize, x: &Tensor) -> Result<Option<Vec<Tensor>>> {
    if x.dtype() != DType::F32
        || !x.device().is_cpu()
        || !cols.is_multiple_of(quant::BLOCK)
        || x.dims().last() != Some(&cols)
    {
        return Ok(None);
    }
    let xs = x.flatten_all()?.to_vec1::<f32>()?;
    let outs = matmul_rows_many(ms, &QuantizedRows::quantize(&xs, cols));
    outs.into_iter()
        .zip(ms)
        .map(|(out, m)| {
            let mut dims = x.dims().to_vec();
            *dims.last_mut().expect("x has a last dimension") = m.rows();
            Ok(Tensor::from_vec(out, dims, x.device())?)
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// For each matrix: the (tokens, rows) products with the quantized activations, the rows of all
/// matrices split in chunks over the current rayon pool.
pub fn matmul_rows_many<M: QuantMatrix>(ms: &[&M], x: &QuantizedRows) -> Vec<Vec<f32>> {
    let tokens = x.rows();
    let total: usize = ms.iter().map(|m| m.rows()).sum();
    let chunks = rayon::current_num_threads() * CHUNKS_PER_THREAD;
    let chunk = total
        .div_ceil(chunks)
        .next_multiple_of(M::ROW_ALIGN)
        .max(M::ROW_ALIGN);
    let mut outs: Vec<Vec<f32>> = ms.iter().map(|m| vec![0f32; m.rows() * tokens]).collect();
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
            ms[i].products(r0..r0 + part.len(), x, part);
        });
        return outs;
    }
    let tasks: Vec<(usize, usize)> = ms
        .iter()
        .enumerate()
        .flat_map(|(i, m)| (0..m.rows()).step_by(chunk).map(move |r0| (i, r0)))
        .collect();
    let parts: Vec<(usize, usize, Vec<f32>)> = tasks
        .into_par_iter()
        .map(|(i, r0)| {
            let r1 = (r0 + chunk).min(ms[i].rows());
            let mut part = vec![0f32; (r1 - r0) * tokens];
            ms[i].products(r0..r1, x, &mut part);
            (i, r0, part)
        })
        .collect();
    for (i, r0, part) in parts {
        let (rows, n) = (ms[i].rows(), part.len() / tokens);
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
