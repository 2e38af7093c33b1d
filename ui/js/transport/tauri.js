// Transport for the desktop app: Tauri commands for requests, one tauri::ipc::Channel per session
// for the event stream (Rust batches events so a busy room costs one IPC message per frame).

export function createTauriTransport({ invoke, Channel }) {
  let handler = () => {};
  // Batches from a previous session's channel are ignored, whatever arrives late.
  let current = null;

  const call = async (command, args) => {
    try {
      return await invoke(command, args);
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
    send: (text) => call('send', { text }),
    rejoin: (name) => call('rejoin', { username: name }),
    loadOlder: (before) => call('load_older', { before }),
    setTyping: (typing) => call('set_typing', { typing }),
    disconnect: () => call('disconnect'),
    onEvents(fn) {
      handler = fn;
    },
    recentServers: () => call('recent_servers').catch(() => []),
    forgetServer: (server) => call('forget_server', { server }),
    // Whether the OS keyring holds a password for this server and name (only that: the password
    // itself stays in Rust); rejects { code: 'keyring_unavailable', message } when there is no keyring.
    hasSavedPassword: (server, username) => call('has_saved_password', { server, username }),
    setTitle: (title) => call('set_title', { title }).catch(() => {}),
    notify: (title, body) => call('notify', { title, body }).catch(() => {}),
    // Hosting: the server runs in Rust; the page then joins it with connect({ server: localUrl }).
    host: (options) => call('host_chat', { options }),
    stopHosting: () => call('stop_hosting'),
    defaultHostPort: () => call('default_host_port'),
    copyText: (text) => call('copy_text', { text }).catch(() => false),
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
