// Unit tests of the desktop conventions' page side: settings (ui/js/settings.js), mentions of your
// name and the tray's connection line (ui/js/desktop.js), and mentions in the model's lines.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mentions, trayStatus } from '../../ui/js/desktop.js';
import { ChatModel } from '../../ui/js/model.js';
import { SERVER_NAME } from '../../ui/js/protocol.js';
import { DEFAULT_SETTINGS, normalizeSettings, themeAttribute } from '../../ui/js/settings.js';

test('settings from Rust are taken as they are; anything missing or wrong takes its default', () => {
  const set = { notifications: false, sound: false, keepInTray: false, theme: 'dark' };
  assert.deepEqual(normalizeSettings(set), set);
  assert.deepEqual(normalizeSettings(null), DEFAULT_SETTINGS);
  assert.deepEqual(normalizeSettings('dark'), DEFAULT_SETTINGS);
  assert.deepEqual(normalizeSettings({ theme: 'purple', sound: 'loud', extra: 1 }), DEFAULT_SETTINGS);
  assert.deepEqual(normalizeSettings({ theme: 'light' }), { ...DEFAULT_SETTINGS, theme: 'light' });
  assert.deepEqual(DEFAULT_SETTINGS, { notifications: true, sound: true, keepInTray: true, theme: 'system' });
});

test('a theme forces light or dark, or follows the system', () => {
  assert.equal(themeAttribute('light'), 'light');
  assert.equal(themeAttribute('dark'), 'dark');
  assert.equal(themeAttribute('system'), null);
  assert.equal(themeAttribute(undefined), null);
});

test('a mention is your name as a whole word, in any case, with or without @', () => {
  for (const text of ['bob', 'hi Bob!', '@bob can you look', 'ask BOB.', 'bob, bob', '(bob)', 'ping:bob']) {
    assert.equal(mentions(text, 'bob'), true, text);
  }
  for (const text of ['bobby is here', 'kabob', 'bob_2 said', 'b o b', '', 'nobody']) {
    assert.equal(mentions(text, 'bob'), false, text);
  }
  assert.equal(mentions('Grüße an Jürgen!', 'jürgen'), true, 'letters beyond ASCII');
  assert.equal(mentions('Jürgens Buch', 'Jürgen'), false);
  assert.equal(mentions('thanks Ann Lee', 'Ann Lee'), true, 'a name with a space');
  assert.equal(mentions('thanks -x-!', '-x-'), true, 'a name of punctuation at its edges');
  assert.equal(mentions('anything', ''), false);
  assert.equal(mentions('anything', undefined), false);
});

test("someone else's message naming you is a mention; yours and the server's are not", () => {
  const model = new ChatModel({ now: () => 1000 });
  model.startSession({ server: 'http://chat', name: 'me', features: { history: true, presence: true, acks: true } });
  const changes = model.applyEvents([
    {
      type: 'messages',
      messages: [
        { id: 1, ts: 1, from: 'bob', message: 'hey @me, look' },
        { id: 2, ts: 2, from: 'bob', message: 'meeting at 3' },
        { id: 3, ts: 3, from: 'me', message: 'me again' },
        { id: 4, ts: 4, from: SERVER_NAME, message: 'me has joined the chat', kind: 'join', name: 'me' },
      ],
    },
  ]);
  assert.deepEqual(changes.added.map((line) => line.mention), [true, false, false, false]);
});

test("the tray's connection line says where and how", () => {
  assert.equal(trayStatus('connected', 'Design team'), 'Connected to Design team');
  assert.equal(trayStatus('reconnecting', '10.0.0.5:7878'), 'Reconnecting to 10.0.0.5:7878…');
  assert.equal(trayStatus('offline', 'Design team'), 'Offline: Design team');
  assert.equal(trayStatus('nameTaken', 'Design team'), 'Name taken on Design team');
  assert.equal(trayStatus('offline', undefined), 'Not connected');
  assert.equal(trayStatus(undefined, null), 'Not connected');
});
