//! Typed repositories, one per aggregate. Writes that span tables run in one transaction.

/// Maps a Rust enum to the TEXT values of a CHECK-constrained column and back.
macro_rules! text_enum {
    ($ty:ty, $column:literal, { $($variant:path => $text:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $($variant => $text),+ }
            }
            fn parse(s: &str) -> Result<Self> {
                match s {
                    $($text => Ok($variant),)+
                    other => Err(Error::InvalidColumn { column: $column, detail: other.to_string() }),
                }
            }
        }
    };
}

pub mod adapters;
pub mod alternatives;
pub mod card_revisions;
pub mod chat_edits;
pub mod chats;
pub mod jobs;
pub mod models;
pub mod personas;
pub mod profiles;
pub mod script_lines;
pub mod settings;
pub mod user_personas;

use crate::{Error, Result};

/// Parses a JSON column, naming the column when the stored text is not what we wrote.
pub(crate) fn json_column<T: serde::de::DeserializeOwned>(
    column: &'static str,
    text: &str,
) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::InvalidColumn {
        column,
        detail: e.to_string(),
    })
}
