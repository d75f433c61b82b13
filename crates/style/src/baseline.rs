//! The attribution baseline: character 3-gram TF-IDF vectors, nearest class centroid by cosine.

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

    /// Index of the class whose centroid is most similar to `text`.
    pub fn predict(&self, text: &str) -> usize {
        let v = self.vectorize(text);
        let sims = self.centroids.iter().map(|c| {
            v.iter()
                .map(|(g, x)| x * c.get(g).unwrap_or(&0.0))
                .sum::<f64>()
        });
        sims.enumerate()
            .fold((0, f64::NEG_INFINITY), |best, (i, s)| {
                if s > best.1 {
                    (i, s)
                } else {
                    best
                }
            })
            .0
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
    }
}
