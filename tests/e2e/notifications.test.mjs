// Desktop notifications in the real webview, against a notification service of the tests' own on
// the private D-Bus session (fake-notifications.mjs): a private message while the window is away is
// notified with its sender and "(private)", and clicking the notification opens that conversation.
// Started by tests/e2e/run.sh.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fakeNotificationService } from './fake-notifications.mjs';
import { e2e, freePort, launchApp } from './support.mjs';

const { CONFAB_SERVER_BIN } = process.env;
const SHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
const WAIT = 20_000;

let driver;
const { startProcess, person, waitFor, screenshot, line, visible, join, cleanup } = e2e({
  wait: WAIT,
  driver: () => driver,
  shots: SHOTS,
});

describe('notifications', () => {
  let notifications;
  let url;

  before(async () => {
    notifications = await fakeNotificationService();
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    await startProcess(CONFAB_SERVER_BIN, ['--bind', '127.0.0.1', '--port', String(port)], /listening/);
    driver = await launchApp();
    await join(`127.0.0.1:${port}`, 'desk');
    await visible('#chat-screen');
    await line('desk has joined the chat');
  });

  after(async () => {
    await cleanup();
    notifications?.stop();
  });

  test('a private message while away is notified as private, and a click opens its conversation', async () => {
    const webby = await person(url, 'webby');
    await line('webby has joined the chat');
    // The window loses the focus, as when the user works in another one.
    await driver.executeScript("window.dispatchEvent(new Event('blur'))");
    webby.emit('message', { from: 'webby', message: 'just between us', to: 'desk' });
    const shown = await waitFor('the notification', async () => notifications.shown.find((n) => n.summary === 'webby (private)'));
    assert.equal(shown.appName, 'Confab');
    assert.equal(shown.body, 'just between us');
    assert.ok(shown.actions.includes('default'), `a click opens it: ${shown.actions}`);
    // Still in the room: the private line waits in its own conversation.
    const header = () => driver.executeScript("return document.getElementById('conversation-name')?.textContent ?? null");
    assert.equal(await header(), '');

    notifications.click(shown.id);
    await waitFor('the conversation with webby', async () => (await header()) === 'Private with webby');
    await line('just between us');
    await screenshot('notification-opened');

    // A room message notifies without "(private)", and its click goes back to the room.
    await driver.executeScript("window.dispatchEvent(new Event('blur'))");
    webby.emit('message', { from: 'webby', message: 'and now for everyone' });
    const room = await waitFor('the room notification', async () => notifications.shown.find((n) => n.body === 'and now for everyone'));
    assert.equal(room.summary, 'webby');
    notifications.click(room.id);
    await waitFor('the room', async () => (await header()) === '');
    await line('and now for everyone');
  });
});
