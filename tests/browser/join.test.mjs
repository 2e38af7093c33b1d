// The browser join page: a real headless Chromium opens the page the chat server serves at `/`,
// joins with the official socket.io client (ui/js/transport/socketio.js), and chats with another
// client; network text is shown as text; the server's limits and flood control are followed.

import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { session, stripIdTs } from "../js/support/client.mjs";
import { SCREENSHOTS, joinAs, lineTexts, openBrowser, openPage, say } from "./support.mjs";

test("a browser joins from the served page and chats both ways", { timeout: 60_000 }, async (t) => {
  const s = await session(t);
  const { page, problems } = await openBrowser(t);
  const peer = await s.join("peer");

  const response = await openPage(page, s.url);
  assert.match(response.headers()["content-security-policy"], /script-src 'self'/);
  // The page can only join the server that served it.
  assert.equal(await page.inputValue("#server"), s.url);
  assert.equal(await page.getAttribute("#server", "readonly"), "");

  await page.fill("#username", "webby");
  await page.click("#connect-button");
  await page.waitForSelector("#chat-screen:not([hidden])", { timeout: 10_000 });
  assert.deepEqual(stripIdTs(await peer.next("message")), { from: "Server", message: "webby has joined the chat", kind: "join", name: "webby" });

  // Browser → peer.
  await say(page, "hello from the browser");
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
  // The own line was confirmed by the server.
  await page.locator("#messages li.msg.own:not(.pending)", { hasText: "hello from the browser" }).waitFor({ timeout: 5_000 });

  await page.screenshot({ path: path.join(SCREENSHOTS, "browser-chat.png") });
  assert.deepEqual(problems, []);
});

test("the browser page reports a taken name and a wrong password in words", { timeout: 60_000 }, async (t) => {
  const s = await session(t, [], { env: { CONFAB_PASSWORD: "letmein" } });
  const { page } = await openBrowser(t);
  await openPage(page, s.url);
  await page.fill("#username", "someone");
  await page.fill("#password", "nope");
  await page.click("#connect-button");
  await page.locator("#connect-error:not([hidden])", { hasText: "Wrong password" }).waitFor({ timeout: 10_000 });

  await page.fill("#password", "letmein");
  await page.click("#connect-button");
  await page.waitForSelector("#chat-screen:not([hidden])", { timeout: 10_000 });
});

test("a name the protocol refuses is explained before connecting", { timeout: 60_000 }, async (t) => {
  const s = await session(t);
  const { page, problems } = await openBrowser(t);
  await openPage(page, s.url);
  const error = page.locator("#connect-error:not([hidden])");

  await page.fill("#username", "server");
  await page.click("#connect-button");
  await error.filter({ hasText: "“Server” is the name of the chat server itself." }).waitFor({ timeout: 5_000 });

  // 33 characters, 17 of them outside the BMP: counted as the server counts them.
  await page.fill("#username", `${"😀".repeat(17)}${"a".repeat(16)}`);
  await page.click("#connect-button");
  await error.filter({ hasText: "A name can be at most 32 characters." }).waitFor({ timeout: 5_000 });
  assert.equal(await page.isVisible("#connect-screen"), true);

  // 32 of them are fine.
  await page.fill("#username", `${"😀".repeat(16)}${"a".repeat(16)}`);
  await page.click("#connect-button");
  await page.waitForSelector("#chat-screen:not([hidden])", { timeout: 10_000 });
  assert.deepEqual(problems, []);
});

test("the counter and the send check follow the server's message limit", { timeout: 60_000 }, async (t) => {
  const s = await session(t, ["--max-message-chars", "50"]);
  const { page, problems } = await openBrowser(t);
  const peer = await s.join("peer");
  await joinAs(page, s.url, "webby");
  await peer.nextMatching("message", (m) => m.name === "webby", "webby's join");

  await page.fill("#input", "x".repeat(50));
  await page.locator("#counter", { hasText: /^50 \/ 50$/ }).waitFor({ timeout: 5_000 });
  assert.equal(await page.isEnabled("#send-button"), true);

  await page.fill("#input", "y".repeat(51));
  await page.locator("#counter.over", { hasText: "51 / 50 characters: 1 too many to send" }).waitFor({ timeout: 5_000 });
  assert.equal(await page.isDisabled("#send-button"), true);
  await page.press("#input", "Enter");
  // Nothing was sent: the text stays, no line appears, and the next message is the first the peer gets.
  assert.equal(await page.inputValue("#input"), "y".repeat(51));
  assert.equal(await page.locator("#messages li.msg.own").count(), 0);
  await say(page, "short");
  assert.deepEqual(stripIdTs(await peer.next("message")), { from: "webby", message: "short" });
  assert.deepEqual(problems, []);
});

test("a burst of 30 messages typed quickly all arrive in order, none refused", { timeout: 60_000 }, async (t) => {
  const s = await session(t);
  const { page, problems } = await openBrowser(t);
  const peer = await s.join("peer");
  // The server's answers to the page, to see that its flood control did push back.
  const rateLimited = [];
  page.on("websocket", (ws) => ws.on("framereceived", ({ payload }) => String(payload).includes("rate_limited") && rateLimited.push(payload)));
  await joinAs(page, s.url, "webby");
  await peer.nextMatching("message", (m) => m.name === "webby", "webby's join");

  const texts = Array.from({ length: 30 }, (_, i) => `burst ${i + 1}`);
  // Sent from inside the page, as fast as the UI takes them (faster than any typing).
  await page.evaluate((list) => {
    const input = document.getElementById("input");
    for (const text of list) {
      input.value = text;
      input.dispatchEvent(new Event("input"));
      input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }));
    }
  }, texts);

  const got = [];
  for (const _ of texts) got.push((await peer.next("message", 10_000)).message);
  assert.deepEqual(got, texts);
  await page.waitForFunction(() => !document.querySelector("#messages li.msg.own.pending"), null, { timeout: 10_000 });
  assert.equal(await page.locator("#messages li.msg.failed").count(), 0);
  assert.deepEqual((await lineTexts(page)).filter((text) => text.startsWith("burst ")), texts);
  assert.ok(rateLimited.length > 0, "30 at once exceed the burst of 20: the server refused some for a while");
  assert.deepEqual(problems, []);
});
