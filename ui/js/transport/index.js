// The single door between the UI and the network. model.js, view.js and controller.js only ever use
// the interface below, so the same ui/ runs in the desktop app (tauri.js: the socket lives in Rust)
// and in a plain browser on the page a chat server serves (socketio.js: socket.io-client directly).
//
// Interface of a transport:
//   connect({ server, username, password, useSavedPassword?, remember?, announcedFingerprint?,
//            acceptFingerprint? })
//       → Promise<{ server, name, features, limits?, keyringNote? }>
//       useSavedPassword (desktop app, with no password typed): join with the password saved in the
//       OS keyring, which the transport reads itself (the page never holds it).
//       announcedFingerprint (desktop app): the certificate fingerprint a chat found on the network
//       announced; acceptFingerprint: one the user chose to trust. The app keeps the pins itself.
//       rejects with { code, message } (codes: invalid_address, unreachable, not_a_chat_server,
//       name_invalid, name_rejected, password_required, wrong_password, too_many_attempts,
//       connection_refused, timeout, no_saved_password, keyring_unavailable, keyring_failed,
//       untrusted_certificate (+ fingerprint), certificate_changed (+ expected, presented,
//       announced), tls, …)
//   send(text, { to, attachment }) → Promise<localId>   the message is pending until a 'delivered'
//       event; to: private to that name (§2.10); attachment: the id of an uploaded file (§2.11)
//   upload(file, { onProgress(sent, total) }) → { done: Promise<{ id, name, size, type, width,
//       height }>, cancel() }; done rejects { code: 'cancelled' | 'too_large' | …, message }
//   imageSource(attachment, 'thumbnail' | 'full') → Promise<src>  (a data: URL in the app)
//   downloadHref(attachment) → a link to download it (browser page), or null: then
//   saveFile(attachment) → Promise<path | null>   the system save dialog and the download (app)
//   rejoin(name) → Promise<{ name }>     after a 'nameTaken' status: register again with this name
//       (the same or another); rejects { code, message } like connect. Pending messages stay queued
//       and are sent once registered.
//   loadOlder(before) → Promise<{ messages, startReached }>   "load older messages": the page of the
//       server's history before id `before` (the oldest shown), oldest first; startReached when the
//       server has nothing older. Waits while the connection is being re-established.
//   setTyping(bool) → Promise<void>
//   disconnect() → Promise<void>
//   onEvents(handler)                    handler(events[]) receives batches of chat events:
//       { type: 'status', state: 'connected'|'reconnecting'|'offline', attempt, retryInMs, detail }
//       { type: 'status', state: 'nameTaken', name, detail }   reconnected, but the server refuses
//           `name` (it may still hold our old connection): no more retries until rejoin(name)
//       { type: 'session', name, server, features: { history, presence, acks }, limits? }
//           limits: what the server allows, shaped like protocol.js DEFAULT_LIMITS (absent when the
//           server does not say: then DEFAULT_LIMITS); a new 'session' event when they change
//       { type: 'messages', messages: [{ id, ts, from, message, kind?, name?, to?, attachment? }] }
//       { type: 'missing', after, before, upTo }   the server no longer has what was said between
//           ids `after` and `before` (its history begins later): shown as one marker in their place,
//           before the messages from `before` on; ids count announcements too, so at most `upTo`
//       { type: 'historyStart' }   the server's history has no chat message from before this
//           registration (its pushed page was empty): nothing older to load
//       The 'session' event also carries `run` (the server's run of ids, welcome.run, or null):
//           ids of another run say nothing about those of this one.
//       { type: 'users', names }   { type: 'typing', name, typing }
//       { type: 'delivered', localId, message }   { type: 'failed', localId, code, reason }
//       { type: 'notice', code, message }
//       { type: 'files', maxBytes }   after each register: the server takes files up to maxBytes
//           (null: none); the token stays in the transport
//   recentServers() → Promise<[{ server, username, lastUsed }]>;  forgetServer(server) (and its password)
//   serverAnswers(server) → Promise<bool>   whether it accepts connections now (optional: desktop app)
//   hasSavedPassword(server, username) → Promise<bool>  whether a password is saved (never the
//       password itself; optional: OS keyring, desktop app only)
//   setTitle(title); notify(title, body, { mention })   window title and desktop notification (a
//       mention of the user's name is notified even when notifications are off)
//   getSettings() → Promise<{ notifications, sound, keepInTray, theme }>; setSettings(settings);
//       setTrayStatus(text, inChat); shareJoinUrl(url) → Promise<{ link, qrSvg }>; watchDesktop(handler)
//       handler({ type: 'join', server } | { type: 'badLink', message } | { type: 'opened' })
//       (optional: desktop app only)
//   host({ chatName, hostName, password, port }) → Promise<{ chatName, port, joinUrls, localUrl,
//       fingerprint, passwordRequired, advertiseError }>, rejects { code, message, freePort? }; stopHosting();
//       defaultHostPort(); copyText(text) → Promise<bool>          (optional: desktop app only)
//   watchNearby(handler)                 handler({ type: 'found', id, chatName, hostName,
//       passwordRequired, url, fingerprint } | { type: 'lost', id } | { type: 'unavailable', message }) (optional)
//   fixedServer (optional)               the only server this transport can join (browser page)

import { createTauriTransport } from './tauri.js';

export async function createTransport() {
  if (window.__TAURI__?.core) {
    return createTauriTransport(window.__TAURI__.core);
  }
  // A browser, on the page a Confab server serves: socket.io straight to that server. Loaded only
  // here, so the desktop app never downloads the socket.io client.
  const { createSocketIoTransport } = await import('./socketio.js');
  return createSocketIoTransport();
}
