//! The recent servers list: a small JSON file in the app's config directory.
//!
//! Only the address and the name are kept, never the password (saved passwords live in the OS
//! keyring, `passwords`). A missing or damaged file is an empty list, not an error: it is a convenience.

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

pub fn forget(path: &Path, server: &str) -> std::io::Result<()> {
    let mut list = load(path);
    list.retain(|r| r.server != server);
    save(path, &list)
}

fn save(path: &Path, list: &[RecentServer]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Write then rename, so a crash never leaves half a file.
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(list).map_err(std::io::Error::other)?)?;
    std::fs::rename(tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_most_recent_first_without_duplicates() {
        let dir = std::env::temp_dir().join(format!("confab-recent-{}", std::process::id()));
        let path = path_in(&dir);
        let entry = |server: &str, t| RecentServer { server: server.into(), username: "me".into(), last_used: t };
        for i in 0..10 {
            remember(&path, entry(&format!("http://h{i}:1/"), i)).unwrap();
        }
        remember(&path, entry("http://h5:1/", 99)).unwrap();
        let list = load(&path);
        assert_eq!(list.len(), MAX_RECENT);
        assert_eq!(list[0], entry("http://h5:1/", 99));
        assert_eq!(list.iter().filter(|r| r.server == "http://h5:1/").count(), 1);
        forget(&path, "http://h5:1/").unwrap();
        assert!(load(&path).iter().all(|r| r.server != "http://h5:1/"));
        assert!(!std::fs::read_to_string(&path).unwrap().contains("password"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
