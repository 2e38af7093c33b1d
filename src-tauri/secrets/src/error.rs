//! Errors of the password vault.

/// Why a password could not be saved, read or forgotten.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No usable OS keyring (no Secret Service on this desktop, or it is locked). The app then asks
    /// for the password each time; it never falls back to storing it elsewhere.
    #[error("the system keyring is not available ({0}); the password was not saved")]
    Unavailable(String),
    /// The keyring answered, but refused or failed the operation.
    #[error("the system keyring failed: {0}")]
    Keyring(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<keyring_core::Error> for Error {
    fn from(error: keyring_core::Error) -> Self {
        use keyring_core::Error as K;
        match error {
            K::NoStorageAccess(_) | K::PlatformFailure(_) | K::NoDefaultStore => Self::Unavailable(error.to_string()),
            other => Self::Keyring(other.to_string()),
        }
    }
}
