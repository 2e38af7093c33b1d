//! One byte budget for the outgoing queues of all the connections of an address (issue 10: each
//! queue has its own budget, but 256 connections that stop reading could still hold a gigabyte).
//! Every request gets its address's budget in its extensions, where the patched engineioxide takes
//! it when the request opens a session (vendor/README.md).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use confab_protocol::limits;
use engineioxide::SharedByteBudget;

use crate::listener::PeerAddr;

/// Addresses kept before the budgets no socket holds any more are swept.
const SWEEP_ABOVE: usize = 1024;

/// The budget of each address that has a session open; a budget lives as long as a socket uses it.
pub struct AddressQueues {
    max_bytes: usize,
    budgets: Mutex<Budgets>,
}

#[derive(Default)]
struct Budgets {
    by_address: HashMap<IpAddr, Weak<SharedByteBudget>>,
    sweep_above: usize,
}

impl AddressQueues {
    /// Budgets of `max_bytes` per address; 0: none.
    pub fn new(max_bytes: usize) -> Arc<Self> {
        Arc::new(Self { max_bytes, budgets: Mutex::new(Budgets { sweep_above: SWEEP_ABOVE, ..Budgets::default() }) })
    }

    /// The budget `ip`'s sockets share, made when it has none.
    fn budget_for(&self, ip: IpAddr) -> Arc<SharedByteBudget> {
        let mut budgets = self.budgets.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(budget) = budgets.by_address.get(&ip).and_then(Weak::upgrade) {
            return budget;
        }
        if budgets.by_address.len() >= budgets.sweep_above {
            budgets.by_address.retain(|_, budget| budget.strong_count() > 0);
            budgets.sweep_above = (budgets.by_address.len() * 2).max(SWEEP_ABOVE);
        }
        let budget = Arc::new(SharedByteBudget::new(self.max_bytes, limits::QUEUE_BEHIND_BYTES));
        budgets.by_address.insert(ip, Arc::downgrade(&budget));
        budget
    }
}

/// Middleware: the request carries its address's budget (engineioxide reads it at a session's start).
pub async fn attach(State(queues): State<Arc<AddressQueues>>, mut request: Request, next: Next) -> Response {
    let ip = request.extensions().get::<ConnectInfo<PeerAddr>>().map(|info| info.0 .0.ip());
    if let (Some(ip), true) = (ip, queues.max_bytes > 0) {
        // Only a request that opens a session (no `sid` yet) needs it.
        if !request.uri().query().unwrap_or_default().contains("sid=") {
            let budget = queues.budget_for(ip);
            request.extensions_mut().insert(budget);
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_shares_one_budget_while_a_socket_holds_it_and_stale_ones_are_swept() {
        let queues = AddressQueues::new(1000);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let first = queues.budget_for(a);
        assert!(Arc::ptr_eq(&first, &queues.budget_for(a)), "one budget per address");
        assert!(!Arc::ptr_eq(&first, &queues.budget_for(b)), "another address has its own");
        drop(first);
        for n in 0..SWEEP_ABOVE as u32 + 10 {
            drop(queues.budget_for(IpAddr::from(n.to_be_bytes())));
        }
        let kept = queues.budgets.lock().unwrap().by_address.len();
        assert!(kept < SWEEP_ABOVE, "budgets nobody holds are swept: {kept} kept");
    }
}
