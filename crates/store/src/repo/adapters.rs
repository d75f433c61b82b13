use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::json_column;
use crate::{now_ms, Result, Store};

/// A LoRA adapter distilled for a persona, with its evaluation report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewAdapter {
    pub persona_id: i64,
    pub model_id: Option<i64>,
    /// Folder in the PEFT layout (`adapter_model.safetensors` + `adapter_config.json`).
    pub path: String,
    /// `cot` (trained on style plan + line) or `vanilla` (line only).
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

impl Store {
    pub fn insert_adapter(&mut self, a: &NewAdapter) -> Result<i64> {
        let report = a.report.as_ref().map(serde_json::to_string).transpose()?;
        self.conn.execute(
            "INSERT INTO adapters (persona_id, model_id, path, variant, rank, alpha, report_json, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![a.persona_id, a.model_id, a.path, a.variant, a.rank, a.alpha, report, now_ms()],
        )?;
        Ok(self.conn.last_insert_rowid())
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::personas::tests::{open_temp, sample_card};

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
}
