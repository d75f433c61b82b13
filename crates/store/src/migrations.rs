//! Versioned schema. Migration `i` moves the database from `user_version = i` to `i + 1`; each runs in
//! its own transaction, so a failed migration leaves the previous version intact.

pub const MIGRATIONS: &[&str] = &[V1, CHAT_ADAPTER];

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
