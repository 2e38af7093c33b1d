//! The recent servers list: a small JSON file in the app's config directory.
//!
//! Only the address and the name are kept, never the password (saved passwords live in the OS
//! keyring, `passwords`). A missing or damaged file is an empty list, not an error: it is a convenience.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// How many servers the connect screen offers.
const MAX_RECENT: usize = 8;
const FILE_NAME: &str = "recent-servers.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecentServer {
    /// Normalised URL, so two spellings of one server are one entry.
    pub server: String,
    /// The name last used there, to prefill the form.
    pub username: String,
    /// Milliseconds since the epoch of the last successful connect, for ordering.
    pub last_used: u64,
    /// The chat's name as the server said it then (shown above the address); absent in older files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_name: Option<String>,
}

pub fn path_in(config_dir: &Path) -> PathBuf {
    config_dir.join(FILE_NAME)
}

pub fn load(path: &Path) -> Vec<RecentServer> {
    std::fs::read(path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default()
}

/// Puts `entry` first, drops older entries for the same server, keeps `MAX_RECENT`.
pub fn remember(path: &Path, entry: RecentServer) -> std::io::Result<()> {
    let mut list = load(path);
    list.retain(|r| r.server != entry.server);
    list.insert(0, entry);
    list.truncate(MAX_RECENT);
    save(path, &list)
}

/// The chat's name for the entry of `server`, when the server told it (only written when it changed).
pub fn name(path: &Path, server: &str, chat_name: &str) -> std::io::Result<()> {
    let mut list = load(path);
    let Some(entry) = list.iter_mut().find(|r| r.server == server && r.chat_name.as_deref() != Some(chat_name)) else {
        return Ok(());
    };
    entry.chat_name = Some(chat_name.to_owned());
    save(path, &list)
}

pub fn forget(path: &Path, server: &str) -> std::io::Result<()> {
    let mut list = load(path);
    list.retain(|r| r.server != server);
    save(path, &list)
}

fn save(path: &Path, list: &[RecentServer]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Write then rename, so a crash never leaves half a file. Readable by the user only: which
    // servers someone uses, under which name, is their business (issue 10 finding 12).
    let tmp = path.with_extension("json.tmp");
    let mut file = private_file(&tmp)?;
    file.write_all(&serde_json::to_vec_pretty(list).map_err(std::io::Error::other)?)?;
    file.sync_all()?;
    std::fs::rename(tmp, path)
}

/// Creates (or truncates) `path` with mode 0600.
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path)?;
    // An older file may have been created with the default mode: the mode applies to new files only.
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("confab-recent-mode-{}", std::process::id()));
        let path = path_in(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(&path, "[]").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        remember(
            &path,
            RecentServer { server: "http://h:1/".into(), username: "me".into(), last_used: 1, chat_name: None },
        )
        .unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn remembers_most_recent_first_without_duplicates() {
        let dir = std::env::temp_dir().join(format!("confab-recent-{}", std::process::id()));
        let path = path_in(&dir);
        let entry = |server: &str, t| RecentServer {
            server: server.into(),
            username: "me".into(),
            last_used: t,
            chat_name: None,
        };
        for i in 0..10 {
            remember(&path, entry(&format!("http://h{i}:1/"), i)).unwrap();
        }
        remember(&path, entry("http://h5:1/", 99)).unwrap();
        let list = load(&path);
        assert_eq!(list.len(), MAX_RECENT);
        assert_eq!(list[0], entry("http://h5:1/", 99));
        assert_eq!(list.iter().filter(|r| r.server == "http://h5:1/").count(), 1);
        name(&path, "http://h5:1/", "Design team").unwrap();
        assert_eq!(load(&path)[0].chat_name.as_deref(), Some("Design team"));
        assert_eq!(load(&path)[1].chat_name, None);
        forget(&path, "http://h5:1/").unwrap();
        assert!(load(&path).iter().all(|r| r.server != "http://h5:1/"));
        assert!(!std::fs::read_to_string(&path).unwrap().contains("password"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
