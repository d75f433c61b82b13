//! `kotodama serve`: the local OpenAI-compatible server, until the process is stopped.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use kotodama_server::{Server, ServerConfig, DEFAULT_ADDR};

#[derive(Args)]
pub struct ServeArgs {
    /// Where to listen. Anything but loopback lets other machines talk to your personas: set a token.
    #[arg(long, default_value = DEFAULT_ADDR)]
    addr: SocketAddr,
    /// Require `Authorization: Bearer TOKEN` on every request.
    #[arg(long, env = "KOTODAMA_SERVE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Chat requests admitted at once (the one written and those waiting); more get HTTP 429.
    #[arg(long, default_value_t = ServerConfig::default().max_requests)]
    max_requests: usize,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let runtime = Arc::new(crate::open_runtime()?);
    let personas = runtime.core(|k| k.personas())?;
    let config = ServerConfig {
        addr: args.addr,
        token: args.token.filter(|t| !t.is_empty()),
        max_requests: args.max_requests,
        ..ServerConfig::default()
    };
    if !config.addr.ip().is_loopback() && config.token.is_none() {
        eprintln!(
            "warning: serving on {} without a token: anyone who reaches it can chat",
            config.addr
        );
    }
    let server = Server::start(Arc::clone(&runtime), config)
        .with_context(|| format!("could not listen on {}", args.addr))?;
    println!(
        "serving {} personas at http://{}/v1 (Ctrl-C stops)",
        personas.len(),
        server.addr()
    );
    for p in &personas {
        println!("  model {:<24} {}", p.slug, p.name);
    }
    // Loads the chat model now rather than on the first request.
    runtime.warm_up();
    loop {
        std::thread::park();
    }
}
