// The peer to beat: the Confab chat protocol (docs/PROTOCOL.md) on the official Node `socket.io`
// server, for `confab-bench compare`. Same rules as confab-server on every measured path: `welcome`
// with its limits, register answered by the ack (or by a `register` event when no ack is asked),
// unique names (case-insensitive), history + users to the newcomer, join/leave announcements,
// `message` relayed to the others with `from` set to the sender's name, ack with the delivered
// message, room-wide ids, `users` and `history` requests. Every constant, text and rule comes from
// ui/js/protocol.js (generated from the Rust crate confab-server uses), so the two cannot drift apart.
// No flood control and no typing relay (the bench runs confab-server with --rate 0 and sends no typing).
// With --redis URL, several processes are one room through the official @socket.io/redis-adapter
// (Redis pub/sub, the `redis` client): every broadcast reaches the sockets of every process. The adapter
// relays broadcasts only, so names, ids, history and the users list stay per process (unique names on
// one process, ids counted by each process): what socket.io offers for a cluster without more code.
// Usage: node bench/node-server/server.mjs [--port 0] [--bind 127.0.0.1] [--history 200] [--redis URL]
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { Server } from "socket.io";
import {
  ANNOUNCEMENT_KINDS,
  DEFAULT_HISTORY,
  DEFAULT_LIMITS,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_PING_TIMEOUT_MS,
  EVENTS,
  PROTOCOL_VERSION,
  REFUSAL_CODES,
  SERVER_NAME,
  announcementText,
  checkText,
  foldName,
  refusalReason,
  validateName,
} from "../../ui/js/protocol.js";

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
};
const port = Number(arg("port", "7879"));
const bind = arg("bind", "127.0.0.1");
const historyCapacity = Number(arg("history", String(DEFAULT_HISTORY)));
const redisUrl = arg("redis", undefined);
// As confab-server --rate 0 reports them: the sustained rate 0 means "no rate limit".
const limits = Object.freeze({ ...DEFAULT_LIMITS, messagesPerSecond: 0 });
const welcome = { protocol: PROTOCOL_VERSION, run: randomUUID().replaceAll("-", ""), limits };
const ROOM = "chat";

const members = new Map(); // socket.id -> name, in order of joining
const owners = new Map(); // folded name -> socket.id
const history = [];
let lastId = 0;

const httpServer = createServer((req, res) => {
  if (req.url === "/health") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ status: "ok", users: members.size, connections: io.engine.clientsCount }));
    return;
  }
  res.writeHead(404).end();
});
const io = new Server(httpServer, {
  pingInterval: DEFAULT_PING_INTERVAL_MS,
  pingTimeout: DEFAULT_PING_TIMEOUT_MS,
  connectTimeout: 10000,
  maxHttpBufferSize: limits.maxPacketBytes,
  serveClient: false,
});

/** Splits socket.io handler arguments into the first argument and the ack (undefined if none asked). */
const split = (args) => {
  const ack = typeof args[args.length - 1] === "function" ? args.pop() : undefined;
  return [args[0], ack];
};

function announce(kind, name) {
  const message = { from: SERVER_NAME, message: announcementText(kind, name), id: ++lastId, ts: Date.now(), kind, name };
  io.to(ROOM).emit(EVENTS.MESSAGE, message);
}

function refuse(socket, ack, error) {
  const refusal = { error, reason: refusalReason(error, limits) };
  if (ack) ack(refusal);
  socket.emit(EVENTS.REFUSED, { event: EVENTS.MESSAGE, ...refusal });
}

io.on("connection", (socket) => {
  socket.emit(EVENTS.WELCOME, welcome);

  socket.on(EVENTS.REGISTER, (...args) => {
    const [raw, ack] = split(args);
    // Like the seed's own server, a client that asks no ack gets the answer as an event.
    const reply = ack ?? ((ok) => socket.emit(EVENTS.REGISTER, ok));
    const { name } = validateName(raw, limits.maxNameChars);
    if (name === undefined || members.has(socket.id) || owners.has(foldName(name))) return reply(false);
    reply(true);
    socket.emit(EVENTS.HISTORY, history);
    owners.set(foldName(name), socket.id);
    members.set(socket.id, name);
    socket.join(ROOM);
    socket.emit(EVENTS.USERS, [...members.values()]);
    announce(ANNOUNCEMENT_KINDS.JOIN, name);
  });

  socket.on(EVENTS.MESSAGE, (...args) => {
    const [payload, ack] = split(args);
    const from = members.get(socket.id);
    if (from === undefined) return refuse(socket, ack, REFUSAL_CODES.NOT_REGISTERED);
    const text = payload !== null && typeof payload === "object" ? payload.message : undefined;
    const refused = checkText(text, limits);
    if (refused !== null) return refuse(socket, ack, refused);
    const message = { from, message: text, id: ++lastId, ts: Date.now() };
    socket.to(ROOM).emit(EVENTS.MESSAGE, message);
    history.push(message);
    if (history.length > historyCapacity) history.shift();
    if (ack) ack(message);
  });

  socket.on(EVENTS.USERS, (...args) => {
    const [, ack] = split(args);
    if (ack) ack(members.has(socket.id) ? [...members.values()] : []);
  });

  socket.on(EVENTS.HISTORY, (...args) => {
    const [request, ack] = split(args);
    // No argument, {} or garbage mean "everything retained", as on confab-server.
    const after = Number.isSafeInteger(request?.after) && request.after >= 0 ? request.after : 0;
    if (ack) ack(members.has(socket.id) ? history.filter((m) => m.id > after) : []);
  });

  socket.on("disconnect", (reason) => {
    // A client the server gave up on is worth a line ("transport error" is also every client that
    // drops its socket at the end of a run, so only this one).
    if (reason === "ping timeout") console.error(`disconnected ${socket.id}: ${reason}`);
    const name = members.get(socket.id);
    if (name === undefined) return;
    members.delete(socket.id);
    owners.delete(foldName(name));
    announce(ANNOUNCEMENT_KINDS.LEAVE, name);
  });
});

if (redisUrl !== undefined) {
  // Loaded only for a cluster: the single-process bench needs nothing but socket.io.
  const { createAdapter } = await import("@socket.io/redis-adapter");
  const { createClient } = await import("redis");
  const pubClient = createClient({ url: redisUrl });
  const subClient = pubClient.duplicate();
  for (const client of [pubClient, subClient]) client.on("error", (e) => console.error(`redis: ${e.message}`));
  await Promise.all([pubClient.connect(), subClient.connect()]);
  io.adapter(createAdapter(pubClient, subClient));
}

httpServer.listen(port, bind, () => {
  const { address, port: bound } = httpServer.address();
  console.log(`Confab node reference server running on ${address}:${bound}`);
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));
