use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The data folder: the database, installed models, adapters and job checkpoints live under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    root: PathBuf,
}

/// Overrides the data folder (tests, portable installs).
pub const HOME_ENV: &str = "KOTODAMA_HOME";

/// The user's choice of data folder lives outside any data folder, in the OS config dir.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Config {
    data_dir: PathBuf,
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("app", "Kotodama", "kotodama")
}

/// Where the data-folder choice is written (e.g. `~/.config/kotodama/config.json` on Linux).
pub fn config_file() -> Option<PathBuf> {
    project_dirs().map(|d| d.config_dir().join("config.json"))
}

impl Home {
    /// `$KOTODAMA_HOME` when set, else the folder chosen in the settings (`config_file`), else the OS
    /// data dir (e.g. `~/.local/share/kotodama` on Linux).
    pub fn resolve() -> Option<Home> {
        if let Some(dir) = std::env::var_os(HOME_ENV).filter(|v| !v.is_empty()) {
            return Some(Home::at(PathBuf::from(dir)));
        }
        if let Some(chosen) = config_file().and_then(|f| Home::chosen(&f)) {
            return Some(chosen);
        }
        project_dirs().map(|d| Home::at(d.data_dir().to_path_buf()))
    }

    /// The folder a config file names; None when there is none or it cannot be read (a broken config
    /// must not keep the app from starting with its default folder).
    fn chosen(config: &Path) -> Option<Home> {
        let text = std::fs::read_to_string(config).ok()?;
        let config: Config = serde_json::from_str(&text).ok()?;
        Some(Home::at(config.data_dir))
    }

    /// Records `dir` as the data folder from the next start on, in `config`. The folder must be an
    /// absolute path that can be created and written; nothing is moved (the current folder stays).
    pub fn choose(dir: &Path, config: &Path) -> Result<Home> {
        if !dir.is_absolute() {
            return Err(Error::InvalidInput(format!(
                "the data folder must be an absolute path: {}",
                dir.display()
            )));
        }
        let unusable = |e: std::io::Error| {
            Error::InvalidInput(format!("{} cannot be used: {e}", dir.display()))
        };
        std::fs::create_dir_all(dir).map_err(unusable)?;
        let probe = dir.join(".kotodama-write-check");
        std::fs::write(&probe, b"").map_err(unusable)?;
        let _ = std::fs::remove_file(&probe);
        let json = serde_json::to_string_pretty(&Config {
            data_dir: dir.to_path_buf(),
        })
        .map_err(|e| Error::InvalidInput(e.to_string()))?;
        crate::fsutil::write_atomically(config, json.as_bytes())?;
        Ok(Home::at(dir))
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
    fn a_chosen_folder_is_checked_written_to_the_config_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config/kotodama/config.json");
        assert_eq!(Home::chosen(&config), None);
        let data = dir.path().join("elsewhere/kotodama");
        let home = Home::choose(&data, &config).unwrap();
        assert_eq!(home.root(), data);
        assert!(data.is_dir());
        assert_eq!(Home::chosen(&config), Some(Home::at(&data)));

        let err = Home::choose(Path::new("relative/dir"), &config).unwrap_err();
        assert!(err.to_string().contains("absolute"), "{err}");
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"x").unwrap();
        assert_eq!(
            Home::choose(&file, &config).unwrap_err().code(),
            "INVALID_INPUT"
        );
        assert_eq!(
            Home::chosen(&config),
            Some(Home::at(&data)),
            "a refused choice keeps the last"
        );
        std::fs::write(&config, b"{not json").unwrap();
        assert_eq!(Home::chosen(&config), None, "a broken config falls back");
    }

    #[test]
    fn paths_hang_off_the_root() {
        let home = Home::at("/data/k");
        assert_eq!(home.database(), PathBuf::from("/data/k/kotodama.db"));
        assert_eq!(home.models_dir(), PathBuf::from("/data/k/models"));
    }
}
