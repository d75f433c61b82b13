//! The TypeScript declarations of every type the UI receives or sends, generated from the Rust types
//! (ts-rs) into ui/src/lib/bindings.ts. The test fails when that file is stale; run it with
//! `KOTODAMA_WRITE_BINDINGS=1` to rewrite it.

use std::any::TypeId;
use std::collections::{BTreeMap, HashSet};

use ts_rs::{Config, TypeVisitor, TS};

const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ui/src/lib/bindings.ts");

/// Every declared type reachable from the listed ones, by name.
struct Declarations {
    cfg: Config,
    seen: HashSet<TypeId>,
    by_name: BTreeMap<String, String>,
}

impl TypeVisitor for Declarations {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        // Only declared types have an output path; primitives and containers are written inline.
        if T::output_path().is_none() || !self.seen.insert(TypeId::of::<T>()) {
            return;
        }
        let docs = T::docs().unwrap_or_default();
        let decl = format!("{docs}export {}\n", T::decl(&self.cfg));
        // serde_json's Value is reached through several Rust types that declare the same JsonValue.
        let previous = self.by_name.insert(T::ident(&self.cfg), decl.clone());
        assert!(
            previous.is_none_or(|p| p == decl),
            "two types are named {}",
            T::ident(&self.cfg)
        );
        T::visit_dependencies(self);
        T::visit_generics(self);
    }
}

macro_rules! declarations {
    ($($t:ty),* $(,)?) => {{
        // Ids are i64 in Rust and numbers in JSON: far below 2^53.
        let mut d = Declarations {
            cfg: Config::new().with_large_int("number"),
            seen: HashSet::new(),
            by_name: BTreeMap::new(),
        };
        $( d.visit::<$t>(); )*
        d.by_name
    }};
}

fn generated() -> String {
    use crate::runtime::{
        AppStatus, ChatEvent, DistillStatus, KeyKept, SentReply, SettingsView, UploadPreview,
    };
    let by_name = declarations!(
        AppStatus,
        crate::PersonaSummary,
        crate::ChatView,
        kotodama_style::StylePlan,
        ChatEvent,
        SentReply,
        UploadPreview,
        crate::ImportPhase,
        crate::PersonaPage,
        crate::ProfileDiff,
        DistillStatus,
        SettingsView,
        KeyKept,
        crate::settings::RuntimeSettings,
        crate::settings::LocalServerStatus,
        crate::ChatSettings,
        crate::CardFields,
        crate::cards::lorebook_edit::LorebookView,
        crate::PromptTurn,
        crate::user_personas::UserPersonas,
        crate::models::DownloadProgress,
        crate::ErrorView,
    );
    let mut out = String::from(
        "// Generated from the Rust types by crates/kotodama/src/ui_bindings.rs: do not edit.\n\
         // KOTODAMA_WRITE_BINDINGS=1 cargo test -p kotodama --lib ui_bindings rewrites it.\n",
    );
    for decl in by_name.values() {
        out.push('\n');
        out.push_str(decl);
    }
    out
}

#[test]
fn the_ui_bindings_are_current() {
    let fresh = generated();
    if std::env::var_os("KOTODAMA_WRITE_BINDINGS").is_some() {
        std::fs::write(FILE, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(FILE).unwrap_or_default();
    assert!(
        committed == fresh,
        "ui/src/lib/bindings.ts is stale: rerun this test with KOTODAMA_WRITE_BINDINGS=1"
    );
}
