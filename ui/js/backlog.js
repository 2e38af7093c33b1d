// A burst of chat events (thousands of lines from a catch-up or a busy room) is shown a slice at a
// time: as many slices as fit in a frame's budget, the rest in the next frames. The page keeps
// answering between them (typing, clicks, scripts) instead of laying out thousands of lines in one
// task. A quiet chat's events are shown at once, as they come.

/** Lines per slice: one slice's layout stays well under a frame's worth of work. */
export const SLICE_LINES = 100;
/** How long one frame may spend on slices before the rest wait for the next frame. */
export const FRAME_BUDGET_MS = 8;

const linesOf = (event) => (event.type === 'messages' ? event.messages.length : 0);

/**
 * `events` cut into slices (arrays of events, in order) of at most `size` messages each; a
 * `messages` event longer than that is cut into several.
 */
export function slices(events, size = SLICE_LINES) {
  const out = [];
  let slice = [];
  let lines = 0;
  const close = () => {
    if (slice.length) out.push(slice);
    slice = [];
    lines = 0;
  };
  for (const event of events) {
    if (linesOf(event) > size) {
      for (let i = 0; i < event.messages.length; i += size) {
        close();
        slice.push({ ...event, messages: event.messages.slice(i, i + size) });
        lines = slice[0].messages.length;
      }
      continue;
    }
    if (lines + linesOf(event) > size) close();
    slice.push(event);
    lines += linesOf(event);
  }
  close();
  return out;
}

export class Backlog {
  #queue = [];
  #scheduled = false;
  #draining = false;

  /**
   * apply(events): shows one slice. nextFrame(fn): calls fn once at the next frame. now(): a clock
   * in ms.
   */
  constructor({ apply, nextFrame, now = () => performance.now(), budgetMs = FRAME_BUDGET_MS, sliceLines = SLICE_LINES }) {
    Object.assign(this, { apply, nextFrame, now, budgetMs, sliceLines });
  }

  get pending() {
    return this.#queue.length;
  }

  push(events) {
    this.#queue.push(...slices(events, this.sliceLines));
    if (!this.#scheduled && !this.#draining) this.#drain();
  }

  /** Forgets what waits (the chat was left: its events are no longer shown). */
  clear() {
    this.#queue = [];
  }

  #drain() {
    this.#scheduled = false;
    this.#draining = true;
    const start = this.now();
    try {
      while (this.#queue.length) {
        this.apply(this.#queue.shift());
        if (this.now() - start >= this.budgetMs) break;
      }
    } finally {
      this.#draining = false;
    }
    if (this.#queue.length) {
      this.#scheduled = true;
      this.nextFrame(() => this.#drain());
    }
  }
}
