//! Dataset examples -> token sequences with target masks, through the student's own chat template.

use kotodama_engine::{ChatMessage, Model, TrainExample};

use super::dataset::{Dataset, Split, Variant};
use super::MAX_SEQ_LEN;
use crate::{Error, Result};

/// The examples of one split as token sequences cut to `MAX_SEQ_LEN`, and how many were cut.
pub fn tokenize_split(
    model: &Model,
    dataset: &Dataset,
    split: Split,
    variant: Variant,
) -> Result<(Vec<TrainExample>, usize)> {
    let mut truncated = 0;
    let mut out = Vec::new();
    for ex in dataset.in_split(split) {
        let mut t = tokenize_conversation(model, &dataset.messages(ex, variant))?;
        truncated += usize::from(t.truncate(MAX_SEQ_LEN));
        out.push(t);
    }
    Ok((out, truncated))
}

/// Tokenizes a conversation whose last message is the assistant's target. The targets are the
/// assistant's tokens up to and including its end-of-turn token; the prompt is rendered as at
/// generation time, with thinking allowed, since CoT targets write their own reasoning block.
pub fn tokenize_conversation(model: &Model, messages: &[ChatMessage]) -> Result<TrainExample> {
    let (prompt_messages, last) = messages.split_at(messages.len().saturating_sub(1));
    if last.first().is_none_or(|m| m.role != "assistant") {
        return Err(Error::Distill(
            "a training conversation must end with the assistant's message".into(),
        ));
    }
    let template = model.template();
    let prompt = template.render(prompt_messages, true, true)?;
    let full = template.render(messages, false, true)?;
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
    Ok(TrainExample { ids, targets })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_answer_and_its_end_token_are_targets_on_smollm2() {
        let Some(gguf) = std::env::var_os("KOTODAMA_SMOLLM2_GGUF") else {
            eprintln!("skipped: KOTODAMA_SMOLLM2_GGUF is not set");
            return;
        };
        let model = Model::load(gguf.as_ref(), Default::default()).unwrap();
        let messages = [
            ChatMessage::new("system", "You are Aki."),
            ChatMessage::new("user", "Hello"),
            ChatMessage::new(
                "assistant",
                "<think>\nSignature: \"hmph\".\n</think>\n\nHmph. Hi.",
            ),
        ];
        let ex = tokenize_conversation(&model, &messages).unwrap();
        let first_target = ex.targets.iter().position(|&t| t).unwrap();
        let tok = model.tokenizer();
        let answer = tok.decode(&ex.ids[first_target..]).unwrap();
        assert!(answer.starts_with("<think>"), "{answer:?}");
        assert!(
            tok.is_stop(*ex.ids.last().unwrap()),
            "ends with the end-of-turn token"
        );
        assert!(ex.targets[first_target..].iter().all(|&t| t));
        let prompt = tok.decode(&ex.ids[..first_target]).unwrap();
        assert!(prompt.ends_with("<|im_start|>assistant\n"), "{prompt:?}");

        let no_answer = &messages[..2];
        assert_eq!(
            tokenize_conversation(&model, no_answer).unwrap_err().code(),
            "DISTILL_FAILED"
        );
    }
}
