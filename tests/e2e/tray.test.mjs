// The tray icon and closing to the tray, in the real app, against a tray of the tests' own on the
// private D-Bus session (fake-tray.mjs, as a desktop panel): the menu shows Open, the connection
// state and Quit; closing the window while in a chat hides it and Confab keeps running and
// notifying; Open brings the window back and Quit really quits. Started by tests/e2e/run.sh.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fakeNotificationService } from './fake-notifications.mjs';
import { fakeTray } from './fake-tray.mjs';
import { appPid, e2e, freePort, launchApp } from './support.mjs';

const { CONFAB_SERVER_BIN } = process.env;
const SHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
const CLOSE_WINDOW = fileURLToPath(new URL('./close-window.py', import.meta.url));
const WAIT = 20_000;

let driver;
const { startProcess, person, received, waitFor, screenshot, line, visible, join, cleanup } = e2e({
  wait: WAIT,
  driver: () => driver,
  shots: SHOTS,
});

/** The app's X windows that are shown (mapped and viewable): none while it is in the tray. */
function shownWindows() {
  try {
    return execFileSync('xdotool', ['search', '--onlyvisible', '--class', 'confab'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return []; // xdotool exits 1 when nothing matches
  }
}

describe('tray', () => {
  let tray;
  let notifications;
  let url;
  let where;

  before(async () => {
    tray = await fakeTray();
    notifications = await fakeNotificationService();
    const port = await freePort();
    where = `127.0.0.1:${port}`;
    url = `http://${where}`;
    await startProcess(CONFAB_SERVER_BIN, ['--bind', '127.0.0.1', '--port', String(port)], /listening/);
    driver = await launchApp();
  });

  after(async () => {
    await cleanup();
    tray?.stop();
    notifications?.stop();
  });

  const labels = async () => (await tray.menu()).filter((entry) => entry.type !== 'separator').map((entry) => entry.label);

  test('the tray menu offers Open, the connection state and Quit', async () => {
    await waitFor('the tray icon', async () => tray.item());
    await waitFor('the menu', async () => (await labels()).length === 3);
    const entries = await tray.menu();
    assert.deepEqual(await labels(), ['Open Confab', 'Not connected', 'Quit']);
    assert.equal(entries.find((e) => e.label === 'Not connected').enabled, false, 'the state is not a button');
    assert.ok(entries.some((e) => e.type === 'separator'), 'Quit stands apart');

    await join(where, 'desk');
    await visible('#chat-screen');
    await line('desk has joined the chat');
    // The chat by its name, as in the header (a server without --chat-name is "Confab chat").
    assert.equal(await driver.executeScript("return document.getElementById('chat-title').textContent"), 'Confab chat');
    await waitFor('the connection in the menu', async () => (await labels())[1] === 'Connected to Confab chat');
  });

  test('closing the window while in a chat keeps Confab in the tray, still notifying', async () => {
    const windows = shownWindows();
    assert.ok(windows.length > 0, 'the window is shown');
    execFileSync('python3', [CLOSE_WINDOW, ...windows]);
    await waitFor('the window hidden', async () => shownWindows().length === 0);
    assert.ok(await appPid(), 'Confab still runs');

    const webby = await person(url, 'webby');
    webby.emit('message', { from: 'webby', message: 'are you there?' });
    const shown = await waitFor('the notification', async () => notifications.shown.find((n) => n.body === 'are you there?'));
    assert.equal(shown.summary, 'webby');
    // Still in the chat: it answers, from the hidden window.
    assert.equal(await driver.executeScript("return document.getElementById('status').dataset.state"), 'connected');
    await line('are you there?');
    await waitFor('the menu still connected', async () => (await labels())[1] === 'Connected to Confab chat');
  });

  test('Open brings the window back and Quit really quits', async () => {
    await tray.click('Open Confab');
    await waitFor('the window shown', async () => shownWindows().length > 0);
    await line('are you there?');
    await screenshot('tray-reopened');

    const webby = await person(url, 'webby2');
    await line('webby2 has joined the chat');
    await tray.click('Quit');
    await waitFor('Confab gone', async () => (await appPid()) === null);
    // It left the chat properly: the others are told.
    await received(webby, 'desk left the chat');
  });

  test('outside a chat, closing the window quits', async () => {
    await driver.quit().catch(() => {}); // the session of the app that quit
    driver = await launchApp();
    await visible('#connect-screen');
    await waitFor('the window shown', async () => shownWindows().length > 0);
    execFileSync('python3', [CLOSE_WINDOW, ...shownWindows()]);
    await waitFor('Confab gone', async () => (await appPid()) === null);
  });
});
