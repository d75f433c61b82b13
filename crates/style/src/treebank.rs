//! Readers for the training treebanks (pure: they take text, the binaries do the file IO).

use crate::error::{Error, Result};
use crate::tags::{tag_id, Tag};
use crate::tree;
use crate::upos::Upos;

/// One tagged sentence: (word form, tag).
pub type TaggedSentence = Vec<(String, Tag)>;

/// The raw sentence texts of a CoNLL-U file (its `# text = ` comment lines), in order.
pub fn sentence_texts(conllu: &str) -> impl Iterator<Item = &str> {
    conllu.lines().filter_map(|l| l.strip_prefix("# text = "))
}

/// Reads CoNLL-U (word lines only: multi-word token ranges and empty nodes are skipped), taking
/// the XPOS column. Forms are normalized the same way as run-time text.
pub fn read_conllu(text: &str, source: &str) -> Result<Vec<TaggedSentence>> {
    conllu_rows(text, source)?
        .into_iter()
        .map(|rows| {
            rows.into_iter()
                .map(|row| {
                    let tag = tag_id(row.cols[4])
                        .ok_or_else(|| row.error(format!("unknown XPOS {}", row.cols[4])))?;
                    Ok((normalize_form(row.cols[1]), tag))
                })
                .collect()
        })
        .collect()
}

/// One word of a UD sentence, as segmentation and UPOS evaluation need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdWord {
    /// The form, normalized the same way as run-time text.
    pub form: String,
    pub upos: Upos,
    /// False when MISC says `SpaceAfter=No` (always, between Japanese or Chinese words).
    pub space_after: bool,
    /// The MISC column as written ("_" when empty).
    pub misc: String,
}

/// Reads CoNLL-U word lines with their UPOS (skipping multi-word token ranges and empty nodes,
/// as `read_conllu` does).
pub fn read_conllu_words(text: &str, source: &str) -> Result<Vec<Vec<UdWord>>> {
    conllu_rows(text, source)?
        .into_iter()
        .map(|rows| {
            rows.into_iter()
                .map(|row| {
                    let upos = Upos::from_name(row.cols[3])
                        .ok_or_else(|| row.error(format!("unknown UPOS {}", row.cols[3])))?;
                    let misc = row.cols[9];
                    Ok(UdWord {
                        form: normalize_form(row.cols[1]),
                        upos,
                        space_after: !misc.split('|').any(|f| f == "SpaceAfter=No"),
                        misc: misc.to_string(),
                    })
                })
                .collect()
        })
        .collect()
}

/// A word line of a CoNLL-U text: its ten columns, and where it is for error messages.
struct Row<'a> {
    cols: Vec<&'a str>,
    location: String,
}

impl Row<'_> {
    fn error(&self, reason: String) -> Error {
        Error::BadTreebank {
            location: self.location.clone(),
            reason,
        }
    }
}

/// The word lines of each sentence of a CoNLL-U text.
fn conllu_rows<'a>(text: &'a str, source: &str) -> Result<Vec<Vec<Row<'a>>>> {
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
        let row = Row {
            cols: line.split('\t').collect(),
            location: format!("{source}:{}", i + 1),
        };
        if row.cols.len() != 10 {
            return Err(row.error(format!("expected 10 columns, got {}", row.cols.len())));
        }
        if row.cols[0].contains('-') || row.cols[0].contains('.') {
            continue;
        }
        current.push(row);
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
    fn reads_ud_words_with_upos_and_spacing() {
        let text = "# text = 私は,猫\n1\t私\t私\tPRON\t代名詞\t_\t0\troot\t_\tSpaceAfter=No\n2\tは\tは\tADP\t助詞-係助詞\t_\t1\tcase\t_\tLUWBILabel=B|SpaceAfter=No\n3\t，\t，\tPUNCT\t補助記号-読点\t_\t1\tpunct\t_\t_\n\n";
        let s = read_conllu_words(text, "t").unwrap();
        assert_eq!(s.len(), 1);
        let forms: Vec<&str> = s[0].iter().map(|w| w.form.as_str()).collect();
        // Forms are normalized like run-time text (NFKC: the full-width comma becomes ',').
        assert_eq!(forms, vec!["私", "は", ","]);
        assert_eq!(s[0][1].upos, Upos::Adp);
        assert_eq!(s[0][1].misc, "LUWBILabel=B|SpaceAfter=No");
        let spaces: Vec<bool> = s[0].iter().map(|w| w.space_after).collect();
        assert_eq!(spaces, vec![false, false, true]);
        let bad = "1\tx\tx\tNN\t_\t_\t0\troot\t_\t_\n";
        assert!(read_conllu_words(bad, "t").is_err());
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
