//! Copies of the database, through SQLite's online backup API (consistent while another instance
//! writes): before every migration, once a day, and on request; the newest `KEEP` are kept in a
//! `backups` folder beside the database. `restore_from` puts one back.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::open::{damaged, APPLICATION_ID};
use crate::{now_ms, Error, Result, Store};

/// Backups kept; older ones are deleted as new ones are made.
pub const KEEP: usize = 5;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;
const PREFIX: &str = "kotodama-";

/// Where the backups of the database at `db` go.
pub fn backups_dir(db: &Path) -> PathBuf {
    db.parent().unwrap_or(Path::new(".")).join("backups")
}

/// UTC time of `ms` as `YYYYMMDD-HHMMSS-mmm` (names sort in time order).
fn stamp(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}-{:03}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        ms.rem_euclid(1000)
    )
}

fn copy_database(from: &Connection, to: &Path) -> Result<()> {
    let partial = to.with_extension("db.partial");
    let _ = std::fs::remove_file(&partial);
    let mut dst = Connection::open(&partial)?;
    copy_pages(from, &mut dst)?;
    // The copy is one self-contained file (the source's WAL mode would want -wal/-shm beside it).
    dst.pragma_update(None, "journal_mode", "DELETE")?;
    drop(dst);
    std::fs::rename(&partial, to).map_err(|source| Error::File {
        path: to.to_path_buf(),
        source,
    })
}

/// Copies every page of `from` into `to`, waiting a little while another connection holds a lock
/// (rusqlite's `run_to_completion` would wait forever).
fn copy_pages(from: &Connection, to: &mut Connection) -> Result<()> {
    use rusqlite::backup::StepResult;
    let backup = rusqlite::backup::Backup::new(from, to)?;
    let mut waits = 0;
    loop {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            StepResult::More => {}
            StepResult::Busy | StepResult::Locked if waits < 500 => {
                waits += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            _ => {
                return Err(Error::Sqlite(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                    Some("the database stayed locked for 10 s during a backup".into()),
                )))
            }
        }
    }
}

/// The backups of the database at `db`, oldest first.
pub fn list_backups(db: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(backups_dir(db))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(".db"))
        })
        .collect();
    found.sort();
    found
}

/// A new file name in the backups folder (created if needed): `kotodama-<time>-<label>.db`.
fn new_backup_path(db: &Path, label: &str) -> Result<PathBuf> {
    let dir = backups_dir(db);
    std::fs::create_dir_all(&dir).map_err(|source| Error::CreateDir {
        path: dir.clone(),
        source,
    })?;
    let mut ms = now_ms();
    loop {
        let t = dir.join(format!("{PREFIX}{}-{label}.db", stamp(ms)));
        if !t.exists() {
            return Ok(t);
        }
        ms += 1;
    }
}

/// Copies the database behind `conn` into the backups folder as `kotodama-<time>-<label>.db` and
/// deletes all but the newest `KEEP`.
pub(crate) fn backup_into_dir(conn: &Connection, db: &Path, label: &str) -> Result<PathBuf> {
    let target = new_backup_path(db, label)?;
    copy_database(conn, &target)?;
    let all = list_backups(db);
    for old in &all[..all.len().saturating_sub(KEEP)] {
        let _ = std::fs::remove_file(old);
    }
    Ok(target)
}

impl Store {
    /// A backup now: into the backups folder, or to `target`.
    pub fn backup(&self, target: Option<&Path>) -> Result<PathBuf> {
        match target {
            Some(t) => {
                copy_database(&self.conn, t)?;
                Ok(t.to_path_buf())
            }
            None => backup_into_dir(&self.conn, &self.path, "manual"),
        }
    }

    /// A backup when the newest is more than a day old (or there is none); the core calls it at
    /// open.
    pub fn daily_backup(&self) -> Result<Option<PathBuf>> {
        let newest = list_backups(&self.path)
            .last()
            .and_then(|p| std::fs::metadata(p).ok()?.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as i64);
        if newest.is_some_and(|t| now_ms() - t < DAY_MS) {
            return Ok(None);
        }
        backup_into_dir(&self.conn, &self.path, "daily").map(Some)
    }

    /// Puts the database at `db` back to `source` (a sound Kotodama database, of this schema or an
    /// older one, migrated after): the current file, sound or damaged, is moved into the backups
    /// folder (returned), and `source` copied in its place. No other instance may have `db` open.
    pub fn restore(db: &Path, source: &Path) -> Result<Option<PathBuf>> {
        let src = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(
            |_| Error::NotADatabase {
                path: source.to_path_buf(),
            },
        )?;
        let (app_id, version, check): (i32, i64, String) = src
            .query_row(
                "SELECT (SELECT application_id FROM pragma_application_id()), \
                 (SELECT user_version FROM pragma_user_version()), \
                 (SELECT quick_check FROM pragma_quick_check LIMIT 1)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(|e| match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::DatabaseCorrupt) => damaged(source, &e.to_string()),
                _ => Error::NotADatabase {
                    path: source.to_path_buf(),
                },
            })?;
        if app_id != APPLICATION_ID {
            return Err(Error::ForeignDatabase {
                path: source.to_path_buf(),
                found: app_id,
            });
        }
        if check != "ok" {
            return Err(damaged(source, &check));
        }
        let known = crate::migrations::MIGRATIONS.len() as i64;
        if version > known {
            return Err(Error::NewerSchema {
                path: source.to_path_buf(),
                found: version,
                known,
            });
        }
        let moved = if db.exists() {
            let aside = new_backup_path(db, "replaced")?;
            // The file with its WAL and shared-memory companions, so what was there stays whole.
            for suffix in ["", "-wal", "-shm"] {
                let from = PathBuf::from(format!("{}{suffix}", db.display()));
                if from.exists() {
                    let to = PathBuf::from(format!("{}{suffix}", aside.display()));
                    std::fs::rename(&from, &to).map_err(|source| Error::File {
                        path: to.clone(),
                        source,
                    })?;
                }
            }
            Some(aside)
        } else {
            None
        };
        copy_database(&src, db)?;
        drop(Store::open(db)?);
        Ok(moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::open::APPLICATION_ID;

    #[test]
    fn a_backup_restores_what_was_there_and_only_a_sound_kotodama_file_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kotodama.db");
        let mut store = Store::open(&path).unwrap();
        store.set_app_setting("theme", "dark").unwrap();
        let saved = store.backup(None).unwrap();
        assert_eq!(list_backups(&path), vec![saved.clone()]);
        assert!(store.daily_backup().unwrap().is_none(), "one today already");
        store.set_app_setting("theme", "light").unwrap();

        drop(store);
        let replaced = Store::restore(&path, &saved)
            .unwrap()
            .expect("a database was there");
        let store = Store::open(&path).unwrap();
        assert_eq!(store.app_setting("theme").unwrap().as_deref(), Some("dark"));
        assert!(store.integrity_ok().unwrap());
        drop(store);
        // What was replaced was kept, whole.
        let kept = Store::open(&replaced).unwrap();
        assert_eq!(kept.app_setting("theme").unwrap().as_deref(), Some("light"));
        drop(kept);

        let notes = dir.path().join("notes.db");
        rusqlite::Connection::open(&notes)
            .unwrap()
            .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        assert!(matches!(
            Store::restore(&path, &notes),
            Err(Error::ForeignDatabase { .. })
        ));
        let store = Store::open(&path).unwrap();
        assert_eq!(store.app_setting("theme").unwrap().as_deref(), Some("dark"));
    }

    /// A damaged database is put back from a backup without opening it.
    #[test]
    fn a_damaged_database_is_restored_from_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kotodama.db");
        let mut store = Store::open(&path).unwrap();
        store.set_app_setting("theme", "dark").unwrap();
        let saved = store.backup(None).unwrap();
        drop(store);
        std::fs::write(&path, b"SQLite format 3\0 and then garbage".repeat(200)).unwrap();
        assert!(Store::open(&path).is_err());
        Store::restore(&path, &saved).unwrap();
        let store = Store::open(&path).unwrap();
        assert_eq!(store.app_setting("theme").unwrap().as_deref(), Some("dark"));
    }

    #[test]
    fn migrating_an_old_database_backs_it_up_first_and_only_the_newest_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kotodama.db");
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch(crate::migrations::MIGRATIONS[0])
                .unwrap();
            conn.pragma_update(None, "application_id", APPLICATION_ID)
                .unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
        }
        let store = Store::open(&path).unwrap();
        let backups = list_backups(&path);
        assert_eq!(
            backups.len(),
            1,
            "one copy before all the pending migrations"
        );
        let old = rusqlite::Connection::open(&backups[0]).unwrap();
        let version: i64 = old
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, 1, "the copy is the database as it was");
        for _ in 0..KEEP + 2 {
            store.backup(None).unwrap();
        }
        assert_eq!(list_backups(&path).len(), KEEP);
        assert!(
            !list_backups(&path).contains(&backups[0]),
            "the oldest went first"
        );
    }

    #[test]
    fn stamps_are_utc_dates() {
        assert_eq!(stamp(0), "19700101-000000-000");
        assert_eq!(stamp(1_765_120_263_042), "20251207-151103-042");
        assert_eq!(stamp(951_782_400_000), "20000229-000000-000", "a leap day");
    }
}
