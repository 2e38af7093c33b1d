// The browser page across lost connections: a relay between Chromium and the real server cuts or
// holds the page's connections. Catching up after a server restart, pending messages sent once, a
// lost ack settled by the history, and a name still held by the old connection (retried, then asked for).

import assert from "node:assert/strict";
import { test } from "node:test";
import { session, stripIdTs } from "../js/support/client.mjs";
import { joinAs, lineTexts, openBrowser, relay, say } from "./support.mjs";

// socket.io's backoff grows to 8 s between attempts (with jitter).
const RECONNECT_MS = 20_000;

const status = (page, state) => page.locator(`#status[data-state="${state}"]`).waitFor({ timeout: RECONNECT_MS });

test("after a server restart whose ids caught up, the page shows every message of the new run", { timeout: 90_000 }, async (t) => {
  const first = await session(t);
  const { page, problems } = await openBrowser(t);
  const r = await relay(t, first.server.port);
  await joinAs(page, r.url, "webby");
  const peer = await first.join("peer");
  await peer.send({ message: "old 1" }); // ids so far: webby's join 1, peer's join 2, this 3
  await page.locator("#messages li", { hasText: "old 1" }).waitFor({ timeout: 5_000 });

  r.refuse(true);
  r.cut();
  await status(page, "reconnecting");
  await say(page, "typed offline");
  await page.locator("#messages li.msg.own.pending", { hasText: "typed offline" }).waitFor({ timeout: 5_000 });
  await first.server.stop();

  // A new run numbers from 1 again: its history [2, 3, 4] overlaps the ids the page has seen.
  const second = await session(t);
  const peer2 = await second.join("peer2");
  for (const message of ["new a", "new b", "new c"]) await peer2.send({ message });
  r.target = second.server.port;
  r.refuse(false);

  await status(page, "connected");
  await page.locator("#messages li", { hasText: "new c" }).waitFor({ timeout: 5_000 });
  const texts = await lineTexts(page);
  assert.deepEqual(texts.filter((text) => /^(old|new) /.test(text)), ["old 1", "new a", "new b", "new c"]);
  // What was typed offline reaches the new run once.
  const got = await peer2.nextMatching("message", (m) => m.from === "webby", "webby's message");
  assert.deepEqual(stripIdTs(got), { from: "webby", message: "typed offline" });
  await page.locator("#messages li.msg.own:not(.pending)", { hasText: "typed offline" }).waitFor({ timeout: 5_000 });
  await peer2.send({ message: "after" });
  await page.locator("#messages li", { hasText: "after" }).waitFor({ timeout: 5_000 });
  assert.deepEqual(peer2.pending("message").filter((m) => m.from === "webby"), [], "sent exactly once");
  assert.deepEqual(problems, []);
});

test("a message whose ack was lost with the connection is settled by the history, not sent twice", { timeout: 60_000 }, async (t) => {
  const s = await session(t);
  const { page, problems } = await openBrowser(t);
  const r = await relay(t, s.server.port);
  const peer = await s.join("peer");
  await joinAs(page, r.url, "webby");
  await peer.nextMatching("message", (m) => m.name === "webby", "webby's join");

  r.deafen();
  await say(page, "hi once");
  assert.deepEqual(stripIdTs(await peer.nextMatching("message", (m) => m.from === "webby", "webby's message")), { from: "webby", message: "hi once" });
  // No ack reaches the page: it reconnects, and the history shows the server has the message.
  await page.locator("#messages li.msg.own:not(.pending)", { hasText: "hi once" }).waitFor({ timeout: RECONNECT_MS });
  await status(page, "connected");
  await peer.send({ message: "after" });
  await page.locator("#messages li", { hasText: "after" }).waitFor({ timeout: 5_000 });
  assert.deepEqual(peer.pending("message").filter((m) => m.from === "webby"), [], "not sent a second time");
  assert.equal((await lineTexts(page)).filter((text) => text === "hi once").length, 1);
  assert.deepEqual(problems, []);
});

// The server must not notice on its own that the held connection is gone.
const SLOW_PINGS = ["--ping-interval", "60", "--ping-timeout", "60"];

test("a name still held by the old connection is asked for again until the server frees it", { timeout: 60_000 }, async (t) => {
  const s = await session(t, SLOW_PINGS);
  const { page, problems } = await openBrowser(t);
  const r = await relay(t, s.server.port);
  const peer = await s.join("peer");
  await joinAs(page, r.url, "webby");
  await peer.nextMatching("message", (m) => m.name === "webby", "webby's join");

  r.hold();
  await say(page, "while held");
  await page.locator("#banner:not([hidden])", { hasText: "still holds the name “webby”" }).waitFor({ timeout: RECONNECT_MS });
  r.release();
  assert.deepEqual(stripIdTs(await peer.nextMatching("message", (m) => m.kind === "leave", "the old connection's leave")), {
    from: "Server", message: "webby left the chat", kind: "leave", name: "webby",
  });

  await status(page, "connected");
  assert.deepEqual(stripIdTs(await peer.nextMatching("message", (m) => m.from === "webby", "the held message")), { from: "webby", message: "while held" });
  assert.equal(await page.textContent("#own-name"), "webby");
  assert.equal(await page.isVisible("#name-taken"), false);
  assert.deepEqual(problems, []);
});

test("a name held for longer is explained, and a rejoin under another name sends what is pending", { timeout: 90_000 }, async (t) => {
  const s = await session(t, SLOW_PINGS);
  const { page, problems } = await openBrowser(t);
  const r = await relay(t, s.server.port);
  const peer = await s.join("peer");
  await joinAs(page, r.url, "webby");
  await peer.nextMatching("message", (m) => m.name === "webby", "webby's join");

  r.hold();
  await say(page, "while away");
  // The page retries the name for 15 s, then stops and asks.
  const panel = page.locator("#name-taken:not([hidden])");
  await panel.waitFor({ timeout: 30_000 });
  assert.equal(await page.textContent("#name-taken-text"),
    "Your name “webby” is taken on this server now — probably by your previous connection. Choose another name to go on, or try again. 1 message will be sent once you are back in.");
  assert.equal(await page.inputValue("#rejoin-name"), "webby");
  assert.equal(await page.textContent("#status-text"), "Name taken");
  assert.equal(await page.locator("#messages li.msg.own.pending", { hasText: "while away" }).count(), 1);

  // Trying again while the server still holds it: refused, in words; the panel stays.
  await page.click("#rejoin-button");
  await page.locator("#rejoin-error:not([hidden])", { hasText: "taken or not allowed" }).waitFor({ timeout: 10_000 });
  assert.equal(await panel.count(), 1);

  await page.fill("#rejoin-name", "webby2");
  await page.click("#rejoin-button");
  await panel.waitFor({ state: "detached", timeout: 10_000 }).catch(() => {});
  await page.locator("#name-taken[hidden]").waitFor({ state: "attached", timeout: 10_000 });
  await status(page, "connected");
  assert.equal(await page.textContent("#own-name"), "webby2");
  assert.deepEqual(stripIdTs(await peer.nextMatching("message", (m) => m.name === "webby2", "webby2's join")), {
    from: "Server", message: "webby2 has joined the chat", kind: "join", name: "webby2",
  });
  assert.deepEqual(stripIdTs(await peer.nextMatching("message", (m) => m.from === "webby2", "the pending message")), { from: "webby2", message: "while away" });
  await page.locator("#messages li.msg.own:not(.pending)", { hasText: "while away" }).waitFor({ timeout: 5_000 });
  assert.deepEqual(problems, []);
});
