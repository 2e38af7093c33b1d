//! The Confab desktop app. This file only wires the pieces together:
//! - `client`: the chat client (socket.io in Rust), usable and tested without a window;
//! - `commands`: the thin Tauri commands the webview calls;
//! - `bridge`: streams client events to the webview in batches;
//! - `hosting`: hosting a chat (the server in-process, advertised on the network);
//! - `nearby`: chats found on the local network;
//! - `passwords`: saved passwords, in the OS keyring only;
//! - `pins`: the certificates of https chats trusted on first use (by fingerprint);
//! - `local_log`: the local history of every conversation seen, and its search;
//! - `lifecycle`: quitting (also on SIGTERM/SIGINT) closes a hosted chat properly;
//! - `recent`: the recent servers list (never passwords);
//! - `desktop` with `settings`, `tray`, `deeplink`, `notify`, `qr`: the desktop's conventions (one
//!   instance, confab:// links, tray, notifications that open the chat, settings, the join QR code).

pub mod client;
pub mod files;

mod bridge;
mod commands;
mod deeplink;
mod desktop;
mod hosting;
mod lifecycle;
mod local_log;
mod nearby;
mod notify;
mod passwords;
mod pins;
mod private_file;
mod qr;
mod reachable;
mod recent;
mod settings;
mod tray;

pub fn run() {
    confab_server::logging::init("info");
    use tauri_plugin_window_state::StateFlags;
    tauri::Builder::default()
        // First: a second start hands its arguments (a confab:// link) to the running app and exits.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| desktop::show_window(app)))
        .plugin(tauri_plugin_deep_link::init())
        // Size, place and maximised, not visibility: a window hidden in the tray at quit opens next time.
        .plugin(
            tauri_plugin_window_state::Builder::default()
                .with_state_flags(StateFlags::SIZE | StateFlags::POSITION | StateFlags::MAXIMIZED)
                .build(),
        )
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_opener::init())
        .manage(commands::AppState::default())
        .setup(|app| {
            lifecycle::quit_on_signals(app.handle());
            // Opened before the window asks for it; a few milliseconds (measured in local_log's tests).
            use tauri::Manager;
            app.manage(local_log::LocalHistory::open_in(app.path().app_data_dir().ok().as_deref()));
            desktop::setup(app.handle());
            Ok(())
        })
        .on_window_event(desktop::on_window_event)
        .invoke_handler(tauri::generate_handler![
            commands::connect,
            commands::send,
            commands::rejoin,
            commands::set_typing,
            commands::disconnect,
            commands::cancel_connect,
            commands::recent_servers,
            commands::server_answers,
            commands::forget_server,
            commands::set_title,
            commands::notify,
            commands::host_chat,
            commands::stop_hosting,
            commands::default_host_port,
            commands::watch_nearby,
            commands::copy_text,
            commands::has_saved_password,
            commands::load_older,
            commands::upload_file,
            commands::cancel_upload,
            commands::file_image,
            commands::save_file,
            commands::local_history,
            commands::search_messages,
            commands::get_settings,
            commands::set_settings,
            commands::watch_desktop,
            commands::set_tray_status,
            commands::share_join_url,
        ])
        .build(tauri::generate_context!())
        .expect("error while building the Confab app")
        .run(|app, event| {
            if let tauri::RunEvent::Exit = event {
                lifecycle::on_exit(app);
            }
        });
}
