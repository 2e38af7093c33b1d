//! What the real binary logs and where (issue 10 finding 8), and the open-file limit it raises at
//! start (finding 4): checked on the process itself, as an admin would meet them.

mod support;

use std::os::unix::process::CommandExt;

use rlimit::Resource;
use serde_json::json;
use support::{
    process::{command, ServerProcess},
    raw,
};

const PASSWORD: &str = "correct-horse-battery-7";
const GUESS: &str = "wrong-guess-3141";
const TEXT: &str = "the launch code is 0000";

/// Joins with a wrong then the right password, registers `name` and says [`TEXT`] to `listener`.
async fn chat_through(server: &ServerProcess, name: &str) {
    let mut listener = raw::open(server.addr).await;
    raw::send(&mut listener, &format!("40{}", json!({ "password": PASSWORD }))).await;
    assert!(raw::next_text(&mut listener).await.starts_with("40{"));
    assert_eq!(raw::register(&mut listener, &format!("{name}-listener")).await, "431[true]");

    let mut ws = raw::open(server.addr).await;
    raw::send(&mut ws, &format!("40{}", json!({ "password": GUESS }))).await;
    assert!(raw::next_text(&mut ws).await.contains("wrong password"));
    raw::send(&mut ws, &format!("40{}", json!({ "password": PASSWORD }))).await;
    assert!(raw::next_text(&mut ws).await.starts_with("40{"));
    assert_eq!(raw::register(&mut ws, name).await, "431[true]");
    raw::send(&mut ws, &format!("422{}", json!(["message", { "message": TEXT }]))).await;
    while !raw::next_text(&mut ws).await.starts_with("432") {}
    loop {
        let frame = raw::next_text(&mut listener).await;
        if frame.contains(TEXT) {
            break;
        }
    }
}

#[tokio::test]
async fn even_at_trace_level_the_log_holds_no_password_and_no_chat_text_and_it_goes_to_stderr() {
    let mut traced = command(&["--ephemeral", "--password", PASSWORD]);
    traced.env("RUST_LOG", "trace");
    let server = ServerProcess::start_command(traced);
    chat_through(&server, "tracy").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await; // the pipes' readers catch up
    let (log, printed) = (server.stderr(), server.stdout());
    assert!(log.contains("TRACE") && log.contains("wrong room password"), "trace is on: {log}");
    for secret in [PASSWORD, GUESS, TEXT] {
        assert!(!log.contains(secret), "{secret:?} in the log");
        assert!(!printed.contains(secret), "{secret:?} on stdout");
    }
    assert!(
        !printed.contains("TRACE") && !printed.contains("DEBUG") && !printed.contains("WARN"),
        "log lines on stdout: {printed}"
    );
}

#[tokio::test]
async fn a_wrong_password_is_logged_at_the_default_level_with_the_address() {
    let mut plain = command(&["--ephemeral", "--password", PASSWORD]);
    plain.env_remove("RUST_LOG");
    let server = ServerProcess::start_command(plain);
    chat_through(&server, "wendy").await;
    // The wrong password's line is written before its refusal is sent, so it is there by now.
    let log = server.stderr();
    let line = log.lines().find(|l| l.contains("wrong room password")).unwrap_or_else(|| panic!("{log}"));
    assert!(line.contains("WARN") && line.contains("127.0.0.1"), "{line}");
    assert!(!log.contains(GUESS) && !log.contains(PASSWORD) && !log.contains(TEXT), "{log}");
}

#[tokio::test]
async fn the_open_file_limit_is_raised_to_the_hard_limit_at_start() {
    let (_, hard) = rlimit::getrlimit(Resource::NOFILE).expect("getrlimit");
    let soft = 256.min(hard);
    let mut low = command(&["--ephemeral"]);
    // SAFETY: setrlimit is async-signal-safe, and nothing else runs between fork and exec.
    unsafe { low.pre_exec(move || rlimit::setrlimit(Resource::NOFILE, soft, hard)) };
    let server = ServerProcess::start_command(low);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.pid())).expect("/proc limits");
    let open_files = limits.lines().find(|l| l.starts_with("Max open files")).expect("the line");
    let numbers: Vec<u64> = open_files.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    assert_eq!(numbers, [hard, hard], "started at {soft}: {open_files}");
}
