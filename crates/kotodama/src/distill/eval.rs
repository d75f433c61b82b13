//! Evaluation of distilled adapters on the test block: each system (the base model with the persona
//! prompt, and each adapter, which answers without reasoning tokens) generates for the same test
//! examples, and the outputs are measured with the style profile, attribution among the stored
//! personas, semantic fidelity (MiniLM) on rewrite examples, a Valid Style Score, signature-term use
//! against the script's rate, and distinct-2.

use std::collections::HashSet;
use std::ops::ControlFlow;

use kotodama_engine::{CancelToken, ChatMessage, ChatSession, Embedder, Model, SamplingParams};
use kotodama_style::{Resources, StyleProfile};
use serde::{Deserialize, Serialize};

use super::dataset::{rewrite_instruction, Dataset, DistillExample, Split, Task};
use crate::Result;

/// Style counts towards the Valid Style Score only where the output kept the input's meaning.
pub const FIDELITY_THRESHOLD: f32 = 0.5;
/// Longest output generated per example.
const MAX_TOKENS: usize = 60;

/// One system under evaluation.
pub struct System<'a> {
    pub name: String,
    pub model: &'a Model,
    /// Assistant prefix (an empty reasoning block for CoT adapters).
    pub prefix: &'a str,
    /// The system prompt of respond examples.
    pub system_prompt: &'a str,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemScores {
    pub system: String,
    pub examples: usize,
    /// Mean profile style score (0..1) of the outputs.
    pub style: f64,
    /// Share of outputs attributed to this persona among all stored personas.
    pub attribution: f64,
    /// Mean MiniLM cosine between a rewrite example's neutral input and the output (None: no embedder).
    pub fidelity: Option<f64>,
    /// Mean over rewrite examples of the style score where fidelity >= the threshold, else 0.
    pub valid_style: Option<f64>,
    /// Signature terms per 1,000 words in the outputs, and in the script.
    pub signature_rate: f64,
    pub script_signature_rate: f64,
    pub distinct_2: f64,
    /// A few outputs, for the report.
    pub samples: Vec<Sample>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    pub input: String,
    pub output: String,
    pub reference: String,
}

/// Everything the metrics need besides the systems.
pub struct EvalContext<'a> {
    pub persona_slug: &'a str,
    pub dataset: &'a Dataset,
    pub profile: &'a StyleProfile,
    /// All stored personas' profiles by slug (this one included), for attribution.
    pub profiles: &'a [(String, StyleProfile)],
    pub res: &'a Resources,
    pub embedder: Option<&'a Embedder>,
    /// Test examples used (the first ones of the test block, respond and rewrite alike).
    pub limit: usize,
}

fn generate(system: &System<'_>, messages: &[ChatMessage]) -> Result<String> {
    let mut out = String::new();
    ChatSession::new(system.model).generate_after(
        messages,
        system.prefix,
        &SamplingParams::greedy(MAX_TOKENS),
        |piece| {
            out.push_str(piece);
            ControlFlow::Continue(())
        },
        &CancelToken::new(),
    )?;
    Ok(out.trim().to_string())
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Distinct bigrams over all bigrams of the outputs (Li et al. 2016).
pub fn distinct_2(outputs: &[String]) -> f64 {
    let mut all = 0usize;
    let mut seen = HashSet::new();
    for o in outputs {
        let w = words(o);
        for pair in w.windows(2) {
            all += 1;
            seen.insert((pair[0].clone(), pair[1].clone()));
        }
    }
    if all == 0 {
        0.0
    } else {
        seen.len() as f64 / all as f64
    }
}

/// Occurrences of the profile's single-word signature terms per 1,000 words.
fn signature_rate(texts: &[String], profile: &StyleProfile) -> f64 {
    let terms: HashSet<&str> = profile
        .lexical
        .iter()
        .filter(|s| !s.term.contains(' '))
        .map(|s| s.term.as_str())
        .collect();
    let (mut hits, mut total) = (0usize, 0usize);
    for t in texts {
        for w in words(t) {
            total += 1;
            hits += usize::from(terms.contains(w.as_str()));
        }
    }
    if total == 0 {
        0.0
    } else {
        hits as f64 * 1000.0 / total as f64
    }
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        0.0
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// The conversation a system answers for a test example. The persona prompt gives way to a one-line
/// one when it would not leave room for the answer in the model's context (tiny models).
fn prompt_of(
    ctx: &EvalContext<'_>,
    system: &System<'_>,
    ex: &DistillExample,
) -> Result<Vec<ChatMessage>> {
    let with = |instruction: String| {
        vec![
            ChatMessage::new("system", instruction),
            ChatMessage::new("user", ex.input.clone()),
        ]
    };
    if ex.task == Task::Rewrite {
        return Ok(with(rewrite_instruction(&ctx.dataset.persona)));
    }
    let full = with(system.system_prompt.to_string());
    let rendered = system.model.template().render(&full, true, false)?;
    let tokens = system.model.tokenizer().encode(&rendered)?.len();
    Ok(
        if tokens + MAX_TOKENS <= system.model.decoder().max_positions() {
            full
        } else {
            with(format!("You are {}.", ctx.dataset.persona))
        },
    )
}

pub fn evaluate(ctx: &EvalContext<'_>, system: &System<'_>) -> Result<SystemScores> {
    let tests: Vec<&DistillExample> = ctx.dataset.in_split(Split::Test).take(ctx.limit).collect();
    let named: Vec<(&str, &StyleProfile)> = ctx
        .profiles
        .iter()
        .map(|(slug, p)| (slug.as_str(), p))
        .collect();
    let (mut outputs, mut styles, mut attributed) = (Vec::new(), Vec::new(), 0usize);
    let (mut fidelities, mut valid) = (Vec::new(), Vec::new());
    for ex in &tests {
        let output = generate(system, &prompt_of(ctx, system, ex)?)?;
        let style = kotodama_style::score(&output, ctx.profile, ctx.res).overall;
        styles.push(style);
        let ranked = kotodama_style::attribute(&output, &named, ctx.res);
        attributed += usize::from(ranked.first().is_some_and(|(s, _)| s == ctx.persona_slug));
        if let (Task::Rewrite, Some(embedder)) = (ex.task, ctx.embedder) {
            let e = embedder.embed(&[ex.input.as_str(), output.as_str()])?;
            let fidelity = kotodama_engine::cosine(&e[0], &e[1]);
            fidelities.push(f64::from(fidelity));
            valid.push(if fidelity >= FIDELITY_THRESHOLD {
                style
            } else {
                0.0
            });
        }
        outputs.push(output);
    }
    let references: Vec<String> = ctx
        .dataset
        .in_split(Split::Train)
        .map(|e| e.line.clone())
        .collect();
    let samples = tests
        .iter()
        .zip(&outputs)
        .take(5)
        .map(|(ex, out)| Sample {
            input: ex.input.clone(),
            output: out.clone(),
            reference: ex.line.clone(),
        })
        .collect();
    Ok(SystemScores {
        system: system.name.clone(),
        examples: tests.len(),
        style: mean(&styles),
        attribution: if tests.is_empty() {
            0.0
        } else {
            attributed as f64 / tests.len() as f64
        },
        fidelity: (!fidelities.is_empty()).then(|| mean(&fidelities)),
        valid_style: (!valid.is_empty()).then(|| mean(&valid)),
        signature_rate: signature_rate(&outputs, ctx.profile),
        script_signature_rate: signature_rate(&references, ctx.profile),
        distinct_2: distinct_2(&outputs),
        samples,
    })
}

/// The comparison as a markdown table.
pub fn markdown(scores: &[SystemScores]) -> String {
    let opt = |x: Option<f64>| x.map_or("–".to_string(), |v| format!("{v:.3}"));
    let mut out = String::from(
        "| system | n | style | attribution | fidelity | valid style | signature /1k (script) | distinct-2 |\n|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for s in scores {
        out.push_str(&format!(
            "| {} | {} | {:.3} | {:.2} | {} | {} | {:.1} ({:.1}) | {:.3} |\n",
            s.system,
            s.examples,
            s.style,
            s.attribution,
            opt(s.fidelity),
            opt(s.valid_style),
            s.signature_rate,
            s.script_signature_rate,
            s.distinct_2
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_2_counts_unique_bigrams() {
        let outs = vec!["a b c".to_string(), "a b d".to_string()];
        // bigrams: (a,b) (b,c) (a,b) (b,d): 3 distinct of 4.
        assert!((distinct_2(&outs) - 0.75).abs() < 1e-12);
        assert_eq!(distinct_2(&[]), 0.0);
    }

    #[test]
    fn the_table_has_a_row_per_system() {
        let row = SystemScores {
            system: "base".into(),
            examples: 3,
            style: 0.5,
            attribution: 1.0 / 3.0,
            fidelity: None,
            valid_style: Some(0.25),
            signature_rate: 12.0,
            script_signature_rate: 30.0,
            distinct_2: 0.9,
            samples: vec![],
        };
        let md = markdown(&[row]);
        assert!(
            md.contains("| base | 3 | 0.500 | 0.33 | – | 0.250 | 12.0 (30.0) | 0.900 |"),
            "{md}"
        );
    }
}
