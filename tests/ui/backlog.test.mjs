// Unit tests of the drawing backlog (ui/js/backlog.js): slices, the frame budget, order, lines
// dropped before their turn, flushing and clearing.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backlog } from '../../ui/js/backlog.js';

const lines = (from, count) => Array.from({ length: count }, (_, i) => ({ key: from + i }));
const keys = (list) => list.map((line) => line.key);
const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A backlog whose frames the test runs, and whose clock each drawn slice moves by `costMs`. */
function harness({ costMs = 5, budgetMs = 8, sliceLines = 100 } = {}) {
  const drawn = []; // slices, as drawn
  const calls = []; // every view call, in order
  const frames = [];
  let clock = 0;
  const backlog = new Backlog({
    draw: (slice, options) => {
      drawn.push(slice);
      calls.push(['draw', keys(slice), options.forceScroll]);
      clock += costMs;
    },
    remove: (gone) => calls.push(['remove', keys(gone)]),
    update: (changed) => calls.push(['update', keys(changed)]),
    nextFrame: (fn) => frames.push(fn),
    now: () => clock,
    budgetMs,
    sliceLines,
  });
  const runFrame = () => frames.shift()?.();
  return { backlog, drawn, calls, frames, runFrame };
}

test('a quiet chat is drawn at once, without waiting for a frame', () => {
  const { backlog, calls, frames } = harness();
  backlog.apply({ added: lines(1, 3) });
  assert.deepEqual(calls, [['draw', [1, 2, 3], false]]);
  assert.equal(frames.length, 0);
  assert.equal(backlog.pending, 0);
});

test('a burst is drawn as many slices per frame as fit in the budget, the rest in later frames, in order', () => {
  const { backlog, drawn, frames, runFrame } = harness({ costMs: 5, budgetMs: 8 });
  backlog.apply({ added: lines(1, 1000) });
  assert.equal(drawn.length, 2, 'two slices of 5 ms pass an 8 ms budget: then it waits');
  assert.equal(frames.length, 1);
  assert.equal(backlog.pending, 800);
  // What arrives meanwhile queues behind, without being drawn out of turn.
  backlog.apply({ added: lines(1001, 5) });
  assert.equal(drawn.length, 2);
  while (frames.length) runFrame();
  assert.equal(drawn.length, 11);
  assert.ok(drawn.every((slice) => slice.length <= 100));
  assert.deepEqual(keys(drawn.flat()), range(1, 1005));
});

test('lines the model drops before their turn are never drawn, nor removed from the page', () => {
  const { backlog, calls, drawn, frames, runFrame } = harness({ costMs: 10 });
  backlog.apply({ added: lines(1, 500) });
  assert.deepEqual(keys(drawn.flat()), range(1, 100));
  // The model keeps the newest lines: 1-300 go, of which only 1-100 were drawn.
  backlog.apply({ added: lines(501, 300), removed: lines(1, 300) });
  assert.deepEqual(calls[1], ['remove', range(1, 100)]);
  while (frames.length) runFrame();
  assert.deepEqual(keys(drawn.flat()), [...range(1, 100), ...range(301, 800)]);
  assert.equal(calls.filter(([what]) => what === 'remove').length, 1);
});

test('a waiting line that changed is drawn as it is then, not redrawn; a drawn one is updated', () => {
  const { backlog, calls, frames, runFrame } = harness({ costMs: 10 });
  backlog.apply({ added: lines(1, 300) });
  backlog.apply({ updated: [{ key: 50 }, { key: 250 }] });
  assert.deepEqual(calls[1], ['update', [50]]);
  while (frames.length) runFrame();
  assert.equal(calls.filter(([what]) => what === 'update').length, 1);
});

test("the user's own line waits its turn, and the view goes to the bottom once it is drawn", () => {
  const { backlog, calls, frames, runFrame } = harness({ costMs: 10 });
  backlog.apply({ added: lines(1, 250) });
  backlog.apply({ added: [{ key: 'own' }] }, { forceScroll: true });
  while (frames.length) runFrame();
  assert.deepEqual(
    calls.map(([, drawnKeys, force]) => [drawnKeys.length, drawnKeys.at(-1), force]),
    [
      [100, 100, false],
      [100, 200, false],
      [51, 'own', true],
    ],
  );
});

test('flush draws everything now, whatever the budget', () => {
  const { backlog, drawn } = harness({ costMs: 10 });
  backlog.apply({ added: lines(1, 1000) });
  backlog.flush();
  assert.equal(backlog.pending, 0);
  assert.deepEqual(keys(drawn.flat()), range(1, 1000));
});

test('clearing forgets what still waits', () => {
  const { backlog, drawn, frames, runFrame } = harness({ costMs: 10 });
  backlog.apply({ added: lines(1, 500) });
  assert.equal(drawn.length, 1);
  backlog.clear();
  runFrame();
  assert.equal(drawn.length, 1);
  assert.equal(frames.length, 0);
  backlog.apply({ added: lines(1, 2) });
  assert.equal(drawn.length, 2, 'the next chat is drawn at once again');
});
