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
    Cancelled,
    Failed,
    Done,
}

text_enum!(JobState, "jobs.state", {
    JobState::Queued => "queued",
    JobState::Running => "running",
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

impl Store {
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
        let changed = self.conn.execute(
            "UPDATE jobs SET state = ?2, error = ?3, updated_at = ?4 WHERE id = ?1",
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
        let changed = self.conn.execute(
            "UPDATE jobs SET phase = ?2, progress = ?3, checkpoint_path = coalesce(?4, checkpoint_path), updated_at = ?5 \
             WHERE id = ?1",
            params![id, phase, progress, checkpoint, now_ms()],
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
}
