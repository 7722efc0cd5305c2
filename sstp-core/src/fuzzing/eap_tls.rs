//! EAP-TLS harnesses: the fragment reassembly (RFC 5216 §2.1.5) on its own,
//! and the test certificates the EAP-TLS session harness
//! ([`super::session::eap_tls_session`]) configures both ends with.
//!
//! # `eap_tls_fragments`
//!
//! The first input byte picks the mode, the second the reassembly bound
//! (`64 + 16 × b` bytes, 64..=4144, small so inputs reach it):
//!
//! | mode % 2 | what |
//! |---|---|
//! | 0 | the rest is EAP-TLS Type-Data packets, each a length octet then that many bytes, fed to the reassembly one by one |
//! | 1 | the rest is `len` (2 octets), `fragment` (1 octet), then flight bytes (cycled): the flight goes out in fragments and comes back whole |
//!
//! Invariants: nothing panics; every packet that parses round-trips
//! (parse, emit, parse equal; `buffer_len` is the emitted length); the
//! reassembly never holds more than the bound and gives back exactly the
//! bytes it was fed; a TLS Message Length over the bound is refused at
//! once (RFC 5216 §3.1 L flag); a declared length is kept; a flight cut
//! into fragments and reassembled is the flight.
//!
//! Seeds (`fuzz/corpus/eap_tls_fragments/`) are written by hand in this
//! layout: mode, bound, then `[len, flags, (L: 4 octets), data…]` packets
//! (three fragments of a 200-byte message, L over the bound, no L past the
//! bound, a Start and an ack, a length mismatch) or a round-trip header.
//! The `eap_tls_session` seeds are ping-pong deliveries (`0 1` × 40) after
//! each first byte, plus a corrupted chunk, drops with timer retransmits,
//! and partial deliveries (operations as in [`super::session`]).

use std::sync::{Arc, OnceLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::ServerName;
use rustls::version::{TLS12, TLS13};

use crate::wire::auth::EapTls;
use crate::{EapTlsClientConfig, EapTlsServerConfig};

use crate::ppp::auth::test_pki;
use crate::ppp::auth::{FragmentError, Incoming, Outgoing, Reassembled, fragment_size};

/// Fuzz target `eap_tls_fragments`: panics only on a reassembly or codec bug.
pub fn eap_tls_fragments(data: &[u8]) {
    let [mode, bound, rest @ ..] = data else {
        return;
    };
    let limit = 64 + 16 * usize::from(*bound);
    if mode % 2 == 0 {
        reassemble(rest, limit);
    } else {
        round_trip_flight(rest, limit);
    }
}

/// Parses EAP-TLS Type-Data and checks the wire round trip.
fn parse_round_trip(bytes: &[u8]) -> Option<EapTls> {
    let packet = EapTls::parse(bytes).ok()?;
    let mut out = Vec::new();
    packet.emit(&mut out);
    assert_eq!(out.len(), packet.buffer_len(), "buffer_len disagrees");
    let again = EapTls::parse(&out).expect("emitted EAP-TLS does not parse");
    assert_eq!(again, packet, "EAP-TLS round trip changed the packet");
    Some(packet)
}

/// Mode 0: arbitrary packets into the reassembly, checked against a model
/// (the bytes fed since the last completed or refused message).
fn reassemble(mut input: &[u8], limit: usize) {
    let mut incoming = Incoming::new(limit);
    let mut model: Vec<u8> = Vec::new();
    let mut declared: Option<u32> = None;
    while let Some((&len, rest)) = input.split_first() {
        let n = usize::from(len).min(rest.len());
        let (bytes, rest) = rest.split_at(n);
        input = rest;
        let Some(packet) = parse_round_trip(bytes) else {
            continue;
        };
        let first = !incoming.in_progress();
        if first {
            declared = packet.message_length;
        }
        let result = incoming.push(&packet);
        let over = first
            && packet
                .message_length
                .is_some_and(|l| usize::try_from(l).map_or(true, |l| l > limit));
        if over {
            assert!(
                matches!(result, Err(FragmentError::TooLong { .. })),
                "a TLS Message Length over the bound was not refused: {result:?}"
            );
        }
        match result {
            Ok(Reassembled::More) => {
                model.extend_from_slice(&packet.data);
                assert!(packet.more_fragments, "More without the M flag");
                assert!(incoming.in_progress());
                assert!(model.len() <= limit, "buffered {} > {limit}", model.len());
                if let Some(d) = declared {
                    assert!(
                        model.len() <= d as usize,
                        "buffered past the declared length"
                    );
                }
            }
            Ok(Reassembled::Complete(message)) => {
                model.extend_from_slice(&packet.data);
                assert!(!packet.more_fragments, "Complete with the M flag");
                assert!(!incoming.in_progress());
                assert_eq!(message, model, "reassembly changed the bytes");
                assert!(message.len() <= limit, "a message over the bound");
                if let Some(d) = declared {
                    assert_eq!(message.len(), d as usize, "declared length not kept");
                }
                model.clear();
            }
            Err(_) => {
                assert!(!incoming.in_progress(), "a refused message was kept");
                model.clear();
            }
        }
    }
}

/// Mode 1: a flight through `Outgoing`, the wire, and `Incoming`.
fn round_trip_flight(input: &[u8], limit: usize) {
    let [hi, lo, fragment, body @ ..] = input else {
        return;
    };
    let len = usize::from(u16::from_be_bytes([*hi, *lo])) % (limit + 1);
    let flight: Vec<u8> = if body.is_empty() {
        vec![0; len]
    } else {
        body.iter().copied().cycle().take(len).collect()
    };
    // Odd selectors: the size the engine picks for an MRU; even ones: any
    // small size, down to one byte per fragment.
    let fragment = if fragment % 2 == 1 {
        fragment_size(u16::from(*fragment) * 8)
    } else {
        usize::from(*fragment / 2).max(1)
    };
    let mut outgoing = Outgoing::new(flight.clone(), fragment);
    let mut incoming = Incoming::new(limit);
    let mut whole = None;
    let mut count = 0usize;
    while let Some(packet) = outgoing.next_fragment() {
        assert!(whole.is_none(), "a fragment after the last");
        assert!(packet.data.len() <= fragment, "a fragment over its size");
        if count == 0 && flight.len() > fragment {
            assert_eq!(
                packet.message_length,
                u32::try_from(flight.len()).ok(),
                "the first fragment lacks L (RFC 5216 §3.1)"
            );
        }
        let mut wire = Vec::new();
        packet.emit(&mut wire);
        let packet = parse_round_trip(&wire).expect("an emitted fragment does not parse");
        count += 1;
        match incoming
            .push(&packet)
            .expect("our own fragments were refused")
        {
            Reassembled::More => assert!(packet.more_fragments),
            Reassembled::Complete(message) => whole = Some(message),
        }
    }
    assert!(outgoing.is_done());
    assert_eq!(whole, Some(flight.clone()), "the flight did not come back");
    assert_eq!(
        count,
        flight.len().div_ceil(fragment).max(1),
        "fragment count"
    );
}

/// 2026-06-01 00:00:00 UTC, in seconds since the epoch: inside the test
/// certificates' validity (2020-01-01 to 2030-01-01).
pub(crate) use crate::ppp::auth::test_pki::TODAY;

/// The user name the harness's backend gives a certificate (the test
/// PKI's client certificate is alice's).
pub(crate) const CERT_USER: &str = "alice";

/// Both ends' EAP-TLS configurations, made once.
pub(crate) struct Configs {
    /// The server, TLS 1.3 only (RFC 9190).
    pub(crate) server_tls13: EapTlsServerConfig,
    /// The server, TLS 1.2 only (RFC 5216).
    pub(crate) server_tls12: EapTlsServerConfig,
    /// The client (either version).
    pub(crate) client: EapTlsClientConfig,
}

/// The shared EAP-TLS configurations (certificates made on first use).
#[allow(clippy::expect_used)] // fixed inputs: a failure is a harness bug
pub(crate) fn configs() -> &'static Configs {
    static CONFIGS: OnceLock<Configs> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        let pki = test_pki::pki_of("sstp-rs fuzz CA");
        let provider = test_pki::provider();
        let roots = test_pki::roots(&pki.ca);
        let server = |version| {
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::clone(&roots),
                Arc::clone(&provider),
            )
            .build()
            .expect("client verifier");
            EapTlsServerConfig::new(
                Arc::clone(&provider),
                verifier,
                vec![pki.server.0.clone()],
                pki.server.1.clone_key(),
            )
            .expect("server config")
            .with_versions(&[version])
        };
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::clone(&roots),
            Arc::<CryptoProvider>::clone(&provider),
        )
        .build()
        .expect("server verifier");
        let client = EapTlsClientConfig::new(
            Arc::clone(&provider),
            verifier,
            ServerName::try_from("vpn.example").expect("name"),
            vec![pki.client.0.clone()],
            pki.client.1.clone_key(),
        )
        .expect("client config");
        Configs {
            server_tls13: server(&TLS13),
            server_tls12: server(&TLS12),
            client,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_inputs_do_not_panic() {
        for data in [
            &[][..],
            &[0],
            &[0, 0],
            &[0, 0, 5, 0x80, 0xff, 0xff, 0xff, 0xff],
            &[0, 0, 6, 0xc0, 0, 0, 0, 10, 1, 2, 1, 0],
            &[0, 0, 1, 0x40, 1, 0x00, 3, 0x20, 1, 2],
            &[1, 0, 0, 0, 0],
            &[1, 255, 0xff, 0xff, 0, 7],
            &[1, 3, 0, 200, 1],
            &[1, 3, 0, 200, 255, 1, 2, 3],
        ] {
            eap_tls_fragments(data);
        }
    }

    #[test]
    fn a_declared_length_over_the_bound_is_refused() {
        // Bound 64; L = 65 on a first fragment.
        eap_tls_fragments(&[0, 0, 6, 0xc0, 0, 0, 0, 65, 1]);
    }

    #[test]
    fn configs_build() {
        let _ = configs();
    }
}
