//! A served model as the chat backend, end to end over loopback: one Kotodama (with SmolLM2) serves
//! its personas; another, with no model of its own, chooses that server as its chat model and chats
//! through it: streamed pieces, the style meter, the API key, a stop mid-reply, a server that fails.

use std::sync::Arc;

use kotodama::runtime::{ChatEvent, KeyKept};
use kotodama::settings::RemoteModel;
use kotodama::{GuardAction, Home, Runtime};
use kotodama_server::{Server, ServerConfig};

struct Pair {
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    server: Server,
    client: Arc<Runtime>,
    /// The client's chat with its bundled persona Tsubaki.
    chat: i64,
}

fn pair(token: Option<&str>) -> Option<Pair> {
    let Some(gguf) = std::env::var_os("KOTODAMA_SMOLLM2_GGUF") else {
        eprintln!("skipped: KOTODAMA_SMOLLM2_GGUF is not set (`make models` provides it)");
        return None;
    };
    let served_dir = tempfile::tempdir().unwrap();
    let served = Arc::new(Runtime::open(Home::at(served_dir.path())).unwrap());
    let models = served.core(|k| Ok(k.home().models_dir())).unwrap();
    kotodama::models::ModelManager::new(models)
        .add_file("smol", std::path::Path::new(&gguf))
        .unwrap();
    served.set_chat_model("smol").unwrap();
    // Unguarded on the serving side, so that pieces stream as written (a guard holds each attempt
    // back until judged), and greedy, so that the same prompt gets the same reply.
    settle(&served, |_| {});
    let server = Server::start(
        served,
        ServerConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            token: token.map(str::to_string),
            ..ServerConfig::default()
        },
    )
    .unwrap();

    let client_dir = tempfile::tempdir().unwrap();
    let client = Arc::new(Runtime::open(Home::at(client_dir.path())).unwrap());
    let persona = settle(&client, |_| {});
    let chat = client.core(|k| Ok(k.new_chat(persona)?.chat.id)).unwrap();
    Some(Pair {
        _dirs: (served_dir, client_dir),
        server,
        client,
        chat,
    })
}

/// Turns Tsubaki's guard off and her sampler greedy (then `change`s her settings); her id.
fn settle(runtime: &Runtime, change: impl FnOnce(&mut kotodama::ChatSettings)) -> i64 {
    runtime
        .core(|k| {
            let persona = k
                .personas()?
                .into_iter()
                .find(|p| p.slug == "tsubaki")
                .unwrap();
            let mut settings = k.chat_settings(persona.id)?;
            settings.guard.action = GuardAction::Off;
            settings.temperature = 0.0;
            change(&mut settings);
            k.set_chat_settings(persona.id, &settings)?;
            Ok(persona.id)
        })
        .unwrap()
}

impl Pair {
    fn remote(&self) -> RemoteModel {
        RemoteModel {
            url: format!("http://{}/v1", self.server.addr()),
            model: "tsubaki".into(),
            context_tokens: 2048,
        }
    }

    /// Sends `text` in the client's chat: the pieces streamed, and the stored reply or the error.
    fn send(&self, text: &str) -> (Vec<String>, kotodama::Result<kotodama::runtime::SentReply>) {
        let mut pieces = Vec::new();
        let sent = self.client.send(self.chat, text, &mut |e| {
            if let ChatEvent::Piece { text } = e {
                pieces.push(text);
            }
        });
        (pieces, sent)
    }
}

#[test]
fn a_chat_answers_through_a_served_model_streamed_and_metered() {
    let Some(pair) = pair(None) else { return };
    let kept = pair
        .client
        .set_remote_model(Some(pair.remote()), None)
        .unwrap();
    assert_eq!(kept, KeyKept::None);
    let status = pair.client.status().replier.unwrap();
    assert_eq!(status.model.as_deref(), Some("tsubaki"));
    assert_eq!(status.server, Some(pair.remote().url));

    let (pieces, sent) = pair.send("What do you like to drink in the morning?");
    let reply = sent.unwrap().reply.expect("a stored reply");
    assert!(pieces.len() > 3, "streamed in pieces: {pieces:?}");
    assert_eq!(pieces.concat().trim(), reply.content);
    // The client's style meter scores the served reply against its own persona's profile.
    assert!(reply.style.overall.is_some());
    assert!(reply.model_id.is_some(), "the served model is recorded");

    // Back to the local engine: with no model installed there, the script answers.
    pair.client.set_remote_model(None, None).unwrap();
    let (_, sent) = pair.send("And in the evening?");
    let reply = sent.unwrap().reply.unwrap();
    assert_eq!(reply.source, kotodama::MessageSource::Script);
    assert!(pair.client.status().replier.unwrap().server.is_none());
}

#[test]
fn a_server_that_refuses_says_why_and_loses_nothing() {
    let Some(pair) = pair(Some("right-token")) else {
        return;
    };
    pair.client
        .set_remote_model(Some(pair.remote()), None)
        .unwrap();
    let (_, sent) = pair.send("Hello?");
    let err = sent.unwrap_err();
    assert_eq!(err.code(), "REMOTE_MODEL");
    assert!(err.to_string().contains("HTTP 401"), "{err}");
    // The user's message is stored; the chat goes on once the server is reachable as it should be.
    let history = pair.client.core(|k| k.chat(pair.chat)).unwrap().messages;
    assert_eq!(history.last().unwrap().content, "Hello?");

    let wrong_model = RemoteModel {
        model: "nobody".into(),
        ..pair.remote()
    };
    pair.client
        .set_remote_model(Some(wrong_model), Some("right-token"))
        .unwrap();
    let err = pair.client.regenerate(pair.chat, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("no persona \"nobody\""), "{err}");
}

#[test]
fn stopping_a_served_reply_keeps_what_was_written() {
    let Some(pair) = pair(None) else { return };
    pair.client
        .set_remote_model(Some(pair.remote()), None)
        .unwrap();
    let client = Arc::clone(&pair.client);
    let chat = pair.chat;
    let mut pieces = Vec::new();
    let sent = pair
        .client
        .send(
            chat,
            "Count slowly from one to one hundred, one number per line.",
            &mut |e| {
                if let ChatEvent::Piece { text } = e {
                    pieces.push(text);
                    if pieces.len() == 3 {
                        assert!(client.stop(chat).unwrap());
                    }
                }
            },
        )
        .unwrap();
    let reply = sent.reply.expect("what was written is kept");
    assert_eq!(reply.content, pieces.concat().trim());
    assert!(
        pieces.len() < 8,
        "stopped soon after: {} pieces",
        pieces.len()
    );
    assert_eq!(
        sent.stats.unwrap().stop_reason,
        kotodama::StopReason::Cancelled
    );
}

/// The persona's stop strings and reply length travel to the server with the request: a stop string
/// taken from a greedy reply cuts the same reply there, and a short limit cuts it at
/// that many tokens, reported as a length stop.
#[test]
fn stop_strings_and_the_reply_length_reach_the_served_model() {
    let Some(pair) = pair(None) else { return };
    pair.client
        .set_remote_model(Some(pair.remote()), None)
        .unwrap();
    let (_, sent) = pair.send("Tell me about your favourite tea.");
    let whole = sent.unwrap().reply.unwrap().content;
    let words: Vec<&str> = whole.split_whitespace().collect();
    assert!(words.len() > 8, "a reply long enough to cut: {whole:?}");
    // Early in the reply: greedy decoding from a reused cache can part from a fresh one on a near
    // tie many tokens in.
    let stop = format!(" {}", words[4]);
    let cut_at = whole.find(&stop).unwrap();

    settle(&pair.client, |s| s.stop_strings = vec![stop.clone()]);
    let again = pair.client.regenerate(pair.chat, &mut |_| {}).unwrap();
    assert_eq!(again.reply.unwrap().content, whole[..cut_at].trim());

    settle(&pair.client, |s| {
        s.stop_strings.clear();
        s.max_reply_tokens = 16;
    });
    let short = pair.client.regenerate(pair.chat, &mut |_| {}).unwrap();
    let stats = short.stats.unwrap();
    assert_eq!(stats.stop_reason, kotodama::StopReason::MaxTokens);
    assert!(
        stats.generated_tokens <= 16,
        "{} tokens",
        stats.generated_tokens
    );
}
