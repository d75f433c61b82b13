use std::path::PathBuf;

use kotodama_store::{LexicalSignatureRow, NewAdapter, PragmaticTraitRow};
use serde_json::json;

use super::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// One character's lines from the reference scripts (outside the repository), in the folder
/// `KOTODAMA_DATA` names (the Makefile sets it); a clear failure when it is missing.
fn reference_characters(file: &str) -> PathBuf {
    let data = std::env::var_os("KOTODAMA_DATA").unwrap_or_else(|| {
        panic!(
            "KOTODAMA_DATA is not set: this test reads the reference scripts (`make test` sets it)"
        )
    });
    let path = Path::new(&data).join("characters").join(file);
    assert!(
        path.is_file(),
        "reference script missing: {}",
        path.display()
    );
    path
}

use crate::temp_app as open;

fn speaker(name: &str) -> ScriptImport {
    ScriptImport {
        speaker: Some(name.into()),
        ..Default::default()
    }
}

/// Row counts of the tables an import writes, and the avatar files: what must not change when it fails.
fn footprint(app: &Kotodama) -> (usize, i64, usize) {
    let personas = app.store.personas().unwrap();
    let lines = personas
        .iter()
        .map(|p| app.store.script_line_count(p.id).unwrap())
        .sum();
    let avatars = std::fs::read_dir(app.home.root().join("avatars")).map_or(0, |d| d.count());
    (personas.len(), lines, avatars)
}

#[test]
fn every_script_fixture_imports_with_its_detected_format() {
    let cases = [
        (
            "lantern_screenplay.txt",
            ScriptFormat::Screenplay,
            "UTF-8",
            "SENSEI KIRI",
            6,
        ),
        (
            "lantern_film.txt",
            ScriptFormat::Film,
            "UTF-8",
            "SENSEI KIRI",
            2,
        ),
        ("lantern.srt", ScriptFormat::Srt, "UTF-8", "SENSEI KIRI", 2),
        ("lantern.ass", ScriptFormat::Ass, "UTF-8", "HARU", 2),
        ("lantern.csv", ScriptFormat::Csv, "UTF-8", "SENSEI KIRI", 2),
        ("lantern.tsv", ScriptFormat::Tsv, "UTF-8", "HARU", 2),
        ("lantern.json", ScriptFormat::Json, "UTF-8", "HARU", 2),
        ("lantern.jsonl", ScriptFormat::Jsonl, "UTF-8", "HARU", 2),
        (
            "lantern_utf16le_bom.txt",
            ScriptFormat::Screenplay,
            "UTF-16LE",
            "SENSEI KIRI",
            6,
        ),
        (
            "lantern_shift_jis.txt",
            ScriptFormat::Screenplay,
            "Shift_JIS",
            "霧先生",
            2,
        ),
        (
            "lantern_gbk.txt",
            ScriptFormat::Screenplay,
            "GBK",
            "霧师傅",
            2,
        ),
    ];
    let (_dir, mut app) = open();
    for (file, format, encoding, who, count) in cases {
        let preview = app
            .speakers(&fixture(file), &ParseOptions::default())
            .unwrap();
        assert_eq!(
            (preview.format, preview.encoding),
            (format, encoding),
            "{file}"
        );
        let summary = preview
            .speakers
            .iter()
            .find(|s| s.name == who)
            .unwrap_or_else(|| panic!("{file}: {preview:?}"));
        assert_eq!(summary.line_count, count, "{file}");
        let id = app.import_script(&fixture(file), &speaker(who)).unwrap();
        let lines = app.store.script_lines(id).unwrap();
        assert_eq!(lines.len(), count, "{file}");
        assert!(
            lines.iter().any(|l| l.line.context_text.is_some()),
            "{file}: lines keep their context"
        );
        assert!(
            lines
                .iter()
                .all(|l| !l.line.text.contains('(') && !l.line.text.contains('（')),
            "{file}: directions stripped"
        );
    }
}

#[test]
fn screenplay_lines_keep_context_and_the_persona_is_named_after_the_speaker() {
    let (_dir, mut app) = open();
    let id = app
        .import_script(&fixture("lantern_screenplay.txt"), &speaker("sensei kiri"))
        .unwrap();
    let persona = app.persona(id).unwrap();
    assert_eq!(
        (persona.card.name.as_str(), persona.card.slug.as_str()),
        ("Sensei Kiri", "sensei-kiri")
    );
    assert_eq!(persona.card.speaker.as_deref(), Some("SENSEI KIRI"));
    let first = &app.store.script_lines(id).unwrap()[0].line;
    assert_eq!(
        first.text,
        "Sleep is for people whose footwork is already good."
    );
    assert_eq!(
        (first.context_speaker.as_deref(), first.line_no),
        (Some("HARU"), 4)
    );
    let again = app
        .import_script(&fixture("lantern_screenplay.txt"), &speaker("SENSEI KIRI"))
        .unwrap();
    assert_eq!(app.persona(again).unwrap().card.slug, "sensei-kiri-2");
}

#[test]
fn real_single_character_files_import_in_every_encoding() {
    let cases = [
        ("en/c3po.txt", None),
        ("ja/gendo_ikari.txt", Some(encoding_rs::SHIFT_JIS)),
        ("zh/hu_tao.txt", Some(encoding_rs::GBK)),
    ];
    let (_dir, mut app) = open();
    for (file, transcode) in cases {
        let path = reference_characters(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let bytes = match transcode {
            Some(encoding) => encoding.encode(&text).0.into_owned(),
            None => text.clone().into_bytes(),
        };
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let preview = preview_script(&bytes, &stem, &ParseOptions::default()).unwrap();
        assert_eq!(preview.format, ScriptFormat::Plain, "{file}");
        let id = app
            .import_script_bytes(&bytes, &stem, &ScriptImport::default())
            .unwrap();
        let non_empty = text.lines().filter(|l| !l.trim().is_empty()).count();
        let stored = app.store.script_line_count(id).unwrap() as usize;
        assert!(
            stored * 100 >= non_empty * 98 && stored <= non_empty,
            "{file}: {stored} of {non_empty} lines"
        );
    }
}

#[test]
fn aliases_merge_and_a_multi_speaker_script_needs_a_choice() {
    let (_dir, mut app) = open();
    let err = app
        .import_script(&fixture("lantern.tsv"), &speaker("Momo"))
        .unwrap_err();
    assert_eq!(
        (err.code(), err.to_string()),
        (
            "SPEAKER_NOT_FOUND",
            r#"no speaker "MOMO" in the script; speakers: HARU (2), SENSEI KIRI (1)"#.to_string()
        )
    );
    let script =
        b"BEN: Hello there.\nLUKE: Who are you?\nOBI-WAN: An old friend.\nLUKE: Ben?\nBEN: Yes.\n";
    let err = app
        .import_script_bytes(script, "s.txt", &ScriptImport::default())
        .unwrap_err();
    assert_eq!(err.code(), "SPEAKER_REQUIRED");
    assert!(
        err.to_string().contains("BEN (2)") && err.to_string().contains("LUKE (2)"),
        "{err}"
    );
    let request = ScriptImport {
        aliases: vec!["Ben".into()],
        ..speaker("Obi-Wan")
    };
    let id = app.import_script_bytes(script, "s.txt", &request).unwrap();
    assert_eq!(app.store.script_line_count(id).unwrap(), 3);
    assert_eq!(app.persona(id).unwrap().card.name, "Obi-Wan");
}

#[test]
fn the_pillow_written_card_imports_with_lorebook_extensions_and_avatar() {
    let (_dir, mut app) = open();
    let (id, from) = app
        .import_file(&fixture("pillow_card.png"), &ScriptImport::default())
        .unwrap();
    assert_eq!(from, ImportedFrom::Card);
    let p = app.persona(id).unwrap().card;
    assert_eq!(
        (p.name.as_str(), p.first_message.as_str()),
        (
            "Sensei Kiri",
            "(without turning) You are late. Pick up the bokken."
        )
    );
    assert_eq!(p.card_json["spec"], "chara_card_v3", "ccv3 is preferred");
    assert_eq!(
        p.card_json["data"]["extensions"]["depth_prompt"]["depth"],
        4
    );
    let lore = app.lorebook(id).unwrap();
    assert_eq!(
        lore.entries
            .iter()
            .map(|e| e.keys.join("/"))
            .collect::<Vec<_>>(),
        vec!["bokken", "lantern/lanterns"]
    );
    let avatar = std::fs::read(app.avatar_path(&p.slug)).unwrap();
    let chunks = cards::png::read_chunks(&avatar, "avatar").unwrap();
    assert!(
        chunks.iter().all(|c| cards::png::text_chunk(c).is_none()),
        "the stored avatar drops the card chunks"
    );
}

fn sample_profile() -> NewProfile {
    NewProfile {
        schema_version: 1,
        line_count: 6,
        token_count: 58,
        profile_json: json!({"pragmatics": {"imperativeRate": 0.5}}),
        lexical: vec![LexicalSignatureRow {
            term: "bokken".into(),
            n: 1,
            pmi: 4.5,
            count: 2,
            rate_per_1k: 34.4,
            catchphrase: false,
        }],
        rules: vec![],
        traits: vec![PragmaticTraitRow {
            name: "imperatives".into(),
            value: 0.5,
            background: 0.1,
            z_or_ratio: 5.0,
        }],
    }
}

#[test]
fn exported_cards_import_back_to_the_same_persona_and_profile() {
    let (_dir, mut app) = open();
    let id = app
        .import_script(&fixture("lantern_screenplay.txt"), &speaker("SENSEI KIRI"))
        .unwrap();
    app.store.add_profile(id, &sample_profile()).unwrap();
    let out = tempfile::tempdir().unwrap();
    for format in ["png", "json", "charx"] {
        let path = out.path().join(format!("kiri.{format}"));
        app.export_card(id, format.parse().unwrap(), &path).unwrap();
        let (_dir2, mut other) = open();
        let copy = other.import_card(&path).unwrap();
        let (a, b) = (
            app.persona(id).unwrap().card,
            other.persona(copy).unwrap().card,
        );
        assert_eq!(
            NewPersona {
                card_json: a.card_json.clone(),
                source: a.source,
                ..b.clone()
            },
            a,
            "{format}: all card fields"
        );
        let profile = other
            .store
            .latest_profile(copy)
            .unwrap()
            .map(|r| stored_profile(&other.store, r).unwrap());
        assert_eq!(profile, Some(sample_profile()), "{format}");
        // Exporting the copy gives the same card again.
        let again = out.path().join(format!("again.{format}"));
        other
            .export_card(copy, format.parse().unwrap(), &again)
            .unwrap();
        let card = |p: &Path| {
            cards::read_card_bytes(&std::fs::read(p).unwrap(), "x")
                .unwrap()
                .card
        };
        assert_eq!(card(&again), card(&path), "{format}");
    }
}

#[test]
fn a_charx_export_carries_the_newest_adapter() {
    let (dir, mut app) = open();
    let id = app.import_card(&fixture("pillow_card.png")).unwrap();
    let adapter_dir = dir.path().join("adapters/kiri");
    std::fs::create_dir_all(&adapter_dir).unwrap();
    std::fs::write(adapter_dir.join("adapter_config.json"), b"{\"r\": 8}").unwrap();
    std::fs::write(adapter_dir.join("adapter_model.safetensors"), b"weights").unwrap();
    let adapter = NewAdapter {
        persona_id: id,
        model_id: None,
        path: adapter_dir.display().to_string(),
        variant: "cot".into(),
        rank: 8,
        alpha: 16.0,
        report: None,
    };
    app.store.insert_adapter(&adapter).unwrap();
    let out = dir.path().join("kiri.charx");
    app.export_card(id, CardFormat::Charx, &out).unwrap();
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
    let mut weights = String::new();
    zip.by_name("assets/other/kotodama/adapter/adapter_model.safetensors")
        .unwrap()
        .read_to_string(&mut weights)
        .unwrap();
    assert_eq!(weights, "weights");
    assert!(zip.by_name(cards::charx::ICON_PATH).is_ok());
}

#[test]
fn bad_files_fail_with_a_clear_error_and_change_nothing() {
    let (dir, mut app) = open();
    let before = footprint(&app);
    let huge = dir.path().join("huge_transcript.txt");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(200 << 20)
        .unwrap(); // sparse: no 200 MB written
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let mut bad_crc = std::fs::read(fixture("pillow_card.png")).unwrap();
    bad_crc[40] ^= 0xff;
    let mut zip_escape = std::io::Cursor::new(Vec::new());
    cards::charx::write_charx(
        &mut zip_escape,
        "{}",
        &[("../../outside.txt".into(), b"x".to_vec())],
    )
    .unwrap();
    let cases = [
        (huge, "FILE_TOO_LARGE", "209715200 bytes"),
        (
            write("two.txt", b"REN: Hi.\nTSUBAKI: Hmph.\n"),
            "SPEAKER_REQUIRED",
            "choose one of REN (1), TSUBAKI (1)",
        ),
        (
            write("blank.txt", b"\r\n \r\n"),
            "SCRIPT_INVALID",
            "no speakers found",
        ),
        (
            write("anon.srt", b"1\n00:00:01,000 --> 00:00:02,000\nHello.\n"),
            "SCRIPT_INVALID",
            "no speakers found",
        ),
        (write("empty.csv", b""), "SCRIPT_INVALID", "empty"),
        (write("bad_crc.png", &bad_crc), "PNG_INVALID", "bad CRC"),
        (
            write("truncated.png", &bad_crc[..100]),
            "PNG_INVALID",
            "bad_crc",
        ),
        (
            write("escape.charx", &zip_escape.into_inner()),
            "ARCHIVE_UNSAFE",
            "../../outside.txt",
        ),
        (
            write(
                "shape.json",
                br#"{"spec":"chara_card_v3","data":{"name":["Kiri"]}}"#,
            ),
            "CARD_INVALID",
            "shape.json: field `name` should be a string",
        ),
    ];
    for (path, code, needle) in cases {
        let err = app
            .import_file(&path, &ScriptImport::default())
            .unwrap_err();
        assert_eq!(err.code(), code, "{}: {err}", path.display());
        let shown = err.to_string().replace("truncated.png", "bad_crc");
        assert!(shown.contains(needle), "{}: {err}", path.display());
    }
    assert_eq!(footprint(&app), before);
    assert!(!dir.path().join("outside.txt").exists());
}

/// Makes the next write to `table` fail inside the import's transaction, like a full disk would.
fn fail_writes_to(app: &Kotodama, table: &str) {
    let conn = rusqlite::Connection::open(app.home.database()).unwrap();
    conn.execute_batch(&format!(
        "CREATE TRIGGER fail_midway BEFORE INSERT ON {table} BEGIN SELECT RAISE(ABORT, 'simulated failure'); END;"
    ))
    .unwrap();
}

#[test]
fn an_import_that_fails_midway_leaves_the_database_as_it_was() {
    let (_dir, mut app) = open();
    let before = footprint(&app);
    fail_writes_to(&app, "script_lines");
    assert!(app
        .import_script(&fixture("lantern_screenplay.txt"), &speaker("HARU"))
        .is_err());
    assert_eq!(
        footprint(&app),
        before,
        "persona row rolled back with its lines"
    );

    let (_dir, mut app) = open();
    let id = app.import_card(&fixture("pillow_card.png")).unwrap();
    app.store.add_profile(id, &sample_profile()).unwrap();
    let card = app.home.root().join("kiri.png");
    app.export_card(id, CardFormat::Png, &card).unwrap();
    let before = footprint(&app);
    fail_writes_to(&app, "pragmatic_traits"); // the last rows of the embedded profile
    assert!(app.import_card(&card).is_err());
    assert_eq!(
        footprint(&app),
        before,
        "no persona, no profile, no avatar file"
    );
}

#[test]
fn reimport_adds_lines_and_a_new_profile_version_keeping_the_old() {
    let (_dir, mut app) = open();
    let id = app
        .import_script(&fixture("lantern_screenplay.txt"), &speaker("HARU"))
        .unwrap();
    let first = app
        .store
        .latest_profile(id)
        .unwrap()
        .expect("import stores a profile");
    let lines_before = app.store.script_line_count(id).unwrap();
    let second = app
        .reimport_lines(id, &fixture("lantern.csv"), None, &ParseOptions::default())
        .unwrap();
    assert_eq!((first.version, second.version), (1, 2));
    assert!(app.store.script_line_count(id).unwrap() > lines_before);
    assert_eq!(second.line_count, app.store.script_line_count(id).unwrap());
    let versions = app.store.profile_versions(id).unwrap();
    assert_eq!(
        versions.iter().map(|v| v.line_count).collect::<Vec<_>>(),
        vec![first.line_count, second.line_count]
    );
}

#[test]
fn deleting_a_persona_removes_its_avatar() {
    let (_dir, mut app) = open();
    let id = app.import_card(&fixture("pillow_card.png")).unwrap();
    let avatar = app.avatar_path(&app.persona(id).unwrap().card.slug);
    assert!(avatar.is_file());
    app.delete_persona(id).unwrap();
    assert!(!avatar.exists());
    assert_eq!(app.delete_persona(id).unwrap_err().code(), "NOT_FOUND");
}

#[test]
fn the_wizard_previews_scripts_and_cards_and_reports_import_phases() {
    let (_dir, mut app) = open();
    let script = std::fs::read(fixture("lantern_screenplay.txt")).unwrap();
    let FilePreview::Script(preview) = preview_file(&script, "lantern_screenplay.txt").unwrap()
    else {
        panic!("a screenplay previews as a script");
    };
    assert_eq!(preview.format, ScriptFormat::Screenplay);
    let kiri = preview
        .speakers
        .iter()
        .find(|s| s.name == "SENSEI KIRI")
        .unwrap();
    assert!(kiri.line_count >= 3 && !kiri.sample_lines.is_empty());

    let card = std::fs::read(fixture("pillow_card.png")).unwrap();
    match preview_file(&card, "pillow_card.png").unwrap() {
        FilePreview::Card {
            name, has_avatar, ..
        } => {
            assert!(!name.is_empty());
            assert!(has_avatar);
        }
        other => panic!("a card PNG previews as a card: {other:?}"),
    }
    assert_eq!(
        preview_file(b"\x89PNG\r\n\x1a\n\0\0\0", "broken.png")
            .unwrap_err()
            .code(),
        "PNG_INVALID"
    );

    let mut phases = Vec::new();
    let (id, from) = app
        .import_bytes(
            &script,
            "lantern_screenplay.txt",
            &speaker("SENSEI KIRI"),
            &mut |p| phases.push(p),
        )
        .unwrap();
    assert_eq!(from, ImportedFrom::Script { repeated: 0 });
    assert_eq!(
        phases,
        vec![
            ImportPhase::Reading,
            ImportPhase::Analyzing {
                speaker: "SENSEI KIRI".into(),
                lines: kiri.line_count
            },
            ImportPhase::Storing
        ]
    );
    assert_eq!(app.persona(id).unwrap().card.name, "Sensei Kiri");
}

#[test]
fn repeated_lines_are_left_out_and_a_speaker_needs_enough_distinct_lines() {
    let (_dir, mut app) = open();
    let mut script = String::new();
    for i in 0..6 {
        script.push_str(&format!(
            "RIN: The tide turns at dusk, number {i}.\nKAI: And then?\n"
        ));
    }
    for _ in 0..50 {
        script.push_str("RIN: Hmph. Whatever.\n");
    }
    let preview = preview_script(script.as_bytes(), "rin.txt", &ParseOptions::default()).unwrap();
    let rin = preview.speakers.iter().find(|s| s.name == "RIN").unwrap();
    assert_eq!((rin.line_count, rin.repeated_lines), (56, 49));
    let kai = preview.speakers.iter().find(|s| s.name == "KAI").unwrap();
    assert_eq!((kai.line_count, kai.repeated_lines), (6, 5));

    let request = |speaker: &str| ScriptImport {
        speaker: Some(speaker.into()),
        ..Default::default()
    };
    let (id, from) = app
        .import_bytes(script.as_bytes(), "rin.txt", &request("RIN"), &mut |_| {})
        .unwrap();
    assert_eq!(from, ImportedFrom::Script { repeated: 49 });
    assert_eq!(app.store.script_line_count(id).unwrap(), 7);
    let before = app.personas().unwrap().len();
    let err = app
        .import_bytes(script.as_bytes(), "rin.txt", &request("KAI"), &mut |_| {})
        .unwrap_err();
    assert_eq!(err.code(), "INVALID_INPUT");
    assert!(
        err.to_string()
            .contains("KAI has 1 distinct line (5 more repeat earlier ones word for word)"),
        "{err}"
    );
    assert_eq!(app.personas().unwrap().len(), before, "nothing stored");
}
