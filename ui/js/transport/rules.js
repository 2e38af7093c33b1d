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

  static of(messages) {
    const seen = new SeenMessages();
    for (const message of messages) seen.add(message);
    return seen;
  }

  add(message) {
    const entry = hasId(message) ? { id: message.id } : { key: senderTextAndTime(message) };
    if (entry.id !== undefined) {
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
