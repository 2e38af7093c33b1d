//! The chat log on disk: an ack means the message survives a crash, ids and the run go on across
//! restarts, `history` pages back beyond the memory cache, a log that cannot be used stops the
//! server at start, and one that fails while running refuses messages while everything else works.
//! Real SQLite files in throwaway folders, and the real binary where a process must die.

mod support;

use std::{collections::BTreeMap, path::Path, time::Duration};

use confab_server::{ServerConfig, StoreConfig};
use serde_json::{json, Value};
use support::{
    polling::Polling,
    process::{command, refused_start, Frames, ServerProcess},
    raw, start_server,
};

const LOG_FILE: &str = "chat.sqlite3";

fn data_dir_args(dir: &Path) -> Vec<&str> {
    vec!["--data-dir", dir.to_str().expect("a UTF-8 temp path"), "--rate", "0"]
}

/// Every chat message in the history, oldest first, by paging with `{after}` (or back with
/// `{before}` from `before`), waiting out the request rate limit when it is reached.
async fn whole_history(client: &mut Frames, before: Option<u64>) -> Vec<Value> {
    let mut messages: Vec<Value> = Vec::new();
    let mut cursor = before;
    loop {
        let request = match cursor {
            Some(before) => json!({ "before": before }),
            None => json!({ "after": messages.last().map_or(0, |m| m["id"].as_u64().unwrap()) }),
        };
        let page = client.call("history", request).await;
        if page["error"] == "rate_limited" {
            tokio::time::sleep(Duration::from_millis(600)).await;
            continue;
        }
        let page = page.as_array().unwrap_or_else(|| panic!("a page, got {page}")).clone();
        if page.is_empty() {
            return messages;
        }
        match cursor {
            Some(_) => {
                cursor = page[0]["id"].as_u64();
                messages.splice(0..0, page);
            }
            None => messages.extend(page),
        }
    }
}

fn id(message: &Value) -> u64 {
    message["id"].as_u64().unwrap_or_else(|| panic!("an id in {message}"))
}

#[tokio::test]
async fn every_acknowledged_message_survives_sigkill_and_ids_go_on_after_it() {
    const BURST: usize = 2000;
    let dir = tempfile::tempdir().unwrap();
    let mut args = data_dir_args(dir.path());
    args.extend(["--max-queued-packets", "8192"]);
    let server = ServerProcess::start(&args);
    let (mut ann, history, _) = Frames::join(server.addr, "ann").await;
    assert!(history.is_empty(), "a new log: {history:?}");
    let run = ann.welcome["run"].as_str().unwrap().to_owned();

    // The whole burst goes out before any ack is read.
    let mut sent = BTreeMap::new();
    for n in 0..BURST {
        let text = format!("burst {n}");
        sent.insert(ann.emit("message", json!({ "message": text })).await, text);
    }
    let mut acked = BTreeMap::new();
    while acked.len() < BURST {
        let Some((ack, message)) = ann.read().await else { continue };
        assert_eq!(message["message"], sent[&ack], "ack {ack}: {message}");
        acked.insert(id(&message), message);
    }
    server.kill();

    let server = ServerProcess::start(&args);
    let (mut bob, newest, joined) = Frames::join(server.addr, "bob").await;
    assert_eq!(bob.welcome["run"], run.as_str(), "the same log is the same run of ids");
    let acked: Vec<Value> = acked.into_values().collect();
    let last = id(acked.last().unwrap());
    assert_eq!(id(&joined), last + 1, "the next id is the last stored one + 1");
    assert_eq!(newest, acked[BURST - 200..], "a newcomer gets the newest 200");
    assert_eq!(whole_history(&mut bob, None).await, acked, "paging forward finds every acked message");
    assert_eq!(whole_history(&mut bob, Some(id(&joined))).await, acked, "paging back finds them too");
    let next = bob.call("message", json!({ "message": "after the crash" })).await;
    assert_eq!(id(&next), last + 2);
    assert!(!server.stderr().contains("ERROR"), "{}", server.stderr());
}

/// Group commit: four senders each post a burst in one long-polling request. While the log writes
/// one transaction (on tokio's blocking pool), the server goes on reading, and what it reads goes
/// into the next transaction together (the server says so at trace level: `batch committed
/// messages=N`). Every message is committed once before it is acked, each sender's acks come in id
/// order, and the room gets them all in one order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_from_several_senders_are_committed_once_each_and_acked_in_id_order() {
    const SENDERS: usize = 4;
    const BURST: usize = 100;
    let dir = tempfile::tempdir().unwrap();
    let mut server = command(&data_dir_args(dir.path()));
    server.env("RUST_LOG", "warn,confab_server::room=trace").env("NO_COLOR", "1");
    let server = ServerProcess::start_command(server);
    let (mut reader, _, _) = Frames::join(server.addr, "reader").await;
    let mut senders = Vec::new();
    for n in 0..SENDERS {
        senders.push(Polling::join(server.addr, &format!("sender {n}")).await);
    }
    let bursts = senders.into_iter().enumerate().map(|(n, mut sender)| {
        tokio::spawn(async move {
            let burst: Vec<String> = (0..BURST)
                .map(|i| format!("42{}{}", i + 10, json!(["message", { "message": format!("{n}: line {i}") }])))
                .collect();
            sender.post(&burst.join("\u{1e}")).await;
            let mut ids = Vec::new();
            while ids.len() < BURST {
                let packet = sender.next().await;
                let Some(ack) = packet.strip_prefix("43") else { continue };
                let args: Value = serde_json::from_str(ack.trim_start_matches(|c: char| c.is_ascii_digit())).unwrap();
                ids.push(id(&args[0]));
            }
            (sender, ids)
        })
    });
    let mut every_id = Vec::new();
    let mut keep = Vec::new();
    for burst in bursts {
        let (sender, ids) = burst.await.unwrap();
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "one sender's acks in id order: {ids:?}");
        every_id.extend(ids);
        keep.push(sender);
    }
    every_id.sort_unstable();
    let delivered: Vec<u64> = reader.chat_lines(SENDERS * BURST).await.iter().map(id).collect();
    assert_eq!(delivered, every_id, "the room got every acked message once, in id order");

    let expected = SENDERS * BURST + SENDERS + 1; // the messages and the joins
    let sizes: Vec<usize> = server
        .stderr()
        .lines()
        .filter(|line| line.contains("batch committed"))
        .filter_map(|line| line.rsplit("messages=").next()?.trim().parse().ok())
        .collect();
    assert_eq!(sizes.iter().sum::<usize>(), expected, "each committed once, before its ack: {sizes:?}");
    assert!(sizes.len() < expected / 4, "what arrived during a write shares the next one: {sizes:?}");
    eprintln!("{expected} messages in {} transactions, the largest of {}", sizes.len(), sizes.iter().max().unwrap());
}

#[tokio::test]
async fn a_new_log_is_a_new_run_and_the_same_log_keeps_its_run_across_a_clean_restart() {
    let dir = tempfile::tempdir().unwrap();
    let args = data_dir_args(dir.path());
    let server = ServerProcess::start(&args);
    let (mut ann, _, joined) = Frames::join(server.addr, "ann").await;
    let run = ann.welcome["run"].as_str().unwrap().to_owned();
    let hello = ann.call("message", json!({ "message": "hello" })).await;
    assert_eq!(id(&hello), id(&joined) + 1);
    assert!(server.terminate().success());

    let server = ServerProcess::start(&args);
    let (bob, history, bob_joined) = Frames::join(server.addr, "bob").await;
    assert_eq!(bob.welcome["run"], run.as_str());
    assert_eq!(history, vec![hello.clone()]);
    // Stored and counted: ann's join (1), hello (2), the shutdown line (3); then bob's join.
    assert_eq!(id(&bob_joined), id(&hello) + 2, "the shutdown announcement had an id too");
    drop(server);

    let other = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&data_dir_args(other.path()));
    let (fresh, history, fresh_joined) = Frames::join(server.addr, "ann").await;
    assert_ne!(fresh.welcome["run"], run.as_str(), "another log, another run");
    assert!(history.is_empty());
    assert_eq!(id(&fresh_joined), 1);
    drop(server);

    let home = tempfile::tempdir().unwrap();
    let mut ephemeral = command(&["--ephemeral"]);
    ephemeral.env("XDG_DATA_HOME", home.path()).env("HOME", home.path());
    let server = ServerProcess::start_command(ephemeral);
    let (mut ephemeral, _, ephemeral_joined) = Frames::join(server.addr, "ann").await;
    assert_ne!(ephemeral.welcome["run"], run.as_str());
    assert_eq!(id(&ephemeral_joined), 1);
    ephemeral.call("message", json!({ "message": "gone later" })).await;
    assert_eq!(std::fs::read_dir(home.path()).unwrap().count(), 0, "--ephemeral writes no file");
}

#[tokio::test]
async fn history_before_pages_back_beyond_the_memory_cache() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig { history_capacity: 5, ..support::unlimited() };
    config.store = StoreConfig::Sqlite { data_dir: dir.path().to_owned() };
    let server = start_server(config.clone()).await;
    let (mut ann, _, _) = Frames::join(server.local_addr(), "ann").await;
    let mut sent = Vec::new();
    for n in 0..30 {
        sent.push(ann.call("message", json!({ "message": format!("m{n}") })).await);
    }
    server.stop().await.unwrap();

    // Stopping let go of the file: the same process opens it again.
    let server = start_server(config).await;
    let (mut bob, newest, joined) = Frames::join(server.local_addr(), "bob").await;
    assert_eq!(newest, sent, "the newcomer's history comes from the log, not only the 5 cached");
    let page = bob.call("history", json!({ "before": id(&sent[10]), "limit": 4 })).await;
    assert_eq!(page.as_array().unwrap(), &sent[6..10], "the newest 4 below m10, oldest first");
    let page = bob.call("history", json!({ "before": id(&sent[10]), "after": id(&sent[7]), "limit": 200 })).await;
    assert_eq!(page.as_array().unwrap(), &sent[8..10], "after and before together");
    let page = bob.call("history", json!({ "after": id(&sent[2]), "limit": 3 })).await;
    assert_eq!(page.as_array().unwrap(), &sent[3..6], "after pages forward from the oldest");
    let page = bob.call("history", json!({ "before": id(&sent[0]) })).await;
    assert_eq!(page, json!([]), "nothing before the first");
    assert_eq!(whole_history(&mut bob, Some(id(&joined))).await, sent);
    server.stop().await.unwrap();
}

/// A log the server cannot use stops it at start, with the file named and the reason in words.
fn assert_refused(args: &[&str], file: &Path, why: &str) -> String {
    assert_refused_command(command(args), file, why)
}

fn assert_refused_command(command: std::process::Command, file: &Path, why: &str) -> String {
    let (status, stderr) = refused_start(command);
    assert_eq!(status.code(), Some(1), "{stderr}");
    let named = format!("confab-server: cannot open the chat log {}: ", file.display());
    assert!(stderr.contains(&named), "names the file: {stderr}");
    assert!(stderr.contains(why), "says {why:?}: {stderr}");
    stderr
}

#[test]
fn a_damaged_log_stops_the_server_at_start_and_is_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(LOG_FILE);
    let garbage: Vec<u8> = (0..8192u32).map(|n| (n.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(&file, &garbage).unwrap();
    assert_refused(&data_dir_args(dir.path()), &file, "not an SQLite database");
    assert_eq!(std::fs::read(&file).unwrap(), garbage);
}

#[test]
fn a_log_from_a_newer_server_stops_the_server_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(LOG_FILE);
    let connection = rusqlite::Connection::open(&file).unwrap();
    connection.execute_batch("CREATE TABLE future (x); PRAGMA user_version = 9;").unwrap();
    drop(connection);
    assert_refused(&data_dir_args(dir.path()), &file, "written by a newer confab-server (schema version 9");
}

#[test]
fn a_log_this_user_may_not_open_stops_the_server_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(LOG_FILE);
    std::fs::write(&file, b"").unwrap();
    let mut command = command(&data_dir_args(dir.path()));
    if unsafe { libc::geteuid() } == 0 {
        // root may open any file: the server runs as `nobody`, the folder open to it, the file not.
        use std::os::unix::{fs::PermissionsExt, process::CommandExt};
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        command.uid(65534).gid(65534);
    } else {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).unwrap();
    }
    assert_refused_command(command, &file, "Permission denied");
}

#[test]
fn a_log_in_use_by_another_server_stops_the_second_one_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let args = data_dir_args(dir.path());
    let _first = ServerProcess::start(&args);
    assert_refused(&args, &dir.path().join(LOG_FILE), "in use by another process");
}

/// Disk full, as the server sees it: from now on no file of the process may grow (RLIMIT_FSIZE on
/// the running server; the server ignores SIGXFSZ, so its writes fail instead).
fn disk_full(server: &ServerProcess, dir: &Path, full: bool) {
    let wal = std::fs::metadata(dir.join(format!("{LOG_FILE}-wal"))).expect("the log writes ahead").len();
    let soft = if full { wal } else { rlimit::INFINITY };
    rlimit::prlimit(server.pid(), rlimit::Resource::FSIZE, Some((soft, rlimit::INFINITY)), None).expect("prlimit");
}

#[tokio::test]
async fn a_log_that_fails_while_running_refuses_messages_and_the_rest_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&data_dir_args(dir.path()));
    let (mut ann, _, _) = Frames::join(server.addr, "ann").await;
    let (mut bob, _, _) = Frames::join(server.addr, "bob").await;
    let stored = ann.call("message", json!({ "message": "stored" })).await;
    assert_eq!(bob.event("message").await, stored);

    disk_full(&server, dir.path(), true);
    let refused = ann.call("message", json!({ "message": "never acknowledged" })).await;
    assert_eq!(refused["error"], "unavailable", "{refused}");
    assert!(refused["reason"].as_str().unwrap().contains("cannot save messages"), "{refused}");
    let event = ann.event("refused").await;
    assert_eq!((&event["event"], &event["error"]), (&json!("message"), &json!("unavailable")));
    // Everything but new messages still works: the online list, history, typing, newcomers.
    assert_eq!(bob.call("users", Value::Null).await, json!(["ann", "bob"]));
    assert_eq!(bob.call("history", json!({})).await, json!([stored]));
    raw::send(&mut ann.ws, r#"42["typing",true]"#).await;
    assert_eq!(bob.event("typing").await, json!({ "name": "ann", "typing": true }));
    let (_carol, carol_history, carol_joined) = Frames::join(server.addr, "carol").await;
    assert_eq!(carol_history, vec![stored.clone()]);
    assert_eq!(id(&carol_joined), id(&stored) + 1, "the refused message used up no id");

    disk_full(&server, dir.path(), false);
    let after = ann.call("message", json!({ "message": "after" })).await;
    assert_eq!(id(&after), id(&carol_joined) + 1);
    // Bob never saw the refused message: right after the line before it comes carol's join.
    assert_eq!(bob.event("message").await, carol_joined);
    assert_eq!(bob.event("message").await, after);
    let stderr = server.stderr();
    assert!(stderr.contains("the chat log cannot take it"), "the failure is logged: {stderr}");
    assert!(server.terminate().success());

    // The file holds every id once, carol's join (delivered while the log failed) included, and
    // nothing that was refused.
    let connection = rusqlite::Connection::open(dir.path().join(LOG_FILE)).unwrap();
    let mut select = connection.prepare("SELECT id, text, kind, name FROM log ORDER BY id").unwrap();
    let rows: Vec<(u64, String, Option<String>, Option<String>)> = select
        .query_map([], |row| Ok((row.get::<_, i64>(0)? as u64, row.get(1)?, row.get(2)?, row.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let ids: Vec<u64> = rows.iter().map(|row| row.0).collect();
    assert_eq!(ids, (1..=id(&after) + 1).collect::<Vec<_>>(), "no gap, no repeat, the shutdown line last");
    assert!(rows.iter().all(|row| row.1 != "never acknowledged"));
    let carol = rows.iter().find(|row| row.0 == id(&carol_joined)).unwrap();
    assert_eq!((carol.2.as_deref(), carol.3.as_deref()), (Some("join"), Some("carol")));
    assert_eq!(rows.last().unwrap().2.as_deref(), Some("shutdown"));
}
