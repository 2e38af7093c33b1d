// Saved passwords in the OS keyring, in the real webview: remember → quit → relaunch → the picked
// recent server joins with its saved password, which Rust reads itself: the page only learns that
// one is saved (never the password); a typed one overrides it; unticking or forget removes it.
// tests/e2e/run.sh provides a private D-Bus session with gnome-keyring unlocked (CONFAB_E2E_KEYRING=1).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { By, Key, until } from 'selenium-webdriver';
import { e2e, freePort, launchApp } from './support.mjs';

const { CONFAB_SERVER_BIN, CONFAB_E2E_KEYRING } = process.env;
const WAIT = 20_000;

// The room password, which is also what the keyring keeps.
const SECRET = 'sesame';

let driver;
let server;
// No shots: a timed-out wait here takes no screenshot.
const { startProcess, waitFor, visible, line, reveal } = e2e({ wait: WAIT, driver: () => driver });

const startServer = (port) =>
  startProcess(CONFAB_SERVER_BIN, ['--bind', '127.0.0.1', '--port', String(port), '--password', SECRET], /listening/, 'server');

async function launch() {
  driver = await launchApp();
}

/** What the keyring holds for our service (secret-tool prints attributes, and secrets: only ours). */
const keyringItems = () => {
  try {
    return execFileSync('secret-tool', ['search', '--all', 'service', 'confab'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    return '';
  }
};

/** No trace of the saved password in the page: not in a field, not in the text, not in the DOM. */
async function assertSecretNotInPage() {
  const page = await driver.executeScript(`return {
    values: [...document.querySelectorAll('input, textarea')].map((e) => e.value),
    html: document.documentElement.outerHTML,
    text: document.body.innerText,
  }`);
  assert.equal(await driver.findElement(By.id('password')).getAttribute('value'), '');
  for (const value of page.values) assert.notEqual(value, SECRET);
  assert.ok(!page.html.includes(SECRET), 'the secret is in the DOM');
  assert.ok(!page.text.includes(SECRET), 'the secret is in the text');
}

/** Calls one of the app's commands from the page, as the page's own code can; resolves { ok, value }. */
const invokeFromPage = (cmd, args) =>
  driver.executeAsyncScript(
    `const done = arguments[arguments.length - 1];
     window.__TAURI__.core.invoke(arguments[0], arguments[1]).then(
       (value) => done({ ok: true, value: JSON.stringify(value) }),
       (error) => done({ ok: false, value: JSON.stringify(error) }));`,
    cmd,
    args,
  );

/** The recent server entry containing `text`, scrolled into the window (the suite's list can be longer). */
async function recentPick(text) {
  const entry = await waitFor(`the recent server ${text}`, () =>
    driver.executeScript("return [...document.querySelectorAll('#recent-list li')].find((e) => e.textContent.includes(arguments[0])) ?? null", text),
  );
  await reveal(entry);
  return entry;
}

/** Picks the recent server and waits until the form says its saved password will be used. */
async function pickSaved() {
  await (await recentPick(where)).findElement(By.css('.pick')).click();
  await visible('#password-saved');
}

let where;

describe('Saved passwords in the OS keyring', () => {
  before(() => assert.ok(CONFAB_E2E_KEYRING, 'run through tests/e2e/run.sh, which provides a gnome-keyring session'));
  let port;

  before(async () => {
    port = await freePort();
    where = `127.0.0.1:${port}`;
    server = await startServer(port);
    await launch();
  });

  after(async () => {
    if (driver) await driver.quit().catch(() => {});
    if (server && server.exitCode === null) server.kill('SIGTERM');
  });

  test('remembers the password in the keyring when asked, after the server accepted it', async () => {
    await visible('#connect-screen');
    for (const [id, value] of [['server', where], ['username', 'keeper'], ['password', SECRET]]) {
      const field = await driver.findElement(By.id(id));
      await field.clear();
      await field.sendKeys(value);
    }
    const remember = await driver.findElement(By.id('remember'));
    if (!(await remember.isSelected())) await remember.click();
    await driver.findElement(By.id('password')).sendKeys(Key.ENTER);
    await visible('#chat-screen');
    const items = await waitFor('the keyring item', () => (keyringItems().includes(`keeper@http://${where}`) ? keyringItems() : null));
    assert.match(items, new RegExp(`secret = ${SECRET}`));
    // Nowhere else: not in the recent servers file.
    const recentFile = execFileSync('cat', [`${process.env.CONFAB_CONFIG_DIR}/recent-servers.json`], { encoding: 'utf8' });
    assert.doesNotMatch(recentFile, new RegExp(SECRET));
  });

  test('after a relaunch, picking the recent server joins with the saved password, which never reaches the page', async () => {
    await driver.quit();
    driver = null;
    await launch();
    await visible('#connect-screen');
    await pickSaved();
    assert.equal(await driver.findElement(By.id('password')).getAttribute('placeholder'), 'Saved password will be used');
    assert.match(await driver.findElement(By.id('password-saved')).getText(), /saved password will be used/i);
    assert.equal(await driver.findElement(By.id('remember')).isSelected(), true);
    await assertSecretNotInPage();
    await driver.findElement(By.id('connect-button')).click();
    await visible('#chat-screen');
    await line('keeper has joined the chat');
    await assertSecretNotInPage();
    // What the page can ask the app: whether a password is saved (yes/no), never the password.
    const asked = await invokeFromPage('has_saved_password', { server: `http://${where}/`, username: 'keeper' });
    assert.deepEqual(asked, { ok: true, value: 'true' });
    const old = await invokeFromPage('saved_password', { server: `http://${where}/`, username: 'keeper' });
    assert.equal(old.ok, false, 'no command hands out the saved password');
    assert.match(old.value, /not allowed|not found/);
    assert.doesNotMatch(old.value, new RegExp(SECRET));
    await driver.findElement(By.id('leave-button')).click();
    await visible('#connect-screen');
  });

  test('a typed password is used instead of the saved one', async () => {
    await pickSaved();
    await driver.findElement(By.id('password')).sendKeys('not-it');
    assert.match(await driver.findElement(By.id('password-saved')).getText(), /you typed is used instead/);
    await driver.findElement(By.id('connect-button')).click();
    // The server got the typed one (the saved one is right): refused, and the saved one is kept.
    await driver.wait(until.elementTextMatches(driver.findElement(By.id('connect-error')), /Wrong password/), WAIT);
    assert.match(keyringItems(), new RegExp(`secret = ${SECRET}`));
    // Emptied again: back to the saved one, which joins.
    await driver.findElement(By.id('password')).sendKeys(Key.chord(Key.CONTROL, 'a'), Key.BACK_SPACE);
    assert.equal(await driver.findElement(By.id('password')).getAttribute('value'), '');
    assert.match(await driver.findElement(By.id('password-saved')).getText(), /saved password will be used/i);
    await driver.findElement(By.id('connect-button')).click();
    await visible('#chat-screen');
    await assertSecretNotInPage();
    await driver.findElement(By.id('leave-button')).click();
    await visible('#connect-screen');
  });

  test('another name is not given the saved password', async () => {
    await pickSaved();
    await driver.findElement(By.id('username')).sendKeys('2');
    assert.equal(await driver.findElement(By.id('password-saved')).isDisplayed(), false);
    assert.equal(await driver.findElement(By.id('password')).getAttribute('placeholder'), '');
    await driver.findElement(By.id('connect-button')).click();
    await driver.wait(until.elementTextMatches(driver.findElement(By.id('connect-error')), /needs a password/), WAIT);
  });

  test('unticking Remember before joining forgets the saved password', async () => {
    await pickSaved();
    await driver.findElement(By.id('remember')).click();
    assert.match(await driver.findElement(By.id('password-saved')).getText(), /this once, then removed/);
    await driver.findElement(By.id('connect-button')).click();
    await visible('#chat-screen');
    await waitFor('the keyring item to go', () => !keyringItems().includes(`keeper@http://${where}`));
    await driver.findElement(By.id('leave-button')).click();
    await visible('#connect-screen');
    // Nothing saved any more: picking it asks for the password.
    await (await recentPick(where)).findElement(By.css('.pick')).click();
    await driver.wait(async () => (await driver.switchTo().activeElement().getAttribute('id')) === 'password', WAIT);
    assert.equal(await driver.findElement(By.id('password-saved')).isDisplayed(), false);
  });

  test('forgetting the recent server removes its password from the keyring', async () => {
    // Remember it again first.
    await (await recentPick(where)).findElement(By.css('.pick')).click();
    await driver.findElement(By.id('password')).sendKeys(SECRET);
    const remember = await driver.findElement(By.id('remember'));
    if (!(await remember.isSelected())) await remember.click();
    await driver.findElement(By.id('connect-button')).click();
    await visible('#chat-screen');
    await waitFor('the keyring item', () => keyringItems().includes(`keeper@http://${where}`));
    await driver.findElement(By.id('leave-button')).click();
    await visible('#connect-screen');

    const entry = await recentPick(where);
    await entry.findElement(By.css('.forget')).click();
    // Forget asks first (it also deletes the conversation kept on this computer).
    await visible('#forget-server');
    await driver.findElement(By.id('forget-server-forget')).click();
    await waitFor('the keyring item to go', () => !keyringItems().includes(`keeper@http://${where}`));
    await waitFor('the entry to leave the list', async () =>
      !(await driver.executeScript("return document.getElementById('recent-list').textContent")).includes(where),
    );
  });
});
