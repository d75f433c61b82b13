//! Dataset examples -> token sequences with target masks, through the student's own chat template.

use kotodama_engine::{ChatMessage, Model, TrainExample};

use super::dataset::{Dataset, Split, TrainingSequence, Variant};
use super::MAX_SEQ_LEN;
use crate::{Error, Result};

/// Which sequences of a split's examples to tokenize.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// Everything the recipe trains on (`Dataset::sequences`).
    Training,
    /// Only the answer as a chat asks for it (`Dataset::answer`): validation losses compare across
    /// recipes this way.
    Answer,
}

/// The sequences of one split's examples as tokens cut to `MAX_SEQ_LEN`, and how many were cut
/// (those cut before their first target token are left out: they would teach nothing).
pub fn tokenize_split(
    model: &Model,
    dataset: &Dataset,
    split: Split,
    variant: Variant,
    form: Form,
) -> Result<(Vec<TrainExample>, usize)> {
    let mut truncated = 0;
    let mut out = Vec::new();
    for ex in dataset.in_split(split) {
        let sequences = match form {
            Form::Training => dataset.sequences(ex, variant),
            Form::Answer => vec![dataset.answer(ex, variant)],
        };
        for seq in sequences {
            let mut t = tokenize_sequence(model, &seq)?;
            truncated += usize::from(t.truncate(MAX_SEQ_LEN));
            if t.targets.iter().skip(1).any(|&x| x) {
                out.push(t);
            }
        }
    }
    Ok((out, truncated))
}

/// Tokenizes a sequence whose last message is the assistant's target. The targets are the
/// assistant's tokens after its given part, up to and including its end-of-turn token; the prompt
/// and the given part are rendered exactly as a chat renders them at generation time (thinking
/// allowed, since some targets write their own reasoning block).
pub fn tokenize_sequence(model: &Model, seq: &TrainingSequence) -> Result<TrainExample> {
    let messages = &seq.messages;
    let (prompt_messages, last) = messages.split_at(messages.len().saturating_sub(1));
    let Some(last) = last.first().filter(|m| m.role == "assistant") else {
        return Err(Error::Distill(
            "a training conversation must end with the assistant's message".into(),
        ));
    };
    let template = model.template();
    let prompt = template.render(prompt_messages, true, true)? + &seq.given;
    let mut rendered = prompt_messages.to_vec();
    rendered.push(ChatMessage::new(
        "assistant",
        format!("{}{}", seq.given, last.content),
    ));
    let full = template.render(&rendered, false, true)?;
    let Some(answer) = full.strip_prefix(&prompt) else {
        return Err(Error::Distill(
            "the chat template renders the assistant's turn differently from its generation prompt"
                .into(),
        ));
    };
    let tokenizer = model.tokenizer();
    let mut ids = tokenizer.encode(&prompt)?;
    let prompt_len = ids.len();
    let answer_ids = tokenizer.encode(answer)?;
    // Up to the end-of-turn token: what follows it (a newline) is never generated.
    let end = answer_ids
        .iter()
        .position(|&t| tokenizer.is_stop(t))
        .map_or(answer_ids.len(), |i| i + 1);
    ids.extend_from_slice(&answer_ids[..end]);
    let mut targets = vec![false; prompt_len];
    targets.resize(ids.len(), true);
    Ok(TrainExample {
        ids,
        targets,
        weight: seq.weight,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompt::EMPTY_REASONING;

    fn sequence(given: &str, target: &str) -> TrainingSequence {
        TrainingSequence {
            messages: vec![
                ChatMessage::new("system", "You are Aki."),
                ChatMessage::new("user", "Hello"),
                ChatMessage::new("assistant", target),
            ],
            given: given.to_string(),
            weight: 0.5,
        }
    }

    #[test]
    fn only_the_answer_after_its_given_part_and_its_end_token_are_targets_on_smollm2() {
        let Some(gguf) = std::env::var_os("KOTODAMA_SMOLLM2_GGUF") else {
            eprintln!("skipped: KOTODAMA_SMOLLM2_GGUF is not set");
            return;
        };
        let model = Model::load(gguf.as_ref(), Default::default()).unwrap();
        let tok = model.tokenizer();
        let split = |ex: &TrainExample| {
            let first = ex.targets.iter().position(|&t| t).unwrap();
            assert!(ex.targets[first..].iter().all(|&t| t));
            assert!(
                tok.is_stop(*ex.ids.last().unwrap()),
                "ends with the end-of-turn token"
            );
            (
                tok.decode(&ex.ids[..first]).unwrap(),
                tok.decode(&ex.ids[first..]).unwrap(),
            )
        };

        let planned = tokenize_sequence(
            &model,
            &sequence("", "<think>\nWords: \"hmph\".\n</think>\n\nHmph. Hi."),
        )
        .unwrap();
        let (prompt, answer) = split(&planned);
        assert!(answer.starts_with("<think>"), "{answer:?}");
        assert!(prompt.ends_with("<|im_start|>assistant\n"), "{prompt:?}");
        assert_eq!(planned.weight, 0.5);

        // The answer task: the empty reasoning block is context, as the chat's prefix is.
        let answer_task =
            tokenize_sequence(&model, &sequence(EMPTY_REASONING, "Hmph. Hi.")).unwrap();
        let (prompt, answer) = split(&answer_task);
        assert!(
            prompt.ends_with(&format!("assistant\n{EMPTY_REASONING}")),
            "{prompt:?}"
        );
        assert!(answer.starts_with("Hmph. Hi."), "{answer:?}");

        let mut no_answer = sequence("", "x");
        no_answer.messages.pop();
        assert_eq!(
            tokenize_sequence(&model, &no_answer).unwrap_err().code(),
            "DISTILL_FAILED"
        );
    }
}
