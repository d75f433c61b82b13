//! Personas from files and back: preview a script's speakers, import a script or a card, add lines to a
//! persona, export a card, delete a persona. Every import writes card + lines + profile in one transaction.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::analysis::{analyze_lines, analyze_persona, to_new_profile};
use kotodama_store::{NewPersona, NewProfile, NewScriptLine, PersonaSource, ProfileRecord, Store};
use serde::Serialize;

use super::CardFields;
use crate::cards::{self, CardFormat, Lorebook};
use crate::import::{normalize_speaker, parse_script, ParseOptions, Script, ScriptFormat};
use crate::{Error, Kotodama, Result};

/// Script and card files are read whole; a file past this is refused before reading (memory stays bounded).
const MAX_IMPORT_BYTES: u64 = 64 << 20;
/// Sample lines per speaker shown by the import wizard.
const SAMPLE_LINES: usize = 3;

/// A script file as the import wizard shows it before anything is stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ScriptPreview {
    pub format: ScriptFormat,
    pub encoding: &'static str,
    pub speakers: Vec<SpeakerSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SpeakerSummary {
    pub name: String,
    pub line_count: usize,
    /// Lines that repeat an earlier one of the speaker's word for word: left out of the persona.
    pub repeated_lines: usize,
    pub sample_lines: Vec<String>,
}

/// Fewest distinct lines a persona is made from (a hundred make a rough profile; the wizard says so).
pub const MIN_DISTINCT_LINES: usize = 2;

/// The lines without those that repeat an earlier one word for word (a subtitle file's duplicated
/// cues, a pasted block), and how many were left out: a repeated line would weigh its words as habits.
fn distinct_lines(lines: Vec<NewScriptLine>) -> (Vec<NewScriptLine>, usize) {
    let mut seen = std::collections::HashSet::new();
    let total = lines.len();
    let kept: Vec<NewScriptLine> = lines
        .into_iter()
        .filter(|l| seen.insert(l.text.trim().to_string()))
        .collect();
    let repeated = total - kept.len();
    (kept, repeated)
}

/// One speaker of a script, analysed.
struct AnalysedScript {
    name: String,
    file: String,
    speaker: String,
    /// Distinct lines (see `distinct_lines`), and how many repeats were left out.
    lines: Vec<NewScriptLine>,
    repeated: usize,
    profile: kotodama_style::StyleProfile,
}

impl AnalysedScript {
    fn draft(&self) -> CardFields {
        let res = crate::analysis::style_resources().expect("the profile was built with them");
        super::draft::draft_card(&self.name, &self.file, &self.lines, &self.profile, res)
    }
}

/// What to import from a script file.
#[derive(Debug, Clone, Default)]
pub struct ScriptImport {
    /// The character to build the persona from; may be left out when the script has one speaker.
    pub speaker: Option<String>,
    /// Other names of the same character, merged into `speaker` (e.g. "BEN" for "OBI-WAN").
    pub aliases: Vec<String>,
    /// The persona's display name (default: the speaker's name, capitalized).
    pub name: Option<String>,
    /// The card as the user edited it (`Kotodama::draft_script_card` drafts one); None: the draft.
    pub card: Option<CardFields>,
    pub parse: ParseOptions,
}

/// Where an import is, for the wizard's progress display.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "phase", rename_all = "camelCase")]
pub enum ImportPhase {
    /// Decoding and parsing the file.
    Reading,
    /// Building the style profile of `lines` lines of `speaker`.
    Analyzing { speaker: String, lines: usize },
    /// Writing card, lines and profile in one transaction.
    Storing,
}

/// Any importable file as the wizard shows it before anything is stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum FilePreview {
    #[serde(rename_all = "camelCase")]
    Card {
        name: String,
        tagline: String,
        has_avatar: bool,
        lorebook_entries: usize,
        /// The card carries a style profile exported by Kotodama.
        has_profile: bool,
    },
    Script(ScriptPreview),
}

/// What `import_file` made of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ImportedFrom {
    /// `repeated` lines were left out as word-for-word repeats.
    Script {
        repeated: usize,
    },
    Card,
}

impl Kotodama {
    /// The detected format, encoding and speakers (with line counts and samples) of a script file.
    pub fn speakers(&self, path: &Path, options: &ParseOptions) -> Result<ScriptPreview> {
        preview_script(
            &read_limited(path, MAX_IMPORT_BYTES)?,
            &path.display().to_string(),
            options,
        )
    }

    /// Imports a card file, or else a script file, and returns the new persona's id.
    pub fn import_file(
        &mut self,
        path: &Path,
        request: &ScriptImport,
    ) -> Result<(i64, ImportedFrom)> {
        let bytes = read_limited(path, MAX_IMPORT_BYTES)?;
        self.import_bytes(&bytes, &path.display().to_string(), request, &mut |_| {})
    }

    /// Imports a card, or else a script, from a file's bytes (`file` names it), reporting each phase.
    pub fn import_bytes(
        &mut self,
        bytes: &[u8],
        file: &str,
        request: &ScriptImport,
        on_phase: &mut dyn FnMut(ImportPhase),
    ) -> Result<(i64, ImportedFrom)> {
        check_size(bytes.len() as u64, file)?;
        if request.parse.format.is_none() && cards::is_card_file(bytes) {
            on_phase(ImportPhase::Storing);
            Ok((self.import_card_bytes(bytes, file)?, ImportedFrom::Card))
        } else {
            let (id, repeated) =
                self.import_script_with_progress(bytes, file, request, on_phase)?;
            Ok((id, ImportedFrom::Script { repeated }))
        }
    }

    /// Creates a persona from one speaker of a script file.
    pub fn import_script(&mut self, path: &Path, request: &ScriptImport) -> Result<i64> {
        let bytes = read_limited(path, MAX_IMPORT_BYTES)?;
        self.import_script_bytes(&bytes, &path.display().to_string(), request)
    }

    pub fn import_script_bytes(
        &mut self,
        bytes: &[u8],
        file: &str,
        request: &ScriptImport,
    ) -> Result<i64> {
        Ok(self
            .import_script_with_progress(bytes, file, request, &mut |_| {})?
            .0)
    }

    fn import_script_with_progress(
        &mut self,
        bytes: &[u8],
        file: &str,
        request: &ScriptImport,
        on_phase: &mut dyn FnMut(ImportPhase),
    ) -> Result<(i64, usize)> {
        on_phase(ImportPhase::Reading);
        let analysed = self.analyse_script(bytes, file, request, on_phase)?;
        on_phase(ImportPhase::Storing);
        let fields = match &request.card {
            Some(edited) => edited.clone().checked()?,
            None => analysed.draft(),
        };
        let blank = NewPersona {
            slug: self.unique_slug(&fields.name)?,
            name: String::new(),
            tagline: String::new(),
            description: String::new(),
            personality: String::new(),
            scenario: String::new(),
            first_message: String::new(),
            example_dialogue: String::new(),
            system_prompt: String::new(),
            post_history_instructions: String::new(),
            creator_notes: String::new(),
            alternate_greetings: Vec::new(),
            tags: Vec::new(),
            card_json: serde_json::json!({}),
            speaker: Some(analysed.speaker.clone()),
            source: PersonaSource::Imported,
        };
        let card = fields.into_card(blank);
        let profile = to_new_profile(&analysed.profile)?;
        let id = self
            .store
            .insert_persona(&card, &analysed.lines, Some(&profile))?;
        Ok((id, analysed.repeated))
    }

    /// The card a script import would make for `request`'s speaker, for the user to edit before
    /// Create (see `ScriptImport::card`).
    pub fn draft_script_card(
        &mut self,
        bytes: &[u8],
        file: &str,
        request: &ScriptImport,
    ) -> Result<CardFields> {
        check_size(bytes.len() as u64, file)?;
        Ok(self
            .analyse_script(bytes, file, request, &mut |_| {})?
            .draft())
    }

    /// Parses the script, picks the speaker and builds their style profile.
    fn analyse_script(
        &self,
        bytes: &[u8],
        file: &str,
        request: &ScriptImport,
        on_phase: &mut dyn FnMut(ImportPhase),
    ) -> Result<AnalysedScript> {
        let mut script = parse_script(bytes, file, &request.parse)?.script;
        let speaker = choose_speaker(&mut script, request.speaker.as_deref(), &request.aliases)?;
        let (lines, repeated) = distinct_lines(script.lines_of(&speaker));
        if lines.len() < MIN_DISTINCT_LINES {
            return Err(Error::InvalidInput(format!(
                "{speaker} has {} distinct line{} ({repeated} more repeat earlier ones word for word): \
                 a persona needs at least {MIN_DISTINCT_LINES}",
                lines.len(),
                if lines.len() == 1 { "" } else { "s" },
            )));
        }
        on_phase(ImportPhase::Analyzing {
            speaker: speaker.clone(),
            lines: lines.len(),
        });
        let profile = analyze_lines(&lines, &script.texts_of_others(&speaker), Some(&speaker))?;
        Ok(AnalysedScript {
            name: request
                .name
                .clone()
                .unwrap_or_else(|| display_name(&speaker)),
            file: file_name(file).to_string(),
            speaker,
            lines,
            repeated,
            profile,
        })
    }

    /// Creates a persona from a Character Card (PNG/APNG, CharX or JSON). A profile exported by Kotodama
    /// comes back as the persona's first profile; the image becomes its avatar.
    pub fn import_card(&mut self, path: &Path) -> Result<i64> {
        let bytes = read_limited(path, MAX_IMPORT_BYTES)?;
        self.import_card_bytes(&bytes, &path.display().to_string())
    }

    pub fn import_card_bytes(&mut self, bytes: &[u8], file: &str) -> Result<i64> {
        let content = cards::read_card_bytes(bytes, file)?;
        let read =
            cards::read_card(content.card, "", PersonaSource::Imported).map_err(|e| match e {
                Error::Card(detail) => Error::Card(format!("{file}: {detail}")),
                other => other,
            })?;
        let mut persona = read.persona;
        persona.slug = self.unique_slug(&persona.name)?;
        let avatar = self.avatar_path(&persona.slug);
        if let Some(png) = &content.avatar_png {
            crate::fsutil::write_atomically(&avatar, png)?;
        }
        self.store
            .insert_persona(&persona, &[], read.profile.as_ref())
            .inspect_err(|_| {
                let _ = std::fs::remove_file(&avatar); // the persona was not stored: neither is its avatar
            })
            .map_err(Error::from)
    }

    /// Adds more of a speaker's lines to a persona and stores the profile over all its lines as a new
    /// version (older versions stay). `speaker` defaults to the persona's own.
    pub fn reimport_lines(
        &mut self,
        persona_id: i64,
        path: &Path,
        speaker: Option<&str>,
        options: &ParseOptions,
    ) -> Result<ProfileRecord> {
        let persona = self.store.persona(persona_id)?;
        let file = path.display().to_string();
        let mut script =
            parse_script(&read_limited(path, MAX_IMPORT_BYTES)?, &file, options)?.script;
        let wanted = speaker.map(str::to_string).or(persona.card.speaker);
        let speaker = choose_speaker(&mut script, wanted.as_deref(), &[])?;
        let new_lines = script.lines_of(&speaker);
        let mut all_lines: Vec<NewScriptLine> = self
            .store
            .script_lines(persona_id)?
            .into_iter()
            .map(|l| l.line)
            .collect();
        all_lines.extend(new_lines.iter().cloned());
        let profile = analyze_persona(
            &all_lines,
            &script.texts_of_others(&speaker),
            Some(&speaker),
        )?;
        Ok(self
            .store
            .add_lines_and_profile(persona_id, &new_lines, &profile)?)
    }

    /// Writes the persona as a card to `out`: V3 PNG (avatar + `ccv3` + `chara`), V3 JSON, or a CharX that
    /// carries the newest adapter when one exists. The file appears whole or not at all.
    pub fn export_card(&self, persona_id: i64, format: CardFormat, out: &Path) -> Result<()> {
        let persona = self.store.persona(persona_id)?;
        let profile = self
            .store
            .latest_profile(persona_id)?
            .map(|p| stored_profile(&self.store, p))
            .transpose()?;
        let card = cards::card_v3(&persona.card, profile.as_ref());
        let file = out.display().to_string();
        let bytes = match format {
            CardFormat::Json => cards::card_json_bytes(&card),
            CardFormat::Png => cards::card_png(&card, &self.avatar(&persona.card)?, &file)?,
            CardFormat::Charx => cards::card_charx(
                &card,
                &self.avatar(&persona.card)?,
                &self.adapter_files(persona_id)?,
                &file,
            )?,
        };
        crate::fsutil::write_atomically(out, &bytes)
    }

    /// Deletes a persona with its lines, profiles, chats, adapters (database rows) and avatar.
    pub fn delete_persona(&mut self, persona_id: i64) -> Result<()> {
        let slug = self.store.persona(persona_id)?.card.slug;
        self.store.delete_persona(persona_id)?;
        match std::fs::remove_file(self.avatar_path(&slug)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(io_error(&self.avatar_path(&slug), e))
            }
            _ => Ok(()),
        }
    }

    /// The lorebook kept in the persona's card.
    pub fn lorebook(&self, persona_id: i64) -> Result<Lorebook> {
        let card = self.store.persona(persona_id)?.card.card_json;
        cards::lorebook(card.get("data").unwrap_or(&card))
    }

    pub(crate) fn avatar_path(&self, slug: &str) -> PathBuf {
        self.home.root().join("avatars").join(format!("{slug}.png"))
    }

    /// The persona's avatar, or a plain tile coloured after its name.
    fn avatar(&self, persona: &NewPersona) -> Result<Vec<u8>> {
        if let Some(bytes) = self.stored_avatar(&persona.slug)? {
            return Ok(bytes);
        }
        let hash = persona
            .name
            .bytes()
            .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
        let [r, g, b, _] = hash.to_le_bytes();
        Ok(cards::png::solid_png(
            256,
            256,
            [r | 0x40, g | 0x40, b | 0x40],
        ))
    }

    /// The image file of the persona `slug`, if it has one.
    pub(crate) fn stored_avatar(&self, slug: &str) -> Result<Option<Vec<u8>>> {
        let path = self.avatar_path(slug);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(&path, e)),
        }
    }

    /// The files of the persona's newest adapter (PEFT folder), as (name, bytes).
    fn adapter_files(&self, persona_id: i64) -> Result<Vec<(String, Vec<u8>)>> {
        let Some(adapter) = self.store.adapters(persona_id)?.into_iter().next() else {
            return Ok(Vec::new());
        };
        let dir = PathBuf::from(&adapter.adapter.path);
        let mut files = Vec::new();
        for name in ["adapter_config.json", "adapter_model.safetensors"] {
            let path = dir.join(name);
            files.push((
                name.to_string(),
                std::fs::read(&path).map_err(|e| io_error(&path, e))?,
            ));
        }
        Ok(files)
    }

    /// A URL-safe slug for `name` that no persona uses yet.
    fn unique_slug(&self, name: &str) -> Result<String> {
        let base: String = name
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        let base = if base.is_empty() {
            "persona".to_string()
        } else {
            base.chars().take(60).collect()
        };
        let mut slug = base.clone();
        for n in 2.. {
            if self.store.persona_by_slug(&slug)?.is_none() {
                break;
            }
            slug = format!("{base}-{n}");
        }
        Ok(slug)
    }
}

/// A stored profile with all its ranked rows, as the `NewProfile` an export embeds.
fn stored_profile(store: &Store, record: ProfileRecord) -> Result<NewProfile> {
    Ok(NewProfile {
        lexical: store.lexical_signatures(record.id, i64::MAX)?,
        rules: store.grammar_rules(record.id, i64::MAX)?,
        traits: store.pragmatic_traits(record.id)?,
        schema_version: record.schema_version,
        line_count: record.line_count,
        token_count: record.token_count,
        profile_json: record.profile_json,
    })
}

/// A card's name and contents, or a script's format and speakers; nothing is stored.
pub fn preview_file(bytes: &[u8], file: &str) -> Result<FilePreview> {
    check_size(bytes.len() as u64, file)?;
    if !cards::is_card_file(bytes) {
        return Ok(FilePreview::Script(preview_script(
            bytes,
            file,
            &ParseOptions::default(),
        )?));
    }
    let content = cards::read_card_bytes(bytes, file)?;
    let lorebook_entries = cards::lorebook(content.card.get("data").unwrap_or(&content.card))
        .map(|book| book.entries.len())
        .unwrap_or(0);
    let read = cards::read_card(content.card, "", PersonaSource::Imported)?;
    Ok(FilePreview::Card {
        name: read.persona.name,
        tagline: read.persona.tagline,
        has_avatar: content.avatar_png.is_some(),
        lorebook_entries,
        has_profile: read.profile.is_some(),
    })
}

pub fn preview_script(bytes: &[u8], file: &str, options: &ParseOptions) -> Result<ScriptPreview> {
    let parsed = parse_script(bytes, file, options)?;
    let mut samples: HashMap<&str, Vec<String>> = HashMap::new();
    let mut said: HashMap<&str, std::collections::HashSet<&str>> = HashMap::new();
    for turn in parsed.script.turns.iter().filter(|t| !t.text.is_empty()) {
        said.entry(&turn.speaker)
            .or_default()
            .insert(turn.text.trim());
        let lines = samples.entry(&turn.speaker).or_default();
        if lines.len() < SAMPLE_LINES {
            lines.push(turn.text.clone());
        }
    }
    let speakers = parsed
        .script
        .speakers()
        .into_iter()
        .map(|(name, line_count)| SpeakerSummary {
            sample_lines: samples.remove(name.as_str()).unwrap_or_default(),
            repeated_lines: line_count - said.get(name.as_str()).map_or(0, |s| s.len()),
            name,
            line_count,
        })
        .collect();
    Ok(ScriptPreview {
        format: parsed.format,
        encoding: parsed.encoding,
        speakers,
    })
}

/// The normalized speaker to import (merging its aliases), or an error listing the speakers.
fn choose_speaker(script: &mut Script, wanted: Option<&str>, aliases: &[String]) -> Result<String> {
    let listing = |script: &Script| {
        script
            .speakers()
            .iter()
            .map(|(s, n)| format!("{s} ({n})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let speaker = match wanted {
        Some(wanted) => normalize_speaker(wanted).unwrap_or_else(|| wanted.to_string()),
        None => match script.speakers().as_slice() {
            [(only, _)] => only.clone(),
            _ => {
                return Err(Error::SpeakerRequired {
                    available: listing(script),
                })
            }
        },
    };
    script.merge_aliases(&speaker, aliases);
    if script.lines_of(&speaker).is_empty() {
        return Err(Error::SpeakerNotFound {
            speaker,
            available: listing(script),
        });
    }
    Ok(speaker)
}

/// "OBI-WAN KENOBI" -> "Obi-Wan Kenobi".
fn display_name(speaker: &str) -> String {
    let mut out = String::with_capacity(speaker.len());
    let mut word_start = true;
    for c in speaker.chars() {
        if word_start {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        word_start = !c.is_alphanumeric() && c != '\'';
    }
    out
}

fn file_name(file: &str) -> &str {
    file.rsplit(['/', '\\']).next().unwrap_or(file)
}

/// Bytes already in memory (uploaded by the app) get the same limit as files read from disk.
fn check_size(size: u64, file: &str) -> Result<()> {
    if size > MAX_IMPORT_BYTES {
        return Err(Error::FileTooLarge {
            file: file.to_string(),
            size,
            limit: MAX_IMPORT_BYTES,
        });
    }
    Ok(())
}

/// Reads a whole file, refusing one larger than `limit` without reading it.
fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    let too_large = |size| Error::FileTooLarge {
        file: path.display().to_string(),
        size,
        limit,
    };
    let size = file.metadata().map_err(|e| io_error(path, e))?.len();
    if size > limit {
        return Err(too_large(size));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(path, e))?;
    match bytes.len() as u64 {
        read if read > limit => Err(too_large(read)), // grew while reading, or not a regular file
        _ => Ok(bytes),
    }
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

#[cfg(test)]
#[path = "import_tests.rs"]
mod tests;
