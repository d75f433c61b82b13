use std::path::Path;

use kotodama_store::{NewPersona, ProfileRecord};
use kotodama_style::StyleProfile;

use super::*;
use crate::{Home, ScriptImport};

/// The analyzer version before this one; 0 while the current one is 1 (no profile ever had 0).
const OLD: i64 = ANALYZER_VERSION - 1;

/// The app as it starts: the bundled personas seeded, plus one persona imported from a script file.
fn open_with_an_import(dir: &Path) -> (Kotodama, i64) {
    let mut app = Kotodama::open(Home::at(dir)).unwrap();
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lantern_screenplay.txt");
    let request = ScriptImport {
        speaker: Some("HARU".into()),
        ..Default::default()
    };
    let imported = app.import_script(&fixture, &request).unwrap();
    (app, imported)
}

/// Rewrites every stored profile as the previous analyzer left it: its version number in the column
/// and the JSON, and without the `model` the scorer now needs (absent before version 2; a no-op
/// while the current analyzer does not write one either).
fn make_profiles_old(app: &Kotodama) {
    let conn = rusqlite::Connection::open(app.home.database()).unwrap();
    conn.execute(
        "UPDATE style_profiles SET schema_version = ?1, \
         profile_json = json_set(json_remove(profile_json, '$.model'), '$.schemaVersion', ?1)",
        [OLD],
    )
    .unwrap();
}

fn versions(app: &Kotodama, persona_id: i64) -> Vec<ProfileRecord> {
    app.store.profile_versions(persona_id).unwrap()
}

fn ids(stale: &[StaleProfile]) -> Vec<i64> {
    stale.iter().map(|s| s.persona_id).collect()
}

#[test]
fn profiles_of_an_older_analyzer_get_a_new_version_and_keep_the_old() {
    let dir = tempfile::tempdir().unwrap();
    let (app, imported) = open_with_an_import(dir.path());
    let mut personas: Vec<i64> = app.store.personas().unwrap().iter().map(|p| p.id).collect();
    personas.sort(); // the catch-up's order
    assert_eq!(personas.len(), BUNDLED.len() + 1);
    // What the current analyzer makes of each persona at import: the catch-up must reproduce it
    // for the bundled ones, whose whole script (all the other speakers' lines) ships in the binary.
    let fresh: Vec<serde_json::Value> = personas
        .iter()
        .map(|&id| versions(&app, id)[0].profile_json.clone())
        .collect();
    make_profiles_old(&app);
    let old: Vec<serde_json::Value> = personas
        .iter()
        .map(|&id| versions(&app, id)[0].profile_json.clone())
        .collect();

    let stale = app.stale_profiles().unwrap();
    assert_eq!(ids(&stale), personas);
    assert!(stale.iter().all(|s| s.schema_version == OLD));
    let core = Mutex::new(app);
    let mut progress = Vec::new();
    let report = upgrade_profiles(&core, &stale, &mut |p| progress.push((p.done, p.total)));
    let app = core.into_inner().unwrap();

    assert_eq!(report.upgraded, personas);
    assert!(report.failed.is_empty());
    let n = personas.len();
    assert_eq!(progress, (0..=n).map(|done| (done, n)).collect::<Vec<_>>());
    for (i, &id) in personas.iter().enumerate() {
        let v = versions(&app, id);
        assert_eq!(v.len(), 2, "persona {id}: the old version and the new one");
        assert_eq!((v[0].version, v[0].schema_version), (1, OLD));
        assert_eq!(
            v[0].profile_json, old[i],
            "persona {id}: the old version untouched"
        );
        assert_eq!((v[1].version, v[1].schema_version), (2, ANALYZER_VERSION));
        assert_eq!(v[1].line_count, v[0].line_count);
        let profile: StyleProfile = serde_json::from_value(v[1].profile_json.clone()).unwrap();
        assert_eq!(i64::from(profile.schema_version), ANALYZER_VERSION);
        assert!(
            profile.model.words.tokens > 0 && !profile.model.rules.items.is_empty(),
            "persona {id}: the new version carries the scorer's counts"
        );
        if id != imported {
            assert_eq!(
                v[1].profile_json, fresh[i],
                "persona {id}: as the first start made it"
            );
        }
        // The persona page shows the new version and the diff reads across the two.
        let page = app.persona_page(id).unwrap().profile.unwrap();
        assert_eq!((page.version, page.versions.as_slice()), (2, &[2, 1][..]));
        assert_eq!(app.profile_diff(id, 1, 2).unwrap().to_version, 2);
    }
    // The imported script's other speakers are known only by the turns before HARU's lines (the
    // first opens its scene: no turn before it), so those are what HARU is contrasted with.
    let haru = app.reanalysis(imported).unwrap();
    assert_eq!(haru.speaker, "HARU");
    assert_eq!(
        haru.others,
        [
            "Sleep is for people whose footwork is already good.",
            "Take it off, Momo. And bring three cups, not two.",
            "Morning, Haru. Still holding the sword like a broom?",
        ]
    );

    // Caught up: a second start finds nothing to do.
    assert!(app.stale_profiles().unwrap().is_empty());
    let core = Mutex::new(app);
    let again = upgrade_profiles(&core, &[], &mut |_| {});
    assert_eq!(again, UpgradeReport::default());
    let app = core.into_inner().unwrap();
    assert!(personas.iter().all(|&id| versions(&app, id).len() == 2));
}

#[test]
fn a_catch_up_cut_short_finishes_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _) = open_with_an_import(dir.path());
    make_profiles_old(&app);
    let stale = app.stale_profiles().unwrap();
    let core = Mutex::new(app);
    // The app closes after the first persona.
    let first = upgrade_profiles(&core, &stale[..1], &mut |_| {});
    assert_eq!(first.upgraded, ids(&stale[..1]));
    drop(core);

    let app = Kotodama::open(Home::at(dir.path())).unwrap();
    let rest = app.stale_profiles().unwrap();
    assert_eq!(ids(&rest), ids(&stale[1..]));
    let core = Mutex::new(app);
    let report = upgrade_profiles(&core, &rest, &mut |_| {});
    assert_eq!(report.upgraded, ids(&stale[1..]));
    let app = core.into_inner().unwrap();
    for s in &stale {
        let v = versions(&app, s.persona_id);
        assert_eq!(
            v.iter().map(|p| p.schema_version).collect::<Vec<_>>(),
            [OLD, ANALYZER_VERSION],
            "persona {}: analysed again once",
            s.persona_id
        );
    }
    assert!(app.stale_profiles().unwrap().is_empty());
}

#[test]
fn a_persona_that_cannot_be_analysed_keeps_its_profile_and_the_others_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let (mut app, imported) = open_with_an_import(dir.path());
    // Lines with no text to analyse (as a damaged or hand-edited database could hold), and the
    // imported persona's profile as the one the old analyzer made of them.
    let blank = NewScriptLine {
        line_no: 1,
        text: "   ".into(),
        context_speaker: None,
        context_text: None,
    };
    let haru: Vec<NewScriptLine> = app
        .store
        .script_lines(imported)
        .unwrap()
        .into_iter()
        .map(|l| l.line)
        .collect();
    let profile = analyze_persona(&haru, &[], Some("HARU")).unwrap();
    let card = NewPersona {
        slug: "blank".into(),
        name: "Blank".into(),
        ..app.store.persona(imported).unwrap().card
    };
    let broken = app
        .store
        .insert_persona(&card, &[blank.clone(), blank], Some(&profile))
        .unwrap();
    make_profiles_old(&app);

    let stale = app.stale_profiles().unwrap();
    let core = Mutex::new(app);
    let report = upgrade_profiles(&core, &stale, &mut |_| {});
    let app = core.into_inner().unwrap();

    assert_eq!(
        ids(&report.failed.iter().map(|f| f.0).collect::<Vec<_>>()),
        [broken]
    );
    assert!(
        report.failed[0].1.contains("style analysis"),
        "{}",
        report.failed[0].1
    );
    assert_eq!(report.upgraded.len(), stale.len() - 1);
    assert_eq!(app.store.persona(broken).unwrap().card.name, "Blank");
    assert_eq!(versions(&app, broken).len(), 1);
    // Still behind: tried again at the next start.
    assert_eq!(ids(&app.stale_profiles().unwrap()), [broken]);
}
