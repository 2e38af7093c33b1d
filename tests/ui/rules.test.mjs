// The browser page's catch-up rules (ui/js/transport/rules.js) against every shared client case
// (protocol/tests/client-cases.json, which the app's Rust client runs too).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SeenMessages, catchUp, catchUpStart, missing } from '../../ui/js/transport/rules.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CASES = JSON.parse(readFileSync(path.join(REPO_ROOT, 'protocol/tests/client-cases.json'), 'utf8')).catchUp;

test('the shared file has the catch-up cases', () => {
  assert.ok(CASES.length >= 8, `only ${CASES.length} cases`);
});

for (const c of CASES) {
  test(`catchUp: ${c.about}`, () => {
    const expected = { shown: c.shown, delivered: c.delivered, resend: c.resend };
    // With the seen messages as a list (as in the file) and as the SeenMessages the transport keeps.
    assert.deepEqual(catchUp(c), expected);
    assert.deepEqual(catchUp({ ...c, seen: SeenMessages.of(c.seen) }), expected);
  });
}

test('what was shown after a catch-up counts as seen for the next one', () => {
  const seen = new SeenMessages();
  const history = [{ id: 3, from: 'bob', message: 'a', ts: 1 }];
  const first = catchUp({ name: 'me', sameRun: true, seen, outbox: [], history });
  assert.deepEqual(first.shown, [0]);
  for (const index of first.shown) seen.add(history[index]);
  assert.deepEqual(catchUp({ name: 'me', sameRun: true, seen, outbox: [], history }).shown, []);
  assert.deepEqual(catchUp({ name: 'me', sameRun: false, seen, outbox: [], history }).shown, [0], 'a new run replays it as new');
});

test('only the most recent messages are remembered', () => {
  const seen = new SeenMessages();
  for (let id = 1; id <= 5000; id += 1) seen.add({ id, from: 'bob', message: `m${id}`, ts: id });
  assert.equal(seen.has({ id: 1, from: 'bob', message: 'm1', ts: 1 }, true), false);
  assert.equal(seen.has({ id: 5000, from: 'bob', message: 'm5000', ts: 5000 }, true), true);
  seen.clear();
  assert.equal(seen.has({ id: 5000, from: 'bob', message: 'm5000', ts: 5000 }, true), false);
});

const ALL = JSON.parse(readFileSync(path.join(REPO_ROOT, 'protocol/tests/client-cases.json'), 'utf8'));
const pushedPage = (ids) => ids.map((id) => ({ id, from: 'bob', message: `m${id}`, ts: id }));

test('the shared file has the gap cases', () => {
  assert.ok(ALL.catchUpStart.length >= 6 && ALL.missing.length >= 4);
});

for (const c of ALL.catchUpStart) {
  test(`catchUpStart: ${c.about}`, () => {
    assert.equal(catchUpStart(c.lastShown, c.sameRun, pushedPage(c.pushed)), c.start);
  });
}

for (const c of ALL.missing) {
  test(`missing: ${c.about}`, () => {
    const expected = c.upTo === null ? null : { after: c.after, before: c.first, upTo: c.upTo };
    assert.deepEqual(missing(c.after, c.first, c.older), expected);
  });
}

test('the last shown id goes on across messages and is forgotten with the run', () => {
  const seen = SeenMessages.of([{ id: 4, from: 'a', message: 'x' }, { id: 9, from: 'a', message: 'y' }, { id: 7, from: 'a', message: 'z' }]);
  assert.equal(seen.newestId, 9);
  seen.clear();
  assert.equal(seen.newestId, null);
});
