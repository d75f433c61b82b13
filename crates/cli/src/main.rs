//! The `kotodama` command: the application core without the window. Each subcommand lives in its own
//! module; this file only parses arguments, dispatches, and turns core errors into exit codes.

mod chat_cmd;
mod db_cmd;
mod distill_cmd;
mod engine_cmd;
mod import_cmd;
mod serve_cmd;
mod soak_cmd;
mod style_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kotodama::{Home, Runtime};

#[derive(Parser)]
#[command(
    name = "kotodama",
    version,
    about = "Offline role-play with measured character style"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Where the data lives and what it holds.
    Info,
    #[command(flatten)]
    Style(style_cmd::StyleCommand),
    #[command(flatten)]
    Import(import_cmd::ImportCommand),
    #[command(flatten)]
    Engine(engine_cmd::EngineCommand),
    #[command(flatten)]
    Distill(distill_cmd::DistillCommand),
    /// Stored chats: list, show, talk, regenerate, swipe, edit, delete, branch.
    Chats {
        #[command(subcommand)]
        command: chat_cmd::ChatsCommand,
    },
    /// Serve every persona to OpenAI clients (SillyTavern, the `openai` library) on loopback.
    Serve(serve_cmd::ServeArgs),
    /// The database file: check, back up, restore.
    Db {
        #[command(subcommand)]
        command: db_cmd::DbCommand,
    },
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        what: BenchWhat,
    },
}

#[derive(Subcommand)]
enum BenchWhat {
    #[command(flatten)]
    Style(style_cmd::StyleBench),
    #[command(flatten)]
    Engine(engine_cmd::EngineBench),
    #[command(flatten)]
    Train(distill_cmd::TrainBench),
    /// A long chat in one process (default: 500 turns) with the resident memory as it goes.
    Soak(soak_cmd::SoakArgs),
}

/// Opens the runtime at `$KOTODAMA_HOME` or the OS data folder, first bringing style profiles written
/// by an older analyzer up to date.
pub fn open_runtime() -> kotodama::Result<Runtime> {
    let rt = Runtime::open(Home::resolve().ok_or(kotodama::Error::NoHome)?)?;
    let stale = rt.core(|k| k.stale_profiles())?;
    if stale.is_empty() {
        return Ok(rt);
    }
    // In the foreground, unlike the app: a command is over in seconds, and what it does (a chat, a
    // style score) should already read the current profiles.
    let report = rt.update_profiles(&stale, &mut |p| {
        eprint!(
            "\rupdating style profiles to analyzer version {}: {}/{}",
            kotodama::ANALYZER_VERSION,
            p.done,
            p.total
        );
    })?;
    eprintln!();
    for (s, why) in &report.failed {
        eprintln!(
            "persona {} keeps its profile of analyzer version {}: {why}",
            s.persona_id, s.schema_version
        );
    }
    Ok(rt)
}

fn info() -> anyhow::Result<()> {
    let rt = open_runtime()?;
    let core = rt.lock_core()?;
    println!("data folder: {}", core.home().root().display());
    println!("database:    {}", core.home().database().display());
    for p in core.personas()? {
        println!(
            "persona {:>3}  {:<24} {:>5} lines  {}",
            p.id, p.name, p.line_count, p.tagline
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info => info(),
        Command::Style(c) => style_cmd::run(c),
        Command::Import(c) => import_cmd::run(c),
        Command::Engine(c) => engine_cmd::run(c),
        Command::Distill(c) => distill_cmd::run(c),
        Command::Chats { command } => chat_cmd::run(command),
        Command::Db { command } => db_cmd::run(command),
        Command::Serve(args) => serve_cmd::run(args),
        Command::Bench {
            what: BenchWhat::Style(w),
        } => style_cmd::run_bench(w),
        Command::Bench {
            what: BenchWhat::Engine(w),
        } => engine_cmd::run_bench(w),
        Command::Bench {
            what: BenchWhat::Train(w),
        } => distill_cmd::run_bench(w),
        Command::Bench {
            what: BenchWhat::Soak(w),
        } => soak_cmd::run(w),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match e.downcast_ref::<kotodama::Error>() {
                Some(core) => eprintln!("error [{}]: {core}", core.code()),
                None => eprintln!("error: {e:#}"),
            }
            ExitCode::FAILURE
        }
    }
}
