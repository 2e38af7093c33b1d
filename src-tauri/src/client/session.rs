//! The handle of one chat session that outlives dropped connections. rust_socketio gives us a socket;
//! the supervisor task around it (`supervisor.rs`) does what the library's own reconnection does not
//! (re-register, keep what was typed while down, stop for real on disconnect).

use std::sync::Arc;
use std::time::Duration;

use confab_protocol::{names, text, FilesOffer, Limits, RefusalCode};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::timeout;

use super::address::normalize_server_url;
use super::catch_up::Seen;
use super::certificate::Trust;
use super::error::{ClientError, Result};
use super::events::{ClientEvent, ConnectOptions, Features};
use super::history::OlderPage;
use super::outbox::{MessageExtras, Outbox};
use super::supervisor::{Command, Supervisor};

/// Handle to a running session. Dropping it ends the session too.
pub struct ChatClient {
    /// The normalised server URL (also the key of the recent servers list).
    pub server: String,
    /// The name the server registered at the first join (`Session` events tell later changes).
    pub name: String,
    /// Extension support detected at the first registration.
    pub features: Features,
    /// The chat's name from the server's `welcome` at the first join (`Session` events tell changes).
    pub chat_name: Option<String>,
    /// Wakes the supervisor (new outbox entry) and carries typing notices and rejoins.
    commands: mpsc::UnboundedSender<Command>,
    /// Shared with the supervisor so `send` can queue while a reconnect is in progress.
    outbox: Arc<Outbox>,
    /// What the server allows (its `welcome`), to refuse locally exactly what it would refuse.
    limits: watch::Receiver<Limits>,
    /// This registration's token for files (the `files` event, §2.11); `None` before it or without files.
    files: watch::Receiver<Option<FilesOffer>>,
    /// The certificate the server may present, for the file transfers over HTTP too.
    trust: Trust,
    /// Level-triggered stop signal: also interrupts a reconnect attempt or its backoff sleep.
    shutdown: watch::Sender<bool>,
    /// The supervisor, awaited by `disconnect` so the socket is really closed when it returns.
    task: tokio::task::JoinHandle<()>,
}

impl ChatClient {
    /// Connects and registers. Errors of this first attempt are returned (the user is on the connect
    /// screen and must fix something); later drops are handled inside by reconnecting.
    pub async fn connect(options: ConnectOptions) -> Result<(ChatClient, mpsc::UnboundedReceiver<ClientEvent>)> {
        let server = normalize_server_url(&options.server)?;
        let name = valid_name(&options.username, &Limits::default())?;
        let (events, events_rx) = mpsc::unbounded_channel();
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (limits_tx, limits) = watch::channel(Limits::default());
        let (files_tx, files) = watch::channel(None);
        let trust = options.trust.clone();
        let outbox = Arc::new(Outbox::default());
        let mut supervisor = Supervisor {
            server: server.clone(),
            name: name.clone(),
            password: options.password,
            trust: options.trust,
            timing: options.timing,
            events,
            commands: commands_rx,
            outbox: outbox.clone(),
            shutdown: shutdown_rx,
            limits: limits_tx,
            files: files_tx,
            features: Features::default(),
            run: None,
            chat_name: None,
            seen: Seen::resuming(options.resume),
            typing: false,
        };
        let live = supervisor.establish().await?;
        let (features, chat_name) = (supervisor.features, supervisor.chat_name.clone());
        let task = tokio::spawn(supervisor.run(live));
        let client =
            ChatClient { server, name, features, chat_name, commands, outbox, limits, files, trust, shutdown, task };
        Ok((client, events_rx))
    }

    /// Queues a message and returns its local id at once; `Delivered` or `Failed` follows.
    /// Queued messages survive reconnects and are sent in order, each once.
    pub fn send(&self, message: &str) -> Result<u64> {
        self.send_with(message, MessageExtras::default())
    }

    /// `send`, privately to `extras.to` (§2.10) and/or with an uploaded file (§2.11): a file's
    /// caption may be empty.
    pub fn send_with(&self, message: &str, extras: MessageExtras) -> Result<u64> {
        let max = self.limits.borrow().max_message_chars;
        match text::check(message, &self.limits.borrow()) {
            Ok(()) => {}
            Err(RefusalCode::TooLong) => return Err(ClientError::MessageTooLong { len: message.chars().count(), max }),
            Err(_) if extras.attachment.is_some() => {}
            Err(_) => return Err(ClientError::EmptyMessage),
        }
        let local_id = self.outbox.push(message.to_owned(), extras);
        self.commands.send(Command::Wake).map_err(|_| ClientError::NotConnected)?;
        Ok(local_id)
    }

    /// Tells the others we started or stopped typing (ignored by servers without presence).
    pub fn set_typing(&self, typing: bool) -> Result<()> {
        self.commands.send(Command::Typing(typing)).map_err(|_| ClientError::NotConnected)
    }

    /// After `NameTaken`: registers again under `name` (the same one may be free by now). Returns
    /// the registered name, or why it failed (the session then stays waiting for another try).
    pub async fn rejoin(&self, name: &str) -> Result<String> {
        let name = valid_name(name, &self.limits.borrow())?;
        let (reply, answer) = oneshot::channel();
        self.commands.send(Command::Rejoin(name, reply)).map_err(|_| ClientError::NotConnected)?;
        answer.await.map_err(|_| ClientError::NotConnected)?
    }

    /// "Load older": the page of the server's history before `oldest` (the oldest id shown). The
    /// returned future owns what it needs, so a caller holding the client behind a lock can let go
    /// of it while the server answers. Waits for the connection when it is being re-established.
    pub fn load_older(&self, oldest: u64) -> impl std::future::Future<Output = Result<OlderPage>> + Send + 'static {
        let commands = self.commands.clone();
        async move {
            let (reply, answer) = oneshot::channel();
            commands.send(Command::Older(oldest, reply)).map_err(|_| ClientError::NotConnected)?;
            answer.await.map_err(|_| ClientError::NotConnected)?
        }
    }

    /// What the server allows, as it last said.
    pub fn limits(&self) -> Limits {
        self.limits.borrow().clone()
    }

    /// Where and how this user sends and fetches files now: `None` before the server's `files`
    /// event or when it takes no files. The token changes with each registration.
    pub fn files(&self) -> Option<(FilesOffer, Trust)> {
        self.files.borrow().clone().map(|offer| (offer, self.trust.clone()))
    }

    /// Messages still waiting for the server.
    pub fn pending_count(&self) -> usize {
        self.outbox.count()
    }

    /// Leaves the chat: closes the socket and stops reconnecting. Unsent messages are reported as
    /// `Failed` with code `disconnected` before the final `Offline` status.
    pub async fn disconnect(self) {
        let _ = self.shutdown.send(true);
        let _ = timeout(Duration::from_secs(3), self.task).await;
    }
}

/// The name as the server would register it, or why it cannot be (said before asking the server).
fn valid_name(raw: &str, limits: &Limits) -> Result<String> {
    names::validate(raw, limits.max_name_chars)
        .map(str::to_owned)
        .map_err(|why| ClientError::NameInvalid { name: raw.trim().to_owned(), why: why.to_string() })
}
