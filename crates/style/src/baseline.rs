//! Attribution baselines, the honest references the style profile is compared with:
//! - `TfidfCentroids`: character 3-gram TF-IDF vectors, nearest class centroid by cosine (simple);
//! - `LinearNgramClassifier`: the standard strong baseline of authorship attribution, a one-vs-rest
//!   linear SVM (scikit-learn's `LinearSVC`) over TF-IDF character 1-5-grams and word 1-2-grams.

mod hashed_tfidf;
mod linear_svm;

use hashed_tfidf::HashedTfidf;
use linear_svm::SolverConfig;
use std::collections::HashMap;

type Vector = HashMap<String, f64>;

fn trigrams(text: &str) -> Vec<String> {
    let chars: Vec<char> = format!("  {}  ", text.to_lowercase()).chars().collect();
    chars.windows(3).map(|w| w.iter().collect()).collect()
}

fn l2_normalize(v: &mut Vector) {
    let norm = v.values().map(|x| x * x).sum::<f64>().sqrt();
    if norm > 0.0 {
        v.values_mut().for_each(|x| *x /= norm);
    }
}

pub struct TfidfCentroids {
    idf: HashMap<String, f64>,
    centroids: Vec<Vector>,
}

impl TfidfCentroids {
    /// `classes[i]` holds the training documents (lines) of class i.
    pub fn fit(classes: &[Vec<&str>]) -> Self {
        let mut df: HashMap<String, f64> = HashMap::new();
        let mut n_docs = 0.0;
        for doc in classes.iter().flatten() {
            n_docs += 1.0;
            let mut seen: Vec<String> = trigrams(doc);
            seen.sort();
            seen.dedup();
            for g in seen {
                *df.entry(g).or_default() += 1.0;
            }
        }
        let idf: HashMap<String, f64> = df
            .into_iter()
            .map(|(g, d)| (g, ((1.0 + n_docs) / (1.0 + d)).ln() + 1.0))
            .collect();
        let mut model = Self {
            idf,
            centroids: Vec::new(),
        };
        model.centroids = classes
            .iter()
            .map(|docs| {
                let mut c = Vector::new();
                for d in docs {
                    for (g, x) in model.vectorize(d) {
                        *c.entry(g).or_default() += x;
                    }
                }
                l2_normalize(&mut c);
                c
            })
            .collect();
        model
    }

    fn vectorize(&self, text: &str) -> Vector {
        let mut v = Vector::new();
        for g in trigrams(text) {
            if let Some(idf) = self.idf.get(&g) {
                *v.entry(g).or_default() += idf;
            }
        }
        l2_normalize(&mut v);
        v
    }

    /// Cosine similarity of `text` to each class centroid (0 for a text with no known trigram).
    pub fn scores(&self, text: &str) -> Vec<f64> {
        let v = self.vectorize(text);
        self.centroids
            .iter()
            .map(|c| {
                v.iter()
                    .map(|(g, x)| x * c.get(g).unwrap_or(&0.0))
                    .sum::<f64>()
            })
            .collect()
    }

    /// Index of the class whose centroid is most similar to `text`.
    pub fn predict(&self, text: &str) -> usize {
        argmax(&self.scores(text))
    }
}

/// Index of the largest score; the first on ties, 0 when there are none.
fn argmax(scores: &[f64]) -> usize {
    scores
        .iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |best, (i, &s)| {
            if s > best.1 {
                (i, s)
            } else {
                best
            }
        })
        .0
}

/// Settings of `LinearNgramClassifier`. The defaults were chosen by 5-fold cross-validation on the
/// training lines of the English development characters (`cargo run -p kotodama-style --release
/// --bin baseline-cv`).
#[derive(Debug, Clone, Copy)]
pub struct LinearConfig {
    /// log2 of the number of hash buckets; the model holds 2^bits x classes f32 weights.
    pub hash_bits: u32,
    /// The SVM's misclassification cost C (scikit-learn's `LinearSVC(C=...)`).
    pub c: f64,
    /// Upper bound on solver passes over the training rows, per class.
    pub max_passes: usize,
    /// Solver stopping tolerance (liblinear's eps).
    pub tolerance: f64,
    /// Seed of the solver's visiting order: same inputs and seed, same model.
    pub seed: u64,
}

impl Default for LinearConfig {
    fn default() -> Self {
        Self {
            // CV line macro-F1 on the English dev characters: 0.476 / 0.478 / 0.476 at 16 / 18 / 20
            // bits (C = 0.3); 0.460 / 0.478 / 0.468 / 0.453 at C = 0.1 / 0.3 / 1 / 3 (18 bits).
            hash_bits: 18,
            c: 0.3,
            max_passes: 200,
            tolerance: 0.1,
            seed: 0x5eed,
        }
    }
}

/// One-vs-rest linear SVM over hashed TF-IDF character and word n-grams.
pub struct LinearNgramClassifier {
    features: HashedTfidf,
    classes: usize,
    /// Feature-major: the weights of bucket b for all classes are `weights[b * classes..][..classes]`,
    /// so scoring a sparse row reads one contiguous slice per feature.
    weights: Vec<f32>,
    biases: Vec<f32>,
    /// Solver passes each class took (== max_passes where it stopped short of the tolerance).
    passes: Vec<usize>,
}

impl LinearNgramClassifier {
    /// `classes[i]` holds the training documents of class i (a document may be several lines
    /// joined by '\n').
    pub fn fit(classes: &[Vec<&str>], config: &LinearConfig) -> Self {
        let (docs, labels): (Vec<&str>, Vec<usize>) = classes
            .iter()
            .enumerate()
            .flat_map(|(c, docs)| docs.iter().map(move |d| (*d, c)))
            .unzip();
        let (features, rows) = HashedTfidf::fit(&docs, config.hash_bits);
        let dim = features.dim();
        let k = classes.len();
        let solver = SolverConfig {
            c: config.c,
            max_passes: config.max_passes,
            tolerance: config.tolerance,
            seed: config.seed,
        };
        let mut weights = vec![0.0f32; dim * k];
        let mut biases = vec![0.0f32; k];
        let mut passes = Vec::with_capacity(k);
        for c in 0..k {
            let positive: Vec<bool> = labels.iter().map(|&l| l == c).collect();
            let svm = linear_svm::train(&rows, &positive, dim, &solver);
            for (b, w) in svm.weights.iter().enumerate() {
                weights[b * k + c] = *w as f32;
            }
            biases[c] = svm.bias as f32;
            passes.push(svm.passes);
        }
        Self {
            features,
            classes: k,
            weights,
            biases,
            passes,
        }
    }

    /// Solver passes per class, to check that training converged.
    pub fn solver_passes(&self) -> &[usize] {
        &self.passes
    }

    /// Per-class SVM decision values w_c·x + b_c (one-vs-rest; higher is more likely).
    pub fn scores(&self, text: &str) -> Vec<f64> {
        let k = self.classes;
        let mut scores: Vec<f64> = self.biases.iter().map(|&b| b as f64).collect();
        for (b, x) in self.features.transform(text) {
            let w = &self.weights[b as usize * k..][..k];
            for (s, &wc) in scores.iter_mut().zip(w) {
                *s += (wc * x) as f64;
            }
        }
        scores
    }

    /// Index of the class with the highest decision value.
    pub fn predict(&self, text: &str) -> usize {
        argmax(&self.scores(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_closer_class() {
        let m = TfidfCentroids::fit(&[
            vec!["the cat sat on the mat", "cats and mats"],
            vec!["quantum physics lecture", "physics of quanta"],
        ]);
        assert_eq!(m.predict("a cat on a mat"), 0);
        assert_eq!(m.predict("quantum lecture"), 1);
        let s = m.scores("a cat on a mat");
        assert_eq!(s.len(), 2);
        assert!(s[0] > s[1] && s[0] <= 1.0 + 1e-9);
        assert_eq!(m.scores(""), vec![0.0, 0.0]);
    }

    const PIRATE: &[&str] = &[
        "Arr, me hearties, hoist the sails!",
        "Ye scurvy dogs, swab the deck.",
        "Arr, where be me treasure?",
        "Shiver me timbers, ye landlubber!",
        "Yo ho ho, me bottle o' rum.",
    ];
    const BUTLER: &[&str] = &[
        "Very good, sir. Shall I prepare the tea?",
        "Indeed, madam, the carriage awaits.",
        "If I may say so, sir, the soup is served.",
        "Certainly, sir. I shall see to it at once.",
        "The guests have arrived, madam.",
    ];

    fn toy() -> Vec<Vec<&'static str>> {
        vec![PIRATE.to_vec(), BUTLER.to_vec()]
    }

    #[test]
    fn linear_classifier_separates_two_styles() {
        let m = LinearNgramClassifier::fit(&toy(), &LinearConfig::default());
        assert!(m.solver_passes().iter().all(|&p| p < 200));
        assert_eq!(m.predict("Arr, ye be a scurvy landlubber!"), 0);
        assert_eq!(m.predict("Shall I serve the tea, sir?"), 1);
        // Several lines joined by '\n' form one document.
        assert_eq!(m.predict("Ye dogs!\nArr, me treasure."), 0);
        // Training lines are fitted on the right side of the margin.
        for (c, docs) in toy().iter().enumerate() {
            for d in docs {
                let s = m.scores(d);
                assert_eq!(s.len(), 2);
                assert!(s[c] > 0.0 && s[1 - c] < 0.0, "{d}: {s:?}");
            }
        }
    }

    #[test]
    fn linear_classifier_is_deterministic() {
        let cfg = LinearConfig::default();
        let (a, b) = (
            LinearNgramClassifier::fit(&toy(), &cfg),
            LinearNgramClassifier::fit(&toy(), &cfg),
        );
        assert_eq!(a.weights, b.weights);
        assert_eq!(a.biases, b.biases);
        let text = "Indeed, me hearties, the tea be served.";
        assert_eq!(a.scores(text), b.scores(text));
    }

    #[test]
    fn linear_classifier_scores_empty_and_unknown_text_by_the_biases() {
        let m = LinearNgramClassifier::fit(&toy(), &LinearConfig::default());
        let biases: Vec<f64> = m.biases.iter().map(|&b| b as f64).collect();
        assert_eq!(m.scores(""), biases);
        // No character of this text occurs in training, so it has no known n-gram.
        assert_eq!(m.scores("ZZZ 777 ぁ"), biases);
        assert!(m.predict("") < 2);
        // Degenerate training sets do not panic either.
        let one = LinearNgramClassifier::fit(&[vec!["only class"]], &LinearConfig::default());
        assert_eq!(one.predict("anything"), 0);
        let none = LinearNgramClassifier::fit(&[], &LinearConfig::default());
        assert!(none.scores("text").is_empty());
        assert_eq!(none.predict("text"), 0);
    }
}
