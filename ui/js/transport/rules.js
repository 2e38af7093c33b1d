// Client rules of docs/PROTOCOL.md §4 that need no socket: catching up after a (re)registration.
// The app's Rust client (src-tauri/src/client/catch_up.rs) runs the same cases as this file
// (protocol/tests/client-cases.json, tested in tests/ui/rules.test.mjs).

// More than any history a server replays after a registration (200 by default).
const SEEN_CAPACITY = 4096;

const senderAndText = (message) => JSON.stringify([message.from, message.message]);
const senderTextAndTime = (message) => JSON.stringify([message.from, message.message, message.ts ?? null]);
const hasId = (message) => typeof message.id === 'number';

/** The messages shown recently, to tell what a history replays from what is new. */
export class SeenMessages {
  #byId = new Map(); // id → sender and text: without a known run, an id alone proves nothing
  #untagged = new Set(); // messages without an id (seed servers): sender, text and time
  #order = []; // oldest first, to forget beyond SEEN_CAPACITY
  #newest = null; // the greatest id shown since the last clear (this run of the server's ids)

  static of(messages) {
    const seen = new SeenMessages();
    for (const message of messages) seen.add(message);
    return seen;
  }

  add(message) {
    const entry = hasId(message) ? { id: message.id } : { key: senderTextAndTime(message) };
    if (entry.id !== undefined) {
      if (this.#newest === null || entry.id > this.#newest) this.#newest = entry.id;
      if (this.#byId.has(entry.id)) return;
      this.#byId.set(entry.id, senderAndText(message));
    } else {
      if (this.#untagged.has(entry.key)) return;
      this.#untagged.add(entry.key);
    }
    this.#order.push(entry);
    if (this.#order.length > SEEN_CAPACITY) {
      const old = this.#order.shift();
      if (old.id !== undefined) this.#byId.delete(old.id);
      else this.#untagged.delete(old.key);
    }
  }

  /** Was `message` shown already? `sameRun`: true, false, or null when the server does not say. */
  has(message, sameRun) {
    if (sameRun === false) return false;
    if (!hasId(message)) return this.#untagged.has(senderTextAndTime(message));
    if (sameRun === true) return this.#byId.has(message.id);
    return this.#byId.get(message.id) === senderAndText(message);
  }

  clear() {
    this.#byId.clear();
    this.#untagged.clear();
    this.#order = [];
    this.#newest = null;
  }

  /** The last id shown in this run, where a catch-up goes on from. */
  get newestId() {
    return this.#newest;
  }
}

/**
 * Sorts the `history` a (re)registration brought into lines to show and our own messages whose ack
 * was lost with the connection (maybe delivered, and the server has them).
 *   name: the name the outbox was sent under; sameRun: true | false | null (unknown);
 *   seen: SeenMessages (or an array of messages); outbox: [{ localId, text, maybeDelivered }], oldest first.
 * Returns { shown: history indexes, delivered: { localId: history index }, resend: localIds in order }.
 */
export function catchUp({ name, sameRun, seen, outbox, history }) {
  const known = Array.isArray(seen) ? SeenMessages.of(seen) : seen;
  const shown = [];
  const delivered = {};
  history.forEach((message, index) => {
    if (known.has(message, sameRun)) return;
    // The oldest unsettled entry with this text: two lost acks of the same text and one copy on the
    // server settle the older one, the newer is sent again.
    const mine = message.from === name
      ? outbox.find((entry) => entry.maybeDelivered && !(entry.localId in delivered) && entry.text === message.message)
      : undefined;
    if (mine) delivered[mine.localId] = index;
    else shown.push(index);
  });
  const resend = outbox.filter((entry) => !(entry.localId in delivered)).map((entry) => entry.localId);
  return { shown, delivered, resend };
}

/**
 * After a re-registration: the id after which the missed messages are fetched page by page
 * (`history {after}`) before the pushed page is shown, or null when the pushed page reaches back to
 * what was shown (or nothing can be compared: a first join, a server without runs or ids). In a new
 * run every message of it was missed; its id 1 is always the first join announcement.
 *   lastShown: the last id shown in this run (null: none); sameRun: true | false | null; pushed: the page.
 */
export function catchUpStart(lastShown, sameRun, pushed) {
  if (sameRun === null || sameRun === undefined) return null;
  const start = sameRun ? lastShown : 1;
  const first = pushed[0]?.id;
  if (typeof start !== 'number' || typeof first !== 'number') return null;
  return first > start + 1 ? start : null;
}

/**
 * What the first page of a catch-up says: `first` is its oldest id, `older` the newest id the server
 * still has below it (null: none). Skipped ids with an older message still there were announcements;
 * with none, the server's history begins later and what was between is gone. Ids are shared with
 * announcements, so `upTo` is the most that were chat messages. Returns { after, before, upTo } or null.
 */
export function missing(after, first, older) {
  if (first <= after + 1 || typeof older === 'number') return null;
  return { after, before: first, upTo: first - after - 1 };
}
