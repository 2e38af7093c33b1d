// The seed reference server stand-in (tests/seed-server/server.mjs) behaves as its header says, so
// tests of Confab against it test against the seed's server, not against a friendlier one.

import assert from "node:assert/strict";
import { test } from "node:test";
import { seedSession, SILENCE_MS } from "./support/client.mjs";

const T = { timeout: 30_000 };
const joined = (name) => ({ from: "Server", message: `${name} has joined the chat` });
const left = (name) => ({ from: "Server", message: `${name} left the chat` });

/** Two registered clients, alice then bob, with bob's join seen by alice. */
async function aliceAndBob(s) {
  const alice = await s.client({}, "alice");
  assert.equal(await alice.registerWithoutAck("alice"), true);
  const bob = await s.client({}, "bob");
  assert.equal(await bob.registerWithoutAck("bob"), true);
  assert.deepEqual(await alice.next("message"), joined("bob"));
  return [alice, bob];
}

test("seed-server: register is answered by a register event only, never by an ack, even when one is asked", T, async (t) => {
  const s = await seedSession(t);
  const c = await s.client();
  await assert.rejects(c.socket.timeout(SILENCE_MS).emitWithAck("register", "carol"), /timed out/, "no ack");
  assert.equal(await c.next("register"), true);
  assert.deepEqual(await c.unconsumedAfter(), [], "no join line of its own, no welcome, history or users");
});

test("seed-server: names are unique by exact comparison; non-string and empty names are refused", T, async (t) => {
  const s = await seedSession(t);
  const [alice] = await aliceAndBob(s);
  const other = await s.client();
  for (const refused of [["bob"], [""], [42], [null], [{ name: "x" }], []]) {
    assert.equal(await other.registerWithoutAck(...refused), false, `register ${JSON.stringify(refused)}`);
  }
  assert.equal(await other.registerWithoutAck("BOB"), true, "another letter case is another name");
  assert.deepEqual(await alice.next("message"), joined("BOB"));
  assert.equal(await other.registerWithoutAck("dave"), false, "one name per socket");
});

test("seed-server: the join line goes to the others only; messages are forwarded exactly as sent, to the others", T, async (t) => {
  const s = await seedSession(t);
  const [alice, bob] = await aliceAndBob(s);
  const lurker = await s.client({}, "lurker");
  const forged = { from: "mallory", message: "  not corrected ", extra: [1] };
  bob.emit("message", forged);
  assert.deepEqual(await alice.next("message"), forged);
  alice.emit("message", { message: "no from" });
  assert.deepEqual(await bob.next("message"), { message: "no from" });
  await assert.rejects(bob.socket.timeout(SILENCE_MS).emitWithAck("message", { message: "ack?" }), /timed out/, "no message ack");
  assert.deepEqual(await alice.next("message"), { message: "ack?" });
  bob.emit("typing", true);
  lurker.emit("message", { from: "lurker", message: "unregistered" });
  assert.deepEqual(await alice.unconsumedAfter(), [], "no typing relay, nothing from the unregistered socket");
  assert.deepEqual(await bob.unconsumedAfter(0), [], "bob got neither his own join line nor copies of his messages");
  assert.deepEqual(lurker.unconsumed(), [], "an unregistered socket gets no room traffic");
});

test("seed-server: leaving is announced to the others, and the name is never freed", T, async (t) => {
  const s = await seedSession(t);
  const [alice, bob] = await aliceAndBob(s);
  bob.close();
  assert.deepEqual(await alice.next("message"), left("bob"));
  const back = await s.client({}, "bob again");
  assert.equal(await back.registerWithoutAck("bob"), false, "a reconnecting client finds its own name taken");
  assert.deepEqual(await alice.unconsumedAfter(), []);
});
