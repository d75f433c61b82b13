//! End-to-end: the real `kotodama` binary imports, lists, exports and deletes personas, and chats as a
//! bundled persona with the real SmolLM2 weights, in a temporary data folder (`KOTODAMA_HOME`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../kotodama/tests/fixtures")
        .join(name)
}

/// A fresh data folder, removed when dropped.
struct TempHome(PathBuf);

impl TempHome {
    fn new(test: &str) -> TempHome {
        let dir = std::env::temp_dir().join(format!("kotodama-cli-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempHome(dir)
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_kotodama"))
            .args(args)
            .env("KOTODAMA_HOME", &self.0)
            .output()
            .unwrap()
    }

    /// Runs a command that must succeed and returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a command that must fail and returns its stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "{args:?} should fail");
        String::from_utf8(out.stderr).unwrap()
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for TempHome {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn speakers_import_show_export_and_delete() {
    let home = TempHome::new("flow");
    let script = fixture("lantern_screenplay.txt").display().to_string();
    let speakers = home.ok(&["speakers", &script]);
    assert!(
        speakers.starts_with("screenplay (UTF-8), 4 speakers"),
        "{speakers}"
    );
    assert!(speakers.contains("     6  SENSEI KIRI "), "{speakers}");
    let json: serde_json::Value =
        serde_json::from_str(&home.ok(&["speakers", &script, "--json"])).unwrap();
    assert_eq!(json["speakers"][1]["name"], "HARU");

    let imported = home.ok(&[
        "import",
        &script,
        "--speaker",
        "Sensei Kiri",
        "--name",
        "Kiri",
    ]);
    assert!(
        imported.contains("Kiri (kiri)") && imported.contains("6 lines"),
        "{imported}"
    );
    assert!(home.ok(&["personas", "list"]).contains("kiri"));
    let shown: serde_json::Value =
        serde_json::from_str(&home.ok(&["personas", "show", "kiri"])).unwrap();
    assert_eq!(
        (shown["speaker"].as_str(), shown["lineCount"].as_i64()),
        (Some("SENSEI KIRI"), Some(6))
    );

    for format in ["png", "json", "charx"] {
        let out = home.path(&format!("kiri.{format}"));
        assert!(home
            .ok(&["export", "kiri", "--format", format, "-o", &out])
            .contains("wrote"));
        let other = TempHome::new(&format!("copy-{format}"));
        assert!(
            other.ok(&["import", &out]).contains("Kiri (kiri) from"),
            "{format}"
        );
        let copy: serde_json::Value =
            serde_json::from_str(&other.ok(&["personas", "show", "kiri"])).unwrap();
        assert_eq!(
            (copy["name"].clone(), copy["speaker"].clone()),
            (shown["name"].clone(), shown["speaker"].clone()),
            "{format}"
        );
    }

    // More of the same character from another file: a second profile version.
    let csv = fixture("lantern.csv").display().to_string();
    let again = home.ok(&["reimport", "kiri", &csv]);
    assert!(again.contains("style profile v2"), "{again}");
    let shown: serde_json::Value =
        serde_json::from_str(&home.ok(&["personas", "show", "kiri"])).unwrap();
    assert!(shown["lineCount"].as_i64().unwrap() > 6);
    assert!(home
        .fails(&["reimport", "kiri", &csv, "--speaker", "NOBODY"])
        .contains("SPEAKER_NOT_FOUND"));

    assert!(home.ok(&["personas", "delete", "kiri"]).contains("deleted"));
    assert!(!home.ok(&["personas", "list"]).contains("kiri"));
}

#[test]
fn a_card_made_by_another_program_imports() {
    let home = TempHome::new("pillow");
    let out = home.ok(&["import", &fixture("pillow_card.png").display().to_string()]);
    assert!(
        out.contains("Sensei Kiri (sensei-kiri)") && out.ends_with("card\n"),
        "{out}"
    );
    let shown: serde_json::Value =
        serde_json::from_str(&home.ok(&["personas", "show", "sensei-kiri"])).unwrap();
    assert_eq!(shown["lorebookEntries"], 2);
}

#[test]
fn failures_print_the_error_code_exit_non_zero_and_store_nothing() {
    let home = TempHome::new("errors");
    let before = home.ok(&["personas", "list"]);
    let script = fixture("lantern_screenplay.txt").display().to_string();
    let bad_png = home.path("bad.png");
    std::fs::write(&bad_png, b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR").unwrap();
    for (args, expected) in [
        (
            vec!["import", &script],
            "error [SPEAKER_REQUIRED]: the script has several speakers; choose one of SENSEI KIRI (6)",
        ),
        (vec!["import", &script, "--speaker", "NOBODY"], "error [SPEAKER_NOT_FOUND]"),
        (vec!["import", "/no/such/file.txt"], "error [IO_ERROR]: /no/such/file.txt"),
        (vec!["import", &bad_png], "error [PNG_INVALID]"),
        (vec!["import", &script, "--format", "docx"], "unknown script format \"docx\""),
        (vec!["export", "nobody", "--format", "json", "-o", "x.json"], "error [INVALID_INPUT]: no persona \"nobody\""),
    ] {
        let err = home.fails(&args);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    assert_eq!(home.ok(&["personas", "list"]), before);
}

/// The message ids of `kotodama chats show`-style output ("#12    Assistant [1/3]: ..."), in order.
fn message_ids(listing: &str) -> Vec<String> {
    listing
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}

#[test]
fn chats_regenerate_swipe_edit_branch_and_delete_from_the_terminal() {
    // No model installed in this home: replies are script lines, stored the same way.
    let home = TempHome::new("chats");
    let opened = home.ok(&["chats", "new", "tsubaki"]);
    let chat = opened.split_whitespace().nth(1).unwrap().to_string();
    assert!(
        opened.contains("Assistant [1/3]:"),
        "greeting swipes: {opened}"
    );
    home.ok(&["chats", "say", &chat, "Teach me the sword."]);
    home.ok(&["chats", "regenerate", &chat]);
    let shown = home.ok(&["chats", "show", &chat]);
    let ids = message_ids(&shown);
    assert_eq!(ids.len(), 3, "{shown}");
    assert!(
        shown.lines().last().unwrap().contains("Assistant [2/2]:"),
        "{shown}"
    );

    let first = home.ok(&["chats", "swipe", &ids[2], "1"]);
    assert!(first.contains("[1/2]"), "{first}");
    let edited = home.ok(&["chats", "edit", &ids[1], "Teach me to cook."]);
    assert!(edited.contains("(edited): Teach me to cook."), "{edited}");
    let branch = home.ok(&["chats", "branch", &ids[1]]);
    assert!(branch.contains("\"Branch of Chat with Tsubaki"), "{branch}");
    assert_eq!(message_ids(&branch).len(), 2);
    assert_eq!(home.ok(&["chats", "list", "tsubaki"]).lines().count(), 2);

    let after = home.ok(&["chats", "delete", &ids[1]]);
    assert_eq!(
        message_ids(&after),
        [ids[0].clone(), message_ids(&first)[0].clone()]
    );
    let err = home.fails(&["chats", "swipe", &ids[2], "3"]);
    assert!(err.contains("error [NO_SUCH_ALTERNATIVE]"), "{err}");
    let err = home.fails(&["chats", "edit", "99999", "x"]);
    assert!(err.contains("error [NOT_FOUND]"), "{err}");
}

#[test]
fn chat_settings_are_shown_changed_and_checked_per_persona() {
    let home = TempHome::new("settings");
    let defaults: serde_json::Value =
        serde_json::from_str(&home.ok(&["chats", "settings", "tsubaki"])).unwrap();
    assert_eq!(defaults["guard"]["action"], "regenerate");
    assert_eq!(defaults["guard"]["threshold"], serde_json::Value::Null);
    let changed: serde_json::Value = serde_json::from_str(&home.ok(&[
        "chats",
        "settings",
        "tsubaki",
        "--temperature",
        "0.5",
        "--guard",
        "rewrite",
        "--threshold",
        "0.4",
    ]))
    .unwrap();
    assert_eq!(changed["temperature"], 0.5);
    assert_eq!(changed["guard"]["action"], "rewrite");
    assert_eq!(changed["guard"]["threshold"], 0.4);
    let err = home.fails(&["chats", "settings", "tsubaki", "--top-p", "0"]);
    assert!(
        err.contains("error [INVALID_INPUT]") && err.contains("top-p"),
        "{err}"
    );
    let kept: serde_json::Value =
        serde_json::from_str(&home.ok(&["chats", "settings", "tsubaki"])).unwrap();
    assert_eq!(kept, changed, "a refused change keeps the stored settings");
    let other: serde_json::Value =
        serde_json::from_str(&home.ok(&["chats", "settings", "mikoto"])).unwrap();
    assert_eq!(other, defaults);
}

#[test]
fn chat_speaks_as_a_bundled_persona_deterministically_when_greedy() {
    let Some(gguf) = std::env::var_os("KOTODAMA_SMOLLM2_GGUF") else {
        eprintln!("skipped: KOTODAMA_SMOLLM2_GGUF is not set (`make models` provides it)");
        return;
    };
    let home = TempHome::new("chat");
    let gguf = gguf.to_string_lossy().to_string();
    let args = [
        "chat",
        "--persona",
        "tsubaki",
        "--model",
        &gguf,
        "--prompt",
        "Hello!",
        "--max-tokens",
        "12",
        "--temperature",
        "0",
    ];
    let first = home.ok(&args);
    assert!(first.trim().len() > 5, "a reply was streamed: {first:?}");
    assert_eq!(home.ok(&args), first, "greedy decoding is deterministic");
    let err = home.fails(&[
        "chat",
        "--persona",
        "nobody",
        "--model",
        &gguf,
        "--prompt",
        "Hi",
    ]);
    assert!(err.contains("no persona \"nobody\""), "{err}");
}

/// The terminal and the window write a reply through the same runtime: with the same stored chat,
/// chosen model and (greedy) settings, `kotodama chats say` and `Runtime::send` (what the window's
/// send command calls) store the same reply.
#[test]
fn chats_say_and_the_windows_path_give_the_same_reply() {
    let Some(gguf) = std::env::var_os("KOTODAMA_SMOLLM2_GGUF") else {
        eprintln!("skipped: KOTODAMA_SMOLLM2_GGUF is not set (`make models` provides it)");
        return;
    };
    let gguf = gguf.to_string_lossy().to_string();
    let prepare = |home: &TempHome| -> i64 {
        home.ok(&["models", "add", &gguf, "--id", "smol"]);
        assert_eq!(
            home.ok(&["models", "use", "smol"]),
            "chats answer with smol\n"
        );
        home.ok(&[
            "chats",
            "settings",
            "tsubaki",
            "--temperature",
            "0",
            "--guard",
            "off",
        ]);
        let opened = home.ok(&["chats", "new", "tsubaki"]);
        opened
            .strip_prefix("chat ")
            .and_then(|rest| rest.split(' ').next())
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("{opened}"))
    };
    let terminal = TempHome::new("say-terminal");
    let chat = prepare(&terminal);
    let said = terminal.ok(&[
        "chats",
        "say",
        &chat.to_string(),
        "Where were you last night?",
    ]);
    assert!(said.trim().len() > 3, "{said:?}");

    let window = TempHome::new("say-window");
    assert_eq!(prepare(&window), chat);
    let rt = kotodama::Runtime::open(kotodama::Home::at(&window.0)).unwrap();
    let mut pieces = String::new();
    let sent = rt
        .send(chat, "Where were you last night?", &mut |e| {
            if let kotodama::runtime::ChatEvent::Piece { text } = e {
                pieces.push_str(&text);
            }
        })
        .unwrap();
    let reply = sent.reply.expect("a reply was stored").content;
    assert_eq!(
        said.trim(),
        reply.trim(),
        "the terminal printed what the window stores"
    );
    assert_eq!(pieces.trim(), reply.trim());
    assert_eq!(
        rt.status().replier.and_then(|r| r.model).as_deref(),
        Some("smol")
    );
}

#[test]
fn models_add_installs_a_gguf_that_chat_then_uses_and_refuses_other_files() {
    let Some(gguf) = std::env::var_os("KOTODAMA_SMOLLM2_GGUF") else {
        eprintln!("skipped: KOTODAMA_SMOLLM2_GGUF is not set (`make models` provides it)");
        return;
    };
    let home = TempHome::new("models-add");
    let gguf = gguf.to_string_lossy().to_string();
    assert!(home
        .ok(&["models", "add", &gguf, "--id", "smol"])
        .starts_with("installed smol -> "));
    let listed = home.ok(&["models", "list"]);
    assert!(
        listed.starts_with("smol ") && listed.contains("Chat"),
        "{listed}"
    );

    let not_gguf = home.path("notes.gguf");
    std::fs::write(&not_gguf, "these are my notes, not a model").unwrap();
    let err = home.fails(&["models", "add", &not_gguf, "--id", "notes"]);
    assert!(err.contains("GGUF"), "{err}");
    assert_eq!(
        home.ok(&["models", "list"]),
        listed,
        "nothing was installed"
    );

    // With no --model, chat uses the installed one.
    let reply = home.ok(&[
        "chat",
        "--persona",
        "mikoto",
        "--prompt",
        "Hello",
        "--max-tokens",
        "6",
        "--temperature",
        "0",
    ]);
    assert!(!reply.trim().is_empty());
}

#[test]
fn a_distill_job_killed_mid_run_resumes_from_its_checkpoint_and_ends_like_a_straight_run() {
    use kotodama_engine::test_models::{write_tiny_model, TinySpec};
    use kotodama_engine::{Architecture, GgmlDType};

    let home = TempHome::new("distill-kill");
    let tiny = write_tiny_model(
        &TinySpec::new(Architecture::Llama),
        GgmlDType::Q8_0,
        &home.0,
    );
    let base = tiny.gguf.display().to_string();
    let args = [
        "distill", "tsubaki", "--base", &base, "--steps", "40", "--seed", "5",
    ];
    let straight = home.ok(&args);
    assert!(straight.starts_with("adapter 1 for tsubaki"), "{straight}");

    let mut killed = Command::new(env!("CARGO_BIN_EXE_kotodama"))
        .args(args)
        .env("KOTODAMA_HOME", &home.0)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let checkpoint = home.0.join("jobs/2/checkpoint/checkpoint.json");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while !checkpoint.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint appeared"
        );
        assert!(
            killed.try_wait().unwrap().is_none(),
            "finished before the kill"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    killed.kill().unwrap(); // SIGKILL: no chance to clean up
    killed.wait().unwrap();
    // Its process is gone, so its lease is void: the job is interrupted, not running forever.
    let listed = home.ok(&["jobs", "list"]);
    assert!(
        listed
            .lines()
            .any(|l| l.trim_start().starts_with("2  distill  interrupted")),
        "{listed}"
    );

    // While a live process holds the job (this test's, through the store), a resume is refused
    // and leaves the job alone; once it lets go, the resume runs.
    let db = home.0.join("kotodama.db");
    let mut store = kotodama_store::Store::open(&db).unwrap();
    let holder = kotodama_store::JobLease::for_this_process();
    store.claim_job(2, &holder).unwrap();
    let refusal = home.fails(&["jobs", "resume", "2"]);
    assert!(
        refusal.contains("JOB_RUNNING") && refusal.contains("running in another process"),
        "{refusal}"
    );
    assert_eq!(store.job(2).unwrap().state, kotodama::JobState::Running);
    store
        .set_job_state(2, kotodama::JobState::Interrupted, None)
        .unwrap();

    let resumed = home.ok(&["jobs", "resume", "2"]);
    assert!(resumed.starts_with("adapter 2 for tsubaki"), "{resumed}");
    assert!(
        resumed.contains(", 40 steps in "),
        "the report counts the whole run: {resumed}"
    );
    let weights = |job: u32| {
        std::fs::read(home.0.join(format!(
            "adapters/tsubaki-job{job}/adapter_model.safetensors"
        )))
        .unwrap()
    };
    assert!(
        weights(1) == weights(2),
        "the resumed run ends with the same adapter"
    );
    assert!(home.ok(&["jobs", "list"]).contains("2  distill  done"));
}

#[test]
fn a_damaged_database_is_named_with_what_to_do_and_comes_back_from_a_backup() {
    let home = TempHome::new("db-damaged");
    home.ok(&["info"]); // creates the database with the bundled personas
    let backup = home.0.join("good.db");
    let made = home.ok(&["db", "backup", "--to", backup.to_str().unwrap()]);
    assert!(made.contains("backed up to"), "{made}");
    assert!(home
        .ok(&["db", "check"])
        .contains("ok: the database is sound"));

    // Pages overwritten past the header: SQLite's "malformed" becomes a message with the file's
    // name and the way back.
    let db = home.0.join("kotodama.db");
    let mut bytes = std::fs::read(&db).unwrap();
    let len = bytes.len();
    for b in &mut bytes[4096..len.min(4096 * 8)] {
        *b = 0xa5;
    }
    std::fs::write(&db, &bytes).unwrap();
    let _ = std::fs::remove_file(home.0.join("kotodama.db-wal"));
    let err = home.fails(&["info"]);
    assert!(
        err.contains("DB_DAMAGED")
            && err.contains(&db.display().to_string())
            && err.contains("kotodama db restore"),
        "{err}"
    );
    assert!(home.fails(&["db", "check"]).contains("DB_DAMAGED"));
    assert_eq!(std::fs::read(&db).unwrap(), bytes, "left untouched");

    let restored = home.ok(&["db", "restore", backup.to_str().unwrap()]);
    assert!(
        restored.contains("the file it replaced is kept as"),
        "{restored}"
    );
    assert!(home.ok(&["info"]).contains("tsubaki") || home.ok(&["info"]).contains("Tsubaki"));
}
