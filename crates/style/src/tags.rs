//! The Penn Treebank part-of-speech tag set shared by the tagger (UD EWT XPOS) and the grammar (GUM).

/// Tag ids index this list. Order is part of the tagger/grammar asset formats: append, never reorder.
pub const TAGS: &[&str] = &[
    "NN", "IN", "DT", "NNP", "PRP", "JJ", "RB", ".", "VB", "NNS", ",", "CC", "VBD", "VBP", "VBZ",
    "CD", "VBN", "VBG", "MD", "TO", "PRP$", "-RRB-", "-LRB-", "WDT", ":", "WRB", "``", "''", "WP",
    "RP", "UH", "POS", "HYPH", "NNPS", "JJR", "JJS", "EX", "NFP", "RBR", "ADD", "GW", "$", "SYM",
    "PDT", "LS", "FW", "RBS", "AFX", "WP$", "XX",
];

pub type Tag = u8;

pub fn tag_id(name: &str) -> Option<Tag> {
    TAGS.iter()
        .position(|t| *t == name)
        .and_then(|i| Tag::try_from(i).ok())
}

pub fn tag_name(tag: Tag) -> &'static str {
    TAGS.get(usize::from(tag)).copied().unwrap_or("XX")
}

pub fn is_verb(tag: Tag) -> bool {
    matches!(
        tag_name(tag),
        "VB" | "VBD" | "VBP" | "VBZ" | "VBN" | "VBG" | "MD"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_fit_a_byte() {
        assert!(TAGS.len() < 256);
        for (i, t) in TAGS.iter().enumerate() {
            assert_eq!(tag_id(t), Some(i as Tag));
        }
        assert_eq!(tag_id("NOPE"), None);
    }
}
