//! Dev tool (not shipped, not run in CI): tunes and measures the attribution baselines.
//!
//! 1. Chooses `LinearConfig`'s hash size and C by 5-fold cross-validation on the TRAINING lines of
//!    the English development characters (the `bench style` set: en files with >= 300 lines, the
//!    noisy Harry Potter extractions left out); folds are whole 20-line blocks.
//! 2. With the chosen setting, fits `TfidfCentroids` and `LinearNgramClassifier` on each language's
//!    training lines and reports held-out accuracy / macro-F1 for single lines and 5-line windows
//!    (fold 4 of `eval::split_fold`), with fit times.
//!
//! cargo run -p kotodama-style --release --bin baseline-cv -- [DATA_DIR]   (default: $KOTODAMA_DATA)

use std::path::{Path, PathBuf};
use std::time::Instant;

use kotodama_style::baseline::{LinearConfig, LinearNgramClassifier, TfidfCentroids};
use kotodama_style::eval::{metrics, split_fold, Metrics, BLOCK, WINDOW};
use kotodama_style::Result;

const FOLDS: usize = 5;
const HASH_BITS: &[u32] = &[16, 18, 20];
const COSTS: &[f64] = &[0.1, 0.3, 1.0, 3.0];

/// (gold class, text) of one evaluation item.
type Item = (usize, String);

struct Speaker {
    name: String,
    train: Vec<String>,
    held_out: Vec<Vec<String>>,
}

fn main() -> Result<()> {
    let data = std::env::args_os()
        .nth(1)
        .or_else(|| std::env::var_os("KOTODAMA_DATA"))
        .map(PathBuf::from)
        .expect("DATA_DIR or KOTODAMA_DATA: the reference data folder (characters/)");
    let manifest = std::fs::read_to_string(data.join("characters/manifest.tsv"))?;
    let en = load(&data, &manifest, |lang, lines, notes| {
        lang == "en" && lines >= 300 && !notes.contains("Harry Potter")
    })?;
    let ja = load(&data, &manifest, |lang, _, _| lang == "ja")?;
    let zh = load(&data, &manifest, |lang, _, _| lang == "zh")?;

    println!(
        "## {FOLDS}-fold CV on the training lines of {} English characters",
        en.len()
    );
    println!("bits\tC\tline acc\tline macro-F1\tmean fit s");
    let mut best: Option<(f64, LinearConfig)> = None;
    for &hash_bits in HASH_BITS {
        for &c in COSTS {
            let config = LinearConfig {
                hash_bits,
                c,
                ..LinearConfig::default()
            };
            let (m, fit_s) = cross_validate(&en, &config);
            println!(
                "{hash_bits}\t{c}\t{:.3}\t{:.3}\t{fit_s:.2}",
                m.accuracy, m.macro_f1
            );
            if best.as_ref().is_none_or(|(f1, _)| m.macro_f1 > *f1) {
                best = Some((m.macro_f1, config));
            }
        }
    }
    let Some((_, config)) = best else {
        return Ok(());
    };
    println!("chosen: {config:?}\n");

    println!("## Held-out attribution (train 80% / held-out 20% by blocks of {BLOCK} lines)");
    println!("set\tmethod\tlines acc\tlines F1\twindows acc\twindows F1\tfit s");
    for (set, speakers) in [("en", &en), ("ja", &ja), ("zh", &zh)] {
        let classes: Vec<Vec<&str>> = speakers
            .iter()
            .map(|s| s.train.iter().map(String::as_str).collect())
            .collect();
        let (lines, windows) = held_out_items(speakers);
        let start = Instant::now();
        let centroids = TfidfCentroids::fit(&classes);
        let centroid_s = start.elapsed().as_secs_f64();
        report(
            set,
            "char-3-gram TF-IDF centroid",
            centroid_s,
            speakers.len(),
            &lines,
            &windows,
            |t| centroids.predict(t),
        );
        let start = Instant::now();
        let svm = LinearNgramClassifier::fit(&classes, &config);
        let svm_s = start.elapsed().as_secs_f64();
        report(
            set,
            "linear SVM char1-5+word1-2",
            svm_s,
            speakers.len(),
            &lines,
            &windows,
            |t| svm.predict(t),
        );
        println!(
            "  ({} classes, {} training lines, {} held-out lines, {} windows; solver passes max {})",
            speakers.len(),
            classes.iter().map(Vec::len).sum::<usize>(),
            lines.len(),
            windows.len(),
            svm.solver_passes().iter().max().unwrap_or(&0)
        );
    }
    Ok(())
}

/// Characters of the manifest rows that `keep(lang, lines, notes)` accepts, split for evaluation.
fn load(
    data: &Path,
    manifest: &str,
    keep: impl Fn(&str, usize, &str) -> bool,
) -> Result<Vec<Speaker>> {
    let mut out = Vec::new();
    for row in manifest.lines().skip(1) {
        let f: Vec<&str> = row.split('\t').collect();
        let (Some(file), Some(lang), Some(n), Some(notes)) =
            (f.first(), f.get(1), f.get(2), f.get(7))
        else {
            continue;
        };
        if !keep(lang, n.parse().unwrap_or(0), notes) {
            continue;
        }
        let lines: Vec<String> = std::fs::read_to_string(data.join("characters").join(file))?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect();
        let (train, held_out) = split_fold(&lines, kotodama_style::eval::FOLDS - 1);
        out.push(Speaker {
            name: file.to_string(),
            train,
            held_out,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// (gold, text) of every held-out line and of every full window of WINDOW consecutive lines.
fn held_out_items(speakers: &[Speaker]) -> (Vec<Item>, Vec<Item>) {
    let (mut lines, mut windows) = (Vec::new(), Vec::new());
    for (ci, s) in speakers.iter().enumerate() {
        for block in &s.held_out {
            lines.extend(block.iter().map(|l| (ci, l.clone())));
            windows.extend(
                block
                    .chunks(WINDOW)
                    .filter(|w| w.len() == WINDOW)
                    .map(|w| (ci, w.join("\n"))),
            );
        }
    }
    (lines, windows)
}

fn evaluate(items: &[Item], k: usize, predict: &impl Fn(&str) -> usize) -> Metrics {
    let gold: Vec<usize> = items.iter().map(|(g, _)| *g).collect();
    let predicted: Vec<usize> = items.iter().map(|(_, t)| predict(t)).collect();
    metrics(&gold, &predicted, k)
}

fn report(
    set: &str,
    method: &str,
    fit_s: f64,
    k: usize,
    lines: &[Item],
    windows: &[Item],
    predict: impl Fn(&str) -> usize,
) {
    let (l, w) = (evaluate(lines, k, &predict), evaluate(windows, k, &predict));
    println!(
        "{set}\t{method}\t{:.3}\t{:.3}\t{:.3}\t{:.3}\t{fit_s:.2}",
        l.accuracy, l.macro_f1, w.accuracy, w.macro_f1
    );
}

/// Pooled line metrics over FOLDS folds of the speakers' training lines (fold = block index mod
/// FOLDS, so neighbouring lines of one scene stay on one side), and the mean fit time in seconds.
fn cross_validate(speakers: &[Speaker], config: &LinearConfig) -> (Metrics, f64) {
    let fold_of = |i: usize| (i / BLOCK) % FOLDS;
    let (mut gold, mut predicted) = (Vec::new(), Vec::new());
    let mut fit_s = 0.0;
    for fold in 0..FOLDS {
        let classes: Vec<Vec<&str>> = speakers
            .iter()
            .map(|s| {
                s.train
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| fold_of(*i) != fold)
                    .map(|(_, l)| l.as_str())
                    .collect()
            })
            .collect();
        let start = Instant::now();
        let model = LinearNgramClassifier::fit(&classes, config);
        fit_s += start.elapsed().as_secs_f64();
        for (ci, s) in speakers.iter().enumerate() {
            for (_, line) in s
                .train
                .iter()
                .enumerate()
                .filter(|(i, _)| fold_of(*i) == fold)
            {
                gold.push(ci);
                predicted.push(model.predict(line));
            }
        }
    }
    (
        metrics(&gold, &predicted, speakers.len()),
        fit_s / FOLDS as f64,
    )
}
