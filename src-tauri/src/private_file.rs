//! Writing the app's small JSON files (settings, certificate pins): whole or not at all, readable by
//! the user only.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

/// Writes `value` as JSON to `path` (its folder made if needed): to a temporary file first, then
/// renamed over it, so a crash never leaves half a file; mode 0600, also over an older file.
pub fn write_json(path: &Path, value: &impl Serialize) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    // The mode above applies to new files only.
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    file.write_all(&serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?)?;
    file.sync_all()?;
    std::fs::rename(tmp, path)
}
