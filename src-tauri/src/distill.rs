//! "Distil" from the persona page: one training job at a time runs on a background thread; the page
//! polls its status (phase, step, loss curve, speed, ETA) and can cancel it. Jobs left running when the
//! app was closed or killed resume from their checkpoint at the next start.

use kotodama::distill::{DistillParams, DistillProgress};
use kotodama::models::engine::CancelToken;
use kotodama::store::JobState;
use serde::Serialize;
use tauri::{AppHandle, Manager, State};

use crate::commands::{with_core, CommandError};
use crate::AppState;

/// The job the worker is running, as the persona page shows it.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DistillStatus {
    job_id: i64,
    persona_id: i64,
    phase: String,
    done: usize,
    total: usize,
    loss: Option<f64>,
    tokens_per_second: Option<f64>,
    eta_seconds: Option<f64>,
    /// Loss of every training step so far, for the chart.
    losses: Vec<f64>,
    /// `running`, `done`, `cancelled` or `failed`.
    state: String,
    error: Option<String>,
    #[serde(skip)]
    cancel: CancelToken,
}

fn lock_err() -> CommandError {
    CommandError::internal("the distillation status")
}

/// Queues a distill job for the persona and starts the worker on it.
#[tauri::command]
pub fn start_distill(
    app: AppHandle,
    state: State<'_, AppState>,
    persona_id: i64,
    steps: Option<usize>,
) -> Result<i64, CommandError> {
    if state
        .distill
        .lock()
        .map_err(|_| lock_err())?
        .as_ref()
        .is_some_and(|s| s.state == "running")
    {
        return Err(CommandError {
            code: "JOB_RUNNING".into(),
            message: "a distillation is already running: one at a time".into(),
        });
    }
    let params = DistillParams {
        steps,
        ..Default::default()
    };
    let job = with_core(&state, |k| k.enqueue_distill(persona_id, &params))?;
    spawn_worker(app, job.id, persona_id)?;
    Ok(job.id)
}

#[tauri::command]
pub fn distill_status(
    state: State<'_, AppState>,
    persona_id: i64,
) -> Result<Option<DistillStatus>, CommandError> {
    let status = state.distill.lock().map_err(|_| lock_err())?;
    Ok(status.clone().filter(|s| s.persona_id == persona_id))
}

#[tauri::command]
pub fn cancel_distill(state: State<'_, AppState>, job_id: i64) -> Result<bool, CommandError> {
    let status = state.distill.lock().map_err(|_| lock_err())?;
    Ok(match status.as_ref() {
        Some(s) if s.job_id == job_id => {
            s.cancel.cancel();
            true
        }
        _ => false,
    })
}

/// Resumes the jobs an earlier run of the app (or a CLI that died) left interrupted, or queued (one
/// after the other, in the background).
pub fn resume_interrupted(app: &AppHandle) {
    let state = app.state::<AppState>();
    let Ok(jobs) = with_core(&state, |k| {
        k.jobs(&[JobState::Interrupted, JobState::Queued])
    }) else {
        return;
    };
    if let Some(job) = jobs
        .into_iter()
        .find(|j| j.kind == kotodama::distill::JOB_KIND)
    {
        let persona = job.persona_id.unwrap_or(0);
        if let Err(e) = spawn_worker(app.clone(), job.id, persona) {
            eprintln!("kotodama: job {} could not resume: {}", job.id, e.message);
        }
    }
}

fn spawn_worker(app: AppHandle, job_id: i64, persona_id: i64) -> Result<(), CommandError> {
    let cancel = CancelToken::new();
    *app.state::<AppState>()
        .distill
        .lock()
        .map_err(|_| lock_err())? = Some(DistillStatus {
        job_id,
        persona_id,
        phase: "dataset".into(),
        state: "running".into(),
        cancel: cancel.clone(),
        ..Default::default()
    });
    std::thread::spawn(move || {
        let state = app.state::<AppState>();
        let (final_state, error) = match run(&state, job_id, &cancel) {
            Ok(true) => ("done", None),
            Ok(false) => ("cancelled", None),
            Err(e) => {
                // A job another process runs stays that process's to finish.
                if e.code != "JOB_RUNNING" {
                    let _ = with_core(&state, |k| {
                        k.set_job_state(job_id, JobState::Failed, Some(&e.message))
                    });
                }
                ("failed", Some(format!("{} ({})", e.message, e.code)))
            }
        };
        if let Ok(mut s) = state.distill.lock() {
            if let Some(s) = s.as_mut().filter(|s| s.job_id == job_id) {
                s.state = final_state.into();
                s.error = error;
            }
        };
    });
    Ok(())
}

/// Runs the job; Ok(false) when it was cancelled (its checkpoint kept).
fn run(state: &AppState, job_id: i64, cancel: &CancelToken) -> Result<bool, CommandError> {
    let update = |p: &DistillProgress| {
        if let Ok(mut s) = state.distill.lock() {
            if let Some(s) = s.as_mut().filter(|s| s.job_id == job_id) {
                s.phase = p.phase.into();
                s.done = p.done;
                s.total = p.total;
                if p.phase == "training" {
                    s.loss = p.loss;
                    s.tokens_per_second = p.tokens_per_second;
                    s.eta_seconds = p.eta_seconds;
                    s.losses.extend(p.loss);
                }
            }
        }
    };
    let run = with_core(state, |k| k.prepare_distill(job_id, &mut |p| update(p)))?;
    // Stored every step and every few seconds otherwise, which keeps this process's lease on the job.
    let mut stored_at = std::time::Instant::now();
    let outcome = run
        .execute(
            &mut |p| {
                update(p);
                if p.phase == "training" || stored_at.elapsed().as_secs() >= 5 {
                    stored_at = std::time::Instant::now();
                    let _ = with_core(state, |k| k.set_job_progress(job_id, p));
                }
            },
            cancel,
        )
        .map_err(|e| CommandError::from(&e))?;
    match outcome {
        Some(outcome) => {
            with_core(state, |k| k.finish_distill(&run, outcome))?;
            Ok(true)
        }
        None => {
            with_core(state, |k| {
                k.set_job_state(job_id, JobState::Cancelled, None)
            })?;
            Ok(false)
        }
    }
}
