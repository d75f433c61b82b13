//! Replies without a model: the line of the persona's script whose preceding turn is most similar
//! (TF-IDF cosine) to what the user just said. Every such reply is stored and shown as `script`,
//! never as model output.

use std::collections::{HashMap, HashSet};

use kotodama_store::ScriptLine;

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
}

/// Picks the reply; lines in `already_said` are used only when every line has been said.
pub fn pick_scripted_reply<'a>(
    lines: &'a [ScriptLine],
    user_text: &str,
    already_said: &HashSet<&str>,
) -> Option<&'a ScriptLine> {
    let fresh: Vec<&ScriptLine> = lines
        .iter()
        .filter(|l| !already_said.contains(l.line.text.as_str()))
        .collect();
    let pool: Vec<&ScriptLine> = if fresh.is_empty() {
        lines.iter().collect()
    } else {
        fresh
    };
    let contexts: Vec<HashMap<String, f64>> = pool
        .iter()
        .map(|l| term_counts(l.line.context_text.as_deref().unwrap_or("")))
        .collect();
    let mut df: HashMap<&str, f64> = HashMap::new();
    for c in &contexts {
        for w in c.keys() {
            *df.entry(w.as_str()).or_default() += 1.0;
        }
    }
    let n = contexts.len() as f64;
    let idf = |w: &str| (1.0 + n / (1.0 + df.get(w).copied().unwrap_or(0.0))).ln();
    let weigh = |c: &HashMap<String, f64>| -> HashMap<String, f64> {
        c.iter().map(|(w, tf)| (w.clone(), tf * idf(w))).collect()
    };
    let query = weigh(&term_counts(user_text));
    let query_norm = norm(&query);
    let mut best: Option<(f64, &ScriptLine)> = None;
    for (line, ctx) in pool.iter().zip(&contexts) {
        let doc = weigh(ctx);
        let dot: f64 = query
            .iter()
            .map(|(w, q)| q * doc.get(w).copied().unwrap_or(0.0))
            .sum();
        let cos = if dot > 0.0 {
            dot / (query_norm * norm(&doc))
        } else {
            0.0
        };
        // Strictly greater: among equals the earliest line wins, so replies are deterministic.
        if best.is_none_or(|(b, _)| cos > b) {
            best = Some((cos, line));
        }
    }
    best.map(|(_, l)| l)
}

fn term_counts(text: &str) -> HashMap<String, f64> {
    let mut m = HashMap::new();
    for w in words(text) {
        *m.entry(w).or_insert(0.0) += 1.0;
    }
    m
}

fn norm(v: &HashMap<String, f64>) -> f64 {
    v.values()
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt()
        .max(f64::MIN_POSITIVE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kotodama_store::NewScriptLine;

    fn lines() -> Vec<ScriptLine> {
        [
            (
                "Can you teach me the sword?",
                "Hmph. Hold the blade higher.",
            ),
            (
                "I'm hungry. Is there any food?",
                "The inn serves noodles. Not that I care if you starve.",
            ),
            ("It's raining again.", "Then stand under the eaves, baka."),
        ]
        .iter()
        .enumerate()
        .map(|(i, (ctx, text))| ScriptLine {
            id: i as i64,
            seq: i as i64,
            line: NewScriptLine {
                line_no: i as i64 + 1,
                text: text.to_string(),
                context_speaker: Some("REN".into()),
                context_text: Some(ctx.to_string()),
            },
        })
        .collect()
    }

    #[test]
    fn answers_with_the_line_whose_context_matches() {
        let lines = lines();
        let none = HashSet::new();
        assert_eq!(
            pick_scripted_reply(&lines, "so hungry, any food around?", &none)
                .unwrap()
                .seq,
            1
        );
        assert_eq!(
            pick_scripted_reply(&lines, "ugh, the rain", &none)
                .unwrap()
                .seq,
            0,
            "no overlap: first line"
        );
        assert_eq!(
            pick_scripted_reply(&lines, "it is raining", &none)
                .unwrap()
                .seq,
            2
        );
    }

    #[test]
    fn does_not_repeat_itself_until_it_must() {
        let lines = lines();
        let said: HashSet<&str> = [lines[1].line.text.as_str()].into();
        assert_ne!(
            pick_scripted_reply(&lines, "any food?", &said).unwrap().seq,
            1
        );
        let all: HashSet<&str> = lines.iter().map(|l| l.line.text.as_str()).collect();
        assert_eq!(
            pick_scripted_reply(&lines, "any food?", &all).unwrap().seq,
            1
        );
        assert!(pick_scripted_reply(&[], "hi", &all).is_none());
    }
}
