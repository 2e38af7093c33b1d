// The desktop app's local history in the real webview: a conversation chatted on a real
// confab-server is kept on this computer; with the app restarted and the server stopped it shows at
// once, offline; search (Ctrl+F) finds a message and a click jumps to it (older stored pages loaded
// first); a restarted server's new ids are not merged with the old ones; "Forget" asks, then deletes
// the stored conversation too. Also measures the cold start with 5000 stored messages.
// Started by tests/e2e/run.sh (display, tauri-driver, a throwaway XDG data dir shared by the files).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { By, Key } from 'selenium-webdriver';
import { e2e, freePort, launchApp, stopProcess } from './support.mjs';

const SHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
const WAIT = 20_000;
const BURST = 5000;
const { CONFAB_SERVER_BIN } = process.env;
const RESTARTED = 'The server restarted here: the messages above are from before.';

let driver;
const { startProcess, person, waitFor, screenshot, texts, line, visible, statusIs, join, type, leave, cleanup, reveal } = e2e({
  wait: WAIT,
  driver: () => driver,
  shots: SHOTS,
});

/** The last burst line is in the app's local store (its SQLite file, read beside the running app). */
const burstStored = () =>
  execFileSync('python3', ['-c', `import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM messages WHERE text = ?", (sys.argv[2],)).fetchone()[0])`,
    `${process.env.XDG_DATA_HOME}/chat.confab.app/history.sqlite3`, burstLine(BURST)], { encoding: 'utf8' }).trim() !== '0';
const burstLine = (i) => `m${String(i).padStart(4, '0')}`;
/** The burst lines on the page, in order. */
const burstShown = async () => (await texts('#messages li .text')).filter((text) => /^m\d{4}$/.test(text));

/** A server in memory (support.mjs adds --ephemeral: a new run of ids at each start), no flood control,
 *  with room for the whole burst in its history and in the app's queue: a debug build on a busy
 *  machine reads 5000 lines slower than they come, and an eviction (too slow) would leave a gap the
 *  default 200-message history cannot fill (that case is history.test.mjs's). */
const server = (port) =>
  startProcess(
    CONFAB_SERVER_BIN,
    ['--bind', '127.0.0.1', '--port', String(port), '--rate', '0', '--burst', '1000000', '--history', '6000', '--max-queued-packets', '20000'],
    /listening/,
  );

/** Starts the app, waits for the connect screen (filled with the last server used) and joins it. */
async function startAndJoin() {
  const started = Date.now();
  driver = await launchApp();
  await visible('#connect-screen');
  await waitFor('the last server filled in', async () => (await driver.findElement(By.id('server')).getAttribute('value')) !== '');
  const shown = Date.now();
  await driver.findElement(By.id('connect-button')).click();
  return { started, shown, clicked: Date.now() };
}

describe('Confab desktop app: local history and search', () => {
  after(cleanup);

  test('the conversation is kept, shown at once offline after a restart, searched, and forgotten on request', async () => {
    const port = await freePort();
    let chat = await server(port);
    const address = `127.0.0.1:${port}`;

    // 1. Chat: the peer's messages, one of ours, then a burst, so 5000+ messages are stored.
    driver = await launchApp();
    await join(address, 'desk');
    await visible('#chat-screen');
    const peer = await person(`http://${address}`, 'peer');
    await peer.timeout(WAIT).emitWithAck('message', { from: 'peer', message: 'Shall we meet by the quokka enclosure?' });
    await line('quokka enclosure');
    await type(`Yes, at the quokka café${Key.ENTER}`);
    await waitFor('our message delivered', () => peer.received.find((m) => m.message === 'Yes, at the quokka café'));
    for (let i = 1; i < BURST; i += 1) peer.emit('message', { from: 'peer', message: burstLine(i) });
    await peer.timeout(WAIT).emitWithAck('message', { from: 'peer', message: burstLine(BURST) });
    await waitFor('the burst in the window', async () => (await burstShown()).at(-1) === burstLine(BURST), 60_000);
    // The store is written on its own thread: quitting kills the app, so wait until it has them all.
    await waitFor('the burst in the local store', burstStored, 60_000);
    await driver.quit();
    driver = null;
    peer.close();
    await stopProcess(chat);

    // 2. Restarted app, server stopped: the stored conversation shows at once, then offline.
    const times = await startAndJoin();
    // The view renders a long page in chunks, so the count grows for a moment after the newest line.
    await waitFor('the stored conversation', async () => {
      const shown = await burstShown();
      return shown.at(-1) === burstLine(BURST) && shown.length >= 2999;
    }, 30_000);
    const storedShown = Date.now();
    // Interactive: the page answers a script and the message list scrolls.
    await driver.executeScript("const m = document.getElementById('messages'); m.scrollTop = m.scrollHeight; return m.scrollTop");
    const interactive = Date.now();
    const shownCount = (await burstShown()).length;
    console.log(
      `local history: cold start to the connect screen ${times.shown - times.started} ms (WebDriver session included); ` +
        `Join click to ${shownCount} stored lines shown ${storedShown - times.clicked} ms; ` +
        `app start to interactive chat ${interactive - times.started} ms`,
    );
    assert.ok(shownCount >= 2999, `the newest page of the store (${shownCount} lines)`);
    await screenshot('local-history-joining');
    await statusIs('Offline');
    const banner = await driver.findElement(By.id('banner')).getText();
    assert.match(banner, /^Not connected: .*This is the conversation as this computer saved it/);
    await screenshot('local-history-offline');

    // 3. Ctrl+F and search: both quokka lines, newest first, the word marked; a click goes to the
    // peer's, 5000 messages back (older stored pages are loaded to reach it).
    await driver.findElement(By.id('messages')).sendKeys(Key.chord(Key.CONTROL, 'f'));
    assert.equal(await driver.executeScript('return document.activeElement.id'), 'search-input');
    await driver.switchTo().activeElement().sendKeys('QUOK');
    await waitFor('two results', async () => (await texts('#search-list .snippet')).length === 2);
    assert.deepEqual(await texts('#search-list .snippet'), ['Yes, at the quokka café', 'Shall we meet by the quokka enclosure?']);
    assert.deepEqual(await texts('#search-list mark'), ['quokka', 'quokka']);
    assert.equal(await driver.findElement(By.id('search-status')).getText(), '2 messages with “QUOK”');
    await screenshot('local-history-search');
    assert.equal((await texts('#messages li')).some((t) => t.includes('quokka enclosure')), false, 'not in view yet');
    await (await driver.findElements(By.css('#search-list .hit')))[1].click();
    const found = await waitFor('the line jumped to', () => driver.executeScript("return document.querySelector('#messages li.found')"));
    assert.match(await found.getText(), /quokka enclosure/);
    const inView = await driver.executeScript(
      "const r = arguments[0].getBoundingClientRect(), m = document.getElementById('messages').getBoundingClientRect(); return r.top >= m.top && r.bottom <= m.bottom",
      found,
    );
    assert.equal(inView, true, 'scrolled into view');
    await screenshot('local-history-jumped');
    // Escape closes the results.
    await driver.findElement(By.id('search-input')).sendKeys(Key.ESCAPE);
    assert.equal(await driver.findElement(By.id('search-results')).isDisplayed(), false);

    // 4. The server back, restarted in memory: its ids start again, nothing is merged across runs.
    await leave();
    chat = await server(port);
    const again = await person(`http://${address}`, 'peer');
    await again.timeout(WAIT).emitWithAck('message', { from: 'peer', message: 'after the restart' });
    await driver.findElement(By.id('connect-button')).click();
    await statusIs('Connected');
    await line('after the restart');
    const order = await driver.executeScript(
      "return [...document.querySelectorAll('#messages > li')].map((li) => li.classList.contains('gap') ? li.textContent : li.querySelector('.text')?.textContent).filter(Boolean)",
    );
    const marker = order.indexOf(RESTARTED);
    assert.ok(marker > 0, 'a marker below the old run');
    assert.equal(order[marker - 1], burstLine(BURST));
    assert.ok(order.slice(marker).includes('after the restart'));
    assert.equal(order.filter((t) => t === burstLine(BURST)).length, 1);
    await driver.executeScript("document.querySelector('#messages li.gap').scrollIntoView({ block: 'center' })");
    await screenshot('local-history-restarted');
    again.close();
    await leave();
    await stopProcess(chat);

    // 5. Forget asks first; Cancel keeps everything, Forget deletes the stored conversation too.
    // Other tests of the suite share the app's data folder: only this server's entry counts.
    const entries = () => driver.executeScript(
      "return [...document.querySelectorAll('#recent-list li')].filter((e) => e.textContent.includes(arguments[0])).length", address);
    const forget = async () => {
      const button = await driver.executeScript(
        "return [...document.querySelectorAll('#recent-list li')].find((e) => e.textContent.includes(arguments[0])).querySelector('.forget')", address);
      await reveal(button);
      await button.click();
    };
    await forget();
    await visible('#forget-server');
    assert.match(await driver.findElement(By.id('forget-server')).getText(), /conversation kept on this computer/);
    await screenshot('local-history-forget');
    await driver.findElement(By.id('forget-server-cancel')).click();
    assert.equal(await entries(), 1);
    await forget();
    await driver.findElement(By.id('forget-server-forget')).click();
    await waitFor('the recent entry gone', async () => (await entries()) === 0);
    await join(address, 'desk');
    await waitFor('the join refused', async () => (await driver.findElement(By.id('connect-error')).isDisplayed()) && true);
    assert.equal(await driver.findElement(By.id('chat-screen')).isDisplayed(), false, 'nothing stored any more');
  });
});
