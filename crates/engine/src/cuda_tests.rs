//! The engine on a CUDA device against the same model on the CPU: inference (GGUF and safetensors,
//! every architecture and weight format), LoRA adapters, generation, the benchmark and LoRA training.
//! Built only with `--features cuda`; each test is skipped, with a message, when no CUDA device opens.
//! `KOTODAMA_CUDA_GGUF` (else `KOTODAMA_SMOLLM2_GGUF`) adds a check on a real-size GGUF.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use candle_core::quantized::GgmlDType;
use candle_core::{Device, Tensor};

use crate::decoder::{Architecture, Mode};
use crate::device::DeviceKind;
use crate::generate::{CancelToken, ChatSession};
use crate::model::{LoadOptions, Model};
use crate::sampler::{argmax, SamplingParams};
use crate::test_models::{self, write_tiny_model, TinySpec};
use crate::train::tests::{config as train_config, examples as train_examples};
use crate::train::LoraTrainer;

const PROMPT: [u32; 7] = [257, 72, 101, 108, 108, 111, 10];
const STEPS: [u32; 3] = [100, 33, 200];

/// True when a CUDA device opens; else prints why the test is skipped.
fn cuda_available() -> bool {
    match crate::device::candle_device(DeviceKind::Cuda) {
        Ok(_) => true,
        Err(e) => {
            eprintln!("SKIPPED: no CUDA device ({e})");
            false
        }
    }
}

fn load(path: &Path, device: DeviceKind) -> Model {
    load_with_threads(path, device, 1)
}

/// `threads` is process-wide (the first load fixes it): 0 (all) only in a process of its own.
fn load_with_threads(path: &Path, device: DeviceKind, threads: usize) -> Model {
    let model = Model::load(path, LoadOptions { device, threads }).unwrap();
    assert_eq!(model.info().device.kind, device);
    assert_eq!(
        model.decoder().device().is_cuda(),
        device == DeviceKind::Cuda
    );
    model
}

fn to_cpu_vec(t: &Tensor) -> Vec<f32> {
    t.flatten_all()
        .unwrap()
        .to_device(&Device::Cpu)
        .unwrap()
        .to_vec1()
        .unwrap()
}

/// max |a - b| and ||a - b|| / ||b||.
fn diff(a: &[f32], b: &[f32]) -> (f32, f32) {
    assert_eq!(a.len(), b.len());
    let max = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    let num: f32 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
    let den: f32 = b.iter().map(|y| y * y).sum();
    (max, (num / den.max(1e-30)).sqrt())
}

/// Logits after the prompt (one batch), then after each single-token step, on the model's device.
fn logits(model: &Model, prompt: &[u32], steps: &[u32]) -> Vec<Vec<f32>> {
    let dec = model.decoder();
    let mut cache = dec.new_cache();
    let mut out = vec![to_cpu_vec(
        &dec.next_token_logits(prompt, &mut cache).unwrap(),
    )];
    for &t in steps {
        out.push(to_cpu_vec(
            &dec.next_token_logits(&[t], &mut cache).unwrap(),
        ));
    }
    out
}

/// Asserts the CUDA logits equal the CPU ones within `rel` (relative L2 error per step).
fn assert_close(what: &str, cpu: &[Vec<f32>], cuda: &[Vec<f32>], rel: f32) {
    for (i, (a, b)) in cuda.iter().zip(cpu).enumerate() {
        let (max, r) = diff(a, b);
        eprintln!("{what} step {i}: max |cuda - cpu| = {max:.2e}, relative {r:.2e}");
        assert!(r < rel, "{what} step {i}: relative error {r} >= {rel}");
    }
}

#[test]
fn tiny_ggufs_give_the_cpu_logits_on_cuda() {
    if !cuda_available() {
        return;
    }
    // F32 weights are exact on both; quantized ones differ in how activations are rounded (the CPU
    // kernels quantize them to 8 bits, CUDA's batched path does not), hence the looser bound.
    for (dtype, rel) in [
        (GgmlDType::F32, 1e-4),
        (GgmlDType::Q8_0, 3e-2),
        (GgmlDType::Q4_1, 5e-2),
        (GgmlDType::Q4_0, 5e-2),
    ] {
        for arch in [
            Architecture::Llama,
            Architecture::Qwen2,
            Architecture::Qwen3,
        ] {
            let dir = tempfile::tempdir().unwrap();
            let tiny = write_tiny_model(&TinySpec::new(arch), dtype, dir.path());
            let cpu = logits(&load(&tiny.gguf, DeviceKind::Cpu), &PROMPT, &STEPS);
            let cuda = logits(&load(&tiny.gguf, DeviceKind::Cuda), &PROMPT, &STEPS);
            assert_close(&format!("{arch:?} {dtype:?}"), &cpu, &cuda, rel);
        }
    }
}

#[test]
fn safetensors_models_give_the_cpu_logits_on_cuda_in_both_modes() {
    if !cuda_available() {
        return;
    }
    for arch in [
        Architecture::Llama,
        Architecture::Qwen2,
        Architecture::Qwen3,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let tiny = write_tiny_model(&TinySpec::new(arch), GgmlDType::F32, dir.path());
        let cpu_model = load(&tiny.hf_dir, DeviceKind::Cpu);
        let cuda_model = load(&tiny.hf_dir, DeviceKind::Cuda);
        let cpu = logits(&cpu_model, &PROMPT, &STEPS);
        let cuda = logits(&cuda_model, &PROMPT, &STEPS);
        assert_close(&format!("{arch:?} hf"), &cpu, &cuda, 1e-4);
        // Full-sequence forward in both modes (the training mode's composed ops) on CUDA.
        let ids = Tensor::new(&PROMPT[..], cuda_model.decoder().device())
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        let cpu_ids = Tensor::new(&PROMPT[..], &Device::Cpu)
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        for mode in [Mode::Inference, Mode::Training] {
            let a = to_cpu_vec(&cuda_model.decoder().forward_all(&ids, mode).unwrap());
            let b = to_cpu_vec(&cpu_model.decoder().forward_all(&cpu_ids, mode).unwrap());
            let (max, rel) = diff(&a, &b);
            assert!(rel < 1e-4, "{arch:?} {mode:?}: max {max}, relative {rel}");
        }
    }
}

/// Trains `steps` steps on the model's device; returns the losses before, at each step and after.
fn train(model: &Model, steps: usize, checkpoint: Option<&Path>) -> (f64, Vec<f64>, f64) {
    let data = train_examples();
    let mut trainer =
        LoraTrainer::new(model.decoder().clone(), train_config(steps), data.len()).unwrap();
    let before = trainer.evaluate(&data).unwrap();
    let mut losses = Vec::new();
    while !trainer.is_done() {
        let report = trainer.step(&data).unwrap();
        assert!(report.loss.is_finite() && report.tokens > 0, "{report:?}");
        losses.push(report.loss);
        if let (Some(dir), 3) = (checkpoint, report.step) {
            trainer.save_checkpoint(dir).unwrap();
        }
    }
    (before, losses, trainer.evaluate(&data).unwrap())
}

#[test]
fn lora_training_runs_on_cuda_and_follows_the_cpu_run() {
    if !cuda_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tiny = write_tiny_model(
        &TinySpec::new(Architecture::Llama),
        GgmlDType::Q8_0,
        dir.path(),
    );
    let cuda_model = load(&tiny.hf_dir, DeviceKind::Cuda);
    let checkpoint = dir.path().join("checkpoint");
    let (before, losses, after) = train(&cuda_model, 40, Some(&checkpoint));
    eprintln!("cuda: loss {before:.4} -> {after:.4}, steps {losses:.4?}");
    assert!(after < before * 0.3, "loss {before} -> {after}");
    // Same seed, same initialisation: the CPU run takes the same path (f32 sums in another order).
    let (cpu_before, cpu_losses, cpu_after) = train(&load(&tiny.hf_dir, DeviceKind::Cpu), 40, None);
    eprintln!("cpu:  loss {cpu_before:.4} -> {cpu_after:.4}");
    assert!((before - cpu_before).abs() < 1e-4 * cpu_before.abs().max(1.0));
    for (i, (a, b)) in losses.iter().zip(&cpu_losses).take(5).enumerate() {
        assert!(
            (a - b).abs() < 2e-2 * b.abs().max(1.0),
            "step {i}: {a} vs {b}"
        );
    }
    // A checkpoint written from CUDA tensors resumes on CUDA.
    let data = train_examples();
    let mut resumed =
        LoraTrainer::resume(cuda_model.decoder().clone(), &checkpoint, data.len()).unwrap();
    assert_eq!(resumed.state().step, 3);
    let report = resumed.step(&data).unwrap();
    assert!(report.loss.is_finite());
    assert!((report.loss - losses[3]).abs() < 1e-4 * losses[3].max(1.0));
}

#[test]
fn a_lora_adapter_applies_on_cuda_as_on_the_cpu() {
    if !cuda_available() {
        return;
    }
    for (arch, dtype) in [
        (Architecture::Llama, GgmlDType::F32),
        (Architecture::Qwen3, GgmlDType::F32),
        (Architecture::Llama, GgmlDType::Q8_0),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let tiny = write_tiny_model(&TinySpec::new(arch), dtype, dir.path());
        // Train a few steps on the CPU from the safetensors model and save a PEFT adapter.
        let data = train_examples();
        let cpu_hf = load(&tiny.hf_dir, DeviceKind::Cpu);
        let mut trainer =
            LoraTrainer::new(cpu_hf.decoder().clone(), train_config(6), data.len()).unwrap();
        while !trainer.is_done() {
            trainer.step(&data).unwrap();
        }
        let adapter = dir.path().join("adapter");
        trainer.adapter(None).unwrap().save(&adapter).unwrap();
        // Served beside the GGUF's weights on both devices.
        let base = logits(&load(&tiny.gguf, DeviceKind::Cuda), &PROMPT, &STEPS);
        let cpu = load(&tiny.gguf, DeviceKind::Cpu)
            .with_adapter(&adapter)
            .unwrap();
        let mut cuda = load(&tiny.gguf, DeviceKind::Cuda)
            .with_adapter(&adapter)
            .unwrap();
        let (cpu_l, cuda_l) = (
            logits(&cpu, &PROMPT, &STEPS),
            logits(&cuda, &PROMPT, &STEPS),
        );
        let rel = if dtype == GgmlDType::F32 { 1e-4 } else { 3e-2 };
        assert_close(&format!("{arch:?} {dtype:?} + LoRA"), &cpu_l, &cuda_l, rel);
        let (_, moved) = diff(&cuda_l[0], &base[0]);
        assert!(
            moved > 1e-3,
            "the adapter changes the CUDA logits ({moved})"
        );
        // Removing it gives the base model back.
        cuda.set_adapter(None).unwrap();
        let (max, _) = diff(&logits(&cuda, &PROMPT, &STEPS)[0], &base[0]);
        assert!(max < 1e-5, "{max}");
    }
}

fn generate(model: &Model, prompt: &[u32], n: usize) -> (Vec<u32>, String) {
    let mut session = ChatSession::new(model);
    let mut text = String::new();
    let stats = session
        .generate_from_ids(
            prompt,
            &SamplingParams::greedy(n),
            |piece| {
                text.push_str(piece);
                ControlFlow::Continue(())
            },
            &CancelToken::new(),
        )
        .unwrap();
    assert!(stats.prefill_tokens_per_second > 0.0);
    (stats.token_ids, text)
}

#[test]
fn greedy_generation_and_the_benchmark_run_on_cuda() {
    if !cuda_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tiny = write_tiny_model(
        &TinySpec::new(Architecture::Qwen3),
        GgmlDType::F32,
        dir.path(),
    );
    let cpu = load(&tiny.hf_dir, DeviceKind::Cpu);
    let cuda = load(&tiny.hf_dir, DeviceKind::Cuda);
    let (cpu_ids, cpu_text) = generate(&cpu, &PROMPT, 24);
    let (cuda_ids, cuda_text) = generate(&cuda, &PROMPT, 24);
    assert_eq!(cuda_ids, cpu_ids);
    assert_eq!(cuda_text, cpu_text);
    let r = crate::bench::bench(&cuda, 64, 16).unwrap();
    eprintln!("{r:?}");
    assert_eq!(r.device, DeviceKind::Cuda);
    assert!(r.prefill_tokens_per_second > 0.0 && r.decode_tokens_per_second > 0.0);
    assert_eq!(DeviceKind::from_choice("auto").unwrap(), DeviceKind::Cuda);
}

fn real_gguf() -> Option<PathBuf> {
    match std::env::var_os("KOTODAMA_CUDA_GGUF").map(PathBuf::from) {
        Some(p) if p.exists() => Some(p),
        _ => test_models::smollm2_gguf(),
    }
}

/// A real-size GGUF: the prompt's logits and greedy continuations on CUDA against the CPU. Quantized
/// activations round differently on the two devices, so greedy paths may part after a near-tie: the
/// logits must agree closely, and the tokens are reported.
#[test]
fn a_real_gguf_gives_the_cpu_logits_on_cuda() {
    if !cuda_available() {
        return;
    }
    let Some(path) = real_gguf() else {
        return;
    };
    // Run alone (`cuda_tests::a_real_gguf`), the CPU side gets every core.
    let cpu = load_with_threads(&path, DeviceKind::Cpu, 0);
    let cuda = load_with_threads(&path, DeviceKind::Cuda, 0);
    let prompts = [
        "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
        "<|im_start|>user\nWrite a haiku about the sea.<|im_end|>\n<|im_start|>assistant\n",
        "<|im_start|>user\nHow many legs does a spider have?<|im_end|>\n<|im_start|>assistant\n",
    ];
    for text in prompts {
        let prompt = cpu.tokenizer().encode(text).unwrap();
        let (cpu_ids, _) = generate(&cpu, &prompt, 16);
        let (cuda_ids, cuda_text) = generate(&cuda, &prompt, 16);
        let same = cpu_ids
            .iter()
            .zip(&cuda_ids)
            .take_while(|(a, b)| a == b)
            .count();
        eprintln!(
            "{}: {same}/{} greedy tokens equal; cuda: {cuda_text:?}",
            cpu.info().name,
            cpu_ids.len()
        );
        // Teacher-forced on the CPU's tokens, so both see the same sequence.
        let steps = &cpu_ids[..cpu_ids.len().min(8)];
        let a = logits(&cpu, &prompt, steps);
        let b = logits(&cuda, &prompt, steps);
        assert_close(&cpu.info().name, &a, &b, 0.1);
        // The first token must agree unless the CPU's top two logits are nearly tied.
        let top = argmax(&a[0]) as usize;
        let second = a[0]
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != top)
            .fold(f32::NEG_INFINITY, |m, (_, &x)| m.max(x));
        if a[0][top] - second > 0.5 {
            assert_eq!(argmax(&b[0]) as usize, top, "first token");
        }
    }
}
