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
//! [`Session`] is what both answer (a driver can be generic over it).
//! Everything they take and report is re-exported here; the rest of the
//! crate (the PPP automaton and protocols, the MS-SSTP control machines,
//! the deframer, the crypto) is private, reached only through them.
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
//! What a driver needs besides the sessions: the HTTPS preamble that comes
//! before them ([`wire::http`], MS-SSTP 3.2.4.1 / 4.1), the Router
//! Advertisement and Solicitation a tunnel's IPv6 wants
//! ([`wire::icmpv6`], RFC 4861), and the SSTP Status Info a peer's abort
//! carries ([`wire::sstp`], MS-SSTP 2.2.10).
//!
//! ## Call order
//!
//! Both ends answer the same calls, the [`Session`] trait's (bring it into
//! scope: `use sstp_core::Session`); a driver generic over `S: Session`
//! drives either end with static calls.
//!
//! Inputs (each but `send_ip` takes `now`; call them in any order, as
//! things happen):
//! - [`handle_input`](Session::handle_input): plaintext bytes read
//!   from TLS, after the HTTP handshake ([`wire::http`]);
//! - [`send_ip`](Session::send_ip): an IP packet read from the TUN;
//! - [`handle_timeout`](Session::handle_timeout): when the instant of
//!   [`poll_timeout`](Session::poll_timeout) has come;
//! - [`close`](Session::close): tear the call down gracefully;
//! - [`transport_closed`](Session::transport_closed): TLS/TCP is gone;
//! - server only: [`auth_complete`](ServerSession::auth_complete) after
//!   [`Event::Authenticate`], [`assign_addresses`](ServerSession::assign_addresses)
//!   after [`Event::NeedAddresses`], or [`refuse`](ServerSession::refuse).
//!
//! After any input, drain the outputs until each returns nothing:
//! [`poll_transmit`](Session::poll_transmit) (bytes to write into
//! TLS), [`poll_ip`](Session::poll_ip) (packets for the TUN),
//! [`poll_event`](Session::poll_event); then sleep until
//! [`poll_timeout`](Session::poll_timeout). After [`Event::Down`]
//! the session is finished: flush the last bytes and close TLS.
//!
//! ## A packet's path
//!
//! `handle_input` → the deframer cuts whole SSTP packets (MS-SSTP 2.2.1;
//! a framing failure kills the call without a word, 3.1.5.1) → every packet
//! restarts the Hello timer (3.1.2.3) → a control packet goes to the control
//! machine (3.2.5, 3.3.5) → a data packet's PPP frame (2.2.3) is
//! IPv4/IPv6 on the fast path: if the call is connected (3.2.7.2; the server
//! passes no data before the crypto binding is verified, 3.3.5.2.3) and the
//! NCP is Opened, the IP packet is queued for `poll_ip` without touching any
//! state machine (one longer than our MRU is dropped and counted, RFC 1661
//! 6.1) → any other PPP frame goes to the link (LCP, auth, NCPs;
//! RFC 1661 3). `send_ip` is the same in reverse: one check, then the
//! 4-byte SSTP header and 4-byte PPP header are written in front of the
//! packet straight into the transmit buffer.
//!
//! ## Memory
//!
//! The transmit buffer and the IP receive queue are bounded
//! (256 KiB of bytes to send, 256 KiB of IP packets received); both keep their capacity, so the
//! data path allocates nothing once warm. A driver that does not drain them
//! sees `send_ip` refuse with [`SendError::Full`] and received packets
//! dropped and counted ([`SessionStats`]). An idle session need not keep
//! them: `shrink_buffers` (on both session types) gives back the capacity
//! of empty buffers, and the deframer allocates its buffer only when a
//! packet spans two reads; a server with thousands of idle sessions calls
//! it when a quiet link's timer fires.
//!
//! ## Determinism
//!
//! This crate opens no sockets or files, reads no clock, draws no OS
//! randomness and spawns no threads (enforced by `clippy.toml`). Randomness
//! comes through [`Random`]; the same inputs, `now`s and random bytes give
//! the same outputs.
//!
//! ## Features
//!
//! - `fuzzing`: the fuzz harnesses (`sstp_core::fuzzing`), shared by the
//!   libFuzzer targets in `fuzz/` and this crate's corpus-replay test. Not
//!   part of the API; off by default.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod crypto;
mod deframer;
mod error;
mod ppp;
mod session;
mod sstp;
pub mod wire;

#[cfg(test)]
mod testing;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

pub use crypto::binding::{AcceptedCertHashes, BindingError, CertHashes};
pub use crypto::mppe::{MppeKeys, Msk, SessionKey};
pub use crypto::mschapv2::{
    AuthenticatorResponse, Credential, NtPasswordHash, user_name_without_domain,
};
pub use deframer::DeframeError;
pub use error::{
    CloseKind, CloseReason, Ending, Malformed, Missing, PppFailure, Refusal, Timer, Violation,
};
pub use ppp::auth::{
    Accept, AuthData, AuthFailure, AuthRequest, AuthVerdict, AuthenticatorConfig,
    DEFAULT_MAX_FLIGHT, EapTlsClientConfig, EapTlsServerConfig, KeyMaterial, PapPassword,
    PeerConfig,
};
pub use ppp::fsm::FsmConfig;
pub use ppp::ipcp::{IpcpClientConfig, Ipv4Config};
pub use ppp::ipv6cp::Ipv6Config;
pub use ppp::lcp::KeepaliveConfig;
pub use ppp::negotiator::NegotiationFailure;
pub use ppp::{AuthMethod, Random, UnknownAuthMethod};
pub use session::{
    AddressLease, ClientConfig, ClientSession, CommonConfig, Event, MAX_IP_PACKET, NetConfig,
    SendError, ServerConfig, ServerSession, Session, SessionStats,
};
pub use sstp::control::{ControlState, SstpTimers};
pub use wire::ParseError;
pub use wire::auth::MsChapV2Failure;
pub use wire::cp::Code as CpCode;
pub use wire::ppp::Protocol as PppProtocol;
pub use wire::sstp::{HashBitmask, HashProtocol, MessageError, MessageType};
