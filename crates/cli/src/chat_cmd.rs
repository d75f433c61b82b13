//! `kotodama chats ...`: stored chats from the terminal: list, open, talk, and change them (regenerate,
//! swipe, edit, delete, branch) with the same core calls as the app.

use std::io::Write;

use anyhow::Result;
use kotodama::runtime::{ChatEvent, SentReply};
use kotodama::ChatView;
use kotodama::{ChatSettings, GuardAction, MessageView};

use crate::open_runtime;

#[derive(clap::Subcommand, Debug)]
pub enum ChatsCommand {
    /// The persona's chats, most recently active first.
    List {
        /// Persona id or slug.
        persona: String,
    },
    /// Start a new chat with the persona (opened by its greeting).
    New { persona: String },
    /// Print a chat: each message with its id and, when it has several, which alternative is chosen.
    Show { chat: i64 },
    /// Send a message and stream the reply (the installed chat model, else a line of the script).
    Say { chat: i64, text: String },
    /// Write another alternative of the last reply and choose it.
    Regenerate { chat: i64 },
    /// Choose alternative INDEX (from 1, as shown) of a message.
    Swipe { message: i64, index: i64 },
    /// Replace a message's text; the messages after it stay.
    Edit { message: i64, text: String },
    /// Delete this one message (with its alternatives); the messages after it stay.
    Delete { message: i64 },
    /// Start a new chat from the conversation up to and including this message.
    Branch { message: i64 },
    /// Show the persona's chat settings (sampler, out-of-character guard); options change them.
    Settings {
        persona: String,
        #[arg(long)]
        temperature: Option<f32>,
        #[arg(long)]
        top_p: Option<f32>,
        #[arg(long)]
        min_p: Option<f32>,
        #[arg(long)]
        repetition_penalty: Option<f32>,
        /// What a reply caught out of character gets: another attempt, a rewrite in character, nothing.
        #[arg(long, value_enum)]
        guard: Option<GuardChoice>,
        /// Replies written per message at most, the first included.
        #[arg(long)]
        attempts: Option<u32>,
        /// Style score (0..1) below which a reply is caught, or `auto` (from the persona's script).
        #[arg(long)]
        threshold: Option<String>,
        /// The longest reply, in tokens.
        #[arg(long)]
        max_reply_tokens: Option<u32>,
        /// A string that ends a reply (repeat for several; `\n` is a new line, `{{user}}` your name);
        /// replaces the stored ones.
        #[arg(long = "stop")]
        stop: Vec<String>,
        /// Forget the stored stop strings.
        #[arg(long, conflicts_with = "stop")]
        no_stop: bool,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum GuardChoice {
    Regenerate,
    Rewrite,
    Off,
}

impl From<GuardChoice> for GuardAction {
    fn from(c: GuardChoice) -> Self {
        match c {
            GuardChoice::Regenerate => GuardAction::Regenerate,
            GuardChoice::Rewrite => GuardAction::Rewrite,
            GuardChoice::Off => GuardAction::Off,
        }
    }
}

pub fn run(command: ChatsCommand) -> Result<()> {
    let rt = open_runtime()?;
    // A reply runs through the runtime, exactly as the window's does; the rest is one core call.
    match command {
        ChatsCommand::Say { chat, text } => {
            return print_reply(rt.send(chat, &text, &mut print_event)?)
        }
        ChatsCommand::Regenerate { chat } => {
            return print_reply(rt.regenerate(chat, &mut print_event)?)
        }
        _ => {}
    }
    let mut core = rt.lock_core()?;
    match command {
        ChatsCommand::Say { .. } | ChatsCommand::Regenerate { .. } => {
            unreachable!("answered above")
        }
        ChatsCommand::List { persona } => {
            let persona = core.find_persona(&persona)?;
            for chat in core.chats(persona.id)? {
                println!("chat {:>4}  {}", chat.id, chat.title);
            }
        }
        ChatsCommand::New { persona } => {
            let persona = core.find_persona(&persona)?;
            print_chat(&core.new_chat(persona.id)?);
        }
        ChatsCommand::Show { chat } => print_chat(&core.chat(chat)?),
        ChatsCommand::Swipe { message, index } => {
            print_message(&core.choose_alternative(message, index - 1)?);
        }
        ChatsCommand::Edit { message, text } => print_message(&core.edit_message(message, &text)?),
        ChatsCommand::Delete { message } => print_chat(&core.delete_message(message)?),
        ChatsCommand::Branch { message } => print_chat(&core.branch_chat(message)?),
        ChatsCommand::Settings {
            persona,
            temperature,
            top_p,
            min_p,
            repetition_penalty,
            guard,
            attempts,
            threshold,
            max_reply_tokens,
            stop,
            no_stop,
        } => {
            let persona = core.find_persona(&persona)?.id;
            let mut s: ChatSettings = core.chat_settings(persona)?;
            s.temperature = temperature.unwrap_or(s.temperature);
            s.top_p = top_p.unwrap_or(s.top_p);
            s.min_p = min_p.unwrap_or(s.min_p);
            s.repetition_penalty = repetition_penalty.unwrap_or(s.repetition_penalty);
            s.guard.action = guard.map_or(s.guard.action, GuardAction::from);
            s.guard.attempts = attempts.unwrap_or(s.guard.attempts);
            s.max_reply_tokens = max_reply_tokens.unwrap_or(s.max_reply_tokens);
            if no_stop || !stop.is_empty() {
                s.stop_strings = stop.iter().map(|t| t.replace("\\n", "\n")).collect();
            }
            if let Some(t) = threshold {
                s.guard.threshold = match t.as_str() {
                    "auto" => None,
                    number => Some(number.parse().map_err(|_| {
                        anyhow::anyhow!("--threshold takes a number from 0 to 1 or `auto`")
                    })?),
                };
            }
            core.set_chat_settings(persona, &s)?;
            println!("{}", serde_json::to_string_pretty(&s)?);
        }
    }
    Ok(())
}

/// The reply's pieces to stdout as they come; a caught attempt is said on stderr.
fn print_event(event: ChatEvent) {
    let mut stdout = std::io::stdout().lock();
    match event {
        ChatEvent::UserMessage { .. } => {}
        ChatEvent::Piece { text } => {
            let _ = write!(stdout, "{text}").and_then(|_| stdout.flush());
        }
        ChatEvent::Retry { attempt, of, cause } => {
            let _ = writeln!(stdout);
            eprintln!("[caught out of character ({cause}); attempt {attempt} of {of}]");
        }
    }
}

fn print_reply(sent: SentReply) -> Result<()> {
    println!();
    if let Some(stored) = sent.reply {
        eprintln!("[stored as message {}{}]", stored.id, alternative(&stored));
    }
    Ok(())
}

fn print_chat(view: &ChatView) {
    println!(
        "chat {} \"{}\" with {}",
        view.chat.id, view.chat.title, view.persona.name
    );
    for m in &view.messages {
        print_message(m);
    }
}

fn print_message(m: &MessageView) {
    let edited = if m.edited_at.is_some() {
        " (edited)"
    } else {
        ""
    };
    println!(
        "#{:<5} {:?}{}{edited}: {}",
        m.id,
        m.role,
        alternative(m),
        m.content
    );
}

/// " [2/3]" for a message with alternatives, "" otherwise.
fn alternative(m: &MessageView) -> String {
    if m.alt_count > 1 {
        format!(" [{}/{}]", m.alt_index + 1, m.alt_count)
    } else {
        String::new()
    }
}
