//! Attention of one new token over the cached keys/values, straight from the cache buffers: decode
//! would otherwise spend more time in a dozen small tensor ops (transposes, two batched matmuls, mask,
//! softmax, reshapes) than in the arithmetic. The query heads that share a key/value head are taken
//! together, so each cached row is read once, and a long context is split into spans whose partial
//! softmaxes merge exactly: with SmolLM2's 3 key/value heads on 2 threads, head-sized tasks left a
//! thread idle (2-thread decode after a 1000-token prompt: 47.8 -> 57.8 tok/s, medians of 5).

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

/// Positions a task takes at least: shorter spans cost more in hand-off and merging than they save.
const MIN_SPAN: usize = 64;

/// One task's share of a key/value head: for each of its query heads (n_rep of them, sharing the
/// head), the largest score, the sum of exp(score - largest) and the values weighted by those
/// exponentials, over one span of positions.
struct Partial {
    max: Vec<f32>,
    sum: Vec<f32>,
    weighted: Vec<f32>,
}

/// The query heads `qs` (n_rep rows of head_dim) of key/value head `kv` over `span`: every key and
/// value row is read once for all the query heads that share it.
fn partial(
    qs: &[f32],
    head_dim: usize,
    keys: &Heads,
    values: &Heads,
    kv: usize,
    span: std::ops::Range<usize>,
    scale: f32,
) -> Partial {
    let n_rep = qs.len() / head_dim;
    let n = span.len();
    let mut scores = vec![0f32; n_rep * n];
    for (j, p) in span.clone().enumerate() {
        let k = keys.row(kv, p, head_dim);
        for (r, q) in qs.chunks_exact(head_dim).enumerate() {
            // Scaled after the product like the batched path and llama.cpp.
            scores[r * n + j] = dot(q, k) * scale;
        }
    }
    let (mut max, mut sum) = (vec![f32::NEG_INFINITY; n_rep], vec![0f32; n_rep]);
    for (r, row) in scores.chunks_exact_mut(n.max(1)).enumerate() {
        max[r] = row.iter().fold(f32::NEG_INFINITY, |m, &s| m.max(s));
        for s in row.iter_mut() {
            *s = (*s - max[r]).exp();
            sum[r] += *s;
        }
    }
    let mut weighted = vec![0f32; n_rep * head_dim];
    for (j, p) in span.enumerate() {
        let v = values.row(kv, p, head_dim);
        for (r, out) in weighted.chunks_exact_mut(head_dim).enumerate() {
            let w = scores[r * n + j];
            for (o, &x) in out.iter_mut().zip(v) {
                *o += w * x;
            }
        }
    }
    Partial { max, sum, weighted }
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
    let scale = 1.0 / (head_dim as f32).sqrt();
    // Each key/value head's positions in spans, enough of them to keep every thread busy when there
    // are fewer heads than threads (SmolLM2 has 3), each a task whose partial softmax is merged below.
    let spans = if positions >= PARALLEL_FROM_POSITIONS {
        (2 * rayon::current_num_threads())
            .div_ceil(kv_heads)
            .min(positions.div_ceil(MIN_SPAN))
            .max(1)
    } else {
        1
    };
    let span_len = positions.div_ceil(spans).max(1);
    let task = |i: usize| {
        let (kv, s) = (i / spans, i % spans);
        let span = (s * span_len).min(positions)..((s + 1) * span_len).min(positions);
        let qs = &q[kv * n_rep * head_dim..(kv + 1) * n_rep * head_dim];
        partial(qs, head_dim, &keys, &values, kv, span, scale)
    };
    let parts: Vec<Partial> = if positions >= PARALLEL_FROM_POSITIONS {
        (0..kv_heads * spans).into_par_iter().map(task).collect()
    } else {
        (0..kv_heads * spans).map(task).collect()
    };
    // softmax over all spans: each span's sums and weighted values rescaled to the overall maximum.
    let mut out = vec![0f32; heads * head_dim];
    for (h, out_h) in out.chunks_exact_mut(head_dim).enumerate() {
        let (kv, r) = (h / n_rep, h % n_rep);
        let parts = &parts[kv * spans..(kv + 1) * spans];
        let max = parts.iter().fold(f32::NEG_INFINITY, |m, p| m.max(p.max[r]));
        let mut total = 0f32;
        for p in parts {
            // An empty span's maximum is -inf: its factor is 0.
            let factor = if p.max[r].is_finite() {
                (p.max[r] - max).exp()
            } else {
                0.0
            };
            total += p.sum[r] * factor;
            for (o, &x) in out_h
                .iter_mut()
                .zip(&p.weighted[r * head_dim..(r + 1) * head_dim])
            {
                *o += factor * x;
            }
        }
        for o in out_h.iter_mut() {
            *o /= total;
        }
    }
    Ok(Some(Tensor::from_vec(
        out,
        (1, 1, heads * head_dim),
        k.device(),
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// softmax(q K^T / sqrt(d)) V head by head, in f64.
    fn reference(
        q: &[f32],
        k: &[f32],
        v: &[f32],
        heads: usize,
        kv_heads: usize,
        d: usize,
    ) -> Vec<f32> {
        let positions = k.len() / (kv_heads * d);
        let mut out = vec![0f32; heads * d];
        for h in 0..heads {
            let kv = h / (heads / kv_heads);
            let row = |m: &[f32], p: usize| m[(kv * positions + p) * d..][..d].to_vec();
            let scores: Vec<f64> = (0..positions)
                .map(|p| {
                    let k = row(k, p);
                    (0..d)
                        .map(|i| q[h * d + i] as f64 * k[i] as f64)
                        .sum::<f64>()
                        / (d as f64).sqrt()
                })
                .collect();
            let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let total: f64 = scores.iter().map(|s| (s - max).exp()).sum();
            for (p, s) in scores.iter().enumerate() {
                let v = row(v, p);
                for i in 0..d {
                    out[h * d + i] += ((s - max).exp() / total * v[i] as f64) as f32;
                }
            }
        }
        out
    }

    #[test]
    fn grouped_heads_and_split_spans_equal_plain_attention() {
        let dev = Device::Cpu;
        let (heads, kv_heads, d) = (9, 3, 64);
        // Short (one span, no threads), just past the parallel threshold, and long (many spans).
        for positions in [1, 5, PARALLEL_FROM_POSITIONS, 300] {
            let q = Tensor::randn(0f32, 1.0, (1, heads, 1, d), &dev).unwrap();
            let k = Tensor::randn(0f32, 1.0, (1, kv_heads, positions, d), &dev).unwrap();
            let v = Tensor::randn(0f32, 1.0, (1, kv_heads, positions, d), &dev).unwrap();
            let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let expected = reference(&flat(&q), &flat(&k), &flat(&v), heads, kv_heads, d);
            for threads in [1, 2, 3] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let ours = pool
                    .install(|| single_token(&q, &k, &v))
                    .unwrap()
                    .expect("f32 CPU");
                assert_eq!(ours.dims(), [1, 1, heads * d]);
                for (a, b) in flat(&ours).iter().zip(&expected) {
                    assert!(
                        (a - b).abs() < 1e-5,
                        "{positions} positions, {threads} threads: {a} vs {b}"
                    );
                }
            }
        }
    }
}
