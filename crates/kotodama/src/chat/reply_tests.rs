//! Replies end to end: turns stored, the replier writing with and without a model, the guard.

use std::collections::HashSet;
use std::path::Path;

use crate::GuardAction;
use kotodama_engine::{CancelToken, ChatMessage, LoadOptions, SamplingParams, StopReason};
use kotodama_store::{AdapterChoice, MessageSource};

use crate::models::ModelManager;

use super::local::{add_lore, fit_context, token_counter};
use super::replier::*;
use super::turn::*;
use super::*;

use crate::temp_app as open;

#[test]
fn chats_take_the_newest_adapter_that_beat_the_base_model_or_the_one_chosen() {
    let (_dir, mut app) = open();
    let tsubaki = app.find_persona("tsubaki").unwrap().id;
    let verdict = |beats: bool| {
        serde_json::json!({"verdict": {
            "baseValidStyle": 0.4, "adapterValidStyle": if beats { 0.5 } else { 0.3 },
            "difference": {"mean": if beats { 0.1 } else { -0.1 }, "low": -0.2, "high": 0.2},
            "beatsBase": beats
        }})
    };
    let add = |app: &mut Kotodama, variant: &str, report: Option<serde_json::Value>| {
        app.store
            .insert_adapter(&kotodama_store::NewAdapter {
                persona_id: tsubaki,
                model_id: None,
                path: format!("/adapters/{variant}"),
                variant: variant.into(),
                rank: 8,
                alpha: 16.0,
                report,
            })
            .unwrap()
    };
    let legacy = add(&mut app, "cot", Some(serde_json::json!({"losses": []})));
    assert!(
        app.chat_adapter(tsubaki, USER_NAME).unwrap().is_none(),
        "no verdict: not used"
    );
    let good = add(&mut app, "step-by-step", Some(verdict(true)));
    let worse = add(&mut app, "vanilla", Some(verdict(false)));
    let chosen = app.chat_adapter(tsubaki, USER_NAME).unwrap().unwrap();
    assert_eq!(chosen.id, good, "the newer adapter lost to the base model");
    assert_eq!(chosen.prefix, crate::prompt::EMPTY_REASONING);
    assert!(chosen.system_prompt.starts_with("You are ") && chosen.system_prompt.len() < 400);

    app.set_chat_adapter(tsubaki, AdapterChoice::Adapter(worse))
        .unwrap();
    let chosen = app.chat_adapter(tsubaki, USER_NAME).unwrap().unwrap();
    assert_eq!(
        (chosen.id, chosen.prefix),
        (worse, ""),
        "the user's choice stands"
    );
    app.set_chat_adapter(tsubaki, AdapterChoice::Adapter(legacy))
        .unwrap();
    assert_eq!(
        app.chat_adapter(tsubaki, USER_NAME)
            .unwrap()
            .unwrap()
            .prefix,
        crate::prompt::EMPTY_REASONING
    );
}

/// The real SmolLM2 GGUF (`make models`), installed into `app`'s models folder; None when unset.
fn replier_with_smollm2(app: &Kotodama) -> Option<Replier> {
    let Some(gguf) = std::env::var_os("KOTODAMA_SMOLLM2_GGUF") else {
        eprintln!("skipped: KOTODAMA_SMOLLM2_GGUF is not set (run `make models`)");
        return None;
    };
    let models = app.home().models_dir();
    ModelManager::new(&models)
        .add_file("smollm2", Path::new(&gguf))
        .unwrap();
    let mut replier = Replier::new(models, LoadOptions::default());
    replier.set_sampling(SamplingParams::greedy(24));
    Some(replier)
}

fn first_chat(app: &mut Kotodama) -> i64 {
    let pid = app.personas().unwrap()[0].id;
    app.new_chat(pid).unwrap().chat.id
}

#[test]
fn empty_and_oversized_messages_are_refused_and_store_nothing() {
    let (_dir, mut app) = open();
    let chat = first_chat(&mut app);
    for bad in ["   ".to_string(), "x".repeat(MAX_MESSAGE_CHARS + 1)] {
        let err = app.begin_reply(chat, &bad).unwrap_err();
        assert_eq!(err.code(), "INVALID_INPUT");
    }
    assert_eq!(app.chat(chat).unwrap().messages.len(), 1);
    assert_eq!(app.begin_reply(9999, "hi").unwrap_err().code(), "NOT_FOUND");
}

#[test]
fn script_replies_do_not_repeat_within_a_chat() {
    let (_dir, mut app) = open();
    let chat = first_chat(&mut app);
    let mut replies = HashSet::new();
    for _ in 0..5 {
        let added = app.send_message(chat, "What should we do today?").unwrap();
        assert_eq!(added[1].source, MessageSource::Script);
        assert!(replies.insert(added[1].content.clone()), "repeated a line");
    }
}

#[test]
fn with_no_model_installed_the_script_line_comes_as_one_piece() {
    let (dir, mut app) = open();
    let chat = first_chat(&mut app);
    let mut replier = Replier::new(dir.path().join("no-models"), LoadOptions::default());
    assert_eq!(replier.status().model, None);
    let pending = app.begin_reply(chat, "Hello there").unwrap();
    let mut pieces = Vec::new();
    let reply = replier
        .reply(
            &pending.context,
            |p| pieces.push(p.to_string()),
            &CancelToken::new(),
        )
        .unwrap();
    assert_eq!(pieces, vec![reply.text.clone()]);
    let stored = app.finish_reply(&pending, reply).unwrap().unwrap();
    assert_eq!(stored.message.source, MessageSource::Script);
    assert_eq!(stored.message.model_id, None);
    // The persona's own line scores in character on its style meter.
    let style = &stored.message.style;
    let overall = style.overall.expect("scored");
    assert!((0.0..=1.0).contains(&overall) && overall > 0.3, "{overall}");
    assert!(style.lexical.is_some() && style.ooc_flags.is_some());
}

#[test]
fn a_reply_stopped_before_its_first_word_is_written_by_regenerate() {
    let (_dir, mut app) = open();
    let chat = first_chat(&mut app);
    let pending = app.begin_reply(chat, "Hello?").unwrap();
    let empty = Reply::unjudged(String::new());
    assert!(app.finish_reply(&pending, empty).unwrap().is_none());
    let pending = app.begin_regenerate(chat).unwrap();
    assert_eq!(
        pending.context.draft.turns.last().unwrap().content,
        "Hello?"
    );
    let reply = scripted_reply(&pending.context).unwrap();
    let stored = app.finish_reply(&pending, reply).unwrap().unwrap();
    assert_eq!(
        (stored.seq, stored.alt_count),
        (2, 1),
        "appended, not a swipe"
    );
    assert_eq!(app.chat(chat).unwrap().messages.len(), 3);
}

fn without_a_model(dir: &tempfile::TempDir) -> Replier {
    Replier::new(dir.path().join("no-models"), LoadOptions::default())
}

const ASSISTANT_SPEAK: &str = "As an AI language model, I cannot have feelings.";

#[test]
fn a_canned_assistant_speak_reply_is_caught_and_replaced_and_kept_as_a_swipe() {
    let (dir, mut app) = open();
    let chat = first_chat(&mut app);
    let mut replier = without_a_model(&dir);
    replier.queue_canned_reply(ASSISTANT_SPEAK);
    let pending = app.begin_reply(chat, "How are you today?").unwrap();
    let mut pieces = String::new();
    let mut retries = Vec::new();
    let reply = replier
        .reply_guarded(
            &pending.context,
            |e| match e {
                ReplyEvent::Piece(p) => pieces.push_str(p),
                ReplyEvent::Retry { attempt, of, cause } => {
                    retries.push((attempt, of, cause.to_string()));
                    pieces.clear();
                }
            },
            &CancelToken::new(),
        )
        .unwrap();
    assert_eq!(retries.len(), 1, "{retries:?}");
    let (attempt, of, cause) = &retries[0];
    assert_eq!((*attempt, *of), (2, 2), "two attempts by default");
    assert!(
        cause.starts_with("it talks like an AI assistant"),
        "{cause}"
    );
    // With no model installed the second attempt is a line of the script, streamed after the reset.
    assert_eq!(reply.source, MessageSource::Script);
    assert_eq!(pieces, reply.text);
    let report = reply.guard.clone().unwrap();
    assert_eq!((report.attempts, report.kept), (2, 2));

    let stored = app.finish_reply(&pending, reply).unwrap().unwrap();
    assert_ne!(stored.message.content, ASSISTANT_SPEAK);
    assert_eq!((stored.alt_index, stored.alt_count), (0, 2));
    let guard = stored.message.style.guard.clone().unwrap();
    assert_eq!(guard["kept"], 2);
    assert!(
        guard["caught"][0].as_str().unwrap().contains("As an AI"),
        "{guard}"
    );
    // The caught attempt stays browsable as the other swipe, with its flag.
    let alternatives = app.store.alternatives(stored.id).unwrap();
    let caught = alternatives.iter().find(|m| m.id != stored.id).unwrap();
    assert_eq!(caught.message.content, ASSISTANT_SPEAK);
    let flags = caught.message.style.ooc_flags.clone().unwrap();
    assert_eq!(flags[0]["kind"], "assistant_speak", "{flags}");
    assert_eq!(
        app.chat(chat).unwrap().messages.last().unwrap().id,
        stored.id
    );
}

#[test]
fn an_attempt_caught_in_its_first_sentence_stops_there_and_the_next_is_written() {
    let (dir, mut app) = open();
    let chat = first_chat(&mut app);
    let mut replier = without_a_model(&dir);
    let rest = " Here is a long and helpful answer that goes on about many things the user never asked about.";
    replier.queue_canned_reply(format!("{ASSISTANT_SPEAK}{rest}"));
    let pending = app.begin_reply(chat, "How are you today?").unwrap();
    let mut streamed = String::new();
    let reply = replier
        .reply_guarded(
            &pending.context,
            |e| {
                if let ReplyEvent::Piece(p) = e {
                    streamed.push_str(p)
                }
            },
            &CancelToken::new(),
        )
        .unwrap();
    assert!(
        !streamed.contains("helpful answer"),
        "the caught attempt stopped at its first sentence: {streamed}"
    );
    assert_eq!(
        reply.source,
        MessageSource::Script,
        "the next attempt was written"
    );
    assert_eq!(reply.guard.as_ref().map(|g| g.attempts), Some(2));
    assert_eq!(reply.discarded.len(), 1);
    assert_eq!(reply.discarded[0].0.trim(), ASSISTANT_SPEAK);
}

#[test]
fn with_the_guard_off_a_caught_reply_is_kept_and_flagged() {
    let (dir, mut app) = open();
    let chat = first_chat(&mut app);
    let persona = app.store.chat(chat).unwrap().persona_id;
    let mut settings = app.chat_settings(persona).unwrap();
    settings.guard.action = GuardAction::Off;
    app.set_chat_settings(persona, &settings).unwrap();
    let mut replier = without_a_model(&dir);
    replier.queue_canned_reply(ASSISTANT_SPEAK);
    let pending = app.begin_reply(chat, "How are you?").unwrap();
    let mut retried = false;
    let reply = replier
        .reply_guarded(
            &pending.context,
            |e| retried |= matches!(e, ReplyEvent::Retry { .. }),
            &CancelToken::new(),
        )
        .unwrap();
    assert!(!retried);
    assert!(reply.guard.is_none());
    let stored = app.finish_reply(&pending, reply).unwrap().unwrap();
    assert_eq!(stored.message.content, ASSISTANT_SPEAK);
    assert_eq!(stored.alt_count, 1);
    assert_eq!(
        stored.message.style.ooc_flags.unwrap()[0]["kind"],
        "assistant_speak"
    );
}

#[test]
fn a_caught_reply_is_rewritten_in_character_by_the_model_when_the_guard_says_rewrite() {
    let (_dir, mut app) = open();
    let Some(mut replier) = replier_with_smollm2(&app) else {
        return;
    };
    let chat = first_chat(&mut app);
    let persona = app.store.chat(chat).unwrap().persona_id;
    let mut settings = app.chat_settings(persona).unwrap();
    settings.guard.action = GuardAction::Rewrite;
    app.set_chat_settings(persona, &settings).unwrap();
    replier.queue_canned_reply(ASSISTANT_SPEAK);
    let pending = app.begin_reply(chat, "How are you today?").unwrap();
    let mut second = String::new();
    let mut retried = false;
    let reply = replier
        .reply_guarded(
            &pending.context,
            |e| match e {
                ReplyEvent::Retry { .. } => retried = true,
                ReplyEvent::Piece(p) if retried => second.push_str(p),
                ReplyEvent::Piece(_) => {}
            },
            &CancelToken::new(),
        )
        .unwrap();
    assert!(retried && !second.trim().is_empty(), "the model rewrote it");
    let report = reply.guard.clone().unwrap();
    assert_eq!((report.action, report.attempts), (GuardAction::Rewrite, 2));
    assert!(report.caught[0].starts_with("it talks like an AI assistant"));
    // Whichever attempt scored better is kept; the other is its swipe.
    let stored = app.finish_reply(&pending, reply).unwrap().unwrap();
    assert_eq!(stored.alt_count, 2);
    let texts: Vec<String> = app
        .store
        .alternatives(stored.id)
        .unwrap()
        .into_iter()
        .map(|m| m.message.content)
        .collect();
    assert!(texts.contains(&ASSISTANT_SPEAK.to_string()));
    assert!(texts.contains(&second.trim().to_string()), "{texts:?}");
}

#[test]
fn a_signature_term_said_again_right_after_the_last_reply_is_caught() {
    let (_dir, mut app) = open();
    let persona = app.personas().unwrap()[0].id;
    let profile = app.style_profile(persona).unwrap();
    let rare = profile
        .lexical
        .iter()
        .find(|s| s.n == 1 && f64::from(s.count) / (profile.line_count as f64) < 0.1)
        .expect("a signature word in under a tenth of the lines")
        .term
        .clone();
    let reply = format!("Oh, {rare}, again.");
    let after_it = app
        .reply_judge(persona, vec![format!("Well, {rare}.")])
        .unwrap()
        .judge(&reply)
        .unwrap();
    let cause = after_it.caught.expect("caught");
    assert!(cause.starts_with("it leans on"), "{cause}");
    assert!(cause.contains(&format!("\"{rare}\"")), "{cause}");
    let flags = after_it.style.ooc_flags.unwrap();
    assert!(flags
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["kind"] == "catchphrase_overuse"));
    // The same reply after a reply without the term is not over-use.
    let fresh = app
        .reply_judge(persona, vec!["Good morning.".into()])
        .unwrap()
        .judge(&reply)
        .unwrap();
    assert!(fresh.caught.is_none_or(|c| !c.contains("catchphrase")));
}

#[test]
fn lorebook_entries_whose_keys_the_chat_mentions_join_the_system_prompt() {
    let (_dir, mut app) = open();
    let Some(mut replier) = replier_with_smollm2(&app) else {
        return;
    };
    let card = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pillow_card.png");
    let (persona, _) = app
        .import_file(&card, &crate::ScriptImport::default())
        .unwrap();
    let chat = app.new_chat(persona).unwrap().chat.id;
    let pending = app
        .begin_reply(chat, "Where do you keep the bokken?")
        .unwrap();
    assert!(replier.warm_up().unwrap());
    let model = replier.loaded_model().unwrap();
    let mut system = pending.context.draft.turns[0].content.clone();
    add_lore(token_counter(model), &pending.context.prompt(), &mut system);
    assert!(
        system.ends_with("- The dojo's bokken are oak, older than the students."),
        "{system}"
    );
    assert!(
        !system.contains("hour of the ox"),
        "the lantern entry was not called"
    );
}

#[test]
fn the_style_meter_explains_a_reply_by_the_signatures_rules_and_traits_it_shows() {
    let (_dir, mut app) = open();
    let mikoto = app.find_persona("mikoto").unwrap().id;
    let chat = app.new_chat(mikoto).unwrap().chat.id;
    let pending = app.begin_reply(chat, "Who are you?").unwrap();
    let stored = app
        .finish_reply(
            &pending,
            Reply::unjudged("Mayhap thou art weary, traveller?".into()),
        )
        .unwrap()
        .unwrap();
    let plan = app
        .explain_style(stored.id)
        .unwrap()
        .expect("mikoto has a profile");
    assert!(plan.signatures.iter().any(|s| s == "mayhap"), "{plan:?}");
    assert!(
        plan.traits.iter().any(|t| t.name == "archaic_rate"),
        "{plan:?}"
    );
    assert!(plan.rules.iter().any(|r| r.gloss.is_some()), "{plan:?}");
    assert_eq!(app.explain_style(9999).unwrap_err().code(), "NOT_FOUND");
}

#[test]
fn an_assistant_speak_reply_is_flagged_on_the_style_meter() {
    let (_dir, mut app) = open();
    let chat = first_chat(&mut app);
    let pending = app.begin_reply(chat, "Who are you?").unwrap();
    let canned = Reply::unjudged("As an AI language model, I don't have personal feelings.".into());
    let stored = app.finish_reply(&pending, canned).unwrap().unwrap();
    let flags = stored.message.style.ooc_flags.clone().unwrap();
    assert!(
        flags
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "assistant_speak"),
        "{flags}"
    );
}

#[test]
fn the_installed_model_streams_a_reply_that_is_stored_and_its_cache_reused() {
    let (_dir, mut app) = open();
    let Some(mut replier) = replier_with_smollm2(&app) else {
        return;
    };
    assert_eq!(replier.status().model.as_deref(), Some("smollm2"));
    let chat = first_chat(&mut app);
    let pending = app.begin_reply(chat, "Hello! Who are you?").unwrap();
    let mut pieces = Vec::new();
    let reply = replier
        .reply(
            &pending.context,
            |p| pieces.push(p.to_string()),
            &CancelToken::new(),
        )
        .unwrap();
    assert!(pieces.len() > 3, "streamed in pieces: {pieces:?}");
    assert_eq!(pieces.concat(), reply.text);
    let stats = reply.stats.clone().unwrap();
    assert_eq!(stats.reused_tokens, 0);
    let device = replier.status().device.expect("loaded");
    assert!(device.threads >= 1);

    let stored = app.finish_reply(&pending, reply).unwrap().unwrap();
    assert_eq!(stored.message.source, MessageSource::Model);
    assert!(stored.message.model_id.is_some());
    assert_eq!(stored.message.content, pieces.concat().trim());
    let view = app.chat(chat).unwrap();
    assert_eq!(view.messages.len(), 3, "greeting, user, reply");

    // The next turn prefills only what is new.
    let pending = app.begin_reply(chat, "Tell me more.").unwrap();
    let second = replier
        .reply(&pending.context, |_| {}, &CancelToken::new())
        .unwrap()
        .stats
        .unwrap();
    assert!(
        second.reused_tokens >= stats.prompt_tokens,
        "reused {} of {}",
        second.reused_tokens,
        second.prompt_tokens
    );
}

#[test]
fn an_opened_chat_prefilled_ahead_leaves_the_first_reply_only_the_new_message() {
    let (_dir, mut app) = open();
    let Some(mut replier) = replier_with_smollm2(&app) else {
        return;
    };
    let chat = first_chat(&mut app);
    let context = app.chat_context(chat).unwrap();
    let cached = replier.prefill(&context, &CancelToken::new()).unwrap();
    assert!(cached > 50, "system prompt and greeting: {cached} tokens");
    let pending = app.begin_reply(chat, "Hello! Who are you?").unwrap();
    let stats = replier
        .reply(&pending.context, |_| {}, &CancelToken::new())
        .unwrap()
        .stats
        .unwrap();
    assert_eq!(stats.reused_tokens, cached);
    assert!(stats.prompt_tokens - stats.reused_tokens < 30, "{stats:?}");
}

#[test]
fn after_an_edit_a_regenerated_reply_prefills_from_the_change_and_matches_a_fresh_cache() {
    let (_dir, mut app) = open();
    let Some(mut replier) = replier_with_smollm2(&app) else {
        return;
    };
    let chat = first_chat(&mut app);
    let pending = app.begin_reply(chat, "Hello! Who are you?").unwrap();
    let reply = replier
        .reply(&pending.context, |_| {}, &CancelToken::new())
        .unwrap();
    let first = app.finish_reply(&pending, reply).unwrap().unwrap();
    app.edit_message(pending.user_message.id, "What is your favourite food?")
        .unwrap();

    let pending = app.begin_regenerate(chat).unwrap();
    assert_eq!(
        pending.context.draft.turns.last().unwrap().content,
        "What is your favourite food?"
    );
    let regenerated = replier
        .reply(&pending.context, |_| {}, &CancelToken::new())
        .unwrap();
    let stats = regenerated.stats.clone().unwrap();
    // The cache serves exactly the tokens the old and the new prompt share: up to the edited text.
    let model = replier.loaded_model().unwrap();
    let ids = |turns: &[ChatMessage]| {
        let prompt = model.template().render(turns, true, false).unwrap();
        model.tokenizer().encode(&prompt).unwrap()
    };
    let mut before_edit = pending.context.draft.turns.clone();
    before_edit.last_mut().unwrap().content = "Hello! Who are you?".into();
    let (old, new) = (ids(&before_edit), ids(&pending.context.draft.turns));
    let shared = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    assert!(shared > 0 && shared < old.len());
    assert_eq!(stats.reused_tokens, shared);
    // Greedy decoding from a cold cache writes the same reply: nothing stale was read.
    let mut cold = replier_with_smollm2(&app).unwrap();
    let fresh = cold
        .reply(&pending.context, |_| {}, &CancelToken::new())
        .unwrap();
    assert_eq!(fresh.stats.unwrap().reused_tokens, 0);
    assert_eq!(regenerated.text, fresh.text);

    let stored = app.finish_reply(&pending, regenerated).unwrap().unwrap();
    assert_eq!(
        (stored.seq, stored.alt_index, stored.alt_count),
        (first.seq, 1, 2)
    );
    assert!(stored.message.style.overall.is_some());
}

#[test]
fn a_stopped_reply_keeps_what_was_written() {
    let (_dir, mut app) = open();
    let Some(mut replier) = replier_with_smollm2(&app) else {
        return;
    };
    let chat = first_chat(&mut app);
    let pending = app.begin_reply(chat, "Describe your day.").unwrap();
    let cancel = CancelToken::new();
    let mut pieces = 0;
    let reply = replier
        .reply(
            &pending.context,
            |_| {
                pieces += 1;
                if pieces == 3 {
                    cancel.cancel();
                }
            },
            &cancel,
        )
        .unwrap();
    let stats = reply.stats.clone().unwrap();
    assert_eq!(stats.stop_reason, StopReason::Cancelled);
    assert!(stats.generated_tokens < 24);
    let stored = app.finish_reply(&pending, reply).unwrap().unwrap();
    assert!(!stored.message.content.is_empty());
}

#[test]
fn old_turns_are_dropped_to_fit_the_context_and_an_oversized_message_is_refused() {
    let (_dir, app) = open();
    let Some(mut replier) = replier_with_smollm2(&app) else {
        return;
    };
    assert!(replier.warm_up().unwrap());
    let model = replier.loaded_model().unwrap();
    let context = model.decoder().max_positions();
    // Each turn is about context/4 tokens: the prompt cannot hold all ten.
    let long = "the river keeps flowing ".repeat(context / 16);
    let mut turns = vec![ChatMessage::new("system", "You are Aki.")];
    for i in 0..10 {
        let role = if i % 2 == 0 { "user" } else { "assistant" };
        turns.push(ChatMessage::new(role, format!("{i}: {long}")));
    }
    let kept = fit_context(model, &turns, 200).unwrap();
    assert_eq!(kept[0].content, "You are Aki.", "the system prompt stays");
    assert_eq!(kept.last().unwrap().content, turns[10].content);
    assert!(
        kept.len() < turns.len() && kept.len() >= 3,
        "{}",
        kept.len()
    );
    let prompt = model.template().render(&kept, true, false).unwrap();
    assert!(model.tokenizer().encode(&prompt).unwrap().len() <= context - 200);

    let huge = vec![
        ChatMessage::new("system", "You are Aki."),
        ChatMessage::new("user", "word ".repeat(context + 10)),
    ];
    let err = fit_context(model, &huge, 200).unwrap_err();
    assert_eq!(err.code(), "CONTEXT_FULL");

    // A long chat of short turns: as it grows past the context, its kept start moves in blocks,
    // so most turns reuse the cached prompt.
    let mut chat = vec![ChatMessage::new("system", "You are Aki.")];
    for i in 0..400 {
        let role = if i % 2 == 0 { "user" } else { "assistant" };
        chat.push(ChatMessage::new(
            role,
            format!("turn {i}: {}", "the river keeps flowing ".repeat(12)),
        ));
    }
    let starts: std::collections::BTreeSet<String> = (300..=400)
        .step_by(2)
        .map(|n| {
            fit_context(model, &chat[..=n], 200).unwrap()[1]
                .content
                .clone()
        })
        .collect();
    assert!(
        starts.len() <= 4,
        "the start moved {} times in 50 turns",
        starts.len()
    );
}
