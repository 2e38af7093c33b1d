//! The room password's connect errors (docs/PROTOCOL.md §2.4). socket.io carries a refused connect
//! as `{"message": <text>}`; the text is the code, produced and parsed by this one table.

/// Why the server refused the socket.io connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("password required")]
    PasswordRequired,
    #[error("wrong password")]
    WrongPassword,
    /// Too many wrong passwords from this address: it must wait before the next one is checked.
    #[error("too many password attempts: wait a moment and try again")]
    TooManyAttempts,
}

impl AuthError {
    const ALL: [AuthError; 3] = [AuthError::PasswordRequired, AuthError::WrongPassword, AuthError::TooManyAttempts];

    /// Reads the `message` of a connect error back; `None` for a refusal of another kind.
    pub fn from_message(message: &str) -> Option<AuthError> {
        Self::ALL.into_iter().find(|error| error.to_string() == message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_as_itself() {
        for error in AuthError::ALL {
            assert_eq!(AuthError::from_message(&error.to_string()), Some(error));
        }
        assert_eq!(AuthError::from_message("banned"), None);
    }
}
