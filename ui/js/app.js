// Entry point: one model, one view, one transport, wired by the controller.

import { ChatController } from './controller.js';
import { ChatModel } from './model.js';
import { createTransport } from './transport/index.js';
import { ChatView } from './view.js';

const transport = await createTransport();
const controller = new ChatController({ model: new ChatModel(), view: new ChatView(), transport });
controller.start();
