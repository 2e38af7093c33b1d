// Everything that touches the DOM. Text from the network is only ever set with textContent (never
// innerHTML), so a message like <img src=x onerror=alert(1)> shows literally.

import { MAX_MESSAGE_CHARS, charCount } from './model.js';

const $ = (id) => document.getElementById(id);
// "Near the bottom" leaves room for rounding and a partly visible last line.
const STICK_PX = 48;

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

function timeElement(ts) {
  const date = new Date(ts);
  const node = el('time', null, timeFormat.format(date));
  node.dateTime = date.toISOString();
  node.title = fullFormat.format(date);
  return node;
}

export class ChatView {
  constructor() {
    this.connectScreen = $('connect-screen');
    this.chatScreen = $('chat-screen');
    this.form = $('connect-form');
    this.server = $('server');
    this.username = $('username');
    this.password = $('password');
    this.remember = $('remember');
    this.keyringNote = $('keyring-note');
    this.connectError = $('connect-error');
    this.connectButton = $('connect-button');
    this.recent = $('recent');
    this.recentList = $('recent-list');
    this.messages = $('messages');
    this.jump = $('jump');
    this.input = $('input');
    this.sendForm = $('send-form');
    this.sendButton = $('send-button');
    this.counter = $('counter');
    this.typing = $('typing');
    this.people = $('people');
    this.peopleList = $('people-list');
    this.peopleCount = $('people-count');
    this.status = $('status');
    this.statusText = $('status-text');
    this.banner = $('banner');
    this.announcer = $('announcer');
    this.leaveButton = $('leave-button');
    this.nearby = $('nearby');
    this.nearbyList = $('nearby-list');
    this.nearbyEmpty = $('nearby-empty');
    this.hostOpen = $('host-open');
    this.hostScreen = $('host-screen');
    this.hostForm = $('host-form');
    this.chatName = $('chat-name');
    this.hostName = $('host-name');
    this.hostPassword = $('host-password');
    this.hostPort = $('host-port');
    this.hostError = $('host-error');
    this.hostOtherPort = $('host-other-port');
    this.hostButton = $('host-button');
    this.hostCancel = $('host-cancel');
    this.hosting = $('hosting');
    this.joinUrls = $('join-urls');
    this.stopHostingButton = $('stop-hosting');
    this.nodes = new Map(); // line key → element
    this.unseen = 0; // lines added while the user was scrolled up
    this.messages.addEventListener('scroll', () => {
      if (this.#nearBottom()) this.#hideJump();
    });
    this.jump.addEventListener('click', () => {
      this.scrollToBottom();
      this.input.focus();
    });
  }

  // ---- connect screen ----

  showConnect({ server = '', username = '' } = {}) {
    this.chatScreen.hidden = true;
    this.hostScreen.hidden = true;
    this.hosting.hidden = true;
    this.leaveButton.hidden = false;
    this.connectScreen.hidden = false;
    if (server) this.server.value = server;
    if (username) this.username.value = username;
    this.password.value = '';
    this.setConnecting(false);
    (this.server.value ? this.username : this.server).focus();
  }

  connectValues() {
    return { server: this.server.value.trim(), username: this.username.value, password: this.password.value, remember: this.remember.checked };
  }

  /** A note about saved passwords (the keyring is missing, ...); empty text hides it. */
  showKeyringNote(text) {
    this.keyringNote.textContent = text;
    this.keyringNote.hidden = !text;
  }

  setConnecting(busy) {
    this.connectButton.disabled = busy;
    this.connectButton.textContent = busy ? 'Connecting…' : 'Join';
    this.form.setAttribute('aria-busy', String(busy));
  }

  showConnectError(error) {
    this.connectError.textContent = error.message;
    this.connectError.hidden = false;
    const field = {
      invalid_address: this.server, unreachable: this.server, not_a_chat_server: this.server,
      name_rejected: this.username, password_required: this.password, wrong_password: this.password,
    }[error.code] ?? this.connectButton;
    field.focus();
    if (field.select) field.select();
  }

  clearConnectError() {
    this.connectError.hidden = true;
    this.connectError.textContent = '';
  }

  renderRecent(list, { onPick, onForget }) {
    this.recentList.replaceChildren();
    this.recent.hidden = list.length === 0;
    for (const entry of list) {
      const item = el('li');
      const pick = el('button', 'pick');
      pick.type = 'button';
      pick.append(el('span', 'where', entry.server.replace(/\/$/, '')), el('span', 'who', entry.username));
      pick.setAttribute('aria-label', `Fill in ${entry.server} as ${entry.username}`);
      pick.addEventListener('click', () => onPick(entry));
      const forget = el('button', 'forget', '×');
      forget.type = 'button';
      forget.setAttribute('aria-label', `Forget ${entry.server}`);
      forget.addEventListener('click', () => onForget(entry));
      item.append(pick, forget);
      this.recentList.append(item);
    }
  }

  /** Chats found on the network: [{ id, chatName, hostName, passwordRequired, url }]. */
  renderNearby(chats, { onPick }) {
    this.nearby.hidden = false;
    this.nearbyEmpty.hidden = chats.length > 0;
    this.nearbyList.replaceChildren(
      ...chats.map((chat) => {
        const item = el('li');
        const pick = el('button', 'pick');
        pick.type = 'button';
        pick.dataset.url = chat.url;
        const name = el('span', 'where', chat.chatName);
        if (chat.passwordRequired) {
          // A drawn padlock (CSS) plus a word: emoji fonts are missing on many Linux desktops.
          const lock = el('span', 'lock', 'password');
          lock.title = 'Needs a password';
          name.append(lock);
        }
        pick.append(name, el('span', 'who', chat.hostName ? `hosted by ${chat.hostName}` : ''));
        pick.setAttribute('aria-label', `Join ${chat.chatName}${chat.hostName ? `, hosted by ${chat.hostName}` : ''}${chat.passwordRequired ? ', needs a password' : ''}`);
        pick.addEventListener('click', () => onPick(chat));
        item.append(pick);
        return item;
      }),
    );
  }

  showNearbyUnavailable(message) {
    this.nearby.hidden = false;
    this.nearbyList.replaceChildren();
    this.nearbyEmpty.hidden = false;
    this.nearbyEmpty.textContent = `${message} Type the address below.`;
  }

  // ---- host screen ----

  showHost({ hostName = '', port }) {
    this.connectScreen.hidden = true;
    this.hostScreen.hidden = false;
    if (!this.hostName.value) this.hostName.value = hostName;
    if (this.hostPort.value === '') this.hostPort.value = String(port);
    this.clearHostError();
    this.setHosting(false);
    (this.chatName.value ? this.hostName : this.chatName).focus();
  }

  hostValues() {
    return {
      chatName: this.chatName.value.trim(),
      hostName: this.hostName.value.trim(),
      password: this.hostPassword.value,
      port: this.hostPort.value.trim(),
    };
  }

  setHosting(busy) {
    this.hostButton.disabled = busy;
    this.hostButton.textContent = busy ? 'Starting…' : 'Start hosting';
  }

  /** The error, and for a taken port a one-click way out (a free port, or the system's choice). */
  showHostError(error, { onOtherPort } = {}) {
    this.hostError.textContent = error.message;
    this.hostError.hidden = false;
    this.hostOtherPort.hidden = true;
    if (error.code === 'port_in_use') {
      const port = error.freePort ?? 0;
      this.hostOtherPort.textContent = port ? `Use port ${port} instead` : 'Let the system pick a port';
      this.hostOtherPort.onclick = () => onOtherPort(port);
      this.hostOtherPort.hidden = false;
      this.hostPort.focus();
      this.hostPort.select();
      return;
    }
    const field = { invalid_input: this.chatName.value.trim() ? this.hostName : this.chatName, name_rejected: this.hostName }[error.code] ?? this.hostButton;
    field.focus();
  }

  clearHostError() {
    this.hostError.hidden = true;
    this.hostError.textContent = '';
    this.hostOtherPort.hidden = true;
  }

  // ---- chat screen ----

  /** The hosting bar: the chat's name, each join URL with a Copy button, and Stop hosting. */
  showHostingBar(info, { onCopy }) {
    $('hosting-name').textContent = `“${info.chatName}”`;
    const hint = $('hosting-hint');
    if (info.joinUrls.length) {
      hint.textContent = `Others join with${info.passwordRequired ? ' (and the password)' : ''}:`;
    } else {
      hint.textContent = `No network address found: only this computer can join, at ${info.localUrl}.`;
    }
    if (info.advertiseError) hint.textContent += ' (Not announced on the network.)';
    this.joinUrls.replaceChildren(
      ...info.joinUrls.map((url) => {
        const item = el('li');
        const copy = el('button', 'copy', 'Copy');
        copy.type = 'button';
        copy.setAttribute('aria-label', `Copy ${url}`);
        copy.addEventListener('click', async () => {
          copy.textContent = (await onCopy(url)) ? 'Copied' : 'Copy failed';
          setTimeout(() => (copy.textContent = 'Copy'), 2000);
        });
        item.append(el('code', 'url', url), copy);
        return item;
      }),
    );
    this.hosting.hidden = false;
    this.leaveButton.hidden = true;
  }

  // ---- chat screen ----

  showChat(session) {
    this.connectScreen.hidden = true;
    this.hostScreen.hidden = true;
    this.chatScreen.hidden = false;
    this.messages.replaceChildren();
    this.nodes.clear();
    this.#hideJump();
    $('server-name').textContent = session.server.replace(/^https?:\/\//, '').replace(/\/$/, '');
    $('own-name').textContent = session.name;
    this.input.value = '';
    this.renderCounter();
    this.input.focus();
  }

  /** Appends lines; keeps the view pinned to the bottom only if it already was. */
  addLines(lines, { forceScroll = false } = {}) {
    if (!lines.length) return;
    const stick = forceScroll || this.#nearBottom();
    const fragment = document.createDocumentFragment();
    for (const line of lines) {
      const node = this.#render(line);
      this.nodes.set(line.key, node);
      fragment.append(node);
    }
    this.messages.append(fragment);
    if (stick) {
      this.scrollToBottom();
    } else {
      this.unseen += lines.length;
      this.jump.textContent = `${this.unseen} new message${this.unseen === 1 ? '' : 's'} ↓`;
      this.jump.hidden = false;
    }
  }

  /** Redraws lines in place (same element: keeps focus, screen reader position and scroll). */
  updateLines(lines) {
    for (const line of lines) {
      const node = this.nodes.get(line.key);
      if (!node) continue;
      const fresh = this.#render(line);
      node.className = fresh.className;
      node.replaceChildren(...fresh.childNodes);
    }
  }

  removeLines(lines) {
    for (const line of lines) {
      this.nodes.get(line.key)?.remove();
      this.nodes.delete(line.key);
    }
  }

  scrollToBottom() {
    this.messages.scrollTop = this.messages.scrollHeight;
    this.#hideJump();
  }

  renderStatus(status, pendingCount) {
    const { state, attempt, retryInMs, detail } = status;
    this.status.dataset.state = state;
    this.statusText.textContent = { connected: 'Connected', reconnecting: 'Reconnecting…', offline: 'Offline' }[state] ?? state;
    if (state === 'connected') {
      this.banner.hidden = true;
      return;
    }
    let text = state === 'reconnecting'
      ? `Connection lost. Reconnecting${attempt > 1 ? ` (attempt ${attempt})` : ''}`
      : 'Offline.';
    if (retryInMs) text += `, next try in ${Math.max(1, Math.round(retryInMs / 1000))} s`;
    text += '.';
    if (detail) text += ` ${detail}`;
    if (pendingCount) text += ` ${pendingCount} message${pendingCount === 1 ? '' : 's'} will be sent when back.`;
    else text += ' What you send now is kept and sent when back.';
    this.banner.textContent = text;
    this.banner.dataset.state = state;
    this.banner.hidden = false;
  }

  showBannerNote(text) {
    this.banner.textContent = text;
    this.banner.dataset.state = 'note';
    this.banner.hidden = false;
  }

  renderUsers(users, features, ownName) {
    this.people.hidden = !features.presence;
    if (!features.presence) return;
    this.peopleCount.textContent = `(${users.length})`;
    this.peopleList.replaceChildren(
      ...users.map((name) => el('li', name === ownName ? 'me' : null, name === ownName ? `${name} (you)` : name)),
    );
  }

  renderTyping(names) {
    let text = '';
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = `${names.length} people are typing…`;
    this.typing.textContent = text;
  }

  /** Character count under the input; past the limit, sending is blocked and says why. */
  renderCounter() {
    const count = charCount(this.input.value);
    const over = count > MAX_MESSAGE_CHARS;
    this.counter.classList.toggle('over', over);
    this.counter.textContent = over
      ? `${count} / ${MAX_MESSAGE_CHARS} characters: ${count - MAX_MESSAGE_CHARS} too many to send`
      : count > 0 ? `${count} / ${MAX_MESSAGE_CHARS}` : '';
    this.sendButton.disabled = over || this.input.value.trim() === '';
    // Grow with the text, up to the CSS max-height.
    this.input.style.height = 'auto';
    this.input.style.height = `${this.input.scrollHeight + 2}px`;
  }

  announce(text) {
    this.announcer.textContent = text;
  }

  #render(line) {
    if (line.kind === 'system') {
      const node = el('li', 'system');
      node.append(el('span', 'text', line.text), timeElement(line.ts));
      return node;
    }
    const node = el('li', `msg${line.own ? ' own' : ''}${line.state !== 'sent' ? ` ${line.state}` : ''}`);
    const meta = el('div', 'meta');
    meta.append(el('span', 'from', line.own ? `${line.from} (you)` : line.from), timeElement(line.ts));
    if (line.state === 'pending') meta.append(el('span', 'state', 'sending…'));
    if (line.state === 'failed') {
      meta.append(el('span', 'state', `Not sent: ${line.reason}`));
      const retry = el('button', 'retry', 'Retry');
      retry.type = 'button';
      retry.dataset.retry = String(line.key);
      meta.append(retry);
    }
    node.append(meta, el('div', 'text', line.text));
    return node;
  }

  #nearBottom() {
    const m = this.messages;
    return m.scrollHeight - m.scrollTop - m.clientHeight < STICK_PX;
  }

  #hideJump() {
    this.unseen = 0;
    this.jump.hidden = true;
  }
}
