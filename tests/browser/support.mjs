// Shared by the browser tests: a headless Chromium page, joining from the served page, and a TCP
// relay that can cut, hold or redirect the browser's connections to the chat server.

import net from "node:net";
import path from "node:path";
import { chromium } from "playwright-core";
import { REPO_ROOT } from "../js/support/server.mjs";

const CHROMIUM = process.env.CHROMIUM_BIN || "/usr/bin/chromium";
export const SCREENSHOTS = path.join(REPO_ROOT, "tests/browser/screenshots");

/** A fresh browser page; `problems` collects page errors and console errors. */
export async function openBrowser(t) {
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

/** Opens the page at `url` and waits until the app is wired (the server field turns read-only then). */
export async function openPage(page, url) {
  const response = await page.goto(url + "/");
  await page.waitForSelector("#server[readonly]", { timeout: 10_000 });
  return response;
}

/** Opens the page at `url` and joins as `name`. */
export async function joinAs(page, url, name) {
  await openPage(page, url);
  await page.fill("#username", name);
  await page.click("#connect-button");
  await page.waitForSelector("#chat-screen:not([hidden])", { timeout: 10_000 });
}

/** Types `text` in the composer and sends it with Enter. */
export async function say(page, text) {
  await page.fill("#input", text);
  await page.press("#input", "Enter");
}

/** The texts of the chat lines on the page, in order. */
export function lineTexts(page) {
  return page.locator("#messages li .text").allTextContents();
}

/**
 * A TCP relay on a free port of 127.0.0.1 to `target` (a port). `cut()` closes every relayed
 * connection; `hold()` closes the browser's side only, so the chat server still believes the old
 * connection alive (as when a laptop drops off the network) until `release()`; `refuse(true)` refuses
 * new connections; `deafen()` drops what the server sends on the current websockets;
 * `target` can be changed for connections made afterwards.
 */
export async function relay(t, target) {
  const pairs = new Set();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) return client.destroy();
    const upstream = net.connect(relayState.target, "127.0.0.1");
    const pair = { client, upstream };
    pairs.add(pair);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on("error", drop).on("close", () => pair.held || drop());
    upstream.on("error", drop).on("close", drop);
    client.once("data", (chunk) => (pair.websocket = /^upgrade: websocket/im.test(String(chunk))));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const relayState = {
    target,
    url: `http://127.0.0.1:${server.address().port}`,
    cut() {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
    },
    hold() {
      for (const pair of pairs) {
        pair.held = true;
        pair.upstream.unpipe(pair.client);
        pair.upstream.resume(); // keep reading what the server sends, so it sees a live peer
        pair.client.destroy();
      }
    },
    /** The browser stops hearing the server on its websockets (acks, pings), and is still heard.
     *  (Idle HTTP connections are left alone: the browser reuses them for the next handshake.) */
    deafen() {
      for (const pair of [...pairs].filter((p) => p.websocket)) {
        pair.upstream.unpipe(pair.client);
        pair.upstream.resume();
      }
    },
    /** Closes the server's side of the held connections: now it sees them go. */
    release() {
      for (const pair of pairs) if (pair.held) pair.upstream.destroy();
    },
    refuse(on) {
      refusing = on;
    },
  };
  t.after(() => {
    relayState.cut();
    server.close();
  });
  return relayState;
}
