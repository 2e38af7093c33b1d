// Search in the conversation stored on this computer (the app's local history, FTS5 in Rust): the
// state of the search box, with no DOM and no network. Rust sends plain text and highlight offsets,
// never HTML; `highlightParts` cuts the text so the view puts each part in a text node or a <mark>.

/** Typing pauses this long before a search is asked for. */
export const SEARCH_DELAY_MS = 150;

/**
 * `text` cut at the highlight ranges ([start, end) in UTF-16 units, as JavaScript indexes):
 * [{ text, mark }]. Ranges out of bounds, empty, overlapping or out of order are ignored or clipped,
 * so a bad range can never lose or repeat text.
 */
export function highlightParts(text, ranges = []) {
  const parts = [];
  let at = 0;
  const sorted = [...ranges].filter((r) => Array.isArray(r) && r.length === 2).sort((a, b) => a[0] - b[0]);
  for (const [rawStart, rawEnd] of sorted) {
    const start = Math.max(at, Math.min(rawStart, text.length));
    const end = Math.min(rawEnd, text.length);
    if (!(end > start)) continue;
    if (start > at) parts.push({ text: text.slice(at, start), mark: false });
    parts.push({ text: text.slice(start, end), mark: true });
    at = end;
  }
  if (at < text.length || !parts.length) parts.push({ text: text.slice(at), mark: false });
  return parts;
}

/** The line a search hit is: the same run and server id, else the same stored message (seq). */
export function findLine(lines, hit) {
  const run = hit.run ?? null;
  return (
    lines.find((line) => hit.id != null && line.id === hit.id && (line.run ?? null) === run) ??
    lines.find((line) => line.seq != null && line.seq === hit.seq) ??
    null
  );
}

/**
 * The search box's state: what was typed, the answer for it, and which answers are stale (a slow
 * answer for "lun" must not replace the one for "lunch").
 */
export class SearchModel {
  #query = '';
  #hits = [];
  #state = 'idle'; // 'idle' (nothing typed) | 'searching' | 'done'

  /** The user typed `input`: the query to ask for, or null when there is nothing to ask (empty). */
  type(input) {
    const query = input.trim();
    if (query === this.#query && this.#state !== 'idle') return null;
    this.#query = query;
    this.#hits = [];
    this.#state = query ? 'searching' : 'idle';
    return query || null;
  }

  /** The answer for `query`; false (and ignored) when the box holds something else by now. */
  answer(query, hits) {
    if (query !== this.#query || this.#state === 'idle') return false;
    this.#hits = hits;
    this.#state = 'done';
    return true;
  }

  /** Closed (Escape, or the chat was left): back to nothing typed. */
  clear() {
    this.#query = '';
    this.#hits = [];
    this.#state = 'idle';
  }

  get query() {
    return this.#query;
  }

  get hits() {
    return [...this.#hits];
  }

  get state() {
    return this.#state;
  }

  /** What the results panel says above the list. */
  get summary() {
    if (this.#state === 'searching') return 'Searching…';
    if (this.#state !== 'done') return '';
    const n = this.#hits.length;
    if (!n) return `No messages with “${this.#query}” on this computer.`;
    return `${n === 1 ? '1 message' : `${n} messages`} with “${this.#query}”${n >= 100 ? ' (the newest 100)' : ''}`;
  }
}
