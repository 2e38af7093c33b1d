//! Username rules (protocol §1.1): what a valid name is and when two names are "the same".

/// The name the server speaks under; nobody may register it, in any letter case.
pub const SERVER_NAME: &str = "Server";

/// Why a requested name was refused. Only used for logs: the wire answer is just `false`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRefusal {
    Empty,
    TooLong,
    ControlCharacter,
    Reserved,
}

/// Returns the name to register (trimmed) or why it is not acceptable.
pub fn validate(raw: &str, max_chars: usize) -> Result<&str, NameRefusal> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(NameRefusal::Empty);
    }
    if name.chars().count() > max_chars {
        return Err(NameRefusal::TooLong);
    }
    if name.chars().any(char::is_control) {
        return Err(NameRefusal::ControlCharacter);
    }
    if fold(name) == fold(SERVER_NAME) {
        return Err(NameRefusal::Reserved);
    }
    Ok(name)
}

/// The key under which a name is unique: names that differ only in letter case collide.
pub fn fold(name: &str) -> String {
    name.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_accepts_ordinary_names() {
        assert_eq!(validate("  alice ", 32), Ok("alice"));
        assert_eq!(validate("Zoë 🦀", 32), Ok("Zoë 🦀"));
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        let thirty_two_crabs = "🦀".repeat(32);
        assert_eq!(validate(&thirty_two_crabs, 32), Ok(thirty_two_crabs.as_str()));
        assert_eq!(validate(&"a".repeat(33), 32), Err(NameRefusal::TooLong));
    }

    #[test]
    fn refuses_empty_control_and_reserved_names() {
        assert_eq!(validate("   ", 32), Err(NameRefusal::Empty));
        assert_eq!(validate("", 32), Err(NameRefusal::Empty));
        assert_eq!(validate("a\nb", 32), Err(NameRefusal::ControlCharacter));
        assert_eq!(validate("a\u{7f}", 32), Err(NameRefusal::ControlCharacter));
        assert_eq!(validate("sErVeR", 32), Err(NameRefusal::Reserved));
        assert_eq!(validate(" Server ", 32), Err(NameRefusal::Reserved));
    }

    #[test]
    fn folding_ignores_letter_case() {
        assert_eq!(fold("ÉLodie"), fold("élodie"));
        assert_ne!(fold("alice"), fold("alicia"));
    }
}
