//! What the desktop conventions share (tray, confab:// links, notifications, settings): the settings
//! in force, whether the page is in a chat, and the stream of desktop events to the page (a link to
//! join, a notification clicked). Events that come before the page listens wait for it.

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager};

use crate::settings::{self, Settings};

/// From the desktop to the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum DesktopEvent {
    /// A `confab://join` link: fill in the connect screen with `server` and ask before joining.
    Join { server: String },
    /// A `confab://` link that was refused, in words.
    BadLink { message: String },
    /// A notification was clicked: its conversation is shown (`conversation`: the person of a private
    /// one; none: the room).
    Opened { conversation: Option<String> },
}

#[derive(Default)]
pub struct Desktop {
    settings: Mutex<Settings>,
    /// Where the settings are kept (none when the app has no config directory).
    settings_path: Option<PathBuf>,
    page: Mutex<Page>,
    /// Whether the page is in a chat (closing the window then keeps Confab in the tray).
    in_chat: Mutex<bool>,
    /// Whether the tray icon exists: without one, hiding the window would lose the app.
    tray_shown: Mutex<bool>,
}

#[derive(Default)]
struct Page {
    channel: Option<Channel<DesktopEvent>>,
    waiting: Vec<DesktopEvent>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Desktop {
    /// Loads the settings from `settings_path` (the defaults when there is none or it is unreadable).
    pub fn new(settings_path: Option<PathBuf>) -> Self {
        let settings = settings_path.as_deref().map(settings::load).unwrap_or_default();
        Desktop { settings: Mutex::new(settings), settings_path, ..Desktop::default() }
    }

    pub fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    /// Keeps `new` in force and on disk.
    pub fn set_settings(&self, new: Settings) -> std::io::Result<()> {
        *lock(&self.settings) = new.clone();
        match &self.settings_path {
            Some(path) => settings::save(path, &new),
            None => Err(std::io::Error::other("the app has no config directory")),
        }
    }

    pub fn set_tray_shown(&self, shown: bool) {
        *lock(&self.tray_shown) = shown;
    }

    pub fn set_in_chat(&self, in_chat: bool) {
        *lock(&self.in_chat) = in_chat;
    }

    /// Whether closing the window hides it to the tray instead of quitting.
    pub fn hide_on_close(&self) -> bool {
        hide_on_close(self.settings().keep_in_tray, *lock(&self.in_chat), *lock(&self.tray_shown))
    }

    /// The page's stream of desktop events; what waited for it is sent at once.
    pub fn watch(&self, channel: Channel<DesktopEvent>) {
        let mut page = lock(&self.page);
        for event in page.waiting.drain(..) {
            let _ = channel.send(event);
        }
        page.channel = Some(channel);
    }

    /// Sends `event` to the page, or keeps it until the page listens.
    pub fn tell_page(&self, event: DesktopEvent) {
        let mut page = lock(&self.page);
        let unsent = match &page.channel {
            Some(channel) => channel.send(event.clone()).is_err(),
            None => true,
        };
        if unsent {
            page.channel = None;
            page.waiting.push(event);
        }
    }
}

/// Closing the window keeps Confab running only while in a chat, when the setting says so and
/// there is a tray icon to come back through.
fn hide_on_close(keep_in_tray: bool, in_chat: bool, tray_shown: bool) -> bool {
    keep_in_tray && in_chat && tray_shown
}

/// Sets up the desktop conventions once the app runs: settings loaded, tray icon, confab:// links.
pub fn setup(app: &AppHandle) {
    let settings_path = crate::commands::config_dir(app).map(|dir| settings::path_in(&dir));
    app.manage(Desktop::new(settings_path));
    app.manage(crate::notify::Shown::default());
    if let Err(e) = crate::tray::create(app) {
        tracing::warn!("no tray icon ({e}): closing the window quits Confab");
    }
    crate::deeplink::listen(app);
}

/// Closing the main window while in a chat hides it to the tray, as the settings say.
pub fn on_window_event(window: &tauri::Window, event: &tauri::WindowEvent) {
    if let tauri::WindowEvent::CloseRequested { api, .. } = event {
        if window.label() == "main" && window.state::<Desktop>().hide_on_close() {
            api.prevent_close();
            if let Err(e) = window.hide() {
                tracing::warn!("could not hide the window: {e}");
            }
        }
    }
}

/// Shows the main window in front (from the tray, a notification or a second start of the app).
pub fn show_window(app: &AppHandle) {
    let Some(window) = app.get_webview_window("main") else { return };
    let _ = window.show();
    let _ = window.unminimize();
    if let Err(e) = window.set_focus() {
        tracing::debug!("could not focus the window: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clicked_notification_tells_the_page_which_conversation_to_open() {
        let private = DesktopEvent::Opened { conversation: Some("ann".into()) };
        assert_eq!(
            serde_json::to_value(private).unwrap(),
            serde_json::json!({"type": "opened", "conversation": "ann"})
        );
        let room = DesktopEvent::Opened { conversation: None };
        assert_eq!(serde_json::to_value(room).unwrap(), serde_json::json!({"type": "opened", "conversation": null}));
    }

    #[test]
    fn the_window_hides_to_the_tray_only_in_a_chat_with_the_setting_and_a_tray() {
        assert!(hide_on_close(true, true, true));
        assert!(!hide_on_close(false, true, true), "the setting is off: closing quits");
        assert!(!hide_on_close(true, false, true), "not in a chat: closing quits");
        assert!(!hide_on_close(true, true, false), "no tray to come back through: closing quits");
    }

    #[test]
    fn settings_changed_are_kept_on_disk_and_a_new_start_loads_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = settings::path_in(dir.path());
        let desktop = Desktop::new(Some(path.clone()));
        assert_eq!(desktop.settings(), Settings::default());
        let changed = Settings { keep_in_tray: false, ..Settings::default() };
        desktop.set_settings(changed.clone()).unwrap();
        assert!(!desktop.hide_on_close());
        assert_eq!(Desktop::new(Some(path)).settings(), changed);
        assert!(Desktop::new(None).set_settings(changed).is_err(), "no config directory is said");
    }
}
