//! Script files -> `Script { turns }`.

mod screenplay;

pub use screenplay::parse_screenplay;

use kotodama_store::NewScriptLine;
use serde::Serialize;

/// One speech turn of a script.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Turn {
    pub speaker: String,
    pub text: String,
    /// 1-based line number in the source file.
    pub line_no: usize,
    /// Scene index: context never crosses a scene boundary.
    pub scene: usize,
    /// Stage directions removed from the text, e.g. "(turns away)".
    pub directions: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Script {
    pub turns: Vec<Turn>,
}

impl Script {
    /// Speakers with their number of turns, most talkative first.
    pub fn speakers(&self) -> Vec<(String, usize)> {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for t in &self.turns {
            match counts.iter_mut().find(|(s, _)| *s == t.speaker) {
                Some((_, n)) => *n += 1,
                None => counts.push((t.speaker.clone(), 1)),
            }
        }
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        counts
    }

    /// The lines of `speaker`, each with the turn before it in the same scene as its context.
    pub fn lines_of(&self, speaker: &str) -> Vec<NewScriptLine> {
        self.turns
            .iter()
            .enumerate()
            .filter(|(_, t)| t.speaker == speaker && !t.text.is_empty())
            .map(|(i, t)| {
                let prev = i.checked_sub(1).map(|j| &self.turns[j]).filter(|p| p.scene == t.scene);
                NewScriptLine {
                    line_no: t.line_no as i64,
                    text: t.text.clone(),
                    context_speaker: prev.map(|p| p.speaker.clone()),
                    context_text: prev.map(|p| p.text.clone()),
                }
            })
            .collect()
    }
}
