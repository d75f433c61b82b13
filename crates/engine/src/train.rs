//! LoRA fine-tuning on the decoder's training mode: trainable LoRA pairs on chosen projections of the
//! dequantized (frozen) base, next-token loss on the target tokens only, AdamW with linear warmup and
//! cosine decay, gradient accumulation over examples, and checkpoints that resume bit for bit (adapter,
//! optimizer moments, step, data order and RNG state).
//!
//! Examples are not padded into a batch (chat examples differ a lot in length): a step's `grad_accum`
//! examples run side by side on the rayon pool, each its own forward and backward pass, and their
//! gradients are summed. On two cores this is ~25% faster than splitting each example's products
//! over both, whose per-operation parallel regions are too small to keep two threads busy.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Tensor, Var};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::decoder::{Decoder, Mode, PROJECTIONS};
use crate::error::{Error, Result};
use crate::linear::{LoraDropout, LoraPair};
use crate::lora::{Adapter, AdapterConfig};
use crate::rng::Rng;

/// One training sequence: token ids, and which of them are targets (the assistant's tokens).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainExample {
    pub ids: Vec<u32>,
    /// `targets[i]`: the loss counts the prediction of `ids[i]` (from `ids[..i]`).
    pub targets: Vec<bool>,
    /// How much the example's loss counts in the gradient (multi-task recipes weigh their tasks);
    /// reported losses are unweighted.
    #[serde(default = "unit_weight")]
    pub weight: f32,
}

fn unit_weight() -> f32 {
    1.0
}

impl TrainExample {
    /// Cuts the example to `max_len` tokens; true when something was cut.
    pub fn truncate(&mut self, max_len: usize) -> bool {
        let cut = self.ids.len() > max_len;
        self.ids.truncate(max_len);
        self.targets.truncate(max_len);
        cut
    }

    fn target_count(&self) -> usize {
        self.targets.iter().skip(1).filter(|&&t| t).count()
    }
}

/// LoRA shape and the optimisation schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct TrainConfig {
    pub rank: usize,
    pub alpha: f64,
    /// HF projection names, e.g. q_proj, v_proj.
    pub targets: Vec<String>,
    pub learning_rate: f64,
    pub warmup_steps: usize,
    /// Optimizer steps in the whole run (the cosine schedule ends there).
    pub total_steps: usize,
    /// Examples per optimizer step.
    pub grad_accum: usize,
    pub weight_decay: f64,
    /// Dropout on each LoRA pair's input while training (0 = none); checkpoints from before it existed
    /// read as 0.
    #[serde(default)]
    pub lora_dropout: f64,
    pub seed: u64,
}

impl TrainConfig {
    /// The learning rate at optimizer step `step` (0-based): linear warmup, then cosine decay to 10%.
    pub fn learning_rate_at(&self, step: usize) -> f64 {
        if step < self.warmup_steps {
            return self.learning_rate * (step + 1) as f64 / self.warmup_steps as f64;
        }
        let decay_steps = self.total_steps.saturating_sub(self.warmup_steps).max(1);
        let progress = ((step - self.warmup_steps) as f64 / decay_steps as f64).min(1.0);
        let floor = 0.1 * self.learning_rate;
        floor + (self.learning_rate - floor) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
    }

    fn validate(&self) -> Result<()> {
        let bad = |what: &str| Err(Error::InvalidArgument(format!("training config: {what}")));
        if self.rank == 0 || self.grad_accum == 0 || self.total_steps == 0 {
            return bad("rank, grad_accum and total_steps must be positive");
        }
        if self.targets.is_empty() {
            return bad("no target projections");
        }
        if let Some(t) = self
            .targets
            .iter()
            .find(|t| !PROJECTIONS.contains(&t.as_str()))
        {
            return bad(&format!("unknown projection {t}"));
        }
        // Written so that NaN is refused too.
        if self.learning_rate.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return bad("the learning rate must be positive");
        }
        if !(0.0..1.0).contains(&self.lora_dropout) {
            return bad("lora_dropout must be in [0, 1)");
        }
        Ok(())
    }
}

/// One trainable tensor with its AdamW moments.
struct Param {
    name: String,
    var: Var,
    m: Tensor,
    v: Tensor,
}

/// Where a run stands, as a checkpoint stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrainState {
    /// Optimizer steps done.
    pub step: usize,
    /// Examples consumed in the current pass over `order`.
    pub cursor: usize,
    pub epoch: usize,
    order: Vec<usize>,
    rng: Rng,
    pub config: TrainConfig,
}

/// One training example's part of a step.
struct ExampleGrads {
    /// The item's summed loss (unweighted).
    loss: f64,
    /// Its target tokens (for throughput).
    tokens: usize,
    /// What the step's gradient and reported loss are averaged over: target tokens for supervised
    /// examples, pairs for preferences.
    units: usize,
    /// Per trainable tensor, in `LoraTrainer::params` order.
    grads: Vec<Option<Tensor>>,
}

/// A preference pair for DPO (Rafailov et al., 2023): one prompt with the preferred and with the
/// rejected answer (each a `TrainExample` whose targets mark the answer), and the summed
/// log-probabilities of both answers under the frozen reference policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreferencePair {
    pub chosen: TrainExample,
    pub rejected: TrainExample,
    /// (chosen, rejected) under the reference.
    pub reference_logp: (f64, f64),
}

/// What one optimizer step did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepReport {
    pub step: usize,
    /// Mean loss per target token over the step's examples.
    pub loss: f64,
    pub learning_rate: f64,
    pub tokens: usize,
}

const CHECKPOINT_TENSORS: &str = "checkpoint.safetensors";
const CHECKPOINT_STATE: &str = "checkpoint.json";

/// Trains LoRA pairs on a decoder whose base weights are dense and frozen.
pub struct LoraTrainer {
    decoder: Decoder,
    params: Vec<Param>,
    state: TrainState,
    examples: usize,
}

impl LoraTrainer {
    /// Dequantizes `decoder`, attaches fresh LoRA pairs (A: PEFT's Kaiming-uniform, B: zeros, so training
    /// starts from the base model) and orders `examples` examples by the seeded RNG.
    pub fn new(mut decoder: Decoder, config: TrainConfig, examples: usize) -> Result<Self> {
        config.validate()?;
        if examples == 0 {
            return Err(Error::InvalidArgument("no training examples".into()));
        }
        decoder.dequantize()?;
        let mut rng = Rng(config.seed);
        let device = decoder.device().clone();
        let mut params = Vec::new();
        for layer in 0..decoder.blocks.len() {
            for proj in &config.targets {
                let linear = decoder.blocks[layer]
                    .projection(proj)
                    .ok_or_else(|| Error::InvalidArgument(format!("no projection {proj}")))?;
                let (inp, out) = (linear.in_features(), linear.out_features());
                let bound = 1.0 / (inp as f32).sqrt();
                let a: Vec<f32> = (0..config.rank * inp).map(|_| rng.uniform(bound)).collect();
                let a = Tensor::from_vec(a, (config.rank, inp), &device)?;
                let b = Tensor::zeros((out, config.rank), DType::F32, &device)?;
                params.push(Param::new(format!("{layer}.{proj}.lora_A"), a)?);
                params.push(Param::new(format!("{layer}.{proj}.lora_B"), b)?);
            }
        }
        let mut order: Vec<usize> = (0..examples).collect();
        rng.shuffle(&mut order);
        let mut trainer = Self {
            decoder,
            params,
            state: TrainState {
                step: 0,
                cursor: 0,
                epoch: 0,
                order,
                rng,
                config,
            },
            examples,
        };
        trainer.attach()?;
        Ok(trainer)
    }

    /// Continues from `adapter` (fresh optimizer state): the LoRA pairs start as the adapter's, so
    /// a DPO stage starts from its SFT adapter. `config`'s rank, alpha and projections must be the
    /// adapter's.
    pub fn from_adapter(
        decoder: Decoder,
        adapter: &Adapter,
        config: TrainConfig,
        examples: usize,
    ) -> Result<Self> {
        let ac = &adapter.config;
        let mut targets = config.targets.clone();
        let mut theirs = ac.target_modules.clone();
        targets.sort();
        theirs.sort();
        if ac.r != config.rank
            || ac.scale() != config.alpha / config.rank as f64
            || targets != theirs
        {
            return Err(Error::InvalidArgument(format!(
                "the adapter (rank {}, alpha {}, {:?}) does not match the run's settings (rank {}, alpha {}, {:?})",
                ac.r, ac.lora_alpha, ac.target_modules, config.rank, config.alpha, config.targets
            )));
        }
        let trainer = Self::new(decoder, config, examples)?;
        // Applying the adapter to a copy gives its pairs in this decoder's row basis.
        let mut with = trainer.decoder.clone();
        adapter.apply(&mut with)?;
        for pair in trainer.params.chunks(2) {
            let (layer, proj) = split_name(&pair[0].name);
            let lora = with.blocks[layer]
                .projection(proj)
                .and_then(|l| l.lora())
                .ok_or_else(|| {
                    Error::InvalidArgument(format!("the adapter has no {proj} in layer {layer}"))
                })?;
            pair[0].var.set(&lora.a)?;
            pair[1].var.set(&lora.b)?;
        }
        Ok(trainer)
    }

    pub fn state(&self) -> &TrainState {
        &self.state
    }

    pub fn is_done(&self) -> bool {
        self.state.step >= self.state.config.total_steps
    }

    /// Number of trainable values.
    pub fn trainable_parameters(&self) -> usize {
        self.params.iter().map(|p| p.var.elem_count()).sum()
    }

    /// Points each targeted projection's LoRA pair at the current variables.
    fn attach(&mut self) -> Result<()> {
        let scale = self.state.config.alpha / self.state.config.rank as f64;
        for pair in self.params.chunks(2) {
            let (layer, proj) = split_name(&pair[0].name);
            self.decoder.blocks[layer]
                .projection_mut(proj)
                .ok_or_else(|| Error::InvalidArgument(format!("no projection {proj}")))?
                .set_lora(Some(LoraPair {
                    a: pair[0].var.as_tensor().clone(),
                    b: pair[1].var.as_tensor().clone(),
                    scale,
                }))?;
        }
        Ok(())
    }

    /// The decoder for the `serial`-th training example of the run: a shallow copy (weights and
    /// LoRA tensors shared) that draws that example's dropout masks, each LoRA pair its own stream.
    /// Each example carrying its own masks lets a step's examples run side by side.
    fn decoder_for_example(&self, serial: u64) -> Result<Cow<'_, Decoder>> {
        let p = self.state.config.lora_dropout as f32;
        if p == 0.0 {
            return Ok(Cow::Borrowed(&self.decoder));
        }
        let mut decoder = self.decoder.clone();
        let seed = self.state.config.seed;
        for (k, pair) in self.params.chunks(2).enumerate() {
            let (layer, proj) = split_name(&pair[0].name);
            decoder.blocks[layer]
                .projection_mut(proj)
                .ok_or_else(|| Error::InvalidArgument(format!("no projection {proj}")))?
                .set_lora_dropout(Some(LoraDropout {
                    p,
                    seed: Rng::derive(seed, &[serial, k as u64]),
                }));
        }
        Ok(Cow::Owned(decoder))
    }

    /// The next example indices of the seeded order, reshuffling at the end of each pass.
    fn next_indices(&mut self, n: usize) -> Vec<usize> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            if self.state.cursor == self.state.order.len() {
                self.state.cursor = 0;
                self.state.epoch += 1;
                let TrainState { rng, order, .. } = &mut self.state;
                rng.shuffle(order);
            }
            out.push(self.state.order[self.state.cursor]);
            self.state.cursor += 1;
        }
        out
    }

    /// Summed cross-entropy over the example's target tokens, and their count. `Mode::Inference` (fused
    /// ops, no gradient) serves evaluation.
    fn example_loss(
        decoder: &Decoder,
        ex: &TrainExample,
        mode: Mode,
    ) -> Result<Option<(Tensor, usize)>> {
        let n = ex.target_count();
        if n == 0 || ex.ids.len() < 2 {
            return Ok(None);
        }
        let device = decoder.device();
        let input = Tensor::new(&ex.ids[..ex.ids.len() - 1], device)?.unsqueeze(0)?;
        let positions: Vec<u32> = (1..ex.ids.len())
            .filter(|&i| ex.targets[i])
            .map(|i| (i - 1) as u32)
            .collect();
        let labels: Vec<u32> = (1..ex.ids.len())
            .filter(|&i| ex.targets[i])
            .map(|i| ex.ids[i])
            .collect();
        let positions = Tensor::new(positions, device)?;
        let picked = decoder.forward_positions(&input, &positions, mode)?;
        let loss = if device.is_cpu() && picked.dtype() == DType::F32 {
            crate::train_ops::cross_entropy_sum(&picked, &labels)?
        } else {
            (candle_nn::loss::cross_entropy(&picked, &Tensor::new(labels, device)?)? * n as f64)?
        };
        Ok(Some((loss, n)))
    }

    /// The summed loss of the `serial`-th training example of the run, and its gradient for each
    /// LoRA tensor (the rest of the backward pass's gradients are dropped here, not held for the
    /// step).
    fn example_grads(&self, ex: &TrainExample, serial: u64) -> Result<Option<ExampleGrads>> {
        let decoder = self.decoder_for_example(serial)?;
        let Some((loss, tokens)) = Self::example_loss(&decoder, ex, Mode::Training)? else {
            return Ok(None);
        };
        let weighted = (&loss * f64::from(ex.weight))?;
        self.grads_of(&weighted, loss.to_scalar::<f32>()? as f64, tokens, tokens)
    }

    /// DPO's loss for the `serial`-th pair, −log σ(β·((log π(c) − log π_ref(c)) − (log π(r) −
    /// log π_ref(r)))), and its gradients. Both answers share the pair's dropout masks.
    fn pair_grads(
        &self,
        pair: &PreferencePair,
        beta: f64,
        serial: u64,
    ) -> Result<Option<ExampleGrads>> {
        let decoder = self.decoder_for_example(serial)?;
        let (Some((chosen, n_c)), Some((rejected, n_r))) = (
            Self::example_loss(&decoder, &pair.chosen, Mode::Training)?,
            Self::example_loss(&decoder, &pair.rejected, Mode::Training)?,
        ) else {
            return Ok(None);
        };
        let (ref_c, ref_r) = pair.reference_logp;
        // Summed cross-entropy is −log π; the margin is β·((−ce_c − ref_c) − (−ce_r − ref_r)).
        let margin = ((((&rejected - &chosen)? - (ref_c - ref_r))?) * beta)?;
        // −log σ(m) = softplus(−m) = log(1 + e^(−m)), written stably as relu(−m) + log(1 + e^(−|m|)).
        let neg = margin.neg()?;
        let loss = (neg.relu()? + (margin.abs()?.neg()?.exp()? + 1.0)?.log()?)?;
        let value = loss.to_scalar::<f32>()? as f64;
        self.grads_of(&loss, value, n_c + n_r, 1)
    }

    fn grads_of(
        &self,
        loss: &Tensor,
        value: f64,
        tokens: usize,
        units: usize,
    ) -> Result<Option<ExampleGrads>> {
        let store = loss.backward()?;
        Ok(Some(ExampleGrads {
            loss: value,
            tokens,
            units,
            grads: self
                .params
                .iter()
                .map(|p| store.get(p.var.as_tensor()).cloned())
                .collect(),
        }))
    }

    /// Summed log-probability of the example's targets under the current weights (no gradient, no
    /// dropout): a DPO run's reference values, taken before its first step.
    pub fn answer_logp(&self, ex: &TrainExample) -> Result<f64> {
        Ok(
            match Self::example_loss(&self.decoder, ex, Mode::Inference)? {
                Some((loss, _)) => -(loss.to_scalar::<f32>()? as f64),
                None => 0.0,
            },
        )
    }

    /// Mean loss per target token over `examples` without training (validation).
    pub fn evaluate(&self, examples: &[TrainExample]) -> Result<f64> {
        let (mut sum, mut tokens) = (0.0, 0usize);
        for ex in examples {
            if let Some((loss, n)) = Self::example_loss(&self.decoder, ex, Mode::Inference)? {
                sum += loss.to_scalar::<f32>()? as f64;
                tokens += n;
            }
        }
        Ok(if tokens == 0 {
            f64::NAN
        } else {
            sum / tokens as f64
        })
    }

    /// One optimizer step over the next `grad_accum` examples of `examples` (the same list every call).
    pub fn step(&mut self, examples: &[TrainExample]) -> Result<StepReport> {
        self.check_items(examples.len())?;
        self.step_over(|t, i, serial| t.example_grads(&examples[i], serial))
    }

    /// One DPO optimizer step over the next `grad_accum` pairs of `pairs` (the same list every call;
    /// the trainer was set up for `pairs.len()` items). The reported loss is the mean pair loss.
    pub fn step_preferences(&mut self, pairs: &[PreferencePair], beta: f64) -> Result<StepReport> {
        self.check_items(pairs.len())?;
        self.step_over(|t, i, serial| t.pair_grads(&pairs[i], beta, serial))
    }

    fn check_items(&self, n: usize) -> Result<()> {
        if n != self.examples {
            return Err(Error::InvalidArgument(format!(
                "the trainer was set up for {} examples, got {n}",
                self.examples
            )));
        }
        Ok(())
    }

    /// The step itself: `item(trainer, index, serial)` gives an item's loss and gradients.
    fn step_over(
        &mut self,
        item: impl Fn(&Self, usize, u64) -> Result<Option<ExampleGrads>> + Sync,
    ) -> Result<StepReport> {
        let cfg = self.state.config.clone();
        let mut grads: Vec<Option<Tensor>> = vec![None; self.params.len()];
        let (mut loss_sum, mut tokens, mut units) = (0.0, 0usize, 0usize);
        let first_serial = self.state.step * cfg.grad_accum;
        // The items run side by side on the pool (their products share it too), in waves of
        // one per thread so no more items' activations are held at once; each returns its loss
        // and the LoRA gradients, summed below in item order, so the step does not depend on
        // which finished first.
        let wave_size = examples_in_flight(&cfg);
        let mut outcomes: Vec<Result<Option<ExampleGrads>>> = Vec::with_capacity(cfg.grad_accum);
        let indices = self.next_indices(cfg.grad_accum);
        let this = &*self;
        for (w, wave) in indices.chunks(wave_size).enumerate() {
            outcomes.par_extend(
                wave.par_iter()
                    .enumerate()
                    .map(|(j, &i)| item(this, i, (first_serial + w * wave_size + j) as u64)),
            );
        }
        for outcome in outcomes {
            let Some(example) = outcome? else {
                continue;
            };
            loss_sum += example.loss;
            tokens += example.tokens;
            units += example.units;
            for (acc, g) in grads.iter_mut().zip(example.grads) {
                if let Some(g) = g {
                    *acc = Some(match acc.take() {
                        Some(sum) => (sum + g)?,
                        None => g,
                    });
                }
            }
        }
        let lr = cfg.learning_rate_at(self.state.step);
        self.state.step += 1;
        if units > 0 {
            let t = self.state.step as i32;
            for (p, g) in self.params.iter_mut().zip(grads) {
                if let Some(g) = g {
                    p.adamw(&(g / units as f64)?, lr, cfg.weight_decay, t)?;
                }
            }
        }
        Ok(StepReport {
            step: self.state.step,
            loss: if units == 0 {
                f64::NAN
            } else {
                loss_sum / units as f64
            },
            learning_rate: lr,
            tokens,
        })
    }

    /// The trained pairs as a PEFT adapter (HF basis).
    pub fn adapter(&self, base_model: Option<String>) -> Result<Adapter> {
        let cfg = &self.state.config;
        Adapter::from_decoder(
            &self.decoder,
            AdapterConfig {
                r: cfg.rank,
                lora_alpha: cfg.alpha,
                target_modules: cfg.targets.clone(),
                lora_dropout: cfg.lora_dropout,
                use_rslora: false,
                base_model_name_or_path: base_model,
                peft_type: "LORA".into(),
                task_type: "CAUSAL_LM".into(),
                bias: Some("none".into()),
            },
        )
    }

    /// Writes the LoRA tensors, AdamW moments and state into `dir`: each file is written beside its final
    /// name and renamed over it, the state last, so a crash mid-save leaves the previous checkpoint whole.
    pub fn save_checkpoint(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut tensors = HashMap::new();
        for p in &self.params {
            tensors.insert(format!("{}.value", p.name), p.var.as_tensor().clone());
            tensors.insert(format!("{}.m", p.name), p.m.clone());
            tensors.insert(format!("{}.v", p.name), p.v.clone());
        }
        // The tensors go under a name tied to the step, so the state never points at a half-written file.
        let tensors_name = format!("{CHECKPOINT_TENSORS}.{}", self.state.step);
        // The safetensors writer itself goes through a temporary file renamed over the target.
        let tensors_path = dir.join(&tensors_name);
        candle_core::safetensors::save(&tensors, &tensors_path)
            .map_err(|e| e.with_path(&tensors_path))?;
        let state = serde_json::to_vec_pretty(&self.state).map_err(|source| Error::Json {
            path: dir.join(CHECKPOINT_STATE),
            source,
        })?;
        write_then_rename(dir, CHECKPOINT_STATE, |tmp| {
            std::fs::write(tmp, &state).map_err(|e| Error::io(tmp, e))
        })?;
        // Older tensor files are no longer referenced.
        for entry in std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with(CHECKPOINT_TENSORS) && name != tensors_name {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(())
    }

    /// Restores a checkpoint written by `save_checkpoint` for the same decoder, config and examples.
    pub fn resume(decoder: Decoder, dir: &Path, examples: usize) -> Result<Self> {
        let state_path = dir.join(CHECKPOINT_STATE);
        let text = std::fs::read_to_string(&state_path).map_err(|e| Error::io(&state_path, e))?;
        let state: TrainState = serde_json::from_str(&text).map_err(|source| Error::Json {
            path: state_path.clone(),
            source,
        })?;
        if state.order.len() != examples {
            return Err(Error::InvalidArgument(format!(
                "the checkpoint was made for {} examples, not {examples}",
                state.order.len()
            )));
        }
        let mut trainer = Self::new(decoder, state.config.clone(), examples)?;
        let path = dir.join(format!("{CHECKPOINT_TENSORS}.{}", state.step));
        let saved = candle_core::safetensors::load(&path, trainer.decoder.device())?;
        for p in &mut trainer.params {
            let get = |suffix: &str| {
                saved.get(&format!("{}.{suffix}", p.name)).ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "{}: no tensor {}.{suffix}",
                        path.display(),
                        p.name
                    ))
                })
            };
            p.var.set(get("value")?)?;
            p.m = get("m")?.clone();
            p.v = get("v")?.clone();
        }
        trainer.state = state;
        Ok(trainer)
    }
}

impl Param {
    fn new(name: String, init: Tensor) -> Result<Self> {
        Ok(Self {
            m: init.zeros_like()?,
            v: init.zeros_like()?,
            var: Var::from_tensor(&init)?,
            name,
        })
    }

    /// AdamW (Loshchilov & Hutter): decoupled weight decay, bias-corrected moments; `t` is 1-based.
    fn adamw(&mut self, g: &Tensor, lr: f64, weight_decay: f64, t: i32) -> Result<()> {
        const BETA1: f64 = 0.9;
        const BETA2: f64 = 0.999;
        const EPS: f64 = 1e-8;
        self.m = ((&self.m * BETA1)? + (g * (1.0 - BETA1))?)?;
        self.v = ((&self.v * BETA2)? + (g.sqr()? * (1.0 - BETA2))?)?;
        let m_hat = (&self.m / (1.0 - BETA1.powi(t)))?;
        let v_hat = (&self.v / (1.0 - BETA2.powi(t)))?;
        let update = (m_hat / (v_hat.sqrt()? + EPS)?)?;
        let theta = self.var.as_tensor();
        let next = ((theta * (1.0 - lr * weight_decay))? - (update * lr)?)?;
        self.var.set(&next)?;
        Ok(())
    }
}

/// "3.q_proj.lora_A" -> (3, "q_proj").
fn split_name(name: &str) -> (usize, &str) {
    let mut parts = name.splitn(3, '.');
    let layer = parts.next().and_then(|l| l.parse().ok()).unwrap_or(0);
    (layer, parts.next().unwrap_or(""))
}

/// Writes `dir/name` through a temporary file beside it. A failed write (a full disk) removes the
/// partial file and leaves whatever `dir/name` held before untouched.
fn write_then_rename(
    dir: &Path,
    name: &str,
    write: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    let written = write(&tmp).and_then(|()| {
        let target = dir.join(name);
        std::fs::rename(&tmp, &target).map_err(|e| Error::io(&target, e))
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Threads that training's f32 matmuls use: candle reads `RAYON_NUM_THREADS` at each call (else all
/// cores), unlike the quantized kernels, whose pool is sized once.
pub fn training_threads() -> usize {
    candle_core::utils::get_num_threads()
}

/// Examples a step runs at once: one per thread of the pool, at most `grad_accum`.
fn examples_in_flight(config: &TrainConfig) -> usize {
    rayon::current_num_threads().clamp(1, config.grad_accum.max(1))
}

/// Peak memory a LoRA run on `decoder` needs, in bytes: the f32 base weights (dequantized), the LoRA
/// tensors with gradients and two moments, and the activations of a `seq_len` example kept for the
/// backward pass (a rough count: ~40 floats per hidden unit per layer per token for the norms, projections
/// and MLP intermediates, the attention scores, and the logits with their softmax), once per example
/// in flight (`examples_in_flight`).
pub fn memory_estimate_bytes(decoder: &Decoder, config: &TrainConfig, seq_len: usize) -> u64 {
    let c = decoder.config();
    let per_layer = (c.num_heads + 2 * c.num_kv_heads) * c.head_dim * c.hidden_size
        + c.num_heads * c.head_dim * c.hidden_size
        + 3 * c.hidden_size * c.intermediate_size;
    let base = (c.num_layers * per_layer + c.vocab_size * c.hidden_size * 2) as u64 * 4;
    let lora_values: u64 = config.rank as u64
        * config.targets.len() as u64
        * c.num_layers as u64
        * (c.hidden_size + c.intermediate_size.max(c.hidden_size)) as u64;
    let lora = lora_values * 4 * 4;
    let activations = examples_in_flight(config) as u64
        * (seq_len
            * (40 * c.hidden_size * c.num_layers
                + 3 * c.vocab_size
                + c.num_heads * seq_len * c.num_layers)) as u64
        * 4;
    base + lora + activations
}

#[cfg(test)]
#[path = "train_tests.rs"]
pub(crate) mod tests;
