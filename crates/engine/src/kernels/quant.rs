//! Products of ggml block-quantized weights (32 values per block: Q8_0, Q4_1) with activations
//! quantized to int8 blocks of the same size, as ggml and candle do (Q8_0/Q8_1 activations): each
//! block's dot product is exact integer arithmetic and only the per-block scaling runs in f32.

use std::ops::Range;

use bytemuck::{Pod, Zeroable};
use candle_core::quantized::GgmlDType;
use half::f16;
use rayon::prelude::*;

pub const BLOCK: usize = 32;

/// Weight rows per register tile of the batch (prefill) kernel: row ranges of a multiple of it run
/// on full tiles only.
pub const TILE_ROWS: usize = 4;

/// Activation blocks one rayon task quantizes at least: a single token's row (a few dozen blocks) stays
/// on the calling thread.
const PARALLEL_MIN_BLOCKS: usize = 256;

/// A weight block format: value_i = scale * q_i + offset.
pub trait WeightBlock: Pod + Sync {
    const DTYPE: GgmlDType;
    /// Whether the quantized values are signed bytes (else unsigned, below 128).
    const SIGNED: bool;
    /// Whether `offset` can be non-zero.
    const HAS_OFFSET: bool;
    fn scale(&self) -> f32;
    fn offset(&self) -> f32;
    /// The 32 quantized values in order.
    fn values(&self) -> [i8; BLOCK];
    /// The 32 quantized values in order, as bytes of one register.
    ///
    /// # Safety
    /// AVX2 must be available.
    #[cfg(target_arch = "x86_64")]
    unsafe fn load_avx2(&self) -> std::arch::x86_64::__m256i;
}

/// ggml's `block_q8_0` (34 bytes): the layout of Q8_0 tensors in GGUF files and in candle's storage.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct BlockQ8_0 {
    /// f16 bits of the scale.
    pub d: u16,
    pub qs: [i8; BLOCK],
}

impl WeightBlock for BlockQ8_0 {
    const DTYPE: GgmlDType = GgmlDType::Q8_0;
    const SIGNED: bool = true;
    const HAS_OFFSET: bool = false;
    fn scale(&self) -> f32 {
        f16::from_bits(self.d).to_f32()
    }
    fn offset(&self) -> f32 {
        0.0
    }
    fn values(&self) -> [i8; BLOCK] {
        self.qs
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn load_avx2(&self) -> std::arch::x86_64::__m256i {
        // SAFETY: qs is 32 readable bytes.
        unsafe { std::arch::x86_64::_mm256_loadu_si256(self.qs.as_ptr().cast()) }
    }
}

/// ggml's `block_q4_1` (20 bytes): byte j holds value j in its low and value j + 16 in its high nibble.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct BlockQ4_1 {
    pub d: u16,
    pub m: u16,
    pub qs: [u8; BLOCK / 2],
}

impl WeightBlock for BlockQ4_1 {
    const DTYPE: GgmlDType = GgmlDType::Q4_1;
    const SIGNED: bool = false;
    const HAS_OFFSET: bool = true;
    fn scale(&self) -> f32 {
        f16::from_bits(self.d).to_f32()
    }
    fn offset(&self) -> f32 {
        f16::from_bits(self.m).to_f32()
    }
    fn values(&self) -> [i8; BLOCK] {
        std::array::from_fn(|i| ((self.qs[i % 16] >> (4 * (i / 16))) & 0xF) as i8)
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn load_avx2(&self) -> std::arch::x86_64::__m256i {
        use std::arch::x86_64::*;
        // SAFETY: qs is 16 readable bytes.
        let lo = unsafe { _mm_loadu_si128(self.qs.as_ptr().cast()) };
        let both = _mm256_set_m128i(_mm_srli_epi16::<4>(lo), lo);
        _mm256_and_si256(both, _mm256_set1_epi8(0xF))
    }
}

/// Rows of activations quantized per 32 values like ggml's `quantize_row_q8_1`: scales are stored as
/// f32 but rounded through f16 as in the block formats, so products match ggml's/candle's.
#[derive(Debug, Default)]
pub struct QuantizedRows {
    qs: Vec<i8>,
    d: Vec<f32>,
    /// Per block: scale * sum of the quantized values (computed in f16 as ggml does), for offsets.
    s: Vec<f32>,
    cols: usize,
}

impl QuantizedRows {
    /// `x` holds rows of `cols` values, `cols` a multiple of 32. Blocks are independent, so a batch of
    /// rows (prefill) is quantized in parallel on the current rayon pool.
    pub fn quantize(x: &[f32], cols: usize) -> Self {
        assert!(cols.is_multiple_of(BLOCK) && x.len().is_multiple_of(cols.max(1)));
        let mut qs = vec![0i8; x.len()];
        let mut d = vec![0f32; x.len() / BLOCK];
        let mut s = vec![0f32; x.len() / BLOCK];
        let blocks = x
            .par_chunks_exact(BLOCK)
            .zip(qs.par_chunks_exact_mut(BLOCK))
            .zip(d.par_iter_mut())
            .zip(s.par_iter_mut())
            .with_min_len(PARALLEL_MIN_BLOCKS);
        blocks.for_each(|(((xb, qb), db), sb)| {
            let amax = xb.iter().fold(0f32, |m, v| m.max(v.abs()));
            let scale = amax / 127.0;
            let inv = if scale != 0.0 { 1.0 / scale } else { 0.0 };
            let mut sum = 0i32;
            for (q, v) in qb.iter_mut().zip(xb) {
                *q = (v * inv).round() as i8;
                sum += *q as i32;
            }
            let scale = f16::from_f32(scale);
            *db = scale.to_f32();
            *sb = (f16::from_f32(sum as f32) * scale).to_f32();
        });
        Self { qs, d, s, cols }
    }

    pub fn rows(&self) -> usize {
        self.qs.len().checked_div(self.cols).unwrap_or(0)
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The quantized values, row after row.
    pub fn qs(&self) -> &[i8] {
        &self.qs
    }

    /// Per block of 32 values: its scale.
    pub fn scales(&self) -> &[f32] {
        &self.d
    }

    /// Per block: scale * sum of its quantized values (for weight offsets).
    pub fn sums(&self) -> &[f32] {
        &self.s
    }

    /// Row t's values as the kernels see them: scale * q.
    #[cfg(test)]
    pub fn dequantized_row(&self, t: usize) -> Vec<f32> {
        let row = &self.qs[t * self.cols..(t + 1) * self.cols];
        let scales = &self.d[t * self.cols / BLOCK..(t + 1) * self.cols / BLOCK];
        row.iter()
            .enumerate()
            .map(|(i, &q)| scales[i / BLOCK] * q as f32)
            .collect()
    }
}

/// out[t * rows.len() + (r - rows.start)] = W[r] · x[t] for the weight rows `rows` of `w` (row-major
/// blocks, 1/32 of the activation width per row) and every activation row t.
pub fn matmul<W: WeightBlock>(w: &[W], rows: Range<usize>, x: &QuantizedRows, out: &mut [f32]) {
    let nb = x.cols / BLOCK;
    assert!(rows.end * nb <= w.len(), "weight rows out of range");
    assert_eq!(out.len(), rows.len() * x.rows(), "output size");
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX2 and FMA (checked above); sizes checked above.
        unsafe { avx2::matmul(w, rows, x, out) };
        return;
    }
    matmul_scalar(w, rows, x, out);
}

/// Portable reference: the same block products in plain integer arithmetic.
pub fn matmul_scalar<W: WeightBlock>(
    w: &[W],
    rows: Range<usize>,
    x: &QuantizedRows,
    out: &mut [f32],
) {
    let nb = x.cols / BLOCK;
    let n = rows.len();
    for t in 0..x.rows() {
        for r in rows.clone() {
            out[t * n + r - rows.start] = w[r * nb..(r + 1) * nb]
                .iter()
                .enumerate()
                .map(|(k, wb)| block_dot_scalar(wb, x, t, k))
                .sum();
        }
    }
}

/// The weight block `w` · block k of activation row t, in plain integer arithmetic.
pub fn block_dot_scalar<W: WeightBlock>(w: &W, x: &QuantizedRows, t: usize, k: usize) -> f32 {
    let xk = t * (x.cols / BLOCK) + k;
    let dot: i32 = w
        .values()
        .iter()
        .zip(&x.qs[xk * BLOCK..(xk + 1) * BLOCK])
        .map(|(&a, &b)| a as i32 * b as i32)
        .sum();
    w.scale() * x.d[xk] * dot as f32 + w.offset() * x.s[xk]
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;
    use std::ops::Range;

    use super::{QuantizedRows, WeightBlock, BLOCK, TILE_ROWS};

    /// Activation rows per register tile: with TILE_ROWS weight rows, 12 accumulators, each weight
    /// block loaded once per 3 activation rows (prefill); decode runs 1x1 tiles.
    const TILE_COLS: usize = 3;
    /// How far ahead in a weight row to prefetch (~400 bytes of Q8_0; past a row's end it only
    /// touches the next row, prefetches never fault).
    const PREFETCH_BLOCKS: usize = 12;

    /// # Safety
    /// AVX2 and FMA must be available; `w` holds rows.end rows of x.cols / 32 blocks and `out`
    /// rows.len() * x.rows() values (checked by the caller).
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn matmul<W: WeightBlock>(
        w: &[W],
        rows: Range<usize>,
        x: &QuantizedRows,
        out: &mut [f32],
    ) {
        if x.rows() == 1 {
            // Decode: one weight row after another reads the weights as one sequential stream, which
            // measured faster than 4-row tiles (the activation row stays in L1 either way).
            // SAFETY: forwarded from this function's contract.
            unsafe { tiles::<W, 1>(w, rows.clone(), rows.start, x, out) };
            return;
        }
        let full = rows.start + (rows.len() / TILE_ROWS) * TILE_ROWS;
        // SAFETY: forwarded from this function's contract.
        unsafe {
            tiles::<W, TILE_ROWS>(w, rows.start..full, rows.start, x, out);
            tiles::<W, 1>(w, full..rows.end, rows.start, x, out);
        }
    }

    /// Tiles of RM weight rows over `rows` (a multiple of RM long); `first` is the output's first row.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn tiles<W: WeightBlock, const RM: usize>(
        w: &[W],
        rows: Range<usize>,
        first: usize,
        x: &QuantizedRows,
        out: &mut [f32],
    ) {
        let tokens = x.rows();
        let full = (tokens / TILE_COLS) * TILE_COLS;
        for r in rows.step_by(RM) {
            for t in (0..full).step_by(TILE_COLS) {
                // SAFETY: r + RM <= rows.end and t + TILE_COLS <= tokens.
                unsafe { tile::<W, RM, TILE_COLS>(w, r, first, x, t, out) };
            }
            for t in full..tokens {
                // SAFETY: as above with one activation row.
                unsafe { tile::<W, RM, 1>(w, r, first, x, t, out) };
            }
        }
    }

    #[target_feature(enable = "avx2,fma")]
    fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_extractf128_ps::<1>(v), _mm256_castps256_ps128(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }

    /// Dot products of weight rows r..r+RM with activation rows t..t+RN.
    ///
    /// # Safety
    /// AVX2/FMA available, r + RM weight rows exist in `w`, t + RN rows in `x`, and `out` is laid out
    /// as in `matmul` with `first` as its first weight row.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn tile<W: WeightBlock, const RM: usize, const RN: usize>(
        w: &[W],
        r: usize,
        first: usize,
        x: &QuantizedRows,
        t: usize,
        out: &mut [f32],
    ) {
        let nb = x.cols / BLOCK;
        let n_out = out.len() / x.rows();
        let ones = _mm256_set1_epi16(1);
        let mut acc = [[_mm256_setzero_ps(); RN]; RM];
        let mut offsets = [[0f32; RN]; RM];
        let wp = w.as_ptr();
        let xq = x.qs.as_ptr();
        for k in 0..nb {
            // SAFETY: (t + j) * nb + k < x.rows() * nb and (r + i) * nb + k < w.len() by the contract.
            unsafe {
                let mut xv = [_mm256_setzero_si256(); RN];
                for (j, v) in xv.iter_mut().enumerate() {
                    *v = _mm256_loadu_si256(xq.add((t + j) * x.cols + k * BLOCK).cast());
                }
                for i in 0..RM {
                    let b = &*wp.add((r + i) * nb + k);
                    // Decode streams the weights once from memory: ask for them a few lines early.
                    _mm_prefetch::<_MM_HINT_T0>(
                        (b as *const W).wrapping_add(PREFETCH_BLOCKS).cast(),
                    );
                    let wv = b.load_avx2();
                    // maddubs multiplies unsigned by signed bytes: signed weights go in as |w| with
                    // their sign moved onto x.
                    let wu = if W::SIGNED {
                        _mm256_sign_epi8(wv, wv)
                    } else {
                        wv
                    };
                    let ws = b.scale();
                    for j in 0..RN {
                        let xk = (t + j) * nb + k;
                        let xs = if W::SIGNED {
                            _mm256_sign_epi8(xv[j], wv)
                        } else {
                            xv[j]
                        };
                        let p16 = _mm256_maddubs_epi16(wu, xs);
                        let p32 = _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, ones));
                        let d = _mm256_set1_ps(ws * *x.d.get_unchecked(xk));
                        acc[i][j] = _mm256_fmadd_ps(d, p32, acc[i][j]);
                        if W::HAS_OFFSET {
                            offsets[i][j] += b.offset() * *x.s.get_unchecked(xk);
                        }
                    }
                }
            }
        }
        for i in 0..RM {
            for j in 0..RN {
                out[(t + j) * n_out + r + i - first] = hsum(acc[i][j]) + offsets[i][j];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    fn check<W: WeightBlock>(w: &[W], rows: usize, cols: usize) {
        // Row and token counts that exercise full tiles and both edges.
        for tokens in [1, 3, 4, 7] {
            let x = QuantizedRows::quantize(&random(tokens * cols, 11), cols);
            let range = 1..rows;
            let mut fast = vec![0f32; range.len() * tokens];
            let mut slow = fast.clone();
            matmul(w, range.clone(), &x, &mut fast);
            matmul_scalar(w, range, &x, &mut slow);
            for (a, b) in fast.iter().zip(&slow) {
                // Same exact block integers; only the f32 summation order differs.
                assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn simd_tiles_equal_the_scalar_reference() {
        let (rows, cols) = (13, 96);
        let bits = random(rows * cols, 7);
        let q8: Vec<BlockQ8_0> = bits
            .chunks_exact(BLOCK)
            .map(|b| BlockQ8_0 {
                d: f16::from_f32(b[0].abs() / 64.0).to_bits(),
                qs: std::array::from_fn(|i| (b[i] * 127.0) as i8),
            })
            .collect();
        check(&q8, rows, cols);
        let q4: Vec<BlockQ4_1> = bits
            .chunks_exact(BLOCK)
            .map(|b| BlockQ4_1 {
                d: f16::from_f32(b[0].abs() / 8.0).to_bits(),
                m: f16::from_f32(b[1]).to_bits(),
                qs: std::array::from_fn(|i| ((b[i] + 1.0) * 127.9) as u8),
            })
            .collect();
        check(&q4, rows, cols);
    }
}
