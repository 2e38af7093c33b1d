//! The Tauri commands: thin adapters from the webview to `client`, `hosting`, `nearby` and `recent`.
//! Errors cross as `{code, message}` (see `ClientError`'s `Serialize`).

use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State, WebviewWindow};
use tauri_plugin_clipboard_manager::ClipboardExt;
use tauri_plugin_notification::NotificationExt;
use tokio::sync::Mutex;

use crate::bridge::forward_events;
use confab_protocol::{now_ms, Limits};

use crate::client::{ChatClient, ClientError, ClientEvent, ConnectOptions, Features, Result, Timing};
use crate::hosting::{self, HostError, HostInfo, HostOptions, HostedChat};
use crate::nearby::{self, NearbyEvent};
use crate::passwords::{PasswordError, Passwords};
use crate::recent::{self, RecentServer};

/// The app's one chat session (the UI shows one server at a time).
#[derive(Default)]
pub struct AppState {
    /// An async mutex: `connect` holds it while connecting, so two clicks cannot open two sessions.
    session: Mutex<Option<ChatClient>>,
    /// The chat this app hosts, if any (its server runs in Rust tasks, independent of the webview).
    hosting: Mutex<Option<HostedChat>>,
    /// The task streaming chats found on the network to the connect screen.
    nearby: std::sync::Mutex<Option<tauri::async_runtime::JoinHandle<()>>>,
    /// Saved passwords (OS keyring only).
    passwords: Passwords,
}

/// What the chat view needs to start.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    server: String,
    name: String,
    features: Features,
    limits: Limits,
    /// Set when "Remember password" was asked for but the keyring could not keep it.
    keyring_note: Option<String>,
}

#[tauri::command]
pub async fn connect(
    app: AppHandle,
    state: State<'_, AppState>,
    server: String,
    username: String,
    password: Option<String>,
    remember: Option<bool>,
    events: Channel<Vec<ClientEvent>>,
) -> Result<SessionInfo> {
    let mut session = state.session.lock().await;
    if let Some(previous) = session.take() {
        previous.disconnect().await;
    }
    let password = password.filter(|p| !p.is_empty());
    let options = ConnectOptions { server, username, password: password.clone(), timing: Timing::default() };
    let (client, receiver) = ChatClient::connect(options).await?;
    forward_events(receiver, events);
    let mut info = SessionInfo {
        server: client.server.clone(),
        name: client.name.clone(),
        features: client.features,
        limits: client.limits(),
        keyring_note: None,
    };
    // Only after the server accepted it: a wrong password is never remembered. Unticked: forgotten.
    let saved = match (remember, &password) {
        (Some(true), Some(password)) => Some(state.passwords.save(&info.server, &info.name, password).await),
        (Some(false), _) => Some(state.passwords.forget(&info.server, &info.name).await),
        _ => None,
    };
    if let Some(Err(e)) = saved {
        info.keyring_note = remember.unwrap_or(false).then(|| e.to_string());
    }
    if let Some(path) = recent_path(&app) {
        let entry = RecentServer { server: info.server.clone(), username: info.name.clone(), last_used: now_ms() };
        if let Err(e) = recent::remember(&path, entry) {
            tracing::warn!("could not save the recent servers list: {e}");
        }
    }
    *session = Some(client);
    Ok(info)
}

/// Queues a message; returns its local id (the UI shows it as pending until `delivered`).
#[tauri::command]
pub async fn send(state: State<'_, AppState>, text: String) -> Result<u64> {
    state.session.lock().await.as_ref().ok_or(ClientError::NotConnected)?.send(&text)
}

/// After the session reported `nameTaken`: registers again under `username`.
#[tauri::command]
pub async fn rejoin(state: State<'_, AppState>, username: String) -> Result<String> {
    state.session.lock().await.as_ref().ok_or(ClientError::NotConnected)?.rejoin(&username).await
}

#[tauri::command]
pub async fn set_typing(state: State<'_, AppState>, typing: bool) -> Result<()> {
    match state.session.lock().await.as_ref() {
        Some(client) => client.set_typing(typing),
        None => Ok(()),
    }
}

#[tauri::command]
pub async fn disconnect(state: State<'_, AppState>) -> Result<()> {
    if let Some(client) = state.session.lock().await.take() {
        client.disconnect().await;
    }
    Ok(())
}

#[tauri::command]
pub fn recent_servers(app: AppHandle) -> Vec<RecentServer> {
    recent_path(&app).map(|p| recent::load(&p)).unwrap_or_default()
}

/// Forgets a recent server and the password saved for it.
#[tauri::command]
pub async fn forget_server(app: AppHandle, state: State<'_, AppState>, server: String) -> Result<()> {
    let Some(path) = recent_path(&app) else { return Ok(()) };
    for entry in recent::load(&path).iter().filter(|r| r.server == server) {
        // Best effort: without a keyring there is nothing saved to remove.
        let _ = state.passwords.forget(&entry.server, &entry.username).await;
    }
    if let Err(e) = recent::forget(&path, &server) {
        tracing::warn!("could not update the recent servers list: {e}");
    }
    Ok(())
}

/// The password saved for this server and name, if any.
#[tauri::command]
pub async fn saved_password(
    state: State<'_, AppState>,
    server: String,
    username: String,
) -> std::result::Result<Option<String>, PasswordError> {
    state.passwords.load(&server, &username).await
}

/// The title carries the unread count; the webview cannot set the native title itself.
#[tauri::command]
pub fn set_title(window: WebviewWindow, title: String) {
    if let Err(e) = window.set_title(&title) {
        tracing::warn!("could not set the window title: {e}");
    }
}

/// A desktop notification; best effort (a desktop without a notification service just has none).
#[tauri::command]
pub fn notify(app: AppHandle, title: String, body: String) {
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::debug!("notification not shown: {e}");
    }
}

/// Starts hosting a chat; the page then joins it with `connect` at `localUrl`.
#[tauri::command]
pub async fn host_chat(state: State<'_, AppState>, options: HostOptions) -> std::result::Result<HostInfo, HostError> {
    let mut hosting = state.hosting.lock().await;
    if hosting.is_some() {
        return Err(HostError::AlreadyHosting);
    }
    let chat = HostedChat::start(options).await?;
    let info = chat.info().clone();
    *hosting = Some(chat);
    Ok(info)
}

/// Stops the hosted chat (everyone is told, the port is freed) and leaves it.
#[tauri::command]
pub async fn stop_hosting(state: State<'_, AppState>) -> Result<()> {
    stop_hosted_chat(&state).await;
    if let Some(client) = state.session.lock().await.take() {
        client.disconnect().await;
    }
    Ok(())
}

/// The default port of the Host form.
#[tauri::command]
pub fn default_host_port() -> u16 {
    hosting::DEFAULT_PORT
}

/// Streams chats found on the local network to `events` (replacing an earlier stream).
#[tauri::command]
pub fn watch_nearby(state: State<'_, AppState>, events: Channel<NearbyEvent>) {
    let task = tauri::async_runtime::spawn(nearby::watch(move |event| events.send(event).is_ok()));
    let mut slot = state.nearby.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(previous) = slot.replace(task) {
        previous.abort();
    }
}

/// Copies a join URL; false when the desktop has no clipboard.
#[tauri::command]
pub fn copy_text(app: AppHandle, text: String) -> bool {
    match app.clipboard().write_text(text) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!("could not copy to the clipboard: {e}");
            false
        }
    }
}

/// When the app quits: a hosted chat is closed properly (everyone told, port freed).
pub fn on_exit(app: &AppHandle) {
    let state = app.state::<AppState>();
    tauri::async_runtime::block_on(stop_hosted_chat(&state));
}

async fn stop_hosted_chat(state: &AppState) {
    if let Some(chat) = state.hosting.lock().await.take() {
        chat.stop().await;
    }
}

fn recent_path(app: &AppHandle) -> Option<std::path::PathBuf> {
    // CONFAB_CONFIG_DIR lets tests use a throwaway directory instead of the user's.
    let dir = match std::env::var_os("CONFAB_CONFIG_DIR") {
        Some(dir) => dir.into(),
        None => app.path().app_config_dir().ok()?,
    };
    Some(recent::path_in(&dir))
}
