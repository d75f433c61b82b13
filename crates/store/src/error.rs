use std::path::PathBuf;

/// Everything that can go wrong in the store. The shell maps each variant to a stable code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path} is not a SQLite database (the file was left untouched)")]
    NotADatabase { path: PathBuf },
    #[error("{path} is a SQLite database of another application (application_id {found:#x}); it was left untouched")]
    ForeignDatabase { path: PathBuf, found: i32 },
    #[error("{path} was written by a newer Kotodama (schema {found}, this build knows up to {known}); it was left untouched")]
    NewerSchema {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("{path} is damaged ({detail}); it was left untouched. Restore a backup with `kotodama db restore FILE` (backups are in {backups}), or move the file away to start with an empty database")]
    Damaged {
        path: PathBuf,
        detail: String,
        backups: PathBuf,
    },
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the data folder {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: i64 },
    #[error("message {message_id} has {count} alternative(s); there is no alternative number {}", .index + 1)]
    NoAlternative {
        message_id: i64,
        /// From 0, as stored; shown from 1.
        index: i64,
        count: i64,
    },
    #[error("job {id} is running in another process (pid {pid}): wait for it, or cancel it first")]
    JobBusy { id: i64, pid: i64 },
    #[error("invalid value in column {column}: {detail}")]
    InvalidColumn {
        column: &'static str,
        detail: String,
    },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("JSON column error: {0}")]
    Json(#[from] serde_json::Error),
}

pub type Result<T> = std::result::Result<T, Error>;
