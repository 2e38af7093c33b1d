// Everything that touches the DOM (document, window, elements). The controller only calls the
// methods below: bind* to hear the user, show*/render* to draw. Text from the network is only ever
// set with textContent (never innerHTML), so a message like <img src=x onerror=alert(1)> shows literally.

import { fingerprintGroups } from './fingerprint.js';
import { continues, dayLabel, sameDay, tokenize } from './format.js';
import { DEFAULT_PORT, REFUSAL_CODES } from './protocol.js';
import { highlightParts } from './search.js';
import { ConversationsView } from './conversations-view.js';
import { FilesView } from './files-view.js';

const $ = (id) => document.getElementById(id);
// "Near the bottom" leaves room for rounding and a partly visible last line.
const STICK_PX = 48;
// How long a Copy button says "Copied".
const COPY_FEEDBACK_MS = 2000;
const STATUS_LABELS = { connected: 'Connected', reconnecting: 'Reconnecting…', offline: 'Offline', nameTaken: 'Name taken', connecting: 'Connecting…' };
// A line jumped to from a search result is highlighted this long.
const FOUND_MS = 2500;
// A join still waiting after this long says that the server has not answered yet.
const SLOW_JOIN_MS = 3000;
// Day separators say "Today": checked this often, so an app left open overnight says "Yesterday".
const DAY_CHECK_MS = 60_000;
// A hidden page draws no frames: the next slice of a burst comes after this long instead.
const HIDDEN_FRAME_MS = 50;

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const plural = (count, one, many) => `${count} ${count === 1 ? one : many}`;
const shortServer = (server) => server.replace(/^https?:\/\//, '').replace(/\/$/, '');
// In the Server field an address without a scheme means http: an https server keeps its scheme.
const fieldServer = (server) => (server.startsWith('https:') ? server.replace(/\/$/, '') : shortServer(server));

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

/**
 * A message's text: links (http/https only) and code from format.js as elements, all of it set as
 * text. A link opens outside the app: in a browser tab, and in the desktop app in the system browser
 * (the opener plugin takes clicks on target=_blank links).
 */
function richText(text) {
  const node = el('div', 'text');
  for (const token of tokenize(text)) {
    if (token.type === 'link') {
      const link = el('a', 'link', token.text);
      link.href = token.href;
      link.target = '_blank';
      link.rel = 'noopener noreferrer';
      node.append(link);
    } else if (token.type === 'code') {
      node.append(el('code', 'code', token.text));
    } else if (token.type === 'block') {
      const block = el('pre', 'code-block');
      block.append(el('code', null, token.text));
      node.append(block);
    } else {
      node.append(token.text);
    }
  }
  return node;
}

/** Calls `handler` on submit instead of letting the form navigate. */
function onSubmit(form, handler) {
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    handler();
  });
}

/** A fingerprint in two lines of 8 groups of 4 hex digits (fingerprint.js), to read aloud. */
function showFingerprint(node, fingerprint) {
  const groups = fingerprintGroups(fingerprint);
  node.replaceChildren(el('span', null, groups.slice(0, 8).join(' ')), ' ', el('span', null, groups.slice(8).join(' ')));
  node.setAttribute('aria-label', groups.join(' '));
}

export class ChatView {
  #el;
  #nodes = new Map(); // line key → element
  #filesView; // attachments, uploads, drop and paste (files-view.js)
  #conversationsView; // the conversations list and the online list's names (conversations-view.js)
  #unseen = 0; // lines added while the user was scrolled up
  #pinned = true; // the list was at its bottom when last scrolled: a resize keeps it there
  #savedPassword = false; // the connect form says a saved password will be used
  #older = null; // the "load older" control: the first item of the message list, made on first use
  #lineOf = new WeakMap(); // line element → its line, for day separators and grouping
  #layout; // MutationObserver of the message list: lines added or removed anywhere get laid out
  #today = null; // the day the separators' labels were made for
  #slowJoin = null; // timer of the "no answer yet" text while joining
  #hits = []; // the search results shown, by their index in the list

  constructor() {
    const ids = ['connect-screen', 'chat-screen', 'connect-form', 'server', 'username', 'password', 'remember',
      'keyring-note', 'connect-error', 'connect-button', 'recent', 'recent-list', 'messages', 'jump', 'input',
      'send-form', 'send-button', 'counter', 'typing', 'people', 'people-list', 'people-count', 'status',
      'status-text', 'banner', 'announcer', 'leave-button', 'nearby', 'nearby-list', 'nearby-empty', 'host-open',
      'host-screen', 'host-form', 'chat-name', 'host-name', 'host-password', 'host-port', 'host-port-hint',
      'host-error', 'host-other-port', 'host-button', 'host-cancel', 'hosting', 'hosting-name', 'hosting-hint',
      'join-urls', 'stop-hosting', 'server-name', 'own-name', 'name-taken', 'name-taken-text', 'rejoin-name',
      'rejoin-button', 'rejoin-error', 'name-taken-leave', 'password-saved', 'plain-http', 'plain-http-server',
      'plain-http-join', 'plain-http-cancel', 'host-password-note', 'hosting-access', 'hosting-suggest',
      'hosting-fingerprint', 'copy-fingerprint', 'trust-cert', 'trust-cert-server', 'trust-cert-fingerprint',
      'trust-cert-join', 'trust-cert-cancel', 'cert-changed', 'cert-changed-text', 'cert-changed-expected',
      'cert-changed-presented', 'cert-changed-presented-label', 'cert-changed-confirm', 'cert-changed-replace',
      'cert-changed-cancel'];
    ids.push('chat-title', 'connect-progress', 'connect-cancel', 'people-toggle', 'people-toggle-count', 'people-stale', 'nearby-status');
    // The desktop conventions: settings, confab:// links, the hosting bar's QR code and app link.
    ids.push('settings-open', 'chat-settings', 'settings', 'settings-form', 'setting-notifications', 'setting-sound',
      'setting-keep-in-tray', 'settings-error', 'join-link', 'join-link-server', 'join-link-leave', 'join-link-join',
      'join-link-cancel', 'hosting-share', 'hosting-qr', 'hosting-link', 'copy-link');
    ids.push('conversation-list', 'conversation-name', 'uploads', 'attach-button', 'attach-input', 'drop-zone', 'image-view',
      'image-view-img', 'image-view-name', 'image-view-close');
    // The local history: search in the header, its results, and "Forget" asking first.
    ids.push('search-form', 'search-input', 'search-results', 'search-status', 'search-list', 'forget-server',
      'forget-server-name', 'forget-server-cancel', 'forget-server-forget');
    // 'connect-screen' → connectScreen
    this.#el = Object.fromEntries(ids.map((id) => [id.replace(/-(\w)/g, (_, c) => c.toUpperCase()), $(id)]));
    const e = this.#el;
    e.server.placeholder = `localhost:${DEFAULT_PORT} or https://chat.example.org`;
    e.hostPortHint.textContent = `Default ${DEFAULT_PORT}. 0 lets the system pick a free one.`;
    e.messages.addEventListener('scroll', () => {
      this.#pinned = this.#nearBottom();
      if (this.#pinned) this.#hideJump();
    });
    // A narrower window (taller lines) or a growing draft (a shorter list) does not unpin the view.
    new ResizeObserver(() => {
      if (this.#pinned) e.messages.scrollTop = e.messages.scrollHeight;
    }).observe(e.messages);
    e.jump.addEventListener('click', () => {
      this.scrollToBottom();
      e.input.focus();
    });
    e.hostCancel.addEventListener('click', () => this.showConnect());
    e.password.addEventListener('input', () => this.#renderSavedPassword());
    e.remember.addEventListener('change', () => this.#renderSavedPassword());
    e.hostPassword.addEventListener('input', () => this.#renderHostPasswordNote());
    e.plainHttpJoin.addEventListener('click', () => e.plainHttp.close('join'));
    e.plainHttpCancel.addEventListener('click', () => e.plainHttp.close('cancel'));
    e.trustCertJoin.addEventListener('click', () => e.trustCert.close('trust'));
    e.trustCertCancel.addEventListener('click', () => e.trustCert.close('cancel'));
    // Replacing a trusted certificate takes a deliberate tick first.
    e.certChangedConfirm.addEventListener('change', () => (e.certChangedReplace.disabled = !e.certChangedConfirm.checked));
    e.certChangedReplace.addEventListener('click', () => e.certChanged.close('replace'));
    e.certChangedCancel.addEventListener('click', () => e.certChanged.close('cancel'));
    e.joinLinkJoin.addEventListener('click', () => e.joinLink.close('join'));
    e.joinLinkCancel.addEventListener('click', () => e.joinLink.close('cancel'));
    e.peopleToggle.addEventListener('click', () => this.#showPeoplePanel(e.peopleToggle.getAttribute('aria-expanded') !== 'true'));
    e.forgetServerForget.addEventListener('click', () => e.forgetServer.close('forget'));
    e.forgetServerCancel.addEventListener('click', () => e.forgetServer.close('cancel'));
    this.#layout = new MutationObserver((records) => this.#layOut(records));
    this.#layout.observe(e.messages, { childList: true });
    this.#filesView = new FilesView(e);
    this.#conversationsView = new ConversationsView(e);
    setInterval(() => this.#relabelDays(), DAY_CHECK_MS);
  }

  // ---- user actions ----

  bindConnect(handler) {
    onSubmit(this.#el.connectForm, () => handler(this.connectValues()));
  }

  /** Cancel while joining. */
  /** Settings: `onOpen` when asked for, `onChange(values)` at each change in the panel. */
  bindSettings(onOpen, onChange) {
    const e = this.#el;
    e.settingsOpen.addEventListener('click', onOpen);
    e.chatSettings.addEventListener('click', onOpen);
    e.settingsForm.addEventListener('change', () => onChange(this.settingsValues()));
  }

  bindCancelConnect(handler) {
    this.#el.connectCancel.addEventListener('click', handler);
  }

  /** Enter sends, Shift+Enter is a new line; never while an input method is composing. */
  bindSend(handler) {
    const { input } = this.#el;
    onSubmit(this.#el.sendForm, () => handler(input.value));
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        handler(input.value);
      }
    });
  }

  /** Every edit of the message being written. */
  bindDraft(handler) {
    this.#el.input.addEventListener('input', () => handler(this.#el.input.value));
  }

  /** The Retry button of a failed message: handler(line key). */
  bindRetry(handler) {
    this.#el.messages.addEventListener('click', (e) => {
      const key = e.target?.dataset?.retry;
      if (key) handler(Number(key));
    });
  }

  bindLeave(handler) {
    this.#el.leaveButton.addEventListener('click', handler);
    this.#el.nameTakenLeave.addEventListener('click', handler);
  }

  /** The server or the name was edited by hand. */
  bindCredentialsEdited(handler) {
    this.#el.server.addEventListener('input', handler);
    this.#el.username.addEventListener('input', handler);
  }

  bindRejoin(handler) {
    onSubmit(this.#el.nameTaken, () => handler(this.#el.rejoinName.value));
  }

  bindHostOpen(handler) {
    this.#el.hostOpen.addEventListener('click', handler);
  }

  bindHost(handler) {
    onSubmit(this.#el.hostForm, () => handler(this.hostValues()));
  }

  bindStopHosting(handler) {
    this.#el.stopHosting.addEventListener('click', handler);
  }

  /** handler(focused): whether the user is looking at this window. */
  bindFocusChange(handler) {
    window.addEventListener('focus', () => handler(true));
    window.addEventListener('blur', () => handler(false));
    document.addEventListener('visibilitychange', () => handler(this.isFocused()));
  }

  isFocused() {
    return document.visibilityState === 'visible' && document.hasFocus();
  }

  /**
   * Calls `fn` once, at the next frame; a hidden page (the window in the tray) draws no frames, so
   * then after a short wait instead: messages still arrive and notify.
   */
  nextFrame(fn) {
    let done = false;
    const once = () => {
      if (done) return;
      done = true;
      clearTimeout(fallback);
      fn();
    };
    const fallback = setTimeout(once, HIDDEN_FRAME_MS);
    requestAnimationFrame(once);
  }

  setTitle(title) {
    document.title = title;
  }

  /** What this app can do: host chats, remember passwords (desktop app only). */
  setCapabilities({ hosting, rememberPasswords }) {
    this.#el.hostOpen.hidden = !hosting;
    this.#el.remember.parentElement.hidden = !rememberPasswords;
  }

  /** In a browser the page can only join the server that served it. */
  /** The settings buttons exist in the desktop app only (Rust keeps the settings). */
  setSettingsAvailable(available) {
    this.#el.settingsOpen.hidden = !available;
    this.#el.chatSettings.hidden = !available;
  }

  /** Opens the settings panel showing `settings`. */
  showSettings(settings) {
    const e = this.#el;
    e.settingNotifications.checked = settings.notifications;
    e.settingSound.checked = settings.sound;
    e.settingKeepInTray.checked = settings.keepInTray;
    for (const radio of e.settingsForm.elements.theme) radio.checked = radio.value === settings.theme;
    this.showSettingsError('');
    if (!e.settings.open) e.settings.showModal();
    e.settingNotifications.focus();
  }

  settingsValues() {
    const e = this.#el;
    return {
      notifications: e.settingNotifications.checked,
      sound: e.settingSound.checked,
      keepInTray: e.settingKeepInTray.checked,
      theme: e.settingsForm.elements.theme.value || 'system',
    };
  }

  showSettingsError(text) {
    this.#el.settingsError.textContent = text;
    this.#el.settingsError.hidden = !text;
  }

  /** 'light' or 'dark' forces a theme; null follows the system (styles.css). */
  applyTheme(attribute) {
    if (attribute) document.documentElement.dataset.theme = attribute;
    else delete document.documentElement.dataset.theme;
  }

  /**
   * A confab://join link asks to join `server`: resolves true for Join, false for Cancel (or Escape).
   * `leaving`: the user is in a chat, which joining leaves.
   */
  async confirmJoinLink(server, { leaving }) {
    const e = this.#el;
    e.joinLinkServer.textContent = fieldServer(server);
    e.joinLinkLeave.hidden = !leaving;
    return (await this.#ask(e.joinLink, e.joinLinkCancel)) === 'join';
  }

  /** A server given from elsewhere (a confab:// link) goes in the field as the user would type it. */
  fillServer(server) {
    this.#el.server.value = fieldServer(server);
    this.clearConnectError();
  }

  /** After a link was accepted: the cursor goes to the first field still to fill, else Join is pressed. */
  needsName() {
    const e = this.#el;
    if (e.username.value.trim()) return false;
    e.username.focus();
    return true;
  }

  lockServer(server) {
    this.#el.server.value = server;
    this.#el.server.readOnly = true;
  }

  // ---- connect screen ----

  /** The connect form; `password` only when a join failed and the form goes back to what was typed. */
  showConnect({ server = '', username = '', password = '' } = {}) {
    const e = this.#el;
    e.chatScreen.hidden = true;
    e.hostScreen.hidden = true;
    e.hosting.hidden = true;
    this.#showLeave(true);
    e.connectScreen.hidden = false;
    if (server) e.server.value = server;
    if (username) e.username.value = username;
    e.password.value = password;
    this.#renderSavedPassword();
    this.setConnecting(false);
    (e.server.value ? e.username : e.server).focus();
  }

  connectValues() {
    const e = this.#el;
    return { server: e.server.value.trim(), username: e.username.value, password: e.password.value, remember: e.remember.checked };
  }

  /** A chat found on the network was picked: its address goes in, the cursor to the next field to fill. */
  pickServer(url, { passwordRequired }) {
    const e = this.#el;
    e.server.value = url;
    this.clearConnectError();
    if (!e.username.value.trim()) e.username.focus();
    else if (passwordRequired) e.password.focus();
    else e.connectButton.focus();
  }

  /** A recent server was picked: its address and name go in; the password is asked for. */
  fillRecent(entry) {
    const e = this.#el;
    e.server.value = fieldServer(entry.server);
    e.username.value = entry.username;
    e.password.value = '';
    this.showKeyringNote('');
    e.password.focus();
  }

  /**
   * A password is saved for the picked server: the field stays empty and says the saved one will be
   * used (the page never holds it), Remember is ticked. Not when the user moved on meanwhile; returns
   * whether it showed.
   */
  showSavedPassword(username) {
    const e = this.#el;
    if (e.username.value !== username || e.password.value) return false;
    this.#savedPassword = true;
    e.remember.checked = true;
    this.#renderSavedPassword();
    e.connectButton.focus();
    return true;
  }

  /** Back to a plain password field (another server or name, or joined). */
  clearSavedPassword() {
    this.#savedPassword = false;
    this.#renderSavedPassword();
  }

  #renderSavedPassword() {
    const e = this.#el;
    const shown = this.#savedPassword;
    e.password.placeholder = shown ? 'Saved password will be used' : '';
    e.passwordSaved.hidden = !shown;
    if (!shown) return;
    if (e.password.value) e.passwordSaved.textContent = 'The password you typed is used instead of the saved one.';
    else if (e.remember.checked) e.passwordSaved.textContent = 'Your saved password will be used. Type one to use another instead.';
    else e.passwordSaved.textContent = 'Your saved password will be used this once, then removed from the keyring.';
  }

  /**
   * Asks before a password goes over plain http to another computer; resolves true for Join anyway,
   * false for Cancel (or Escape).
   */
  confirmPlainHttp(server) {
    const e = this.#el;
    const dialog = e.plainHttp;
    if (dialog.open) return Promise.resolve(false);
    e.plainHttpServer.textContent = shortServer(server);
    dialog.returnValue = '';
    return new Promise((resolve) => {
      dialog.addEventListener(
        'close',
        () => {
          const join = dialog.returnValue === 'join';
          (join ? e.connectButton : e.server).focus();
          resolve(join);
        },
        { once: true },
      );
      dialog.showModal();
      e.plainHttpCancel.focus();
    });
  }

  /** Opens `dialog` modally; resolves its returnValue once closed ('' for Escape). */
  #ask(dialog, focus) {
    if (dialog.open) return Promise.resolve('');
    dialog.returnValue = '';
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => resolve(dialog.returnValue), { once: true });
      dialog.showModal();
      focus.focus();
    });
  }

  /**
   * An https server whose certificate the system does not vouch for: shows its fingerprint to
   * compare with the host's; resolves true for Trust and join, false for Cancel (or Escape).
   */
  async confirmTrust(server, fingerprint) {
    const e = this.#el;
    e.trustCertServer.textContent = shortServer(server);
    showFingerprint(e.trustCertFingerprint, fingerprint);
    const trust = (await this.#ask(e.trustCert, e.trustCertCancel)) === 'trust';
    (trust ? e.connectButton : e.server).focus();
    return trust;
  }

  /**
   * A server presents another certificate than the one trusted before (or a found chat announces
   * another one): a loud refusal. Resolves true only when the user ticked that the host made a new
   * certificate and chose to replace the trusted one; false for Don't join (or Escape).
   */
  async showCertificateChanged(server, { expected, presented, announced }) {
    const e = this.#el;
    const where = shortServer(server);
    e.certChangedText.textContent = announced
      ? `The chat found on the network at ${where} announces another certificate than the one you trusted at this address before.`
      : `${where} presented another certificate than the one you trusted before.`;
    showFingerprint(e.certChangedExpected, expected);
    showFingerprint(e.certChangedPresented, presented);
    e.certChangedPresentedLabel.textContent = announced ? 'Announced now' : 'Presented now';
    e.certChangedConfirm.checked = false;
    e.certChangedReplace.disabled = true;
    const replace = (await this.#ask(e.certChanged, e.certChangedCancel)) === 'replace';
    (replace ? e.connectButton : e.server).focus();
    return replace;
  }

  /** A note about saved passwords (the keyring is missing, ...); empty text hides it. */
  showKeyringNote(text) {
    this.#el.keyringNote.textContent = text;
    this.#el.keyringNote.hidden = !text;
  }

  /** While joining `server`: what is going on, and Cancel; after a few seconds, that it has not answered yet. */
  setConnecting(busy, { server } = {}) {
    const e = this.#el;
    e.connectButton.disabled = busy;
    e.connectButton.textContent = busy ? 'Connecting…' : 'Join';
    e.connectForm.setAttribute('aria-busy', String(busy));
    e.connectCancel.hidden = !busy;
    e.connectProgress.hidden = !busy;
    clearTimeout(this.#slowJoin);
    if (!busy) return;
    const where = server ? shortServer(server) : 'the server';
    e.connectProgress.textContent = `Connecting to ${where}…`;
    this.#slowJoin = setTimeout(() => {
      e.connectProgress.textContent = `Still connecting to ${where}: no answer yet. The server may be offline or the address wrong; Cancel to change it.`;
    }, SLOW_JOIN_MS);
    e.connectCancel.focus();
  }

  showConnectError(error) {
    const e = this.#el;
    e.connectError.textContent = error.message;
    e.connectError.hidden = false;
    const field = {
      invalid_address: e.server, unreachable: e.server, not_a_chat_server: e.server,
      name_rejected: e.username, password_required: e.password, wrong_password: e.password, too_many_attempts: e.password,
      no_saved_password: e.password, keyring_unavailable: e.password, keyring_failed: e.password, cancelled: e.server,
    }[error.code] ?? e.connectButton;
    field.focus();
    if (field.select) field.select();
  }

  clearConnectError() {
    this.#el.connectError.hidden = true;
    this.#el.connectError.textContent = '';
  }

  renderRecent(list, { onPick, onForget }) {
    const e = this.#el;
    e.recentList.replaceChildren();
    e.recent.hidden = list.length === 0;
    for (const entry of list) {
      const item = el('li');
      const pick = el('button', 'pick');
      pick.type = 'button';
      pick.append(this.#recentPlace(entry), el('span', 'who', entry.username));
      pick.setAttribute('aria-label', `Fill in ${entry.chatName ? `${entry.chatName} at ` : ''}${entry.server} as ${entry.username}`);
      pick.addEventListener('click', () => onPick(entry));
      const forget = el('button', 'forget', '×');
      forget.type = 'button';
      forget.setAttribute('aria-label', `Forget ${entry.server}`);
      forget.addEventListener('click', () => onForget(entry));
      item.dataset.server = entry.server;
      item.append(pick, forget);
      e.recentList.append(item);
    }
  }

  /** A recent server that did not accept a connection just now: said so on its entry. */
  markRecentSilent(server) {
    const item = [...this.#el.recentList.children].find((li) => li.dataset.server === server);
    if (!item || item.classList.contains('silent')) return;
    item.classList.add('silent');
    item.querySelector('.place').append(el('span', 'silent-note', 'not answering'));
  }

  /** A recent server: the chat's name (when the server said one) above its address. */
  #recentPlace({ chatName, server }) {
    const place = el('span', 'place');
    if (chatName) place.append(el('span', 'chat', chatName));
    place.append(el('span', 'where', shortServer(server)));
    return place;
  }

  /** Chats found on the network: [{ id, chatName, hostName, passwordRequired, url, fingerprint }]. */
  renderNearby(chats, { onPick }) {
    const e = this.#el;
    e.nearby.hidden = false;
    e.nearbyEmpty.hidden = chats.length > 0;
    e.nearbyList.replaceChildren(
      ...chats.map((chat) => {
        const item = el('li');
        const pick = el('button', 'pick');
        pick.type = 'button';
        pick.dataset.url = chat.url;
        if (chat.fingerprint) pick.dataset.fingerprint = chat.fingerprint;
        const name = el('span', 'where', chat.chatName);
        if (chat.passwordRequired) {
          // A drawn padlock (CSS) plus a word: emoji fonts are missing on many Linux desktops.
          const lock = el('span', 'lock', 'password');
          lock.title = 'Needs a password';
          name.append(lock);
        }
        // The address that will be joined, always shown: anyone on the LAN can announce a chat name.
        const address = chat.url.replace(/^https?:\/\//, '');
        const encrypted = chat.fingerprint ? ' · encrypted' : '';
        pick.append(name, el('span', 'who', `${chat.hostName ? `hosted by ${chat.hostName} · ` : ''}${address}${encrypted}`));
        pick.setAttribute('aria-label', `Join ${chat.chatName}${chat.hostName ? `, hosted by ${chat.hostName}` : ''} at ${address}${chat.passwordRequired ? ', needs a password' : ''}`);
        pick.addEventListener('click', () => onPick(chat));
        item.append(pick);
        return item;
      }),
    );
  }

  showNearbyUnavailable(message) {
    const e = this.#el;
    e.nearby.hidden = false;
    e.nearbyList.replaceChildren();
    e.nearbyEmpty.hidden = false;
    e.nearbyStatus.textContent = `${message} Type the address below.`;
  }

  // ---- host screen ----

  /** The host form, with the name from the connect form as a start. */
  showHost({ port }) {
    const e = this.#el;
    e.connectScreen.hidden = true;
    e.hostScreen.hidden = false;
    if (!e.hostName.value) e.hostName.value = e.username.value.trim();
    if (e.hostPort.value === '') e.hostPort.value = String(port);
    this.#renderHostPasswordNote();
    this.clearHostError();
    this.setHosting(false);
    (e.chatName.value ? e.hostName : e.chatName).focus();
  }

  hostValues() {
    const e = this.#el;
    return { chatName: e.chatName.value.trim(), hostName: e.hostName.value.trim(), password: e.hostPassword.value, port: e.hostPort.value.trim() };
  }

  /** Without a room password, a note beside the field suggests one. */
  #renderHostPasswordNote() {
    this.#el.hostPasswordNote.hidden = this.#el.hostPassword.value !== '';
  }

  setHostPort(port) {
    this.#el.hostPort.value = String(port);
  }

  setHosting(busy) {
    this.#el.hostButton.disabled = busy;
    this.#el.hostButton.textContent = busy ? 'Starting…' : 'Start hosting';
  }

  /** The error, and for a taken port a one-click way out (a free port, or the system's choice). */
  showHostError(error, { onOtherPort } = {}) {
    const e = this.#el;
    e.hostError.textContent = error.message;
    e.hostError.hidden = false;
    e.hostOtherPort.hidden = true;
    if (error.code === 'port_in_use') {
      const port = error.freePort ?? 0;
      e.hostOtherPort.textContent = port ? `Use port ${port} instead` : 'Let the system pick a port';
      e.hostOtherPort.onclick = () => onOtherPort(port);
      e.hostOtherPort.hidden = false;
      e.hostPort.focus();
      e.hostPort.select();
      return;
    }
    const field = { invalid_input: e.chatName.value.trim() ? e.hostName : e.chatName, name_rejected: e.hostName }[error.code] ?? e.hostButton;
    field.focus();
  }

  clearHostError() {
    this.#el.hostError.hidden = true;
    this.#el.hostError.textContent = '';
    this.#el.hostOtherPort.hidden = true;
  }

  // ---- chat screen ----

  /**
   * The hosting bar: the chat's name, who can join, each join URL with a Copy button, the
   * certificate's fingerprint others should see, and Stop hosting.
   */
  showHostingBar(info, { onCopy, share = null }) {
    const e = this.#el;
    e.hostingName.textContent = `“${info.chatName}”`;
    // Who can get in, in words: the whole network unless there is a password.
    e.hostingAccess.textContent = info.passwordRequired
      ? 'Password protected: people on this computer’s networks need the password to join.'
      : 'Open to anyone on this network — no password.';
    e.hostingSuggest.textContent = info.passwordRequired ? '' : 'To keep it to people you invite, stop and host again with a room password.';
    e.hostingSuggest.hidden = info.passwordRequired;
    if (info.joinUrls.length) {
      e.hostingHint.textContent = `Others join with${info.passwordRequired ? ' (and the password)' : ''}:`;
    } else {
      e.hostingHint.textContent = `No network address found: only this computer can join, at ${info.localUrl}.`;
    }
    if (info.advertiseError) e.hostingHint.textContent += ' (Not announced on the network.)';
    const copyButton = (copy, text) => {
      copy.onclick = async () => {
        copy.textContent = (await onCopy(text)) ? 'Copied' : 'Copy failed';
        setTimeout(() => (copy.textContent = 'Copy'), COPY_FEEDBACK_MS);
      };
    };
    e.joinUrls.replaceChildren(
      ...info.joinUrls.map((url) => {
        const item = el('li');
        const copy = el('button', 'copy', 'Copy');
        copy.type = 'button';
        copy.setAttribute('aria-label', `Copy ${url}`);
        copyButton(copy, url);
        item.append(el('code', 'url', url), copy);
        return item;
      }),
    );
    // Copied as the server prints it and browsers show it (AB:CD:…); shown in groups to read aloud.
    showFingerprint(e.hostingFingerprint, info.fingerprint);
    e.copyFingerprint.setAttribute('aria-label', 'Copy the certificate fingerprint');
    copyButton(e.copyFingerprint, info.fingerprint);
    // The first join URL as a QR code (SVG made in Rust, shown as an image: nothing in it runs) and
    // as a confab:// link for the Confab app.
    e.hostingShare.hidden = !share;
    if (share) {
      e.hostingQr.hidden = !share.qrSvg;
      if (share.qrSvg) e.hostingQr.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(share.qrSvg)}`;
      e.hostingQr.alt = `QR code of ${share.url}`;
      e.hostingLink.textContent = share.link;
      e.copyLink.setAttribute('aria-label', 'Copy the confab:// link');
      copyButton(e.copyLink, share.link);
    }
    e.hosting.hidden = false;
    this.#showLeave(false); // the host stops hosting instead
  }

  /** `keepLines`: the stored conversation shown while joining stays (the server's lines merge into it). */
  showChat(session, { keepLines = false } = {}) {
    const e = this.#el;
    e.connectScreen.hidden = true;
    e.hostScreen.hidden = true;
    e.chatScreen.hidden = false;
    e.nameTaken.hidden = true;
    if (!keepLines) {
      e.messages.replaceChildren();
      this.#nodes.clear();
      this.#hideJump();
    }
    this.renderSession(session);
    e.input.value = '';
    e.input.focus();
  }

  /** Where we are and as whom (the name can change with a rejoin): the chat's name, else its address. */
  renderSession({ server, name, chatName }) {
    const e = this.#el;
    e.chatTitle.textContent = chatName || shortServer(server);
    e.chatTitle.title = chatName ? `${chatName} (${shortServer(server)})` : shortServer(server);
    e.serverName.textContent = chatName ? shortServer(server) : '';
    e.serverName.hidden = !chatName;
    e.ownName.textContent = name;
  }

  /** Appends lines; keeps the view pinned to the bottom only if it already was. */
  addLines(lines, { forceScroll = false } = {}) {
    if (!lines.length) return;
    const e = this.#el;
    const stick = forceScroll || this.#nearBottom();
    const fragment = document.createDocumentFragment();
    for (const line of lines) {
      const node = this.#render(line);
      this.#nodes.set(line.key, node);
      fragment.append(node);
    }
    e.messages.append(fragment);
    this.#layOut(this.#layout.takeRecords()); // before scrolling: a new day's separator has a height
    if (stick) {
      this.scrollToBottom();
    } else {
      this.#unseen += lines.length;
      e.jump.textContent = `${plural(this.#unseen, 'new message', 'new messages')} ↓`;
      e.jump.hidden = false;
    }
  }

  /**
   * Older lines (a page of "load older") before `anchor`'s element (null: at the end). The view
   * stays on what the user was reading: the scroll position moves by what was added above.
   */
  insertLines(lines, anchor) {
    if (!lines.length) return;
    const m = this.#el.messages;
    const fromBottom = m.scrollHeight - m.scrollTop;
    const fragment = document.createDocumentFragment();
    for (const line of lines) {
      const node = this.#render(line);
      this.#nodes.set(line.key, node);
      fragment.append(node);
    }
    const before = anchor ? this.#nodes.get(anchor.key) : null;
    if (before) before.before(fragment);
    else m.append(fragment);
    this.#layOut(this.#layout.takeRecords()); // separators first: they have a height too
    m.scrollTop = m.scrollHeight - fromBottom;
  }

  bindLoadOlder(handler) {
    this.#olderControl().button.addEventListener('click', handler);
  }

  /**
   * The control at the top of the conversation, from model.older: { state: 'more' | 'loading' |
   * 'start' | 'off', hidden } (hidden: lines were dropped from the top of the view).
   */
  renderOlder({ state, hidden }) {
    const { item, text, button } = this.#olderControl();
    const m = this.#el.messages;
    if (m.firstElementChild !== item) m.prepend(item);
    item.hidden = state === 'off';
    text.textContent = state === 'start' ? 'This is the beginning of the chat history on this server.' : hidden ? 'Older messages hidden —' : '';
    text.hidden = !text.textContent;
    button.hidden = state === 'start';
    button.disabled = state === 'loading';
    button.textContent = state === 'loading' ? 'Loading older messages…' : hidden ? 'load older' : 'Load older messages';
  }

  #olderControl() {
    if (!this.#older) {
      const item = el('li', 'older');
      const text = el('span', 'older-text');
      const button = el('button', 'older-button ghost');
      button.type = 'button';
      item.append(text, button);
      this.#older = { item, text, button };
    }
    return this.#older;
  }

  /**
   * The search box (Ctrl+F focuses it): `onInput(text)` as the user types, `onPick(hit)` for a
   * result, `onClose()` on Escape.
   */
  bindSearch({ onInput, onPick, onClose }) {
    const e = this.#el;
    e.searchForm.addEventListener('submit', (event) => event.preventDefault());
    e.searchInput.addEventListener('input', () => onInput(e.searchInput.value));
    e.searchInput.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        e.searchInput.value = '';
        onClose();
        e.input.focus();
      } else if (event.key === 'ArrowDown') {
        event.preventDefault();
        e.searchList.querySelector('button')?.focus();
      }
    });
    e.searchList.addEventListener('click', (event) => {
      const item = event.target.closest('[data-hit]');
      if (item) onPick(this.#hits[Number(item.dataset.hit)]);
    });
    document.addEventListener('keydown', (event) => {
      if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === 'f' && !e.chatScreen.hidden) {
        event.preventDefault();
        e.searchInput.focus();
        e.searchInput.select();
      }
    });
  }

  /** The results of search.js's SearchModel: each a button with sender, time and the snippet, matches in <mark>. */
  renderSearch(search) {
    const e = this.#el;
    this.#hits = search.hits;
    e.searchResults.hidden = search.state === 'idle';
    e.searchStatus.textContent = search.summary;
    e.searchList.replaceChildren(
      ...this.#hits.map((hit, index) => {
        const item = el('li');
        const button = el('button', 'hit');
        button.type = 'button';
        button.dataset.hit = String(index);
        const meta = el('span', 'meta');
        meta.append(el('span', 'from', hit.from), timeElement(hit.ts));
        const snippet = el('span', 'snippet');
        for (const part of highlightParts(hit.snippet, hit.ranges)) snippet.append(part.mark ? el('mark', null, part.text) : part.text);
        button.append(meta, snippet);
        item.append(button);
        return item;
      }),
    );
    if (search.state === 'idle' && e.searchInput.value.trim()) e.searchInput.value = '';
  }

  /** A line jumped to from a search result: scrolled into the middle of the view and highlighted briefly. */
  showFound(line) {
    const node = this.#nodes.get(line.key);
    if (!node) return;
    node.scrollIntoView({ block: 'center' });
    node.classList.add('found');
    node.setAttribute('tabindex', '-1');
    node.focus({ preventScroll: true });
    setTimeout(() => node.classList.remove('found'), FOUND_MS);
  }

  /** "Forget" in recent servers: what goes with it is said first; resolves true for Forget. */
  async confirmForget({ server, chatName }) {
    const e = this.#el;
    e.forgetServerName.textContent = chatName ? `${chatName} (${shortServer(server)})` : shortServer(server);
    return (await this.#ask(e.forgetServer, e.forgetServerCancel)) === 'forget';
  }

  /** Where messages are missing: a marker, not a line (day separators and grouping pass over it). */
  #renderGap(line) {
    return el('li', 'gap', line.text);
  }

  /** Redraws lines in place (same element: keeps focus, screen reader position and scroll). */
  updateLines(lines) {
    for (const line of lines) {
      const node = this.#nodes.get(line.key);
      if (!node) continue;
      const fresh = this.#render(line);
      node.className = fresh.className;
      node.replaceChildren(...fresh.childNodes);
      this.#lineOf.set(node, line);
      // Its class was replaced, and a delivered line has the server's time: it and the next one.
      this.#arrange(node);
      const next = this.#lineAtOrAfter(node.nextElementSibling);
      if (next) this.#arrange(next);
    }
  }

  removeLines(lines) {
    for (const line of lines) {
      this.#nodes.get(line.key)?.remove();
      this.#nodes.delete(line.key);
    }
    this.#layOut(this.#layout.takeRecords());
  }

  scrollToBottom() {
    this.#el.messages.scrollTop = this.#el.messages.scrollHeight;
    this.#pinned = true;
    this.#hideJump();
  }

  renderStatus(status, pendingCount) {
    const e = this.#el;
    const { state, attempt, retryInMs, detail } = status;
    e.status.dataset.state = state;
    e.statusText.textContent = STATUS_LABELS[state] ?? state;
    // Who was online is only as of the lost connection: greyed and said so until the server tells again.
    e.people.classList.toggle('stale', state !== 'connected');
    e.peopleStale.hidden = state === 'connected';
    e.peopleStale.textContent = state === 'reconnecting' ? 'As last seen: reconnecting…' : 'As last seen.';
    this.#renderNameTaken(status, pendingCount);
    if (state === 'connected' || state === 'nameTaken') {
      e.banner.hidden = true;
      return;
    }
    let text = state === 'reconnecting' ? `Connection lost. Reconnecting${attempt > 1 ? ` (attempt ${attempt})` : ''}` : 'Offline.';
    if (retryInMs) text += `, next try in ${Math.max(1, Math.round(retryInMs / 1000))} s`;
    text += '.';
    if (detail) text += ` ${detail}`;
    if (pendingCount) text += ` ${plural(pendingCount, 'message', 'messages')} will be sent when back.`;
    else text += ' What you send now is kept and sent when back.';
    e.banner.textContent = text;
    e.banner.dataset.state = state;
    e.banner.hidden = false;
  }

  /** The server refuses our name after a reconnect: say so, and offer another name or Leave. */
  #renderNameTaken({ state, name }, pendingCount) {
    const e = this.#el;
    if (state !== 'nameTaken') {
      e.nameTaken.hidden = true;
      return;
    }
    const refused = name ?? e.ownName.textContent;
    let text = `Your name “${refused}” is taken on this server now — probably by your previous connection. Choose another name to go on, or try again.`;
    if (pendingCount) text += ` ${plural(pendingCount, 'message', 'messages')} will be sent once you are back in.`;
    e.nameTakenText.textContent = text;
    if (!e.nameTaken.hidden) return; // already open: keep what the user typed
    e.rejoinName.value = refused;
    this.showRejoinError('');
    this.setRejoining(false);
    e.nameTaken.hidden = false;
    e.rejoinName.focus();
  }

  setRejoining(busy) {
    this.#el.rejoinButton.disabled = busy;
    this.#el.rejoinButton.textContent = busy ? 'Rejoining…' : 'Rejoin';
  }

  /** Why a rejoin did not work; empty text hides it. */
  showRejoinError(text) {
    const e = this.#el;
    e.rejoinError.textContent = text;
    e.rejoinError.hidden = !text;
    if (text) e.rejoinName.focus();
  }

  showBannerNote(text) {
    const e = this.#el;
    e.banner.textContent = text;
    e.banner.dataset.state = 'note';
    e.banner.hidden = false;
  }

  renderUsers(users, features, ownName) {
    const e = this.#el;
    e.people.hidden = !features.presence;
    e.peopleToggle.hidden = !features.presence;
    if (!features.presence) return this.#showPeoplePanel(false);
    e.peopleCount.textContent = `(${users.length})`;
    e.peopleToggleCount.textContent = `(${users.length})`;
    e.peopleList.replaceChildren(...users.map((name) => this.#conversationsView.person(name, name === ownName)));
  }

  renderTyping(names) {
    let text = '';
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = `${names.length} people are typing…`;
    this.#el.typing.textContent = text;
  }

  /** The text being written. */
  draft() {
    return this.#el.input.value;
  }

  clearDraft() {
    this.#el.input.value = '';
  }

  focusDraft() {
    this.#el.input.focus();
  }

  /** Character count under the input, from model.draftStatus(); past the limit it says why sending is blocked. */
  renderCounter({ count, max, error }) {
    const e = this.#el;
    const over = error === REFUSAL_CODES.TOO_LONG;
    e.counter.classList.toggle('over', over);
    e.counter.textContent = over ? `${count} / ${max} characters: ${count - max} too many to send` : count > 0 ? `${count} / ${max}` : '';
    e.sendButton.disabled = error !== null;
    // Grow with the text, up to the CSS max-height.
    e.input.style.height = 'auto';
    e.input.style.height = `${e.input.scrollHeight + 2}px`;
  }

  announce(text) {
    this.#el.announcer.textContent = text;
  }

  #showLeave(shown) {
    this.#el.leaveButton.hidden = !shown;
    this.#el.nameTakenLeave.hidden = !shown;
  }

  #render(line) {
    if (line.kind === 'gap') return this.#renderGap(line);
    if (line.kind === 'system') {
      const node = el('li', 'system');
      node.append(el('span', 'text', line.text), timeElement(line.ts));
      this.#lineOf.set(node, line);
      return node;
    }
    const node = el('li', `msg${line.own ? ' own' : ''}${line.mention ? ' mention' : ''}${line.state !== 'sent' ? ` ${line.state}` : ''}`);
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
    node.append(meta);
    // A file's caption may be empty: then the file alone.
    if (line.text || !line.attachment) node.append(richText(line.text));
    const attachment = this.#filesView.element(line);
    if (attachment) node.append(attachment);
    this.#lineOf.set(node, line);
    return node;
  }

  /**
   * Day separators and grouping for lines added or removed by any code (MutationObserver records):
   * each added line and whatever follows a change is laid out again against what is before it.
   */
  #layOut(records) {
    const e = this.#el;
    const touched = new Set();
    let endChanged = false;
    for (const record of records) {
      for (const node of record.addedNodes) if (this.#lineOf.has(node)) touched.add(node);
      const after = record.nextSibling ?? null;
      if (after) touched.add(after);
      else endChanged = true;
    }
    for (const node of touched) {
      const line = node.isConnected && node.parentNode === e.messages ? this.#lineAtOrAfter(node) : null;
      if (line) this.#arrange(line);
    }
    // Removed lines at the end leave no separator behind.
    if (endChanged) while (e.messages.lastElementChild?.classList.contains('day')) e.messages.lastElementChild.remove();
    this.#layout.takeRecords(); // our own separators need no layout
  }

  /** `node` if it is a line, else the first line after it (a separator or a marker is skipped). */
  #lineAtOrAfter(node) {
    let at = node;
    while (at && !this.#lineOf.has(at)) at = at.nextElementSibling;
    return at;
  }

  /**
   * One line against the ones before it: a day separator above the first line of each day, and
   * `cont` (name and time not repeated) when it goes on from the line right above it.
   */
  #arrange(node) {
    let above = node.previousElementSibling;
    while (above?.classList.contains('day')) {
      const next = above.previousElementSibling;
      above.remove();
      above = next;
    }
    const line = this.#lineOf.get(node);
    let earlier = above;
    while (earlier && !this.#lineOf.has(earlier)) earlier = earlier.previousElementSibling;
    const newDay = !earlier || !sameDay(this.#lineOf.get(earlier).ts, line.ts);
    if (newDay) node.before(this.#daySeparator(line.ts));
    // Only the line right above: an announcement, a separator or a marker between breaks the group.
    const cont = !newDay && above === earlier && continues(this.#lineOf.get(earlier), line);
    node.classList.toggle('cont', cont);
    // Its name and time are not shown: they are in its tooltip.
    if (cont) node.title = `${line.from}, ${fullFormat.format(new Date(line.ts))}`;
    else node.removeAttribute('title');
  }

  #daySeparator(ts) {
    const node = el('li', 'day');
    node.setAttribute('role', 'separator');
    node.dataset.ts = String(ts);
    node.append(el('span', null, dayLabel(ts)));
    this.#today ??= new Date().toDateString();
    return node;
  }

  /** After midnight, "Today" becomes "Yesterday" (and so on). */
  #relabelDays() {
    const today = new Date().toDateString();
    if (this.#today === null || today === this.#today) return;
    this.#today = today;
    for (const node of this.#el.messages.querySelectorAll(':scope > li.day')) {
      node.firstElementChild.textContent = dayLabel(Number(node.dataset.ts));
    }
  }

  /** Below 640 px the online list is a panel over the chat, opened and closed by the People button. */
  #showPeoplePanel(open) {
    const e = this.#el;
    e.peopleToggle.setAttribute('aria-expanded', String(open));
    e.people.classList.toggle('open', open);
  }

  // ---- conversations (§2.10) and files (§2.11) ----

  /** `handler({ key })` from the conversations list, `handler({ name })` from a name in the online list. */
  bindOpenConversation(handler) {
    this.#conversationsView.bindOpen(handler);
  }

  /** The conversations beside the chat ([{ key, name, unread, current }]) and the one shown (`peer`, null: the room). */
  renderConversations(list, peer) {
    this.#conversationsView.render(list);
    this.#conversationsView.showCurrent(peer);
  }

  /** Another conversation: its lines replace the ones shown, at the bottom. */
  showConversation(lines, peer) {
    const e = this.#el;
    e.messages.replaceChildren();
    this.#nodes.clear();
    this.#hideJump();
    this.#conversationsView.showCurrent(peer);
    this.addLines(lines, { forceScroll: true });
    // Below 640 px the list is a panel over the chat: it closes once a conversation is picked.
    e.people.classList.remove('open');
    e.peopleToggle?.setAttribute('aria-expanded', 'false');
    e.input.focus();
  }

  /** `handler(files)`: chosen with Attach, dropped on the chat, or pasted (images). */
  bindAttach(handler) {
    this.#filesView.bindAttach(handler);
  }

  bindUploadActions(handlers) {
    this.#filesView.bindUploadActions(handlers);
  }

  /** Where images and downloads come from (the transport's): { image, href, onSave }. */
  bindAttachments(sources) {
    this.#filesView.bindAttachments(sources);
  }

  renderFiles(files) {
    this.#filesView.renderFiles(files);
  }

  renderUploads(uploads) {
    this.#filesView.renderUploads(uploads);
  }

  #nearBottom() {
    const m = this.#el.messages;
    return m.scrollHeight - m.scrollTop - m.clientHeight < STICK_PX;
  }

  #hideJump() {
    this.#unseen = 0;
    this.#el.jump.hidden = true;
  }
}
