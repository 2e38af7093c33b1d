// Trust on first use of an https chat server with its own certificate, in the real webview: the
// app asks to compare the fingerprint, pins it (in Rust, in the config dir), joins without asking
// next time, refuses loudly when the server later presents another certificate, and replaces the pin
// only when the user explicitly says the host made a new one. Forgetting the server forgets the pin.
// Started by tests/e2e/run.sh (display, tauri-driver, env).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { By, Key, until } from 'selenium-webdriver';
import { e2e, freePort, launchApp, presentedCertificate, stopProcess, twoLines } from './support.mjs';

const { CONFAB_SERVER_BIN, CONFAB_CONFIG_DIR, E2E_WORK } = process.env;
const SHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
const WAIT = 15_000;
const PINS = `${CONFAB_CONFIG_DIR}/certificate-pins.json`;

let driver;
const { startProcess, person, waitFor, screenshot, visible, join, leave, cleanup, printShown, reveal } = e2e({
  wait: WAIT,
  driver: () => driver,
  shots: SHOTS,
});


/**
 * confab-server on 127.0.0.1:port with a certificate of its own (--tls-self-signed in a throwaway
 * data dir: another dir, another certificate) and a room password; resolves { child, fingerprint }.
 */
async function startTlsServer(port) {
  const data = await mkdtemp(`${E2E_WORK ?? '/tmp'}/tls-server-`);
  const child = await startProcess(
    CONFAB_SERVER_BIN,
    ['--bind', '127.0.0.1', '--port', String(port), '--tls-self-signed', '--password', 'pw'],
    /Press Ctrl\+C/,
    'tls server',
    { XDG_DATA_HOME: data },
  );
  const fingerprint = child.output.match(/fingerprint \(SHA-256\)[^:]*: ([0-9A-F:]{95})/)?.[1];
  assert.ok(fingerprint, child.output);
  return { child, fingerprint };
}

const pins = async () => (existsSync(PINS) ? JSON.parse(await readFile(PINS, 'utf8')) : {});
const dialogsOpen = () =>
  driver.executeScript("return ['trust-cert', 'cert-changed', 'plain-http'].filter((id) => document.getElementById(id).open)");
const errorIs = (pattern) => driver.wait(until.elementTextMatches(driver.findElement(By.id('connect-error')), pattern), WAIT);

describe('Trusting the certificate of an https chat server', () => {
  let port;
  let url;
  let key;
  let first;
  let watcher;
  const joins = (socket) => socket.received.filter((m) => m.kind === 'join' && m.name === 'tofu').length;

  before(async () => {
    port = await freePort();
    url = `https://127.0.0.1:${port}`;
    key = `${url}/`;
    first = await startTlsServer(port);
    assert.equal((await presentedCertificate(url)).fingerprint, first.fingerprint, 'what the server printed is what it presents');
    watcher = await person(url, 'watcher', { password: 'pw', fingerprint: first.fingerprint });
    driver = await launchApp();
  });

  after(cleanup);

  test('a typed address whose certificate the system does not know asks to compare the fingerprint', async () => {
    await join(url, 'tofu', 'pw');
    const dialog = await visible('#trust-cert');
    const text = await dialog.getText();
    assert.match(text, /Trust this certificate\?/);
    assert.match(text, new RegExp(`127\\.0\\.0\\.1:${port} uses its own certificate, which your system does not know`));
    assert.match(text, /Compare its fingerprint with the one on the host's screen/);
    assert.deepEqual(await printShown('trust-cert-fingerprint'), twoLines(first.fingerprint));
    assert.equal(await driver.switchTo().activeElement().getAttribute('id'), 'trust-cert-cancel', 'Cancel has the focus');
    await screenshot('trust-certificate');
    // Cancel: nothing joined, nothing pinned.
    await driver.findElement(By.id('trust-cert-cancel')).click();
    await errorIs(/^Not joined: the certificate was not trusted\.$/);
    assert.deepEqual(await dialogsOpen(), []);
    assert.equal(joins(watcher), 0);
    assert.equal((await pins())[key], undefined);
  });

  test('trusted, it is pinned in the app (not the page) and joined; the next join does not ask', async () => {
    // Trusted before the password was typed: the server answers "needs a password", and the pin
    // stays (the certificate was the one compared).
    await join(url, 'tofu');
    await visible('#trust-cert');
    await driver.findElement(By.id('trust-cert-join')).click();
    await errorIs(/needs a password/);
    assert.equal((await pins())[key], first.fingerprint);
    // With the password: straight in, no question.
    await join(url, 'tofu', 'pw');
    await visible('#chat-screen');
    assert.deepEqual(await dialogsOpen(), []);
    await waitFor('the watcher to see tofu join', () => joins(watcher) === 1);
    // The pin is a file readable by the user only; the page's own storage holds nothing.
    assert.equal((await stat(PINS)).mode & 0o777, 0o600);
    assert.equal(await driver.executeScript('return localStorage.length + sessionStorage.length'), 0);
    await leave();
    // Picked from Recent servers (an https address keeps its scheme): no question either.
    const recent = await waitFor('the recent server', () =>
      driver.executeScript(
        "return [...document.querySelectorAll('#recent-list .pick')].find((e) => e.textContent.includes(arguments[0])) ?? null",
        `127.0.0.1:${port}`,
      ),
    );
    await reveal(recent);
    await recent.click();
    assert.equal(await driver.findElement(By.id('server')).getAttribute('value'), url);
    await driver.findElement(By.id('password')).sendKeys('pw');
    await driver.findElement(By.id('connect-button')).click();
    await visible('#chat-screen');
    assert.deepEqual(await dialogsOpen(), []);
    await waitFor('the watcher to see tofu join again', () => joins(watcher) === 2);
    await leave();
  });

  test('the server restarted with another certificate is refused with a warning; replaced only when asked', async () => {
    watcher.close();
    await stopProcess(first.child);
    const second = await startTlsServer(port);
    assert.notEqual(second.fingerprint, first.fingerprint);
    const other = await person(url, 'watcher2', { password: 'pw', fingerprint: second.fingerprint });
    await join(url, 'tofu', 'pw');
    const warning = await visible('#cert-changed');
    const text = await warning.getText();
    assert.match(text, /Warning: this is not the certificate you trusted/);
    assert.match(text, new RegExp(`127\\.0\\.0\\.1:${port} presented another certificate than the one you trusted before`));
    assert.match(text, /Someone may be intercepting the connection, or passing for this chat\. Nothing was sent: no password, no message\./);
    assert.deepEqual(await printShown('cert-changed-expected'), twoLines(first.fingerprint));
    assert.deepEqual(await printShown('cert-changed-presented'), twoLines(second.fingerprint));
    assert.equal(await driver.switchTo().activeElement().getAttribute('id'), 'cert-changed-cancel', "Don't join has the focus");
    assert.equal(await driver.findElement(By.id('cert-changed-replace')).isEnabled(), false);
    await screenshot('certificate-changed');
    await driver.findElement(By.id('cert-changed-cancel')).click();
    await errorIs(/^Not joined\. The chat's certificate has changed/);
    assert.equal(joins(other), 0, 'nobody joined');
    assert.equal((await pins())[key], first.fingerprint, 'the pin is unchanged');
    // Asked again next time (Escape is Don't join).
    await driver.findElement(By.id('connect-button')).click();
    await visible('#cert-changed');
    await driver.switchTo().activeElement().sendKeys(Key.ESCAPE);
    await errorIs(/^Not joined\./);
    assert.equal(joins(other), 0);
    // The host says they made a new certificate: ticked, replaced, joined; then no more questions.
    await driver.findElement(By.id('connect-button')).click();
    await visible('#cert-changed');
    await driver.findElement(By.id('cert-changed-confirm')).click();
    assert.equal(await driver.findElement(By.id('cert-changed-replace')).isEnabled(), true);
    await driver.findElement(By.id('cert-changed-replace')).click();
    await visible('#chat-screen');
    await waitFor('watcher2 to see tofu join', () => joins(other) === 1);
    // The app pins once its join is answered, which can come a moment after the others hear of it.
    await waitFor('the new pin', async () => (await pins())[key] === second.fingerprint);
    await leave();
    await join(url, 'tofu', 'pw');
    await visible('#chat-screen');
    assert.deepEqual(await dialogsOpen(), []);
    await waitFor('watcher2 to see tofu join again', () => joins(other) === 2);
    await leave();
    other.close();
  });

  test('forgetting the recent server forgets its pin: the next join asks again', async () => {
    const forget = await waitFor('the forget button', () =>
      driver.executeScript(
        "return [...document.querySelectorAll('#recent-list .forget')].find((e) => e.getAttribute('aria-label') === `Forget ${arguments[0]}`) ?? null",
        key,
      ),
    );
    await reveal(forget);
    await forget.click();
    // Forget asks first (it also deletes the conversation kept on this computer).
    await visible('#forget-server');
    await driver.findElement(By.id('forget-server-forget')).click();
    await waitFor('the pin to be gone', async () => (await pins())[key] === undefined);
    await join(url, 'tofu', 'pw');
    await visible('#trust-cert');
    await driver.findElement(By.id('trust-cert-cancel')).click();
    await errorIs(/^Not joined: the certificate was not trusted\.$/);
  });
});
