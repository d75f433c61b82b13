//! Versioned schema. Migration `i` moves the database from `user_version = i` to `i + 1`; each runs in
//! its own transaction, so a failed migration leaves the previous version intact.

pub const MIGRATIONS: &[&str] = &[
    V1,
    CHAT_ADAPTER,
    MESSAGE_ALTERNATIVES,
    CHAT_SETTINGS,
    ADAPTER_RECIPES,
    JOB_LEASES,
    REMOTE_MODELS,
    CARD_REVISIONS,
    USER_PERSONAS,
];

const V1: &str = r#"
CREATE TABLE personas (
    id                        INTEGER PRIMARY KEY,
    slug                      TEXT NOT NULL UNIQUE,
    name                      TEXT NOT NULL,
    tagline                   TEXT NOT NULL DEFAULT '',
    description               TEXT NOT NULL DEFAULT '',
    personality               TEXT NOT NULL DEFAULT '',
    scenario                  TEXT NOT NULL DEFAULT '',
    first_message             TEXT NOT NULL DEFAULT '',
    example_dialogue          TEXT NOT NULL DEFAULT '',
    system_prompt             TEXT NOT NULL DEFAULT '',
    post_history_instructions TEXT NOT NULL DEFAULT '',
    creator_notes             TEXT NOT NULL DEFAULT '',
    alternate_greetings       TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(alternate_greetings)),
    tags                      TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
    -- The card exactly as imported (unknown extension keys preserved, as the card spec requires).
    card_json                 TEXT NOT NULL CHECK (json_valid(card_json)),
    speaker                   TEXT,
    source                    TEXT NOT NULL CHECK (source IN ('bundled', 'imported', 'created')),
    created_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL
);

CREATE TABLE script_lines (
    id              INTEGER PRIMARY KEY,
    persona_id      INTEGER NOT NULL REFERENCES personas(id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    line_no         INTEGER NOT NULL,
    text            TEXT NOT NULL,
    -- The preceding turn: the prompt side of training data.
    context_speaker TEXT,
    context_text    TEXT,
    UNIQUE (persona_id, seq)
);

CREATE TABLE style_profiles (
    id             INTEGER PRIMARY KEY,
    persona_id     INTEGER NOT NULL REFERENCES personas(id) ON DELETE CASCADE,
    version        INTEGER NOT NULL,
    schema_version INTEGER NOT NULL,
    line_count     INTEGER NOT NULL,
    token_count    INTEGER NOT NULL,
    profile_json   TEXT NOT NULL CHECK (json_valid(profile_json)),
    created_at     INTEGER NOT NULL,
    UNIQUE (persona_id, version)
);

CREATE TABLE lexical_signatures (
    profile_id  INTEGER NOT NULL REFERENCES style_profiles(id) ON DELETE CASCADE,
    rank        INTEGER NOT NULL,
    term        TEXT NOT NULL,
    n           INTEGER NOT NULL,
    pmi         REAL NOT NULL,
    count       INTEGER NOT NULL,
    rate_per_1k REAL NOT NULL,
    catchphrase INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (profile_id, rank, catchphrase)
);

CREATE TABLE grammar_rules (
    profile_id INTEGER NOT NULL REFERENCES style_profiles(id) ON DELETE CASCADE,
    rank       INTEGER NOT NULL,
    rule       TEXT NOT NULL,
    gloss      TEXT,
    log_odds   REAL NOT NULL,
    z          REAL NOT NULL,
    count      INTEGER NOT NULL,
    PRIMARY KEY (profile_id, rank)
);

CREATE TABLE pragmatic_traits (
    profile_id INTEGER NOT NULL REFERENCES style_profiles(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    value      REAL NOT NULL,
    background REAL NOT NULL,
    z_or_ratio REAL NOT NULL,
    PRIMARY KEY (profile_id, name)
);

CREATE TABLE models (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    path         TEXT NOT NULL UNIQUE,
    format       TEXT NOT NULL CHECK (format IN ('gguf', 'safetensors')),
    architecture TEXT NOT NULL,
    quantization TEXT,
    size_bytes   INTEGER NOT NULL,
    sha256       TEXT,
    installed_at INTEGER NOT NULL
);

CREATE TABLE adapters (
    id          INTEGER PRIMARY KEY,
    persona_id  INTEGER NOT NULL REFERENCES personas(id) ON DELETE CASCADE,
    model_id    INTEGER REFERENCES models(id) ON DELETE SET NULL,
    path        TEXT NOT NULL,
    variant     TEXT NOT NULL CHECK (variant IN ('cot', 'vanilla')),
    rank        INTEGER NOT NULL,
    alpha       REAL NOT NULL,
    report_json TEXT CHECK (report_json IS NULL OR json_valid(report_json)),
    created_at  INTEGER NOT NULL
);

CREATE TABLE chats (
    id         INTEGER PRIMARY KEY,
    persona_id INTEGER NOT NULL REFERENCES personas(id) ON DELETE CASCADE,
    title      TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX chats_by_persona ON chats (persona_id, updated_at);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    chat_id         INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    content         TEXT NOT NULL,
    -- Where the text came from: typed by the user, the card's greeting, the persona's script, a model.
    source          TEXT NOT NULL CHECK (source IN ('user', 'greeting', 'script', 'model')),
    style_overall   REAL,
    style_lexical   REAL,
    style_syntactic REAL,
    style_pragmatic REAL,
    ooc_flags       TEXT CHECK (ooc_flags IS NULL OR json_valid(ooc_flags)),
    model_id        INTEGER REFERENCES models(id) ON DELETE SET NULL,
    adapter_id      INTEGER REFERENCES adapters(id) ON DELETE SET NULL,
    created_at      INTEGER NOT NULL,
    UNIQUE (chat_id, seq)
);

CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,
    persona_id      INTEGER REFERENCES personas(id) ON DELETE CASCADE,
    state           TEXT NOT NULL CHECK (state IN ('queued', 'running', 'cancelled', 'failed', 'done')),
    phase           TEXT NOT NULL DEFAULT '',
    progress        REAL NOT NULL DEFAULT 0,
    params_json     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params_json)),
    checkpoint_path TEXT,
    error           TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX jobs_by_state ON jobs (state, created_at);
"#;

/// Which adapter a persona's chats use: the newest one trained on the loaded model (the default), none
/// (the base model with the persona prompt), or the one the user chose. A chosen adapter that is deleted
/// falls back to the newest.
const CHAT_ADAPTER: &str = r#"
ALTER TABLE personas ADD COLUMN chat_adapter TEXT NOT NULL DEFAULT 'newest'
    CHECK (chat_adapter IN ('newest', 'none', 'chosen'));
ALTER TABLE personas ADD COLUMN chat_adapter_id INTEGER REFERENCES adapters(id) ON DELETE SET NULL;
"#;

/// Swipes, edits and branches.
///
/// Every alternative of a message position (a regenerated reply, an alternate greeting) is a `messages`
/// row of its own, numbered by `alt_index` at the same `(chat_id, seq)`; exactly one row per position is
/// `active`: the one the chat shows and later prompts use. Rows rather than a side table of texts, because
/// an alternative is a whole message (its own source, model, adapter and style score), so every message
/// keeps one shape, reading the history stays one query over active rows, and edit/delete/branch treat
/// every alternative alike. `edited_at` marks text the user changed after it was written.
/// SQLite cannot drop V1's UNIQUE (chat_id, seq), hence the rebuild; nothing references `messages`.
const MESSAGE_ALTERNATIVES: &str = r#"
CREATE TABLE messages_v2 (
    id              INTEGER PRIMARY KEY,
    chat_id         INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    alt_index       INTEGER NOT NULL DEFAULT 0 CHECK (alt_index >= 0),
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    role            TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    content         TEXT NOT NULL,
    source          TEXT NOT NULL CHECK (source IN ('user', 'greeting', 'script', 'model')),
    style_overall   REAL,
    style_lexical   REAL,
    style_syntactic REAL,
    style_pragmatic REAL,
    ooc_flags       TEXT CHECK (ooc_flags IS NULL OR json_valid(ooc_flags)),
    model_id        INTEGER REFERENCES models(id) ON DELETE SET NULL,
    adapter_id      INTEGER REFERENCES adapters(id) ON DELETE SET NULL,
    created_at      INTEGER NOT NULL,
    edited_at       INTEGER,
    UNIQUE (chat_id, seq, alt_index)
);
INSERT INTO messages_v2 (id, chat_id, seq, role, content, source, style_overall, style_lexical,
                         style_syntactic, style_pragmatic, ooc_flags, model_id, adapter_id, created_at)
    SELECT id, chat_id, seq, role, content, source, style_overall, style_lexical,
           style_syntactic, style_pragmatic, ooc_flags, model_id, adapter_id, created_at
    FROM messages;
DROP TABLE messages;
ALTER TABLE messages_v2 RENAME TO messages;
CREATE UNIQUE INDEX messages_active_per_position ON messages (chat_id, seq) WHERE active = 1;
"#;

/// Settings: each persona's chat settings (sampler, out-of-character guard) as one JSON document, so
/// that a new setting needs no migration (absent keys read as their defaults); app-wide settings (the
/// theme) as key/value rows; and on each message, what the out-of-character guard did before keeping it.
const CHAT_SETTINGS: &str = r#"
ALTER TABLE personas ADD COLUMN chat_settings TEXT
    CHECK (chat_settings IS NULL OR json_valid(chat_settings));
ALTER TABLE messages ADD COLUMN guard TEXT CHECK (guard IS NULL OR json_valid(guard));
CREATE TABLE app_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#;

/// Adapters name their training recipe (`vanilla`, `step-by-step`, `plan-dropout`; `cot` for the
/// plan-inline adapters of earlier versions). A CHECK cannot be altered, so the table is rebuilt; the
/// DROP fires the ON DELETE SET NULL of the messages and personas that point at adapters, so those
/// references are kept aside and put back (the ids are unchanged).
const ADAPTER_RECIPES: &str = r#"
CREATE TEMP TABLE kept_message_adapters AS
    SELECT id, adapter_id FROM messages WHERE adapter_id IS NOT NULL;
CREATE TEMP TABLE kept_chat_adapters AS
    SELECT id, chat_adapter_id FROM personas WHERE chat_adapter_id IS NOT NULL;
CREATE TABLE adapters_v2 (
    id          INTEGER PRIMARY KEY,
    persona_id  INTEGER NOT NULL REFERENCES personas(id) ON DELETE CASCADE,
    model_id    INTEGER REFERENCES models(id) ON DELETE SET NULL,
    path        TEXT NOT NULL,
    variant     TEXT NOT NULL CHECK (variant IN ('vanilla', 'step-by-step', 'plan-dropout', 'cot')),
    rank        INTEGER NOT NULL,
    alpha       REAL NOT NULL,
    report_json TEXT CHECK (report_json IS NULL OR json_valid(report_json)),
    created_at  INTEGER NOT NULL
);
INSERT INTO adapters_v2 SELECT id, persona_id, model_id, path, variant, rank, alpha, report_json, created_at
    FROM adapters;
DROP TABLE adapters;
ALTER TABLE adapters_v2 RENAME TO adapters;
UPDATE messages SET adapter_id =
    (SELECT k.adapter_id FROM kept_message_adapters k WHERE k.id = messages.id)
    WHERE id IN (SELECT id FROM kept_message_adapters);
UPDATE personas SET chat_adapter_id =
    (SELECT k.chat_adapter_id FROM kept_chat_adapters k WHERE k.id = personas.id)
    WHERE id IN (SELECT id FROM kept_chat_adapters);
DROP TABLE kept_message_adapters;
DROP TABLE kept_chat_adapters;
"#;

/// Jobs with a lease: the process running a job holds it (`lease_owner`, its `lease_pid`) until
/// `lease_until` (ms), renewing it as it makes progress; a running job whose holder died or let the
/// lease lapse becomes `interrupted`, to be resumed. Nothing references `jobs`, so the rebuild
/// (for the new state in the CHECK) is a plain copy.
const JOB_LEASES: &str = r#"
CREATE TABLE jobs_v2 (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,
    persona_id      INTEGER REFERENCES personas(id) ON DELETE CASCADE,
    state           TEXT NOT NULL
        CHECK (state IN ('queued', 'running', 'interrupted', 'cancelled', 'failed', 'done')),
    phase           TEXT NOT NULL DEFAULT '',
    progress        REAL NOT NULL DEFAULT 0,
    params_json     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params_json)),
    checkpoint_path TEXT,
    error           TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_pid       INTEGER,
    lease_until     INTEGER
);
INSERT INTO jobs_v2 (id, kind, persona_id, state, phase, progress, params_json, checkpoint_path,
                     error, created_at, updated_at)
    SELECT id, kind, persona_id, CASE state WHEN 'running' THEN 'interrupted' ELSE state END, phase,
           progress, params_json, checkpoint_path, error, created_at, updated_at
    FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_v2 RENAME TO jobs;
CREATE INDEX jobs_by_state ON jobs (state, created_at);
"#;

/// Models served elsewhere (format `remote`: the server's endpoint and model name as the path) write
/// replies too. The CHECK is rebuilt like ADAPTER_RECIPES': the messages and adapters that point at a
/// model keep their reference through the DROP (ids unchanged).
const REMOTE_MODELS: &str = r#"
CREATE TEMP TABLE kept_message_models AS
    SELECT id, model_id FROM messages WHERE model_id IS NOT NULL;
CREATE TEMP TABLE kept_adapter_models AS
    SELECT id, model_id FROM adapters WHERE model_id IS NOT NULL;
CREATE TABLE models_v2 (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    path         TEXT NOT NULL UNIQUE,
    format       TEXT NOT NULL CHECK (format IN ('gguf', 'safetensors', 'remote')),
    architecture TEXT NOT NULL,
    quantization TEXT,
    size_bytes   INTEGER NOT NULL,
    sha256       TEXT,
    installed_at INTEGER NOT NULL
);
INSERT INTO models_v2 SELECT id, name, path, format, architecture, quantization, size_bytes, sha256,
    installed_at FROM models;
DROP TABLE models;
ALTER TABLE models_v2 RENAME TO models;
UPDATE messages SET model_id =
    (SELECT k.model_id FROM kept_message_models k WHERE k.id = messages.id)
    WHERE id IN (SELECT id FROM kept_message_models);
UPDATE adapters SET model_id =
    (SELECT k.model_id FROM kept_adapter_models k WHERE k.id = adapters.id)
    WHERE id IN (SELECT id FROM kept_adapter_models);
DROP TABLE kept_message_models;
DROP TABLE kept_adapter_models;
"#;

/// A card edited in the app keeps its earlier versions: each save adds the card as saved (the first
/// save also the card as it was before), numbered per persona. The persona row holds the newest.
const CARD_REVISIONS: &str = r#"
CREATE TABLE card_revisions (
    id         INTEGER PRIMARY KEY,
    persona_id INTEGER NOT NULL REFERENCES personas(id) ON DELETE CASCADE,
    revision   INTEGER NOT NULL CHECK (revision >= 1),
    card       TEXT NOT NULL CHECK (json_valid(card)),
    created_at INTEGER NOT NULL,
    UNIQUE (persona_id, revision)
);
"#;

/// The user's own personas (who `{{user}}` is in prompts): each chat may name one; otherwise the one
/// the app settings name as the default is used. Deleting one leaves its chats on the default.
const USER_PERSONAS: &str = r#"
CREATE TABLE user_personas (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL CHECK (length(trim(name)) > 0),
    description TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
ALTER TABLE chats ADD COLUMN user_persona_id INTEGER REFERENCES user_personas(id) ON DELETE SET NULL;
"#;

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;
    use crate::{MessageSource, Role, Store, APPLICATION_ID};

    /// A database as schema 1 left it: a persona, a chat of three messages written with V1's own INSERTs.
    fn version_1_database(path: &std::path::Path) {
        let conn = Connection::open(path).unwrap();
        conn.execute_batch(V1).unwrap();
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute_batch(
            "INSERT INTO personas (id, slug, name, card_json, source, created_at, updated_at) \
               VALUES (1, 'aoi', 'Aoi', '{}', 'imported', 1, 1);
             INSERT INTO chats (id, persona_id, title, created_at, updated_at) VALUES (7, 1, 'Old chat', 1, 5);
             INSERT INTO messages (chat_id, seq, role, content, source, style_overall, ooc_flags, created_at)
               VALUES (7, 0, 'assistant', 'Hello.', 'greeting', NULL, NULL, 2),
                      (7, 1, 'user', 'Hi!', 'user', NULL, NULL, 3),
                      (7, 2, 'assistant', 'Hmph.', 'script', 0.5, '[]', 4);",
        )
        .unwrap();
    }

    #[test]
    fn the_message_alternatives_migration_keeps_the_chats_of_a_version_1_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.db");
        version_1_database(&path);
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
        assert!(store.integrity_ok().unwrap());
        assert_eq!(store.chat(7).unwrap().title, "Old chat");
        let messages = store.messages(7).unwrap();
        let texts: Vec<&str> = messages
            .iter()
            .map(|m| m.message.content.as_str())
            .collect();
        assert_eq!(texts, ["Hello.", "Hi!", "Hmph."]);
        assert_eq!(messages[2].message.source, MessageSource::Script);
        assert_eq!(messages[2].message.style.overall, Some(0.5));
        assert_eq!(messages[1].message.role, Role::User);
        for m in &messages {
            assert_eq!((m.alt_index, m.alt_count, m.edited_at), (0, 1, None));
        }
        // The old chat takes swipes like a new one.
        let swiped = store
            .add_alternative(messages[2].id, &messages[2].message, true)
            .unwrap();
        assert_eq!((swiped.alt_index, swiped.alt_count), (1, 2));
    }

    #[test]
    fn the_adapter_recipes_migration_keeps_the_messages_and_choices_that_point_at_adapters() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.db");
        version_1_database(&path);
        {
            let conn = Connection::open(&path).unwrap();
            for m in &MIGRATIONS[1..4] {
                conn.execute_batch(m).unwrap();
            }
            conn.pragma_update(None, "user_version", 4).unwrap();
            conn.execute_batch(
                "PRAGMA foreign_keys = ON;
                 INSERT INTO adapters (id, persona_id, path, variant, rank, alpha, created_at)
                   VALUES (3, 1, '/a/3', 'cot', 8, 16.0, 1);
                 UPDATE messages SET adapter_id = 3 WHERE seq = 2;
                 UPDATE personas SET chat_adapter = 'chosen', chat_adapter_id = 3 WHERE id = 1;",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
        assert!(store.integrity_ok().unwrap());
        let messages = store.messages(7).unwrap();
        assert_eq!(messages[2].message.adapter_id, Some(3));
        assert_eq!(
            store.chat_adapter(1).unwrap(),
            crate::AdapterChoice::Adapter(3)
        );
        assert_eq!(store.adapters(1).unwrap()[0].adapter.variant, "cot");
        let fk_errors: i64 = store
            .conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(fk_errors, 0);
    }

    #[test]
    fn the_remote_models_migration_keeps_the_messages_and_adapters_that_point_at_models() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.db");
        version_1_database(&path);
        let last = MIGRATIONS.len() - 1;
        {
            let conn = Connection::open(&path).unwrap();
            for m in &MIGRATIONS[1..last] {
                conn.execute_batch(m).unwrap();
            }
            conn.pragma_update(None, "user_version", last as i64)
                .unwrap();
            conn.execute_batch(
                "PRAGMA foreign_keys = ON;
                 INSERT INTO models (id, name, path, format, architecture, size_bytes, installed_at)
                   VALUES (5, 'smol', '/m/smol.gguf', 'gguf', 'llama', 1, 1);
                 INSERT INTO adapters (id, persona_id, model_id, path, variant, rank, alpha, created_at)
                   VALUES (3, 1, 5, '/a/3', 'vanilla', 8, 16.0, 1);
                 UPDATE messages SET model_id = 5 WHERE seq = 2;",
            )
            .unwrap();
        }
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
        assert!(store.integrity_ok().unwrap());
        assert_eq!(store.messages(7).unwrap()[2].message.model_id, Some(5));
        let adapter_model: Option<i64> = store
            .conn
            .query_row("SELECT model_id FROM adapters WHERE id = 3", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(adapter_model, Some(5));
        let remote = crate::NewModel {
            name: "qwen3:8b".into(),
            path: "http://127.0.0.1:11434/v1/chat/completions#qwen3:8b".into(),
            format: "remote".into(),
            architecture: "remote".into(),
            quantization: None,
            size_bytes: 0,
            sha256: None,
        };
        assert!(store.upsert_model(&remote).unwrap() > 5);
    }
}
