//! Group commit: the caller that finds nobody writing becomes the leader. It writes what is pending,
//! batch by batch, and delivers each written batch; what arrives meanwhile goes into its next batch.
//! A log in memory is written by the caller itself, at once. A log on disk is written by a task of
//! its own that waits for the disk on tokio's blocking pool, so the runtime's thread goes on reading
//! the sockets (what they post meanwhile is the next batch); it delivers each batch on the runtime,
//! as the caller would. (Delivering from a thread of its own filled the sockets' queues faster than
//! the runtime drained them: 2000 joins at once peaked at 520 MB; yielding between the messages of
//! a batch cost 14x the CPU per delivery at saturation. docs/PERFORMANCE.md.)

use std::sync::{Arc, MutexGuard};

use confab_protocol::{event, ChatMessage, RefusalCode};

use super::{batch::Sequenced, Room, RoomState};
use crate::{handlers::refuse, members::did_not_fit, store::StoreError};

/// A batch taken from what was pending: the id before it, its messages, and the rows to write
/// (announcements that are waiting for the log first).
struct Batch {
    first_id: u64,
    items: Vec<Sequenced>,
    rows: Vec<Arc<ChatMessage>>,
}

impl Room {
    /// Has what is pending written and delivered: at once for a log in memory, else by the leader
    /// task (started when none runs).
    pub(super) fn flush<'a>(self: &'a Arc<Self>, mut state: MutexGuard<'a, RoomState>) -> MutexGuard<'a, RoomState> {
        if !self.on_disk {
            return self.commit(state);
        }
        if !state.committing && !state.pending.is_empty() {
            state.committing = true;
            tokio::spawn(self.clone().lead());
        }
        state
    }

    /// The leader of a log on disk: batch by batch until nothing is pending.
    async fn lead(self: Arc<Self>) {
        loop {
            let mut batch = {
                let mut state = self.state();
                if state.pending.is_empty() {
                    state.committing = false;
                    drop(state);
                    self.idle.notify_waiters();
                    return;
                }
                take_batch(&mut state)
            };
            let room = self.clone();
            let rows = std::mem::take(&mut batch.rows);
            let written = tokio::task::spawn_blocking(move || room.write(&rows)).await;
            let stored = written.unwrap_or_else(|_| Err(StoreError::Closed { path: "(the writer panicked)".into() }));
            let items = self.written(batch, stored);
            let mut state = self.state();
            items.into_iter().for_each(|item| self.settle(&mut state, item));
        }
    }

    /// Writes and delivers what is pending, batch by batch, in this caller (a log in memory).
    fn commit<'a>(&'a self, mut state: MutexGuard<'a, RoomState>) -> MutexGuard<'a, RoomState> {
        if state.committing {
            return state;
        }
        state.committing = true;
        while !state.pending.is_empty() {
            let batch = take_batch(&mut state);
            drop(state);
            let stored = self.write(&batch.rows);
            let items = self.written(batch, stored);
            state = self.state();
            items.into_iter().for_each(|item| self.settle(&mut state, item));
        }
        state.committing = false;
        self.idle.notify_waiters();
        state
    }

    /// Appends `rows` to the log; the files of messages it forgot go too.
    fn write(&self, rows: &[Arc<ChatMessage>]) -> Result<(), StoreError> {
        let (stored, forgotten) = {
            let mut store = self.store();
            (store.append(rows), store.forgotten_files())
        };
        if let (Some(files), false) = (&self.files, forgotten.is_empty()) {
            files.expire(forgotten);
        }
        stored
    }

    /// What to do with a batch once the log answered: deliver it, or (refused) refuse its chat
    /// messages and send its announcements anyway under new ids.
    fn written(&self, batch: Batch, stored: Result<(), StoreError>) -> Vec<Settle> {
        let mut state = self.state();
        match stored {
            Ok(()) => {
                if !state.unstored.is_empty() {
                    let count = state.unstored.len();
                    tracing::info!(count, "the chat log works again: waiting announcements stored");
                    state.unstored.clear();
                }
                tracing::trace!(messages = batch.items.len(), "batch committed");
                batch.items.into_iter().map(Settle::Deliver).collect()
            }
            Err(error) => {
                tracing::error!(%error, messages = batch.items.len(), "refused: the chat log cannot take it");
                state.last_id = batch.first_id;
                let settle = |item: Sequenced| match item.reply {
                    Some(_) => Settle::Refuse(item),
                    None => {
                        state.last_id += 1;
                        let item = item.renumbered(state.last_id);
                        tracing::error!(id = state.last_id, "an announcement goes out before it is stored");
                        state.unstored.push(item.message.clone());
                        Settle::Deliver(item)
                    }
                };
                batch.items.into_iter().map(settle).collect()
            }
        }
    }

    fn settle(&self, state: &mut RoomState, settle: Settle) {
        match settle {
            Settle::Deliver(item) => self.deliver(state, item),
            Settle::Refuse(item) => self.refuse_unstored(item),
        }
    }

    /// A written message: to its audience, then (a chat message) its file is sent and its sender acked.
    fn deliver(&self, state: &mut RoomState, item: Sequenced) {
        state.delivered_id = item.message.id.unwrap_or(state.delivered_id);
        if let Some(newcomer) = item.newcomer {
            self.welcome(state, newcomer, state.delivered_id);
        }
        state.broadcast(&item.message, item.audience);
        let Some(reply) = item.reply else { return };
        if let (Some(files), Some(meta)) = (&self.files, reply.file) {
            files.sent(meta);
        }
        if did_not_fit(reply.ack.send(&*item.message)) {
            state.evict(reply.sender.id);
        }
    }

    /// A chat message the log could not take: refused (its file can be sent again).
    fn refuse_unstored(&self, item: Sequenced) {
        let Some(reply) = item.reply else { return };
        if let (Some(files), Some(meta)) = (&self.files, reply.file) {
            files.unclaim(meta);
        }
        refuse(&reply.sender, &self.limits, reply.ack, event::MESSAGE, RefusalCode::Unavailable);
    }
}

/// What becomes of a message of a batch the log answered.
enum Settle {
    Deliver(Sequenced),
    Refuse(Sequenced),
}

/// Gives the pending messages their ids: the next batch.
fn take_batch(state: &mut RoomState) -> Batch {
    let first_id = state.last_id;
    let items: Vec<Sequenced> = std::mem::take(&mut state.pending)
        .into_iter()
        .map(|pending| {
            state.last_id += 1;
            pending.sequence(state.last_id)
        })
        .collect();
    let rows = state.unstored.iter().cloned().chain(items.iter().map(|item| item.message.clone())).collect();
    Batch { first_id, items, rows }
}
