//! Refusals (docs/PROTOCOL.md §2.5): a request the server did not carry out, with a code for
//! programs and a reason for people, built from the limits the server runs with.

use serde::{Deserialize, Serialize};

use crate::Limits;

/// Declares a code enum as it crosses the wire: a known set of snake_case strings, plus `Other` so
/// that a client keeps a code of a newer server instead of failing to decode the whole payload.
macro_rules! wire_code {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A code this version does not know (kept as sent).
            Other(String),
        }

        impl $name {
            /// Every known code, for documentation and the generated JS.
            pub const KNOWN: &'static [$name] = &[$($name::$variant,)+];

            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Other(code) => code,
                }
            }
        }

        impl From<String> for $name {
            fn from(code: String) -> Self {
                match code.as_str() {
                    $($text => $name::$variant,)+
                    _ => $name::Other(code),
                }
            }
        }

        impl From<$name> for String {
            fn from(code: $name) -> String {
                code.as_str().to_owned()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use wire_code;

wire_code! {
    /// Why the server refused a request.
    RefusalCode {
        /// The socket has not registered.
        NotRegistered = "not_registered",
        /// The argument is not an object with a string `message`.
        InvalidPayload = "invalid_payload",
        /// `message` is empty or only whitespace.
        Empty = "empty",
        /// `message` is longer than the server's `maxMessageChars`.
        TooLong = "too_long",
        /// More than the per-connection rate.
        RateLimited = "rate_limited",
        /// The server cannot store messages right now (its chat log failed): the message was not
        /// delivered to anyone.
        Unavailable = "unavailable",
        /// A private message's `to` names nobody registered in the chat right now.
        UnknownRecipient = "unknown_recipient",
        /// A message's `attachment` is not a file this user uploaded and has not sent yet.
        UnknownFile = "unknown_file",
    }
}

impl RefusalCode {
    /// The human text sent with the code, from the limits the server actually runs with.
    pub fn reason(&self, limits: &Limits) -> String {
        match self {
            Self::NotRegistered => "register a name before sending messages".to_owned(),
            Self::InvalidPayload => "expected an object with a string field \"message\"".to_owned(),
            Self::Empty => "the message is empty".to_owned(),
            Self::TooLong => format!("the message is longer than {} characters", limits.max_message_chars),
            Self::RateLimited => format!(
                "too many messages: at most {} at once, then {} per second",
                limits.message_burst, limits.messages_per_second
            ),
            Self::Unavailable => {
                "the server cannot save messages right now, so this one was not delivered: try again later".to_owned()
            }
            Self::UnknownFile => "attach a file you uploaded, once".to_owned(),
            Self::UnknownRecipient => {
                "nobody of that name is in the chat now: private messages go to someone online".to_owned()
            }
            Self::Other(code) => code.clone(),
        }
    }

    /// True when sending the same request later may succeed and a client retries it by itself.
    /// `unavailable` may pass later too, but only once the server's storage is repaired: a client
    /// shows it rather than retrying blindly.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::RateLimited)
    }
}

/// The ack of a refused request: `{"error": code, "reason": text}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub error: RefusalCode,
    #[serde(default)]
    pub reason: String,
}

impl Refusal {
    pub fn new(code: RefusalCode, limits: &Limits) -> Self {
        Self { reason: code.reason(limits), error: code }
    }

    /// Reads a refusal out of an ack argument; `None` when it is not one (a delivered message).
    pub fn from_value(value: &serde_json::Value) -> Option<Self> {
        value.get("error")?;
        serde_json::from_value(value.clone())
            .ok()
            .or_else(|| Some(Refusal { error: RefusalCode::Other("refused".to_owned()), reason: String::new() }))
    }

    /// What to show a person: the server's reason, or its code when it gave none.
    pub fn text(&self) -> &str {
        if self.reason.is_empty() {
            self.error.as_str()
        } else {
            &self.reason
        }
    }
}

/// The `refused` event: the refusal plus the event it answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedEvent {
    pub event: String,
    #[serde(flatten)]
    pub refusal: Refusal,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reasons_follow_the_configured_limits() {
        let limits = Limits { max_message_chars: 500, messages_per_second: 3, message_burst: 7, ..Limits::default() };
        assert_eq!(RefusalCode::TooLong.reason(&limits), "the message is longer than 500 characters");
        assert_eq!(RefusalCode::RateLimited.reason(&limits), "too many messages: at most 7 at once, then 3 per second");
    }

    #[test]
    fn unavailable_is_said_in_words_and_not_retried_blindly() {
        let code = RefusalCode::from("unavailable".to_owned());
        assert_eq!(code, RefusalCode::Unavailable);
        assert!(code.reason(&Limits::default()).starts_with("the server cannot save messages right now"));
        assert!(!code.is_transient(), "it lasts until the server's storage is repaired");
        assert!(RefusalCode::RateLimited.is_transient());
    }

    #[test]
    fn the_refused_event_flattens_the_refusal() {
        let event = RefusedEvent {
            event: "message".to_owned(),
            refusal: Refusal::new(RefusalCode::TooLong, &Limits::default()),
        };
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            json!({"event": "message", "error": "too_long", "reason": "the message is longer than 2000 characters"})
        );
    }

    #[test]
    fn unknown_codes_survive_decoding() {
        let refusal: Refusal = serde_json::from_value(json!({"error": "banned", "reason": "go away"})).unwrap();
        assert_eq!(refusal.error, RefusalCode::Other("banned".to_owned()));
        assert_eq!(serde_json::to_value(&refusal).unwrap()["error"], "banned");
        assert_eq!(Refusal::from_value(&json!({"error": 5})).unwrap().text(), "refused");
        assert_eq!(Refusal::from_value(&json!({"from": "a", "message": "b"})), None);
    }
}
