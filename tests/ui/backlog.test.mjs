// Unit tests of the burst backlog (ui/js/backlog.js): slicing, the frame budget, order, clearing.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backlog, slices } from '../../ui/js/backlog.js';

const messages = (from, count) => ({ type: 'messages', messages: Array.from({ length: count }, (_, i) => ({ id: from + i })) });
const ids = (events) => events.flatMap((event) => event.messages?.map((m) => m.id) ?? [event.type]);

/** A backlog whose frames the test runs, and whose clock each shown slice moves by `costMs`. */
function harness({ costMs = 5, budgetMs = 8, sliceLines = 100 } = {}) {
  const shown = [];
  const frames = [];
  let clock = 0;
  const backlog = new Backlog({
    apply: (events) => {
      shown.push(events);
      clock += costMs;
    },
    nextFrame: (fn) => frames.push(fn),
    now: () => clock,
    budgetMs,
    sliceLines,
  });
  const runFrame = () => frames.shift()?.();
  return { backlog, shown, frames, runFrame };
}

test('a long messages event is cut into slices; small events ride along in order', () => {
  const cut = slices([{ type: 'status' }, messages(1, 250), { type: 'users' }, messages(251, 30)], 100);
  assert.deepEqual(cut.map(ids), [
    ['status'],
    [...Array.from({ length: 100 }, (_, i) => i + 1)],
    [...Array.from({ length: 100 }, (_, i) => i + 101)],
    [...Array.from({ length: 50 }, (_, i) => i + 201), 'users', ...Array.from({ length: 30 }, (_, i) => i + 251)],
  ]);
  assert.deepEqual(ids(cut.flat()), ids([{ type: 'status' }, messages(1, 250), { type: 'users' }, messages(251, 30)]), 'nothing lost or reordered');
});

test('a quiet chat is shown at once, without waiting for a frame', () => {
  const { backlog, shown, frames } = harness();
  backlog.push([messages(1, 3)]);
  assert.equal(shown.length, 1);
  assert.equal(frames.length, 0);
  assert.equal(backlog.pending, 0);
});

test('a burst is shown as many slices per frame as fit in the budget, the rest in later frames, in order', () => {
  const { backlog, shown, frames, runFrame } = harness({ costMs: 5, budgetMs: 8 });
  backlog.push([messages(1, 1000)]);
  assert.equal(shown.length, 2, 'two slices of 5 ms pass an 8 ms budget: then it waits');
  assert.equal(frames.length, 1);
  // What arrives meanwhile queues behind, without being shown out of turn.
  backlog.push([messages(1001, 5)]);
  assert.equal(shown.length, 2);
  while (frames.length) runFrame();
  assert.equal(shown.length, 11);
  assert.deepEqual(ids(shown.flat()), Array.from({ length: 1005 }, (_, i) => i + 1));
});

test('leaving the chat forgets what still waits', () => {
  const { backlog, shown, frames, runFrame } = harness({ costMs: 10 });
  backlog.push([messages(1, 500)]);
  assert.equal(shown.length, 1);
  backlog.clear();
  runFrame();
  assert.equal(shown.length, 1);
  assert.equal(frames.length, 0);
  backlog.push([messages(1, 2)]);
  assert.equal(shown.length, 2, 'the next chat is shown at once again');
});
