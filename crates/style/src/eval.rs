//! Benchmarks over in-memory data (the CLI reads the files), run over several folds of each
//! character's lines (blocks of consecutive lines held out, never single lines at random):
//! - `validity`: does the style score rank a character's own unseen lines above lines it should not
//!   credit (other characters, bland stock replies, assistant-speak, a copied prompt, another
//!   character's line with this character's signatures dropped in)? ROC AUC per negative set.
//! - `attribution`: who said these held-out lines, by the profile scorer, its ablations and two
//!   baselines (char-3-gram TF-IDF centroid; a linear classifier over char and word n-grams).

use crate::baseline::{LinearConfig, LinearNgramClassifier, TfidfCentroids};
use crate::error::Result;
use crate::probes::probes;
use crate::profile::{analyze_speaker, StyleProfile};
use crate::resources::Resources;
use crate::scoring::{attribute_prepared, prepare_text, score_prepared, PreparedText, Weights};
use crate::text::Language;

/// Each character contributes at most this many lines, so that no character dominates.
pub const MAX_LINES: usize = 400;
/// Lines are split into blocks of consecutive lines; fold f holds out every block i with
/// i % FOLDS == f (80/20 per fold).
pub const BLOCK: usize = 20;
pub const FOLDS: usize = 5;
pub const WINDOW: usize = 5;
/// Other characters' held-out lines used as negatives per fold and character, at most.
const OTHER_LINES_PER_CHARACTER: usize = 40;

pub struct Character {
    pub name: String,
    pub lines: Vec<String>,
}

/// (training lines, held-out blocks) of one character in one fold.
pub fn split_fold(lines: &[String], fold: usize) -> (Vec<String>, Vec<Vec<String>>) {
    let lines = &lines[..lines.len().min(MAX_LINES)];
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (i, block) in lines.chunks(BLOCK).enumerate() {
        if i % FOLDS == fold % FOLDS {
            test.push(block.to_vec());
        } else {
            train.extend_from_slice(block);
        }
    }
    (train, test)
}

/// Mean and spread of one figure over folds.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Spread {
    pub mean: f64,
    pub sd: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(values: &[f64]) -> Self {
        let n = values.len().max(1) as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
        Spread {
            mean,
            sd: var.sqrt(),
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

/// ROC AUC of `pos` over `neg` (Mann-Whitney; ties count one half). 0.5 when either is empty.
pub fn roc_auc(pos: &[f64], neg: &[f64]) -> f64 {
    if pos.is_empty() || neg.is_empty() {
        return 0.5;
    }
    let mut all: Vec<(f64, bool)> = pos
        .iter()
        .map(|&s| (s, true))
        .chain(neg.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Sum of the positives' ranks (1-based, ties get their average rank).
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let avg_rank = (i + 1 + j) as f64 / 2.0;
        rank_sum += avg_rank * all[i..j].iter().filter(|(_, p)| *p).count() as f64;
        i = j;
    }
    let (np, nn) = (pos.len() as f64, neg.len() as f64);
    (rank_sum - np * (np + 1.0) / 2.0) / (np * nn)
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metrics {
    pub accuracy: f64,
    pub macro_f1: f64,
    pub n: usize,
}

pub fn metrics(gold: &[usize], predicted: &[usize], classes: usize) -> Metrics {
    let n = gold.len();
    let pairs = || gold.iter().zip(predicted);
    let correct = pairs().filter(|(g, p)| g == p).count();
    let f1s: Vec<f64> = (0..classes)
        .map(|c| {
            let tp = pairs().filter(|(g, p)| **g == c && **p == c).count() as f64;
            let fp = pairs().filter(|(g, p)| **g != c && **p == c).count() as f64;
            let fn_ = pairs().filter(|(g, p)| **g == c && **p != c).count() as f64;
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

/// One fold's profiles and held-out texts, prepared once for every benchmark of the fold.
pub struct Fold {
    profiles: Vec<StyleProfile>,
    train: Vec<Vec<String>>,
    /// Held-out lines of each character, prepared.
    lines: Vec<Vec<(String, PreparedText)>>,
    /// Held-out windows of `WINDOW` consecutive lines of each character, prepared.
    windows: Vec<Vec<(String, PreparedText)>>,
}

/// Profiles and prepared held-out texts of the first `n` folds.
pub fn folds(
    chars: &[Character],
    n: usize,
    res: &Resources,
    progress: &dyn Fn(&str),
) -> Result<Vec<Fold>> {
    (0..n).map(|f| fold(chars, f, res, progress)).collect()
}

fn fold(chars: &[Character], f: usize, res: &Resources, progress: &dyn Fn(&str)) -> Result<Fold> {
    let mut out = Fold {
        profiles: Vec::new(),
        train: Vec::new(),
        lines: Vec::new(),
        windows: Vec::new(),
    };
    for c in chars {
        progress(&format!("fold {f}: profiling {}", c.name));
        let (train, test) = split_fold(&c.lines, f);
        let refs: Vec<&str> = train.iter().map(String::as_str).collect();
        out.profiles
            .push(analyze_speaker(&refs, &[], Some(&c.name), res)?);
        out.train.push(train);
        out.lines.push(
            test.iter()
                .flatten()
                .map(|l| (l.clone(), prepare_text(l, res)))
                .collect(),
        );
        out.windows.push(
            test.iter()
                .flat_map(|b| b.chunks(WINDOW).filter(|w| w.len() == WINDOW))
                .map(|w| {
                    let text = w.join("\n");
                    let prepared = prepare_text(&text, res);
                    (text, prepared)
                })
                .collect(),
        );
    }
    Ok(out)
}

/// The negative sets of the validity benchmark, in report order.
pub const NEGATIVE_SETS: &[&str] = &[
    "other characters",
    "other characters (5-line windows)",
    "bland stock replies",
    "assistant-speak",
    "copied prompt",
    "signatures dropped into another's line",
];

pub struct ValidityRow {
    pub negatives: &'static str,
    /// Per fold: the mean over characters of own-unseen-lines vs these negatives.
    pub auc: Spread,
    /// The character with the lowest AUC (mean over folds) and that AUC.
    pub worst: (String, f64),
    pub negatives_per_character: usize,
}

pub struct ValidityReport {
    pub language: Language,
    pub folds: usize,
    pub rows: Vec<ValidityRow>,
}

/// `line` with the character's two strongest single-word signatures put at its start and end.
fn with_signatures(line: &str, p: &StyleProfile) -> String {
    let mut words = p
        .lexical
        .iter()
        .filter(|s| s.n == 1)
        .map(|s| s.term.as_str());
    let (a, b) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    match p.language {
        Language::Zh | Language::Ja => format!("{a}，{line}{b}"),
        Language::En | Language::Other => format!("{a}, {line} {b}"),
    }
}

/// Own held-out lines against each negative set, scored by the character's profile overall score.
pub fn validity(
    chars: &[Character],
    folds: &[Fold],
    language: Language,
    res: &Resources,
) -> ValidityReport {
    let probe = probes(language);
    let prep = |lines: &[&str]| -> Vec<PreparedText> {
        lines.iter().map(|l| prepare_text(l, res)).collect()
    };
    let (bland, assistant, prompts) = (
        prep(probe.bland),
        prep(probe.assistant),
        prep(probe.prompts),
    );
    // [set][character] -> AUC per fold
    let mut aucs = vec![vec![Vec::new(); chars.len()]; NEGATIVE_SETS.len()];
    let mut sizes = vec![0usize; NEGATIVE_SETS.len()];
    for fold in folds {
        for (ci, p) in fold.profiles.iter().enumerate() {
            let s = |t: &PreparedText| score_prepared(t, p, res).overall;
            let own: Vec<f64> = fold.lines[ci].iter().map(|(_, t)| s(t)).collect();
            let own_windows: Vec<f64> = fold.windows[ci].iter().map(|(_, t)| s(t)).collect();
            let others: Vec<&(String, PreparedText)> = fold
                .lines
                .iter()
                .enumerate()
                .filter(|(oi, _)| *oi != ci)
                .flat_map(|(_, ls)| {
                    ls.iter()
                        .step_by((ls.len() / OTHER_LINES_PER_CHARACTER).max(1))
                })
                .collect();
            let other_windows: Vec<f64> = fold
                .windows
                .iter()
                .enumerate()
                .filter(|(oi, _)| *oi != ci)
                .flat_map(|(_, ws)| ws.iter().map(|(_, t)| s(t)))
                .collect();
            let stuffed: Vec<f64> = others
                .iter()
                .step_by((others.len() / 100).max(1))
                .map(|(l, _)| s(&prepare_text(&with_signatures(l, p), res)))
                .collect();
            let sets: [(&[f64], Vec<f64>); 6] = [
                (&own, others.iter().map(|(_, t)| s(t)).collect()),
                (&own_windows, other_windows),
                (&own, bland.iter().map(s).collect()),
                (&own, assistant.iter().map(s).collect()),
                (&own, prompts.iter().map(s).collect()),
                (&own, stuffed),
            ];
            for (k, (pos, neg)) in sets.iter().enumerate() {
                aucs[k][ci].push(roc_auc(pos, neg));
                sizes[k] = sizes[k].max(neg.len());
            }
        }
    }
    let rows = NEGATIVE_SETS
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let per_fold: Vec<f64> = (0..folds.len())
                .map(|f| aucs[k].iter().map(|a| a[f]).sum::<f64>() / chars.len().max(1) as f64)
                .collect();
            let worst = chars
                .iter()
                .zip(&aucs[k])
                .map(|(c, a)| (c.name.clone(), Spread::of(a).mean))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap_or_default();
            ValidityRow {
                negatives: name,
                auc: Spread::of(&per_fold),
                worst,
                negatives_per_character: sizes[k],
            }
        })
        .collect();
    ValidityReport {
        language,
        folds: folds.len(),
        rows,
    }
}

pub struct AttributionRow {
    pub method: String,
    /// Per fold, macro-F1 over characters.
    pub lines_f1: Spread,
    pub windows_f1: Spread,
    pub windows_accuracy: Spread,
}

pub struct AttributionReport {
    /// (name, training lines, held-out lines) of the first fold.
    pub characters: Vec<(String, usize, usize)>,
    pub folds: usize,
    pub rows: Vec<AttributionRow>,
}

/// The profile scorer with every combination of its dimensions, best-informed first.
pub const ABLATIONS: &[(&str, Weights)] = &[
    ("profile (all)", Weights::ALL),
    ("lexical + syntax", Weights::LEXICAL.plus(Weights::SYNTAX)),
    (
        "lexical + pragmatics",
        Weights::LEXICAL.plus(Weights::PRAGMATICS),
    ),
    (
        "syntax + pragmatics",
        Weights::SYNTAX.plus(Weights::PRAGMATICS),
    ),
    ("lexical only", Weights::LEXICAL),
    ("syntax only", Weights::SYNTAX),
    ("pragmatics only", Weights::PRAGMATICS),
];

const CENTROID: &str = "baseline: char-3-gram TF-IDF centroid";
const LINEAR: &str = "baseline: linear SVM, char 1-5 + word 1-2-grams";

/// Trains a profile per character on each fold's training lines and attributes the held-out lines,
/// one by one and in windows of `WINDOW` consecutive lines.
pub fn attribution(chars: &[Character], folds: &[Fold], res: &Resources) -> AttributionReport {
    let k = chars.len();
    let methods: Vec<String> = ABLATIONS
        .iter()
        .map(|(m, _)| m.to_string())
        .chain([CENTROID.to_string(), LINEAR.to_string()])
        .collect();
    // [method] -> per fold (lines F1, windows F1, windows accuracy)
    let mut results = vec![Vec::new(); methods.len()];
    let mut characters = Vec::new();
    for (f, fold) in folds.iter().enumerate() {
        if f == 0 {
            characters = chars
                .iter()
                .zip(&fold.train)
                .zip(&fold.lines)
                .map(|((c, tr), te)| (c.name.clone(), tr.len(), te.len()))
                .collect();
        }
        let named: Vec<(&str, &StyleProfile)> = chars
            .iter()
            .map(|c| c.name.as_str())
            .zip(&fold.profiles)
            .collect();
        let index_of = |name: &str| chars.iter().position(|c| c.name == name).unwrap_or(0);
        let train_refs: Vec<Vec<&str>> = fold
            .train
            .iter()
            .map(|t| t.iter().map(String::as_str).collect())
            .collect();
        let centroid = TfidfCentroids::fit(&train_refs);
        let linear = LinearNgramClassifier::fit(&train_refs, &LinearConfig::default());
        let items = |sets: &[Vec<(String, PreparedText)>]| -> Vec<(usize, usize)> {
            sets.iter()
                .enumerate()
                .flat_map(|(ci, v)| (0..v.len()).map(move |i| (ci, i)))
                .collect()
        };
        let (line_items, window_items) = (items(&fold.lines), items(&fold.windows));
        let gold = |it: &[(usize, usize)]| it.iter().map(|(c, _)| *c).collect::<Vec<_>>();
        for (mi, method) in methods.iter().enumerate() {
            let predict = |sets: &[Vec<(String, PreparedText)>], (ci, i): (usize, usize)| {
                let (text, prepared) = &sets[ci][i];
                match ABLATIONS.iter().find(|(m, _)| m == method) {
                    Some((_, w)) => attribute_prepared(prepared, &named, res, *w)
                        .first()
                        .map_or(0, |(n, _)| index_of(n)),
                    None if method == CENTROID => centroid.predict(text),
                    None => linear.predict(text),
                }
            };
            let lp: Vec<usize> = line_items
                .iter()
                .map(|&it| predict(&fold.lines, it))
                .collect();
            let wp: Vec<usize> = window_items
                .iter()
                .map(|&it| predict(&fold.windows, it))
                .collect();
            let (lm, wm) = (
                metrics(&gold(&line_items), &lp, k),
                metrics(&gold(&window_items), &wp, k),
            );
            results[mi].push((lm.macro_f1, wm.macro_f1, wm.accuracy));
        }
    }
    let rows = methods
        .into_iter()
        .zip(results)
        .map(|(method, r)| AttributionRow {
            method,
            lines_f1: Spread::of(&r.iter().map(|x| x.0).collect::<Vec<_>>()),
            windows_f1: Spread::of(&r.iter().map(|x| x.1).collect::<Vec<_>>()),
            windows_accuracy: Spread::of(&r.iter().map(|x| x.2).collect::<Vec<_>>()),
        })
        .collect();
    AttributionReport {
        characters,
        folds: folds.len(),
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_hold_out_each_block_once_and_metrics_are_right() {
        let lines: Vec<String> = (0..450).map(|i| i.to_string()).collect();
        let (train, test) = split_fold(&lines, 4);
        assert_eq!(train.len(), 320);
        assert_eq!(test.iter().map(Vec::len).sum::<usize>(), 80);
        assert_eq!(test[0][0], "80");
        let mut held_out: Vec<String> = (0..FOLDS)
            .flat_map(|f| split_fold(&lines, f).1.concat())
            .collect();
        held_out.sort_by_key(|l| l.parse::<usize>().unwrap());
        assert_eq!(held_out, lines[..MAX_LINES].to_vec());
        let m = metrics(&[0, 0, 1, 1], &[0, 1, 1, 1], 2);
        assert!((m.accuracy - 0.75).abs() < 1e-9);
        // F1(class 0) = 2/3, F1(class 1) = 0.8
        assert!((m.macro_f1 - (2.0 / 3.0 + 0.8) / 2.0).abs() < 1e-9);
    }

    #[test]
    fn auc_counts_ordered_pairs_and_ties() {
        assert_eq!(roc_auc(&[3.0, 4.0], &[1.0, 2.0]), 1.0);
        assert_eq!(roc_auc(&[1.0, 2.0], &[3.0, 4.0]), 0.0);
        // 1 > 0.5 (win), 1 = 1 (tie), 0 < 0.5 and 0 < 1 (losses): (1 + 0.5) / 4.
        assert!((roc_auc(&[1.0, 0.0], &[0.5, 1.0]) - 0.375).abs() < 1e-12);
        let s = Spread::of(&[0.8, 0.9, 1.0]);
        assert!((s.mean - 0.9).abs() < 1e-12 && (s.sd - 0.1).abs() < 1e-12);
        assert_eq!((s.min, s.max), (0.8, 1.0));
    }
}
