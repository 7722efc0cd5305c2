//! Tests of LCP: the option policy against Windows/RRAS and pppd first
//! requests (RFC 1661 section 6), negotiator pairs on virtual time, Echo
//! (5.8), Protocol-Reject (5.7) and Code-Reject (5.6), the keepalive, and
//! proptests.

use super::*;
use crate::ppp::fsm::{FsmConfig, State};
use crate::ppp::negotiator::LayerEvent;
use crate::ppp::negotiator::testing::*;
use proptest::prelude::*;
use std::time::{Duration, Instant};

/// RRAS's first LCP Configure-Request (the sstpc log in axot/isstp#5: MRU
/// 4091, AUTH EAP, MAGIC 0x51A2411C, PFC, ACFC, CALLBACK 06, MRRU 1614,
/// EPDISC class 1); the same bytes as
/// the `wire::options` fixture `RRAS_LCP_CONFREQ`, LCP packet only.
const RRAS_CONFREQ: &str = concat!(
    "01000034",
    "01040ffb",
    "0304c227",
    "050651a2411c",
    "0702",
    "0802",
    "0d0306",
    "1104064e",
    "131701ef8b1435c0165a3c9d0e7b21f4468a13d2c5e097",
);

/// pppd's LCP Configure-Request `<asyncmap 0x0> <magic 0x930f0222>
/// <pcomp> <accomp>` (ppp-project/ppp#78 trace).
const PPPD_CONFREQ: &str = "01010014 020600000000 0506930f0222 0702 0802";

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

fn lcp(config: LcpConfig, seed: u64) -> Lcp {
    Negotiator::new(LcpPolicy::new(config, &mut rng(seed)), FsmConfig::default())
}

/// An LCP negotiator past Open and Up, its first request drained.
fn started(config: LcpConfig, seed: u64) -> (Lcp, Instant, Outbox) {
    let now = base();
    let mut n = lcp(config, seed);
    let mut out = Outbox::new();
    n.open(now, &mut out);
    n.up(now, &mut out);
    assert_eq!(out.len(), 1);
    out.clear();
    (n, now, out)
}

fn sent_request(n: &Lcp) -> Vec<LcpOption> {
    let mut out = Vec::new();
    n.policy().clone().request(&mut out);
    LcpOption::parse_list(&out).unwrap()
}

#[test]
fn client_rejects_rras_extras_then_acks_eap() {
    let (mut n, now, mut out) = started(LcpConfig::client(), 1);
    let mut rng = rng(2);
    n.handle_packet(now, &hex(RRAS_CONFREQ), &mut rng, &mut out);
    // RFC 1661 5.4: PFC, ACFC, Callback, MRRU and EPDISC, unmodified,
    // in order.
    let reject = out.pop_front().unwrap().packet;
    assert_eq!(
        reject,
        hex(concat!(
            "04000026",
            "0702",
            "0802",
            "0d0306",
            "1104064e",
            "131701ef8b1435c0165a3c9d0e7b21f4468a13d2c5e097"
        ))
    );
    // RRAS's next request: MRU, Auth EAP, Magic -> Ack (EAP allowed).
    let second = hex("01010012 01040ffb 0304c227 050651a2411c");
    n.handle_packet(now, &second, &mut rng, &mut out);
    let ack = out.pop_front().unwrap().packet;
    assert_eq!(ack[0], 2);
    assert_eq!(&ack[1..], &second[1..]);
    let got = n.policy().negotiated();
    assert_eq!(got.auth, Some(AuthMethod::EapMsChapV2));
    assert_eq!(got.peer_mru, 4091);
    assert_eq!(got.peer_magic, 0x51A2_411C);
    assert_eq!(n.state(), State::AckSent);
}

#[test]
fn client_naks_eap_when_not_allowed() {
    let mut config = LcpConfig::client();
    config.auth_methods = vec![AuthMethod::MsChapV2];
    let (mut n, now, mut out) = started(config, 1);
    let mut rng = rng(2);
    n.handle_packet(
        now,
        &hex("01010012 01040ffb 0304c227 050651a2411c"),
        &mut rng,
        &mut out,
    );
    // Nak with MS-CHAPv2: C223 81 (RFC 1994 3, RFC 2759).
    assert_eq!(out.pop_front().unwrap().packet, hex("03010009 0305c22381"));
    // Without any method we can run: Reject.
    n.policy_mut().config.auth_methods.clear();
    n.handle_packet(now, &hex("01020008 0304c227"), &mut rng, &mut out);
    assert_eq!(out.pop_front().unwrap().packet, hex("04020008 0304c227"));
}

#[test]
fn server_rejects_windows_extras_and_auth() {
    let (mut n, now, mut out) = started(LcpConfig::server(), 1);
    let mut rng = rng(2);
    n.handle_packet(now, &hex(RRAS_CONFREQ), &mut rng, &mut out);
    let reject = out.pop_front().unwrap().packet;
    assert_eq!(
        reject,
        hex(concat!(
            "0400002a",
            "0304c227",
            "0702",
            "0802",
            "0d0306",
            "1104064e",
            "131701ef8b1435c0165a3c9d0e7b21f4468a13d2c5e097"
        ))
    );
    let second = hex("0101000e 01040ffb 050651a2411c");
    n.handle_packet(now, &second, &mut rng, &mut out);
    assert_eq!(out.pop_front().unwrap().packet[0], 2, "Ack");
    assert_eq!(n.policy().negotiated().peer_mru, 4091);
}

#[test]
fn client_rejects_pppd_asyncmap_and_compression() {
    let (mut n, now, mut out) = started(LcpConfig::client(), 1);
    let mut rng = rng(2);
    n.handle_packet(now, &hex(PPPD_CONFREQ), &mut rng, &mut out);
    assert_eq!(
        out.pop_front().unwrap().packet,
        hex("0401000e 020600000000 0702 0802")
    );
}

#[test]
fn first_requests_by_role() {
    let (n, _, _) = started(LcpConfig::server(), 1);
    let magic = n.policy().magic;
    assert_ne!(magic, 0);
    assert_eq!(
        sent_request(&n),
        [
            LcpOption::AuthProtocol(AuthProtocol::Eap),
            LcpOption::MagicNumber(magic)
        ]
    );
    let mut config = LcpConfig::client();
    config.mru = Some(1400);
    let (n, _, _) = started(config, 1);
    assert_eq!(
        sent_request(&n),
        [
            LcpOption::Mru(1400),
            LcpOption::MagicNumber(n.policy().magic)
        ]
    );
    // The wire form of the client's first request, Magic from the RNG.
    let mut out = Outbox::new();
    let now = base();
    let mut c = lcp(LcpConfig::client(), 1);
    c.open(now, &mut out);
    c.up(now, &mut out);
    let mut expected = hex("0101000a 0506");
    expected.extend_from_slice(&c.policy().magic.to_be_bytes());
    assert_eq!(out[0].packet, expected);
}

#[test]
fn peer_mru_floor_and_magic_rules() {
    let (mut n, now, mut out) = started(LcpConfig::client(), 1);
    let mut rng = rng(2);
    // MRU 296 < 576: Nak with 576 (0x0240).
    n.handle_packet(now, &hex("01010008 01040128"), &mut rng, &mut out);
    assert_eq!(out.pop_front().unwrap().packet, hex("03010008 01040240"));
    // Magic 0: Nak with a non-zero value (RFC 1661 6.4).
    n.handle_packet(now, &hex("0102000a 050600000000"), &mut rng, &mut out);
    let nak = out.pop_front().unwrap().packet;
    assert_eq!(&nak[..6], &hex("0302000a 0506")[..]);
    assert_ne!(&nak[6..], &[0, 0, 0, 0]);
    // Invalid MRU length: Reject as received.
    n.handle_packet(now, &hex("01030009 010500ffff"), &mut rng, &mut out);
    assert_eq!(out.pop_front().unwrap().packet, hex("04030009 010500ffff"));
}

#[test]
fn client_suggests_its_preferred_method_once() {
    // Default client order: MS-CHAPv2, then EAP-MSCHAPv2. A request for
    // EAP is Nak'd once with MS-CHAPv2 (SoftEther then moves on); asked
    // again, the client takes EAP, which it allows.
    let (mut n, now, mut out) = started(LcpConfig::client(), 1);
    let mut rng = rng(2);
    n.handle_packet(now, &hex("01010008 0304c227"), &mut rng, &mut out);
    assert_eq!(out.pop_front().unwrap().packet, hex("03010009 0305c22381"));
    n.handle_packet(now, &hex("01020008 0304c227"), &mut rng, &mut out);
    assert_eq!(out.pop_front().unwrap().packet, hex("02020008 0304c227"));
    // A method it does not allow is Nak'd every time.
    n.handle_packet(now, &hex("01030008 0304c023"), &mut rng, &mut out);
    assert_eq!(out.pop_front().unwrap().packet, hex("03030009 0305c22381"));
}

#[test]
fn server_auth_fallback_on_nak() {
    let (mut n, now, mut out) = started(LcpConfig::server(), 1);
    let mut rng = rng(2);
    let magic = n.policy().magic.to_be_bytes();
    // Nak of EAP suggesting MS-CHAPv2.
    n.handle_packet(now, &hex("03010009 0305c22381"), &mut rng, &mut out);
    let mut expected = hex("0102000f 0305c22381 0506");
    expected.extend_from_slice(&magic);
    assert_eq!(out.pop_front().unwrap().packet, expected);
    // Nak suggesting PAP (not offered) and nothing left: a second round
    // from the first choice (a client that only prefers another method
    // takes ours the second time)...
    while n.poll_event().is_some() {}
    n.handle_packet(now, &hex("03020008 0304c023"), &mut rng, &mut out);
    let mut expected = hex("0103000e 0304c227 0506");
    expected.extend_from_slice(&magic);
    assert_eq!(out.pop_front().unwrap().packet, expected);
    assert_eq!(n.poll_event(), None);
    // ... then MS-CHAPv2 again, and give up when the second round is
    // Nak'd too.
    n.handle_packet(now, &hex("03030008 0304c023"), &mut rng, &mut out);
    let mut expected = hex("0104000f 0305c22381 0506");
    expected.extend_from_slice(&magic);
    assert_eq!(out.pop_front().unwrap().packet, expected);
    assert_eq!(n.poll_event(), None);
    n.handle_packet(now, &hex("03040008 0304c023"), &mut rng, &mut out);
    assert_eq!(
        n.poll_event(),
        Some(LayerEvent::Failed(
            NegotiationFailure::PeerRefusesAuthentication
        ))
    );
    let term = out.pop_front().unwrap().packet;
    assert_eq!(term[0], 5);
    // The Terminate-Request says what would have worked (RFC 1661 5.5).
    assert_eq!(
        &term[4..],
        b"no common authentication method (the server allows eap-mschapv2, mschapv2)"
    );
}

#[test]
fn server_auth_nak_without_suggestion_in_list_moves_on() {
    let mut config = LcpConfig::server();
    config.auth_methods = vec![
        AuthMethod::EapMsChapV2,
        AuthMethod::MsChapV2,
        AuthMethod::Pap,
    ];
    let (mut n, now, mut out) = started(config, 1);
    let mut rng = rng(2);
    // Suggests CHAP-MD5 (not offered): next in our list.
    n.handle_packet(now, &hex("03010009 0305c22305"), &mut rng, &mut out);
    assert_eq!(n.policy().auth_request, Some(AuthMethod::MsChapV2));
    // Suggests EAP again (tried): next untried, PAP.
    n.handle_packet(now, &hex("03020008 0304c227"), &mut rng, &mut out);
    assert_eq!(n.policy().auth_request, Some(AuthMethod::Pap));
}

#[test]
fn server_fails_when_auth_rejected() {
    let (mut n, now, mut out) = started(LcpConfig::server(), 1);
    let mut rng = rng(2);
    while n.poll_event().is_some() {}
    n.handle_packet(now, &hex("04010008 0304c227"), &mut rng, &mut out);
    assert_eq!(
        n.failure(),
        Some(NegotiationFailure::PeerRefusesAuthentication)
    );
    assert_eq!(n.state(), State::Closing);
}

#[test]
fn magic_reject_and_nak() {
    let (mut n, now, mut out) = started(LcpConfig::client(), 1);
    let mut rng = rng(2);
    let magic = n.policy().magic;
    let mut nak = hex("0301000a 0506");
    nak.extend_from_slice(&magic.to_be_bytes());
    n.handle_packet(now, &nak, &mut rng, &mut out);
    let fresh = n.policy().magic;
    assert_ne!(fresh, magic);
    assert_ne!(fresh, 0);
    // SoftEther rejects the Magic-Number (interop README): stop asking.
    let mut reject = hex("0402000a 0506");
    reject.extend_from_slice(&fresh.to_be_bytes());
    out.clear();
    n.handle_packet(now, &reject, &mut rng, &mut out);
    assert_eq!(out.pop_front().unwrap().packet, hex("01030004"));
    // Acked empty request: our magic is 0 (RFC 1661 5.8).
    n.handle_packet(now, &hex("02030004"), &mut rng, &mut out);
    assert_eq!(n.policy().negotiated().local_magic, 0);
}

#[test]
fn identification_is_recorded() {
    let (mut n, now, mut out) = started(LcpConfig::server(), 1);
    let mut rng = rng(2);
    // Windows' Identification "MSRASV5.20" (RFC 1570 1.1).
    n.handle_packet(
        now,
        b"\x0C\x02\x00\x12\x51\xA2\x41\x1CMSRASV5.20",
        &mut rng,
        &mut out,
    );
    assert_eq!(n.policy().peer_identification(), Some(&b"MSRASV5.20"[..]));
    assert!(out.is_empty());
    assert_eq!(n.state(), State::ReqSent);
}

// ------------------------------------------------------------------
// Negotiator pairs.
// ------------------------------------------------------------------

fn pair(server: LcpConfig, client: LcpConfig) -> Wire<LcpPolicy, LcpPolicy> {
    Wire::new(
        LcpPolicy::new(server, &mut rng(11)),
        LcpPolicy::new(client, &mut rng(22)),
    )
}

#[test]
fn server_and_client_agree_on_eap() {
    let mut client = LcpConfig::client();
    client.auth_methods = vec![AuthMethod::EapMsChapV2, AuthMethod::MsChapV2];
    let mut wire = pair(LcpConfig::server(), client);
    wire.start();
    wire.run();
    assert!(wire.a.is_opened() && wire.b.is_opened());
    let (s, c) = (wire.a.policy().negotiated(), wire.b.policy().negotiated());
    assert_eq!(s.auth, Some(AuthMethod::EapMsChapV2));
    assert_eq!(c.auth, Some(AuthMethod::EapMsChapV2));
    assert_eq!(s.local_magic, c.peer_magic);
    assert_eq!(c.local_magic, s.peer_magic);
    assert_ne!(s.local_magic, 0);
    assert_eq!((s.peer_mru, s.local_mru), (DEFAULT_MRU, DEFAULT_MRU));
    assert_eq!(wire.events_a, [LayerEvent::Started, LayerEvent::Up]);
}

#[test]
fn eap_nak_falls_back_to_mschapv2() {
    let mut client = LcpConfig::client();
    client.auth_methods = vec![AuthMethod::MsChapV2];
    client.mru = Some(1400);
    let mut wire = pair(LcpConfig::server(), client);
    wire.start();
    wire.run();
    assert!(wire.a.is_opened() && wire.b.is_opened());
    assert_eq!(
        wire.a.policy().negotiated().auth,
        Some(AuthMethod::MsChapV2)
    );
    assert_eq!(
        wire.b.policy().negotiated().auth,
        Some(AuthMethod::MsChapV2)
    );
    assert_eq!(wire.a.policy().negotiated().peer_mru, 1400);
    assert_eq!(wire.b.policy().negotiated().local_mru, 1400);
    assert_eq!(wire.sent_by(Side::B, Code::CONFIGURE_NAK).len(), 1);
}

#[test]
fn auth_refused_fails_server() {
    let mut client = LcpConfig::client();
    client.auth_methods.clear();
    let mut wire = pair(LcpConfig::server(), client);
    wire.start();
    wire.run();
    assert_eq!(
        wire.a.failure(),
        Some(NegotiationFailure::PeerRefusesAuthentication)
    );
    assert!(wire.events_a.contains(&LayerEvent::Failed(
        NegotiationFailure::PeerRefusesAuthentication
    )));
    assert_eq!(wire.events_a.last(), Some(&LayerEvent::Finished));
    assert_eq!(wire.a.state(), State::Closed);
    // The client never reaches Opened and gives up in the end.
    assert!(!wire.events_b.contains(&LayerEvent::Up));
    assert_eq!(wire.events_b.last(), Some(&LayerEvent::Finished));
    let term = &wire.sent_by(Side::A, Code::TERMINATE_REQUEST)[0];
    assert_eq!(
        &term[4..],
        b"no common authentication method (the server allows eap-mschapv2, mschapv2)"
    );
    // A client with no method rejects the option, and the server gives
    // up on the first Reject.
    assert_eq!(wire.b.policy().refused_auth(), ["eap-mschapv2"]);
}

#[test]
fn disjoint_methods_fail() {
    let mut server = LcpConfig::server();
    server.auth_methods = vec![AuthMethod::EapMsChapV2];
    let mut client = LcpConfig::client();
    client.auth_methods = vec![AuthMethod::Pap];
    let mut wire = pair(server, client);
    wire.start();
    wire.run();
    assert_eq!(
        wire.a.failure(),
        Some(NegotiationFailure::PeerRefusesAuthentication)
    );
    // The client knows it turned the server's method down, and kept the
    // server's reason from its Terminate-Request (RFC 1661 5.5).
    assert_eq!(wire.b.policy().refused_auth(), ["eap-mschapv2"]);
    assert_eq!(
        wire.b.peer_terminate_reason(),
        Some(&b"no common authentication method (the server allows eap-mschapv2)"[..])
    );
}

#[test]
fn a_client_that_only_prefers_another_method_refuses_nothing() {
    let mut client = LcpConfig::client();
    client.auth_methods = vec![AuthMethod::MsChapV2, AuthMethod::EapMsChapV2];
    let mut wire = pair(LcpConfig::server(), client);
    wire.start();
    wire.run();
    assert!(wire.a.is_opened() && wire.b.is_opened());
    assert!(wire.b.policy().refused_auth().is_empty());
    assert_eq!(wire.b.peer_terminate_reason(), None);
}

#[test]
fn magic_collision_resolves() {
    // Both sides draw the same Magic-Number.
    let script = ScriptedRng::cycling(&[0x12, 0x34, 0x56, 0x78]);
    let mut wire = Wire::new(
        LcpPolicy::new(LcpConfig::server(), &mut script.clone()),
        LcpPolicy::new(LcpConfig::client(), &mut script.clone()),
    );
    assert_eq!(wire.a.policy().magic, wire.b.policy().magic);
    wire.start();
    wire.run();
    assert!(wire.a.is_opened() && wire.b.is_opened());
    let (s, c) = (wire.a.policy().negotiated(), wire.b.policy().negotiated());
    assert_ne!(s.local_magic, c.local_magic);
    assert_eq!(s.local_magic, c.peer_magic);
    assert!(!wire.sent_by(Side::A, Code::CONFIGURE_NAK).is_empty());
}

#[test]
fn looped_back_link_is_detected() {
    let now = base();
    let mut n = lcp(LcpConfig::client(), 5);
    let mut rng = rng(6);
    let mut out = Outbox::new();
    n.open(now, &mut out);
    n.up(now, &mut out);
    // Everything we send comes straight back.
    for _ in 0..20 {
        let Some(frame) = out.pop_front() else { break };
        n.handle_packet(now, &frame.packet, &mut rng, &mut out);
    }
    assert_eq!(n.failure(), Some(NegotiationFailure::LoopedBack));
    assert!(!n.is_opened());
    let mut events = Vec::new();
    while let Some(e) = n.poll_event() {
        events.push(e);
    }
    assert!(events.contains(&LayerEvent::Failed(NegotiationFailure::LoopedBack)));
    assert!(!events.contains(&LayerEvent::Up));
}

#[test]
fn lost_packets_are_retransmitted() {
    let t0 = base();
    let mut wire = pair(LcpConfig::server(), LcpConfig::client());
    wire.now = t0;
    let mut lost = 0;
    wire.deliver = Box::new(move |_, _| {
        lost += 1;
        lost > 3
    });
    wire.start();
    wire.run();
    assert!(wire.a.is_opened() && wire.b.is_opened());
    assert!(wire.now >= t0 + Duration::from_secs(3));
}

#[test]
fn max_configure_exhaustion() {
    let config = FsmConfig {
        max_configure: 4,
        ..FsmConfig::default()
    };
    let mut wire = Wire::with_config(
        LcpPolicy::new(LcpConfig::server(), &mut rng(1)),
        LcpPolicy::new(LcpConfig::client(), &mut rng(2)),
        config,
        FsmConfig::default(),
    );
    // Everything is lost: A's Restart counter runs out (RFC 1661 4.6).
    wire.deliver = Box::new(|_, _| false);
    wire.start();
    wire.run();
    assert_eq!(wire.a.failure(), Some(NegotiationFailure::NoResponse));
    assert_eq!(wire.a.state(), State::Stopped);
    assert_eq!(wire.sent_by(Side::A, Code::CONFIGURE_REQUEST).len(), 4);
}

#[test]
fn terminate_both_ways() {
    for closer in [Side::A, Side::B] {
        let mut wire = pair(LcpConfig::server(), LcpConfig::client());
        wire.start();
        wire.run();
        match closer {
            Side::A => wire.with_a(|n, now, out| n.close(now, "admin", out)),
            Side::B => wire.with_b(|n, now, out| n.close(now, "user", out)),
        }
        wire.run();
        assert!(
            wire.events_a
                .ends_with(&[LayerEvent::Down, LayerEvent::Finished])
        );
        assert!(
            wire.events_b
                .ends_with(&[LayerEvent::Down, LayerEvent::Finished])
        );
        assert_eq!(wire.sent_by(closer, Code::TERMINATE_REQUEST).len(), 1);
        assert_eq!(wire.sent_by(closer.other(), Code::TERMINATE_ACK).len(), 1);
    }
}

#[test]
fn echo_request_reply_and_loopback_warning() {
    let mut wire = pair(LcpConfig::server(), LcpConfig::client());
    // Before Opened no echo goes out.
    wire.with_a(|n, _, out| assert_eq!(n.send_echo_request(b"x", out), None));
    wire.start();
    wire.run();
    wire.with_a(|n, _, out| {
        assert!(n.send_echo_request(b"ping", out).is_some());
    });
    wire.settle();
    let request = wire.sent_by(Side::A, Code::ECHO_REQUEST).pop().unwrap();
    let reply = wire.sent_by(Side::B, Code::ECHO_REPLY).pop().unwrap();
    let (s, c) = (wire.a.policy().negotiated(), wire.b.policy().negotiated());
    assert_eq!(&request[4..8], &s.local_magic.to_be_bytes());
    // RFC 1661 5.8: same Identifier and data, the replier's magic.
    assert_eq!(reply[1], request[1]);
    assert_eq!(&reply[2..4], &[0x00, 0x0C]);
    assert_eq!(&reply[4..8], &c.local_magic.to_be_bytes());
    assert_eq!(&reply[8..], b"ping");
    // SoftEther's Echo-Request (magic 0, "Aho Baka Manuke\0", interop
    // README) is answered too.
    let mut out = Outbox::new();
    let now = wire.now;
    let echo = b"\x09\x05\x00\x18\x00\x00\x00\x00Aho Baka Manuke\0";
    wire.b.handle_packet(now, echo, &mut rng(3), &mut out);
    let reply = out.pop_front().unwrap().packet;
    assert_eq!(&reply[..2], &[0x0A, 0x05]);
    assert_eq!(&reply[8..], b"Aho Baka Manuke\0");
    // An Echo-Request carrying our own magic: loopback warning.
    let mut looped = vec![0x09, 0x06, 0x00, 0x08];
    looped.extend_from_slice(&c.local_magic.to_be_bytes());
    while wire.b.poll_event().is_some() {}
    wire.b.handle_packet(now, &looped, &mut rng(3), &mut out);
    assert_eq!(wire.b.poll_event(), Some(LayerEvent::LoopbackSuspected));
    // Echo-Reply and Discard-Request are not answered.
    out.clear();
    wire.b.handle_packet(
        now,
        &[0x0A, 0x07, 0x00, 0x08, 1, 2, 3, 4],
        &mut rng(3),
        &mut out,
    );
    wire.b.handle_packet(
        now,
        &[0x0B, 0x08, 0x00, 0x08, 1, 2, 3, 4],
        &mut rng(3),
        &mut out,
    );
    assert!(out.is_empty());
    assert!(wire.b.is_opened());
}

#[test]
fn echo_before_opened_is_ignored() {
    let (mut n, now, mut out) = started(LcpConfig::client(), 1);
    n.handle_packet(
        now,
        &[0x09, 0x01, 0x00, 0x08, 0, 0, 0, 0],
        &mut rng(1),
        &mut out,
    );
    assert!(out.is_empty(), "RFC 1661 5.8: only in Opened");
}

#[test]
fn protocol_reject_built_and_received() {
    let mut wire = pair(LcpConfig::server(), LcpConfig::client());
    let mut out = Outbox::new();
    assert!(
        !wire
            .a
            .send_protocol_reject(Protocol::CCP, &[1, 2], &mut out)
    );
    assert!(out.is_empty(), "only in Opened");
    wire.start();
    wire.run();
    // A CCP Configure-Request offering MPPE (RFC 3078 option 18).
    let ccp = hex("0101000a120601000060");
    wire.with_a(|n, _, out| assert!(n.send_protocol_reject(Protocol::CCP, &ccp, out)));
    let sent = wire.sent_by(Side::A, Code::PROTOCOL_REJECT).pop().unwrap();
    let mut expected = vec![0x08, sent[1], 0x00, 0x10, 0x80, 0xFD];
    expected.extend_from_slice(&ccp);
    assert_eq!(sent, expected);
    let id = sent[1];
    // The next one gets a fresh Identifier.
    wire.with_a(|n, _, out| assert!(n.send_protocol_reject(Protocol(0x8207), &[], out)));
    assert_ne!(wire.sent_by(Side::A, Code::PROTOCOL_REJECT)[1][1], id);
    wire.events_b.clear();
    wire.settle();
    assert_eq!(
        wire.events_b,
        [
            LayerEvent::ProtocolRejected(Protocol::CCP),
            LayerEvent::ProtocolRejected(Protocol(0x8207))
        ]
    );
    assert!(wire.b.is_opened(), "RXJ+ keeps LCP up");
    // A Protocol-Reject of LCP itself is RXJ-: tld,irc,str/5.
    wire.with_a(|n, _, out| assert!(n.send_protocol_reject(Protocol::LCP, &[], out)));
    wire.run();
    assert_eq!(wire.b.failure(), Some(NegotiationFailure::ProtocolRejected));
    assert!(!wire.b.is_opened());
}

#[test]
fn protocol_reject_is_cut_to_peer_mru() {
    let mut client = LcpConfig::client();
    client.mru = Some(600);
    let mut wire = pair(LcpConfig::server(), client);
    wire.start();
    wire.run();
    assert_eq!(wire.a.policy().negotiated().peer_mru, 600);
    let big = vec![0x55; 2000];
    wire.with_a(|n, _, out| assert!(n.send_protocol_reject(Protocol::IPX, &big, out)));
    let sent = wire.sent_by(Side::A, Code::PROTOCOL_REJECT).pop().unwrap();
    assert_eq!(sent.len(), 600);
    assert_eq!(&sent[2..4], &600u16.to_be_bytes());
}

#[test]
fn configure_reject_of_a_huge_request_fits_the_peer_mru() {
    // A request of sixteen 255-byte unknown options (4084 bytes, the
    // most an SSTP data packet carries): the Reject copies peer data,
    // so it is cut to the peer's MRU (RFC 1661 6.1; 1500 before LCP
    // has established another) at an option boundary, and lists only
    // options of the request, in order (5.4).
    let (mut n, now, mut out) = started(LcpConfig::server(), 1);
    let mut request = vec![0x01, 0x09, 0, 0];
    for i in 0..16u8 {
        request.extend_from_slice(&[0x99, 255]);
        request.extend(std::iter::repeat_n(i, 253));
    }
    let l = request.len() as u16;
    request[2..4].copy_from_slice(&l.to_be_bytes());
    assert_eq!(request.len(), 4084);
    n.handle_packet(now, &request, &mut rng(2), &mut out);
    let reject = out.pop_front().unwrap().packet;
    assert_eq!(&reject[..2], &[0x04, 0x09], "Configure-Reject, same id");
    // Five options (4 + 5 * 255 = 1279); a sixth would pass 1500.
    assert_eq!(reject.len(), 1279);
    assert_eq!(&reject[2..4], &1279u16.to_be_bytes());
    assert_eq!(&reject[4..], &request[4..1279]);
}

#[test]
fn code_reject_of_unknown_lcp_code() {
    let (mut n, now, mut out) = started(LcpConfig::client(), 1);
    // Code 14 is not an LCP code (RFC 1661 5.6).
    n.handle_packet(
        now,
        &[0x0E, 0x07, 0x00, 0x06, 0xAB, 0xCD],
        &mut rng(1),
        &mut out,
    );
    let rej = out.pop_front().unwrap().packet;
    assert_eq!(&rej[..1], &[0x07]);
    assert_eq!(&rej[2..], &[0x00, 0x0A, 0x0E, 0x07, 0x00, 0x06, 0xAB, 0xCD]);
}

// ------------------------------------------------------------------
// Keepalive.
// ------------------------------------------------------------------

#[test]
fn keepalive_echoes_when_idle_and_resets_on_traffic() {
    let mut wire = pair(LcpConfig::server(), LcpConfig::client());
    wire.start();
    wire.run();
    let t0 = wire.now;
    let mut ka = LcpKeepalive::new(KeepaliveConfig::default());
    assert_eq!(ka.poll_timeout(), None);
    ka.start(t0);
    assert_eq!(ka.poll_timeout(), Some(t0 + DEFAULT_ECHO_INTERVAL));
    // Traffic at +20 s postpones the first echo to +50 s.
    ka.frame_received(t0 + Duration::from_secs(20));
    wire.now = t0 + DEFAULT_ECHO_INTERVAL;
    wire.with_a(|n, now, out| assert_eq!(ka.handle_timeout(now, n, out), None));
    assert!(wire.sent_by(Side::A, Code::ECHO_REQUEST).is_empty());
    assert_eq!(ka.poll_timeout(), Some(t0 + Duration::from_secs(50)));
    // Idle: echo at +50 s, answered.
    wire.now = t0 + Duration::from_secs(50);
    wire.with_a(|n, now, out| assert_eq!(ka.handle_timeout(now, n, out), None));
    assert_eq!(wire.sent_by(Side::A, Code::ECHO_REQUEST).len(), 1);
    assert_eq!(ka.missed(), 1);
    wire.settle();
    assert_eq!(wire.sent_by(Side::B, Code::ECHO_REPLY).len(), 1);
    ka.frame_received(wire.now);
    assert_eq!(ka.missed(), 0);
    // Early calls do nothing.
    wire.with_a(|n, now, out| assert_eq!(ka.handle_timeout(now, n, out), None));
    assert_eq!(wire.sent_by(Side::A, Code::ECHO_REQUEST).len(), 1);
}

#[test]
fn keepalive_detects_dead_peer() {
    let mut wire = pair(LcpConfig::server(), LcpConfig::client());
    wire.start();
    wire.run();
    wire.deliver = Box::new(|_, _| false);
    let t0 = wire.now;
    let mut ka = LcpKeepalive::new(KeepaliveConfig::default());
    ka.start(t0);
    let mut verdict = None;
    for _ in 0..10 {
        let Some(at) = ka.poll_timeout() else { break };
        wire.now = at;
        wire.with_a(|n, now, out| verdict = ka.handle_timeout(now, n, out));
        if verdict.is_some() {
            break;
        }
    }
    assert_eq!(verdict, Some(KeepaliveEvent::PeerDead { missed: 4 }));
    assert_eq!(wire.sent_by(Side::A, Code::ECHO_REQUEST).len(), 4);
    assert_eq!(wire.now, t0 + DEFAULT_ECHO_INTERVAL * 5);
    assert_eq!(ka.poll_timeout(), None);
}

#[test]
fn keepalive_disabled_or_not_opened() {
    let mut ka = LcpKeepalive::new(KeepaliveConfig {
        interval: None,
        max_missed: 4,
    });
    let now = base();
    ka.start(now);
    assert_eq!(ka.poll_timeout(), None);
    let mut ka = LcpKeepalive::new(KeepaliveConfig::default());
    ka.start(now);
    let mut n = lcp(LcpConfig::client(), 1);
    let mut out = Outbox::new();
    let later = now + DEFAULT_ECHO_INTERVAL;
    assert_eq!(ka.handle_timeout(later, &mut n, &mut out), None);
    assert!(out.is_empty());
    assert_eq!(ka.poll_timeout(), None, "stopped: LCP is not Opened");
}

fn methods() -> impl Strategy<Value = Vec<AuthMethod>> {
    proptest::sample::subsequence(
        vec![
            AuthMethod::EapMsChapV2,
            AuthMethod::MsChapV2,
            AuthMethod::ChapMd5,
            AuthMethod::Pap,
        ],
        0..=4,
    )
    .prop_shuffle()
}

proptest! {
    /// A server and a client over a lossy wire either both reach Opened
    /// with a method both allow, or end with a recorded failure. One
    /// side may stay Opened while the other gave up (NoResponse) when
    /// every Ack to the other's requests was lost: RFC 1661 leaves that
    /// to the giving-up side's tlf (link teardown) or the keepalive.
    #[test]
    fn pairs_settle_under_loss(
        loss in proptest::collection::vec(any::<bool>(), 0..30),
        server_methods in methods(),
        client_methods in methods(),
    ) {
        let lossless = loss.iter().all(|lost| !lost);
        let mut server = LcpConfig::server();
        server.auth_methods = server_methods.clone();
        let mut client = LcpConfig::client();
        client.auth_methods = client_methods.clone();
        let mut wire = pair(server, client);
        let mut sent = 0usize;
        wire.deliver = Box::new(move |_, _| {
            sent += 1;
            !loss.get(sent - 1).copied().unwrap_or(false)
        });
        wire.start();
        wire.run();
        let (a, b) = (&wire.a, &wire.b);
        if a.is_opened() && b.is_opened() {
            let auth = a.policy().negotiated().auth;
            prop_assert_eq!(auth, b.policy().negotiated().auth);
            match auth {
                Some(m) => {
                    prop_assert!(server_methods.contains(&m));
                    prop_assert!(client_methods.contains(&m));
                }
                None => prop_assert!(server_methods.is_empty()),
            }
        } else if a.is_opened() || b.is_opened() {
            let gave_up = if a.is_opened() { b } else { a };
            prop_assert_eq!(gave_up.failure(), Some(NegotiationFailure::NoResponse));
            prop_assert_eq!(gave_up.state(), State::Stopped);
        } else {
            prop_assert!(a.failure().is_some() || b.failure().is_some());
        }
        let shared = server_methods.iter().any(|m| client_methods.contains(m));
        if lossless && (server_methods.is_empty() || shared) {
            prop_assert!(a.is_opened() && b.is_opened(), "{:?}", a.failure());
        }
        if !server_methods.is_empty() && !shared {
            prop_assert!(!a.is_opened());
            prop_assert!(
                a.failure() == Some(NegotiationFailure::PeerRefusesAuthentication)
                    || a.failure() == Some(NegotiationFailure::NoResponse)
            );
        }
    }

    /// Arbitrary bytes and arbitrary LCP-shaped packets into LCP
    /// negotiators of both roles never panic, and each call queues a
    /// bounded number of packets no longer than the peer's MRU or the
    /// echoed request.
    #[test]
    fn arbitrary_packets_never_panic(
        server in any::<bool>(),
        packets in proptest::collection::vec(
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..64),
                (1u8..=14, any::<u8>(), proptest::collection::vec(
                    (prop_oneof![1u8..=20, any::<u8>()], proptest::collection::vec(any::<u8>(), 0..8)),
                    0..8,
                ))
                    .prop_map(|(code, id, opts)| {
                        let mut data = Vec::new();
                        for (kind, body) in opts {
                            data.push(kind);
                            data.push(u8::try_from(body.len() + 2).unwrap());
                            data.extend_from_slice(&body);
                        }
                        let mut p = vec![code, id];
                        p.extend_from_slice(&u16::try_from(data.len() + 4).unwrap().to_be_bytes());
                        p.extend_from_slice(&data);
                        p
                    }),
            ],
            0..60,
        ),
        ticks in proptest::collection::vec(0u64..5000, 0..60),
    ) {
        let config = if server { LcpConfig::server() } else { LcpConfig::client() };
        let mut now = base();
        let mut n = lcp(config, 9);
        let mut ka = LcpKeepalive::new(KeepaliveConfig::default());
        let mut out = Outbox::new();
        let mut rng = rng(10);
        n.open(now, &mut out);
        n.up(now, &mut out);
        for (i, p) in packets.iter().enumerate() {
            out.clear();
            n.handle_packet(now, p, &mut rng, &mut out);
            ka.frame_received(now);
            if let Some(ms) = ticks.get(i) {
                now += Duration::from_millis(*ms * 10);
                n.handle_timeout(now, &mut out);
                let _ = ka.handle_timeout(now, &mut n, &mut out);
            }
            prop_assert!(out.len() <= 5);
            let limit = usize::from(n.policy().negotiated().peer_mru).max(p.len() + 8);
            for f in &out {
                prop_assert!(f.packet.len() <= limit);
                prop_assert!(CpPacket::parse(&f.packet, ControlProtocol::Lcp).is_ok());
            }
            while let Some(e) = n.poll_event() {
                match e {
                    LayerEvent::Up => ka.start(now),
                    LayerEvent::Down => ka.stop(),
                    _ => {}
                }
            }
        }
    }
}
