//! Q8_0 in groups of eight rows. `maddubs` takes unsigned by signed bytes, so each chunk goes in as
//! |w| with w's sign moved onto the activations; a pair of products reaches 2 * 128 * 127, so every
//! chunk widens to 32 bits at once.

use bytemuck::{Pod, Zeroable};
use candle_core::quantized::GgmlDType;

use super::{GroupFormat, ROWS};
use crate::kernels::quant::{BlockQ8_0, QuantizedRows, BLOCK};

/// Q8_0 rows in groups of eight.
#[derive(Debug)]
pub struct Q8_0x8;

/// One 32-value block of eight rows (272 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct Group {
    /// f16 bits of rows 0..8's scales.
    d: [u16; ROWS],
    /// Chunk c (32 bytes from 32c) holds at bytes 4r..4r+4 row r's values 4c..4c+4.
    qs: [i8; BLOCK * ROWS],
}

impl Group {
    /// Row r's block in ggml's layout.
    fn block(&self, r: usize) -> BlockQ8_0 {
        BlockQ8_0 {
            d: self.d[r],
            qs: std::array::from_fn(|j| self.qs[32 * (j / 4) + 4 * r + j % 4]),
        }
    }
}

impl GroupFormat for Q8_0x8 {
    const DTYPE: GgmlDType = GgmlDType::Q8_0;
    type Block = BlockQ8_0;
    const VALUES: usize = BLOCK;
    type Group = Group;

    fn group(rows: &[BlockQ8_0; ROWS]) -> Group {
        Group {
            d: std::array::from_fn(|r| rows[r].d),
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
mod avx2 {
    use std::arch::x86_64::*;

    use super::{Group, ROWS};
    use crate::kernels::quant::{QuantizedRows, BLOCK};

    /// Groups ahead to prefetch (decode streams the weights once from memory).
    const PREFETCH_GROUPS: usize = 3;

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
        let (xq, xd) = (x.qs().as_ptr(), x.scales());
        let mut acc = [_mm256_setzero_ps(); RN];
        for (k, group) in groups.iter().enumerate() {
            // SAFETY: x rows t..t+RN hold block k (the contract); prefetches never fault.
            unsafe {
                let ahead = (group as *const Group)
                    .wrapping_add(PREFETCH_GROUPS)
                    .cast::<i8>();
                for line in [0, 64, 128, 192, 256] {
                    _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(line));
                }
                let mut sums = [_mm256_setzero_si256(); RN];
                for c in 0..BLOCK / 4 {
                    let w = _mm256_loadu_si256(group.qs.as_ptr().add(32 * c).cast());
                    let magnitude = _mm256_sign_epi8(w, w);
                    for (j, sum) in sums.iter_mut().enumerate() {
                        let xb = xq.add((t + j) * x.cols() + k * BLOCK + 4 * c);
                        let xv = _mm256_set1_epi32(xb.cast::<i32>().read_unaligned());
                        let p = _mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(xv, w));
                        *sum = _mm256_add_epi32(*sum, _mm256_madd_epi16(p, ones));
                    }
                }
                let d = _mm256_cvtph_ps(_mm_loadu_si128(group.d.as_ptr().cast()));
                for (j, a) in acc.iter_mut().enumerate() {
                    let xk = (t + j) * nb + k;
                    let scale = _mm256_mul_ps(d, _mm256_set1_ps(*xd.get_unchecked(xk)));
                    *a = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(sums[j]), *a);
                }
            }
        }
        for (lanes, a) in out.iter_mut().zip(acc) {
            // SAFETY: lanes holds 8 f32.
            unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), a) };
        }
    }
}
