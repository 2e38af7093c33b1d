// The desktop's own conventions in the real webview: the settings panel (theme at once, kept across
// a restart with the window's size), the hosting bar's QR code and confab:// link, and a
// confab://join link handed by a second start of the app to the running one (single instance),
// which fills in the connect screen and asks before joining; a mention of your name highlighted.
// Started by tests/e2e/run.sh.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, rm, stat } from 'node:fs/promises';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import jsQR from 'jsqr';
import { By } from 'selenium-webdriver';
import { appPid, e2e, freePort, launchApp } from './support.mjs';

const { CONFAB_APP_BIN, CONFAB_SERVER_BIN, CONFAB_CONFIG_DIR, XDG_CONFIG_HOME } = process.env;
const SHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
const WAIT = 20_000;
const SETTINGS = `${CONFAB_CONFIG_DIR}/settings.json`;
// tauri-plugin-window-state keeps the window's size in the app's own config dir.
const WINDOW_STATE = `${XDG_CONFIG_HOME}/chat.confab.app/.window-state.json`;

let driver;
const { startProcess, person, waitFor, screenshot, texts, line, visible, statusIs, cleanup } = e2e({
  wait: WAIT,
  driver: () => driver,
  shots: SHOTS,
});

const click = async (css) => (await driver.findElement(By.css(css))).click();
const fill = async (id, value) => {
  const field = await driver.findElement(By.id(id));
  await field.clear();
  if (value) await field.sendKeys(value);
};
/** The page's theme attribute and the body's computed background colour. */
const theme = () =>
  driver.executeScript('return { attribute: document.documentElement.dataset.theme ?? null, background: getComputedStyle(document.body).backgroundColor }');
/** Picks a theme by its label, as a user does (WebKitWebDriver's click on the radio itself is lost). */
const chooseTheme = async (label) =>
  (await driver.findElement(By.xpath(`//dialog[@id='settings']//label[normalize-space(.)='${label}']`))).click();
const isOpen = (id) => driver.executeScript('return document.getElementById(arguments[0]).open', id);

/**
 * Quits the app as a logout does (SIGTERM: the app exits the normal way, so its exit handlers, such as
 * the window-state plugin's, run; ending the WebDriver session would kill it outright), waits until
 * it has exited, then ends the session.
 */
async function quitApp() {
  process.kill(await appPid(), 'SIGTERM');
  await waitFor('the app to exit', async () => (await appPid()) === null);
  await driver.quit().catch(() => {});
  driver = null;
}

/**
 * The QR code in an <img> whose src is the app's SVG (data: URL), decoded: its dark modules (the
 * path's `M{x} {y}h{w}v{h}…` rectangles) drawn into pixels and read by jsQR.
 */
function decodeQrSvg(src) {
  const svg = decodeURIComponent(src.slice(src.indexOf(',') + 1));
  const [width, height] = svg.match(/viewBox="0 0 (\d+) (\d+)"/).slice(1).map(Number);
  const pixels = new Uint8ClampedArray(width * height * 4).fill(255);
  for (const [, x, y, w, h] of [...svg.matchAll(/M(\d+) (\d+)h(\d+)v(\d+)/g)].map((m) => m.map(Number))) {
    for (let row = y; row < y + h; row++) for (let col = x; col < x + w; col++) pixels.fill(0, (row * width + col) * 4, (row * width + col) * 4 + 3);
  }
  return jsQR(pixels, width, height)?.data ?? null;
}

describe('Desktop conventions', () => {
  after(async () => {
    await cleanup();
    // Later test files start with the default settings and window size again.
    await rm(SETTINGS, { force: true });
    await rm(WINDOW_STATE, { force: true });
  });

  test('the settings panel changes the theme at once; settings and window size survive a restart', async () => {
    driver = await launchApp();
    await visible('#connect-screen');
    const before = await theme();
    assert.equal(before.attribute, null, 'the theme follows the system by default');
    await click('#settings-open');
    await visible('#settings');
    assert.equal(await driver.findElement(By.css('#settings input[value="system"]')).isSelected(), true);
    assert.equal(await driver.findElement(By.id('setting-notifications')).isSelected(), true);
    await screenshot('settings-panel');
    await chooseTheme('Dark');
    const dark = await waitFor('the dark theme', async () => ((await theme()).attribute === 'dark' ? theme() : null));
    assert.equal(dark.background, 'rgb(20, 22, 28)', 'the dark palette is in force');
    await click('#setting-notifications');
    await click('#setting-keep-in-tray');
    await screenshot('settings-dark');
    await click('#settings-done');
    await waitFor('the panel to close', async () => !(await isOpen('settings')));
    // Saved by Rust, readable by the user only.
    const saved = await waitFor('the settings file', async () => {
      const text = await readFile(SETTINGS, 'utf8').catch(() => null);
      return text && JSON.parse(text).keepInTray === false ? JSON.parse(text) : null;
    });
    assert.deepEqual(saved, { notifications: false, sound: true, keepInTray: false, theme: 'dark' });
    assert.equal((await stat(SETTINGS)).mode & 0o777, 0o600);
    await driver.manage().window().setRect({ width: 760, height: 600 });
    const size = await waitFor('the window resized', async () => {
      const rect = await driver.manage().window().getRect();
      return rect.width === 760 && rect.height === 600 ? rect : null;
    });

    await quitApp();
    driver = await launchApp();
    await visible('#connect-screen');
    // In force from the start, before anything is touched.
    const again = await waitFor('the dark theme at start', async () => ((await theme()).attribute === 'dark' ? theme() : null));
    assert.equal(again.background, 'rgb(20, 22, 28)');
    const rect = await driver.manage().window().getRect();
    assert.deepEqual({ width: rect.width, height: rect.height }, { width: size.width, height: size.height }, 'the window size is remembered');
    await click('#settings-open');
    await visible('#settings');
    assert.equal(await driver.findElement(By.css('#settings input[value="dark"]')).isSelected(), true);
    assert.equal(await driver.findElement(By.id('setting-notifications')).isSelected(), false);
    assert.equal(await driver.findElement(By.id('setting-keep-in-tray')).isSelected(), false);
    await screenshot('settings-after-restart');
    // Light forces light even where the system is dark; "Follow the system" takes the attribute away.
    await chooseTheme('Light');
    const light = await waitFor('the light theme', async () => ((await theme()).attribute === 'light' ? theme() : null));
    assert.equal(light.background, 'rgb(246, 247, 251)');
    await chooseTheme('Follow the system');
    await waitFor('the system theme', async () => (await theme()).attribute === null);
    await click('#setting-notifications');
    await click('#setting-keep-in-tray');
    await click('#settings-done');
    await waitFor('the defaults saved', async () => {
      const text = await readFile(SETTINGS, 'utf8').catch(() => '{}');
      const now = JSON.parse(text);
      return now.theme === 'system' && now.notifications && now.keepInTray;
    });
  });

  test("the hosting bar shows the join URL's QR code and its confab:// link", async () => {
    await visible('#connect-screen');
    await click('#host-open');
    await visible('#host-screen');
    await fill('chat-name', 'QR chat');
    await fill('host-name', 'qrhost');
    await fill('host-port', '0');
    await click('#host-button');
    await visible('#hosting');
    await line('qrhost has joined the chat');
    // Folded at first (the chat keeps its height); one click shows the code and the link.
    assert.equal(await isOpen('hosting-share'), false);
    await click('#hosting-share summary');
    const [url] = await texts('#join-urls code');
    assert.match(url, /^https:\/\/.+:\d+$/);
    const link = (await texts('#hosting-link'))[0];
    assert.equal(link, `confab://join?server=${encodeURIComponent(url)}`);
    // The image is shown (the CSP lets data: images in, nothing else) and is a QR code of the URL.
    const image = await driver.executeScript(
      "const img = document.getElementById('hosting-qr'); return { src: img.src, complete: img.complete, width: img.naturalWidth, shown: img.getClientRects().length > 0, alt: img.alt }",
    );
    assert.ok(image.src.startsWith('data:image/svg+xml'), image.src.slice(0, 40));
    assert.ok(image.complete && image.width > 0 && image.shown, JSON.stringify({ ...image, src: undefined }));
    assert.equal(image.alt, `QR code of ${url}`);
    assert.equal(decodeQrSvg(image.src), url, 'the QR code reads as the join URL');
    await click('#copy-link');
    await waitFor('"Copied"', async () => (await texts('#copy-link'))[0] === 'Copied');
    await screenshot('hosting-qr');
    await click('#stop-hosting');
    await visible('#connect-screen');
  });

  test('a confab://join link given to a second start fills in the running window and asks before joining', async () => {
    const port = await freePort();
    await startProcess(CONFAB_SERVER_BIN, ['--bind', '127.0.0.1', '--port', String(port)], /listening/);
    await visible('#connect-screen');
    await fill('server', '');
    await fill('username', 'linker');
    const pid = await appPid();
    /** Starts the app again with `link`; resolves its exit code (it hands the link over and exits). */
    const secondStart = (link) =>
      new Promise((resolve, reject) => {
        const child = spawn(CONFAB_APP_BIN, [link], { stdio: 'ignore' });
        const timer = setTimeout(() => reject(new Error('the second start did not exit')), WAIT);
        child.once('exit', (code) => {
          clearTimeout(timer);
          resolve(code);
        });
      });
    const link = `confab://join?server=127.0.0.1%3A${port}`;

    // Cancel: the form stays filled in, nothing is joined.
    assert.equal(await secondStart(link), 0);
    assert.equal(await appPid(), pid, 'still the one app');
    await visible('#join-link');
    assert.equal((await texts('#join-link-server'))[0], `127.0.0.1:${port}`);
    assert.equal(await driver.findElement(By.id('server')).getAttribute('value'), `127.0.0.1:${port}`);
    await screenshot('join-link-asks');
    await click('#join-link-cancel');
    await waitFor('the question to close', async () => !(await isOpen('join-link')));
    assert.equal(await driver.findElement(By.id('connect-screen')).isDisplayed(), true, 'not joined');

    // Join: joined under the name in the form.
    assert.equal(await secondStart(link), 0);
    await visible('#join-link');
    await click('#join-link-join');
    await visible('#chat-screen');
    await statusIs('Connected');
    await line('linker has joined the chat');
    await screenshot('join-link-joined');

    // Someone naming us: that line is highlighted, the others are not.
    const bob = await person(`http://127.0.0.1:${port}`, 'bob');
    bob.emit('message', { from: 'bob', message: 'hey @Linker, look at this' });
    bob.emit('message', { from: 'bob', message: 'the linkers of old' });
    await line('the linkers of old');
    const marked = await driver.executeScript(
      "return [...document.querySelectorAll('#messages li.msg')].map((e) => [e.textContent.includes('hey @Linker'), e.classList.contains('mention')])",
    );
    assert.deepEqual(marked, [[true, true], [false, false]]);
    await screenshot('mention');

    // Something else with the scheme is refused in words, and nothing changes.
    assert.equal(await secondStart('confab://leave?server=evil.example'), 0);
    await waitFor('the refusal', async () => (await texts('#banner'))[0]?.includes('not a Confab join link'));
    assert.equal(await isOpen('join-link'), false);
    await statusIs('Connected');
  });
});
