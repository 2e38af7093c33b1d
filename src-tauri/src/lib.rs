//! The Confab desktop app. This file only wires the pieces together:
//! - `client`: the chat client (socket.io in Rust), usable and tested without a window;
//! - `commands`: the thin Tauri commands the webview calls;
//! - `bridge`: streams client events to the webview in batches;
//! - `recent`: the recent servers list (never passwords).

pub mod client;

mod bridge;
mod commands;
mod recent;

use tracing_subscriber::EnvFilter;

pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    tauri::Builder::default()
        .plugin(tauri_plugin_notification::init())
        .manage(commands::AppState::default())
        .invoke_handler(tauri::generate_handler![
            commands::connect,
            commands::send,
            commands::set_typing,
            commands::disconnect,
            commands::recent_servers,
            commands::forget_server,
            commands::set_title,
            commands::notify,
        ])
        .run(tauri::generate_context!())
        .expect("error while running the Confab app");
}
