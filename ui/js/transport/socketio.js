// Transport for a web browser. The page was served by the chat server itself (confab-server or a
// chat hosted from the desktop app), so it joins that server, on this page's origin, with the official
// socket.io client. Same interface and events as tauri.js (see index.js); in the desktop app the Rust
// client does this work, by the same client rules (docs/PROTOCOL.md §4).

import { io } from '../../vendor/socket.io.esm.min.js';
import { AUTH_ERRORS, DEFAULT_LIMITS, EVENTS, REFUSAL_CODES, refusalReason, validateName } from '../protocol.js';
import { SeenMessages, catchUp, catchUpStart, missing } from './rules.js';

const CONNECT_TIMEOUT_MS = 8000;
const ACK_TIMEOUT_MS = 5000;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 8000;
// After register, a server with the extensions sends `history` and `users` at once; a plain seed
// server sends neither.
const FEATURES_GRACE_MS = 1500;
// A rate-limited message is sent again after this long, in its place (the server refills meanwhile).
const RATE_LIMIT_RETRY_MS = 1100;
// After a reconnect our server may still hold the old connection's name until it notices it is gone.
const NAME_RETRY_WINDOW_MS = 15000;
const NAME_RETRY_EVERY_MS = 1000;
const EXTENDED = Object.freeze({ history: true, presence: true, acks: true });
const SEED = Object.freeze({ history: false, presence: false, acks: false });

// The status detail while the missed messages are fetched page by page (PROTOCOL.md §4.5).
const CATCHING_UP = 'Fetching the messages you missed…';
// The most messages one history page holds (PROTOCOL.md §2.2).
const HISTORY_PAGE = 200;
const NOT_CONNECTED = { code: 'not_connected', message: 'Not connected to a chat.' };
const REGISTER_TIMEOUT = { code: 'timeout', message: 'The server did not answer the registration in time.' };
const nameRejected = (name) => ({ code: 'name_rejected', message: `The name "${name}" is taken or not allowed here. Choose another one.` });
const isChatMessage = (m) => typeof m?.message === 'string';

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
      const socket = io({
        auth: password ? { password } : {},
        timeout: CONNECT_TIMEOUT_MS,
        reconnectionDelay: RETRY_MIN_MS,
        reconnectionDelayMax: RETRY_MAX_MS,
      });
      const current = new Session(socket, push);
      session = current;
      try {
        return await current.open(username);
      } catch (error) {
        if (session === current) session = null;
        current.close();
        throw error;
      }
    },
    // to: a person's name (a private message, §2.10); attachment: the id of an uploaded file (§2.11).
    send: async (text, { to = null, attachment = null } = {}) => {
      if (!session) throw NOT_CONNECTED;
      return session.send(text, { to, attachment });
    },
    upload(file, { onProgress } = {}) {
      if (!session?.files) return { done: Promise.reject({ code: 'files_off', message: 'This chat does not take files.' }), cancel() {} };
      return uploadFile(session.files, file, onProgress);
    },
    // The page loads files from its own origin: links and images carry the token in the URL (§2.11).
    downloadHref: (attachment) => fileUrl(session?.files, attachment.url),
    imageSource: async (attachment, which) => fileUrl(session?.files, which === 'full' ? attachment.url : attachment.thumbnail),
    rejoin: async (name) => {
      if (!session) throw NOT_CONNECTED;
      return session.rejoin(name);
    },
    loadOlder: async (before) => {
      if (!session) throw NOT_CONNECTED;
      return session.older(before);
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
  constructor(socket, push) {
    this.socket = socket;
    this.push = push;
    this.name = null; // the registered name (trimmed, as the server holds it)
    this.sentAs = null; // the name the outbox was last sent under (a rejoin may change it)
    this.closed = false;
    this.everRegistered = false;
    this.registered = false; // this connection holds our name...
    this.ready = false; // ...and has caught up: messages flow and the outbox is sent
    this.features = SEED;
    this.limits = DEFAULT_LIMITS;
    this.run = null; // this connection's run of ids (welcome), null until told
    this.files = null; // { token, maxBytes, upload } of this registration (the `files` event, §2.11)
    this.chatName = null; // the chat's name, when the server's welcome says it
    this.seenRun = null; // the run the seen messages came from
    this.seen = new SeenMessages();
    // What came before the catch-up: the register answer's continuation runs after every event of
    // the same polling payload, so history, users and live messages can arrive first.
    this.earlyHistory = null; // the history (from a server with the extensions), once it came
    this.early = []; // live messages (a seed server sends its join announcement right away)
    this.outbox = []; // { localId, text, maybeDelivered }, oldest first; one in flight at a time
    this.sending = false;
    this.nextLocalId = 1;
    this.connection = 0; // counts connections: a name retry belongs to one of them
    this.nameRefusedSince = null;
    this.waitingForRejoin = false;
    this.joining = null; // { resolve, reject } of the registration waiting for its catch-up
    this.graceTimer = null;
    this.timers = new Set();
    this.catchingUp = false; // fetching what was missed, page by page: live messages wait in `early`
    this.whenReady = []; // "load older" requests waiting for the connection to be caught up

    socket.on(EVENTS.WELCOME, (welcome) => this.#welcome(welcome));
    socket.on(EVENTS.MESSAGE, (message) => this.#live(message));
    socket.on(EVENTS.HISTORY, (history) => Array.isArray(history) && this.#extensions(history.filter(isChatMessage), { told: true }));
    socket.on(EVENTS.USERS, (names) => {
      if (!Array.isArray(names)) return;
      this.#extensions([]); // history comes first: nothing to add then
      push({ type: 'users', names });
    });
    socket.on(EVENTS.TYPING, (notice) => push({ type: 'typing', name: notice?.name, typing: notice?.typing === true }));
    socket.on(EVENTS.NOTICE, (notice) => push({ type: 'notice', code: notice?.code, message: notice?.message }));
    // The token for uploads and downloads, this registration's (§2.11); the page keeps it, the model gets the limit.
    socket.on('files', (offer) => {
      this.files = readFilesOffer(offer);
      push({ type: 'files', maxBytes: this.files?.maxBytes ?? null });
    });
    socket.on('disconnect', (reason) => this.#lost(reason));
    socket.io.on('reconnect_attempt', (attempt) => push({ type: 'status', state: 'reconnecting', attempt, retryInMs: 0 }));
    socket.on('connect', () => this.#connected());
  }

  /** First connection: connect, register, and report errors as the UI expects them. */
  async open(rawName) {
    await new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('connect_error', (error) => reject(connectError(error)));
    });
    const name = nameOf(rawName);
    if (!(await this.#register(rawName))) throw nameRejected(name);
    await this.#registered(name);
    return this.#info();
  }

  /** After 'nameTaken': register again, with this name or another. */
  async rejoin(rawName) {
    if (this.registered) return { name: this.name };
    if (!this.socket.connected) throw { code: 'unreachable', message: 'Not connected to the chat server right now. Try again in a moment.' };
    const name = nameOf(rawName);
    if (!(await this.#register(rawName))) throw nameRejected(name);
    await this.#registered(name);
    return { name };
  }

  send(text, { to = null, attachment = null } = {}) {
    const localId = this.nextLocalId++;
    this.outbox.push({ localId, text, to, attachment, maybeDelivered: false });
    this.#pump();
    return localId;
  }

  typing(typing) {
    if (this.ready) this.socket.emit(EVENTS.TYPING, typing);
  }

  close() {
    this.closed = true;
    for (const waiter of this.whenReady.splice(0)) waiter.reject(NOT_CONNECTED);
    for (const timer of this.timers) clearTimeout(timer);
    this.socket.disconnect();
  }

  #info() {
    return { server: location.origin, name: this.name, features: this.features, limits: this.limits, chatName: this.chatName };
  }

  #later(ms, fn) {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  #cancel(timer) {
    clearTimeout(timer);
    this.timers.delete(timer);
  }

  /** The server's answer to `register`: true, false, or REGISTER_TIMEOUT thrown. */
  async #register(rawName) {
    const answer = await registerAnswer(this.socket, rawName, ACK_TIMEOUT_MS);
    if (answer === null) throw REGISTER_TIMEOUT;
    return answer;
  }

  /** The name is ours on this connection: catch up (resolves once done), then chat. */
  #registered(name) {
    this.name = name;
    this.registered = true;
    this.everRegistered = true;
    this.waitingForRejoin = false;
    this.nameRefusedSince = null;
    const joined = new Promise((resolve, reject) => {
      this.joining = { resolve, reject };
    });
    if (this.earlyHistory) this.#catchUp(this.earlyHistory, EXTENDED);
    // A server that sends neither history nor users within the grace period is a plain seed server.
    else this.graceTimer = this.#later(FEATURES_GRACE_MS, () => this.#catchUp([], SEED));
    return joined;
  }

  /** history or users: a server with the extensions; caught up with at once if registered. */
  /** The pushed `history` (`told`), or none before `users`: the server's extensions are there. */
  #extensions(history, { told = false } = {}) {
    if (this.ready || this.earlyHistory || this.catchingUp) return;
    this.earlyHistory = history;
    this.historyEmpty = told && history.length === 0;
    if (this.registered) this.#catchUp(history, EXTENDED);
  }

  #welcome(welcome) {
    if (!welcome || typeof welcome !== 'object') return;
    this.run = typeof welcome.run === 'string' && welcome.run ? welcome.run : null;
    if (this.ready && this.run) this.seenRun = this.run; // a late welcome: what we see now is this run
    const chatName = typeof welcome.chatName === 'string' && welcome.chatName.trim() ? welcome.chatName : null;
    const renamed = chatName !== this.chatName;
    this.chatName = chatName;
    const limits = readLimits(welcome.limits);
    if (JSON.stringify(limits) === JSON.stringify(this.limits) && !renamed) return;
    this.limits = limits;
    if (this.ready) this.#pushSession();
  }

  #pushSession() {
    this.push({ type: 'session', name: this.name, server: location.origin, features: this.features, limits: this.limits, chatName: this.chatName, run: this.run });
  }

  /**
   * After (re)registering: what was missed since the last message shown is fetched page by page and
   * shown in order before the pushed `history` (the server's newest page), with a marker where the
   * server no longer has them; live messages wait in `early` meanwhile. Then the outbox goes out.
   */
  async #catchUp(history, features) {
    this.#cancel(this.graceTimer);
    this.earlyHistory = null;
    this.features = features;
    this.catchingUp = true;
    let sameRun = this.seenRun && this.run ? this.seenRun === this.run : null;
    const start = catchUpStart(this.seen.newestId, sameRun, history);
    if (sameRun === false) {
      this.seen.clear();
      sameRun = true; // every page after this is of the new run
    }
    this.seenRun = this.run ?? this.seenRun;
    this.#pushSession();
    if (start !== null) {
      // Still not live (the outbox waits), but not lost either: say what takes the time.
      this.push({ type: 'status', state: 'reconnecting', attempt: 0, retryInMs: 0, detail: CATCHING_UP });
      const connection = this.connection;
      try {
        await this.#fetchMissed(start, history[0].id, sameRun);
      } catch {
        // No answer, or the server cannot read its history: from the start on the next connection.
        if (connection === this.connection && this.socket.connected) this.#reconnect();
        return;
      }
      if (connection !== this.connection || this.closed) return;
    }
    this.catchingUp = false;
    const resend = this.#settle(history, sameRun);
    if (this.historyEmpty) this.push({ type: 'historyStart' });
    this.sentAs = this.name;
    this.ready = true;
    this.push({ type: 'status', state: 'connected', attempt: 0, retryInMs: 0 });
    this.#show(this.early.splice(0));
    // Whatever the server does not have is sent again, in order, as never sent.
    const again = new Set(resend);
    this.outbox = this.outbox.filter((entry) => again.has(entry.localId));
    for (const entry of this.outbox) entry.maybeDelivered = false;
    this.joining?.resolve();
    this.joining = null;
    for (const waiter of this.whenReady.splice(0)) waiter.resolve();
    this.#pump();
  }

  /** Pages forward from `after` up to the pushed page's first id (`stop`), showing each page. */
  async #fetchMissed(after, stop, sameRun) {
    const connection = this.connection;
    for (let first = true; ; first = false) {
      const page = await historyPage(this.socket, { after, limit: HISTORY_PAGE });
      if (connection !== this.connection) return;
      const head = typeof page[0]?.id === 'number' ? page[0].id : stop;
      if (first && head > after + 1) {
        const older = await historyPage(this.socket, { before: head, limit: 1 });
        const gap = missing(after, head, older.at(-1)?.id ?? null);
        if (gap) this.push({ type: 'missing', ...gap });
      }
      this.#settle(page.filter((message) => message.id < stop), sameRun);
      const last = page.at(-1)?.id;
      if (!(typeof last === 'number' && last > after && last + 1 < stop)) return;
      after = last;
    }
  }

  /** Shows what `history` has that was not shown, settles our messages whose ack was lost; returns the localIds still to send. */
  #settle(history, sameRun) {
    const { shown, delivered, resend } = catchUp({ name: this.sentAs ?? this.name, sameRun, seen: this.seen, outbox: this.outbox, history });
    this.#show(shown.map((index) => history[index]));
    for (const [localId, index] of Object.entries(delivered)) {
      this.seen.add(history[index]);
      this.outbox = this.outbox.filter((entry) => entry.localId !== Number(localId));
      this.push({ type: 'delivered', localId: Number(localId), message: history[index] });
    }
    return resend;
  }

  /** "Load older": the page of history before id `before`, once this connection is caught up. */
  async older(before) {
    if (!this.ready) await new Promise((resolve, reject) => this.whenReady.push({ resolve, reject }));
    const messages = await historyPage(this.socket, { before, limit: HISTORY_PAGE });
    return { messages, startReached: messages.length === 0 };
  }

  #live(message) {
    if (!isChatMessage(message)) return;
    if (this.ready) this.#show([message]);
    else this.early.push(message);
  }

  #show(messages) {
    for (const message of messages) this.seen.add(message);
    if (messages.length) this.push({ type: 'messages', messages });
  }

  #connected() {
    this.connection += 1;
    if (this.closed || !this.everRegistered) return; // the first connection is open()'s
    if (this.waitingForRejoin) return this.#pushNameTaken();
    this.#reregister(this.connection);
  }

  /** A reconnect registers again; a name still held by our old connection is asked for again a while. */
  async #reregister(connection) {
    let accepted;
    try {
      accepted = await this.#register(this.name);
    } catch (error) {
      if (connection !== this.connection || !this.socket.connected) return; // that connection is gone anyway
      this.push({ type: 'status', state: 'reconnecting', attempt: 0, retryInMs: RETRY_MIN_MS, detail: error.message });
      return this.#reconnect();
    }
    if (connection !== this.connection || this.closed || this.registered) return;
    if (accepted) return this.#registered(this.name).catch(() => {}); // a drop now: the next connect tries again
    this.nameRefusedSince ??= Date.now();
    if (Date.now() - this.nameRefusedSince >= NAME_RETRY_WINDOW_MS) {
      this.waitingForRejoin = true;
      return this.#pushNameTaken();
    }
    const detail = `The server still holds the name “${this.name}”, probably for the previous connection.`;
    this.push({ type: 'status', state: 'reconnecting', attempt: 0, retryInMs: NAME_RETRY_EVERY_MS, detail });
    this.#later(NAME_RETRY_EVERY_MS, () => {
      if (connection === this.connection && this.socket.connected && !this.registered) this.#reregister(connection);
    });
  }

  #pushNameTaken() {
    this.push({ type: 'status', state: 'nameTaken', name: this.name, attempt: 0, retryInMs: null, detail: null });
  }

  /** Drops this connection; socket.io then reconnects with its backoff. */
  #reconnect() {
    this.socket.io.engine?.close();
  }

  #lost(reason) {
    this.registered = false;
    this.ready = false;
    this.catchingUp = false;
    this.run = null;
    this.early = [];
    this.earlyHistory = null;
    this.#cancel(this.graceTimer);
    this.joining?.reject({ code: 'unreachable', message: 'The connection was lost while joining the chat.' });
    this.joining = null;
    if (this.closed) return;
    this.push({ type: 'status', state: 'reconnecting', attempt: 0, retryInMs: RETRY_MIN_MS, detail: reason });
    // socket.io does not reconnect after the server closed the connection itself (host stopped,
    // or we were too slow): try again anyway, the chat may come back.
    if (reason === 'io server disconnect') this.#later(RETRY_MIN_MS, () => this.closed || this.socket.connect());
  }

  /** Sends the oldest queued message, one at a time so the server's rate limit sees them in order. */
  #pump() {
    if (!this.ready || this.sending || !this.outbox.length) return;
    if (this.features.acks) return this.#sendWithAck(this.outbox[0]);
    // A server without acks: a message emitted on a connected socket counts as delivered.
    while (this.outbox.length && this.socket.connected) {
      const entry = this.outbox.shift();
      const message = outgoing(this.name, entry);
      this.socket.emit(EVENTS.MESSAGE, message);
      const { localId } = entry;
      this.push({ type: 'delivered', localId, message });
    }
  }

  async #sendWithAck(entry) {
    this.sending = true;
    entry.maybeDelivered = true;
    let answer;
    try {
      answer = await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(EVENTS.MESSAGE, outgoing(this.name, entry));
    } catch {
      // No ack: it stays queued as maybe delivered and the catch-up after the reconnect decides. A
      // connection that is up but does not answer is dropped to get there.
      this.sending = false;
      if (this.socket.connected) this.#reconnect();
      return;
    }
    if (answer?.error === REFUSAL_CODES.RATE_LIMITED) {
      // Not taken: sent again in its place once the server's bucket has refilled.
      entry.maybeDelivered = false;
      this.#later(RATE_LIMIT_RETRY_MS, () => {
        this.sending = false;
        this.#pump();
      });
      return;
    }
    this.sending = false;
    this.outbox = this.outbox.filter((queued) => queued.localId !== entry.localId);
    if (typeof answer?.error === 'string') {
      this.push({ type: 'failed', localId: entry.localId, code: answer.error, reason: answer.reason ?? refusalReason(answer.error, this.limits) });
    } else {
      if (answer && typeof answer === 'object') this.seen.add(answer);
      this.push({ type: 'delivered', localId: entry.localId, message: answer });
    }
    this.#pump();
  }
}

/** The `message` payload of an outbox entry: private with `to`, a file with `attachment`. */
function outgoing(name, { text, to, attachment }) {
  return { from: name, message: text, ...(to ? { to } : {}), ...(attachment ? { attachment } : {}) };
}

/** The server's `files` offer ({ token, maxBytes, upload }), or null when it is not one. */
function readFilesOffer(offer) {
  const { token, maxBytes, upload } = offer ?? {};
  if (typeof token !== 'string' || !Number.isSafeInteger(maxBytes) || maxBytes <= 0) return null;
  return { token, maxBytes, upload: typeof upload === 'string' && upload.startsWith('/') ? upload : '/files' };
}

/** A file URL of this server (relative, as the server gives it) with the token, for links and images. */
function fileUrl(files, path) {
  if (typeof path !== 'string' || !path.startsWith('/')) return null;
  const url = new URL(path, location.origin);
  if (files) url.searchParams.set('token', files.token);
  return url.href;
}

/**
 * POST /files with progress (XMLHttpRequest: fetch reports no upload progress). Resolves with the
 * server's description of the file, rejects { code, message } in words; cancel() aborts.
 */
function uploadFile(files, file, onProgress) {
  const xhr = new XMLHttpRequest();
  const done = new Promise((resolve, reject) => {
    xhr.open('POST', files.upload);
    xhr.setRequestHeader('Authorization', `Bearer ${files.token}`);
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    xhr.setRequestHeader('X-Confab-File-Name', encodeURIComponent(file.name));
    xhr.upload.onprogress = (e) => onProgress?.(e.loaded, e.total || file.size);
    xhr.onload = () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {}
      if (xhr.status === 201 && typeof body?.id === 'string') return resolve(body);
      reject({ code: body?.error ?? 'upload_failed', message: body?.reason ? `Not sent: ${body.reason}` : `Not sent: the server answered ${xhr.status}.` });
    };
    xhr.onerror = () => reject({ code: 'upload_failed', message: 'Not sent: the connection to the server failed.' });
    xhr.onabort = () => reject({ code: 'cancelled', message: 'Upload cancelled.' });
    xhr.send(file);
  });
  return { done, cancel: () => xhr.abort() };
}

/** One page of the server's history, oldest first; `rate_limited` is waited out, never skipped. */
async function historyPage(socket, request) {
  for (;;) {
    const answer = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(EVENTS.HISTORY, request).catch(() => {
      throw { code: 'timeout', message: 'The server did not answer in time (fetching the chat history).' };
    });
    if (Array.isArray(answer)) return answer.filter(isChatMessage);
    if (answer?.error !== REFUSAL_CODES.RATE_LIMITED) {
      throw { code: 'history_unavailable', message: `The server cannot give its chat history right now: ${answer?.reason || answer?.error || 'no answer'}` };
    }
    await new Promise((resolve) => setTimeout(resolve, RATE_LIMIT_RETRY_MS));
  }
}

/** The name as the server registers it (trimmed); an invalid one is left for the server to refuse. */
function nameOf(rawName) {
  return validateName(rawName).name ?? String(rawName).trim();
}

/**
 * The server's answer to `register` with the raw name: whichever comes first of the ack and a
 * `register` event carrying a boolean (servers that answer only that way); null when neither
 * comes in time.
 */
function registerAnswer(socket, rawName, ms) {
  return new Promise((resolve) => {
    const settle = (answer) => {
      clearTimeout(timer);
      socket.off(EVENTS.REGISTER, onEvent);
      resolve(answer);
    };
    const onEvent = (answer) => typeof answer === 'boolean' && settle(answer);
    const timer = setTimeout(() => settle(null), ms);
    socket.on(EVENTS.REGISTER, onEvent);
    // A rejected ack (timeout, connection lost) may still be beaten by the event; the timer decides.
    socket.timeout(ms).emitWithAck(EVENTS.REGISTER, rawName).then((answer) => settle(answer === true), () => {});
  });
}

/** The limits a welcome tells, each one falling back to the protocol's default. */
function readLimits(told) {
  const limits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS)) {
    if (Number.isSafeInteger(told?.[key]) && told[key] >= 0) limits[key] = told[key];
  }
  return limits;
}

function connectError(error) {
  const message = String(error?.message ?? error);
  if (message === AUTH_ERRORS.PASSWORD_REQUIRED) return { code: 'password_required', message: 'This chat needs a password.' };
  if (message === AUTH_ERRORS.WRONG_PASSWORD) return { code: 'wrong_password', message: 'Wrong password for this chat.' };
  if (message === AUTH_ERRORS.TOO_MANY_ATTEMPTS) return { code: 'too_many_attempts', message: 'Too many wrong passwords from this computer: wait a minute, then try again.' };
  return { code: 'unreachable', message: `Cannot reach the chat server (${message}).` };
}
