//! Q4_1 in groups of eight rows: a block's sums stay in 16-bit lanes until its end, and one pass
//! applies eight scales and eight offsets.

use bytemuck::{Pod, Zeroable};
use candle_core::quantized::GgmlDType;

use super::{GroupFormat, ROWS};
use crate::kernels::quant::{BlockQ4_1, QuantizedRows, BLOCK};

/// Q4_1 rows in groups of eight.
#[derive(Debug)]
pub struct Q4_1x8;

/// One 32-value block of eight rows (160 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct Group {
    /// f16 bits of rows 0..8's scales and offsets.
    d: [u16; ROWS],
    m: [u16; ROWS],
    /// Chunk c (32 bytes from 32c) holds at bytes 4r..4r+4 row r's Q4_1 bytes 4c..4c+4: values
    /// 4c..4c+4 in the low nibbles and 16+4c..16+4c+4 in the high ones.
    qs: [u8; 4 * 4 * ROWS],
}

impl Group {
    /// Row r's block in ggml's layout.
    fn block(&self, r: usize) -> BlockQ4_1 {
        BlockQ4_1 {
            d: self.d[r],
            m: self.m[r],
            qs: std::array::from_fn(|j| self.qs[32 * (j / 4) + 4 * r + j % 4]),
        }
    }
}

impl GroupFormat for Q4_1x8 {
    const DTYPE: GgmlDType = GgmlDType::Q4_1;
    type Block = BlockQ4_1;
    const VALUES: usize = BLOCK;
    type Group = Group;

    fn group(rows: &[BlockQ4_1; ROWS]) -> Group {
        Group {
            d: std::array::from_fn(|r| rows[r].d),
            m: std::array::from_fn(|r| rows[r].m),
            qs: std::array::from_fn(|i| rows[i % 32 / 4].qs[4 * (i / 32) + i % 4]),
        }
    }

    fn dequantize(group: &Group, r: usize, out: &mut [f32]) {
        super::dequantize_block(&group.block(r), out);
    }

    fn dot_scalar(groups: &[Group], r: usize, x: &QuantizedRows, t: usize) -> f32 {
        super::dot_blocks(groups.iter().map(|g| g.block(r)), x, t)
    }

    #[cfg(target_arch = "x86_64")]
    unsafe fn tile<const RN: usize>(
        groups: &[Group],
        x: &QuantizedRows,
        t: usize,
        sums: &mut [[f32; ROWS]; RN],
    ) {
        // SAFETY: forwarded from this function's contract.
        unsafe { avx2::tile(groups, x, t, sums) }
    }
}

#[cfg(target_arch = "x86_64")]
pub(super) mod avx2 {
    use std::arch::x86_64::*;

    use super::{Group, ROWS};
    use crate::kernels::quant::{QuantizedRows, BLOCK};

    /// Groups ahead to prefetch (decode streams the weights once from memory).
    const PREFETCH_GROUPS: usize = 4;

    /// Per activation block `xb[j]` (32 values): its i16 products with one 32-value block of eight
    /// rows laid out as `Group::qs`, lane r for row r. Each lane adds 8 pairs of products of at most
    /// 15 * 127: below 2^15.
    ///
    /// # Safety
    /// AVX2 must be available and every `xb[j]` point at 32 readable bytes.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(in crate::kernels::grouped) unsafe fn block_sums<const RN: usize>(
        qs: &[u8; 128],
        xb: [*const i8; RN],
    ) -> [__m256i; RN] {
        let nibble = _mm256_set1_epi8(0xF);
        let mut sums = [_mm256_setzero_si256(); RN];
        for c in 0..4 {
            // SAFETY: c < 4 keeps the loads in qs; xb's 32 bytes are the contract.
            unsafe {
                let v = _mm256_loadu_si256(qs.as_ptr().add(32 * c).cast());
                let lo = _mm256_and_si256(v, nibble);
                let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), nibble);
                for (sum, xb) in sums.iter_mut().zip(xb) {
                    let xl = _mm256_set1_epi32(xb.add(4 * c).cast::<i32>().read_unaligned());
                    let xh = _mm256_set1_epi32(xb.add(16 + 4 * c).cast::<i32>().read_unaligned());
                    let p = _mm256_add_epi16(
                        _mm256_maddubs_epi16(lo, xl),
                        _mm256_maddubs_epi16(hi, xh),
                    );
                    *sum = _mm256_add_epi16(*sum, p);
                }
            }
        }
        sums
    }

    /// # Safety
    /// As for `GroupFormat::tile`.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn tile<const RN: usize>(
        groups: &[Group],
        x: &QuantizedRows,
        t: usize,
        out: &mut [[f32; ROWS]; RN],
    ) {
        let nb = groups.len();
        let ones = _mm256_set1_epi16(1);
        let (xq, xd, xs) = (x.qs().as_ptr(), x.scales(), x.sums());
        let mut acc = [_mm256_setzero_ps(); RN];
        for (k, group) in groups.iter().enumerate() {
            // SAFETY: x rows t..t+RN hold block k (the contract); prefetches never fault.
            unsafe {
                let ahead = (group as *const Group)
                    .wrapping_add(PREFETCH_GROUPS)
                    .cast::<i8>();
                for line in [0, 64, 128] {
                    _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(line));
                }
                let sums = block_sums::<RN>(
                    &group.qs,
                    std::array::from_fn(|j| xq.add((t + j) * x.cols() + k * BLOCK)),
                );
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
        for (lanes, a) in out.iter_mut().zip(acc) {
            // SAFETY: lanes holds 8 f32.
            unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), a) };
        }
    }
}
