//! The Japanese and Chinese pragmatic-trait backgrounds (assets/style/traits_cjk.json.gz, made by
//! `train-trait-background`). English's lives in the grammar asset, measured on GUM.

use std::io::{Read, Write};

use super::TraitCounts;
use crate::error::{corrupt, Result};

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CjkTraitBackgrounds {
    pub ja: TraitCounts,
    pub zh: TraitCounts,
}

impl CjkTraitBackgrounds {
    pub fn from_gzip(gz: &[u8]) -> Result<Self> {
        let mut json = String::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_string(&mut json)
            .map_err(|e| corrupt("trait backgrounds", e.to_string()))?;
        serde_json::from_str(&json).map_err(|e| corrupt("trait backgrounds", e.to_string()))
    }

    /// gzip of the JSON, byte-reproducible (no timestamp in the header).
    pub fn to_gzip(&self) -> Result<Vec<u8>> {
        let json = serde_json::to_string_pretty(self)
            .map_err(|e| corrupt("trait backgrounds", e.to_string()))?;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(json.as_bytes())?;
        Ok(enc.finish()?)
    }
}
