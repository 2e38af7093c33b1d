// Files and images in the desktop app, in the real webview (WebKitGTK via tauri-driver), against the
// real server, with the official JS socket.io client (and Node's fetch for HTTP) as the other person:
// an image dropped on the window goes up through Rust and shows as a thumbnail (a data: URL), opened
// larger on click; a file attached with the button arrives byte for byte; a file over the limit is
// refused in words; a file someone sent is saved through the system's save dialog (GTK, driven with
// xdotool on the test display) byte for byte (PROTOCOL.md §2.11). Started by tests/e2e/run.sh.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { By } from 'selenium-webdriver';
import { io } from 'socket.io-client';
import { png } from '../browser/files-support.mjs';
import { e2e, freePort, launchApp } from './support.mjs';

const { CONFAB_SERVER_BIN } = process.env;
const SHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
const WAIT = 20_000;

let driver;
const { startProcess, waitFor, screenshot, line, visible, join, cleanup, sockets } = e2e({ wait: WAIT, driver: () => driver, shots: SHOTS });

/** The other person, who also keeps the files token the server gives after register. */
async function personWithFiles(url, name) {
  const socket = io(url, { transports: ['websocket'], reconnection: false });
  sockets.add(socket);
  socket.received = [];
  socket.on('message', (m) => socket.received.push(m));
  const offer = new Promise((resolve) => socket.once('files', resolve));
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('connect_error', reject));
  assert.equal(await socket.timeout(WAIT).emitWithAck('register', name), true);
  socket.files = await offer;
  return socket;
}

/** Waits until the JS client got a message carrying a file named `name`. */
const receivedFile = (socket, name) =>
  waitFor(`a file ${name} at the JS client`, () => socket.received.find((m) => m.attachment?.name === name));

/** Drops `bytes` as a file named `name` on the chat window, as a drag from the file manager does. */
function dropFile(name, type, bytes) {
  return driver.executeScript(
    `const [name, type, base64] = arguments;
     const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
     const data = new DataTransfer();
     data.items.add(new File([bytes], name, { type }));
     const target = document.getElementById('messages');
     for (const kind of ['dragenter', 'dragover', 'drop']) {
       target.dispatchEvent(new DragEvent(kind, { bubbles: true, cancelable: true, dataTransfer: data }));
     }`,
    name,
    type,
    Buffer.from(bytes).toString('base64'),
  );
}

/** The X window ids (xdotool) whose name matches, of the windows shown (a closed dialog's may linger). */
const windows = (name) => {
  try {
    return execFileSync('xdotool', ['search', '--onlyvisible', '--name', name], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

describe('files and images in the desktop app', () => {
  let url;
  let web;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'confab-e2e-files-'));

  before(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    await startProcess(CONFAB_SERVER_BIN, ['--bind', '127.0.0.1', '--port', String(port), '--max-file-mb', '5'], /listening/);
    driver = await launchApp();
    await join(`127.0.0.1:${port}`, 'desk');
    await visible('#chat-screen');
    await line('desk has joined the chat');
    web = await personWithFiles(url, 'webby');
    await line('webby has joined the chat');
    await visible('#attach-button');
  });

  after(async () => {
    await cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an image dropped on the window shows as a thumbnail and opens larger', async () => {
    await dropFile('sunset.png', 'image/png', png(640, 400));
    const got = await receivedFile(web, 'sunset.png');
    assert.deepEqual([got.attachment.width, got.attachment.height], [640, 400]);
    // The thumbnail comes through Rust as a data: URL (the CSP allows no other images).
    const shown = await waitFor('the thumbnail loaded', () =>
      driver.executeScript(
        `const img = document.querySelector('#messages li.own .thumb img');
         return img && img.complete && img.naturalWidth > 0 ? [img.src.slice(0, 22), img.naturalWidth, img.naturalHeight] : null;`,
      ),
    );
    assert.deepEqual(shown, ['data:image/png;base64,', 320, 200]);
    // Shown at its own size, not squeezed by the line around it (which sizes to its content).
    const drawn = await driver.executeScript(
      "const r = document.querySelector('#messages li.own .thumb img').getBoundingClientRect(); return [r.width, r.height];",
    );
    assert.deepEqual(drawn, [320, 200]);
    await screenshot('files-thumbnail');
    await driver.findElement(By.css('#messages li.own .thumb')).click();
    const large = await waitFor('the image opened larger', () =>
      driver.executeScript(`const img = document.getElementById('image-view-img'); return img.naturalWidth > 0 ? img.naturalWidth : null;`),
    );
    assert.equal(large, 640, 'the image itself, not its thumbnail');
    await screenshot('files-image-view');
    await driver.findElement(By.id('image-view-close')).click();
  });

  test('a file attached with the button arrives byte for byte', async () => {
    const bytes = crypto.randomBytes(2 * 1024 * 1024 + 5);
    const file = path.join(dir, 'notes & data.bin');
    writeFileSync(file, bytes);
    // The Attach button opens this input's file chooser; WebDriver sets the file on it directly.
    await driver.executeScript("document.getElementById('attach-input').hidden = false");
    await driver.findElement(By.id('attach-input')).sendKeys(file);
    await driver.executeScript("document.getElementById('attach-input').hidden = true");
    const got = await receivedFile(web, 'notes & data.bin');
    const response = await fetch(new URL(got.attachment.url, url), { headers: { Authorization: `Bearer ${web.files.token}` } });
    assert.equal(response.status, 200);
    assert.ok(Buffer.from(await response.arrayBuffer()).equals(bytes), 'the server has exactly the file');
    const own = await line('notes & data.bin');
    await waitFor('the own line delivered', async () => !(await own.getAttribute('class')).includes('pending'));
  });

  test('a file over the server limit is refused in words before it is sent', async () => {
    const before = web.received.length;
    await dropFile('huge.iso', 'application/octet-stream', Buffer.alloc(6 * 1000 * 1000));
    const banner = await visible('#banner');
    await waitFor('the refusal in words', async () => /“huge\.iso” is 5\.7 MB: files can be at most [\d.]+ MB in this chat\./.test(await banner.getText()));
    assert.equal(await driver.findElement(By.id('uploads')).isDisplayed(), false, 'no upload started');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(web.received.length, before, 'nothing was sent');
  });

  test('a file someone sent is saved through the system save dialog, byte for byte', async () => {
    const bytes = crypto.randomBytes(700 * 1024);
    const upload = await fetch(new URL(web.files.upload, url), {
      method: 'POST',
      headers: { Authorization: `Bearer ${web.files.token}`, 'Content-Type': 'application/pdf', 'X-Confab-File-Name': encodeURIComponent('minutes.pdf') },
      body: bytes,
    });
    assert.equal(upload.status, 201);
    const stored = await upload.json();
    const ack = await web.timeout(WAIT).emitWithAck('message', { message: 'the minutes', attachment: stored.id });
    assert.equal(ack.attachment.id, stored.id);
    await line('the minutes');
    await driver.findElement(By.xpath("//li[contains(., 'minutes.pdf')]//button[contains(@class, 'save')]")).click();
    // The real GTK save dialog opens on the test display, in Downloads with the file's name filled in:
    // type a full path over the name and press Enter, as a person would.
    const dialog = await waitFor('the save dialog', () => windows('^Save File$')[0], WAIT);
    const target = path.join(dir, 'saved minutes.pdf');
    await new Promise((r) => setTimeout(r, 800)); // the dialog maps and focuses its name field
    execFileSync('xdotool', ['windowfocus', '--sync', dialog]);
    execFileSync('xdotool', ['key', 'ctrl+a']);
    execFileSync('xdotool', ['type', '--delay', '20', target]);
    await screenshot('files-save-dialog');
    execFileSync('xdotool', ['key', 'Return']);
    await waitFor('the saved file', () => existsSync(target) && readFileSync(target).length === bytes.length, WAIT);
    assert.ok(readFileSync(target).equals(bytes), 'saved byte for byte');
    assert.ok(!existsSync(`${target}.part`), 'nothing left beside it');
    const banner = await visible('#banner');
    await waitFor('saying where', async () => (await banner.getText()).includes(`Saved “minutes.pdf” to ${target}.`));
    await screenshot('files-saved');

    // Saved again with what the dialog proposes (Enter alone): the file's own name, in Downloads.
    await driver.findElement(By.xpath("//li[contains(., 'minutes.pdf')]//button[contains(@class, 'save')]")).click();
    const again = await waitFor('the save dialog again', () => windows('^Save File$')[0], WAIT);
    await new Promise((r) => setTimeout(r, 800));
    execFileSync('xdotool', ['windowfocus', '--sync', again]);
    execFileSync('xdotool', ['key', 'Return']);
    const proposed = path.join(process.env.E2E_DOWNLOADS, 'minutes.pdf');
    await waitFor('the file in Downloads', () => existsSync(proposed) && readFileSync(proposed).length === bytes.length, WAIT);
    assert.ok(readFileSync(proposed).equals(bytes), 'saved byte for byte');
  });
});
