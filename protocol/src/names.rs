//! Who may register (docs/PROTOCOL.md §1.1): what a valid name is and when two names are "the same".

/// The name the server speaks under; nobody may register it, in any letter case.
pub const SERVER_NAME: &str = "Server";

/// Why a requested name is not acceptable. On the wire the answer is just `false`; clients use this
/// to say why before asking, servers to log it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameRefusal {
    #[error("a name cannot be empty")]
    Empty,
    #[error("a name can be at most {max} characters")]
    TooLong { max: usize },
    #[error("a name cannot contain control characters")]
    ControlCharacter,
    #[error("“Server” is the name of the chat server itself")]
    Reserved,
}

impl NameRefusal {
    /// A stable name for programs (the generated JS and its tests use it).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::TooLong { .. } => "too_long",
            Self::ControlCharacter => "control_character",
            Self::Reserved => "reserved",
        }
    }

    /// One refusal of each kind, `max` filled into `TooLong`.
    pub fn examples(max: usize) -> [NameRefusal; 4] {
        [Self::Empty, Self::TooLong { max }, Self::ControlCharacter, Self::Reserved]
    }
}

/// Returns the name to register (trimmed) or why it is not acceptable.
pub fn validate(raw: &str, max_chars: usize) -> Result<&str, NameRefusal> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(NameRefusal::Empty);
    }
    if name.chars().count() > max_chars {
        return Err(NameRefusal::TooLong { max: max_chars });
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
    use crate::Limits;

    const MAX: usize = 32;

    #[test]
    fn the_documented_default_is_what_these_tests_assume() {
        assert_eq!(Limits::default().max_name_chars, MAX);
    }

    #[test]
    fn trims_and_accepts_ordinary_names() {
        assert_eq!(validate("  alice ", MAX), Ok("alice"));
        assert_eq!(validate("Zoë 🦀", MAX), Ok("Zoë 🦀"));
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        let crabs = "🦀".repeat(MAX);
        assert_eq!(validate(&crabs, MAX), Ok(crabs.as_str()));
        assert_eq!(validate(&"a".repeat(MAX + 1), MAX), Err(NameRefusal::TooLong { max: MAX }));
    }

    #[test]
    fn refuses_empty_control_and_reserved_names() {
        assert_eq!(validate("   ", MAX), Err(NameRefusal::Empty));
        assert_eq!(validate("", MAX), Err(NameRefusal::Empty));
        assert_eq!(validate("a\nb", MAX), Err(NameRefusal::ControlCharacter));
        assert_eq!(validate("a\u{7f}", MAX), Err(NameRefusal::ControlCharacter));
        assert_eq!(validate("sErVeR", MAX), Err(NameRefusal::Reserved));
        assert_eq!(validate(" Server ", MAX), Err(NameRefusal::Reserved));
    }

    #[test]
    fn folding_ignores_letter_case() {
        assert_eq!(fold("ÉLodie"), fold("élodie"));
        assert_ne!(fold("alice"), fold("alicia"));
    }
}
