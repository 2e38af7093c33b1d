//! The rules every client checks before sending, against the cases the JS implementation runs too.

use confab_protocol::{names, text, Limits};
use serde_json::Value;

fn cases(kind: &str) -> Vec<Value> {
    let all: Value = serde_json::from_str(include_str!("cases.json")).expect("cases.json is JSON");
    all[kind].as_array().expect("a list of cases").clone()
}

fn field<'a>(case: &'a Value, key: &str) -> Option<&'a str> {
    case.get(key).and_then(Value::as_str)
}

#[test]
fn names_are_accepted_and_refused_as_the_cases_say() {
    for case in cases("names") {
        let max = case.get("maxChars").and_then(Value::as_u64).map_or(Limits::default().max_name_chars, |m| m as usize);
        let got = names::validate(field(&case, "raw").unwrap(), max);
        match (field(&case, "name"), field(&case, "error")) {
            (Some(name), None) => assert_eq!(got, Ok(name), "{case}"),
            (None, Some(code)) => assert_eq!(got.map_err(|e| e.code()), Err(code), "{case}"),
            _ => panic!("a case has a name or an error: {case}"),
        }
    }
}

#[test]
fn folded_names_collide_as_the_cases_say() {
    for case in cases("folds") {
        let same = names::fold(field(&case, "a").unwrap()) == names::fold(field(&case, "b").unwrap());
        assert_eq!(Some(same), case["same"].as_bool(), "{case}");
    }
}

#[test]
fn the_server_folds_look_alikes_together() {
    let all: Value = serde_json::from_str(include_str!("cases.json")).expect("cases.json is JSON");
    let pairs = |kind: &str| all["serverFolds"][kind].as_array().expect("pairs").clone();
    for pair in pairs("same") {
        assert_eq!(names::fold(pair[0].as_str().unwrap()), names::fold(pair[1].as_str().unwrap()), "{pair}");
    }
    for pair in pairs("different") {
        assert_ne!(names::fold(pair[0].as_str().unwrap()), names::fold(pair[1].as_str().unwrap()), "{pair}");
    }
}

#[test]
fn texts_are_accepted_and_refused_as_the_cases_say() {
    for case in cases("texts") {
        let mut limits = Limits::default();
        if let Some(max) = case.get("maxMessageChars").and_then(Value::as_u64) {
            limits.max_message_chars = max as usize;
        }
        let got = text::check(field(&case, "text").unwrap(), &limits).map_err(|code| code.to_string());
        let expected = field(&case, "error").map_or(Ok(()), |code| Err(code.to_owned()));
        assert_eq!(got, expected, "{case}");
    }
}
