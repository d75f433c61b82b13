//! Benchmarks over in-memory data (the CLI reads the files): speaker attribution with the profile
//! scorer, its ablations and the TF-IDF baseline; analysis throughput.

use crate::baseline::TfidfCentroids;
use crate::error::Result;
use crate::profile::{analyze_speaker, StyleProfile};
use crate::resources::Resources;
use crate::scoring::{attribute_prepared, prepare_text, Weights};

/// Each character contributes at most this many lines, so that no character dominates.
pub const MAX_LINES: usize = 400;
/// Lines are split into blocks of consecutive lines; every fifth block is held out (80/20).
pub const BLOCK: usize = 20;
pub const WINDOW: usize = 5;

pub struct Character {
    pub name: String,
    pub lines: Vec<String>,
}

/// (training lines, held-out blocks) of one character.
pub fn split_blocks(lines: &[String]) -> (Vec<String>, Vec<Vec<String>>) {
    let lines = &lines[..lines.len().min(MAX_LINES)];
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (i, block) in lines.chunks(BLOCK).enumerate() {
        if i % 5 == 4 {
            test.push(block.to_vec());
        } else {
            train.extend_from_slice(block);
        }
    }
    (train, test)
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metrics {
    pub accuracy: f64,
    pub macro_f1: f64,
    pub n: usize,
}

pub fn metrics(gold: &[usize], predicted: &[usize], classes: usize) -> Metrics {
    let n = gold.len();
    let correct = gold.iter().zip(predicted).filter(|(g, p)| g == p).count();
    let f1s: Vec<f64> = (0..classes)
        .map(|c| {
            let tp = gold
                .iter()
                .zip(predicted)
                .filter(|(g, p)| **g == c && **p == c)
                .count() as f64;
            let fp = gold
                .iter()
                .zip(predicted)
                .filter(|(g, p)| **g != c && **p == c)
                .count() as f64;
            let fn_ = gold
                .iter()
                .zip(predicted)
                .filter(|(g, p)| **g == c && **p != c)
                .count() as f64;
            if tp == 0.0 {
                0.0
            } else {
                2.0 * tp / (2.0 * tp + fp + fn_)
            }
        })
        .collect();
    Metrics {
        accuracy: correct as f64 / n.max(1) as f64,
        macro_f1: f1s.iter().sum::<f64>() / classes.max(1) as f64,
        n,
    }
}

pub struct AttributionRow {
    pub method: &'static str,
    pub lines: Metrics,
    pub windows: Metrics,
}

pub struct AttributionReport {
    /// (name, training lines, held-out lines)
    pub characters: Vec<(String, usize, usize)>,
    pub rows: Vec<AttributionRow>,
}

const METHODS: &[(&str, Weights)] = &[
    ("profile (all)", Weights::ALL),
    ("lexical only", Weights::LEXICAL),
    ("syntax only", Weights::SYNTAX),
    ("pragmatics only", Weights::PRAGMATICS),
];

/// Trains a profile per character on 80% of its lines and attributes the held-out lines, one by one
/// and in windows of `WINDOW` consecutive lines. `progress` gets a short message per stage.
pub fn attribution(
    chars: &[Character],
    res: &Resources,
    progress: &dyn Fn(&str),
) -> Result<AttributionReport> {
    let splits: Vec<(Vec<String>, Vec<Vec<String>>)> =
        chars.iter().map(|c| split_blocks(&c.lines)).collect();
    let mut profiles: Vec<StyleProfile> = Vec::new();
    for (c, (train, _)) in chars.iter().zip(&splits) {
        progress(&format!("profiling {}", c.name));
        let refs: Vec<&str> = train.iter().map(String::as_str).collect();
        profiles.push(analyze_speaker(&refs, &[], Some(&c.name), res)?);
    }
    let named: Vec<(&str, &StyleProfile)> = chars
        .iter()
        .map(|c| c.name.as_str())
        .zip(&profiles)
        .collect();
    let train_refs: Vec<Vec<&str>> = splits
        .iter()
        .map(|(t, _)| t.iter().map(String::as_str).collect())
        .collect();
    let baseline = TfidfCentroids::fit(&train_refs);

    // Items: (gold class, text) for single lines and for windows.
    let mut line_items = Vec::new();
    let mut window_items = Vec::new();
    for (ci, (_, blocks)) in splits.iter().enumerate() {
        for block in blocks {
            line_items.extend(block.iter().map(|l| (ci, l.clone())));
            window_items.extend(
                block
                    .chunks(WINDOW)
                    .filter(|w| w.len() == WINDOW)
                    .map(|w| (ci, w.join("\n"))),
            );
        }
    }
    let index_of = |name: &str| chars.iter().position(|c| c.name == name).unwrap_or(0);
    let k = chars.len();
    let mut rows: Vec<AttributionRow> = METHODS
        .iter()
        .map(|(m, _)| AttributionRow {
            method: m,
            lines: metrics(&[], &[], k),
            windows: metrics(&[], &[], k),
        })
        .collect();
    for (kind, items) in [("lines", &line_items), ("windows", &window_items)] {
        progress(&format!("attributing {} {kind}", items.len()));
        let gold: Vec<usize> = items.iter().map(|(g, _)| *g).collect();
        let prepared: Vec<_> = items.iter().map(|(_, t)| prepare_text(t, res)).collect();
        for (row, (_, w)) in rows.iter_mut().zip(METHODS) {
            let predicted: Vec<usize> = prepared
                .iter()
                .map(|t| {
                    attribute_prepared(t, &named, res, *w)
                        .first()
                        .map_or(0, |(n, _)| index_of(n))
                })
                .collect();
            let m = metrics(&gold, &predicted, k);
            if kind == "lines" {
                row.lines = m
            } else {
                row.windows = m
            }
        }
    }
    let base_lines: Vec<usize> = line_items
        .iter()
        .map(|(_, t)| baseline.predict(t))
        .collect();
    let base_windows: Vec<usize> = window_items
        .iter()
        .map(|(_, t)| baseline.predict(t))
        .collect();
    rows.push(AttributionRow {
        method: "baseline: char-3-gram TF-IDF centroid",
        lines: metrics(
            &line_items.iter().map(|(g, _)| *g).collect::<Vec<_>>(),
            &base_lines,
            k,
        ),
        windows: metrics(
            &window_items.iter().map(|(g, _)| *g).collect::<Vec<_>>(),
            &base_windows,
            k,
        ),
    });
    let characters = chars
        .iter()
        .zip(&splits)
        .map(|(c, (train, test))| (c.name.clone(), train.len(), test.iter().map(Vec::len).sum()))
        .collect();
    Ok(AttributionReport { characters, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_split_80_20_and_metrics_are_right() {
        let lines: Vec<String> = (0..450).map(|i| i.to_string()).collect();
        let (train, test) = split_blocks(&lines);
        assert_eq!(train.len(), 320);
        assert_eq!(test.iter().map(Vec::len).sum::<usize>(), 80);
        assert_eq!(test[0][0], "80");
        let m = metrics(&[0, 0, 1, 1], &[0, 1, 1, 1], 2);
        assert!((m.accuracy - 0.75).abs() < 1e-9);
        // F1(class 0) = 2/3, F1(class 1) = 0.8
        assert!((m.macro_f1 - (2.0 / 3.0 + 0.8) / 2.0).abs() < 1e-9);
    }
}
