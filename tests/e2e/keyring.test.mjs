// Saved passwords in the OS keyring, in the real webview: remember → quit → relaunch → the picked
// recent server has its password; forget removes it from the keyring. tests/e2e/run.sh provides a
// private D-Bus session with gnome-keyring unlocked (CONFAB_E2E_KEYRING=1), as tests/e2e/run.sh provides.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { By, Key } from 'selenium-webdriver';
import { e2e, freePort, launchApp } from './support.mjs';

const { CONFAB_SERVER_BIN, CONFAB_E2E_KEYRING } = process.env;
const WAIT = 20_000;

let driver;
let server;
// No shots: a timed-out wait here takes no screenshot.
const { startProcess, waitFor, visible } = e2e({ wait: WAIT, driver: () => driver });

const startServer = (port) =>
  startProcess(CONFAB_SERVER_BIN, ['--bind', '127.0.0.1', '--port', String(port), '--password', 'sesame'], /listening/, 'server');

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

const recentPick = (text) =>
  waitFor(`the recent server ${text}`, () =>
    driver.executeScript("return [...document.querySelectorAll('#recent-list li')].find((e) => e.textContent.includes(arguments[0])) ?? null", text),
  );

describe('Saved passwords in the OS keyring', () => {
  before(() => assert.ok(CONFAB_E2E_KEYRING, 'run through tests/e2e/run.sh, which provides a gnome-keyring session'));
  let port;
  let where;

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
    for (const [id, value] of [['server', where], ['username', 'keeper'], ['password', 'sesame']]) {
      const field = await driver.findElement(By.id(id));
      await field.clear();
      await field.sendKeys(value);
    }
    const remember = await driver.findElement(By.id('remember'));
    if (!(await remember.isSelected())) await remember.click();
    await driver.findElement(By.id('password')).sendKeys(Key.ENTER);
    await visible('#chat-screen');
    const items = await waitFor('the keyring item', () => (keyringItems().includes(`keeper@http://${where}`) ? keyringItems() : null));
    assert.match(items, /secret = sesame/);
    // Nowhere else: not in the recent servers file.
    const recentFile = execFileSync('cat', [`${process.env.CONFAB_CONFIG_DIR}/recent-servers.json`], { encoding: 'utf8' });
    assert.doesNotMatch(recentFile, /sesame/);
  });

  test('after a relaunch, picking the recent server fills in the saved password', async () => {
    await driver.quit();
    driver = null;
    await launch();
    await visible('#connect-screen');
    const entry = await recentPick(where);
    await entry.findElement(By.css('.pick')).click();
    await driver.wait(async () => (await driver.findElement(By.id('password')).getAttribute('value')) === 'sesame', WAIT);
    assert.equal(await driver.findElement(By.id('remember')).isSelected(), true);
    await driver.findElement(By.id('connect-button')).click();
    await visible('#chat-screen');
    await driver.findElement(By.id('leave-button')).click();
    await visible('#connect-screen');
  });

  test('unticking Remember before joining forgets the saved password', async () => {
    const entry = await recentPick(where);
    await entry.findElement(By.css('.pick')).click();
    await driver.wait(async () => (await driver.findElement(By.id('password')).getAttribute('value')) === 'sesame', WAIT);
    await driver.findElement(By.id('remember')).click();
    await driver.findElement(By.id('connect-button')).click();
    await visible('#chat-screen');
    await waitFor('the keyring item to go', () => !keyringItems().includes(`keeper@http://${where}`));
    await driver.findElement(By.id('leave-button')).click();
    await visible('#connect-screen');
  });

  test('forgetting the recent server removes its password from the keyring', async () => {
    // Remember it again first.
    await (await recentPick(where)).findElement(By.css('.pick')).click();
    await driver.findElement(By.id('password')).sendKeys('sesame');
    const remember = await driver.findElement(By.id('remember'));
    if (!(await remember.isSelected())) await remember.click();
    await driver.findElement(By.id('connect-button')).click();
    await visible('#chat-screen');
    await waitFor('the keyring item', () => keyringItems().includes(`keeper@http://${where}`));
    await driver.findElement(By.id('leave-button')).click();
    await visible('#connect-screen');

    const entry = await recentPick(where);
    await entry.findElement(By.css('.forget')).click();
    await waitFor('the keyring item to go', () => !keyringItems().includes(`keeper@http://${where}`));
    await waitFor('the entry to leave the list', async () =>
      !(await driver.executeScript("return document.getElementById('recent-list').textContent")).includes(where),
    );
  });
});
