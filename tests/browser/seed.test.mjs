// The browser page against a plain seed server (no welcome, ids, history, presence or message acks)
// that answers `register` only with a `register` event, as the seed's reference implementation does.
// The server here serves ui/ itself, so the page's transport is the one under test.

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import path from "node:path";
import { test } from "node:test";
import { Server } from "socket.io";
import { TestClient } from "../js/support/client.mjs";
import { REPO_ROOT } from "../js/support/server.mjs";
import { joinAs, openBrowser, say } from "./support.mjs";

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".png": "image/png" };

async function seedServer(t) {
  const http = createServer(async (request, response) => {
    const file = path.join(REPO_ROOT, "ui", new URL(request.url, "http://x").pathname.replace(/^\/$/, "/index.html"));
    if (!file.startsWith(path.join(REPO_ROOT, "ui"))) return response.writeHead(404).end();
    try {
      const body = await readFile(file);
      response.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  const io = new Server(http);
  const names = new Map(); // socket id → name
  io.on("connection", (socket) => {
    socket.on("register", (name) => {
      const ok = typeof name === "string" && name.trim() !== "" && ![...names.values()].includes(name) && !names.has(socket.id);
      socket.emit("register", ok); // never the ack, even when asked for
      if (!ok) return;
      names.set(socket.id, name);
      socket.join("chat");
      io.to("chat").emit("message", { from: "Server", message: `${name} has joined the chat` });
    });
    socket.on("message", (payload) => {
      const from = names.get(socket.id);
      if (from && typeof payload?.message === "string") socket.to("chat").emit("message", { from, message: payload.message });
    });
    socket.on("disconnect", () => names.delete(socket.id));
  });
  await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
  t.after(() => io.close());
  return `http://127.0.0.1:${http.address().port}`;
}

test("the page chats on a plain seed server that answers register with an event", { timeout: 60_000 }, async (t) => {
  const url = await seedServer(t);
  const { page, problems } = await openBrowser(t);
  const peer = new TestClient(url, {}, "peer");
  t.after(() => peer.close());
  await peer.ready();
  peer.emit("register", "peer");
  assert.equal(await peer.next("register"), true);

  await joinAs(page, url, "webby");
  await page.locator("#messages li.system", { hasText: "webby has joined the chat" }).waitFor({ timeout: 5_000 });
  // No presence on a seed server: no online list.
  assert.equal(await page.isVisible("#people"), false);

  await say(page, "hello seed");
  assert.deepEqual(await peer.nextMatching("message", (m) => m.from === "webby", "webby's message"), { from: "webby", message: "hello seed" });
  // Without acks, a message emitted on a connected socket counts as delivered.
  await page.locator("#messages li.msg.own:not(.pending)", { hasText: "hello seed" }).waitFor({ timeout: 5_000 });

  peer.emit("message", { from: "peer", message: "hello browser" });
  await page.locator("#messages li.msg:not(.own)", { hasText: "hello browser" }).waitFor({ timeout: 5_000 });
  assert.deepEqual(problems, []);
});
