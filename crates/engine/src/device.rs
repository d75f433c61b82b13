//! Compute device and CPU thread pool selection.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where the model runs. `Cuda`/`Metal` need the engine's `cuda`/`metal` cargo features (forwarded by
/// the `kotodama`, CLI and app crates' features of the same names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum DeviceKind {
    #[default]
    Cpu,
    Cuda,
    Metal,
}

/// What the app shows the user about where inference runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct DeviceInfo {
    pub kind: DeviceKind,
    pub threads: usize,
    /// CPU SIMD the build uses, e.g. "avx2+fma"; the quantized kernels are ~5x slower without it.
    pub simd: String,
}

impl DeviceKind {
    /// Lower-case name, as `--device` and `KOTODAMA_DEVICE` take it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
            Self::Metal => "metal",
        }
    }

    /// Whether this build can run on the device at all (`Cpu` always; `Cuda`/`Metal` with their cargo
    /// feature). A compiled-in device may still be missing at run time.
    pub fn is_compiled(self) -> bool {
        match self {
            Self::Cpu => true,
            Self::Cuda => cfg!(feature = "cuda"),
            Self::Metal => cfg!(feature = "metal"),
        }
    }

    /// Whether the device can be opened now (compiled in, driver and device present).
    pub fn is_available(self) -> bool {
        candle_device(self).is_ok()
    }

    /// The first available of CUDA, Metal (where compiled in), else the CPU.
    pub fn best_available() -> Self {
        [Self::Cuda, Self::Metal]
            .into_iter()
            .find(|k| k.is_compiled() && k.is_available())
            .unwrap_or(Self::Cpu)
    }

    /// Parses a user's choice: `cpu`, `cuda`, `metal`, or `auto` (= `best_available`).
    pub fn from_choice(choice: &str) -> Result<Self> {
        match choice.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => Ok(Self::best_available()),
            other => other.parse(),
        }
    }
}

impl std::fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for DeviceKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda),
            "metal" => Ok(Self::Metal),
            other => Err(Error::InvalidArgument(format!(
                "unknown device {other:?}: expected cpu, cuda, metal or auto"
            ))),
        }
    }
}

pub(crate) fn candle_device(kind: DeviceKind) -> Result<candle_core::Device> {
    if !kind.is_compiled() {
        return Err(Error::Device(format!(
            "this build has no {kind} support: rebuild with `--features {kind}`"
        )));
    }
    let unavailable = |e: candle_core::Error| {
        Error::Device(format!(
            "the {kind} device does not open ({e}); KOTODAMA_DEVICE=cpu or --device cpu runs on the CPU"
        ))
    };
    match kind {
        DeviceKind::Cpu => Ok(candle_core::Device::Cpu),
        DeviceKind::Cuda => candle_core::Device::new_cuda(0).map_err(unavailable),
        DeviceKind::Metal => candle_core::Device::new_metal(0).map_err(unavailable),
    }
}

/// candle's quantized kernels run on a process-wide spin-waiting thread pool sized once, from
/// `CANDLE_NUM_THREADS`, at its first use. The first model loaded decides it (unless the variable is
/// already set); later loads report the count actually in effect.
static PROCESS_THREADS: OnceLock<usize> = OnceLock::new();
const CANDLE_THREADS_ENV: &str = "CANDLE_NUM_THREADS";
const SPIN_LIMIT_ENV: &str = "CANDLE_BARRIER_POOL_SPIN_LIMIT";

/// Threads to use (0 = the parallelism the OS reports), fixed for the process on first call.
pub(crate) fn resolve_threads(requested: usize) -> usize {
    *PROCESS_THREADS.get_or_init(|| {
        if let Some(n) = std::env::var(CANDLE_THREADS_ENV)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
        {
            return n;
        }
        let n = if requested > 0 {
            requested
        } else {
            std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(1)
        };
        // Before any candle kernel runs (this is called at the start of Model::load).
        std::env::set_var(CANDLE_THREADS_ENV, n.to_string());
        // Idle workers spin 25k rounds by default before parking, which starves the decoding thread
        // on a busy desktop (docs/benchmarks.md, "Engine notes"). The user's own setting wins.
        if std::env::var_os(SPIN_LIMIT_ENV).is_none() {
            std::env::set_var(SPIN_LIMIT_ENV, "1000");
        }
        n
    })
}

/// Niceness added to the worker threads of models loaded after `set_worker_nice`.
static WORKER_NICE: AtomicI32 = AtomicI32::new(0);

/// Lowers the scheduling priority (raises the nice value by `nice`) of the worker threads of models
/// loaded from now on. A desktop app does this so that its window keeps drawing while a reply is
/// generated on every core; alone on the machine, the workers run as fast as before. Linux only (the
/// nice value is per thread there); elsewhere it does nothing.
pub fn set_worker_nice(nice: i32) {
    WORKER_NICE.store(nice, Ordering::Relaxed);
}

fn lower_this_thread(nice: i32) {
    #[cfg(target_os = "linux")]
    if nice != 0 {
        // SAFETY: getpriority/setpriority on the calling thread (who = 0); no memory is shared.
        unsafe {
            let now = libc::getpriority(libc::PRIO_PROCESS, 0);
            libc::setpriority(libc::PRIO_PROCESS, 0, now + nice);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
}

pub(crate) fn thread_pool(threads: usize) -> Result<rayon::ThreadPool> {
    let nice = WORKER_NICE.load(Ordering::Relaxed);
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("kotodama-engine-{i}"))
        .start_handler(move |_| lower_this_thread(nice))
        .build()
        .map_err(|e| Error::InvalidArgument(format!("cannot start {threads} threads: {e}")))
}

pub(crate) fn simd_features() -> String {
    let mut f = Vec::new();
    if cfg!(target_feature = "avx512f") {
        f.push("avx512f");
    }
    if cfg!(target_feature = "avx2") {
        f.push("avx2");
    }
    if cfg!(target_feature = "fma") {
        f.push("fma");
    }
    if cfg!(target_feature = "neon") {
        f.push("neon");
    }
    if f.is_empty() {
        "none".into()
    } else {
        f.join("+")
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_os = "linux")]
    #[test]
    fn workers_started_after_set_worker_nice_run_at_a_lower_priority() {
        // SAFETY: reads the calling thread's nice value.
        let nice = || unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
        let before = super::thread_pool(1).unwrap().install(nice);
        super::set_worker_nice(4);
        let lowered = super::thread_pool(1).unwrap().install(nice);
        super::set_worker_nice(0);
        assert_eq!(lowered, (before + 4).min(19));
        assert_eq!(super::thread_pool(1).unwrap().install(nice), before);
    }

    use super::*;

    #[test]
    fn device_choices_parse_and_print() {
        for kind in [DeviceKind::Cpu, DeviceKind::Cuda, DeviceKind::Metal] {
            assert_eq!(kind.name().parse::<DeviceKind>().unwrap(), kind);
            assert_eq!(DeviceKind::from_choice(&kind.to_string()).unwrap(), kind);
        }
        assert_eq!(" CUDA ".parse::<DeviceKind>().unwrap(), DeviceKind::Cuda);
        let err = "tpu".parse::<DeviceKind>().unwrap_err().to_string();
        assert!(err.contains("cpu, cuda, metal or auto"), "{err}");
        assert!(DeviceKind::Cpu.is_compiled() && DeviceKind::Cpu.is_available());
        let auto = DeviceKind::from_choice("auto").unwrap();
        assert!(auto.is_compiled() && auto.is_available(), "{auto}");
    }

    #[cfg(not(any(feature = "cuda", feature = "metal")))]
    #[test]
    fn a_device_not_compiled_in_names_the_feature() {
        assert_eq!(DeviceKind::best_available(), DeviceKind::Cpu);
        let err = candle_device(DeviceKind::Cuda).unwrap_err().to_string();
        assert!(err.contains("--features cuda"), "{err}");
    }
}
