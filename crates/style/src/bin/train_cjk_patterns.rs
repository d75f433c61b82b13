//! Counts the Japanese and Chinese syntactic patterns (`cjk_patterns`) of the UD GSD dev+test
//! sentences, segmented by the analyzer's own segmenters, and writes
//! assets/style/cjk_patterns.txt.gz: the backgrounds that ja/zh profiles' patterns are ranked
//! and scored against.
//!
//! cargo run -p kotodama-style --release --bin train-cjk-patterns -- [OUT]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kotodama_style::cjk_patterns::{self, CjkPatternBackgrounds};
use kotodama_style::syntax::RuleBackground;
use kotodama_style::text::Language;
use kotodama_style::treebank;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data = PathBuf::from(
        std::env::var_os("KOTODAMA_DATA")
            .expect("KOTODAMA_DATA: the reference data folder (characters/, treebanks/)"),
    );
    let out = std::env::args().nth(1).map_or_else(
        || root.join("assets/style/cjk_patterns.txt.gz"),
        PathBuf::from,
    );
    let treebanks = data.join("treebanks");
    let backgrounds = CjkPatternBackgrounds {
        ja: count(Language::Ja, &treebanks.join("ud_japanese_gsd/ja_gsd-ud"))?,
        zh: count(
            Language::Zh,
            &treebanks.join("ud_chinese_gsdsimp/zh_gsdsimp-ud"),
        )?,
    };
    let bytes = backgrounds.to_gzip()?;
    std::fs::write(&out, &bytes)?;
    eprintln!("wrote {} ({} bytes)", out.display(), bytes.len());
    Ok(())
}

/// Pattern counts of a treebank's dev and test `# text` lines.
fn count(lang: Language, prefix: &Path) -> Result<RuleBackground, Box<dyn std::error::Error>> {
    let mut texts = Vec::new();
    for split in ["dev", "test"] {
        let path = format!("{}-{split}.conllu", prefix.display());
        let conllu =
            std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e} (KOTODAMA_DATA)"))?;
        texts.extend(treebank::sentence_texts(&conllu).map(str::to_string));
    }
    let lines: Vec<&str> = texts.iter().map(String::as_str).collect();
    // Only the segmenter runs for these languages: no English tagger needed.
    let doc = kotodama_style::doc::prepare(&lines, &|t| vec![0; t.len()]);
    if doc.language != lang {
        return Err(format!("{}: read as {:?}", prefix.display(), doc.language).into());
    }
    let mut counts = BTreeMap::new();
    for s in &doc.sentences {
        for p in cjk_patterns::sentence_patterns(lang, s) {
            *counts.entry(p).or_insert(0u32) += 1;
        }
    }
    let bg = RuleBackground::from_counts(counts);
    eprintln!(
        "{}: {} sentences, {} pattern uses, {} distinct",
        lang.code(),
        doc.sentences.len(),
        bg.total,
        bg.types
    );
    Ok(bg)
}
