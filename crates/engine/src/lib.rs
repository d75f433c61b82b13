//! kotodama-engine: local inference for the llama / qwen2 / qwen3 family on candle, with LoRA adapters,
//! GGUF or safetensors weights, the model's own tokenizer and chat template, sampling and streaming
//! generation, plus a BERT sentence embedder. It knows nothing of personas.
//!
//! The API the app uses:
//! ```no_run
//! use std::ops::ControlFlow;
//! use kotodama_engine::{CancelToken, ChatMessage, ChatSession, LoadOptions, Model, SamplingParams};
//! # fn main() -> kotodama_engine::Result<()> {
//! let model = Model::load("model.gguf".as_ref(), LoadOptions::default())?; // or an HF safetensors dir
//! let model = model.with_adapter("persona-adapter".as_ref())?;           // PEFT dir, optional
//! let mut session = ChatSession::new(&model);                            // keeps the KV cache across turns
//! let messages = [ChatMessage::new("system", "You are Aki."), ChatMessage::new("user", "Hello")];
//! let stats = session.generate(&messages, &SamplingParams::default(), |piece| {
//!     print!("{piece}");
//!     ControlFlow::Continue(())
//! }, &CancelToken::new())?;
//! println!("\n{:.1} tok/s", stats.decode_tokens_per_second);
//! # Ok(()) }
//! ```
//! and `Embedder::load(dir)?.embed(&["text"])` for sentence embeddings.
//!
//! Training (the distillation issue) uses the same `Decoder` in `Mode::Training` after
//! `Decoder::dequantize`, with `LoraPair`s built from `candle_core::Var`s attached to its `Linear`s.
//!
//! With the `cuda` feature, `cuda_tests` runs the engine on a CUDA device against the CPU (skipped, with a
//! message, where no device opens).
//!
//! Tests that need the real models read `KOTODAMA_SMOLLM2_GGUF`, `KOTODAMA_QWEN3_TOKENIZER`,
//! `KOTODAMA_MINILM_DIR` and `KOTODAMA_LLAMA_VOCABS` (set by the Makefile) and are skipped, with a
//! message, when those are unset.

pub mod bench;
pub mod decoder;
pub mod device;
pub mod embedder;
pub mod error;
pub mod generate;
pub mod gguf;
pub mod kernels;
pub mod kv_cache;
pub mod linear;
pub mod lora;
pub mod model;
pub mod requantize;
mod rng;
pub mod rope;
pub mod sampler;
pub mod template;
pub mod tokenizer;
pub mod train;
mod train_ops;
pub mod weights;

#[cfg(any(test, feature = "test-models"))]
pub mod test_models;

#[cfg(all(test, feature = "cuda"))]
mod cuda_tests;

pub use bench::{bench, peak_rss_bytes, BenchResult};
/// Quantization types, for `requantize_gguf`.
pub use candle_core::quantized::GgmlDType;
pub use decoder::{Architecture, Decoder, DecoderConfig, Mode};
pub use device::{set_worker_nice, DeviceInfo, DeviceKind};
pub use embedder::{cosine, Embedder};
pub use error::{Error, Result};
pub use generate::{CancelToken, ChatSession, GenerationStats, StopReason};
pub use kv_cache::KvCache;
pub use linear::{Linear, LoraDropout, LoraPair};
pub use lora::{Adapter, AdapterConfig};
pub use model::{LoadOptions, Model, ModelInfo};
pub use requantize::{requantize_gguf, RequantizeReport};
pub use sampler::{Sampler, SamplingParams};
pub use template::{ChatMessage, ChatTemplate};
pub use tokenizer::Tokenizer;
pub use train::{LoraTrainer, PreferencePair, StepReport, TrainConfig, TrainExample, TrainState};
