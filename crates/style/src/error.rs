//! The crate's single error type.

/// Everything that can go wrong in the style analyzer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A bundled or supplied model/table could not be decoded.
    #[error("corrupt {asset}: {reason}")]
    CorruptAsset { asset: &'static str, reason: String },
    /// Training/evaluation data (treebank) is malformed.
    #[error("bad treebank data at {location}: {reason}")]
    BadTreebank { location: String, reason: String },
    /// The input holds nothing that can be analyzed.
    #[error("no analyzable text: {0}")]
    EmptyInput(String),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn corrupt(asset: &'static str, reason: impl Into<String>) -> Error {
    Error::CorruptAsset {
        asset,
        reason: reason.into(),
    }
}
