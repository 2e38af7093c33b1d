//! What may be sent as a chat message (docs/PROTOCOL.md §1.2). The server refuses by this rule and
//! the clients check it before sending, with the limit the server announced.

use crate::{Limits, RefusalCode};

/// `Ok` when the server would accept `text` under `limits`, else the code it would refuse it with.
pub fn check(text: &str, limits: &Limits) -> Result<(), RefusalCode> {
    // A char is at most 4 bytes: a longer byte string is too long without counting.
    if text.len() > 4 * limits.max_message_chars || text.chars().count() > limits.max_message_chars {
        return Err(RefusalCode::TooLong);
    }
    if text.trim().is_empty() {
        return Err(RefusalCode::Empty);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_is_counted_in_characters_against_the_configured_limit() {
        let limits = Limits::default();
        assert_eq!(check(&"é".repeat(2000), &limits), Ok(()));
        assert_eq!(check(&"é".repeat(2001), &limits), Err(RefusalCode::TooLong));
        let short = Limits { max_message_chars: 5, ..Limits::default() };
        assert_eq!(check("12345", &short), Ok(()));
        assert_eq!(check("123456", &short), Err(RefusalCode::TooLong));
        let long = Limits { max_message_chars: 5000, ..Limits::default() };
        assert_eq!(check(&"x".repeat(4000), &long), Ok(()));
    }

    #[test]
    fn whitespace_only_is_empty() {
        assert_eq!(check(" \n\t ", &Limits::default()), Err(RefusalCode::Empty));
        assert_eq!(check("", &Limits::default()), Err(RefusalCode::Empty));
        assert_eq!(check(" x ", &Limits::default()), Ok(()));
    }
}
