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

    /// A page of the retained messages with an id greater than `after` (from the oldest for
    /// `None`), oldest first: at most `max_messages`, and no more than `max_bytes` of JSON (always at
    /// least one message, so paging moves on).
    pub fn page_after(&self, after: Option<u64>, max_messages: usize, max_bytes: usize) -> Vec<Arc<ChatMessage>> {
        // Ids are increasing, so the first newer message can be found by binary search.
        let start = after.map_or(0, |after| self.messages.partition_point(|m| m.id <= Some(after)));
        let mut budget = max_bytes;
        let fits = move |m: &&Arc<ChatMessage>| match budget.checked_sub(m.json_len()) {
            Some(left) => {
                budget = left;
                true
            }
            None => false,
        };
        let page: Vec<_> = self.messages.range(start..).take(max_messages).take_while(fits).cloned().collect();
        match page.is_empty() {
            true => self.messages.range(start..).take(max_messages.min(1)).cloned().collect(),
            false => page,
        }
    }

    /// The newest retained messages that fit in `max_bytes` of JSON, oldest first: what a newcomer
    /// gets after registering (older ones are a `history` request away).
    pub fn tail(&self, max_messages: usize, max_bytes: usize) -> Vec<Arc<ChatMessage>> {
        let mut budget = max_bytes;
        let mut tail: Vec<_> = self
            .messages
            .iter()
            .rev()
            .take(max_messages)
            .take_while(|m| budget.checked_sub(m.json_len()).map(|left| budget = left).is_some())
            .cloned()
            .collect();
        tail.reverse();
        tail
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
        assert_eq!(ids(&history.page_after(None, 100, usize::MAX)), vec![3, 4, 5]);
    }

    #[test]
    fn after_returns_strictly_newer_messages() {
        let mut history = History::new(10);
        for id in [2, 4, 6, 8] {
            history.push(message(id));
        }
        assert_eq!(ids(&history.page_after(Some(4), 100, usize::MAX)), vec![6, 8]);
        assert_eq!(ids(&history.page_after(Some(5), 100, usize::MAX)), vec![6, 8]);
        assert_eq!(ids(&history.page_after(Some(0), 100, usize::MAX)), vec![2, 4, 6, 8]);
        assert!(history.page_after(Some(8), 100, usize::MAX).is_empty());
    }

    #[test]
    fn pages_and_tails_are_bounded_in_count_and_bytes() {
        let mut history = History::new(10);
        for id in 1..=10 {
            history.push(message(id));
        }
        let one = message(1).json_len();
        assert_eq!(ids(&history.page_after(None, 3, usize::MAX)), vec![1, 2, 3]);
        assert_eq!(ids(&history.page_after(Some(4), 100, 2 * one + 1)), vec![5, 6]);
        assert_eq!(ids(&history.page_after(Some(4), 100, 1)), vec![5], "always one, so paging moves on");
        assert_eq!(ids(&history.tail(100, 3 * one + 1)), vec![8, 9, 10], "\"m10\" is one byte longer");
        assert_eq!(ids(&history.tail(2, usize::MAX)), vec![9, 10]);
    }

    #[test]
    fn zero_capacity_keeps_nothing() {
        let mut history = History::new(0);
        history.push(message(1));
        assert!(history.page_after(None, 10, usize::MAX).is_empty());
    }
}
