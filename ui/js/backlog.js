// Lines wait here to be drawn. The model takes every event at once (no DOM: it is quick); drawing
// is what costs, so a burst (thousands of lines from a catch-up or a busy room) is drawn a slice at
// a time, as many slices as fit in a frame's budget, the rest in the next frames, and the page keeps
// answering between them. A line the model drops before its turn (the view keeps the newest 3000)
// is never drawn at all. A quiet chat's lines are drawn at once, as they come.

/** Lines per slice: one slice's layout stays well under a frame's worth of work. */
export const SLICE_LINES = 25;
/** How long one frame may spend on slices before the rest wait for the next frame. */
export const FRAME_BUDGET_MS = 8;

export class Backlog {
  #waiting = new Map(); // line.key → { line, forceScroll }, in the order they are drawn
  #scheduled = false;
  #draining = false;

  /**
   * draw(lines, { forceScroll }), remove(lines), update(lines): the view's. nextFrame(fn): calls fn
   * once at the next frame. now(): a clock in ms.
   */
  constructor({ draw, remove, update, nextFrame, now = () => performance.now(), budgetMs = FRAME_BUDGET_MS, sliceLines = SLICE_LINES }) {
    Object.assign(this, { draw, remove, update, nextFrame, now, budgetMs, sliceLines });
  }

  /** Lines still to be drawn. */
  get pending() {
    return this.#waiting.size;
  }

  /**
   * What the model changed ({ added, removed, updated }; `added`: only lines of the conversation
   * shown). A line still waiting is not removed or redrawn: it is dropped, or drawn as it is then.
   * `forceScroll`: the view goes to the bottom once these lines are drawn (the user's own).
   */
  apply({ added = [], removed = [], updated = [] }, { forceScroll = false } = {}) {
    // A waiting line that goes is forgotten: it is never drawn.
    const drawnGone = removed.filter((line) => !this.#waiting.delete(line.key));
    if (drawnGone.length) this.remove(drawnGone);
    const drawnChanged = updated.filter((line) => !this.#waiting.has(line.key));
    if (drawnChanged.length) this.update(drawnChanged);
    for (const line of added) this.#waiting.set(line.key, { line, forceScroll });
    if (!this.#scheduled && !this.#draining) this.#drain(this.budgetMs);
  }

  /** Draws everything now (before the view places lines relative to others, or looks for one). */
  flush() {
    if (!this.#draining) this.#drain(Infinity);
  }

  /** Forgets what waits (another chat or conversation is shown: its lines are drawn from the model). */
  clear() {
    this.#waiting.clear();
  }

  #nextSlice() {
    const lines = [];
    let forceScroll = false;
    for (const [key, entry] of this.#waiting) {
      if (lines.length === this.sliceLines) break;
      this.#waiting.delete(key);
      lines.push(entry.line);
      forceScroll ||= entry.forceScroll;
    }
    return { lines, forceScroll };
  }

  #drain(budgetMs) {
    this.#scheduled = false;
    this.#draining = true;
    const start = this.now();
    try {
      while (this.#waiting.size) {
        const { lines, forceScroll } = this.#nextSlice();
        this.draw(lines, { forceScroll });
        if (this.now() - start >= budgetMs) break;
      }
    } finally {
      this.#draining = false;
    }
    if (this.#waiting.size && !this.#scheduled) {
      this.#scheduled = true;
      this.nextFrame(() => this.#drain(this.budgetMs));
    }
  }
}
