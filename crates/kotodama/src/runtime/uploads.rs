//! The import wizard's file: previewed (format, speakers, sample lines), kept until the user
//! confirms, then imported with its phases reported.

use serde::Serialize;

use super::{poisoned, Runtime};
use crate::{CardFields, Error, FilePreview, ImportPhase, Result, ScriptImport};

/// The file the wizard is working on (one at a time).
pub(super) struct Upload {
    id: u64,
    file: String,
    bytes: Vec<u8>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct UploadPreview {
    pub upload_id: u64,
    pub file: String,
    pub size: usize,
    #[serde(flatten)]
    pub preview: FilePreview,
}

impl Runtime {
    /// Previews the file and keeps it under a new upload id. `file` is its name; only its last path
    /// component is kept, as a label.
    pub fn preview_upload(&self, bytes: Vec<u8>, file: &str) -> Result<UploadPreview> {
        let file = file.rsplit(['/', '\\']).next().unwrap_or("").to_string();
        let preview = crate::preview_file(&bytes, &file)?;
        let mut upload = self.upload.lock().map_err(poisoned("the upload slot"))?;
        let id = upload.as_ref().map_or(1, |u| u.id + 1);
        let size = bytes.len();
        *upload = Some(Upload {
            id,
            file: file.clone(),
            bytes,
        });
        Ok(UploadPreview {
            upload_id: id,
            file,
            size,
            preview,
        })
    }

    /// The card a script upload would make for the request's speaker, to edit before importing it.
    pub fn draft_upload_card(&self, upload_id: u64, request: &ScriptImport) -> Result<CardFields> {
        let slot = self.upload.lock().map_err(poisoned("the upload slot"))?;
        let upload = open_upload(&slot, upload_id)?;
        self.core(|k| k.draft_script_card(&upload.bytes, &upload.file, request))
    }

    /// Imports the previewed file (a card, or one speaker of a script); returns the new persona's id.
    pub fn import_upload(
        &self,
        upload_id: u64,
        request: &ScriptImport,
        on_phase: &mut dyn FnMut(ImportPhase),
    ) -> Result<i64> {
        let mut slot = self.upload.lock().map_err(poisoned("the upload slot"))?;
        let upload = open_upload(&slot, upload_id)?;
        let (id, _) =
            self.core(|k| k.import_bytes(&upload.bytes, &upload.file, request, on_phase))?;
        *slot = None;
        Ok(id)
    }
}

/// The wizard's file if it is still upload `upload_id`.
fn open_upload(slot: &Option<Upload>, upload_id: u64) -> Result<&Upload> {
    match slot.as_ref() {
        Some(u) if u.id == upload_id => Ok(u),
        _ => Err(Error::InvalidInput(
            "that file is no longer open: choose it again".into(),
        )),
    }
}
