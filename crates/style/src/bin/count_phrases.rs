//! Counts the words, 2-grams and 3-grams of UD English-EWT's sentence texts (all splits) and
//! writes assets/style/phrases_en.bin.gz: the phrase background that tells everyday
//! collocations ("you know", "thank you") from a character's own phrases. Words are split like
//! a profile's (`text::words`); n-grams stay within a sentence; kept from MIN_COUNT uses.
//!
//! cargo run -p kotodama-style --release --bin count-phrases -- [EWT_DIR] [OUT]

use std::collections::HashMap;
use std::path::PathBuf;

use kotodama_style::background::{write_table, BUCKETS_PER_DECADE};
use kotodama_style::{lexical, text, Result};

/// Fewer uses than this in 254k words say too little about an n-gram's rate.
const MIN_COUNT: u32 = 3;

fn main() -> Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data = PathBuf::from(
        std::env::var_os("KOTODAMA_DATA")
            .expect("KOTODAMA_DATA: the reference data folder (characters/, treebanks/)"),
    );
    let mut args = std::env::args().skip(1);
    let mut arg = |default: PathBuf| args.next().map_or(default, PathBuf::from);
    let ewt = arg(data.join("treebanks/ud_english_ewt"));
    let out = arg(root.join("assets/style/phrases_en.bin.gz"));
    let mut counts: HashMap<String, u32> = HashMap::new();
    let mut tokens = 0u64;
    for split in ["train", "dev", "test"] {
        let path = ewt.join(format!("en_ewt-ud-{split}.conllu"));
        for line in std::fs::read_to_string(&path)?.lines() {
            let Some(raw) = line.strip_prefix("# text = ") else {
                continue;
            };
            let norm = text::normalize(raw);
            for s in text::sentences(&norm) {
                let words = text::words(s);
                tokens += words.len() as u64;
                for (_, term) in lexical::ngrams(&words, " ") {
                    *counts.entry(term).or_default() += 1;
                }
            }
        }
    }
    let rows: Vec<(u32, String)> = counts
        .into_iter()
        .filter(|&(_, c)| c >= MIN_COUNT)
        .map(|(term, c)| {
            let rate = f64::from(c) / tokens as f64;
            ((-rate.log10() * BUCKETS_PER_DECADE).round() as u32, term)
        })
        .collect();
    let bytes = write_table(rows);
    std::fs::write(&out, &bytes)?;
    eprintln!(
        "{tokens} words of EWT; wrote {} ({} bytes)",
        out.display(),
        bytes.len()
    );
    Ok(())
}
