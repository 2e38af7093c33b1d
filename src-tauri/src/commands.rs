//! The Tauri commands: thin adapters from the webview to `client`, `hosting`, `nearby`, `pins` and
//! `recent`.
//! Errors cross as `{code, message}` (see `ClientError`'s `Serialize`).

use std::sync::PoisonError;

use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State, WebviewWindow};
use tauri_plugin_clipboard_manager::ClipboardExt;
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::bridge::forward_events;
use crate::desktop::{Desktop, DesktopEvent};
use crate::local_log::{Conversation, LocalHistory, SearchHit, StoredPage};
use crate::settings::Settings;
use confab_protocol::{now_ms, Limits};

use crate::client::{
    normalize_server_url, ChatClient, ClientError, ClientEvent, ConnectOptions, Features, MessageExtras, OlderPage,
    Result, Timing,
};
use crate::files::{FileError, FileServer, UploadedFile};
use crate::hosting::{self, HostError, HostInfo, HostOptions, HostedChat};
use crate::nearby::{self, NearbyEvent};
use crate::passwords::{PasswordError, Passwords};
use crate::pins;
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
    /// Cancels the join in progress (`cancel_connect`): `connect` holds `session` until it is done.
    joining: std::sync::Mutex<Option<oneshot::Sender<()>>>,
    /// Saved passwords (OS keyring only).
    passwords: Passwords,
    /// Uploads under way, by the id the page gave them, so `cancel_upload` can stop one.
    uploads: std::sync::Mutex<std::collections::HashMap<String, tokio::task::AbortHandle>>,
}

/// What the chat view needs to start.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    server: String,
    name: String,
    features: Features,
    limits: Limits,
    /// The chat's name, when the server says it (`welcome`).
    chat_name: Option<String>,
    /// Set when "Remember password" was asked for but the keyring could not keep it.
    keyring_note: Option<String>,
}

/// Why `connect` failed: the chat client's reasons, or the saved password it was asked to use could
/// not be used. Crosses to the webview as `{code, message}`, like `ClientError`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The page said a password was saved, but the keyring holds none (any more) for this server and name.
    #[error("No password is saved for this server and name any more. Type the password.")]
    NoSavedPassword,
    /// A found chat announces another certificate than the one pinned for its address: another
    /// machine on the network may be passing for it. Never joined; the user may replace the pin
    /// only after the host says they made a new certificate.
    #[error("The chat found on the network announces another certificate ({announced}) than the one you trusted before at this address ({expected}). Someone on the network may be passing for it; ask the host before trusting the new one.")]
    AnnouncedCertificateChanged { expected: String, announced: String },
    /// The page passed something that is not a SHA-256 fingerprint.
    #[error("“{0}” is not a certificate fingerprint.")]
    InvalidFingerprint(String),
    /// The user pressed Cancel while joining.
    #[error("Not joined: cancelled.")]
    Cancelled,
    /// The keyring could not be read.
    #[error("{}", match .0 {
        PasswordError::Unavailable { .. } => "Your system keyring is not available, so the saved password cannot be used. Type the password.".to_owned(),
        PasswordError::Failed(why) => format!("The system keyring failed ({why}), so the saved password cannot be used. Type the password."),
    })]
    Keyring(PasswordError),
}

impl ConnectError {
    pub fn code(&self) -> &'static str {
        match self {
            ConnectError::Client(e) => e.code(),
            ConnectError::NoSavedPassword => "no_saved_password",
            ConnectError::AnnouncedCertificateChanged { .. } => "certificate_changed",
            ConnectError::InvalidFingerprint(_) => "invalid_fingerprint",
            ConnectError::Cancelled => "cancelled",
            ConnectError::Keyring(e) => e.code(),
        }
    }
}

/// `{code, message}`, and for the certificate cases what the page shows to compare:
/// `untrusted_certificate` → `fingerprint`; `certificate_changed` → `expected` (the pin, or the
/// announced fingerprint a found chat did not present), `presented` (what the server presented, or
/// what the found chat announces) and `announced` (true when the difference is in the announcement).
impl Serialize for ConnectError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut s = serializer.serialize_map(None)?;
        s.serialize_entry("code", self.code())?;
        s.serialize_entry("message", &self.to_string())?;
        match self {
            ConnectError::Client(ClientError::UntrustedCertificate { fingerprint }) => {
                s.serialize_entry("fingerprint", fingerprint)?;
            }
            ConnectError::Client(ClientError::CertificateChanged { expected, presented }) => {
                s.serialize_entry("expected", &expected.to_ascii_uppercase())?;
                s.serialize_entry("presented", presented)?;
                s.serialize_entry("announced", &false)?;
            }
            ConnectError::AnnouncedCertificateChanged { expected, announced } => {
                s.serialize_entry("expected", expected)?;
                s.serialize_entry("presented", announced)?;
                s.serialize_entry("announced", &true)?;
            }
            _ => {}
        }
        s.end()
    }
}

/// The password to join with: the one typed, else (when asked) the one saved in the keyring, which
/// stays in Rust: the webview never sees it. Returns it and whether it came from the keyring.
async fn password_to_use(
    passwords: &Passwords,
    server: &str,
    username: &str,
    typed: Option<String>,
    use_saved: bool,
) -> std::result::Result<(Option<String>, bool), ConnectError> {
    let typed = typed.filter(|p| !p.is_empty());
    if typed.is_some() || !use_saved {
        return Ok((typed, false));
    }
    // Saved under the normalised URL and the registered (trimmed) name, as `connect` saves it.
    let server = normalize_server_url(server)?;
    match passwords.load(&server, username.trim()).await {
        Ok(Some(saved)) => Ok((Some(saved), true)),
        Ok(None) => Err(ConnectError::NoSavedPassword),
        Err(e) => Err(ConnectError::Keyring(e)),
    }
}

/// What to do in the keyring once the server accepted the join.
#[derive(Debug, PartialEq, Eq)]
enum KeyringChange<'a> {
    Save(&'a str),
    Forget,
    Nothing,
}

/// Remember ticked: save a typed password (a saved one used as is is already there). Unticked
/// (`Some(false)`): forget. Not said (`None`): the keyring is not touched.
fn keyring_change<'a>(remember: Option<bool>, password: Option<&'a str>, from_keyring: bool) -> KeyringChange<'a> {
    match (remember, password) {
        (Some(true), Some(password)) if !from_keyring => KeyringChange::Save(password),
        (Some(false), _) => KeyringChange::Forget,
        _ => KeyringChange::Nothing,
    }
}

/// A fingerprint from the page, checked and in upper case (`None` stays `None`).
fn fingerprint_arg(value: Option<String>) -> std::result::Result<Option<String>, ConnectError> {
    match value.filter(|v| !v.trim().is_empty()) {
        None => Ok(None),
        Some(v) => pins::parse_fingerprint(&v).map(Some).ok_or(ConnectError::InvalidFingerprint(v)),
    }
}

/// Joins a chat. `password` is what the user typed; without one, `use_saved_password` joins with the
/// password saved in the keyring for this server and name (read here, never sent to the page).
/// For `https`: `announced_fingerprint` is what a chat picked from the network announced (joined
/// pinned to it without asking, unless another certificate is pinned for that address: refused);
/// `accept_fingerprint` is a certificate the user explicitly trusts (after comparing it with the
/// host's), pinned once the chat server answers. Otherwise a pinned server is held to its pin.
#[tauri::command]
#[allow(clippy::too_many_arguments)] // one per field the page sends, plus Tauri's own
pub async fn connect(
    app: AppHandle,
    state: State<'_, AppState>,
    local: State<'_, LocalHistory>,
    server: String,
    username: String,
    password: Option<String>,
    use_saved_password: Option<bool>,
    remember: Option<bool>,
    announced_fingerprint: Option<String>,
    accept_fingerprint: Option<String>,
    events: Channel<Vec<ClientEvent>>,
) -> std::result::Result<SessionInfo, ConnectError> {
    let announced = fingerprint_arg(announced_fingerprint)?;
    let accepted = fingerprint_arg(accept_fingerprint)?;
    let mut session = state.session.lock().await;
    if let Some(previous) = session.take() {
        previous.disconnect().await;
    }
    let (password, from_keyring) =
        password_to_use(&state.passwords, &server, &username, password, use_saved_password.unwrap_or(false)).await?;
    let normalized = normalize_server_url(&server)?;
    let hosted = hosted_fingerprint(&state, &normalized).await;
    let pins_file = config_dir(&app).map(|dir| pins::path_in(&dir));
    let pinned = pins_file.as_deref().and_then(|path| pins::get(path, &normalized));
    let plan = pins::plan(&pins::Known {
        https: normalized.starts_with("https:"),
        hosted: hosted.as_deref(),
        pinned: pinned.as_deref(),
        announced: announced.as_deref(),
        accepted: accepted.as_deref(),
    })
    .map_err(|e| match e {
        ClientError::CertificateChanged { expected, presented } => {
            ConnectError::AnnouncedCertificateChanged { expected, announced: presented }
        }
        other => ConnectError::Client(other),
    })?;
    let resume = local.resume(&normalized, &username);
    let options = ConnectOptions {
        server: normalized.clone(),
        username,
        password: password.clone(),
        trust: plan.trust,
        timing: Timing::default(),
        resume,
    };
    let (cancel, cancelled) = oneshot::channel();
    *state.joining.lock().unwrap_or_else(PoisonError::into_inner) = Some(cancel);
    let joined = tokio::select! {
        joined = ChatClient::connect(options) => joined,
        Ok(()) = cancelled => return Err(ConnectError::Cancelled),
    };
    state.joining.lock().unwrap_or_else(PoisonError::into_inner).take();
    if let (Some(fingerprint), Some(path)) = (&plan.pin, &pins_file) {
        if pins::reached_the_server(joined.as_ref().map(|_| ())) {
            if let Err(e) = pins::pin(path, &normalized, fingerprint) {
                tracing::warn!("could not save the certificate pin: {e}");
            }
        }
    }
    let (client, receiver) = joined?;
    let mut info = SessionInfo {
        server: client.server.clone(),
        name: client.name.clone(),
        features: client.features,
        limits: client.limits(),
        chat_name: client.chat_name.clone(),
        keyring_note: None,
    };
    // Only after the server accepted it: a wrong password is never remembered. Unticked: forgotten.
    let saved = match keyring_change(remember, password.as_deref(), from_keyring) {
        KeyringChange::Save(password) => Some(state.passwords.save(&info.server, &info.name, password).await),
        KeyringChange::Forget => Some(state.passwords.forget(&info.server, &info.name).await),
        KeyringChange::Nothing => None,
    };
    if let Some(Err(e)) = saved {
        info.keyring_note = remember.unwrap_or(false).then(|| e.to_string());
    }
    // Not the chat this app hosts: its address is dead once hosting stops (the Host form starts it again).
    if let Some(path) = recent_path(&app).filter(|_| hosted.is_none()) {
        let entry = RecentServer {
            server: info.server.clone(),
            username: info.name.clone(),
            last_used: now_ms(),
            chat_name: info.chat_name.clone(),
        };
        if let Err(e) = recent::remember(&path, entry) {
            tracing::warn!("could not save the recent servers list: {e}");
        }
    }
    let receiver = match recent_path(&app).filter(|_| hosted.is_none()) {
        Some(path) => name_recent_entry(receiver, path, info.server.clone()),
        None => receiver,
    };
    forward_events(receiver, events, local.recorder(&client.server, &client.name));
    *session = Some(client);
    Ok(info)
}

/// The chat's name can come after the join (a late `welcome`): the recent servers entry learns it
/// from the session's events on their way to the page.
fn name_recent_entry(
    mut events: mpsc::UnboundedReceiver<ClientEvent>,
    path: std::path::PathBuf,
    server: String,
) -> mpsc::UnboundedReceiver<ClientEvent> {
    let (forward, forwarded) = mpsc::unbounded_channel();
    tauri::async_runtime::spawn(async move {
        while let Some(event) = events.recv().await {
            if let ClientEvent::Session { chat_name: Some(chat_name), .. } = &event {
                if let Err(e) = recent::name(&path, &server, chat_name) {
                    tracing::warn!("could not save the recent servers list: {e}");
                }
            }
            if forward.send(event).is_err() {
                break;
            }
        }
    });
    forwarded
}

/// Queues a message; returns its local id (the UI shows it as pending until `delivered`). `to`: a
/// private message to that name (§2.10); `attachment`: the id of a file uploaded with `upload_file`.
#[tauri::command]
pub async fn send(
    state: State<'_, AppState>,
    text: String,
    to: Option<String>,
    attachment: Option<String>,
) -> Result<u64> {
    let extras = MessageExtras { to, attachment };
    state.session.lock().await.as_ref().ok_or(ClientError::NotConnected)?.send_with(&text, extras)
}

/// After the session reported `nameTaken`: registers again under `username`.
#[tauri::command]
pub async fn rejoin(state: State<'_, AppState>, username: String) -> Result<String> {
    state.session.lock().await.as_ref().ok_or(ClientError::NotConnected)?.rejoin(&username).await
}

/// "Load older messages": the page of the server's history before `before` (the oldest id shown).
/// The session lock is let go before the server answers, so sending goes on meanwhile.
#[tauri::command]
pub async fn load_older(state: State<'_, AppState>, before: u64) -> Result<OlderPage> {
    let request = state.session.lock().await.as_ref().ok_or(ClientError::NotConnected)?.load_older(before);
    request.await
}

/// How many stored messages a join shows at once (the conversation view keeps 3000 lines).
const LOCAL_PAGE: usize = 3000;
/// Search results shown at most.
const SEARCH_RESULTS: usize = 100;

/// The conversation stored on this computer for `server` and `username` (as typed: normalised and
/// trimmed as `connect` does), the newest messages before `before` (a stored `seq`; none: the newest),
/// oldest first. Empty without a local history.
#[tauri::command]
pub async fn local_history(
    local: State<'_, LocalHistory>,
    server: String,
    username: String,
    before: Option<i64>,
) -> Result<StoredPage> {
    let empty = StoredPage { messages: Vec::new(), start_reached: true };
    let (Some(log), Ok(server)) = (local.0.clone(), normalize_server_url(&server)) else { return Ok(empty) };
    let of = Conversation { server, username: username.trim().to_owned() };
    // Off the async runtime: SQLite blocks.
    let read = tauri::async_runtime::spawn_blocking(move || log.page(&of, before, LOCAL_PAGE)).await;
    Ok(read
        .ok()
        .and_then(|page| page.inspect_err(|e| tracing::warn!("local history not read: {e}")).ok())
        .unwrap_or(empty))
}

/// Search (Ctrl+F) in the stored conversation: every word, the last as a prefix, newest first.
#[tauri::command]
pub async fn search_messages(
    local: State<'_, LocalHistory>,
    server: String,
    username: String,
    query: String,
) -> Result<Vec<SearchHit>> {
    let (Some(log), Ok(server)) = (local.0.clone(), normalize_server_url(&server)) else { return Ok(Vec::new()) };
    let of = Conversation { server, username: username.trim().to_owned() };
    let found = tauri::async_runtime::spawn_blocking(move || log.search(&of, &query, SEARCH_RESULTS)).await;
    Ok(found.ok().and_then(|hits| hits.inspect_err(|e| tracing::warn!("search failed: {e}")).ok()).unwrap_or_default())
}

#[tauri::command]
pub async fn set_typing(state: State<'_, AppState>, typing: bool) -> Result<()> {
    match state.session.lock().await.as_ref() {
        Some(client) => client.set_typing(typing),
        None => Ok(()),
    }
}

/// Cancel while joining: the join in progress stops and its `connect` fails with `cancelled`.
#[tauri::command]
pub fn cancel_connect(state: State<'_, AppState>) {
    if let Some(cancel) = state.joining.lock().unwrap_or_else(PoisonError::into_inner).take() {
        let _ = cancel.send(());
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

/// Whether a recent server still accepts connections (the connect screen marks those that do not).
#[tauri::command]
pub async fn server_answers(server: String) -> bool {
    crate::reachable::answers(&server).await
}

/// Forgets a recent server, the password saved for it, its pinned certificate and its local history.
#[tauri::command]
pub async fn forget_server(
    app: AppHandle,
    state: State<'_, AppState>,
    local: State<'_, LocalHistory>,
    server: String,
) -> Result<()> {
    if let Some(log) = &local.0 {
        log.forget(&server).await;
    }
    let Some(dir) = config_dir(&app) else { return Ok(()) };
    if let Err(e) = pins::forget(&pins::path_in(&dir), &server) {
        tracing::warn!("could not forget the certificate pin: {e}");
    }
    let path = recent::path_in(&dir);
    for entry in recent::load(&path).iter().filter(|r| r.server == server) {
        // Best effort: without a keyring there is nothing saved to remove.
        let _ = state.passwords.forget(&entry.server, &entry.username).await;
    }
    if let Err(e) = recent::forget(&path, &server) {
        tracing::warn!("could not update the recent servers list: {e}");
    }
    Ok(())
}

/// Whether a password is saved for this server and name. Only the answer crosses to the page, never
/// the password: `connect` reads it itself (`use_saved_password`).
#[tauri::command]
pub async fn has_saved_password(
    state: State<'_, AppState>,
    server: String,
    username: String,
) -> std::result::Result<bool, PasswordError> {
    let Ok(server) = normalize_server_url(&server) else { return Ok(false) };
    Ok(state.passwords.load(&server, username.trim()).await?.is_some())
}

/// The title carries the unread count; the webview cannot set the native title itself.
#[tauri::command]
pub fn set_title(window: WebviewWindow, title: String) {
    if let Err(e) = window.set_title(&title) {
        tracing::warn!("could not set the window title: {e}");
    }
}

/// A desktop notification, as the settings say (a `mention` of the user's name always); clicking it
/// opens the conversation. Best effort: a desktop without a notification service just has none.
#[tauri::command]
pub fn notify(app: AppHandle, title: String, body: String, mention: Option<bool>, conversation: Option<String>) {
    crate::notify::show(&app, title, body, mention.unwrap_or(false), conversation);
}

/// Starts hosting a chat; the page then joins it with `connect` at `localUrl`.
#[tauri::command]
pub async fn host_chat(
    app: AppHandle,
    state: State<'_, AppState>,
    options: HostOptions,
) -> std::result::Result<HostInfo, HostError> {
    let mut hosting = state.hosting.lock().await;
    if hosting.is_some() {
        return Err(HostError::AlreadyHosting);
    }
    let data = app
        .path()
        .app_data_dir()
        .map_err(|e| HostError::StartFailed(format!("the app has no data directory for the chat ({e})")))?;
    // This machine's own certificate, made once and kept for every chat hosted here; each chat's log
    // in a folder of its own, so hosting it again continues its history.
    let chat = HostedChat::start(options, &data.join("tls"), Some(&data.join("hosted"))).await?;
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

/// The settings (notifications, sound, tray, theme), as loaded at start or last set.
#[tauri::command]
pub fn get_settings(desktop: State<'_, Desktop>) -> Settings {
    desktop.settings()
}

/// Puts `settings` in force and saves them (0600, in the config directory).
#[tauri::command]
pub fn set_settings(desktop: State<'_, Desktop>, settings: Settings) -> std::result::Result<(), String> {
    desktop.set_settings(settings).map_err(|e| format!("The settings could not be saved: {e}"))
}

/// Streams desktop events to the page: confab:// links to join, notifications clicked.
#[tauri::command]
pub fn watch_desktop(desktop: State<'_, Desktop>, events: Channel<DesktopEvent>) {
    desktop.watch(events);
}

/// The connection state for the tray menu, and whether the page is in a chat (closing the window
/// then keeps Confab in the tray, as the settings say).
#[tauri::command]
pub fn set_tray_status(app: AppHandle, desktop: State<'_, Desktop>, status: String, in_chat: bool) {
    desktop.set_in_chat(in_chat);
    crate::tray::set_status(&app, &status);
}

/// How the hosting bar offers a join URL besides itself: its confab:// link and a QR code (SVG).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Share {
    link: String,
    qr_svg: Option<String>,
}

#[tauri::command]
pub fn share_join_url(url: String) -> Share {
    Share { link: crate::deeplink::join_link(&url), qr_svg: crate::qr::svg(&url) }
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

/// The fingerprint of the chat this app hosts, when `server` (normalised) is where the host joins it.
async fn hosted_fingerprint(state: &AppState, server: &str) -> Option<String> {
    let hosting = state.hosting.lock().await;
    let info = hosting.as_ref()?.info();
    (normalize_server_url(&info.local_url).ok()? == server).then(|| info.fingerprint.clone())
}

/// The app's config directory (recent servers, certificate pins, settings).
pub(crate) fn config_dir(app: &AppHandle) -> Option<std::path::PathBuf> {
    // CONFAB_CONFIG_DIR lets tests use a throwaway directory instead of the user's.
    match std::env::var_os("CONFAB_CONFIG_DIR") {
        Some(dir) => Some(dir.into()),
        None => app.path().app_config_dir().ok(),
    }
}

fn recent_path(app: &AppHandle) -> Option<std::path::PathBuf> {
    Some(recent::path_in(&config_dir(app)?))
}

#[cfg(test)]
mod tests {
    use confab_secrets::Vault;

    use super::*;

    fn passwords() -> Passwords {
        Passwords::with_vault(Vault::in_store(keyring_core::sample::Store::new().unwrap()))
    }

    #[tokio::test]
    async fn a_saved_password_is_read_in_rust_under_the_normalised_server_and_trimmed_name() {
        let passwords = passwords();
        passwords.save("http://10.0.0.5:7878/", "ann", "sesame").await.unwrap();
        // As the page sends it: the address as shown, the name as typed.
        let used = password_to_use(&passwords, "10.0.0.5:7878", " ann ", None, true).await.unwrap();
        assert_eq!(used, (Some("sesame".to_owned()), true));
        // An empty field counts as nothing typed.
        let used = password_to_use(&passwords, "http://10.0.0.5:7878", "ann", Some(String::new()), true).await.unwrap();
        assert_eq!(used, (Some("sesame".to_owned()), true));
    }

    #[tokio::test]
    async fn a_typed_password_overrides_the_saved_one_and_nothing_is_read_unless_asked() {
        let passwords = passwords();
        passwords.save("http://10.0.0.5:7878/", "ann", "sesame").await.unwrap();
        let used = password_to_use(&passwords, "10.0.0.5:7878", "ann", Some("typed".into()), true).await.unwrap();
        assert_eq!(used, (Some("typed".to_owned()), false));
        let used = password_to_use(&passwords, "10.0.0.5:7878", "ann", None, false).await.unwrap();
        assert_eq!(used, (None, false));
    }

    #[tokio::test]
    async fn no_saved_password_or_no_keyring_is_said_in_words() {
        let missing = password_to_use(&passwords(), "10.0.0.5:7878", "ann", None, true).await;
        assert_eq!(missing, Err(ConnectError::NoSavedPassword));
        let json = serde_json::to_value(missing.unwrap_err()).unwrap();
        assert_eq!(json["code"], "no_saved_password");
        assert_eq!(json["message"], "No password is saved for this server and name any more. Type the password.");
        let invalid = password_to_use(&passwords(), "ftp://x", "ann", None, true).await.unwrap_err();
        assert_eq!(invalid.code(), "invalid_address");
        let unavailable = ConnectError::Keyring(PasswordError::Unavailable { detail: "no D-Bus".into() });
        let json = serde_json::to_value(&unavailable).unwrap();
        assert_eq!(json["code"], "keyring_unavailable");
        assert_eq!(
            json["message"],
            "Your system keyring is not available, so the saved password cannot be used. Type the password."
        );
    }

    #[test]
    fn certificate_refusals_carry_the_fingerprints_to_compare() {
        let (a, b) = ("AA:".repeat(31) + "AA", "BB:".repeat(31) + "BB");
        let untrusted = ConnectError::Client(ClientError::UntrustedCertificate { fingerprint: a.clone() });
        let json = serde_json::to_value(&untrusted).unwrap();
        assert_eq!((json["code"].as_str(), json["fingerprint"].as_str()), (Some("untrusted_certificate"), Some(&*a)));
        let changed =
            ConnectError::Client(ClientError::CertificateChanged { expected: a.to_lowercase(), presented: b.clone() });
        let json = serde_json::to_value(&changed).unwrap();
        assert_eq!(json["code"], "certificate_changed");
        assert_eq!((json["expected"].as_str(), json["presented"].as_str()), (Some(&*a), Some(&*b)));
        assert_eq!(json["announced"], false);
        let announced = ConnectError::AnnouncedCertificateChanged { expected: a.clone(), announced: b.clone() };
        let json = serde_json::to_value(&announced).unwrap();
        assert_eq!(json["code"], "certificate_changed");
        assert_eq!((json["expected"].as_str(), json["presented"].as_str()), (Some(&*a), Some(&*b)));
        assert_eq!(json["announced"], true);
        assert!(json["message"].as_str().unwrap().contains("Someone on the network may be passing for it"));
        let plain = serde_json::to_value(ConnectError::NoSavedPassword).unwrap();
        assert_eq!(plain.as_object().unwrap().len(), 2, "{plain}");
    }

    #[test]
    fn fingerprints_from_the_page_are_checked() {
        let a = "aa:".repeat(31) + "aa";
        assert_eq!(fingerprint_arg(Some(a.clone())), Ok(Some(a.to_uppercase())));
        assert_eq!(fingerprint_arg(None), Ok(None));
        assert_eq!(fingerprint_arg(Some(String::new())), Ok(None));
        assert_eq!(fingerprint_arg(Some("AA:BB".into())).unwrap_err().code(), "invalid_fingerprint");
    }

    #[test]
    fn the_keyring_is_written_only_for_a_typed_password_and_cleared_when_unticked() {
        assert_eq!(keyring_change(Some(true), Some("typed"), false), KeyringChange::Save("typed"));
        // The saved password used as is: already there, not written again.
        assert_eq!(keyring_change(Some(true), Some("saved"), true), KeyringChange::Nothing);
        assert_eq!(keyring_change(Some(false), Some("saved"), true), KeyringChange::Forget);
        assert_eq!(keyring_change(Some(false), None, false), KeyringChange::Forget);
        assert_eq!(keyring_change(None, Some("typed"), false), KeyringChange::Nothing);
        assert_eq!(keyring_change(Some(true), None, false), KeyringChange::Nothing);
    }
}

// ---- files in the chat (§2.11): the transfers run in Rust (files.rs), with the connection's trust ----

/// The file endpoints of the chat joined now, with this registration's token.
async fn file_server(state: &AppState) -> std::result::Result<FileServer, FileError> {
    let (server, files) = {
        let session = state.session.lock().await;
        let client = session.as_ref().ok_or(FileError::Unavailable)?;
        (client.server.clone(), client.files())
    };
    let (offer, trust) = files.ok_or(FileError::Unavailable)?;
    FileServer::new(&server, offer, &trust).await
}

/// How far an upload is, streamed to the page.
#[derive(Clone, Serialize)]
pub struct UploadProgress {
    sent: u64,
    total: u64,
}

/// Uploads the request's body as a file. Headers: `x-confab-file-name` (percent-encoded UTF-8),
/// `x-confab-file-type`, `x-confab-upload` (the page's id for `cancel_upload`) and
/// `x-confab-progress` (a Channel for `UploadProgress`). The raw body spares a 20 MB JSON array.
#[tauri::command]
pub async fn upload_file(
    webview: tauri::Webview,
    state: State<'_, AppState>,
    request: tauri::ipc::Request<'_>,
) -> std::result::Result<UploadedFile, FileError> {
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let name = percent_encoding::percent_decode_str(&header("x-confab-file-name")).decode_utf8_lossy().into_owned();
    let (mime, upload) = (header("x-confab-file-type"), header("x-confab-upload"));
    let progress: Option<Channel<UploadProgress>> =
        header("x-confab-progress").parse::<tauri::ipc::JavaScriptChannelId>().ok().map(|id| id.channel_on(webview));
    let tauri::ipc::InvokeBody::Raw(body) = request.body() else {
        return Err(FileError::Network("the page sent no file".into()));
    };
    let bytes = bytes::Bytes::copy_from_slice(body);
    let files = file_server(&state).await?;
    let task = tokio::spawn(async move {
        files
            .upload(&name, &mime, bytes, move |sent, total| {
                if let Some(channel) = &progress {
                    let _ = channel.send(UploadProgress { sent, total });
                }
            })
            .await
    });
    state.uploads.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(upload.clone(), task.abort_handle());
    let result = task.await;
    state.uploads.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&upload);
    result.unwrap_or(Err(FileError::Cancelled))
}

/// Stops the upload the page started as `upload` (its `upload_file` answers `cancelled`).
#[tauri::command]
pub fn cancel_upload(state: State<'_, AppState>, upload: String) {
    if let Some(task) = state.uploads.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&upload) {
        task.abort();
    }
}

/// An image of the chat (an attachment's `thumbnail`, or its `url` for the larger view) as a
/// `data:` URL of type `mime`: the webview's CSP allows images from itself and `data:` only.
#[tauri::command]
pub async fn file_image(
    state: State<'_, AppState>,
    url: String,
    mime: String,
) -> std::result::Result<String, FileError> {
    file_server(&state).await?.image_data_url(&url, &mime).await
}

/// "Save": the system's save dialog (in Downloads, under the file's name), then the download in
/// Rust. Answers the path saved to, or null when the dialog was cancelled.
#[tauri::command]
pub async fn save_file(
    app: AppHandle,
    state: State<'_, AppState>,
    url: String,
    name: String,
) -> std::result::Result<Option<String>, FileError> {
    use tauri_plugin_dialog::DialogExt;
    let (chosen, answer) = tokio::sync::oneshot::channel();
    let mut dialog = app.dialog().file().set_file_name(safe_file_name(&name));
    if let Ok(downloads) = app.path().download_dir() {
        dialog = dialog.set_directory(downloads);
    }
    dialog.save_file(move |path| {
        let _ = chosen.send(path);
    });
    let Some(path) = answer.await.ok().flatten().and_then(|p| p.into_path().ok()) else { return Ok(None) };
    file_server(&state).await?.download_to(&url, &path).await?;
    Ok(Some(path.display().to_string()))
}

/// A name from the network as a file name: no folders, no hidden or empty names.
fn safe_file_name(name: &str) -> String {
    let cleaned: String = name.chars().map(|c| if c == '/' || c == '\\' || c.is_control() { '_' } else { c }).collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        "file".to_owned()
    } else {
        cleaned
    }
}
