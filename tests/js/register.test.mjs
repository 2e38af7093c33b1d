// Bad and edge-case input to `register` (PROTOCOL.md §1.1). After each refusal the refused client is
// still connected and can register a valid name, and the server still serves others.

import assert from "node:assert/strict";
import { test } from "node:test";
import { session, stripIdTs, joinOf, uniqueName } from "./support/client.mjs";

const T = { timeout: 30_000 };

/**
 * `args` (the exact arguments of the register emit) must be answered `false`; nothing is announced
 * (an existing member sees the valid join that follows as its next message), the client stays
 * connected and can then register a valid name; a fresh pair can still chat.
 */
async function refusedRegister(t, args, setup) {
  const s = await session(t);
  const watcher = await s.join(uniqueName("watcher"));
  const context = setup ? await setup(s, watcher) : {};
  const offender = await s.client({}, "offender");
  assert.equal(await offender.register(...args), false, `register(${args.map((a) => JSON.stringify(a)).join(", ")}) must be refused`);
  assert.equal(offender.connected, true, "the refused client stays connected");
  assert.deepEqual(await offender.ack("users"), [], "the refused client is not in the room");
  // A refused register produces no history/users/message (nor register) events for the offender:
  // they would have been queued before the answer to its later `users` request.
  assert.deepEqual(offender.unconsumed(), [], "a refused client receives nothing");
  // It can still register a valid name; the watcher's next message is exactly that join.
  const name = uniqueName("fixed");
  assert.equal(await offender.register(name), true);
  assert.deepEqual(stripIdTs(await watcher.next("message")), joinOf(name));
  await s.assertStillServes([offender, watcher]);
  return { s, watcher, offender, ...context };
}

for (const [label, args] of [
  ["a number", [42]],
  ["a boolean", [true]],
  ["an object", [{ name: "alice" }]],
  ["null", [null]],
  ["an array", [["alice"]]],
  ["no argument", []],
  ["an empty string", [""]],
  ["only whitespace", ["   \t  "]],
  ["33 characters", ["a".repeat(33)]],
  ["33 characters after trimming 2 spaces of 35", [` ${"b".repeat(33)} `]],
  ["a newline inside", ["ali\nce"]],
  ["a NUL character", ["ali\u0000ce"]],
  ["U+001F", ["ali\u001fce"]],
  ["DEL U+007F", ["alice\u007f"]],
  ["a C1 control U+0085", ["ali\u0085ce"]],
  ["U+009F", ["\u009falice"]],
  ['"Server"', ["Server"]],
  ['"sErVeR"', ["sErVeR"]],
  ['" server " (trimmed to the reserved name)', [" server "]],
]) {
  test(`register with ${label} is refused with false and the server keeps serving`, T, async (t) => {
    await refusedRegister(t, args);
  });
}

test("register with a name taken in another letter case is refused; the holder keeps it", T, async (t) => {
  const { watcher, alice } = await refusedRegister(t, ["ALICE"], async (s, watcher) => {
    const alice = await s.join("alice");
    assert.deepEqual(stripIdTs(await watcher.next("message")), joinOf("alice"));
    return { alice };
  });
  assert.ok(alice.connected);
  assert.ok((await watcher.ack("users")).includes("alice"), "alice keeps her name");
  const acked = await alice.send({ message: "still me" });
  assert.equal(acked.from, "alice");
});

test("register with a taken name differing in non-ASCII case (Unicode lower-casing) is refused", T, async (t) => {
  await refusedRegister(t, ["ÉLODIE"], async (s, watcher) => {
    const elodie = await s.join("élodie");
    assert.deepEqual(stripIdTs(await watcher.next("message")), joinOf("élodie"));
    return { elodie };
  });
});

test("a second register on a registered socket is refused and the first name stays", T, async (t) => {
  const s = await session(t);
  const watcher = await s.join("watcher");
  const alice = await s.join("alice");
  assert.deepEqual(stripIdTs(await watcher.next("message")), joinOf("alice"));
  assert.equal(await alice.register("alicia"), false);
  assert.equal(await alice.register("alice"), false, "even the same name again");
  assert.deepEqual(await alice.ack("users"), ["watcher", "alice"]);
  // Messages still carry the first name; nothing was announced in between.
  const acked = await alice.send({ message: "still alice" });
  assert.deepEqual(await watcher.next("message"), { from: "alice", message: "still alice", id: acked.id, ts: acked.ts });
  // The second name was not reserved: someone else can take it.
  const other = await s.client();
  assert.equal(await other.register("alicia"), true);
  await s.assertStillServes([alice, watcher]);
});

test("a refused name is not reserved: the next client can take a valid name right away", T, async (t) => {
  const s = await session(t);
  const a = await s.client();
  assert.equal(await a.register("x".repeat(33)), false);
  const b = await s.client();
  assert.equal(await b.register("x".repeat(32)), true);
});

test("extra register arguments are ignored (the first one counts)", T, async (t) => {
  const s = await session(t);
  const a = await s.client();
  assert.equal(await a.register("alice", "bob", 3), true);
  assert.deepEqual(await a.next("users"), ["alice"]);
  const b = await s.client();
  assert.equal(await b.register(7, "bob"), false, "a non-string first argument is refused");
});

test("names of exactly 32 characters are accepted: ASCII, and 32 emoji (counted as characters, not bytes or UTF-16 units)", T, async (t) => {
  const s = await session(t);
  const watcher = await s.join("watcher");
  for (const name of ["n".repeat(32), "🦀".repeat(32), "👍".repeat(31) + "é", " " + "ü".repeat(32) + " "]) {
    const c = await s.client();
    assert.equal(await c.register(name), true, `${JSON.stringify(name)} (${[...name.trim()].length} characters) must be accepted`);
    assert.deepEqual(stripIdTs(await watcher.next("message")), joinOf(name.trim()));
    const acked = await c.send({ message: "hi" });
    assert.equal(acked.from, name.trim());
    assert.deepEqual(await watcher.next("message"), acked);
  }
  const c = await s.client();
  assert.equal(await c.register("🦀".repeat(33)), false, "33 emoji are too many");
});

test("a name with inner spaces and punctuation is accepted as is", T, async (t) => {
  const s = await session(t);
  const c = await s.client();
  assert.equal(await c.register("  Dr. Zoë-Ann O'Neil  "), true);
  assert.deepEqual(await c.next("users"), ["Dr. Zoë-Ann O'Neil"]);
});
