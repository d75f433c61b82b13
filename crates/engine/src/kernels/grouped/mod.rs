//! Block-quantized weights (Q4_1, Q4_K, Q8_0) regrouped eight rows at a time for the CPU products. In
//! ggml's row-major layout every block belongs to one row, so each 32-value dot product ends in a
//! horizontal sum and a scale multiply of its own. Here one 32-byte register holds four consecutive
//! values of eight rows: `maddubs` against four activation bytes broadcast to every lane yields all
//! eight rows' partial sums at once (lane r for row r), and one vector multiply applies the eight
//! rows' scales at a sub-block's end. Same bytes as the ggml blocks and the same integer products, so
//! results equal the row-major products up to f32 summation order.

mod q4_1;
mod q4_k;
mod q8_0;

use std::ops::Range;

use bytemuck::{Pod, Zeroable};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};

use super::quant::{QuantizedRows, WeightBlock};
use crate::error::Result;
pub use q4_1::Q4_1x8;
pub use q4_k::Q4Kx8;
pub use q8_0::Q8_0x8;

/// Rows per group.
pub const ROWS: usize = 8;

/// A ggml block format and its eight-row groups.
pub trait GroupFormat: Send + Sync + 'static {
    const DTYPE: GgmlDType;
    /// One row's block as stored in GGUF files.
    type Block: Pod;
    /// Values in one row's block: a multiple of the activations' 32-value blocks.
    const VALUES: usize;
    /// One block of eight rows, the same bytes as their eight blocks.
    type Group: Pod + Send + Sync + std::fmt::Debug;
    fn group(rows: &[Self::Block; ROWS]) -> Self::Group;
    /// Row r's values in the group.
    fn dequantize(group: &Self::Group, r: usize, out: &mut [f32]);
    /// Row r of one group of rows, whose blocks are `groups`, · activation row t: the integer block
    /// products the vector tile computes, in plain arithmetic (the portable path and its reference).
    fn dot_scalar(groups: &[Self::Group], r: usize, x: &QuantizedRows, t: usize) -> f32;
    /// sums[j][r] = (row r of one group of rows, whose blocks are `groups`) · (activation row t + j).
    ///
    /// # Safety
    /// AVX2, FMA and F16C must be available, `groups` cover x.cols() values and t + RN <= x.rows().
    #[cfg(target_arch = "x86_64")]
    unsafe fn tile<const RN: usize>(
        groups: &[Self::Group],
        x: &QuantizedRows,
        t: usize,
        sums: &mut [[f32; ROWS]; RN],
    );
}

/// A (rows, cols) matrix in groups of eight rows; a last partial group is padded with zero rows.
#[derive(Debug)]
pub struct Grouped<F: GroupFormat> {
    /// Group g's blocks k = 0..nb at g * nb + k (nb = cols / F::VALUES): a group of rows reads as
    /// one stream.
    groups: Vec<F::Group>,
    rows: usize,
    cols: usize,
}

impl<F: GroupFormat> Grouped<F> {
    /// A CPU matrix in F's block format, regrouped; `None` for any other tensor.
    pub fn from_qtensor(q: &QTensor) -> Result<Option<Self>> {
        if q.dtype() != F::DTYPE || !matches!(q.device(), Device::Cpu) {
            return Ok(None);
        }
        let Ok((rows, cols)) = q.shape().dims2() else {
            return Ok(None);
        };
        if !cols.is_multiple_of(F::VALUES) {
            return Ok(None);
        }
        let data = q.data()?;
        let Ok(blocks) = bytemuck::try_cast_slice::<u8, F::Block>(&data) else {
            return Ok(None);
        };
        let nb = cols / F::VALUES;
        let groups = (0..rows.div_ceil(ROWS) * nb)
            .map(|i| {
                let (g, k) = (i / nb, i % nb);
                F::group(&std::array::from_fn(|r| {
                    let row = g * ROWS + r;
                    // Padding rows: scale and offset 0, so every product with them is 0.
                    if row < rows {
                        blocks[row * nb + k]
                    } else {
                        F::Block::zeroed()
                    }
                }))
            })
            .collect();
        Ok(Some(Self { groups, rows, cols }))
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The values as a dense (rows, cols) f32 CPU tensor (training, and inputs the kernel does not take).
    pub fn to_tensor(&self) -> Result<Tensor> {
        let mut values = vec![0f32; self.rows * self.cols];
        for (r, row) in values.chunks_exact_mut(self.cols).enumerate() {
            self.dequantize_row(r, row);
        }
        Ok(Tensor::from_vec(
            values,
            (self.rows, self.cols),
            &Device::Cpu,
        )?)
    }

    /// Row r's values into `out` (cols long): an embedding lookup in a tied table.
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) {
        for (group, values) in self
            .row_groups(r / ROWS)
            .iter()
            .zip(out.chunks_exact_mut(F::VALUES))
        {
            F::dequantize(group, r % ROWS, values);
        }
    }

    /// The blocks of group g.
    fn row_groups(&self, g: usize) -> &[F::Group] {
        let nb = self.cols / F::VALUES;
        &self.groups[g * nb..(g + 1) * nb]
    }

    /// out[t * rows.len() + r - rows.start] = row r · x[t] for the rows `rows` (starting on a multiple
    /// of 8 and ending on one or at the last row) and every activation row t.
    pub fn matmul(&self, rows: Range<usize>, x: &QuantizedRows, out: &mut [f32]) {
        assert!(
            rows.start.is_multiple_of(ROWS)
                && (rows.end.is_multiple_of(ROWS) || rows.end == self.rows)
                && rows.end <= self.rows,
            "row range {rows:?} of {} rows in groups of {ROWS}",
            self.rows
        );
        assert_eq!(x.cols(), self.cols, "activation width");
        assert_eq!(out.len(), rows.len() * x.rows(), "output size");
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
            && is_x86_feature_detected!("f16c")
        {
            // SAFETY: the CPU has AVX2, FMA and F16C (checked above); sizes checked above.
            unsafe { self.matmul_avx2(rows, x, out) };
            return;
        }
        self.matmul_scalar(rows, x, out);
    }

    /// Portable reference: the same integer block products in plain arithmetic.
    fn matmul_scalar(&self, rows: Range<usize>, x: &QuantizedRows, out: &mut [f32]) {
        let n = rows.len();
        for t in 0..x.rows() {
            for r in rows.clone() {
                let groups = self.row_groups(r / ROWS);
                out[t * n + r - rows.start] = F::dot_scalar(groups, r % ROWS, x, t);
            }
        }
    }

    /// # Safety
    /// AVX2, FMA and F16C must be available; arguments as checked by `matmul`.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn matmul_avx2(&self, rows: Range<usize>, x: &QuantizedRows, out: &mut [f32]) {
        /// Activation rows per tile: their block sums and accumulators leave registers for the
        /// weights.
        const TILE_TOKENS: usize = 4;
        /// Activation bytes one pass over a row range reads at most: a longer prompt is taken in
        /// slices that stay in L2 while every group of rows passes over them.
        const X_SLICE_BYTES: usize = 128 << 10;
        let tokens = x.rows();
        let n_out = rows.len();
        let slice = (X_SLICE_BYTES / x.cols())
            .next_multiple_of(TILE_TOKENS)
            .max(TILE_TOKENS);
        let mut store = |g: usize, t: usize, sums: &[[f32; ROWS]]| {
            // The matrix's last group may be partial: its padding rows are not in the output.
            let valid = (rows.end - g * ROWS).min(ROWS);
            for (j, lanes) in sums.iter().enumerate() {
                let at = (t + j) * n_out + g * ROWS - rows.start;
                out[at..at + valid].copy_from_slice(&lanes[..valid]);
            }
        };
        for t0 in (0..tokens).step_by(slice) {
            let t1 = (t0 + slice).min(tokens);
            let full = t0 + (t1 - t0) / TILE_TOKENS * TILE_TOKENS;
            for g in rows.start / ROWS..rows.end.div_ceil(ROWS) {
                let groups = self.row_groups(g);
                for t in (t0..full).step_by(TILE_TOKENS) {
                    let mut sums = [[0f32; ROWS]; TILE_TOKENS];
                    // SAFETY: t + TILE_TOKENS <= tokens; the CPU features are this fn's contract.
                    unsafe { F::tile(groups, x, t, &mut sums) };
                    store(g, t, &sums);
                }
                for t in full..t1 {
                    let mut sums = [[0f32; ROWS]; 1];
                    // SAFETY: as above with one activation row.
                    unsafe { F::tile(groups, x, t, &mut sums) };
                    store(g, t, &sums);
                }
            }
        }
    }
}

/// A regrouped matrix in one of the formats.
#[derive(Debug)]
pub enum GroupedWeight {
    Q4_1(Grouped<Q4_1x8>),
    Q4K(Grouped<Q4Kx8>),
    Q8_0(Grouped<Q8_0x8>),
}

/// `$body` with `$m` bound to the matrix, whichever its format.
macro_rules! each_format {
    ($w:expr, $m:ident => $body:expr) => {
        match $w {
            GroupedWeight::Q4_1($m) => $body,
            GroupedWeight::Q4K($m) => $body,
            GroupedWeight::Q8_0($m) => $body,
        }
    };
}

impl GroupedWeight {
    /// A CPU Q4_1, Q4_K or Q8_0 matrix regrouped; `None` for any other tensor.
    pub fn from_qtensor(q: &QTensor) -> Result<Option<Self>> {
        Ok(match q.dtype() {
            GgmlDType::Q4_1 => Grouped::from_qtensor(q)?.map(Self::Q4_1),
            GgmlDType::Q4K => Grouped::from_qtensor(q)?.map(Self::Q4K),
            GgmlDType::Q8_0 => Grouped::from_qtensor(q)?.map(Self::Q8_0),
            _ => None,
        })
    }

    pub fn rows(&self) -> usize {
        each_format!(self, m => m.rows())
    }

    pub fn cols(&self) -> usize {
        each_format!(self, m => m.cols())
    }

    pub fn to_tensor(&self) -> Result<Tensor> {
        each_format!(self, m => m.to_tensor())
    }

    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) {
        each_format!(self, m => m.dequantize_row(r, out))
    }
}

/// `GroupFormat::dequantize` for a format of 32-value ggml blocks.
fn dequantize_block<W: WeightBlock>(b: &W, out: &mut [f32]) {
    for (o, q) in out.iter_mut().zip(b.values()) {
        *o = b.scale() * q as f32 + b.offset();
    }
}

/// `GroupFormat::dot_scalar` for a format of 32-value ggml blocks.
fn dot_blocks<W: WeightBlock>(blocks: impl Iterator<Item = W>, x: &QuantizedRows, t: usize) -> f32 {
    blocks
        .enumerate()
        .map(|(k, b)| super::quant::block_dot_scalar(&b, x, t, k))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quantized(rows: usize, cols: usize, dtype: GgmlDType) -> QTensor {
        let w = Tensor::randn(0f32, 1.0, (rows, cols), &Device::Cpu).unwrap();
        QTensor::quantize(&w, dtype).unwrap()
    }

    fn values(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1().unwrap()
    }

    fn check_format<F: GroupFormat>(dtype: GgmlDType) {
        // 21 rows: two whole groups and a padded one.
        let (rows, cols) = (21, 512);
        let q = quantized(rows, cols, dtype);
        let grouped = Grouped::<F>::from_qtensor(&q).unwrap().expect("regrouped");
        let weights = values(&grouped.to_tensor().unwrap());
        assert_eq!(
            weights,
            values(&q.dequantize(&Device::Cpu).unwrap()),
            "{dtype:?}: every value kept"
        );
        // Token counts with full 4-row tiles, edges, and both together.
        for tokens in [1, 3, 4, 9] {
            let xs = Tensor::randn(0f32, 1.0, (tokens, cols), &Device::Cpu).unwrap();
            let x = QuantizedRows::quantize(&values(&xs), cols);
            for range in [0..rows, 8..16, 16..rows] {
                let mut ours = vec![0f32; range.len() * tokens];
                grouped.matmul(range.clone(), &x, &mut ours);
                let mut scalar = vec![0f32; ours.len()];
                grouped.matmul_scalar(range.clone(), &x, &mut scalar);
                for (i, (a, b)) in ours.iter().zip(&scalar).enumerate() {
                    // The same integer products; only the f32 summation order differs.
                    assert!(
                        (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
                        "{dtype:?}: {a} vs {b}"
                    );
                    // And they are the products of the weights with the quantized activations: up to
                    // f32 rounding and the activation sums that carry the offsets, kept in f16 as
                    // ggml keeps them (relative 2^-11).
                    let (t, r) = (i / range.len(), range.start + i % range.len());
                    let w = &weights[r * cols..(r + 1) * cols];
                    let (exact, size) = x
                        .dequantized_row(t)
                        .iter()
                        .zip(w)
                        .fold((0f64, 0f64), |(e, s), (&xv, &wv)| {
                            (e + (xv * wv) as f64, s + (xv * wv).abs() as f64)
                        });
                    assert!(
                        (*b as f64 - exact).abs() <= 2e-3 * size,
                        "{dtype:?}: {b} vs {exact}"
                    );
                }
            }
        }
    }

    #[test]
    fn q4_1_groups_keep_values_and_products() {
        check_format::<Q4_1x8>(GgmlDType::Q4_1);
    }

    #[test]
    fn q8_0_groups_keep_values_and_products() {
        check_format::<Q8_0x8>(GgmlDType::Q8_0);
    }

    #[test]
    fn q4_k_groups_keep_values_and_products() {
        check_format::<Q4Kx8>(GgmlDType::Q4K);
    }

    #[test]
    fn other_formats_are_not_regrouped() {
        let q = quantized(8, 256, GgmlDType::Q6K);
        assert!(GroupedWeight::from_qtensor(&q).unwrap().is_none());
        assert!(
            Grouped::<Q8_0x8>::from_qtensor(&quantized(8, 64, GgmlDType::Q4_1))
                .unwrap()
                .is_none()
        );
    }
}
