// The chat state, with no DOM and no network: the controller feeds it transport events and user
// actions; each method returns what changed so the view can update only that. State is read through
// getters and changed only through methods.

import { ANNOUNCEMENT_KINDS, DEFAULT_LIMITS, SERVER_NAME, charCount, checkText } from './protocol.js';

// Older lines are dropped from memory and from the page; a busy room must not grow without bound.
const MAX_LINES = 3000;
// A typing notice is stale after this long (PROTOCOL.md §2.3).
const TYPING_STALE_MS = 5000;
const NO_FEATURES = Object.freeze({ history: false, presence: false, acks: false });

export class ChatModel {
  #now;
  #maxLines;
  #session = null; // { server, name, features, limits }
  #status = null;
  #lines = []; // chat and system lines, oldest first
  #seenIds = new Set(); // server ids already shown: a last line of defence against duplicates
  #pending = new Map(); // localId → own line the server has not taken yet
  #early = new Map(); // localId → delivery that arrived before send() returned the id
  #users = [];
  #typing = new Map(); // name → time of the last "typing: true"
  #unread = 0;
  #nextKey = 1;

  /** `now` and `maxLines` are there for tests. */
  constructor({ now = () => Date.now(), maxLines = MAX_LINES } = {}) {
    this.#now = now;
    this.#maxLines = maxLines;
    this.reset();
  }

  reset() {
    this.#session = null;
    this.#status = { state: 'offline', attempt: 0, retryInMs: null, detail: null };
    this.#lines = [];
    this.#seenIds.clear();
    this.#pending.clear();
    this.#early.clear();
    this.#users = [];
    this.#typing.clear();
    this.#unread = 0;
  }

  /** A joined chat, as `connect` answered: { server, name, features, limits? }. */
  startSession(info) {
    this.reset();
    this.#session = { ...info, limits: info.limits ?? DEFAULT_LIMITS };
    this.#status = { state: 'connected', attempt: 0, retryInMs: null, detail: null };
  }

  get session() {
    return this.#session;
  }

  get status() {
    return this.#status;
  }

  get users() {
    return [...this.#users];
  }

  get features() {
    return this.#session?.features ?? NO_FEATURES;
  }

  /** What the server allows (its `welcome`), or the protocol's defaults when it does not say. */
  get limits() {
    return this.#session?.limits ?? DEFAULT_LIMITS;
  }

  get lines() {
    return [...this.#lines];
  }

  get unread() {
    return this.#unread;
  }

  /** Applies one batch of transport events; returns what the view must redraw. */
  applyEvents(events) {
    const changes = { added: [], updated: [], removed: [], status: false, session: false, users: false, typing: false, notices: [] };
    for (const event of events) {
      switch (event.type) {
        case 'status':
          this.#status = event;
          changes.status = true;
          if (event.state !== 'connected' && this.#typing.size) {
            this.#typing.clear();
            changes.typing = true;
          }
          break;
        case 'session':
          // A new registration (after a reconnect): the server may have restarted and numbers its
          // messages from 1 again. The transport already removed copies across sessions.
          this.#seenIds.clear();
          this.#session = { ...this.#session, name: event.name, server: event.server, features: event.features, limits: event.limits ?? DEFAULT_LIMITS };
          changes.session = true;
          changes.users = true;
          break;
        case 'messages':
          for (const message of event.messages) this.#receive(message, changes);
          break;
        case 'users':
          this.#users = [...event.names];
          changes.users = true;
          break;
        case 'typing':
          if (event.typing) this.#typing.set(event.name, this.#now());
          else this.#typing.delete(event.name);
          changes.typing = true;
          break;
        case 'delivered':
          this.#delivered(event.localId, event.message, changes);
          break;
        case 'failed':
          this.#failed(event.localId, event.code, event.reason, changes);
          break;
        case 'notice':
          changes.notices.push(event.message || event.code);
          break;
      }
    }
    this.#trim(changes);
    return changes;
  }

  /** A message the user just sent: shown at once, marked pending until the server has it. */
  addPending(localId, text) {
    const line = this.#line({ kind: 'chat', from: this.#session?.name ?? '', text, ts: this.#now(), own: true, state: 'pending', localId });
    this.#pending.set(localId, line);
    const changes = { added: [line], updated: [], removed: [] };
    const early = this.#early.get(localId);
    if (early) {
      this.#early.delete(localId);
      this.#delivered(localId, early, changes);
      changes.updated = []; // the line is drawn for the first time anyway
    }
    this.#trim(changes);
    return changes;
  }

  /** The failed line with this key, if there is one (to send its text again). */
  failedLine(key) {
    return this.#lines.find((line) => line.key === key && line.state === 'failed') ?? null;
  }

  /** A failed line sent again as `localId`: the old line goes, a pending one comes at the end. */
  replaceFailed(line, localId) {
    this.#pending.delete(line.localId);
    this.#lines = this.#lines.filter((l) => l !== line);
    const changes = this.addPending(localId, line.text);
    changes.removed.unshift(line);
    return changes;
  }

  /** Names currently typing (stale notices dropped). */
  typingNames() {
    const now = this.#now();
    for (const [name, since] of this.#typing) {
      if (now - since > TYPING_STALE_MS) this.#typing.delete(name);
    }
    return [...this.#typing.keys()];
  }

  /** Whether a typing line is shown that may need to go stale. */
  anyoneTyping() {
    return this.#typing.size > 0;
  }

  pendingCount() {
    return [...this.#pending.values()].filter((line) => line.state === 'pending').length;
  }

  /** What the composer shows for `text`: its length, the limit and why it cannot be sent (or null). */
  draftStatus(text) {
    return { count: charCount(text), max: this.limits.maxMessageChars, error: checkText(text, this.limits) };
  }

  /** Chat lines that arrived while the user was away; returns the new count. */
  countUnread(count) {
    this.#unread += count;
    return this.#unread;
  }

  /** The user is back; returns whether there was anything unread. */
  clearUnread() {
    const had = this.#unread > 0;
    this.#unread = 0;
    return had;
  }

  #line(fields) {
    const line = { key: this.#nextKey++, id: null, reason: null, ...fields };
    this.#lines.push(line);
    return line;
  }

  #receive(message, changes) {
    if (message.id != null) {
      if (this.#seenIds.has(message.id)) return;
      this.#seenIds.add(message.id);
    }
    const system = message.from === SERVER_NAME;
    const own = !system && message.from === this.#session?.name;
    const line = this.#line({ kind: system ? 'system' : 'chat', id: message.id ?? null, from: message.from, text: message.message, ts: message.ts ?? this.#now(), own, state: 'sent' });
    changes.added.push(line);
    if (system && this.features.presence && message.name) this.#presence(message, changes);
    if (!system && this.#typing.delete(message.from)) changes.typing = true;
  }

  /** Keeps the online list up to date from join and leave announcements (PROTOCOL.md §2.1). */
  #presence({ kind, name }, changes) {
    if (kind === ANNOUNCEMENT_KINDS.JOIN && !this.#users.includes(name)) {
      this.#users.push(name);
      changes.users = true;
    } else if (kind === ANNOUNCEMENT_KINDS.LEAVE) {
      this.#users = this.#users.filter((user) => user !== name);
      this.#typing.delete(name);
      changes.users = true;
      changes.typing = true;
    }
  }

  #delivered(localId, message, changes) {
    const line = this.#pending.get(localId);
    if (!line) {
      this.#early.set(localId, message);
      return;
    }
    this.#pending.delete(localId);
    line.state = 'sent';
    if (message?.id != null) {
      line.id = message.id;
      this.#seenIds.add(message.id);
    }
    if (message?.ts) line.ts = message.ts;
    changes.updated.push(line);
  }

  #failed(localId, code, reason, changes) {
    const line = this.#pending.get(localId);
    if (!line) return;
    line.state = 'failed';
    line.reason = reason || code;
    changes.updated.push(line);
  }

  #trim(changes) {
    const excess = this.#lines.length - this.#maxLines;
    if (excess <= 0) return;
    const dropped = this.#lines.splice(0, excess);
    for (const line of dropped) if (line.localId != null) this.#pending.delete(line.localId);
    changes.removed.push(...dropped);
  }
}
