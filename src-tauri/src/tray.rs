//! The tray icon. Its menu is the interface (Linux does not deliver clicks on tray icons): Open, the
//! connection state (a disabled item) and Quit, which really quits (a hosted chat is closed properly).

use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};

use crate::desktop::{show_window, Desktop};

/// The menu item showing the connection state, kept to change its text.
struct StatusItem(MenuItem<Wry>);

/// Puts the icon in the tray; tells `Desktop` whether there is one (without, closing the window quits).
pub fn create(app: &AppHandle) -> tauri::Result<()> {
    let open = MenuItem::with_id(app, "open", "Open Confab", true, None::<&str>)?;
    let status = MenuItem::with_id(app, "status", "Not connected", false, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&open, &status, &PredefinedMenuItem::separator(app)?, &quit])?;
    let mut tray = TrayIconBuilder::with_id("main").tooltip("Confab").menu(&menu).show_menu_on_left_click(true);
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.on_menu_event(|app, event| match event.id().as_ref() {
        "open" => show_window(app),
        "quit" => app.exit(0),
        _ => {}
    })
    .build(app)?;
    app.manage(StatusItem(status));
    app.state::<Desktop>().set_tray_shown(true);
    Ok(())
}

/// The connection state shown in the menu ("Connected to Design team", "Reconnecting…", …).
pub fn set_status(app: &AppHandle, text: &str) {
    if let Some(item) = app.try_state::<StatusItem>() {
        if let Err(e) = item.0.set_text(text) {
            tracing::debug!("could not update the tray menu: {e}");
        }
    }
}
