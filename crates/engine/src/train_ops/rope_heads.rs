//! The moves between a projection's (batch, seq, heads·head_dim) output and attention's
//! (batch, heads, seq, head_dim) layout, with rope applied on the way in.
//!
//! Composed from candle ops this is a reshape, a strided copy for the transpose and rope's six
//! elementwise passes, and their backward again; here it is one pass each way. A rotation's
//! backward is the rotation by the opposite angle.

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::{values, with_values};

/// Rope's per-position cos/sin tables, (positions, head_dim / 2) each.
#[derive(Clone)]
pub(crate) struct RopeTables {
    pub cos: Tensor,
    pub sin: Tensor,
    /// Adjacent pairs (llama.cpp's permuted llama layout) rather than the two halves of a head.
    pub interleaved: bool,
}

/// (b, seq, heads·d) -> (b, heads, seq, d), rotated for positions start.. when `rope` is given.
pub(crate) fn split_heads(
    x: &Tensor,
    heads: usize,
    rope: Option<&RopeTables>,
    start: usize,
) -> candle_core::Result<Tensor> {
    let (_, seq, width) = x.dims3()?;
    if heads == 0 || width % heads != 0 {
        candle_core::bail!("split-heads: width {width} over {heads} heads");
    }
    if let Some(r) = rope {
        let (positions, half) = r.cos.dims2()?;
        if 2 * half != width / heads || start + seq > positions {
            candle_core::bail!(
                "split-heads: rope tables {:?} for head_dim {} at {start}+{seq}",
                r.cos.dims(),
                width / heads
            );
        }
    }
    x.contiguous()?.apply_op1(Heads {
        heads,
        split: true,
        rope: rope.cloned().map(|tables| (tables, start)),
    })
}

/// (b, heads, seq, d) -> (b, seq, heads·d).
pub(crate) fn merge_heads(x: &Tensor) -> candle_core::Result<Tensor> {
    let heads = x.dim(1)?;
    x.contiguous()?.apply_op1(Heads {
        heads,
        split: false,
        rope: None,
    })
}

struct Heads {
    heads: usize,
    /// Into the heads layout (else out of it).
    split: bool,
    rope: Option<(RopeTables, usize)>,
}

/// One position's rotation: cos/sin rows of head_dim / 2, and the angle's sign.
struct Rotation<'a> {
    cos: &'a [f32],
    sin: &'a [f32],
    sign: f32,
    interleaved: bool,
}

impl Rotation<'_> {
    fn apply(&self, src: &[f32], dst: &mut [f32]) {
        let half = self.cos.len();
        for i in 0..half {
            let (c, s) = (self.cos[i], self.sign * self.sin[i]);
            let (a, b) = if self.interleaved {
                (2 * i, 2 * i + 1)
            } else {
                (i, i + half)
            };
            dst[a] = src[a] * c - src[b] * s;
            dst[b] = src[b] * c + src[a] * s;
        }
    }
}

impl Heads {
    /// Moves `src` into the heads layout (`split`) or out of it, rotating each head vector by
    /// `sign` times its position's angle when the op has rope tables.
    fn transfer(
        &self,
        src: &[f32],
        dims: (usize, usize, usize),
        split: bool,
        sign: f32,
    ) -> candle_core::Result<Vec<f32>> {
        let (_, seq, d) = dims;
        let n = self.heads;
        // The rows of positions start..start+seq.
        let rows = |table: &Tensor, start: usize| {
            with_values(&table.narrow(0, start, seq)?, "rope", <[f32]>::to_vec)
        };
        let tables = match &self.rope {
            Some((t, start)) => Some((rows(&t.cos, *start)?, rows(&t.sin, *start)?, t.interleaved)),
            None => None,
        };
        let half = d / 2;
        let rotation = |pos: usize| {
            tables.as_ref().map(|(cos, sin, interleaved)| Rotation {
                cos: &cos[pos * half..(pos + 1) * half],
                sin: &sin[pos * half..(pos + 1) * half],
                sign,
                interleaved: *interleaved,
            })
        };
        let copy = |src: &[f32], dst: &mut [f32], pos: usize| match rotation(pos) {
            Some(r) => r.apply(src, dst),
            None => dst.copy_from_slice(src),
        };
        let mut dst = vec![0f32; src.len()];
        if split {
            // dst (b, n, seq, d): one task per (batch, head).
            dst.par_chunks_mut(seq * d)
                .enumerate()
                .for_each(|(bh, out)| {
                    let (bi, h) = (bh / n, bh % n);
                    for (t, out) in out.chunks_exact_mut(d).enumerate() {
                        let at = ((bi * seq + t) * n + h) * d;
                        copy(&src[at..at + d], out, t);
                    }
                });
        } else {
            // dst (b, seq, n·d): one task per (batch, position).
            dst.par_chunks_mut(n * d).enumerate().for_each(|(bt, out)| {
                let (bi, t) = (bt / seq, bt % seq);
                for (h, out) in out.chunks_exact_mut(d).enumerate() {
                    let at = ((bi * n + h) * seq + t) * d;
                    copy(&src[at..at + d], out, t);
                }
            });
        }
        Ok(dst)
    }

    /// (b, seq, d) of the projection-side layout, from this op's input or output shape.
    fn dims(
        &self,
        shape: &[usize],
        projection_side: bool,
    ) -> candle_core::Result<(usize, usize, usize)> {
        Ok(match (projection_side, shape) {
            (true, &[b, seq, width]) => (b, seq, width / self.heads),
            (false, &[b, _, seq, d]) => (b, seq, d),
            _ => candle_core::bail!("heads: unexpected shape {shape:?}"),
        })
    }

    fn shape(&self, (b, seq, d): (usize, usize, usize), projection_side: bool) -> Shape {
        if projection_side {
            Shape::from((b, seq, self.heads * d))
        } else {
            Shape::from((b, self.heads, seq, d))
        }
    }
}

impl CustomOp1 for Heads {
    fn name(&self) -> &'static str {
        if self.split {
            "split-heads"
        } else {
            "merge-heads"
        }
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let dims = self.dims(l.dims(), self.split)?;
        let out = self.transfer(values(s, l, self.name())?, dims, self.split, 1.0)?;
        Ok((CpuStorage::F32(out), self.shape(dims, !self.split)))
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, g: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let dims = self.dims(x.dims(), self.split)?;
        let dx = with_values(g, self.name(), |g| {
            self.transfer(g, dims, !self.split, -1.0)
        })??;
        Ok(Some(Tensor::from_vec(
            dx,
            self.shape(dims, self.split),
            x.device(),
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train_ops::testing::assert_same_values_and_gradients;
    use candle_core::{Device, Var};

    #[test]
    fn split_with_rope_matches_candles_transpose_and_slow_rope() {
        let dev = Device::Cpu;
        let (b, seq, n, d, start) = (2, 7, 3, 8, 5);
        let x = Var::randn(0f32, 1.0, (b, seq, n * d), &dev).unwrap();
        let cos = Tensor::randn(0f32, 1.0, (20, d / 2), &dev).unwrap();
        let sin = Tensor::randn(0f32, 1.0, (20, d / 2), &dev).unwrap();
        for interleaved in [false, true] {
            let tables = RopeTables {
                cos: cos.clone(),
                sin: sin.clone(),
                interleaved,
            };
            let reference = || {
                let h = x
                    .as_tensor()
                    .reshape((b, seq, n, d))
                    .unwrap()
                    .transpose(1, 2)
                    .unwrap()
                    .contiguous()
                    .unwrap();
                let (c, s) = (
                    cos.narrow(0, start, seq).unwrap(),
                    sin.narrow(0, start, seq).unwrap(),
                );
                if interleaved {
                    candle_nn::rotary_emb::rope_i_slow(&h, &c, &s).unwrap()
                } else {
                    candle_nn::rotary_emb::rope_slow(&h, &c, &s).unwrap()
                }
            };
            assert_same_values_and_gradients(
                &[&x],
                || split_heads(x.as_tensor(), n, Some(&tables), start).unwrap(),
                reference,
                1e-5,
            );
        }
    }

    #[test]
    fn split_and_merge_without_rope_are_candles_transposes() {
        let dev = Device::Cpu;
        let x = Var::randn(0f32, 1.0, (2, 5, 12), &dev).unwrap();
        assert_same_values_and_gradients(
            &[&x],
            || split_heads(x.as_tensor(), 3, None, 0).unwrap(),
            || {
                x.as_tensor()
                    .reshape((2, 5, 3, 4))
                    .unwrap()
                    .transpose(1, 2)
                    .unwrap()
                    .contiguous()
                    .unwrap()
            },
            1e-6,
        );
        let h = Var::randn(0f32, 1.0, (2, 3, 5, 4), &dev).unwrap();
        assert_same_values_and_gradients(
            &[&h],
            || merge_heads(h.as_tensor()).unwrap(),
            || {
                h.as_tensor()
                    .transpose(1, 2)
                    .unwrap()
                    .reshape((2, 5, 12))
                    .unwrap()
            },
            1e-6,
        );
        let round_trip = merge_heads(&split_heads(x.as_tensor(), 3, None, 0).unwrap()).unwrap();
        assert_eq!(
            crate::test_models::max_abs_diff(&round_trip, x.as_tensor()),
            0.0
        );
    }
}
