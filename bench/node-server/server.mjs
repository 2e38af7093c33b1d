// The peer to beat: the Confab chat protocol (docs/PROTOCOL.md) on the official Node `socket.io`
// server, for `confab-bench compare`. Same rules as confab-server on every measured path: register with
// a boolean ack, unique names (case-insensitive), history + users to the newcomer, join/leave
// announcements, `message` relayed to the others with `from` set to the sender's name, ack with the
// delivered message, room-wide ids. No flood control (the bench runs confab-server with --rate 0).
// Usage: node bench/node-server/server.mjs [--port 0] [--bind 127.0.0.1] [--history 200]
import { createServer } from "node:http";
import { Server } from "socket.io";

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
};
const port = Number(arg("port", "7879"));
const bind = arg("bind", "127.0.0.1");
const historyCapacity = Number(arg("history", "200"));
const MAX_NAME = 32;
const MAX_MESSAGE = 2000;
const ROOM = "chat";
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;

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
  pingInterval: 5000,
  pingTimeout: 4000,
  connectTimeout: 10000,
  maxHttpBufferSize: 64 * 1024,
  serveClient: false,
});

const chars = (s) => [...s].length;
const fold = (name) => name.toLowerCase();

function validName(raw) {
  if (typeof raw !== "string") return null;
  const name = raw.trim();
  const n = chars(name);
  if (n < 1 || n > MAX_NAME || CONTROL.test(name) || fold(name) === "server") return null;
  return name;
}

function announce(kind, name) {
  const text = kind === "join" ? `${name} has joined the chat` : `${name} left the chat`;
  const message = { from: "Server", message: text, id: ++lastId, ts: Date.now(), kind, name };
  io.to(ROOM).emit("message", message);
}

function refuse(socket, ack, error, reason) {
  if (typeof ack === "function") ack({ error, reason });
  socket.emit("refused", { event: "message", error, reason });
}

io.on("connection", (socket) => {
  socket.on("register", (...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : () => {};
    const name = validName(args[0]);
    if (name === null || members.has(socket.id) || owners.has(fold(name))) return ack(false);
    ack(true);
    socket.emit("history", history);
    owners.set(fold(name), socket.id);
    members.set(socket.id, name);
    socket.join(ROOM);
    socket.emit("users", [...members.values()]);
    announce("join", name);
  });

  socket.on("message", (...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : undefined;
    const payload = args[0];
    const from = members.get(socket.id);
    if (from === undefined) return refuse(socket, ack, "not_registered", "register a name before sending messages");
    if (payload === null || typeof payload !== "object" || typeof payload.message !== "string") {
      return refuse(socket, ack, "invalid_payload", 'expected an object with a string field "message"');
    }
    const text = payload.message;
    if (text.length > 4 * MAX_MESSAGE || chars(text) > MAX_MESSAGE) {
      return refuse(socket, ack, "too_long", "the message is longer than 2000 characters");
    }
    if (text.trim() === "") return refuse(socket, ack, "empty", "the message is empty");
    const message = { from, message: text, id: ++lastId, ts: Date.now() };
    socket.to(ROOM).emit("message", message);
    history.push(message);
    if (history.length > historyCapacity) history.shift();
    if (ack) ack(message);
  });

  socket.on("users", (ack) => {
    if (typeof ack === "function") ack(members.has(socket.id) ? [...members.values()] : []);
  });

  socket.on("disconnect", () => {
    const name = members.get(socket.id);
    if (name === undefined) return;
    members.delete(socket.id);
    owners.delete(fold(name));
    announce("leave", name);
  });
});

httpServer.listen(port, bind, () => {
  const { address, port: bound } = httpServer.address();
  console.log(`Confab node reference server running on ${address}:${bound}`);
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));
