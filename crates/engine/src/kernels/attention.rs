//! Attention of one new token over the cached keys/values, straight from the cache buffers: decode
//! would otherwise spend more time in a dozen small tensor ops (transposes, two batched matmuls, mask,
//! softmax, reshapes) than in the arithmetic.

use candle_core::{CpuStorage, DType, Layout, Storage, Tensor};
use rayon::prelude::*;

use crate::error::Result;

/// Below this many cached positions a head's work is shorter than waking another thread.
const PARALLEL_FROM_POSITIONS: usize = 32;

/// Keys or values of one layer as laid out in the cache: (1, kv_heads, positions, head_dim) with
/// arbitrary head and position strides.
struct Heads<'a> {
    data: &'a [f32],
    head_stride: usize,
    pos_stride: usize,
}

impl<'a> Heads<'a> {
    /// `None` unless each head_dim row is contiguous.
    fn new(data: &'a [f32], layout: &Layout) -> Option<Self> {
        let s = layout.stride();
        (s.len() == 4 && s[3] == 1).then(|| Self {
            data: &data[layout.start_offset()..],
            head_stride: s[1],
            pos_stride: s[2],
        })
    }

    fn row(&self, head: usize, pos: usize, head_dim: usize) -> &[f32] {
        &self.data[head * self.head_stride + pos * self.pos_stride..][..head_dim]
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Eight independent lanes so the loop vectorizes (f32 sums are not reassociated otherwise).
    let mut acc = [0f32; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ac.zip(bc) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// out[h] = softmax(q[h] · K[h / n_rep]ᵀ / sqrt(d)) V[h / n_rep] for every query head h; returns
/// (1, 1, heads * head_dim), or `None` if the tensors are not contiguous-row f32 CPU tensors.
/// `q` is (1, heads, 1, head_dim); `k`, `v` are (1, kv_heads, positions, head_dim) cache views.
pub fn single_token(q: &Tensor, k: &Tensor, v: &Tensor) -> Result<Option<Tensor>> {
    let (_, heads, _, head_dim) = q.dims4()?;
    let (_, kv_heads, positions, _) = k.dims4()?;
    if q.dtype() != DType::F32 || !q.device().is_cpu() || heads % kv_heads != 0 {
        return Ok(None);
    }
    let q = q.flatten_all()?.to_vec1::<f32>()?;
    let (k_store, k_layout) = k.storage_and_layout();
    let (v_store, v_layout) = v.storage_and_layout();
    let (Storage::Cpu(CpuStorage::F32(k_data)), Storage::Cpu(CpuStorage::F32(v_data))) =
        (&*k_store, &*v_store)
    else {
        return Ok(None);
    };
    let (Some(keys), Some(values)) = (Heads::new(k_data, k_layout), Heads::new(v_data, v_layout))
    else {
        return Ok(None);
    };
    let n_rep = heads / kv_heads;
    // Scaled after the product like the batched path and llama.cpp.
    let scale = 1.0 / (head_dim as f32).sqrt();
    let mut out = vec![0f32; heads * head_dim];
    let head = |(h, out_h): (usize, &mut [f32])| {
        let q_h = &q[h * head_dim..(h + 1) * head_dim];
        let kv = h / n_rep;
        let mut probs: Vec<f32> = (0..positions)
            .map(|p| dot(q_h, keys.row(kv, p, head_dim)) * scale)
            .collect();
        let max = probs.iter().fold(f32::NEG_INFINITY, |m, &s| m.max(s));
        let mut sum = 0f32;
        for s in probs.iter_mut() {
            *s = (*s - max).exp();
            sum += *s;
        }
        for (p, &w) in probs.iter().enumerate() {
            let w = w / sum;
            for (o, &x) in out_h.iter_mut().zip(values.row(kv, p, head_dim)) {
                *o += w * x;
            }
        }
    };
    // Heads in parallel once the context makes them worth a hand-off to the other threads.
    if positions >= PARALLEL_FROM_POSITIONS {
        out.par_chunks_mut(head_dim).enumerate().for_each(head);
    } else {
        out.chunks_mut(head_dim).enumerate().for_each(head);
    }
    Ok(Some(Tensor::from_vec(
        out,
        (1, 1, heads * head_dim),
        k.device(),
    )?))
}
