//! The distillation dataset: a persona's lines, split by blocks of consecutive lines into train /
//! validation / test (neighbouring lines share topics, so a random split would leak), each line used as
//! - a *respond* example: the adapter's system prompt + the preceding turn -> the line, and
//! - a *rewrite* example (the structured style rewrite): a neutral sentence from a teacher -> the line,
//!
//! each with its style plan (what the line realizes of the profile). How the plan enters training is
//! the `Variant`; whatever the variant, the answer a chat asks for (an empty reasoning block, then the
//! line) is trained in exactly the form a chat gives it.

use kotodama_engine::ChatMessage;
use kotodama_store::ScriptLine;
use kotodama_style::{Resources, StyleProfile};
use serde::{Deserialize, Serialize};

use super::teacher::Teacher;
use crate::prompt::{rewrite_instruction, EMPTY_REASONING};
use crate::Result;

/// Consecutive lines per block; blocks go 8:1:1 to train, validation, test.
pub const BLOCK_LINES: usize = 10;
/// A persona needs this many lines to be distilled: ten blocks, so that validation and test get one each.
pub const MIN_LINES: usize = 10 * BLOCK_LINES;
/// A neutral sentence must keep the line's meaning: MiniLM cosine at least this (when the embedder is
/// installed). Paraphrases of one sentence score ~0.75, unrelated sentences ~0.1.
pub const MIN_SIMILARITY: f32 = 0.5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum Split {
    Train,
    Validation,
    Test,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum Task {
    Respond,
    Rewrite,
}

/// How the style plan enters training. Chats never see a plan: variants other than `Vanilla` answer
/// after an empty reasoning block, which every variant trains on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// Plain fine-tuning: input -> line.
    Vanilla,
    /// Distilling step-by-step (Hsieh et al., 2023): every input twice, as the plan task (the input
    /// marked with `PLAN_TASK_MARKER` -> the plan, weighted `PLAN_TASK_WEIGHT`) and as the answer task
    /// (an empty reasoning block given -> the line). Jobs queued as "cot" before the recipe existed
    /// read as this one.
    #[serde(alias = "cot")]
    StepByStep,
    /// One sequence per input: for `PLAN_KEEP` of the examples the plan is written in the reasoning
    /// block before the line (both learnt); for the others the block is given empty.
    PlanDropout,
}

impl Variant {
    pub const ALL: [Variant; 3] = [Variant::Vanilla, Variant::StepByStep, Variant::PlanDropout];

    /// The name stored with an adapter and taken by the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Vanilla => "vanilla",
            Variant::StepByStep => "step-by-step",
            Variant::PlanDropout => "plan-dropout",
        }
    }

    /// Whether the adapter answers after an empty reasoning block (`EMPTY_REASONING`).
    pub fn answers_after_empty_reasoning(self) -> bool {
        self != Variant::Vanilla
    }
}

impl std::str::FromStr for Variant {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self> {
        super::parse_choice(s, "variant", &Variant::ALL.map(|v| (v.as_str(), v)))
    }
}

/// What marks the plan task's input, so that a chat (which never carries it) is always the answer task.
pub const PLAN_TASK_MARKER: &str = "[style plan]";
/// Weight of the plan task's loss against the answer task's (λ of Distilling step-by-step).
pub const PLAN_TASK_WEIGHT: f32 = 0.5;
/// Share of examples whose plan is kept in `PlanDropout`.
pub const PLAN_KEEP: f64 = 0.5;

/// One training sequence: the conversation ending with the assistant's target, the part of the
/// assistant's turn that is given rather than learnt, and the weight of its loss.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingSequence {
    pub messages: Vec<ChatMessage>,
    pub given: String,
    pub weight: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DistillExample {
    pub task: Task,
    pub split: Split,
    /// What the model is given: the preceding turn (respond) or the neutral sentence (rewrite).
    pub input: String,
    /// The character's line.
    pub line: String,
    /// The rendered style plan of `line`.
    pub plan: String,
}

/// What became of the lines, for the job's report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct DatasetReport {
    pub lines: usize,
    pub blocks: usize,
    pub teacher: String,
    pub respond: usize,
    pub rewrite: usize,
    /// Rewrite pairs dropped because the teacher left the line as it was (nothing to learn).
    pub dropped_unchanged: usize,
    /// ... because the neutral sentence lost the line's meaning (cosine below `MIN_SIMILARITY`).
    pub dropped_low_similarity: usize,
    /// ... because the neutral sentence scored as much of the character's style as the line.
    pub dropped_not_plainer: usize,
    /// ... because the teacher failed on the line (e.g. an endpoint error), with the first reason.
    pub dropped_teacher_error: usize,
    pub first_teacher_error: Option<String>,
    pub similarity_checked: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dataset {
    pub persona: String,
    pub system_prompt: String,
    pub examples: Vec<DistillExample>,
    pub report: DatasetReport,
}

fn split_of_block(block: usize) -> Split {
    match block % 10 {
        8 => Split::Validation,
        9 => Split::Test,
        _ => Split::Train,
    }
}

/// Sentence similarity, when an embedder is available.
pub type Similarity<'a> = &'a mut dyn FnMut(&str, &str) -> Result<f32>;

/// The persona's side of a dataset.
pub struct DatasetSource<'a> {
    pub persona: &'a str,
    pub system_prompt: &'a str,
    pub lines: &'a [ScriptLine],
    pub profile: &'a StyleProfile,
}

/// Builds the dataset. `similarity` checks that a neutral sentence keeps the line's meaning;
/// `progress(done, total)` is called per line.
pub fn build_dataset(
    source: &DatasetSource<'_>,
    res: &Resources,
    teacher: &mut dyn Teacher,
    mut similarity: Option<Similarity<'_>>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Dataset> {
    let DatasetSource {
        persona,
        system_prompt,
        lines,
        profile,
    } = *source;
    let mut report = DatasetReport {
        lines: lines.len(),
        blocks: lines.len().div_ceil(BLOCK_LINES),
        teacher: teacher.name(),
        similarity_checked: similarity.is_some(),
        ..Default::default()
    };
    let mut examples = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        progress(i, lines.len());
        let line = l.line.text.trim();
        if line.is_empty() {
            continue;
        }
        let split = split_of_block(i / BLOCK_LINES);
        let plan = kotodama_style::plan(line, profile, res).render();
        // What the line answers: the other speaker's turn before it, or (a one-speaker script) the
        // character's own previous line; the first line of such a script answers nothing.
        let context = l
            .line
            .context_text
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .or_else(|| {
                lines[..i]
                    .iter()
                    .rev()
                    .map(|p| p.line.text.trim())
                    .find(|p| !p.is_empty())
            });
        if let Some(context) = context {
            examples.push(DistillExample {
                task: Task::Respond,
                split,
                input: context.to_string(),
                line: line.to_string(),
                plan: plan.clone(),
            });
            report.respond += 1;
        }

        let neutral = match teacher.neutralize(line) {
            Ok(n) => n.trim().to_string(),
            Err(e) => {
                report.dropped_teacher_error += 1;
                report.first_teacher_error.get_or_insert(e.to_string());
                continue;
            }
        };
        if neutral.is_empty() || neutral == line {
            report.dropped_unchanged += 1;
            continue;
        }
        if let Some(sim) = similarity.as_mut() {
            if sim(&neutral, line)? < MIN_SIMILARITY {
                report.dropped_low_similarity += 1;
                continue;
            }
        }
        let styled = kotodama_style::score(line, profile, res).overall;
        if kotodama_style::score(&neutral, profile, res).overall >= styled {
            report.dropped_not_plainer += 1;
            continue;
        }
        examples.push(DistillExample {
            task: Task::Rewrite,
            split,
            input: neutral,
            line: line.to_string(),
            plan,
        });
        report.rewrite += 1;
    }
    progress(lines.len(), lines.len());
    Ok(Dataset {
        persona: persona.to_string(),
        system_prompt: system_prompt.to_string(),
        examples,
        report,
    })
}

/// A plan as the reasoning block before an answer (`EMPTY_REASONING` with the plan inside).
fn plan_block(plan: &str) -> String {
    format!("<think>\n{plan}\n</think>\n\n")
}

/// Whether a `PlanDropout` example keeps its plan: a fixed hash of the line, so that a resumed job
/// and every rerun see the same sequences.
fn keeps_plan(ex: &DistillExample) -> bool {
    let h = ex
        .line
        .bytes()
        .chain(ex.input.bytes())
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    (h % 1000) as f64 / 1000.0 < PLAN_KEEP
}

impl Dataset {
    /// The sequences an example trains on under `variant`.
    pub fn sequences(&self, ex: &DistillExample, variant: Variant) -> Vec<TrainingSequence> {
        // The example's prompt with `user` as the user's turn, answered by `target`, all learnt.
        let seq = |user: String, target: String, weight: f32| {
            let mut messages = self.prompt(ex);
            messages[1].content = user;
            messages.push(ChatMessage::new("assistant", target));
            TrainingSequence {
                messages,
                given: String::new(),
                weight,
            }
        };
        match variant {
            Variant::StepByStep => vec![
                seq(
                    format!("{PLAN_TASK_MARKER} {}", ex.input),
                    ex.plan.clone(),
                    PLAN_TASK_WEIGHT,
                ),
                self.answer(ex, variant),
            ],
            Variant::PlanDropout if keeps_plan(ex) => vec![seq(
                ex.input.clone(),
                format!("{}{}", plan_block(&ex.plan), ex.line),
                1.0,
            )],
            Variant::Vanilla | Variant::PlanDropout => vec![self.answer(ex, variant)],
        }
    }

    /// The example as a chat asks for it under `variant`: the input, the empty reasoning block given
    /// (plan recipes), the line. Validation losses are measured on this form, so that recipes compare.
    pub fn answer(&self, ex: &DistillExample, variant: Variant) -> TrainingSequence {
        let mut messages = self.prompt(ex);
        messages.push(ChatMessage::new("assistant", ex.line.clone()));
        TrainingSequence {
            messages,
            given: if variant.answers_after_empty_reasoning() {
                EMPTY_REASONING.to_string()
            } else {
                String::new()
            },
            weight: 1.0,
        }
    }

    /// The preference pairs of CoT-shared DPO over `split`, as (preferred, rejected): the character's
    /// line over the teacher's neutral version of it, as the answer to the turn before the line and as
    /// the rewrite of the neutral sentence (where the rejected answer is a copy of the input). Under a
    /// plan recipe both answers follow the same plan, given in the reasoning block (the pair shares the
    /// plan, so the preference is for the line that realizes it).
    pub fn preference_pairs(
        &self,
        split: Split,
        variant: Variant,
    ) -> Vec<(TrainingSequence, TrainingSequence)> {
        let neutral: std::collections::HashMap<&str, &str> = self
            .in_split(split)
            .filter(|e| e.task == Task::Rewrite)
            .map(|e| (e.line.as_str(), e.input.as_str()))
            .collect();
        let mut pairs = Vec::new();
        for ex in self.in_split(split) {
            let Some(plain) = neutral.get(ex.line.as_str()) else {
                continue;
            };
            let given = if variant.answers_after_empty_reasoning() {
                plan_block(&ex.plan)
            } else {
                String::new()
            };
            let answer = |text: &str| {
                let mut messages = self.prompt(ex);
                messages.push(ChatMessage::new("assistant", text));
                TrainingSequence {
                    messages,
                    given: given.clone(),
                    weight: 1.0,
                }
            };
            pairs.push((answer(&ex.line), answer(plain)));
        }
        pairs
    }

    /// The conversation a system is asked to answer for an example, as a chat asks it.
    pub fn prompt(&self, ex: &DistillExample) -> Vec<ChatMessage> {
        let system = match ex.task {
            Task::Respond => self.system_prompt.clone(),
            Task::Rewrite => rewrite_instruction(&self.persona),
        };
        vec![
            ChatMessage::new("system", system),
            ChatMessage::new("user", ex.input.clone()),
        ]
    }

    pub fn in_split(&self, split: Split) -> impl Iterator<Item = &DistillExample> {
        self.examples.iter().filter(move |e| e.split == split)
    }

    /// One JSON object per training sequence in the OpenAI chat format (`{"messages": [...]}`), which
    /// TRL, axolotl and LLaMA-Factory read; the assistant's content includes its given part. `split`,
    /// `task` and the loss `weight` ride along as extra keys.
    pub fn to_jsonl(&self, variant: Variant, split: Split) -> String {
        let mut out = String::new();
        for ex in self.in_split(split) {
            for seq in self.sequences(ex, variant) {
                let messages: Vec<serde_json::Value> = seq
                    .messages
                    .iter()
                    .map(|m| {
                        let content = if m.role == "assistant" {
                            format!("{}{}", seq.given, m.content)
                        } else {
                            m.content.clone()
                        };
                        serde_json::json!({"role": m.role, "content": content})
                    })
                    .collect();
                let row = serde_json::json!({
                    "messages": messages, "split": ex.split, "task": ex.task, "weight": seq.weight
                });
                out.push_str(&row.to_string());
                out.push('\n');
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distill::teacher::RulesTeacher;
    use crate::{Home, Kotodama};

    fn ririka() -> (tempfile::TempDir, Kotodama, i64) {
        let dir = tempfile::tempdir().unwrap();
        let app = Kotodama::open(Home::at(dir.path())).unwrap();
        let id = app.find_persona("ririka").unwrap().id;
        (dir, app, id)
    }

    #[test]
    fn blocks_of_consecutive_lines_split_eight_one_one_and_rewrites_are_validated() {
        let (_dir, app, id) = ririka();
        let lines = app.store.script_lines(id).unwrap();
        let profile = app.style_profile(id).unwrap();
        let res = crate::analysis::style_resources().unwrap();
        let mut teacher = RulesTeacher::new(profile.clone());
        let mut calls = 0;
        let source = DatasetSource {
            persona: "Hoshino Ririka",
            system_prompt: "You are Ririka.",
            lines: &lines,
            profile: &profile,
        };
        let data = build_dataset(&source, res, &mut teacher, None, &mut |_, _| calls += 1).unwrap();
        assert_eq!(calls, lines.len() + 1);
        let r = &data.report;
        // Every line answers the turn before it; only a first line with no context has none.
        assert!(
            r.respond + 1 >= lines.len() && r.respond <= lines.len(),
            "{r:?}"
        );
        assert!(r.rewrite > lines.len() / 3, "{r:?}");
        assert_eq!(
            r.respond
                + r.rewrite
                + r.dropped_unchanged
                + r.dropped_not_plainer
                + (lines.len() - r.respond),
            2 * lines.len()
        );
        let inputs: std::collections::HashSet<&str> = data
            .examples
            .iter()
            .filter(|e| e.task == Task::Respond)
            .map(|e| e.input.as_str())
            .collect();
        assert!(
            inputs.len() * 10 >= r.respond * 9,
            "inputs are real, varied turns"
        );
        // Plans are short, in plain words, and name only what the profile measured.
        for ex in &data.examples {
            assert!(ex.plan.chars().count() <= 400, "{}", ex.plan);
            assert!(
                !ex.plan.contains("->") && !ex.plan.contains("_rate"),
                "{}",
                ex.plan
            );
        }
        // Whole blocks land in one split: the first test example is the first line of block 9.
        let test: Vec<&DistillExample> = data.in_split(Split::Test).collect();
        let first_test_line = lines[9 * BLOCK_LINES].line.text.trim();
        assert_eq!(test[0].line, first_test_line);
        let share = |s| {
            data.in_split(s).filter(|e| e.task == Task::Respond).count() as f64 / lines.len() as f64
        };
        assert!((share(Split::Train) - 0.8).abs() < 0.05);
        assert!((share(Split::Test) - 0.1).abs() < 0.05);
        for ex in data
            .in_split(Split::Train)
            .filter(|e| e.task == Task::Rewrite)
        {
            let styled = kotodama_style::score(&ex.line, &profile, res).overall;
            assert!(kotodama_style::score(&ex.input, &profile, res).overall < styled);
        }

        let rows = |variant| -> Vec<serde_json::Value> {
            data.to_jsonl(variant, Split::Train)
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        };
        let assistant =
            |row: &serde_json::Value| row["messages"][2]["content"].as_str().unwrap().to_string();
        let user =
            |row: &serde_json::Value| row["messages"][1]["content"].as_str().unwrap().to_string();

        // Step by step: the plan task (marked input -> plan, half weight), then the answer task
        // (empty reasoning block -> the line), for every example.
        let sbs = rows(Variant::StepByStep);
        let train: Vec<&DistillExample> = data.in_split(Split::Train).collect();
        assert_eq!(sbs.len(), 2 * train.len());
        assert_eq!(sbs[0]["messages"][0]["role"], "system");
        assert!(user(&sbs[0]).starts_with(PLAN_TASK_MARKER));
        assert_eq!(assistant(&sbs[0]), data.examples[0].plan);
        assert_eq!(sbs[0]["weight"], 0.5);
        assert_eq!(user(&sbs[1]), data.examples[0].input);
        assert_eq!(
            assistant(&sbs[1]),
            format!("{EMPTY_REASONING}{}", data.examples[0].line)
        );
        // No answer-task target carries a plan: each is the plan alone, or the empty block and a line.
        assert!(sbs.iter().all(|r| {
            let a = assistant(r);
            a.starts_with(EMPTY_REASONING) || !a.contains("<think>")
        }));

        // Plan dropout: about half the examples write their plan in the block, the rest get it empty.
        let dropout = rows(Variant::PlanDropout);
        assert_eq!(dropout.len(), train.len());
        let planned = dropout
            .iter()
            .filter(|r| !assistant(r).starts_with(EMPTY_REASONING))
            .count();
        assert!(
            (planned as f64 / dropout.len() as f64 - PLAN_KEEP).abs() < 0.1,
            "{planned}"
        );
        assert_eq!(
            rows(Variant::PlanDropout),
            dropout,
            "the same examples keep their plans every time"
        );

        // DPO pairs: the line over its neutral version, as reply and as rewrite, after a shared plan.
        let pairs = data.preference_pairs(Split::Train, Variant::StepByStep);
        let rewrites = train.iter().filter(|e| e.task == Task::Rewrite).count();
        assert!(
            pairs.len() >= rewrites && pairs.len() <= 2 * rewrites,
            "{}",
            pairs.len()
        );
        for (chosen, rejected) in &pairs {
            assert_eq!(chosen.messages[..2], rejected.messages[..2], "one prompt");
            assert_eq!(chosen.given, rejected.given, "one plan");
            assert!(
                chosen.given.starts_with("<think>\n") && chosen.given.len() > EMPTY_REASONING.len()
            );
            assert_ne!(chosen.messages[2].content, rejected.messages[2].content);
        }
        assert!(data
            .preference_pairs(Split::Train, Variant::Vanilla)
            .iter()
            .all(|(c, _)| c.given.is_empty()));

        let vanilla = data.to_jsonl(Variant::Vanilla, Split::Validation);
        assert_eq!(
            vanilla.lines().count(),
            data.in_split(Split::Validation).count()
        );
        assert!(!vanilla.contains("<think>") && !vanilla.contains(PLAN_TASK_MARKER));
    }
}
