//! The distillation dataset: a persona's lines, split by blocks of consecutive lines into train /
//! validation / test (neighbouring lines share topics, so a random split would leak), each line used as
//! - a *respond* example: persona system prompt + the preceding turn -> the line, and
//! - a *rewrite* example (the structured style rewrite): a neutral sentence from a teacher -> the line,
//!
//! and each target carrying its style plan (what the line realizes of the profile) as an explicit
//! reasoning block (CoT variant) or not (vanilla variant).

use kotodama_engine::ChatMessage;
use kotodama_store::ScriptLine;
use kotodama_style::{Resources, StyleProfile};
use serde::{Deserialize, Serialize};

use super::teacher::Teacher;
use crate::Result;

/// Consecutive lines per block; blocks go 8:1:1 to train, validation, test.
pub const BLOCK_LINES: usize = 10;
/// A persona needs this many lines to be distilled: ten blocks, so that validation and test get one each.
pub const MIN_LINES: usize = 10 * BLOCK_LINES;
/// A neutral sentence must keep the line's meaning: MiniLM cosine at least this (when the embedder is
/// installed). Paraphrases of one sentence score ~0.75, unrelated sentences ~0.1.
pub const MIN_SIMILARITY: f32 = 0.5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Split {
    Train,
    Validation,
    Test,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Task {
    Respond,
    Rewrite,
}

/// Whether targets carry the style plan as a reasoning block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Variant {
    Cot,
    Vanilla,
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
        let context = l.line.context_text.as_deref().unwrap_or("").trim();
        examples.push(DistillExample {
            task: Task::Respond,
            split,
            input: if context.is_empty() {
                "...".to_string()
            } else {
                context.to_string()
            },
            line: line.to_string(),
            plan: plan.clone(),
        });
        report.respond += 1;

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

/// The assistant's target: the plan as a reasoning block before the line (CoT), or the line alone.
pub fn target(ex: &DistillExample, variant: Variant) -> String {
    match variant {
        Variant::Cot => format!("<think>\n{}\n</think>\n\n{}", ex.plan, ex.line),
        Variant::Vanilla => ex.line.clone(),
    }
}

impl Dataset {
    /// The conversation an example trains on, ending with the assistant's target.
    pub fn messages(&self, ex: &DistillExample, variant: Variant) -> Vec<ChatMessage> {
        let (system, user) = match ex.task {
            Task::Respond => (self.system_prompt.clone(), ex.input.clone()),
            Task::Rewrite => (rewrite_instruction(&self.persona), ex.input.clone()),
        };
        vec![
            ChatMessage::new("system", system),
            ChatMessage::new("user", user),
            ChatMessage::new("assistant", target(ex, variant)),
        ]
    }

    pub fn in_split(&self, split: Split) -> impl Iterator<Item = &DistillExample> {
        self.examples.iter().filter(move |e| e.split == split)
    }

    /// One JSON object per line in the OpenAI chat format (`{"messages": [...]}`), which TRL, axolotl
    /// and LLaMA-Factory read; `split` and `task` ride along as extra keys.
    pub fn to_jsonl(&self, variant: Variant) -> String {
        let mut out = String::new();
        for ex in &self.examples {
            let messages: Vec<serde_json::Value> = self
                .messages(ex, variant)
                .into_iter()
                .map(|m| serde_json::json!({"role": m.role, "content": m.content}))
                .collect();
            let row = serde_json::json!({"messages": messages, "split": ex.split, "task": ex.task});
            out.push_str(&row.to_string());
            out.push('\n');
        }
        out
    }
}

/// The system prompt of rewrite examples (and of "rewrite in character" at chat time).
pub fn rewrite_instruction(persona: &str) -> String {
    format!("Rewrite the user's sentence in {persona}'s voice, keeping its meaning.")
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
        assert_eq!(r.respond, lines.len());
        assert!(r.rewrite > lines.len() / 3, "{r:?}");
        assert_eq!(
            r.respond + r.rewrite + r.dropped_unchanged + r.dropped_not_plainer,
            2 * lines.len()
        );
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

        let jsonl = data.to_jsonl(Variant::Cot);
        let first: serde_json::Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
        assert_eq!(first["messages"][0]["role"], "system");
        assert_eq!(first["messages"][2]["role"], "assistant");
        assert!(first["messages"][2]["content"]
            .as_str()
            .unwrap()
            .starts_with("<think>\n"));
        assert_eq!(jsonl.lines().count(), data.examples.len());
        let vanilla = data.to_jsonl(Variant::Vanilla);
        assert!(!vanilla.contains("<think>"));
    }
}
