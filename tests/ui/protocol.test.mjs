// The generated ui/js/protocol.js applies the protocol's rules exactly as the Rust crate does: every
// case of protocol/tests/cases.json, read the way protocol/tests/rules.rs reads it. Its texts are the
// documented ones (docs/PROTOCOL.md; tests/js/limits.test.mjs compares them with the real server).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  DEFAULT_LIMITS,
  announcementText,
  checkText,
  foldName,
  refusalReason,
  validateName,
} from '../../ui/js/protocol.js';

const cases = JSON.parse(readFileSync(new URL('../../protocol/tests/cases.json', import.meta.url), 'utf8'));

test('cases.json has cases of every kind', () => {
  for (const kind of ['names', 'folds', 'texts']) assert.ok(cases[kind].length > 0, kind);
});

test('names are accepted and refused as the cases say', () => {
  for (const c of cases.names) {
    assert.ok((c.name === undefined) !== (c.error === undefined), `a case has a name or an error: ${JSON.stringify(c)}`);
    const got = c.maxChars === undefined ? validateName(c.raw) : validateName(c.raw, c.maxChars);
    assert.deepEqual(got, c.name !== undefined ? { name: c.name } : { error: c.error }, JSON.stringify(c));
  }
});

test('folded names collide as the cases say', () => {
  for (const c of cases.folds) {
    assert.equal(typeof c.same, 'boolean', JSON.stringify(c));
    assert.equal(foldName(c.a) === foldName(c.b), c.same, JSON.stringify(c));
  }
});

test('texts are accepted and refused as the cases say', () => {
  for (const c of cases.texts) {
    const limits = c.maxMessageChars === undefined ? DEFAULT_LIMITS : { ...DEFAULT_LIMITS, maxMessageChars: c.maxMessageChars };
    assert.equal(checkText(c.text, limits), c.error ?? null, JSON.stringify(c));
  }
});

test('announcements are the seed wording', () => {
  assert.equal(announcementText('join', 'Zoë'), 'Zoë has joined the chat');
  assert.equal(announcementText('leave', 'Zoë'), 'Zoë left the chat');
  assert.equal(announcementText('shutdown'), 'The chat was closed: its server stopped');
  assert.equal(announcementText('unknown', 'Zoë'), null);
});

test('refusal reasons name the limits they are given, the defaults otherwise', () => {
  const limits = { ...DEFAULT_LIMITS, maxMessageChars: 300, messageBurst: 3, messagesPerSecond: 1 };
  assert.equal(refusalReason('too_long', limits), 'the message is longer than 300 characters');
  assert.equal(refusalReason('rate_limited', limits), 'too many messages: at most 3 at once, then 1 per second');
  assert.equal(refusalReason('too_long'), 'the message is longer than 2000 characters');
  assert.equal(refusalReason('rate_limited'), 'too many messages: at most 20 at once, then 10 per second');
  assert.equal(refusalReason('not_registered'), 'register a name before sending messages');
  assert.equal(refusalReason('invalid_payload'), 'expected an object with a string field "message"');
  assert.equal(refusalReason('empty'), 'the message is empty');
});
