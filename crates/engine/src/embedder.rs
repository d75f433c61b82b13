//! Sentence embeddings with a BERT encoder (all-MiniLM-L6-v2): mean pooling over the attention mask,
//! then L2 normalization, as sentence-transformers does for that model.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};

use crate::error::{Error, Result};

/// Inputs longer than this are truncated (all-MiniLM-L6-v2 was trained with 256 word pieces).
const MAX_TOKENS: usize = 256;

pub struct Embedder {
    model: BertModel,
    tokenizer: tokenizers::Tokenizer,
    device: Device,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder").finish_non_exhaustive()
    }
}

impl Embedder {
    /// Loads `config.json`, `tokenizer.json` and `model.safetensors` from `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let device = Device::Cpu;
        let config_path = dir.join("config.json");
        let text = std::fs::read_to_string(&config_path).map_err(|e| Error::io(&config_path, e))?;
        let config: Config = serde_json::from_str(&text).map_err(|source| Error::Json {
            path: config_path,
            source,
        })?;
        let tokenizer_path = dir.join("tokenizer.json");
        let mut tokenizer = tokenizers::Tokenizer::from_file(&tokenizer_path)
            .map_err(|e| Error::Tokenizer(format!("{}: {e}", tokenizer_path.display())))?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(tokenizers::TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        let weights_path = dir.join("model.safetensors");
        let tensors =
            candle_core::safetensors::load(&weights_path, &device).map_err(|e| Error::Tensor {
                name: weights_path.display().to_string(),
                reason: e.to_string(),
            })?;
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let model = BertModel::load(vb, &config).map_err(|e| Error::Tensor {
            name: weights_path.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            model,
            tokenizer,
            device,
        })
    }

    /// One unit-length vector per text.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        texts.iter().map(|t| self.embed_one(t)).collect()
    }

    fn embed_one(&self, text: &str) -> Result<Vec<f32>> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        let ids = Tensor::new(enc.get_ids(), &self.device)?.unsqueeze(0)?;
        let type_ids = ids.zeros_like()?;
        let mask = Tensor::new(enc.get_attention_mask(), &self.device)?.unsqueeze(0)?;
        let hidden = self.model.forward(&ids, &type_ids, Some(&mask))?; // (1, seq, dim)
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        let pooled = summed.broadcast_div(&mask.sum(1)?)?;
        let norm = pooled.sqr()?.sum_keepdim(1)?.sqrt()?;
        Ok(pooled.broadcast_div(&norm)?.squeeze(0)?.to_vec1()?)
    }
}

/// Cosine similarity of two vectors (0 when either is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_models;

    #[test]
    fn minilm_similarities_match_sentence_transformers() {
        let Some(dir) = test_models::minilm_dir() else {
            return;
        };
        let e = Embedder::load(&dir).unwrap();
        let v = e
            .embed(&[
                "A man is eating food.",
                "A man is eating a piece of bread.",
                "The new movie is awesome.",
                "A cheetah is running behind its prey.",
            ])
            .unwrap();
        let close = cosine(&v[0], &v[1]);
        // sentence-transformers reports 0.7553 for this pair.
        assert!((close - 0.755).abs() < 0.01, "cos = {close}");
        assert!(
            cosine(&v[0], &v[2]).abs() < 0.2,
            "unrelated: {}",
            cosine(&v[0], &v[2])
        );
        assert!((v[0].iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-4);
    }
}
