//! Readers for the training treebanks (pure: they take text, the binaries do the file IO).

use crate::error::{Error, Result};
use crate::tags::{tag_id, Tag};
use crate::tree;

/// One tagged sentence: (word form, tag).
pub type TaggedSentence = Vec<(String, Tag)>;

/// Reads CoNLL-U (word lines only: multi-word token ranges and empty nodes are skipped), taking
/// the XPOS column. Forms are normalized the same way as run-time text.
pub fn read_conllu(text: &str, source: &str) -> Result<Vec<TaggedSentence>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let bad = |reason: String| Error::BadTreebank {
            location: format!("{source}:{}", i + 1),
            reason,
        };
        if cols.len() != 10 {
            return Err(bad(format!("expected 10 columns, got {}", cols.len())));
        }
        if cols[0].contains('-') || cols[0].contains('.') {
            continue;
        }
        let tag = tag_id(cols[4]).ok_or_else(|| bad(format!("unknown XPOS {}", cols[4])))?;
        current.push((normalize_form(cols[1]), tag));
    }
    if !current.is_empty() {
        out.push(current);
    }
    Ok(out)
}

/// Reads the (word, POS tag) leaves of every tree in a PTB bracket file (bracket escapes such as
/// "-LRB-" turned back into the characters they stand for), normalized like `read_conllu`.
pub fn read_ptb_tagged(text: &str, source: &str) -> Result<Vec<TaggedSentence>> {
    tree::read_ptb(text, source)?
        .iter()
        .map(|t| {
            t.leaves()
                .into_iter()
                .map(|(w, tag)| {
                    let id = tag_id(tag).ok_or_else(|| Error::BadTreebank {
                        location: source.to_string(),
                        reason: format!("unknown POS tag {tag}"),
                    })?;
                    Ok((normalize_form(tree::unbracket(w)), id))
                })
                .collect()
        })
        .collect()
}

/// Forms are normalized the same way as run-time text (kept as is if that leaves nothing).
fn normalize_form(form: &str) -> String {
    let norm = crate::text::normalize(form);
    if norm.is_empty() {
        form.to_string()
    } else {
        norm
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_words_and_xpos_skipping_ranges() {
        let text = "# sent_id = 1\n1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n1\tdo\tdo\tAUX\tVBP\t_\t0\troot\t_\t_\n2\tn't\tnot\tPART\tRB\t_\t1\tadvmod\t_\t_\n3\tgo\tgo\tVERB\tVB\t_\t1\txcomp\t_\t_\n\n";
        let s = read_conllu(text, "t").unwrap();
        assert_eq!(s.len(), 1);
        let words: Vec<&str> = s[0].iter().map(|(w, _)| w.as_str()).collect();
        assert_eq!(words, vec!["do", "n't", "go"]);
        assert_eq!(s[0][1].1, tag_id("RB").unwrap());
        assert!(read_conllu("1\tbad\n", "t").is_err());
    }

    #[test]
    fn reads_ptb_leaves_unbracketed() {
        let s =
            read_ptb_tagged("(ROOT (S (-LRB- -LRB-) (NP (NN “hi”)) (-RRB- -RSB-)))", "t").unwrap();
        assert_eq!(s.len(), 1);
        let words: Vec<&str> = s[0].iter().map(|(w, _)| w.as_str()).collect();
        assert_eq!(words, vec!["(", "\"hi\"", ")"]);
        assert_eq!(s[0][2].1, tag_id("-RRB-").unwrap());
        assert!(read_ptb_tagged("(S (BOGUS x))", "t").is_err());
    }
}
