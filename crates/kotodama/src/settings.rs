//! Settings the user changes: each persona's chat settings (sampler, out-of-character guard), checked
//! before they are stored, and the app's: theme, chat model, device and threads.

use kotodama_engine::{DeviceKind, LoadOptions};
use serde::{Deserialize, Serialize};

use crate::chat::guard::MAX_ATTEMPTS;
use crate::models::{ModelKind, ModelManager, DEVICE_ENV};
use crate::{Error, Kotodama, Result};

/// How a persona's replies are sampled and guarded. Stored as one JSON document; keys missing from it
/// (settings added later) read as their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", default)]
pub struct ChatSettings {
    pub temperature: f32,
    pub top_p: f32,
    pub min_p: f32,
    pub repetition_penalty: f32,
    pub guard: GuardSettings,
    /// The longest reply, in tokens; a reply cut there says so.
    pub max_reply_tokens: u32,
    /// Text that ends a reply where it appears (a model starting to speak for the user), itself left
    /// out; `{{user}}` and `{{char}}` are filled in.
    pub stop_strings: Vec<String>,
}

/// Role-play defaults: some variety, a penalty against the loops small models fall into.
impl Default for ChatSettings {
    fn default() -> Self {
        ChatSettings {
            temperature: 0.8,
            top_p: 0.95,
            min_p: 0.05,
            repetition_penalty: 1.15,
            guard: GuardSettings::default(),
            max_reply_tokens: 300,
            stop_strings: vec!["\n{{user}}:".into()],
        }
    }
}

/// What happens to a reply that scores below the threshold or carries out-of-character flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", default)]
pub struct GuardSettings {
    pub action: GuardAction,
    /// Replies written in all, the first included; the best is kept.
    pub attempts: u32,
    /// Overall style score (0..1) below which a reply is caught; None: from the persona's own script.
    pub threshold: Option<f64>,
}

/// Two attempts: one retry catches most slips, and each attempt is a whole reply's wait on a laptop CPU.
impl Default for GuardSettings {
    fn default() -> Self {
        GuardSettings {
            action: GuardAction::Regenerate,
            attempts: 2,
            threshold: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum GuardAction {
    /// Write the reply again.
    Regenerate,
    /// Rewrite the caught reply in the persona's voice (the rewrite task of the distilled adapter).
    Rewrite,
    /// Keep every reply as written; the style meter still flags it.
    Off,
}

/// The window's colour scheme; `System` follows the desktop's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

const THEME_KEY: &str = "theme";
const CHAT_MODEL_KEY: &str = "chat_model";
const RUNTIME_KEY: &str = "runtime";
const REMOTE_MODEL_KEY: &str = "remote_model";
const LOCAL_SERVER_KEY: &str = "local_server";

/// The app's switch for the local OpenAI-compatible server (other apps talk to the personas): on or
/// off, and the loopback port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct LocalServerSettings {
    pub enabled: bool,
    pub port: u16,
}

/// The local server as Settings shows it: the stored switch, where it listens now, or why it could
/// not start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct LocalServerStatus {
    pub settings: LocalServerSettings,
    /// The `/v1` address clients use, while it runs.
    pub url: Option<String>,
    pub error: Option<String>,
}

/// The local server's port unless the user picks another (beside Ollama's 11434).
pub const LOCAL_SERVER_PORT: u16 = 11435;

impl Default for LocalServerSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            port: LOCAL_SERVER_PORT,
        }
    }
}

/// A chat model the user serves elsewhere (Ollama, LM Studio, llama.cpp's server, KoboldCpp, OpenAI,
/// OpenRouter), reached through the OpenAI chat-completions API. Its API key is kept in the OS
/// keyring (`crate::secrets`), never here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RemoteModel {
    /// The server's base URL (`http://127.0.0.1:11434`) or its `/v1` root.
    pub url: String,
    /// The model's name on that server.
    pub model: String,
    /// The model's context length in tokens: the prompt is fitted to it.
    pub context_tokens: usize,
}

/// A served model's context length unless the user gives it (most current chat models have at least this).
pub const DEFAULT_REMOTE_CONTEXT: usize = 8192;

impl RemoteModel {
    /// The chat-completions endpoint of the server at `url` (its base or its `/v1` root).
    pub fn endpoint_of(url: &str) -> String {
        let base = url.trim().trim_end_matches('/');
        let base = base.strip_suffix("/v1").unwrap_or(base);
        format!("{base}/v1/chat/completions")
    }

    pub fn endpoint(&self) -> String {
        Self::endpoint_of(&self.url)
    }

    fn check(&self) -> Result<()> {
        let url = self.url.trim();
        let host = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
            .filter(|rest| !rest.is_empty() && !rest.starts_with('/'));
        if host.is_none() {
            return Err(Error::InvalidInput(format!(
                "the server's address must start with http:// or https:// (got {url:?})"
            )));
        }
        if self.model.trim().is_empty() {
            return Err(Error::InvalidInput(
                "name the model the server should use".into(),
            ));
        }
        if !(512..=4 << 20).contains(&self.context_tokens) {
            return Err(Error::InvalidInput(format!(
                "the context length must be between 512 and {} tokens (got {})",
                4 << 20,
                self.context_tokens
            )));
        }
        Ok(())
    }
}

/// Where models run and on how many CPU threads. Read when the app starts: candle sizes its thread
/// pool once per process, so a change applies from the next start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RuntimeSettings {
    /// `auto`, `cpu`, `cuda` or `metal`.
    pub device: String,
    /// 0 = all cores.
    pub threads: usize,
}

impl Default for RuntimeSettings {
    fn default() -> Self {
        RuntimeSettings {
            device: "auto".into(),
            threads: 0,
        }
    }
}

/// Refuses values the sampler or the guard cannot use, naming the setting and its range.
fn check(s: &ChatSettings) -> Result<()> {
    let ranges: [(&str, f64, f64, f64); 4] = [
        ("temperature", s.temperature.into(), 0.0, 2.0),
        ("top-p", s.top_p.into(), 0.01, 1.0),
        ("min-p", s.min_p.into(), 0.0, 0.99),
        ("repetition penalty", s.repetition_penalty.into(), 1.0, 2.0),
    ];
    for (name, value, lo, hi) in ranges {
        if !(lo..=hi).contains(&value) {
            return Err(Error::InvalidInput(format!(
                "{name} must be between {lo} and {hi} (got {value})"
            )));
        }
    }
    if !(1..=MAX_ATTEMPTS).contains(&s.guard.attempts) {
        return Err(Error::InvalidInput(format!(
            "the guard writes 1 to {MAX_ATTEMPTS} replies per message (got {})",
            s.guard.attempts
        )));
    }
    if let Some(t) = s.guard.threshold.filter(|t| !(0.0..=1.0).contains(t)) {
        return Err(Error::InvalidInput(format!(
            "the guard's threshold is a style score between 0 and 1 (got {t})"
        )));
    }
    if !(MIN_REPLY_TOKENS..=MAX_REPLY_TOKENS).contains(&s.max_reply_tokens) {
        return Err(Error::InvalidInput(format!(
            "the longest reply must be between {MIN_REPLY_TOKENS} and {MAX_REPLY_TOKENS} tokens (got {})",
            s.max_reply_tokens
        )));
    }
    check_stop_strings(&s.stop_strings)
}

/// Refuses stop strings a model could not use: too many, empty, or too long.
pub(crate) fn check_stop_strings(stop: &[String]) -> Result<()> {
    if stop.len() > MAX_STOP_STRINGS {
        return Err(Error::InvalidInput(format!(
            "at most {MAX_STOP_STRINGS} stop strings (got {})",
            stop.len()
        )));
    }
    if let Some(bad) = stop
        .iter()
        .find(|t| t.trim().is_empty() || t.chars().count() > MAX_STOP_CHARS)
    {
        return Err(Error::InvalidInput(format!(
            "a stop string must have text and at most {MAX_STOP_CHARS} characters (got {bad:?})"
        )));
    }
    Ok(())
}

/// Bounds of a persona's reply length, in tokens.
pub const MIN_REPLY_TOKENS: u32 = 16;
pub const MAX_REPLY_TOKENS: u32 = 4096;
/// OpenAI's API takes four stop sequences; local servers more. Eight is plenty for names and markers.
const MAX_STOP_STRINGS: usize = 8;
const MAX_STOP_CHARS: usize = 64;

impl Kotodama {
    pub fn chat_settings(&self, persona_id: i64) -> Result<ChatSettings> {
        Ok(self.store.chat_settings(persona_id)?)
    }

    /// Stores the persona's chat settings once checked; its next reply uses them.
    pub fn set_chat_settings(&mut self, persona_id: i64, settings: &ChatSettings) -> Result<()> {
        check(settings)?;
        Ok(self.store.set_chat_settings(persona_id, settings)?)
    }

    pub fn theme(&self) -> Result<Theme> {
        let stored = self.store.app_setting(THEME_KEY)?;
        Ok(stored
            .and_then(|t| serde_json::from_value(serde_json::Value::String(t)).ok())
            .unwrap_or_default())
    }

    /// The chat model the user chose (an installed model's id), None for the default.
    pub fn chat_model(&self) -> Result<Option<String>> {
        Ok(self.store.app_setting(CHAT_MODEL_KEY)?)
    }

    /// Chooses which installed chat model answers; it must be installed.
    pub fn set_chat_model(&mut self, id: &str) -> Result<()> {
        let installed = ModelManager::new(self.home.models_dir()).list()?;
        if !installed
            .iter()
            .any(|m| m.id == id && m.kind == ModelKind::Chat)
        {
            return Err(Error::InvalidInput(format!(
                "no chat model \"{id}\" is installed"
            )));
        }
        Ok(self.store.set_app_setting(CHAT_MODEL_KEY, id)?)
    }

    pub fn local_server(&self) -> Result<LocalServerSettings> {
        Ok(self
            .store
            .app_setting(LOCAL_SERVER_KEY)?
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default())
    }

    /// Stores the local server's switch; a port below 1024 (the system's) is refused.
    pub fn set_local_server(&mut self, settings: &LocalServerSettings) -> Result<()> {
        if settings.port < 1024 {
            return Err(Error::InvalidInput(format!(
                "the port must be 1024 or above (got {})",
                settings.port
            )));
        }
        let json =
            serde_json::to_string(settings).map_err(|e| Error::InvalidInput(e.to_string()))?;
        Ok(self.store.set_app_setting(LOCAL_SERVER_KEY, &json)?)
    }

    /// The served model chats use instead of the local engine, if the user chose one.
    pub fn remote_model(&self) -> Result<Option<RemoteModel>> {
        Ok(self
            .store
            .app_setting(REMOTE_MODEL_KEY)?
            .filter(|json| !json.is_empty())
            .and_then(|json| serde_json::from_str(&json).ok()))
    }

    /// Chooses a served model for chats (checked first), or the local engine again (None).
    pub fn set_remote_model(&mut self, remote: Option<&RemoteModel>) -> Result<()> {
        let json = match remote {
            Some(r) => {
                r.check()?;
                serde_json::to_string(r).map_err(|e| Error::InvalidInput(e.to_string()))?
            }
            None => String::new(),
        };
        Ok(self.store.set_app_setting(REMOTE_MODEL_KEY, &json)?)
    }

    pub fn runtime(&self) -> Result<RuntimeSettings> {
        Ok(match self.store.app_setting(RUNTIME_KEY)? {
            Some(json) => serde_json::from_str(&json).unwrap_or_default(),
            None => RuntimeSettings::default(),
        })
    }

    /// Stores where models run from the next start; a device this machine cannot name is refused.
    pub fn set_runtime(&mut self, runtime: &RuntimeSettings) -> Result<()> {
        DeviceKind::from_choice(&runtime.device)
            .map_err(|e| Error::InvalidInput(format!("device: {e}")))?;
        let json = serde_json::to_string(runtime)
            .map_err(|e| Error::InvalidInput(format!("runtime settings: {e}")))?;
        Ok(self.store.set_app_setting(RUNTIME_KEY, &json)?)
    }

    /// How models load in this process: `$KOTODAMA_DEVICE` when set (a launch's explicit choice), else
    /// the stored device; the stored thread count.
    pub fn load_options(&self) -> Result<LoadOptions> {
        let runtime = self.runtime()?;
        let device = match std::env::var(DEVICE_ENV).ok().filter(|d| !d.is_empty()) {
            Some(_) => crate::models::device_from_env()?,
            None => DeviceKind::from_choice(&runtime.device)
                .map_err(|e| Error::InvalidInput(format!("device: {e}")))?,
        };
        Ok(LoadOptions {
            device,
            threads: runtime.threads,
        })
    }

    pub fn set_theme(&mut self, theme: Theme) -> Result<()> {
        let text = serde_json::to_value(theme)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        Ok(self.store.set_app_setting(THEME_KEY, &text)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Home;

    #[test]
    fn settings_stored_before_a_new_key_existed_read_it_as_its_default() {
        let read: ChatSettings = serde_json::from_str(r#"{"temperature": 0.5}"#).unwrap();
        assert_eq!(read.temperature, 0.5);
        assert_eq!(read.guard, GuardSettings::default());
        assert_eq!(
            read.max_reply_tokens,
            ChatSettings::default().max_reply_tokens
        );
    }

    #[test]
    fn chat_settings_are_checked_and_kept_per_persona() {
        let dir = tempfile::tempdir().unwrap();
        let mut app = Kotodama::open(Home::at(dir.path())).unwrap();
        let personas = app.personas().unwrap();
        let (a, b) = (personas[0].id, personas[1].id);
        let mut mine = app.chat_settings(a).unwrap();
        mine.temperature = 0.4;
        mine.guard.action = GuardAction::Off;
        app.set_chat_settings(a, &mine).unwrap();
        assert_eq!(app.chat_settings(a).unwrap(), mine);
        assert_eq!(app.chat_settings(b).unwrap(), ChatSettings::default());

        for (bad, named) in [
            (
                ChatSettings {
                    temperature: 3.0,
                    ..mine.clone()
                },
                "temperature",
            ),
            (
                ChatSettings {
                    top_p: 0.0,
                    ..mine.clone()
                },
                "top-p",
            ),
            (
                ChatSettings {
                    max_reply_tokens: 8,
                    ..mine.clone()
                },
                "longest reply",
            ),
            (
                ChatSettings {
                    stop_strings: vec!["  ".into()],
                    ..mine.clone()
                },
                "stop string",
            ),
        ] {
            let err = app.set_chat_settings(a, &bad).unwrap_err();
            assert_eq!(err.code(), "INVALID_INPUT");
            assert!(err.to_string().contains(named), "{err}");
        }
        let mut bad = mine.clone();
        bad.guard.attempts = 0;
        assert!(app.set_chat_settings(a, &bad).is_err());
        bad.guard.attempts = 2;
        bad.guard.threshold = Some(1.5);
        assert!(app.set_chat_settings(a, &bad).is_err());
        assert_eq!(
            app.chat_settings(a).unwrap(),
            mine,
            "refused settings change nothing"
        );
    }

    #[test]
    fn a_served_model_needs_an_http_address_a_name_and_a_sane_context_and_can_be_left() {
        let (_dir, mut app) = crate::temp_app();
        assert_eq!(app.remote_model().unwrap(), None);
        let good = RemoteModel {
            url: "http://127.0.0.1:11434".into(),
            model: "qwen3:8b".into(),
            context_tokens: DEFAULT_REMOTE_CONTEXT,
        };
        for (bad, named) in [
            (
                RemoteModel {
                    url: "127.0.0.1:11434".into(),
                    ..good.clone()
                },
                "http://",
            ),
            (
                RemoteModel {
                    model: " ".into(),
                    ..good.clone()
                },
                "name the model",
            ),
            (
                RemoteModel {
                    context_tokens: 100,
                    ..good.clone()
                },
                "context length",
            ),
        ] {
            let err = app.set_remote_model(Some(&bad)).unwrap_err();
            assert!(err.to_string().contains(named), "{err}");
        }
        app.set_remote_model(Some(&good)).unwrap();
        assert_eq!(app.remote_model().unwrap(), Some(good.clone()));
        assert_eq!(
            good.endpoint(),
            "http://127.0.0.1:11434/v1/chat/completions"
        );
        assert_eq!(
            RemoteModel::endpoint_of("https://openrouter.ai/api/v1/"),
            "https://openrouter.ai/api/v1/chat/completions"
        );
        app.set_remote_model(None).unwrap();
        assert_eq!(app.remote_model().unwrap(), None);
    }

    #[test]
    fn the_chat_model_must_be_installed_and_the_runtime_device_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let mut app = Kotodama::open(Home::at(dir.path())).unwrap();
        assert_eq!(app.chat_model().unwrap(), None);
        let err = app.set_chat_model("qwen3-1.7b").unwrap_err();
        assert!(
            err.to_string().contains("no chat model \"qwen3-1.7b\""),
            "{err}"
        );
        if let Some(gguf) = std::env::var_os("KOTODAMA_SMOLLM2_GGUF") {
            ModelManager::new(app.home().models_dir())
                .add_file("smol", std::path::Path::new(&gguf))
                .unwrap();
            app.set_chat_model("smol").unwrap();
            assert_eq!(app.chat_model().unwrap().as_deref(), Some("smol"));
        }

        assert_eq!(app.runtime().unwrap(), RuntimeSettings::default());
        let two = RuntimeSettings {
            device: "cpu".into(),
            threads: 2,
        };
        app.set_runtime(&two).unwrap();
        assert_eq!(app.runtime().unwrap(), two);
        let bad = RuntimeSettings {
            device: "tpu".into(),
            threads: 1,
        };
        assert_eq!(app.set_runtime(&bad).unwrap_err().code(), "INVALID_INPUT");
        assert_eq!(app.runtime().unwrap(), two);
        if std::env::var_os(DEVICE_ENV).is_none() {
            let load = app.load_options().unwrap();
            assert_eq!((load.device, load.threads), (DeviceKind::Cpu, 2));
        }
    }

    #[test]
    fn the_theme_follows_the_system_until_chosen() {
        let dir = tempfile::tempdir().unwrap();
        let mut app = Kotodama::open(Home::at(dir.path())).unwrap();
        assert_eq!(app.theme().unwrap(), Theme::System);
        app.set_theme(Theme::Dark).unwrap();
        drop(app);
        let app = Kotodama::open(Home::at(dir.path())).unwrap();
        assert_eq!(app.theme().unwrap(), Theme::Dark);
    }
}
