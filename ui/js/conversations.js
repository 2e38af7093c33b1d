// The conversations beside the chat (PROTOCOL.md §2.10): the room, then each person talked to
// privately, each with its unread count. No DOM, no network: the model routes lines here by `to`.

import { foldName } from './protocol.js';

/** The room's key; a person's conversation is keyed by their folded name. */
export const ROOM = '';

/**
 * Which conversation a message belongs to for the user `ownName`: the room without `to`; with `to`,
 * the other person (the addressee of our own messages, the sender of theirs).
 */
export function conversationOf({ from, to }, ownName) {
  if (to == null) return ROOM;
  const own = ownName != null && foldName(from) === foldName(ownName);
  return foldName(own ? to : from);
}

/** The name shown for that conversation: the other person as the server spells them. */
export function peerOf({ from, to }, ownName) {
  return ownName != null && foldName(from) === foldName(ownName) ? to : from;
}

export class Conversations {
  #people = new Map(); // key → { key, name, unread, last }, in order of the latest activity
  #roomUnread = 0;
  #current = ROOM;
  #clock = 0; // orders conversations by activity without relying on message times

  reset() {
    this.#people.clear();
    this.#roomUnread = 0;
    this.#current = ROOM;
  }

  /** The conversation shown now (ROOM or a person's key). */
  get current() {
    return this.#current;
  }

  /** The name of the person of the current conversation, null in the room (to send with `to`). */
  get currentPeer() {
    return this.#current === ROOM ? null : (this.#people.get(this.#current)?.name ?? null);
  }

  /** The room first, then people, the latest active first: [{ key, name, unread, current }]. */
  list() {
    const people = [...this.#people.values()].sort((a, b) => b.last - a.last);
    return [
      { key: ROOM, name: null, unread: this.#roomUnread, current: this.#current === ROOM },
      ...people.map(({ key, name, unread }) => ({ key, name, unread, current: key === this.#current })),
    ];
  }

  /** Total unread outside the conversation shown. */
  unreadElsewhere() {
    return this.list().reduce((sum, entry) => sum + (entry.current ? 0 : entry.unread), 0);
  }

  /**
   * A line arrived in conversation `key` (with the other person's `name`); `unread`: it counts as
   * unread when that conversation is not the one shown. Returns true when the list changed.
   */
  note(key, name, { unread = false } = {}) {
    const counts = unread && key !== this.#current;
    if (key === ROOM) {
      if (counts) this.#roomUnread += 1;
      return counts;
    }
    const person = this.#people.get(key);
    if (!person) {
      this.#people.set(key, { key, name, unread: counts ? 1 : 0, last: ++this.#clock });
      return true;
    }
    person.last = ++this.#clock;
    if (counts) person.unread += 1;
    return true;
  }

  /** Shows the conversation with `name` (made if new), or the room for null; its unread are read. */
  open(name) {
    const key = name == null ? ROOM : foldName(name);
    if (key !== ROOM && !this.#people.has(key)) this.#people.set(key, { key, name, unread: 0, last: ++this.#clock });
    this.#current = key;
    if (key === ROOM) this.#roomUnread = 0;
    else this.#people.get(key).unread = 0;
    return key;
  }

  /** Opens the conversation with this key (as the list gives it). */
  openKey(key) {
    return this.open(key === ROOM ? null : (this.#people.get(key)?.name ?? key));
  }
}
