// Many clients at once, name races, bursts, and clients that vanish without closing.

import assert from "node:assert/strict";
import { test } from "node:test";
import { session, stripIdTs, joinOf, leaveOf, withTimeout } from "./support/client.mjs";

const T = { timeout: 60_000 };
/** The server runs on one thread by default; the concurrency guarantees must hold with more too. */
const RUNTIMES = [
  { label: "one thread (default)", flags: [] },
  { label: "--threads 2", flags: ["--threads", "2"] },
];

for (const runtime of RUNTIMES)
test(`50 clients registering at once all get true, and everyone sees all 50 joins (${runtime.label})`, T, async (t) => {
  const s = await session(t, runtime.flags);
  const observer = await s.join("observer");
  const names = Array.from({ length: 50 }, (_, i) => `c${String(i).padStart(2, "0")}`);
  const clients = await Promise.all(names.map((name) => s.client({}, name)));
  const acks = await Promise.all(clients.map((c, i) => c.register(names[i])));
  assert.deepEqual(acks, names.map(() => true));

  // The observer, registered before, sees exactly the 50 joins, each once, ids increasing.
  const joins = [];
  for (let i = 0; i < 50; i += 1) joins.push(await observer.next("message"));
  assert.deepEqual(joins.map(stripIdTs).map((m) => m.name).sort(), names);
  for (const m of joins) assert.deepEqual(stripIdTs(m), joinOf(m.name));
  for (let i = 1; i < 50; i += 1) assert.ok(joins[i].id > joins[i - 1].id);
  const order = joins.map((m) => m.name);
  assert.deepEqual(await observer.ack("users"), ["observer", ...order]);

  // Each newcomer: its users list is everyone who joined before it plus itself, then it sees its own
  // join and every later one, so it knows all 50 (and the observer).
  await Promise.all(
    clients.map(async (c, i) => {
      const name = names[i];
      const position = order.indexOf(name);
      await c.next("history");
      assert.deepEqual(await c.next("users"), ["observer", ...order.slice(0, position + 1)], `${name}'s users list`);
      const seen = [];
      for (let k = position; k < 50; k += 1) seen.push(await c.next("message"));
      assert.deepEqual(seen, joins.slice(position), `${name} sees its own join and every later one, in order`);
    }),
  );
  // A message now reaches all 50.
  const hello = await observer.send({ message: "hello everyone" });
  await Promise.all(clients.map(async (c) => assert.deepEqual(await c.next("message"), hello)));
});

test("10 clients racing for one free name: exactly one gets true", T, async (t) => {
  const s = await session(t);
  const watcher = await s.join("watcher");
  for (const variants of [
    Array.from({ length: 10 }, () => "prize"),
    ["Trophy", "trophy", "TROPHY", "tRoPhY", " trophy", "trophy ", "TroPHY", "trOPHY", "TROphy", "Trophy"],
  ]) {
    const clients = await Promise.all(variants.map((_, i) => s.client({}, `racer${i}`)));
    const acks = await Promise.all(clients.map((c, i) => c.register(variants[i])));
    assert.equal(acks.filter((a) => a === true).length, 1, `exactly one winner among ${JSON.stringify(variants)}: ${JSON.stringify(acks)}`);
    assert.equal(acks.filter((a) => a === false).length, 9);
    const winner = clients[acks.indexOf(true)];
    const join = await watcher.next("message");
    assert.deepEqual(stripIdTs(join), joinOf(variants[acks.indexOf(true)].trim()));
    // The losers are still connected, not in the room, and can take another name.
    const losers = clients.filter((c) => c !== winner);
    for (const [i, loser] of losers.entries()) {
      assert.equal(loser.connected, true);
      assert.deepEqual(loser.pending("message"), []);
      assert.equal(await loser.register(`${variants[0].trim()}-${i}`), true);
      assert.deepEqual(stripIdTs(await watcher.next("message")), joinOf(`${variants[0].trim()}-${i}`));
    }
  }
  await s.assertStillServes([watcher]);
});

test("a 500-message burst from one client (--rate 0) arrives complete and in order at 3 receivers", T, async (t) => {
  const s = await session(t, ["--rate", "0"]);
  const receivers = [await s.join("r1"), await s.join("r2"), await s.join("r3")];
  const sender = await s.join("sender");
  await Promise.all(receivers.map((r) => r.nextMatching("message", (m) => m.name === "sender", "sender's join")));

  const texts = Array.from({ length: 500 }, (_, i) => `burst ${i}`);
  // All emitted back to back, without waiting for any ack.
  const acks = await Promise.all(texts.map((message) => sender.send({ message })));
  for (const a of acks) assert.equal(a.error, undefined, JSON.stringify(a));

  for (const r of receivers) {
    const got = [];
    for (let i = 0; i < 500; i += 1) got.push(await r.next("message"));
    for (let i = 1; i < got.length; i += 1) assert.ok(got[i].id > got[i - 1].id, `${r.label}: ids increase (${got[i - 1].id} then ${got[i].id})`);
    assert.ok(got.every((m) => m.from === "sender"));
    assert.deepEqual(got.map((m) => m.message), texts, `${r.label} gets the 500 texts complete and in the order they were sent`);
    assert.deepEqual(got, [...acks].sort((a, b) => a.id - b.id), `${r.label} gets exactly what was acked`);
  }
  assert.deepEqual(sender.pending("message"), []);
  assert.deepEqual(acks.map((a) => a.message), texts, "each ack matches its own message");
});

for (const runtime of RUNTIMES)
test(`3 senders bursting 300 messages each at the same time: every receiver gets each sender's messages in order (${runtime.label})`, T, async (t) => {
  const s = await session(t, ["--rate", "0", ...runtime.flags]);
  const receivers = [await s.join("r1"), await s.join("r2")];
  const senders = [await s.join("s1"), await s.join("s2"), await s.join("s3")];
  await Promise.all(receivers.map((r) => r.nextMatching("message", (m) => m.name === "s3", "s3's join")));
  const perSender = await Promise.all(
    senders.map((sender) => Promise.all(Array.from({ length: 300 }, (_, i) => sender.send({ message: `${sender.name} #${i}` })))),
  );
  for (const acks of perSender) for (const a of acks) assert.equal(a.error, undefined, JSON.stringify(a));
  // Senders also receive each other's messages; check the two pure receivers.
  for (const r of receivers) {
    const got = [];
    for (let i = 0; i < 900; i += 1) got.push(await r.next("message"));
    for (let i = 1; i < got.length; i += 1) assert.ok(got[i].id > got[i - 1].id, `${r.label}: ids increase`);
    for (const sender of senders) {
      const texts = got.filter((m) => m.from === sender.name).map((m) => m.message);
      assert.deepEqual(texts, Array.from({ length: 300 }, (_, i) => `${sender.name} #${i}`), `${r.label} gets ${sender.name}'s messages complete and in order`);
    }
  }
});

/** The engine.io websocket (from the `ws` package) under a socket.io-client socket. */
function rawWebSocket(client) {
  const ws = client.socket.io.engine?.transport?.ws;
  assert.ok(ws && typeof ws.terminate === "function", "expected a websocket transport from the ws package");
  return ws;
}

test("a client whose TCP connection is dropped abruptly is announced as left, and its name is free", T, async (t) => {
  const s = await session(t);
  const alice = await s.join("alice");
  const bob = await s.join("bob");
  await alice.next("message");
  const started = Date.now();
  rawWebSocket(bob).terminate(); // destroys the TCP socket: no close frame, no socket.io disconnect
  const leave = await alice.next("message", 5_000);
  assert.deepEqual(stripIdTs(leave), leaveOf("bob"));
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 5_000, `announced after ${elapsed} ms`);
  const bob2 = await s.client();
  assert.equal(await bob2.register("bob"), true);
  assert.deepEqual(stripIdTs(await alice.next("message")), joinOf("bob"));
});

/**
 * Makes `client` vanish silently: it stops reading from and writing to its TCP connection (as a
 * machine that lost its network would), and its own ping watchdog is disabled so it does not close the
 * connection itself. Only the server's ping timeout can notice.
 */
function vanish(client) {
  const ws = rawWebSocket(client);
  ws._socket.pause();
  const engine = client.socket.io.engine;
  clearTimeout(engine._pingTimeoutTimer);
  engine._resetPingTimeout = () => {};
  engine.setTimeoutFn = () => 0;
  return () => ws.terminate();
}

async function vanishedClientIsAnnounced(t, flags, maxMs) {
  const s = await session(t, flags);
  const alice = await s.join("alice");
  const bob = await s.join("bob");
  await alice.next("message");
  const cleanup = vanish(bob);
  t.after(cleanup);
  const started = Date.now();
  const leave = await alice.next("message", maxMs + 3_000);
  const elapsed = Date.now() - started;
  assert.deepEqual(stripIdTs(leave), leaveOf("bob"));
  assert.ok(elapsed <= maxMs, `announced after ${elapsed} ms, expected at most ${maxMs} ms`);
  const bob2 = await s.client();
  assert.equal(await bob2.register("bob"), true, "the name is free again");
  await s.assertStillServes([alice]);
  return elapsed;
}

test("a silently vanished client is announced as left by the ping timeout (--ping-interval 1 --ping-timeout 1: within ~2 s)", T, async (t) => {
  const elapsed = await vanishedClientIsAnnounced(t, ["--ping-interval", "1", "--ping-timeout", "1"], 3_000);
  t.diagnostic(`left after ${elapsed} ms`);
});

test("a silently vanished client is announced as left within ~10 s with the default ping settings", T, async (t) => {
  const elapsed = await vanishedClientIsAnnounced(t, [], 10_500);
  t.diagnostic(`left after ${elapsed} ms`);
});

test("the server keeps serving while a client stops reading (no effect on the others for a small backlog)", T, async (t) => {
  const s = await session(t, ["--rate", "0"]);
  const alice = await s.join("alice");
  const bob = await s.join("bob");
  const sleeper = await s.join("sleeper");
  await alice.nextMatching("message", (m) => m.name === "sleeper", "sleeper's join");
  await bob.next("message");
  const cleanup = vanish(sleeper);
  t.after(cleanup);
  const acks = await Promise.all(Array.from({ length: 100 }, (_, i) => bob.send({ message: `while asleep ${i}` })));
  const got = [];
  for (let i = 0; i < 100; i += 1) got.push(await alice.next("message"));
  assert.deepEqual(got, acks.sort((a, b) => a.id - b.id));
  await withTimeout(s.assertStillServes([alice, bob]), 10_000, "serving others while one client sleeps");
});
