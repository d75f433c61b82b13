//! `kotodama db check|backup|restore`: the database file itself, for when something went wrong.
//! These work on the file directly (a damaged one cannot be opened by the core).

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Subcommand;
use kotodama::{db, Home};

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
    let database = home.database();
    match cmd {
        DbCommand::Check => {
            let (dir, backups) = db::backups(&home);
            println!("database: {}", database.display());
            println!("backups:  {} in {}", backups.len(), dir.display());
            for b in backups.iter().rev() {
                println!("  {}", b.display());
            }
            if !db::check(&home)? {
                bail!(
                    "{} fails SQLite's integrity check: restore a backup with `kotodama db restore FILE`",
                    database.display()
                );
            }
            println!("ok: the database is sound");
            Ok(())
        }
        DbCommand::Backup { to } => {
            let path = db::back_up(&home, to.as_deref())?;
            println!("backed up to {}", path.display());
            Ok(())
        }
        DbCommand::Restore { file } => {
            let moved = db::restore(&home, &file)?;
            println!("restored {} from {}", database.display(), file.display());
            if let Some(m) = moved {
                println!("the file it replaced is kept as {}", m.display());
            }
            Ok(())
        }
    }
}
