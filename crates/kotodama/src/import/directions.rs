//! Stage directions inside a spoken line: `(sighs)` or `[laughs]` spans are removed and kept apart.

/// Returns the spoken text (whitespace collapsed) and the directions, in order.
pub fn strip_directions(said: &str) -> (String, Vec<String>) {
    let mut spoken = String::with_capacity(said.len());
    let mut directions = Vec::new();
    let mut rest = said;
    while let Some(open) = rest.find(['(', '[', '（']) {
        let close_char = match rest[open..].chars().next() {
            Some('(') => ')',
            Some('[') => ']',
            _ => '）',
        };
        let body_start = open + rest[open..].chars().next().map_or(1, char::len_utf8);
        let Some(close) = rest[body_start..].find(close_char) else {
            break;
        };
        spoken.push_str(&rest[..open]);
        directions.push(rest[body_start..body_start + close].trim().to_string());
        rest = &rest[body_start + close + close_char.len_utf8()..];
    }
    spoken.push_str(rest);
    (
        spoken.split_whitespace().collect::<Vec<_>>().join(" "),
        directions,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parentheses_and_brackets_are_directions() {
        let (text, dirs) = strip_directions("(sighs) Stand up. [beat] Again（笑）.");
        assert_eq!(text, "Stand up. Again.");
        assert_eq!(dirs, vec!["sighs", "beat", "笑"]);
        assert_eq!(
            strip_directions("An open ( paren"),
            ("An open ( paren".to_string(), vec![])
        );
    }
}
