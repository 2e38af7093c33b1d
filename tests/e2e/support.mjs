// Helpers shared by the webview end-to-end tests (tests/e2e/*.test.mjs): free ports, child
// processes, the app session through tauri-driver, the official JS socket.io client as the other
// person, and waits and queries on the page. Not a test file itself (node --test skips it).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import { Builder, By, Capabilities, until } from 'selenium-webdriver';
import { io } from 'socket.io-client';

/** A port that is free on `host` right now. */
export function freePort(host = '127.0.0.1') {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, host, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts the app (CONFAB_APP_BIN) through tauri-driver (WEBDRIVER_URL); resolves the session. */
export function launchApp() {
  const { WEBDRIVER_URL, CONFAB_APP_BIN } = process.env;
  const capabilities = new Capabilities();
  capabilities.set('tauri:options', { application: CONFAB_APP_BIN });
  capabilities.setBrowserName('wry');
  return new Builder().usingServer(WEBDRIVER_URL).withCapabilities(capabilities).build();
}

/** Stops a child process (SIGTERM) and waits until it has exited; no-op when it is not running. */
export async function stopProcess(child) {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/**
 * The helpers bound to one test file's settings:
 *   wait    the bound of every wait here, in ms (each file keeps its own)
 *   driver  returns the file's current WebDriver session (its module-level `driver` variable)
 *   shots   the screenshots directory (ending in /); without it a timed-out waitFor takes none
 * `children` and `sockets` hold what was started, for cleanup().
 */
export function e2e({ wait, driver, shots }) {
  const children = new Set();
  const sockets = new Set();

  /** Starts a process and waits until its output matches `ready`; `name` is for the errors. */
  function startProcess(command, args, ready, name = command) {
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      children.add(child);
      let output = '';
      const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${output}`)), wait);
      const onData = (chunk) => {
        output += chunk;
        if (ready.test(output)) {
          clearTimeout(timer);
          resolve(child);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('exit', (code) => {
        children.delete(child);
        clearTimeout(timer);
        reject(new Error(`${name} exited with ${code}:\n${output}`));
      });
    });
  }

  /**
   * The other person: the official JS client, registered under `name`. Received messages collect
   * in socket.received; with `history`, the history sent on joining too; with `gone`,
   * socket.gone resolves on disconnect.
   */
  async function person(url, name, { history = false, gone = false } = {}) {
    const socket = io(url, { transports: ['websocket'], reconnection: false });
    sockets.add(socket);
    socket.received = [];
    socket.on('message', (m) => socket.received.push(m));
    if (history) socket.on('history', (list) => socket.received.push(...list));
    if (gone) socket.gone = new Promise((resolve) => socket.on('disconnect', resolve));
    await new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    const ok = await socket.timeout(wait).emitWithAck('register', name);
    assert.equal(ok, true, `register ${name}`);
    return socket;
  }

  async function screenshot(name) {
    await writeFile(`${shots}${name}.png`, await driver().takeScreenshot(), 'base64');
  }

  /** Polls `check` until it returns something truthy (returned); fails after `wait`. */
  async function waitFor(what, check) {
    const deadline = Date.now() + wait;
    for (;;) {
      const value = await check();
      if (value) return value;
      if (Date.now() > deadline) {
        if (shots) await screenshot(`failed-${Date.now()}`).catch(() => {});
        throw new Error(`timed out waiting for ${what}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** textContent of every element matching css (independent of layout, unlike getText). */
  const texts = (css) => driver().executeScript('return [...document.querySelectorAll(arguments[0])].map((e) => e.textContent)', css);
  /** The newest chat line containing `text`, found in the page (one round trip, however long the chat). */
  const line = (text) =>
    waitFor(`a line with ${JSON.stringify(text)}`, () =>
      driver().executeScript(
        "return [...document.querySelectorAll('#messages li')].reverse().find((e) => e.textContent.includes(arguments[0])) ?? null",
        text,
      ),
    );
  const visible = (css) => driver().wait(until.elementIsVisible(driver().findElement(By.css(css))), wait);

  /** Closes the JS clients, quits the app session, stops the started processes. */
  async function cleanup() {
    for (const socket of sockets) socket.close();
    const session = driver();
    if (session) await session.quit().catch(() => {});
    for (const child of children) await stopProcess(child);
  }

  return { children, sockets, startProcess, stopProcess, person, screenshot, waitFor, texts, line, visible, cleanup };
}
