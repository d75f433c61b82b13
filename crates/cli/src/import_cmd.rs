//! `kotodama import | reimport | speakers | export | personas`: argument parsing and printing around the core's
//! import and export (all the work is in `kotodama::Kotodama`).

use std::path::PathBuf;

use anyhow::{Context, Result};
use kotodama::cards::CardFormat;
use kotodama::import::{JsonKeys, ParseOptions, ScriptFormat};
use kotodama::{ImportedFrom, ScriptImport};

use crate::open_runtime;

#[derive(clap::Subcommand, Debug)]
pub enum ImportCommand {
    /// Create a persona from a script (one speaker) or a Character Card (PNG, CharX, JSON).
    Import {
        file: PathBuf,
        /// The character to import (see `kotodama speakers FILE`); optional when the script has one.
        #[arg(long)]
        speaker: Option<String>,
        /// Display name of the persona (default: the speaker's name).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        parse: ParseArgs,
        /// Another name of the same character, merged into --speaker (repeatable), e.g. --alias BEN.
        #[arg(long = "alias")]
        aliases: Vec<String>,
    },
    /// Add more of a character's lines to a persona; its profile gets a new version (the old stays).
    Reimport {
        /// Persona id or slug.
        persona: String,
        file: PathBuf,
        /// The character in FILE (default: the persona's own speaker).
        #[arg(long)]
        speaker: Option<String>,
        #[command(flatten)]
        parse: ParseArgs,
    },
    /// List a script's speakers with their line counts and sample lines.
    Speakers {
        file: PathBuf,
        #[command(flatten)]
        parse: ParseArgs,
        #[arg(long)]
        json: bool,
    },
    /// Write a persona as a Character Card V3.
    Export {
        /// Persona id or slug.
        persona: String,
        #[arg(long, value_parser = parse_card_format)]
        format: CardFormat,
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
    /// List, show or delete personas.
    Personas {
        #[command(subcommand)]
        action: PersonasAction,
    },
    /// A persona's lorebook in and out as SillyTavern World Info JSON.
    Lorebook {
        #[command(subcommand)]
        action: LorebookAction,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum LorebookAction {
    /// Add the entries of a World Info file to the persona's lorebook (a new card revision).
    Import { persona: String, file: PathBuf },
    /// Write the persona's lorebook as a World Info file.
    Export {
        persona: String,
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum PersonasAction {
    List,
    /// Card fields, line count, profile versions and lorebook size of a persona (id or slug).
    Show {
        persona: String,
    },
    Delete {
        persona: String,
    },
}

/// How to read a script; everything is detected when left out.
#[derive(clap::Args, Debug)]
pub struct ParseArgs {
    /// screenplay, film, srt, ass, csv, tsv, json, jsonl or plain.
    #[arg(long, value_parser = parse_script_format)]
    format: Option<ScriptFormat>,
    /// JSON/JSONL key holding the speaker.
    #[arg(long)]
    speaker_key: Option<String>,
    /// JSON/JSONL key holding the line.
    #[arg(long)]
    text_key: Option<String>,
    /// Speaker of a plain one-character file (default: the file name).
    #[arg(long)]
    plain_speaker: Option<String>,
}

impl ParseArgs {
    fn options(self) -> ParseOptions {
        let defaults = JsonKeys::default();
        ParseOptions {
            format: self.format,
            json_keys: JsonKeys {
                speaker: self.speaker_key.map_or(defaults.speaker, |k| vec![k]),
                text: self.text_key.map_or(defaults.text, |k| vec![k]),
            },
            plain_speaker: self.plain_speaker,
        }
    }
}

fn parse_script_format(s: &str) -> Result<ScriptFormat, String> {
    s.parse().map_err(|e: kotodama::Error| e.to_string())
}

fn parse_card_format(s: &str) -> Result<CardFormat, String> {
    s.parse().map_err(|e: kotodama::Error| e.to_string())
}

pub fn run(cmd: ImportCommand) -> Result<()> {
    let rt = open_runtime()?;
    let mut core = rt.lock_core()?;
    match cmd {
        ImportCommand::Import {
            file,
            speaker,
            name,
            parse,
            aliases,
        } => {
            let request = ScriptImport {
                speaker,
                aliases,
                name,
                // The card drafted from the script; `kotodama personas show` prints it.
                card: None,
                parse: parse.options(),
            };
            let (id, from) = core.import_file(&file, &request)?;
            let persona = core.persona(id)?;
            let what = match from {
                ImportedFrom::Script { repeated: 0 } => format!("{} lines", line_count(&core, id)?),
                ImportedFrom::Script { repeated } => format!(
                    "{} lines ({repeated} that repeated an earlier line word for word left out)",
                    line_count(&core, id)?
                ),
                ImportedFrom::Card => "card".to_string(),
            };
            println!(
                "imported persona {id} {} ({}) from {}: {what}",
                persona.card.name,
                persona.card.slug,
                file.display()
            );
        }
        ImportCommand::Reimport {
            persona,
            file,
            speaker,
            parse,
        } => {
            let id = core.find_persona(&persona)?.id;
            let profile = core.reimport_lines(id, &file, speaker.as_deref(), &parse.options())?;
            println!(
                "persona {id}: {} lines, style profile v{}",
                profile.line_count, profile.version
            );
        }
        ImportCommand::Speakers { file, parse, json } => {
            let preview = core.speakers(&file, &parse.options())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&preview)?);
            } else {
                println!(
                    "{} ({}), {} speakers",
                    preview.format.name(),
                    preview.encoding,
                    preview.speakers.len()
                );
                for s in &preview.speakers {
                    println!(
                        "{:>6}  {:<24} {}",
                        s.line_count,
                        s.name,
                        s.sample_lines.first().map_or("", String::as_str)
                    );
                }
            }
        }
        ImportCommand::Export {
            persona,
            format,
            output,
        } => {
            let id = core.find_persona(&persona)?.id;
            core.export_card(id, format, &output)?;
            println!("wrote {}", output.display());
        }
        ImportCommand::Personas { action } => match action {
            PersonasAction::List => {
                for p in core.personas()? {
                    println!(
                        "{:>4}  {:<20} {:<24} {:>6} lines",
                        p.id, p.slug, p.name, p.line_count
                    );
                }
            }
            PersonasAction::Show { persona } => {
                let id = core.find_persona(&persona)?.id;
                let p = core.persona(id)?;
                let summary = serde_json::json!({
                    "id": p.id,
                    "slug": p.card.slug,
                    "name": p.card.name,
                    "tagline": p.card.tagline,
                    "speaker": p.card.speaker,
                    "source": p.card.source,
                    "lineCount": line_count(&core, id)?,
                    "lorebookEntries": core.lorebook(id)?.entries.len(),
                    "description": p.card.description,
                    "firstMessage": p.card.first_message,
                });
                println!("{}", serde_json::to_string_pretty(&summary)?);
            }
            PersonasAction::Delete { persona } => {
                let id = core.find_persona(&persona)?.id;
                core.delete_persona(id)?;
                println!("deleted persona {id}");
            }
        },
        ImportCommand::Lorebook { action } => match action {
            LorebookAction::Import { persona, file } => {
                let id = core.find_persona(&persona)?.id;
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?;
                let book = core.import_world_info(id, &text)?;
                println!("persona {id}: {} lorebook entries", book.entries.len());
            }
            LorebookAction::Export { persona, output } => {
                let id = core.find_persona(&persona)?.id;
                std::fs::write(&output, core.world_info(id)?)
                    .with_context(|| format!("writing {}", output.display()))?;
                println!("wrote {}", output.display());
            }
        },
    }
    Ok(())
}

fn line_count(core: &kotodama::Kotodama, id: i64) -> kotodama::Result<i64> {
    Ok(core
        .personas()?
        .into_iter()
        .find(|p| p.id == id)
        .map_or(0, |p| p.line_count))
}
