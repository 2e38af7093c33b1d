// The browser join page: a real headless Chromium opens the page the chat server serves at `/`,
// joins with the official socket.io client (ui/js/transport/socketio.js), and chats with another
// client; network text is shown as text.

import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { chromium } from "playwright-core";
import { session, stripIdTs } from "../js/support/client.mjs";
import { REPO_ROOT } from "../js/support/server.mjs";

const CHROMIUM = process.env.CHROMIUM_BIN || "/usr/bin/chromium";
const SCREENSHOTS = path.join(REPO_ROOT, "tests/browser/screenshots");

async function openBrowser(t) {
  // Playwright gives the browser a fresh temporary profile of its own.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    // This machine has no network but loopback: keep Chromium from reaching out on its own.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
  return { page, problems };
}

test("a browser joins from the served page and chats both ways", { timeout: 60_000 }, async (t) => {
  const s = await session(t);
  const { page, problems } = await openBrowser(t);
  const peer = await s.join("peer");

  const response = await page.goto(s.url + "/");
  assert.match(response.headers()["content-security-policy"], /script-src 'self'/);
  // The page can only join the server that served it (and is wired once the field is read-only).
  await page.waitForSelector("#server[readonly]", { timeout: 10_000 });
  assert.equal(await page.inputValue("#server"), s.url);
  assert.equal(await page.getAttribute("#server", "readonly"), "");

  await page.fill("#username", "webby");
  await page.click("#connect-button");
  await page.waitForSelector("#chat-screen:not([hidden])", { timeout: 10_000 });
  assert.deepEqual(stripIdTs(await peer.next("message")), { from: "Server", message: "webby has joined the chat", kind: "join", name: "webby" });

  // Browser → peer.
  await page.fill("#input", "hello from the browser");
  await page.press("#input", "Enter");
  assert.deepEqual(stripIdTs(await peer.next("message")), { from: "webby", message: "hello from the browser" });

  // Peer → browser, with an XSS payload that must stay text.
  const xss = '<img src=x onerror="window.__pwned=1">';
  peer.socket.emit("message", { from: "peer", message: xss });
  const line = page.locator("#messages li", { hasText: xss });
  await line.waitFor({ timeout: 10_000 });
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(await page.locator("#messages img").count(), 0);
  // Presence from the server's extensions.
  await page.locator("#people-list", { hasText: "peer" }).waitFor({ timeout: 5_000 });

  await page.screenshot({ path: path.join(SCREENSHOTS, "browser-chat.png") });
  assert.deepEqual(problems, []);
});

test("the browser page reports a taken name and a wrong password in words", { timeout: 60_000 }, async (t) => {
  const s = await session(t, [], { env: { CONFAB_PASSWORD: "letmein" } });
  const { page } = await openBrowser(t);
  await page.goto(s.url + "/");
  // The app is wired once its transport is loaded (the server field turns read-only then): a click
  // before that would submit the bare form.
  await page.waitForSelector("#server[readonly]", { timeout: 10_000 });
  await page.fill("#username", "someone");
  await page.fill("#password", "nope");
  await page.click("#connect-button");
  await page.locator("#connect-error:not([hidden])", { hasText: "Wrong password" }).waitFor({ timeout: 10_000 });

  await page.fill("#password", "letmein");
  await page.click("#connect-button");
  await page.waitForSelector("#chat-screen:not([hidden])", { timeout: 10_000 });
});
