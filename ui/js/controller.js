// Connects user actions, the transport and the model/view. No DOM building here (view.js) and no
// network details (transport/).

import { MAX_MESSAGE_CHARS, charCount } from './model.js';

// Stop-typing notice after this much quiet in the input.
const TYPING_IDLE_MS = 3000;
// Longest text put in a desktop notification or a screen reader announcement.
const PREVIEW_CHARS = 140;

const preview = (text) => (charCount(text) > PREVIEW_CHARS ? `${[...text].slice(0, PREVIEW_CHARS).join('')}…` : text);

export class ChatController {
  constructor({ model, view, transport }) {
    this.model = model;
    this.view = view;
    this.transport = transport;
    this.typingTimer = null;
    this.typingSent = false;
    this.leaveArmedUntil = 0;
    this.connecting = false;
    this.early = []; // events that arrived before `connect` answered
    this.focused = document.hasFocus();
    this.nearby = new Map(); // id → chat found on the network
    this.hostInfo = null; // the chat this app hosts, while it does
    this.savedFor = null; // { server, username } whose password was filled in from the keyring

    transport.onEvents((events) => this.#onEvents(events));
    view.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.connect();
    });
    view.sendForm.addEventListener('submit', (e) => {
      e.preventDefault();
      this.send();
    });
    view.input.addEventListener('keydown', (e) => {
      // Enter sends, Shift+Enter is a new line; never while an input method is composing.
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.send();
      }
    });
    view.input.addEventListener('input', () => {
      view.renderCounter();
      this.#typingActivity();
    });
    view.messages.addEventListener('click', (e) => {
      const key = e.target?.dataset?.retry;
      if (key) this.retry(Number(key));
    });
    view.leaveButton.addEventListener('click', () => this.leave());
    view.hostOpen.addEventListener('click', () => this.openHost());
    view.hostCancel.addEventListener('click', () => {
      view.showConnect();
    });
    view.hostForm.addEventListener('submit', (e) => {
      e.preventDefault();
      this.host();
    });
    view.stopHostingButton.addEventListener('click', () => this.stopHosting());
    window.addEventListener('focus', () => this.#setFocused(true));
    window.addEventListener('blur', () => this.#setFocused(false));
    document.addEventListener('visibilitychange', () => this.#setFocused(document.visibilityState === 'visible' && document.hasFocus()));
    // Typing notices go stale without a word from the server: refresh the line every second.
    setInterval(() => {
      if (this.model.typing.size) this.view.renderTyping(this.model.typingNames());
    }, 1000);
  }

  async start() {
    const recent = await this.transport.recentServers();
    this.#renderRecent(recent);
    this.view.showConnect(recent[0] ?? {});
    this.#updateTitle();
    // Hosting and discovery exist in the desktop app only (a browser page cannot run a server).
    this.view.hostOpen.hidden = !this.transport.host;
    // Saved passwords need the OS keyring: desktop app only.
    this.view.remember.parentElement.hidden = !this.transport.savedPassword;
    if (this.transport.watchNearby) {
      this.#renderNearby();
      this.transport.watchNearby((event) => this.#onNearby(event));
    }
  }

  async openHost() {
    const port = this.defaultPort ?? (this.defaultPort = await this.transport.defaultHostPort());
    this.view.showHost({ hostName: this.view.username.value.trim(), port });
  }

  /** Starts the server in the app, then joins it like any other chat. */
  async host() {
    const values = this.view.hostValues();
    this.view.clearHostError();
    const port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65535) {
      return this.view.showHostError({ code: 'invalid_port', message: 'The port is a number from 0 to 65535.' });
    }
    this.view.setHosting(true);
    let info;
    try {
      info = await this.transport.host({ chatName: values.chatName, hostName: values.hostName, password: values.password || null, port });
    } catch (error) {
      this.view.setHosting(false);
      return this.view.showHostError(error, {
        onOtherPort: (free) => {
          this.view.hostPort.value = String(free);
          this.host();
        },
      });
    }
    this.connecting = true;
    this.early = [];
    try {
      const session = await this.transport.connect({ server: info.localUrl, username: values.hostName, password: values.password });
      this.hostInfo = info;
      this.#enterChat(session);
      this.view.showHostingBar(info, { onCopy: (url) => this.transport.copyText(url) });
    } catch (error) {
      // The chat runs but we could not join it (a name the server refuses, ...): do not leave it running.
      this.connecting = false;
      await this.transport.stopHosting().catch(() => {});
      this.view.setHosting(false);
      this.view.showHostError(error);
    }
  }

  async stopHosting() {
    this.#stopTyping();
    await this.transport.stopHosting().catch(() => {});
    this.hostInfo = null;
    const { name } = this.model.session ?? {};
    this.model.reset();
    this.#updateTitle();
    this.#renderRecent(await this.transport.recentServers());
    this.view.showConnect({ username: name });
  }

  #onNearby(event) {
    if (event.type === 'found') this.nearby.set(event.id, event);
    else if (event.type === 'lost') this.nearby.delete(event.id);
    else if (event.type === 'unavailable') return this.view.showNearbyUnavailable(event.message);
    this.#renderNearby();
  }

  #renderNearby() {
    const chats = [...this.nearby.values()].sort((a, b) => a.chatName.localeCompare(b.chatName));
    this.view.renderNearby(chats, {
      onPick: (chat) => {
        this.view.server.value = chat.url;
        this.view.clearConnectError();
        if (!this.view.username.value.trim()) this.view.username.focus();
        else if (chat.passwordRequired) this.view.password.focus();
        else this.view.connectButton.focus();
      },
    });
  }

  #enterChat(session) {
    this.connecting = false;
    this.model.startSession(session);
    this.view.showChat(session);
    this.view.renderStatus(this.model.status, 0);
    this.view.renderUsers(this.model.users, this.model.features, session.name);
    this.view.renderTyping([]);
    this.#updateTitle();
    const early = this.early.splice(0);
    if (early.length) this.#onEvents(early);
  }

  async connect() {
    const values = this.view.connectValues();
    this.view.clearConnectError();
    if (!values.server) return this.view.showConnectError({ code: 'invalid_address', message: 'Enter the server address.' });
    if (!values.username.trim()) return this.view.showConnectError({ code: 'name_rejected', message: 'Enter your name.' });
    this.view.setConnecting(true);
    this.connecting = true;
    this.early = [];
    try {
      // Unticking only matters for a password the keyring gave us: then it is forgotten. Otherwise the
      // keyring is not touched at all (a locked keyring would ask to be unlocked for nothing).
      const loaded = this.savedFor && this.savedFor.server === values.server && this.savedFor.username === values.username;
      if (!values.remember) values.remember = loaded ? false : null;
      const session = await this.transport.connect(values);
      this.savedFor = null;
      this.#enterChat(session);
      if (session.keyringNote) this.view.showBannerNote(session.keyringNote);
    } catch (error) {
      this.connecting = false;
      this.view.setConnecting(false);
      this.view.showConnectError(error);
    }
  }

  async send() {
    const text = this.view.input.value;
    if (text.trim() === '') return;
    if (charCount(text) > MAX_MESSAGE_CHARS) {
      this.view.renderCounter();
      return;
    }
    try {
      const localId = await this.transport.send(text);
      this.view.input.value = '';
      this.view.renderCounter();
      this.#stopTyping();
      this.#apply(this.model.addPending(localId, text), { forceScroll: true });
    } catch (error) {
      // The text stays in the input: nothing typed is lost.
      this.view.showBannerNote(error.message);
    }
    this.view.input.focus();
  }

  async retry(key) {
    const line = this.model.lines.find((l) => l.key === key && l.state === 'failed');
    if (!line) return;
    try {
      const localId = await this.transport.send(line.text);
      this.model.pending.delete(line.localId);
      this.model.lines = this.model.lines.filter((l) => l !== line);
      this.view.removeLines([line]);
      this.#apply(this.model.addPending(localId, line.text), { forceScroll: true });
    } catch (error) {
      this.view.showBannerNote(error.message);
    }
  }

  async leave() {
    const unsent = this.model.pendingCount();
    if (unsent && Date.now() > this.leaveArmedUntil) {
      // A second click within a few seconds confirms: leaving drops what the server has not got yet.
      this.leaveArmedUntil = Date.now() + 5000;
      this.view.showBannerNote(`${unsent} message${unsent === 1 ? ' is' : 's are'} not sent yet. Click Leave again to leave anyway.`);
      return;
    }
    this.#stopTyping();
    await this.transport.disconnect().catch(() => {});
    const { server, name } = this.model.session ?? {};
    this.model.reset();
    this.#updateTitle();
    this.#renderRecent(await this.transport.recentServers());
    this.view.showConnect({ server, username: name });
  }

  #onEvents(events) {
    // The first batch can overtake the answer of `connect`: keep it until the session exists.
    if (!this.model.session) {
      if (this.connecting) this.early.push(...events);
      return;
    }
    const changes = this.model.applyEvents(events);
    this.#apply(changes);
    if (changes.status) this.view.renderStatus(this.model.status, this.model.pendingCount());
    if (changes.users) this.view.renderUsers(this.model.users, this.model.features, this.model.session.name);
    if (changes.typing) this.view.renderTyping(this.model.typingNames());
    for (const notice of changes.notices) this.view.showBannerNote(notice);
    this.#tellUser(changes.added.filter((line) => !line.own));
  }

  #apply(changes, options = {}) {
    this.view.removeLines(changes.removed ?? []);
    this.view.addLines(changes.added ?? [], options);
    this.view.updateLines(changes.updated ?? []);
  }

  /** Screen reader announcement, and unread count + notification while the window is unfocused. */
  #tellUser(lines) {
    if (!lines.length) return;
    const last = lines[lines.length - 1];
    const say = (line) => (line.kind === 'system' ? line.text : `${line.from}: ${preview(line.text)}`);
    this.view.announce(lines.length <= 3 ? lines.map(say).join('. ') : `${lines.length} new messages. Last: ${say(last)}`);
    const chat = lines.filter((line) => line.kind === 'chat');
    if (this.focused || !chat.length) return;
    this.model.unread += chat.length;
    this.#updateTitle();
    const latest = chat[chat.length - 1];
    if (chat.length === 1) this.transport.notify(latest.from, preview(latest.text));
    else this.transport.notify(`${chat.length} new messages`, `${latest.from}: ${preview(latest.text)}`);
  }

  #setFocused(focused) {
    this.focused = focused;
    if (focused && this.model.unread) {
      this.model.unread = 0;
      this.#updateTitle();
    }
  }

  #updateTitle() {
    const where = this.model.session?.server?.replace(/^https?:\/\//, '').replace(/\/$/, '');
    const base = where ? `Confab — ${where}` : 'Confab';
    const title = this.model.unread ? `(${this.model.unread}) ${base}` : base;
    document.title = title;
    this.transport.setTitle(title);
  }

  #typingActivity() {
    if (!this.model.session) return;
    if (this.view.input.value === '') return this.#stopTyping();
    if (!this.typingSent) {
      this.typingSent = true;
      this.transport.setTyping(true).catch(() => {});
    }
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => this.#stopTyping(), TYPING_IDLE_MS);
  }

  #stopTyping() {
    clearTimeout(this.typingTimer);
    if (this.typingSent) {
      this.typingSent = false;
      this.transport.setTyping(false).catch(() => {});
    }
  }

  #renderRecent(list) {
    this.view.renderRecent(list, {
      onPick: async (entry) => {
        this.view.server.value = entry.server.replace(/\/$/, '');
        this.view.username.value = entry.username;
        this.view.password.value = '';
        this.view.showKeyringNote('');
        this.view.password.focus();
        if (!this.transport.savedPassword) return;
        try {
          const saved = await this.transport.savedPassword(entry.server, entry.username);
          // Still the same choice (the keyring can take a moment, e.g. to unlock).
          if (saved && this.view.username.value === entry.username && !this.view.password.value) {
            this.view.password.value = saved;
            this.view.remember.checked = true;
            this.savedFor = { server: this.view.server.value.trim(), username: entry.username };
            this.view.connectButton.focus();
          }
        } catch (error) {
          this.view.showKeyringNote(error.message);
        }
      },
      onForget: async (entry) => {
        await this.transport.forgetServer(entry.server).catch(() => {});
        this.#renderRecent(await this.transport.recentServers());
      },
    });
  }
}
