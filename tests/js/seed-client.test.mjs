// A client written for the seed's reference server (it emits `register` without a callback and waits
// for the `register` event) works with confab-server (PROTOCOL.md §1.1), next to clients that use the
// ack; and whichever way a client asks, it gets exactly one answer.

import assert from "node:assert/strict";
import { test } from "node:test";
import { session, stripIdTs, joinOf, leaveOf } from "./support/client.mjs";

const T = { timeout: 30_000 };

test("a register without ack is answered by a register event true, then history, users and the join, in this order", T, async (t) => {
  const s = await session(t);
  const seed = await s.client({}, "seed");
  const order = [];
  seed.socket.onAny((event, arg) => order.push(event === "register" ? `register:${arg}` : event));
  assert.equal(await seed.registerWithoutAck("seedy"), true);
  assert.deepEqual(await seed.next("history"), []);
  assert.deepEqual(await seed.next("users"), ["seedy"]);
  // The file token (§2.11): an extension event, which a seed client ignores.
  assert.equal(typeof (await seed.next("files")).token, "string");
  assert.deepEqual(stripIdTs(await seed.next("message")), joinOf("seedy"));
  assert.deepEqual(order, ["register:true", "history", "users", "files", "message"]);
  assert.deepEqual(await seed.unconsumedAfter(), [], "one register event, nothing else");
});

test("a seed-style register is refused with a register event false: taken in another letter case, invalid, not a string", T, async (t) => {
  const s = await session(t);
  const alice = await s.join("alice");
  const seed = await s.client({}, "seed");
  for (const refused of [["ALICE"], ["Server"], [" "], ["x".repeat(33)], ["a\nb"], [42], [null], [{ name: "bob" }], []]) {
    assert.equal(await seed.registerWithoutAck(...refused), false, `register ${JSON.stringify(refused)}`);
  }
  // Nine register events and nothing else: no room traffic, no second answer.
  assert.deepEqual(await seed.ack("users"), [], "a refused client is not in the room");
  assert.deepEqual(await seed.unconsumedAfter(), []);
  assert.deepEqual(alice.unconsumed(), [], "nothing was announced");
  assert.equal(await seed.registerWithoutAck("bob"), true, "a valid name is still accepted");
  assert.deepEqual(stripIdTs(await alice.next("message")), joinOf("bob"));
});

test("a seed-style client and an ack-using client chat both ways, from corrected, and see each other join and leave", T, async (t) => {
  const s = await session(t);
  const seed = await s.client({}, "seed");
  assert.equal(await seed.registerWithoutAck("seedy"), true);
  await seed.next("history");
  await seed.next("users");
  await seed.next("message"); // its own join
  const acker = await s.join("acker");
  assert.deepEqual(stripIdTs(await seed.next("message")), joinOf("acker"));

  // A seed client sends without an ack, with whatever it believes its name is.
  seed.emit("message", { from: "not seedy", message: "hello from the seed client" });
  assert.deepEqual(stripIdTs(await acker.next("message")), { from: "seedy", message: "hello from the seed client" });
  const acked = await acker.send({ from: "acker", message: "hello seed" });
  assert.deepEqual(await seed.next("message"), acked);
  assert.equal(acked.from, "acker");

  acker.close();
  assert.deepEqual(stripIdTs(await seed.next("message")), leaveOf("acker"));
  assert.deepEqual(seed.pending("message"), [], "no copy of its own message");
});

test("a register that asks for the ack gets only the ack, never also a register event", T, async (t) => {
  const s = await session(t);
  const taker = await s.client({}, "taker");
  assert.equal(await taker.register("carol"), true);
  const refused = await s.client({}, "refused");
  assert.equal(await refused.register("CAROL"), false);
  assert.equal(await refused.register(7), false);
  await taker.next("history");
  await taker.next("users");
  await taker.next("files");
  await taker.next("message");
  assert.deepEqual(await taker.unconsumedAfter(), []);
  assert.deepEqual(await refused.unconsumedAfter(), []);
});
