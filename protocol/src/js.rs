//! `ui/js/protocol.js`, generated from this crate so the UI, the browser page and the Node bench
//! server read the protocol's constants, texts and rules from the same definitions as Rust.
//! `cargo test -p confab-protocol` fails when the file is stale; `CONFAB_WRITE_PROTOCOL_JS=1` makes
//! the same test write it.

use std::fmt::Write;

use serde_json::json;

use crate::{
    event, limits, AnnouncementKind, AuthError, ChatMessage, Limits, NameRefusal, NoticeCode, RefusalCode,
    DEFAULT_PORT, PROTOCOL_VERSION, SERVER_NAME,
};

/// Where the generated module lives, relative to the workspace root.
pub const PATH: &str = "ui/js/protocol.js";

/// Stand-ins that cannot occur in a real text: the Rust texts are rendered with them, then they
/// become JS template placeholders, so no wording is written a second time.
const NAME: &str = "\u{1}name\u{1}";
const MAX_MESSAGE_CHARS: usize = 987_654_001;
const MESSAGES_PER_SECOND: u32 = 987_654_002;
const MESSAGE_BURST: u32 = 987_654_003;

/// The whole module.
pub fn module() -> String {
    let mut out = String::new();
    out.push_str(
        "// Generated from the confab-protocol crate (protocol/src/js.rs): do not edit.\n\
         // `cargo test -p confab-protocol` fails when it is stale; CONFAB_WRITE_PROTOCOL_JS=1 rewrites it.\n\n",
    );
    let constant = |out: &mut String, name: &str, value: serde_json::Value| {
        let _ = writeln!(out, "export const {name} = Object.freeze({value});");
    };
    let _ = writeln!(out, "export const PROTOCOL_VERSION = {PROTOCOL_VERSION};");
    let _ = writeln!(out, "export const SERVER_NAME = {};", json!(SERVER_NAME));
    let _ = writeln!(out, "export const DEFAULT_PORT = {DEFAULT_PORT};");
    let _ = writeln!(out, "export const DEFAULT_HISTORY = {};", limits::DEFAULT_HISTORY);
    let _ = writeln!(out, "export const DEFAULT_MAX_QUEUED_PACKETS = {};", limits::DEFAULT_MAX_QUEUED_PACKETS);
    let _ = writeln!(out, "export const DEFAULT_PING_INTERVAL_MS = {};", limits::DEFAULT_PING_INTERVAL.as_millis());
    let _ = writeln!(out, "export const DEFAULT_PING_TIMEOUT_MS = {};", limits::DEFAULT_PING_TIMEOUT.as_millis());
    constant(&mut out, "DEFAULT_LIMITS", serde_json::to_value(Limits::default()).expect("limits serialize"));
    constant(
        &mut out,
        "EVENTS",
        json!({
            "REGISTER": event::REGISTER, "MESSAGE": event::MESSAGE, "HISTORY": event::HISTORY,
            "USERS": event::USERS, "TYPING": event::TYPING, "REFUSED": event::REFUSED,
            "NOTICE": event::NOTICE, "WELCOME": event::WELCOME,
        }),
    );
    constant(&mut out, "REFUSAL_CODES", codes(RefusalCode::KNOWN.iter().map(RefusalCode::as_str)));
    constant(&mut out, "NOTICE_CODES", codes(NoticeCode::KNOWN.iter().map(NoticeCode::as_str)));
    constant(&mut out, "ANNOUNCEMENT_KINDS", codes(AnnouncementKind::ALL.iter().map(|k| k.as_str())));
    constant(
        &mut out,
        "AUTH_ERRORS",
        json!({
            "PASSWORD_REQUIRED": AuthError::PasswordRequired.to_string(),
            "WRONG_PASSWORD": AuthError::WrongPassword.to_string(),
            "TOO_MANY_ATTEMPTS": AuthError::TooManyAttempts.to_string(),
        }),
    );
    out.push('\n');
    out.push_str(&announcement_text());
    out.push_str(&refusal_reason());
    out.push_str(&name_refusal_text());
    out.push_str(RULES);
    out
}

/// `{"TOO_LONG": "too_long", ...}`: SCREAMING keys for JS, the wire string as value.
fn codes<'a>(codes: impl Iterator<Item = &'a str>) -> serde_json::Value {
    codes.map(|code| (code.to_uppercase(), json!(code))).collect::<serde_json::Map<_, _>>().into()
}

/// A Rust text with the stand-ins replaced by `${...}` placeholders, as a JS template literal.
fn template(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('`', "\\`").replace("${", "\\${");
    let filled = escaped
        .replace(NAME, "${name}")
        .replace(&MAX_MESSAGE_CHARS.to_string(), "${limits.maxMessageChars}")
        .replace(&MESSAGES_PER_SECOND.to_string(), "${limits.messagesPerSecond}")
        .replace(&MESSAGE_BURST.to_string(), "${limits.messageBurst}");
    format!("`{filled}`")
}

fn announcement_text() -> String {
    let mut out = String::from(
        "/** The Server line announcing `kind` (\"join\", \"leave\", \"shutdown\") about `name`. */\n\
         export function announcementText(kind, name) {\n  switch (kind) {\n",
    );
    for kind in AnnouncementKind::ALL {
        let message = ChatMessage::announcement(kind, Some(NAME.into()), 0, 0).message;
        let _ = writeln!(out, "    case {}: return {};", json!(kind.as_str()), template(&message));
    }
    out.push_str("    default: return null;\n  }\n}\n\n");
    out
}

fn refusal_reason() -> String {
    let limits = Limits {
        max_message_chars: MAX_MESSAGE_CHARS,
        messages_per_second: MESSAGES_PER_SECOND,
        message_burst: MESSAGE_BURST,
        ..Limits::default()
    };
    let mut out = String::from(
        "/** The human reason sent with a refusal `code`, for the server's `limits`. */\n\
         export function refusalReason(code, limits = DEFAULT_LIMITS) {\n  switch (code) {\n",
    );
    for code in RefusalCode::KNOWN {
        let _ = writeln!(out, "    case {}: return {};", json!(code.as_str()), template(&code.reason(&limits)));
    }
    out.push_str("    default: return String(code);\n  }\n}\n\n");
    out
}

fn name_refusal_text() -> String {
    let mut out = String::from(
        "/** Why a name cannot be registered, in words (`code` from validateName). */\n\
         export function nameRefusalText(code, maxChars = DEFAULT_LIMITS.maxNameChars) {\n  switch (code) {\n",
    );
    for refusal in NameRefusal::examples(MAX_MESSAGE_CHARS) {
        let text = refusal.to_string().replace(&MAX_MESSAGE_CHARS.to_string(), "\u{2}");
        let text = template(&text).replace('\u{2}', "${maxChars}");
        let _ = writeln!(out, "    case {}: return {};", json!(refusal.code()), text);
    }
    out.push_str("    default: return String(code);\n  }\n}\n\n");
    out
}

/// The rules a client checks before sending, in JS. They mirror `names::validate` and `text::check`
/// (`foldName` only the letter-case part of `names::fold`); `protocol/tests/cases.json` runs both against the same cases.
const RULES: &str = r#"// Rust's str::trim, char::is_control and general category Cf, exactly (JS's trim() also strips U+FEFF).
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
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checked_in_module_is_the_generated_one() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(PATH);
        let generated = module();
        if std::env::var_os("CONFAB_WRITE_PROTOCOL_JS").is_some() {
            std::fs::write(&path, &generated).expect("writing ui/js/protocol.js");
        }
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            checked_in == generated,
            "{PATH} is stale: run CONFAB_WRITE_PROTOCOL_JS=1 cargo test -p confab-protocol"
        );
    }

    #[test]
    fn texts_become_templates() {
        assert!(announcement_text().contains("case \"join\": return `${name} has joined the chat`;"));
        assert!(refusal_reason().contains("`the message is longer than ${limits.maxMessageChars} characters`"));
        assert!(name_refusal_text().contains("`a name can be at most ${maxChars} characters`"));
        assert_eq!(template("a `b` ${c}"), r"`a \`b\` \${c}`");
    }
}
