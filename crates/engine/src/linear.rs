//! A linear layer whose base weight may be quantized (`QMatMul`) or dense, with an optional LoRA pair
//! added beside it: y = W·x + b + s·B(A·x). The LoRA path never merges into the base weight, so a persona
//! adapter applies to a quantized model without re-quantizing, and can be swapped per chat.

use candle_core::quantized::QMatMul;
use candle_core::{DType, Module, Tensor};

use crate::error::{Error, Result};
use crate::kernels;

/// Low-rank update in the PEFT layout: `a` is (rank, in), `b` is (out, rank), `scale` = alpha / rank.
#[derive(Debug, Clone)]
pub struct LoraPair {
    pub a: Tensor,
    pub b: Tensor,
    pub scale: f64,
}

impl LoraPair {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let down = x.broadcast_matmul(&self.a.t()?)?;
        Ok((down.broadcast_matmul(&self.b.t()?)? * self.scale)?)
    }
}

#[derive(Debug, Clone)]
pub struct Linear {
    base: QMatMul,
    bias: Option<Tensor>,
    lora: Option<LoraPair>,
    in_features: usize,
    out_features: usize,
}

impl Linear {
    /// `base` holds an (out, in) weight.
    pub fn new(
        base: QMatMul,
        bias: Option<Tensor>,
        out_features: usize,
        in_features: usize,
    ) -> Self {
        Self {
            base,
            bias,
            lora: None,
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

    pub fn is_quantized(&self) -> bool {
        matches!(self.base, QMatMul::QTensor(_))
    }

    /// Replaces a quantized base weight by its f32 dequantization (training needs a backward through it).
    pub fn dequantize(&mut self) -> Result<()> {
        if let QMatMul::QTensor(q) = &self.base {
            self.base = QMatMul::Tensor(q.dequantize(&q.device())?);
        }
        Ok(())
    }

    /// The dense (out, in) base weight, dequantized if needed.
    pub fn dense_weight(&self) -> Result<Tensor> {
        Ok(match &self.base {
            QMatMul::QTensor(q) => q.dequantize(&q.device())?,
            QMatMul::Tensor(t) => t.clone(),
            QMatMul::TensorF16(t) => t.to_dtype(DType::F32)?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let fast = match &self.base {
            QMatMul::QTensor(q) => kernels::matmul(q, x)?,
            _ => None,
        };
        let mut y = match fast {
            Some(y) => y,
            None => self.base.forward(x)?,
        };
        if let Some(bias) = &self.bias {
            y = y.broadcast_add(bias)?;
        }
        if let Some(lora) = &self.lora {
            y = (y + lora.forward(x)?)?;
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
}
