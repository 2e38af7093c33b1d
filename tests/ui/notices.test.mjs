// Unit tests of what notifications and the screen reader say (ui/js/notices.js): who wrote, whether
// it was private, a file's name when it has no caption, mentions first.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { announcement, notification } from '../../ui/js/notices.js';

const chat = (from, text, extra = {}) => ({ kind: 'chat', from, text, ...extra });

test('one line: the title is who wrote, the body the text; a private one says so and opens its sender', () => {
  const room = { title: 'ann', body: 'lunch?', mention: false, conversation: null };
  assert.deepEqual(notification([chat('ann', 'lunch?')]), room);
  // A click on a private one opens the conversation with its sender.
  assert.deepEqual(notification([chat('ann', 'just you and me', { to: 'bob' })]), {
    title: 'ann (private)',
    body: 'just you and me',
    mention: false,
    conversation: 'ann',
  });
});

test('several lines: how many, and the latest with its sender; a mention is the one shown', () => {
  const lines = [chat('ann', 'one'), chat('cy', 'bob, look', { mention: true }), chat('dee', 'three', { to: 'bob' })];
  assert.deepEqual(notification(lines), { title: '3 new messages', body: 'cy: bob, look', mention: true, conversation: null });
  assert.deepEqual(notification(lines.filter((l) => !l.mention)), {
    title: '2 new messages',
    body: 'dee (private): three',
    mention: false,
    conversation: 'dee',
  });
});

test('a file without a caption is its name; a long text is cut at 140 characters', () => {
  const file = chat('ann', '', { attachment: { name: 'plan.pdf' } });
  assert.equal(notification([file]).body, '📎 plan.pdf');
  const long = 'é'.repeat(141);
  assert.equal(notification([chat('ann', long)]).body, `${'é'.repeat(140)}…`);
});

test('the screen reader reads up to three lines, then counts them', () => {
  const joined = { kind: 'system', text: 'cy has joined the chat' };
  assert.equal(announcement([joined, chat('cy', 'hi', { to: 'me' })]), 'cy has joined the chat. cy (private): hi');
  const four = [chat('a', '1'), chat('b', '2'), chat('c', '3'), chat('d', '4')];
  assert.equal(announcement(four), '4 new messages. Last: d: 4');
});
