//! Who may register (docs/PROTOCOL.md §1.1): what a valid name is and when two names are "the same".

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
use unicode_security::confusable_detection::skeleton;

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
    /// Invisible or direction-changing characters (zero-width spaces, bidi overrides, BOM): they
    /// let one name pass for another.
    #[error("a name cannot contain invisible or text-direction characters")]
    FormatCharacter,
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
            Self::FormatCharacter => "format_character",
            Self::Reserved => "reserved",
        }
    }

    /// One refusal of each kind, `max` filled into `TooLong`.
    pub fn examples(max: usize) -> [NameRefusal; 5] {
        [Self::Empty, Self::TooLong { max }, Self::ControlCharacter, Self::FormatCharacter, Self::Reserved]
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
    if name.chars().any(is_format) {
        return Err(NameRefusal::FormatCharacter);
    }
    if fold(name) == fold(SERVER_NAME) {
        return Err(NameRefusal::Reserved);
    }
    Ok(name)
}

/// The key under which a name is unique: names that differ only in letter case (full Unicode case
/// folding), in compatibility form (NFKC: `ａｌｉｃｅ`) or by look-alike letters (UTS #39
/// confusables: Cyrillic `Ѕerver`, `pаypal` with a Cyrillic а) collide. Folded before and after the
/// skeleton, since the skeleton maps some letters to upper-case prototypes.
pub fn fold(name: &str) -> String {
    // std's lower-casing first: its Unicode tables are newer than caseless's, so letters of scripts
    // cased only recently (Beria Erfe `𖺠`/`𖺻`, Unicode 17) fold together too.
    let lowered = name.nfkc().collect::<String>().to_lowercase();
    let folded = caseless::default_case_fold_str(&lowered);
    let skeleton: String = skeleton(&folded).collect();
    caseless::default_case_fold_str(&skeleton).nfkc().collect()
}

/// General category Cf (format): zero-width characters, bidi controls, the BOM, soft hyphen, ...
fn is_format(c: char) -> bool {
    c.general_category() == GeneralCategory::Format
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
    fn look_alikes_and_invisible_characters_cannot_imitate_a_name() {
        assert_eq!(validate("Server\u{200B}", MAX), Err(NameRefusal::FormatCharacter));
        assert_eq!(validate("\u{202E}ecila", MAX), Err(NameRefusal::FormatCharacter));
        assert_eq!(validate("\u{0405}erver", MAX), Err(NameRefusal::Reserved), "Cyrillic Ѕ");
        assert_eq!(validate("ＳＥＲＶＥＲ", MAX), Err(NameRefusal::Reserved), "full-width");
        assert_eq!(fold("p\u{0430}ypal"), fold("paypal"), "Cyrillic а");
        assert_eq!(fold("ａｌｉｃｅ"), fold("alice"));
        assert_eq!(fold("ALICE"), fold("alice"));
        assert_ne!(fold("bob"), fold("rob"));
        assert_eq!(validate("Zoë", MAX), Ok("Zoë"), "ordinary accents stay allowed");
    }

    #[test]
    fn folding_ignores_letter_case() {
        assert_eq!(fold("ÉLodie"), fold("élodie"));
        assert_ne!(fold("alice"), fold("alicia"));
    }

    #[test]
    fn folding_knows_the_letter_cases_std_knows() {
        // Found by the property test: caseless's tables predate this script's case pairs.
        assert_eq!(fold("\u{16EBB}"), fold("\u{16EA0}"));
    }
}
