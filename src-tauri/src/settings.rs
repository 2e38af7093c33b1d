//! The user's settings (notifications, sound, keeping Confab in the tray, theme): one JSON file in the
//! app's config directory, readable by the user only. A missing or unreadable file means the defaults:
//! settings are a convenience, never a reason not to start.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

const FILE_NAME: &str = "settings.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    /// Light or dark as the desktop says (prefers-color-scheme).
    #[default]
    System,
    Light,
    Dark,
}

/// Unknown or missing fields take their defaults, so an older or newer file still loads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    /// Desktop notifications for new messages while the window is in the background (mentions of
    /// your name are notified even when this is off).
    pub notifications: bool,
    /// Notifications ask the desktop for its "new message" sound.
    pub sound: bool,
    /// Closing the window while in a chat keeps Confab running in the tray.
    pub keep_in_tray: bool,
    pub theme: Theme,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { notifications: true, sound: true, keep_in_tray: true, theme: Theme::System }
    }
}

pub fn path_in(config_dir: &Path) -> PathBuf {
    config_dir.join(FILE_NAME)
}

/// The settings in `path`; the defaults when it is missing or not a settings file (said in the log).
pub fn load(path: &Path) -> Settings {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!("{} is not a settings file ({e}): using the defaults", path.display());
            Settings::default()
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Settings::default(),
        Err(e) => {
            tracing::warn!("cannot read {} ({e}): using the defaults", path.display());
            Settings::default()
        }
    }
}

pub fn save(path: &Path, settings: &Settings) -> std::io::Result<()> {
    crate::private_file::write_json(path, settings)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn settings_round_trip_through_a_file_only_the_user_can_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_in(&dir.path().join("confab"));
        assert_eq!(load(&path), Settings::default(), "no file: the defaults");
        let changed = Settings { notifications: false, sound: false, keep_in_tray: false, theme: Theme::Dark };
        save(&path, &changed).unwrap();
        assert_eq!(load(&path), changed);
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"keepInTray\": false") && text.contains("\"theme\": \"dark\""), "{text}");
    }

    #[test]
    fn an_older_file_made_readable_by_others_is_made_private_when_saved() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_in(dir.path());
        std::fs::write(&path, "{}").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        save(&path, &Settings::default()).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn a_bad_file_means_the_defaults_and_missing_fields_take_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_in(dir.path());
        for bad in ["", "not json", "[1,2]", "{\"theme\":\"purple\"}", "{\"sound\":\"loud\"}"] {
            std::fs::write(&path, bad).unwrap();
            assert_eq!(load(&path), Settings::default(), "{bad:?}");
        }
        std::fs::write(&path, "{\"theme\":\"light\",\"futureSetting\":1}").unwrap();
        assert_eq!(load(&path), Settings { theme: Theme::Light, ..Settings::default() });
        // A directory where the file should be: unreadable, still the defaults.
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        assert_eq!(load(&path), Settings::default());
    }
}
