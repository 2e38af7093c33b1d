//! The newest chat messages in memory (protocol §2.2): the whole history of an in-memory store, the
//! cache in front of the SQLite one. Only chat messages are kept, never announcements.

use std::{collections::VecDeque, sync::Arc};

use confab_protocol::{
    limits::{HISTORY_PAGE_BYTES, HISTORY_PAGE_MESSAGES},
    ChatMessage, HistoryRequest,
};

/// Which chat messages a `history` answer holds: those with `after < id < before` that `viewer`
/// may see, at most `max_messages` and about `max_bytes` of JSON (always at least one when any
/// match, so paging moves on). Cut from the oldest match, or from the newest with `from_newest`;
/// oldest first either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub after: u64,
    pub before: u64,
    pub from_newest: bool,
    pub max_messages: usize,
    pub max_bytes: usize,
    /// The folded name of the user asking: private messages only when they sent or received them
    /// (protocol §2.10). `None` is the server itself (every message, e.g. to fill a cache).
    pub viewer: Option<Arc<str>>,
}

impl Page {
    /// The newest messages: what a newcomer gets after registering.
    pub fn newest(max_messages: usize, max_bytes: usize) -> Self {
        Self { after: 0, before: u64::MAX, from_newest: true, max_messages, max_bytes, viewer: None }
    }

    /// What a `history` request (protocol §2.2) of `viewer` (a folded name) asks for, within the
    /// page limits.
    pub fn requested(request: &HistoryRequest, viewer: &str) -> Self {
        Self {
            after: request.after.unwrap_or(0),
            before: request.before.unwrap_or(u64::MAX),
            from_newest: request.before.is_some(),
            max_messages: request.limit.unwrap_or(HISTORY_PAGE_MESSAGES).clamp(1, HISTORY_PAGE_MESSAGES),
            max_bytes: HISTORY_PAGE_BYTES,
            viewer: Some(viewer.into()),
        }
    }

    /// The same page, without anything from `before` on.
    pub fn below(self, before: u64) -> Self {
        Self { before: self.before.min(before), ..self }
    }

    /// The same page as `viewer` (a folded name) may see it.
    pub fn seen_by(self, viewer: &str) -> Self {
        Self { viewer: Some(viewer.into()), ..self }
    }

    /// Whether `message` is in this page's audience.
    pub fn shows(&self, message: &ChatMessage) -> bool {
        self.viewer.as_deref().is_none_or(|viewer| message.visible_to(viewer))
    }

    /// Takes messages in the page's order (oldest first, or newest first with `from_newest`) while
    /// they fit, and returns them oldest first.
    pub fn take(&self, candidates: impl Iterator<Item = Arc<ChatMessage>>) -> Vec<Arc<ChatMessage>> {
        let mut budget = self.max_bytes;
        let mut page = Vec::new();
        for message in candidates.filter(|m| self.shows(m)).take(self.max_messages) {
            match budget.checked_sub(message.json_len()) {
                Some(left) => budget = left,
                // The first one always goes, so paging moves on.
                None if page.is_empty() => {
                    page.push(message);
                    break;
                }
                None => break,
            }
            page.push(message);
        }
        if self.from_newest {
            page.reverse();
        }
        page
    }
}

/// A bounded, id-ordered buffer of the last chat messages.
#[derive(Debug)]
pub struct History {
    capacity: usize,
    messages: VecDeque<Arc<ChatMessage>>,
    /// Every chat message with an id at least this is held here (older ones may have left).
    complete_from: u64,
}

impl History {
    pub fn new(capacity: usize) -> Self {
        Self { capacity, messages: VecDeque::with_capacity(capacity.min(1024)), complete_from: 0 }
    }

    /// A history holding `newest` (oldest first, increasing ids), which are all the chat messages
    /// with an id of at least `complete_from`.
    pub fn restore(capacity: usize, newest: Vec<Arc<ChatMessage>>, complete_from: u64) -> Self {
        let mut history = Self::new(capacity);
        history.complete_from = complete_from;
        for message in newest {
            history.push(message);
        }
        history
    }

    /// Keeps `message`, forgetting the oldest one when full (returned). Ids must be pushed in
    /// increasing order.
    pub fn push(&mut self, message: Arc<ChatMessage>) -> Option<Arc<ChatMessage>> {
        let id = message.id.unwrap_or_default();
        debug_assert!(self.messages.back().is_none_or(|last| last.id < message.id));
        if self.capacity == 0 {
            self.complete_from = id + 1;
            return Some(message);
        }
        let gone = (self.messages.len() == self.capacity).then(|| self.messages.pop_front()).flatten();
        if let Some(gone) = &gone {
            self.complete_from = gone.id.unwrap_or_default() + 1;
        }
        self.messages.push_back(message);
        gone
    }

    /// Where the messages matching `page` are held: ids are increasing, so binary search finds them.
    fn matching(&self, page: &Page) -> std::ops::Range<usize> {
        let start = self.messages.partition_point(|m| m.id.unwrap_or_default() <= page.after);
        let end = self.messages.partition_point(|m| m.id.unwrap_or_default() < page.before).max(start);
        start..end
    }

    /// The page as far as this buffer knows it.
    pub fn page(&self, page: &Page) -> Vec<Arc<ChatMessage>> {
        let matching = self.messages.range(self.matching(page)).cloned();
        match page.from_newest {
            true => page.take(matching.rev()),
            false => page.take(matching),
        }
    }

    /// Whether [`History::page`] gives exactly what the whole log would: every matching message is
    /// held, or (cut from the newest) enough of the newest ones are.
    pub fn covers(&self, page: &Page) -> bool {
        if page.after.saturating_add(1) >= self.complete_from {
            return true;
        }
        page.from_newest
            && self.messages.range(self.matching(page)).filter(|m| page.shows(m)).take(page.max_messages).count()
                >= page.max_messages
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

    fn after(after: Option<u64>, max_messages: usize, max_bytes: usize) -> Page {
        Page { after: after.unwrap_or(0), before: u64::MAX, from_newest: false, max_messages, max_bytes, viewer: None }
    }

    fn before(before: u64, max_messages: usize) -> Page {
        Page { after: 0, before, from_newest: true, max_messages, max_bytes: usize::MAX, viewer: None }
    }

    #[test]
    fn keeps_the_newest_up_to_capacity() {
        let mut history = History::new(3);
        for id in 1..=5 {
            history.push(message(id));
        }
        assert_eq!(ids(&history.page(&after(None, 100, usize::MAX))), vec![3, 4, 5]);
        assert!(!history.covers(&after(None, 100, usize::MAX)), "1 and 2 are gone");
        assert!(history.covers(&after(Some(2), 100, usize::MAX)));
    }

    #[test]
    fn after_returns_strictly_newer_messages() {
        let mut history = History::new(10);
        for id in [2, 4, 6, 8] {
            history.push(message(id));
        }
        assert_eq!(ids(&history.page(&after(Some(4), 100, usize::MAX))), vec![6, 8]);
        assert_eq!(ids(&history.page(&after(Some(5), 100, usize::MAX))), vec![6, 8]);
        assert_eq!(ids(&history.page(&after(Some(0), 100, usize::MAX))), vec![2, 4, 6, 8]);
        assert!(history.page(&after(Some(8), 100, usize::MAX)).is_empty());
    }

    #[test]
    fn before_cuts_from_the_newest_and_returns_oldest_first() {
        let mut history = History::new(10);
        for id in 1..=10 {
            history.push(message(id));
        }
        assert_eq!(ids(&history.page(&before(8, 3))), vec![5, 6, 7]);
        assert_eq!(ids(&history.page(&before(2, 3))), vec![1]);
        assert!(history.page(&before(1, 3)).is_empty());
        let both = Page { after: 3, ..before(8, 100) };
        assert_eq!(ids(&history.page(&both)), vec![4, 5, 6, 7]);
        assert_eq!(ids(&history.page(&Page::newest(2, usize::MAX))), vec![9, 10]);
    }

    #[test]
    fn a_cut_from_the_newest_is_covered_when_enough_newest_ones_are_held() {
        let mut history = History::new(4);
        for id in 1..=10 {
            history.push(message(id));
        }
        // Held: 7..=10.
        assert!(history.covers(&before(11, 4)));
        assert!(!history.covers(&before(11, 5)));
        assert!(!history.covers(&before(9, 3)), "only 7 and 8 are held below 9");
        assert!(history.covers(&Page { after: 6, ..before(9, 3) }), "nothing older matches");
    }

    #[test]
    fn pages_are_bounded_in_count_and_bytes() {
        let mut history = History::new(10);
        for id in 1..=10 {
            history.push(message(id));
        }
        let one = message(1).json_len();
        assert_eq!(ids(&history.page(&after(None, 3, usize::MAX))), vec![1, 2, 3]);
        assert_eq!(ids(&history.page(&after(Some(4), 100, 2 * one + 1))), vec![5, 6]);
        assert_eq!(ids(&history.page(&after(Some(4), 100, 1))), vec![5], "always one, so paging moves on");
        assert_eq!(ids(&history.page(&Page::newest(100, 3 * one + 1))), vec![8, 9, 10], "\"m10\" is one byte longer");
        assert_eq!(ids(&history.page(&Page::newest(100, 1))), vec![10], "always one, so paging moves on");
    }

    #[test]
    fn zero_capacity_keeps_nothing() {
        let mut history = History::new(0);
        history.push(message(1));
        assert!(history.page(&after(None, 10, usize::MAX)).is_empty());
        assert!(!history.covers(&after(None, 10, usize::MAX)));
        assert!(history.covers(&after(Some(1), 10, usize::MAX)));
    }

    #[test]
    fn a_restored_history_knows_what_it_lacks() {
        let history = History::restore(3, vec![message(5), message(6)], 5);
        assert!(!history.covers(&after(Some(3), 10, usize::MAX)));
        assert!(history.covers(&after(Some(4), 10, usize::MAX)));
        assert_eq!(ids(&history.page(&after(Some(4), 10, usize::MAX))), vec![5, 6]);
    }
}
