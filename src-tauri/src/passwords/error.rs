//! Why a saved password could not be kept or read, worded for the person using the app.

use serde::ser::{Serialize, SerializeStruct, Serializer};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// No usable OS keyring: the app asks for the password each time and stores it nowhere else.
    #[error("Your system keyring is not available; the password will not be remembered.")]
    Unavailable { detail: String },
    /// The keyring answered but failed the operation.
    #[error("The system keyring failed ({0}); the password will not be remembered.")]
    Failed(String),
}

impl PasswordError {
    pub fn code(&self) -> &'static str {
        match self {
            PasswordError::Unavailable { .. } => "keyring_unavailable",
            PasswordError::Failed(_) => "keyring_failed",
        }
    }
}

impl From<confab_secrets::Error> for PasswordError {
    fn from(error: confab_secrets::Error) -> Self {
        match error {
            confab_secrets::Error::Unavailable(detail) => PasswordError::Unavailable { detail },
            confab_secrets::Error::Keyring(why) => PasswordError::Failed(why),
        }
    }
}

/// Crosses to the webview as `{code, message}`.
impl Serialize for PasswordError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("PasswordError", 2)?;
        s.serialize_field("code", self.code())?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}
