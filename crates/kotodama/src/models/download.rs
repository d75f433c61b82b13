//! Resumable, sha256-verified, cancellable HTTP downloads with progress, for the Hugging Face hub's URL
//! layout (`{endpoint}/{repo}/resolve/{revision}/{file}`, file list and LFS sha256 from
//! `{endpoint}/api/models/{repo}/tree/{revision}`) and PyPI's JSON API.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use kotodama_engine::CancelToken;

use super::{ModelsError, Result};

pub const HF_ENDPOINT: &str = "https://huggingface.co";

/// Progress of one file, reported every few hundred KiB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct DownloadProgress {
    pub file: String,
    pub downloaded_bytes: u64,
    pub total_bytes: Option<u64>,
}

/// One file to fetch and what it must hash to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    pub url: String,
    /// Name relative to the destination directory.
    pub name: String,
    pub size: Option<u64>,
    /// Lower-case hex sha256; downloads that do not match are deleted and refused.
    pub sha256: Option<String>,
}

fn http_err(url: &str, e: impl std::fmt::Display) -> ModelsError {
    ModelsError::Download {
        url: url.to_string(),
        reason: e.to_string(),
    }
}

fn io_err(path: &Path, e: std::io::Error) -> ModelsError {
    ModelsError::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

fn agent() -> ureq::Agent {
    http_agent(None)
}

/// The HTTP client of the app: statuses are answers (not errors), with an optional overall timeout.
pub(crate) fn http_agent(timeout: Option<std::time::Duration>) -> ureq::Agent {
    // The OS trust store, so that proxy/corporate CAs the user's system trusts work too.
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(timeout)
        .tls_config(tls)
        .build()
        .into()
}

fn get_json(url: &str) -> Result<serde_json::Value> {
    let mut resp = agent().get(url).call().map_err(|e| http_err(url, e))?;
    if !resp.status().is_success() {
        return Err(http_err(url, format!("HTTP {}", resp.status())));
    }
    let text = resp
        .body_mut()
        .read_to_string()
        .map_err(|e| http_err(url, e))?;
    serde_json::from_str(&text).map_err(|e| http_err(url, format!("invalid JSON: {e}")))
}

/// Files of a hub repository at `revision` whose names satisfy `wanted`, with their LFS sha256.
pub fn hub_files(
    endpoint: &str,
    repo: &str,
    revision: &str,
    wanted: impl Fn(&str) -> bool,
) -> Result<Vec<RemoteFile>> {
    let url = format!("{endpoint}/api/models/{repo}/tree/{revision}");
    let listing = get_json(&url)?;
    let entries = listing
        .as_array()
        .ok_or_else(|| http_err(&url, "expected a JSON array"))?;
    let files: Vec<RemoteFile> = entries
        .iter()
        .filter(|e| e["type"] == "file")
        .filter_map(|e| e["path"].as_str().map(|p| (p, e)))
        .filter(|(p, _)| wanted(p))
        .map(|(path, e)| RemoteFile {
            url: format!("{endpoint}/{repo}/resolve/{revision}/{path}"),
            name: path.to_string(),
            size: e["lfs"]["size"].as_u64().or_else(|| e["size"].as_u64()),
            sha256: e["lfs"]["oid"].as_str().map(str::to_ascii_lowercase),
        })
        .collect();
    if files.is_empty() {
        return Err(ModelsError::NotFound(format!(
            "no matching file in {repo}@{revision}"
        )));
    }
    Ok(files)
}

/// Downloads `file` into `dir`, resuming a previous partial download (`<name>.part`), verifying the
/// sha256, and returning the final path. `cancel` stops it between chunks; the partial file is kept.
pub fn download(
    file: &RemoteFile,
    dir: &Path,
    progress: &mut dyn FnMut(&DownloadProgress),
    cancel: &CancelToken,
) -> Result<PathBuf> {
    let dest = dir.join(&file.name);
    if file
        .name
        .split(['/', '\\'])
        .any(|c| c == ".." || c.is_empty())
    {
        return Err(ModelsError::Invalid(format!(
            "refusing to write outside {}: {}",
            dir.display(),
            file.name
        )));
    }
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
    }
    let part = dest.with_file_name(format!(
        "{}.part",
        dest.file_name().unwrap_or_default().to_string_lossy()
    ));
    let mut have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    if file.size.is_some_and(|s| have > s) {
        have = 0;
    }
    let mut request = agent().get(&file.url);
    if have > 0 {
        request = request.header("Range", &format!("bytes={have}-"));
    }
    let mut resp = request.call().map_err(|e| http_err(&file.url, e))?;
    let status = resp.status().as_u16();
    let resumed = match status {
        206 => true,
        200 => false,
        // Already complete: the server has nothing past our end.
        416 if have > 0 => true,
        s => return Err(http_err(&file.url, format!("HTTP {s}"))),
    };
    let mut out = OpenOptions::new()
        .create(true)
        .write(true)
        .append(resumed)
        .truncate(!resumed)
        .open(&part)
        .map_err(|e| io_err(&part, e))?;
    let mut downloaded = if resumed { have } else { 0 };
    let total = file.size.or_else(|| {
        let len: Option<u64> = resp
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok()?.parse().ok());
        len.map(|l| l + downloaded)
    });
    if status != 416 {
        let mut body = resp.body_mut().as_reader();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            if cancel.is_cancelled() {
                out.flush().map_err(|e| io_err(&part, e))?;
                return Err(ModelsError::Cancelled);
            }
            let n = body.read(&mut buf).map_err(|e| http_err(&file.url, e))?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n]).map_err(|e| io_err(&part, e))?;
            downloaded += n as u64;
            progress(&DownloadProgress {
                file: file.name.clone(),
                downloaded_bytes: downloaded,
                total_bytes: total,
            });
        }
    }
    out.sync_all().map_err(|e| io_err(&part, e))?;
    drop(out);
    if let Some(size) = file.size {
        let got = std::fs::metadata(&part)
            .map_err(|e| io_err(&part, e))?
            .len();
        if got < size {
            return Err(http_err(
                &file.url,
                format!("connection closed after {got} of {size} bytes; run again to resume"),
            ));
        }
    }
    if let Some(expected) = &file.sha256 {
        let actual = sha256_file(&part)?;
        if &actual != expected {
            std::fs::remove_file(&part).map_err(|e| io_err(&part, e))?;
            return Err(ModelsError::Checksum {
                file: file.name.clone(),
                expected: expected.clone(),
                actual,
            });
        }
    }
    std::fs::rename(&part, &dest).map_err(|e| io_err(&dest, e))?;
    Ok(dest)
}

pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| io_err(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}
