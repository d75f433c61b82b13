//! End to end: a complete distill job on a tiny random-weight model (seconds), and a few real SmolLM2
//! steps whose loss goes down (when `KOTODAMA_SMOLLM2_GGUF` is set).

use std::path::Path;

use kotodama::distill::{DistillParams, Stage, Variant, Verdict};
use kotodama::models::ModelManager;
use kotodama::{AdapterChoice, JobState};
use kotodama::{Home, Kotodama, Replier};
use kotodama_engine::test_models::{write_tiny_model, TinySpec};
use kotodama_engine::{Architecture, CancelToken, GgmlDType, Model, SamplingParams};

fn run_job(
    app: &mut Kotodama,
    persona: &str,
    params: &DistillParams,
) -> (i64, kotodama::distill::DistillReport) {
    let persona = app.find_persona(persona).unwrap();
    let job = app.enqueue_distill(persona.id, params).unwrap();
    let run = app.prepare_distill(job.id, &mut |_| {}).unwrap();
    let mut steps = Vec::new();
    let outcome = run
        .execute(
            &mut |p| {
                if p.phase == "training" {
                    steps.push(p.done);
                }
            },
            &CancelToken::new(),
        )
        .unwrap()
        .expect("not cancelled");
    assert_eq!(
        steps,
        (1..=outcome.report.config.total_steps).collect::<Vec<_>>()
    );
    let report = outcome.report.clone();
    let adapter = app.finish_distill(&run, outcome).unwrap();
    assert_eq!(app.job(job.id).unwrap().state, JobState::Done);
    (adapter, report)
}

#[test]
fn a_complete_distill_job_on_a_tiny_model_registers_an_adapter_that_loads() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = write_tiny_model(
        &TinySpec::new(Architecture::Qwen3),
        GgmlDType::Q8_0,
        dir.path(),
    );
    let mut app = Kotodama::open(Home::at(dir.path().join("home"))).unwrap();
    // The bundled script imported as a script persona: its short prompt fits the tiny model's
    // byte-sized tokens within the training length (the bundled card's description does not).
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../personas/tsubaki/script.txt");
    let id = app
        .import_script_bytes(
            &std::fs::read(script).unwrap(),
            "tsubaki.txt",
            &kotodama::ScriptImport {
                speaker: Some("TSUBAKI".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let slug = app.persona(id).unwrap().card.slug;
    let params = DistillParams {
        base: Some(tiny.gguf.display().to_string()),
        steps: Some(4),
        variant: Variant::StepByStep,
        ..Default::default()
    };
    let (adapter_id, report) = run_job(&mut app, &slug, &params);
    assert_eq!(report.variant, Variant::StepByStep);
    assert_eq!(report.losses.len(), 4);
    assert!(report.losses.iter().all(|l| l.is_finite()));
    assert!(report.dataset.rewrite > 0 && report.dataset.respond >= 350);
    assert!(report.validation_loss_base.is_finite() && report.validation_loss_adapter.is_finite());
    let systems: Vec<&str> = report
        .evaluation
        .iter()
        .map(|s| s.system.as_str())
        .collect();
    assert_eq!(systems, ["base + card prompt", "step-by-step adapter"]);
    for s in &report.evaluation {
        assert_eq!(s.split, kotodama::distill::Split::Validation);
        let tasks: Vec<_> = s.tasks.iter().map(|t| (t.task, t.examples)).collect();
        assert_eq!(
            tasks,
            [
                (kotodama::distill::Task::Respond, 12),
                (kotodama::distill::Task::Rewrite, 12)
            ]
        );
        assert!(s.per_example.iter().all(|e| (0.0..=1.0).contains(&e.style)));
    }
    let verdict = report.verdict.expect("a fresh report has a verdict");
    assert_eq!(verdict.beats_base, verdict.difference.mean > 0.0);
    assert!(verdict.difference.low <= verdict.difference.mean);
    assert!(verdict.difference.mean <= verdict.difference.high);

    let adapters = app.adapters(id).unwrap();
    assert_eq!(adapters[0].id, adapter_id);
    let path = Path::new(&adapters[0].adapter.path);
    assert!(path.join("adapter_model.safetensors").is_file());
    assert!(path.join("kotodama_report.json").is_file());
    assert_eq!(adapters[0].adapter.variant, "step-by-step");
    Model::load(&tiny.gguf, Default::default())
        .unwrap()
        .with_adapter(path)
        .expect("the adapter loads onto its base model");

    // The DPO stage continues an SFT adapter: same recipe, its own adapter and report. (A vanilla
    // one here: with the plan in every prompt, the tiny model's byte-sized tokens would not fit the
    // answers in the training length.)
    let sft = DistillParams {
        steps: Some(2),
        variant: Variant::Vanilla,
        base: Some(tiny.gguf.display().to_string()),
        ..Default::default()
    };
    let (sft_id, _) = run_job(&mut app, &slug, &sft);
    let dpo = DistillParams {
        stage: Stage::Dpo,
        steps: Some(3),
        from_adapter: Some(sft_id),
        ..sft
    };
    let (dpo_id, dpo_report) = run_job(&mut app, &slug, &dpo);
    assert_eq!(
        (dpo_report.stage, dpo_report.variant),
        (Stage::Dpo, Variant::Vanilla)
    );
    assert_eq!(dpo_report.losses.len(), 3);
    assert!(dpo_report.losses.iter().all(|l| l.is_finite() && *l > 0.0));
    assert!(dpo_report.train_examples > 0, "preference pairs");
    assert!(dpo_report.verdict.is_some());
    assert_eq!(app.adapters(id).unwrap()[0].id, dpo_id);
    // No SFT adapter to start from: refused before anything runs.
    let tsubaki = app.find_persona("tsubaki").unwrap().id;
    let dpo = DistillParams {
        from_adapter: None,
        ..dpo
    };
    let job = app.enqueue_distill(tsubaki, &dpo).unwrap();
    let err = app.prepare_distill(job.id, &mut |_| {}).err().unwrap();
    assert!(err.to_string().contains("distil it first"), "{err}");

    // The same weights brought in as if trained elsewhere: copied, measured, registered.
    let base = tiny.gguf.display().to_string();
    let imported = app
        .import_adapter(
            id,
            path,
            Some(&base),
            Variant::StepByStep,
            true,
            &mut |_| {},
        )
        .unwrap();
    let adapters = app.adapters(id).unwrap();
    assert_eq!(adapters[0].id, imported);
    let copy = Path::new(&adapters[0].adapter.path);
    assert_ne!(copy, path);
    assert!(copy.join("adapter_model.safetensors").is_file());
    assert_eq!(adapters[0].adapter.variant, "step-by-step");
    let verdict = Verdict::of_adapter(&adapters[0]).expect("measured on import");
    assert_eq!(verdict.beats_base, verdict.difference.mean > 0.0);

    // A folder without weights, or weights of another model's shape: refused, nothing kept.
    let folders = || std::fs::read_dir(app_adapters_dir(&dir)).unwrap().count();
    let before = (app.adapters(id).unwrap().len(), folders());
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let err = app
        .import_adapter(id, &empty, Some(&base), Variant::Vanilla, true, &mut |_| {})
        .unwrap_err();
    assert!(err.to_string().contains("adapter_config.json"), "{err}");
    let mut other = TinySpec::new(Architecture::Llama);
    (other.hidden, other.heads, other.kv_heads) =
        (other.hidden * 2, other.heads * 2, other.kv_heads * 2);
    let other = write_tiny_model(&other, GgmlDType::Q8_0, &dir.path().join("other"));
    let err = app
        .import_adapter(
            id,
            path,
            Some(&other.gguf.display().to_string()),
            Variant::Vanilla,
            true,
            &mut |_| {},
        )
        .unwrap_err();
    assert!(err.to_string().contains("does not fit"), "{err}");
    assert_eq!((app.adapters(id).unwrap().len(), folders()), before);
}

fn app_adapters_dir(dir: &tempfile::TempDir) -> std::path::PathBuf {
    Home::at(dir.path().join("home")).adapters_dir()
}

#[test]
fn chats_use_the_newest_adapter_that_beat_the_base_model_on_the_installed_model_or_the_one_chosen()
{
    let dir = tempfile::tempdir().unwrap();
    let tiny = write_tiny_model(
        &TinySpec::new(Architecture::Llama),
        GgmlDType::Q8_0,
        dir.path(),
    );
    let home = Home::at(dir.path().join("home"));
    let models = home.models_dir();
    let mut app = Kotodama::open(home).unwrap();
    ModelManager::new(&models)
        .add_file("tiny", &tiny.gguf)
        .unwrap();
    // A card of a name alone keeps the system prompt within the tiny model's 512-token context (the
    // card drafted from a script describes the character at more length).
    let script: String = (0..100)
        .map(|i| format!("KAI: Hmph, lesson {i} again? Fine, watch closely!\n"))
        .collect();
    let bare = kotodama::ScriptImport {
        card: Some(kotodama::CardFields {
            name: "Kai".into(),
            tagline: String::new(),
            description: String::new(),
            personality: String::new(),
            scenario: String::new(),
            first_message: String::new(),
            alternate_greetings: Vec::new(),
            example_dialogue: String::new(),
            system_prompt: String::new(),
            post_history_instructions: String::new(),
            creator_notes: String::new(),
            tags: Vec::new(),
        }),
        ..Default::default()
    };
    for _ in 0..2 {
        app.import_script_bytes(script.as_bytes(), "kai.txt", &bare)
            .unwrap();
    }
    let params = DistillParams {
        steps: Some(2),
        variant: Variant::StepByStep,
        ..Default::default()
    };
    let (first, _) = run_job(&mut app, "kai", &params);
    let vanilla = DistillParams {
        variant: Variant::Vanilla,
        ..params
    };
    let (newest, _) = run_job(&mut app, "kai", &vanilla);

    // "Newest" means the newest adapter whose validation verdict beat the base model (random tiny
    // weights make either outcome possible; `reply.rs` tests the rule on fixed verdicts).
    let kai = app.find_persona("kai").unwrap().id;
    let newest_good = app
        .adapters(kai)
        .unwrap()
        .iter()
        .find(|a| {
            Verdict::of_adapter(a)
                .expect("reports carry verdicts")
                .beats_base
        })
        .map(|a| a.id);

    let mut replier = Replier::new(models, Default::default());
    replier.set_sampling(SamplingParams::greedy(3));
    let mut reply_in = |app: &mut Kotodama, slug: &str| {
        let persona = app.find_persona(slug).unwrap();
        let chat = app.new_chat(persona.id).unwrap().chat.id;
        let pending = app.begin_reply(chat, "Hello!").unwrap();
        let reply = replier
            .reply(&pending.context, |_| {}, &CancelToken::new())
            .unwrap();
        assert_eq!(reply.source, kotodama::MessageSource::Model);
        reply.adapter_id
    };
    assert_eq!(reply_in(&mut app, "kai"), newest_good);
    assert_eq!(
        reply_in(&mut app, "kai-2"),
        None,
        "the second persona has no adapter"
    );
    assert_eq!(reply_in(&mut app, "kai"), newest_good, "and back");

    // The user switches: an older adapter, none, or the newest again.
    app.set_chat_adapter(kai, AdapterChoice::Adapter(first))
        .unwrap();
    assert_eq!(reply_in(&mut app, "kai"), Some(first));
    app.set_chat_adapter(kai, AdapterChoice::None).unwrap();
    assert_eq!(reply_in(&mut app, "kai"), None);
    assert_eq!(
        app.persona_page(kai).unwrap().chat_adapter,
        AdapterChoice::None
    );
    app.set_chat_adapter(kai, AdapterChoice::Adapter(newest))
        .unwrap();
    assert_eq!(reply_in(&mut app, "kai"), Some(newest));
    app.set_chat_adapter(kai, AdapterChoice::Newest).unwrap();
    assert_eq!(reply_in(&mut app, "kai"), newest_good);
    let kai_2 = app.find_persona("kai-2").unwrap().id;
    assert_eq!(
        app.set_chat_adapter(kai_2, AdapterChoice::Adapter(first))
            .unwrap_err()
            .code(),
        "NOT_FOUND",
        "another persona's adapter"
    );
}

#[test]
fn too_few_lines_and_a_missing_model_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = Kotodama::open(Home::at(dir.path())).unwrap();
    let script = (0..20)
        .map(|i| format!("KAI: Line number {i}.\n"))
        .collect::<String>();
    let id = app
        .import_script_bytes(script.as_bytes(), "kai.txt", &Default::default())
        .unwrap();
    let err = app
        .distill_dataset(id, &Default::default(), &mut |_, _| {})
        .unwrap_err();
    assert!(err.to_string().contains("at least 100"), "{err}");

    let tsubaki = app.find_persona("tsubaki").unwrap();
    let job = app
        .enqueue_distill(tsubaki.id, &DistillParams::default())
        .unwrap();
    let err = app
        .prepare_distill(job.id, &mut |_| {})
        .err()
        .expect("no model installed");
    assert_eq!(err.code(), "MODEL_NOT_INSTALLED");
}

/// The quick preset's step-by-step recipe on the real default model: its validation loss falls, and
/// neither the adapter itself (after the empty reasoning block, on held-out prompts) nor a chat that
/// uses it ever says its plan.
#[test]
fn a_distilled_smollm2_adapter_learns_and_never_speaks_its_plan() {
    let Some(gguf) = std::env::var_os("KOTODAMA_SMOLLM2_GGUF") else {
        eprintln!("skipped: KOTODAMA_SMOLLM2_GGUF is not set");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path().join("home"));
    let models = home.models_dir();
    let mut app = Kotodama::open(home).unwrap();
    ModelManager::new(&models)
        .add_file("smollm2", Path::new(&gguf))
        .unwrap();
    let params = DistillParams {
        variant: Variant::StepByStep,
        ..Default::default()
    };
    let (adapter, report) = run_job(&mut app, "tsubaki", &params);
    assert_eq!(report.losses.len(), 60, "the quick preset");
    assert!(
        report.validation_loss_adapter < report.validation_loss_base,
        "{} -> {}",
        report.validation_loss_base,
        report.validation_loss_adapter
    );

    let tsubaki = app.find_persona("tsubaki").unwrap().id;
    let dataset = app
        .distill_dataset(tsubaki, &Default::default(), &mut |_, _| {})
        .unwrap();
    let path = app.adapters(tsubaki).unwrap()[0].adapter.path.clone();
    let model = Model::load(Path::new(&gguf), Default::default())
        .unwrap()
        .with_adapter(Path::new(&path))
        .unwrap();
    let prompts: Vec<_> =
        kotodama::distill::eval::pick_examples(&dataset, kotodama::distill::Split::Validation, 8);
    for ex in prompts {
        let mut out = String::new();
        kotodama_engine::ChatSession::new(&model)
            .generate_after(
                &dataset.prompt(ex),
                kotodama::prompt::EMPTY_REASONING,
                &SamplingParams::greedy(48),
                |p| {
                    out.push_str(p);
                    std::ops::ControlFlow::Continue(())
                },
                &CancelToken::new(),
            )
            .unwrap();
        assert!(
            !kotodama::reasoning_filter::shows_reasoning(&out),
            "{:?} -> {out:?}",
            ex.input
        );
    }

    app.set_chat_adapter(tsubaki, AdapterChoice::Adapter(adapter))
        .unwrap();
    let mut replier = Replier::new(models, Default::default());
    replier.set_sampling(SamplingParams::greedy(48));
    let chat = app.new_chat(tsubaki).unwrap().chat.id;
    for text in [
        "Hello! Who are you?",
        "Can you help me carry this?",
        "Why are you so grumpy?",
    ] {
        let pending = app.begin_reply(chat, text).unwrap();
        let reply = replier
            .reply(&pending.context, |_| {}, &CancelToken::new())
            .unwrap();
        assert_eq!(reply.adapter_id, Some(adapter));
        assert!(
            !kotodama::reasoning_filter::shows_reasoning(&reply.text),
            "{text:?} -> {:?}",
            reply.text
        );
        app.finish_reply(&pending, reply).unwrap();
    }
}

#[test]
fn a_cancelled_distillation_says_so_at_once_and_resumes_from_the_persona_page() {
    use kotodama::runtime::WorkerState;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let tiny = write_tiny_model(
        &TinySpec::new(Architecture::Qwen3),
        GgmlDType::Q8_0,
        dir.path(),
    );
    let rt = Arc::new(kotodama::Runtime::start(Some(Home::at(
        dir.path().join("home"),
    ))));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../personas/tsubaki/script.txt");
    let persona = rt
        .core(|k| {
            k.import_script_bytes(
                &std::fs::read(&script).unwrap(),
                "tsubaki.txt",
                &kotodama::ScriptImport {
                    speaker: Some("TSUBAKI".into()),
                    ..Default::default()
                },
            )
        })
        .unwrap();
    let params = DistillParams {
        base: Some(tiny.gguf.display().to_string()),
        steps: Some(400),
        variant: Variant::Vanilla,
        ..Default::default()
    };
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let start = Instant::now();
        while !done() {
            assert!(
                start.elapsed() < Duration::from_secs(300),
                "waited too long for {what}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let status = || {
        rt.distill_status(persona)
            .unwrap()
            .expect("the worker's job")
    };
    let job = rt.start_distill(persona, &params).unwrap();
    wait_for("training", &|| {
        status().phase == "training" && status().done >= 1
    });
    assert_eq!(
        rt.status().job.map(|j| j.job_id),
        Some(job),
        "shown everywhere while it runs"
    );

    assert!(rt.cancel_distill(job).unwrap());
    assert_eq!(
        status().state,
        WorkerState::Cancelling,
        "said at once, before the step ends"
    );
    wait_for("the stop", &|| status().state == WorkerState::Cancelled);
    assert!(rt.status().job.is_none());
    let page = rt.core(|k| k.persona_page(persona)).unwrap();
    let stopped = page.stopped_job.expect("the page offers to resume it");
    assert_eq!((stopped.job_id, stopped.state.as_str()), (job, "cancelled"));
    assert!(stopped.progress > 0.0 && stopped.progress < 1.0);

    rt.resume_distill(job).unwrap();
    assert!(rt.resume_distill(job).is_err(), "one runner at a time");
    wait_for("the resumed job's end", &|| {
        status().state == WorkerState::Done
    });
    let page = rt.core(|k| k.persona_page(persona)).unwrap();
    assert!(page.stopped_job.is_none());
    assert_eq!(page.adapters.len(), 1);
    let report = page.adapters[0].report.as_ref().expect("its report");
    let kotodama::AdapterReport::Distilled(report) = report else {
        panic!("a distilled adapter's report");
    };
    assert_eq!(
        report.losses.len(),
        400,
        "every step counted across the resume"
    );
    assert!(
        rt.resume_distill(job).is_err(),
        "a finished job does not resume"
    );
}
