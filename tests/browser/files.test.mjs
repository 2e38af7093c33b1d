// Files, images and private conversations on the browser join page, in two real headless Chromium
// pages against the real server: a file attached in one is seen in the other and downloads byte for
// byte; an image shows as a thumbnail; a file over the limit is refused in words before it is sent;
// a private conversation opened from the online list reaches only its addressee (PROTOCOL.md §2.10, §2.11).

import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { session, stripIdTs } from "../js/support/client.mjs";
import { png } from "./files-support.mjs";
import { SCREENSHOTS, joinAs, openBrowser, say } from "./support.mjs";

function tempFile(t, name, bytes) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "confab-files-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

/** ada and bea in two browsers on one server, ada's Attach button shown. */
async function adaAndBea(t) {
  const s = await session(t);
  const a = await openBrowser(t);
  const b = await openBrowser(t);
  await joinAs(a.page, s.url, "ada");
  await joinAs(b.page, s.url, "bea");
  await a.page.locator("#attach-button:not([hidden])").waitFor({ timeout: 10_000 });
  return { a, b };
}

test("a file attached in one browser is seen in the other and downloads byte-identical", { timeout: 90_000 }, async (t) => {
  const { a, b } = await adaAndBea(t);

  const bytes = crypto.randomBytes(3 * 1024 * 1024 + 17);
  const file = tempFile(t, "report <final>.bin", bytes);
  await a.page.setInputFiles("#attach-input", file);
  // Sent: the sender's own line settles with the file; the other browser gets it with a Save link.
  await a.page.locator("#messages li.msg.own:not(.pending) .attachment a.save").waitFor({ timeout: 20_000 });
  const save = b.page.locator("#messages li.msg .attachment a.save");
  await save.waitFor({ timeout: 20_000 });
  assert.equal(await b.page.locator("#messages li.msg .attachment .file-name").textContent(), "report <final>.bin", "the name is text");
  assert.equal(await b.page.locator("#messages li.msg .attachment .file-size").textContent(), "3 MB");
  assert.equal(await a.page.isHidden("#uploads"), true, "the upload row is gone once sent");

  const [download] = await Promise.all([b.page.waitForEvent("download"), save.click()]);
  assert.match(download.suggestedFilename(), /^report .final.\.bin$/);
  const saved = await download.path();
  assert.ok(Buffer.compare(fs.readFileSync(saved), bytes) === 0, "downloaded byte for byte");

  // An image: a thumbnail in both, opened larger on click.
  const image = tempFile(t, "gradient.png", png(640, 400));
  await a.page.setInputFiles("#attach-input", image);
  const thumb = b.page.locator("#messages li.msg .attachment .thumb img");
  await thumb.waitFor({ timeout: 20_000 });
  await b.page.waitForFunction(() => document.querySelector("#messages .thumb img")?.naturalWidth > 0, null, { timeout: 10_000 });
  const size = await thumb.evaluate((img) => [img.naturalWidth, img.naturalHeight]);
  assert.deepEqual(size, [320, 200], "the server's thumbnail, at most 320 × 320");
  await b.page.click("#messages .thumb");
  await b.page.waitForFunction(() => document.querySelector("#image-view-img")?.naturalWidth === 640, null, { timeout: 10_000 });
  await b.page.screenshot({ path: path.join(SCREENSHOTS, "browser-image-view.png") });
  await b.page.click("#image-view-close");
  await b.page.screenshot({ path: path.join(SCREENSHOTS, "browser-files.png") });
  assert.deepEqual(a.problems, []);
  assert.deepEqual(b.problems, []);
});

test("a file over the server's limit is refused in words before anything is sent", { timeout: 60_000 }, async (t) => {
  const s = await session(t, ["--max-file-mb", "1"]);
  const { page, problems } = await openBrowser(t);
  await joinAs(page, s.url, "ada");
  await page.locator("#attach-button:not([hidden])").waitFor({ timeout: 10_000 });
  const posts = [];
  page.on("request", (request) => request.method() === "POST" && request.url().includes("/files") && posts.push(request.url()));
  await page.setInputFiles("#attach-input", tempFile(t, "movie.mkv", Buffer.alloc(1024 * 1024 + 1)));
  await page.locator("#banner:not([hidden])", { hasText: /“movie\.mkv” is 1 MB: files can be at most [\d.]+ (KB|MB) in this chat\./ }).waitFor({ timeout: 5_000 });
  assert.deepEqual(posts, [], "nothing was uploaded");
  assert.equal(await page.isHidden("#uploads"), true);
  assert.deepEqual(problems, []);
});

test("an upload in progress shows its progress, and Cancel stops it: nothing is sent to anyone", { timeout: 90_000 }, async (t) => {
  const { a, b } = await adaAndBea(t);
  // A slow uplink (256 KB/s), so a 4 MB upload takes long enough to watch and cancel.
  const cdp = await a.page.context().newCDPSession(a.page);
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 256 * 1024 });
  await a.page.setInputFiles("#attach-input", tempFile(t, "big.bin", crypto.randomBytes(4 * 1024 * 1024)));
  const row = a.page.locator("#uploads li.upload", { hasText: "big.bin" });
  await a.page.waitForFunction(() => Number(document.querySelector("#uploads li.upload progress")?.value) > 0, null, { timeout: 20_000 });
  assert.match(await row.locator(".file-size").textContent(), /^\d+ % of 4 MB$/);
  await a.page.screenshot({ path: path.join(SCREENSHOTS, "browser-upload-progress.png") });
  await row.locator("button.cancel").click();
  await a.page.locator("#uploads").waitFor({ state: "hidden", timeout: 5_000 });
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  // Nothing reached the room: a line said after it is the first one bea sees from ada.
  await say(a.page, "after the cancel");
  await b.page.locator("#messages li.msg", { hasText: "after the cancel" }).waitFor({ timeout: 10_000 });
  assert.equal(await b.page.locator("#messages li.msg .attachment").count(), 0, "no file line for bea");
  assert.equal(await a.page.locator("#messages li.msg .attachment").count(), 0, "none for ada either");
  assert.deepEqual(a.problems, []);
  assert.deepEqual(b.problems, []);
});

test("an image pasted into the chat is sent with a name of its own and shows as a thumbnail", { timeout: 90_000 }, async (t) => {
  const { a, b } = await adaAndBea(t);
  // What a screenshot tool puts on the clipboard: an image without a file name, pasted into the input.
  await a.page.evaluate((base64) => {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], "", { type: "image/png" }));
    document.querySelector("#input").dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
  }, png(200, 100).toString("base64"));
  const thumb = b.page.locator("#messages li.msg .attachment .thumb img");
  await thumb.waitFor({ timeout: 20_000 });
  await b.page.waitForFunction(() => document.querySelector("#messages .thumb img")?.naturalWidth > 0, null, { timeout: 10_000 });
  assert.deepEqual(await thumb.evaluate((img) => [img.naturalWidth, img.naturalHeight]), [200, 100]);
  const name = await b.page.locator("#messages li.msg .attachment .file-name").textContent();
  assert.match(name, /^pasted-\d{8}-\d{6}\.png$/);
  assert.equal(await a.page.inputValue("#input"), "", "nothing pasted as text");
  assert.deepEqual(a.problems, []);
  assert.deepEqual(b.problems, []);
});

test("a private conversation opened from the online list reaches only its addressee", { timeout: 90_000 }, async (t) => {
  const s = await session(t);
  const a = await openBrowser(t);
  const b = await openBrowser(t);
  await joinAs(a.page, s.url, "ada");
  await joinAs(b.page, s.url, "bea");
  const carol = await s.join("carol");

  await a.page.click('#people-list button[data-person="bea"]');
  await a.page.locator("#conversation-name:not([hidden])", { hasText: "Private with bea" }).waitFor({ timeout: 5_000 });
  await say(a.page, "just between us");
  await a.page.locator("#messages li.msg.own:not(.pending)", { hasText: "just between us" }).waitFor({ timeout: 10_000 });
  // bea is in the room: the private line waits in ada's conversation, with its unread count.
  const badge = b.page.locator('#conversation-list button[data-conversation="ada"] .badge');
  await badge.waitFor({ timeout: 10_000 });
  assert.equal(await badge.textContent(), "1");
  assert.equal(await b.page.locator("#messages li", { hasText: "just between us" }).count(), 0, "not in the room");
  await b.page.click('#conversation-list button[data-conversation="ada"]');
  await b.page.locator("#messages li.msg", { hasText: "just between us" }).waitFor({ timeout: 5_000 });
  assert.equal(await badge.count(), 0, "read once opened");
  await say(b.page, "agreed");
  await a.page.locator("#messages li.msg:not(.own)", { hasText: "agreed" }).waitFor({ timeout: 10_000 });
  // The room still works for everyone, and carol saw nothing of the private lines.
  await a.page.click('#conversation-list button[data-conversation=""]');
  await say(a.page, "hello room");
  assert.deepEqual(stripIdTs(await carol.next("message")), { from: "ada", message: "hello room" });
  await b.page.screenshot({ path: path.join(SCREENSHOTS, "browser-private.png") });
  assert.deepEqual(a.problems, []);
  assert.deepEqual(b.problems, []);
});
