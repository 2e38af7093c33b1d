//! The room's memory of recent chat messages (protocol §2.2).

use std::{collections::VecDeque, sync::Arc};

use confab_protocol::ChatMessage;

/// A bounded, id-ordered buffer of the last chat messages.
#[derive(Debug)]
pub struct History {
    capacity: usize,
    messages: VecDeque<Arc<ChatMessage>>,
}

impl History {
    pub fn new(capacity: usize) -> Self {
        Self { capacity, messages: VecDeque::with_capacity(capacity.min(1024)) }
    }

    /// Keeps `message`, forgetting the oldest one when full. Ids must be pushed in increasing order.
    pub fn push(&mut self, message: Arc<ChatMessage>) {
        if self.capacity == 0 {
            return;
        }
        debug_assert!(self.messages.back().is_none_or(|last| last.id < message.id));
        if self.messages.len() == self.capacity {
            self.messages.pop_front();
        }
        self.messages.push_back(message);
    }

    /// The retained messages with an id greater than `after` (all of them for `None`), oldest first.
    pub fn after(&self, after: Option<u64>) -> Vec<Arc<ChatMessage>> {
        let Some(after) = after else {
            return self.messages.iter().cloned().collect();
        };
        // Ids are increasing, so the first newer message can be found by binary search.
        let start = self.messages.partition_point(|m| m.id <= Some(after));
        self.messages.range(start..).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: u64) -> Arc<ChatMessage> {
        Arc::new(ChatMessage::chat("alice".into(), format!("m{id}").into(), id, 0))
    }

    fn ids(messages: &[Arc<ChatMessage>]) -> Vec<u64> {
        messages.iter().filter_map(|m| m.id).collect()
    }

    #[test]
    fn keeps_the_newest_up_to_capacity() {
        let mut history = History::new(3);
        for id in 1..=5 {
            history.push(message(id));
        }
        assert_eq!(ids(&history.after(None)), vec![3, 4, 5]);
    }

    #[test]
    fn after_returns_strictly_newer_messages() {
        let mut history = History::new(10);
        for id in [2, 4, 6, 8] {
            history.push(message(id));
        }
        assert_eq!(ids(&history.after(Some(4))), vec![6, 8]);
        assert_eq!(ids(&history.after(Some(5))), vec![6, 8]);
        assert_eq!(ids(&history.after(Some(0))), vec![2, 4, 6, 8]);
        assert!(history.after(Some(8)).is_empty());
    }

    #[test]
    fn zero_capacity_keeps_nothing() {
        let mut history = History::new(0);
        history.push(message(1));
        assert!(history.after(None).is_empty());
    }
}
