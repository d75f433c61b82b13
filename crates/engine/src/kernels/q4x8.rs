//! 4-bit weights (Q4_1, and Q4_K unpacked to it at load) regrouped eight rows at a time for the CPU
//! products. In ggml's row-major layout every 32-value block belongs to one row, so each block's dot
//! product ends in a horizontal sum and a scale multiply of its own. Here one 32-byte register holds
//! four consecutive values of eight rows: `maddubs` against four activation bytes broadcast to every
//! lane yields all eight rows' partial sums at once (lane r for row r), a block's eight sums stay in
//! 16-bit lanes until its end, and one vector multiply applies the eight rows' scales. Same bytes as
//! Q4_1 (160 per eight row-blocks) and the same integer products, so results equal the Q4_1 kernel's
//! up to f32 summation order.

use std::ops::Range;

use bytemuck::{Pod, Zeroable};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};

use super::quant::{BlockQ4_1, QuantizedRows, WeightBlock, BLOCK};
use crate::error::Result;

/// Rows per group.
pub const ROWS: usize = 8;

/// One 32-value block of eight rows (160 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct Group {
    /// f16 bits of rows 0..8's scales and offsets.
    d: [u16; ROWS],
    m: [u16; ROWS],
    /// Chunk c (32 bytes from 32c) holds at bytes 4r..4r+4 row r's Q4_1 bytes 4c..4c+4: values
    /// 4c..4c+4 in the low nibbles and 16+4c..16+4c+4 in the high ones.
    qs: [u8; 4 * 4 * ROWS],
}

impl Group {
    fn from_blocks(block: impl Fn(usize) -> BlockQ4_1) -> Self {
        let rows: [BlockQ4_1; ROWS] = std::array::from_fn(block);
        Self {
            d: std::array::from_fn(|r| rows[r].d),
            m: std::array::from_fn(|r| rows[r].m),
            qs: std::array::from_fn(|i| {
                let (c, r, j) = (i / 32, i % 32 / 4, i % 4);
                rows[r].qs[4 * c + j]
            }),
        }
    }

    /// Row r's block in Q4_1 layout.
    fn block(&self, r: usize) -> BlockQ4_1 {
        BlockQ4_1 {
            d: self.d[r],
            m: self.m[r],
            qs: std::array::from_fn(|j| self.qs[32 * (j / 4) + 4 * r + j % 4]),
        }
    }
}

/// A (rows, cols) 4-bit matrix in groups of eight rows; a last partial group is padded with zero rows.
#[derive(Debug)]
pub struct Q4x8 {
    /// Group g's blocks k = 0..cols/32 at g * cols/32 + k: a group of rows reads as one stream.
    groups: Vec<Group>,
    rows: usize,
    cols: usize,
}

impl Q4x8 {
    /// A CPU Q4_1 matrix regrouped; `None` for any other tensor.
    pub fn from_q4_1(q: &QTensor) -> Result<Option<Self>> {
        if q.dtype() != GgmlDType::Q4_1 || !matches!(q.device(), Device::Cpu) {
            return Ok(None);
        }
        let Ok((rows, cols)) = q.shape().dims2() else {
            return Ok(None);
        };
        if !cols.is_multiple_of(BLOCK) {
            return Ok(None);
        }
        let data = q.data()?;
        let Ok(blocks) = bytemuck::try_cast_slice::<u8, BlockQ4_1>(&data) else {
            return Ok(None);
        };
        let nb = cols / BLOCK;
        let groups = (0..rows.div_ceil(ROWS) * nb)
            .map(|i| {
                let (g, k) = (i / nb, i % nb);
                Group::from_blocks(|r| {
                    let row = g * ROWS + r;
                    // Padding rows: scale and offset 0, so every product with them is 0.
                    (row < rows)
                        .then(|| blocks[row * nb + k])
                        .unwrap_or_else(BlockQ4_1::zeroed)
                })
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
        let nb = self.cols / BLOCK;
        let groups = &self.groups[r / ROWS * nb..(r / ROWS + 1) * nb];
        for (group, values) in groups.iter().zip(out.chunks_exact_mut(BLOCK)) {
            let b = group.block(r % ROWS);
            for (o, q) in values.iter_mut().zip(b.values()) {
                *o = b.scale() * q as f32 + b.offset();
            }
        }
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
            unsafe { avx2::matmul(self, rows, x, out) };
            return;
        }
        self.matmul_scalar(rows, x, out);
    }

    /// Portable reference: each row's blocks through the Q4_1 scalar products.
    fn matmul_scalar(&self, rows: Range<usize>, x: &QuantizedRows, out: &mut [f32]) {
        let nb = self.cols / BLOCK;
        let blocks: Vec<BlockQ4_1> = (rows.start..rows.end)
            .flat_map(|r| (0..nb).map(move |k| (r, k)))
            .map(|(r, k)| self.groups[r / ROWS * nb + k].block(r % ROWS))
            .collect();
        super::quant::matmul_scalar(&blocks, 0..rows.len(), x, out);
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;
    use std::ops::Range;

    use super::{Group, Q4x8, ROWS};
    use crate::kernels::quant::{QuantizedRows, BLOCK};

    /// Activation rows per tile: four 16-bit block sums and four f32 accumulators leave registers
    /// for the unpacked weights.
    const TILE_TOKENS: usize = 4;
    /// Activation bytes one pass over a row range reads at most: a longer prompt is taken in slices
    /// that stay in L2 while every group of rows passes over them.
    const X_SLICE_BYTES: usize = 128 << 10;
    /// Groups ahead to prefetch (decode streams the weights once from memory).
    const PREFETCH_GROUPS: usize = 4;

    /// # Safety
    /// AVX2, FMA and F16C must be available; `rows` lies on group bounds within `m` and `out` holds
    /// rows.len() * x.rows() values (checked by the caller).
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn matmul(m: &Q4x8, rows: Range<usize>, x: &QuantizedRows, out: &mut [f32]) {
        let tokens = x.rows();
        let slice = (X_SLICE_BYTES / x.cols())
            .next_multiple_of(TILE_TOKENS)
            .max(TILE_TOKENS);
        for t0 in (0..tokens).step_by(slice) {
            let t1 = (t0 + slice).min(tokens);
            let full = t0 + (t1 - t0) / TILE_TOKENS * TILE_TOKENS;
            for g in rows.start / ROWS..rows.end.div_ceil(ROWS) {
                for t in (t0..full).step_by(TILE_TOKENS) {
                    // SAFETY: t + TILE_TOKENS <= tokens; the rest is this function's contract.
                    unsafe { tile::<TILE_TOKENS>(m, g, &rows, x, t, out) };
                }
                for t in full..t1 {
                    // SAFETY: as above with one activation row.
                    unsafe { tile::<1>(m, g, &rows, x, t, out) };
                }
            }
        }
    }

    /// Group g's eight rows times activation rows t..t+RN, for the rows of g inside `rows`.
    ///
    /// # Safety
    /// As for `matmul`, with group g inside `m` and t + RN <= x.rows().
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn tile<const RN: usize>(
        m: &Q4x8,
        g: usize,
        rows: &Range<usize>,
        x: &QuantizedRows,
        t: usize,
        out: &mut [f32],
    ) {
        let nb = m.cols / BLOCK;
        let n_out = out.len() / x.rows();
        let nibble = _mm256_set1_epi8(0xF);
        let ones = _mm256_set1_epi16(1);
        let (xq, xd, xs) = (x.qs().as_ptr(), x.scales(), x.sums());
        let mut acc = [_mm256_setzero_ps(); RN];
        for k in 0..nb {
            let group: *const Group = &m.groups[g * nb + k];
            // SAFETY: group is a valid Group; x rows t..t+RN hold block k (the contract).
            unsafe {
                let ahead = group.wrapping_add(PREFETCH_GROUPS).cast::<i8>();
                for line in [0, 64, 128] {
                    _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(line));
                }
                let group = &*group;
                let mut sums = [_mm256_setzero_si256(); RN];
                for c in 0..4 {
                    let v = _mm256_loadu_si256(group.qs.as_ptr().add(32 * c).cast());
                    let lo = _mm256_and_si256(v, nibble);
                    let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), nibble);
                    for (j, sum) in sums.iter_mut().enumerate() {
                        let xb = xq.add((t + j) * x.cols() + k * BLOCK);
                        let xl = _mm256_set1_epi32(xb.add(4 * c).cast::<i32>().read_unaligned());
                        let xh =
                            _mm256_set1_epi32(xb.add(16 + 4 * c).cast::<i32>().read_unaligned());
                        // Each lane sums 8 products of at most 15 * 128 per block: below 2^15.
                        let p = _mm256_add_epi16(
                            _mm256_maddubs_epi16(lo, xl),
                            _mm256_maddubs_epi16(hi, xh),
                        );
                        *sum = _mm256_add_epi16(*sum, p);
                    }
                }
                let d = _mm256_cvtph_ps(_mm_loadu_si128(group.d.as_ptr().cast()));
                let offset = _mm256_cvtph_ps(_mm_loadu_si128(group.m.as_ptr().cast()));
                for (j, a) in acc.iter_mut().enumerate() {
                    let xk = (t + j) * nb + k;
                    let dot = _mm256_cvtepi32_ps(_mm256_madd_epi16(sums[j], ones));
                    let scale = _mm256_mul_ps(d, _mm256_set1_ps(*xd.get_unchecked(xk)));
                    *a = _mm256_fmadd_ps(scale, dot, *a);
                    *a = _mm256_fmadd_ps(offset, _mm256_set1_ps(*xs.get_unchecked(xk)), *a);
                }
            }
        }
        let valid = (rows.end - g * ROWS).min(ROWS);
        for (j, a) in acc.iter().enumerate() {
            let at = (t + j) * n_out + g * ROWS - rows.start;
            if valid == ROWS {
                // SAFETY: the group's eight rows lie within the caller's row range.
                unsafe { _mm256_storeu_ps(out.as_mut_ptr().add(at), *a) };
            } else {
                // The matrix's last, partial group: its padding rows are not in the output.
                let mut lanes = [0f32; ROWS];
                // SAFETY: lanes holds 8 f32.
                unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), *a) };
                out[at..at + valid].copy_from_slice(&lanes[..valid]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q4_1(rows: usize, cols: usize) -> QTensor {
        let w = Tensor::randn(0f32, 1.0, (rows, cols), &Device::Cpu).unwrap();
        QTensor::quantize(&w, GgmlDType::Q4_1).unwrap()
    }

    #[test]
    fn regrouping_keeps_every_value() {
        let q = q4_1(13, 96);
        let grouped = Q4x8::from_q4_1(&q).unwrap().expect("regrouped");
        let expected = q.dequantize(&Device::Cpu).unwrap();
        let expected: Vec<f32> = expected.flatten_all().unwrap().to_vec1().unwrap();
        let ours: Vec<f32> = grouped
            .to_tensor()
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_eq!(ours, expected);
    }

    #[test]
    fn products_equal_the_row_major_kernel() {
        // 21 rows: two whole groups and a padded one.
        let (rows, cols) = (21, 128);
        let q = q4_1(rows, cols);
        let grouped = Q4x8::from_q4_1(&q).unwrap().expect("regrouped");
        let data = q.data().unwrap();
        let blocks: &[BlockQ4_1] = bytemuck::cast_slice(&data);
        // Token counts with full 4-row tiles, edges, and both together.
        for tokens in [1, 3, 4, 9] {
            let xs = Tensor::randn(0f32, 1.0, (tokens, cols), &Device::Cpu).unwrap();
            let x = QuantizedRows::quantize(&xs.flatten_all().unwrap().to_vec1().unwrap(), cols);
            for range in [0..rows, 8..16, 16..rows] {
                let mut ours = vec![0f32; range.len() * tokens];
                let mut row_major = ours.clone();
                grouped.matmul(range.clone(), &x, &mut ours);
                crate::kernels::quant::matmul(blocks, range.clone(), &x, &mut row_major);
                for (a, b) in ours.iter().zip(&row_major) {
                    // The same block integers; only the f32 summation order differs.
                    assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{a} vs {b}");
                }
                let mut scalar = vec![0f32; ours.len()];
                grouped.matmul_scalar(range, &x, &mut scalar);
                for (a, b) in ours.iter().zip(&scalar) {
                    assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn only_q4_1_is_regrouped() {
        let w = Tensor::randn(0f32, 1.0, (8, 64), &Device::Cpu).unwrap();
        let q8 = QTensor::quantize(&w, GgmlDType::Q8_0).unwrap();
        assert!(Q4x8::from_q4_1(&q8).unwrap().is_none());
    }
}
