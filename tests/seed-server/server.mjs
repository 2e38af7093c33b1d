// A chat server that knows only the seed protocol (shared/spec/PROTOCOL-SEED.md): `register` with a
// boolean ack, `message` {from, message} relayed to the others, `Server` join/leave lines. No ids, no
// history, no presence, no acks on messages. The desktop app must work against it unchanged.
//
//   node tests/seed-server/server.mjs [port]     prints "listening <port>" once ready (port 0 = any)
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
const http = createServer();
const io = new Server(http);
const names = new Map(); // socket id → registered name

io.on('connection', (socket) => {
  socket.on('register', (name, ack) => {
    const ok = typeof name === 'string' && name.trim() !== '' && name !== 'Server'
      && ![...names.values()].includes(name) && !names.has(socket.id);
    if (typeof ack === 'function') ack(ok);
    if (!ok) return;
    names.set(socket.id, name);
    socket.join('chat');
    io.to('chat').emit('message', { from: 'Server', message: `${name} has joined the chat` });
  });
  socket.on('message', (payload) => {
    const from = names.get(socket.id);
    if (!from || typeof payload?.message !== 'string') return;
    socket.to('chat').emit('message', { from, message: payload.message });
  });
  socket.on('disconnect', () => {
    const name = names.get(socket.id);
    if (!name) return;
    names.delete(socket.id);
    io.to('chat').emit('message', { from: 'Server', message: `${name} left the chat` });
  });
});

http.listen(port, '127.0.0.1', () => console.log(`listening ${http.address().port}`));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => { io.close(); process.exit(0); });
