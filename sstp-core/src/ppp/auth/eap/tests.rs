//! EAP-MSCHAPv2 in both roles, against byte fixtures.

use super::super::tests::{
    AUTH_CHALLENGE, CHAINED_HLAK, NT_RESPONSE, PEER_CHALLENGE, S, ScriptedRng, b, base, frames,
};
use super::super::{Accept, AuthPeer, Authenticator, PeerConfig};
use super::*;
use crate::crypto::mschapv2::Credential;
use std::time::{Duration, Instant};

/// Request/Identity, Identifier 0x10 (RFC 3748 §5.1, empty prompt).
const IDENTITY_REQUEST: &str = "01 10 00 05 01";
/// Response/Identity "User".
const IDENTITY_RESPONSE: &str = "02 10 00 09 01 55736572";

/// Request/EAP-MSCHAPv2 Challenge (draft-kamath §2.1): Identifier and
/// MS-CHAPv2-ID 0x11, MS-Length 28, Value-Size 16, Name "sstp-rs".
fn challenge_request() -> Vec<u8> {
    b(&format!(
        "01 11 00 21 1a 01 11 00 1c 10 {AUTH_CHALLENGE} 737374702d7273"
    ))
}

/// Response/EAP-MSCHAPv2 Response (§2.2): MS-Length 58, Value-Size 49,
/// Name "User".
fn challenge_response() -> Vec<u8> {
    b(&format!(
        "02 11 00 3f 1a 02 11 00 3a 31 {PEER_CHALLENGE} 0000000000000000 {NT_RESPONSE} 00 55736572"
    ))
}

/// Request/EAP-MSCHAPv2 Success Request (§2.3), Identifier 0x12.
fn success_request() -> Vec<u8> {
    let mut p = b("01 12 00 44 1a 03 11 00 3f");
    p.extend_from_slice(format!("{S} M=Access granted").as_bytes());
    p
}

/// Response/EAP-MSCHAPv2 Success Response (§2.4).
const SUCCESS_RESPONSE: &str = "02 12 00 06 1a 03";
const EAP_SUCCESS: &str = "03 12 00 04";

fn server() -> (Authenticator, Instant, ScriptedRng, Outbox) {
    let mut s = Authenticator::new(AuthMethod::EapMsChapV2, &AuthenticatorConfig::default());
    let t0 = base();
    let mut rng = ScriptedRng::new(&b(&format!("10 {AUTH_CHALLENGE}")));
    let mut out = Outbox::new();
    s.start(t0, &mut rng, &mut out);
    (s, t0, rng, out)
}

fn peer() -> (AuthPeer, ScriptedRng) {
    let mut p = AuthPeer::new(
        "User",
        Credential::from_password("clientPass"),
        &PeerConfig::default(),
    );
    let mut rng = ScriptedRng::new(&b(PEER_CHALLENGE));
    let mut out = Outbox::new();
    assert!(
        p.start(base(), AuthMethod::EapMsChapV2, &mut rng, &mut out)
            .is_none()
    );
    assert!(out.is_empty());
    (p, rng)
}

#[test]
fn golden_exchange_both_roles() {
    let (mut s, t0, mut srng, mut out) = server();
    let (mut p, mut prng) = peer();
    assert_eq!(frames(&mut out), vec![(Protocol::EAP, b(IDENTITY_REQUEST))]);

    assert!(
        p.handle_packet(t0, Protocol::EAP, &b(IDENTITY_REQUEST), &mut prng, &mut out)
            .is_none()
    );
    assert_eq!(
        frames(&mut out),
        vec![(Protocol::EAP, b(IDENTITY_RESPONSE))]
    );
    // The Identity is reported, for logs, and the method goes on.
    assert!(matches!(
        s.handle_packet(
            t0,
            Protocol::EAP,
            &b(IDENTITY_RESPONSE),
            &mut srng,
            &mut out
        ),
        Some(ServerOutcome::Identity(name)) if name == "User"
    ));
    assert_eq!(frames(&mut out), vec![(Protocol::EAP, challenge_request())]);

    assert!(
        p.handle_packet(t0, Protocol::EAP, &challenge_request(), &mut prng, &mut out)
            .is_none()
    );
    assert_eq!(
        frames(&mut out),
        vec![(Protocol::EAP, challenge_response())]
    );
    let outcome = s.handle_packet(
        t0,
        Protocol::EAP,
        &challenge_response(),
        &mut srng,
        &mut out,
    );
    let Some(ServerOutcome::NeedVerdict(request)) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(request.method(), AuthMethod::EapMsChapV2);
    assert!(matches!(
        request.data(),
        AuthData::MsChapV2 {
            identifier: 0x11,
            ..
        }
    ));
    let verdict = request.verify_with(&Credential::from_password("clientPass"));
    assert!(
        s.complete(t0, verdict, &mut srng, &mut out).is_none(),
        "waits for the Success Response"
    );
    assert_eq!(frames(&mut out), vec![(Protocol::EAP, success_request())]);

    assert!(
        p.handle_packet(t0, Protocol::EAP, &success_request(), &mut prng, &mut out)
            .is_none()
    );
    assert_eq!(frames(&mut out), vec![(Protocol::EAP, b(SUCCESS_RESPONSE))]);
    let outcome = s.handle_packet(t0, Protocol::EAP, &b(SUCCESS_RESPONSE), &mut srng, &mut out);
    let Some(ServerOutcome::Success { username, hlak }) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(username, "User");
    assert_eq!(hlak.as_bytes().as_slice(), b(CHAINED_HLAK));
    assert_eq!(frames(&mut out), vec![(Protocol::EAP, b(EAP_SUCCESS))]);

    let outcome = p.handle_packet(t0, Protocol::EAP, &b(EAP_SUCCESS), &mut prng, &mut out);
    let Some(ClientOutcome::Success { hlak }) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(hlak.as_bytes().as_slice(), b(CHAINED_HLAK));
}

/// Drives a server to the pending verdict.
fn pending_server() -> (Authenticator, Instant, ScriptedRng, Outbox) {
    let (mut s, t0, mut rng, mut out) = server();
    s.handle_packet(t0, Protocol::EAP, &b(IDENTITY_RESPONSE), &mut rng, &mut out);
    assert!(matches!(
        s.handle_packet(t0, Protocol::EAP, &challenge_response(), &mut rng, &mut out),
        Some(ServerOutcome::NeedVerdict(_))
    ));
    frames(&mut out);
    (s, t0, rng, out)
}

#[test]
fn server_reject_sends_failure_request_then_eap_failure() {
    let (mut s, t0, mut rng, mut out) = pending_server();
    rng.extend(&[0xcd; 16]);
    assert!(
        s.complete(
            t0,
            AuthVerdict::reject("wrong password"),
            &mut rng,
            &mut out
        )
        .is_none()
    );
    let sent = frames(&mut out);
    let Ok(EapPacket::Request {
        identifier: 0x12,
        data:
            EapData::MsChapV2(EapMsChapV2::FailureRequest {
                ms_chapv2_id: 0x11,
                message,
                ..
            }),
    }) = EapPacket::parse(&sent[0].1)
    else {
        panic!("{sent:?}");
    };
    assert_eq!(
        String::from_utf8(message).expect("ascii"),
        format!(
            "E=691 R=0 C={} V=3 M=Authentication failed",
            "CD".repeat(16)
        )
    );
    let outcome = s.handle_packet(
        t0,
        Protocol::EAP,
        &b("02 12 00 06 1a 04"),
        &mut rng,
        &mut out,
    );
    assert!(matches!(
        outcome,
        Some(ServerOutcome::Failure(AuthFailure::Rejected {
            mschapv2_error: Some(691),
            ..
        }))
    ));
    assert_eq!(frames(&mut out), vec![(Protocol::EAP, b("04 12 00 04"))]);
}

#[test]
fn server_does_not_wait_forever_for_a_failure_response() {
    let (mut s, t0, mut rng, mut out) = pending_server();
    s.complete(t0, AuthVerdict::reject("no"), &mut rng, &mut out);
    frames(&mut out);
    let due = s.poll_timeout().expect("armed");
    assert_eq!(due, t0 + Duration::from_secs(3));
    let outcome = s.handle_timeout(due, &mut rng, &mut out);
    assert!(matches!(
        outcome,
        Some(ServerOutcome::Failure(AuthFailure::Rejected { .. }))
    ));
    assert_eq!(frames(&mut out), vec![(Protocol::EAP, b("04 12 00 04"))]);
}

#[test]
fn server_nak_is_method_not_supported() {
    let (mut s, t0, mut rng, mut out) = server();
    s.handle_packet(t0, Protocol::EAP, &b(IDENTITY_RESPONSE), &mut rng, &mut out);
    frames(&mut out);
    // Response/Nak asking for EAP-TLS (13) and PEAP (25).
    let outcome = s.handle_packet(
        t0,
        Protocol::EAP,
        &b("02 11 00 07 03 0d 19"),
        &mut rng,
        &mut out,
    );
    let Some(ServerOutcome::Failure(AuthFailure::MethodNotSupported { detail })) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(
        detail,
        "the peer refused EAP-MSCHAPv2 and asked for EAP-TLS, PEAP"
    );
    assert_eq!(frames(&mut out), vec![(Protocol::EAP, b("04 11 00 04"))]);
    assert_eq!(
        nak_detail(AuthMethod::EapMsChapV2, &[EapType(0)]),
        "the peer refused EAP-MSCHAPv2 and proposed no other EAP method"
    );
    assert_eq!(
        nak_detail(AuthMethod::EapMsChapV2, &[EapType(200)]),
        "the peer refused EAP-MSCHAPv2 and asked for EAP type 200"
    );
}

#[test]
fn server_ignores_stale_ids_pending_responses_and_wrong_types() {
    let (mut s, t0, mut rng, mut out) = server();
    frames(&mut out);
    // Identity answer with the wrong Identifier.
    assert!(
        s.handle_packet(
            t0,
            Protocol::EAP,
            &b("02 11 00 09 01 55736572"),
            &mut rng,
            &mut out
        )
        .is_none()
    );
    // The right Identifier but a Notification Response.
    assert!(
        s.handle_packet(t0, Protocol::EAP, &b("02 10 00 05 02"), &mut rng, &mut out)
            .is_none()
    );
    // A Request from the peer.
    assert!(
        s.handle_packet(t0, Protocol::EAP, &b(IDENTITY_REQUEST), &mut rng, &mut out)
            .is_none()
    );
    assert!(out.is_empty());
    assert_eq!(s.counters().unexpected, 3);
    let (mut s, t0, mut rng, mut out) = pending_server();
    assert!(
        s.handle_packet(t0, Protocol::EAP, &challenge_response(), &mut rng, &mut out)
            .is_none()
    );
    assert_eq!(s.counters().unexpected, 1, "no second NeedVerdict");
    assert!(out.is_empty());
}

#[test]
fn server_retransmits_requests_and_the_success_request() {
    let (mut s, _, mut rng, mut out) = server();
    let first = frames(&mut out);
    let due = s.poll_timeout().expect("armed");
    s.handle_timeout(due, &mut rng, &mut out);
    assert_eq!(frames(&mut out), first);
    s.handle_packet(
        due,
        Protocol::EAP,
        &b(IDENTITY_RESPONSE),
        &mut rng,
        &mut out,
    );
    s.handle_packet(
        due,
        Protocol::EAP,
        &challenge_response(),
        &mut rng,
        &mut out,
    );
    frames(&mut out);
    let verdict = AuthVerdict::Accept(Accept::new().with_authenticator_response(
        crate::crypto::mschapv2::AuthenticatorResponse::from_bytes([7; 20]),
    ));
    s.complete(due, verdict, &mut rng, &mut out);
    let success = frames(&mut out);
    let again = s.poll_timeout().expect("armed");
    assert_eq!(again, due + Duration::from_secs(3));
    s.handle_timeout(again, &mut rng, &mut out);
    assert_eq!(frames(&mut out), success);
}

#[test]
fn server_gives_up_when_the_peer_stays_silent() {
    let (mut s, t0, mut rng, mut out) = server();
    let mut outcome = None;
    let mut now = t0;
    while outcome.is_none() {
        now = s.poll_timeout().expect("armed");
        outcome = s.handle_timeout(now, &mut rng, &mut out);
    }
    assert_eq!(now, t0 + Duration::from_secs(30));
    assert!(matches!(
        outcome,
        Some(ServerOutcome::Failure(AuthFailure::Timeout { .. }))
    ));
}

#[test]
fn peer_answers_identity_notification_and_naks_other_methods() {
    let (mut p, mut rng) = peer();
    let mut out = Outbox::new();
    let t0 = base();
    p.handle_packet(
        t0,
        Protocol::EAP,
        &b("01 20 00 09 02 6869 2121"),
        &mut rng,
        &mut out,
    );
    assert_eq!(frames(&mut out), vec![(Protocol::EAP, b("02 20 00 05 02"))]);
    // MD5-Challenge (RFC 3748 §5.4): Nak asking for 26.
    p.handle_packet(
        t0,
        Protocol::EAP,
        &b("01 21 00 0a 04 04 01020304"),
        &mut rng,
        &mut out,
    );
    assert_eq!(
        frames(&mut out),
        vec![(Protocol::EAP, b("02 21 00 06 03 1a"))]
    );
    // EAP-TLS start (RFC 5216 §3.1).
    p.handle_packet(
        t0,
        Protocol::EAP,
        &b("01 22 00 06 0d 20"),
        &mut rng,
        &mut out,
    );
    assert_eq!(
        frames(&mut out),
        vec![(Protocol::EAP, b("02 22 00 06 03 1a"))]
    );
    // An Expanded Type request gets an Expanded Nak (RFC 3748 §5.3.2).
    p.handle_packet(
        t0,
        Protocol::EAP,
        &b("01 23 00 0c fe 000137 00000022"),
        &mut rng,
        &mut out,
    );
    assert_eq!(
        frames(&mut out),
        vec![(
            Protocol::EAP,
            b("02 23 00 14 fe 000000 00000003 fe 000000 0000001a")
        )]
    );
    // Only a method refusal so far: EAP-Failure means no common method.
    let outcome = p.handle_packet(t0, Protocol::EAP, &b("04 23 00 04"), &mut rng, &mut out);
    assert!(matches!(
        outcome,
        Some(ClientOutcome::Failure(
            AuthFailure::MethodNotSupported { .. }
        ))
    ));
}

#[test]
fn peer_rejects_eap_success_without_mschapv2() {
    for script in [
        vec![],
        vec![b(IDENTITY_REQUEST)],
        vec![b(IDENTITY_REQUEST), challenge_request()],
    ] {
        let (mut p, mut rng) = peer();
        let mut out = Outbox::new();
        for packet in script {
            assert!(
                p.handle_packet(base(), Protocol::EAP, &packet, &mut rng, &mut out)
                    .is_none()
            );
        }
        let outcome = p.handle_packet(base(), Protocol::EAP, &b(EAP_SUCCESS), &mut rng, &mut out);
        assert!(
            matches!(
                outcome,
                Some(ClientOutcome::Failure(AuthFailure::PeerMisbehaved { .. }))
            ),
            "{outcome:?}"
        );
    }
}

#[test]
fn peer_rejects_a_bad_s_and_sends_nothing() {
    let (mut p, mut rng) = peer();
    let mut out = Outbox::new();
    p.handle_packet(
        base(),
        Protocol::EAP,
        &challenge_request(),
        &mut rng,
        &mut out,
    );
    frames(&mut out);
    let mut bad = success_request();
    let last = bad.len() - 20; // a digit inside the S= value
    bad[last] = if bad[last] == b'0' { b'1' } else { b'0' };
    let outcome = p.handle_packet(base(), Protocol::EAP, &bad, &mut rng, &mut out);
    assert!(matches!(
        outcome,
        Some(ClientOutcome::Failure(AuthFailure::MutualAuthFailed))
    ));
    assert!(out.is_empty());
    // A later EAP-Success changes nothing.
    assert!(
        p.handle_packet(base(), Protocol::EAP, &b(EAP_SUCCESS), &mut rng, &mut out)
            .is_none()
    );
}

#[test]
fn peer_resends_the_response_to_a_duplicate_request() {
    let (mut p, mut rng) = peer();
    let mut out = Outbox::new();
    p.handle_packet(
        base(),
        Protocol::EAP,
        &challenge_request(),
        &mut rng,
        &mut out,
    );
    let first = frames(&mut out);
    rng.extend(&[0x55; 16]);
    p.handle_packet(
        base(),
        Protocol::EAP,
        &challenge_request(),
        &mut rng,
        &mut out,
    );
    assert_eq!(
        frames(&mut out),
        first,
        "not reprocessed: same peer challenge"
    );
    p.handle_packet(
        base(),
        Protocol::EAP,
        &success_request(),
        &mut rng,
        &mut out,
    );
    let success_response = frames(&mut out);
    assert_eq!(success_response, vec![(Protocol::EAP, b(SUCCESS_RESPONSE))]);
    p.handle_packet(
        base(),
        Protocol::EAP,
        &success_request(),
        &mut rng,
        &mut out,
    );
    assert_eq!(frames(&mut out), success_response);
}

#[test]
fn peer_failure_request_reports_and_answers() {
    let (mut p, mut rng) = peer();
    let mut out = Outbox::new();
    p.handle_packet(
        base(),
        Protocol::EAP,
        &challenge_request(),
        &mut rng,
        &mut out,
    );
    frames(&mut out);
    let mut request = b("01 12 00 00 1a 04 11 00 00");
    request.extend_from_slice(b"E=691 R=0 C=00000000000000000000000000000000 V=3 M=Go away");
    let len = u16::try_from(request.len()).expect("short");
    request[2..4].copy_from_slice(&len.to_be_bytes());
    request[7..9].copy_from_slice(&(len - 5).to_be_bytes());
    let outcome = p.handle_packet(base(), Protocol::EAP, &request, &mut rng, &mut out);
    let Some(ClientOutcome::Failure(failure)) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(
        failure,
        AuthFailure::Rejected {
            message: "Go away".into(),
            mschapv2_error: Some(691)
        }
    );
    assert_eq!(
        frames(&mut out),
        vec![(Protocol::EAP, b("02 12 00 06 1a 04"))]
    );
}
