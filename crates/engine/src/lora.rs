//! LoRA adapters in the PEFT layout (`adapter_config.json` + `adapter_model.safetensors`, HF tensor names),
//! so adapters trained here load in PEFT and the other way round.
//!
//! Basis: llama.cpp's converter permutes the rows of q_proj/k_proj in llama-architecture GGUFs (for its
//! interleaved rope). A LoRA update's output rows live in the same basis as the weight's rows, so `lora_B`
//! of q/k is permuted on import into such a decoder and un-permuted on export. Qwen GGUFs are not permuted.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::decoder::{Decoder, PROJECTIONS};
use crate::error::{Error, Result};
use crate::linear::LoraPair;

pub const ADAPTER_CONFIG: &str = "adapter_config.json";
pub const ADAPTER_WEIGHTS: &str = "adapter_model.safetensors";

/// The fields of PEFT's `adapter_config.json` this engine reads and writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdapterConfig {
    pub r: usize,
    pub lora_alpha: f64,
    pub target_modules: Vec<String>,
    #[serde(default)]
    pub lora_dropout: f64,
    #[serde(default)]
    pub use_rslora: bool,
    #[serde(default)]
    pub base_model_name_or_path: Option<String>,
    #[serde(default = "default_peft_type")]
    pub peft_type: String,
    #[serde(default = "default_task_type")]
    pub task_type: String,
    #[serde(default)]
    pub bias: Option<String>,
}

fn default_peft_type() -> String {
    "LORA".into()
}

fn default_task_type() -> String {
    "CAUSAL_LM".into()
}

impl AdapterConfig {
    pub fn scale(&self) -> f64 {
        if self.use_rslora {
            self.lora_alpha / (self.r as f64).sqrt()
        } else {
            self.lora_alpha / self.r as f64
        }
    }
}

/// A: (rank, in), B: (out, rank) per (layer, projection), in the HF (un-permuted) basis.
#[derive(Debug, Clone)]
pub struct Adapter {
    pub config: AdapterConfig,
    pub pairs: HashMap<(usize, String), (Tensor, Tensor)>,
}

/// `base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight` -> (3, "q_proj", 'A').
fn parse_peft_name(name: &str) -> Option<(usize, &'static str, char)> {
    let rest = &name[name.find("layers.")? + "layers.".len()..];
    let (layer, rest) = rest.split_once('.')?;
    let layer = layer.parse().ok()?;
    let proj = PROJECTIONS
        .into_iter()
        .find(|p| rest.contains(&format!(".{p}.")) || rest.starts_with(&format!("{p}.")))?;
    let which = if rest.contains(".lora_A.") {
        'A'
    } else if rest.contains(".lora_B.") {
        'B'
    } else {
        return None;
    };
    Some((layer, proj, which))
}

fn peft_name(layer: usize, proj: &str, which: char) -> String {
    let group = if ["gate_proj", "up_proj", "down_proj"].contains(&proj) {
        "mlp"
    } else {
        "self_attn"
    };
    format!("base_model.model.model.layers.{layer}.{group}.{proj}.lora_{which}.weight")
}

/// Reorders the rows of a q/k-shaped matrix between HF order and llama.cpp's rope-interleaved order.
/// `to_gguf`: HF -> GGUF (what llama.cpp's converter does); otherwise the inverse.
pub fn permute_rows(m: &Tensor, heads: usize, to_gguf: bool) -> Result<Tensor> {
    let (rows, cols) = m.dims2()?;
    if heads == 0 || rows % (2 * heads) != 0 {
        return Err(Error::Adapter(format!(
            "{rows} rows cannot be split into {heads} rope heads"
        )));
    }
    let half = rows / heads / 2;
    let split = if to_gguf {
        (heads, 2, half, cols)
    } else {
        (heads, half, 2, cols)
    };
    Ok(m.reshape(split)?
        .transpose(1, 2)?
        .contiguous()?
        .reshape((rows, cols))?)
}

impl Adapter {
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let config_path = dir.join(ADAPTER_CONFIG);
        let text = std::fs::read_to_string(&config_path).map_err(|e| Error::io(&config_path, e))?;
        let config: AdapterConfig = serde_json::from_str(&text).map_err(|source| Error::Json {
            path: config_path.clone(),
            source,
        })?;
        if config.peft_type != "LORA" || config.r == 0 {
            return Err(Error::Adapter(format!(
                "{}: peft_type {} with r = {} is not a LoRA adapter",
                config_path.display(),
                config.peft_type,
                config.r
            )));
        }
        let weights_path = dir.join(ADAPTER_WEIGHTS);
        let tensors = candle_core::safetensors::load(&weights_path, device)
            .map_err(|e| Error::Adapter(format!("{}: {e}", weights_path.display())))?;
        let mut halves: HashMap<(usize, String), (Option<Tensor>, Option<Tensor>)> = HashMap::new();
        for (name, t) in tensors {
            let (layer, proj, which) = parse_peft_name(&name).ok_or_else(|| {
                Error::Adapter(format!(
                    "{}: unexpected tensor {name}",
                    weights_path.display()
                ))
            })?;
            let entry = halves.entry((layer, proj.to_string())).or_default();
            let t = t.to_dtype(candle_core::DType::F32)?;
            if which == 'A' {
                entry.0 = Some(t);
            } else {
                entry.1 = Some(t);
            }
        }
        let mut pairs = HashMap::new();
        for (key, pair) in halves {
            match pair {
                (Some(a), Some(b)) => {
                    pairs.insert(key, (a, b));
                }
                _ => {
                    return Err(Error::Adapter(format!(
                        "layer {} {}: lora_A or lora_B is missing",
                        key.0, key.1
                    )))
                }
            }
        }
        Ok(Self { config, pairs })
    }

    /// Attaches every pair to `decoder`, converting q/k to the decoder's row basis.
    pub fn apply(&self, decoder: &mut Decoder) -> Result<()> {
        let cfg = decoder.config().clone();
        let scale = self.config.scale();
        for ((layer, proj), (a, b)) in &self.pairs {
            let block = decoder.blocks.get_mut(*layer).ok_or_else(|| {
                Error::Adapter(format!(
                    "layer {layer} does not exist in a {}-layer model",
                    cfg.num_layers
                ))
            })?;
            let b = match (cfg.rope_interleaved, proj.as_str()) {
                (true, "q_proj") => permute_rows(b, cfg.num_heads, true)?,
                (true, "k_proj") => permute_rows(b, cfg.num_kv_heads, true)?,
                _ => b.clone(),
            };
            let linear = block
                .projection_mut(proj)
                .ok_or_else(|| Error::Adapter(format!("unknown module {proj}")))?;
            linear
                .set_lora(Some(LoraPair {
                    a: a.clone(),
                    b,
                    scale,
                }))
                .map_err(|e| Error::Adapter(format!("layer {layer} {proj}: {e}")))?;
        }
        Ok(())
    }

    /// Collects the LoRA pairs attached to `decoder`, in the HF basis.
    pub fn from_decoder(decoder: &Decoder, config: AdapterConfig) -> Result<Self> {
        let cfg = decoder.config();
        let mut pairs = HashMap::new();
        for (layer, block) in decoder.blocks.iter().enumerate() {
            for proj in PROJECTIONS {
                let Some(lora) = block.projection(proj).and_then(|l| l.lora()) else {
                    continue;
                };
                let b = match (cfg.rope_interleaved, proj) {
                    (true, "q_proj") => permute_rows(&lora.b, cfg.num_heads, false)?,
                    (true, "k_proj") => permute_rows(&lora.b, cfg.num_kv_heads, false)?,
                    _ => lora.b.clone(),
                };
                pairs.insert((layer, proj.to_string()), (lora.a.detach(), b.detach()));
            }
        }
        Ok(Self { config, pairs })
    }

    /// Writes `adapter_config.json` and `adapter_model.safetensors` into `dir` (write, then rename).
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut tensors: Vec<(String, Tensor)> = Vec::new();
        for ((layer, proj), (a, b)) in &self.pairs {
            tensors.push((peft_name(*layer, proj, 'A'), a.contiguous()?));
            tensors.push((peft_name(*layer, proj, 'B'), b.contiguous()?));
        }
        tensors.sort_by(|x, y| x.0.cmp(&y.0));
        let weights_tmp = dir.join(format!("{ADAPTER_WEIGHTS}.tmp"));
        candle_core::safetensors::save(
            &tensors.into_iter().collect::<HashMap<_, _>>(),
            &weights_tmp,
        )?;
        let config_tmp = dir.join(format!("{ADAPTER_CONFIG}.tmp"));
        let json = serde_json::to_string_pretty(&self.config).map_err(|source| Error::Json {
            path: config_tmp.clone(),
            source,
        })?;
        std::fs::write(&config_tmp, json).map_err(|e| Error::io(&config_tmp, e))?;
        for (tmp, name) in [(weights_tmp, ADAPTER_WEIGHTS), (config_tmp, ADAPTER_CONFIG)] {
            std::fs::rename(&tmp, dir.join(name)).map_err(|e| Error::io(&tmp, e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peft_names_round_trip() {
        for proj in PROJECTIONS {
            let name = peft_name(12, proj, 'B');
            assert_eq!(parse_peft_name(&name), Some((12, proj, 'B')), "{name}");
        }
        assert_eq!(parse_peft_name("base_model.model.lm_head.weight"), None);
    }

    #[test]
    fn permutation_matches_llama_cpp_and_inverts() {
        // 2 heads of dim 4: HF rows [h0: 0 1 | 2 3, h1: 4 5 | 6 7] -> GGUF pairs (0,2),(1,3) per head.
        let m = Tensor::arange(0f32, 8.0, &Device::Cpu)
            .unwrap()
            .reshape((8, 1))
            .unwrap();
        let g = permute_rows(&m, 2, true).unwrap();
        assert_eq!(
            g.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            vec![0., 2., 1., 3., 4., 6., 5., 7.]
        );
        let back = permute_rows(&g, 2, false).unwrap();
        assert_eq!(
            back.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            (0..8).map(|x| x as f32).collect::<Vec<_>>()
        );
    }
}
