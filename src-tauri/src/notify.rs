//! Desktop notifications that open the conversation when clicked. The notification plugin has no
//! click events on Linux, so this talks to the desktop's notification service through notify-rust
//! (as other Tauri apps do): an "Open" action, and the notification's own click (its default action).
//!
//! One Confab notification at a time: a new one replaces the one still shown (like other chat apps),
//! so one thread waits for the click however busy the chat is.

use std::sync::{Mutex, PoisonError};

use notify_rust::{Hint, Notification};
use tauri::{AppHandle, Manager};

use crate::desktop::{show_window, Desktop, DesktopEvent};

/// The id of the notification shown now, while a thread waits for its click.
#[derive(Default)]
pub struct Shown(Mutex<Option<u32>>);

/// Actions that open the conversation: clicking the notification itself, or its "Open" button.
const OPEN_ACTIONS: [&str; 2] = ["default", "open"];

/// Whether a message is notified: all of them with notifications on, mentions of your name always.
pub fn wanted(notifications_on: bool, mention: bool) -> bool {
    notifications_on || mention
}

/// The notification for a message; with `sound`, the desktop's sound for a new instant message.
/// `markup`: the service reads the body as markup, so the message text is escaped (it stays text).
fn build(title: &str, body: &str, sound: bool, markup: bool, replaces: Option<u32>) -> Notification {
    let body = if markup { escape(body) } else { body.to_owned() };
    let mut n = Notification::new();
    n.appname("Confab").summary(title).body(&body).icon("confab").action("default", "Open").action("open", "Open");
    n.hint(Hint::Category("im.received".into()));
    if sound {
        n.sound_name("message-new-instant");
    }
    if let Some(id) = replaces {
        n.id(id);
    }
    n
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Shows a notification (best effort: a desktop without a notification service just has none),
/// unless the settings say not to. Runs on a thread of its own (the D-Bus calls block).
/// `conversation`: the person a private message came from (none: the room), opened on a click.
pub fn show(app: &AppHandle, title: String, body: String, mention: bool, conversation: Option<String>) {
    let settings = app.state::<Desktop>().settings();
    if !wanted(settings.notifications, mention) {
        return;
    }
    let app = app.clone();
    std::thread::spawn(move || {
        let shown = app.state::<Shown>();
        let mut current = shown.0.lock().unwrap_or_else(PoisonError::into_inner);
        let markup = notify_rust::get_capabilities().is_ok_and(|c| c.iter().any(|c| c == "body-markup"));
        let handle = match build(&title, &body, settings.sound, markup, *current).show() {
            Ok(handle) => handle,
            Err(e) => return tracing::debug!("notification not shown: {e}"),
        };
        if current.is_some() {
            return; // replaced the one shown: its thread waits for the click
        }
        *current = Some(handle.id());
        drop(current);
        handle.wait_for_action(|action| {
            if OPEN_ACTIONS.contains(&action) {
                show_window(&app);
                app.state::<Desktop>().tell_page(DesktopEvent::Opened { conversation: conversation.clone() });
            }
        });
        *shown.0.lock().unwrap_or_else(PoisonError::into_inner) = None;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_notified_even_with_notifications_off() {
        assert!(wanted(true, false));
        assert!(wanted(false, true));
        assert!(wanted(true, true));
        assert!(!wanted(false, false));
    }

    #[test]
    fn a_notification_offers_open_and_asks_for_a_sound_only_when_wanted() {
        let n = build("alice", "hi <b>bob</b> & co", true, false, None);
        assert_eq!(
            (n.summary.as_str(), n.body.as_str(), n.appname.as_str()),
            ("alice", "hi <b>bob</b> & co", "Confab")
        );
        assert_eq!(n.actions, ["default", "Open", "open", "Open"]);
        assert!(n.hints.contains(&Hint::SoundName("message-new-instant".into())));
        let quiet = build("alice", "hi <b>bob</b> & co", false, true, Some(7));
        assert!(!quiet.hints.iter().any(|h| matches!(h, Hint::SoundName(_))));
        assert_eq!(
            quiet.body, "hi &lt;b&gt;bob&lt;/b&gt; &amp; co",
            "a service that reads markup gets the text escaped"
        );
    }
}
