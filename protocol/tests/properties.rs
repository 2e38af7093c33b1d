//! Property tests over everything a peer can put in front of the protocol's decoders and rules:
//! arbitrary JSON for every payload type, arbitrary text for names and messages. Nothing may panic,
//! and the rules must say of their own output what they promise (bounded, so it runs in CI).

use confab_protocol::{names, text, ChatMessage, HistoryRequest, Limits, Notice, Refusal, TypingNotice, Welcome};
use proptest::prelude::*;
use serde_json::Value;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(4000)
}

/// Any JSON value, a few levels deep, with the strings peers like to send.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        prop_oneof![Just("from"), Just("message"), Just("id"), Just("ts"), Just("kind"), Just("join"), Just("Server")]
            .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("from".to_owned()),
                    Just("message".to_owned()),
                    Just("id".to_owned()),
                    Just("ts".to_owned()),
                    Just("kind".to_owned()),
                    Just("name".to_owned()),
                    Just("error".to_owned()),
                    Just("after".to_owned()),
                    Just("limits".to_owned()),
                    "[a-z]{1,8}",
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    // 4000 cases each in CI; PROPTEST_CASES=… for a longer hunt.
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn no_payload_makes_a_decoder_panic(value in json()) {
        let _ = ChatMessage::from_value(&value);
        let _ = ChatMessage::list_from_value(&value);
        let _ = Refusal::from_value(&value);
        let _ = serde_json::from_value::<Welcome>(value.clone());
        let _ = serde_json::from_value::<HistoryRequest>(value.clone());
        let _ = serde_json::from_value::<TypingNotice>(value.clone());
        let _ = serde_json::from_value::<Notice>(value.clone());
        if let Some(message) = ChatMessage::from_value(&value) {
            // What the lenient decoder makes of it is something the server could have sent.
            let again = serde_json::to_value(&message).unwrap();
            prop_assert_eq!(ChatMessage::from_value(&again), Some(message));
        }
    }

    #[test]
    fn an_accepted_name_keeps_every_rule_and_is_accepted_again(raw in "\\PC{0,40}|.{0,40}", max in 1usize..40) {
        if let Ok(name) = names::validate(&raw, max) {
            prop_assert!(!name.is_empty() && name.chars().count() <= max);
            prop_assert!(!name.chars().any(char::is_control));
            prop_assert_ne!(names::fold(name), names::fold("Server"));
            prop_assert_eq!(names::validate(name, max), Ok(name), "idempotent");
            prop_assert_eq!(names::fold(name), names::fold(&name.to_uppercase()).clone(), "case-blind");
        }
    }

    #[test]
    fn text_check_agrees_with_the_character_count(text in "\\PC{0,64}|\\s{0,8}", max in 1usize..64) {
        let limits = Limits { max_message_chars: max, ..Limits::default() };
        let result = text::check(&text, &limits);
        prop_assert_eq!(result.is_ok(), text.chars().count() <= max && !text.trim().is_empty());
    }
}
