//! The curated catalogue of chat models (`catalogue.json`, versioned with the code): what each model
//! is, where the hub has it, how much memory it takes here, and whether that fits this machine.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use kotodama_engine::DeviceKind;
use serde::{Deserialize, Serialize};

/// One chat model of the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CatalogueEntry {
    /// The id it installs under.
    pub id: String,
    pub name: String,
    /// The hub repository and the GGUF file in it.
    pub repo: String,
    pub file: String,
    #[cfg_attr(test, ts(type = "number"))]
    pub size_bytes: u64,
    pub licence: String,
    pub context_length: usize,
    pub architecture: String,
    pub quantization: String,
    pub layers: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    /// What it is good for, in a sentence.
    pub about: String,
}

#[derive(Deserialize)]
struct CatalogueFile {
    version: u32,
    models: Vec<CatalogueEntry>,
}

/// The catalogue's format version this build reads.
const VERSION: u32 = 1;

/// The chat models of the catalogue, in the order shown.
pub fn catalogue() -> &'static [CatalogueEntry] {
    static CATALOGUE: OnceLock<Vec<CatalogueEntry>> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        let file: CatalogueFile = serde_json::from_str(include_str!("catalogue.json"))
            .expect("catalogue.json is checked by its tests");
        assert_eq!(file.version, VERSION, "catalogue.json's version");
        file.models
    })
}

/// The conversation length the memory estimate plans for: the app's chats rarely outgrow it, and the
/// KV cache grows with the conversation.
const PLANNED_CONTEXT: usize = 8192;
/// The app itself, the tokenizer and the compute buffers beside the weights and the cache.
const OVERHEAD_BYTES: u64 = 400 << 20;

/// Whether a model fits this machine's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum Fit {
    /// Half the memory or less: room for everything else the machine runs.
    Fits,
    /// Up to four fifths: it runs, with little room for other programs.
    Tight,
    /// More: it would swap, or fail to load.
    TooBig,
    /// This machine's memory could not be read.
    Unknown,
}

impl CatalogueEntry {
    /// Bytes it takes to chat: the weights, the KV cache (32-bit keys and values, as the engine keeps
    /// them) at the planned conversation length, and the overhead.
    pub fn memory_estimate(&self) -> u64 {
        let positions = self.context_length.min(PLANNED_CONTEXT) as u64;
        let kv =
            2 * self.layers as u64 * self.kv_heads as u64 * self.head_dim as u64 * 4 * positions;
        self.size_bytes + kv + OVERHEAD_BYTES
    }

    /// Whether it fits a machine with `memory` bytes (None: unknown).
    pub fn fit(&self, memory: Option<u64>) -> Fit {
        let Some(memory) = memory.filter(|m| *m > 0) else {
            return Fit::Unknown;
        };
        let needs = self.memory_estimate() as f64;
        match needs / memory as f64 {
            r if r <= 0.5 => Fit::Fits,
            r if r <= 0.8 => Fit::Tight,
            _ => Fit::TooBig,
        }
    }
}

/// This machine's total memory, in bytes.
pub fn machine_memory() -> Option<u64> {
    let mut system = sysinfo::System::new();
    system.refresh_memory();
    Some(system.total_memory()).filter(|m| *m > 0)
}

/// The memory a chat model's weights and cache live in, which the fit verdicts read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ModelMemory {
    /// Total bytes (None: unknown).
    #[cfg_attr(test, ts(type = "number | null"))]
    pub bytes: Option<u64>,
    /// The GPU's name when models load on CUDA (its own memory holds them); None: the machine's memory.
    pub gpu: Option<String>,
}

/// Where models loading on `device` live: a CUDA GPU's own memory (read from the NVIDIA driver's
/// `nvidia-smi`, unknown without it), else the machine's (Apple's GPUs share it).
pub fn model_memory(device: DeviceKind) -> ModelMemory {
    match device {
        DeviceKind::Cuda => {
            let (gpu, bytes) = nvidia_gpu_memory(Path::new("nvidia-smi"))
                .map_or(("CUDA GPU".to_string(), None), |(name, bytes)| {
                    (name, Some(bytes))
                });
            ModelMemory {
                bytes,
                gpu: Some(gpu),
            }
        }
        DeviceKind::Cpu | DeviceKind::Metal => ModelMemory {
            bytes: machine_memory(),
            gpu: None,
        },
    }
}

/// The name and total memory of the GPU the engine uses (device 0), as `program` (the driver's
/// `nvidia-smi`) reports them; None when it cannot run or says something else.
fn nvidia_gpu_memory(program: &Path) -> Option<(String, u64)> {
    let out = Command::new(program)
        .args([
            "--query-gpu=name,memory.total",
            "--format=csv,noheader,nounits",
            "--id=0",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let (name, mib) = text.lines().next()?.rsplit_once(',')?;
    let mib: u64 = mib.trim().parse().ok()?;
    Some((name.trim().to_string(), mib << 20))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn every_entry_is_a_gguf_the_engine_runs_with_a_unique_id() {
        let entries = catalogue();
        assert!(entries.len() >= 6);
        let ids: HashSet<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids.len(), entries.len(), "ids are unique");
        for e in entries {
            kotodama_engine::Architecture::parse(&e.architecture)
                .unwrap_or_else(|err| panic!("{}: {err}", e.id));
            assert!(
                ["Q4_K_M", "Q8_0"].contains(&e.quantization.as_str()),
                "{}",
                e.id
            );
            assert!(
                e.file.ends_with(".gguf") && e.repo.contains('/'),
                "{}",
                e.id
            );
            assert!(e
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-._".contains(c)));
            assert!(
                e.size_bytes > 100 << 20 && e.context_length >= 8192,
                "{}",
                e.id
            );
        }
    }

    #[test]
    fn the_estimate_counts_weights_cache_and_overhead_and_the_verdict_follows_the_memory() {
        let qwen = catalogue()
            .iter()
            .find(|e| e.id == "qwen3-1.7b-q8_0")
            .unwrap();
        // 28 layers x 8 heads x 128 dims x 2 (K, V) x 4 bytes x 8192 positions = 1,879,048,192 bytes.
        assert_eq!(
            qwen.memory_estimate(),
            qwen.size_bytes + 1_879_048_192 + (400 << 20)
        );
        let gib = 1u64 << 30;
        assert_eq!(qwen.fit(Some(16 * gib)), Fit::Fits);
        assert_eq!(qwen.fit(Some(6 * gib)), Fit::Tight);
        assert_eq!(qwen.fit(Some(4 * gib)), Fit::TooBig);
        assert_eq!(qwen.fit(None), Fit::Unknown);
        assert!(
            machine_memory().is_some_and(|m| m > gib),
            "this machine's memory is read"
        );
    }

    /// A stand-in for the NVIDIA driver's tool (no GPU here): a script printing `output`, exiting `code`.
    fn fake_nvidia_smi(dir: &Path, output: &str, code: i32) -> std::path::PathBuf {
        let path = dir.join(format!("nvidia-smi-{code}"));
        std::fs::write(
            &path,
            format!("#!/bin/sh\nprintf '%s' '{output}'\nexit {code}\n"),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn the_gpus_memory_is_read_from_the_driver_and_anything_else_is_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let laptop = fake_nvidia_smi(dir.path(), "NVIDIA GeForce RTX 4060 Laptop GPU, 8188\n", 0);
        assert_eq!(
            nvidia_gpu_memory(&laptop),
            Some(("NVIDIA GeForce RTX 4060 Laptop GPU".into(), 8188 << 20))
        );
        let failing = fake_nvidia_smi(dir.path(), "NVIDIA-SMI has failed", 9);
        assert_eq!(nvidia_gpu_memory(&failing), None);
        let garbled = fake_nvidia_smi(dir.path(), "No devices were found", 0);
        assert_eq!(nvidia_gpu_memory(&garbled), None);
        assert_eq!(nvidia_gpu_memory(&dir.path().join("absent")), None);

        // An 8 GB GPU holds Qwen3 4B's long chat only tightly, though the machine's 32 GB would not.
        let qwen = catalogue()
            .iter()
            .find(|e| e.id == "qwen3-4b-q4_k_m")
            .unwrap();
        assert_eq!(qwen.fit(Some(8188 << 20)), Fit::Tight);
        assert_eq!(qwen.fit(Some(32 << 30)), Fit::Fits);
    }

    #[test]
    fn models_on_the_cpu_read_the_machines_memory() {
        let on_cpu = model_memory(DeviceKind::Cpu);
        assert_eq!(on_cpu.gpu, None);
        assert_eq!(on_cpu.bytes, machine_memory());
    }
}
