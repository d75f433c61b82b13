//! The database file itself, for when something went wrong: SQLite's integrity check, a backup now,
//! a backup put back. These work on the file directly (a damaged one cannot be opened by the core).

use std::path::{Path, PathBuf};

use kotodama_store::{backup, Store};

use crate::{Home, Result};

/// The backups kept beside the database, oldest first, and the folder they are in.
pub fn backups(home: &Home) -> (PathBuf, Vec<PathBuf>) {
    let db = home.database();
    (backup::backups_dir(&db), backup::list_backups(&db))
}

/// Whether the database passes SQLite's integrity check.
pub fn check(home: &Home) -> Result<bool> {
    Ok(Store::open(&home.database())?.integrity_ok()?)
}

/// Copies the database into the backups folder, or to `to`; returns where.
pub fn back_up(home: &Home, to: Option<&Path>) -> Result<PathBuf> {
    Ok(Store::open(&home.database())?.backup(to)?)
}

/// Puts `file` (a backup) in place of the database; returns where the replaced file was moved.
pub fn restore(home: &Home, file: &Path) -> Result<Option<PathBuf>> {
    Ok(Store::restore(&home.database(), file)?)
}
