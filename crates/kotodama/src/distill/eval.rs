//! Evaluation of distilled adapters on held-out blocks: each system (the base model with the persona's
//! card prompt, and each adapter with the prompt it was trained with, answering without reasoning
//! tokens) generates for the same examples, and the outputs are measured per example and per task:
//! the profile's style score, semantic fidelity to the reference line (MiniLM), the Valid Style
//! Score, attribution among the stored personas, copies of the input, signature-term use against the
//! script's rate, and distinct-2. Systems are compared by paired bootstrap intervals.
//!
//! **Valid Style Score** (per example, 0..1): the style score of the output where it keeps the
//! reference line's meaning (MiniLM cosine ≥ `FIDELITY_THRESHOLD`), else 0. For the rewrite task
//! (a neutral sentence -> the character's voice, the primary comparison) the reference is the line
//! the neutral sentence was made from; a respond example has many right answers, so there only a
//! copy of the input (or an empty output) scores 0. Without the embedder, fidelity is not checked.

use std::collections::HashSet;
use std::ops::ControlFlow;

use kotodama_engine::{CancelToken, ChatSession, Embedder, Model, SamplingParams};
use kotodama_style::{Resources, StyleProfile};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::dataset::{Dataset, DistillExample, Split, Task};
use crate::Result;

/// Style counts towards the Valid Style Score only where the output kept the reference's meaning.
pub const FIDELITY_THRESHOLD: f32 = 0.5;
/// Longest output generated per example.
const MAX_TOKENS: usize = 60;
/// Bootstrap resamples of a paired difference.
const RESAMPLES: usize = 2000;

/// One system under evaluation.
pub struct System<'a> {
    pub name: String,
    pub model: &'a Model,
    /// Assistant prefix (an empty reasoning block for adapters trained with plans).
    pub prefix: &'a str,
    /// The system prompt of respond examples (rewrite examples have the rewrite instruction).
    pub system_prompt: &'a str,
}

/// What one output scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ExampleScore {
    pub task: Task,
    pub style: f64,
    pub fidelity: Option<f64>,
    pub valid_style: f64,
    pub copied: bool,
    pub attributed: bool,
}

/// A system's means over one task's examples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct TaskScores {
    pub task: Task,
    pub examples: usize,
    /// Mean profile style score (0..1).
    pub style: f64,
    /// Mean MiniLM cosine to the reference line (None: no embedder).
    pub fidelity: Option<f64>,
    pub valid_style: f64,
    /// Share of outputs that copy the input.
    pub copy_rate: f64,
    /// Share of outputs attributed to this persona among all stored personas.
    pub attribution: f64,
    /// Signature terms per 1,000 words in the outputs, and in the script's training lines.
    pub signature_rate: f64,
    pub script_signature_rate: f64,
    pub distinct_2: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SystemScores {
    pub system: String,
    pub split: Split,
    pub tasks: Vec<TaskScores>,
    /// Every example's scores, in the order of the examples evaluated (the same for every system,
    /// so that systems compare pairwise).
    pub per_example: Vec<ExampleScore>,
    /// A few outputs of each task, for the report card.
    pub samples: Vec<Sample>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    pub task: Task,
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
}

/// Up to `per_task` examples of each task from `split`, each with an input no earlier pick had (a
/// repeated prompt would be one test counted twice), respond examples first.
pub fn pick_examples(dataset: &Dataset, split: Split, per_task: usize) -> Vec<&DistillExample> {
    let mut out = Vec::new();
    for task in [Task::Respond, Task::Rewrite] {
        let mut seen = HashSet::new();
        out.extend(
            dataset
                .in_split(split)
                .filter(|e| e.task == task && seen.insert(normalized(&e.input)))
                .take(per_task),
        );
    }
    out
}

fn generate(system: &System<'_>, messages: &[kotodama_engine::ChatMessage]) -> Result<String> {
    let mut out = String::new();
    // Greedy, so that a report reproduces, with the chats' default repetition penalty: a loop that
    // greedy decoding falls into and chats avoid must not decide the comparison.
    let params = SamplingParams {
        repetition_penalty: crate::ChatSettings::default().repetition_penalty,
        penalty_last_n: crate::chat::PENALTY_WINDOW,
        ..SamplingParams::greedy(MAX_TOKENS)
    };
    ChatSession::new(system.model).generate_after(
        messages,
        system.prefix,
        &params,
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

/// Letters and digits only, lower-cased: what two texts share when one copies the other.
fn normalized(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// An output copies its input when, punctuation and case aside, it is the input, or the input makes
/// up nearly all of it (a copy with a word or two added).
pub fn copies(output: &str, input: &str) -> bool {
    let (o, i) = (normalized(output), normalized(input));
    !i.is_empty() && (o == i || (o.contains(&i) && i.chars().count() * 10 >= o.chars().count() * 8))
}

/// Distinct bigrams over all bigrams of the outputs (Li et al. 2016).
pub fn distinct_2(outputs: &[&str]) -> f64 {
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
fn signature_rate(texts: &[&str], profile: &StyleProfile) -> f64 {
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

fn mean(xs: impl IntoIterator<Item = f64>) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for x in xs {
        sum += x;
        n += 1;
    }
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

/// The conversation a system answers for an example. A card prompt that would not leave room for
/// the answer in the model's context (tiny models) gives way to the dataset's short one.
fn prompt_of(
    ctx: &EvalContext<'_>,
    system: &System<'_>,
    ex: &DistillExample,
) -> Result<Vec<kotodama_engine::ChatMessage>> {
    let mut messages = ctx.dataset.prompt(ex);
    if ex.task == Task::Respond {
        messages[0].content = system.system_prompt.to_string();
        let rendered = system.model.template().render(&messages, true, false)?;
        let tokens = system.model.tokenizer().encode(&rendered)?.len();
        if tokens + MAX_TOKENS > system.model.decoder().max_positions() {
            messages[0].content = ctx.dataset.system_prompt.clone();
        }
    }
    Ok(messages)
}

/// The system's outputs for `examples` (from `pick_examples`), scored.
pub fn evaluate(
    ctx: &EvalContext<'_>,
    system: &System<'_>,
    split: Split,
    examples: &[&DistillExample],
) -> Result<SystemScores> {
    let named: Vec<(&str, &StyleProfile)> = ctx
        .profiles
        .iter()
        .map(|(slug, p)| (slug.as_str(), p))
        .collect();
    let mut outputs = Vec::with_capacity(examples.len());
    let mut per_example = Vec::with_capacity(examples.len());
    for ex in examples {
        let output = generate(system, &prompt_of(ctx, system, ex)?)?;
        let style = kotodama_style::score(&output, ctx.profile, ctx.res).overall;
        let ranked = kotodama_style::attribute(&output, &named, ctx.res);
        let fidelity = match ctx.embedder {
            Some(embedder) => {
                let e = embedder.embed(&[ex.line.as_str(), output.as_str()])?;
                Some(f64::from(kotodama_engine::cosine(&e[0], &e[1])))
            }
            None => None,
        };
        let copied = copies(&output, &ex.input);
        let keeps_meaning = match ex.task {
            Task::Rewrite => fidelity.is_none_or(|f| f >= f64::from(FIDELITY_THRESHOLD)),
            Task::Respond => true,
        };
        per_example.push(ExampleScore {
            task: ex.task,
            style,
            fidelity,
            valid_style: if keeps_meaning && !copied && !output.is_empty() {
                style
            } else {
                0.0
            },
            copied,
            attributed: ranked.first().is_some_and(|(s, _)| s == ctx.persona_slug),
        });
        outputs.push(output);
    }
    let script: Vec<&str> = ctx
        .dataset
        .in_split(Split::Train)
        .filter(|e| e.task == Task::Respond)
        .map(|e| e.line.as_str())
        .collect();
    let mut tasks = Vec::new();
    let mut samples = Vec::new();
    for task in [Task::Respond, Task::Rewrite] {
        let idx: Vec<usize> = (0..examples.len())
            .filter(|&i| examples[i].task == task)
            .collect();
        if idx.is_empty() {
            continue;
        }
        let scores = || idx.iter().map(|&i| &per_example[i]);
        let outs: Vec<&str> = idx.iter().map(|&i| outputs[i].as_str()).collect();
        tasks.push(TaskScores {
            task,
            examples: idx.len(),
            style: mean(scores().map(|s| s.style)),
            fidelity: ctx
                .embedder
                .is_some()
                .then(|| mean(scores().filter_map(|s| s.fidelity))),
            valid_style: mean(scores().map(|s| s.valid_style)),
            copy_rate: mean(scores().map(|s| f64::from(u8::from(s.copied)))),
            attribution: mean(scores().map(|s| f64::from(u8::from(s.attributed)))),
            signature_rate: signature_rate(&outs, ctx.profile),
            script_signature_rate: signature_rate(&script, ctx.profile),
            distinct_2: distinct_2(&outs),
        });
        samples.extend(idx.iter().take(3).map(|&i| Sample {
            task,
            input: examples[i].input.clone(),
            output: outputs[i].clone(),
            reference: examples[i].line.clone(),
        }));
    }
    Ok(SystemScores {
        system: system.name.clone(),
        split,
        tasks,
        per_example,
        samples,
    })
}

/// A paired difference of means (b − a) with its 95% bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Difference {
    pub mean: f64,
    pub low: f64,
    pub high: f64,
}

impl Difference {
    /// The interval lies above zero.
    pub fn is_gain(&self) -> bool {
        self.low > 0.0
    }
}

/// Paired bootstrap over examples: resample example indices with replacement and take the
/// percentile interval of the mean difference. Seeded, so a report reproduces.
pub fn paired_bootstrap(a: &[f64], b: &[f64]) -> Difference {
    assert_eq!(a.len(), b.len(), "paired samples");
    let d: Vec<f64> = b.iter().zip(a).map(|(b, a)| b - a).collect();
    if d.is_empty() {
        return Difference {
            mean: 0.0,
            low: 0.0,
            high: 0.0,
        };
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x6b6f_746f);
    let mut means: Vec<f64> = (0..RESAMPLES)
        .map(|_| mean((0..d.len()).map(|_| d[rng.random_range(0..d.len())])))
        .collect();
    means.sort_by(f64::total_cmp);
    Difference {
        mean: mean(d.iter().copied()),
        low: means[RESAMPLES * 25 / 1000],
        high: means[RESAMPLES * 975 / 1000 - 1],
    }
}

/// `b − a` in Valid Style Score over the examples of `task` (both systems scored the same examples).
pub fn valid_style_difference(
    a: &SystemScores,
    b: &SystemScores,
    task: Option<Task>,
) -> Difference {
    let pick = |s: &SystemScores| -> Vec<f64> {
        s.per_example
            .iter()
            .filter(|e| task.is_none_or(|t| e.task == t))
            .map(|e| e.valid_style)
            .collect()
    };
    paired_bootstrap(&pick(a), &pick(b))
}

/// `b − a` in fidelity over the examples of `task`, when both were measured.
pub fn fidelity_difference(a: &SystemScores, b: &SystemScores, task: Task) -> Option<Difference> {
    let pick = |s: &SystemScores| -> Option<Vec<f64>> {
        s.per_example
            .iter()
            .filter(|e| e.task == task)
            .map(|e| e.fidelity)
            .collect()
    };
    Some(paired_bootstrap(&pick(a)?, &pick(b)?))
}

fn task_name(task: Task) -> &'static str {
    match task {
        Task::Respond => "respond",
        Task::Rewrite => "rewrite",
    }
}

fn interval(d: &Difference) -> String {
    format!("{:+.3} [{:+.3}, {:+.3}]", d.mean, d.low, d.high)
}

/// The comparison as markdown: one row per system and task, with the Valid Style Score's
/// difference from the first system (95% paired bootstrap interval); then, when there are two or
/// more other systems (the adapters), every pair of them compared the same way, in Valid Style
/// Score and in fidelity.
pub fn markdown(scores: &[SystemScores]) -> String {
    let opt = |x: Option<f64>| x.map_or("–".to_string(), |v| format!("{v:.3}"));
    let mut out = String::from(
        "| system | task | n | style | fidelity | valid style | Δ valid style vs first [95% CI] | copies input | attribution | signature /1k (script) | distinct-2 |\n|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|\n",
    );
    for s in scores {
        for t in &s.tasks {
            let delta = match scores.first() {
                Some(first) if !std::ptr::eq(first, s) => {
                    interval(&valid_style_difference(first, s, Some(t.task)))
                }
                _ => "–".to_string(),
            };
            out.push_str(&format!(
                "| {} | {} | {} | {:.3} | {} | {:.3} | {} | {:.2} | {:.2} | {:.1} ({:.1}) | {:.3} |\n",
                s.system,
                task_name(t.task),
                t.examples,
                t.style,
                opt(t.fidelity),
                t.valid_style,
                delta,
                t.copy_rate,
                t.attribution,
                t.signature_rate,
                t.script_signature_rate,
                t.distinct_2
            ));
        }
    }
    let others = scores.get(1..).unwrap_or_default();
    if others.len() >= 2 {
        out.push_str(
            "\n| comparison (b − a) | task | n | Δ valid style [95% CI] | Δ fidelity [95% CI] |\n|---|---|---:|---|---|\n",
        );
        for (i, a) in others.iter().enumerate() {
            for b in &others[i + 1..] {
                for t in &b.tasks {
                    let fidelity = fidelity_difference(a, b, t.task)
                        .map_or("–".to_string(), |d| interval(&d));
                    out.push_str(&format!(
                        "| {} − {} | {} | {} | {} | {} |\n",
                        b.system,
                        a.system,
                        task_name(t.task),
                        t.examples,
                        interval(&valid_style_difference(a, b, Some(t.task))),
                        fidelity
                    ));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_2_counts_unique_bigrams() {
        // bigrams: (a,b) (b,c) (a,b) (b,d): 3 distinct of 4.
        assert!((distinct_2(&["a b c", "a b d"]) - 0.75).abs() < 1e-12);
        assert_eq!(distinct_2(&[]), 0.0);
    }

    #[test]
    fn a_copy_is_the_input_give_or_take_punctuation_case_and_a_word() {
        assert!(!copies("...", "..."), "nothing to copy");
        assert!(copies("What's new here?", "what's new here"));
        assert!(copies("What's new here? Hmm.", "What's new here?"));
        assert!(!copies("Nothing is new here, idiot.", "What's new here?"));
        assert!(!copies("", "Hello"));
    }

    #[test]
    fn the_bootstrap_interval_excludes_zero_only_for_a_consistent_gain() {
        let a: Vec<f64> = (0..60).map(|i| (i % 7) as f64 / 10.0).collect();
        let better: Vec<f64> = a.iter().map(|x| x + 0.1).collect();
        let d = paired_bootstrap(&a, &better);
        assert!((d.mean - 0.1).abs() < 1e-9 && d.is_gain(), "{d:?}");
        // Half the examples up, half down by the same amount: no gain, the interval spans 0.
        let mixed: Vec<f64> = a
            .iter()
            .enumerate()
            .map(|(i, x)| if i % 2 == 0 { x + 0.3 } else { x - 0.3 })
            .collect();
        let d = paired_bootstrap(&a, &mixed);
        assert!(d.low < 0.0 && d.high > 0.0 && !d.is_gain(), "{d:?}");
        assert_eq!(paired_bootstrap(&a, &a).mean, 0.0);
    }

    #[test]
    fn the_table_has_a_row_per_system_and_task_with_the_difference() {
        let system = |name: &str, v: f64| SystemScores {
            system: name.into(),
            split: Split::Test,
            tasks: vec![TaskScores {
                task: Task::Rewrite,
                examples: 2,
                style: v,
                fidelity: None,
                valid_style: v,
                copy_rate: 0.5,
                attribution: 1.0,
                signature_rate: 12.0,
                script_signature_rate: 30.0,
                distinct_2: 0.9,
            }],
            per_example: vec![
                ExampleScore {
                    task: Task::Rewrite,
                    style: v,
                    fidelity: None,
                    valid_style: v,
                    copied: false,
                    attributed: true,
                };
                2
            ],
            samples: vec![],
        };
        let md = markdown(&[system("base", 0.25), system("vanilla", 0.5)]);
        assert!(
            !md.contains("comparison"),
            "one adapter, nothing to pair: {md}"
        );
        assert!(
            md.contains("| base | rewrite | 2 | 0.250 | – | 0.250 | – | 0.50 | 1.00 | 12.0 (30.0) | 0.900 |"),
            "{md}"
        );
        assert!(
            md.contains("| vanilla | rewrite | 2 | 0.500 | – | 0.500 | +0.250 [+0.250, +0.250] |"),
            "{md}"
        );
        let md = markdown(&[
            system("base", 0.25),
            system("vanilla", 0.5),
            system("plan", 0.375),
        ]);
        assert!(
            md.contains("| plan − vanilla | rewrite | 2 | -0.125 [-0.125, -0.125] | – |"),
            "{md}"
        );
    }
}
