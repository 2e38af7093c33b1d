// Entry point: one model, one view, one transport, wired by the controller.

import { ChatController } from './controller.js';
import { ChatModel } from './model.js';
import { createTransport } from './transport/index.js';
import { ChatView } from './view.js';

const transport = await createTransport();
const view = new ChatView();
if (transport.fixedServer) {
  // In a browser the page can only join the server that served it.
  view.server.value = transport.fixedServer;
  view.server.readOnly = true;
}
const controller = new ChatController({ model: new ChatModel(), view, transport });
controller.start();
