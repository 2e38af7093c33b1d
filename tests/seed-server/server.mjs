// A stand-in for the seed's own reference server: a Node socket.io chat server written by the seed's
// author, speaking only shared/spec/PROTOCOL-SEED.md. Confab must interoperate with that server, so
// this one imitates its behaviour, quirks included, rather than our docs/PROTOCOL.md:
// - `register` (the raw name) is answered ONLY by a `register` event carrying true/false, never by an
//   ack, even when the client asks for one;
// - names are unique by exact string comparison ("bob" and "BOB" are two users); a non-string or
//   empty name is refused, and so is a second register on a registered socket;
// - the join line goes to the others only: a newcomer sees no announcement of its own;
// - a registered sender's `message` payload is forwarded to the others exactly as sent (`from` is not
//   corrected, nothing is added, nothing is checked); an unregistered socket's is dropped;
// - leaving is announced to the others, but the name is never freed: a client that reconnects finds
//   its own name taken;
// - no acks, ids, timestamps, history, users, typing, refusals or welcome.
// It is written independently on purpose: importing ui/js/protocol.js (our rules) would make it
// agree with Confab where the real one may not.
//
//   node tests/seed-server/server.mjs [port]     prints "listening <port>" once ready (port 0 = any)
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
const http = createServer();
const io = new Server(http);
const ROOM = 'chat';
const taken = new Set(); // every name ever registered: never freed
const nameOf = new Map(); // socket id → its registered name

io.on('connection', (socket) => {
  // No ack is ever called, so a trailing ack function is simply ignored.
  socket.on('register', (name) => {
    const ok = typeof name === 'string' && name !== '' && !taken.has(name) && !nameOf.has(socket.id);
    socket.emit('register', ok);
    if (!ok) return;
    taken.add(name);
    nameOf.set(socket.id, name);
    socket.join(ROOM);
    socket.to(ROOM).emit('message', { from: 'Server', message: `${name} has joined the chat` });
  });
  socket.on('message', (payload) => {
    if (nameOf.has(socket.id)) socket.to(ROOM).emit('message', payload);
  });
  socket.on('disconnect', () => {
    const name = nameOf.get(socket.id);
    if (name === undefined) return;
    nameOf.delete(socket.id);
    io.to(ROOM).emit('message', { from: 'Server', message: `${name} left the chat` });
  });
});

http.listen(port, '127.0.0.1', () => console.log(`listening ${http.address().port}`));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => { io.close(); process.exit(0); });
