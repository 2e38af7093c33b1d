// The chat state, with no DOM and no network: the controller feeds it transport events and user
// actions; each method returns what changed so the view can update only that. State is read through
// getters and changed only through methods.

import { ANNOUNCEMENT_KINDS, DEFAULT_LIMITS, SERVER_NAME, charCount, checkText } from './protocol.js';
import { Conversations, ROOM, conversationOf, peerOf } from './conversations.js';
import { Uploads, captionOf, fileProblem, readAttachment } from './files.js';
import { mentions } from './desktop.js';

// Older lines are dropped from memory and from the page; a busy room must not grow without bound.
const MAX_LINES = 3000;
// A typing notice is stale after this long (PROTOCOL.md §2.3).
const TYPING_STALE_MS = 5000;
const NO_FEATURES = Object.freeze({ history: false, presence: false, acks: false });
// Below the lines of a previous run of the server's ids (it restarted): they are kept, never merged by id.
export const RESTARTED_TEXT = 'The server restarted here: the messages above are from before.';

export class ChatModel {
  #now;
  #maxLines; // grows with what the user loads ("load older"), back to #baseMaxLines at reset
  #baseMaxLines;
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
  #run = null; // the server's run of ids (welcome.run): lines of another run are not paged back from
  #older = 'more'; // "load older": 'more' | 'loading' | 'start' (the server has nothing older)
  #olderHidden = false; // lines were dropped from the top since the last page was loaded
  #conversations = new Conversations(); // the room and each person talked to privately (§2.10)
  #joinedAt = 0; // lines older than the join are history, not unread
  #files = null; // { maxBytes } once the server offered files (its `files` event, §2.11)
  #uploads = new Uploads();
  #provisional = false; // the session is the stored conversation shown while the join is under way
  #storedMore = false; // the local store holds older messages than the oldest stored line shown
  #storedCursor = null; // the `seq` of the oldest stored message read: older pages are read before it

  /** `now` and `maxLines` are there for tests. */
  constructor({ now = () => Date.now(), maxLines = MAX_LINES } = {}) {
    this.#now = now;
    this.#baseMaxLines = maxLines;
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
    this.#run = null;
    this.#maxLines = this.#baseMaxLines;
    this.#older = 'more';
    this.#olderHidden = false;
    this.#conversations.reset();
    this.#files = null;
    this.#uploads.clear();
    this.#provisional = false;
    this.#storedMore = false;
    this.#storedCursor = null;
  }

  /** A joined chat, as `connect` answered: { server, name, features, limits? }. */
  startSession(info) {
    // The stored conversation shown while joining stays: the server's lines merge into it.
    const stored = this.#provisional ? { lines: this.#lines, more: this.#storedMore, cursor: this.#storedCursor } : null;
    this.reset();
    if (stored) {
      this.#lines = stored.lines;
      this.#storedMore = stored.more;
      this.#storedCursor = stored.cursor;
      for (const line of stored.lines) if (line.conv) this.#conversations.note(line.conv, line.peer);
    }
    this.#session = { ...info, limits: info.limits ?? DEFAULT_LIMITS };
    this.#run = info.run ?? null;
    this.#joinedAt = this.#now();
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
          if (event.chatName) this.#session.chatName = event.chatName;
          changes.session = true;
          changes.users = true;
          this.#newRun(event.run, changes);
          this.#continueRun(changes);
          break;
        case 'missing':
          this.#missing(event, changes);
          break;
        case 'historyStart':
          // Nothing older on the server: no "Load older messages" to click in vain.
          this.#older = 'start';
          changes.older = true;
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
        case 'files':
          this.#files = Number.isSafeInteger(event.maxBytes) && event.maxBytes > 0 ? { maxBytes: event.maxBytes } : null;
          changes.files = true;
          break;
      }
    }
    this.#trim(changes);
    return changes;
  }

  /** A message the user just sent: shown at once, marked pending until the server has it. */
  addPending(localId, text, { to = null, attachment = null } = {}) {
    const from = this.#session?.name ?? '';
    const conv = conversationOf({ from, to }, from);
    const line = this.#line({ kind: 'chat', from, text, ts: this.#now(), own: true, state: 'pending', localId, to, conv, attachment });
    this.#conversations.note(conv, to);
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
    const changes = this.addPending(localId, line.text, { to: line.to, attachment: line.attachment });
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

  /** The conversations beside the chat: [{ key, name, unread, current }], the room first. */
  get conversations() {
    return this.#conversations.list();
  }

  /** The conversation shown: { key, peer } (peer: the person's name, null in the room). */
  get conversation() {
    return { key: this.#conversations.current, peer: this.#conversations.currentPeer };
  }

  /** Shows the conversation with `name` (null: the room); returns its lines, oldest first. */
  openConversation(name) {
    this.#conversations.open(name);
    return this.shownLines();
  }

  /** Shows the conversation with this key from the list; returns its lines. */
  openConversationKey(key) {
    this.#conversations.openKey(key);
    return this.shownLines();
  }

  /** Lines of the conversation shown, of `lines` (default: all); markers and announcements are the room's. */
  shownLines(lines = this.#lines) {
    return lines.filter((line) => this.isShown(line));
  }

  /** Whether `line` is in the conversation shown. */
  isShown(line) {
    return (line.conv ?? ROOM) === this.#conversations.current;
  }

  /** What the server takes as files ({ maxBytes }), null when it takes none. */
  get files() {
    return this.#files;
  }

  /** Why `file` ({ name, size }) cannot be sent, in words; null when it can. */
  fileProblem(file) {
    return fileProblem(file, this.#files);
  }

  /** The uploads under way (files.js Uploads: start, progress, finish, fail, list). */
  get uploads() {
    return this.#uploads;
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
    const line = this.#line(this.#fields(message));
    changes.added.push(line);
    const counts = !system && !line.own && line.ts >= this.#joinedAt;
    if (this.#conversations.note(line.conv, line.peer, { unread: counts })) changes.conversations = true;
    if (system && this.features.presence && message.name) this.#presence(message, changes);
    if (!system && this.#typing.delete(message.from)) changes.typing = true;
  }

  /** A line's fields for a message from the server. */
  #fields(message) {
    return { ...this.#baseFields(message), ...this.#routeFields(message) };
  }

  /** Private messages (§2.10) and attachments (§2.11): which conversation, which file, what caption. */
  #routeFields(message) {
    const to = typeof message.to === 'string' ? message.to : null;
    const attachment = readAttachment(message.attachment);
    const ownName = this.#session?.name;
    const routed = { from: message.from, to };
    const peer = to == null ? null : peerOf(routed, ownName);
    return { to, conv: conversationOf(routed, ownName), peer, attachment, text: captionOf(message.message, attachment) };
  }

  #baseFields(message) {
    const system = message.from === SERVER_NAME;
    const own = !system && message.from === this.#session?.name;
    // Someone else's message naming us: highlighted, and notified even with notifications off.
    const mention = !system && !own && mentions(message.message, this.#session?.name);
    return { kind: system ? 'system' : 'chat', id: message.id ?? null, run: this.#run, from: message.from, text: message.message, ts: message.ts ?? this.#now(), own, mention, state: 'sent' };
  }

  /** The server no longer has what was said between two ids: one marker line in its place. */
  #missing({ upTo }, changes) {
    const text = `Up to ${upTo} message${upTo === 1 ? '' : 's'} from this time ${upTo === 1 ? 'is' : 'are'} no longer available on the server.`;
    changes.added.push(this.#line({ kind: 'gap', text, upTo, ts: null, from: null, own: false, state: 'sent' }));
  }

  /** A session of another run (a server restarted in memory): paging back starts again from its lines. */
  #newRun(run, changes) {
    if (run === undefined || run === this.#run) return;
    this.#run = run ?? null;
    this.#older = 'more';
    changes.older = true;
  }

  /** "Load older": where it stands ('more' | 'loading' | 'start') and whether lines were dropped from the top. */
  get older() {
    if (this.#storedMore) return { state: this.#older === 'loading' ? 'loading' : 'more', hidden: this.#olderHidden };
    return { state: this.features.history ? this.#older : 'off', hidden: this.#olderHidden };
  }

  /** The id to page back from: the oldest shown of this run (null: none shown). */
  oldestId() {
    let oldest = null;
    for (const line of this.#lines) {
      if (line.id != null && line.run === this.#run && (oldest === null || line.id < oldest)) oldest = line.id;
    }
    return oldest;
  }

  /** A page of older messages is being asked for; false when one already is. */
  startLoadingOlder() {
    if (this.#older === 'loading' || (this.#older === 'start' && !this.#storedMore)) return false;
    this.#older = 'loading';
    return true;
  }

  /** The page could not be had: the control offers it again. */
  olderFailed() {
    if (this.#older === 'loading') this.#older = 'more';
  }

  /**
   * A page of older messages ({ messages, startReached }, oldest first): its lines go above the
   * oldest line of this run, and are kept on top of the line limit (the user asked for them).
   * Returns { inserted, anchor }: the new lines, and the line they go before (null: at the end).
   */
  addOlder({ messages, startReached }) {
    const oldest = this.oldestId();
    const fresh = messages.filter((message) => message.id != null && (oldest === null || message.id < oldest) && !this.#seenIds.has(message.id));
    const at = oldest === null ? this.#lines.length : this.#lines.findIndex((line) => line.id === oldest && line.run === this.#run);
    const inserted = fresh.map((message) => {
      this.#seenIds.add(message.id);
      return { key: this.#nextKey++, reason: null, ...this.#fields(message) };
    });
    this.#lines.splice(at, 0, ...inserted);
    this.#maxLines = Math.max(this.#maxLines, this.#lines.length);
    this.#older = startReached || !fresh.length ? 'start' : 'more';
    this.#olderHidden = false;
    return { inserted, anchor: this.#lines[at + inserted.length] ?? null };
  }

  /**
   * While joining: the conversation stored on this computer ({ messages, startReached }, oldest
   * first, each with its `seq` and `run`), shown before the server answers (or without it).
   * `startSession` keeps these lines. Returns them.
   */
  showStored({ server, name }, page) {
    this.reset();
    this.#session = { server, name, features: NO_FEATURES, limits: DEFAULT_LIMITS };
    this.#status = { state: 'connecting', attempt: 0, retryInMs: null, detail: null };
    this.#provisional = true;
    this.#lines = this.#storedLines(page.messages);
    this.#storedMore = !page.startReached;
    this.#storedCursor = page.messages[0]?.seq ?? null;
    this.#maxLines = Math.max(this.#maxLines, this.#lines.length);
    for (const line of this.#lines) if (line.conv) this.#conversations.note(line.conv, line.peer);
    return this.lines;
  }

  /** Whether the session is only the stored conversation (the server has not answered). */
  get provisional() {
    return this.#provisional;
  }

  /** The join failed: the stored conversation stays readable, offline, with the reason. */
  joinFailed(detail) {
    this.#status = { state: 'offline', attempt: 0, retryInMs: null, detail };
  }

  /** Where "load older" goes on in the local store: the oldest stored line's `seq` (null: nothing more there). */
  storedBefore() {
    return this.#storedMore ? this.#storedCursor : null;
  }

  /**
   * An older page of the local store: above everything shown, kept on top of the line limit.
   * Returns { inserted, anchor } like addOlder.
   */
  addStored({ messages, startReached }) {
    const anchor = this.#lines[0] ?? null;
    const fresh = messages.filter((m) => m.id == null || (m.run ?? null) !== this.#run || !this.#seenIds.has(m.id));
    const inserted = this.#storedLines(fresh);
    const last = inserted.at(-1);
    if (last && anchor && anchor.run !== undefined && anchor.run !== last.run) inserted.push(this.#restartMarker());
    for (const line of inserted) if (line.id != null && line.run === this.#run) this.#seenIds.add(line.id);
    this.#lines.unshift(...inserted);
    this.#maxLines = Math.max(this.#maxLines, this.#lines.length);
    this.#storedMore = !startReached && messages.length > 0;
    this.#storedCursor = messages[0]?.seq ?? this.#storedCursor;
    this.#older = 'more'; // the server's history is paged once the store has nothing older
    this.#olderHidden = false;
    return { inserted, anchor };
  }

  /** Lines of stored messages, with a marker wherever the run changes. */
  #storedLines(messages) {
    const lines = [];
    for (const message of messages) {
      const run = message.run ?? null;
      if (lines.length && lines.at(-1).run !== run) lines.push(this.#restartMarker());
      lines.push({ key: this.#nextKey++, reason: null, ...this.#fields(message), run, seq: message.seq });
    }
    return lines;
  }

  #restartMarker() {
    return { key: this.#nextKey++, kind: 'gap', restart: true, text: RESTARTED_TEXT, id: null, reason: null, ts: null, from: null, own: false, state: 'sent' };
  }

  /**
   * After a (re)registration: shown lines of this run keep removing copies by id (stored ones
   * too; a server that names no run may have restarted: its ids say nothing); below lines of
   * another run (the server restarted) a marker says so.
   */
  #continueRun(changes) {
    if (this.#run !== null) for (const line of this.#lines) if (line.id != null && line.run === this.#run) this.#seenIds.add(line.id);
    const last = this.#lines.findLast((line) => line.run !== undefined || line.restart);
    if (last && !last.restart && last.run !== this.#run) {
      const marker = this.#restartMarker();
      this.#lines.push(marker);
      changes.added.push(marker);
    }
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
    const attachment = readAttachment(message?.attachment);
    if (attachment) line.attachment = attachment;
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
    for (const line of dropped) {
      if (line.localId != null) this.#pending.delete(line.localId);
      if (line.id != null) this.#seenIds.delete(line.id); // no longer shown: "load older" may bring it back
    }
    // Stored lines dropped: read again from the store, before the oldest stored line still shown.
    const storedLeft = this.#lines.find((line) => line.seq != null);
    if (dropped.some((line) => line.seq != null) && storedLeft) {
      this.#storedMore = true;
      this.#storedCursor = storedLeft.seq;
    }
    changes.removed.push(...dropped);
    // Dropped from the page, not from the server: "load older" brings them back.
    this.#olderHidden = true;
    if (this.#older === 'start') this.#older = 'more';
    changes.older = true;
  }
}
