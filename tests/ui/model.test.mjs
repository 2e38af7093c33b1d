// Unit tests of the chat model (ui/js/model.js): no DOM, no network, a fake clock.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChatModel, RESTARTED_TEXT } from '../../ui/js/model.js';
import { DEFAULT_LIMITS, SERVER_NAME, announcementText } from '../../ui/js/protocol.js';

const ALL_FEATURES = { history: true, presence: true, acks: true };

/** A model in a session as "me", with a clock the test moves. */
function joined({ features = ALL_FEATURES, limits, maxLines } = {}) {
  const clock = { now: 1_000 };
  const model = new ChatModel({ now: () => clock.now, maxLines });
  model.startSession({ server: 'http://chat', name: 'me', features, limits });
  return { model, clock };
}

const chat = (id, from, message) => ({ id, ts: 100 + id, from, message });
const announce = (id, kind, name) => ({ id, ts: 100 + id, from: SERVER_NAME, message: announcementText(kind, name), kind, name });
const messages = (...list) => ({ type: 'messages', messages: list });
const texts = (model) => model.lines.map((line) => line.text);

test('received messages become lines: chat, own and system', () => {
  const { model } = joined();
  const changes = model.applyEvents([messages(chat(1, 'bob', 'hi'), chat(2, 'me', 'from another tab'), announce(3, 'join', 'carol'))]);
  assert.deepEqual(changes.added.map(({ kind, from, text, own, state }) => ({ kind, from, text, own, state })), [
    { kind: 'chat', from: 'bob', text: 'hi', own: false, state: 'sent' },
    { kind: 'chat', from: 'me', text: 'from another tab', own: true, state: 'sent' },
    { kind: 'system', from: SERVER_NAME, text: 'carol has joined the chat', own: false, state: 'sent' },
  ]);
  assert.equal(model.lines.length, 3);
  assert.equal(model.lines[0].ts, 101);
});

test('a message without a time (seed server) gets its arrival time', () => {
  const { model, clock } = joined();
  clock.now = 5_000;
  model.applyEvents([messages({ from: 'bob', message: 'no id, no ts' })]);
  assert.equal(model.lines[0].ts, 5_000);
  assert.equal(model.lines[0].id, null);
});

test('a message id shown once is never shown again in the same session', () => {
  const { model } = joined();
  model.applyEvents([messages(chat(1, 'bob', 'a'))]);
  const changes = model.applyEvents([messages(chat(1, 'bob', 'a'), chat(2, 'bob', 'b'))]);
  assert.deepEqual(changes.added.map((line) => line.text), ['b']);
  assert.deepEqual(texts(model), ['a', 'b']);
});

test('a new session event forgets the ids (a restarted server numbers from 1 again)', () => {
  const { model } = joined();
  model.applyEvents([messages(chat(1, 'bob', 'old run'))]);
  const changes = model.applyEvents([
    { type: 'session', name: 'me', server: 'http://chat', features: ALL_FEATURES },
    messages(chat(1, 'dan', 'new run')),
  ]);
  assert.equal(changes.session, true);
  assert.deepEqual(texts(model), ['old run', 'new run']);
});

test('an own message is pending until delivered, then carries the server id and time', () => {
  const { model } = joined();
  const added = model.addPending(7, 'hello');
  assert.equal(added.added[0].state, 'pending');
  assert.equal(model.pendingCount(), 1);
  const changes = model.applyEvents([{ type: 'delivered', localId: 7, message: chat(42, 'me', 'hello') }]);
  assert.deepEqual(changes.updated.map(({ state, id, ts }) => ({ state, id, ts })), [{ state: 'sent', id: 42, ts: 142 }]);
  assert.equal(model.pendingCount(), 0);
  // Its id now counts as seen: the same message replayed is not shown twice.
  assert.deepEqual(model.applyEvents([messages(chat(42, 'me', 'hello'))]).added, []);
});

test('a delivery without id (server without acks) still settles the line', () => {
  const { model } = joined({ features: { history: false, presence: false, acks: false } });
  model.addPending(1, 'seed');
  model.applyEvents([{ type: 'delivered', localId: 1, message: { from: 'me', message: 'seed' } }]);
  assert.equal(model.lines[0].state, 'sent');
  assert.equal(model.lines[0].id, null);
});

test('a refused message is failed with the reason, and can be sent again as a new pending line', () => {
  const { model } = joined();
  model.addPending(1, 'too much');
  model.addPending(2, 'next');
  const changes = model.applyEvents([{ type: 'failed', localId: 1, code: 'too_long', reason: 'the message is longer than 2000 characters' }]);
  const [failed] = changes.updated;
  assert.equal(failed.state, 'failed');
  assert.equal(failed.reason, 'the message is longer than 2000 characters');
  assert.equal(model.pendingCount(), 1);

  assert.equal(model.failedLine(failed.key), failed);
  assert.equal(model.failedLine(model.lines[1].key), null, 'a pending line is not failed');
  const retried = model.replaceFailed(failed, 3);
  assert.deepEqual(retried.removed, [failed]);
  assert.equal(retried.added[0].state, 'pending');
  assert.deepEqual(texts(model), ['next', 'too much']);
  assert.equal(model.pendingCount(), 2);
  model.applyEvents([{ type: 'delivered', localId: 3, message: chat(9, 'me', 'too much') }]);
  assert.equal(model.lines[1].state, 'sent');
});

test('a failure without a reason shows its code', () => {
  const { model } = joined();
  model.addPending(1, 'x');
  model.applyEvents([{ type: 'failed', localId: 1, code: 'rate_limited' }]);
  assert.equal(model.lines[0].reason, 'rate_limited');
});

test('a delivery that overtakes send() settles the line as soon as it is added', () => {
  const { model } = joined();
  const early = model.applyEvents([{ type: 'delivered', localId: 5, message: chat(3, 'me', 'quick') }]);
  assert.deepEqual(early.updated, []);
  assert.equal(model.lines.length, 0);
  const changes = model.addPending(5, 'quick');
  assert.equal(changes.added[0].state, 'sent');
  assert.equal(changes.added[0].id, 3);
  assert.deepEqual(changes.updated, [], 'the line is drawn once, already sent');
  assert.equal(model.pendingCount(), 0);
});

test('presence follows users, then join and leave announcements', () => {
  const { model } = joined();
  model.applyEvents([{ type: 'users', names: ['me', 'bob'] }]);
  let changes = model.applyEvents([messages(announce(1, 'join', 'carol'))]);
  assert.equal(changes.users, true);
  assert.deepEqual(model.users, ['me', 'bob', 'carol']);
  model.applyEvents([messages(announce(2, 'join', 'carol'))]);
  assert.deepEqual(model.users, ['me', 'bob', 'carol'], 'a join of someone listed adds nobody');
  changes = model.applyEvents([messages(announce(3, 'leave', 'bob'))]);
  assert.equal(changes.users, true);
  assert.deepEqual(model.users, ['me', 'carol']);
});

test('without presence, announcements do not invent an online list', () => {
  const { model } = joined({ features: { history: false, presence: false, acks: false } });
  const changes = model.applyEvents([messages(announce(1, 'join', 'carol'))]);
  assert.equal(changes.users, false);
  assert.deepEqual(model.users, []);
});

test('typing notices go stale after 5 s, stop with a message or a leave, and clear when the connection drops', () => {
  const { model, clock } = joined();
  model.applyEvents([{ type: 'typing', name: 'bob', typing: true }, { type: 'typing', name: 'carol', typing: true }]);
  assert.deepEqual(model.typingNames(), ['bob', 'carol']);
  assert.equal(model.anyoneTyping(), true);

  clock.now += 3_000;
  model.applyEvents([{ type: 'typing', name: 'carol', typing: true }]); // carol is still at it
  clock.now += 2_500; // bob's notice is 5.5 s old, carol's 2.5 s
  assert.deepEqual(model.typingNames(), ['carol']);

  const sent = model.applyEvents([messages(chat(1, 'carol', 'done'))]);
  assert.equal(sent.typing, true);
  assert.deepEqual(model.typingNames(), []);
  assert.equal(model.anyoneTyping(), false);

  model.applyEvents([{ type: 'typing', name: 'dan', typing: true }]);
  model.applyEvents([messages(announce(2, 'leave', 'dan'))]);
  assert.deepEqual(model.typingNames(), []);

  model.applyEvents([{ type: 'typing', name: 'eve', typing: true }]);
  const dropped = model.applyEvents([{ type: 'status', state: 'reconnecting', attempt: 1, retryInMs: 500, detail: null }]);
  assert.equal(dropped.typing, true);
  assert.deepEqual(model.typingNames(), []);
  assert.equal(model.status.state, 'reconnecting');
});

test('a typing false notice removes the name at once', () => {
  const { model } = joined();
  model.applyEvents([{ type: 'typing', name: 'bob', typing: true }]);
  model.applyEvents([{ type: 'typing', name: 'bob', typing: false }]);
  assert.deepEqual(model.typingNames(), []);
});

test('beyond the line limit the oldest lines are dropped and reported removed', () => {
  const { model } = joined({ maxLines: 3 });
  model.applyEvents([messages(chat(1, 'bob', 'a'), chat(2, 'bob', 'b'), chat(3, 'bob', 'c'))]);
  const changes = model.applyEvents([messages(chat(4, 'bob', 'd'), chat(5, 'bob', 'e'))]);
  assert.deepEqual(changes.removed.map((line) => line.text), ['a', 'b']);
  assert.deepEqual(texts(model), ['c', 'd', 'e']);
  const own = model.addPending(1, 'f');
  assert.deepEqual(own.removed.map((line) => line.text), ['c']);
  assert.deepEqual(texts(model), ['d', 'e', 'f']);
});

test('a session starts with the default limits unless the server told its own', () => {
  assert.deepEqual(joined().model.limits, DEFAULT_LIMITS);
  const limits = { ...DEFAULT_LIMITS, maxMessageChars: 50 };
  assert.equal(joined({ limits }).model.limits.maxMessageChars, 50);
});

test('a session event brings the server limits; one without limits means the defaults', () => {
  const { model } = joined();
  const limits = { ...DEFAULT_LIMITS, maxMessageChars: 50 };
  const changes = model.applyEvents([{ type: 'session', name: 'me2', server: 'http://chat', features: ALL_FEATURES, limits }]);
  assert.equal(changes.session, true);
  assert.equal(model.limits.maxMessageChars, 50);
  assert.equal(model.session.name, 'me2');
  model.applyEvents([{ type: 'session', name: 'me2', server: 'http://chat', features: ALL_FEATURES }]);
  assert.deepEqual(model.limits, DEFAULT_LIMITS);
});

test('the draft status counts characters as the protocol does and checks them against the session limit', () => {
  const { model } = joined({ limits: { ...DEFAULT_LIMITS, maxMessageChars: 5 } });
  assert.deepEqual(model.draftStatus(''), { count: 0, max: 5, error: 'empty' });
  assert.deepEqual(model.draftStatus('  \n'), { count: 3, max: 5, error: 'empty' });
  assert.deepEqual(model.draftStatus('😀😀😀😀😀'), { count: 5, max: 5, error: null }, 'emoji count once each');
  assert.deepEqual(model.draftStatus('abcdef'), { count: 6, max: 5, error: 'too_long' });
});

test('messages received after own sends are own only for the current name', () => {
  const { model } = joined();
  model.applyEvents([{ type: 'session', name: 'me2', server: 'http://chat', features: ALL_FEATURES }]);
  model.applyEvents([messages(chat(1, 'me', 'old name'), chat(2, 'me2', 'new name'))]);
  assert.deepEqual(model.lines.map((line) => line.own), [false, true]);
  assert.equal(model.addPending(1, 'x').added[0].from, 'me2');
});

test('unread counts add up and clear once', () => {
  const { model } = joined();
  assert.equal(model.countUnread(2), 2);
  assert.equal(model.countUnread(1), 3);
  assert.equal(model.clearUnread(), true);
  assert.equal(model.unread, 0);
  assert.equal(model.clearUnread(), false);
});

test('notices are passed on for the banner; reset forgets the session', () => {
  const { model } = joined();
  const changes = model.applyEvents([{ type: 'notice', code: 'too_slow', message: 'You were too slow.' }, { type: 'notice', code: 'x' }]);
  assert.deepEqual(changes.notices, ['You were too slow.', 'x']);
  model.addPending(1, 'unsent');
  model.reset();
  assert.equal(model.session, null);
  assert.equal(model.lines.length, 0);
  assert.equal(model.pendingCount(), 0);
  assert.equal(model.status.state, 'offline');
});

test('a name refused after a reconnect keeps what is pending pending, and a rejoin under another name takes over', () => {
  const { model } = joined();
  model.addPending(1, 'typed while away');
  const changes = model.applyEvents([{ type: 'status', state: 'nameTaken', name: 'me', detail: null }]);
  assert.equal(changes.status, true);
  assert.equal(model.status.state, 'nameTaken');
  assert.equal(model.status.name, 'me');
  assert.equal(model.pendingCount(), 1);
  model.applyEvents([
    { type: 'session', name: 'me_', server: 'http://chat', features: ALL_FEATURES },
    { type: 'status', state: 'connected', attempt: 0, retryInMs: 0 },
    { type: 'delivered', localId: 1, message: chat(8, 'me_', 'typed while away') },
  ]);
  assert.equal(model.session.name, 'me_');
  assert.equal(model.status.state, 'connected');
  assert.equal(model.pendingCount(), 0);
});

// ---- missing messages and "load older" ----

const older = (model) => model.older.state;

test('a missing event is one marker line in its place, worded as an upper bound', () => {
  const { model } = joined();
  const changes = model.applyEvents([messages(chat(1, 'bob', 'a')), { type: 'missing', after: 1, before: 4735, upTo: 4733 }, messages(chat(4735, 'bob', 'b'))]);
  assert.deepEqual(changes.added.map((line) => line.kind), ['chat', 'gap', 'chat']);
  assert.equal(changes.added[1].text, 'Up to 4733 messages from this time are no longer available on the server.');
  model.applyEvents([{ type: 'missing', after: 9, before: 11, upTo: 1 }]);
  assert.equal(model.lines.at(-1).text, 'Up to 1 message from this time is no longer available on the server.');
});

test('older pages go above the oldest line of this run, without copies, until the start is reached', () => {
  const { model } = joined();
  model.applyEvents([messages(chat(10, 'bob', 'ten'), chat(11, 'me', 'eleven'))]);
  assert.equal(model.oldestId(), 10);
  assert.equal(model.startLoadingOlder(), true);
  assert.equal(model.startLoadingOlder(), false, 'one page at a time');
  assert.equal(older(model), 'loading');
  const { inserted, anchor } = model.addOlder({ messages: [chat(7, 'bob', 'seven'), chat(10, 'bob', 'ten again')], startReached: false });
  assert.deepEqual(inserted.map((line) => line.text), ['seven']);
  assert.equal(anchor.text, 'ten');
  assert.deepEqual(texts(model), ['seven', 'ten', 'eleven']);
  assert.equal(older(model), 'more');
  assert.equal(model.oldestId(), 7);
  model.startLoadingOlder();
  model.addOlder({ messages: [], startReached: true });
  assert.equal(older(model), 'start');
  assert.equal(model.startLoadingOlder(), false, 'nothing more to ask for');
});

test('a failed page can be asked for again', () => {
  const { model } = joined();
  model.startLoadingOlder();
  model.olderFailed();
  assert.equal(older(model), 'more');
});

test('lines dropped from the top are said to be hidden, and loaded lines are kept above the limit', () => {
  const { model } = joined({ maxLines: 3 });
  const changes = model.applyEvents([messages(chat(1, 'bob', 'a'), chat(2, 'bob', 'b'), chat(3, 'bob', 'c'), chat(4, 'bob', 'd'))]);
  assert.equal(changes.older, true);
  assert.deepEqual(model.older, { state: 'more', hidden: true });
  model.startLoadingOlder();
  model.addOlder({ messages: [chat(1, 'bob', 'a')], startReached: false });
  assert.deepEqual(texts(model), ['a', 'b', 'c', 'd'], 'the loaded line stays');
  assert.deepEqual(model.older, { state: 'more', hidden: false });
});

test('after a restart in memory (another run), paging back starts from the new run and lands under the old lines', () => {
  const { model } = joined();
  model.applyEvents([{ type: 'session', name: 'me', server: 'http://chat', features: ALL_FEATURES, run: 'one' }, messages(chat(50, 'bob', 'old run'))]);
  model.applyEvents([{ type: 'session', name: 'me', server: 'http://chat', features: ALL_FEATURES, run: 'two' }, messages(chat(3, 'bob', 'new run'))]);
  assert.equal(model.oldestId(), 3, 'not the old run\'s id 50');
  model.startLoadingOlder();
  model.addOlder({ messages: [chat(2, 'bob', 'first of the new run')], startReached: false });
  // A marker below the old run's lines says the server restarted (ui/js/model.js RESTARTED_TEXT).
  assert.deepEqual(texts(model), ['old run', RESTARTED_TEXT, 'first of the new run', 'new run']);
});

test('a chat whose history is empty says it is at the beginning without a request, until lines are dropped', () => {
  const { model } = joined({ maxLines: 2 });
  assert.equal(older(model), 'more', 'nothing known yet');
  const changes = model.applyEvents([{ type: 'historyStart' }]);
  assert.equal(changes.older, true);
  assert.equal(older(model), 'start');
  assert.equal(model.startLoadingOlder(), false, 'no request to make');
  model.applyEvents([messages(chat(2, 'bob', 'a'), chat(3, 'bob', 'b'), chat(4, 'bob', 'c'))]);
  assert.deepEqual(model.older, { state: 'more', hidden: true }, 'a dropped line can be loaded again');
});

test('without history on the server there is nothing to load', () => {
  const { model } = joined({ features: { history: false, presence: false, acks: false } });
  assert.equal(older(model), 'off');
});

test('lines loaded beyond the limit are kept for that chat only: a new session has the limit again', () => {
  const { model } = joined({ maxLines: 2 });
  model.applyEvents([messages(chat(5, 'bob', 'e'), chat(6, 'bob', 'f'))]);
  model.startLoadingOlder();
  model.addOlder({ messages: [chat(3, 'bob', 'c'), chat(4, 'bob', 'd')], startReached: false });
  assert.equal(model.lines.length, 4);
  model.startSession({ server: 'http://chat', name: 'me', features: ALL_FEATURES });
  model.applyEvents([messages(chat(1, 'bob', 'x'), chat(2, 'bob', 'y'), chat(3, 'bob', 'z'))]);
  assert.deepEqual(texts(model), ['y', 'z']);
});
