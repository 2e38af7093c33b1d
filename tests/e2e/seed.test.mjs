// The desktop app in the real webview against a seed-style server (tests/seed-server/server.mjs, a
// stand-in for the seed's own reference server: register answered only by a `register` event, the
// join line to the others only, messages relayed as sent without ids or acks, names never freed).
// The other person is the official JS socket.io client registering the seed way (no ack asked).
// Started by tests/e2e/run.sh, which provides the display, tauri-driver and the env variables.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { By, Key, until } from 'selenium-webdriver';
import { e2e, freePort, launchApp, tcpProxy } from './support.mjs';

const SHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
const WAIT = 15_000;
// The app retries a refused name for ~15 s after a reconnect (Timing::name_retry_window) before it
// asks for another; the prompt must be there within this long after the connection was cut.
const NAME_TAKEN_WAIT = 25_000;

let driver;
const { startSeedServer, person, received, waitFor, screenshot, line, visible, statusIs, sent, join, type, leave, cleanup } = e2e({
  wait: WAIT,
  driver: () => driver,
  shots: SHOTS,
});

/** A seed client: registers with a `register` event as the answer (socket.received collects messages). */
const seedPerson = (url, name) => person(url, name, { seed: true });

/** The sender shown on a chat line (an element from line()). */
const senderOf = async (element) => (await element.findElement(By.css('.from'))).getText();

describe('Confab desktop app against a seed-style server', () => {
  let seedPort;
  let seedUrl;
  let proxy;

  before(async () => {
    seedPort = await freePort();
    seedUrl = `http://127.0.0.1:${seedPort}`;
    await startSeedServer(seedPort);
    driver = await launchApp();
  });

  after(async () => {
    await proxy?.close();
    await cleanup();
  });

  test('joins, chats both ways with a seed client and sees it come and go', async () => {
    const started = Date.now();
    await join(`127.0.0.1:${seedPort}`, 'desk');
    await visible('#chat-screen');
    await statusIs('Connected');
    console.log(`joined the seed-style server in ${Date.now() - started} ms`);
    // The register answer came as an event: no "did not answer in time" (or any other) refusal.
    const connectError = await driver.findElement(By.id('connect-error'));
    assert.equal(await connectError.isDisplayed(), false);
    assert.doesNotMatch(await connectError.getAttribute('textContent'), /did not answer/);

    const seedy = await seedPerson(seedUrl, 'seedy');
    await line('seedy has joined the chat');

    seedy.emit('message', { from: 'seedy', message: 'hello from a seed client' });
    const incoming = await line('hello from a seed client');
    assert.equal(await senderOf(incoming), 'seedy');
    assert.doesNotMatch(await incoming.getAttribute('class'), /own/);

    await type('hello seed client');
    await type(Key.ENTER);
    const got = await received(seedy, 'hello seed client');
    assert.equal(got.from, 'desk');
    const own = await line('hello seed client');
    await sent(own);
    assert.match(await own.getAttribute('class'), /own/);
    await screenshot('seed-chat');

    seedy.close();
    await line('seedy left the chat');
  });

  test('after a reconnect finds its name held, asks for another and delivers what was typed meanwhile', async () => {
    await leave();
    proxy = await tcpProxy(seedPort);
    await join(`127.0.0.1:${proxy.port}`, 'ann');
    await visible('#chat-screen');
    await statusIs('Connected');
    // The other person talks to the seed server directly, so the cut does not touch it.
    const bob = await seedPerson(seedUrl, 'bob');
    await line('bob has joined the chat');
    const before = proxy.connections;

    // A network failure between the app and the server: the seed server sees "ann" leave but keeps
    // the name, so every reconnect of the app finds it taken.
    const cutAt = Date.now();
    await proxy.cut(300);
    await received(bob, 'ann left the chat');
    await statusIs('Reconnecting…');
    const text = 'typed while my name was held';
    await type(text);
    await type(Key.ENTER);
    const pending = await line(text);
    assert.match(await pending.getAttribute('class'), /pending/);

    const prompt = await driver.findElement(By.id('name-taken'));
    await waitFor('the name-taken prompt', () => prompt.isDisplayed(), NAME_TAKEN_WAIT);
    console.log(`name-taken prompt ${Date.now() - cutAt} ms after the cut, after ${proxy.connections - before} connections through the proxy`);
    assert.ok(proxy.connections > before, 'the app connected again through the proxy');
    await statusIs('Name taken');
    const explanation = await driver.findElement(By.id('name-taken-text')).getText();
    assert.match(explanation, /Your name “ann” is taken on this server/);
    assert.match(explanation, /Choose another name/);
    assert.match(explanation, /1 message will be sent once you are back in/);
    const nameField = await driver.findElement(By.id('rejoin-name'));
    assert.equal(await nameField.getAttribute('value'), 'ann');
    // Still pending, and nothing reached the room.
    assert.match(await pending.getAttribute('class'), /pending/);
    assert.equal(bob.received.some((m) => m.message === text), false);
    await screenshot('name-taken');

    await nameField.clear();
    await nameField.sendKeys('ann2');
    await driver.findElement(By.id('rejoin-button')).click();
    await waitFor('the name-taken prompt to close', async () => !(await prompt.isDisplayed()));
    await statusIs('Connected');
    await driver.wait(until.elementTextIs(driver.findElement(By.id('own-name')), 'ann2'), WAIT);
    await received(bob, 'ann2 has joined the chat');
    const got = await received(bob, text);
    assert.equal(got.from, 'ann2');
    await sent(pending);
    // Exactly once.
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(bob.received.filter((m) => m.message === text).length, 1);

    // Back in the chat both ways under the new name.
    bob.emit('message', { from: 'bob', message: 'welcome back ann2' });
    assert.equal(await senderOf(await line('welcome back ann2')), 'bob');
    assert.equal(await driver.findElement(By.id('banner')).isDisplayed(), false);
  });
});
