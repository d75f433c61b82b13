//! Adapters trained elsewhere (PEFT's layout: `adapter_config.json` + `adapter_model.safetensors`,
//! e.g. by LLaMA-Factory or TRL on a GPU from `kotodama dataset export`): checked against their base
//! model, copied into the data folder, and measured against the base model on the persona's
//! validation lines like a distilled one, so that chats follow the same verdict.

use std::path::Path;

use kotodama_engine::lora::{ADAPTER_CONFIG, ADAPTER_WEIGHTS};
use kotodama_engine::Model;
use kotodama_store::NewAdapter;
use serde::{Deserialize, Serialize};

use super::{against_base, eval, io, model_record, DistillProgress, Variant, Verdict};
use crate::{Error, Kotodama, Result};

/// The report stored with an imported adapter (a distilled one stores a `DistillReport`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ImportedAdapterReport {
    /// The folder it was imported from.
    pub imported_from: String,
    pub base_model: String,
    pub variant: Variant,
    pub evaluation: Vec<eval::SystemScores>,
    pub verdict: Option<Verdict>,
}

impl Kotodama {
    /// Imports the PEFT adapter in `dir` for `persona_id`, trained on `base` (a model path or an
    /// installed id; None: the default chat model) as `variant`. It must load onto the base model;
    /// it is copied under the data folder's adapters, compared with the base model on validation
    /// lines (unless `measure` is false: then chats use it only when chosen), and registered.
    pub fn import_adapter(
        &mut self,
        persona_id: i64,
        dir: &Path,
        base: Option<&str>,
        variant: Variant,
        measure: bool,
        progress: &mut dyn FnMut(&DistillProgress),
    ) -> Result<i64> {
        let persona = self.store.persona(persona_id)?;
        for file in [ADAPTER_CONFIG, ADAPTER_WEIGHTS] {
            if !dir.join(file).is_file() {
                return Err(Error::InvalidInput(format!(
                    "{} has no {file}: an adapter folder in PEFT's layout holds {ADAPTER_CONFIG} and {ADAPTER_WEIGHTS}",
                    dir.display()
                )));
            }
        }
        let base_path = self.student_model(base)?;
        let mut model = Model::load(&base_path, crate::models::load_options()?)?;
        model.set_adapter(Some(dir)).map_err(|e| {
            Error::InvalidInput(format!(
                "{} does not fit {}: {e}",
                dir.display(),
                model.info().name
            ))
        })?;
        // Measured where it lies, before anything is copied.
        let (evaluation, verdict) = if measure {
            let inputs = self.eval_inputs(persona_id)?;
            let (scores, verdict) = against_base(
                &inputs.ctx()?,
                &mut model,
                &inputs.card_prompt,
                (dir, variant.as_str()),
                progress,
            )?;
            (scores, Some(verdict))
        } else {
            (Vec::new(), None)
        };
        let config: kotodama_engine::AdapterConfig = serde_json::from_slice(
            &std::fs::read(dir.join(ADAPTER_CONFIG)).map_err(|e| io(dir, e))?,
        )
        .map_err(|e| Error::InvalidInput(format!("{ADAPTER_CONFIG}: {e}")))?;
        let report = serde_json::to_value(ImportedAdapterReport {
            imported_from: dir.display().to_string(),
            base_model: model.info().name.clone(),
            variant,
            evaluation,
            verdict,
        })
        .map_err(|e| Error::Distill(format!("report: {e}")))?;

        let target = self.home.adapters_dir().join(format!(
            "{}-imported-{}",
            persona.card.slug,
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis())
        ));
        let registered = (|| {
            crate::fsutil::write_dir_atomically(&target, |into| {
                for file in [ADAPTER_CONFIG, ADAPTER_WEIGHTS] {
                    std::fs::copy(dir.join(file), into.join(file)).map_err(|e| io(into, e))?;
                }
                Ok(())
            })?;
            let model_id = self.store.upsert_model(&model_record(&model, &base_path))?;
            Ok(self.store.insert_adapter(&NewAdapter {
                persona_id,
                model_id: Some(model_id),
                path: target.display().to_string(),
                variant: variant.as_str().into(),
                rank: config.r as i64,
                alpha: config.lora_alpha,
                report: Some(report),
            })?)
        })();
        // Nothing is left behind if copying or registering fails.
        if registered.is_err() {
            let _ = std::fs::remove_dir_all(&target);
        }
        registered
    }
}
