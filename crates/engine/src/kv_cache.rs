//! Growable per-layer key/value cache that can be truncated to a prefix, so a chat turn re-uses the
//! keys/values of the unchanged history and only prefills what is new.

use candle_core::{Tensor, D};

use crate::error::Result;

/// Initial capacity in positions; capacity doubles when full (amortized O(1) appends, no per-token copy).
const MIN_CAPACITY: usize = 256;

#[derive(Debug, Clone, Default)]
struct LayerCache {
    /// (batch, kv_heads, capacity, head_dim)
    keys: Option<Tensor>,
    values: Option<Tensor>,
}

#[derive(Debug, Clone)]
pub struct KvCache {
    layers: Vec<LayerCache>,
    len: usize,
    /// Token ids whose keys/values are cached, position by position.
    tokens: Vec<u32>,
}

fn grow(buffer: &Option<Tensor>, new: &Tensor, len: usize) -> Result<Tensor> {
    let needed = len + new.dim(2)?;
    match buffer {
        Some(b) if b.dim(2)? >= needed => Ok(b.clone()),
        _ => {
            let (batch, heads, _, head_dim) = new.dims4()?;
            let capacity = needed.max(MIN_CAPACITY).next_power_of_two();
            let bigger = Tensor::zeros(
                (batch, heads, capacity, head_dim),
                new.dtype(),
                new.device(),
            )?;
            if let Some(old) = buffer {
                bigger.slice_set(&old.narrow(2, 0, len)?.contiguous()?, 2, 0)?;
            }
            Ok(bigger)
        }
    }
}

impl KvCache {
    pub fn new(n_layers: usize) -> Self {
        Self {
            layers: vec![LayerCache::default(); n_layers],
            len: 0,
            tokens: Vec::new(),
        }
    }

    /// Number of cached positions.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// Forgets every position from `len` on.
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
        self.tokens.truncate(self.len);
    }

    /// Records the ids of positions appended by a forward pass (called once per pass, after all layers).
    pub(crate) fn commit(&mut self, tokens: &[u32]) {
        self.len += tokens.len();
        self.tokens.extend_from_slice(tokens);
    }

    /// Appends layer `layer`'s new keys/values (batch, kv_heads, seq, head_dim) at the current position
    /// and returns all keys/values so far.
    pub(crate) fn append(
        &mut self,
        layer: usize,
        keys: &Tensor,
        values: &Tensor,
    ) -> Result<(Tensor, Tensor)> {
        let len = self.len;
        let seq = keys.dim(2)?;
        let cache = &mut self.layers[layer];
        let k_buf = grow(&cache.keys, keys, len)?;
        let v_buf = grow(&cache.values, values, len)?;
        k_buf.slice_set(&keys.contiguous()?, 2, len)?;
        v_buf.slice_set(&values.contiguous()?, 2, len)?;
        let all_k = k_buf.narrow(2, 0, len + seq)?;
        let all_v = v_buf.narrow(2, 0, len + seq)?;
        cache.keys = Some(k_buf);
        cache.values = Some(v_buf);
        debug_assert_eq!(all_k.dim(D::Minus1)?, keys.dim(D::Minus1)?);
        Ok((all_k, all_v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

    #[test]
    fn appends_grow_and_truncate_keeps_the_prefix() {
        let dev = Device::Cpu;
        let mut cache = KvCache::new(1);
        let a = Tensor::arange(0f32, 300.0 * 2.0, &dev)
            .unwrap()
            .reshape((1, 1, 300, 2))
            .unwrap();
        let (k, _) = cache.append(0, &a, &a).unwrap();
        cache.commit(&[7; 300]);
        assert_eq!(k.dims(), &[1, 1, 300, 2]);
        cache.truncate(10);
        assert_eq!(cache.tokens().len(), 10);
        let b = Tensor::full(-1f32, (1, 1, 1, 2), &dev).unwrap();
        let (k, _) = cache.append(0, &b, &b).unwrap();
        cache.commit(&[8]);
        assert_eq!(k.dims(), &[1, 1, 11, 2]);
        let row9: Vec<f32> = k
            .narrow(2, 9, 1)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let row10: Vec<f32> = k
            .narrow(2, 10, 1)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_eq!(row9, vec![18.0, 19.0]);
        assert_eq!(row10, vec![-1.0, -1.0]);
        assert_eq!(k.dtype(), DType::F32);
    }
}
