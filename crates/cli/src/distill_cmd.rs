//! `kotodama distill`, `kotodama jobs ...` and `kotodama dataset export`: the distillation job in the
//! foreground with a progress bar, and the job list.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use kotodama::distill::{DistillParams, DistillProgress, Preset, Stage, TeacherSpec, Variant};
use kotodama::runtime::{JobEvent, JobOutcome};
use kotodama::CancelToken;
use kotodama::JobState;
use kotodama::{Kotodama, Runtime};

use crate::open_runtime;

#[derive(Subcommand)]
pub enum DistillCommand {
    /// Distil a persona into a LoRA adapter on the student model (runs the job here, with progress).
    Distill(DistillArgs),
    /// Background jobs: list, cancel, resume.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Compare the base model and the persona's adapters on its held-out test lines.
    Eval {
        persona: String,
        /// Only these adapters (default: all of the persona's).
        #[arg(long = "adapter")]
        adapters: Vec<i64>,
        /// Test examples of each task (respond, rewrite) per system, with distinct inputs.
        #[arg(long, default_value_t = 100)]
        examples: usize,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Distillation datasets.
    Dataset {
        #[command(subcommand)]
        command: DatasetCommand,
    },
    /// LoRA adapters: bring in one trained elsewhere (PEFT layout).
    Adapters {
        #[command(subcommand)]
        command: AdaptersCommand,
    },
}

#[derive(Subcommand)]
pub enum AdaptersCommand {
    /// Import a PEFT adapter folder (adapter_config.json + adapter_model.safetensors) for a persona;
    /// it is compared with the base model on the persona's validation lines, as a distilled one is.
    Import {
        dir: PathBuf,
        /// Persona id or slug.
        #[arg(long)]
        persona: String,
        /// The model it was trained on: GGUF / safetensors path or installed id (default: the
        /// default chat model).
        #[arg(long)]
        base: Option<String>,
        /// How it was trained: vanilla, or step-by-step / plan-dropout (it then answers after an
        /// empty reasoning block).
        #[arg(long, default_value = "vanilla")]
        variant: Variant,
        /// Skip the comparison (chats then use it only when chosen).
        #[arg(long)]
        no_measure: bool,
    },
}

#[derive(Args)]
pub struct DistillArgs {
    /// Persona id or slug.
    persona: String,
    #[arg(long, default_value = "quick")]
    preset: Preset,
    /// rules | local:PATH.gguf | openai:URL#MODEL (key from OPENAI_API_KEY).
    #[arg(long, default_value = "rules")]
    teacher: String,
    /// Student model: GGUF / safetensors path or installed id (default: the default chat model).
    #[arg(long)]
    base: Option<String>,
    /// vanilla (line only), step-by-step (plan task + answer task, Distilling step-by-step) or
    /// plan-dropout (plan before the line in half the examples); see `kotodama eval`.
    #[arg(long, default_value = "vanilla")]
    variant: Variant,
    /// Optimizer steps (overrides the preset).
    #[arg(long)]
    steps: Option<usize>,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// sft (train on the lines) or dpo (prefer each line over its neutral version, starting from an
    /// SFT adapter: --from-adapter, or the persona's newest).
    #[arg(long, default_value = "sft")]
    stage: Stage,
    #[arg(long)]
    from_adapter: Option<i64>,
}

#[derive(Subcommand)]
pub enum JobsCommand {
    List,
    /// Cancel a job; a running one stops at its next step and keeps its checkpoint.
    Cancel {
        id: i64,
    },
    /// Resume an interrupted, failed or cancelled job from its last checkpoint.
    Resume {
        id: i64,
    },
}

#[derive(Subcommand)]
pub enum TrainBench {
    /// LoRA training throughput on a persona's distillation examples (each used once).
    Train(BenchTrainArgs),
}

#[derive(Args)]
pub struct BenchTrainArgs {
    /// Persona id or slug.
    persona: String,
    #[arg(long, default_value = "quick")]
    preset: Preset,
    /// Student model: GGUF / safetensors path or installed id (default: the default chat model).
    #[arg(long)]
    base: Option<String>,
    #[arg(long, default_value = "vanilla")]
    variant: Variant,
    #[arg(long, default_value_t = 4)]
    steps: usize,
    /// CPU threads (0 = all).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Also write the examples and settings for the PyTorch + PEFT reference run.
    #[arg(long)]
    reference_out: Option<PathBuf>,
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[derive(Subcommand)]
pub enum DatasetCommand {
    /// Write a persona's distillation dataset into a folder: `<slug>-<variant>.jsonl` (one
    /// conversation per line in the OpenAI chat format, which TRL reads, with `split`, `task` and the
    /// loss `weight`) and LLaMA-Factory's `dataset_info.json` describing it.
    Export {
        persona: String,
        #[arg(short, long)]
        output: PathBuf,
        #[arg(long, default_value = "vanilla")]
        variant: Variant,
        #[arg(long, default_value = "rules")]
        teacher: String,
    },
}

/// Training's large elementwise ops (activations, attention scores, logits) otherwise run on candle's
/// spin-barrier pool, whose waiting doubled the step time here: 8.5 vs 17.3 sequence tokens/s on two
/// cores (`kotodama bench train mikoto --steps 1`, with and without it). Its pool is sized once per
/// process, so this runs before any model loads; the matmuls keep every core through rayon. The
/// user's own setting wins.
fn training_thread_policy() {
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
}

fn print_verdict(v: &kotodama::distill::Verdict) {
    println!(
        "{} on the validation lines (valid style {:.3} vs base {:.3}, difference {:+.3} [{:+.3}, {:+.3}]){}",
        if v.beats_base { "beats the base model" } else { "does not beat the base model" },
        v.adapter_valid_style,
        v.base_valid_style,
        v.difference.mean,
        v.difference.low,
        v.difference.high,
        if v.beats_base { "" } else { ": chats keep the base model unless you choose this adapter" }
    );
}

pub fn run(cmd: DistillCommand) -> Result<()> {
    if matches!(
        cmd,
        DistillCommand::Distill(_)
            | DistillCommand::Jobs {
                command: JobsCommand::Resume { .. }
            }
    ) {
        training_thread_policy();
    }
    let rt = open_runtime()?;
    if let DistillCommand::Jobs {
        command: JobsCommand::Resume { id },
    } = cmd
    {
        if rt.core(|k| k.job(id))?.state == JobState::Done {
            bail!("job {id} is already done");
        }
        return run_job(&rt, id);
    }
    let mut core = rt.lock_core()?;
    match cmd {
        DistillCommand::Distill(args) => {
            let persona = core.find_persona(&args.persona)?;
            let params = DistillParams {
                preset: args.preset,
                teacher: TeacherSpec::parse(&args.teacher)?,
                base: args.base,
                variant: args.variant,
                steps: args.steps,
                seed: args.seed,
                stage: args.stage,
                from_adapter: args.from_adapter,
            };
            let job = core.enqueue_distill(persona.id, &params)?;
            eprintln!("job {} queued: distil {}", job.id, persona.card.name);
            drop(core);
            run_job(&rt, job.id)
        }
        DistillCommand::Jobs { command } => jobs(&mut core, command),
        DistillCommand::Adapters {
            command:
                AdaptersCommand::Import {
                    dir,
                    persona,
                    base,
                    variant,
                    no_measure,
                },
        } => {
            let persona = core.find_persona(&persona)?;
            let bar = ProgressBar::new_spinner();
            let id = core.import_adapter(
                persona.id,
                &dir,
                base.as_deref(),
                variant,
                !no_measure,
                &mut |p| bar.set_message(format!("{} {}/{}", p.phase, p.done, p.total)),
            )?;
            bar.finish_and_clear();
            let adapter = core
                .adapters(persona.id)?
                .into_iter()
                .find(|a| a.id == id)
                .expect("just registered");
            println!(
                "adapter {id} for {}: {}",
                persona.card.slug, adapter.adapter.path
            );
            match kotodama::distill::Verdict::of_adapter(&adapter) {
                Some(v) => print_verdict(&v),
                None => println!("not compared with the base model: chats use it only when chosen"),
            }
            Ok(())
        }
        DistillCommand::Eval {
            persona,
            adapters,
            examples,
            json,
        } => {
            let persona = core.find_persona(&persona)?;
            let scores = core.evaluate_persona(persona.id, &adapters, examples)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&scores)?);
            } else {
                print!("{}", kotodama::distill::eval::markdown(&scores));
            }
            Ok(())
        }
        DistillCommand::Dataset {
            command:
                DatasetCommand::Export {
                    persona,
                    output,
                    variant,
                    teacher,
                },
        } => {
            let persona = core.find_persona(&persona)?;
            let data =
                core.distill_dataset(persona.id, &TeacherSpec::parse(&teacher)?, &mut |_, _| {})?;
            let files = kotodama::distill::export::write_dataset(
                &data,
                &persona.card.slug,
                variant,
                &output,
            )?;
            println!(
                "{} examples ({} respond, {} rewrite) -> {}",
                data.examples.len(),
                data.report.respond,
                data.report.rewrite,
                files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            eprintln!("{}", serde_json::to_string_pretty(&data.report)?);
            Ok(())
        }
    }
}

pub fn run_bench(cmd: TrainBench) -> Result<()> {
    let TrainBench::Train(args) = cmd;
    training_thread_policy();
    if args.threads > 0 {
        // candle's f32 matmuls size their parallelism from rayon's variable, read at each call.
        std::env::set_var("RAYON_NUM_THREADS", args.threads.to_string());
    }
    let rt = open_runtime()?;
    let core = rt.lock_core()?;
    let persona = core.find_persona(&args.persona)?;
    let params = DistillParams {
        preset: args.preset,
        base: args.base,
        variant: args.variant,
        seed: args.seed,
        ..Default::default()
    };
    let result = core.bench_training(
        persona.id,
        &params,
        args.steps,
        args.threads,
        args.reference_out.as_deref(),
    )?;
    println!("{}", serde_json::to_string(&result)?);
    Ok(())
}

fn jobs(core: &mut Kotodama, cmd: JobsCommand) -> Result<()> {
    match cmd {
        JobsCommand::List => {
            let all = core.jobs(&[
                JobState::Queued,
                JobState::Running,
                JobState::Interrupted,
                JobState::Cancelled,
                JobState::Failed,
                JobState::Done,
            ])?;
            if all.is_empty() {
                println!("no jobs");
            }
            for j in all {
                println!(
                    "{:>4}  {:<8} {:<10} {:<11} {:>5.1}%  persona {}{}",
                    j.id,
                    j.kind,
                    format!("{:?}", j.state).to_lowercase(),
                    j.phase,
                    100.0 * j.progress,
                    j.persona_id.unwrap_or(0),
                    j.error.map(|e| format!("  ({e})")).unwrap_or_default()
                );
            }
            Ok(())
        }
        JobsCommand::Cancel { id } => {
            core.set_job_state(id, JobState::Cancelled, None)?;
            println!("job {id} cancelled");
            Ok(())
        }
        JobsCommand::Resume { .. } => unreachable!("resumed through the runtime above"),
    }
}

/// Runs a distill job in this process with a progress bar; `jobs cancel` from another process stops
/// it at the next step.
fn run_job(rt: &Runtime, id: i64) -> Result<()> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {msg}")?
            .progress_chars("=> "),
    );
    let show = |bar: &ProgressBar, p: &DistillProgress| {
        bar.set_prefix(p.phase);
        bar.set_length(p.total as u64);
        bar.set_position(p.done as u64);
        if let (Some(loss), Some(tps), Some(eta)) = (p.loss, p.tokens_per_second, p.eta_seconds) {
            bar.set_message(format!("loss {loss:.3}  {tps:.0} tok/s  ETA {eta:.0} s"));
        }
    };
    let outcome = rt.run_distill_job(
        id,
        &mut |event| match event {
            JobEvent::Progress(p) => show(&bar, p),
            JobEvent::Dataset(r) => bar.println(format!(
                "dataset: {} respond + {} rewrite examples from {} lines (teacher {}; dropped: {} unchanged, {} not plainer, {} off-meaning, {} teacher errors)",
                r.respond, r.rewrite, r.lines, r.teacher, r.dropped_unchanged, r.dropped_not_plainer, r.dropped_low_similarity, r.dropped_teacher_error
            )),
        },
        &CancelToken::new(),
    );
    bar.finish_and_clear();
    match outcome? {
        JobOutcome::Finished { adapter_id, report } => {
            let slug = rt.core(|k| {
                let persona = k.job(id)?.persona_id.unwrap_or(0);
                Ok(k.persona(persona)?.card.slug)
            })?;
            println!(
                "adapter {adapter_id} for {slug}: validation loss {:.3} -> {:.3}, {} steps in {:.0} s ({:.0} tok/s)",
                report.validation_loss_base,
                report.validation_loss_adapter,
                report.losses.len(),
                report.train_seconds,
                report.tokens_per_second
            );
            print!("{}", kotodama::distill::eval::markdown(&report.evaluation));
            if let Some(v) = report.verdict {
                print_verdict(&v);
            }
        }
        JobOutcome::Cancelled => println!(
            "job {id} cancelled; `kotodama jobs resume {id}` continues from its checkpoint"
        ),
    }
    Ok(())
}
