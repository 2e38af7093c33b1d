// Unit tests of the search box's model (ui/js/search.js) and of the stored conversation in the chat
// model (ui/js/model.js: showStored, addStored, runs): no DOM, no network.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChatModel, RESTARTED_TEXT } from '../../ui/js/model.js';
import { SearchModel, findLine, highlightParts } from '../../ui/js/search.js';

const ALL_FEATURES = { history: true, presence: true, acks: true };
const stored = (seq, id, run, message, from = 'bob') => ({ seq, id, run, ts: 1_000 + seq, from, message });
const texts = (model) => model.lines.map((line) => line.text);

test('highlights cut the text into plain and marked parts, in UTF-16 offsets', () => {
  assert.deepEqual(highlightParts('Lunch at noon?', [[0, 5]]), [
    { text: 'Lunch', mark: true },
    { text: ' at noon?', mark: false },
  ]);
  // "😀" is two UTF-16 units: the offsets from Rust count them so.
  assert.deepEqual(highlightParts('😀 ok ok', [[3, 5], [6, 8]]), [
    { text: '😀 ', mark: false },
    { text: 'ok', mark: true },
    { text: ' ', mark: false },
    { text: 'ok', mark: true },
  ]);
  assert.deepEqual(highlightParts('plain', []), [{ text: 'plain', mark: false }]);
  assert.deepEqual(highlightParts('', []), [{ text: '', mark: false }]);
});

test('bad ranges never lose or repeat text', () => {
  const join = (parts) => parts.map((p) => p.text).join('');
  for (const ranges of [[[3, 1]], [[-5, 2]], [[2, 99]], [[0, 3], [1, 4]], [[4, 6], [0, 2]], [[1]], ['x']]) {
    assert.equal(join(highlightParts('abcdef', ranges)), 'abcdef', JSON.stringify(ranges));
  }
  assert.deepEqual(highlightParts('abcdef', [[0, 3], [1, 4]]), [
    { text: 'abc', mark: true },
    { text: 'd', mark: true },
    { text: 'ef', mark: false },
  ]);
});

test('the search box asks once per query and ignores stale answers', () => {
  const search = new SearchModel();
  assert.equal(search.type('  lun '), 'lun');
  assert.equal(search.summary, 'Searching…');
  assert.equal(search.type('lun'), null, 'the same query is not asked again');
  assert.equal(search.type('lunch'), 'lunch');
  assert.equal(search.answer('lun', [{ seq: 1 }]), false, 'the answer for an older query is dropped');
  assert.equal(search.state, 'searching');
  assert.equal(search.answer('lunch', [{ seq: 2 }, { seq: 3 }]), true);
  assert.deepEqual(search.hits, [{ seq: 2 }, { seq: 3 }]);
  assert.equal(search.summary, '2 messages with “lunch”');
  assert.equal(search.type('   '), null, 'nothing typed: nothing asked');
  assert.equal(search.state, 'idle');
  assert.equal(search.answer('lunch', [{ seq: 2 }]), false);
  search.type('zzz');
  search.answer('zzz', []);
  assert.equal(search.summary, 'No messages with “zzz” on this computer.');
  search.clear();
  assert.deepEqual([search.query, search.hits, search.summary], ['', [], '']);
});

test('a hit is found by run and id, or by its place in the store', () => {
  const lines = [
    { key: 1, id: 7, run: 'old', seq: 10 },
    { key: 2, id: 7, run: 'new' },
    { key: 3, id: null, run: null, seq: 12 },
  ];
  assert.equal(findLine(lines, { id: 7, run: 'new', seq: 99 }).key, 2, 'not the other run’s id 7');
  assert.equal(findLine(lines, { id: 7, run: 'old', seq: 10 }).key, 1);
  assert.equal(findLine(lines, { id: null, run: null, seq: 12 }).key, 3);
  assert.equal(findLine(lines, { id: 8, run: 'new', seq: 13 }), null);
});

test('the stored conversation shows while joining and the server’s lines merge into it by id', () => {
  const model = new ChatModel({ now: () => 5_000 });
  model.showStored({ server: 'http://chat/', name: 'me' }, {
    messages: [stored(1, 1, 'r', 'hi'), stored(2, 2, 'r', 'mine', 'me')],
    startReached: false,
  });
  assert.equal(model.provisional, true);
  assert.equal(model.status.state, 'connecting');
  assert.deepEqual(texts(model), ['hi', 'mine']);
  assert.equal(model.lines[1].own, true);
  assert.equal(model.storedBefore(), 1);
  model.startSession({ server: 'http://chat/', name: 'me', features: ALL_FEATURES });
  assert.equal(model.provisional, false);
  // The server's history repeats what is stored and adds what was said while the app was closed.
  const changes = model.applyEvents([
    { type: 'session', name: 'me', server: 'http://chat/', features: ALL_FEATURES, run: 'r' },
    { type: 'messages', messages: [{ id: 2, ts: 2, from: 'me', message: 'mine' }, { id: 3, ts: 3, from: 'bob', message: 'new' }] },
  ]);
  assert.deepEqual(changes.added.map((line) => line.text), ['new']);
  assert.deepEqual(texts(model), ['hi', 'mine', 'new']);
});

test('lines of another run are kept below a marker and never merged by id', () => {
  const model = new ChatModel();
  model.showStored({ server: 'http://chat/', name: 'me' }, {
    messages: [stored(1, 1, 'a', 'first life'), stored(2, 1, 'b', 'second life'), stored(3, 2, 'b', 'still second')],
    startReached: true,
  });
  assert.deepEqual(texts(model), ['first life', RESTARTED_TEXT, 'second life', 'still second']);
  model.startSession({ server: 'http://chat/', name: 'me', features: ALL_FEATURES });
  // The server restarted again: ids 1 and 2 are new messages in run c.
  const changes = model.applyEvents([
    { type: 'session', name: 'me', server: 'http://chat/', features: ALL_FEATURES, run: 'c' },
    { type: 'messages', messages: [{ id: 1, ts: 9, from: 'bob', message: 'third life' }] },
  ]);
  assert.deepEqual(changes.added.map((line) => line.text), [RESTARTED_TEXT, 'third life']);
  assert.equal(model.oldestId(), 1);
  assert.equal(model.lines.at(-1).run, 'c');
});

test('load older takes pages from the store first, then from the server', () => {
  const model = new ChatModel();
  model.showStored({ server: 'http://chat/', name: 'me' }, { messages: [stored(5, 5, 'r', 'five')], startReached: false });
  model.startSession({ server: 'http://chat/', name: 'me', features: ALL_FEATURES });
  model.applyEvents([{ type: 'session', name: 'me', server: 'http://chat/', features: ALL_FEATURES, run: 'r' }]);
  assert.deepEqual(model.older, { state: 'more', hidden: false });
  assert.equal(model.storedBefore(), 5);
  assert.equal(model.startLoadingOlder(), true);
  const { inserted, anchor } = model.addStored({ messages: [stored(3, 3, 'r', 'three'), stored(4, 4, 'r', 'four')], startReached: true });
  assert.deepEqual(inserted.map((line) => line.text), ['three', 'four']);
  assert.equal(anchor.text, 'five');
  assert.deepEqual(texts(model), ['three', 'four', 'five']);
  assert.equal(model.storedBefore(), null, 'nothing older stored: the server is asked next');
  assert.equal(model.oldestId(), 3);
  assert.equal(model.startLoadingOlder(), true);
  model.addOlder({ messages: [{ id: 2, ts: 2, from: 'bob', message: 'two' }], startReached: true });
  assert.deepEqual(texts(model), ['two', 'three', 'four', 'five']);
});

test('an older stored page of another run gets the marker above the newer run', () => {
  const model = new ChatModel();
  model.showStored({ server: 'http://chat/', name: 'me' }, { messages: [stored(9, 1, 'new', 'after')], startReached: false });
  model.startLoadingOlder();
  const { inserted } = model.addStored({ messages: [stored(8, 40, 'old', 'before')], startReached: true });
  assert.deepEqual(inserted.map((line) => line.text), ['before', RESTARTED_TEXT]);
  assert.deepEqual(texts(model), ['before', RESTARTED_TEXT, 'after']);
});

test('a failed join keeps the stored conversation, offline, with the reason', () => {
  const model = new ChatModel();
  model.showStored({ server: 'http://chat/', name: 'me' }, { messages: [stored(1, 1, 'r', 'kept')], startReached: true });
  model.joinFailed('Could not reach the server.');
  assert.deepEqual(model.status, { state: 'offline', attempt: 0, retryInMs: null, detail: 'Could not reach the server.' });
  assert.deepEqual(texts(model), ['kept']);
  assert.equal(model.provisional, true);
});
