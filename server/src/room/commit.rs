//! Group commit: the caller that finds nobody writing becomes the leader. It writes what is pending,
//! batch by batch, and delivers each written batch; what other threads add meanwhile goes into its
//! next batch (with `--threads` above 1: on one thread, every message is a batch of its own).

use std::sync::{Arc, MutexGuard};

use confab_protocol::{event, ChatMessage, RefusalCode};
use socketioxide::{SendError, SocketError};

use super::{batch::Sequenced, Room, RoomState};
use crate::handlers::refuse;

impl Room {
    /// Writes what is pending, batch by batch, and delivers each written batch; returns at once when
    /// another caller is doing so (it takes what was added meanwhile in its next batch).
    pub(super) fn commit<'a>(&'a self, mut state: MutexGuard<'a, RoomState>) -> MutexGuard<'a, RoomState> {
        if state.committing {
            return state;
        }
        state.committing = true;
        while !state.pending.is_empty() {
            let first_id = state.last_id;
            let batch: Vec<Sequenced> = std::mem::take(&mut state.pending)
                .into_iter()
                .map(|pending| {
                    state.last_id += 1;
                    pending.sequence(state.last_id)
                })
                .collect();
            let rows: Vec<Arc<ChatMessage>> =
                state.unstored.iter().cloned().chain(batch.iter().map(|item| item.message.clone())).collect();
            drop(state);
            let (stored, forgotten) = {
                let mut store = self.store();
                (store.append(&rows), store.forgotten_files())
            };
            if let (Some(files), false) = (&self.files, forgotten.is_empty()) {
                files.expire(forgotten);
            }
            state = self.state();
            match stored {
                Ok(()) => {
                    if !state.unstored.is_empty() {
                        let count = state.unstored.len();
                        tracing::info!(count, "the chat log works again: waiting announcements stored");
                        state.unstored.clear();
                    }
                    tracing::trace!(messages = batch.len(), "batch committed");
                    batch.into_iter().for_each(|item| self.deliver(&mut state, item));
                }
                Err(error) => {
                    tracing::error!(%error, messages = batch.len(), "refused: the chat log cannot take it");
                    state.last_id = first_id;
                    batch.into_iter().for_each(|item| self.refuse_unstored(&mut state, item));
                }
            }
        }
        state.committing = false;
        self.idle.notify_all();
        state
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
        if let Err(SendError::Socket(SocketError::InternalChannelFull)) = reply.ack.send(&*item.message) {
            state.evict(reply.sender.id);
        }
    }

    /// A message the log could not take: a chat message is refused (its file can be sent again), an
    /// announcement goes out anyway, under the next id, and is written ahead of the next batch.
    fn refuse_unstored(&self, state: &mut RoomState, item: Sequenced) {
        match item.reply {
            Some(reply) => {
                if let (Some(files), Some(meta)) = (&self.files, reply.file) {
                    files.unclaim(meta);
                }
                refuse(&reply.sender, &self.limits, reply.ack, event::MESSAGE, RefusalCode::Unavailable);
            }
            None => {
                state.last_id += 1;
                let item = item.renumbered(state.last_id);
                tracing::error!(id = state.last_id, "an announcement goes out before it is stored");
                state.unstored.push(item.message.clone());
                self.deliver(state, item);
            }
        }
    }
}
