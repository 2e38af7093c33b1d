// Transport for a web browser. The page was served by the chat server itself (confab-server or a
// chat hosted from the desktop app), so it joins that server, on this page's origin, with the official
// socket.io client. Same interface and events as tauri.js (see index.js); in the desktop app the Rust
// client does this work.

import { io } from '../../vendor/socket.io.esm.min.js';

const CONNECT_TIMEOUT_MS = 8000;
const ACK_TIMEOUT_MS = 5000;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 8000;
// The server that served this page is a Confab server: it has every extension.
const FEATURES = { history: true, presence: true, acks: true };

export function createSocketIoTransport() {
  let handler = () => {};
  let session = null;
  // Events are handed to the UI once per animation frame, so a burst costs one render.
  let queued = [];
  const push = (...events) => {
    if (!queued.length) requestAnimationFrame(flush);
    queued.push(...events);
  };
  const flush = () => {
    const events = queued;
    queued = [];
    if (events.length) handler(events);
  };

  return {
    // The page's own origin: the only server a page served by a chat server may join (CSP).
    fixedServer: location.origin,
    async connect({ username, password }) {
      await this.disconnect();
      const name = username.trim();
      const socket = io({
        auth: password ? { password } : {},
        timeout: CONNECT_TIMEOUT_MS,
        reconnectionDelay: RETRY_MIN_MS,
        reconnectionDelayMax: RETRY_MAX_MS,
      });
      const current = new Session(socket, name, push);
      session = current;
      try {
        await current.open();
      } catch (error) {
        if (session === current) session = null;
        current.close();
        throw error;
      }
      return { server: location.origin, name, features: FEATURES };
    },
    send: async (text) => {
      if (!session) throw { code: 'not_connected', message: 'Not connected to a chat.' };
      return session.send(text);
    },
    setTyping: async (typing) => session?.typing(typing),
    disconnect: async () => {
      session?.close();
      session = null;
    },
    onEvents(fn) {
      handler = fn;
    },
    // A browser tab joins the server that served it: no list of servers to remember.
    recentServers: async () => [],
    forgetServer: async () => {},
    setTitle: () => {},
    notify(title, body) {
      if ('Notification' in window && Notification.permission === 'granted') new Notification(title, { body });
    },
  };
}

/** One joined chat: registration, reconnection, catching up and the outbox of unsent messages. */
class Session {
  constructor(socket, name, push) {
    this.socket = socket;
    this.name = name;
    this.push = push;
    this.registered = false;
    this.closed = false;
    // The highest message id seen, to skip what the history replays after a reconnect.
    this.lastId = 0;
    // Messages typed but not yet acknowledged: localId → text. Sent again after a reconnect.
    this.outbox = new Map();
    this.nextLocalId = 1;

    socket.on('message', (message) => this.#messages([message]));
    socket.on('history', (messages) => this.#history(messages));
    socket.on('users', (names) => push({ type: 'users', names }));
    socket.on('typing', (notice) => push({ type: 'typing', name: notice.name, typing: notice.typing }));
    socket.on('notice', (notice) => push({ type: 'notice', code: notice.code, message: notice.message }));
    socket.on('disconnect', (reason) => this.#lost(reason));
    socket.io.on('reconnect_attempt', (attempt) => push({ type: 'status', state: 'reconnecting', attempt, retryInMs: 0 }));
    socket.on('connect', () => {
      if (this.registered) return; // the first connection is handled by open()
      if (!this.closed && this.everRegistered) this.#rejoin();
    });
  }

  /** First connection: connect, register, and report errors as the UI expects them. */
  async open() {
    await new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('connect_error', (error) => reject(connectError(error)));
    });
    await this.#register();
  }

  async #register() {
    let accepted;
    try {
      accepted = await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck('register', this.name);
    } catch {
      throw { code: 'timeout', message: 'The server did not answer the registration in time.' };
    }
    if (accepted !== true) {
      throw { code: 'name_rejected', message: `The name "${this.name}" is taken or not allowed here. Choose another one.` };
    }
    this.registered = true;
    this.everRegistered = true;
    this.push({ type: 'session', name: this.name, server: location.origin, features: FEATURES });
    this.push({ type: 'status', state: 'connected', attempt: 0, retryInMs: 0 });
    // The outbox is sent once the `history` that follows the ack told us what already arrived.
  }

  async #rejoin() {
    try {
      await this.#register();
    } catch (error) {
      this.push({ type: 'notice', code: error.code, message: error.message });
      this.push({ type: 'status', state: 'offline', attempt: 0, retryInMs: 0, detail: error.message });
      this.socket.disconnect();
    }
  }

  #lost(reason) {
    this.registered = false;
    if (this.closed) return;
    this.push({ type: 'status', state: 'reconnecting', attempt: 0, retryInMs: RETRY_MIN_MS, detail: reason });
    // socket.io does not reconnect after the server closed the connection itself (host stopped,
    // or we were too slow): try again anyway, the chat may come back.
    if (reason === 'io server disconnect') setTimeout(() => this.closed || this.socket.connect(), RETRY_MIN_MS);
  }

  #history(messages) {
    if (!Array.isArray(messages)) return;
    // A restarted server numbers from 1 again: then everything it replays is new to us.
    const newest = messages.reduce((max, m) => Math.max(max, m.id ?? 0), 0);
    if (newest < this.lastId) this.lastId = 0;
    const missed = messages.filter((m) => (m.id ?? 0) > this.lastId);
    this.#reconcileOutbox(missed);
    this.#messages(missed);
    this.#flushOutbox();
  }

  /** A message whose ack was lost with the connection may have arrived: if the replay has it, it is
   *  delivered, not sent twice. */
  #reconcileOutbox(replayed) {
    for (const m of replayed) {
      if (m.from !== this.name) continue;
      const match = [...this.outbox].find(([, text]) => text === m.message);
      if (!match) continue;
      this.outbox.delete(match[0]);
      this.push({ type: 'delivered', localId: match[0], message: m });
    }
  }

  #messages(messages) {
    const fresh = messages.filter((m) => typeof m?.message === 'string');
    for (const m of fresh) if (typeof m.id === 'number') this.lastId = Math.max(this.lastId, m.id);
    if (fresh.length) this.push({ type: 'messages', messages: fresh });
  }

  send(text) {
    const localId = this.nextLocalId++;
    this.outbox.set(localId, text);
    if (this.registered) this.#deliver(localId, text);
    return localId;
  }

  async #deliver(localId, text) {
    let answer;
    try {
      answer = await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck('message', { from: this.name, message: text });
    } catch {
      return; // no ack (connection lost): it stays in the outbox and is sent again after reconnecting
    }
    if (!this.outbox.delete(localId)) return;
    if (answer && typeof answer.error === 'string') {
      this.push({ type: 'failed', localId, code: answer.error, reason: answer.reason ?? answer.error });
    } else {
      if (typeof answer?.id === 'number') this.lastId = Math.max(this.lastId, answer.id);
      this.push({ type: 'delivered', localId, message: answer });
    }
  }

  #flushOutbox() {
    for (const [localId, text] of this.outbox) this.#deliver(localId, text);
  }

  typing(typing) {
    if (this.registered) this.socket.emit('typing', typing);
  }

  close() {
    this.closed = true;
    this.socket.disconnect();
  }
}

function connectError(error) {
  const message = String(error?.message ?? error);
  if (message === 'password required') return { code: 'password_required', message: 'This chat needs a password.' };
  if (message === 'wrong password') return { code: 'wrong_password', message: 'Wrong password for this chat.' };
  return { code: 'unreachable', message: `Cannot reach the chat server (${message}).` };
}
