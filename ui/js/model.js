// The chat state, with no DOM and no network: the controller feeds it transport events and user
// actions; each method returns what changed so the view can update only that.

export const MAX_MESSAGE_CHARS = 2000;
// Older lines are dropped from memory and from the page; a busy room must not grow without bound.
const MAX_LINES = 3000;
// A typing notice is stale after this long (PROTOCOL.md §2.3).
const TYPING_STALE_MS = 5000;

/** Length as the server counts it: Unicode scalar values, not UTF-16 units. */
export function charCount(text) {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}

export class ChatModel {
  constructor() {
    this.reset();
  }

  reset() {
    this.session = null; // { server, name, features }
    this.status = { state: 'offline', attempt: 0, retryInMs: null, detail: null };
    this.lines = []; // chat and system lines, oldest first
    this.seenIds = new Set(); // server ids already shown: a last line of defence against duplicates
    this.pending = new Map(); // localId → line not yet acknowledged
    this.early = new Map(); // localId → delivery that arrived before send() returned the id
    this.users = [];
    this.typing = new Map(); // name → time of the last "typing: true"
    this.unread = 0;
    this.nextKey = 1;
  }

  startSession(info) {
    this.reset();
    this.session = info;
    this.status = { state: 'connected', attempt: 0, retryInMs: null, detail: null };
  }

  get features() {
    return this.session?.features ?? { history: false, presence: false, acks: false };
  }

  /** Applies one batch of transport events; returns what the view must redraw. */
  applyEvents(events) {
    const changes = { added: [], updated: [], removed: [], status: false, users: false, typing: false, notices: [] };
    for (const event of events) {
      switch (event.type) {
        case 'status':
          this.status = event;
          changes.status = true;
          if (event.state !== 'connected' && this.typing.size) {
            this.typing.clear();
            changes.typing = true;
          }
          break;
        case 'session':
          // A new registration (after a reconnect): the server may have restarted and numbers
          // its messages from 1 again. Rust already removed copies across sessions.
          this.seenIds.clear();
          this.session = { ...this.session, name: event.name, server: event.server, features: event.features };
          changes.users = true;
          break;
        case 'messages':
          for (const message of event.messages) this.#receive(message, changes);
          break;
        case 'users':
          this.users = [...event.names];
          changes.users = true;
          break;
        case 'typing':
          if (event.typing) this.typing.set(event.name, Date.now());
          else this.typing.delete(event.name);
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
    const line = this.#line({ kind: 'chat', from: this.session?.name ?? '', text, ts: Date.now(), own: true, state: 'pending', localId });
    this.pending.set(localId, line);
    const changes = { added: [line], updated: [], removed: [] };
    const early = this.early.get(localId);
    if (early) {
      this.early.delete(localId);
      this.#delivered(localId, early, changes);
      changes.updated = [];
    }
    this.#trim(changes);
    return changes;
  }

  /** Names currently typing (stale notices dropped). */
  typingNames() {
    const now = Date.now();
    for (const [name, since] of this.typing) {
      if (now - since > TYPING_STALE_MS) this.typing.delete(name);
    }
    return [...this.typing.keys()];
  }

  pendingCount() {
    return [...this.pending.values()].filter((line) => line.state === 'pending').length;
  }

  #line(fields) {
    const line = { key: this.nextKey++, id: null, reason: null, ...fields };
    this.lines.push(line);
    return line;
  }

  #receive(message, changes) {
    if (message.id != null) {
      if (this.seenIds.has(message.id)) return;
      this.seenIds.add(message.id);
    }
    const system = message.from === 'Server';
    const own = !system && message.from === this.session?.name;
    const line = this.#line({
      kind: system ? 'system' : 'chat',
      id: message.id,
      from: message.from,
      text: message.message,
      ts: message.ts,
      own,
      state: 'sent',
    });
    changes.added.push(line);
    if (system && this.features.presence && message.name) {
      if (message.kind === 'join' && !this.users.includes(message.name)) {
        this.users.push(message.name);
        changes.users = true;
      } else if (message.kind === 'leave') {
        this.users = this.users.filter((name) => name !== message.name);
        this.typing.delete(message.name);
        changes.users = true;
        changes.typing = true;
      }
    }
    if (!system && this.typing.delete(message.from)) changes.typing = true;
  }

  #delivered(localId, message, changes) {
    const line = this.pending.get(localId);
    if (!line) {
      this.early.set(localId, message);
      return;
    }
    this.pending.delete(localId);
    line.state = 'sent';
    if (message.id != null) {
      line.id = message.id;
      this.seenIds.add(message.id);
    }
    if (message.ts) line.ts = message.ts;
    changes.updated.push(line);
  }

  #failed(localId, code, reason, changes) {
    const line = this.pending.get(localId);
    if (!line) return;
    line.state = 'failed';
    line.reason = reason || code;
    changes.updated.push(line);
  }

  #trim(changes) {
    const excess = this.lines.length - MAX_LINES;
    if (excess > 0) {
      const dropped = this.lines.splice(0, excess);
      changes.removed.push(...dropped);
    }
  }
}
