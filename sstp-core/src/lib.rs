//! # sstp-core
//!
//! The pure, deterministic heart of sstp-rs: an SSTP (MS-SSTP) and PPP stack
//! with no IO. Bytes and `now` go in; bytes, IP packets, events and
//! deadlines come out. Drivers (`sstp-server`, `sstp-client`, or yours) own
//! the sockets, TLS, TUN device and clock.
//!
//! ## The paved path
//!
//! [`ServerSession`] and [`ClientSession`] are one SSTP connection each, and
//! [`Session`] is what both answer (a driver can be generic over it); the
//! [`session`] module documents the call order and follows one packet from
//! `handle_input` to `poll_ip`. Everything they need is re-exported here.
//!
//! ```
//! use std::time::Instant;
//! use sstp_core::{CertHashes, ClientConfig, ClientSession, Credential, Session};
//! # struct Seeded(u64);
//! # impl sstp_core::Random for Seeded {
//! #     fn fill(&mut self, buf: &mut [u8]) { for b in buf { self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1); *b = (self.0 >> 33) as u8; } }
//! # }
//! # let rng = Box::new(Seeded(1));
//! let config = ClientConfig::new("alice", Credential::from_password("secret"));
//! // The hashes of the certificate TLS presented (they feed the crypto binding).
//! let cert = CertHashes::from_der(b"...the server's DER certificate...");
//! let mut session = ClientSession::new(&config, cert, Instant::now(), rng);
//! let mut out = Vec::new();
//! assert!(session.poll_transmit(&mut out)); // the Call Connect Request
//! assert_eq!(out, [0x10, 0x01, 0x00, 0x0e, 0x00, 0x01, 0x00, 0x01, 0x00, 0x01, 0x00, 0x06, 0x00, 0x01]);
//! ```
//!
//! ## Layers
//!
//! - [`wire`]: parse/emit pairs for every message, never panicking on input.
//! - [`deframer`]: cuts a TLS byte stream into whole SSTP packets, bounded.
//! - [`crypto`]: MS-CHAPv2 (RFC 2759), MPPE keys (RFC 3079), SSTP HLAK, CMK and
//!   Compound MAC (MS-SSTP 3.2.5.2), on RustCrypto primitives.
//! - [`ppp`]: the RFC 1661 automaton, LCP/IPCP/IPv6CP policies,
//!   authentication in both roles, the link phases.
//! - [`sstp`]: the MS-SSTP client and server control state machines.
//! - [`session`]: the two sessions that tie it all together.
//!
//! ## Determinism
//!
//! This crate opens no sockets or files, reads no clock, draws no OS
//! randomness and spawns no threads (enforced by `clippy.toml`). Randomness
//! comes through [`Random`]; the same inputs, `now`s and random bytes give
//! the same outputs.

#![forbid(unsafe_code)]

pub mod crypto;
pub mod deframer;
pub mod error;
pub mod ppp;
pub mod session;
pub mod sstp;
pub mod wire;

#[doc(hidden)]
pub mod fuzzing;

pub use crypto::binding::{BindingError, CertHashes, HashProtocol};
pub use crypto::mschapv2::Credential;
pub use deframer::DeframeError;
pub use error::{
    CloseKind, CloseReason, Malformed, Missing, PppFailure, Refusal, Timer, Violation,
};
pub use ppp::auth::{Accept, AuthData, AuthFailure, AuthRequest, AuthVerdict, KeyMaterial};
pub use ppp::ipcp::{IpcpClientConfig, Ipv4Config};
pub use ppp::ipv6cp::Ipv6Config;
pub use ppp::negotiator::NegotiationFailure;
pub use ppp::{AuthMethod, Random};
pub use session::{
    AddressLease, ClientConfig, ClientSession, CommonConfig, Event, NetConfig, SendError,
    ServerConfig, ServerSession, Session, SessionStats,
};
pub use sstp::control::{ControlState, SstpTimers};
pub use wire::ParseError;
pub use wire::sstp::HashBitmask;
