//! kotodama-style: text -> `StyleProfile` (lexical signatures, syntactic patterns, pragmatic
//! traits), scoring and style plans. Pure: no file IO; bundled assets are embedded.

pub mod background;
pub mod baseline;
mod catchphrases;
pub mod cjk_patterns;
pub mod doc;
pub mod error;
pub mod eval;
pub mod grammar;
pub mod lexical;
mod lexicons;
pub mod model;
pub mod neutralize;
pub mod overuse;
pub mod parser;
pub mod plan;
pub mod pragmatics;
pub mod probes;
pub mod profile;
pub mod resources;
pub mod scenes;
pub mod scoring;
pub mod segment;
pub mod segment_eval;
pub mod syntax;
pub mod tagger;
pub mod tags;
#[cfg(test)]
mod test_data;
pub mod text;
pub mod tree;
pub mod treebank;
pub mod upos;
pub mod word_roles;
pub mod wordnet;

pub use error::{Error, Result};
pub use lexical::{LexicalSignature, SignatureKind};
pub use neutralize::neutralize;
pub use overuse::catchphrase_overuse;
pub use plan::{plan, StylePlan};
pub use pragmatics::{PragmaticTraits, Trait};
pub use profile::{analyze, analyze_speaker, StyleProfile};
pub use resources::Resources;
pub use scoring::{attribute, score, score_prepared, OocFlag, StyleScore};
pub use syntax::{ParseStats, RuleStat};
