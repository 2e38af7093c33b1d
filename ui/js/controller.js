// Connects user actions, the transport and the model/view. No DOM here (view.js), no network
// details (transport/), no chat state of its own (model.js).

import { plainHttpRemote } from './address.js';
import { Backlog } from './backlog.js';
import { announcement, notification } from './notices.js';
import { SEARCH_DELAY_MS, SearchModel, findLine } from './search.js';
import { nameRefusalText, validateName } from './protocol.js';
import { trayStatus } from './desktop.js';
import { normalizeSettings, themeAttribute } from './settings.js';

// Stop-typing notice after this much quiet in the input.
const TYPING_IDLE_MS = 3000;
// Joins that fail these ways leave the stored conversation shown, offline (others go back to the form).
const OFFLINE_CODES = ['unreachable', 'timeout'];
// A search result is looked for this many stored pages back before giving up.
const SEARCH_PAGES = 20;
// A second Leave within this long confirms leaving with unsent messages.
const LEAVE_CONFIRM_MS = 5000;

// nameRefusalText says "a name cannot be empty": as a sentence of its own.
const sentence = (text) => `${text[0].toUpperCase()}${text.slice(1)}.`;

export class ChatController {
  constructor({ model, view, transport }) {
    this.model = model;
    this.view = view;
    this.transport = transport;
    this.typingTimer = null;
    this.typingSent = false;
    this.leaveArmedUntil = 0;
    this.connecting = false;
    this.joinAttempt = 0; // counts joins: the answer of a cancelled one is not acted on
    this.early = []; // events that arrived before `connect` answered
    this.chats = 0; // counts chats entered and left: a late "load older" answer belongs to one of them
    this.focused = view.isFocused();
    this.nearby = new Map(); // id → chat found on the network
    this.hostInfo = null; // the chat this app hosts, while it does
    // { server, username } whose saved password (in the keyring, never in the page) joins next
    this.savedFor = null;
    // Servers the user agreed to send a password to over plain http, for as long as the app runs.
    this.plainHttpAgreed = new Set();
    // The chat last picked from the network ({ url, fingerprint }): joining its address uses the
    // fingerprint it announced (Rust pins it; the page keeps no pins).
    this.picked = null;

    // Lines wait here while a burst is drawn a slice per frame (backlog.js).
    this.backlog = new Backlog({
      draw: (lines, options) => view.addLines(lines, options),
      remove: (lines) => view.removeLines(lines),
      update: (lines) => view.updateLines(lines),
      nextFrame: (fn) => view.nextFrame(fn),
    });
    transport.onEvents((events) => this.#onEvents(events));
    view.bindConnect((values) => this.connect(values));
    view.bindCancelConnect(() => this.cancelConnect());
    // Another server or name: the saved password was for the one picked.
    view.bindCredentialsEdited(() => this.#dropSavedPassword());
    view.bindSend((text) => this.send(text));
    view.bindDraft((text) => {
      this.#renderCounter(text);
      this.#typingActivity(text);
    });
    view.bindRetry((key) => this.retry(key));
    view.bindOpenConversation((which) => this.openConversation(which));
    view.bindAttach((files) => this.attach(files));
    view.bindUploadActions({ onCancel: (key) => this.cancelUpload(key), onDismiss: (key) => this.dismissUpload(key) });
    view.bindAttachments({
      image: (attachment, which) => this.transport.imageSource(attachment, which),
      href: (attachment) => this.transport.downloadHref?.(attachment) ?? null,
      onSave: (attachment) => this.saveFile(attachment),
    });
    this.cancels = new Map(); // upload key → the transport's cancel() of that upload
    view.bindLoadOlder(() => this.loadOlder());
    this.search = new SearchModel();
    this.searchTimer = null;
    view.bindSearch({ onInput: (text) => this.searchInput(text), onPick: (hit) => this.jumpTo(hit), onClose: () => this.closeSearch() });
    view.bindLeave(() => this.leave());
    view.bindRejoin((name) => this.rejoin(name));
    view.bindHostOpen(() => this.openHost());
    view.bindHost((values) => this.host(values));
    view.bindStopHosting(() => this.stopHosting());
    view.bindFocusChange((focused) => this.#setFocused(focused));
    view.bindSettings(() => this.openSettings(), (values) => this.changeSettings(values));
    // Typing notices go stale without a word from the server: refresh the line every second.
    setInterval(() => {
      if (this.model.anyoneTyping()) this.view.renderTyping(this.model.typingNames());
    }, 1000);
  }

  async start() {
    if (this.transport.fixedServer) this.view.lockServer(this.transport.fixedServer);
    const recent = await this.transport.recentServers();
    this.#renderRecent(recent);
    this.view.showConnect(recent[0] ?? {});
    this.#updateTitle();
    // Hosting and discovery exist in the desktop app only (a browser page cannot run a server);
    // saved passwords need the OS keyring: desktop app only too.
    this.view.setCapabilities({ hosting: Boolean(this.transport.host), rememberPasswords: Boolean(this.transport.hasSavedPassword) });
    await this.#startDesktop();
    if (this.transport.watchNearby) {
      this.#renderNearby();
      this.transport.watchNearby((event) => this.#onNearby(event));
    }
  }

  /** Settings, theme and desktop events (confab:// links, notification clicks): desktop app only. */
  async #startDesktop() {
    if (this.transport.getSettings) {
      this.settings = normalizeSettings(await this.transport.getSettings().catch(() => null));
      this.view.applyTheme(themeAttribute(this.settings.theme));
      this.view.setSettingsAvailable(true);
    }
    if (this.transport.watchDesktop) await this.transport.watchDesktop((event) => this.#onDesktop(event)).catch(() => {});
  }

  openSettings() {
    if (this.settings) this.view.showSettings(this.settings);
  }

  /** A change in the settings panel: in force at once (the theme too), saved by the app. */
  async changeSettings(values) {
    this.settings = normalizeSettings(values);
    this.view.applyTheme(themeAttribute(this.settings.theme));
    try {
      await this.transport.setSettings(this.settings);
      this.view.showSettingsError('');
    } catch (error) {
      this.view.showSettingsError(error.message);
    }
  }

  #onDesktop(event) {
    if (event.type === 'join') return this.#joinLink(event.server);
    if (event.type === 'badLink') {
      return this.model.session ? this.view.showBannerNote(event.message) : this.view.showConnectError({ code: 'bad_link', message: event.message });
    }
    if (event.type === 'opened' && this.model.session) {
      // The notification's conversation: a private message's sender, or the room.
      if (event.conversation !== undefined) this.openConversation({ name: event.conversation });
      this.view.scrollToBottom();
      this.view.focusDraft();
    }
  }

  /**
   * A confab://join link: the connect screen filled in with its server, and a question before
   * joining (a link never joins by itself). In a chat, joining leaves it; a hosted chat is not left
   * this way (Stop hosting first).
   */
  async #joinLink(server) {
    if (this.hostInfo) return this.view.showBannerNote(`A link asks to join ${server}: stop hosting first.`);
    const leaving = Boolean(this.model.session) || this.connecting;
    if (!leaving) this.#showLinkServer(server);
    if (!(await this.view.confirmJoinLink(server, { leaving }))) return;
    if (this.connecting) await this.cancelConnect();
    if (this.model.session) {
      this.#stopTyping();
      await this.transport.disconnect().catch(() => {});
      await this.#backToConnect({ username: this.model.session.name });
    }
    this.#showLinkServer(server);
    if (this.view.needsName()) return;
    await this.connect(this.view.connectValues());
  }

  #showLinkServer(server) {
    this.#dropSavedPassword(); // it was for another server
    this.view.showConnect();
    this.view.fillServer(server);
  }

  async openHost() {
    const port = this.defaultPort ?? (this.defaultPort = await this.transport.defaultHostPort());
    this.view.showHost({ port });
  }

  /** Starts the server in the app, then joins it like any other chat. */
  async host(values) {
    this.view.clearHostError();
    const port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65535) {
      return this.view.showHostError({ code: 'invalid_port', message: 'The port is a number from 0 to 65535.' });
    }
    const nameProblem = this.#nameProblem(values.hostName);
    if (nameProblem) return this.view.showHostError(nameProblem);
    this.view.setHosting(true);
    let info;
    try {
      info = await this.transport.host({ chatName: values.chatName, hostName: values.hostName, password: values.password || null, port });
    } catch (error) {
      this.view.setHosting(false);
      return this.view.showHostError(error, {
        onOtherPort: (free) => {
          this.view.setHostPort(free);
          this.host({ ...values, port: String(free) });
        },
      });
    }
    this.connecting = true;
    this.early = [];
    try {
      const session = await this.transport.connect({ server: info.localUrl, username: values.hostName, password: values.password });
      this.hostInfo = info;
      this.#enterChat(session);
      const shared = info.joinUrls[0] ?? info.localUrl;
      const share = this.transport.shareJoinUrl ? { ...(await this.transport.shareJoinUrl(shared).catch(() => null)), url: shared } : null;
      this.view.showHostingBar(info, { onCopy: (url) => this.transport.copyText(url), share: share?.link ? share : null });
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
    await this.#backToConnect({ username: this.model.session?.name });
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
        this.#dropSavedPassword(); // it was for another server
        this.picked = { url: chat.url, fingerprint: chat.fingerprint ?? null };
        this.view.pickServer(chat.url, chat);
      },
    });
  }

  #enterChat(session) {
    this.connecting = false;
    const stored = this.model.provisional; // the stored conversation is already on screen: it stays
    this.model.startSession(session);
    this.view.showChat(session, { keepLines: stored });
    this.#nextChat();
    this.view.renderOlder(this.model.older);
    this.#renderCounter('');
    this.view.renderStatus(this.model.status, 0);
    this.view.renderUsers(this.model.users, this.model.features, session.name);
    this.view.renderTyping([]);
    this.#renderConversations();
    this.view.renderFiles(this.model.files);
    this.view.renderUploads([]);
    this.#updateTitle();
    const early = this.early.splice(0);
    if (early.length) this.#onEvents(early);
  }

  /** Why `raw` cannot be registered, as a connect error; null when it can. */
  #nameProblem(raw) {
    const { maxNameChars } = this.model.limits;
    const { error } = validateName(raw, maxNameChars);
    return error ? { code: 'name_rejected', message: sentence(nameRefusalText(error, maxNameChars)) } : null;
  }

  /**
   * Joins the server in `values`. `acceptFingerprint`: a certificate the user has just said to trust
   * (after comparing it with the host's, or replacing a changed one); Rust pins it.
   */
  async connect(values, { acceptFingerprint = null } = {}) {
    this.view.clearConnectError();
    if (!values.server) return this.view.showConnectError({ code: 'invalid_address', message: 'Enter the server address.' });
    if (!values.username.trim()) return this.view.showConnectError({ code: 'name_rejected', message: 'Enter your name.' });
    const nameProblem = this.#nameProblem(values.username);
    if (nameProblem) return this.view.showConnectError(nameProblem);
    // A password saved for this server and name is used by the transport itself (typing one
    // overrides it); the page never holds it.
    const saved = Boolean(this.savedFor && this.savedFor.server === values.server && this.savedFor.username === values.username);
    const useSavedPassword = saved && !values.password;
    if ((values.password || useSavedPassword) && !(await this.#plainHttpAgreed(values.server))) return;
    this.view.setConnecting(true, { server: values.server });
    this.connecting = true;
    this.early = [];
    const attempt = ++this.joinAttempt;
    const stored = this.#showStored(values, attempt);
    try {
      // Unticking only matters for a password saved in the keyring: then it is forgotten. Otherwise the
      // keyring is not touched at all (a locked keyring would ask to be unlocked for nothing).
      const remember = values.remember || (saved ? false : null);
      // Only for the address that was picked: a typed one is checked against its pin or asked about.
      const announcedFingerprint = this.picked?.url === values.server ? this.picked.fingerprint : null;
      const session = await this.transport.connect({ ...values, useSavedPassword, remember, announcedFingerprint, acceptFingerprint });
      if (attempt !== this.joinAttempt) return void this.transport.disconnect().catch(() => {}); // cancelled meanwhile
      this.#dropSavedPassword();
      this.#enterChat(session);
      if (session.keyringNote) this.view.showBannerNote(session.keyringNote);
    } catch (error) {
      if (attempt !== this.joinAttempt) return; // cancelled: the form already said so
      // A stopped server on this computer refuses at once: the stored conversation is still on its way.
      if (OFFLINE_CODES.includes(error.code)) await stored.catch(() => {});
      if (attempt !== this.joinAttempt) return;
      if (this.model.provisional && OFFLINE_CODES.includes(error.code)) return this.#offline(error);
      if (this.model.provisional) this.#leaveStored(values);
      this.connecting = false;
      this.view.setConnecting(false);
      // The keyring could not give the saved password: the field asks for it like any other.
      if (['no_saved_password', 'keyring_unavailable', 'keyring_failed'].includes(error.code)) this.#dropSavedPassword();
      if (useSavedPassword && error.code === 'wrong_password') {
        error = { ...error, message: 'The saved password is not accepted any more. Type the current password.' };
      }
      if (error.code === 'untrusted_certificate' && error.fingerprint) return this.#askTrust(values, error);
      if (error.code === 'certificate_changed' && error.presented) return this.#refuseChanged(values, error);
      this.view.showConnectError(error);
    }
  }

  /** Cancel while joining: back to the form at once; the transport stops trying. */
  async cancelConnect() {
    if (!this.connecting) return;
    this.joinAttempt += 1;
    this.connecting = false;
    this.early = [];
    this.view.setConnecting(false);
    this.view.showConnectError({ code: 'cancelled', message: 'Not joined: cancelled.' });
    await (this.transport.cancelConnect ? this.transport.cancelConnect() : this.transport.disconnect()).catch(() => {});
  }

  /** A certificate the system does not know: compare the fingerprint with the host's, then trust it or not. */
  async #askTrust(values, error) {
    if (await this.view.confirmTrust(values.server, error.fingerprint)) {
      return this.connect(values, { acceptFingerprint: error.fingerprint });
    }
    this.view.showConnectError({ code: 'untrusted_certificate', message: 'Not joined: the certificate was not trusted.' });
  }

  /** Another certificate than the trusted one: refused, unless the user explicitly replaces it. */
  async #refuseChanged(values, error) {
    if (await this.view.showCertificateChanged(values.server, error)) {
      return this.connect(values, { acceptFingerprint: error.presented });
    }
    this.view.showConnectError({ ...error, message: `Not joined. ${error.message}` });
  }

  /**
   * A password over plain http to another computer can be read on the way: the user says whether to
   * go on, once per server while the app runs. A page served by the chat server itself joins only
   * that server (it is already talking to it the same way): no question there.
   */
  async #plainHttpAgreed(server) {
    if (this.transport.fixedServer) return true;
    const key = plainHttpRemote(server);
    if (!key || this.plainHttpAgreed.has(key)) return true;
    if (!(await this.view.confirmPlainHttp(server))) return false;
    this.plainHttpAgreed.add(key);
    return true;
  }

  #dropSavedPassword() {
    if (!this.savedFor) return;
    this.savedFor = null;
    this.view.clearSavedPassword();
  }

  async send(text) {
    const draft = this.model.draftStatus(text);
    if (draft.error) {
      this.view.renderCounter(draft); // too long says so; empty just does nothing
      return;
    }
    try {
      const to = this.model.conversation.peer; // a person's conversation: private to them (§2.10)
      const localId = await this.transport.send(text, { to });
      this.view.clearDraft();
      this.#renderCounter('');
      this.#stopTyping();
      this.#apply(this.model.addPending(localId, text, { to }), { forceScroll: true });
    } catch (error) {
      // The text stays in the input: nothing typed is lost.
      this.view.showBannerNote(error.message);
    }
    this.view.focusDraft();
  }

  async retry(key) {
    const line = this.model.failedLine(key);
    if (!line) return;
    try {
      const attachment = line.attachment?.id ?? line.attachment?.upload ?? null;
      const localId = await this.transport.send(line.text, { to: line.to ?? null, attachment });
      this.#apply(this.model.replaceFailed(line, localId), { forceScroll: true });
    } catch (error) {
      this.view.showBannerNote(error.message);
    }
  }

  /** "Load older messages": the page of the server's history before the oldest line shown. */
  async loadOlder() {
    if (this.model.storedBefore() != null) return void (await this.#loadStoredOlder());
    const chat = this.chats;
    if (!this.model.session || this.model.provisional || !this.model.startLoadingOlder()) return;
    this.view.renderOlder(this.model.older);
    let page;
    try {
      page = await this.transport.loadOlder(this.model.oldestId() ?? Number.MAX_SAFE_INTEGER);
    } catch (error) {
      if (this.chats !== chat) return; // left meanwhile
      this.model.olderFailed();
      this.view.renderOlder(this.model.older);
      return this.view.showBannerNote(error.message);
    }
    if (this.chats !== chat) return;
    const { inserted } = this.model.addOlder(page);
    // Only what belongs to the conversation shown, before the next line shown after them.
    const shown = this.model.shownLines(inserted);
    const all = this.model.shownLines();
    this.backlog.flush(); // the line they go before is drawn
    this.view.insertLines(shown, all[all.indexOf(shown.at(-1)) + 1] ?? null);
    this.view.renderOlder(this.model.older);
  }

  /** Opens a conversation: { key } from the conversations list, { name } from the online list. */
  openConversation({ key, name }) {
    if (!this.model.session) return;
    const lines = key !== undefined ? this.model.openConversationKey(key) : this.model.openConversation(name);
    this.backlog.clear(); // its lines are all drawn from the model
    this.view.showConversation(lines, this.model.conversation.peer);
    this.view.renderOlder(this.model.older);
    this.#renderConversations();
  }

  #renderConversations() {
    this.view.renderConversations(this.model.conversations, this.model.conversation.peer);
  }

  /**
   * Files chosen, dropped or pasted: each is checked against the server's limit (refused in words
   * before anything is sent), uploaded with progress, then sent as a message in the conversation shown.
   */
  attach(files) {
    for (const file of files) {
      const problem = this.model.fileProblem(file);
      if (problem) {
        this.view.showBannerNote(problem);
        continue;
      }
      this.#upload(file, this.model.conversation.peer);
    }
  }

  async #upload(file, to) {
    const chat = this.chats;
    const { uploads } = this.model;
    const upload = uploads.start(file);
    this.view.renderUploads(uploads.list());
    const transfer = this.transport.upload(file, {
      onProgress: (sent) => {
        if (this.chats === chat && uploads.progress(upload.key, sent)) this.view.renderUploads(uploads.list());
      },
    });
    this.cancels.set(upload.key, transfer.cancel);
    let stored;
    try {
      stored = await transfer.done;
    } catch (error) {
      if (this.chats !== chat) return;
      if (error.code === 'cancelled') uploads.finish(upload.key);
      else uploads.fail(upload.key, error.message);
      return this.view.renderUploads(uploads.list());
    } finally {
      this.cancels.delete(upload.key);
    }
    if (this.chats !== chat) return; // left meanwhile: the server deletes unsent uploads
    uploads.finish(upload.key);
    this.view.renderUploads(uploads.list());
    try {
      const localId = await this.transport.send('', { to, attachment: stored.id });
      const local = { name: stored.name ?? file.name, size: stored.size ?? file.size, type: stored.type ?? file.type, upload: stored.id };
      this.#apply(this.model.addPending(localId, '', { to, attachment: local }), { forceScroll: true });
    } catch (error) {
      this.view.showBannerNote(error.message);
    }
  }

  cancelUpload(key) {
    this.cancels.get(key)?.();
  }

  dismissUpload(key) {
    this.model.uploads.finish(key);
    this.view.renderUploads(this.model.uploads.list());
  }

  /** Save (desktop app): the system's save dialog, then the download in Rust. */
  async saveFile(attachment) {
    try {
      const path = await this.transport.saveFile(attachment);
      if (path) this.view.showBannerNote(`Saved “${attachment.name}” to ${path}.`);
    } catch (error) {
      this.view.showBannerNote(`“${attachment.name}” was not saved: ${error.message}`);
    }
  }

  /** After the server refused our name on a reconnect: register again, with this name. */
  async rejoin(raw) {
    const nameProblem = this.#nameProblem(raw);
    if (nameProblem) return this.view.showRejoinError(nameProblem.message);
    this.view.showRejoinError('');
    this.view.setRejoining(true);
    try {
      await this.transport.rejoin(raw);
      // The transport's session and status events redraw the chat under the new name.
    } catch (error) {
      this.view.showRejoinError(error.message);
    } finally {
      this.view.setRejoining(false);
    }
  }

  async leave() {
    if (this.model.provisional) {
      // Only the stored conversation was shown: stop the join, if it is still trying, and go back.
      if (this.connecting) await this.cancelConnect();
      return this.#backToConnect({ server: this.model.session.server, username: this.model.session.name });
    }
    const unsent = this.model.pendingCount();
    if (unsent && Date.now() > this.leaveArmedUntil) {
      // A second click within a few seconds confirms: leaving drops what the server has not got yet.
      this.leaveArmedUntil = Date.now() + LEAVE_CONFIRM_MS;
      this.view.showBannerNote(`${unsent} message${unsent === 1 ? ' is' : 's are'} not sent yet. Click Leave again to leave anyway.`);
      return;
    }
    this.#stopTyping();
    await this.transport.disconnect().catch(() => {});
    const { server, name } = this.model.session ?? {};
    await this.#backToConnect({ server, username: name });
  }

  async #backToConnect(fields) {
    this.#nextChat(); // an answer for the chat just left is not acted on
    this.closeSearch();
    this.model.reset();
    this.#updateTitle();
    this.#renderRecent(await this.transport.recentServers());
    this.view.showConnect(fields);
  }

  /** A chat was entered or left: late answers and waiting events of the one before are dropped. */
  #nextChat() {
    this.chats += 1;
    this.backlog.clear();
  }

  #onEvents(events) {
    // The first batch can overtake the answer of `connect`: keep it until the session exists.
    if (!this.model.session || this.model.provisional) {
      if (this.connecting) this.early.push(...events);
      return;
    }
    this.#show(events);
  }

  /** The model takes the events; the view draws what changed (lines through the backlog). */
  #show(events) {
    if (!this.model.session) return;
    const changes = this.model.applyEvents(events);
    this.#apply(changes);
    const { session } = this.model;
    if (changes.session) {
      this.view.renderSession(session);
      this.#updateTitle(); // the chat's name may have come with it
      this.#renderCounter(this.view.draft()); // the limit may have changed
    }
    if (changes.older || changes.session) this.view.renderOlder(this.model.older);
    if (changes.status) {
      this.view.renderStatus(this.model.status, this.model.pendingCount());
      this.#updateTray();
    }
    if (changes.users) this.view.renderUsers(this.model.users, this.model.features, session.name);
    if (changes.typing) this.view.renderTyping(this.model.typingNames());
    if (changes.conversations) this.#renderConversations();
    if (changes.files) this.view.renderFiles(this.model.files);
    for (const notice of changes.notices) this.view.showBannerNote(notice);
    this.#tellUser(changes.added.filter((line) => !line.own));
  }

  /**
   * While joining: the conversation stored on this computer (desktop app), shown at once, before
   * the server answers; if the server cannot be reached it stays, offline.
   */
  async #showStored(values, attempt) {
    if (!this.transport.localHistory) return;
    const page = await this.transport.localHistory(values.server, values.username).catch(() => null);
    if (attempt !== this.joinAttempt || !page?.messages.length) return;
    if (this.model.session && !this.model.provisional) {
      // The server answered first: the stored lines go above its own (copies of this run left out).
      const { inserted, anchor } = this.model.addStored(page);
      this.backlog.flush();
      this.view.insertLines(inserted, anchor);
      return this.view.renderOlder(this.model.older);
    }
    if (!this.connecting || this.model.session) return;
    const lines = this.model.showStored({ server: values.server, name: values.username.trim() }, page);
    this.#nextChat();
    this.view.showChat(this.model.session);
    this.view.renderOlder(this.model.older);
    this.view.renderStatus(this.model.status, 0);
    this.view.renderUsers([], this.model.features, this.model.session.name);
    this.view.addLines(lines, { forceScroll: true });
    this.view.showBannerNote(`Joining ${values.server}… Meanwhile, the conversation as this computer saved it.`);
    this.#updateTitle();
  }

  /** The server could not be reached: the stored conversation stays, readable and searchable. */
  #offline(error) {
    this.connecting = false;
    this.view.setConnecting(false);
    this.model.joinFailed(error.message);
    this.view.renderStatus(this.model.status, 0);
    this.view.showBannerNote(`Not connected: ${error.message} This is the conversation as this computer saved it; Leave, then Join to try again.`);
  }

  /** The join failed in a way the form must show (a password, a name...): back to it, as it was typed. */
  #leaveStored(values) {
    this.#nextChat();
    this.closeSearch();
    this.model.reset();
    this.#updateTitle();
    this.view.showConnect({ server: values.server, username: values.username, password: values.password });
  }

  /** Older lines from the local store ("load older" goes there before asking the server). */
  async #loadStoredOlder() {
    const chat = this.chats;
    const before = this.model.storedBefore();
    if (!this.model.startLoadingOlder()) return false;
    this.view.renderOlder(this.model.older);
    const { server, name } = this.model.session;
    const page = await this.transport.localHistory(server, name, before).catch(() => null);
    if (this.chats !== chat) return false;
    if (!page) {
      this.model.olderFailed();
      this.view.renderOlder(this.model.older);
      return false;
    }
    const { inserted, anchor } = this.model.addStored(page);
    this.backlog.flush();
    this.view.insertLines(inserted, anchor);
    this.view.renderOlder(this.model.older);
    return true;
  }

  /** Typing in the search box: asked for once typing pauses; a stale answer is dropped. */
  searchInput(text) {
    clearTimeout(this.searchTimer);
    const query = this.search.type(text);
    this.view.renderSearch(this.search);
    if (!query || !this.model.session || !this.transport.searchMessages) return;
    this.searchTimer = setTimeout(async () => {
      const { server, name } = this.model.session ?? {};
      if (!server) return;
      const hits = await this.transport.searchMessages(server, name, query).catch(() => []);
      if (this.search.answer(query, hits)) this.view.renderSearch(this.search);
    }, SEARCH_DELAY_MS);
  }

  closeSearch() {
    clearTimeout(this.searchTimer);
    this.search.clear();
    this.view.renderSearch(this.search);
  }

  /** A result was clicked: its line is scrolled to (older stored pages loaded first) and highlighted. */
  async jumpTo(hit) {
    const chat = this.chats;
    let line = findLine(this.model.lines, hit);
    for (let pages = 0; !line && pages < SEARCH_PAGES && this.model.storedBefore() != null; pages += 1) {
      if (!(await this.#loadStoredOlder()) || this.chats !== chat) break;
      line = findLine(this.model.lines, hit);
    }
    if (this.chats !== chat) return;
    this.backlog.flush();
    if (line) this.view.showFound(line);
    else this.view.showBannerNote('That message is no longer in this conversation view.');
  }

  #apply(changes, options = {}) {
    // Lines of other conversations wait in the model (their unread count says so) until opened.
    const added = (changes.added ?? []).filter((line) => this.model.isShown(line));
    this.backlog.apply({ added, removed: changes.removed, updated: changes.updated }, options);
  }

  #renderCounter(text) {
    this.view.renderCounter(this.model.draftStatus(text));
  }

  /** Screen reader announcement, and unread count + notification while the window is unfocused. */
  #tellUser(lines) {
    if (!lines.length) return;
    this.view.announce(announcement(lines));
    const chat = lines.filter((line) => line.kind === 'chat');
    if (this.focused || !chat.length) return;
    this.model.countUnread(chat.length);
    this.#updateTitle();
    const { title, body, mention, conversation } = notification(chat);
    this.transport.notify(title, body, { mention, conversation });
  }

  #setFocused(focused) {
    this.focused = focused;
    if (focused && this.model.clearUnread()) this.#updateTitle();
  }

  /** The chat's name, else its address; undefined outside a chat. */
  #where() {
    const { session } = this.model;
    return session?.chatName || session?.server?.replace(/^https?:\/\//, '').replace(/\/$/, '');
  }

  #updateTitle() {
    const where = this.#where();
    const base = where ? `Confab — ${where}` : 'Confab';
    const { unread } = this.model;
    const title = unread ? `(${unread}) ${base}` : base;
    this.view.setTitle(title);
    this.transport.setTitle(title);
    this.#updateTray();
  }

  /** The tray menu's connection line, and whether closing the window keeps Confab in the tray. */
  #updateTray() {
    if (!this.transport.setTrayStatus) return;
    this.transport.setTrayStatus(trayStatus(this.model.status?.state, this.#where()), Boolean(this.model.session));
  }

  #typingActivity(text) {
    if (!this.model.session) return;
    if (text === '') return this.#stopTyping();
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
    // Entries that no longer answer (a stopped chat, one hosted by an older version) are marked, so
    // they are told apart and forgotten; nothing is deleted without the user.
    for (const { server } of list) {
      this.transport.serverAnswers?.(server).then((answers) => answers || this.view.markRecentSilent(server));
    }
    this.view.renderRecent(list, {
      onPick: async (entry) => {
        this.#dropSavedPassword();
        this.view.fillRecent(entry);
        if (!this.transport.hasSavedPassword) return;
        try {
          const saved = await this.transport.hasSavedPassword(entry.server, entry.username);
          // Still the same choice (the keyring can take a moment, e.g. to unlock).
          if (saved && this.view.showSavedPassword(entry.username)) {
            this.savedFor = { server: this.view.connectValues().server, username: entry.username };
          }
        } catch (error) {
          this.view.showKeyringNote(error.message);
        }
      },
      onForget: async (entry) => {
        // Its saved password, trusted certificate and the conversation stored here go too: ask first.
        if (!(await this.view.confirmForget(entry))) return;
        await this.transport.forgetServer(entry.server).catch(() => {});
        this.#renderRecent(await this.transport.recentServers());
      },
    });
  }
}
