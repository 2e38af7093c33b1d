// socket.io-client helpers: connect, register, and wait for events, always with a timeout.

import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { startSeedServer, startServer } from "./server.mjs";

/** Default wait for any single event or ack. */
export const WAIT_MS = 5_000;
/**
 * How long "nothing more arrives" is watched for. An answer the server sends together with another
 * (a second reply to one register) comes within a few ms on loopback; this leaves a wide margin.
 */
export const SILENCE_MS = 300;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let nameCounter = 0;
/** A fresh, valid, unique user name. */
export function uniqueName(prefix = "user") {
  nameCounter += 1;
  return `${prefix}${nameCounter}`;
}

/** Resolves `promise` or rejects with `message` after `ms`. */
export function withTimeout(promise, ms, message) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${message}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * One socket.io client. Every event it receives is recorded (in order) per event name; `next` consumes
 * them in order, so no event can be missed between two waits.
 */
export class TestClient {
  constructor(url, options = {}, label = "client") {
    this.label = label;
    this.name = undefined;
    /** event name -> array of first arguments, in arrival order */
    this.received = new Map();
    /** event name -> how many of `received` were consumed by `next` */
    this.cursors = new Map();
    /** [{event, wake}] */
    this.waiters = [];
    this.socket = io(url, {
      transports: ["websocket"],
      reconnection: false,
      forceNew: true,
      timeout: WAIT_MS,
      ...options,
    });
    /** Every socket.io packet decoded by this client's manager (type, id, data), for failure reports. */
    this.packets = [];
    this.socket.io.on("packet", (packet) => {
      this.packets.push(`${packet.type}${packet.id ?? ""}${JSON.stringify(packet.data ?? null).slice(0, 80)}`);
    });
    this.socket.onAny((event, ...args) => this.record(event, args[0]));
    this.socket.on("disconnect", (reason) => this.record("disconnect", reason));
    this.socket.on("connect_error", (error) => this.record("connect_error", error));
  }

  record(event, payload) {
    if (!this.received.has(event)) this.received.set(event, []);
    this.received.get(event).push(payload);
    for (const waiter of this.waiters.filter((w) => w.event === event)) waiter.wake();
  }

  /** Every payload of `event` received so far (consumed or not). */
  all(event) {
    return this.received.get(event) ?? [];
  }

  /** Payloads of `event` received but not yet consumed by `next`. */
  pending(event) {
    return this.all(event).slice(this.cursors.get(event) ?? 0);
  }

  /** The next not yet consumed payload of `event`; waits up to `ms` for it. */
  async next(event, ms = WAIT_MS) {
    const list = () => this.all(event);
    const cursor = () => this.cursors.get(event) ?? 0;
    if (cursor() >= list().length) {
      let waiter;
      const arrived = new Promise((resolve) => {
        waiter = { event, wake: resolve };
        this.waiters.push(waiter);
      });
      try {
        await withTimeout(arrived, ms, `${this.label} (${this.name ?? "unregistered"}) waiting for event "${event}"`).catch((error) => {
          error.message += `; packets received: ${this.packets.slice(-8).join(" | ")}`;
          throw error;
        });
      } finally {
        this.waiters = this.waiters.filter((w) => w !== waiter);
      }
    }
    const payload = list()[cursor()];
    this.cursors.set(event, cursor() + 1);
    return payload;
  }

  /** Consumes payloads of `event` until one satisfies `predicate`; returns it. */
  async nextMatching(event, predicate, description = "a matching payload", ms = WAIT_MS) {
    const deadline = Date.now() + ms;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms: ${this.label} waiting for "${event}" with ${description}`);
      let payload;
      try {
        payload = await this.next(event, left);
      } catch {
        throw new Error(`timed out after ${ms} ms: ${this.label} waiting for "${event}" with ${description}`);
      }
      if (predicate(payload)) return payload;
    }
  }

  /** Names of the events received but not yet consumed by `next`, in order of first arrival. */
  unconsumed() {
    return [...this.received.keys()].filter((event) => this.pending(event).length > 0);
  }

  /** Waits `ms`, then returns `unconsumed()`: for "nothing else arrives" checks. */
  async unconsumedAfter(ms = SILENCE_MS) {
    await sleep(ms);
    return this.unconsumed();
  }

  /** Emits with an ack and resolves to the ack's first argument; fails after `ms`. */
  async ack(event, args = [], ms = WAIT_MS) {
    try {
      return await this.socket.timeout(ms).emitWithAck(event, ...args);
    } catch (error) {
      throw new Error(`${this.label} (${this.name ?? "unregistered"}): no ack for "${event}" ${JSON.stringify(args).slice(0, 120)} within ${ms} ms (${error.message})`);
    }
  }

  /** Emits without an ack. */
  emit(event, ...args) {
    this.socket.emit(event, ...args);
  }

  /** `register` with exactly the given arguments; resolves to the ack. */
  async register(...args) {
    const ok = await this.ack("register", args);
    if (ok === true && typeof args[0] === "string") this.name = args[0].trim();
    return ok;
  }

  /**
   * `register` as a seed client sends it: no ack asked; the answer is the next `register` event.
   * Resolves to that event's boolean.
   */
  async registerWithoutAck(...args) {
    this.emit("register", ...args);
    const ok = await this.next("register");
    if (ok === true && typeof args[0] === "string") this.name = args[0].trim();
    return ok;
  }

  /** Sends a chat message with an ack; resolves to the ack. */
  send(payload) {
    return this.ack("message", [payload]);
  }

  get connected() {
    return this.socket.connected;
  }

  /** Resolves once connected; rejects with the connect error. */
  async ready() {
    if (this.socket.connected) return this;
    await withTimeout(
      new Promise((resolve, reject) => {
        this.socket.once("connect", resolve);
        this.socket.once("connect_error", reject);
      }),
      WAIT_MS,
      `${this.label} connecting`,
    );
    return this;
  }

  /**
   * Waits until the server both answers requests on this socket and can emit events to it: an
   * unregistered `message` is sent (each try with a short timeout) until both its ack and its
   * `refused` event arrive; those probe `refused` events are then forgotten.
   *
   * Why: two races in confab-server / socketioxide make the very first events of a connection
   * unreliable (see first-event.test.mjs, which shows them): events received before the handlers are
   * attached are dropped, and emits (not acks) fail while socketioxide has sent the CONNECT packet but
   * not yet marked the socket connected. Every other test waits for this barrier so that it tests what
   * it is about instead of failing at random on those races.
   */
  async serverReady(tries = 40, tryMs = 250) {
    for (let i = 0; i < tries; i += 1) {
      try {
        await this.socket.timeout(tryMs).emitWithAck("message", { message: "readiness probe" });
        await this.next("refused", tryMs);
        // Events are delivered in order: every earlier probe's `refused` has arrived or is lost.
        this.received.delete("refused");
        this.cursors.delete("refused");
        return this;
      } catch {
        // not ready yet: ask again
      }
    }
    throw new Error(`${this.label}: the server never both acked and refused a probe message (${tries} tries of ${tryMs} ms)`);
  }

  /** The connect error (the test fails if the client connects instead). */
  async connectError() {
    return withTimeout(
      new Promise((resolve, reject) => {
        this.socket.once("connect", () => reject(new Error(`${this.label} connected but a connect error was expected`)));
        this.socket.once("connect_error", resolve);
      }),
      WAIT_MS,
      `${this.label} waiting for connect_error`,
    );
  }

  /** Waits for the socket.io `disconnect` event; resolves to its reason. */
  disconnected(ms = WAIT_MS) {
    return this.next("disconnect", ms);
  }

  close() {
    this.socket.disconnect();
  }
}

/** `payload` without `id` and `ts`, after checking they are integers. */
export function stripIdTs(payload) {
  assert.equal(typeof payload, "object", `expected an object, got ${JSON.stringify(payload)}`);
  assert.ok(Number.isSafeInteger(payload.id) && payload.id > 0, `id must be a positive integer: ${JSON.stringify(payload)}`);
  assert.ok(Number.isSafeInteger(payload.ts) && payload.ts > 0, `ts must be a positive integer: ${JSON.stringify(payload)}`);
  const { id, ts, ...rest } = payload;
  return rest;
}

export const joinOf = (name) => ({ from: "Server", message: `${name} has joined the chat`, kind: "join", name });
export const leaveOf = (name) => ({ from: "Server", message: `${name} left the chat`, kind: "leave", name });

/**
 * `welcome` (PROTOCOL.md), after checking its shape: protocol 1, a hex run id, and every limit a
 * non-negative integer.
 */
export function checkWelcome(welcome) {
  assert.equal(welcome?.protocol, 1, `welcome: ${JSON.stringify(welcome)}`);
  assert.match(welcome.run, /^[0-9a-f]+$/, "welcome.run names this server run in hex");
  assert.deepEqual(Object.keys(welcome.limits).sort(), ["maxMessageChars", "maxNameChars", "maxPacketBytes", "messageBurst", "messagesPerSecond"]);
  for (const [key, value] of Object.entries(welcome.limits)) assert.ok(Number.isSafeInteger(value) && value >= 0, `limits.${key}: ${value}`);
  return welcome;
}

/**
 * The clients of one test on `server`, all disconnected (and the server stopped) by `t.after`.
 * `prepare(client)` runs once each client is connected.
 */
function clientsOn(t, server, prepare = async () => {}) {
  const clients = [];
  t.after(async () => {
    for (const c of clients) c.socket.disconnect();
    await server.stop();
  });
  return {
    server,
    url: server.url,
    clients,
    /** A connected, unregistered client. */
    async client(socketOptions = {}, label = `client${clients.length + 1}`) {
      const c = new TestClient(server.url, socketOptions, label);
      clients.push(c);
      await c.ready();
      await prepare(c);
      return c;
    },
    /** A client that is not (yet) connected: for connect errors. */
    rawClient(socketOptions = {}, label = `client${clients.length + 1}`) {
      const c = new TestClient(server.url, socketOptions, label);
      clients.push(c);
      return c;
    },
  };
}

/** The seed reference server stand-in (tests/seed-server/server.mjs) and the clients of one test. */
export async function seedSession(t) {
  return clientsOn(t, await startSeedServer());
}

/**
 * A running confab-server plus the clients of one test, all cleaned up by `t.after`. Each client
 * passed the readiness barrier and its `welcome` is consumed and checked (`client.welcome`).
 * Usage: `const s = await session(t, ["--history", "3"]);`
 */
export async function session(t, flags = [], options = {}) {
  const s = clientsOn(t, await startServer(flags, options), async (c) => {
    await c.serverReady();
    c.welcome = checkWelcome(await c.next("welcome"));
  });
  Object.assign(s, {
    /**
     * Connects and registers `name`, checks the ack is `true`, consumes its `history`, `users`, its file
     * token (`client.files`, §2.11) and its own join announcement, and returns the client.
     */
    async join(name = uniqueName(), socketOptions = {}) {
      const c = await s.client(socketOptions, name);
      assert.equal(await c.register(name), true, `register ${JSON.stringify(name)} should be accepted`);
      await c.next("history");
      await c.next("users");
      c.files = await c.next("files");
      const join = await c.next("message");
      assert.deepEqual(stripIdTs(join), joinOf(name.trim()));
      return c;
    },
    /**
     * Joins `names` in order and lets every member see the last one join, so each starts with no
     * announcement pending. Returns the clients in the same order.
     */
    async room(names) {
      const clients = [];
      for (const name of names) clients.push(await s.join(name));
      const last = names[names.length - 1];
      for (const c of clients.slice(0, -1)) {
        await c.nextMatching("message", (m) => m.name === last, `${last}'s join`);
      }
      return clients;
    },
    /**
     * Proves the server still serves: a brand-new pair of clients registers and chats. Also checks
     * every client in `stillConnected` is connected and answered by the server.
     */
    async assertStillServes(stillConnected = []) {
      for (const c of stillConnected) {
        assert.equal(c.connected, true, `${c.label} should still be connected`);
        assert.ok(Array.isArray(await c.ack("users")), `${c.label} should still get answers`);
      }
      const a = await s.join(uniqueName("probeA"));
      const b = await s.join(uniqueName("probeB"));
      assert.deepEqual(stripIdTs(await a.next("message")), joinOf(b.name));
      const text = `still alive ${b.name}`;
      const acked = await b.send({ message: text });
      const got = await a.nextMatching("message", (m) => m.from === b.name, `a message from ${b.name}`);
      assert.deepEqual(got, { from: b.name, message: text, id: acked.id, ts: acked.ts });
      a.close();
      b.close();
    },
  });
  return s;
}
