// The seed protocol (PROTOCOL.md §1): register, join announcements, relaying, leaving.

import assert from "node:assert/strict";
import { test } from "node:test";
import { session, stripIdTs, joinOf, leaveOf } from "./support/client.mjs";

const T = { timeout: 30_000 };

test("register is acked true, then history, users and the join announcement reach the newcomer", T, async (t) => {
  const s = await session(t);
  const alice = await s.client({}, "alice");
  assert.equal(await alice.register("alice"), true);
  assert.deepEqual(await alice.next("history"), []);
  assert.deepEqual(await alice.next("users"), ["alice"]);
  const join = await alice.next("message");
  assert.deepEqual(join, { from: "Server", message: "alice has joined the chat", kind: "join", name: "alice", id: join.id, ts: join.ts });
  stripIdTs(join);
});

test("on register the newcomer gets, in this order: ack, history, users, its file token, its join announcement", T, async (t) => {
  const s = await session(t);
  const bob = await s.client({}, "bob");
  const order = [];
  bob.socket.onAny((event) => order.push(event));
  // A plain callback (not a promise) runs synchronously when the ack packet is read.
  await new Promise((resolve) => bob.socket.emit("register", "bob", (ok) => { order.push(`ack:${ok}`); resolve(); }));
  await bob.next("message");
  assert.deepEqual(order, ["ack:true", "history", "users", "files", "message"]);
});

test("a join announcement goes to everyone registered, the newcomer included", T, async (t) => {
  const s = await session(t);
  const alice = await s.join("alice");
  const bob = await s.client({}, "bob");
  assert.equal(await bob.register("bob"), true);
  assert.deepEqual(await bob.next("users"), ["alice", "bob"]);
  const toBob = await bob.next("message");
  const toAlice = await alice.next("message");
  assert.deepEqual(stripIdTs(toBob), joinOf("bob"));
  assert.deepEqual(toAlice, toBob, "both see the very same announcement (same id and ts)");
});

test("the registered name is trimmed", T, async (t) => {
  const s = await session(t);
  const alice = await s.join("alice");
  const bob = await s.client();
  assert.equal(await bob.register("  bob \t"), true);
  assert.deepEqual(stripIdTs(await alice.next("message")), joinOf("bob"));
  await bob.send({ message: "hi" });
  assert.deepEqual(stripIdTs(await alice.next("message")), { from: "bob", message: "hi" });
});

test("a message is relayed to the others with from set to the sender's name (forged from)", T, async (t) => {
  const s = await session(t);
  const [alice, bob, carol] = await s.room(["alice", "bob", "carol"]);

  const acked = await alice.send({ from: "Server", message: "I am the server now", extra: 42 });
  const expected = { from: "alice", message: "I am the server now", id: acked.id, ts: acked.ts };
  assert.deepEqual(acked, expected, "the ack is the delivered message (unknown fields dropped)");
  stripIdTs(acked);
  assert.deepEqual(await bob.next("message"), expected);
  assert.deepEqual(await carol.next("message"), expected);
});

test("a message without from is relayed with the sender's name", T, async (t) => {
  const s = await session(t);
  const alice = await s.join("alice");
  const bob = await s.join("bob");
  await alice.next("message"); // bob's join
  const acked = await bob.send({ message: "no from here" });
  assert.deepEqual(await alice.next("message"), { from: "bob", message: "no from here", id: acked.id, ts: acked.ts });
});

test("a message with a numeric from is relayed with the sender's name", T, async (t) => {
  const s = await session(t);
  const alice = await s.join("alice");
  const bob = await s.join("bob");
  await alice.next("message"); // bob's join
  const acked = await bob.send({ from: 12345, message: "numeric from" });
  assert.deepEqual(await alice.next("message"), { from: "bob", message: "numeric from", id: acked.id, ts: acked.ts });
  const acked2 = await bob.send({ from: { name: "x" }, message: "object from" });
  assert.deepEqual(await alice.next("message"), { from: "bob", message: "object from", id: acked2.id, ts: acked2.ts });
});

test("the text is delivered exactly as sent (not trimmed, unicode intact)", T, async (t) => {
  const s = await session(t);
  const alice = await s.join("alice");
  const bob = await s.join("bob");
  await alice.next("message");
  const text = "  héllo 🦀\n  wörld\t ";
  const acked = await bob.send({ from: "bob", message: text });
  assert.equal(acked.message, text);
  assert.deepEqual(await alice.next("message"), { from: "bob", message: text, id: acked.id, ts: acked.ts });
});

test("the sender gets no copy as an event, only the ack with id and ts", T, async (t) => {
  const s = await session(t);
  const alice = await s.join("alice");
  const bob = await s.join("bob");
  await alice.next("message");
  const acked = await alice.send({ from: "alice", message: "one" });
  assert.deepEqual(stripIdTs(acked), { from: "alice", message: "one" });
  // A copy would have been queued before the ack on the same connection: none has arrived.
  assert.deepEqual(alice.pending("message"), []);
  // And the next message alice sees is bob's answer, not her own.
  const reply = await bob.send({ from: "bob", message: "two" });
  assert.deepEqual(await alice.next("message"), { from: "bob", message: "two", id: reply.id, ts: reply.ts });
  assert.deepEqual(bob.all("message").filter((m) => m.from === "bob"), [], "bob got no copy either");
  assert.deepEqual(await bob.next("message"), acked);
});

test("a message sent without an ack is still relayed", T, async (t) => {
  const s = await session(t);
  const alice = await s.join("alice");
  const bob = await s.join("bob");
  await alice.next("message");
  bob.emit("message", { from: "bob", message: "fire and forget" });
  assert.deepEqual(stripIdTs(await alice.next("message")), { from: "bob", message: "fire and forget" });
});

test("an unregistered socket receives no room traffic", T, async (t) => {
  const s = await session(t);
  const lurker = await s.client({}, "lurker");
  const alice = await s.join("alice");
  const bob = await s.join("bob");
  await alice.next("message");
  await bob.send({ message: "secret" });
  await alice.next("message");
  // Any room traffic for lurker would be queued before the answer to its own request.
  assert.deepEqual(await lurker.ack("users"), []);
  assert.deepEqual(lurker.unconsumed(), [], "lurker received no event but its welcome");
  // Once registered, it gets room traffic.
  assert.equal(await lurker.register("lurker"), true);
  assert.deepEqual(stripIdTs(await lurker.next("message")), joinOf("lurker"));
  await bob.send({ message: "now you hear me" });
  assert.deepEqual(stripIdTs(await lurker.next("message")), { from: "bob", message: "now you hear me" });
});

test("a clean disconnect is announced to the others and the name is free again", T, async (t) => {
  const s = await session(t);
  const [alice, bob, carol] = await s.room(["alice", "bob", "carol"]);

  bob.close();
  const toAlice = await alice.next("message");
  assert.deepEqual(stripIdTs(toAlice), leaveOf("bob"));
  assert.deepEqual(await carol.next("message"), toAlice);
  assert.deepEqual(await alice.ack("users"), ["alice", "carol"]);

  // The name is free again at once, in any letter case.
  const bob2 = await s.client({}, "bob2");
  assert.equal(await bob2.register("BOB"), true);
  assert.deepEqual(stripIdTs(await alice.next("message")), joinOf("BOB"));
  const acked = await bob2.send({ message: "back" });
  assert.deepEqual(stripIdTs(await carol.next("message")), joinOf("BOB"));
  assert.deepEqual(await carol.next("message"), { from: "BOB", message: "back", id: acked.id, ts: acked.ts });
});

test("an unregistered socket leaving is not announced", T, async (t) => {
  const s = await session(t);
  const alice = await s.join("alice");
  const lurker = await s.client();
  lurker.close();
  // If a leave were announced it would come before bob's join.
  const bob = await s.join("bob");
  assert.deepEqual(stripIdTs(await alice.next("message")), joinOf("bob"));
  assert.ok(bob.connected);
});

for (const [label, transports] of [
  ["HTTP long-polling only", ["polling"]],
  ["the default transports (polling, upgraded to websocket)", ["polling", "websocket"]],
]) {
  test(`the seed flow works over ${label}`, T, async (t) => {
    const s = await session(t);
    const alice = await s.join("alice", { transports });
    const bob = await s.join("bob", { transports });
    assert.deepEqual(stripIdTs(await alice.next("message")), joinOf("bob"));
    const acked = await bob.send({ from: "mallory", message: `over ${transports.join("+")}` });
    assert.deepEqual(await alice.next("message"), { from: "bob", message: `over ${transports.join("+")}`, id: acked.id, ts: acked.ts });
    const refusal = await bob.send({ message: "" });
    assert.equal(refusal.error, "empty");
    assert.deepEqual(await bob.next("refused"), { event: "message", ...refusal });
    bob.close();
    assert.deepEqual(stripIdTs(await alice.next("message")), leaveOf("bob"));
  });
}
