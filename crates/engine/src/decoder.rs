//! One decoder for the llama / qwen2 / qwen3 family. The members differ only by config flags (qkv bias,
//! per-head q/k RMS norm, tied embeddings, rope theta, scaling and layout), so one structure serves all three.
//!
//! The same modules run in two modes: `Mode::Inference` uses candle's fused kernels (which record no
//! gradient), `Mode::Training` uses ops that backpropagate, for LoRA training on dense weights: the
//! engine's own (`train_ops`) on the CPU in f32, candle's composed ops elsewhere.

use candle_core::{DType, Device, Tensor, D};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::gguf::{GgufFile, MetaValue};
use crate::kernels;
use crate::kv_cache::KvCache;
use crate::linear::Linear;
use crate::rope::{Rope, RopeScaling};
use crate::train_ops;
use crate::weights::{EmbeddingTable, Part, TensorSource};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Architecture {
    Llama,
    Qwen2,
    Qwen3,
}

impl Architecture {
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "llama" => Ok(Self::Llama),
            "qwen2" => Ok(Self::Qwen2),
            "qwen3" => Ok(Self::Qwen3),
            other => Err(Error::Unsupported(format!(
                "architecture {other:?} (supported: llama, qwen2, qwen3)"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Llama => "llama",
            Self::Qwen2 => "qwen2",
            Self::Qwen3 => "qwen3",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecoderConfig {
    pub architecture: Architecture,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_layers: usize,
    pub num_heads: usize,
    pub num_kv_heads: usize,
    pub head_dim: usize,
    pub rms_norm_eps: f64,
    pub rope_theta: f64,
    /// Context extension; per-dimension factors a GGUF stores as `rope_freqs.weight` come with the weights.
    #[serde(default)]
    pub rope_scaling: RopeScaling,
    pub context_length: usize,
    /// Adjacent-pair rope (llama.cpp permutes llama GGUF q/k rows into this layout) vs. halves (HF, qwen).
    pub rope_interleaved: bool,
    pub qkv_bias: bool,
    pub qk_norm: bool,
    pub tied_embeddings: bool,
}

fn meta_usize(gguf: &GgufFile, key: &str) -> Result<usize> {
    gguf.metadata(key)
        .and_then(MetaValue::as_u64)
        .and_then(|v| usize::try_from(v).ok())
        .ok_or_else(|| Error::Metadata(format!("{key} is missing or not an integer")))
}

fn json_usize(config: &serde_json::Value, key: &str) -> Result<usize> {
    config[key]
        .as_u64()
        .map(|v| v as usize)
        .ok_or_else(|| Error::Metadata(format!("config.json: {key} is missing or not an integer")))
}

impl DecoderConfig {
    pub fn from_gguf(gguf: &GgufFile) -> Result<Self> {
        let has = |part: Part| gguf.tensor_info(&part.gguf_name()).is_some();
        let arch_name = gguf
            .metadata("general.architecture")
            .and_then(MetaValue::as_str)
            .ok_or_else(|| Error::Metadata("general.architecture is missing".into()))?;
        let architecture = Architecture::parse(arch_name)?;
        let key = |k: &str| format!("{arch_name}.{k}");
        let context_length = meta_usize(gguf, &key("context_length"))?;
        let rope_scaling = RopeScaling::from_gguf_keys(
            gguf.metadata(&key("rope.scaling.type"))
                .and_then(MetaValue::as_str),
            |k| {
                gguf.metadata(&key(&format!("rope.scaling.{k}")))
                    .and_then(MetaValue::as_f64)
            },
            context_length,
        )?;
        let hidden_size = meta_usize(gguf, &key("embedding_length"))?;
        let num_heads = meta_usize(gguf, &key("attention.head_count"))?;
        let head_dim = match gguf.metadata(&key("attention.key_length")) {
            Some(_) => meta_usize(gguf, &key("attention.key_length"))?,
            None => hidden_size / num_heads.max(1),
        };
        let vocab_size = match gguf
            .metadata("tokenizer.ggml.tokens")
            .and_then(MetaValue::as_array)
        {
            Some(tokens) => tokens.len(),
            None => meta_usize(gguf, &key("vocab_size"))?,
        };
        let cfg = Self {
            architecture,
            vocab_size,
            hidden_size,
            intermediate_size: meta_usize(gguf, &key("feed_forward_length"))?,
            num_layers: meta_usize(gguf, &key("block_count"))?,
            num_heads,
            num_kv_heads: meta_usize(gguf, &key("attention.head_count_kv")).unwrap_or(num_heads),
            head_dim,
            rms_norm_eps: gguf
                .metadata(&key("attention.layer_norm_rms_epsilon"))
                .and_then(MetaValue::as_f64)
                .ok_or_else(|| {
                    Error::Metadata(format!(
                        "{} is missing",
                        key("attention.layer_norm_rms_epsilon")
                    ))
                })?,
            rope_theta: gguf
                .metadata(&key("rope.freq_base"))
                .and_then(MetaValue::as_f64)
                .unwrap_or(10_000.0),
            rope_scaling,
            context_length,
            rope_interleaved: architecture == Architecture::Llama,
            qkv_bias: has(Part::QBias(0)),
            qk_norm: has(Part::QNorm(0)),
            tied_embeddings: !has(Part::LmHead),
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// From a Hugging Face `config.json`.
    pub fn from_hf_config(config: &serde_json::Value, tensors: &TensorSource) -> Result<Self> {
        let model_type = config["model_type"].as_str().unwrap_or("");
        let architecture = Architecture::parse(model_type)?;
        let hidden_size = json_usize(config, "hidden_size")?;
        let num_heads = json_usize(config, "num_attention_heads")?;
        let (rope_theta, rope_scaling) = rope_from_hf(config)?;
        let cfg = Self {
            architecture,
            vocab_size: json_usize(config, "vocab_size")?,
            hidden_size,
            intermediate_size: json_usize(config, "intermediate_size")?,
            num_layers: json_usize(config, "num_hidden_layers")?,
            num_heads,
            num_kv_heads: json_usize(config, "num_key_value_heads").unwrap_or(num_heads),
            head_dim: json_usize(config, "head_dim").unwrap_or(hidden_size / num_heads.max(1)),
            rms_norm_eps: config["rms_norm_eps"].as_f64().unwrap_or(1e-6),
            rope_theta,
            rope_scaling,
            context_length: json_usize(config, "max_position_embeddings")?,
            rope_interleaved: false,
            qkv_bias: tensors.has(Part::QBias(0)),
            qk_norm: tensors.has(Part::QNorm(0)),
            tied_embeddings: !tensors.has(Part::LmHead),
        };
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<()> {
        let bad = |what: String| Err(Error::Metadata(what));
        if self.num_layers == 0
            || self.hidden_size == 0
            || self.num_heads == 0
            || self.num_kv_heads == 0
        {
            return bad(format!("degenerate model dimensions {self:?}"));
        }
        if !self.num_heads.is_multiple_of(self.num_kv_heads) {
            return bad(format!(
                "{} heads are not a multiple of {} kv heads",
                self.num_heads, self.num_kv_heads
            ));
        }
        if self.head_dim == 0 || !self.head_dim.is_multiple_of(2) || self.head_dim > 1024 {
            return bad(format!(
                "head dimension {} is not an even number in 2..=1024",
                self.head_dim
            ));
        }
        if self.num_layers > 1024 || self.context_length == 0 {
            return bad(format!(
                "{} layers / context {} out of range",
                self.num_layers, self.context_length
            ));
        }
        Ok(())
    }
}

/// RoPE's base and scaling from a `config.json`: top-level `rope_theta` and `rope_scaling` as
/// transformers 4 writes them, or the `rope_parameters` object that replaces both in transformers 5.
fn rope_from_hf(config: &serde_json::Value) -> Result<(f64, RopeScaling)> {
    let params = &config["rope_parameters"];
    let theta = config["rope_theta"]
        .as_f64()
        .or_else(|| params["rope_theta"].as_f64())
        .unwrap_or(10_000.0);
    let scaling = if config["rope_scaling"].is_null() {
        RopeScaling::from_hf(params)?
    } else {
        RopeScaling::from_hf(&config["rope_scaling"])?
    };
    Ok((theta, scaling))
}

/// Forward-pass flavour: fused kernels, or differentiable composed ops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Inference,
    Training,
}

#[derive(Debug, Clone)]
struct RmsNorm {
    weight: Tensor,
    eps: f64,
}

impl RmsNorm {
    fn forward(&self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        Ok(match mode {
            Mode::Inference => {
                candle_nn::ops::rms_norm(&x.contiguous()?, &self.weight, self.eps as f32)?
            }
            Mode::Training if own_training_ops(x) => {
                train_ops::rms_norm(x, &self.weight, self.eps as f32)?
            }
            Mode::Training => candle_nn::ops::rms_norm_slow(x, &self.weight, self.eps as f32)?,
        })
    }
}

/// Whether training runs on the engine's own differentiable ops (`train_ops`: CPU, f32).
fn own_training_ops(x: &Tensor) -> bool {
    x.device().is_cpu() && x.dtype() == DType::F32
}

/// The seven projections of a block, by PEFT module name.
pub const PROJECTIONS: [&str; 7] = [
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
];

#[derive(Debug, Clone)]
pub struct Block {
    attn_norm: RmsNorm,
    ffn_norm: RmsNorm,
    q_norm: Option<RmsNorm>,
    k_norm: Option<RmsNorm>,
    pub q_proj: Linear,
    pub k_proj: Linear,
    pub v_proj: Linear,
    pub o_proj: Linear,
    pub gate_proj: Linear,
    pub up_proj: Linear,
    pub down_proj: Linear,
}

impl Block {
    /// The projection named like PEFT's target modules (`q_proj`, ..., `down_proj`).
    pub fn projection_mut(&mut self, name: &str) -> Option<&mut Linear> {
        Some(match name {
            "q_proj" => &mut self.q_proj,
            "k_proj" => &mut self.k_proj,
            "v_proj" => &mut self.v_proj,
            "o_proj" => &mut self.o_proj,
            "gate_proj" => &mut self.gate_proj,
            "up_proj" => &mut self.up_proj,
            "down_proj" => &mut self.down_proj,
            _ => return None,
        })
    }

    pub fn projection(&self, name: &str) -> Option<&Linear> {
        Some(match name {
            "q_proj" => &self.q_proj,
            "k_proj" => &self.k_proj,
            "v_proj" => &self.v_proj,
            "o_proj" => &self.o_proj,
            "gate_proj" => &self.gate_proj,
            "up_proj" => &self.up_proj,
            "down_proj" => &self.down_proj,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Decoder {
    cfg: DecoderConfig,
    embedding: EmbeddingTable,
    pub blocks: Vec<Block>,
    final_norm: RmsNorm,
    lm_head: Linear,
    rope: Rope,
    device: Device,
}

pub(crate) fn causal_mask(seq: usize, start: usize, device: &Device) -> Result<Tensor> {
    let total = start + seq;
    let mask: Vec<f32> = (0..seq)
        .flat_map(|i| {
            (0..total).map(move |j| {
                if j > start + i {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
        })
        .collect();
    Ok(Tensor::from_vec(mask, (seq, total), device)?)
}

impl Decoder {
    pub fn load(cfg: DecoderConfig, tensors: &TensorSource, device: &Device) -> Result<Self> {
        let (h, hd) = (cfg.hidden_size, cfg.head_dim);
        let (q_out, kv_out) = (cfg.num_heads * hd, cfg.num_kv_heads * hd);
        let norm = |part: Part, size: usize| -> Result<RmsNorm> {
            Ok(RmsNorm {
                weight: tensors.dense(part, &[size], device)?,
                eps: cfg.rms_norm_eps,
            })
        };
        let linear = |part: Part, bias: Option<Part>, out: usize, inp: usize| -> Result<Linear> {
            let bias = bias.map(|b| tensors.dense(b, &[out], device)).transpose()?;
            Ok(Linear::new(
                tensors.matrix(part, out, inp, device)?,
                bias,
                out,
                inp,
            ))
        };
        let mut blocks = Vec::with_capacity(cfg.num_layers);
        for i in 0..cfg.num_layers {
            let bias = |p: Part| cfg.qkv_bias.then_some(p);
            blocks.push(Block {
                attn_norm: norm(Part::AttnNorm(i), h)?,
                ffn_norm: norm(Part::FfnNorm(i), h)?,
                q_norm: cfg.qk_norm.then(|| norm(Part::QNorm(i), hd)).transpose()?,
                k_norm: cfg.qk_norm.then(|| norm(Part::KNorm(i), hd)).transpose()?,
                q_proj: linear(Part::Q(i), bias(Part::QBias(i)), q_out, h)?,
                k_proj: linear(Part::K(i), bias(Part::KBias(i)), kv_out, h)?,
                v_proj: linear(Part::V(i), bias(Part::VBias(i)), kv_out, h)?,
                o_proj: linear(Part::O(i), None, h, q_out)?,
                gate_proj: linear(Part::Gate(i), None, cfg.intermediate_size, h)?,
                up_proj: linear(Part::Up(i), None, cfg.intermediate_size, h)?,
                down_proj: linear(Part::Down(i), None, h, cfg.intermediate_size)?,
            });
        }
        let rope_freqs = match tensors.has(Part::RopeFreqs) {
            true => Some(
                tensors
                    .dense(Part::RopeFreqs, &[hd / 2], &Device::Cpu)?
                    .to_vec1::<f32>()?,
            ),
            false => None,
        };
        let embedding = tensors.embedding(cfg.vocab_size, h, device)?;
        let lm_head = if cfg.tied_embeddings {
            Linear::new(embedding.as_matmul()?, None, cfg.vocab_size, h)
        } else {
            linear(Part::LmHead, None, cfg.vocab_size, h)?
        };
        Ok(Self {
            final_norm: norm(Part::FinalNorm, h)?,
            rope: Rope::new(
                cfg.head_dim,
                cfg.rope_theta,
                &cfg.rope_scaling,
                rope_freqs.as_deref(),
                cfg.context_length,
                cfg.rope_interleaved,
                device,
            )?,
            cfg,
            embedding,
            blocks,
            lm_head,
            device: device.clone(),
        })
    }

    pub fn config(&self) -> &DecoderConfig {
        &self.cfg
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Waits for the work queued on the device (a GPU runs asynchronously): timings call this before
    /// reading the clock. A no-op on the CPU.
    pub fn synchronize(&self) -> Result<()> {
        Ok(self.device.synchronize()?)
    }

    /// Longest sequence this decoder accepts.
    pub fn max_positions(&self) -> usize {
        self.rope.positions()
    }

    pub fn new_cache(&self) -> KvCache {
        KvCache::new(self.cfg.num_layers)
    }

    /// Removes every LoRA pair (back to the base model).
    pub fn clear_lora(&mut self) -> Result<()> {
        for block in &mut self.blocks {
            for name in PROJECTIONS {
                if let Some(lin) = block.projection_mut(name) {
                    lin.set_lora(None)?;
                }
            }
        }
        Ok(())
    }

    /// Dequantizes every weight to f32 so that training can backpropagate through the whole network.
    pub fn dequantize(&mut self) -> Result<()> {
        self.embedding.dequantize()?;
        self.lm_head.dequantize()?;
        for block in &mut self.blocks {
            for name in PROJECTIONS {
                if let Some(lin) = block.projection_mut(name) {
                    lin.dequantize()?;
                }
            }
        }
        Ok(())
    }

    fn attention(
        &self,
        block: &Block,
        x: &Tensor,
        start: usize,
        mask: Option<&Tensor>,
        cache: Option<(&mut KvCache, usize)>,
        mode: Mode,
    ) -> Result<Tensor> {
        let (b, seq, _) = x.dims3()?;
        let (nh, nkv, hd) = (self.cfg.num_heads, self.cfg.num_kv_heads, self.cfg.head_dim);
        let [q, k, v] = Linear::forward_shared([&block.q_proj, &block.k_proj, &block.v_proj], x)?;
        let own_ops = mode == Mode::Training && own_training_ops(x);
        let (q, k, v) = if own_ops {
            self.training_heads(block, [q, k, v], b, seq, start)?
        } else {
            let heads = |t: Tensor, n: usize| -> Result<Tensor> {
                Ok(t.reshape((b, seq, n, hd))?.transpose(1, 2)?)
            };
            let (mut q, mut k, v) = (heads(q, nh)?, heads(k, nkv)?, heads(v, nkv)?);
            if let (Some(qn), Some(kn)) = (&block.q_norm, &block.k_norm) {
                q = qn.forward(&q, mode)?;
                k = kn.forward(&k, mode)?;
            }
            (
                self.rope.apply(&q, start, mode)?,
                self.rope.apply(&k, start, mode)?,
                v,
            )
        };
        let (k, v) = match cache {
            Some((cache, layer)) => cache.append(layer, &k, &v)?,
            None => (k, v.contiguous()?),
        };
        if mode == Mode::Inference && seq == 1 && b == 1 {
            if let Some(out) = kernels::attention::single_token(&q, &k, &v)? {
                return block.o_proj.forward(&out);
            }
        }
        let total = k.dim(2)?;
        // Grouped-query attention without copying k/v: the n_rep query heads sharing a kv head are
        // stacked along the sequence axis, (b, nkv, n_rep * seq, hd).
        let n_rep = nh / nkv;
        let q = q.reshape((b, nkv, n_rep * seq, hd))?;
        let scale = 1.0 / (hd as f64).sqrt();
        let out = if own_ops {
            let scores = train_ops::batched_matmul(&q, &k, true)?;
            let probs = train_ops::causal_softmax(&scores, scale as f32, seq, start)?;
            train_ops::merge_heads(
                &train_ops::batched_matmul(&probs, &v, false)?.reshape((b, nh, seq, hd))?,
            )?
        } else {
            // Inference keeps candle's matmul: with quantized activations, the engine kernel's other
            // summation order flips roundings and moved a tiny model's logits by up to 0.2 against
            // the candle-transformers reference. Scaled after the product, as llama.cpp does.
            let scores = (q.matmul(&k.t()?)? * scale)?;
            let scores = match mask {
                Some(mask) => scores
                    .reshape((b, nkv, n_rep, seq, total))?
                    .broadcast_add(mask)?
                    .reshape((b, nkv, n_rep * seq, total))?,
                None => scores,
            };
            let probs = match mode {
                Mode::Inference => candle_nn::ops::softmax_last_dim(&scores)?,
                Mode::Training => candle_nn::ops::softmax(&scores, D::Minus1)?,
            };
            probs
                .matmul(&v)?
                .reshape((b, nh, seq, hd))?
                .transpose(1, 2)?
                .reshape((b, seq, nh * hd))?
        };
        block.o_proj.forward(&out)
    }

    /// Training's q, k, v in the heads layout (b, heads, seq, head_dim) on the engine's ops: the
    /// per-head norm on the projection's rows, then one pass that splits the heads and applies rope.
    fn training_heads(
        &self,
        block: &Block,
        [q, k, v]: [Tensor; 3],
        b: usize,
        seq: usize,
        start: usize,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        let (nh, nkv, hd) = (self.cfg.num_heads, self.cfg.num_kv_heads, self.cfg.head_dim);
        let normed = |t: Tensor, n: usize, norm: &Option<RmsNorm>| -> Result<Tensor> {
            Ok(match norm {
                Some(norm) => norm
                    .forward(&t.reshape((b, seq, n, hd))?, Mode::Training)?
                    .reshape((b, seq, n * hd))?,
                None => t,
            })
        };
        let tables = self.rope.tables();
        Ok((
            train_ops::split_heads(&normed(q, nh, &block.q_norm)?, nh, Some(&tables), start)?,
            train_ops::split_heads(&normed(k, nkv, &block.k_norm)?, nkv, Some(&tables), start)?,
            train_ops::split_heads(&v, nkv, None, 0)?,
        ))
    }

    fn mlp(block: &Block, x: &Tensor, mode: Mode) -> Result<Tensor> {
        let [gate, up] = Linear::forward_shared([&block.gate_proj, &block.up_proj], x)?;
        let gated = if mode == Mode::Training && own_training_ops(x) {
            train_ops::swiglu(&gate, &up)?
        } else {
            (candle_nn::ops::silu(&gate)? * up)?
        };
        block.down_proj.forward(&gated)
    }

    /// Hidden states after the final norm for `tokens` (batch, seq) at positions start..start+seq.
    fn hidden(
        &self,
        tokens: &Tensor,
        start: usize,
        mut cache: Option<&mut KvCache>,
        mode: Mode,
    ) -> Result<Tensor> {
        let seq = tokens.dim(1)?;
        if start + seq > self.max_positions() {
            return Err(Error::ContextOverflow {
                prompt_tokens: start + seq,
                context_length: self.max_positions(),
            });
        }
        // One (seq, start + seq) mask shared by all layers; a single new token needs none.
        let mask = (seq > 1)
            .then(|| causal_mask(seq, start, &self.device))
            .transpose()?;
        let mut x = self.embedding.lookup(tokens)?;
        for (i, block) in self.blocks.iter().enumerate() {
            let residual = x.clone();
            let h = block.attn_norm.forward(&x, mode)?;
            let layer_cache = cache.as_deref_mut().map(|c| (c, i));
            let h = self.attention(block, &h, start, mask.as_ref(), layer_cache, mode)?;
            let x_mid = (residual + h)?;
            let h = Self::mlp(block, &block.ffn_norm.forward(&x_mid, mode)?, mode)?;
            x = (x_mid + h)?;
        }
        self.final_norm.forward(&x, mode)
    }

    /// Inference: feeds `tokens` after what `cache` holds and returns the logits (vocab,) for the next token.
    pub fn next_token_logits(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Tensor> {
        if tokens.is_empty() {
            return Err(Error::InvalidArgument("no tokens to feed".into()));
        }
        if let Some(&bad) = tokens.iter().find(|&&t| t as usize >= self.cfg.vocab_size) {
            return Err(Error::InvalidArgument(format!(
                "token id {bad} is outside the vocabulary of {}",
                self.cfg.vocab_size
            )));
        }
        let start = cache.len();
        let input = Tensor::new(tokens, &self.device)?.unsqueeze(0)?;
        let hidden = self.hidden(&input, start, Some(cache), Mode::Inference)?;
        cache.commit(tokens);
        let last = hidden.narrow(1, tokens.len() - 1, 1)?;
        Ok(self
            .lm_head
            .forward(&last)?
            .flatten_all()?
            .to_dtype(DType::F32)?)
    }

    /// Logits (n, vocab) at the given positions of one sequence `tokens` (1, seq): the loss needs only
    /// the target positions, and the vocabulary projection is the largest matmul of a small model.
    pub fn forward_positions(
        &self,
        tokens: &Tensor,
        positions: &Tensor,
        mode: Mode,
    ) -> Result<Tensor> {
        self.check_trainable(mode)?;
        let hidden = self.hidden(tokens, 0, None, mode)?.squeeze(0)?;
        self.lm_head.forward(&hidden.index_select(positions, 0)?)
    }

    fn check_trainable(&self, mode: Mode) -> Result<()> {
        if mode == Mode::Training
            && (self.lm_head.is_quantized()
                || self.blocks.iter().any(|b| {
                    PROJECTIONS
                        .iter()
                        .any(|p| b.projection(p).is_some_and(Linear::is_quantized))
                }))
        {
            return Err(Error::InvalidArgument(
                "training mode needs dense weights: call Decoder::dequantize first".into(),
            ));
        }
        Ok(())
    }

    /// Logits (batch, seq, vocab) for every position of `tokens` (batch, seq), without cache.
    /// `Mode::Training` is differentiable and requires dense weights (see `dequantize`).
    pub fn forward_all(&self, tokens: &Tensor, mode: Mode) -> Result<Tensor> {
        self.check_trainable(mode)?;
        let hidden = self.hidden(tokens, 0, None, mode)?;
        self.lm_head.forward(&hidden)
    }
}

#[cfg(test)]
#[path = "decoder_tests.rs"]
mod tests;
