//! `history` (protocol §2.2): one bounded page per request, read from the chat log without the
//! room's lock (only the log's), so the room's traffic goes on while a burst of pages is read.

use std::sync::Arc;

use confab_protocol::{event, names, ChatMessage, HistoryRequest, RefusalCode};
use socketioxide::extract::{AckSender, SocketRef};

use super::Room;
use crate::{handlers::refuse, members::did_not_fit, peers::AddressHistory, store::Page};

impl Room {
    /// Answers a `history` request. A socket that is not (or no longer) registered is refused
    /// `not_registered`: an empty page would read as "nothing more", and an evicted client catching
    /// up skipped everything it had not fetched yet (1476 messages in a test).
    pub fn history(
        self: &Arc<Self>,
        socket: &SocketRef,
        request: HistoryRequest,
        ack: AckSender,
        address: AddressHistory,
    ) {
        let page = match self.page_for(socket, request, &address) {
            Ok(Some(page)) => page,
            Ok(None) => return refuse(socket, &self.limits, ack, event::HISTORY, RefusalCode::NotRegistered),
            Err(code) => return refuse(socket, &self.limits, ack, event::HISTORY, code),
        };
        match self.read_page(socket, &page, &address) {
            Ok(messages) => {
                if did_not_fit(ack.send(&messages)) {
                    self.evict(socket.id);
                }
            }
            Err(code) => refuse(socket, &self.limits, ack, event::HISTORY, code),
        }
    }

    /// The page `socket` asks for, within what is delivered so far; `None` when it is not registered.
    fn page_for(
        &self,
        socket: &SocketRef,
        request: HistoryRequest,
        address: &AddressHistory,
    ) -> Result<Option<Page>, RefusalCode> {
        let state = self.state();
        let Some(member) = state.members.get(socket.id) else { return Ok(None) };
        member.may_request()?;
        member.has_history_budget(address)?;
        Ok(Some(Page::requested(&request, &names::fold(&member.name)).below(state.delivered_id + 1)))
    }

    /// Reads `page` and charges it to the member's byte budget.
    fn read_page(
        &self,
        socket: &SocketRef,
        page: &Page,
        address: &AddressHistory,
    ) -> Result<Vec<Arc<ChatMessage>>, RefusalCode> {
        let messages = self.store().page(page).map_err(|error| {
            tracing::error!(%error, "history refused: the chat log cannot be read");
            RefusalCode::Unavailable
        })?;
        match self.state().members.get(socket.id) {
            Some(member) => member.may_receive(&messages, address).map(|()| messages),
            None => Err(RefusalCode::NotRegistered), // evicted or left meanwhile
        }
    }
}
