//! Adapters trained elsewhere (PEFT's layout: `adapter_config.json` + `adapter_model.safetensors`,
//! e.g. by LLaMA-Factory or TRL on a GPU from `kotodama dataset export`): checked against their base
//! model, copied into the data folder, and measured against the base model on the persona's
//! validation lines like a distilled one, so that chats follow the same verdict.

use std::path::Path;

use kotodama_engine::lora::{ADAPTER_CONFIG, ADAPTER_WEIGHTS};
use kotodama_engine::Model;
use kotodama_store::{NewAdapter, NewModel};
use serde::{Deserialize, Serialize};

use super::{against_base, eval, io, DistillProgress, TeacherSpec, Variant, Verdict};
use crate::{Error, Kotodama, Result};

/// The report stored with an imported adapter (a distilled one stores a `DistillReport`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
        let target = self.home.adapters_dir().join(format!(
            "{}-imported-{}",
            persona.card.slug,
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis())
        ));
        std::fs::create_dir_all(&target).map_err(|e| io(&target, e))?;
        for file in [ADAPTER_CONFIG, ADAPTER_WEIGHTS] {
            std::fs::copy(dir.join(file), target.join(file)).map_err(|e| io(&target, e))?;
        }
        // Nothing is left behind if measuring or registering fails.
        let registered = self.measure_and_register(
            persona_id, dir, &target, &base_path, &mut model, variant, measure, progress,
        );
        if registered.is_err() {
            let _ = std::fs::remove_dir_all(&target);
        }
        registered
    }

    #[allow(clippy::too_many_arguments)]
    fn measure_and_register(
        &mut self,
        persona_id: i64,
        source: &Path,
        target: &Path,
        base_path: &Path,
        model: &mut Model,
        variant: Variant,
        measure: bool,
        progress: &mut dyn FnMut(&DistillProgress),
    ) -> Result<i64> {
        let persona = self.store.persona(persona_id)?;
        let (evaluation, verdict) = if measure {
            let dataset = self.distill_dataset(persona_id, &TeacherSpec::Rules, &mut |_, _| {})?;
            let profiles = self.all_profiles()?;
            let embedder = self.embedder();
            let profile = self.style_profile(persona_id)?;
            let ctx = eval::EvalContext {
                persona_slug: &persona.card.slug,
                dataset: &dataset,
                profile: &profile,
                profiles: &profiles,
                res: crate::analysis::style_resources()?,
                embedder: embedder.as_ref(),
            };
            let card_prompt = crate::prompt::system_prompt(&persona.card, crate::USER_NAME);
            let (scores, verdict) = against_base(
                &ctx,
                model,
                &card_prompt,
                (target, variant.as_str()),
                progress,
            )?;
            (scores, Some(verdict))
        } else {
            (Vec::new(), None)
        };
        let info = model.info();
        let config: kotodama_engine::AdapterConfig = serde_json::from_slice(
            &std::fs::read(target.join(ADAPTER_CONFIG)).map_err(|e| io(target, e))?,
        )
        .map_err(|e| Error::InvalidInput(format!("{ADAPTER_CONFIG}: {e}")))?;
        let report = ImportedAdapterReport {
            imported_from: source.display().to_string(),
            base_model: info.name.clone(),
            variant,
            evaluation,
            verdict,
        };
        let model_id = self.store.upsert_model(&NewModel {
            name: info.name.clone(),
            path: base_path.display().to_string(),
            format: info.format.clone(),
            architecture: format!("{:?}", info.config.architecture).to_lowercase(),
            quantization: None,
            size_bytes: std::fs::metadata(base_path).map_or(0, |m| m.len() as i64),
            sha256: None,
        })?;
        Ok(self.store.insert_adapter(&NewAdapter {
            persona_id,
            model_id: Some(model_id),
            path: target.display().to_string(),
            variant: variant.as_str().into(),
            rank: config.r as i64,
            alpha: config.lora_alpha,
            report: Some(
                serde_json::to_value(&report)
                    .map_err(|e| Error::Distill(format!("report: {e}")))?,
            ),
        })?)
    }
}
