//! The engine's single error type.

use std::path::PathBuf;

/// Everything that can go wrong in the engine. Messages name the file, field or tensor at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A GGUF file is truncated, corrupt or out of bounds.
    #[error("invalid GGUF file {path}: {reason}")]
    Gguf { path: PathBuf, reason: String },
    /// A metadata key is missing or has the wrong type.
    #[error("model metadata: {0}")]
    Metadata(String),
    /// A tensor is missing or has the wrong shape/type.
    #[error("tensor {name}: {reason}")]
    Tensor { name: String, reason: String },
    #[error("unsupported model: {0}")]
    Unsupported(String),
    /// The device asked for is not in this build or does not open (no driver, no GPU).
    #[error("{0}")]
    Device(String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("chat template: {0}")]
    Template(String),
    #[error("invalid JSON in {path}: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "prompt of {prompt_tokens} tokens does not fit the context of {context_length} tokens"
    )]
    ContextOverflow {
        prompt_tokens: usize,
        context_length: usize,
    },
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("LoRA adapter: {0}")]
    Adapter(String),
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
