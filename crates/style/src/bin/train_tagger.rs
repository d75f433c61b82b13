//! Trains the bundled POS tagger and writes assets/style/tagger.bin.gz: UD English-EWT (train
//! split, XPOS) as the main treebank, the GUM documents of GUM's own train split as auxiliary
//! text, and WordNet 3.0 (Debian package wordnet-base) for the parts of speech of words.
//! Reports accuracy on EWT dev and test and the tagging speed.
//!
//! apt-get install wordnet-base
//! cargo run -p kotodama-style --release --bin train-tagger -- [EWT_DIR] [OUT] [GUM_DIR] [WORDNET_DIR]

use std::path::{Path, PathBuf};

use kotodama_style::treebank::{self, TaggedSentence};
use kotodama_style::wordnet::{self, WordNet};
use kotodama_style::{tagger, Result};

fn main() -> Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data = PathBuf::from(
        std::env::var_os("KOTODAMA_DATA")
            .expect("KOTODAMA_DATA: the reference data folder (characters/, treebanks/)"),
    );
    let mut args = std::env::args().skip(1);
    let mut arg = |default: PathBuf| args.next().map_or(default, PathBuf::from);
    let ewt = arg(data.join("treebanks/ud_english_ewt"));
    let out = arg(root.join("assets/style/tagger.bin.gz"));
    let gum = arg(data.join("treebanks/gum_const"));
    let wordnet_dir = arg(PathBuf::from("/usr/share/wordnet"));
    let read = |split: &str| -> Result<Vec<TaggedSentence>> {
        let path = ewt.join(format!("en_ewt-ud-{split}.conllu"));
        treebank::read_conllu(
            &std::fs::read_to_string(&path)?,
            &path.display().to_string(),
        )
    };
    let (train, dev, test) = (read("train")?, read("dev")?, read("test")?);
    let auxiliary = gum_train(&gum)?;
    let wordnet = read_wordnet(&wordnet_dir)?;
    eprintln!(
        "EWT train: {} sentences; GUM train: {} sentences; WordNet: {} forms",
        train.len(),
        auxiliary.len(),
        wordnet.len()
    );
    let iterations: usize = std::env::var("TAGGER_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let started = std::time::Instant::now();
    let model = tagger::train(&train, &auxiliary, &wordnet, iterations, |run, it, acc| {
        eprintln!(
            "run {run}, iteration {it}/{iterations}: train accuracy {:.2}%",
            acc * 100.0
        );
    });
    eprintln!(
        "trained in {:.1}s; {} features",
        started.elapsed().as_secs_f64(),
        model.feature_count()
    );
    let bytes = model.to_bytes();
    let loading = std::time::Instant::now();
    let quantized = tagger::Tagger::from_bytes(&bytes)?;
    eprintln!("loads in {:.0} ms", loading.elapsed().as_secs_f64() * 1e3);
    for (name, data) in [("dev", &dev), ("test", &test)] {
        let (c, t) = quantized.accuracy(data);
        eprintln!(
            "{name} accuracy {:.2}% ({c}/{t})",
            100.0 * c as f64 / t as f64
        );
    }
    eprintln!(
        "{:.0} tokens/s (EWT test, one thread)",
        tokens_per_second(&quantized, &test)
    );
    std::fs::write(&out, &bytes)?;
    eprintln!("wrote {} ({} bytes)", out.display(), bytes.len());
    Ok(())
}

/// Single-thread tagging speed over `data` (best of three passes, to damp scheduling noise).
fn tokens_per_second(model: &tagger::Tagger, data: &[TaggedSentence]) -> f64 {
    let sentences: Vec<Vec<&str>> = data
        .iter()
        .map(|s| s.iter().map(|(w, _)| w.as_str()).collect())
        .collect();
    let tokens: usize = sentences.iter().map(Vec::len).sum();
    let best = (0..3)
        .map(|_| {
            let started = std::time::Instant::now();
            for s in &sentences {
                std::hint::black_box(model.tag(s));
            }
            started.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    tokens as f64 / best
}

/// The sentences of the documents in GUM's own train split (listed in its splits.md).
fn gum_train(dir: &Path) -> Result<Vec<TaggedSentence>> {
    let splits = std::fs::read_to_string(dir.join("splits.md"))?;
    let mut out = Vec::new();
    let mut section = "";
    for line in splits.lines() {
        if let Some(name) = line.strip_prefix("## ") {
            section = name.trim();
        } else if let Some(doc) = line.trim().strip_prefix("* ") {
            let path = dir.join(format!("{doc}.ptb"));
            // The reddit documents are listed but not distributed.
            if section == "train" && path.exists() {
                out.extend(treebank::read_ptb_tagged(
                    &std::fs::read_to_string(&path)?,
                    doc,
                )?);
            }
        }
    }
    Ok(out)
}

fn read_wordnet(dir: &Path) -> Result<WordNet> {
    let mut wn = WordNet::default();
    for (index, exceptions, bit) in wordnet::FILES {
        wn.add_index(&std::fs::read_to_string(dir.join(index))?, bit);
        wn.add_exceptions(&std::fs::read_to_string(dir.join(exceptions))?, bit);
    }
    Ok(wn)
}
