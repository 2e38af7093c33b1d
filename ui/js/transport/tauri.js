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
    async connect({ server, username, password }) {
      const channel = new Channel();
      channel.onmessage = (batch) => {
        if (channel === current) handler(batch);
      };
      current = channel;
      try {
        return await call('connect', { server, username, password: password || null, events: channel });
      } catch (error) {
        if (current === channel) current = null;
        throw error;
      }
    },
    send: (text) => call('send', { text }),
    setTyping: (typing) => call('set_typing', { typing }),
    disconnect: () => call('disconnect'),
    onEvents(fn) {
      handler = fn;
    },
    recentServers: () => call('recent_servers').catch(() => []),
    forgetServer: (server) => call('forget_server', { server }),
    setTitle: (title) => call('set_title', { title }).catch(() => {}),
    notify: (title, body) => call('notify', { title, body }).catch(() => {}),
  };
}

// Our commands reject with { code, message }; Tauri itself rejects with a plain string.
function toError(error) {
  if (error && typeof error === 'object' && 'message' in error) {
    return { code: error.code || 'error', message: String(error.message) };
  }
  return { code: 'internal', message: String(error) };
}
