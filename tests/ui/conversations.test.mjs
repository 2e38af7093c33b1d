// Unit tests of private conversations (ui/js/conversations.js and their routing in ui/js/model.js):
// which conversation a message goes to by `to`, unread counts per conversation, no DOM, no network.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Conversations, ROOM, conversationOf, peerOf } from '../../ui/js/conversations.js';
import { ChatModel } from '../../ui/js/model.js';
import { SERVER_NAME } from '../../ui/js/protocol.js';

const ALL_FEATURES = { history: true, presence: true, acks: true };

function joined() {
  const clock = { now: 1_000 };
  const model = new ChatModel({ now: () => clock.now });
  model.startSession({ server: 'http://chat', name: 'Me', features: ALL_FEATURES });
  return { model, clock };
}

const msg = (id, from, message, to) => ({ id, ts: 2_000 + id, from, message, ...(to ? { to } : {}) });
const messages = (...list) => ({ type: 'messages', messages: list });
const unread = (model) => Object.fromEntries(model.conversations.map(({ key, unread }) => [key, unread]));

test('a message goes to the room without `to`, else to the other person (folded)', () => {
  assert.equal(conversationOf({ from: 'bob', to: undefined }, 'Me'), ROOM);
  assert.equal(conversationOf({ from: 'Bob', to: 'me' }, 'Me'), 'bob');
  assert.equal(conversationOf({ from: 'me', to: 'Bob' }, 'Me'), 'bob', 'our own: the addressee, whatever the case');
  assert.equal(peerOf({ from: 'me', to: 'Bob' }, 'Me'), 'Bob');
  assert.equal(peerOf({ from: 'Bob', to: 'Me' }, 'Me'), 'Bob');
  assert.equal(conversationOf({ from: 'Me', to: 'Me' }, 'Me'), 'me', 'to ourselves: our own conversation');
});

test('the room shows room lines only, a person only what the two of you wrote', () => {
  const { model } = joined();
  model.applyEvents([
    messages(
      msg(1, 'bob', 'to everyone'),
      msg(2, 'bob', 'just you', 'Me'),
      msg(3, 'Me', 'just bob', 'bob'),
      msg(4, 'carol', 'carol to me', 'Me'),
      { id: 5, ts: 2_005, from: SERVER_NAME, message: 'dave has joined the chat', kind: 'join', name: 'dave' },
    ),
  ]);
  assert.deepEqual(model.shownLines().map((l) => l.text), ['to everyone', 'dave has joined the chat']);
  assert.deepEqual(model.openConversation('Bob').map((l) => l.text), ['just you', 'just bob']);
  assert.deepEqual(model.conversation, { key: 'bob', peer: 'bob' });
  assert.deepEqual(model.openConversation('carol').map((l) => l.text), ['carol to me']);
  assert.deepEqual(model.openConversation(null).map((l) => l.text), ['to everyone', 'dave has joined the chat']);
  assert.deepEqual(model.conversations.map((c) => c.key), [ROOM, 'carol', 'bob'], 'room first, then the latest active');
});

test('unread counts per conversation: not for the one shown, own lines or history from before the join', () => {
  const { model, clock } = joined();
  // History of before the join: shown, never unread.
  model.applyEvents([messages({ id: 1, ts: 500, from: 'bob', message: 'old', to: 'Me' })]);
  assert.deepEqual(unread(model), { [ROOM]: 0, bob: 0 });
  clock.now = 3_000;
  const changes = model.applyEvents([messages(msg(2, 'bob', 'new one', 'Me'), msg(3, 'bob', 'and another', 'Me'), msg(4, 'carol', 'room line'))]);
  assert.equal(changes.conversations, true);
  assert.deepEqual(unread(model), { [ROOM]: 0, bob: 2 }, 'the room is shown: its line is not unread');
  model.openConversation('bob');
  assert.deepEqual(unread(model), { [ROOM]: 0, bob: 0 });
  model.applyEvents([messages(msg(5, 'carol', 'room while away'), msg(6, 'bob', 'here', 'Me'), msg(7, 'Me', 'own, elsewhere', 'carol'))]);
  assert.deepEqual(unread(model), { [ROOM]: 1, bob: 0, carol: 0 });
  model.openConversationKey(ROOM);
  assert.deepEqual(unread(model), { [ROOM]: 0, bob: 0, carol: 0 });
});

test('a private message we send is pending in that conversation and settles with the ack', () => {
  const { model } = joined();
  model.openConversation('bob');
  const { added } = model.addPending(1, 'psst', { to: 'bob' });
  assert.equal(added[0].conv, 'bob');
  assert.equal(added[0].state, 'pending');
  const { updated } = model.applyEvents([{ type: 'delivered', localId: 1, message: msg(9, 'Me', 'psst', 'bob') }]);
  assert.equal(updated[0].id, 9);
  assert.deepEqual(model.shownLines().map((l) => l.text), ['psst']);
  model.openConversation(null);
  assert.deepEqual(model.shownLines(), []);
});

test('a retried private line stays private', () => {
  const { model } = joined();
  model.openConversation('bob');
  model.addPending(1, 'psst', { to: 'bob' });
  model.applyEvents([{ type: 'failed', localId: 1, code: 'unknown_recipient', reason: 'nobody of that name is here' }]);
  const failed = model.shownLines()[0];
  assert.equal(failed.state, 'failed');
  const { added } = model.replaceFailed(model.failedLine(failed.key), 2);
  assert.equal(added[0].to, 'bob');
  assert.equal(added[0].conv, 'bob');
});

test('the conversations list of its own: opening someone new, by key, unread elsewhere', () => {
  const list = new Conversations();
  assert.equal(list.current, ROOM);
  list.note('ann', 'Ann', { unread: true });
  list.note(ROOM, null, { unread: true });
  assert.equal(list.unreadElsewhere(), 1, 'the room is shown: only Ann counts');
  list.open('Zed');
  assert.equal(list.currentPeer, 'Zed');
  list.note(ROOM, null, { unread: true });
  assert.equal(list.unreadElsewhere(), 2, 'Ann and the room');
  list.openKey('ann');
  assert.equal(list.currentPeer, 'Ann');
  assert.deepEqual(list.list().map(({ key, unread, current }) => [key, unread, current]), [
    [ROOM, 1, false],
    ['zed', 0, false],
    ['ann', 0, true],
  ]);
  list.reset();
  assert.deepEqual(list.list().map((c) => c.key), [ROOM]);
});
