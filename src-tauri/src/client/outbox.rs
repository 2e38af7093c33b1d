//! Messages the user sent that the server has not taken yet, in order. Shared by the handle (which
//! queues) and the supervisor (which sends, one at a time, and settles).

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// What a message carries beside its text: whom it is for (§2.10) and which uploaded file (§2.11).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageExtras {
    /// A private message to this registered name; `None`: to the room.
    pub to: Option<String>,
    /// The id of a file this user uploaded (`POST /files`), sent with this message.
    pub attachment: Option<String>,
}

/// One queued message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The id the UI shows the pending line under.
    pub local_id: u64,
    pub text: String,
    pub extras: MessageExtras,
    /// It was written to a socket that may have died before the ack came: the server may have it.
    /// After reconnecting, the history decides whether it must be sent again.
    pub maybe_delivered: bool,
}

#[derive(Debug, Default)]
pub struct Outbox {
    inner: Mutex<Queue>,
}

#[derive(Debug, Default)]
struct Queue {
    items: VecDeque<Outgoing>,
    last_local_id: u64,
}

impl Outbox {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        // Every method leaves the queue consistent, so a panic elsewhere cannot poison its meaning.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `text` and returns its local id.
    pub fn push(&self, text: String, extras: MessageExtras) -> u64 {
        let mut queue = self.queue();
        queue.last_local_id += 1;
        let local_id = queue.last_local_id;
        queue.items.push_back(Outgoing { local_id, text, extras, maybe_delivered: false });
        local_id
    }

    /// The next message to send.
    pub fn front(&self) -> Option<Outgoing> {
        self.queue().items.front().cloned()
    }

    /// Everything queued, oldest first (for catching up after a reconnect).
    pub fn snapshot(&self) -> Vec<Outgoing> {
        self.queue().items.iter().cloned().collect()
    }

    /// How many messages wait.
    pub fn count(&self) -> usize {
        self.queue().items.len()
    }

    /// It was written to the socket: from now on the server may have it.
    pub fn mark_sent(&self, local_id: u64) {
        self.set_maybe_delivered(local_id, true);
    }

    /// The server said it did not take it (rate limit): it will be sent again, as new.
    pub fn mark_unsent(&self, local_id: u64) {
        self.set_maybe_delivered(local_id, false);
    }

    fn set_maybe_delivered(&self, local_id: u64, maybe: bool) {
        if let Some(item) = self.queue().items.iter_mut().find(|o| o.local_id == local_id) {
            item.maybe_delivered = maybe;
        }
    }

    /// Takes a message out (delivered or refused for good); false if it was not queued.
    pub fn remove(&self, local_id: u64) -> bool {
        let mut queue = self.queue();
        let before = queue.items.len();
        queue.items.retain(|o| o.local_id != local_id);
        queue.items.len() != before
    }

    /// Empties the queue (the session ends), oldest first.
    pub fn drain(&self) -> Vec<Outgoing> {
        self.queue().items.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_tracks_what_may_have_reached_the_server() {
        let outbox = Outbox::default();
        let private = MessageExtras { to: Some("bob".into()), attachment: None };
        let (a, b) = (outbox.push("a".into(), MessageExtras::default()), outbox.push("b".into(), private.clone()));
        assert!(a < b);
        assert_eq!(outbox.front().map(|o| o.local_id), Some(a));
        outbox.mark_sent(a);
        assert!(outbox.snapshot()[0].maybe_delivered);
        outbox.mark_unsent(a);
        assert!(!outbox.snapshot()[0].maybe_delivered);
        assert!(outbox.remove(a));
        assert!(!outbox.remove(a));
        assert_eq!(outbox.drain().into_iter().map(|o| (o.text, o.extras)).collect::<Vec<_>>(), [("b".into(), private)]);
        assert_eq!(outbox.count(), 0);
        assert!(outbox.push("c".into(), MessageExtras::default()) > b, "local ids are never reused");
    }
}
