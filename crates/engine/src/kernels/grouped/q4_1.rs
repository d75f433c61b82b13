//! Q4_1 in groups of eight rows: a block's sums stay in 16-bit lanes until its end (each lane adds 8
//! products of at most 15 * 128), and one pass applies eight scales and eight offsets.

use bytemuck::{Pod, Zeroable};

use super::{GroupFormat, ROWS};
use crate::kernels::quant::{BlockQ4_1, QuantizedRows};

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

impl GroupFormat for Q4_1x8 {
    type Block = BlockQ4_1;
    type Group = Group;

    fn group(rows: &[BlockQ4_1; ROWS]) -> Group {
        Group {
            d: std::array::from_fn(|r| rows[r].d),
            m: std::array::from_fn(|r| rows[r].m),
            qs: std::array::from_fn(|i| rows[i % 32 / 4].qs[4 * (i / 32) + i % 4]),
        }
    }

    fn block(group: &Group, r: usize) -> BlockQ4_1 {
        BlockQ4_1 {
            d: group.d[r],
            m: group.m[r],
            qs: std::array::from_fn(|j| group.qs[32 * (j / 4) + 4 * r + j % 4]),
        }
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
mod avx2 {
    use std::arch::x86_64::*;

    use super::{Group, ROWS};
    use crate::kernels::quant::{QuantizedRows, BLOCK};

    /// Groups ahead to prefetch (decode streams the weights once from memory).
    const PREFETCH_GROUPS: usize = 4;

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
        let nibble = _mm256_set1_epi8(0xF);
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
        for (lanes, a) in out.iter_mut().zip(acc) {
            // SAFETY: lanes holds 8 f32.
            unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), a) };
        }
    }
}
