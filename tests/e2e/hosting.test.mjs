// Hosting a chat from the desktop app and finding chats on the network, in the real webview.
// Started by tests/e2e/run.sh (display, tauri-driver, env). The other people in the room are the
// official JS socket.io client, joining through the join URL the app shows.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readlink } from 'node:fs/promises';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { By, Key, until } from 'selenium-webdriver';
import { e2e, freePort as freePortOn, launchApp } from './support.mjs';

const { CONFAB_APP_BIN, CONFAB_SERVER_BIN } = process.env;
const SHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
const WAIT = 20_000;
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

let driver;
const { startProcess, person: joinAs, waitFor, screenshot, texts, line, visible, cleanup } = e2e({
  wait: WAIT,
  driver: () => driver,
  shots: SHOTS,
});

const freePort = () => freePortOn('0.0.0.0');

/** Listens on 0.0.0.0:port (to take it, or to prove it is free); resolves the server or rejects. */
function listen(port) {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => resolve(server));
  });
}

async function fill(id, value) {
  const field = await driver.findElement(By.id(id));
  await field.clear();
  if (value !== '') await field.sendKeys(value);
}

/** The other person, through a join URL: the official JS client (socket.gone: disconnected). */
const person = (url, name, password) => joinAs(url, name, { gone: true, password });

/** The text of an element, whether or not it is laid out (textContent), and whether it is shown. */
const shown = (id) =>
  driver.executeScript('const e = document.getElementById(arguments[0]); return { text: e.textContent.replace(/\\s+/g, " ").trim(), visible: e.getClientRects().length > 0 }', id);

/** The pid of the running app (tests run one app at a time). */
async function appPid() {
  for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
    if ((await readlink(`/proc/${pid}/exe`).catch(() => '')) === CONFAB_APP_BIN) return Number(pid);
  }
  throw new Error('the app process is not running');
}

describe('Hosting and discovery in the desktop app', () => {
  let guest;
  let hostedPort;
  let joinUrls;

  before(async () => {
    driver = await launchApp();
  });

  after(cleanup);

  test('lists a chat advertised on the network and joins it with one click', async () => {
    await visible('#connect-screen');
    // Nothing found yet (or not yet): the screen says what to check and the manual field stays.
    const port = await freePort();
    await startProcess(CONFAB_SERVER_BIN, ['--port', String(port), '--advertise', '--chat-name', 'Found me', '--password', 'pw'], /listening/);
    const findPick = () =>
      driver.executeScript(
        "return [...document.querySelectorAll('#nearby-list .pick')].find((e) => e.textContent.includes('Found me')) ?? null",
      );
    await waitFor('"Found me" in the list', findPick);
    // Counted in the page, in the same round trip that finds the entry: it may be redrawn at any time.
    const locks = await driver.executeScript(
      "return [...document.querySelectorAll('#nearby-list .pick')].find((e) => e.textContent.includes('Found me'))?.querySelectorAll('.lock').length ?? null",
    );
    assert.equal(locks, 1, 'a lock on a chat with a password');
    await screenshot('nearby');
    await fill('username', 'finder');
    // The entry is redrawn when the chat's details change (a new address): click the current one.
    await waitFor('a click on "Found me"', async () => {
      try {
        await (await findPick()).click();
        return true;
      } catch (error) {
        if (error.name === 'StaleElementReferenceError') return false;
        throw error;
      }
    });
    const server = await driver.findElement(By.id('server')).getAttribute('value');
    assert.match(server, new RegExp(`^http://.+:${port}$`));
    // A locked chat puts the cursor in the password field.
    assert.equal(await driver.switchTo().activeElement().getAttribute('id'), 'password');
    await driver.findElement(By.id('password')).sendKeys('pw', Key.ENTER);
    // A password over plain http to another computer (the chat's network address): asked first.
    await visible('#plain-http');
    await driver.findElement(By.id('plain-http-join')).click();
    await visible('#chat-screen');
    await line('finder has joined the chat');
    await driver.findElement(By.id('leave-button')).click();
    await visible('#connect-screen');
  });

  test('a taken port gets a clear message and a free port to use instead', async () => {
    const taken = await listen(0);
    const port = taken.address().port;
    try {
      await driver.findElement(By.id('host-open')).click();
      await visible('#host-screen');
      assert.equal(await driver.findElement(By.id('host-port')).getAttribute('value'), '7878');
      // The form says who can join and that the chat is not encrypted, and suggests a password.
      const reach = await shown('host-reach');
      assert.ok(reach.visible);
      assert.match(reach.text, /Anyone on the networks this computer is on can join/);
      assert.match(reach.text, /not encrypted \(plain HTTP\): others on the same network, such as the same Wi-Fi, can read it/);
      const note = await shown('host-password-note');
      assert.ok(note.visible, 'a note beside the empty password field');
      assert.match(note.text, /No password: anyone on the network can join\. Setting one is a good idea\./);
      await fill('host-password', 'x');
      assert.equal((await shown('host-password-note')).visible, false, 'no note once a password is typed');
      await driver.findElement(By.id('host-password')).sendKeys(Key.BACK_SPACE);
      assert.equal((await shown('host-password-note')).visible, true, 'the note is back when the field is emptied');
      await screenshot('host-form');
      await fill('chat-name', 'E2E chat');
      await fill('host-name', 'hoster');
      await fill('host-port', String(port));
      await driver.findElement(By.id('host-button')).click();
      const error = await visible('#host-error');
      assert.match(await error.getText(), new RegExp(`Port ${port} is already in use`));
      const other = await visible('#host-other-port');
      await screenshot('host-port-in-use');
      const offer = await other.getText();
      const offered = Number(offer.match(/Use port (\d+) instead/)?.[1]);
      assert.ok(offered, `a free port is offered: ${offer}`);
      assert.notEqual(offered, port);
      await other.click();
      await visible('#chat-screen');
      hostedPort = offered;
    } finally {
      taken.close();
    }
  });

  test('shows the join URLs, and a JS client joins through one and chats with the host', async () => {
    await visible('#hosting');
    joinUrls = await texts('#join-urls code');
    assert.ok(joinUrls.length > 0, 'at least one join URL');
    for (const url of joinUrls) {
      assert.match(url, new RegExp(`^http://.+:${hostedPort}$`));
      assert.doesNotMatch(url, /127\.0\.0\.1|\[::1\]/);
    }
    await line('hoster has joined the chat');
    // No password: the bar says the chat is open to the network, unencrypted, and how to close it.
    const access = await shown('hosting-access');
    assert.ok(access.visible);
    assert.equal(access.text, 'Open to anyone on this network — no password.');
    const suggest = await shown('hosting-suggest');
    assert.ok(suggest.visible);
    assert.match(suggest.text, /stop and host again with a room password/);
    const plain = await shown('hosting-plain');
    assert.ok(plain.visible);
    assert.match(plain.text, /Not encrypted: others on the same network \(such as the same Wi-Fi\) can read the chat\./);
    const copy = await driver.findElement(By.css('#join-urls .copy'));
    await copy.click();
    await driver.wait(until.elementTextMatches(copy, /Copied|Copy failed/), WAIT);

    guest = await person(joinUrls[0], 'guest');
    await line('guest has joined the chat');
    await waitFor('guest in the online list', async () => (await texts('#people-list li')).includes('guest'));
    assert.ok((await texts('#people-list li')).includes('hoster (you)'));
    guest.emit('message', { from: 'guest', message: 'hi host' });
    await line('hi host');
    await driver.findElement(By.id('input')).sendKeys('hi guest', Key.ENTER);
    await waitFor('the guest to get the host message', () => guest.received.find((m) => m.message === 'hi guest' && m.from === 'hoster'));
    await screenshot('hosting');
  });

  test('a web browser opens a join URL and chats with the host', async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage();
      const problems = [];
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      await page.goto(`${joinUrls[0]}/`);
      await page.fill('#username', 'chromey');
      await page.click('#connect-button');
      await page.waitForSelector('#chat-screen:not([hidden])', { timeout: WAIT });
      await line('chromey has joined the chat');
      await page.fill('#input', 'hello from chromium');
      await page.press('#input', 'Enter');
      await line('hello from chromium');
      await driver.findElement(By.id('input')).sendKeys('hello chromium', Key.ENTER);
      await page.locator('#messages li', { hasText: 'hello chromium' }).waitFor({ timeout: WAIT });
      await page.locator('#people-list', { hasText: 'hoster' }).waitFor({ timeout: WAIT });
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
    await line('chromey left the chat');
  });

  test('Stop hosting tells everyone, disconnects them and frees the port', async () => {
    await driver.findElement(By.id('stop-hosting')).click();
    await waitFor('the shutdown message', () => guest.received.find((m) => m.kind === 'shutdown' && m.message === 'The chat was closed by the host'));
    await Promise.race([
      guest.gone,
      new Promise((_, reject) => setTimeout(() => reject(new Error('guest not disconnected')), WAIT)),
    ]);
    await visible('#connect-screen');
    assert.equal(await driver.findElement(By.id('hosting')).isDisplayed(), false);
    // The port is free at once.
    const again = await listen(hostedPort);
    again.close();
  });

  test('quitting the app closes the hosted chat too', async () => {
    await driver.findElement(By.id('host-open')).click();
    await visible('#host-screen');
    await fill('host-port', '0');
    // This time with a room password: no note in the form, and the bar says it is protected.
    await fill('host-password', 'letmein');
    assert.equal((await shown('host-password-note')).visible, false);
    await driver.findElement(By.id('host-button')).click();
    await visible('#hosting');
    const access = await shown('hosting-access');
    assert.match(access.text, /^Password protected: people on this computer’s networks need the password to join\.$/);
    assert.equal((await shown('hosting-suggest')).visible, false, 'no password suggested when there is one');
    assert.match((await shown('hosting-plain')).text, /Not encrypted/);
    await screenshot('hosting-password');
    const url = (await texts('#join-urls code'))[0];
    const last = await person(url, 'lastguest', 'letmein');
    await line('lastguest has joined the chat');
    // A polite kill (as at logout) quits the app the normal way; its exit handler stops the server.
    process.kill(await appPid(), 'SIGTERM');
    await waitFor('the shutdown message', () => last.received.find((m) => m.kind === 'shutdown'));
    await Promise.race([
      last.gone,
      new Promise((_, reject) => setTimeout(() => reject(new Error('guest not disconnected')), WAIT)),
    ]);
  });
});
