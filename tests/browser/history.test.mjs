// The browser page and the server's history: after a cut it fetches what it missed page by page
// and shows each message once, in order; where the server no longer has them it says so in their
// place; "Load older messages" pages back to the beginning, also after the view dropped old lines.

import assert from "node:assert/strict";
import { test } from "node:test";
import { session } from "../js/support/client.mjs";
import path from "node:path";
import { SCREENSHOTS, joinAs, lineTexts, openBrowser, relay } from "./support.mjs";

// socket.io's backoff grows to 8 s between attempts (with jitter).
const RECONNECT_MS = 20_000;
const line = (i) => `m${String(i).padStart(4, "0")}`;
const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => line(from + i));
// One sender as fast as its acks come back: no flood control on these servers.
const NO_RATE = ["--rate", "0"];

const status = (page, state) => page.locator(`#status[data-state="${state}"]`).waitFor({ timeout: RECONNECT_MS });
const shown = (page, text, timeout = 10_000) => page.locator("#messages li", { hasText: text }).first().waitFor({ timeout });
const burst = async (client, from, to) => {
  for (let i = from; i <= to; i += 1) await client.send({ message: line(i) });
};
const burstLines = async (page) => (await lineTexts(page)).filter((text) => /^m\d{4}$/.test(text));
// Chromium logs the relay refusing its reconnection attempts (the cut itself), as a reset, a refusal,
// a long-polling request closed before its answer (an empty response) or, when the cut comes
// mid-handshake, a socket that is not connected: not a page problem.
const pageProblems = (problems) =>
  problems.filter((problem) => !/net::ERR_(CONNECTION_RESET|CONNECTION_REFUSED|SOCKET_NOT_CONNECTED|EMPTY_RESPONSE)/.test(problem));

test("after a cut the page fetches everything it missed, page by page, and shows each message once in order", { timeout: 120_000 }, async (t) => {
  const s = await session(t, ["--history", "5000", ...NO_RATE]);
  const { page, problems } = await openBrowser(t);
  const r = await relay(t, s.server.port);
  await joinAs(page, r.url, "webby");
  const peer = await s.join("peer");
  await burst(peer, 1, 10);
  await shown(page, line(10));

  r.refuse(true);
  r.cut();
  await status(page, "reconnecting");
  // 13 pages beyond what the server pushes (its newest 200): more requests than its burst of 10, so
  // some are refused rate_limited and asked again.
  await burst(peer, 11, 2610);
  r.refuse(false);
  await status(page, "connected");
  await shown(page, line(2610), 60_000);
  assert.deepEqual(await burstLines(page), range(1, 2610));
  assert.equal(await page.locator("#messages li.gap").count(), 0, "the server still has every one of them");
  assert.deepEqual(pageProblems(problems), []);
});

test("messages the server no longer holds are one marker in their place", { timeout: 90_000 }, async (t) => {
  const s = await session(t, ["--history", "50", ...NO_RATE]);
  const { page, problems } = await openBrowser(t);
  const r = await relay(t, s.server.port);
  await joinAs(page, r.url, "webby");
  const peer = await s.join("peer");
  await burst(peer, 1, 10);
  await shown(page, line(10));

  r.refuse(true);
  r.cut();
  await status(page, "reconnecting");
  await peer.nextMatching("message", (m) => m.kind === "leave" && m.name === "webby", "webby's leave");
  await burst(peer, 11, 300);
  r.refuse(false);
  await status(page, "connected");
  await shown(page, line(300));
  assert.deepEqual(await burstLines(page), [...range(1, 10), ...range(251, 300)]);
  // m0011..m0250 are gone from a history of 50; webby's own leave took an id among them too.
  const marker = page.locator("#messages li.gap");
  assert.equal(await marker.count(), 1);
  assert.equal(await marker.textContent(), "Up to 241 messages from this time are no longer available on the server.");
  const order = await page.locator("#messages li").evaluateAll((items) => items.map((li) => (li.classList.contains("gap") ? "gap" : li.textContent)));
  const at = order.indexOf("gap");
  assert.ok(order[at - 1].includes(line(10)) && order.slice(at + 1).find((text) => /m\d{4}/.test(text)).includes(line(251)), "between m0010 and m0251");
  assert.deepEqual(pageProblems(problems), []);
});

test("load older pages back to the beginning, also for lines the view dropped", { timeout: 120_000 }, async (t) => {
  const s = await session(t, ["--history", "5000", ...NO_RATE]);
  const { page, problems } = await openBrowser(t);
  const peer = await s.join("peer");
  await burst(peer, 1, 250);
  await joinAs(page, s.server.url, "webby");
  // A late joiner gets the newest 200.
  await shown(page, line(250));
  assert.deepEqual(await burstLines(page), range(51, 250));
  const older = page.locator("#messages li.older");
  assert.equal(await older.locator("button").textContent(), "Load older messages");
  await page.evaluate(() => (document.getElementById("messages").scrollTop = 0));
  await page.screenshot({ path: path.join(SCREENSHOTS, "browser-load-older.png") });
  await older.locator("button").click();
  await shown(page, line(1));
  assert.deepEqual(await burstLines(page), range(1, 250));
  await older.locator("button").click();
  await older.getByText("This is the beginning of the chat history on this server.").waitFor({ timeout: 10_000 });
  assert.equal(await older.locator("button").isVisible(), false);

  // 3000 lines at most: the oldest go, and the control says so.
  await burst(peer, 251, 3100);
  await shown(page, line(3100), 30_000);
  assert.equal(await older.locator(".older-text").textContent(), "Older messages hidden —");
  await page.evaluate(() => (document.getElementById("messages").scrollTop = 0));
  await page.screenshot({ path: path.join(SCREENSHOTS, "browser-older-hidden.png") });
  // 1 + 250 + 2850 lines (webby's own join among them): the 101 oldest are dropped.
  assert.deepEqual(await burstLines(page), range(102, 3100));
  await older.locator("button").click();
  await shown(page, line(101));
  assert.deepEqual(await burstLines(page), range(1, 3100), "the dropped ones back above, each once");
  assert.deepEqual(pageProblems(problems), []);
});

test("a chat with nothing said yet shows the beginning of its history, not a control to load in vain", { timeout: 60_000 }, async (t) => {
  const s = await session(t, NO_RATE);
  const { page, problems } = await openBrowser(t);
  await joinAs(page, s.server.url, "webby");
  const older = page.locator("#messages li.older");
  await older.getByText("This is the beginning of the chat history on this server.").waitFor({ timeout: 10_000 });
  assert.equal(await older.locator("button").isVisible(), false);
  await page.screenshot({ path: path.join(SCREENSHOTS, "browser-empty-history.png") });

  // Someone who joins once a line was said can page back (the line is the first one shown).
  const peer = await s.join("peer");
  await peer.send({ message: line(1) });
  const second = await openBrowser(t);
  await joinAs(second.page, s.server.url, "late");
  await shown(second.page, line(1));
  const control = second.page.locator("#messages li.older");
  assert.equal(await control.locator("button").textContent(), "Load older messages");
  assert.deepEqual(pageProblems([...problems, ...second.problems]), []);
});
