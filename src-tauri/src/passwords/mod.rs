//! Saved server passwords, per server and user, in the OS keyring (through `confab-secrets`) and
//! nowhere else: never in the recent servers file, never in a log. When there is no keyring, every
//! call says so ([`PasswordError::Unavailable`]) and the app asks for the password each time.
//!
//! Keyring calls block (D-Bus, maybe an unlock prompt): they run on the blocking thread pool.

mod error;

use std::sync::Mutex;

use confab_secrets::{Login, Vault};

pub use error::PasswordError;

type Result<T, E = PasswordError> = std::result::Result<T, E>;

/// The app's handle on the keyring, opened on first use (and retried later if it was missing).
#[derive(Default)]
pub struct Passwords {
    vault: Mutex<Option<Vault>>,
}

impl Passwords {
    /// A store over a given vault (tests use an in-memory one).
    #[cfg(test)]
    pub fn with_vault(vault: Vault) -> Self {
        Self { vault: Mutex::new(Some(vault)) }
    }

    pub async fn save(&self, server: &str, user: &str, password: &str) -> Result<()> {
        let (server, user, password) = (server.to_owned(), user.to_owned(), password.to_owned());
        self.with(move |vault| vault.save(Login { server: &server, user: &user }, &password)).await
    }

    pub async fn load(&self, server: &str, user: &str) -> Result<Option<String>> {
        let (server, user) = (server.to_owned(), user.to_owned());
        self.with(move |vault| vault.load(Login { server: &server, user: &user })).await
    }

    pub async fn forget(&self, server: &str, user: &str) -> Result<()> {
        let (server, user) = (server.to_owned(), user.to_owned());
        self.with(move |vault| vault.forget(Login { server: &server, user: &user })).await
    }

    async fn with<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Vault) -> confab_secrets::Result<T> + Send + 'static,
    ) -> Result<T> {
        let cached = self.vault.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let (vault, result) = tokio::task::spawn_blocking(move || {
            let vault = match cached {
                Some(vault) => vault,
                None => match Vault::os() {
                    Ok(vault) => vault,
                    Err(e) => return (None, Err(PasswordError::from(e))),
                },
            };
            let result = op(&vault).map_err(PasswordError::from);
            (Some(vault), result)
        })
        .await
        .map_err(|e| PasswordError::Failed(e.to_string()))?;
        if let Some(vault) = vault {
            *self.vault.lock().unwrap_or_else(|e| e.into_inner()) = Some(vault);
        }
        if let Err(e) = &result {
            tracing::warn!("keyring: {e} ({e:?})");
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn save_load_forget_per_server_and_user() {
        let store = keyring_core::sample::Store::new().unwrap();
        let passwords = Passwords::with_vault(Vault::in_store(store));
        passwords.save("http://a:1/", "me", "pw").await.unwrap();
        assert_eq!(passwords.load("http://a:1/", "me").await.unwrap().as_deref(), Some("pw"));
        assert_eq!(passwords.load("http://a:1/", "you").await.unwrap(), None);
        passwords.forget("http://a:1/", "me").await.unwrap();
        assert_eq!(passwords.load("http://a:1/", "me").await.unwrap(), None);
    }

    #[tokio::test]
    async fn without_a_keyring_every_call_says_unavailable_and_nothing_is_kept() {
        // No D-Bus session bus here: no Secret Service. (Only this test reads the variable.)
        std::env::set_var("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/confab-test-bus");
        let passwords = Passwords::default();
        let save = passwords.save("http://a:1/", "me", "pw").await;
        assert!(matches!(save, Err(PasswordError::Unavailable { .. })), "{save:?}");
        let load = passwords.load("http://a:1/", "me").await;
        assert!(matches!(load, Err(PasswordError::Unavailable { .. })), "{load:?}");
        assert!(passwords.vault.lock().unwrap().is_none());
    }

    #[test]
    fn no_keyring_crosses_as_a_clear_note() {
        let error = PasswordError::from(confab_secrets::Error::Unavailable("no D-Bus".into()));
        let json = serde_json::to_value(&error).unwrap();
        assert_eq!(json["code"], "keyring_unavailable");
        assert_eq!(json["message"], "Your system keyring is not available; the password will not be remembered.");
    }
}
