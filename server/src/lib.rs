//! The Confab chat server.
//!
//! It speaks the seed chat protocol over socket.io v4 exactly, plus the extensions written down in
//! `docs/PROTOCOL.md` (ids, history, presence, password, flood control). Its chat log is kept in
//! memory unless [`ServerConfig::store`] says where on disk ([`StoreConfig`]). Start it with [`start`], stop it
//! with [`ServerHandle::stop`].
//!
//! ```no_run
//! # async fn demo() -> confab_server::Result<()> {
//! let server = confab_server::start("127.0.0.1:0".parse().unwrap(), Default::default()).await?;
//! println!("join at http://{}", server.local_addr());
//! server.stop().await
//! # }
//! ```

mod auth;
mod chat;
pub mod cluster;
mod config;
pub mod discovery;
mod error;
mod files;
mod handlers;
mod history;
mod listener;
pub mod logging;
mod members;
mod net;
mod origin;
mod peers;
mod queues;
mod room;
mod server;
mod store;
mod tls;
mod web;

/// The protocol this server speaks, for callers that need its types (tests, the app).
pub use confab_protocol as protocol;
pub use config::{AddressLimits, Limits, ServerConfig, TlsFiles};
pub use error::{Error, Result};
pub use net::join_urls;
pub use server::{start, ServerHandle};
pub use store::{StoreConfig, StoreError};
pub use tls::fingerprint as tls_fingerprint_of;
