use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::json_column;
use super::personas::update_persona;
use crate::{now_ms, Error, Result, Store};

/// A LoRA adapter distilled for a persona, with its evaluation report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewAdapter {
    pub persona_id: i64,
    pub model_id: Option<i64>,
    /// Folder in the PEFT layout (`adapter_model.safetensors` + `adapter_config.json`).
    pub path: String,
    /// How it was trained: `vanilla`, `step-by-step`, `plan-dropout` (`cot`: plan inline, before 2026-12).
    pub variant: String,
    pub rank: i64,
    pub alpha: f64,
    pub report: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Adapter {
    pub id: i64,
    #[serde(flatten)]
    pub adapter: NewAdapter,
    pub created_at: i64,
}

/// Which adapter a persona's chats use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", tag = "kind", content = "id")]
pub enum AdapterChoice {
    /// The newest adapter that beat the base model on the persona's validation lines (its
    /// report's verdict), if it was trained on the loaded model.
    #[default]
    Newest,
    /// No adapter: the base model with the persona prompt.
    None,
    Adapter(i64),
}

fn insert(conn: &rusqlite::Connection, a: &NewAdapter) -> Result<i64> {
    let report = a.report.as_ref().map(serde_json::to_string).transpose()?;
    conn.execute(
        "INSERT INTO adapters (persona_id, model_id, path, variant, rank, alpha, report_json, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![a.persona_id, a.model_id, a.path, a.variant, a.rank, a.alpha, report, now_ms()],
    )?;
    Ok(conn.last_insert_rowid())
}

impl Store {
    pub fn insert_adapter(&mut self, a: &NewAdapter) -> Result<i64> {
        insert(&self.conn, a)
    }

    /// Registers the adapter job `job_id` trained and marks the job done, in one transaction: a crash
    /// leaves either both or neither, so a resumed job never registers its adapter twice.
    pub fn register_job_adapter(&mut self, job_id: i64, a: &NewAdapter) -> Result<i64> {
        let tx = self.conn.transaction()?;
        let id = insert(&tx, a)?;
        let changed = tx.execute(
            "UPDATE jobs SET state = 'done', phase = 'done', progress = 1.0, error = NULL, updated_at = ?2, \
             lease_owner = NULL, lease_pid = NULL, lease_until = NULL WHERE id = ?1",
            params![job_id, now_ms()],
        )?;
        if changed == 0 {
            return Err(Error::NotFound {
                what: "job",
                id: job_id,
            });
        }
        tx.commit()?;
        Ok(id)
    }

    /// The persona's adapters, newest first.
    pub fn adapters(&self, persona_id: i64) -> Result<Vec<Adapter>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, persona_id, model_id, path, variant, rank, alpha, report_json, created_at FROM adapters \
             WHERE persona_id = ?1 ORDER BY created_at DESC, id DESC",
        )?;
        let rows = stmt
            .query_map([persona_id], |r| {
                Ok((
                    Adapter {
                        id: r.get(0)?,
                        adapter: NewAdapter {
                            persona_id: r.get(1)?,
                            model_id: r.get(2)?,
                            path: r.get(3)?,
                            variant: r.get(4)?,
                            rank: r.get(5)?,
                            alpha: r.get(6)?,
                            report: None,
                        },
                        created_at: r.get(8)?,
                    },
                    r.get::<_, Option<String>>(7)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(mut a, report)| {
                a.adapter.report = report
                    .map(|t| json_column("adapters.report_json", &t))
                    .transpose()?;
                Ok(a)
            })
            .collect()
    }

    /// Which adapter the persona's chats use.
    pub fn chat_adapter(&self, persona_id: i64) -> Result<AdapterChoice> {
        let (mode, id): (String, Option<i64>) = self
            .conn
            .query_row(
                "SELECT chat_adapter, chat_adapter_id FROM personas WHERE id = ?1",
                [persona_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Error::NotFound {
                    what: "persona",
                    id: persona_id,
                },
                other => other.into(),
            })?;
        Ok(match (mode.as_str(), id) {
            ("none", _) => AdapterChoice::None,
            ("chosen", Some(id)) => AdapterChoice::Adapter(id),
            _ => AdapterChoice::Newest,
        })
    }

    /// Sets which adapter the persona's chats use; a chosen adapter must be one of the persona's.
    pub fn set_chat_adapter(&mut self, persona_id: i64, choice: AdapterChoice) -> Result<()> {
        let (mode, id) = match choice {
            AdapterChoice::Newest => ("newest", None),
            AdapterChoice::None => ("none", None),
            AdapterChoice::Adapter(id) => ("chosen", Some(id)),
        };
        if let Some(id) = id {
            if !self.adapters(persona_id)?.iter().any(|a| a.id == id) {
                return Err(Error::NotFound {
                    what: "adapter",
                    id,
                });
            }
        }
        update_persona(
            &self.conn,
            persona_id,
            "UPDATE personas SET chat_adapter = ?2, chat_adapter_id = ?3 WHERE id = ?1",
            params![persona_id, mode, id],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::personas::tests::{open_temp, sample_card};

    #[test]
    fn a_jobs_adapter_is_registered_together_with_the_job_done_or_not_at_all() {
        let (_dir, mut store) = open_temp();
        let pid = store.insert_persona(&sample_card("t"), &[], None).unwrap();
        let job = store
            .enqueue_job(&crate::NewJob {
                kind: "distill".into(),
                persona_id: Some(pid),
                params: serde_json::json!({}),
            })
            .unwrap();
        store
            .claim_job(job.id, &crate::JobLease::for_this_process())
            .unwrap();
        let adapter = NewAdapter {
            persona_id: pid,
            model_id: None,
            path: "/a/job".into(),
            variant: "vanilla".into(),
            rank: 8,
            alpha: 16.0,
            report: None,
        };
        // No such job: nothing is registered.
        assert!(store.register_job_adapter(job.id + 1, &adapter).is_err());
        assert!(store.adapters(pid).unwrap().is_empty());

        let id = store.register_job_adapter(job.id, &adapter).unwrap();
        assert_eq!(store.adapters(pid).unwrap()[0].id, id);
        let done = store.job(job.id).unwrap();
        assert_eq!(
            (done.state, done.phase.as_str()),
            (crate::JobState::Done, "done")
        );
        assert_eq!(
            store.mark_interrupted_jobs().unwrap(),
            0,
            "its lease is gone"
        );
    }

    #[test]
    fn adapters_list_newest_first_with_reports() {
        let (_dir, mut store) = open_temp();
        let pid = store.insert_persona(&sample_card("t"), &[], None).unwrap();
        let base = NewAdapter {
            persona_id: pid,
            model_id: None,
            path: "/a/1".into(),
            variant: "vanilla".into(),
            rank: 8,
            alpha: 16.0,
            report: None,
        };
        let first = store.insert_adapter(&base).unwrap();
        let second = store
            .insert_adapter(&NewAdapter {
                path: "/a/2".into(),
                variant: "cot".into(),
                report: Some(serde_json::json!({"styleScore": 0.61})),
                ..base.clone()
            })
            .unwrap();
        let list = store.adapters(pid).unwrap();
        assert_eq!(
            list.iter().map(|a| a.id).collect::<Vec<_>>(),
            vec![second, first]
        );
        assert_eq!(list[0].adapter.report.as_ref().unwrap()["styleScore"], 0.61);
        let bad = NewAdapter {
            variant: "mystery".into(),
            ..base
        };
        assert!(
            store.insert_adapter(&bad).is_err(),
            "the CHECK constraint rejects unknown variants"
        );
    }

    #[test]
    fn the_chat_adapter_choice_is_stored_and_checked() {
        let (_dir, mut store) = open_temp();
        let pid = store.insert_persona(&sample_card("t"), &[], None).unwrap();
        let other = store.insert_persona(&sample_card("u"), &[], None).unwrap();
        let new = |persona_id| NewAdapter {
            persona_id,
            model_id: None,
            path: "/a".into(),
            variant: "cot".into(),
            rank: 8,
            alpha: 16.0,
            report: None,
        };
        let mine = store.insert_adapter(&new(pid)).unwrap();
        let theirs = store.insert_adapter(&new(other)).unwrap();
        assert_eq!(store.chat_adapter(pid).unwrap(), AdapterChoice::Newest);
        store
            .set_chat_adapter(pid, AdapterChoice::Adapter(mine))
            .unwrap();
        assert_eq!(
            store.chat_adapter(pid).unwrap(),
            AdapterChoice::Adapter(mine)
        );
        store.set_chat_adapter(pid, AdapterChoice::None).unwrap();
        assert_eq!(store.chat_adapter(pid).unwrap(), AdapterChoice::None);
        assert!(matches!(
            store.set_chat_adapter(pid, AdapterChoice::Adapter(theirs)),
            Err(Error::NotFound {
                what: "adapter",
                ..
            })
        ));
        assert_eq!(
            store.chat_adapter(pid).unwrap(),
            AdapterChoice::None,
            "unchanged"
        );
        assert!(store.chat_adapter(9999).is_err());

        // A chosen adapter that is deleted falls back to the newest.
        store
            .set_chat_adapter(pid, AdapterChoice::Adapter(mine))
            .unwrap();
        store
            .conn
            .execute("DELETE FROM adapters WHERE id = ?1", [mine])
            .unwrap();
        assert_eq!(store.chat_adapter(pid).unwrap(), AdapterChoice::Newest);
    }
}
