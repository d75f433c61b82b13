//! `kotodama bench soak`: a long chat in one process, as a user's evening with the app: one runtime,
//! one chat, many turns through `Runtime::send` with the persona's own settings (the guard on). It
//! prints the process's resident memory as it goes, to show that a long session stays flat.

use std::time::Instant;

use anyhow::{bail, Result};
use clap::Args;

use crate::open_runtime;

#[derive(Args)]
pub struct SoakArgs {
    /// Persona id or slug.
    persona: String,
    #[arg(long, default_value_t = 500)]
    turns: usize,
    /// Turns before the baseline is taken (the model loaded, caches and buffers at their working size).
    #[arg(long, default_value_t = 20)]
    warm_up: usize,
    /// Print a line every this many turns.
    #[arg(long, default_value_t = 10)]
    every: usize,
    /// First distil the persona in this process, as the app's worker does (this many steps), and
    /// report the resident memory before, at the peak and after the job.
    #[arg(long)]
    distil_steps: Option<usize>,
}

/// What the user says, in turn: small talk, questions, requests, as a chat has them.
const MESSAGES: &[&str] = &[
    "Hi! How was your day?",
    "What are you working on right now?",
    "Tell me about your friends.",
    "That sounds hard. What did you do next?",
    "Do you ever get tired of it?",
    "What's your favourite food?",
    "I don't believe you.",
    "Can you help me with something?",
    "Why do you say that?",
    "Let's go for a walk.",
    "What are you afraid of?",
    "Sorry, I didn't mean to upset you.",
    "What would you do if you won the lottery?",
    "Tell me a secret.",
    "Who do you trust the most?",
    "Goodnight.",
];

/// Runs a distillation on the runtime's worker thread and prints the memory it took and gave back.
fn distil(rt: &std::sync::Arc<kotodama::Runtime>, persona_id: i64, steps: usize) -> Result<()> {
    let before = resident_bytes().unwrap_or(0);
    let params = kotodama::distill::DistillParams {
        steps: Some(steps),
        ..Default::default()
    };
    rt.start_distill(persona_id, &params)?;
    let mut peak = before;
    let status = loop {
        std::thread::sleep(std::time::Duration::from_millis(200));
        peak = peak.max(resident_bytes().unwrap_or(0));
        match rt.distill_status(persona_id)? {
            Some(s) if s.state != kotodama::runtime::WorkerState::Running => break s,
            _ => {}
        }
    };
    let mb = |b: u64| b as f64 / 1e6;
    println!(
        "{}",
        serde_json::json!({
            "distil": format!("{:?}", status.state).to_lowercase(),
            "steps": steps,
            "beforeMb": mb(before),
            "peakMb": mb(peak),
            "afterMb": mb(resident_bytes().unwrap_or(0)),
        })
    );
    Ok(())
}

/// This process's resident memory now (not its peak), from /proc.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

pub fn run(args: SoakArgs) -> Result<()> {
    if args.turns <= args.warm_up {
        bail!("--turns must exceed --warm-up");
    }
    let rt = std::sync::Arc::new(open_runtime()?);
    let persona = rt.core(|k| k.find_persona(&args.persona))?;
    if let Some(steps) = args.distil_steps {
        distil(&rt, persona.id, steps)?;
    }
    let chat = rt.core(|k| k.new_chat(persona.id))?.chat.id;
    let started = Instant::now();
    let mut baseline = None;
    let mut peak_after_warm_up = 0u64;
    for turn in 1..=args.turns {
        let text = MESSAGES[(turn - 1) % MESSAGES.len()];
        let sent = rt.send(chat, text, &mut |_| {})?;
        let rss = resident_bytes().unwrap_or(0);
        if turn == args.warm_up {
            baseline = Some(rss);
        }
        if turn >= args.warm_up {
            peak_after_warm_up = peak_after_warm_up.max(rss);
        }
        if turn % args.every == 0 || turn == args.turns {
            println!(
                "{}",
                serde_json::json!({
                    "turn": turn,
                    "residentMb": rss as f64 / 1e6,
                    "replyChars": sent.reply.map_or(0, |m| m.content.chars().count()),
                    "promptTokens": sent.stats.as_ref().map(|s| s.prompt_tokens),
                    "reusedTokens": sent.stats.as_ref().map(|s| s.reused_tokens),
                    "seconds": started.elapsed().as_secs_f64(),
                })
            );
        }
    }
    let baseline = baseline.unwrap_or(0).max(1);
    let end = resident_bytes().unwrap_or(0);
    println!(
        "{}",
        serde_json::json!({
            "summary": true,
            "turns": args.turns,
            "baselineMb": baseline as f64 / 1e6,
            "endMb": end as f64 / 1e6,
            "peakAfterWarmUpMb": peak_after_warm_up as f64 / 1e6,
            "growthPercent": 100.0 * (peak_after_warm_up as f64 / baseline as f64 - 1.0),
            "seconds": started.elapsed().as_secs_f64(),
        })
    );
    Ok(())
}
