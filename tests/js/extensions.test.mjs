// Extensions (PROTOCOL.md §2): ids and timestamps, history, presence, typing, password, health.

import assert from "node:assert/strict";
import { test } from "node:test";
import { session, stripIdTs, joinOf, leaveOf } from "./support/client.mjs";
import { AUTH_ERRORS } from "../../ui/js/protocol.js";

const T = { timeout: 30_000 };

test("ids are strictly increasing across chat messages and announcements, and ts is plausible", T, async (t) => {
  const s = await session(t);
  const before = Date.now();
  const alice = await s.join("alice");
  const bob = await s.join("bob");
  const carol = await s.join("carol");
  const acks = [];
  for (let i = 0; i < 10; i += 1) {
    acks.push(await [alice, bob, carol][i % 3].send({ message: `n${i}` }));
  }
  carol.close();
  await alice.nextMatching("message", (m) => m.kind === "leave", "carol's leave");
  const after = Date.now();

  const seen = alice.all("message");
  // alice sees: her join, bob's join, carol's join, the 6 messages of bob and carol, carol's leave.
  assert.equal(seen.length, 3 + 6 + 1);
  for (let i = 1; i < seen.length; i += 1) {
    assert.ok(seen[i].id > seen[i - 1].id, `ids must increase: ${seen[i - 1].id} then ${seen[i].id}`);
    assert.ok(seen[i].ts >= seen[i - 1].ts, "ts never goes backwards");
  }
  for (const m of [...seen, ...acks]) {
    assert.ok(Number.isSafeInteger(m.id) && m.id >= 1);
    assert.ok(Number.isSafeInteger(m.ts), `ts is an integer: ${m.ts}`);
    assert.ok(m.ts >= before - 1000 && m.ts <= after + 1000, `ts ${m.ts} is within the test's run [${before}, ${after}] ± 1 s`);
  }
  // One shared sequence: the 3 joins, 10 messages and the leave got 14 distinct ids, increasing.
  const all = [...new Map([...seen, ...acks, ...bob.all("message")].map((m) => [m.id, m])).values()].sort((a, b) => a.id - b.id);
  assert.equal(all.length, 14);
  assert.deepEqual(all.map((m) => m.id), [...all.map((m) => m.id)].sort((a, b) => a - b));
  assert.deepEqual(stripIdTs(all[0]), joinOf("alice"));
  assert.deepEqual(stripIdTs(all[13]), leaveOf("carol"));
  assert.deepEqual(all.slice(3, 13).map((m) => m.message), acks.map((a) => a.message));
});

test("history after register holds the last N chat messages only (--history 3), oldest first", T, async (t) => {
  const s = await session(t, ["--history", "3"]);
  const alice = await s.join("alice");
  const acks = [];
  for (let i = 1; i <= 5; i += 1) acks.push(await alice.send({ message: `h${i}` }));
  const bob = await s.client({}, "bob");
  assert.equal(await bob.register("bob"), true);
  const history = await bob.next("history");
  assert.deepEqual(history, acks.slice(2), "the 3 last chat messages, no announcements, oldest first");
  assert.deepEqual(await bob.next("users"), ["alice", "bob"]);
  const join = await bob.next("message");
  assert.deepEqual(stripIdTs(join), joinOf("bob"));
  assert.ok(history.every((m) => m.id < join.id), "history ids are smaller than the newcomer's join id");
});

test("history for the first user is an empty array; announcements are never in history", T, async (t) => {
  const s = await session(t);
  const a = await s.client();
  assert.equal(await a.register("a"), true);
  assert.deepEqual(await a.next("history"), []);
  const b = await s.join("b");
  b.close();
  await a.nextMatching("message", (m) => m.kind === "leave", "b's leave");
  assert.deepEqual(await a.ack("history"), []);
  const c = await s.client();
  assert.equal(await c.register("c"), true);
  assert.deepEqual(await c.next("history"), []);
});

test("history request: {after} gives newer chat messages; no argument or {} gives everything retained", T, async (t) => {
  const s = await session(t, ["--history", "4"]);
  const alice = await s.join("alice");
  const bob = await s.join("bob");
  const acks = [];
  for (let i = 1; i <= 6; i += 1) acks.push(await [alice, bob][i % 2].send({ message: `r${i}` }));
  const retained = acks.slice(2);
  assert.deepEqual(await alice.ack("history"), retained);
  assert.deepEqual(await alice.ack("history", [{}]), retained);
  assert.deepEqual(await alice.ack("history", [{ after: 0 }]), retained);
  assert.deepEqual(await alice.ack("history", [{ after: acks[3].id }]), acks.slice(4));
  assert.deepEqual(await bob.ack("history", [{ after: acks[4].id }]), [acks[5]]);
  assert.deepEqual(await bob.ack("history", [{ after: acks[5].id }]), []);
  assert.deepEqual(await bob.ack("history", [{ after: acks[5].id + 1000 }]), []);
  // A window jump: asking after the oldest id returns from the first retained one (id > after + 1).
  const fromStart = await bob.ack("history", [{ after: acks[0].id }]);
  assert.deepEqual(fromStart, retained);
  assert.ok(fromStart[0].id > acks[0].id + 1);
  // An unregistered socket is refused: an empty page would read as "nothing after 0".
  const lurker = await s.client();
  assert.equal((await lurker.ack("history")).error, "not_registered");
  assert.equal((await lurker.ack("history", [{ after: 0 }])).error, "not_registered");
  assert.deepEqual(await lurker.next("refused"), { event: "history", ...(await lurker.ack("history", [{}])) });
  await s.assertStillServes([alice, bob, lurker]);
});

test("history request with garbage arguments answers everything retained and keeps the connection", T, async (t) => {
  const s = await session(t);
  const alice = await s.join("alice");
  const m = await alice.send({ message: "kept" });
  for (const arg of ["nonsense", 5, null, [1], { after: "x" }, { after: -1 }]) {
    const answer = await alice.ack("history", [arg]);
    assert.ok(Array.isArray(answer), `history(${JSON.stringify(arg)}) answers an array, got ${JSON.stringify(answer)}`);
    assert.deepEqual(answer, [m], `history(${JSON.stringify(arg)})`);
  }
  await s.assertStillServes([alice]);
});

test("users event after register and users request list names in order of joining", T, async (t) => {
  const s = await session(t);
  const names = ["zed", "amy", "Émile", "bob"];
  const clients = [];
  for (const [i, name] of names.entries()) {
    const c = await s.client({}, name);
    assert.equal(await c.register(name), true);
    await c.next("history");
    assert.deepEqual(await c.next("users"), names.slice(0, i + 1));
    clients.push(c);
  }
  for (const c of clients) assert.deepEqual(await c.ack("users"), names);
  clients[1].close();
  await clients[0].nextMatching("message", (m) => m.kind === "leave", "amy's leave");
  assert.deepEqual(await clients[0].ack("users"), ["zed", "Émile", "bob"]);
  const lurker = await s.client();
  assert.deepEqual(await lurker.ack("users"), []);
});

test("typing is relayed to the others as {name, typing}, not to the sender", T, async (t) => {
  const s = await session(t);
  const alice = await s.join("alice");
  const bob = await s.join("bob");
  const carol = await s.join("carol");
  alice.emit("typing", true);
  assert.deepEqual(await bob.next("typing"), { name: "alice", typing: true });
  assert.deepEqual(await carol.next("typing"), { name: "alice", typing: true });
  alice.emit("typing", false);
  assert.deepEqual(await bob.next("typing"), { name: "alice", typing: false });
  assert.deepEqual(await carol.next("typing"), { name: "alice", typing: false });
  // Barrier: a request answered on alice's connection after the relays; no typing event for her.
  await alice.ack("users");
  assert.deepEqual(alice.all("typing"), []);
  // bob's typing reaches alice and carol but not bob.
  bob.emit("typing", true);
  assert.deepEqual(await alice.next("typing"), { name: "bob", typing: true });
  assert.deepEqual(await carol.next("typing"), { name: "bob", typing: true });
  await bob.ack("users");
  assert.deepEqual(bob.all("typing").filter((n) => n.name === "bob"), []);
});

test("typing: repeated identical notices within a second are dropped; malformed ones ignored", T, async (t) => {
  const s = await session(t);
  const alice = await s.join("alice");
  const bob = await s.join("bob");
  alice.emit("typing", true);
  alice.emit("typing", true);
  alice.emit("typing", true);
  alice.emit("typing", "yes");
  alice.emit("typing", 1);
  alice.emit("typing");
  // Handlers may run concurrently: wait until alice's notices were handled, then mark the end with
  // a message that bob receives after anything relayed before it.
  await alice.ack("users");
  const marker = await alice.send({ message: "marker" });
  assert.deepEqual(await bob.nextMatching("message", (m) => m.id === marker.id, "the marker"), marker);
  assert.deepEqual(bob.all("typing"), [{ name: "alice", typing: true }]);
  assert.equal(alice.connected, true);
});

test("typing: a repeated true is relayed again once a second has passed", T, async (t) => {
  const s = await session(t);
  const alice = await s.join("alice");
  const bob = await s.join("bob");
  alice.emit("typing", true);
  assert.deepEqual(await bob.next("typing"), { name: "alice", typing: true });
  // The throttle is time-based: wait it out (1 s plus a margin).
  await new Promise((resolve) => setTimeout(resolve, 1_200));
  alice.emit("typing", true);
  assert.deepEqual(await bob.next("typing"), { name: "alice", typing: true });
  alice.emit("typing", false);
  assert.deepEqual(await bob.next("typing"), { name: "alice", typing: false });
});

test("typing from an unregistered socket is not relayed and the socket stays connected", T, async (t) => {
  const s = await session(t);
  const alice = await s.join("alice");
  const lurker = await s.client();
  lurker.emit("typing", true);
  await lurker.ack("users");
  const bob = await s.join("bob");
  const m = await bob.send({ message: "after" });
  assert.deepEqual(await alice.nextMatching("message", (x) => x.id === m.id, "bob's message"), m);
  assert.deepEqual(alice.all("typing"), []);
  assert.equal(lurker.connected, true);
});

test("password: no auth is refused with 'password required'", T, async (t) => {
  const s = await session(t, ["--password", "s3cret"]);
  const c = s.rawClient();
  const error = await c.connectError();
  assert.equal(error.message, "password required");
  const c2 = s.rawClient({ auth: { user: "x" } });
  assert.equal((await c2.connectError()).message, "password required");
  const c3 = s.rawClient({ auth: { password: 1234 } });
  assert.equal((await c3.connectError()).message, "password required", "a non-string password counts as none");
});

test("password: a wrong password is refused with 'wrong password'", T, async (t) => {
  const s = await session(t, ["--password", "s3cret", "--password-attempts", "10"]);
  for (const password of ["wrong", "S3CRET", "s3cret ", ""]) {
    const c = s.rawClient({ auth: { password } });
    assert.equal((await c.connectError()).message, "wrong password", `password ${JSON.stringify(password)}`);
  }
});

test("password: guessing is cut off after the free attempts, even for the right password", T, async (t) => {
  const s = await session(t, ["--password", "s3cret"]);
  const answers = [];
  for (let i = 0; i < 6; i += 1) answers.push((await s.rawClient({ auth: { password: `guess${i}` } }).connectError()).message);
  assert.deepEqual(answers.slice(0, 3), ["wrong password", "wrong password", "wrong password"]);
  assert.ok(answers.slice(3).every((m) => m === AUTH_ERRORS.TOO_MANY_ATTEMPTS), answers.join(" | "));
  const right = await s.rawClient({ auth: { password: "s3cret" } }).connectError();
  assert.equal(right.message, AUTH_ERRORS.TOO_MANY_ATTEMPTS, "the right password is not even looked at during the wait");
});

test("password: the right password works (also from CONFAB_PASSWORD), and refused clients do not disturb the room", T, async (t) => {
  const s = await session(t, [], { env: { CONFAB_PASSWORD: "pässwörd 🦀" } });
  const auth = { auth: { password: "pässwörd 🦀" } };
  const alice = await s.join("alice", auth);
  const bob = await s.join("bob", auth);
  assert.deepEqual(stripIdTs(await alice.next("message")), joinOf("bob"));
  const intruder = s.rawClient({ auth: { password: "nope" } });
  assert.equal((await intruder.connectError()).message, "wrong password");
  const acked = await bob.send({ message: "authenticated" });
  assert.deepEqual(await alice.next("message"), acked);
});

test("without a server password the auth payload is ignored", T, async (t) => {
  const s = await session(t);
  const alice = await s.join("alice", { auth: { password: "whatever" } });
  const bob = await s.join("bob");
  assert.deepEqual(stripIdTs(await alice.next("message")), joinOf("bob"));
});

test("GET /health reports registered users and connections", T, async (t) => {
  const s = await session(t);
  const health = async () => {
    const response = await fetch(`${s.url}/health`, { signal: AbortSignal.timeout(5000) });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /application\/json/);
    return response.json();
  };
  assert.deepEqual(await health(), { status: "ok", users: 0, connections: 0 });
  const watcher = await s.join("watcher");
  const alice = await s.join("alice");
  await s.client(); // connected, not registered
  assert.deepEqual(await health(), { status: "ok", users: 2, connections: 3 });
  alice.close();
  assert.deepEqual(stripIdTs(await watcher.nextMatching("message", (m) => m.kind === "leave", "alice's leave")), leaveOf("alice"));
  assert.deepEqual(await health(), { status: "ok", users: 1, connections: 2 });
});

test("server shutdown (SIGTERM) announces the shutdown to every registered user, with no leave messages", T, async (t) => {
  const s = await session(t);
  const alice = await s.join("alice");
  const bob = await s.join("bob");
  await alice.next("message");
  const status = await s.server.stop();
  const toAlice = await alice.next("message");
  const toBob = await bob.next("message");
  assert.deepEqual(stripIdTs(toAlice), { from: "Server", message: "The chat was closed: its server stopped", kind: "shutdown" });
  assert.deepEqual(toBob, toAlice);
  await alice.disconnected();
  await bob.disconnected();
  assert.equal(alice.all("message").length, 3, "no leave announcements after the shutdown");
  assert.equal(bob.all("message").length, 2);
  assert.equal(status.code, 0, `the server exits with status 0 on SIGTERM (got ${JSON.stringify(status)})`);
});
