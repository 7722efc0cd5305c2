//! EAP-TLS (RFC 5216; TLS 1.3 per RFC 9190) in both roles: the TLS engine
//! runs in memory (`tls.rs`), and its flights travel in EAP-TLS fragments
//! (`fragments.rs`); `exchange.rs` ties the two into the conversation
//! the EAP layer drives.

mod exchange;
mod fragments;
mod tls;

pub(crate) use exchange::*;
pub(crate) use fragments::*;
pub(crate) use tls::*;
