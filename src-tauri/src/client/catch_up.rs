//! De-duplication and catching up after a (re)registration (docs/PROTOCOL.md §4): which lines of a
//! `history` are new, and which outbox entries it settles. Pure, and tested against the cases the
//! browser page's client runs too (`protocol/tests/client-cases.json`).

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};

use confab_protocol::ChatMessage;

use super::events::Resume;
use super::outbox::Outgoing;

/// Fingerprints of the messages shown recently.
#[derive(Debug, Default)]
pub struct Seen {
    /// id → fingerprint of sender and text: without a known run, an id alone proves nothing (a
    /// restarted server numbers from 1 again).
    by_id: HashMap<u64, u64>,
    /// Messages without an id (seed servers): sender, text and time.
    untagged: HashSet<u64>,
    order: VecDeque<Entry>,
    /// The greatest id shown since the last `clear` (this run of the server's ids).
    newest: Option<u64>,
    /// The server's run (`welcome.run`) these ids belong to: kept across failed reconnect attempts,
    /// so one that fails before the server's `welcome` does not make the next one forget it.
    run: Option<String>,
}

#[derive(Debug, Clone, Copy)]
enum Entry {
    Id(u64),
    Untagged(u64),
}

impl Seen {
    /// More than any history a server sends after a re-registration (200 by default).
    const CAPACITY: usize = 4096;

    fn fingerprint(message: &ChatMessage, with_time: bool) -> u64 {
        let mut hasher = DefaultHasher::new();
        (&message.from, &message.message).hash(&mut hasher);
        if with_time {
            message.ts.hash(&mut hasher);
        }
        hasher.finish()
    }

    /// Was `message` shown already? `same_run`: whether the server is the same run of ids as when
    /// the seen messages arrived (`None`: it does not say).
    pub fn contains(&self, message: &ChatMessage, same_run: Option<bool>) -> bool {
        match message.id {
            Some(id) if same_run == Some(true) => self.by_id.contains_key(&id),
            Some(id) => self.by_id.get(&id) == Some(&Self::fingerprint(message, false)),
            None => self.untagged.contains(&Self::fingerprint(message, true)),
        }
    }

    pub fn insert(&mut self, message: &ChatMessage) {
        let entry = match message.id {
            Some(id) => {
                self.newest = self.newest.max(Some(id));
                if self.by_id.insert(id, Self::fingerprint(message, false)).is_some() {
                    return;
                }
                Entry::Id(id)
            }
            None => {
                let fingerprint = Self::fingerprint(message, true);
                if !self.untagged.insert(fingerprint) {
                    return;
                }
                Entry::Untagged(fingerprint)
            }
        };
        self.order.push_back(entry);
        while self.order.len() > Self::CAPACITY {
            match self.order.pop_front() {
                Some(Entry::Id(id)) => self.by_id.remove(&id),
                Some(Entry::Untagged(fingerprint)) => self.untagged.remove(&fingerprint).then_some(0),
                None => None,
            };
        }
    }

    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// Nothing shown yet in this process, but `resume` was shown before (kept on this computer):
    /// a catch-up goes on from its id when the server is still the same run.
    pub fn resuming(resume: Option<Resume>) -> Self {
        let Some(resume) = resume else { return Self::default() };
        Self { newest: Some(resume.newest_id), run: Some(resume.run), ..Self::default() }
    }

    /// The last id shown in this run, where a catch-up goes on from.
    pub fn newest_id(&self) -> Option<u64> {
        self.newest
    }

    /// The run of the seen ids (`None`: not known yet).
    pub fn run(&self) -> Option<&str> {
        self.run.as_deref()
    }

    /// What is shown from now on is of `run` (forget the seen messages first when it is another).
    pub fn set_run(&mut self, run: String) {
        self.run = Some(run);
    }
}

/// After a re-registration: the id after which missed messages must be fetched page by page
/// (`history {after}`) before the pushed page is shown, or `None` when the pushed page reaches back
/// to what was shown (or nothing can be compared: a first join, a server without runs or ids).
/// In a new run every message of it was missed; its id 1 is always the first join announcement.
pub fn catch_up_start(last_shown: Option<u64>, same_run: Option<bool>, pushed: &[ChatMessage]) -> Option<u64> {
    let start = match same_run? {
        true => last_shown?,
        false => 1,
    };
    let first = pushed.first()?.id?;
    (first > start + 1).then_some(start)
}

/// Messages the server no longer holds, shown as one marker in their place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Missing {
    /// The last id before the hole, and the first one after it.
    pub after: u64,
    pub before: u64,
    /// Ids in between: chat messages and announcements share them, so at most this many were
    /// chat messages (the client cannot tell how many).
    pub up_to: u64,
}

/// What the first page of a catch-up says: `first` is its oldest id (`history {after}`), `older`
/// the newest id the server still has below it (`history {before: first, limit: 1}`). Ids skipped
/// with an older message still there were announcements; with none, the server's history begins
/// after `after` and what was between is gone.
pub fn missing(after: u64, first: u64, older: Option<u64>) -> Option<Missing> {
    (first > after + 1 && older.is_none()).then(|| Missing { after, before: first, up_to: first - after - 1 })
}

/// What a history changes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CatchUp {
    /// Indexes of the history entries to show, in order.
    pub shown: Vec<usize>,
    /// Outbox entries the history proves delivered: (local id, history index).
    pub delivered: Vec<(u64, usize)>,
    /// Local ids still to send, in order.
    pub resend: Vec<u64>,
}

/// Sorts `history` into new lines and our own messages whose ack was lost with the connection, and
/// records all of it as seen.
pub fn catch_up(
    seen: &mut Seen,
    name: &str,
    same_run: Option<bool>,
    outbox: &[Outgoing],
    history: &[ChatMessage],
) -> CatchUp {
    if same_run == Some(false) {
        seen.clear();
    }
    let mut settled = vec![false; outbox.len()];
    let mut result = CatchUp::default();
    for (index, message) in history.iter().enumerate() {
        if seen.contains(message, same_run) {
            continue;
        }
        seen.insert(message);
        let ours = !message.is_announcement() && &*message.from == name;
        let lost_ack = ours.then(|| {
            outbox.iter().enumerate().position(|(i, o)| !settled[i] && o.maybe_delivered && o.text == *message.message)
        });
        match lost_ack.flatten() {
            Some(i) => {
                settled[i] = true;
                result.delivered.push((outbox[i].local_id, index));
            }
            None => result.shown.push(index),
        }
    }
    result.resend = outbox.iter().zip(&settled).filter(|(_, done)| !**done).map(|(o, _)| o.local_id).collect();
    result
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn messages(value: &Value) -> Vec<ChatMessage> {
        value.as_array().unwrap().iter().map(|m| ChatMessage::from_value(m).expect("a message")).collect()
    }

    fn outbox(value: &Value) -> Vec<Outgoing> {
        value
            .as_array()
            .unwrap()
            .iter()
            .map(|o| Outgoing {
                local_id: o["localId"].as_u64().unwrap(),
                text: o["text"].as_str().unwrap().to_owned(),
                maybe_delivered: o["maybeDelivered"].as_bool().unwrap(),
                extras: Default::default(),
            })
            .collect()
    }

    #[test]
    fn every_shared_case_comes_out_as_written() {
        let all: Value = serde_json::from_str(include_str!("../../../protocol/tests/client-cases.json")).expect("JSON");
        let cases = all["catchUp"].as_array().unwrap();
        assert!(cases.len() >= 8);
        for case in cases {
            let mut seen = Seen::default();
            for message in messages(&case["seen"]) {
                seen.insert(&message);
            }
            let got = catch_up(
                &mut seen,
                case["name"].as_str().unwrap(),
                case["sameRun"].as_bool(),
                &outbox(&case["outbox"]),
                &messages(&case["history"]),
            );
            let mut delivered: Vec<(u64, usize)> = case["delivered"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(local, index)| (local.parse().unwrap(), index.as_u64().unwrap() as usize))
                .collect();
            delivered.sort();
            let expected = CatchUp {
                shown: case["shown"].as_array().unwrap().iter().map(|i| i.as_u64().unwrap() as usize).collect(),
                delivered,
                resend: case["resend"].as_array().unwrap().iter().map(|i| i.as_u64().unwrap()).collect(),
            };
            assert_eq!(got, expected, "{}", case["about"]);
        }
    }

    fn ids(value: &Value) -> Vec<ChatMessage> {
        let ids = value.as_array().unwrap().iter().map(|id| id.as_u64().unwrap());
        ids.map(|id| ChatMessage::chat("bob".into(), format!("m{id}").into(), id, id)).collect()
    }

    #[test]
    fn every_shared_gap_case_comes_out_as_written() {
        let all: Value = serde_json::from_str(include_str!("../../../protocol/tests/client-cases.json")).expect("JSON");
        let starts = all["catchUpStart"].as_array().unwrap();
        assert!(starts.len() >= 6);
        for case in starts {
            let got = catch_up_start(case["lastShown"].as_u64(), case["sameRun"].as_bool(), &ids(&case["pushed"]));
            assert_eq!(got, case["start"].as_u64(), "{}", case["about"]);
        }
        let holes = all["missing"].as_array().unwrap();
        assert!(holes.len() >= 4);
        for case in holes {
            let (after, first) = (case["after"].as_u64().unwrap(), case["first"].as_u64().unwrap());
            let got = missing(after, first, case["older"].as_u64());
            let expected = case["upTo"].as_u64().map(|up_to| Missing { after, before: first, up_to });
            assert_eq!(got, expected, "{}", case["about"]);
        }
    }

    #[test]
    fn the_newest_shown_id_is_forgotten_with_the_run() {
        let mut seen = Seen::default();
        for id in [4, 9, 7] {
            seen.insert(&ChatMessage::chat("bob".into(), "x".into(), id, 1));
        }
        assert_eq!(seen.newest_id(), Some(9));
        seen.set_run("a".into());
        assert_eq!(seen.run(), Some("a"));
        seen.clear();
        assert_eq!((seen.newest_id(), seen.run()), (None, None));
    }

    #[test]
    fn what_was_caught_up_is_seen_afterwards() {
        let mut seen = Seen::default();
        let history = [ChatMessage::chat("bob".into(), "a".into(), 3, 1)];
        assert_eq!(catch_up(&mut seen, "me", Some(true), &[], &history).shown, [0]);
        assert!(catch_up(&mut seen, "me", Some(true), &[], &history).shown.is_empty());
    }
}
