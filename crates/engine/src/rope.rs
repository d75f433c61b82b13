//! Rotary position embedding: the per-dimension frequencies, including the context-extension schemes
//! models ship with (linear, Llama 3, YaRN, or per-dimension factors stored in a GGUF), and their
//! application to q and k.

use candle_core::{DType, Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::decoder::Mode;
use crate::error::{Error, Result};
use crate::train_ops::RopeTables;

/// Rope tables are precomputed up to this many positions at most.
const MAX_ROPE_POSITIONS: usize = 32768;

/// How a model stretches its rope beyond the context it was pre-trained on.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum RopeScaling {
    #[default]
    None,
    /// Every frequency divided by `factor` (position interpolation).
    Linear { factor: f64 },
    /// Llama 3.1 and later: wavelengths longer than `original_context / low_freq_factor` are divided by
    /// `factor`, those shorter than `original_context / high_freq_factor` kept, a linear blend between.
    #[serde(rename_all = "camelCase")]
    Llama3 {
        factor: f64,
        low_freq_factor: f64,
        high_freq_factor: f64,
        original_context: usize,
    },
    /// YaRN (Qwen's long context): dimensions that rotate fewer than `beta_slow` times over the original
    /// context are interpolated, those that rotate more than `beta_fast` times kept, a ramp between; the
    /// tables are scaled by `attention_factor` to keep attention's temperature.
    #[serde(rename_all = "camelCase")]
    Yarn {
        factor: f64,
        original_context: usize,
        beta_fast: f64,
        beta_slow: f64,
        attention_factor: f64,
    },
}

/// YaRN's default attention factor for a context `factor` (the YaRN paper's 0.1·ln(s) + 1).
fn yarn_default_attention_factor(factor: f64) -> f64 {
    if factor <= 1.0 {
        1.0
    } else {
        0.1 * factor.ln() + 1.0
    }
}

impl RopeScaling {
    /// From GGUF `{arch}.rope.scaling.*` metadata (llama.cpp's keys). Llama 3's scheme is not here: its
    /// converter stores the per-dimension factors as the `rope_freqs.weight` tensor instead.
    pub fn from_gguf_keys(
        kind: Option<&str>,
        number: impl Fn(&str) -> Option<f64>,
        context_length: usize,
    ) -> Result<Self> {
        let factor = || {
            number("factor").filter(|f| *f > 0.0).ok_or_else(|| {
                Error::Metadata("rope.scaling.factor is missing or not positive".into())
            })
        };
        Ok(match kind.unwrap_or("none") {
            "none" => Self::None,
            "linear" => Self::Linear { factor: factor()? },
            "yarn" => {
                let factor = factor()?;
                Self::Yarn {
                    factor,
                    original_context: number("original_context_length")
                        .map(|n| n as usize)
                        .unwrap_or(context_length),
                    beta_fast: number("yarn_beta_fast").unwrap_or(32.0),
                    beta_slow: number("yarn_beta_slow").unwrap_or(1.0),
                    attention_factor: number("attn_factor").unwrap_or(1.0)
                        * yarn_default_attention_factor(factor),
                }
            }
            other => {
                return Err(Error::Unsupported(format!(
                "rope scaling {other:?} (supported: none, linear, yarn, and Llama 3's rope_freqs)"
            )))
            }
        })
    }

    /// From a Hugging Face `config.json`'s `rope_scaling` object (`rope_type`, or the older `type`).
    pub fn from_hf(value: &serde_json::Value) -> Result<Self> {
        if value.is_null() {
            return Ok(Self::None);
        }
        let kind = value["rope_type"]
            .as_str()
            .or_else(|| value["type"].as_str())
            .unwrap_or("");
        let number = |key: &str| value[key].as_f64();
        let required = |key: &str| {
            number(key).ok_or_else(|| {
                Error::Metadata(format!(
                    "config.json: rope_scaling.{key} is missing ({value})"
                ))
            })
        };
        Ok(match kind {
            "default" => Self::None,
            "linear" => Self::Linear {
                factor: required("factor")?,
            },
            "llama3" => Self::Llama3 {
                factor: required("factor")?,
                low_freq_factor: required("low_freq_factor")?,
                high_freq_factor: required("high_freq_factor")?,
                original_context: required("original_max_position_embeddings")? as usize,
            },
            "yarn" => {
                let factor = required("factor")?;
                Self::Yarn {
                    factor,
                    original_context: required("original_max_position_embeddings")? as usize,
                    beta_fast: number("beta_fast").unwrap_or(32.0),
                    beta_slow: number("beta_slow").unwrap_or(1.0),
                    attention_factor: number("attention_factor")
                        .unwrap_or_else(|| yarn_default_attention_factor(factor)),
                }
            }
            other => {
                return Err(Error::Unsupported(format!(
                    "rope_scaling type {other:?} (supported: linear, llama3, yarn)"
                )))
            }
        })
    }

    fn check(&self) -> Result<()> {
        let in_range = match *self {
            Self::None => true,
            Self::Linear { factor } => factor > 0.0,
            Self::Llama3 {
                factor,
                low_freq_factor,
                high_freq_factor,
                original_context,
            } => factor > 0.0 && high_freq_factor > low_freq_factor && original_context > 0,
            Self::Yarn {
                factor,
                original_context,
                ..
            } => factor > 0.0 && original_context > 0,
        };
        if in_range {
            Ok(())
        } else {
            Err(Error::Metadata(format!(
                "rope scaling {self:?}: factors out of range"
            )))
        }
    }
}

/// The rotation frequency of each dimension pair (radians per position), after scaling, and the factor
/// the cos/sin tables are multiplied by. `freq_divisors` are a GGUF's `rope_freqs` (one per pair).
pub fn frequencies(
    head_dim: usize,
    theta: f64,
    scaling: &RopeScaling,
    freq_divisors: Option<&[f32]>,
) -> Result<(Vec<f32>, f32)> {
    scaling.check()?;
    let half = head_dim / 2;
    // In f32 like llama.cpp and candle-transformers: with quantized activations, even 1e-7 differences
    // in the tables flip roundings and move logits visibly.
    let theta32 = theta as f32;
    let mut freqs: Vec<f32> = (0..half)
        .map(|i| 1f32 / theta32.powf((2 * i) as f32 / head_dim as f32))
        .collect();
    if let Some(divisors) = freq_divisors {
        if divisors.len() != half {
            return Err(Error::Metadata(format!(
                "rope_freqs has {} factors for {half} dimension pairs",
                divisors.len()
            )));
        }
        for (f, d) in freqs.iter_mut().zip(divisors) {
            *f /= d;
        }
    }
    let mut attention_factor = 1.0f32;
    match *scaling {
        RopeScaling::None => {}
        RopeScaling::Linear { factor } => freqs.iter_mut().for_each(|f| *f /= factor as f32),
        RopeScaling::Llama3 {
            factor,
            low_freq_factor,
            high_freq_factor,
            original_context,
        } => {
            let (factor, low, high) = (
                factor as f32,
                low_freq_factor as f32,
                high_freq_factor as f32,
            );
            let context = original_context as f32;
            for f in freqs.iter_mut() {
                let wavelength = 2.0 * std::f32::consts::PI / *f;
                if wavelength > context / low {
                    *f /= factor;
                } else if wavelength >= context / high {
                    let smooth = (context / wavelength - low) / (high - low);
                    *f = (1.0 - smooth) * *f / factor + smooth * *f;
                }
            }
        }
        RopeScaling::Yarn {
            factor,
            original_context,
            beta_fast,
            beta_slow,
            attention_factor: scale,
        } => {
            // The dimension pair that turns `rotations` times over the original context.
            let pair_for = |rotations: f64| {
                head_dim as f64
                    * (original_context as f64 / (rotations * 2.0 * std::f64::consts::PI)).ln()
                    / (2.0 * theta.ln())
            };
            let low = pair_for(beta_fast).floor().max(0.0);
            let high = pair_for(beta_slow).ceil().min(half as f64 - 1.0);
            let span = (high - low).max(0.001);
            for (i, f) in freqs.iter_mut().enumerate() {
                // 1 where the dimension keeps its frequency, 0 where it is fully interpolated.
                let keep = 1.0 - ((i as f64 - low) / span).clamp(0.0, 1.0);
                let keep = keep as f32;
                *f = *f / factor as f32 * (1.0 - keep) + *f * keep;
            }
            attention_factor = scale as f32;
        }
    }
    Ok((freqs, attention_factor))
}

#[derive(Debug, Clone)]
pub(crate) struct Rope {
    cos: Tensor,
    sin: Tensor,
    interleaved: bool,
}

impl Rope {
    pub(crate) fn new(
        head_dim: usize,
        theta: f64,
        scaling: &RopeScaling,
        freq_divisors: Option<&[f32]>,
        context_length: usize,
        interleaved: bool,
        device: &Device,
    ) -> Result<Self> {
        let positions = context_length.min(MAX_ROPE_POSITIONS);
        let (freqs, attention_factor) = frequencies(head_dim, theta, scaling, freq_divisors)?;
        let half = freqs.len();
        let freqs = Tensor::from_vec(freqs, (1, half), device)?;
        let t = Tensor::arange(0u32, positions as u32, device)?
            .to_dtype(DType::F32)?
            .reshape((positions, 1))?;
        let angles = t.matmul(&freqs)?;
        let (cos, sin) = (angles.cos()?, angles.sin()?);
        let (cos, sin) = if attention_factor == 1.0 {
            (cos, sin)
        } else {
            let f = f64::from(attention_factor);
            ((cos * f)?, (sin * f)?)
        };
        Ok(Self {
            cos,
            sin,
            interleaved,
        })
    }

    /// Rotates x (batch, heads, seq, head_dim) for positions start..start+seq.
    pub(crate) fn apply(&self, x: &Tensor, start: usize, mode: Mode) -> Result<Tensor> {
        let seq = x.dim(2)?;
        let cos = self.cos.narrow(0, start, seq)?;
        let sin = self.sin.narrow(0, start, seq)?;
        let x = x.contiguous()?;
        Ok(match (mode, self.interleaved) {
            (Mode::Inference, true) => candle_nn::rotary_emb::rope_i(&x, &cos, &sin)?,
            (Mode::Inference, false) => candle_nn::rotary_emb::rope(&x, &cos, &sin)?,
            (Mode::Training, true) => candle_nn::rotary_emb::rope_i_slow(&x, &cos, &sin)?,
            (Mode::Training, false) => candle_nn::rotary_emb::rope_slow(&x, &cos, &sin)?,
        })
    }

    /// The tables for training's fused head split (`train_ops::split_heads`).
    pub(crate) fn tables(&self) -> RopeTables {
        RopeTables {
            cos: self.cos.clone(),
            sin: self.sin.clone(),
            interleaved: self.interleaved,
        }
    }

    pub(crate) fn positions(&self) -> usize {
        self.cos.dim(0).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unscaled(head_dim: usize, theta: f64) -> Vec<f32> {
        frequencies(head_dim, theta, &RopeScaling::None, None)
            .unwrap()
            .0
    }

    #[test]
    fn linear_scaling_divides_every_frequency() {
        let base = unscaled(64, 10_000.0);
        let (scaled, attn) =
            frequencies(64, 10_000.0, &RopeScaling::Linear { factor: 4.0 }, None).unwrap();
        assert_eq!(attn, 1.0);
        for (s, b) in scaled.iter().zip(&base) {
            assert_eq!(*s, b / 4.0);
        }
    }

    /// Llama 3.2's settings: short wavelengths kept, long ones divided by 32, a blend between.
    #[test]
    fn llama3_scaling_keeps_short_wavelengths_and_stretches_long_ones() {
        let scaling = RopeScaling::Llama3 {
            factor: 32.0,
            low_freq_factor: 1.0,
            high_freq_factor: 4.0,
            original_context: 8192,
        };
        let base = unscaled(64, 500_000.0);
        let (scaled, _) = frequencies(64, 500_000.0, &scaling, None).unwrap();
        let (mut kept, mut divided, mut blended) = (0, 0, 0);
        for (s, b) in scaled.iter().zip(&base) {
            let wavelength = 2.0 * std::f32::consts::PI / b;
            if wavelength < 2048.0 {
                assert_eq!(s, b);
                kept += 1;
            } else if wavelength > 8192.0 {
                assert_eq!(*s, b / 32.0);
                divided += 1;
            } else {
                assert!(*s < *b && *s > b / 32.0, "{s} vs {b}");
                blended += 1;
            }
        }
        assert!(
            kept > 0 && divided > 0 && blended > 0,
            "{kept} {divided} {blended}"
        );
    }

    /// Qwen3's long-context settings (factor 4 over 32768 positions, theta 1e6, head_dim 128).
    #[test]
    fn yarn_interpolates_slow_dimensions_and_scales_attention() {
        let scaling = RopeScaling::from_hf(&serde_json::json!({
            "rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768
        }))
        .unwrap();
        let base = unscaled(128, 1e6);
        let (scaled, attn) = frequencies(128, 1e6, &scaling, None).unwrap();
        assert!((attn - (1.0 + 0.1 * 4f32.ln())).abs() < 1e-6, "{attn}");
        // A dimension turning more than 32 times over 32768 positions keeps its frequency...
        let turns = |f: f32| f64::from(f) * 32768.0 / (2.0 * std::f64::consts::PI);
        let fast = base.iter().position(|&f| turns(f) < 32.0).unwrap();
        assert_eq!(scaled[..fast - 1], base[..fast - 1]);
        // ... one turning less than once is fully interpolated, and the ramp between is monotone.
        let slow = base.iter().position(|&f| turns(f) < 1.0).unwrap();
        for i in slow + 1..64 {
            assert_eq!(scaled[i], base[i] / 4.0, "pair {i}");
        }
        let ratios: Vec<f32> = scaled.iter().zip(&base).map(|(s, b)| s / b).collect();
        assert!(ratios.windows(2).all(|w| w[1] <= w[0] + 1e-6), "{ratios:?}");
    }

    #[test]
    fn gguf_rope_freqs_divide_the_frequencies() {
        let base = unscaled(8, 10_000.0);
        let (scaled, _) =
            frequencies(8, 10_000.0, &RopeScaling::None, Some(&[1.0, 2.0, 4.0, 8.0])).unwrap();
        assert_eq!(
            scaled,
            [base[0], base[1] / 2.0, base[2] / 4.0, base[3] / 8.0]
        );
        let err = frequencies(8, 10_000.0, &RopeScaling::None, Some(&[1.0])).unwrap_err();
        assert!(
            err.to_string().contains("rope_freqs has 1 factors for 4"),
            "{err}"
        );
    }

    #[test]
    fn scaling_settings_parse_from_gguf_and_config_json_with_clear_errors() {
        let gguf = |kind, key: &str| {
            let key = key.to_string();
            RopeScaling::from_gguf_keys(
                Some(kind),
                move |k| match k {
                    k if k == key => Some(4.0),
                    "original_context_length" => Some(32768.0),
                    _ => None,
                },
                131072,
            )
        };
        assert_eq!(
            gguf("linear", "factor").unwrap(),
            RopeScaling::Linear { factor: 4.0 }
        );
        assert!(matches!(
            gguf("yarn", "factor").unwrap(),
            RopeScaling::Yarn { original_context: 32768, beta_fast, .. } if beta_fast == 32.0
        ));
        let err = gguf("linear", "nothing").unwrap_err().to_string();
        assert!(err.contains("rope.scaling.factor"), "{err}");
        let err = gguf("longrope", "factor").unwrap_err().to_string();
        assert!(err.contains("longrope"), "{err}");

        assert_eq!(
            RopeScaling::from_hf(&serde_json::Value::Null).unwrap(),
            RopeScaling::None
        );
        let err = RopeScaling::from_hf(&serde_json::json!({"rope_type": "llama3", "factor": 8.0}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("low_freq_factor"), "{err}");
        let err = RopeScaling::from_hf(&serde_json::json!({"type": "dynamic", "factor": 2.0}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("dynamic"), "{err}");
    }
}
