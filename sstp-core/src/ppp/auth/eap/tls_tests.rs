//! EAP-TLS through the EAP layer in both roles: the authenticator and the
//! peer talk to each other in memory, TLS 1.2 and 1.3, with fragments cut
//! to a small MRU, method negotiation by Nak, and the refusals.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::time::{Duration, Instant};

use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::ServerName;
use rustls::server::WebPkiClientVerifier;
use rustls::version::{TLS12, TLS13};

use super::super::eap_tls::test_pki::{
    AFTER_EXPIRY, BEFORE_VALIDITY, Pki, TODAY, pki, pki_of, provider, roots,
};
use super::super::tests::{base, frames, rng};
use super::super::{
    Accept, AuthPeer, Authenticator, AuthenticatorConfig, ClientOutcome, EapTlsClientConfig,
    EapTlsServerConfig, LinkInfo, PeerConfig, ServerOutcome, WallAnchor,
};
use super::*;
use crate::crypto::mschapv2::Credential;
use crate::wire::auth::EapPacket;

fn server_tls(
    pki: &Pki,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> EapTlsServerConfig {
    let verifier = WebPkiClientVerifier::builder_with_provider(roots(&pki.ca), provider())
        .build()
        .unwrap();
    EapTlsServerConfig::new(
        provider(),
        verifier,
        vec![pki.server.0.clone()],
        pki.server.1.clone_key(),
    )
    .unwrap()
    .with_versions(versions)
}

/// The client trusts `trusted`'s CA for the server's inner certificate.
fn client_tls(pki: &Pki, trusted: &Pki) -> EapTlsClientConfig {
    let verifier = WebPkiServerVerifier::builder_with_provider(roots(&trusted.ca), provider())
        .build()
        .unwrap();
    EapTlsClientConfig::new(
        provider(),
        verifier,
        ServerName::try_from("vpn.example").unwrap(),
        vec![pki.client.0.clone()],
        pki.client.1.clone_key(),
    )
    .unwrap()
}

fn link(mru: u16, wall: Option<u64>) -> LinkInfo {
    LinkInfo {
        peer_mru: mru,
        wall: wall.map(|secs| WallAnchor {
            at: base(),
            since_epoch: Duration::from_secs(secs),
        }),
    }
}

/// One side of a conversation under test.
struct Ends {
    server: Authenticator,
    peer: AuthPeer,
}

fn ends(
    server_methods: &[AuthMethod],
    server_tls: Option<EapTlsServerConfig>,
    peer_methods: &[AuthMethod],
    peer_tls: Option<EapTlsClientConfig>,
    mru: u16,
    wall: Option<u64>,
) -> Ends {
    let mut sc = AuthenticatorConfig {
        eap_tls: server_tls,
        ..AuthenticatorConfig::default()
    };
    sc.eap_methods = server_methods.to_vec();
    let mut server = Authenticator::new(server_methods[0], &sc);
    server.set_link(link(mru, wall));
    let mut pc = PeerConfig {
        eap_tls: peer_tls,
        ..PeerConfig::default()
    };
    pc.eap_methods = peer_methods.to_vec();
    let mut peer = AuthPeer::new("alice@example", Credential::from_password("pw"), &pc);
    peer.set_link(link(mru, wall));
    Ends { server, peer }
}

/// What a conversation came to.
#[derive(Debug, Default)]
struct Talk {
    server: Option<ServerOutcome>,
    peer: Option<ClientOutcome>,
    /// The verdict request the server asked for.
    request: Option<AuthRequest>,
    /// Every packet, server's first.
    from_server: Vec<Vec<u8>>,
    from_peer: Vec<Vec<u8>>,
    /// Whether the server reported the peer's EAP Identity.
    identity_seen: bool,
}

/// Plays the conversation to its end; `judge` gives the verdict.
fn talk(ends: &mut Ends, judge: impl Fn(&AuthRequest) -> AuthVerdict) -> Talk {
    let now: Instant = base();
    let (mut srng, mut prng) = (rng(1), rng(2));
    let mut out = Outbox::new();
    let mut t = Talk::default();
    ends.server.start(now, &mut srng, &mut out);
    assert!(
        ends.peer
            .start(now, AuthMethod::EapTls, &mut prng, &mut Outbox::new())
            .is_none()
    );
    for _ in 0..200 {
        let to_peer = frames(&mut out);
        if to_peer.is_empty() {
            return t;
        }
        let mut replies = Outbox::new();
        for (protocol, packet) in to_peer {
            t.from_server.push(packet.clone());
            if let Some(o) =
                ends.peer
                    .handle_packet(now, protocol, &packet, &mut prng, &mut replies)
            {
                assert!(t.peer.is_none(), "two peer outcomes");
                t.peer = Some(o);
            }
        }
        for (protocol, packet) in frames(&mut replies) {
            t.from_peer.push(packet.clone());
            let mut outcome = ends
                .server
                .handle_packet(now, protocol, &packet, &mut srng, &mut out);
            if let Some(ServerOutcome::Identity(name)) = &outcome {
                assert_eq!(name, "alice@example", "the EAP Identity, for the logs");
                t.identity_seen = true;
                outcome = None;
            }
            if let Some(ServerOutcome::NeedVerdict(request)) = outcome {
                let verdict = judge(&request);
                t.request = Some(request);
                outcome = ends.server.complete(now, verdict, &mut srng, &mut out);
            }
            if let Some(o) = outcome {
                assert!(t.server.is_none(), "two server outcomes");
                t.server = Some(o);
            }
        }
    }
    panic!("no end after 200 rounds");
}

/// Both ends on EAP-TLS alone, TLS 1.3, `p`'s certificates, MRU 1500, the
/// clock inside the certificates' validity.
fn tls13_ends(p: &Pki) -> Ends {
    ends(
        &tls_only(),
        Some(server_tls(p, &[&TLS13])),
        &tls_only(),
        Some(client_tls(p, p)),
        1500,
        Some(TODAY),
    )
}

fn accept_alice(request: &AuthRequest) -> AuthVerdict {
    let AuthData::EapTls { certificates } = request.data() else {
        panic!("{request:?}");
    };
    assert_eq!(certificates.len(), 1, "the client's leaf");
    AuthVerdict::Accept(Accept::new().with_user_name("alice"))
}

fn tls_only() -> [AuthMethod; 1] {
    [AuthMethod::EapTls]
}

#[test]
fn tls13_and_tls12_succeed_in_small_fragments_with_the_same_hlak() {
    for version in [&TLS13, &TLS12] {
        let p = pki();
        let mut e = ends(
            &tls_only(),
            Some(server_tls(&p, &[version])),
            &tls_only(),
            Some(client_tls(&p, &p)),
            // RFC 5216 §2.1.5: fragments fit the peer's MRU.
            300,
            Some(TODAY),
        );
        let t = talk(&mut e, accept_alice);
        assert!(t.identity_seen);
        let Some(ServerOutcome::Success { username, hlak }) = &t.server else {
            panic!("{version:?}: {:?}", t.server);
        };
        assert_eq!(username, "alice", "named from the certificate");
        let Some(ClientOutcome::Success { hlak: peer_hlak }) = &t.peer else {
            panic!("{version:?}: {:?}", t.peer);
        };
        assert_eq!(hlak.as_bytes(), peer_hlak.as_bytes());
        assert_ne!(hlak.as_bytes(), &[0; 32]);
        assert_eq!(
            t.request.as_ref().map(AuthRequest::user_name),
            Some(&b"alice@example"[..]),
            "the request carries the EAP Identity"
        );
        assert!(
            t.from_server
                .iter()
                .chain(&t.from_peer)
                .all(|p| p.len() <= 300),
            "{version:?}: a packet over the MRU"
        );
        // The last packet is EAP-Success.
        assert!(matches!(
            EapPacket::parse(t.from_server.last().unwrap()),
            Ok(EapPacket::Success { .. })
        ));
    }
}

#[test]
fn without_an_accept_name_the_session_goes_by_the_identity() {
    let p = pki();
    let mut e = tls13_ends(&p);
    let t = talk(&mut e, |_| AuthVerdict::Accept(Accept::new()));
    assert!(
        matches!(&t.server, Some(ServerOutcome::Success { username, .. }) if username == "alice@example"),
        "{:?}",
        t.server
    );
}

#[test]
fn a_peer_without_a_certificate_naks_tls_and_gets_mschapv2() {
    let p = pki();
    let mut e = ends(
        &[AuthMethod::EapTls, AuthMethod::EapMsChapV2],
        Some(server_tls(&p, &[&TLS13])),
        &[AuthMethod::EapMsChapV2],
        None,
        1500,
        Some(TODAY),
    );
    let t = talk(&mut e, |r| {
        assert_eq!(r.method(), AuthMethod::EapMsChapV2);
        r.verify_with(&Credential::from_password("pw"))
    });
    // Identity, TLS Start, then (after the Nak) the MS-CHAPv2 Challenge.
    assert!(matches!(
        EapPacket::parse(&t.from_peer[1]).unwrap(),
        EapPacket::Response {
            data: EapData::Nak(types),
            ..
        } if types == vec![EapType::MSCHAPV2]
    ));
    assert!(
        matches!(t.server, Some(ServerOutcome::Success { .. })),
        "{:?}",
        t.server
    );
    assert!(matches!(t.peer, Some(ClientOutcome::Success { .. })));
}

#[test]
fn a_certificate_only_peer_naks_mschapv2_and_gets_tls() {
    let p = pki();
    let mut e = ends(
        &[AuthMethod::EapMsChapV2, AuthMethod::EapTls],
        Some(server_tls(&p, &[&TLS13])),
        &tls_only(),
        Some(client_tls(&p, &p)),
        1500,
        Some(TODAY),
    );
    let t = talk(&mut e, accept_alice);
    assert!(matches!(
        EapPacket::parse(&t.from_peer[1]).unwrap(),
        EapPacket::Response {
            data: EapData::Nak(types),
            ..
        } if types == vec![EapType::TLS]
    ));
    assert!(
        matches!(&t.server, Some(ServerOutcome::Success { username, .. }) if username == "alice"),
        "{:?}",
        t.server
    );
}

#[test]
fn no_common_method_ends_in_eap_failure_on_both_sides() {
    let p = pki();
    let mut e = ends(
        &tls_only(),
        Some(server_tls(&p, &[&TLS13])),
        &[AuthMethod::EapMsChapV2],
        None,
        1500,
        Some(TODAY),
    );
    let t = talk(&mut e, |_| panic!("no verdict without a method"));
    let Some(ServerOutcome::Failure(AuthFailure::MethodNotSupported { detail })) = &t.server else {
        panic!("{:?}", t.server);
    };
    assert_eq!(
        detail,
        "the peer refused EAP-TLS and asked for EAP-MSCHAPv2"
    );
    assert!(
        matches!(
            &t.peer,
            Some(ClientOutcome::Failure(
                AuthFailure::MethodNotSupported { .. }
            ))
        ),
        "{:?}",
        t.peer
    );
}

/// The words of the failure each side reports.
fn failures(t: &Talk) -> (String, String) {
    let server = match &t.server {
        Some(ServerOutcome::Failure(f)) => f.to_string(),
        other => panic!("server: {other:?}"),
    };
    let peer = match &t.peer {
        Some(ClientOutcome::Failure(f)) => f.to_string(),
        other => panic!("peer: {other:?}"),
    };
    (server, peer)
}

#[test]
fn an_expired_or_not_yet_valid_client_certificate_is_refused_with_eap_failure() {
    for (when, words) in [
        (AFTER_EXPIRY, "the certificate has expired"),
        (BEFORE_VALIDITY, "the certificate is not valid yet"),
    ] {
        let p = pki();
        let mut e = ends(
            &tls_only(),
            Some(server_tls(&p, &[&TLS13])),
            &tls_only(),
            Some(client_tls(&p, &p)),
            1500,
            Some(when),
        );
        let t = talk(&mut e, |_| panic!("no verdict for a refused certificate"));
        let (server, _) = failures(&t);
        // The server's own certificate fails first on the peer, which
        // checks at the same time: whichever side sees it, the words say it.
        assert!(
            server.contains(words) || server.contains("ended the TLS handshake"),
            "{server}"
        );
        assert!(matches!(
            EapPacket::parse(t.from_server.last().unwrap()),
            Ok(EapPacket::Failure { .. })
        ));
    }
}

#[test]
fn a_client_certificate_from_another_ca_is_refused() {
    let (p, other) = (pki(), pki_of("another CA"));
    // The client's certificate is from `other`; it trusts the server's CA.
    let client = {
        let verifier = WebPkiServerVerifier::builder_with_provider(roots(&p.ca), provider())
            .build()
            .unwrap();
        EapTlsClientConfig::new(
            provider(),
            verifier,
            ServerName::try_from("vpn.example").unwrap(),
            vec![other.client.0.clone()],
            other.client.1.clone_key(),
        )
        .unwrap()
    };
    let mut e = ends(
        &tls_only(),
        Some(server_tls(&p, &[&TLS13])),
        &tls_only(),
        Some(client),
        1500,
        Some(TODAY),
    );
    let t = talk(&mut e, |_| panic!("no verdict for an unknown CA"));
    let (server, peer) = failures(&t);
    assert_eq!(
        server,
        "certificate authentication failed: the certificate is not from a trusted CA"
    );
    assert!(peer.contains("not from a CA it trusts"), "{peer}");
    assert!(matches!(
        EapPacket::parse(t.from_server.last().unwrap()),
        Ok(EapPacket::Failure { .. })
    ));
}

#[test]
fn the_peer_refuses_a_server_certificate_it_does_not_trust() {
    let (p, other) = (pki(), pki_of("another CA"));
    let mut e = ends(
        &tls_only(),
        Some(server_tls(&p, &[&TLS12])),
        &tls_only(),
        Some(client_tls(&p, &other)),
        1500,
        Some(TODAY),
    );
    let t = talk(&mut e, |_| panic!("no verdict"));
    let (server, peer) = failures(&t);
    assert_eq!(
        peer,
        "certificate authentication failed: the certificate is not from a trusted CA"
    );
    assert!(server.contains("ended the TLS handshake"), "{server}");
}

#[test]
fn a_rejecting_verdict_sends_eap_failure() {
    let p = pki();
    let mut e = tls13_ends(&p);
    let t = talk(&mut e, |_| {
        AuthVerdict::reject("the certificate is revoked (thumbprint)")
    });
    let (server, peer) = failures(&t);
    assert_eq!(
        server,
        "credentials rejected: the certificate is revoked (thumbprint)"
    );
    assert_eq!(
        peer,
        "credentials rejected: the server refused our certificate (EAP-Failure)"
    );
}

#[test]
fn without_a_wall_clock_nothing_passes_and_the_log_says_why() {
    let p = pki();
    let mut e = ends(
        &tls_only(),
        Some(server_tls(&p, &[&TLS13])),
        &tls_only(),
        Some(client_tls(&p, &p)),
        1500,
        None,
    );
    let t = talk(&mut e, |_| panic!("no verdict"));
    // The peer checks the server's certificate first and stops there (its
    // link then ends the call; the server has no verdict to give).
    assert!(t.server.is_none(), "{:?}", t.server);
    let Some(ClientOutcome::Failure(failure)) = &t.peer else {
        panic!("{:?}", t.peer);
    };
    assert_eq!(
        failure.to_string(),
        "certificate authentication failed: no wall-clock time was given to the session to check certificates"
    );
}

#[test]
fn the_peer_takes_no_eap_success_before_the_handshake_is_done() {
    let p = pki();
    let mut e = tls13_ends(&p);
    let (now, mut prng) = (base(), rng(2));
    let mut out = Outbox::new();
    e.peer.start(now, AuthMethod::EapTls, &mut prng, &mut out);
    // Identity, then the Start: the peer answers with its ClientHello.
    for request in ["01 01 00 05 01", "01 02 00 06 0d 20"] {
        let packet = super::super::tests::b(request);
        assert!(
            e.peer
                .handle_packet(now, Protocol::EAP, &packet, &mut prng, &mut out)
                .is_none()
        );
    }
    let outcome = e.peer.handle_packet(
        now,
        Protocol::EAP,
        &super::super::tests::b("03 02 00 04"),
        &mut prng,
        &mut out,
    );
    let Some(ClientOutcome::Failure(AuthFailure::PeerMisbehaved { detail })) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(
        detail,
        "the server sent EAP-Success before the TLS handshake was done"
    );
}

#[test]
fn a_peer_silent_in_the_middle_of_tls_gets_retransmissions_then_a_timeout() {
    let p = pki();
    let mut e = tls13_ends(&p);
    let (mut now, mut srng, mut prng) = (base(), rng(1), rng(2));
    let mut out = Outbox::new();
    e.server.start(now, &mut srng, &mut out);
    e.peer
        .start(now, AuthMethod::EapTls, &mut prng, &mut Outbox::new());
    // Identity, Start, ClientHello: then the server's flight goes unanswered.
    let mut last = Vec::new();
    for _ in 0..3 {
        let mut replies = Outbox::new();
        for (protocol, packet) in frames(&mut out) {
            e.peer
                .handle_packet(now, protocol, &packet, &mut prng, &mut replies);
        }
        for (protocol, packet) in frames(&mut replies) {
            e.server
                .handle_packet(now, protocol, &packet, &mut srng, &mut out);
        }
        last = frames(&mut out);
        out.extend(
            last.iter()
                .cloned()
                .map(|(protocol, packet)| crate::ppp::ControlFrame { protocol, packet }),
        );
    }
    frames(&mut out);
    let mut outcome = None;
    let mut resent = 0;
    while outcome.is_none() {
        now = e.server.poll_timeout().expect("armed");
        outcome = e.server.handle_timeout(now, &mut srng, &mut out);
        let sent = frames(&mut out);
        if outcome.is_none() {
            assert_eq!(sent, last, "the same Request again");
            resent += 1;
        }
    }
    assert!(resent >= 2, "{resent}");
    assert_eq!(
        outcome.map(|o| match o {
            ServerOutcome::Failure(f) => f.to_string(),
            other => format!("{other:?}"),
        }),
        Some("authentication timed out waiting for the peer's next EAP-TLS Response".to_owned())
    );
}

/// The server's Identifier of the Request in `out` (the last one).
fn last_request_id(out: &mut Outbox) -> u8 {
    let sent = frames(out);
    match EapPacket::parse(&sent.last().expect("a Request").1) {
        Ok(EapPacket::Request { identifier, .. }) => identifier,
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_oversized_tls_message_length_or_endless_fragments_end_in_eap_failure() {
    let p = pki();
    for endless in [false, true] {
        let mut e = ends(
            &tls_only(),
            Some(server_tls(&p, &[&TLS13]).with_max_flight(4096)),
            &tls_only(),
            None,
            1500,
            Some(TODAY),
        );
        let (now, mut srng) = (base(), rng(1));
        let mut out = Outbox::new();
        e.server.start(now, &mut srng, &mut out);
        let id = last_request_id(&mut out);
        let identity = EapPacket::Response {
            identifier: id,
            data: EapData::Identity(b"mallory".to_vec()),
        };
        let mut bytes = Vec::new();
        identity.emit(&mut bytes);
        e.server
            .handle_packet(now, Protocol::EAP, &bytes, &mut srng, &mut out);
        let mut id = last_request_id(&mut out); // the Start
        let mut outcome = None;
        for round in 0..100 {
            // RFC 5216 §2.1.5: a first fragment declares the whole length;
            // the endless peer declares none and never stops.
            let declared = (!endless && round == 0).then_some(1_000_000);
            let fragment = EapTls::fragment(vec![0x16; 1000], true, declared);
            let packet = EapPacket::Response {
                identifier: id,
                data: EapData::Tls(fragment),
            };
            let mut bytes = Vec::new();
            packet.emit(&mut bytes);
            outcome = e
                .server
                .handle_packet(now, Protocol::EAP, &bytes, &mut srng, &mut out);
            if outcome.is_some() {
                break;
            }
            id = last_request_id(&mut out); // the acknowledgement
        }
        let Some(ServerOutcome::Failure(AuthFailure::PeerMisbehaved { detail })) = outcome else {
            panic!("endless={endless}: {outcome:?}");
        };
        // Refused at once for the declared length; at the bound for the
        // fragments that keep coming.
        assert!(
            detail.ends_with("bytes is longer than the limit of 4096"),
            "endless={endless}: {detail}"
        );
        assert!(matches!(
            EapPacket::parse(&frames(&mut out).last().expect("EAP-Failure").1),
            Ok(EapPacket::Failure { .. })
        ));
    }
}
