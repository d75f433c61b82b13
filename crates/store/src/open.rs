use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::migrations::MIGRATIONS;
use crate::{Error, Result};

/// Marks a Kotodama database ("KOTO"), so that another program's SQLite file is never migrated.
pub const APPLICATION_ID: i32 = 0x4B4F_544F;

const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// How long a second instance waits for the first one's lock before giving up.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// An open Kotodama database. Cheap to open; one per thread or behind a mutex (rusqlite connections are
/// `Send` but not `Sync`). Several processes may open the same file: WAL + busy timeout serialize writers.
pub struct Store {
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
    /// This open made the database (it held nothing before).
    created: bool,
}

impl Store {
    /// Opens (or creates) the database at `path` and applies pending migrations. A file that is not a
    /// SQLite database, or belongs to another application, or to a newer Kotodama, is refused unchanged.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| Error::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        refuse_non_sqlite(path)?;
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Write transactions take the write lock up front: a deferred one that read first cannot be
        // upgraded once another process has committed (SQLITE_BUSY without waiting), an immediate one waits.
        conn.set_transaction_behavior(TransactionBehavior::Immediate);
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            created: false,
        };
        // SQLite skips the busy handler in some lock upgrades (switching to WAL while another process
        // creates the file), so the whole idempotent set-up is retried while another instance holds a lock.
        let started = Instant::now();
        loop {
            match store.set_up() {
                Err(Error::Sqlite(e)) if is_busy(&e) && started.elapsed() < BUSY_TIMEOUT => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => return other.map(|()| store),
            }
        }
    }

    fn set_up(&mut self) -> Result<()> {
        refuse_foreign(&self.conn, &self.path)?;
        self.refuse_damaged()?;
        self.conn.pragma_update(None, "foreign_keys", true)?;
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        self.migrate()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this open created the database (nothing to back up yet).
    pub fn is_new(&self) -> bool {
        self.created
    }

    /// The schema version this database is at.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// SQLite's quick consistency check at open (it reads every page once, milliseconds for a
    /// chat database): damage is reported with the file's name and what to do, before anything
    /// writes to it.
    fn refuse_damaged(&self) -> Result<()> {
        let verdict: rusqlite::Result<String> =
            self.conn
                .query_row("PRAGMA quick_check(1)", [], |r| r.get(0));
        match verdict {
            Ok(v) if v == "ok" => Ok(()),
            Ok(v) => Err(damaged(&self.path, &v)),
            Err(e) if is_busy(&e) => Err(Error::Sqlite(e)),
            Err(e) => Err(damaged(&self.path, &e.to_string())),
        }
    }

    /// Runs SQLite's own consistency check; `Ok(true)` when the file is sound.
    pub fn integrity_ok(&self) -> Result<bool> {
        let verdict: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        Ok(verdict == "ok")
    }

    pub(crate) fn migrate(&mut self) -> Result<()> {
        let known = MIGRATIONS.len() as i64;
        // A copy of an older database as it was, before the migrations change it (taken outside
        // their transaction: SQLite cannot back up a database its own connection is writing).
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > 0 && version < known {
            crate::backup::backup_into_dir(&self.conn, &self.path, &format!("before-v{known}"))?;
        }
        self.created = version == 0;
        loop {
            // IMMEDIATE takes the write lock first, so two processes opening a fresh file migrate once.
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
            if version > known {
                return Err(Error::NewerSchema {
                    path: self.path.clone(),
                    found: version,
                    known,
                });
            }
            if version == known {
                return Ok(());
            }
            tx.execute_batch(MIGRATIONS[version as usize])?;
            tx.pragma_update(None, "application_id", APPLICATION_ID)?;
            tx.pragma_update(None, "user_version", version + 1)?;
            tx.commit()?;
        }
    }
}

/// Reads the 16-byte header ourselves: SQLite would happily treat some non-database files as empty.
fn refuse_non_sqlite(path: &Path) -> Result<()> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(Error::CreateDir {
                path: path.to_path_buf(),
                source: e,
            })
        }
    };
    let mut header = [0u8; 16];
    let mut read = 0;
    while read < header.len() {
        match file.read(&mut header[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(_) => {
                return Err(Error::NotADatabase {
                    path: path.to_path_buf(),
                })
            }
        }
    }
    match read {
        // An empty file is a database another instance has just created and not yet written (its
        // first write follows in milliseconds), or one emptied by something else (a failed copy, a
        // full disk): taking that as a new database would hide that the user's chats are gone.
        0 if just_created(&file) => Ok(()),
        0 => Err(damaged(path, "the file is empty")),
        16 if &header == SQLITE_MAGIC => Ok(()),
        _ => Err(Error::NotADatabase {
            path: path.to_path_buf(),
        }),
    }
}

/// Whether a file was modified in the last few seconds (or its time is unknown).
fn just_created(file: &std::fs::File) -> bool {
    file.metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_none_or(|age| age < Duration::from_secs(10))
}

/// The error for a damaged database file at `path`.
pub(crate) fn damaged(path: &Path, detail: &str) -> Error {
    Error::Damaged {
        path: path.to_path_buf(),
        detail: detail.to_string(),
        backups: crate::backup::backups_dir(path),
    }
}

fn refuse_foreign(conn: &Connection, path: &Path) -> Result<()> {
    // One statement, one snapshot: another instance may be creating the schema right now.
    let (app_id, objects): (i32, i64) = conn
        .query_row(
            "SELECT (SELECT application_id FROM pragma_application_id()), (SELECT count(*) FROM sqlite_master)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => Error::NotADatabase { path: path.to_path_buf() },
            Some(rusqlite::ErrorCode::DatabaseCorrupt) => damaged(path, &e.to_string()),
            _ => Error::Sqlite(e),
        })?;
    if app_id == APPLICATION_ID || (app_id == 0 && objects == 0) {
        return Ok(()); // ours, or a fresh database
    }
    Err(Error::ForeignDatabase {
        path: path.to_path_buf(),
        found: app_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(path: &Path) -> Vec<u8> {
        std::fs::read(path).unwrap()
    }

    #[test]
    fn creates_and_migrates_a_fresh_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/kotodama.db");
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
        let mode: String = store
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = store
            .conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        drop(store);
        // Reopening is a no-op migration.
        let again = Store::open(&path).unwrap();
        assert!(again.integrity_ok().unwrap());
    }

    #[test]
    fn refuses_a_file_that_is_not_sqlite_and_leaves_it_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kotodama.db");
        std::fs::write(&path, b"these are my notes, not a database\n".repeat(100)).unwrap();
        let before = sha(&path);
        let err = Store::open(&path).err().expect("must refuse");
        assert!(matches!(err, Error::NotADatabase { .. }), "{err}");
        assert_eq!(sha(&path), before);
        assert!(!dir.path().join("kotodama.db-wal").exists());
    }

    #[test]
    fn refuses_a_foreign_sqlite_database_and_leaves_it_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kotodama.db");
        {
            let other = Connection::open(&path).unwrap();
            other
                .execute_batch(
                    "CREATE TABLE recipes (name TEXT); INSERT INTO recipes VALUES ('miso');",
                )
                .unwrap();
        }
        let before = sha(&path);
        let err = Store::open(&path).err().expect("must refuse");
        assert!(
            matches!(err, Error::ForeignDatabase { found: 0, .. }),
            "{err}"
        );
        assert_eq!(sha(&path), before);
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kotodama.db");
        drop(Store::open(&path).unwrap());
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "user_version", 99).unwrap();
        }
        let err = Store::open(&path).err().expect("must refuse");
        assert!(matches!(err, Error::NewerSchema { found: 99, .. }), "{err}");
    }

    #[test]
    fn an_empty_or_damaged_file_is_refused_by_name_with_what_to_do_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kotodama.db");
        std::fs::write(&path, b"").unwrap();
        // Empty for a minute: not another instance's database in the making.
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(std::time::SystemTime::now() - Duration::from_secs(60))
            .unwrap();
        let err = Store::open(&path).err().expect("an empty file is refused");
        assert!(matches!(err, Error::Damaged { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains(&path.display().to_string())
                && text.contains("empty")
                && text.contains("kotodama db restore"),
            "{text}"
        );
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);

        // A real database with a page overwritten in the middle (its header intact).
        std::fs::remove_file(&path).unwrap();
        {
            let mut store = Store::open(&path).unwrap();
            for i in 0..300 {
                store
                    .set_app_setting(&format!("k{i}"), &"x".repeat(200))
                    .unwrap();
            }
            store
                .conn
                .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
                .unwrap();
        }
        let mut bytes = std::fs::read(&path).unwrap();
        let page = 4096;
        assert!(bytes.len() > 4 * page);
        for b in &mut bytes[2 * page..3 * page] {
            *b = 0x5a;
        }
        std::fs::write(&path, &bytes).unwrap();
        let err = Store::open(&path).err().expect("a damaged file is refused");
        assert!(matches!(err, Error::Damaged { .. }), "{err}");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        assert_eq!(sha(&path), bytes, "left untouched");
    }

    #[test]
    fn a_truncated_header_is_not_a_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kotodama.db");
        std::fs::write(&path, b"SQLite for").unwrap();
        assert!(matches!(
            Store::open(&path),
            Err(Error::NotADatabase { .. })
        ));
    }

    #[test]
    fn two_instances_writing_at_once_keep_the_file_sound() {
        use crate::repo::personas::tests::sample_card;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kotodama.db");
        let writers: Vec<_> = (0..2)
            .map(|w| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut store = Store::open(&path).unwrap();
                    for i in 0..40 {
                        store
                            .insert_persona(&sample_card(&format!("w{w}-{i}")), &[], None)
                            .unwrap();
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert!(store.integrity_ok().unwrap());
        assert_eq!(store.personas().unwrap().len(), 80);
    }
}
