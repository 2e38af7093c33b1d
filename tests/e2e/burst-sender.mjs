// Another person sending a burst, in a process of its own (node burst-sender.mjs URL NAME COUNT):
// emitting thousands of messages keeps a process's event loop busy for a while, and the e2e test
// that times the page's round trips must not be that process. Prints "sent" once every message has
// gone out, and stays in the chat until killed (its leave would be the page's newest line).
import { io } from 'socket.io-client';

const [url, name, count] = process.argv.slice(2);
const socket = io(url, { transports: ['websocket'], reconnection: false });
await new Promise((resolve, reject) => {
  socket.once('connect', resolve);
  socket.once('connect_error', reject);
});
if ((await socket.timeout(10_000).emitWithAck('register', name)) !== true) throw new Error(`register ${name} refused`);
console.log('registered');
// Waits for a go on stdin, so the test starts its clock with the burst.
await new Promise((resolve) => process.stdin.once('data', resolve));
for (let i = 0; i < Number(count); i++) socket.emit('message', { from: name, message: `burst ${i}` });
// The last one with an ack: once it is answered, every earlier one reached the server.
await socket.timeout(60_000).emitWithAck('message', { from: name, message: 'burst end' });
console.log('sent');
