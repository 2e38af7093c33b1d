//! Every command the app registers is also declared to tauri-build and granted to the window, and
//! nothing else is: a command missing from either is refused at runtime ("not allowed").

use std::collections::BTreeSet;

const LIB: &str = include_str!("../src/lib.rs");
const BUILD: &str = include_str!("../build.rs");
const CAPABILITY: &str = include_str!("../capabilities/default.json");

/// The `commands::name` entries of `generate_handler!`.
fn registered() -> BTreeSet<String> {
    let handler = &LIB[LIB.find("generate_handler![").expect("generate_handler in lib.rs")..];
    let handler = &handler[..handler.find(']').expect("end of generate_handler")];
    handler
        .split("commands::")
        .skip(1)
        .map(|rest| rest.split(|c: char| !c.is_alphanumeric() && c != '_').next().unwrap().to_owned())
        .collect()
}

/// The quoted names in build.rs's command list.
fn declared() -> BTreeSet<String> {
    let list = &BUILD[BUILD.find(".commands(&[").expect("command list in build.rs")..];
    let list = &list[..list.find("])").expect("end of the command list")];
    list.split('"').skip(1).step_by(2).map(str::to_owned).collect()
}

/// The `allow-*` permissions of the main window, back in command-name spelling.
fn granted() -> BTreeSet<String> {
    let capability: serde_json::Value = serde_json::from_str(CAPABILITY).expect("capability JSON");
    capability["permissions"]
        .as_array()
        .expect("permissions")
        .iter()
        .filter_map(|p| p.as_str()?.strip_prefix("allow-").map(|name| name.replace('-', "_")))
        .collect()
}

#[test]
fn registered_declared_and_granted_commands_are_the_same_set() {
    let registered = registered();
    assert!(registered.contains("connect") && registered.contains("rejoin"), "{registered:?}");
    assert_eq!(declared(), registered, "build.rs's command list");
    assert_eq!(granted(), registered, "capabilities/default.json");
}
