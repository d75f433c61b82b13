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
    Script { file: String, line: usize, detail: String },
    #[error("bundled persona {slug}: {detail}")]
    BundledPersona { slug: String, detail: String },
    #[error("{0}")]
    InvalidInput(String),
}

impl Error {
    pub fn code(&self) -> &'static str {
        use kotodama_store::Error as S;
        match self {
            Error::Store(S::NotADatabase { .. }) => "DB_NOT_A_DATABASE",
            Error::Store(S::ForeignDatabase { .. }) => "DB_FOREIGN",
            Error::Store(S::NewerSchema { .. }) => "DB_NEWER_SCHEMA",
            Error::Store(S::CreateDir { .. }) | Error::NoHome => "DATA_DIR",
            Error::Store(S::NotFound { .. }) => "NOT_FOUND",
            Error::Store(_) => "DB_ERROR",
            Error::Card(_) => "CARD_INVALID",
            Error::Script { .. } => "SCRIPT_INVALID",
            Error::BundledPersona { .. } => "BUNDLED_PERSONA",
            Error::InvalidInput(_) => "INVALID_INPUT",
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
