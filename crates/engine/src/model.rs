//! A loaded model: decoder + tokenizer + chat template + the thread pool it runs on.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::decoder::{Decoder, DecoderConfig};
use crate::device::{self, DeviceInfo, DeviceKind};
use crate::error::{Error, Result};
use crate::gguf::{GgufFile, MetaValue};
use crate::lora::Adapter;
use crate::template::ChatTemplate;
use crate::tokenizer::Tokenizer;
use crate::weights::TensorSource;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LoadOptions {
    pub device: DeviceKind,
    /// CPU threads; 0 = all available. Process-wide: the first model loaded fixes it (candle sizes its
    /// kernel thread pool once), `ModelInfo::device.threads` reports what is in effect.
    pub threads: usize,
}

/// What the UI shows about a loaded model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelInfo {
    pub name: String,
    pub path: PathBuf,
    /// `gguf` or `safetensors`.
    pub format: String,
    pub config: DecoderConfig,
    pub device: DeviceInfo,
    /// Directory of the LoRA adapter in use, if any.
    pub adapter: Option<PathBuf>,
}

pub struct Model {
    decoder: Decoder,
    tokenizer: Tokenizer,
    template: ChatTemplate,
    info: ModelInfo,
    pool: Arc<rayon::ThreadPool>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

fn read_json(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|source| Error::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// `chat_template` of a tokenizer_config.json: a string, or a list of named templates ("default" wins).
fn hf_chat_template(config: &serde_json::Value) -> Option<String> {
    match &config["chat_template"] {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(list) => list
            .iter()
            .find(|t| t["name"] == "default")
            .or_else(|| list.first())
            .and_then(|t| t["template"].as_str().map(str::to_string)),
        _ => None,
    }
}

impl Model {
    /// Loads a GGUF file, or a directory holding HF `config.json`, `*.safetensors` and `tokenizer.json`.
    pub fn load(path: &Path, opts: LoadOptions) -> Result<Self> {
        let device = device::candle_device(opts.device)?;
        let threads = device::resolve_threads(opts.threads);
        let pool = Arc::new(device::thread_pool(threads)?);
        let device_info = DeviceInfo {
            kind: opts.device,
            threads,
            simd: device::simd_features(),
        };
        let (decoder, tokenizer, template, format, name) = pool.install(|| {
            if path.is_dir() {
                Self::load_safetensors_dir(path, &device)
            } else {
                Self::load_gguf(path, &device)
            }
        })?;
        if tokenizer.vocab_size() > decoder.config().vocab_size {
            return Err(Error::Tokenizer(format!(
                "the tokenizer has {} tokens but the model's vocabulary only {}: they do not belong together",
                tokenizer.vocab_size(),
                decoder.config().vocab_size
            )));
        }
        let info = ModelInfo {
            name,
            path: path.to_path_buf(),
            format: format.into(),
            config: decoder.config().clone(),
            device: device_info,
            adapter: None,
        };
        Ok(Self {
            decoder,
            tokenizer,
            template,
            info,
            pool,
        })
    }

    fn load_gguf(
        path: &Path,
        device: &candle_core::Device,
    ) -> Result<(Decoder, Tokenizer, ChatTemplate, &'static str, String)> {
        let gguf = GgufFile::open(path)?;
        let tokenizer = Tokenizer::from_gguf(&gguf)?;
        let template = match gguf
            .metadata("tokenizer.chat_template")
            .and_then(MetaValue::as_str)
        {
            Some(source) => {
                ChatTemplate::new(source, tokenizer.bos_token(), tokenizer.eos_token())?
            }
            None => ChatTemplate::chatml(),
        };
        let name = gguf
            .metadata("general.name")
            .and_then(MetaValue::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| {
                path.file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            });
        let cfg = DecoderConfig::from_gguf(&gguf)?;
        let source = TensorSource::Gguf(gguf);
        let decoder = Decoder::load(cfg, &source, device)?;
        Ok((decoder, tokenizer, template, "gguf", name))
    }

    fn load_safetensors_dir(
        dir: &Path,
        device: &candle_core::Device,
    ) -> Result<(Decoder, Tokenizer, ChatTemplate, &'static str, String)> {
        let config = read_json(&dir.join("config.json"))?;
        let tokenizer = Tokenizer::from_file(&dir.join("tokenizer.json"))?;
        let tok_config_path = dir.join("tokenizer_config.json");
        let tok_config = if tok_config_path.exists() {
            read_json(&tok_config_path)?
        } else {
            serde_json::Value::Null
        };
        let template = match hf_chat_template(&tok_config) {
            Some(source) => {
                ChatTemplate::new(&source, tokenizer.bos_token(), tokenizer.eos_token())?
            }
            None => ChatTemplate::chatml(),
        };
        let source = TensorSource::open_safetensors_dir(dir, device)?;
        let cfg = DecoderConfig::from_hf_config(&config, &source)?;
        let decoder = Decoder::load(cfg, &source, device)?;
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        Ok((decoder, tokenizer, template, "safetensors", name))
    }

    /// Applies a PEFT LoRA adapter directory beside the base weights (nothing is merged).
    pub fn with_adapter(mut self, dir: &Path) -> Result<Self> {
        self.set_adapter(Some(dir))?;
        Ok(self)
    }

    /// Swaps the LoRA adapter in use (None: the base model alone); a failed load leaves the base alone.
    pub fn set_adapter(&mut self, dir: Option<&Path>) -> Result<()> {
        let adapter = dir
            .map(|d| Adapter::load(d, self.decoder.device()))
            .transpose()?;
        self.decoder.clear_lora()?;
        self.info.adapter = None;
        if let (Some(adapter), Some(dir)) = (adapter, dir) {
            if let Err(e) = adapter.apply(&mut self.decoder) {
                self.decoder.clear_lora()?;
                return Err(e);
            }
            self.info.adapter = Some(dir.to_path_buf());
        }
        Ok(())
    }

    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// For training: swap in LoRA pairs, dequantize.
    pub fn decoder_mut(&mut self) -> &mut Decoder {
        &mut self.decoder
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    pub fn template(&self) -> &ChatTemplate {
        &self.template
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Runs `f` on this model's thread pool (candle's CPU kernels use the current rayon pool).
    pub fn run<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.pool.install(f)
    }
}
