//! The settings page's view, and the chat model's choice, which the database and the loaded model
//! must agree on.

use kotodama_engine::DeviceInfo;
use serde::Serialize;

use super::Runtime;
use crate::models::{InstalledModel, ModelKind, ModelManager};
use crate::settings::RuntimeSettings;
use crate::{Result, Theme};

#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    pub theme: Theme,
    pub data_dir: String,
    /// Installed chat models.
    pub models: Vec<InstalledModel>,
    /// The model replies use (the chosen one, else the default).
    pub chat_model: Option<String>,
    /// Stored device and threads (applied at start).
    pub runtime: RuntimeSettings,
    /// What the loaded model runs on now; None until it is loaded.
    pub device: Option<DeviceInfo>,
}

impl Runtime {
    pub fn settings_view(&self) -> Result<SettingsView> {
        let (theme, runtime, models_dir) =
            self.core(|k| Ok((k.theme()?, k.runtime()?, k.home().models_dir())))?;
        let models = ModelManager::new(models_dir)
            .list()?
            .into_iter()
            .filter(|m| m.kind == ModelKind::Chat)
            .collect();
        let status = self.replier_status.read().ok().and_then(|s| s.clone());
        Ok(SettingsView {
            theme,
            data_dir: self.data_dir.clone(),
            models,
            chat_model: status.as_ref().and_then(|s| s.model.clone()),
            runtime,
            device: status.and_then(|s| s.device),
        })
    }

    /// Chooses the chat model: stored, and answering from the next reply on (this waits for a reply
    /// being written to end).
    pub fn set_chat_model(&self, id: &str) -> Result<()> {
        self.core(|k| k.set_chat_model(id))?;
        let mut replier = self.replier()?;
        replier.prefer_model(Some(id.to_string()));
        self.show_replier(&replier);
        Ok(())
    }
}
