//! A linear layer whose base weight may be quantized or dense, with an optional LoRA pair
//! added beside it: y = W·x + b + s·B(A·x). The LoRA path never merges into the base weight, so a persona
//! adapter applies to a quantized model without re-quantizing, and can be swapped per chat.

use std::sync::Arc;

use candle_core::quantized::QMatMul;
use candle_core::{DType, Module, Tensor};

use crate::error::{Error, Result};
use crate::kernels;
use crate::kernels::grouped::GroupedWeight;
use crate::rng::Rng;
use crate::train_ops::{lora_delta, FrozenMatmul};

/// Low-rank update in the PEFT layout: `a` is (rank, in), `b` is (out, rank), `scale` = alpha / rank.
#[derive(Debug, Clone)]
pub struct LoraPair {
    pub a: Tensor,
    pub b: Tensor,
    pub scale: f64,
}

impl LoraPair {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // On the CPU in f32, one op on the engine's kernel, with its backward (see `train_ops::lora`).
        if x.device().is_cpu() && (x.dtype(), self.a.dtype()) == (DType::F32, DType::F32) {
            return Ok(lora_delta(x, &self.a, &self.b, self.scale)?);
        }
        let down = x.broadcast_matmul(&self.a.t()?)?;
        Ok((down.broadcast_matmul(&self.b.t()?)? * self.scale)?)
    }
}

/// Training-time dropout on the LoRA path's input (PEFT's `lora_dropout`): y = W·x + s·B(A·drop(x)).
/// The mask is drawn from `seed` alone, so a run resumed from a checkpoint draws the masks a straight
/// run would have drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoraDropout {
    /// Probability of zeroing an input value; kept values are scaled by 1 / (1 - p).
    pub p: f32,
    pub seed: u64,
}

impl LoraDropout {
    fn apply(&self, x: &Tensor) -> Result<Tensor> {
        let keep = 1.0 - self.p;
        let mut rng = Rng(self.seed);
        let mask: Vec<f32> = (0..x.elem_count())
            .map(|_| if rng.unit() < keep { 1.0 / keep } else { 0.0 })
            .collect();
        let mask = Tensor::from_vec(mask, x.shape(), x.device())?.to_dtype(x.dtype())?;
        Ok((x * mask)?)
    }
}

/// A linear layer's (out, in) base weight.
#[derive(Debug, Clone)]
pub enum BaseWeight {
    /// Dense, or quantized in a ggml format (candle's storage).
    Candle(QMatMul),
    /// Q4_1, Q4_K or Q8_0, regrouped eight rows at a time for the engine's CPU kernels.
    Grouped(Arc<GroupedWeight>),
}

impl From<QMatMul> for BaseWeight {
    fn from(m: QMatMul) -> Self {
        Self::Candle(m)
    }
}

#[derive(Debug, Clone)]
pub struct Linear {
    base: BaseWeight,
    bias: Option<Tensor>,
    lora: Option<LoraPair>,
    lora_dropout: Option<LoraDropout>,
    in_features: usize,
    out_features: usize,
}

impl Linear {
    /// `base` holds an (out, in) weight.
    pub fn new(
        base: impl Into<BaseWeight>,
        bias: Option<Tensor>,
        out_features: usize,
        in_features: usize,
    ) -> Self {
        Self {
            base: base.into(),
            bias,
            lora: None,
            lora_dropout: None,
            in_features,
            out_features,
        }
    }

    pub fn in_features(&self) -> usize {
        self.in_features
    }

    pub fn out_features(&self) -> usize {
        self.out_features
    }

    pub fn lora(&self) -> Option<&LoraPair> {
        self.lora.as_ref()
    }

    /// Attaches (or with `None`, removes) a LoRA pair after checking its shapes against this layer.
    pub fn set_lora(&mut self, lora: Option<LoraPair>) -> Result<()> {
        if let Some(l) = &lora {
            let (rank, a_in) = l.a.dims2()?;
            let (b_out, b_rank) = l.b.dims2()?;
            if a_in != self.in_features || b_out != self.out_features || b_rank != rank {
                return Err(Error::Adapter(format!(
                    "LoRA A {:?} / B {:?} do not fit a {}x{} linear",
                    l.a.dims(),
                    l.b.dims(),
                    self.out_features,
                    self.in_features
                )));
            }
        }
        self.lora = lora;
        Ok(())
    }

    /// Turns dropout on the LoRA path on (training) or off (evaluation, inference).
    pub fn set_lora_dropout(&mut self, dropout: Option<LoraDropout>) {
        self.lora_dropout = dropout.filter(|d| d.p > 0.0);
    }

    pub fn is_quantized(&self) -> bool {
        matches!(
            self.base,
            BaseWeight::Candle(QMatMul::QTensor(_)) | BaseWeight::Grouped(_)
        )
    }

    /// Replaces a quantized base weight by its f32 dequantization (training needs a backward through it).
    pub fn dequantize(&mut self) -> Result<()> {
        if self.is_quantized() {
            self.base = QMatMul::Tensor(self.dense_weight()?).into();
        }
        Ok(())
    }

    /// The dense (out, in) base weight, dequantized if needed.
    pub fn dense_weight(&self) -> Result<Tensor> {
        Ok(match &self.base {
            BaseWeight::Candle(QMatMul::QTensor(q)) => q.dequantize(&q.device())?,
            BaseWeight::Candle(QMatMul::Tensor(t)) => t.clone(),
            BaseWeight::Candle(QMatMul::TensorF16(t)) => t.to_dtype(DType::F32)?,
            BaseWeight::Grouped(m) => m.to_tensor()?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let fast = match &self.base {
            BaseWeight::Candle(QMatMul::QTensor(q)) => kernels::matmul(q, x)?,
            BaseWeight::Grouped(m) => {
                kernels::matmul_grouped_many(&[m.as_ref()], x)?.map(|mut ys| ys.remove(0))
            }
            // Training: backpropagate to the input only (see `frozen_matmul`).
            BaseWeight::Candle(QMatMul::Tensor(w))
                if x.track_op()
                    && x.device().is_cpu()
                    && (x.dtype(), w.dtype()) == (DType::F32, DType::F32) =>
            {
                Some(
                    x.contiguous()?
                        .apply_op1(FrozenMatmul { weight: w.clone() })?,
                )
            }
            _ => None,
        };
        let y = match (fast, &self.base) {
            (Some(y), _) => y,
            (None, BaseWeight::Candle(m)) => m.forward(x)?,
            // An input the kernel does not take (not f32): through the dense weight.
            (None, BaseWeight::Grouped(_)) => x.broadcast_matmul(&self.dense_weight()?.t()?)?,
        };
        self.add_bias_and_lora(y, x)
    }

    /// Several layers that read the same input (q/k/v, gate/up): on quantized weights the engine's
    /// kernels quantize the input once and run the products in one parallel region.
    pub fn forward_shared<const N: usize>(layers: [&Linear; N], x: &Tensor) -> Result<[Tensor; N]> {
        let quantized: Option<Vec<&candle_core::quantized::QTensor>> = layers
            .iter()
            .map(|l| match &l.base {
                BaseWeight::Candle(QMatMul::QTensor(q)) => Some(q.as_ref()),
                _ => None,
            })
            .collect();
        let grouped: Option<Vec<&GroupedWeight>> = layers
            .iter()
            .map(|l| match &l.base {
                BaseWeight::Grouped(m) => Some(m.as_ref()),
                _ => None,
            })
            .collect();
        let base = match (quantized, grouped) {
            (Some(ws), _) => kernels::matmul_many(&ws, x)?,
            (_, Some(ms)) => kernels::matmul_grouped_many(&ms, x)?,
            _ => None,
        };
        let outputs = match base {
            Some(ys) => layers
                .iter()
                .zip(ys)
                .map(|(l, y)| l.add_bias_and_lora(y, x))
                .collect::<Result<Vec<_>>>()?,
            None => layers
                .iter()
                .map(|l| l.forward(x))
                .collect::<Result<Vec<_>>>()?,
        };
        Ok(outputs.try_into().expect("one output per layer"))
    }

    fn add_bias_and_lora(&self, mut y: Tensor, x: &Tensor) -> Result<Tensor> {
        if let Some(bias) = &self.bias {
            y = y.broadcast_add(bias)?;
        }
        if let Some(lora) = &self.lora {
            let delta = match &self.lora_dropout {
                Some(dropout) => lora.forward(&dropout.apply(x)?)?,
                None => lora.forward(x)?,
            };
            y = (y + delta)?;
        }
        Ok(y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::{GgmlDType, QTensor};
    use candle_core::Device;

    #[test]
    fn lora_path_adds_scaled_low_rank_update_beside_quantized_weight() {
        let dev = Device::Cpu;
        let w = Tensor::randn(0f32, 1.0, (64, 32), &dev).unwrap();
        let q = QTensor::quantize(&w, GgmlDType::Q8_0).unwrap();
        let mut lin = Linear::new(QMatMul::from_qtensor(q).unwrap(), None, 64, 32);
        let x = Tensor::randn(0f32, 1.0, (1, 3, 32), &dev).unwrap();
        let base = lin.forward(&x).unwrap();
        let a = Tensor::randn(0f32, 1.0, (4, 32), &dev).unwrap();
        let b = Tensor::randn(0f32, 1.0, (64, 4), &dev).unwrap();
        lin.set_lora(Some(LoraPair {
            a: a.clone(),
            b: b.clone(),
            scale: 0.5,
        }))
        .unwrap();
        let with_lora = lin.forward(&x).unwrap();
        let delta = b.matmul(&a).unwrap().t().unwrap();
        let expected = (x.broadcast_matmul(&delta).unwrap() * 0.5).unwrap();
        let diff = ((with_lora - base).unwrap() - expected)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap();
        assert!(diff.to_scalar::<f32>().unwrap() < 1e-3);
        assert!(lin.is_quantized(), "the base weight stays quantized");

        let wrong = LoraPair {
            a: Tensor::zeros((4, 31), DType::F32, &dev).unwrap(),
            b,
            scale: 1.0,
        };
        assert!(lin.set_lora(Some(wrong)).is_err());
    }

    #[test]
    fn lora_dropout_masks_only_the_lora_input_from_its_seed() {
        let dev = Device::Cpu;
        let x = Tensor::ones((1, 50, 200), DType::F32, &dev).unwrap();
        let dropout = LoraDropout { p: 0.25, seed: 11 };
        let masked: Vec<f32> = dropout
            .apply(&x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let zeros = masked.iter().filter(|&&v| v == 0.0).count() as f64 / masked.len() as f64;
        assert!((zeros - 0.25).abs() < 0.02, "dropped fraction {zeros}");
        assert!(masked
            .iter()
            .all(|&v| v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-6));
        let again: Vec<f32> = dropout
            .apply(&x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_eq!(masked, again, "the same seed draws the same mask");
        let other = LoraDropout {
            seed: 12,
            ..dropout
        };
        let other: Vec<f32> = other
            .apply(&x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_ne!(masked, other);

        // The base path never sees the mask: with B = 0 the output is the base output.
        let w = Tensor::randn(0f32, 1.0, (8, 200), &dev).unwrap();
        let mut lin = Linear::new(QMatMul::Tensor(w), None, 8, 200);
        let base = lin.forward(&x).unwrap();
        lin.set_lora(Some(LoraPair {
            a: Tensor::ones((2, 200), DType::F32, &dev).unwrap(),
            b: Tensor::zeros((8, 2), DType::F32, &dev).unwrap(),
            scale: 1.0,
        }))
        .unwrap();
        lin.set_lora_dropout(Some(dropout));
        let with = lin.forward(&x).unwrap();
        let diff = (with - base).unwrap().abs().unwrap().max_all().unwrap();
        assert_eq!(diff.to_scalar::<f32>().unwrap(), 0.0);
    }
}
