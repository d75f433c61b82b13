use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::json_column;
use crate::{now_ms, Error, Result, Store};

/// Life cycle of a background job. `Running` jobs found at start-up were interrupted and resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum JobState {
    Queued,
    Running,
    /// Was running when its process died (or stopped renewing its lease): resumable.
    Interrupted,
    Cancelled,
    Failed,
    Done,
}

text_enum!(JobState, "jobs.state", {
    JobState::Queued => "queued",
    JobState::Running => "running",
    JobState::Interrupted => "interrupted",
    JobState::Cancelled => "cancelled",
    JobState::Failed => "failed",
    JobState::Done => "done",
});

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewJob {
    /// What the job does, e.g. `distill`.
    pub kind: String,
    pub persona_id: Option<i64>,
    pub params: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub persona_id: Option<i64>,
    pub state: JobState,
    pub phase: String,
    /// 0..=1
    pub progress: f64,
    pub params: serde_json::Value,
    pub checkpoint_path: Option<String>,
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str =
    "id, kind, persona_id, state, phase, progress, params_json, checkpoint_path, error, created_at, updated_at";

type RawJob = (Job, String, String);

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawJob> {
    let job = Job {
        id: r.get(0)?,
        kind: r.get(1)?,
        persona_id: r.get(2)?,
        state: JobState::Queued,
        phase: r.get(4)?,
        progress: r.get(5)?,
        params: serde_json::Value::Null,
        checkpoint_path: r.get(7)?,
        error: r.get(8)?,
        created_at: r.get(9)?,
        updated_at: r.get(10)?,
    };
    Ok((job, r.get(3)?, r.get(6)?))
}

fn finish((mut job, state, params): RawJob) -> Result<Job> {
    job.state = JobState::parse(&state)?;
    job.params = json_column("jobs.params_json", &params)?;
    Ok(job)
}

/// How long a lease lasts without renewal. Renewals come with stored progress (every training step,
/// and every few seconds in the other phases), so this only has to outlast the slowest stretch
/// without progress (loading a model, one step of a large model on a CPU); a holder that dies on
/// this machine is noticed at once by its process id.
pub const LEASE_MS: i64 = 10 * 60 * 1000;

/// This process's claim on the jobs it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobLease {
    /// Unique to the process (its id and start time), so that a reused process id holds nothing.
    pub owner: String,
    pub pid: u32,
}

impl JobLease {
    pub fn for_this_process() -> Self {
        let pid = std::process::id();
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Self {
            owner: format!("{pid}-{started}"),
            pid,
        }
    }
}

/// Keeps this process's lease on a running job alive from a thread of its own, over a connection of
/// its own: the job's work can spend many minutes in one phase without reporting progress (a model
/// teacher writing the dataset, DPO's reference pass), and the lease must not lapse while the process
/// lives, or another process would take the job over. Stops when dropped.
pub struct LeaseHeartbeat {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// How often the heartbeat renews: a tenth of the lease, so that a few missed beats (a busy disk)
/// still leave it held.
const HEARTBEAT: std::time::Duration = std::time::Duration::from_millis(LEASE_MS as u64 / 10);

impl LeaseHeartbeat {
    fn start(
        database: &std::path::Path,
        job_id: i64,
        lease: &JobLease,
        every: std::time::Duration,
    ) -> Result<LeaseHeartbeat> {
        let conn = rusqlite::Connection::open(database)?;
        conn.busy_timeout(crate::open::BUSY_TIMEOUT)?;
        let owner = lease.owner.clone();
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every)
            {
                let renewed = conn.execute(
                    "UPDATE jobs SET lease_until = ?3 WHERE id = ?1 AND lease_owner = ?2 AND state = 'running'",
                    params![job_id, owner, now_ms() + LEASE_MS],
                );
                match renewed {
                    Ok(1) => {}
                    // The job finished, failed or was cancelled: nothing left to hold.
                    Ok(_) => return,
                    Err(e) => tracing::warn!("job {job_id}: the lease could not be renewed: {e}"),
                }
            }
        });
        Ok(LeaseHeartbeat {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for LeaseHeartbeat {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Whether a process of this id runs on this machine. Linux answers through /proc; elsewhere the
/// lease's expiry decides.
fn process_alive(pid: i64) -> bool {
    if cfg!(target_os = "linux") {
        std::path::Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

impl Store {
    /// Takes the job for `lease`'s process and marks it running; refused while another live process
    /// holds it. Atomic: of two processes claiming at once, one gets it.
    pub fn claim_job(&mut self, id: i64, lease: &JobLease) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let (state, owner, pid, until): (String, Option<String>, Option<i64>, Option<i64>) = tx
            .query_row(
                "SELECT state, lease_owner, lease_pid, lease_until FROM jobs WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?
            .ok_or(Error::NotFound { what: "job", id })?;
        let now = now_ms();
        let held_by_other = state == JobState::Running.as_str()
            && owner.as_deref().is_some_and(|o| o != lease.owner)
            && until.is_some_and(|u| u > now)
            && pid.is_some_and(process_alive);
        if held_by_other {
            return Err(Error::JobBusy {
                id,
                pid: pid.unwrap_or_default(),
            });
        }
        tx.execute(
            "UPDATE jobs SET state = 'running', error = NULL, lease_owner = ?2, lease_pid = ?3,              lease_until = ?4, updated_at = ?5 WHERE id = ?1",
            params![id, lease.owner, lease.pid, now + LEASE_MS, now],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Renews `lease` on job `id` in the background until the returned heartbeat is dropped.
    pub fn lease_heartbeat(&self, id: i64, lease: &JobLease) -> Result<LeaseHeartbeat> {
        LeaseHeartbeat::start(&self.path, id, lease, HEARTBEAT)
    }

    /// Running jobs whose holder died or let its lease lapse become `interrupted`; returns how many.
    pub fn mark_interrupted_jobs(&mut self) -> Result<usize> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, lease_pid, lease_until FROM jobs WHERE state = 'running'")?;
        let running = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        drop(stmt);
        let now = now_ms();
        let mut marked = 0;
        for (id, pid, until) in running {
            let live = pid.is_some_and(process_alive) && until.is_some_and(|u| u > now);
            if !live {
                marked += self.conn.execute(
                    "UPDATE jobs SET state = 'interrupted', lease_owner = NULL, lease_pid = NULL,                      lease_until = NULL, updated_at = ?2 WHERE id = ?1 AND state = 'running'",
                    params![id, now],
                )?;
            }
        }
        Ok(marked)
    }

    pub fn enqueue_job(&mut self, job: &NewJob) -> Result<Job> {
        let now = now_ms();
        self.conn.execute(
            "INSERT INTO jobs (kind, persona_id, state, params_json, created_at, updated_at) VALUES (?1, ?2, 'queued', ?3, ?4, ?4)",
            params![job.kind, job.persona_id, serde_json::to_string(&job.params)?, now],
        )?;
        self.job(self.conn.last_insert_rowid())
    }

    pub fn job(&self, id: i64) -> Result<Job> {
        let row = self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()?
            .ok_or(Error::NotFound { what: "job", id })?;
        finish(row)
    }

    /// Jobs in the given states, oldest first (the worker's queue order).
    pub fn jobs_in(&self, states: &[JobState]) -> Result<Vec<Job>> {
        let list = states
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(",");
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM jobs WHERE state IN ({list}) ORDER BY created_at, id"
        ))?;
        let rows = stmt
            .query_map([], from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(finish).collect()
    }

    pub fn set_job_state(&mut self, id: i64, state: JobState, error: Option<&str>) -> Result<()> {
        // A job leaving `running` frees its lease.
        let changed = self.conn.execute(
            "UPDATE jobs SET state = ?2, error = ?3, updated_at = ?4,              lease_owner = CASE WHEN ?2 = 'running' THEN lease_owner END,              lease_pid = CASE WHEN ?2 = 'running' THEN lease_pid END,              lease_until = CASE WHEN ?2 = 'running' THEN lease_until END              WHERE id = ?1",
            params![id, state.as_str(), error, now_ms()],
        )?;
        if changed == 0 {
            return Err(Error::NotFound { what: "job", id });
        }
        Ok(())
    }

    pub fn set_job_progress(
        &mut self,
        id: i64,
        phase: &str,
        progress: f64,
        checkpoint: Option<&str>,
    ) -> Result<()> {
        // Progress renews a running job's lease.
        let now = now_ms();
        let changed = self.conn.execute(
            "UPDATE jobs SET phase = ?2, progress = ?3, checkpoint_path = coalesce(?4, checkpoint_path), updated_at = ?5, \
             lease_until = CASE WHEN lease_owner IS NOT NULL THEN ?6 END \
             WHERE id = ?1",
            params![id, phase, progress, checkpoint, now, now + LEASE_MS],
        )?;
        if changed == 0 {
            return Err(Error::NotFound { what: "job", id });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::personas::tests::open_temp;

    #[test]
    fn the_heartbeat_renews_a_lapsing_lease_until_it_is_dropped() {
        let (dir, mut store) = open_temp();
        let job = store
            .enqueue_job(&NewJob {
                kind: "distill".into(),
                persona_id: None,
                params: serde_json::json!({}),
            })
            .unwrap();
        let lease = JobLease::for_this_process();
        store.claim_job(job.id, &lease).unwrap();
        let lapse = |store: &Store| {
            store
                .conn
                .execute("UPDATE jobs SET lease_until = 0 WHERE id = ?1", [job.id])
                .unwrap();
        };
        let lease_until = |store: &Store| -> i64 {
            store
                .conn
                .query_row(
                    "SELECT lease_until FROM jobs WHERE id = ?1",
                    [job.id],
                    |r| r.get(0),
                )
                .unwrap()
        };
        lapse(&store);
        let beat = LeaseHeartbeat::start(
            &dir.path().join("k.db"),
            job.id,
            &lease,
            std::time::Duration::from_millis(20),
        )
        .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while lease_until(&store) <= now_ms() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(lease_until(&store) > now_ms() + LEASE_MS / 2, "renewed");
        assert_eq!(store.mark_interrupted_jobs().unwrap(), 0, "still held");
        drop(beat);
        lapse(&store);
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert_eq!(lease_until(&store), 0, "a dropped heartbeat renews nothing");
        assert_eq!(store.mark_interrupted_jobs().unwrap(), 1);
    }

    #[test]
    fn a_job_moves_through_its_states_and_keeps_its_checkpoint() {
        let (_dir, mut store) = open_temp();
        let job = store
            .enqueue_job(&NewJob {
                kind: "distill".into(),
                persona_id: None,
                params: serde_json::json!({"preset": "quick"}),
            })
            .unwrap();
        assert_eq!(job.state, JobState::Queued);
        store
            .set_job_state(job.id, JobState::Running, None)
            .unwrap();
        store
            .set_job_progress(job.id, "train", 0.5, Some("/ckpt/step-100"))
            .unwrap();
        store.set_job_progress(job.id, "train", 0.6, None).unwrap();
        let running = store.jobs_in(&[JobState::Running]).unwrap();
        assert_eq!(running.len(), 1);
        assert_eq!(
            running[0].checkpoint_path.as_deref(),
            Some("/ckpt/step-100")
        );
        assert_eq!(running[0].progress, 0.6);
        assert_eq!(running[0].params["preset"], "quick");
        store
            .set_job_state(job.id, JobState::Failed, Some("disk full"))
            .unwrap();
        let failed = store.job(job.id).unwrap();
        assert_eq!(
            (failed.state, failed.error.as_deref()),
            (JobState::Failed, Some("disk full"))
        );
        assert!(store
            .jobs_in(&[JobState::Queued, JobState::Running])
            .unwrap()
            .is_empty());
        assert!(matches!(
            store.set_job_state(999, JobState::Done, None),
            Err(Error::NotFound { .. })
        ));
    }

    #[test]
    fn a_job_has_one_live_holder_and_a_dead_or_lapsed_one_leaves_it_interrupted() {
        let (_dir, mut store) = open_temp();
        let job = store
            .enqueue_job(&NewJob {
                kind: "distill".into(),
                persona_id: None,
                params: serde_json::json!({}),
            })
            .unwrap();
        let me = JobLease::for_this_process();
        let other = JobLease {
            owner: "another".into(),
            pid: std::process::id(),
        };
        store.claim_job(job.id, &me).unwrap();
        store.claim_job(job.id, &me).unwrap(); // its own holder may claim again
        let err = store.claim_job(job.id, &other).unwrap_err();
        assert!(
            matches!(err, Error::JobBusy { pid, .. } if pid == i64::from(me.pid)),
            "{err}"
        );
        assert_eq!(store.mark_interrupted_jobs().unwrap(), 0, "a live holder");

        // A lapsed lease (no progress for LEASE_MS) is void even though its process lives.
        store
            .conn
            .execute("UPDATE jobs SET lease_until = ?1", [now_ms() - 1])
            .unwrap();
        assert_eq!(store.mark_interrupted_jobs().unwrap(), 1);
        assert_eq!(store.job(job.id).unwrap().state, JobState::Interrupted);

        // A holder whose process is gone holds nothing.
        let dead = JobLease {
            owner: "dead".into(),
            pid: u32::MAX - 1,
        };
        store.claim_job(job.id, &dead).unwrap();
        store.claim_job(job.id, &other).unwrap();
        store.set_job_state(job.id, JobState::Done, None).unwrap();
        let lease: Option<String> = store
            .conn
            .query_row(
                "SELECT lease_owner FROM jobs WHERE id = ?1",
                [job.id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(lease, None, "a finished job holds no lease");
    }
}
