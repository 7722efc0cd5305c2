//! Fuzz harnesses, shared by the libFuzzer targets in `fuzz/` and by the
//! corpus-replay test, so every committed seed also runs under plain
//! `cargo test`. Each harness parses, emits, re-parses and asserts equality
//! (the round-trip oracle), or checks a state machine's invariants; a panic
//! here is a bug.
//!
//! Not part of the stable API.

pub mod auth;
pub mod codec;
pub mod eap_tls;
pub mod fsm;
pub mod ppp;
pub mod session;
pub mod sstp;

/// A harness: takes the fuzzer's bytes, panics only on a bug.
pub type Harness = fn(&[u8]);

/// Every harness by the name of its libFuzzer target (and of its corpus
/// folder, `fuzz/corpus/<name>/`).
pub const TARGETS: &[(&str, Harness)] = &[
    ("auth_packets", auth_packets),
    ("client_session", client_session),
    ("deframer", deframer),
    ("eap_tls_fragments", eap_tls_fragments),
    ("eap_tls_session", eap_tls_session),
    ("fsm_events", fsm_events),
    ("http_preamble", http_preamble),
    ("ppp_frame", ppp_frame),
    ("server_session", server_session),
    ("sstp_packet", sstp_packet),
];

pub use auth::auth_packets;
pub use eap_tls::eap_tls_fragments;
pub use fsm::fsm_events;
pub use ppp::ppp_frame;
pub use session::{client_session, eap_tls_session, server_session};
pub use sstp::{deframer, http_preamble, sstp_packet};
