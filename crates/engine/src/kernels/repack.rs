//! Q4_K weights unpacked at load into the Q4_1 blocks the engine's kernels multiply fast. A Q4_K
//! super-block (256 values) is eight 32-value sub-blocks, each `d·sc·q − dmin·m` with 6-bit `sc`, `m`:
//! exactly a Q4_1 block with scale `d·sc` and offset `−dmin·m`. The only change is those two products
//! rounded to f16 (relative error ≤ 2⁻¹², far below the 4-bit steps); the price is 11% more bytes
//! (20 per 32 values instead of 18).

use bytemuck::{Pod, Zeroable};
use candle_core::quantized::{ggml_file, GgmlDType, QTensor};
use candle_core::Device;
use half::f16;

use super::quant::BlockQ4_1;
use crate::error::Result;

/// ggml's `block_q4_K` (144 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct BlockQ4K {
    d: u16,
    dmin: u16,
    /// Eight 6-bit scales and eight 6-bit mins, packed.
    scales: [u8; 12],
    /// Byte l of quarter p holds sub-block 2p's value l (low nibble) and sub-block 2p+1's (high).
    qs: [u8; 128],
}

/// Sub-block `j`'s 6-bit scale and min (ggml's `get_scale_min_k4` layout).
fn scale_min(j: usize, s: &[u8; 12]) -> (u8, u8) {
    if j < 4 {
        (s[j] & 63, s[j + 4] & 63)
    } else {
        (
            (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4),
            (s[j + 4] >> 4) | ((s[j] >> 6) << 4),
        )
    }
}

/// The eight Q4_1 blocks of one super-block, or `None` if a scale does not fit an f16.
fn unpack(b: &BlockQ4K) -> Option<[BlockQ4_1; 8]> {
    let (d, dmin) = (
        f16::from_bits(b.d).to_f32(),
        f16::from_bits(b.dmin).to_f32(),
    );
    let mut out = [BlockQ4_1::zeroed(); 8];
    for (j, block) in out.iter_mut().enumerate() {
        let (sc, m) = scale_min(j, &b.scales);
        let (scale, offset) = (
            f16::from_f32(d * sc as f32),
            f16::from_f32(-dmin * m as f32),
        );
        if !scale.is_finite() || !offset.is_finite() {
            return None;
        }
        let bytes = &b.qs[32 * (j / 2)..32 * (j / 2) + 32];
        let value = |l: usize| (bytes[l] >> (4 * (j % 2))) & 0xF;
        block.d = scale.to_bits();
        block.m = offset.to_bits();
        // Q4_1 keeps value l in byte l's low nibble and value l + 16 in its high one.
        for (l, q) in block.qs.iter_mut().enumerate() {
            *q = value(l) | (value(l + 16) << 4);
        }
    }
    Some(out)
}

/// A CPU Q4_K matrix as Q4_1; any other tensor (or one whose scales overflow f16) unchanged.
pub fn for_cpu_kernels(q: QTensor) -> Result<QTensor> {
    if q.dtype() != GgmlDType::Q4K || !matches!(q.device(), Device::Cpu) {
        return Ok(q);
    }
    let data = q.data()?;
    let Ok(blocks) = bytemuck::try_cast_slice::<u8, BlockQ4K>(&data) else {
        return Ok(q);
    };
    let mut unpacked = Vec::with_capacity(blocks.len() * 8);
    for b in blocks {
        match unpack(b) {
            Some(sub) => unpacked.extend_from_slice(&sub),
            None => return Ok(q),
        }
    }
    let dims = q.shape().dims().to_vec();
    Ok(ggml_file::qtensor_from_ggml(
        GgmlDType::Q4_1,
        bytemuck::cast_slice(&unpacked),
        dims,
        &Device::Cpu,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Tensor;

    use crate::test_models::max_abs_diff;

    #[test]
    fn q4k_unpacks_to_q4_1_with_the_same_values() {
        let dev = Device::Cpu;
        let w = Tensor::randn(0f32, 0.05, (16, 512), &dev).unwrap();
        let q4k = QTensor::quantize(&w, GgmlDType::Q4K).unwrap();
        let expected = q4k.dequantize(&dev).unwrap();
        let q41 = for_cpu_kernels(q4k).unwrap();
        assert_eq!(q41.dtype(), GgmlDType::Q4_1);
        assert_eq!(q41.shape().dims(), [16, 512]);
        let got = q41.dequantize(&dev).unwrap();
        let diff = max_abs_diff(&got, &expected);
        let scale = max_abs_diff(&expected, &expected.zeros_like().unwrap());
        // Only the f16 rounding of each sub-block's scale and offset separates them.
        assert!(
            diff <= scale * 2e-3,
            "max |diff| {diff} for values up to {scale}"
        );
    }

    #[test]
    fn other_formats_pass_through() {
        let w = Tensor::randn(0f32, 1.0, (4, 256), &Device::Cpu).unwrap();
        let q = QTensor::quantize(&w, GgmlDType::Q8_0).unwrap();
        assert_eq!(for_cpu_kernels(q).unwrap().dtype(), GgmlDType::Q8_0);
    }
}
