use candle_core::quantized::GgmlDType;

use super::*;
use crate::decoder::Architecture;
use crate::model::{LoadOptions, Model};
use crate::test_models::{write_tiny_model, TinySpec};

/// A tiny random llama in f32 safetensors (exact, no quantization).
fn tiny(dir: &Path) -> Model {
    let tiny = write_tiny_model(&TinySpec::new(Architecture::Llama), GgmlDType::Q8_0, dir);
    Model::load(
        &tiny.hf_dir,
        LoadOptions {
            threads: 1,
            ..Default::default()
        },
    )
    .unwrap()
}

pub(crate) fn config(total_steps: usize) -> TrainConfig {
    TrainConfig {
        rank: 4,
        alpha: 8.0,
        targets: vec!["q_proj".into(), "v_proj".into(), "down_proj".into()],
        learning_rate: 1e-2,
        warmup_steps: 2,
        total_steps,
        grad_accum: 2,
        weight_decay: 0.0,
        // Dropout on, so that the resume test also covers its masks.
        lora_dropout: 0.1,
        seed: 7,
    }
}

/// Prompt tokens are context; the answer's tokens are the targets.
pub(crate) fn examples() -> Vec<TrainExample> {
    let make = |prompt: &[u32], answer: &[u32]| TrainExample {
        ids: prompt.iter().chain(answer).copied().collect(),
        targets: std::iter::repeat_n(false, prompt.len())
            .chain(std::iter::repeat_n(true, answer.len()))
            .collect(),
        weight: 1.0,
    };
    vec![
        make(&[72, 105, 33], &[104, 109, 112, 104, 10]),
        make(&[87, 104, 111, 63], &[98, 97, 107, 101, 114, 10]),
        make(&[89, 111], &[116, 101, 97, 33, 10]),
    ]
}

fn lora_values(trainer: &LoraTrainer) -> Vec<Vec<f32>> {
    trainer
        .params
        .iter()
        .map(|p| p.var.as_tensor().flatten_all().unwrap().to_vec1().unwrap())
        .collect()
}

#[test]
fn the_learning_rate_warms_up_then_decays_to_a_tenth() {
    let c = TrainConfig {
        warmup_steps: 4,
        total_steps: 104,
        ..config(104)
    };
    assert!((c.learning_rate_at(0) - 0.0025).abs() < 1e-12);
    assert!((c.learning_rate_at(3) - 0.01).abs() < 1e-12);
    assert!((c.learning_rate_at(54) - 0.0055).abs() < 1e-9, "half way");
    assert!((c.learning_rate_at(104) - 0.001).abs() < 1e-12);
    assert!(c.learning_rate_at(500) >= 0.001);
}

#[test]
fn a_tiny_model_overfits_a_small_batch_and_only_lora_changes() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny(dir.path());
    let data = examples();
    let mut trainer = LoraTrainer::new(model.decoder().clone(), config(40), data.len()).unwrap();
    let before = trainer.evaluate(&data).unwrap();
    let base_q = trainer.decoder.blocks[0].q_proj.dense_weight().unwrap();
    while !trainer.is_done() {
        let report = trainer.step(&data).unwrap();
        assert!(report.loss.is_finite() && report.tokens > 0);
    }
    let after = trainer.evaluate(&data).unwrap();
    assert!(after < before * 0.3, "loss {before} -> {after}");
    let diff = (trainer.decoder.blocks[0].q_proj.dense_weight().unwrap() - base_q)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert_eq!(diff, 0.0, "the base weights are frozen");
    let c = model.decoder().config();
    let per_layer = 4 * (c.hidden_size + c.num_heads * c.head_dim)
        + 4 * (c.hidden_size + c.num_kv_heads * c.head_dim)
        + 4 * (c.intermediate_size + c.hidden_size);
    assert_eq!(trainer.trainable_parameters(), c.num_layers * per_layer);
}

#[test]
fn an_example_weighted_zero_teaches_nothing_but_reports_its_loss() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny(dir.path());
    let data: Vec<TrainExample> = examples()
        .into_iter()
        .map(|e| TrainExample { weight: 0.0, ..e })
        .collect();
    let mut trainer = LoraTrainer::new(model.decoder().clone(), config(3), data.len()).unwrap();
    let before = lora_values(&trainer);
    let loss = trainer.evaluate(&data).unwrap();
    while !trainer.is_done() {
        let report = trainer.step(&data).unwrap();
        assert!(report.loss > 0.5 && report.tokens > 0, "{report:?}");
    }
    assert_eq!(lora_values(&trainer), before);
    assert_eq!(trainer.evaluate(&data).unwrap(), loss);
}

#[test]
fn training_continues_from_a_saved_adapter_with_its_exact_weights() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny(dir.path());
    let data = examples();
    let mut first = LoraTrainer::new(model.decoder().clone(), config(4), data.len()).unwrap();
    while !first.is_done() {
        first.step(&data).unwrap();
    }
    let saved = dir.path().join("sft");
    first.adapter(None).unwrap().save(&saved).unwrap();
    let adapter = Adapter::load(&saved, &candle_core::Device::Cpu).unwrap();
    let second =
        LoraTrainer::from_adapter(model.decoder().clone(), &adapter, config(2), data.len())
            .unwrap();
    assert_eq!(
        second.evaluate(&data).unwrap(),
        first.evaluate(&data).unwrap()
    );
    assert_eq!(lora_values(&second), lora_values(&first));
    let mut other = config(2);
    other.rank = 2;
    assert!(LoraTrainer::from_adapter(model.decoder().clone(), &adapter, other, 3).is_err());
}

#[test]
fn dpo_steps_raise_the_preferred_answers_margin_over_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny(dir.path());
    let data = examples();
    // The same prompts, each answered by its own answer (preferred) and another's (rejected).
    let answer = |ex: &TrainExample| -> Vec<u32> {
        ex.ids
            .iter()
            .zip(&ex.targets)
            .filter(|(_, &t)| t)
            .map(|(&i, _)| i)
            .collect()
    };
    let with_answer = |ex: &TrainExample, answer: &[u32]| {
        let prompt: Vec<u32> = ex
            .ids
            .iter()
            .zip(&ex.targets)
            .filter(|(_, &t)| !t)
            .map(|(&i, _)| i)
            .collect();
        TrainExample {
            ids: prompt.iter().chain(answer).copied().collect(),
            targets: std::iter::repeat_n(false, prompt.len())
                .chain(std::iter::repeat_n(true, answer.len()))
                .collect(),
            weight: 1.0,
        }
    };
    let mut cfg = config(12);
    cfg.lora_dropout = 0.0;
    let mut trainer = LoraTrainer::new(model.decoder().clone(), cfg, data.len()).unwrap();
    let pairs: Vec<PreferencePair> = (0..data.len())
        .map(|i| {
            let chosen = data[i].clone();
            let rejected = with_answer(&data[i], &answer(&data[(i + 1) % data.len()]));
            let reference_logp = (
                trainer.answer_logp(&chosen).unwrap(),
                trainer.answer_logp(&rejected).unwrap(),
            );
            PreferencePair {
                chosen,
                rejected,
                reference_logp,
            }
        })
        .collect();
    let margin = |t: &LoraTrainer| -> f64 {
        pairs
            .iter()
            .map(|p| {
                (t.answer_logp(&p.chosen).unwrap() - p.reference_logp.0)
                    - (t.answer_logp(&p.rejected).unwrap() - p.reference_logp.1)
            })
            .sum::<f64>()
            / pairs.len() as f64
    };
    assert!(
        margin(&trainer).abs() < 1e-6,
        "the policy starts as the reference"
    );
    let first = trainer.step_preferences(&pairs, 0.1).unwrap();
    assert!(
        (first.loss - std::f64::consts::LN_2).abs() < 1e-4,
        "{first:?}"
    );
    let mut last = first;
    while !trainer.is_done() {
        last = trainer.step_preferences(&pairs, 0.1).unwrap();
    }
    assert!(margin(&trainer) > 1.0, "margin {}", margin(&trainer));
    assert!(last.loss < first.loss, "{} -> {}", first.loss, last.loss);
}

#[test]
fn the_saved_adapter_gives_the_trained_logits_in_inference_mode() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny(dir.path());
    let data = examples();
    let mut trainer = LoraTrainer::new(model.decoder().clone(), config(6), data.len()).unwrap();
    for _ in 0..6 {
        trainer.step(&data).unwrap();
    }
    let adapter_dir = dir.path().join("adapter");
    trainer.adapter(None).unwrap().save(&adapter_dir).unwrap();
    let ids = Tensor::new(&data[1].ids[..], &candle_core::Device::Cpu)
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    let trained = trainer.decoder.forward_all(&ids, Mode::Training).unwrap();
    let with_adapter = model.with_adapter(&adapter_dir).unwrap();
    let served = with_adapter
        .decoder()
        .forward_all(&ids, Mode::Inference)
        .unwrap();
    let d = (trained - served)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(d < 1e-4, "max |diff| = {d}");
}

#[test]
fn an_interrupted_and_resumed_run_equals_a_straight_run() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny(dir.path());
    let data = examples();
    let mut straight = LoraTrainer::new(model.decoder().clone(), config(6), data.len()).unwrap();
    let straight_losses: Vec<f64> = (0..6).map(|_| straight.step(&data).unwrap().loss).collect();

    let checkpoint = dir.path().join("checkpoint");
    let mut first = LoraTrainer::new(model.decoder().clone(), config(6), data.len()).unwrap();
    let mut losses: Vec<f64> = (0..3).map(|_| first.step(&data).unwrap().loss).collect();
    first.save_checkpoint(&checkpoint).unwrap();
    drop(first);
    let mut resumed =
        LoraTrainer::resume(model.decoder().clone(), &checkpoint, data.len()).unwrap();
    assert_eq!(resumed.state().step, 3);
    losses.extend((0..3).map(|_| resumed.step(&data).unwrap().loss));
    assert_eq!(losses, straight_losses);
    assert_eq!(lora_values(&resumed), lora_values(&straight));

    // A second checkpoint replaces the first one's tensors; a wrong example count is refused.
    resumed.save_checkpoint(&checkpoint).unwrap();
    let files: Vec<String> = std::fs::read_dir(&checkpoint)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(LoraTrainer::resume(model.decoder().clone(), &checkpoint, 5).is_err());
}

#[test]
fn dropout_changes_what_a_step_learns_but_not_evaluation() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny(dir.path());
    let data = examples();
    let trained_with = |lora_dropout: f64| {
        let cfg = TrainConfig {
            lora_dropout,
            ..config(4)
        };
        let mut trainer = LoraTrainer::new(model.decoder().clone(), cfg, data.len()).unwrap();
        for _ in 0..2 {
            trainer.step(&data).unwrap();
        }
        let first = trainer.evaluate(&data).unwrap();
        assert_eq!(
            first,
            trainer.evaluate(&data).unwrap(),
            "no masks in evaluation"
        );
        lora_values(&trainer)
    };
    assert_ne!(trained_with(0.0), trained_with(0.5));
    assert_eq!(trained_with(0.5), trained_with(0.5));
}

/// A full disk, for real: the kernel answers every write to /dev/full with ENOSPC, and the checkpoint
/// state's temporary file is made a link to it. (The tensors go through the safetensors writer's own
/// temporary file and rename, which replaces such a link instead of writing through it.)
#[cfg(unix)]
#[test]
fn a_full_disk_while_saving_keeps_the_previous_checkpoint_valid() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny(dir.path());
    let data = examples();
    let checkpoint = dir.path().join("checkpoint");
    let mut straight = LoraTrainer::new(model.decoder().clone(), config(5), data.len()).unwrap();
    for _ in 0..5 {
        straight.step(&data).unwrap();
    }

    let mut trainer = LoraTrainer::new(model.decoder().clone(), config(5), data.len()).unwrap();
    for _ in 0..2 {
        trainer.step(&data).unwrap();
    }
    trainer.save_checkpoint(&checkpoint).unwrap();
    trainer.step(&data).unwrap();
    let tmp = checkpoint.join(format!("{CHECKPOINT_STATE}.tmp"));
    std::os::unix::fs::symlink("/dev/full", &tmp).unwrap();
    let err = trainer
        .save_checkpoint(&checkpoint)
        .unwrap_err()
        .to_string();
    assert!(err.contains("No space left on device"), "{err}");
    assert!(
        tmp.symlink_metadata().is_err(),
        "the partial file is removed"
    );
    drop(trainer);

    let mut resumed =
        LoraTrainer::resume(model.decoder().clone(), &checkpoint, data.len()).unwrap();
    assert_eq!(resumed.state().step, 2, "the last complete checkpoint");
    while !resumed.is_done() {
        resumed.step(&data).unwrap();
    }
    assert_eq!(lora_values(&resumed), lora_values(&straight));
    resumed.save_checkpoint(&checkpoint).unwrap();
    assert_eq!(
        LoraTrainer::resume(model.decoder().clone(), &checkpoint, data.len())
            .unwrap()
            .state()
            .step,
        5,
        "the next save succeeds once there is room"
    );
}

#[test]
fn bad_configs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny(dir.path());
    for bad in [
        TrainConfig {
            rank: 0,
            ..config(5)
        },
        TrainConfig {
            targets: vec!["lm_head".into()],
            ..config(5)
        },
        TrainConfig {
            learning_rate: f64::NAN,
            ..config(5)
        },
        TrainConfig {
            lora_dropout: 1.0,
            ..config(5)
        },
    ] {
        assert!(LoraTrainer::new(model.decoder().clone(), bad, 3).is_err());
    }
    assert!(LoraTrainer::new(model.decoder().clone(), config(5), 0).is_err());
}

#[test]
fn the_memory_estimate_covers_the_dense_weights_and_grows_with_the_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny(dir.path());
    let dec = model.decoder();
    let c = dec.config();
    let dense = 4
        * (c.vocab_size * c.hidden_size
            + c.num_layers
                * (4 * c.hidden_size * c.hidden_size + 3 * c.hidden_size * c.intermediate_size))
            as u64;
    let short = memory_estimate_bytes(dec, &config(1), 16);
    assert!(short > dense / 2, "{short} vs {dense}");
    assert!(memory_estimate_bytes(dec, &config(1), 256) > short);
}
