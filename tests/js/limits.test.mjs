// `welcome` tells each client the limits the server runs with, and the server's refusal reasons and
// announcements follow them, word for word as the generated ui/js/protocol.js computes them (the
// rules the UI checks before sending).

import assert from "node:assert/strict";
import { test } from "node:test";
import { announcementText, refusalReason, DEFAULT_LIMITS } from "../../ui/js/protocol.js";
import { session, stripIdTs, joinOf, leaveOf } from "./support/client.mjs";

const T = { timeout: 30_000 };

test("welcome carries the defaults when no limit is given", T, async (t) => {
  const s = await session(t);
  const c = await s.client();
  assert.deepEqual(c.welcome.limits, DEFAULT_LIMITS);
  assert.deepEqual(DEFAULT_LIMITS, { maxMessageChars: 2000, maxNameChars: 32, messagesPerSecond: 10, messageBurst: 20, maxPacketBytes: 65536 });
});

test("welcome carries the limits given on the command line, and too_long names 300", T, async (t) => {
  const s = await session(t, ["--max-message-chars", "300", "--rate", "0"]);
  const [alice, bob] = await s.room(["alice", "bob"]);
  const limits = { ...DEFAULT_LIMITS, maxMessageChars: 300, messagesPerSecond: 0 };
  assert.deepEqual(bob.welcome.limits, limits);
  assert.equal(alice.welcome.run, bob.welcome.run, "one server run");

  const refusal = await bob.send({ message: "x".repeat(301) });
  assert.deepEqual(refusal, { error: "too_long", reason: "the message is longer than 300 characters" });
  assert.equal(refusal.reason, refusalReason("too_long", limits));
  assert.deepEqual(await bob.next("refused"), { event: "message", ...refusal });
  const longest = await bob.send({ message: "🦀".repeat(300) });
  assert.deepEqual(await alice.next("message"), longest);

  // --rate 0: no flood control, 50 back-to-back messages all pass.
  const acks = await Promise.all(Array.from({ length: 50 }, (_, i) => bob.send({ message: `m${i}` })));
  assert.deepEqual(acks.filter((a) => a.error), []);
});

test("every refusal reason the server sends is refusalReason(code, welcome.limits)", T, async (t) => {
  const s = await session(t, ["--max-message-chars", "5", "--rate", "1", "--burst", "2"]);
  const lurker = await s.client();
  const bob = await s.join("bob");
  const sent = [
    [lurker, { message: "hi" }, "not_registered", "register a name before sending messages"],
    [bob, "hi", "invalid_payload", 'expected an object with a string field "message"'],
    [bob, { message: " \n " }, "empty", "the message is empty"],
    [bob, { message: "123456" }, "too_long", "the message is longer than 5 characters"],
    [bob, { message: "ok" }, null],
    [bob, { message: "ok" }, null],
    [bob, { message: "ok" }, "rate_limited", "too many messages: at most 2 at once, then 1 per second"],
  ];
  for (const [client, payload, code, reason] of sent) {
    const ack = await client.ack("message", [payload]);
    if (code === null) {
      assert.equal(ack.error, undefined, JSON.stringify(ack));
      continue;
    }
    assert.deepEqual(ack, { error: code, reason }, `${code}: the documented text`);
    assert.equal(refusalReason(code, client.welcome.limits), reason, `${code}: ui/js/protocol.js says the same`);
  }
});

test("join, leave and shutdown lines are announcementText(kind, name)", T, async (t) => {
  const s = await session(t);
  const [alice, bob] = await s.room(["alice", "bob"]);
  bob.close();
  await alice.nextMatching("message", (m) => m.kind === "leave", "bob's leave");
  await s.server.stop();
  await alice.nextMatching("message", (m) => m.kind === "shutdown", "the shutdown line");
  const lines = alice.all("message").map(stripIdTs);
  const shutdown = { from: "Server", message: "The chat was closed: its server stopped", kind: "shutdown" };
  assert.deepEqual(lines, [joinOf("alice"), joinOf("bob"), leaveOf("bob"), shutdown]);
  for (const line of lines) assert.equal(line.message, announcementText(line.kind, line.name));
});
