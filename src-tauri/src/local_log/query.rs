//! What the user types into the search box, made into an FTS5 query that cannot be misread, and
//! FTS5's highlighted snippets made into plain text plus highlight ranges (no HTML leaves Rust).

/// Put around each match by `snippet()`: control characters people do not type, so a message
/// that carries one anyway is searched but shown without highlights (see `unmark`).
pub const MARK_OPEN: char = '\u{1}';
pub const MARK_CLOSE: char = '\u{2}';

/// Every word of `input` as a quoted FTS5 string (inner quotes doubled), so `"`, `*`, `-`, `OR`,
/// `NEAR(` or `col:` are searched for as text, never taken as query syntax. The last word also
/// matches as a prefix (`"wor"*`), so results follow typing. `None` when there is no word.
pub fn fts_query(input: &str) -> Option<String> {
    let words: Vec<&str> = input.split_whitespace().collect();
    let (last, rest) = words.split_last()?;
    let quote = |word: &str| format!("\"{}\"", word.replace('"', "\"\""));
    let mut query: Vec<String> = rest.iter().map(|word| quote(word)).collect();
    query.push(format!("{}*", quote(last)));
    Some(query.join(" "))
}

/// A snippet with its matches marked → the plain text and the matches as `[start, end)` offsets in
/// UTF-16 code units (what JavaScript strings index by). A text that carries a marker itself gets
/// no ranges rather than wrong ones.
pub fn unmark(marked: &str, original_has_marks: bool) -> (String, Vec<[usize; 2]>) {
    if original_has_marks {
        return (marked.replace([MARK_OPEN, MARK_CLOSE], ""), Vec::new());
    }
    let mut text = String::with_capacity(marked.len());
    let mut ranges = Vec::new();
    let (mut at, mut open) = (0usize, None);
    for c in marked.chars() {
        match c {
            MARK_OPEN => open = Some(at),
            MARK_CLOSE => {
                if let Some(start) = open.take().filter(|&start| start < at) {
                    ranges.push([start, at]);
                }
            }
            _ => {
                text.push(c);
                at += c.len_utf16();
            }
        }
    }
    (text, ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_and_the_last_one_is_a_prefix() {
        assert_eq!(fts_query("hello world").as_deref(), Some(r#""hello" "world"*"#));
        assert_eq!(fts_query("  lunch\t").as_deref(), Some(r#""lunch"*"#));
        assert_eq!(fts_query("   "), None);
    }

    #[test]
    fn query_syntax_in_the_input_stays_text() {
        // Quotes are doubled inside the quoted string; asterisks, operators and columns stay in it.
        assert_eq!(fts_query(r#"say "hi""#).as_deref(), Some(r#""say" """hi"""*"#));
        assert_eq!(fts_query("a* OR b").as_deref(), Some(r#""a*" "OR" "b"*"#));
        assert_eq!(fts_query("text:x NEAR(y) -z ^w").as_deref(), Some(r#""text:x" "NEAR(y)" "-z" "^w"*"#));
    }

    #[test]
    fn marks_become_ranges_in_utf16_units() {
        let marked = format!("é {MARK_OPEN}😀ok{MARK_CLOSE} and {MARK_OPEN}ok{MARK_CLOSE}");
        let (text, ranges) = unmark(&marked, false);
        assert_eq!(text, "é 😀ok and ok");
        // "é" is one unit, "😀" two: the first match starts at 2 and spans 4 units.
        assert_eq!(ranges, vec![[2, 6], [11, 13]]);
        let (text, ranges) = unmark(&format!("a{MARK_OPEN}b{MARK_CLOSE}"), true);
        assert_eq!((text.as_str(), ranges.len()), ("ab", 0));
    }
}
