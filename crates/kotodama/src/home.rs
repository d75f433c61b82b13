use std::path::{Path, PathBuf};

/// The data folder: the database, installed models, adapters and job checkpoints live under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    root: PathBuf,
}

/// Overrides the data folder (tests, portable installs).
pub const HOME_ENV: &str = "KOTODAMA_HOME";

impl Home {
    /// `$KOTODAMA_HOME` when set, else the OS data dir (e.g. `~/.local/share/kotodama` on Linux).
    pub fn resolve() -> Option<Home> {
        if let Some(dir) = std::env::var_os(HOME_ENV).filter(|v| !v.is_empty()) {
            return Some(Home::at(PathBuf::from(dir)));
        }
        directories::ProjectDirs::from("app", "Kotodama", "kotodama")
            .map(|d| Home::at(d.data_dir().to_path_buf()))
    }

    pub fn at(root: impl Into<PathBuf>) -> Home {
        Home { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn database(&self) -> PathBuf {
        self.root.join("kotodama.db")
    }

    pub fn models_dir(&self) -> PathBuf {
        self.root.join("models")
    }

    pub fn adapters_dir(&self) -> PathBuf {
        self.root.join("adapters")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_hang_off_the_root() {
        let home = Home::at("/data/k");
        assert_eq!(home.database(), PathBuf::from("/data/k/kotodama.db"));
        assert_eq!(home.models_dir(), PathBuf::from("/data/k/models"));
    }
}
