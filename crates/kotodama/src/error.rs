/// Errors of the application core. `code()` gives the stable identifier the UI and CLI show.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] kotodama_store::Error),
    #[error("no data folder could be determined: set KOTODAMA_HOME")]
    NoHome,
    #[error("character card: {0}")]
    Card(String),
    #[error("{file}:{line}: {detail}")]
    Script {
        file: String,
        line: usize,
        detail: String,
    },
    #[error("bundled persona {slug}: {detail}")]
    BundledPersona { slug: String, detail: String },
    #[error("{0}")]
    InvalidInput(String),
    #[error("{file}: not a valid PNG: {detail}")]
    Png { file: String, detail: String },
    #[error("{file}: unsafe archive: {detail}")]
    UnsafeArchive { file: String, detail: String },
    #[error("{file} is {size} bytes; the limit for this kind of file is {limit} bytes")]
    FileTooLarge { file: String, size: u64, limit: u64 },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("no speaker {speaker:?} in the script; speakers: {available}")]
    SpeakerNotFound { speaker: String, available: String },
    #[error("the script has several speakers; choose one of {available}")]
    SpeakerRequired { available: String },
    #[error("the bundled style tables are damaged: {0}")]
    StyleAssets(String),
    #[error("style analysis: {0}")]
    Style(#[from] kotodama_style::Error),
    #[error("persona {persona_id}'s stored style profile is unreadable ({detail}): re-import its script")]
    ProfileUnreadable { persona_id: i64, detail: String },
    #[error(transparent)]
    Models(#[from] crate::models::ModelsError),
    #[error("model: {0}")]
    Engine(#[from] kotodama_engine::Error),
    /// A model the user serves (an OpenAI-compatible server) did not answer as it should.
    #[error("the chat model at {url}: {detail}")]
    Remote { url: String, detail: String },
    /// The OS keyring could not keep or give an API key.
    #[error("the system keyring: {0}")]
    Keyring(String),
    #[error("teacher: {0}")]
    Teacher(String),
    #[error("distillation: {0}")]
    Distill(String),
    /// One of a kind runs already (a download, a distillation).
    #[error("{0}")]
    Busy(String),
    /// A lock whose holder panicked: what it guarded may be half-changed, so it is not used again.
    #[error("{0} was poisoned by an earlier failure")]
    Poisoned(&'static str),
    /// The application could not open; every call answers with why (the window shows it).
    #[error("{message}")]
    Startup { code: &'static str, message: String },
}

/// An error as the front ends show it: the stable code and the readable message.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ErrorView {
    pub code: String,
    pub message: String,
}

impl From<&Error> for ErrorView {
    fn from(e: &Error) -> Self {
        ErrorView {
            code: e.code().to_string(),
            message: e.to_string(),
        }
    }
}

impl From<Error> for ErrorView {
    fn from(e: Error) -> Self {
        (&e).into()
    }
}

impl Error {
    pub fn code(&self) -> &'static str {
        use crate::models::ModelsError as M;
        use kotodama_store::Error as S;
        match self {
            Error::Store(S::NotADatabase { .. }) => "DB_NOT_A_DATABASE",
            Error::Store(S::ForeignDatabase { .. }) => "DB_FOREIGN",
            Error::Store(S::NewerSchema { .. }) => "DB_NEWER_SCHEMA",
            Error::Store(S::Damaged { .. }) => "DB_DAMAGED",
            Error::Store(S::CreateDir { .. }) | Error::NoHome => "DATA_DIR",
            Error::Store(S::File { .. }) => "IO_ERROR",
            Error::Store(S::NotFound { .. }) => "NOT_FOUND",
            Error::Store(S::NoAlternative { .. }) => "NO_SUCH_ALTERNATIVE",
            Error::Store(S::JobBusy { .. }) => "JOB_RUNNING",
            Error::Store(_) => "DB_ERROR",
            Error::Card(_) => "CARD_INVALID",
            Error::Script { .. } => "SCRIPT_INVALID",
            Error::BundledPersona { .. } => "BUNDLED_PERSONA",
            Error::InvalidInput(_) => "INVALID_INPUT",
            Error::Remote { .. } => "REMOTE_MODEL",
            Error::Keyring(_) => "KEYRING",
            Error::Png { .. } => "PNG_INVALID",
            Error::UnsafeArchive { .. } => "ARCHIVE_UNSAFE",
            Error::FileTooLarge { .. } => "FILE_TOO_LARGE",
            Error::Io { .. } => "IO_ERROR",
            Error::SpeakerNotFound { .. } => "SPEAKER_NOT_FOUND",
            Error::SpeakerRequired { .. } => "SPEAKER_REQUIRED",
            Error::StyleAssets(_) => "STYLE_ASSETS",
            Error::Style(_) => "STYLE_ANALYSIS",
            Error::ProfileUnreadable { .. } => "PROFILE_UNREADABLE",
            Error::Models(M::NotFound(_)) => "MODEL_NOT_INSTALLED",
            Error::Models(M::Download { .. } | M::Checksum { .. }) => "DOWNLOAD_FAILED",
            Error::Models(M::Cancelled) => "CANCELLED",
            Error::Models(M::Engine(e)) | Error::Engine(e) => engine_code(e),
            Error::Models(M::Io { .. } | M::Invalid(_)) => "MODEL_ERROR",
            Error::Teacher(_) => "TEACHER_FAILED",
            Error::Distill(_) => "DISTILL_FAILED",
            Error::Busy(_) => "BUSY",
            Error::Poisoned(_) => "INTERNAL",
            Error::Startup { code, .. } => code,
        }
    }
}

fn engine_code(e: &kotodama_engine::Error) -> &'static str {
    use kotodama_engine::Error as E;
    match e {
        E::ContextOverflow { .. } => "CONTEXT_FULL",
        E::Gguf { .. } | E::Metadata(_) | E::Tensor { .. } | E::Json { .. } => "MODEL_INVALID",
        E::Unsupported(_) => "MODEL_UNSUPPORTED",
        E::Device(_) => "DEVICE_UNAVAILABLE",
        E::Adapter(_) => "ADAPTER_INVALID",
        _ => "MODEL_ERROR",
    }
}

pub type Result<T> = std::result::Result<T, Error>;
