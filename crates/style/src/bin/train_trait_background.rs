//! Measures the Japanese and Chinese pragmatic-trait backgrounds and writes
//! assets/style/traits_cjk.json.gz. Each trait's `Source` says where its rate comes from:
//! wordfreq word frequencies (marker words), UD GSD dev+test sentences (sentence length and marks
//! ordinary prose lacks), or GUM's conversational tallies in the grammar asset (sentence types).
//!
//! python3 tools/style/dump_wordfreq.py /tmp/wordfreq
//! cargo run -p kotodama-style --release --bin train-trait-background -- [WORDFREQ_DIR] [OUT]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use kotodama_style::grammar::Grammar;
use kotodama_style::pragmatics::background::CjkTraitBackgrounds;
use kotodama_style::pragmatics::{self, forms, Context, Measure, Source, Tally, TraitCounts};
use kotodama_style::text::Language;
use kotodama_style::treebank;

/// Letters the word-frequency rates stand for: the rates are exact proportions of a corpus of
/// billions of words, so the background's own sampling error is negligible next to a
/// character's; this only has to be large against any script.
const WORD_FREQUENCY_LETTERS: f64 = 1e7;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data = PathBuf::from(
        std::env::var_os("KOTODAMA_DATA")
            .expect("KOTODAMA_DATA: the reference data folder (characters/, treebanks/)"),
    );
    let mut args = std::env::args().skip(1);
    let wordfreq = args
        .next()
        .map_or_else(|| PathBuf::from("/tmp/wordfreq"), PathBuf::from);
    let out = args.next().map_or_else(
        || root.join("assets/style/traits_cjk.json.gz"),
        PathBuf::from,
    );
    let treebanks = data.join("treebanks");
    let grammar = Grammar::from_bytes(&std::fs::read(root.join("assets/style/grammar.txt.gz"))?)?;
    let gum = &grammar.background_trait_counts;

    let ja = measure(
        Language::Ja,
        &treebanks.join("ud_japanese_gsd/ja_gsd-ud"),
        &wordfreq.join("ja.tsv"),
        gum,
    )?;
    let zh = measure(
        Language::Zh,
        &treebanks.join("ud_chinese_gsdsimp/zh_gsdsimp-ud"),
        &wordfreq.join("zh.tsv"),
        gum,
    )?;
    let bytes = CjkTraitBackgrounds { ja, zh }.to_gzip()?;
    std::fs::write(&out, &bytes)?;
    eprintln!("wrote {} ({} bytes)", out.display(), bytes.len());
    Ok(())
}

fn measure(
    lang: Language,
    treebank_prefix: &Path,
    wordfreq: &Path,
    gum: &TraitCounts,
) -> Result<TraitCounts, Box<dyn std::error::Error>> {
    let mut texts = Vec::new();
    for split in ["dev", "test"] {
        let path = format!("{}-{split}.conllu", treebank_prefix.display());
        let conllu =
            std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e} (KOTODAMA_DATA)"))?;
        texts.extend(treebank::sentence_texts(&conllu).map(str::to_string));
    }
    let lines: Vec<&str> = texts.iter().map(String::as_str).collect();
    let doc = kotodama_style::doc::prepare(&lines, &|t| vec![0; t.len()]);
    let ctx = Context {
        self_names: &[],
        language: lang,
    };
    let treebank = pragmatics::tally(&doc.sentences, &ctx);

    let freqs = read_frequencies(wordfreq)?;
    // Summed in file order so that the asset is byte-reproducible.
    let letters_per_unit: f64 = freqs
        .iter()
        .map(|(w, f)| f * forms::letters(w) as f64)
        .sum();
    let freqs: HashMap<&str, f64> = freqs.iter().map(|(w, f)| (w.as_str(), *f)).collect();

    let mut counts = TraitCounts::new();
    for def in pragmatics::defs(lang) {
        let tally = match (def.source, &def.measure) {
            (Source::Conversation, _) => *gum
                .get(def.name)
                .ok_or_else(|| format!("{}: not in the GUM tallies", def.name))?,
            (Source::Treebank, _) => treebank[def.name],
            (Source::WordFrequency, Measure::Forms(set)) => {
                let f: f64 = set.forms.iter().filter_map(|w| freqs.get(*w)).sum();
                let hits = WORD_FREQUENCY_LETTERS * f / letters_per_unit;
                Tally {
                    hits,
                    hits_sq: hits,
                    sentences: 0.0,
                    tokens: WORD_FREQUENCY_LETTERS,
                }
            }
            (Source::WordFrequency, Measure::Custom(_)) => {
                return Err(format!("{}: a word-frequency background needs forms", def.name).into())
            }
        };
        eprintln!(
            "{} {:<28} {:>9.3}  ({:?})",
            lang.code(),
            def.name,
            tally.value(def.unit),
            def.source
        );
        counts.insert(def.name.to_string(), tally);
    }
    eprintln!(
        "{}: {} treebank sentences, {} wordfreq words",
        lang.code(),
        doc.sentences.len(),
        freqs.len()
    );
    Ok(counts)
}

fn read_frequencies(path: &Path) -> Result<Vec<(String, f64)>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "{}: {e} (run tools/style/dump_wordfreq.py first)",
            path.display()
        )
    })?;
    text.lines()
        .map(|l| {
            let (w, f) = l
                .split_once('\t')
                .ok_or_else(|| format!("bad line {l:.40}"))?;
            Ok((w.to_string(), f.parse::<f64>()?))
        })
        .collect()
}
