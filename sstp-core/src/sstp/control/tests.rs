//! Cells of the MS-SSTP control machines that matter, each test naming its
//! section. A client and a server machine are wired back to back by parsing
//! what one writes and handing it to the other.

use super::*;
use crate::crypto::binding::BindingError;
use crate::deframer::Deframer;
use crate::testing::base;

const NONCE: [u8; 32] = [0x5a; 32];

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn cert() -> CertHashes {
    CertHashes::from_der(b"not really a certificate, but hashed like one")
}

fn client() -> Control {
    Control::new_client(SstpTimers::default(), HashBitmask::SHA1_AND_SHA256, cert())
}

fn server(now: Instant, offered: HashBitmask) -> Control {
    Control::new_server(now, SstpTimers::default(), offered, cert().into(), NONCE)
}

/// Every whole packet in `tx`, drained.
fn packets(tx: &mut Vec<u8>) -> Vec<Vec<u8>> {
    let mut deframer = Deframer::new();
    let mut input = &tx[..];
    let mut out = Vec::new();
    while let Some(p) = deframer.next_packet(&mut input) {
        out.push(p.expect("we frame correctly").to_vec());
    }
    assert_eq!(deframer.buffered_len(), 0, "a partial packet was written");
    tx.clear();
    out
}

fn messages(tx: &mut Vec<u8>) -> Vec<Message> {
    packets(tx)
        .iter()
        .map(|p| Message::parse(p).expect("we emit valid messages"))
        .collect()
}

/// Delivers everything in `tx` to `to`.
fn deliver(now: Instant, tx: &mut Vec<u8>, to: &mut Control, to_tx: &mut Vec<u8>) {
    for raw in packets(tx) {
        to.on_packet_received(now);
        match Message::parse(&raw) {
            Ok(m) => to.on_message(now, m, &raw, to_tx),
            Err(e) => to.on_invalid_message(now, &e, to_tx),
        }
    }
}

fn events(c: &mut Control) -> Vec<ControlEvent> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

fn hlak() -> Hlak {
    Hlak::from_bytes([7; 32])
}

/// Runs the exchange up to both sides connected.
fn connected_pair(now: Instant) -> (Control, Control) {
    let (mut c, mut s) = (client(), server(now, HashBitmask::SHA1_AND_SHA256));
    let (mut ctx, mut stx) = (Vec::new(), Vec::new());
    c.start_client(now, &mut ctx);
    deliver(now, &mut ctx, &mut s, &mut stx);
    deliver(now, &mut stx, &mut c, &mut ctx);
    s.set_hlak(now, hlak(), &mut stx);
    c.client_authenticated(now, &hlak(), &mut ctx);
    deliver(now, &mut ctx, &mut s, &mut stx);
    assert!(stx.is_empty());
    events(&mut c);
    events(&mut s);
    (c, s)
}

#[test]
fn client_sends_the_spec_call_connect_request() {
    // MS-SSTP 4.7: the Call Connect Request, byte for byte.
    let mut c = client();
    let mut tx = Vec::new();
    c.start_client(base(), &mut tx);
    assert_eq!(
        tx,
        [
            0x10, 0x01, 0x00, 0x0E, 0x00, 0x01, 0x00, 0x01, 0x00, 0x01, 0x00, 0x06, 0x00, 0x01
        ]
    );
    assert_eq!(c.state(), ControlState::ClientConnectRequestSent);
    assert_eq!(c.poll_timeout(), Some(t0_plus(&c, 60)));
}

fn t0_plus(c: &Control, _s: u64) -> Instant {
    // The negotiation deadline is the only timer armed at this point.
    c.poll_timeout().expect("armed")
}

#[test]
fn full_establishment_both_roles_3_2_and_3_3() {
    let now = base();
    let (mut c, mut s) = (client(), server(now, HashBitmask::SHA1_AND_SHA256));
    let (mut ctx, mut stx) = (Vec::new(), Vec::new());
    assert!(!s.passes_ppp_control());

    c.start_client(now, &mut ctx);
    deliver(now, &mut ctx, &mut s, &mut stx);
    // 3.3.5.2.2: Ack with our nonce and bitmask; Lower Link Up.
    let ack = messages(&mut stx.clone());
    assert_eq!(ack.len(), 1);
    assert!(matches!(
        ack[0],
        Message::CallConnectAck { request } if request.nonce == NONCE
            && request.hash_bitmask == HashBitmask::SHA1_AND_SHA256
    ));
    assert_eq!(events(&mut s), [ControlEvent::LowerLayerUp]);
    assert_eq!(s.state(), ControlState::ServerCallConnectedPending);
    assert!(s.passes_ppp_control() && !s.passes_ppp_data());

    deliver(now, &mut stx, &mut c, &mut ctx);
    // 3.2.5.3.2: SHA256 chosen when both are offered; PPP starts.
    assert_eq!(events(&mut c), [ControlEvent::LowerLayerUp]);
    assert_eq!(c.chosen_hash(), Some(HashProtocol::Sha256));
    assert!(c.passes_ppp_control() && !c.passes_ppp_data());

    // The Call Connected arrives before the server's verdict: held, not rejected.
    c.client_authenticated(now, &hlak(), &mut ctx);
    assert_eq!(
        events(&mut c),
        [ControlEvent::Connected {
            hash: HashProtocol::Sha256
        }]
    );
    assert!(c.passes_ppp_data());
    deliver(now, &mut ctx, &mut s, &mut stx);
    assert!(events(&mut s).is_empty());
    assert!(!s.passes_ppp_data(), "no IP before the binding is verified");

    s.set_hlak(now, hlak(), &mut stx);
    assert!(stx.is_empty(), "no abort");
    assert_eq!(
        events(&mut s),
        [ControlEvent::Connected {
            hash: HashProtocol::Sha256
        }]
    );
    assert_eq!(s.state(), ControlState::ServerCallConnected);
    assert!(s.passes_ppp_data());
}

#[test]
fn sha1_binding_when_only_sha1_is_offered() {
    let now = base();
    let (mut c, mut s) = (client(), server(now, HashBitmask::SHA1));
    let (mut ctx, mut stx) = (Vec::new(), Vec::new());
    c.start_client(now, &mut ctx);
    deliver(now, &mut ctx, &mut s, &mut stx);
    deliver(now, &mut stx, &mut c, &mut ctx);
    s.set_hlak(now, Hlak::zero(), &mut stx);
    c.client_authenticated(now, &Hlak::zero(), &mut ctx);
    let raw = packets(&mut ctx.clone()).remove(0);
    assert_eq!(raw.len(), 112);
    assert_eq!(raw[15], 0x01, "SHA1 chosen");
    assert!(raw[68..80].iter().all(|&b| b == 0), "cert hash zero-padded");
    assert!(raw[100..112].iter().all(|&b| b == 0), "MAC zero-padded");
    deliver(now, &mut ctx, &mut s, &mut stx);
    assert_eq!(
        events(&mut s).last(),
        Some(&ControlEvent::Connected {
            hash: HashProtocol::Sha1
        })
    );
}

fn binding_failure(tamper: impl FnOnce(&mut Control, &mut Vec<u8>)) -> (Control, Vec<Message>) {
    let now = base();
    let (mut c, mut s) = (client(), server(now, HashBitmask::SHA1_AND_SHA256));
    let (mut ctx, mut stx) = (Vec::new(), Vec::new());
    c.start_client(now, &mut ctx);
    deliver(now, &mut ctx, &mut s, &mut stx);
    deliver(now, &mut stx, &mut c, &mut ctx);
    s.set_hlak(now, hlak(), &mut stx);
    tamper(&mut c, &mut ctx);
    deliver(now, &mut ctx, &mut s, &mut stx);
    let sent = messages(&mut stx);
    (s, sent)
}

fn assert_binding_abort(s: &mut Control, sent: &[Message], expected: BindingError) {
    // 3.3.5.2.3: Abort with (CRYPTO_BINDING, VALUE_NOT_SUPPORTED), no data ever.
    assert_eq!(sent.len(), 1);
    let Message::CallAbort { status: Some(info) } = sent[0] else {
        panic!("expected an abort, got {sent:?}");
    };
    assert_eq!(info.attrib_id, AttributeId::CRYPTO_BINDING);
    assert_eq!(info.status, Status::VALUE_NOT_SUPPORTED);
    assert_eq!(s.state(), ControlState::CallAbortPending);
    assert!(!s.passes_ppp_data() && !s.passes_ppp_control());
    let later = base() + secs(3);
    let mut tx = Vec::new();
    s.handle_timeout(later, &mut tx);
    assert!(tx.is_empty());
    assert_eq!(
        events(s),
        [ControlEvent::Closed(CloseReason::BindingFailed(expected))]
    );
}

#[test]
fn wrong_mac_aborts_3_3_5_2_3() {
    let (mut s, sent) = binding_failure(|c, tx| {
        c.client_authenticated(base(), &Hlak::zero(), tx); // wrong keys
    });
    events(&mut s);
    assert_binding_abort(&mut s, &sent, BindingError::MacMismatch);
}

#[test]
fn wrong_certificate_hash_aborts_3_3_5_2_3() {
    let (mut s, sent) = binding_failure(|c, tx| {
        // A TLS man in the middle: the client saw another certificate.
        if let Binding::Client { cert_hashes, .. } = &mut c.binding {
            *cert_hashes = CertHashes::from_der(b"the attacker's certificate");
        }
        c.client_authenticated(base(), &hlak(), tx);
    });
    events(&mut s);
    assert_binding_abort(&mut s, &sent, BindingError::CertHashMismatch);
}

#[test]
fn wrong_nonce_aborts_3_3_5_2_3() {
    let (mut s, sent) = binding_failure(|c, tx| {
        if let Binding::Client {
            nonce: Some((n, _)),
            ..
        } = &mut c.binding
        {
            n[0] ^= 1;
        }
        c.client_authenticated(base(), &hlak(), tx);
    });
    events(&mut s);
    assert_binding_abort(&mut s, &sent, BindingError::NonceMismatch);
}

#[test]
fn client_aborts_when_no_common_hash_3_2_5_3_2() {
    let now = base();
    let mut c = Control::new_client(SstpTimers::default(), HashBitmask::SHA1, cert());
    let mut s = server(now, HashBitmask::SHA256);
    let (mut ctx, mut stx) = (Vec::new(), Vec::new());
    c.start_client(now, &mut ctx);
    deliver(now, &mut ctx, &mut s, &mut stx);
    deliver(now, &mut stx, &mut c, &mut ctx);
    assert!(matches!(
        messages(&mut ctx)[..],
        [Message::CallAbort { .. }]
    ));
    assert_eq!(c.state(), ControlState::CallAbortPending);
    assert!(events(&mut c).is_empty(), "no Lower Link Up");
}

#[test]
fn client_retries_on_nak_then_aborts_3_2_5_3_3() {
    let now = base();
    let mut c = client();
    let mut tx = Vec::new();
    c.start_client(now, &mut tx);
    tx.clear();
    let nak = Message::CallConnectNak {
        status_infos: vec![StatusInfo::new(
            AttributeId::ENCAPSULATED_PROTOCOL_ID,
            Status::VALUE_NOT_SUPPORTED,
        )],
    };
    let mut raw = Vec::new();
    nak.emit(&mut raw);
    for attempt in 1..=MAX_CONNECT_RETRIES {
        c.on_message(now + secs(attempt.into()), nak.clone(), &raw, &mut tx);
        assert!(
            matches!(messages(&mut tx)[..], [Message::CallConnectRequest { .. }]),
            "retry {attempt}"
        );
        // The negotiation timer restarts with each retry.
        assert_eq!(
            c.poll_timeout(),
            Some(now + secs(attempt.into()) + secs(60))
        );
    }
    c.on_message(now + secs(9), nak, &raw, &mut tx);
    let sent = messages(&mut tx);
    assert!(matches!(
        sent[..],
        [Message::CallAbort {
            status: Some(StatusInfo {
                status: Status::RETRY_COUNT_EXCEEDED,
                ..
            })
        }]
    ));
}

#[test]
fn server_naks_a_non_ppp_request_then_aborts_3_3_5_2_2() {
    let now = base();
    let mut s = server(now, HashBitmask::SHA256);
    let mut tx = Vec::new();
    let request = Message::CallConnectRequest {
        protocol_id: ProtocolId(0x0002),
    };
    let mut raw = Vec::new();
    request.emit(&mut raw);
    for _ in 0..MAX_CONNECT_RETRIES {
        s.on_message(now, request.clone(), &raw, &mut tx);
        let sent = messages(&mut tx);
        let [Message::CallConnectNak { status_infos }] = &sent[..] else {
            panic!("expected a NAK, got {sent:?}");
        };
        assert_eq!(
            status_infos[0].attrib_id,
            AttributeId::ENCAPSULATED_PROTOCOL_ID
        );
        assert_eq!(status_infos[0].status, Status::VALUE_NOT_SUPPORTED);
        assert_eq!(status_infos[0].value(), [0x00, 0x02]);
        assert_eq!(s.state(), ControlState::ServerConnectRequestPending);
    }
    s.on_message(now, request, &raw, &mut tx);
    assert!(matches!(
        messages(&mut tx)[..],
        [Message::CallAbort {
            status: Some(StatusInfo {
                status: Status::RETRY_COUNT_EXCEEDED,
                ..
            })
        }]
    ));
}

#[test]
fn server_naks_a_malformed_request_with_every_problem() {
    let now = base();
    let mut s = server(now, HashBitmask::SHA256);
    let mut tx = Vec::new();
    // A Call Connect Request without its Encapsulated Protocol ID.
    let raw = [0x10, 0x01, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00];
    let error = Message::parse(&raw).expect_err("missing attribute");
    s.on_invalid_message(now, &error, &mut tx);
    let sent = messages(&mut tx);
    let [Message::CallConnectNak { status_infos }] = &sent[..] else {
        panic!("expected a NAK, got {sent:?}");
    };
    assert_eq!(status_infos[0].status, Status::REQUIRED_ATTRIBUTE_MISSING);
}

#[test]
fn server_negotiation_timer_aborts_3_3_2_1() {
    let now = base();
    let mut s = server(now, HashBitmask::SHA256);
    let mut tx = Vec::new();
    assert_eq!(s.poll_timeout(), Some(now + secs(60)));
    s.handle_timeout(now + secs(59), &mut tx);
    assert!(tx.is_empty(), "early timeouts do nothing");
    s.handle_timeout(now + secs(60), &mut tx);
    assert!(matches!(
        messages(&mut tx)[..],
        [Message::CallAbort {
            status: Some(StatusInfo {
                status: Status::NEGOTIATION_TIMEOUT,
                ..
            })
        }]
    ));
    assert_eq!(s.poll_timeout(), Some(now + secs(63)), "abort timer 1");
    s.handle_timeout(now + secs(63), &mut tx);
    assert_eq!(
        events(&mut s),
        [ControlEvent::Closed(CloseReason::Timeout(
            Timer::SstpNegotiation
        ))]
    );
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn hello_timer_echoes_then_kills_silently_3_1_2_3() {
    let now = base();
    let (mut c, _s) = connected_pair(now);
    let mut tx = Vec::new();
    assert_eq!(c.poll_timeout(), Some(now + secs(60)));
    c.handle_timeout(now + secs(60), &mut tx);
    assert_eq!(messages(&mut tx), [Message::EchoRequest]);
    // Any packet restarts the timer (an Echo Response, or data).
    c.on_packet_received(now + secs(70));
    assert_eq!(c.poll_timeout(), Some(now + secs(130)));
    c.handle_timeout(now + secs(130), &mut tx);
    assert_eq!(messages(&mut tx), [Message::EchoRequest]);
    // Nothing within the next interval: abort without a Call Abort.
    c.handle_timeout(now + secs(190), &mut tx);
    assert!(tx.is_empty());
    assert_eq!(
        events(&mut c),
        [ControlEvent::Closed(CloseReason::Timeout(Timer::Hello))]
    );
}

#[test]
fn echo_request_is_answered_even_while_establishing() {
    // SoftEther echoes every few seconds from the start (module docs).
    let now = base();
    let mut c = client();
    let mut tx = Vec::new();
    c.start_client(now, &mut tx);
    tx.clear();
    let mut raw = Vec::new();
    Message::EchoRequest.emit(&mut raw);
    c.on_message(now, Message::EchoRequest, &raw, &mut tx);
    assert_eq!(messages(&mut tx), [Message::EchoResponse]);
    assert_eq!(c.state(), ControlState::ClientConnectRequestSent);
}

#[test]
fn graceful_disconnect_both_ways_3_1_1_1_1() {
    let now = base();
    let (mut c, mut s) = connected_pair(now);
    let (mut ctx, mut stx) = (Vec::new(), Vec::new());
    c.disconnect(now, CloseReason::LocalClose, &mut ctx);
    assert_eq!(c.state(), ControlState::CallDisconnectAckPending);
    assert!(!c.passes_ppp_data());
    deliver(now, &mut ctx, &mut s, &mut stx);
    assert_eq!(s.state(), ControlState::CallDisconnectTimeoutPending);
    deliver(now, &mut stx, &mut c, &mut ctx);
    assert_eq!(
        events(&mut c),
        [ControlEvent::Closed(CloseReason::LocalClose)]
    );
    assert!(ctx.is_empty());
    // The far end cleans up after TIMER_VAL_DISCONNECT_STATE_TIMER_2.
    assert_eq!(s.poll_timeout(), Some(now + secs(1)));
    s.handle_timeout(now + secs(1), &mut stx);
    assert_eq!(
        events(&mut s),
        [ControlEvent::Closed(CloseReason::PeerDisconnected)]
    );
}

#[test]
fn disconnect_without_ack_times_out_3_1_6_2() {
    let now = base();
    let (_c, mut s) = connected_pair(now);
    let mut tx = Vec::new();
    s.disconnect(now, CloseReason::LocalClose, &mut tx);
    assert!(matches!(
        messages(&mut tx)[..],
        [Message::CallDisconnect { .. }]
    ));
    assert_eq!(s.poll_timeout(), Some(now + secs(5)));
    s.handle_timeout(now + secs(5), &mut tx);
    assert_eq!(
        events(&mut s),
        [ControlEvent::Closed(CloseReason::LocalClose)]
    );
}

#[test]
fn crossed_disconnects_both_complete() {
    let now = base();
    let (mut c, mut s) = connected_pair(now);
    let (mut ctx, mut stx) = (Vec::new(), Vec::new());
    c.disconnect(now, CloseReason::LocalClose, &mut ctx);
    s.disconnect(now, CloseReason::LocalClose, &mut stx);
    deliver(now, &mut ctx, &mut s, &mut stx);
    deliver(now, &mut stx, &mut c, &mut ctx);
    // Each acknowledged the other's disconnect (3.2.5.3.5 second branch).
    for side in [&mut c, &mut s] {
        assert_eq!(side.state(), ControlState::CallDisconnectTimeoutPending);
    }
}

#[test]
fn abort_collision_and_peer_abort_3_1_1_1_2() {
    let now = base();
    let (mut c, mut s) = connected_pair(now);
    let (mut ctx, mut stx) = (Vec::new(), Vec::new());
    let info = StatusInfo::new(AttributeId::NO_ERROR, Status::INVALID_FRAME_RECEIVED);
    c.abort(
        now,
        info,
        CloseReason::PeerMalformed(Malformed::UnknownMessage(MessageType(0x77))),
        &mut ctx,
    );
    deliver(now, &mut ctx, &mut s, &mut stx);
    // The far end answers with its own abort and waits out timer 2.
    assert_eq!(s.state(), ControlState::CallAbortTimeoutPending);
    assert_eq!(s.poll_timeout(), Some(now + secs(1)));
    deliver(now, &mut stx, &mut c, &mut ctx);
    assert_eq!(c.state(), ControlState::CallAbortTimeoutPending);
    assert_eq!(
        c.poll_timeout(),
        Some(now + secs(1)),
        "timer 1 replaced by timer 2"
    );
    c.handle_timeout(now + secs(1), &mut ctx);
    s.handle_timeout(now + secs(1), &mut stx);
    assert!(ctx.is_empty() && stx.is_empty());
    assert_eq!(
        events(&mut c),
        [ControlEvent::Closed(CloseReason::PeerMalformed(
            Malformed::UnknownMessage(MessageType(0x77))
        ))]
    );
    assert_eq!(
        events(&mut s),
        [ControlEvent::Closed(CloseReason::PeerAborted {
            status: Some(info)
        })]
    );
}

#[test]
fn abort_pending_ignores_everything_but_abort() {
    let now = base();
    let (mut c, _s) = connected_pair(now);
    let mut tx = Vec::new();
    let info = StatusInfo::new(AttributeId::NO_ERROR, Status::INVALID_FRAME_RECEIVED);
    c.abort(now, info, CloseReason::LocalClose, &mut tx);
    tx.clear();
    for m in [
        Message::EchoRequest,
        Message::CallDisconnect { status: None },
        Message::CallDisconnectAck,
    ] {
        let mut raw = Vec::new();
        m.emit(&mut raw);
        c.on_message(now, m, &raw, &mut tx);
    }
    assert!(tx.is_empty());
    assert_eq!(c.state(), ControlState::CallAbortPending);
}

#[test]
fn unexpected_messages_abort_with_unaccepted_frame() {
    let now = base();
    let (_c, mut s) = connected_pair(now);
    let mut tx = Vec::new();
    // A Call Connect Request in Server_Call_Connected (3.3.5.2.2, last branch).
    let m = Message::CallConnectRequest {
        protocol_id: ProtocolId::PPP,
    };
    let mut raw = Vec::new();
    m.emit(&mut raw);
    s.on_message(now, m, &raw, &mut tx);
    assert!(matches!(
        messages(&mut tx)[..],
        [Message::CallAbort {
            status: Some(StatusInfo {
                status: Status::UNACCEPTED_FRAME_RECEIVED,
                ..
            })
        }]
    ));
    assert!(matches!(
        s.close_reason,
        Some(CloseReason::PeerMisbehaved(_))
    ));
}

#[test]
fn kill_sends_nothing_and_reports_once() {
    let now = base();
    let (mut c, _s) = connected_pair(now);
    c.kill(CloseReason::TransportClosed);
    c.kill(CloseReason::LocalClose);
    assert_eq!(
        events(&mut c),
        [ControlEvent::Closed(CloseReason::TransportClosed)]
    );
    assert_eq!(c.poll_timeout(), None);
}
