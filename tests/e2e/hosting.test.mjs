// Hosting a chat from the desktop app and finding chats on the network, in the real webview.
// Started by tests/e2e/run.sh (display, tauri-driver, env). The other people in the room are the
// official JS socket.io client, joining through the join URL the app shows.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { By, Key, until } from 'selenium-webdriver';
import { appPid, e2e, freePort as freePortOn, launchApp, presentedCertificate, stopProcess, twoLines } from './support.mjs';

const { CONFAB_SERVER_BIN } = process.env;
const SHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
const WAIT = 20_000;
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

let driver;
const { startProcess, person: joinAs, waitFor, screenshot, texts, line, visible, cleanup, printShown } = e2e({
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

/**
 * The other person, through a join URL: the official JS client (socket.gone: disconnected), trusting
 * exactly the certificate with `fingerprint` (the one the host's bar shows), as the app does.
 */
const person = (url, name, password, fingerprint) => joinAs(url, name, { gone: true, password, fingerprint });

/** `ABCD EF01 …` as the app shows a fingerprint, back in the `AB:CD:…` form servers print. */
const colons = (grouped) => grouped.replace(/\s+/g, '').match(/../g).join(':');

/** A throwaway data dir: a confab-server started with it and --tls-self-signed has a certificate of its own. */
const dataDir = () => mkdtemp(`${process.env.E2E_WORK ?? '/tmp'}/server-data-`);

/** The fingerprint a confab-server printed at start. */
const printedFingerprint = (child) => child.output.match(/fingerprint \(SHA-256\)[^:]*: ([0-9A-F:]{95})/)?.[1];

/** The text of an element, whether or not it is laid out (textContent), and whether it is shown. */
const shown = (id) =>
  driver.executeScript('const e = document.getElementById(arguments[0]); return { text: e.textContent.replace(/\\s+/g, " ").trim(), visible: e.getClientRects().length > 0 }', id);

/** The pid of the running app. */
async function runningAppPid() {
  const pid = await appPid();
  if (!pid) throw new Error('the app process is not running');
  return pid;
}

describe('Hosting and discovery in the desktop app', () => {
  let guest;
  let hostedPort;
  let joinUrls;
  let hostedFingerprint;

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
    // Anyone on the LAN can announce a chat's name: the entry says which address a click joins.
    const address = await driver.executeScript(
      "return [...document.querySelectorAll('#nearby-list .pick')].find((e) => e.textContent.includes('Found me'))?.querySelector('.who')?.textContent ?? null",
    );
    assert.match(address ?? '', new RegExp(`:${port}$`), `the address it joins: ${address}`);
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

  test('a found chat with a fingerprint joins over https without asking; announcing another one later is refused', async () => {
    await visible('#connect-screen');
    const port = await freePort();
    const name = 'Found encrypted';
    const args = ['--port', String(port), '--advertise', '--chat-name', name, '--tls-self-signed'];
    const first = await startProcess(CONFAB_SERVER_BIN, args, /Press Ctrl\+C/, 'tls server', { XDG_DATA_HOME: await dataDir() });
    const fingerprint = printedFingerprint(first);
    assert.ok(fingerprint, first.output);
    const pickWith = (fp) =>
      waitFor(`"${name}" announcing ${fp}`, () =>
        driver.executeScript(
          "return [...document.querySelectorAll('#nearby-list .pick')].find((e) => e.textContent.includes(arguments[0]) && e.dataset.fingerprint === arguments[1]) ?? null",
          name,
          fp,
        ),
      );
    const clickPick = (fp) =>
      waitFor(`a click on "${name}"`, async () => {
        try {
          await (await pickWith(fp)).click();
          return true;
        } catch (error) {
          if (error.name === 'StaleElementReferenceError') return false;
          throw error;
        }
      });
    const pick = await pickWith(fingerprint);
    assert.match(await pick.getText(), /encrypted/);
    await fill('username', 'secure');
    await clickPick(fingerprint);
    const server = await driver.findElement(By.id('server')).getAttribute('value');
    assert.match(server, new RegExp(`^https://.+:${port}$`));
    const watcher = await person(server, 'watcher', undefined, fingerprint);
    const joins = () => watcher.received.filter((m) => m.kind === 'join' && m.name === 'secure').length;
    const opened = () =>
      driver.executeScript("return ['trust-cert', 'cert-changed', 'plain-http'].filter((id) => document.getElementById(id).open)");
    await driver.findElement(By.id('connect-button')).click();
    // No question: the fingerprint came with the announcement, and the certificate matched it.
    await visible('#chat-screen');
    assert.deepEqual(await opened(), []);
    await waitFor('the watcher to see secure join', () => joins() === 1);
    await driver.findElement(By.id('leave-button')).click();
    await visible('#connect-screen');
    watcher.close();

    // The same address now announces another certificate (another machine passing for the chat,
    // or the host made a new one): refused with both fingerprints, nothing joined.
    await stopProcess(first);
    const second = await startProcess(CONFAB_SERVER_BIN, args, /Press Ctrl\+C/, 'tls server', { XDG_DATA_HOME: await dataDir() });
    const other = printedFingerprint(second);
    assert.ok(other && other !== fingerprint, second.output);
    const watcher2 = await person(server, 'watcher2', undefined, other);
    const joins2 = () => watcher2.received.filter((m) => m.kind === 'join' && m.name === 'secure').length;
    await clickPick(other);
    await driver.findElement(By.id('connect-button')).click();
    const warning = await visible('#cert-changed');
    assert.match(await warning.getText(), /Warning: this is not the certificate you trusted/);
    assert.match(await warning.getText(), /announces another certificate than the one you trusted at this address before/);
    assert.deepEqual(await printShown('cert-changed-expected'), twoLines(fingerprint));
    assert.deepEqual(await printShown('cert-changed-presented'), twoLines(other));
    assert.equal(await driver.findElement(By.id('cert-changed-replace')).isEnabled(), false, 'replacing needs the tick first');
    await screenshot('certificate-announced-changed');
    await driver.findElement(By.id('cert-changed-cancel')).click();
    await driver.wait(until.elementTextMatches(driver.findElement(By.id('connect-error')), /^Not joined\. The chat found on the network announces another certificate/), WAIT);
    assert.equal(joins2(), 0, 'nobody joined');
    // The host confirms they made a new certificate: ticked and replaced, the chat is joined.
    await driver.findElement(By.id('connect-button')).click();
    await visible('#cert-changed');
    await driver.findElement(By.id('cert-changed-confirm')).click();
    await driver.findElement(By.id('cert-changed-replace')).click();
    await visible('#chat-screen');
    await waitFor('the watcher to see secure join', () => joins2() === 1);
    await driver.findElement(By.id('leave-button')).click();
    await visible('#connect-screen');
    watcher2.close();
    await stopProcess(second);
  });

  test('a taken port gets a clear message and a free port to use instead', async () => {
    const taken = await listen(0);
    const port = taken.address().port;
    try {
      await driver.findElement(By.id('host-open')).click();
      await visible('#host-screen');
      assert.equal(await driver.findElement(By.id('host-port')).getAttribute('value'), '7878');
      // The form says who can join and that the chat is encrypted, and suggests a password.
      const reach = await shown('host-reach');
      assert.ok(reach.visible);
      assert.match(reach.text, /Anyone on the networks this computer is on can join/);
      assert.match(reach.text, /encrypted \(HTTPS, with this computer's own certificate\), so others on the same network, such as the same Wi-Fi, cannot read it — but without a room password anyone on the network can join\./);
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

  test('shows the https join URLs and the fingerprint, and a JS client pinned to it joins and chats with the host', async () => {
    await visible('#hosting');
    joinUrls = await texts('#join-urls code');
    assert.ok(joinUrls.length > 0, 'at least one join URL');
    for (const url of joinUrls) {
      assert.match(url, new RegExp(`^https://.+:${hostedPort}$`));
      assert.doesNotMatch(url, /127\.0\.0\.1|\[::1\]/);
    }
    await line('hoster has joined the chat');
    // No password: the bar says the chat is open to the network, encrypted, and how to close it.
    const access = await shown('hosting-access');
    assert.ok(access.visible);
    assert.equal(access.text, 'Open to anyone on this network — no password.');
    const suggest = await shown('hosting-suggest');
    assert.ok(suggest.visible);
    assert.match(suggest.text, /stop and host again with a room password/);
    const encrypted = await shown('hosting-encrypted');
    assert.ok(encrypted.visible);
    assert.equal(encrypted.text, 'Encrypted (HTTPS): others on the same network (such as the same Wi-Fi) cannot read the chat.');
    // The fingerprint, in 16 groups of 4 to read aloud, is the one every join URL presents.
    const shownPrint = await shown('hosting-fingerprint');
    assert.ok(shownPrint.visible);
    assert.match(shownPrint.text, /^([0-9A-F]{4} ){15}[0-9A-F]{4}$/);
    hostedFingerprint = colons(shownPrint.text);
    assert.deepEqual(await printShown('hosting-fingerprint'), twoLines(hostedFingerprint), 'two lines of 8 groups');
    for (const url of joinUrls) assert.equal((await presentedCertificate(url)).fingerprint, hostedFingerprint, url);
    const certificate = await shown('hosting-certificate');
    assert.match(certificate.text, /Others should see this same fingerprint/);
    assert.match(certificate.text, /Browsers will warn about the certificate \(it is this computer's own\): check the fingerprint\./);
    const copy = await driver.findElement(By.css('#join-urls .copy'));
    await copy.click();
    await driver.wait(until.elementTextMatches(copy, /Copied|Copy failed/), WAIT);
    const copyPrint = await driver.findElement(By.id('copy-fingerprint'));
    await copyPrint.click();
    await driver.wait(until.elementTextMatches(copyPrint, /Copied|Copy failed/), WAIT);

    guest = await person(joinUrls[0], 'guest', undefined, hostedFingerprint);
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
      // The chat's certificate is this computer's own: the browser warns (what README and the bar say).
      const wary = await browser.newPage();
      await assert.rejects(wary.goto(`${joinUrls[0]}/`), /ERR_CERT_AUTHORITY_INVALID/);
      await wary.close();
      // Once the person has checked the fingerprint and gone on past the warning:
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
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
    await waitFor('the shutdown message', () => guest.received.find((m) => m.kind === 'shutdown' && m.message === 'The chat was closed: its server stopped'));
    await Promise.race([
      guest.gone,
      new Promise((_, reject) => setTimeout(() => reject(new Error('guest not disconnected')), WAIT)),
    ]);
    await visible('#connect-screen');
    assert.equal(await driver.findElement(By.id('hosting')).isDisplayed(), false);
    // The port is free at once.
    const again = await listen(hostedPort);
    again.close();
    // A hosted chat is not a server to come back to (its port is gone with it): not in recent servers.
    const recent = await texts('#recent-list li');
    assert.ok(!recent.some((entry) => entry.includes(`:${hostedPort}`)), `no entry for the hosted chat: ${recent}`);
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
    assert.match((await shown('hosting-encrypted')).text, /^Encrypted/);
    // The same certificate as the first chat: made once for this computer.
    assert.equal(colons((await shown('hosting-fingerprint')).text), hostedFingerprint);
    await screenshot('hosting-password');
    const url = (await texts('#join-urls code'))[0];
    const last = await person(url, 'lastguest', 'letmein', hostedFingerprint);
    await line('lastguest has joined the chat');
    // A polite kill (as at logout) quits the app the normal way; its exit handler stops the server.
    process.kill(await runningAppPid(), 'SIGTERM');
    await waitFor('the shutdown message', () => last.received.find((m) => m.kind === 'shutdown'));
    await Promise.race([
      last.gone,
      new Promise((_, reject) => setTimeout(() => reject(new Error('guest not disconnected')), WAIT)),
    ]);
  });
});
