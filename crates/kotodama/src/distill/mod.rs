//! "Distil my persona": the persona's lines become a structured style-rewrite dataset with style plans
//! (`dataset`, `teacher`), a LoRA adapter is trained on the student model (`training`, the engine's
//! `LoraTrainer`), measured, and registered with its report. It runs as a persisted job: the job folder
//! keeps the dataset, the tokenized examples and the checkpoint, so a killed run resumes where it was.
//!
//! The work is split like a chat reply: `prepare_distill` reads what the job needs from the database,
//! `DistillRun::execute` trains without touching it (a shell can run it off the UI thread), and
//! `finish_distill` stores the adapter.

pub mod dataset;
pub mod eval;
pub mod export;
mod import;
pub mod teacher;
pub mod train_bench;
pub mod training;

use std::path::{Path, PathBuf};
use std::time::Instant;

use kotodama_engine::{
    CancelToken, DeviceKind, LoraTrainer, Model, PreferencePair, TrainConfig, TrainExample,
};
use kotodama_store::{Job, JobState, NewAdapter, NewJob, NewModel};
use kotodama_style::StyleProfile;
use serde::{Deserialize, Serialize};

pub use dataset::{Dataset, DatasetReport, Split, Task, Variant};
pub use eval::Difference;
pub use import::ImportedAdapterReport;
pub use teacher::TeacherSpec;

use crate::models::{ModelKind, ModelManager};
use crate::{Error, Kotodama, Result};

pub const JOB_KIND: &str = "distill";
/// Validation examples of each task the job's own evaluation generates for (base model and the new
/// adapter): its verdict decides whether chats use the adapter.
const JOB_EVAL_EXAMPLES: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Preset {
    /// Minutes on a laptop CPU: attention projections, a fixed number of steps.
    Quick,
    /// Every projection, three passes over the training split.
    Full,
}

/// One of `choices` by its command-line name.
pub(crate) fn parse_choice<T: Copy>(s: &str, what: &str, choices: &[(&str, T)]) -> Result<T> {
    choices
        .iter()
        .find(|(name, _)| *name == s)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
            Error::InvalidInput(format!("unknown {what} {s:?}: use {}", names.join(", ")))
        })
}

impl std::str::FromStr for Preset {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        parse_choice(
            s,
            "preset",
            &[("quick", Preset::Quick), ("full", Preset::Full)],
        )
    }
}

/// Which training stage a job runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum Stage {
    /// Supervised fine-tuning on the persona's lines, by the recipe of `variant`.
    #[default]
    Sft,
    /// CoT-shared DPO (the paper's second stage) from an SFT adapter: the character's line is
    /// preferred over its neutral version, both after the same plan.
    Dpo,
}

impl std::str::FromStr for Stage {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        parse_choice(s, "stage", &[("sft", Stage::Sft), ("dpo", Stage::Dpo)])
    }
}

impl Stage {
    /// The stage an adapter was trained by (imported adapters and older reports: SFT).
    pub fn of_adapter(a: &kotodama_store::Adapter) -> Stage {
        a.adapter
            .report
            .as_ref()
            .and_then(|r| serde_json::from_value(r.get("stage")?.clone()).ok())
            .unwrap_or_default()
    }
}

/// DPO's β: how far the policy may move from the SFT adapter (the DPO paper's usual 0.1).
const DPO_BETA: f64 = 0.1;
/// DPO's learning rate, a fifth of the SFT stage's: it starts from a trained adapter.
const DPO_LEARNING_RATE_SHARE: f64 = 0.2;

/// What a distill job was asked to do (stored as the job's parameters).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DistillParams {
    pub preset: Preset,
    pub teacher: TeacherSpec,
    /// A GGUF / safetensors path or an installed model id; None: the default chat model.
    pub base: Option<String>,
    pub variant: Variant,
    /// Optimizer steps (overrides the preset; CI runs a handful).
    pub steps: Option<usize>,
    pub seed: u64,
    #[serde(default)]
    pub stage: Stage,
    /// The DPO stage's starting point (an SFT adapter of the persona; None: its newest).
    #[serde(default)]
    pub from_adapter: Option<i64>,
}

impl Default for DistillParams {
    fn default() -> Self {
        Self {
            preset: Preset::Quick,
            teacher: TeacherSpec::Rules,
            base: None,
            // Plain fine-tuning until a plan recipe beats it in `kotodama eval` (docs/benchmarks.md).
            variant: Variant::Vanilla,
            steps: None,
            seed: 42,
            stage: Stage::Sft,
            from_adapter: None,
        }
    }
}

/// Longest training sequence; longer examples are cut (and counted).
pub const MAX_SEQ_LEN: usize = 256;
/// Optimizer steps between checkpoints.
const CHECKPOINT_EVERY: usize = 10;
/// Validation examples the loss is measured on (the first ones of the split, so every run uses the same).
const VALIDATION_EXAMPLES: usize = 40;

/// The trainer's settings for a run of `params` over `train_examples` examples.
pub fn train_config(params: &DistillParams, train_examples: usize) -> TrainConfig {
    let (rank, targets, lr, grad_accum, steps) = match params.preset {
        Preset::Quick => (
            8,
            &["q_proj", "k_proj", "v_proj", "o_proj"][..],
            1e-3,
            4,
            60,
        ),
        Preset::Full => (
            16,
            &kotodama_engine::decoder::PROJECTIONS[..],
            5e-4,
            8,
            (3 * train_examples).div_ceil(8),
        ),
    };
    let total_steps = params.steps.unwrap_or(steps).max(1);
    TrainConfig {
        rank,
        alpha: 2.0 * rank as f64,
        targets: targets.iter().map(|t| t.to_string()).collect(),
        learning_rate: lr,
        warmup_steps: (total_steps / 10).max(1),
        total_steps,
        grad_accum,
        weight_decay: 0.0,
        // PEFT's usual value: a little regularisation for a few hundred script lines.
        lora_dropout: 0.05,
        seed: params.seed,
    }
}

/// Where a job is, for progress bars and the app's panel.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DistillProgress {
    /// `dataset`, `reference` (the DPO stage's reference pass), `training`, `evaluating` or `saving`.
    pub phase: &'static str,
    pub done: usize,
    pub total: usize,
    pub loss: Option<f64>,
    pub tokens_per_second: Option<f64>,
    pub eta_seconds: Option<f64>,
}

/// What a finished run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct DistillReport {
    pub base_model: String,
    pub variant: Variant,
    #[serde(default)]
    pub stage: Stage,
    pub config: TrainConfig,
    pub dataset: DatasetReport,
    pub train_examples: usize,
    pub truncated_examples: usize,
    /// Mean loss per target token of the validation lines in the form chats ask for them (after an
    /// empty reasoning block for plan recipes), before and after training.
    pub validation_loss_base: f64,
    pub validation_loss_adapter: f64,
    /// Loss of each optimizer step, in order.
    pub losses: Vec<f64>,
    /// Training time and throughput over the whole run, its resumes included.
    pub train_seconds: f64,
    pub tokens_per_second: f64,
    /// Base model vs the new adapter on validation examples.
    pub evaluation: Vec<eval::SystemScores>,
    /// Absent from reports of adapters trained before verdicts existed (never used by chats).
    #[serde(default)]
    pub verdict: Option<Verdict>,
}

/// Whether the adapter beat the base model (with the persona's card prompt) on the persona's own
/// validation examples, by Valid Style Score over both tasks. Chats use only adapters that did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub base_valid_style: f64,
    pub adapter_valid_style: f64,
    /// Adapter − base, with its 95% paired bootstrap interval.
    pub difference: eval::Difference,
    pub beats_base: bool,
}

impl Verdict {
    fn of(base: &eval::SystemScores, adapter: &eval::SystemScores) -> Self {
        let mean = |s: &eval::SystemScores| {
            s.per_example.iter().map(|e| e.valid_style).sum::<f64>()
                / s.per_example.len().max(1) as f64
        };
        let difference = eval::valid_style_difference(base, adapter, None);
        Self {
            base_valid_style: mean(base),
            adapter_valid_style: mean(adapter),
            difference,
            beats_base: difference.mean > 0.0,
        }
    }

    /// The verdict stored in an adapter's report, if any.
    pub fn of_adapter(adapter: &kotodama_store::Adapter) -> Option<Verdict> {
        let report = adapter.adapter.report.as_ref()?;
        serde_json::from_value(report.get("verdict")?.clone()).ok()
    }
}

/// Everything a run needs, read from the database by `prepare_distill`.
pub struct DistillRun {
    /// Holds the job's lease while the run exists, whatever phase it is in.
    _heartbeat: kotodama_store::LeaseHeartbeat,
    pub job_id: i64,
    persona_id: i64,
    slug: String,
    params: DistillParams,
    base: PathBuf,
    dir: PathBuf,
    adapter_dir: PathBuf,
    dataset: Dataset,
    /// The DPO stage's SFT adapter folder.
    sft_adapter: Option<PathBuf>,
    /// For the job's evaluation: the persona prompt, its profile, every persona's profile, the embedder.
    persona_prompt: String,
    profile: StyleProfile,
    profiles: Vec<(String, StyleProfile)>,
    embedder_dir: Option<PathBuf>,
}

/// A finished run: the adapter folder and its report.
pub struct DistillOutcome {
    pub adapter_dir: PathBuf,
    pub report: DistillReport,
    model: NewModel,
}

impl Kotodama {
    /// The persona's distillation dataset (the job builds the same; `kotodama dataset export` writes it).
    pub fn distill_dataset(
        &self,
        persona_id: i64,
        teacher: &TeacherSpec,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Dataset> {
        let persona = self.store.persona(persona_id)?;
        let lines = self.store.script_lines(persona_id)?;
        if lines.len() < dataset::MIN_LINES {
            return Err(Error::InvalidInput(format!(
                "{} has {} script lines; distillation needs at least {}",
                persona.card.name,
                lines.len(),
                dataset::MIN_LINES
            )));
        }
        let profile = self.style_profile(persona_id)?;
        let mut teacher = teacher.build(&profile)?;
        let mut embedder = self.embedder();
        let has_embedder = embedder.is_some();
        let mut similarity = |a: &str, b: &str| -> Result<f32> {
            let e = embedder
                .as_mut()
                .expect("only called when the embedder loaded")
                .embed(&[a, b])?;
            Ok(kotodama_engine::cosine(&e[0], &e[1]))
        };
        let source = dataset::DatasetSource {
            persona: &persona.card.name,
            system_prompt: &crate::prompt::adapter_system_prompt(&persona.card, crate::USER_NAME),
            lines: &lines,
            profile: &profile,
        };
        dataset::build_dataset(
            &source,
            crate::analysis::style_resources()?,
            teacher.as_mut(),
            has_embedder.then_some(&mut similarity as dataset::Similarity<'_>),
            progress,
        )
    }

    /// Compares the base model (with the persona's card prompt) and the persona's adapters (all, or
    /// `adapter_ids`) on up to `per_task` test examples of each task with distinct inputs. The base is
    /// the adapters' base model, else the default model.
    pub fn evaluate_persona(
        &self,
        persona_id: i64,
        adapter_ids: &[i64],
        per_task: usize,
    ) -> Result<Vec<eval::SystemScores>> {
        let adapters: Vec<_> = self
            .store
            .adapters(persona_id)?
            .into_iter()
            .filter(|a| adapter_ids.is_empty() || adapter_ids.contains(&a.id))
            .collect();
        let base = match adapters
            .first()
            .map(|a| self.adapter_base(a))
            .transpose()?
            .flatten()
        {
            Some(path) => path,
            None => self.student_model(None)?,
        };
        let mut model = Model::load(&base, crate::models::load_options()?)?;
        let inputs = self.eval_inputs(persona_id)?;
        let ctx = inputs.ctx()?;
        let examples = eval::pick_examples(&inputs.dataset, Split::Test, per_task);
        let mut scores = vec![eval::evaluate(
            &ctx,
            &eval::System {
                name: "base + card prompt".into(),
                model: &model,
                prefix: "",
                system_prompt: &inputs.card_prompt,
            },
            Split::Test,
            &examples,
        )?];
        for a in &adapters {
            model.set_adapter(Some(Path::new(&a.adapter.path)))?;
            scores.push(eval::evaluate(
                &ctx,
                &eval::System {
                    name: match Stage::of_adapter(a) {
                        Stage::Sft => format!("adapter {} ({})", a.id, a.adapter.variant),
                        Stage::Dpo => format!("adapter {} ({} + DPO)", a.id, a.adapter.variant),
                    },
                    model: &model,
                    prefix: adapter_prefix(&a.adapter.variant),
                    system_prompt: &inputs.dataset.system_prompt,
                },
                Split::Test,
                &examples,
            )?);
        }
        Ok(scores)
    }

    /// The persona's dataset (rules teacher), profiles and embedder for an evaluation.
    fn eval_inputs(&self, persona_id: i64) -> Result<EvalInputs> {
        let persona = self.store.persona(persona_id)?;
        Ok(EvalInputs {
            dataset: self.distill_dataset(persona_id, &TeacherSpec::Rules, &mut |_, _| {})?,
            profile: self.style_profile(persona_id)?,
            profiles: self.all_profiles()?,
            embedder: self.embedder(),
            card_prompt: crate::prompt::system_prompt(&persona.card, crate::USER_NAME),
            slug: persona.card.slug,
        })
    }

    /// The installed sentence embedder, if any (semantic checks are skipped without it).
    fn embedder(&self) -> Option<kotodama_engine::Embedder> {
        let model = ModelManager::new(self.home.models_dir())
            .default_of(ModelKind::Embedder)
            .ok()?;
        kotodama_engine::Embedder::load(&model.path).ok()
    }

    /// Queues a distill job for the persona.
    pub fn enqueue_distill(&mut self, persona_id: i64, params: &DistillParams) -> Result<Job> {
        self.store.persona(persona_id)?;
        Ok(self.store.enqueue_job(&NewJob {
            kind: JOB_KIND.into(),
            persona_id: Some(persona_id),
            params: serde_json::to_value(params)
                .map_err(|e| Error::Distill(format!("job parameters: {e}")))?,
        })?)
    }

    /// The persona's adapters, newest first.
    pub fn adapters(&self, persona_id: i64) -> Result<Vec<kotodama_store::Adapter>> {
        Ok(self.store.adapters(persona_id)?)
    }

    /// Jobs in `states`, after marking those whose process died as interrupted.
    pub fn jobs(&mut self, states: &[JobState]) -> Result<Vec<Job>> {
        self.store.mark_interrupted_jobs()?;
        Ok(self.store.jobs_in(states)?)
    }

    pub fn job(&self, id: i64) -> Result<Job> {
        Ok(self.store.job(id)?)
    }

    pub fn set_job_state(&mut self, id: i64, state: JobState, error: Option<&str>) -> Result<()> {
        Ok(self.store.set_job_state(id, state, error)?)
    }

    pub fn set_job_progress(&mut self, id: i64, p: &DistillProgress) -> Result<()> {
        let fraction = if p.total == 0 {
            0.0
        } else {
            p.done as f64 / p.total as f64
        };
        Ok(self.store.set_job_progress(id, p.phase, fraction, None)?)
    }

    /// Marks the job running and gathers its inputs; the dataset is built once and kept in the job
    /// folder, so a resumed job trains on exactly the same examples.
    pub fn prepare_distill(
        &mut self,
        job_id: i64,
        progress: &mut dyn FnMut(&DistillProgress),
    ) -> Result<DistillRun> {
        let job = self.store.job(job_id)?;
        let persona_id = job
            .persona_id
            .filter(|_| job.kind == JOB_KIND)
            .ok_or_else(|| Error::InvalidInput(format!("job {job_id} is not a distill job")))?;
        let params: DistillParams = serde_json::from_value(job.params.clone())
            .map_err(|e| Error::Distill(format!("job {job_id} parameters: {e}")))?;
        let persona = self.store.persona(persona_id)?;
        let dir = self.home.root().join("jobs").join(job_id.to_string());
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        // Refused while another live process runs it (a second `jobs resume`, the app and the CLI).
        self.store.claim_job(job_id, &self.lease)?;
        let heartbeat = self.store.lease_heartbeat(job_id, &self.lease)?;
        self.store
            .set_job_progress(job_id, "dataset", 0.0, Some(&dir.display().to_string()))?;
        let dataset_path = dir.join("dataset.json");
        let dataset = match std::fs::read(&dataset_path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| Error::Distill(format!("{}: {e}", dataset_path.display())))?,
            Err(_) => {
                let data =
                    self.distill_dataset(persona_id, &params.teacher, &mut |done, total| {
                        progress(&DistillProgress::counting("dataset", done, total))
                    })?;
                let json = serde_json::to_vec(&data)
                    .map_err(|e| Error::Distill(format!("dataset: {e}")))?;
                crate::fsutil::write_atomically(&dataset_path, &json)?;
                data
            }
        };
        let mut params = params;
        let (base, sft_adapter) = match params.stage {
            Stage::Sft => (self.student_model(params.base.as_deref())?, None),
            Stage::Dpo => {
                let sft = self.sft_adapter(persona_id, params.from_adapter)?;
                // The DPO adapter continues the SFT one: same recipe, same base model.
                params.variant = sft.adapter.variant.parse()?;
                let base = match self.adapter_base(&sft)? {
                    Some(path) => path,
                    None => self.student_model(params.base.as_deref())?,
                };
                (base, Some(PathBuf::from(sft.adapter.path)))
            }
        };
        Ok(DistillRun {
            _heartbeat: heartbeat,
            sft_adapter,
            persona_prompt: crate::prompt::system_prompt(&persona.card, crate::USER_NAME),
            profile: self.style_profile(persona_id)?,
            profiles: self.all_profiles()?,
            embedder_dir: ModelManager::new(self.home.models_dir())
                .default_of(ModelKind::Embedder)
                .ok()
                .map(|m| m.path),
            job_id,
            persona_id,
            adapter_dir: self
                .home
                .adapters_dir()
                .join(format!("{}-job{job_id}", persona.card.slug)),
            slug: persona.card.slug,
            params,
            base,
            dir,
            dataset,
        })
    }

    /// The model file an adapter was trained on (None: not recorded, or no longer installed).
    pub(crate) fn adapter_base(&self, a: &kotodama_store::Adapter) -> Result<Option<PathBuf>> {
        let Some(id) = a.adapter.model_id else {
            return Ok(None);
        };
        Ok(self
            .store
            .models()?
            .into_iter()
            .find(|m| m.id == id)
            .map(|m| PathBuf::from(m.model.path)))
    }

    /// The SFT adapter a DPO stage starts from: `id`, or the persona's newest adapter of a plain
    /// (not DPO) distillation.
    fn sft_adapter(&self, persona_id: i64, id: Option<i64>) -> Result<kotodama_store::Adapter> {
        let adapters = self.store.adapters(persona_id)?;
        let found = match id {
            Some(id) => adapters.into_iter().find(|a| a.id == id),
            None => adapters
                .into_iter()
                .find(|a| Stage::of_adapter(a) == Stage::Sft),
        };
        found.ok_or_else(|| {
            Error::InvalidInput(
                "the DPO stage starts from an SFT adapter of this persona: distil it first".into(),
            )
        })
    }

    /// The student: a GGUF / safetensors path, an installed model id, or (None) the default chat model.
    pub fn student_model(&self, base: Option<&str>) -> Result<PathBuf> {
        let models = ModelManager::new(self.home.models_dir());
        Ok(match base {
            Some(p) if Path::new(p).exists() => PathBuf::from(p),
            Some(id) => models.get(id)?.path,
            None => models.default_of(ModelKind::Chat)?.path,
        })
    }

    /// Registers the adapter with its report and marks the job done; returns the adapter's id.
    pub fn finish_distill(&mut self, run: &DistillRun, outcome: DistillOutcome) -> Result<i64> {
        let model_id = self.store.upsert_model(&outcome.model)?;
        let report = serde_json::to_value(&outcome.report)
            .map_err(|e| Error::Distill(format!("report: {e}")))?;
        Ok(self.store.register_job_adapter(
            run.job_id,
            &NewAdapter {
                persona_id: run.persona_id,
                model_id: Some(model_id),
                path: outcome.adapter_dir.display().to_string(),
                variant: run.params.variant.as_str().into(),
                rank: outcome.report.config.rank as i64,
                alpha: outcome.report.config.alpha,
                report: Some(report),
            },
        )?)
    }
}

/// How long an adapter folder no row names is left alone: another process may be about to register
/// it (an import between its copy and its row, a job between its save and its row).
const UNREGISTERED_GRACE: std::time::Duration = std::time::Duration::from_secs(10 * 60);

impl Kotodama {
    /// Removes the adapter folders that no adapter row names and nothing can still register: left by
    /// a crash between writing an adapter and registering it, or half-written (`.partial`). A folder
    /// of a job that can still finish (queued, running or interrupted) is kept: its resume writes it
    /// again and registers it. Returns how many were removed.
    pub(crate) fn sweep_unregistered_adapters(&mut self) -> Result<usize> {
        let root = self.home.adapters_dir();
        let Ok(entries) = std::fs::read_dir(&root) else {
            return Ok(0);
        };
        let mut registered = std::collections::HashSet::new();
        for p in self.store.personas()? {
            registered.extend(
                self.store
                    .adapters(p.id)?
                    .into_iter()
                    .map(|a| PathBuf::from(a.adapter.path)),
            );
        }
        let unfinished: std::collections::HashSet<i64> = self
            .store
            .jobs_in(&[JobState::Queued, JobState::Running, JobState::Interrupted])?
            .into_iter()
            .map(|j| j.id)
            .collect();
        let mut removed = 0;
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_dir() || registered.contains(&path) {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let job = name
                .trim_end_matches(".partial")
                .rsplit_once("-job")
                .and_then(|(_, id)| id.parse::<i64>().ok());
            if job.is_some_and(|id| unfinished.contains(&id)) {
                continue;
            }
            let recent = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_none_or(|age| age < UNREGISTERED_GRACE);
            if recent {
                continue;
            }
            match std::fs::remove_dir_all(&path) {
                Ok(()) => removed += 1,
                Err(e) => tracing::warn!("{} could not be removed: {e}", path.display()),
            }
        }
        Ok(removed)
    }
}

impl DistillProgress {
    fn counting(phase: &'static str, done: usize, total: usize) -> Self {
        Self {
            phase,
            done,
            total,
            loss: None,
            tokens_per_second: None,
            eta_seconds: None,
        }
    }
}

/// Refuses a run that would not fit in memory, before anything is dequantized.
fn check_memory(needed: u64, available: Option<u64>) -> Result<()> {
    let gb = |b: u64| b as f64 / (1u64 << 30) as f64;
    match available {
        Some(free) if needed > free => Err(Error::Distill(format!(
            "training needs about {:.1} GB of memory and {:.1} GB is available: close other programs or \
             choose a smaller base model",
            gb(needed),
            gb(free)
        ))),
        _ => Ok(()),
    }
}

/// `MemAvailable` of /proc/meminfo (Linux); None where unknown, and the check is skipped.
fn available_memory_bytes() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The base model (with the card prompt) and the adapter (`dir`, trained as `variant`, with the
/// dataset's adapter prompt) on the persona's validation examples, and the verdict. Leaves the adapter
/// set on `model`.
fn against_base(
    ctx: &eval::EvalContext<'_>,
    model: &mut Model,
    card_prompt: &str,
    (dir, variant): (&Path, &str),
    progress: &mut dyn FnMut(&DistillProgress),
) -> Result<(Vec<eval::SystemScores>, Verdict)> {
    progress(&DistillProgress::counting("evaluating", 0, 2));
    let examples = eval::pick_examples(ctx.dataset, Split::Validation, JOB_EVAL_EXAMPLES);
    model.set_adapter(None)?;
    let base = eval::evaluate(
        ctx,
        &eval::System {
            name: "base + card prompt".into(),
            model,
            prefix: "",
            system_prompt: card_prompt,
        },
        Split::Validation,
        &examples,
    )?;
    progress(&DistillProgress::counting("evaluating", 1, 2));
    model.set_adapter(Some(dir))?;
    let adapter = eval::evaluate(
        ctx,
        &eval::System {
            name: format!("{variant} adapter"),
            model,
            prefix: adapter_prefix(variant),
            system_prompt: &ctx.dataset.system_prompt,
        },
        Split::Validation,
        &examples,
    )?;
    let verdict = Verdict::of(&base, &adapter);
    Ok((vec![base, adapter], verdict))
}

/// What an adapter of the stored `variant` finds at the start of its turn: an empty reasoning block,
/// unless it was trained without plans.
pub fn adapter_prefix(variant: &str) -> &'static str {
    match variant.parse::<Variant>() {
        Ok(Variant::Vanilla) => "",
        // The plan recipes, and "cot" adapters of earlier versions (plan inline before the line).
        _ => crate::prompt::EMPTY_REASONING,
    }
}

/// The store's record of the base model an adapter was trained on, loaded from `path`.
fn model_record(model: &Model, path: &Path) -> NewModel {
    let info = model.info();
    NewModel {
        name: info.name.clone(),
        path: path.display().to_string(),
        format: info.format.clone(),
        architecture: format!("{:?}", info.config.architecture).to_lowercase(),
        quantization: None,
        size_bytes: std::fs::metadata(path).map_or(0, |m| m.len() as i64),
        sha256: None,
    }
}

/// What measuring a persona's systems needs besides the models (`eval::EvalContext` borrows it).
struct EvalInputs {
    slug: String,
    dataset: Dataset,
    profile: StyleProfile,
    profiles: Vec<(String, StyleProfile)>,
    embedder: Option<kotodama_engine::Embedder>,
    /// The base model's system prompt (adapters get the dataset's).
    card_prompt: String,
}

impl EvalInputs {
    fn ctx(&self) -> Result<eval::EvalContext<'_>> {
        Ok(eval::EvalContext {
            persona_slug: &self.slug,
            dataset: &self.dataset,
            profile: &self.profile,
            profiles: &self.profiles,
            res: crate::analysis::style_resources()?,
            embedder: self.embedder.as_ref(),
        })
    }
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source: e,
    }
}

/// What a run trains on: token sequences (SFT) or preference pairs (DPO).
enum Items {
    Supervised(Vec<TrainExample>),
    Preferences(Vec<PreferencePair>),
}

impl Items {
    fn len(&self) -> usize {
        match self {
            Items::Supervised(e) => e.len(),
            Items::Preferences(p) => p.len(),
        }
    }
}

impl DistillRun {
    /// The training split's preference pairs as tokens (reference log-probabilities not yet taken).
    fn preference_pairs(&self, model: &Model) -> Result<Vec<PreferencePair>> {
        let mut pairs = Vec::new();
        for (chosen, rejected) in self
            .dataset
            .preference_pairs(Split::Train, self.params.variant)
        {
            let tokens = |seq| -> Result<Option<TrainExample>> {
                let mut t = training::tokenize_sequence(model, &seq)?;
                t.truncate(MAX_SEQ_LEN);
                Ok(t.targets.iter().skip(1).any(|&x| x).then_some(t))
            };
            if let (Some(chosen), Some(rejected)) = (tokens(chosen)?, tokens(rejected)?) {
                pairs.push(PreferencePair {
                    chosen,
                    rejected,
                    reference_logp: (0.0, 0.0),
                });
            }
        }
        if pairs.is_empty() {
            return Err(Error::Distill(
                "no preference pairs: the teacher left every line as it was".into(),
            ));
        }
        // Each pair costs two reference passes before training starts: keep the ones the run will
        // train on (a seeded sample, spread over the whole script), each seen once.
        let config = train_config(&self.params, pairs.len());
        let seen = config.total_steps * config.grad_accum;
        if pairs.len() > seen {
            use rand::seq::SliceRandom as _;
            use rand::SeedableRng as _;
            pairs.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(
                self.params.seed,
            ));
            pairs.truncate(seen);
        }
        Ok(pairs)
    }

    /// The pairs with their log-probabilities under the SFT adapter, taken by the trainer before its
    /// first step and kept in the job folder (a resumed run's trainer has moved on).
    fn with_reference(
        &self,
        trainer: &LoraTrainer,
        mut pairs: Vec<PreferencePair>,
        progress: &mut dyn FnMut(&DistillProgress),
    ) -> Result<Vec<PreferencePair>> {
        let path = self.dir.join("dpo_reference.json");
        let reference: Vec<(f64, f64)> = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| Error::Distill(format!("{}: {e}", path.display())))?,
            Err(_) => {
                let r = pairs
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        progress(&DistillProgress::counting("reference", i, pairs.len()));
                        Ok((
                            trainer.answer_logp(&p.chosen)?,
                            trainer.answer_logp(&p.rejected)?,
                        ))
                    })
                    .collect::<Result<Vec<_>>>()?;
                crate::fsutil::write_atomically(
                    &path,
                    &serde_json::to_vec(&r).map_err(|e| Error::Distill(e.to_string()))?,
                )?;
                r
            }
        };
        if reference.len() != pairs.len() {
            return Err(Error::Distill(format!(
                "{} holds {} pairs, the dataset {}",
                path.display(),
                reference.len(),
                pairs.len()
            )));
        }
        for (p, r) in pairs.iter_mut().zip(reference) {
            p.reference_logp = r;
        }
        Ok(pairs)
    }

    pub fn slug(&self) -> &str {
        &self.slug
    }

    pub fn dataset(&self) -> &Dataset {
        &self.dataset
    }

    /// Trains (resuming from the job's checkpoint when there is one), saves the adapter and measures it.
    /// Cancelling stops after the current step with a checkpoint: the job can resume later.
    pub fn execute(
        &self,
        progress: &mut dyn FnMut(&DistillProgress),
        cancel: &CancelToken,
    ) -> Result<Option<DistillOutcome>> {
        let mut model = Model::load(&self.base, crate::models::load_options()?)?;
        let variant = self.params.variant;
        let tokenize =
            |split, form| training::tokenize_split(&model, &self.dataset, split, variant, form);
        // The loss of the line as chats ask for it, whatever else the recipe trains on.
        let (mut validation, _) = tokenize(Split::Validation, training::Form::Answer)?;
        validation.truncate(VALIDATION_EXAMPLES);
        let (items, truncated) = match self.params.stage {
            Stage::Sft => {
                let (train, truncated) = tokenize(Split::Train, training::Form::Training)?;
                (Items::Supervised(train), truncated)
            }
            Stage::Dpo => (Items::Preferences(self.preference_pairs(&model)?), 0),
        };
        if items.len() == 0 || validation.is_empty() {
            return Err(Error::Distill(
                "the dataset has no training or no validation examples".into(),
            ));
        }
        let mut config = train_config(&self.params, items.len());
        let sft_adapter = match &self.sft_adapter {
            Some(dir) => {
                let adapter = kotodama_engine::Adapter::load(dir, model.decoder().device())?;
                config.rank = adapter.config.r;
                config.alpha = adapter.config.lora_alpha;
                config.targets = adapter.config.target_modules.clone();
                config.learning_rate *= DPO_LEARNING_RATE_SHARE;
                Some(adapter)
            }
            None => None,
        };
        // The estimate is of the device's memory; the check knows the CPU's only (a GPU that runs out
        // fails the step with the driver's out-of-memory error).
        if model.info().device.kind == DeviceKind::Cpu {
            check_memory(
                kotodama_engine::train::memory_estimate_bytes(
                    model.decoder(),
                    &config,
                    MAX_SEQ_LEN,
                ),
                available_memory_bytes(),
            )?;
        }
        let checkpoint = self.dir.join("checkpoint");
        let decoder = model.decoder().clone();
        let mut trainer = if checkpoint.join("checkpoint.json").exists() {
            LoraTrainer::resume(decoder, &checkpoint, items.len())?
        } else {
            match &sft_adapter {
                Some(adapter) => {
                    LoraTrainer::from_adapter(decoder, adapter, config.clone(), items.len())?
                }
                None => LoraTrainer::new(decoder, config.clone(), items.len())?,
            }
        };
        let items = match items {
            Items::Preferences(pairs) => {
                Items::Preferences(self.with_reference(&trainer, pairs, progress)?)
            }
            supervised => supervised,
        };
        let mut report_losses = self.read_losses()?;
        // Time and tokens of the stretches before a resume, so the report counts the whole run.
        let before = self.read_tally();
        report_losses.truncate(trainer.state().step);
        progress(&DistillProgress::counting("evaluating", 0, 1));
        let validation_loss_base = self.base_validation_loss(&trainer, &model, &validation)?;

        let started = Instant::now();
        let (mut tokens, steps_at_start) = (0usize, trainer.state().step);
        while !trainer.is_done() {
            if cancel.is_cancelled() {
                self.checkpoint(
                    &trainer,
                    &checkpoint,
                    &report_losses,
                    before.plus(started.elapsed().as_secs_f64(), tokens),
                )?;
                return Ok(None);
            }
            let step = match &items {
                Items::Supervised(examples) => trainer.step(examples)?,
                Items::Preferences(pairs) => trainer.step_preferences(pairs, DPO_BETA)?,
            };
            tokens += step.tokens;
            report_losses.push(step.loss);
            let elapsed = started.elapsed().as_secs_f64();
            let done_here = trainer.state().step - steps_at_start;
            let remaining = config.total_steps - trainer.state().step;
            progress(&DistillProgress {
                phase: "training",
                done: trainer.state().step,
                total: config.total_steps,
                loss: Some(step.loss),
                tokens_per_second: Some(tokens as f64 / elapsed.max(1e-9)),
                eta_seconds: Some(elapsed / done_here as f64 * remaining as f64),
            });
            if trainer.state().step % CHECKPOINT_EVERY == 0 {
                self.checkpoint(
                    &trainer,
                    &checkpoint,
                    &report_losses,
                    before.plus(started.elapsed().as_secs_f64(), tokens),
                )?;
            }
        }
        let whole = before.plus(started.elapsed().as_secs_f64(), tokens);
        let train_seconds = whole.seconds;
        progress(&DistillProgress::counting("evaluating", 0, 1));
        let validation_loss_adapter = trainer.evaluate(&validation)?;
        progress(&DistillProgress::counting("saving", 0, 1));
        let adapter = trainer.adapter(Some(model.info().name.clone()))?;
        crate::fsutil::write_dir_atomically(&self.adapter_dir, |dir| Ok(adapter.save(dir)?))?;
        let (evaluation, verdict) = self.evaluate(&mut model, progress)?;
        let info = model.info();
        let report = DistillReport {
            evaluation,
            verdict: Some(verdict),
            base_model: info.name.clone(),
            variant,
            stage: self.params.stage,
            config: trainer.state().config.clone(),
            dataset: self.dataset.report.clone(),
            train_examples: items.len(),
            truncated_examples: truncated,
            validation_loss_base,
            validation_loss_adapter,
            losses: report_losses,
            train_seconds,
            tokens_per_second: whole.tokens as f64 / train_seconds.max(1e-9),
        };
        crate::fsutil::write_atomically(
            &self.adapter_dir.join("kotodama_report.json"),
            &serde_json::to_vec_pretty(&report)
                .map_err(|e| Error::Distill(format!("report: {e}")))?,
        )?;
        Ok(Some(DistillOutcome {
            adapter_dir: self.adapter_dir.clone(),
            model: model_record(&model, &self.base),
            report,
        }))
    }

    /// Validation loss of the base model, kept in the job folder: before the first step the LoRA B
    /// matrices are zero, so the trainer computes exactly the base model's loss.
    fn base_validation_loss(
        &self,
        trainer: &LoraTrainer,
        model: &Model,
        validation: &[TrainExample],
    ) -> Result<f64> {
        let path = self.dir.join("validation_loss_base.json");
        if let Ok(bytes) = std::fs::read(&path) {
            if let Ok(loss) = serde_json::from_slice(&bytes) {
                return Ok(loss);
            }
        }
        // Before the first step of a supervised run the LoRA B matrices are zero: the trainer is the base
        // model. A DPO run starts from its SFT adapter, so it measures the base model afresh.
        let loss = if trainer.state().step == 0 && self.sft_adapter.is_none() {
            trainer.evaluate(validation)?
        } else {
            let fresh =
                LoraTrainer::new(model.decoder().clone(), train_config(&self.params, 1), 1)?;
            fresh.evaluate(validation)?
        };
        crate::fsutil::write_atomically(
            &path,
            &serde_json::to_vec(&loss).map_err(|e| Error::Distill(e.to_string()))?,
        )?;
        Ok(loss)
    }

    /// The base model and the new adapter on validation examples, and the verdict.
    fn evaluate(
        &self,
        model: &mut Model,
        progress: &mut dyn FnMut(&DistillProgress),
    ) -> Result<(Vec<eval::SystemScores>, Verdict)> {
        let embedder = self
            .embedder_dir
            .as_ref()
            .and_then(|d| kotodama_engine::Embedder::load(d).ok());
        let ctx = eval::EvalContext {
            persona_slug: &self.slug,
            dataset: &self.dataset,
            profile: &self.profile,
            profiles: &self.profiles,
            res: crate::analysis::style_resources()?,
            embedder: embedder.as_ref(),
        };
        against_base(
            &ctx,
            model,
            &self.persona_prompt,
            (&self.adapter_dir, self.params.variant.as_str()),
            progress,
        )
    }

    fn losses_path(&self) -> PathBuf {
        self.dir.join("checkpoint").join("losses.json")
    }

    fn tally_path(&self) -> PathBuf {
        self.dir.join("checkpoint").join("tally.json")
    }

    /// The losses of the steps a checkpoint covers (a resumed run continues the curve).
    fn read_losses(&self) -> Result<Vec<f64>> {
        match std::fs::read(self.losses_path()) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| Error::Distill(format!("{}: {e}", self.losses_path().display()))),
            Err(_) => Ok(Vec::new()),
        }
    }

    /// Training time and tokens up to the checkpoint (none before a first run).
    fn read_tally(&self) -> Tally {
        std::fs::read(self.tally_path())
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Saves the trainer's state with the loss curve and the time and tokens so far. The curve goes
    /// first: a crash between the two leaves it longer than the (older) checkpoint, and a resume cuts
    /// it to the checkpoint's step; the other order would lose the steps in between from the report.
    fn checkpoint(
        &self,
        trainer: &LoraTrainer,
        dir: &Path,
        losses: &[f64],
        tally: Tally,
    ) -> Result<()> {
        self.write_progress(losses, tally)?;
        Ok(trainer.save_checkpoint(dir)?)
    }

    /// What a checkpoint keeps besides the trainer's state: the loss curve and the time and tokens
    /// so far.
    fn write_progress(&self, losses: &[f64], tally: Tally) -> Result<()> {
        for (path, json) in [
            (self.losses_path(), serde_json::to_vec(losses)),
            (self.tally_path(), serde_json::to_vec(&tally)),
        ] {
            let json = json.map_err(|e| Error::Distill(e.to_string()))?;
            crate::fsutil::write_atomically(&path, &json)?;
        }
        Ok(())
    }
}

/// Training time and tokens of a run, across its resumes.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct Tally {
    seconds: f64,
    tokens: usize,
}

impl Tally {
    fn plus(self, seconds: f64, tokens: usize) -> Tally {
        Tally {
            seconds: self.seconds + seconds,
            tokens: self.tokens + tokens,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adapter_folders_nothing_can_register_are_swept_at_open_and_the_rest_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut app = Kotodama::open(crate::Home::at(dir.path())).unwrap();
        let persona = app.find_persona("tsubaki").unwrap().id;
        let job = |app: &mut Kotodama| {
            app.enqueue_distill(persona, &DistillParams::default())
                .unwrap()
                .id
        };
        let (finished, unfinished) = (job(&mut app), job(&mut app));
        app.set_job_state(finished, JobState::Failed, Some("crashed after saving"))
            .unwrap();
        let root = app.home().adapters_dir();
        let folder = |name: &str, age_secs: u64| {
            let path = root.join(name);
            std::fs::create_dir_all(&path).unwrap();
            std::fs::write(path.join("adapter_config.json"), "{}").unwrap();
            let when = std::time::SystemTime::now() - std::time::Duration::from_secs(age_secs);
            std::fs::File::open(&path)
                .unwrap()
                .set_modified(when)
                .unwrap();
            path
        };
        let old = 3600;
        let registered = folder(&format!("tsubaki-job{finished}-registered"), old);
        app.store
            .insert_adapter(&NewAdapter {
                persona_id: persona,
                model_id: None,
                path: registered.display().to_string(),
                variant: "vanilla".into(),
                rank: 8,
                alpha: 16.0,
                report: None,
            })
            .unwrap();
        let orphan = folder(&format!("tsubaki-job{finished}"), old);
        let half_written = folder(&format!("tsubaki-job{finished}.partial"), old);
        let resumable = folder(&format!("tsubaki-job{unfinished}"), old);
        let just_imported = folder("tsubaki-imported-1", 5);
        let stale_import = folder("tsubaki-imported-0", old);
        drop(app);

        let _app = Kotodama::open(crate::Home::at(dir.path())).unwrap();
        for (path, kept) in [
            (&registered, true),
            (&orphan, false),
            (&half_written, false),
            (&resumable, true),
            (&just_imported, true),
            (&stale_import, false),
        ] {
            assert_eq!(path.exists(), kept, "{}", path.display());
        }
    }

    #[test]
    fn a_run_that_does_not_fit_in_memory_is_refused_with_the_numbers() {
        let err = check_memory(6 << 30, Some(2 << 30)).unwrap_err();
        assert_eq!(err.code(), "DISTILL_FAILED");
        assert!(
            err.to_string().contains("6.0 GB") && err.to_string().contains("2.0 GB"),
            "{err}"
        );
        assert!(check_memory(1 << 30, Some(2 << 30)).is_ok());
        assert!(check_memory(1 << 40, None).is_ok(), "unknown: not refused");
        assert!(
            available_memory_bytes().is_some_and(|b| b > 0),
            "this Linux machine reports it"
        );
    }

    #[test]
    fn presets_differ_in_rank_projections_and_steps() {
        let quick = train_config(&DistillParams::default(), 300);
        assert_eq!(
            (quick.rank, quick.targets.len(), quick.total_steps),
            (8, 4, 60)
        );
        let full = train_config(
            &DistillParams {
                preset: Preset::Full,
                ..Default::default()
            },
            300,
        );
        assert_eq!(
            (full.rank, full.targets.len(), full.total_steps),
            (16, 7, 113)
        );
        let fixed = train_config(
            &DistillParams {
                steps: Some(3),
                ..Default::default()
            },
            300,
        );
        assert_eq!((fixed.total_steps, fixed.warmup_steps), (3, 1));
    }
}
