// Bad input to `message` (PROTOCOL.md §1.2, §2.5): the ack error, the `refused` event, nothing delivered,
// the sender stays connected, the server keeps serving.

import assert from "node:assert/strict";
import { test } from "node:test";
import { session, stripIdTs, joinOf } from "./support/client.mjs";

const T = { timeout: 30_000 };

const REASONS = {
  not_registered: "register a name before sending messages",
  invalid_payload: 'expected an object with a string field "message"',
  empty: "the message is empty",
  too_long: "the message is longer than 2000 characters",
  rate_limited: "too many messages: at most 20 at once, then 10 per second",
};

/** Checks an ack and the matching `refused` event for `code`. */
async function assertRefusal(client, ack, code) {
  assert.equal(typeof ack, "object", `expected a refusal object, got ${JSON.stringify(ack)}`);
  assert.equal(ack.error, code, `expected error ${code}, got ${JSON.stringify(ack)}`);
  assert.equal(typeof ack.reason, "string");
  assert.ok(ack.reason.length > 0);
  assert.deepEqual(Object.keys(ack).sort(), ["error", "reason"]);
  const refused = await client.next("refused");
  assert.deepEqual(refused, { event: "message", error: code, reason: ack.reason });
  return refused;
}

/** Sends `args` as a `message` with an ack from a registered client and expects refusal `code`. */
async function refusedMessage(t, args, code) {
  const s = await session(t);
  const alice = await s.join("alice");
  const bob = await s.join("bob");
  assert.deepEqual(stripIdTs(await alice.next("message")), joinOf("bob"));

  const ack = await bob.ack("message", args);
  await assertRefusal(bob, ack, code);
  assert.deepEqual(ack, { error: code, reason: REASONS[code] });
  assert.equal(bob.connected, true, "the sender stays connected");

  // Nothing was delivered: the next message alice sees is bob's valid one, and nothing reached bob.
  const ok = await bob.send({ message: "valid after refusal" });
  assert.deepEqual(await alice.next("message"), { from: "bob", message: "valid after refusal", id: ok.id, ts: ok.ts });
  assert.equal(ok.id, (await alice.all("message")).at(-2).id + 1, "no id was used by the refused message");
  assert.deepEqual(bob.pending("message"), []);
  assert.deepEqual(bob.pending("refused"), [], "exactly one refused event");

  // Without an ack: still the `refused` event, still nothing delivered.
  bob.emit("message", ...args);
  assert.deepEqual(await bob.next("refused"), { event: "message", error: code, reason: REASONS[code] });
  const ok2 = await bob.send({ message: "valid again" });
  assert.deepEqual(await alice.next("message"), { from: "bob", message: "valid again", id: ok2.id, ts: ok2.ts });

  await s.assertStillServes([alice, bob]);
}

for (const [label, args, code] of [
  ["a plain string", ["hello"], "invalid_payload"],
  ["a number", [42], "invalid_payload"],
  ["null", [null], "invalid_payload"],
  ["an array", [[{ message: "hi" }]], "invalid_payload"],
  ["no argument", [], "invalid_payload"],
  ["a boolean", [true], "invalid_payload"],
  ["an object without message", [{ from: "bob", text: "hi" }], "invalid_payload"],
  ["message as a number", [{ from: "bob", message: 5 }], "invalid_payload"],
  ["message as null", [{ from: "bob", message: null }], "invalid_payload"],
  ["message as an object", [{ from: "bob", message: { text: "hi" } }], "invalid_payload"],
  ["message as an array", [{ from: "bob", message: ["hi"] }], "invalid_payload"],
  ["an empty message", [{ from: "bob", message: "" }], "empty"],
  ["a whitespace-only message", [{ from: "bob", message: " \t\n  " }], "empty"],
  ["2001 characters", [{ from: "bob", message: "x".repeat(2001) }], "too_long"],
  ["2001 emoji (characters, not UTF-16 units)", [{ from: "bob", message: "🦀".repeat(2001) }], "too_long"],
]) {
  test(`message with ${label} is refused with ${code}`, T, async (t) => {
    await refusedMessage(t, args, code);
  });
}

test("messages of exactly 2000 characters are delivered (ASCII and emoji)", T, async (t) => {
  const s = await session(t);
  const alice = await s.join("alice");
  const bob = await s.join("bob");
  await alice.next("message");
  for (const text of ["y".repeat(2000), "🦀".repeat(2000), " ".repeat(1999) + "z"]) {
    const acked = await bob.send({ from: "bob", message: text });
    assert.deepEqual(acked, { from: "bob", message: text, id: acked.id, ts: acked.ts });
    assert.deepEqual(await alice.next("message"), acked);
  }
  assert.deepEqual(bob.all("refused"), []);
});

test("a message from an unregistered socket is refused with not_registered and reaches nobody", T, async (t) => {
  const s = await session(t);
  const alice = await s.join("alice");
  const bob = await s.join("bob");
  await alice.next("message");
  const lurker = await s.client({}, "lurker");

  const ack = await lurker.send({ from: "alice", message: "spoof" });
  assert.deepEqual(ack, { error: "not_registered", reason: REASONS.not_registered });
  await assertRefusal(lurker, ack, "not_registered");
  lurker.emit("message", { from: "alice", message: "spoof without ack" });
  assert.deepEqual(await lurker.next("refused"), { event: "message", error: "not_registered", reason: REASONS.not_registered });
  // Even a malformed payload from an unregistered socket is refused, not delivered.
  const garbage = await lurker.ack("message", ["garbage"]);
  assert.ok(["not_registered", "invalid_payload"].includes(garbage.error), JSON.stringify(garbage));
  await lurker.next("refused");

  const ok = await bob.send({ message: "real" });
  assert.deepEqual(await alice.next("message"), { from: "bob", message: "real", id: ok.id, ts: ok.ts });
  assert.equal(lurker.connected, true);
  // The lurker can still register afterwards and chat.
  assert.equal(await lurker.register("lurker"), true);
  assert.deepEqual(stripIdTs(await alice.next("message")), joinOf("lurker"));
  await s.assertStillServes([alice, bob, lurker]);
});

test("rate limiting: beyond the burst messages are refused with rate_limited, then allowed again", T, async (t) => {
  const s = await session(t, ["--rate", "1", "--burst", "3"]);
  // The reason names the limits this server runs with.
  const reason = "too many messages: at most 3 at once, then 1 per second";
  const alice = await s.join("alice");
  const bob = await s.join("bob");
  await alice.next("message");

  const acks = [];
  for (let i = 0; i < 6; i += 1) acks.push(await bob.send({ message: `m${i}` }));
  // The 3 first pass (burst); the refill of 1/s cannot add one in the few ms this takes.
  const delivered = acks.filter((a) => a.error === undefined);
  const limited = acks.filter((a) => a.error !== undefined);
  assert.deepEqual(delivered.map((a) => a.message), ["m0", "m1", "m2"], JSON.stringify(acks));
  for (const a of limited) assert.deepEqual(a, { error: "rate_limited", reason });
  assert.equal(limited.length, 3);
  for (let i = 0; i < 3; i += 1) {
    assert.deepEqual(await bob.next("refused"), { event: "message", error: "rate_limited", reason });
  }
  for (const a of delivered) assert.deepEqual(await alice.next("message"), a);
  assert.equal(bob.connected, true, "a flooding client is not disconnected");

  // Another connection is not affected by bob's limit.
  const a1 = await alice.send({ message: "alice is fine" });
  assert.equal(a1.error, undefined, JSON.stringify(a1));
  assert.deepEqual(await bob.next("message"), a1);

  // After a second, bob may send again (sustained rate 1/s). Wait for the refill, polling by
  // a real request every 100 ms rather than sleeping a fixed time.
  const deadline = Date.now() + 3_000;
  let again;
  do {
    await new Promise((resolve) => setTimeout(resolve, 100));
    again = await bob.send({ message: "after refill" });
    if (again.error) await bob.next("refused");
  } while (again.error === "rate_limited" && Date.now() < deadline);
  assert.deepEqual(stripIdTs(again), { from: "bob", message: "after refill" });
  assert.deepEqual(await alice.next("message"), again);
  await s.assertStillServes([alice, bob]);
});

test("rate limiting with the defaults: a burst of 20 passes, the 21st to 25th are rate_limited", T, async (t) => {
  const s = await session(t);
  const alice = await s.join("alice");
  const bob = await s.join("bob");
  await alice.next("message");
  // Sent back to back without waiting: the server sees them within a few ms, far less than the 100 ms
  // a refill takes at 10/s.
  const acks = await Promise.all(Array.from({ length: 25 }, (_, i) => bob.send({ message: `b${i}` })));
  const ok = acks.filter((a) => a.error === undefined);
  const limited = acks.filter((a) => a.error === "rate_limited");
  assert.ok(ok.length >= 20 && ok.length <= 21, `20 (maybe 21 with a refill) pass, got ${ok.length}`);
  assert.equal(ok.length + limited.length, 25, JSON.stringify(acks.filter((a) => a.error && a.error !== "rate_limited")));
  for (const a of limited) assert.deepEqual(a, { error: "rate_limited", reason: REASONS.rate_limited });
  for (let i = 0; i < ok.length; i += 1) assert.deepEqual(await alice.next("message"), ok.sort((x, y) => x.id - y.id)[i]);
  await s.assertStillServes([alice, bob]);
});

test("a packet over 64 KiB closes only the sender's connection; nobody else is affected", T, async (t) => {
  const s = await session(t);
  const alice = await s.join("alice");
  const bob = await s.join("bob");
  const mallory = await s.join("mallory");
  await alice.nextMatching("message", (m) => m.name === "mallory", "mallory's join");
  await bob.next("message");
  mallory.emit("message", { message: "x".repeat(70 * 1024) });
  const reason = await mallory.disconnected();
  assert.ok(typeof reason === "string", `mallory is disconnected (${reason})`);
  // The others see mallory leave (nothing of the huge message) and can go on chatting.
  assert.deepEqual(stripIdTs(await alice.next("message")), { from: "Server", message: "mallory left the chat", kind: "leave", name: "mallory" });
  assert.deepEqual(stripIdTs(await bob.next("message")), { from: "Server", message: "mallory left the chat", kind: "leave", name: "mallory" });
  const acked = await bob.send({ message: "still here" });
  assert.deepEqual(await alice.next("message"), acked);
  await s.assertStillServes([alice, bob]);
});

test("a packet just under 64 KiB with a too-long message is refused, not disconnected", T, async (t) => {
  const s = await session(t);
  const alice = await s.join("alice");
  const bob = await s.join("bob");
  await alice.next("message");
  // 15000 emoji: 60000 bytes of UTF-8, within the packet limit, but 15000 characters.
  const ack = await bob.send({ message: "🦀".repeat(15_000) });
  assert.deepEqual(ack, { error: "too_long", reason: REASONS.too_long });
  assert.deepEqual(await bob.next("refused"), { event: "message", ...ack });
  assert.equal(bob.connected, true);
  await s.assertStillServes([alice, bob]);
});
