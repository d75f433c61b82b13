//! Distillation jobs: one path runs a job for every front end (the window's background worker and
//! the CLI's `distil` / `jobs resume` in the foreground). Its progress is stored every training step
//! and every few seconds otherwise, which renews this process's lease on the job and picks up a
//! cancel sent from another process. The window's worker runs one job at a time; jobs an earlier run
//! left interrupted or queued resume at the next start.

use std::sync::Arc;
use std::time::Instant;

use kotodama_engine::CancelToken;
use kotodama_store::JobState;
use serde::Serialize;

use super::{poisoned, Runtime};
use crate::distill::{DatasetReport, DistillParams, DistillProgress, DistillReport, JOB_KIND};
use crate::{Error, Result};

/// What a running job reports.
pub enum JobEvent<'a> {
    /// The training data is built: what it holds and what was dropped.
    Dataset(&'a DatasetReport),
    Progress(&'a DistillProgress),
}

/// How a job ended.
pub enum JobOutcome {
    /// The adapter is registered.
    Finished {
        adapter_id: i64,
        report: Box<DistillReport>,
    },
    /// Stopped; its checkpoint is kept for a resume.
    Cancelled,
}

/// Where the worker's job is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum WorkerState {
    #[default]
    Running,
    /// Asked to stop: the job stops at its next step (its checkpoint is kept).
    Cancelling,
    Done,
    Cancelled,
    Failed,
}

/// The job the worker is running, as the persona page shows it.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct DistillStatus {
    pub job_id: i64,
    pub persona_id: i64,
    pub phase: String,
    pub done: usize,
    pub total: usize,
    pub loss: Option<f64>,
    pub tokens_per_second: Option<f64>,
    pub eta_seconds: Option<f64>,
    /// Loss of every training step so far, for the chart.
    pub losses: Vec<f64>,
    pub state: WorkerState,
    pub error: Option<String>,
    #[serde(skip)]
    cancel: CancelToken,
}

/// How often progress is stored outside training steps (each step is stored).
const STORE_EVERY_SECS: u64 = 5;

impl Runtime {
    /// Runs distillation job `job_id` on this thread until it finishes, fails or is cancelled (by
    /// `cancel` or by the job's state set to cancelled elsewhere). A failure is stored in the job,
    /// unless another process holds it (JOB_RUNNING): its state is that process's to keep.
    pub fn run_distill_job(
        &self,
        job_id: i64,
        on_event: &mut dyn FnMut(JobEvent<'_>),
        cancel: &CancelToken,
    ) -> Result<JobOutcome> {
        let prepared =
            self.core(|k| k.prepare_distill(job_id, &mut |p| on_event(JobEvent::Progress(p))));
        let run = prepared.map_err(|e| self.fail_job(job_id, e))?;
        on_event(JobEvent::Dataset(&run.dataset().report));
        let mut stored_at = Instant::now();
        let outcome = run.execute(
            &mut |p| {
                on_event(JobEvent::Progress(p));
                if p.phase == "training" || stored_at.elapsed().as_secs() >= STORE_EVERY_SECS {
                    stored_at = Instant::now();
                    let cancelled_elsewhere = self.core(|k| {
                        k.set_job_progress(job_id, p)?;
                        Ok(k.job(job_id)?.state == JobState::Cancelled)
                    });
                    if cancelled_elsewhere.unwrap_or(false) {
                        cancel.cancel();
                    }
                }
            },
            cancel,
        );
        match outcome.map_err(|e| self.fail_job(job_id, e))? {
            Some(outcome) => {
                let report = Box::new(outcome.report.clone());
                let adapter_id = self.core(|k| k.finish_distill(&run, outcome))?;
                Ok(JobOutcome::Finished { adapter_id, report })
            }
            None => {
                self.core(|k| k.set_job_state(job_id, JobState::Cancelled, None))?;
                Ok(JobOutcome::Cancelled)
            }
        }
    }

    fn fail_job(&self, job_id: i64, e: Error) -> Error {
        if e.code() != "JOB_RUNNING" {
            let stored =
                self.core(|k| k.set_job_state(job_id, JobState::Failed, Some(&e.to_string())));
            if let Err(why) = stored {
                tracing::warn!("job {job_id} failed ({e}) and that could not be stored: {why}");
            }
        }
        e
    }

    /// Queues a distillation of the persona and starts the worker on it (one at a time).
    pub fn start_distill(self: &Arc<Self>, persona_id: i64, params: &DistillParams) -> Result<i64> {
        let busy = self
            .distill
            .lock()
            .map_err(poisoned("the distillation status"))?
            .as_ref()
            .is_some_and(DistillStatus::is_active);
        if busy {
            return Err(Error::Busy(
                "a distillation is already running: one at a time".into(),
            ));
        }
        let job = self.core(|k| k.enqueue_distill(persona_id, params))?;
        self.spawn_worker(job.id, persona_id)?;
        Ok(job.id)
    }

    /// The worker's job, if it is (or was last) the persona's.
    pub fn distill_status(&self, persona_id: i64) -> Result<Option<DistillStatus>> {
        let status = self
            .distill
            .lock()
            .map_err(poisoned("the distillation status"))?;
        Ok(status.clone().filter(|s| s.persona_id == persona_id))
    }

    /// Cancels the worker's job if it is `job_id`; its checkpoint is kept.
    pub fn cancel_distill(&self, job_id: i64) -> Result<bool> {
        let mut status = self
            .distill
            .lock()
            .map_err(poisoned("the distillation status"))?;
        Ok(match status.as_mut() {
            Some(s) if s.job_id == job_id && s.is_active() => {
                s.cancel.cancel();
                // Shown at once: the job itself stops at its next step.
                s.state = WorkerState::Cancelling;
                true
            }
            _ => false,
        })
    }

    /// The worker's job while it runs (for the indicator shown everywhere in the app).
    pub fn running_job(&self) -> Option<DistillStatus> {
        let status = self.distill.lock().ok()?;
        status.clone().filter(DistillStatus::is_active)
    }

    /// Resumes the persona's stopped job (cancelled, or interrupted by a crash) from its checkpoint.
    pub fn resume_distill(self: &Arc<Self>, job_id: i64) -> Result<()> {
        if self.running_job().is_some() {
            return Err(Error::Busy(
                "a distillation is already running: one at a time".into(),
            ));
        }
        let job = self.core(|k| k.job(job_id))?;
        if job.kind != JOB_KIND || !matches!(job.state, JobState::Cancelled | JobState::Interrupted)
        {
            return Err(Error::InvalidInput(format!(
                "job {job_id} is {}: only a stopped distillation resumes",
                job.state.as_str()
            )));
        }
        self.spawn_worker(job.id, job.persona_id.unwrap_or(0))
    }

    /// Resumes the job an earlier run (or a CLI that died) left interrupted, or queued.
    pub fn resume_interrupted(self: &Arc<Self>) {
        let Ok(jobs) = self.core(|k| k.jobs(&[JobState::Interrupted, JobState::Queued])) else {
            return;
        };
        if let Some(job) = jobs.into_iter().find(|j| j.kind == JOB_KIND) {
            if let Err(e) = self.spawn_worker(job.id, job.persona_id.unwrap_or(0)) {
                tracing::warn!("job {} could not resume: {e}", job.id);
            }
        }
    }

    fn spawn_worker(self: &Arc<Self>, job_id: i64, persona_id: i64) -> Result<()> {
        let cancel = CancelToken::new();
        *self
            .distill
            .lock()
            .map_err(poisoned("the distillation status"))? = Some(DistillStatus {
            job_id,
            persona_id,
            phase: "dataset".into(),
            cancel: cancel.clone(),
            ..Default::default()
        });
        let rt = Arc::clone(self);
        std::thread::spawn(move || {
            let outcome = rt.run_distill_job(
                job_id,
                &mut |event| {
                    if let JobEvent::Progress(p) = event {
                        rt.update_status(job_id, |s| s.show(p));
                    }
                },
                &cancel,
            );
            release_freed_memory();
            rt.update_status(job_id, |s| match outcome {
                Ok(JobOutcome::Finished { .. }) => s.state = WorkerState::Done,
                Ok(JobOutcome::Cancelled) => s.state = WorkerState::Cancelled,
                Err(e) => {
                    s.state = WorkerState::Failed;
                    s.error = Some(format!("{e} ({})", e.code()));
                }
            });
        });
        Ok(())
    }

    fn update_status(&self, job_id: i64, change: impl FnOnce(&mut DistillStatus)) {
        if let Ok(mut status) = self.distill.lock() {
            if let Some(s) = status.as_mut().filter(|s| s.job_id == job_id) {
                change(s);
            }
        }
    }
}

/// Hands the memory a finished job freed back to the system. The job's model and trainer were
/// allocated on the worker thread, whose malloc arena glibc keeps (at its peak size) after the thread
/// is done; without this the app stays gigabytes larger for the rest of the session.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it takes no pointers from us.
    unsafe {
        libc::malloc_trim(0);
    }
}

impl DistillStatus {
    fn is_active(&self) -> bool {
        matches!(self.state, WorkerState::Running | WorkerState::Cancelling)
    }

    fn show(&mut self, p: &DistillProgress) {
        self.phase = p.phase.into();
        self.done = p.done;
        self.total = p.total;
        if p.phase == "training" {
            self.loss = p.loss;
            self.tokens_per_second = p.tokens_per_second;
            self.eta_seconds = p.eta_seconds;
            self.losses.extend(p.loss);
        }
    }
}
