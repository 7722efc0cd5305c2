//! EAP-TLS (RFC 5216; TLS 1.3 per RFC 9190) in both roles: the TLS engine
//! runs in memory (`tls.rs`), and its flights travel in EAP-TLS fragments
//! (`fragments.rs`); `exchange.rs` ties the two into the conversation the
//! EAP layer drives, `method.rs` adds the session's clock and MTU, and
//! `config.rs` is what a driver hands in.

mod config;
mod exchange;
mod fragments;
mod method;
mod tls;

pub use config::{DEFAULT_MAX_FLIGHT, EapTlsClientConfig, EapTlsServerConfig};
pub(crate) use exchange::Next;
#[cfg(feature = "fuzzing")]
pub(crate) use fragments::{FragmentError, Incoming, Outgoing, Reassembled, fragment_size};
pub(crate) use method::{TlsMethod, WallAnchor, tls_words};
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) mod test_pki;
