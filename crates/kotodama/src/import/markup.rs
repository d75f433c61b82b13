//! Subtitle markup: HTML-like tags (`<i>`), ASS override blocks (`{\an8}`) and ASS escapes (`\N`, `\h`).

pub fn strip_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // Once a closing bracket is missing from the rest, no later opening one can close: remembering that
    // keeps a line full of stray `<` linear.
    let (mut angle_closes, mut brace_closes) = (true, true);
    while let Some(i) = rest.find(['<', '{', '\\']) {
        out.push_str(&rest[..i]);
        let (opening, after) = (rest.as_bytes()[i], &rest[i + 1..]);
        let (close, closes) = match opening {
            b'<' => ('>', &mut angle_closes),
            b'{' => ('}', &mut brace_closes),
            _ => {
                // A backslash: ASS line breaks and hard spaces become spaces; anything else is text.
                let escape = after.strip_prefix(['N', 'n', 'h']);
                out.push(if escape.is_some() { ' ' } else { '\\' });
                rest = escape.unwrap_or(after);
                continue;
            }
        };
        match (*closes).then(|| after.find(close)).flatten() {
            Some(j) => rest = &after[j + 1..],
            None => {
                *closes = false;
                out.push(char::from(opening));
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_escapes_are_removed() {
        assert_eq!(
            strip_markup("{\\i1}Stand up,\\Nbaka.{\\i0} <b>Now</b>"),
            "Stand up, baka. Now"
        );
        assert_eq!(strip_markup("3 < 4 and {unclosed"), "3 < 4 and {unclosed");
        assert_eq!(strip_markup("a\\b {\\an8}c"), "a\\b c");
        let stray = "<".repeat(200_000);
        assert_eq!(strip_markup(&stray), stray, "linear on unclosed brackets");
    }
}
