//! `kotodama db check|backup|restore`: the database file itself, for when something went wrong.
//! These work on the file directly (a damaged one cannot be opened by the core).

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Subcommand;
use kotodama::store::{backup, Store};
use kotodama::Home;

#[derive(Subcommand)]
pub enum DbCommand {
    /// Check the database file (SQLite's integrity check) and list its backups.
    Check,
    /// Copy the database now into the backups folder, or to FILE.
    Backup {
        #[arg(long)]
        to: Option<PathBuf>,
    },
    /// Put the database back to FILE (a backup); the current file is moved into the backups folder.
    /// Close the app first.
    Restore { file: PathBuf },
}

pub fn run(cmd: DbCommand) -> Result<()> {
    let home = Home::resolve().ok_or(kotodama::Error::NoHome)?;
    let db = home.database();
    match cmd {
        DbCommand::Check => {
            let backups = backup::list_backups(&db);
            println!("database: {}", db.display());
            println!(
                "backups:  {} in {}",
                backups.len(),
                backup::backups_dir(&db).display()
            );
            for b in backups.iter().rev() {
                println!("  {}", b.display());
            }
            let store = Store::open(&db).map_err(kotodama::Error::from)?;
            if !store.integrity_ok().map_err(kotodama::Error::from)? {
                bail!(
                    "{} fails SQLite's integrity check: restore a backup with `kotodama db restore FILE`",
                    db.display()
                );
            }
            println!("ok: the database is sound");
            Ok(())
        }
        DbCommand::Backup { to } => {
            let store = Store::open(&db).map_err(kotodama::Error::from)?;
            let path = store.backup(to.as_deref()).map_err(kotodama::Error::from)?;
            println!("backed up to {}", path.display());
            Ok(())
        }
        DbCommand::Restore { file } => {
            let moved = Store::restore(&db, &file).map_err(kotodama::Error::from)?;
            println!("restored {} from {}", db.display(), file.display());
            if let Some(m) = moved {
                println!("the file it replaced is kept as {}", m.display());
            }
            Ok(())
        }
    }
}
