//! API keys of served models, kept in the OS keyring (Secret Service on Linux, with the kernel's
//! keyring as its cache; Keychain on macOS; Credential Manager on Windows), one per server address:
//! never in the database, the settings or the logs.

use crate::{Error, Result};

const SERVICE: &str = "kotodama";

fn entry(url: &str) -> Result<keyring::Entry> {
    keyring::Entry::new(SERVICE, url.trim()).map_err(unavailable)
}

fn unavailable(e: keyring::Error) -> Error {
    Error::Keyring(format!(
        "{e}; on Linux a Secret Service (GNOME Keyring, KWallet) keeps keys across restarts"
    ))
}

/// The key stored for the server at `url`, if any.
pub fn api_key(url: &str) -> Result<Option<String>> {
    match entry(url)?.get_password() {
        Ok(key) => Ok(Some(key)),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(unavailable(e)),
    }
}

/// Stores the key for the server at `url`, or forgets it (None or empty).
pub fn set_api_key(url: &str, key: Option<&str>) -> Result<()> {
    let entry = entry(url)?;
    match key.map(str::trim).filter(|k| !k.is_empty()) {
        Some(key) => entry.set_password(key).map_err(unavailable),
        None => match entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(unavailable(e)),
        },
    }
}
