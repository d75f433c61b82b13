//! Throughput measurement in the shape of llama.cpp's `llama-bench`: prefill of `prompt_tokens` synthetic
//! tokens in one batch, then `gen_tokens` single-token decode steps, on a fresh cache.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::device::DeviceKind;
use crate::error::Result;
use crate::model::Model;
use crate::sampler::argmax;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BenchResult {
    pub model: String,
    /// Where it ran; `threads` counts only on the CPU.
    pub device: DeviceKind,
    pub threads: usize,
    pub prompt_tokens: usize,
    pub gen_tokens: usize,
    pub prefill_tokens_per_second: f64,
    pub decode_tokens_per_second: f64,
    /// Prefill plus the first sampled token.
    pub time_to_first_token_ms: f64,
}

/// Runs one measurement (after a short warm-up that is not timed).
pub fn bench(model: &Model, prompt_tokens: usize, gen_tokens: usize) -> Result<BenchResult> {
    let decoder = model.decoder();
    let vocab = decoder.config().vocab_size as u64;
    // Deterministic spread of ordinary token ids (llama-bench uses random ones).
    let prompt: Vec<u32> = (0..prompt_tokens.max(1) as u64)
        .map(|i| ((i * 7919 + 1000) % vocab) as u32)
        .collect();
    model.run(|| -> Result<BenchResult> {
        // Warm-up: a batch and a single-token step (a GPU loads its kernels on first use).
        let mut warm = decoder.new_cache();
        decoder.next_token_logits(&prompt[..prompt.len().min(8)], &mut warm)?;
        decoder.next_token_logits(&prompt[..1], &mut warm)?;
        decoder.synchronize()?;

        let mut cache = decoder.new_cache();
        let start = Instant::now();
        let mut logits = None;
        for chunk in prompt.chunks(512) {
            logits = Some(decoder.next_token_logits(chunk, &mut cache)?);
        }
        decoder.synchronize()?;
        let prefill = start.elapsed().as_secs_f64();
        let mut next = logits
            .map(|l| l.to_vec1::<f32>())
            .transpose()?
            .map_or(0, |l| argmax(&l));
        let ttft = start.elapsed().as_secs_f64();
        let decode_start = Instant::now();
        for _ in 0..gen_tokens {
            let l = decoder.next_token_logits(&[next], &mut cache)?;
            next = argmax(&l.to_vec1::<f32>()?);
        }
        let decode = decode_start.elapsed().as_secs_f64();
        Ok(BenchResult {
            model: model.info().name.clone(),
            device: model.info().device.kind,
            threads: model.info().device.threads,
            prompt_tokens: prompt.len(),
            gen_tokens,
            prefill_tokens_per_second: prompt.len() as f64 / prefill,
            decode_tokens_per_second: if decode > 0.0 {
                gen_tokens as f64 / decode
            } else {
                0.0
            },
            time_to_first_token_ms: ttft * 1000.0,
        })
    })
}

/// Peak resident memory of this process in bytes (Linux; `None` elsewhere).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
