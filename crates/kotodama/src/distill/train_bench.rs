//! Training throughput on a persona's real distillation examples (`kotodama bench train`). The same
//! sequences and LoRA settings can be written out, so that the PyTorch + PEFT reference run
//! (`tools/distill/bench_vs_peft.sh`) trains on exactly the same tokens.

use std::path::Path;
use std::time::Instant;

use kotodama_engine::{LoadOptions, LoraTrainer, Model, TrainConfig, TrainExample};
use serde::Serialize;

use super::{train_config, training, DistillParams, Split};
use crate::{Error, Kotodama, Result};

/// One measured run of optimizer steps.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrainBench {
    pub model: String,
    pub threads: usize,
    pub config: TrainConfig,
    pub examples: usize,
    /// Tokens through forward and backward (whole sequences), and those the loss counts.
    pub sequence_tokens: usize,
    pub target_tokens: usize,
    pub seconds: f64,
    pub sequence_tokens_per_second: f64,
    pub losses: Vec<f64>,
    pub peak_rss_bytes: Option<u64>,
}

/// What the reference script reads.
#[derive(Serialize)]
struct ReferenceInput<'a> {
    model: String,
    config: &'a TrainConfig,
    examples: &'a [TrainExample],
}

impl Kotodama {
    /// Trains `steps` optimizer steps of `params`' preset on the persona's first training examples
    /// (each used once) and times them; `reference_out` receives those examples and the settings.
    pub fn bench_training(
        &self,
        persona_id: i64,
        params: &DistillParams,
        steps: usize,
        threads: usize,
        reference_out: Option<&Path>,
    ) -> Result<TrainBench> {
        let dataset =
            self.distill_dataset(persona_id, &params.teacher, &mut |_: usize, _: usize| {})?;
        let base = self.student_model(params.base.as_deref())?;
        let model = Model::load(
            &base,
            LoadOptions {
                threads,
                ..Default::default()
            },
        )?;
        let (mut examples, _) = training::tokenize_split(
            &model,
            &dataset,
            Split::Train,
            params.variant,
            training::Form::Training,
        )?;
        let mut config = train_config(params, examples.len());
        let steps = steps.min(examples.len() / config.grad_accum);
        if steps == 0 {
            return Err(Error::InvalidInput(format!(
                "{} training examples are fewer than one step of {}",
                examples.len(),
                config.grad_accum
            )));
        }
        config.total_steps = steps;
        config.warmup_steps = 1;
        examples.truncate(steps * config.grad_accum);
        if let Some(path) = reference_out {
            let input = ReferenceInput {
                model: base.display().to_string(),
                config: &config,
                examples: &examples,
            };
            let json = serde_json::to_vec(&input)
                .map_err(|e| Error::Distill(format!("reference input: {e}")))?;
            std::fs::write(path, json).map_err(|e| Error::Io {
                path: path.display().to_string(),
                source: e,
            })?;
        }
        let mut trainer =
            LoraTrainer::new(model.decoder().clone(), config.clone(), examples.len())?;
        let started = Instant::now();
        let mut losses = Vec::new();
        let mut target_tokens = 0;
        while !trainer.is_done() {
            let step = trainer.step(&examples)?;
            target_tokens += step.tokens;
            losses.push(step.loss);
        }
        let seconds = started.elapsed().as_secs_f64();
        let sequence_tokens = examples.iter().map(|e| e.ids.len()).sum();
        Ok(TrainBench {
            model: model.info().name.clone(),
            threads: kotodama_engine::train::training_threads(),
            config,
            examples: examples.len(),
            sequence_tokens,
            target_tokens,
            seconds,
            sequence_tokens_per_second: sequence_tokens as f64 / seconds,
            losses,
            peak_rss_bytes: kotodama_engine::peak_rss_bytes(),
        })
    }
}
