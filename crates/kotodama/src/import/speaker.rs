//! Speaker names: one spelling per character, whatever the file's case, spacing or film-script suffixes.

/// Longest speaker name accepted; a longer prefix before a colon is prose, not a speaker.
pub const MAX_SPEAKER_CHARS: usize = 40;

/// Film-script extensions that say how a line is delivered, not who says it.
const DELIVERY_SUFFIXES: [&str; 6] = [
    "(V.O.)",
    "(O.S.)",
    "(O.C.)",
    "(CONT'D)",
    "(CONT’D)",
    "(CONT)",
];

/// The canonical form of a speaker name: delivery suffixes dropped, whitespace collapsed, upper case.
/// `None` when nothing that can be a name is left.
pub fn normalize_speaker(raw: &str) -> Option<String> {
    let mut name = raw.trim();
    while let Some(stripped) = DELIVERY_SUFFIXES
        .iter()
        .find_map(|s| strip_suffix_ignore_case(name, s))
    {
        name = stripped.trim_end();
    }
    let name = name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase();
    let plausible = !name.is_empty()
        && name.chars().count() <= MAX_SPEAKER_CHARS
        && name.chars().any(char::is_alphanumeric)
        && name.chars().all(|c| {
            c.is_alphanumeric() || matches!(c, ' ' | '-' | '.' | '\'' | '’' | '_' | '・' | '&')
        });
    plausible.then_some(name)
}

fn strip_suffix_ignore_case<'a>(name: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = name.len().checked_sub(suffix.len())?;
    (name.is_char_boundary(cut) && name[cut..].eq_ignore_ascii_case(suffix)).then(|| &name[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalized_and_prose_is_refused() {
        assert_eq!(
            normalize_speaker("  Obi-Wan   kenobi ").as_deref(),
            Some("OBI-WAN KENOBI")
        );
        assert_eq!(normalize_speaker("REN (V.O.)").as_deref(), Some("REN"));
        assert_eq!(normalize_speaker("Ren (cont'd)").as_deref(), Some("REN"));
        assert_eq!(normalize_speaker("椿").as_deref(), Some("椿"));
        for prose in ["", "...", "Note, however", "https://x", &"A".repeat(41)] {
            assert_eq!(normalize_speaker(prose), None, "{prose:?}");
        }
    }
}
