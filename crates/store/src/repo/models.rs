use rusqlite::params;
use serde::{Deserialize, Serialize};

use crate::{now_ms, Result, Store};

/// A model file (or safetensors folder) installed in the data dir.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewModel {
    pub name: String,
    pub path: String,
    /// `gguf` or `safetensors`.
    pub format: String,
    pub architecture: String,
    pub quantization: Option<String>,
    pub size_bytes: i64,
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelRecord {
    pub id: i64,
    #[serde(flatten)]
    pub model: NewModel,
    pub installed_at: i64,
}

impl Store {
    /// Registers a model, or refreshes the record of one already installed at the same path.
    pub fn upsert_model(&mut self, m: &NewModel) -> Result<i64> {
        Ok(self.conn.query_row(
            "INSERT INTO models (name, path, format, architecture, quantization, size_bytes, sha256, installed_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (path) DO UPDATE SET name = excluded.name, format = excluded.format, \
             architecture = excluded.architecture, quantization = excluded.quantization, \
             size_bytes = excluded.size_bytes, sha256 = excluded.sha256, installed_at = excluded.installed_at \
             RETURNING id",
            params![m.name, m.path, m.format, m.architecture, m.quantization, m.size_bytes, m.sha256, now_ms()],
            |r| r.get(0),
        )?)
    }

    pub fn models(&self) -> Result<Vec<ModelRecord>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, name, path, format, architecture, quantization, size_bytes, sha256, installed_at \
             FROM models ORDER BY installed_at, id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(ModelRecord {
                id: r.get(0)?,
                model: NewModel {
                    name: r.get(1)?,
                    path: r.get(2)?,
                    format: r.get(3)?,
                    architecture: r.get(4)?,
                    quantization: r.get(5)?,
                    size_bytes: r.get(6)?,
                    sha256: r.get(7)?,
                },
                installed_at: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::personas::tests::open_temp;

    #[test]
    fn reinstalling_at_the_same_path_updates_the_record() {
        let (_dir, mut store) = open_temp();
        let mut m = NewModel {
            name: "SmolLM2-135M-Instruct".into(),
            path: "/models/smollm2.gguf".into(),
            format: "gguf".into(),
            architecture: "llama".into(),
            quantization: Some("Q4_1".into()),
            size_bytes: 98_000_000,
            sha256: None,
        };
        let a = store.upsert_model(&m).unwrap();
        m.quantization = Some("Q8_0".into());
        let b = store.upsert_model(&m).unwrap();
        assert_eq!(a, b);
        let all = store.models().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].model.quantization.as_deref(), Some("Q8_0"));
    }
}
