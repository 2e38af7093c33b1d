// Transport for the desktop app: Tauri commands for requests, one tauri::ipc::Channel per session
// for the event stream (Rust batches events so a busy room costs one IPC message per frame).

export function createTauriTransport({ invoke, Channel }) {
  let handler = () => {};
  // Batches from a previous session's channel are ignored, whatever arrives late.
  let current = null;
  let uploads = 0; // names each upload for cancel_upload

  const call = async (command, args, options) => {
    try {
      return await invoke(command, args, options);
    } catch (error) {
      throw toError(error);
    }
  };

  return {
    // useSavedPassword: join with the password saved in the keyring (Rust reads it; it never comes here).
    // announcedFingerprint: what a chat found on the network announced; acceptFingerprint: a
    // certificate the user chose to trust (Rust keeps the pins).
    async connect({ server, username, password, useSavedPassword, remember, announcedFingerprint, acceptFingerprint }) {
      const channel = new Channel();
      channel.onmessage = (batch) => {
        if (channel === current) handler(batch);
      };
      current = channel;
      try {
        return await call('connect', {
          server,
          username,
          password: password || null,
          useSavedPassword: Boolean(useSavedPassword) && !password,
          remember: remember ?? null,
          announcedFingerprint: announcedFingerprint || null,
          acceptFingerprint: acceptFingerprint || null,
          events: channel,
        });
      } catch (error) {
        if (current === channel) current = null;
        throw error;
      }
    },
    // to: a person's name (a private message, §2.10); attachment: the id of an uploaded file (§2.11).
    send: (text, { to = null, attachment = null } = {}) => call('send', { text, to, attachment }),
    // Uploads run in Rust (the CSP allows the page no network; Rust has the chat's TLS trust): the
    // bytes go as the raw IPC body, progress comes back on a Channel.
    upload(file, { onProgress } = {}) {
      const upload = `u${++uploads}`;
      const channel = new Channel();
      channel.onmessage = ({ sent, total }) => onProgress?.(sent, total);
      const done = file.arrayBuffer().then((bytes) =>
        call('upload_file', new Uint8Array(bytes), {
          headers: {
            'x-confab-file-name': encodeURIComponent(file.name),
            'x-confab-file-type': file.type || 'application/octet-stream',
            'x-confab-upload': upload,
            'x-confab-progress': channel.toJSON(),
          },
        }),
      );
      return { done, cancel: () => call('cancel_upload', { upload }).catch(() => {}) };
    },
    // No links into the chat's server from the page: Save goes through Rust and the system dialog.
    downloadHref: () => null,
    saveFile: (attachment) => call('save_file', { url: attachment.url, name: attachment.name }),
    // Images as data: URLs fetched by Rust (CSP img-src 'self' data:); thumbnails are PNG.
    imageSource: (attachment, which) =>
      which === 'full' ? call('file_image', { url: attachment.url, mime: attachment.type }) : call('file_image', { url: attachment.thumbnail, mime: 'image/png' }),
    rejoin: (name) => call('rejoin', { username: name }),
    loadOlder: (before) => call('load_older', { before }),
    // The local history (desktop app only): the conversation stored on this computer for a server and
    // name, { messages: [{ seq, run, ...message }], startReached }, and search in it (FTS5 in Rust):
    // [{ seq, run, id, ts, from, snippet, ranges }] (plain text and highlight offsets, never HTML).
    localHistory: (server, username, before = null) => call('local_history', { server, username, before }),
    searchMessages: (server, username, query) => call('search_messages', { server, username, query }),
    setTyping: (typing) => call('set_typing', { typing }),
    disconnect: () => call('disconnect'),
    // Stops a join still in progress (Cancel on the connect screen); its connect rejects with 'cancelled'.
    cancelConnect: () => call('cancel_connect'),
    onEvents(fn) {
      handler = fn;
    },
    recentServers: () => call('recent_servers').catch(() => []),
    serverAnswers: (server) => call('server_answers', { server }).catch(() => true),
    forgetServer: (server) => call('forget_server', { server }),
    // Whether the OS keyring holds a password for this server and name (only that: the password
    // itself stays in Rust); rejects { code: 'keyring_unavailable', message } when there is no keyring.
    hasSavedPassword: (server, username) => call('has_saved_password', { server, username }),
    setTitle: (title) => call('set_title', { title }).catch(() => {}),
    // mention: the message names the user (notified even with notifications off; Rust applies the settings).
    notify: (title, body, { mention = false, conversation = null } = {}) =>
      call('notify', { title, body, mention, conversation }).catch(() => {}),
    // Hosting: the server runs in Rust; the page then joins it with connect({ server: localUrl }).
    host: (options) => call('host_chat', { options }),
    stopHosting: () => call('stop_hosting'),
    defaultHostPort: () => call('default_host_port'),
    copyText: (text) => call('copy_text', { text }).catch(() => false),
    // Desktop conventions (desktop app only): settings kept by Rust, the tray's connection line, a
    // join URL's confab:// link and QR code, and desktop events (confab:// links, notification clicks).
    getSettings: () => call('get_settings'),
    setSettings: (settings) => call('set_settings', { settings }),
    setTrayStatus: (status, inChat) => call('set_tray_status', { status, inChat }).catch(() => {}),
    shareJoinUrl: (url) => call('share_join_url', { url }),
    watchDesktop(fn) {
      const channel = new Channel();
      channel.onmessage = fn;
      return call('watch_desktop', { events: channel });
    },
    // Chats found on the network, streamed from Rust: handler({ type: 'found'|'lost'|'unavailable', ... }).
    watchNearby(fn) {
      const channel = new Channel();
      channel.onmessage = fn;
      return call('watch_nearby', { events: channel });
    },
  };
}

// Our commands reject with { code, message }; Tauri itself rejects with a plain string.
function toError(error) {
  if (error && typeof error === 'object' && 'message' in error) {
    const out = { code: error.code || 'error', message: String(error.message) };
    // A taken port comes with a free one to offer.
    if (Number.isInteger(error.freePort)) out.freePort = error.freePort;
    // Certificate refusals come with the fingerprints to show.
    for (const key of ['fingerprint', 'expected', 'presented']) if (typeof error[key] === 'string') out[key] = error[key];
    if (typeof error.announced === 'boolean') out.announced = error.announced;
    return out;
  }
  return { code: 'internal', message: String(error) };
}
