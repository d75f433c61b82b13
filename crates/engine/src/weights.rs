//! Where decoder weights come from: a GGUF file (llama.cpp names, quantized) or a Hugging Face
//! safetensors directory (HF names, dense). The decoder asks by logical name and never sees the format.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{DType, Device, Tensor};

use crate::error::{Error, Result};
use crate::gguf::GgufFile;
use crate::kernels::grouped::GroupedWeight;
use crate::linear::BaseWeight;

/// A weight inside the llama/qwen2/qwen3 family, named independently of the file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Embedding,
    FinalNorm,
    LmHead,
    AttnNorm(usize),
    FfnNorm(usize),
    Q(usize),
    K(usize),
    V(usize),
    O(usize),
    QBias(usize),
    KBias(usize),
    VBias(usize),
    QNorm(usize),
    KNorm(usize),
    Gate(usize),
    Up(usize),
    Down(usize),
    /// Per-dimension rope frequency divisors (GGUF only: llama.cpp's converter stores Llama 3's scaling so).
    RopeFreqs,
}

impl Part {
    pub fn gguf_name(self) -> String {
        match self {
            Part::Embedding => "token_embd.weight".into(),
            Part::FinalNorm => "output_norm.weight".into(),
            Part::LmHead => "output.weight".into(),
            Part::AttnNorm(i) => format!("blk.{i}.attn_norm.weight"),
            Part::FfnNorm(i) => format!("blk.{i}.ffn_norm.weight"),
            Part::Q(i) => format!("blk.{i}.attn_q.weight"),
            Part::K(i) => format!("blk.{i}.attn_k.weight"),
            Part::V(i) => format!("blk.{i}.attn_v.weight"),
            Part::O(i) => format!("blk.{i}.attn_output.weight"),
            Part::QBias(i) => format!("blk.{i}.attn_q.bias"),
            Part::KBias(i) => format!("blk.{i}.attn_k.bias"),
            Part::VBias(i) => format!("blk.{i}.attn_v.bias"),
            Part::QNorm(i) => format!("blk.{i}.attn_q_norm.weight"),
            Part::KNorm(i) => format!("blk.{i}.attn_k_norm.weight"),
            Part::Gate(i) => format!("blk.{i}.ffn_gate.weight"),
            Part::Up(i) => format!("blk.{i}.ffn_up.weight"),
            Part::Down(i) => format!("blk.{i}.ffn_down.weight"),
            Part::RopeFreqs => "rope_freqs.weight".into(),
        }
    }

    pub fn hf_name(self) -> String {
        let attn = |i: usize, p: &str| format!("model.layers.{i}.self_attn.{p}");
        let mlp = |i: usize, p: &str| format!("model.layers.{i}.mlp.{p}");
        match self {
            Part::Embedding => "model.embed_tokens.weight".into(),
            Part::FinalNorm => "model.norm.weight".into(),
            Part::LmHead => "lm_head.weight".into(),
            Part::AttnNorm(i) => format!("model.layers.{i}.input_layernorm.weight"),
            Part::FfnNorm(i) => format!("model.layers.{i}.post_attention_layernorm.weight"),
            Part::Q(i) => attn(i, "q_proj.weight"),
            Part::K(i) => attn(i, "k_proj.weight"),
            Part::V(i) => attn(i, "v_proj.weight"),
            Part::O(i) => attn(i, "o_proj.weight"),
            Part::QBias(i) => attn(i, "q_proj.bias"),
            Part::KBias(i) => attn(i, "k_proj.bias"),
            Part::VBias(i) => attn(i, "v_proj.bias"),
            Part::QNorm(i) => attn(i, "q_norm.weight"),
            Part::KNorm(i) => attn(i, "k_norm.weight"),
            Part::Gate(i) => mlp(i, "gate_proj.weight"),
            Part::Up(i) => mlp(i, "up_proj.weight"),
            Part::Down(i) => mlp(i, "down_proj.weight"),
            // Hugging Face checkpoints describe rope scaling in config.json; no tensor has this name.
            Part::RopeFreqs => "rope_freqs".into(),
        }
    }
}

/// Token embedding table: kept quantized when the file is (rows are dequantized on lookup).
#[derive(Debug, Clone)]
pub enum EmbeddingTable {
    Quantized(Arc<QTensor>),
    /// Regrouped for the CPU kernels that a tied output projection multiplies with.
    Grouped(Arc<GroupedWeight>),
    Dense(Tensor),
}

impl EmbeddingTable {
    pub fn lookup(&self, ids: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Self::Quantized(q) => q.embedding(ids)?,
            Self::Grouped(m) => {
                let (b, s) = ids.dims2()?;
                let mut rows = vec![0f32; b * s * m.cols()];
                let ids = ids.flatten_all()?.to_vec1::<u32>()?;
                for (&id, row) in ids.iter().zip(rows.chunks_exact_mut(m.cols())) {
                    if id as usize >= m.rows() {
                        return Err(Error::InvalidArgument(format!(
                            "token id {id} is outside the embedding table of {} rows",
                            m.rows()
                        )));
                    }
                    m.dequantize_row(id as usize, row);
                }
                Tensor::from_vec(rows, (b, s, m.cols()), &Device::Cpu)?
            }
            Self::Dense(t) => {
                let (b, s) = ids.dims2()?;
                t.index_select(&ids.flatten_all()?, 0)?
                    .reshape((b, s, t.dim(1)?))?
            }
        })
    }

    pub fn dims(&self) -> Result<(usize, usize)> {
        Ok(match self {
            Self::Quantized(q) => q.shape().dims2()?,
            Self::Grouped(m) => (m.rows(), m.cols()),
            Self::Dense(t) => t.dims2()?,
        })
    }

    /// The same table as a matmul weight (tied output projection).
    pub fn as_matmul(&self) -> Result<BaseWeight> {
        Ok(match self {
            Self::Quantized(q) => QMatMul::from_arc(q.clone())?.into(),
            Self::Grouped(m) => BaseWeight::Grouped(m.clone()),
            Self::Dense(t) => QMatMul::Tensor(t.clone()).into(),
        })
    }

    pub fn dequantize(&mut self) -> Result<()> {
        match self {
            Self::Quantized(q) => *self = Self::Dense(q.dequantize(&q.device())?),
            Self::Grouped(m) => *self = Self::Dense(m.to_tensor()?),
            Self::Dense(_) => {}
        }
        Ok(())
    }
}

/// A GGUF matrix in the layout the CPU kernels multiply fastest.
enum CpuWeight {
    Grouped(Arc<GroupedWeight>),
    /// ggml blocks as stored (any other format, or any device but the CPU).
    Blocks(QTensor),
}

/// Q4_1, Q4_K and Q8_0 matrices are regrouped eight rows at a time.
fn cpu_weight(q: QTensor) -> Result<CpuWeight> {
    Ok(match GroupedWeight::from_qtensor(&q)? {
        Some(m) => CpuWeight::Grouped(Arc::new(m)),
        None => CpuWeight::Blocks(q),
    })
}

pub enum TensorSource {
    Gguf(GgufFile),
    /// Dense tensors by HF name, already on the target device in f32.
    Safetensors(HashMap<String, Tensor>),
}

fn shape_err(part: Part, name: &str, want: &[usize], got: &[usize]) -> Error {
    Error::Tensor {
        name: name.to_string(),
        reason: format!("{part:?} has shape {got:?}, expected {want:?}"),
    }
}

impl TensorSource {
    /// Loads every `*.safetensors` file of a directory as f32 tensors on `device`.
    pub fn open_safetensors_dir(dir: &Path, device: &Device) -> Result<Self> {
        let mut tensors = HashMap::new();
        let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
        let mut files: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(Error::Unsupported(format!(
                "{} holds no .safetensors file",
                dir.display()
            )));
        }
        for file in files {
            let loaded =
                candle_core::safetensors::load(&file, device).map_err(|e| Error::Tensor {
                    name: file.display().to_string(),
                    reason: e.to_string(),
                })?;
            for (name, t) in loaded {
                tensors.insert(name, t.to_dtype(DType::F32)?);
            }
        }
        Ok(Self::Safetensors(tensors))
    }

    fn name(&self, part: Part) -> String {
        match self {
            Self::Gguf(_) => part.gguf_name(),
            Self::Safetensors(_) => part.hf_name(),
        }
    }

    pub fn has(&self, part: Part) -> bool {
        match self {
            Self::Gguf(g) => g.tensor_info(&part.gguf_name()).is_some(),
            Self::Safetensors(t) => t.contains_key(&part.hf_name()),
        }
    }

    fn shape(&self, part: Part) -> Result<Vec<usize>> {
        let name = self.name(part);
        let missing = || Error::Tensor {
            name: name.clone(),
            reason: format!("{part:?} is missing"),
        };
        Ok(match self {
            Self::Gguf(g) => g.tensor_info(&name).ok_or_else(missing)?.shape.clone(),
            Self::Safetensors(t) => t.get(&name).ok_or_else(missing)?.dims().to_vec(),
        })
    }

    fn check_shape(&self, part: Part, want: &[usize]) -> Result<()> {
        let got = self.shape(part)?;
        if got != want {
            return Err(shape_err(part, &self.name(part), want, &got));
        }
        Ok(())
    }

    /// A dense f32 vector/matrix (norm weights, biases) of the expected shape.
    pub fn dense(&self, part: Part, want: &[usize], device: &Device) -> Result<Tensor> {
        self.check_shape(part, want)?;
        let name = self.name(part);
        Ok(match self {
            Self::Gguf(g) => g.tensor(&name, device)?.dequantize(device)?,
            Self::Safetensors(t) => t[&name].clone(),
        })
    }

    /// An (out, in) matrix for a linear layer, quantized if the file is; on the CPU, Q4_1 and Q8_0 matrices
    /// are regrouped for the engine's kernels.
    pub fn matrix(
        &self,
        part: Part,
        out: usize,
        inp: usize,
        device: &Device,
    ) -> Result<BaseWeight> {
        self.check_shape(part, &[out, inp])?;
        let name = self.name(part);
        Ok(match self {
            Self::Gguf(g) => match cpu_weight(g.tensor(&name, device)?)? {
                CpuWeight::Grouped(m) => BaseWeight::Grouped(m),
                CpuWeight::Blocks(q) => QMatMul::from_qtensor(q)?.into(),
            },
            Self::Safetensors(t) => QMatMul::Tensor(t[&name].clone()).into(),
        })
    }

    pub fn embedding(
        &self,
        vocab: usize,
        hidden: usize,
        device: &Device,
    ) -> Result<EmbeddingTable> {
        let part = Part::Embedding;
        self.check_shape(part, &[vocab, hidden])?;
        let name = self.name(part);
        Ok(match self {
            // Laid out like the matrices: a tied output projection multiplies with this table.
            Self::Gguf(g) => match cpu_weight(g.tensor(&name, device)?)? {
                CpuWeight::Grouped(m) => EmbeddingTable::Grouped(m),
                CpuWeight::Blocks(q) => EmbeddingTable::Quantized(Arc::new(q)),
            },
            Self::Safetensors(t) => EmbeddingTable::Dense(t[&name].clone()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::GgmlDType;

    #[test]
    fn a_grouped_table_looks_up_the_rows_of_the_blocks_table() {
        let dev = Device::Cpu;
        let w = Tensor::randn(0f32, 1.0, (16, 64), &dev).unwrap();
        let quantize = || QTensor::quantize(&w, GgmlDType::Q4_1).unwrap();
        let CpuWeight::Grouped(m) = cpu_weight(quantize()).unwrap() else {
            panic!("16 Q4_1 rows are regrouped");
        };
        let grouped = EmbeddingTable::Grouped(m);
        let blocks = EmbeddingTable::Quantized(Arc::new(quantize()));
        let ids = Tensor::new(&[[3u32, 15, 0]], &dev).unwrap();
        let rows = |t: &EmbeddingTable| t.lookup(&ids).unwrap().to_vec3::<f32>().unwrap();
        assert_eq!(rows(&grouped), rows(&blocks));
        let outside = Tensor::new(&[[16u32]], &dev).unwrap();
        assert!(grouped.lookup(&outside).is_err());
    }
}
