//! A model download from the hub into the models folder (resumable, sha256-verified), one at a time,
//! with its progress reported; once done the model is listed and can be chosen.

use kotodama_engine::CancelToken;

use super::{poisoned, Runtime};
use crate::models::{DownloadProgress, InstalledModel, ModelManager, HF_ENDPOINT};
use crate::{Error, Result};

/// Which files of which repository, installed under which id.
#[derive(Debug, Clone)]
pub struct DownloadRequest {
    pub id: String,
    pub repo: String,
    /// Files whose name contains this are fetched.
    pub include: String,
    /// The hub's address; None: Hugging Face.
    pub endpoint: Option<String>,
}

impl Runtime {
    pub fn download_model(
        &self,
        request: &DownloadRequest,
        on_progress: &mut dyn FnMut(&DownloadProgress),
    ) -> Result<InstalledModel> {
        let models_dir = self.core(|k| Ok(k.home().models_dir()))?;
        let cancel = CancelToken::new();
        {
            let mut running = self.download.lock().map_err(poisoned("the download"))?;
            if running.is_some() {
                return Err(Error::Busy("a download is already running".into()));
            }
            *running = Some(cancel.clone());
        }
        let result = ModelManager::new(models_dir).download_from_hub(
            &request.id,
            request.endpoint.as_deref().unwrap_or(HF_ENDPOINT),
            &request.repo,
            "main",
            |name| name.contains(request.include.as_str()),
            on_progress,
            &cancel,
        );
        if let Ok(mut running) = self.download.lock() {
            *running = None;
        }
        Ok(result?)
    }

    /// Stops the running download (its partial file is kept for a resume); false when none runs.
    pub fn cancel_download(&self) -> bool {
        let running = self.download.lock().ok().and_then(|r| r.clone());
        running.map(|c| c.cancel()).is_some()
    }
}
