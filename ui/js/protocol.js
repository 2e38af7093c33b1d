// Generated from the confab-protocol crate (protocol/src/js.rs): do not edit.
// `cargo test -p confab-protocol` fails when it is stale; CONFAB_WRITE_PROTOCOL_JS=1 rewrites it.

export const PROTOCOL_VERSION = 1;
export const SERVER_NAME = "Server";
export const DEFAULT_PORT = 7878;
export const DEFAULT_HISTORY = 200;
export const DEFAULT_MAX_QUEUED_PACKETS = 2048;
export const DEFAULT_PING_INTERVAL_MS = 5000;
export const DEFAULT_PING_TIMEOUT_MS = 4000;
export const DEFAULT_LIMITS = Object.freeze({"maxMessageChars":2000,"maxNameChars":32,"maxPacketBytes":65536,"messageBurst":20,"messagesPerSecond":10});
export const EVENTS = Object.freeze({"HISTORY":"history","MESSAGE":"message","NOTICE":"notice","REFUSED":"refused","REGISTER":"register","TYPING":"typing","USERS":"users","WELCOME":"welcome"});
export const REFUSAL_CODES = Object.freeze({"EMPTY":"empty","INVALID_PAYLOAD":"invalid_payload","NOT_REGISTERED":"not_registered","RATE_LIMITED":"rate_limited","TOO_LONG":"too_long","UNAVAILABLE":"unavailable","UNKNOWN_FILE":"unknown_file","UNKNOWN_RECIPIENT":"unknown_recipient"});
export const NOTICE_CODES = Object.freeze({"TOO_SLOW":"too_slow"});
export const ANNOUNCEMENT_KINDS = Object.freeze({"JOIN":"join","LEAVE":"leave","SHUTDOWN":"shutdown"});
export const AUTH_ERRORS = Object.freeze({"PASSWORD_REQUIRED":"password required","TOO_MANY_ATTEMPTS":"too many password attempts: wait a moment and try again","WRONG_PASSWORD":"wrong password"});

/** The Server line announcing `kind` ("join", "leave", "shutdown") about `name`. */
export function announcementText(kind, name) {
  switch (kind) {
    case "join": return `${name} has joined the chat`;
    case "leave": return `${name} left the chat`;
    case "shutdown": return `The chat was closed: its server stopped`;
    default: return null;
  }
}

/** The human reason sent with a refusal `code`, for the server's `limits`. */
export function refusalReason(code, limits = DEFAULT_LIMITS) {
  switch (code) {
    case "not_registered": return `register a name before sending messages`;
    case "invalid_payload": return `expected an object with a string field "message"`;
    case "empty": return `the message is empty`;
    case "too_long": return `the message is longer than ${limits.maxMessageChars} characters`;
    case "rate_limited": return `too many messages: at most ${limits.messageBurst} at once, then ${limits.messagesPerSecond} per second`;
    case "unavailable": return `the server cannot save messages right now, so this one was not delivered: try again later`;
    case "unknown_recipient": return `nobody of that name is in the chat now: private messages go to someone online`;
    case "unknown_file": return `attach a file you uploaded, once`;
    default: return String(code);
  }
}

/** Why a name cannot be registered, in words (`code` from validateName). */
export function nameRefusalText(code, maxChars = DEFAULT_LIMITS.maxNameChars) {
  switch (code) {
    case "empty": return `a name cannot be empty`;
    case "too_long": return `a name can be at most ${maxChars} characters`;
    case "control_character": return `a name cannot contain control characters`;
    case "format_character": return `a name cannot contain invisible or text-direction characters`;
    case "reserved": return `“Server” is the name of the chat server itself`;
    default: return String(code);
  }
}

// Rust's str::trim, char::is_control and general category Cf, exactly (JS's trim() also strips U+FEFF).
const EDGE_SPACE = /^\p{White_Space}+|\p{White_Space}+$/gu;
const CONTROL = /\p{Cc}/u;
const FORMAT = /\p{Cf}/u;
const trim = (text) => text.replace(EDGE_SPACE, '');

/** Length as the protocol counts it: Unicode scalar values, not UTF-16 units. */
export function charCount(text) {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}

/** { name } (trimmed) when `raw` can be registered, else { error } (a NameRefusal code). */
export function validateName(raw, maxChars = DEFAULT_LIMITS.maxNameChars) {
  if (typeof raw !== 'string') return { error: 'empty' };
  const name = trim(raw);
  if (name === '') return { error: 'empty' };
  if (charCount(name) > maxChars) return { error: 'too_long' };
  if (CONTROL.test(name)) return { error: 'control_character' };
  if (FORMAT.test(name)) return { error: 'format_character' };
  if (foldName(name) === foldName(SERVER_NAME)) return { error: 'reserved' };
  return { name };
}

/** Names that differ only in letter case collide. The server also folds compatibility forms and
 *  look-alike letters (UTS #39 skeleton, names::fold in Rust): the server decides uniqueness. */
export function foldName(name) {
  return name.toLowerCase();
}

/** null when a server with `limits` accepts `text` as a message, else the refusal code. */
export function checkText(text, limits = DEFAULT_LIMITS) {
  if (typeof text !== 'string') return 'invalid_payload';
  if (charCount(text) > limits.maxMessageChars) return 'too_long';
  if (trim(text) === '') return 'empty';
  return null;
}
