//! The chat log in memory: what a Confab server always did, and still does with `--ephemeral` and
//! as a library by default (the desktop app's hosted chat).

use std::sync::Arc;

use confab_protocol::ChatMessage;

use super::{Page, Store, StoreError};
use crate::history::History;

/// The newest chat messages only, and a new run at every start (ids start again at 1).
pub struct MemoryStore {
    run: String,
    last_id: u64,
    history: History,
    /// Files of messages the history forgot since the last [`Store::forgotten_files`].
    forgotten_files: Vec<String>,
}

impl MemoryStore {
    pub fn new(capacity: usize) -> Self {
        Self { run: super::new_run(), last_id: 0, history: History::new(capacity), forgotten_files: Vec::new() }
    }
}

impl Store for MemoryStore {
    fn run(&self) -> &str {
        &self.run
    }

    fn last_id(&self) -> u64 {
        self.last_id
    }

    fn append(&mut self, messages: &[Arc<ChatMessage>]) -> Result<(), StoreError> {
        for message in messages {
            self.last_id = message.id.unwrap_or(self.last_id);
            if message.kind.is_none() {
                let gone = self.history.push(message.clone());
                self.forgotten_files.extend(gone.and_then(|m| m.attachment.as_ref().map(|a| a.id.clone())));
            }
        }
        Ok(())
    }

    fn page(&self, page: &Page) -> Result<Vec<Arc<ChatMessage>>, StoreError> {
        Ok(self.history.page(page))
    }

    fn forgotten_files(&mut self) -> Vec<String> {
        std::mem::take(&mut self.forgotten_files)
    }

    fn close(&mut self) {}
}
