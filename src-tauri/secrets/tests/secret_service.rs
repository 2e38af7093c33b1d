//! Against a real Secret Service (gnome-keyring in a private D-Bus session): run by
//! tests/keyring/run.sh, which provides one. Ignored in plain `cargo test`, which has none.

use confab_secrets::{Error, Login, Vault};

#[test]
#[ignore = "needs a Secret Service: tests/keyring/run.sh runs it"]
fn passwords_round_trip_through_the_real_secret_service() {
    let login = Login { server: "http://keyring-test.invalid:7878", user: &format!("user{}", std::process::id()) };
    let vault = Vault::os().expect("the Secret Service of this session");
    vault.save(login, "correct horse").expect("save");
    // A second connection sees it: it is really in the keyring, not in our memory.
    let other = Vault::os().unwrap();
    assert_eq!(other.load(login).unwrap().as_deref(), Some("correct horse"));
    other.forget(login).expect("forget");
    assert_eq!(vault.load(login).unwrap(), None);
}

#[test]
#[ignore = "needs to run without any Secret Service: tests/keyring/run.sh runs it"]
fn without_a_secret_service_the_vault_says_unavailable() {
    let login = Login { server: "http://keyring-test.invalid:7878", user: "nobody" };
    let result = Vault::os().and_then(|vault| vault.save(login, "x"));
    match result {
        Err(Error::Unavailable(why)) => assert!(!why.is_empty()),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}
