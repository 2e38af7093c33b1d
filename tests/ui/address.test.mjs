// Unit tests of what a typed address says about who can read the traffic (ui/js/address.js): the
// app warns before a password goes over plain http to another computer. No DOM, no network.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLoopback, plainHttpRemote } from '../../ui/js/address.js';

test('this computer is loopback however it is spelled; other addresses are not', () => {
  for (const host of ['localhost', 'LOCALHOST', 'localhost.', '127.0.0.1', '127.1.2.3', '[::1]', '[::ffff:7f00:1]']) {
    assert.equal(isLoopback(host), true, host);
  }
  for (const host of ['192.168.1.20', '128.0.0.1', '127.0.0.1.example.com', 'localhost.example.com', '[::2]', '[::ffff:c0a8:114]']) {
    assert.equal(isLoopback(host), false, host);
  }
});

test('plain http to another computer is named by one key, with the chat port when none is typed', () => {
  assert.equal(plainHttpRemote('192.168.1.20'), 'http://192.168.1.20:7878/');
  assert.equal(plainHttpRemote('  192.168.1.20:9000  '), 'http://192.168.1.20:9000/');
  assert.equal(plainHttpRemote('http://chat.example.org'), 'http://chat.example.org:80/', 'a scheme keeps its own default');
  assert.equal(plainHttpRemote('ws://Chat.Example.org:81/socket.io'), 'http://chat.example.org:81/');
});

test('https, wss, this computer and what is no address need no warning', () => {
  for (const typed of ['https://chat.example.org', 'wss://chat.example.org:8443', 'localhost:7878', 'http://127.0.0.1:43519', '[::1]', '', '   ', null, undefined, 'http://', 'ftp://files.example.org']) {
    assert.equal(plainHttpRemote(typed), null, String(typed));
  }
});
