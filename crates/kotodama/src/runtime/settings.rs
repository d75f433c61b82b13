//! The settings page's view, and the chat model's choice, which the database and the loaded model
//! must agree on.

use kotodama_engine::DeviceInfo;
use serde::Serialize;

use super::Runtime;
use crate::models::catalogue::{catalogue, model_memory, CatalogueEntry, Fit, ModelMemory};
use crate::models::{InstalledModel, ModelKind, ModelManager};
use crate::settings::{RemoteModel, RuntimeSettings};
use crate::{secrets, Result, Theme};

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
    /// The served model chats use instead of the local engine, if one is chosen.
    pub remote: Option<RemoteModel>,
    /// The curated chat models, each with its fit on this machine.
    pub catalogue: Vec<CatalogueModel>,
    /// The memory models run in (the machine's, or a CUDA GPU's), which the fit verdicts read.
    pub memory: ModelMemory,
}

/// A catalogue model as Settings lists it.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CatalogueModel {
    #[serde(flatten)]
    pub entry: CatalogueEntry,
    /// Bytes it takes to chat (weights, a long conversation's cache, the app).
    #[cfg_attr(test, ts(type = "number"))]
    pub estimate_bytes: u64,
    pub fit: Fit,
    /// Installed under its id already.
    pub installed: bool,
}

/// Where a served model's API key was kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum KeyKept {
    /// No key given, none stored.
    None,
    /// In the OS keyring (given now or earlier).
    Keyring,
    /// The OS keyring could not keep it (`why`): it is used until the app closes.
    ThisSessionOnly { why: String },
}

impl Runtime {
    pub fn settings_view(&self) -> Result<SettingsView> {
        let (theme, runtime, models_dir) =
            self.core(|k| Ok((k.theme()?, k.runtime()?, k.home().models_dir())))?;
        let models: Vec<InstalledModel> = ModelManager::new(models_dir)
            .list()?
            .into_iter()
            .filter(|m| m.kind == ModelKind::Chat)
            .collect();
        let memory = model_memory(self.core(|k| k.load_options())?.device);
        let catalogue = catalogue()
            .iter()
            .map(|entry| CatalogueModel {
                estimate_bytes: entry.memory_estimate(),
                fit: entry.fit(memory.bytes),
                installed: models.iter().any(|m| m.id == entry.id),
                entry: entry.clone(),
            })
            .collect();
        let status = self.replier_status.read().ok().and_then(|s| s.clone());
        Ok(SettingsView {
            theme,
            data_dir: self.data_dir.clone(),
            models,
            chat_model: status.as_ref().and_then(|s| s.model.clone()),
            runtime,
            device: status.and_then(|s| s.device),
            remote: self.core(|k| k.remote_model())?,
            catalogue,
            memory,
        })
    }

    /// Chooses a served model for chats, from the next reply on, with its API key (`Some("")` forgets
    /// the stored one, None keeps it); or the local engine again (`remote` None). This waits for a
    /// reply being written to end.
    pub fn set_remote_model(
        &self,
        remote: Option<RemoteModel>,
        api_key: Option<&str>,
    ) -> Result<KeyKept> {
        self.core(|k| k.set_remote_model(remote.as_ref()))?;
        let Some(remote) = remote else {
            let mut replier = self.replier()?;
            replier.use_remote(None);
            self.show_replier(&replier);
            return Ok(KeyKept::None);
        };
        let (key, kept) = match api_key {
            Some(key) => match secrets::set_api_key(&remote.url, Some(key)) {
                Ok(()) if key.trim().is_empty() => (None, KeyKept::None),
                Ok(()) => (Some(key.trim().to_string()), KeyKept::Keyring),
                Err(e) => (
                    Some(key.trim().to_string()).filter(|k| !k.is_empty()),
                    KeyKept::ThisSessionOnly { why: e.to_string() },
                ),
            },
            None => match secrets::api_key(&remote.url) {
                Ok(Some(key)) => (Some(key), KeyKept::Keyring),
                Ok(None) => (None, KeyKept::None),
                Err(e) => {
                    tracing::warn!("no API key for {}: {e}", remote.url);
                    (None, KeyKept::None)
                }
            },
        };
        let mut replier = self.replier()?;
        replier.use_remote(Some((remote, key)));
        self.show_replier(&replier);
        Ok(kept)
    }

    /// Chooses the installed chat model (and no served one): stored, and answering from the next reply on (this waits for a reply
    /// being written to end).
    pub fn set_chat_model(&self, id: &str) -> Result<()> {
        // Choosing an installed model also leaves a served one.
        self.core(|k| {
            k.set_chat_model(id)?;
            k.set_remote_model(None)
        })?;
        let mut replier = self.replier()?;
        replier.use_remote(None);
        replier.prefer_model(Some(id.to_string()));
        self.show_replier(&replier);
        Ok(())
    }
}
