//! Chat templates: the model's own Jinja template rendered with minijinja configured like Hugging Face's
//! `apply_chat_template` (trim_blocks, lstrip_blocks, Python string methods, HF's `tojson`), so that the
//! prompt is byte-identical to what the model was trained on.

use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Kwargs, Serde, Value};
use minijinja::{context, Environment, ErrorKind};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const TEMPLATE_NAME: &str = "chat";

/// ChatML, used when a model ships no template.
pub const CHATML_TEMPLATE: &str = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: content.into(),
        }
    }
}

/// A compiled chat template.
pub struct ChatTemplate {
    env: Environment<'static>,
    bos_token: String,
    eos_token: String,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate").finish_non_exhaustive()
    }
}

fn template_err(e: minijinja::Error) -> Error {
    // The alternate form includes the template line the error points at.
    Error::Template(format!("{e:#}"))
}

impl ChatTemplate {
    pub fn new(source: &str, bos_token: Option<&str>, eos_token: Option<&str>) -> Result<Self> {
        let mut env = Environment::new();
        let syntax = SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(template_err)?;
        env.set_syntax(syntax);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_filter("tojson", hf_tojson);
        env.add_function(
            "raise_exception",
            |message: String| -> std::result::Result<Value, minijinja::Error> {
                Err(minijinja::Error::new(ErrorKind::InvalidOperation, message))
            },
        );
        env.add_template_owned(TEMPLATE_NAME, source.to_string())
            .map_err(template_err)?;
        Ok(Self {
            env,
            bos_token: bos_token.unwrap_or_default().into(),
            eos_token: eos_token.unwrap_or_default().into(),
        })
    }

    pub fn chatml() -> Self {
        Self::new(CHATML_TEMPLATE, None, None).expect("the built-in ChatML template compiles")
    }

    /// Renders `messages`, ending with the assistant header when `add_generation_prompt`.
    /// `enable_thinking = false` selects Qwen3's non-thinking mode (other templates ignore it).
    pub fn render(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
        enable_thinking: bool,
    ) -> Result<String> {
        let template = self.env.get_template(TEMPLATE_NAME).map_err(template_err)?;
        template
            .render(context! {
                messages => Value::from(Serde(messages)),
                add_generation_prompt => add_generation_prompt,
                enable_thinking => enable_thinking,
                bos_token => self.bos_token.as_str(),
                eos_token => self.eos_token.as_str(),
            })
            .map_err(template_err)
    }
}

/// HF's `tojson`: Python's `json.dumps(x, ensure_ascii=False, indent=indent)`. Unlike minijinja's built-in
/// it leaves `< > & '` unescaped and puts a space after `,` and `:`.
fn hf_tojson(value: Value, kwargs: Kwargs) -> std::result::Result<Value, minijinja::Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    let _: Option<bool> = kwargs.get("ensure_ascii")?;
    let _: Option<bool> = kwargs.get("sort_keys")?;
    kwargs.assert_all_used()?;
    let json = serde_json::to_value(&value)
        .map_err(|e| minijinja::Error::new(ErrorKind::BadSerialization, e.to_string()))?;
    let mut out = String::new();
    write_python_json(&json, indent, 0, &mut out);
    Ok(Value::from_safe_string(out))
}

fn write_python_json(v: &serde_json::Value, indent: Option<usize>, depth: usize, out: &mut String) {
    use serde_json::Value as J;
    // Python: separators (", ", ": ") without indent, ("," + newline, ": ") with it.
    let newline = |out: &mut String, depth: usize| {
        if let Some(n) = indent {
            out.push('\n');
            out.push_str(&" ".repeat(n * depth));
        }
    };
    let item_sep = if indent.is_some() { "," } else { ", " };
    match v {
        J::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, depth + 1);
                write_python_json(item, indent, depth + 1, out);
            }
            newline(out, depth);
            out.push(']');
        }
        J::Object(map) if !map.is_empty() => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, depth + 1);
                out.push_str(&J::String(k.clone()).to_string());
                out.push_str(": ");
                write_python_json(item, indent, depth + 1, out);
            }
            newline(out, depth);
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_models;

    fn conversation() -> Vec<ChatMessage> {
        vec![
            ChatMessage::new("system", "You are Aki."),
            ChatMessage::new("user", "Hello"),
            ChatMessage::new("assistant", "Hi there!"),
            ChatMessage::new("user", "How are you?"),
        ]
    }

    #[test]
    fn chatml_fallback_renders_turns_and_generation_prompt() {
        let out = ChatTemplate::chatml()
            .render(&conversation()[..2], true, true)
            .unwrap();
        assert_eq!(out, "<|im_start|>system\nYou are Aki.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n");
    }

    #[test]
    fn qwen3_template_non_thinking_mode_matches_hf() {
        let Some(path) = test_models::qwen3_tokenizer_json() else {
            return;
        };
        let config: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(path.with_file_name("tokenizer_config.json")).unwrap(),
        )
        .unwrap();
        let template = ChatTemplate::new(
            config["chat_template"].as_str().unwrap(),
            None,
            Some("<|im_end|>"),
        )
        .unwrap();
        // Expected string: transformers' apply_chat_template(..., add_generation_prompt=True, enable_thinking=False).
        let expected = "<|im_start|>system\nYou are Aki.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi there!<|im_end|>\n<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n";
        assert_eq!(
            template.render(&conversation(), true, false).unwrap(),
            expected
        );
        // Thinking mode leaves the assistant turn open; earlier reasoning is stripped from history.
        let mut history = conversation();
        history[2].content = "<think>\nplan\n</think>\n\nHi there!".into();
        let thinking = template.render(&history, true, true).unwrap();
        assert!(
            thinking.ends_with("<|im_start|>assistant\n"),
            "{thinking:?}"
        );
        assert!(!thinking.contains("plan"), "{thinking:?}");
    }

    #[test]
    fn hf_tojson_uses_python_separators_without_html_escaping() {
        let t =
            ChatTemplate::new("{{ x | tojson }}|{{ x | tojson(indent=2) }}", None, None).unwrap();
        let env_out = t.env.get_template(TEMPLATE_NAME).unwrap().render(context! { x => Value::from(Serde(serde_json::json!({"a": "<b>&'", "l": [1, 2]}))) }).unwrap();
        assert_eq!(env_out, "{\"a\": \"<b>&'\", \"l\": [1, 2]}|{\n  \"a\": \"<b>&'\",\n  \"l\": [\n    1,\n    2\n  ]\n}");
    }

    #[test]
    fn template_errors_are_reported() {
        assert!(ChatTemplate::new("{% if %}", None, None).is_err());
        let t =
            ChatTemplate::new("{{ raise_exception('roles must alternate') }}", None, None).unwrap();
        let err = t.render(&[], true, true).unwrap_err().to_string();
        assert!(err.contains("roles must alternate"), "{err}");
    }
}
