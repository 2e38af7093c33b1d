//! Saved server passwords, kept only in the OS keyring (Secret Service on Linux), one entry per
//! server and user. Nothing here ever writes a password anywhere else.

mod error;

use std::sync::Arc;

use keyring_core::{CredentialStore, Entry};

pub use error::{Error, Result};

/// The keyring "service" our entries are filed under.
const SERVICE: &str = "confab";

/// Which saved password: a user on a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Login<'a> {
    /// The server URL as the user connects to it (normalised by the caller).
    pub server: &'a str,
    pub user: &'a str,
}

impl Login<'_> {
    /// The keyring account name: unique per server and user, readable in a keyring manager.
    fn account(&self) -> String {
        format!("{}@{}", self.user, self.server)
    }
}

/// Access to saved passwords in one credential store.
#[derive(Clone)]
pub struct Vault {
    store: Arc<CredentialStore>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault").field("store", &self.store.vendor()).finish()
    }
}

impl Vault {
    /// The OS keyring: the Secret Service on Linux. Fails with [`Error::Unavailable`] when there is
    /// none; callers then ask for the password each time.
    #[cfg(target_os = "linux")]
    pub fn os() -> Result<Self> {
        let store = zbus_secret_service_keyring_store::Store::new()?;
        Ok(Self { store })
    }

    #[cfg(not(target_os = "linux"))]
    pub fn os() -> Result<Self> {
        Err(Error::Unavailable("no keyring backend built for this platform".into()))
    }

    /// A vault over any store (the in-memory or mock stores of keyring-core in tests).
    pub fn in_store(store: Arc<CredentialStore>) -> Self {
        Self { store }
    }

    fn entry(&self, login: Login<'_>) -> Result<Entry> {
        Ok(Entry::new_in_store(&self.store, SERVICE, &login.account())?)
    }

    /// Saves (or replaces) the password for `login`.
    pub fn save(&self, login: Login<'_>, password: &str) -> Result<()> {
        self.entry(login)?.set_password(password)?;
        tracing::info!(server = login.server, user = login.user, "password saved in the keyring");
        Ok(())
    }

    /// The saved password for `login`, if any.
    pub fn load(&self, login: Login<'_>) -> Result<Option<String>> {
        match self.entry(login)?.get_password() {
            Ok(password) => Ok(Some(password)),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }

    /// Removes the saved password for `login`; forgetting nothing is not an error.
    pub fn forget(&self, login: Login<'_>) -> Result<()> {
        match self.entry(login)?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(other) => Err(other.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: Login<'static> = Login { server: "http://chat.example:7878", user: "alice" };
    const BOB: Login<'static> = Login { server: "http://chat.example:7878", user: "bob" };

    fn memory_vault() -> Vault {
        Vault::in_store(keyring_core::sample::Store::new().unwrap())
    }

    #[test]
    fn save_load_forget_round_trip() {
        let vault = memory_vault();
        assert_eq!(vault.load(ALICE).unwrap(), None);
        vault.save(ALICE, "s3cret").unwrap();
        assert_eq!(vault.load(ALICE).unwrap().as_deref(), Some("s3cret"));
        vault.save(ALICE, "changed").unwrap();
        assert_eq!(vault.load(ALICE).unwrap().as_deref(), Some("changed"));
        vault.forget(ALICE).unwrap();
        assert_eq!(vault.load(ALICE).unwrap(), None);
        vault.forget(ALICE).unwrap();
    }

    #[test]
    fn entries_are_per_server_and_user() {
        let vault = memory_vault();
        vault.save(ALICE, "a").unwrap();
        vault.save(BOB, "b").unwrap();
        let elsewhere = Login { server: "http://other:7878", user: "alice" };
        assert_eq!(vault.load(elsewhere).unwrap(), None);
        assert_eq!(vault.load(BOB).unwrap().as_deref(), Some("b"));
    }

    #[test]
    fn a_keyring_without_storage_access_is_reported_unavailable() {
        let store = keyring_core::mock::Store::new().unwrap();
        let vault = Vault::in_store(store);
        let entry = vault.entry(ALICE).unwrap();
        let credential = entry.as_any().downcast_ref::<keyring_core::mock::Cred>().expect("mock credential");
        credential.set_error(keyring_core::Error::NoStorageAccess("locked".into()));
        let error = entry.set_password("x").map_err(Error::from).unwrap_err();
        assert!(matches!(error, Error::Unavailable(_)), "{error}");
        assert!(error.to_string().contains("not saved"), "{error}");
    }
}
