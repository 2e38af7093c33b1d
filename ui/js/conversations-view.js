// The DOM of conversations, for view.js: the list beside the chat (the room, then people, each with
// its unread count), names in the online list that open a private conversation, and what the chat
// says about the conversation shown. Names are network text: set as text only.

import { ROOM } from './conversations.js';

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

export class ConversationsView {
  #e; // { conversationList, peopleList, conversationName, input }
  #open = () => {};

  constructor(elements) {
    this.#e = elements;
    elements.conversationList.addEventListener('click', (event) => {
      const item = event.target.closest('[data-conversation]');
      if (item) this.#open({ key: item.dataset.conversation });
    });
    elements.peopleList.addEventListener('click', (event) => {
      const item = event.target.closest('[data-person]');
      if (item) this.#open({ name: item.dataset.person });
    });
  }

  /** `handler({ key })` from the conversations list, `handler({ name })` from the online list. */
  bindOpen(handler) {
    this.#open = handler;
  }

  /** The list: [{ key, name, unread, current }], the room first. */
  render(list) {
    this.#e.conversationList.replaceChildren(
      ...list.map(({ key, name, unread, current }) => {
        const item = el('li');
        const pick = el('button', `conversation${current ? ' current' : ''}${unread ? ' unread' : ''}`);
        pick.type = 'button';
        pick.dataset.conversation = key;
        if (current) pick.setAttribute('aria-current', 'true');
        pick.append(el('span', 'conversation-label', key === ROOM ? 'Room' : name));
        if (unread) {
          const badge = el('span', 'badge', String(unread));
          badge.setAttribute('aria-label', `${unread} unread`);
          pick.append(badge);
        }
        item.append(pick);
        return item;
      }),
    );
  }

  /** One name of the online list: others are buttons that open a private conversation. */
  person(name, own) {
    const item = el('li', own ? 'me' : null);
    if (own) {
      item.textContent = `${name} (you)`;
      return item;
    }
    const pick = el('button', 'person', name);
    pick.type = 'button';
    pick.dataset.person = name;
    pick.title = `Private conversation with ${name}`;
    item.append(pick);
    return item;
  }

  /** The conversation shown: a person's name in the top bar and the input's placeholder. */
  showCurrent(peer) {
    const e = this.#e;
    e.conversationName.hidden = peer == null;
    e.conversationName.textContent = peer == null ? '' : `Private with ${peer}`;
    e.input.placeholder =
      peer == null ? 'Message (Enter to send, Shift+Enter for a new line)' : `Private message to ${peer} (Enter to send)`;
  }
}
