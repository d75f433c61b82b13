//! Reads the PCFG off the GUM constituency trees and measures the background statistics with it,
//! writing assets/style/grammar.txt.gz. Needs the tagger (assets/style/tagger.bin.gz) first.
//!
//! cargo run -p kotodama-style --release --bin train-grammar -- [GUM_DIR] [OUT]

use std::path::PathBuf;

use kotodama_style::doc::Sentence;
use kotodama_style::grammar::Grammar;
use kotodama_style::pragmatics::{self, Context};
use kotodama_style::syntax::{self, ParseStats};
use kotodama_style::tagger::Tagger;
use kotodama_style::text::Language;
use kotodama_style::tree::{self, Tree};

/// Conversational and narrative genres: the register character dialogue is compared against.
const BACKGROUND_GENRES: &[&str] = &[
    "conversation",
    "interview",
    "vlog",
    "podcast",
    "speech",
    "fiction",
];

fn main() -> kotodama_style::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data = PathBuf::from(
        std::env::var_os("KOTODAMA_DATA")
            .expect("KOTODAMA_DATA: the reference data folder (characters/, treebanks/)"),
    );
    let mut args = std::env::args().skip(1);
    let gum = args
        .next()
        .map_or_else(|| data.join("treebanks/gum_const"), PathBuf::from);
    let out = args
        .next()
        .map_or_else(|| root.join("assets/style/grammar.txt.gz"), PathBuf::from);
    let tagger = Tagger::from_bytes(&std::fs::read(root.join("assets/style/tagger.bin.gz"))?)?;

    let mut files: Vec<PathBuf> = std::fs::read_dir(&gum)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ptb"))
        .collect();
    files.sort();
    let mut all = Vec::new();
    let mut background = Vec::new();
    for f in &files {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let trees = tree::read_ptb(&std::fs::read_to_string(f)?, &name)?;
        let is_bg = BACKGROUND_GENRES
            .iter()
            .any(|g| name.starts_with(&format!("GUM_{g}_")));
        for mut t in trees {
            t.strip_function_tags();
            if is_bg {
                background.push(t.clone());
            }
            all.push(t);
        }
    }
    let started = std::time::Instant::now();
    let binarized: Vec<Tree> = all.iter().map(Tree::binarize).collect();
    let mut grammar = Grammar::estimate(&binarized);
    eprintln!(
        "{} trees -> {} symbols, {} rules",
        all.len(),
        grammar.symbols.len(),
        grammar.rule_count()
    );

    // Background: parse the background genres exactly as character lines are parsed (our tagger,
    // our parser), so that rule over-use reflects the speaker and not parser bias.
    let mut stats = ParseStats::default();
    let mut parses = Vec::new();
    let mut sentences = Vec::new();
    for t in &background {
        let leaves = t.leaves();
        let ptb: Vec<String> = leaves
            .iter()
            .map(|(w, _)| tree::unbracket(w).to_string())
            .collect();
        let refs: Vec<&str> = ptb.iter().map(String::as_str).collect();
        let text = detokenize(&refs);
        let s = Sentence {
            line: 0,
            words: kotodama_style::text::words(&text),
            tags: tagger.tag(&refs),
            ptb,
            text,
            cjk_tags: Vec::new(),
        };
        stats.sentences += 1;
        if let Some(rules) = syntax::parse_rules(&grammar, &s, &mut stats) {
            parses.push(rules);
        }
        sentences.push(s);
    }
    grammar.background_rules = syntax::count_rules(&parses);
    grammar.background_trait_counts = pragmatics::tally(
        &sentences,
        &Context {
            self_names: &[],
            language: Language::En,
        },
    );
    eprintln!(
        "background: {} sentences, {} parsed ({:.1}%), {} too long, {} failed; {:.1}s",
        stats.sentences,
        stats.parsed,
        100.0 * stats.parsed_share(),
        stats.skipped_too_long,
        stats.failed,
        started.elapsed().as_secs_f64()
    );
    let bytes = grammar.to_bytes()?;
    std::fs::write(&out, &bytes)?;
    eprintln!("wrote {} ({} bytes)", out.display(), bytes.len());
    Ok(())
}

/// Rebuilds running text from PTB tokens (clitics and punctuation re-attached).
fn detokenize(tokens: &[&str]) -> String {
    let mut out = String::new();
    for t in tokens {
        let attach = matches!(
            *t,
            "." | ","
                | "?"
                | "!"
                | ":"
                | ";"
                | ")"
                | "..."
                | "n't"
                | "'s"
                | "'m"
                | "'re"
                | "'ve"
                | "'ll"
                | "'d"
                | "na"
                | "ta"
        ) || out.ends_with('(');
        if !out.is_empty() && !attach {
            out.push(' ');
        }
        out.push_str(t);
    }
    out
}
