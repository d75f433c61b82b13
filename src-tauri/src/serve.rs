//! The app's switch for the local OpenAI-compatible server (other apps talk to the personas through
//! this window's runtime): started with the app when the user left it on, and turned on or off from
//! Settings. Loopback only; `kotodama serve` has the token and the other addresses.

use std::sync::{Arc, Mutex};

use kotodama::settings::{LocalServerSettings, LocalServerStatus};
use kotodama_server::{Server, ServerConfig};
use tauri::State;

use crate::commands::{blocking, CommandResult};
use crate::Rt;

/// The running server, if any.
#[derive(Default)]
pub struct LocalServer(Mutex<Option<Server>>);

impl LocalServer {
    /// Starts or stops the server as `settings` say, and reports where it listens or why it could not.
    pub fn apply(&self, rt: &Rt, settings: LocalServerSettings) -> LocalServerStatus {
        let mut running = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // The old one stops first: a new port, or the same one again, must be free.
        running.take();
        let mut status = LocalServerStatus {
            settings,
            url: None,
            error: None,
        };
        if settings.enabled {
            let config = ServerConfig {
                addr: ([127, 0, 0, 1], settings.port).into(),
                ..ServerConfig::default()
            };
            match Server::start(rt.clone(), config) {
                Ok(server) => {
                    status.url = Some(format!("http://{}/v1", server.addr()));
                    *running = Some(server);
                }
                Err(e) => {
                    status.error = Some(format!("port {} could not be used: {e}", settings.port))
                }
            }
        }
        status
    }

    fn status(&self, settings: LocalServerSettings) -> LocalServerStatus {
        let running = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        LocalServerStatus {
            settings,
            url: running.as_ref().map(|s| format!("http://{}/v1", s.addr())),
            error: None,
        }
    }
}

/// The state the commands receive.
pub type Served = Arc<LocalServer>;

#[tauri::command]
pub fn local_server_status(
    rt: State<'_, Rt>,
    server: State<'_, Served>,
) -> CommandResult<LocalServerStatus> {
    let settings = rt.core(|k| k.local_server())?;
    Ok(server.status(settings))
}

/// Stores the switch and starts or stops the server; off the main thread, since stopping waits for
/// the requests in flight.
#[tauri::command]
pub async fn set_local_server(
    rt: State<'_, Rt>,
    server: State<'_, Served>,
    settings: LocalServerSettings,
) -> CommandResult<LocalServerStatus> {
    let (rt, server) = (rt.inner().clone(), server.inner().clone());
    rt.core(|k| k.set_local_server(&settings))?;
    blocking(move || Ok(server.apply(&rt, settings))).await
}
