//! Trains the bundled POS tagger on UD English-EWT (train split, XPOS) and writes
//! assets/style/tagger.bin.gz.
//!
//! cargo run -p kotodama-style --release --bin train-tagger -- [EWT_DIR] [OUT]

use std::path::PathBuf;

use kotodama_style::{tagger, treebank};

fn main() -> kotodama_style::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut args = std::env::args().skip(1);
    let ewt = args.next().map_or_else(
        || root.join("../shared/data/treebanks/ud_english_ewt"),
        PathBuf::from,
    );
    let out = args
        .next()
        .map_or_else(|| root.join("assets/style/tagger.bin.gz"), PathBuf::from);
    let read = |split: &str| -> kotodama_style::Result<Vec<treebank::TaggedSentence>> {
        let path = ewt.join(format!("en_ewt-ud-{split}.conllu"));
        treebank::read_conllu(
            &std::fs::read_to_string(&path)?,
            &path.display().to_string(),
        )
    };
    let train = read("train")?;
    let dev = read("dev")?;
    let iterations: usize = std::env::var("TAGGER_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let started = std::time::Instant::now();
    let model = tagger::train(&train, iterations, |it, acc| {
        eprintln!(
            "iteration {it}/{iterations}: train accuracy {:.2}%",
            acc * 100.0
        );
    });
    let (c, t) = model.accuracy(&dev);
    eprintln!(
        "trained in {:.1}s; {} features; dev accuracy {:.2}% ({c}/{t})",
        started.elapsed().as_secs_f64(),
        model.feature_count(),
        100.0 * c as f64 / t as f64
    );
    let bytes = model.to_bytes();
    let (c, t) = tagger::Tagger::from_bytes(&bytes)?.accuracy(&dev);
    eprintln!(
        "quantized model: dev accuracy {:.2}%",
        100.0 * c as f64 / t as f64
    );
    let (c, t) = tagger::Tagger::from_bytes(&bytes)?.accuracy(&read("test")?);
    eprintln!(
        "quantized model: test accuracy {:.2}%",
        100.0 * c as f64 / t as f64
    );
    std::fs::write(&out, &bytes)?;
    eprintln!("wrote {} ({} bytes)", out.display(), bytes.len());
    Ok(())
}
