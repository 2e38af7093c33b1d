// The desktop app in the real webview and the server's history: after a cut, what the server no
// longer holds is one marker in its place; "Load older messages" pages back to the beginning and
// keeps the view on what was being read. Started by tests/e2e/run.sh (display, tauri-driver, env).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { By } from 'selenium-webdriver';
import { e2e, freePort, launchApp, tcpProxy } from './support.mjs';

const SHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
const WAIT = 15_000;
// The app's backoff doubles up to 15 s: after a few seconds refused it may wait that long once.
const RECONNECT_WAIT = 40_000;
const { CONFAB_SERVER_BIN } = process.env;

let driver;
const { startProcess, person, waitFor, screenshot, texts, line, visible, statusIs, join, leave, cleanup } = e2e({
  wait: WAIT,
  driver: () => driver,
  shots: SHOTS,
});

const burstLine = (i) => `m${String(i).padStart(4, '0')}`;
const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => burstLine(from + i));
/** The burst lines on the page, in order. */
const burstShown = async () => (await texts('#messages li .text')).filter((text) => /^m\d{4}$/.test(text));

/** A server in memory with this history size, and no flood control (one sender, as fast as acks come). */
async function server(history) {
  const port = await freePort();
  await startProcess(CONFAB_SERVER_BIN, ['--bind', '127.0.0.1', '--port', String(port), '--ping-interval', '1', '--ping-timeout', '1', '--rate', '0', '--history', String(history)], /listening/);
  return port;
}

/** `socket` sends lines from..to, each after the server acknowledged the one before. */
async function burst(socket, from, to) {
  for (let i = from; i <= to; i += 1) {
    const ack = await socket.timeout(WAIT).emitWithAck('message', { from: 'peer', message: burstLine(i) });
    assert.equal(ack.message, burstLine(i));
  }
}

describe('Confab desktop app and the server history', () => {
  before(async () => {
    driver = await launchApp();
  });

  after(cleanup);

  test('after a cut, messages the server no longer holds are one marker in their place', async () => {
    const port = await server(50);
    const proxy = await tcpProxy(port);
    try {
      await join(`127.0.0.1:${proxy.port}`, 'desk');
      await visible('#chat-screen');
      const peer = await person(`http://127.0.0.1:${port}`, 'peer');
      await burst(peer, 1, 10);
      await line(burstLine(10));

      const cut = proxy.cut(4_000);
      await statusIs('Reconnecting…');
      await waitFor("desk's leave", () => peer.received.find((m) => m.kind === 'leave' && m.name === 'desk'));
      await burst(peer, 11, 300);
      await cut;
      await waitFor('the last line after the reconnect', async () => (await burstShown()).includes(burstLine(300)), RECONNECT_WAIT);
      await statusIs('Connected');

      assert.deepEqual(await burstShown(), [...range(1, 10), ...range(251, 300)]);
      // m0011..m0250 left a history of 50; desk's own leave took one of the ids in between.
      const order = await driver.executeScript(
        "return [...document.querySelectorAll('#messages li')].map((li) => li.classList.contains('gap') ? 'gap: ' + li.textContent : li.querySelector('.text')?.textContent).filter((t) => t && /^(gap|m\\d{4})/.test(t))",
      );
      const at = order.findIndex((text) => text.startsWith('gap'));
      assert.equal(order[at], 'gap: Up to 241 messages from this time are no longer available on the server.');
      assert.deepEqual([order[at - 1], order[at + 1]], [burstLine(10), burstLine(251)], 'in their place');
      assert.equal(order.filter((text) => text.startsWith('gap')).length, 1);
      await driver.executeScript("document.querySelector('#messages li.gap').scrollIntoView({ block: 'center' })");
      await screenshot('history-marker');
      peer.close();
      await leave();
    } finally {
      await proxy.close();
    }
  });

  test('load older messages pages back to the beginning and keeps the view on what was being read', async () => {
    const port = await server(1000);
    const peer = await person(`http://127.0.0.1:${port}`, 'peer');
    await burst(peer, 1, 450);
    await join(`127.0.0.1:${port}`, 'desk');
    await visible('#chat-screen');
    // A late joiner gets the newest 200.
    await waitFor('the newest 200', async () => (await burstShown()).includes(burstLine(450)));
    assert.deepEqual(await burstShown(), range(251, 450));

    const button = () => driver.findElement(By.css('#messages li.older button'));
    assert.equal(await (await button()).getText(), 'Load older messages');
    await driver.executeScript("document.getElementById('messages').scrollTop = 0");
    const reading = await line(burstLine(251));
    const topBefore = (await reading.getRect()).y;
    await (await button()).click();
    await waitFor('the page before', async () => (await burstShown())[0] === burstLine(51));
    // The line that was at the top is still where it was: the older ones went above, out of view.
    const moved = Math.abs((await reading.getRect()).y - topBefore);
    assert.ok(moved < 40, `the line read moved by ${moved} px`);
    await screenshot('history-load-older');

    await driver.executeScript("document.getElementById('messages').scrollTop = 0");
    await (await button()).click();
    await waitFor('the first page', async () => (await burstShown())[0] === burstLine(1));
    await (await button()).click();
    const start = await waitFor('the beginning', async () => {
      const [text] = await texts('#messages li.older .older-text');
      return text === 'This is the beginning of the chat history on this server.' && text;
    });
    assert.ok(start);
    assert.equal(await (await button()).isDisplayed(), false);
    assert.deepEqual(await burstShown(), range(1, 450), 'every line once, in order');
    await driver.executeScript("document.getElementById('messages').scrollTop = 0");
    await screenshot('history-beginning');
    peer.close();
  });
});
