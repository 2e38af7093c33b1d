// Helpers shared by the webview end-to-end tests (tests/e2e/*.test.mjs): free ports, child
// processes (our server's binary is the test's business; the seed-style server is started here), a
// TCP proxy that can cut the app off, the app session through tauri-driver, the official JS
// socket.io client as the other person (confab-style or seed-style register), and waits, queries and
// actions on the page. Not a test file itself (node --test skips it).
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readdir, readlink } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Builder, By, Capabilities, Key, until } from 'selenium-webdriver';
import { io } from 'socket.io-client';

/** The stand-in for the seed's reference server (tests/seed-server/server.mjs). */
/** A fingerprint (`AB:CD:…`) in groups of four, as the app shows it. */
export const grouped = (fingerprint) => fingerprint.replace(/:/g, '').match(/.{4}/g).join(' ');
/** As a fingerprint is laid out in the app: two lines of 8 groups. */
export const twoLines = (fingerprint) => [grouped(fingerprint).slice(0, 39), grouped(fingerprint).slice(40)];

const execFileAsync = promisify(execFile);

export const SEED_SERVER = fileURLToPath(new URL('../seed-server/server.mjs', import.meta.url));

/** A port that is free on `host` right now. */
export function freePort(host = '127.0.0.1') {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, host, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * The certificate the https server at `url` presents, accepted whatever it is (only to look at it):
 * { fingerprint: 'AB:CD:…' (SHA-256, as the server prints it), pem }.
 */
export function presentedCertificate(url) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || 443), rejectUnauthorized: false }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve({ fingerprint: cert.fingerprint256, pem: new X509Certificate(cert.raw).toString() });
    });
    socket.once('error', reject);
  });
}

/**
 * socket.io-client options that trust exactly the certificate with this fingerprint (as the app
 * pins one): the certificate presented is checked against it, made the only trust anchor, and
 * checked again on the real connection.
 */
export async function pinnedTls(url, fingerprint) {
  const { fingerprint: presented, pem } = await presentedCertificate(url);
  assert.equal(presented, fingerprint, `${url} presents the certificate the host shows`);
  return {
    ca: pem,
    checkServerIdentity: (_host, cert) =>
      cert.fingerprint256 === fingerprint ? undefined : new Error(`another certificate: ${cert.fingerprint256}`),
  };
}

/** The pid of the running app (CONFAB_APP_BIN; tests run one app at a time), or null. */
export async function appPid() {
  for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
    if ((await readlink(`/proc/${pid}/exe`).catch(() => '')) === process.env.CONFAB_APP_BIN) return Number(pid);
  }
  return null;
}

/** Starts the app (CONFAB_APP_BIN) through tauri-driver (WEBDRIVER_URL); resolves the session. */
export function launchApp() {
  const { WEBDRIVER_URL, CONFAB_APP_BIN } = process.env;
  const capabilities = new Capabilities();
  capabilities.set('tauri:options', { application: CONFAB_APP_BIN });
  capabilities.setBrowserName('wry');
  return new Builder().usingServer(WEBDRIVER_URL).withCapabilities(capabilities).build();
}

/**
 * A TCP proxy on 127.0.0.1 to `targetPort` (node:net), to cut whoever connects through it off the
 * server without the server going away. proxy.port is where to connect; proxy.cut(refuseMs) drops
 * every open connection at once (both sides destroyed, like a network failure) and refuses new ones
 * for refuseMs (the port is closed) before letting them through again; proxy.close() stops it.
 * proxy.connections counts the connections it has accepted.
 */
export async function tcpProxy(targetPort) {
  const open = new Set();
  const proxy = { port: 0, connections: 0 };
  const server = net.createServer((client) => {
    proxy.connections += 1;
    const upstream = net.connect(targetPort, '127.0.0.1');
    open.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const listen = (port) =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve(server.address().port);
      });
    });
  const stopListening = () => new Promise((resolve) => server.close(() => resolve()));
  proxy.port = await listen(0);
  proxy.cut = async (refuseMs) => {
    const closed = stopListening(); // resolves once the dropped connections are gone too
    for (const socket of open) socket.destroy();
    open.clear();
    await closed;
    await new Promise((r) => setTimeout(r, refuseMs));
    await listen(proxy.port);
  };
  proxy.close = async () => {
    for (const socket of open) socket.destroy();
    open.clear();
    if (server.listening) await stopListening();
  };
  return proxy;
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

  /**
   * Starts a process and waits until its output matches `ready`; `name` is for the errors, `env`
   * is added to this process's environment. child.output holds what it printed so far.
   */
  function startProcess(command, args, ready, name = command, env = {}) {
    return new Promise((resolve, reject) => {
      // Our server keeps its chat log in memory here: servers run side by side and leave nothing behind.
      const argv = command === process.env.CONFAB_SERVER_BIN ? [...args, '--ephemeral'] : args;
      const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
      children.add(child);
      let output = '';
      const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${output}`)), wait);
      const onData = (chunk) => {
        output += chunk;
        child.output = output;
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

  /** The seed-style server (tests/seed-server/server.mjs) on 127.0.0.1:port. */
  const startSeedServer = (port) => startProcess('node', [SEED_SERVER, String(port)], /listening \d+/, 'seed server');

  /**
   * The other person: the official JS client, registered under `name`. Received messages collect
   * in socket.received; with `history`, the history sent on joining too; with `gone`,
   * socket.gone resolves on disconnect. With `seed`, it registers as a seed client does: no ack
   * asked, the answer is the server's `register` event. `password`: the room password.
   * `fingerprint`: an https server's certificate, trusted exactly (pinnedTls).
   */
  async function person(url, name, { history = false, gone = false, seed = false, password, fingerprint } = {}) {
    const pinned = fingerprint ? await pinnedTls(url, fingerprint) : {};
    const socket = io(url, { transports: ['websocket'], reconnection: false, auth: password ? { password } : {}, ...pinned });
    sockets.add(socket);
    socket.received = [];
    socket.on('message', (m) => socket.received.push(m));
    if (history) socket.on('history', (list) => socket.received.push(...list));
    if (gone) socket.gone = new Promise((resolve) => socket.on('disconnect', resolve));
    await new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    const ok = seed ? await registerSeedStyle(socket, name) : await socket.timeout(wait).emitWithAck('register', name);
    assert.equal(ok, true, `register ${name}`);
    return socket;
  }

  /** `register` without a callback; resolves the boolean of the `register` event that answers it. */
  function registerSeedStyle(socket, name) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no register event for ${name} within ${wait} ms`)), wait);
      socket.once('register', (ok) => {
        clearTimeout(timer);
        resolve(ok);
      });
      socket.emit('register', name);
    });
  }

  /** Waits until the JS client `socket` has received a message with this text; resolves it. */
  const received = (socket, text) =>
    waitFor(`JS client to receive ${JSON.stringify(text)}`, () => socket.received.find((m) => m.message === text));

  // The X display's own picture (ImageMagick's import): WebKitWebDriver's screenshot waits for a
  // presentation update that can take a minute, or never come, while a modal <dialog> is open.
  async function screenshot(name) {
    await execFileAsync('import', ['-window', 'root', `${shots}${name}.png`], { timeout: 10_000 });
  }

  /** Polls `check` until it returns something truthy (returned); fails after `ms` (default `wait`). */
  async function waitFor(what, check, ms = wait) {
    const deadline = Date.now() + ms;
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
  /** The lines of the fingerprint shown in the element with this id: its parts, each laid out below the last. */
  const printShown = (id) =>
    driver().executeScript(
      `const parts = [...document.getElementById(arguments[0]).children];
       const below = parts.every((p, i) => i === 0 || p.getBoundingClientRect().top >= parts[i - 1].getBoundingClientRect().bottom);
       return below ? parts.map((p) => p.textContent) : 'not one below the other: ' + parts.map((p) => p.textContent).join(' | ');`,
      id,
    );
  /** Waits until the connection status in the chat's top bar reads `text`. */
  const statusIs = (text) => driver().wait(until.elementTextIs(driver().findElement(By.id('status-text')), text), wait);
  /** Waits until a chat line (an element from line()) is no longer pending. */
  const sent = (element) => driver().wait(async () => !(await element.getAttribute('class')).includes('pending'), wait);

  /** Fills in the connect screen and submits it, keyboard only (Enter in the last field). */
  async function join(server, name, password = '') {
    await visible('#connect-screen');
    for (const [id, value] of [['server', server], ['username', name], ['password', password]]) {
      const field = await driver().findElement(By.id(id));
      await field.clear();
      if (value) await field.sendKeys(value);
    }
    await driver().findElement(By.id('password')).sendKeys(Key.ENTER);
  }

  /** Types into the message field (Key.ENTER sends). */
  const type = async (text) => (await driver().findElement(By.id('input'))).sendKeys(text);

  /** Scrolls `element` into the window, as a person would before clicking it (WebKitWebDriver does
   *  not: a click below the fold fails as "not interactable"). */
  const reveal = (element) => driver().executeScript("arguments[0].scrollIntoView({ block: 'center' })", element);

  /** Leaves the chat and waits for the connect screen. */
  async function leave() {
    await driver().findElement(By.id('leave-button')).click();
    await visible('#connect-screen');
  }

  /** Closes the JS clients, quits the app session, stops the started processes. */
  async function cleanup() {
    for (const socket of sockets) socket.close();
    const session = driver();
    if (session) await session.quit().catch(() => {});
    for (const child of children) await stopProcess(child);
  }

  return {
    children, sockets, startProcess, startSeedServer, stopProcess, person, received, screenshot, waitFor, texts, line, visible, reveal,
    printShown, statusIs, sent, join, type, leave, cleanup,
  };
}
