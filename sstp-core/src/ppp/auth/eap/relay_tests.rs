//! EAP pass-through (RFC 3579 §2): the server relays the peer's Responses
//! to its backend and the backend's Requests to the peer.
//!
//! The backend of the first test is a second, unrelayed authenticator of
//! this crate standing in for a RADIUS server's EAP module: the peer, the
//! relay and the backend must end on the same HLAK, the RFC 2759 §9.2 /
//! RFC 3079 §3.5.3 vector (`CHAINED_HLAK`).

use super::super::tests::{
    AUTH_CHALLENGE, CHAINED_HLAK, PEER_CHALLENGE, ScriptedRng, b, base, frames,
};
use super::super::{
    Accept, AuthPeer, Authenticator, ClientOutcome, KeyMaterial, PeerConfig, ServerOutcome,
};
use super::*;
use crate::crypto::mschapv2::Credential;
use std::time::Duration;

/// Request/Identity, Identifier 0x10 (RFC 3748 §5.1).
const IDENTITY_REQUEST: &str = "01 10 00 05 01";
/// Response/Identity "User".
const IDENTITY_RESPONSE: &str = "02 10 00 09 01 55736572";

fn relay_config() -> AuthenticatorConfig {
    AuthenticatorConfig {
        eap_relay: true,
        ..AuthenticatorConfig::default()
    }
}

/// A relaying authenticator that sent Request/Identity 0x10.
fn relay() -> (Authenticator, Outbox) {
    let mut s = Authenticator::new(AuthMethod::EapMsChapV2, &relay_config());
    let mut out = Outbox::new();
    s.start(base(), &mut ScriptedRng::new(&[0x10]), &mut out);
    assert_eq!(frames(&mut out), vec![(Protocol::EAP, b(IDENTITY_REQUEST))]);
    (s, out)
}

fn relayed(outcome: Option<ServerOutcome>) -> (Vec<u8>, AuthMethod) {
    match outcome {
        Some(
            ServerOutcome::NeedVerdict(request) | ServerOutcome::IdentityAndVerdict(_, request),
        ) => match request.data() {
            AuthData::Eap { message, .. } => (message.clone(), request.method()),
            other => panic!("not relayed: {other:?}"),
        },
        other => panic!("no verdict asked: {other:?}"),
    }
}

/// The Identity goes to the backend with the name, for the logs, and the
/// message whole.
fn identity(s: &mut Authenticator, out: &mut Outbox) -> AuthRequest {
    let outcome = s.handle_packet(
        base(),
        Protocol::EAP,
        &b(IDENTITY_RESPONSE),
        &mut ScriptedRng::new(&[]),
        out,
    );
    let Some(ServerOutcome::IdentityAndVerdict(name, request)) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(name, "User");
    assert_eq!(request.user_name(), b"User");
    assert!(matches!(
        request.data(),
        AuthData::Eap { message, identity: true } if *message == b(IDENTITY_RESPONSE)
    ));
    assert!(
        out.is_empty(),
        "nothing goes to the peer before the backend answers"
    );
    request
}

#[test]
fn relayed_eap_mschapv2_ends_on_one_hlak_for_peer_relay_and_backend() {
    let t0 = base();
    let (mut relay, mut out) = relay();
    // The "RADIUS server": an unrelayed authenticator whose Identity
    // Request had the relay's Identifier, and its challenge.
    let mut backend = Authenticator::new(AuthMethod::EapMsChapV2, &AuthenticatorConfig::default());
    let mut brng = ScriptedRng::new(&b(&format!("10 {AUTH_CHALLENGE}")));
    let mut bout = Outbox::new();
    backend.start(t0, &mut brng, &mut bout);
    assert_eq!(
        frames(&mut bout),
        vec![(Protocol::EAP, b(IDENTITY_REQUEST))]
    );
    let mut peer = AuthPeer::new(
        "User",
        Credential::from_password("clientPass"),
        &PeerConfig::default(),
    );
    let mut prng = ScriptedRng::new(&b(PEER_CHALLENGE));
    let mut pout = Outbox::new();
    assert!(
        peer.start(t0, AuthMethod::EapMsChapV2, &mut prng, &mut pout)
            .is_none()
    );
    peer.handle_packet(
        t0,
        Protocol::EAP,
        &b(IDENTITY_REQUEST),
        &mut prng,
        &mut pout,
    );
    assert_eq!(
        frames(&mut pout),
        vec![(Protocol::EAP, b(IDENTITY_RESPONSE))]
    );

    let mut to_backend = match relay.handle_packet(
        t0,
        Protocol::EAP,
        &b(IDENTITY_RESPONSE),
        &mut ScriptedRng::new(&[]),
        &mut out,
    ) {
        Some(ServerOutcome::IdentityAndVerdict(_, request)) => match request.data() {
            AuthData::Eap { message, .. } => message.clone(),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    let mut rounds = 0;
    let backend_hlak = loop {
        rounds += 1;
        assert!(rounds < 10, "the conversation does not end");
        // Backend: the relayed Response in, its Request (or verdict) out.
        let mut outcome =
            backend.handle_packet(t0, Protocol::EAP, &to_backend, &mut brng, &mut bout);
        if let Some(ServerOutcome::NeedVerdict(request)) = &outcome {
            let verdict = request.verify_with(&Credential::from_password("clientPass"));
            outcome = backend.complete(t0, verdict, &mut brng, &mut bout);
        }
        if let Some(ServerOutcome::Success { hlak, .. }) = outcome {
            assert_eq!(frames(&mut bout), vec![(Protocol::EAP, b("03 12 00 04"))]);
            break hlak;
        }
        let [(Protocol::EAP, request)] =
            <[_; 1]>::try_from(frames(&mut bout)).expect("one Request")
        else {
            panic!("not EAP");
        };
        // Relay: the backend's Request goes to the peer verbatim.
        assert!(
            relay
                .complete(
                    t0,
                    AuthVerdict::Continue(request.clone()),
                    &mut ScriptedRng::new(&[]),
                    &mut out
                )
                .is_none()
        );
        assert_eq!(frames(&mut out), vec![(Protocol::EAP, request.clone())]);
        assert!(
            peer.handle_packet(t0, Protocol::EAP, &request, &mut prng, &mut pout)
                .is_none()
        );
        let [(Protocol::EAP, response)] =
            <[_; 1]>::try_from(frames(&mut pout)).expect("one Response")
        else {
            panic!("not EAP");
        };
        let (message, _) = relayed(relay.handle_packet(
            t0,
            Protocol::EAP,
            &response,
            &mut ScriptedRng::new(&[]),
            &mut out,
        ));
        assert_eq!(message, response);
        to_backend = message;
    };
    // The RADIUS server's MSK (MS-MPPE-Recv-Key ‖ Send-Key) is the
    // backend's HLAK, padded.
    let mut msk = [0u8; 64];
    msk[..32].copy_from_slice(backend_hlak.as_bytes());
    let accept = Accept::new().with_keys(KeyMaterial::Msk(Msk::from_bytes(msk)));
    let outcome = relay.complete(
        t0,
        AuthVerdict::Accept(accept),
        &mut ScriptedRng::new(&[]),
        &mut out,
    );
    let Some(ServerOutcome::Success { username, hlak }) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(username, "User");
    assert_eq!(
        relay.method(),
        AuthMethod::EapMsChapV2,
        "the method that ran, from the Type"
    );
    let success = frames(&mut out);
    assert_eq!(success, vec![(Protocol::EAP, b("03 12 00 04"))]);
    let outcome = peer.handle_packet(t0, Protocol::EAP, &success[0].1, &mut prng, &mut pout);
    let Some(ClientOutcome::Success { hlak: peer_hlak }) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(hlak.as_bytes(), &b(CHAINED_HLAK)[..]);
    assert_eq!(peer_hlak.as_bytes(), hlak.as_bytes());
    assert_eq!(backend_hlak.as_bytes(), hlak.as_bytes());
}

#[test]
fn a_backend_message_that_is_not_a_request_fails_the_phase() {
    for message in [
        b("03 11 00 04"),
        b("01 11 00 04"),
        b("01 11 00 09 19"),
        Vec::new(),
    ] {
        let (mut s, mut out) = relay();
        identity(&mut s, &mut out);
        let outcome = s.complete(
            base(),
            AuthVerdict::Continue(message.clone()),
            &mut ScriptedRng::new(&[]),
            &mut out,
        );
        assert!(
            matches!(&outcome, Some(ServerOutcome::Failure(AuthFailure::LocalPolicy { reason })) if reason.contains("not an EAP Request")),
            "{message:02x?}: {outcome:?}"
        );
        assert_eq!(frames(&mut out), vec![(Protocol::EAP, b("04 10 00 04"))]);
    }
}

#[test]
fn local_at_the_identity_runs_our_own_method_and_later_it_is_refused() {
    let (mut s, mut out) = relay();
    identity(&mut s, &mut out);
    let mut rng = ScriptedRng::new(&b(AUTH_CHALLENGE));
    assert!(
        s.complete(base(), AuthVerdict::Local, &mut rng, &mut out)
            .is_none()
    );
    let sent = frames(&mut out);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        &sent[0].1[..6],
        &b("01 11 00 21 1a 01")[..],
        "our EAP-MSCHAPv2 Challenge"
    );

    let (mut s, mut out) = relay();
    identity(&mut s, &mut out);
    s.complete(
        base(),
        AuthVerdict::Continue(b("01 11 00 06 19 20")),
        &mut ScriptedRng::new(&[]),
        &mut out,
    );
    frames(&mut out);
    let (_, method) = relayed(s.handle_packet(
        base(),
        Protocol::EAP,
        &b("02 11 00 06 19 00"),
        &mut ScriptedRng::new(&[]),
        &mut out,
    ));
    assert_eq!(method, AuthMethod::EapPeap, "the Type names the method");
    let outcome = s.complete(
        base(),
        AuthVerdict::Local,
        &mut ScriptedRng::new(&[]),
        &mut out,
    );
    assert!(
        matches!(
            outcome,
            Some(ServerOutcome::Failure(AuthFailure::LocalPolicy { .. }))
        ),
        "{outcome:?}"
    );
    assert_eq!(frames(&mut out), vec![(Protocol::EAP, b("04 11 00 04"))]);
}

#[test]
fn stale_short_and_wrong_code_responses_are_ignored_and_counted() {
    let (mut s, mut out) = relay();
    identity(&mut s, &mut out);
    s.complete(
        base(),
        AuthVerdict::Continue(b("01 11 00 06 19 20 ff ff")),
        &mut ScriptedRng::new(&[]),
        &mut out,
    );
    // Bytes past the Length are padding and do not go to the peer.
    assert_eq!(
        frames(&mut out),
        vec![(Protocol::EAP, b("01 11 00 06 19 20"))]
    );
    let mut rng = ScriptedRng::new(&[]);
    assert!(
        s.handle_packet(
            base(),
            Protocol::EAP,
            &b("02 10 00 06 19 00"),
            &mut rng,
            &mut out
        )
        .is_none()
    );
    assert!(
        s.handle_packet(base(), Protocol::EAP, &b("02 11 00 04"), &mut rng, &mut out)
            .is_none()
    );
    assert!(
        s.handle_packet(
            base(),
            Protocol::EAP,
            &b("02 11 00 09 19"),
            &mut rng,
            &mut out
        )
        .is_none()
    );
    assert!(
        s.handle_packet(
            base(),
            Protocol::EAP,
            &b("01 11 00 06 19 00"),
            &mut rng,
            &mut out
        )
        .is_none()
    );
    let counters = s.counters();
    assert_eq!((counters.malformed, counters.unexpected), (2, 2));
    // The right one still goes through, cut at its Length.
    let (message, _) = relayed(s.handle_packet(
        base(),
        Protocol::EAP,
        &b("02 11 00 06 19 00 ee"),
        &mut rng,
        &mut out,
    ));
    assert_eq!(message, b("02 11 00 06 19 00"));
}

#[test]
fn a_relayed_request_is_retransmitted_then_the_phase_gives_up() {
    let (mut s, mut out) = relay();
    identity(&mut s, &mut out);
    s.complete(
        base(),
        AuthVerdict::Continue(b("01 11 00 06 0d 20")),
        &mut ScriptedRng::new(&[]),
        &mut out,
    );
    frames(&mut out);
    let config = relay_config();
    let mut t = base();
    let mut resent = 0;
    loop {
        t += config.restart_timer + Duration::from_millis(1);
        match s.handle_timeout(t, &mut ScriptedRng::new(&[]), &mut out) {
            None => {
                assert_eq!(
                    frames(&mut out),
                    vec![(Protocol::EAP, b("01 11 00 06 0d 20"))]
                );
                resent += 1;
            }
            Some(ServerOutcome::Failure(AuthFailure::Timeout { waiting_for })) => {
                assert_eq!(waiting_for, "the peer's next EAP Response");
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(resent, config.max_transmissions - 1);
}

#[test]
fn reject_sends_eap_failure_and_accept_without_keys_binds_with_zeros() {
    let (mut s, mut out) = relay();
    identity(&mut s, &mut out);
    let outcome = s.complete(
        base(),
        AuthVerdict::reject("Access-Reject"),
        &mut ScriptedRng::new(&[]),
        &mut out,
    );
    assert!(
        matches!(outcome, Some(ServerOutcome::Failure(AuthFailure::Rejected { message, .. })) if message == "Access-Reject")
    );
    assert_eq!(frames(&mut out), vec![(Protocol::EAP, b("04 10 00 04"))]);

    let (mut s, mut out) = relay();
    identity(&mut s, &mut out);
    let accept = Accept::new().with_user_name("user@example");
    let outcome = s.complete(
        base(),
        AuthVerdict::Accept(accept),
        &mut ScriptedRng::new(&[]),
        &mut out,
    );
    let Some(ServerOutcome::Success { username, hlak }) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(username, "user@example");
    assert_eq!(hlak.as_bytes(), &[0; 32]);
    assert_eq!(s.method(), AuthMethod::EapRelayed, "no Type was seen");
    assert_eq!(frames(&mut out), vec![(Protocol::EAP, b("03 10 00 04"))]);
}

#[test]
fn relaying_answers_to_one_round_methods_are_rejects() {
    let mut s = Authenticator::new(AuthMethod::Pap, &relay_config());
    let mut out = Outbox::new();
    let mut rng = ScriptedRng::new(&[]);
    s.start(base(), &mut rng, &mut out);
    // PAP Authenticate-Request, Peer-ID "u", Password "p" (RFC 1334 §2.2.1).
    let outcome = s.handle_packet(
        base(),
        Protocol::PAP,
        &b("01 01 00 08 01 75 01 70"),
        &mut rng,
        &mut out,
    );
    assert!(
        matches!(outcome, Some(ServerOutcome::NeedVerdict(_))),
        "{outcome:?}"
    );
    let outcome = s.complete(
        base(),
        AuthVerdict::Continue(b("01 01 00 05 01")),
        &mut rng,
        &mut out,
    );
    assert!(
        matches!(&outcome, Some(ServerOutcome::Failure(AuthFailure::Rejected { message, .. })) if message.contains("as if it were relayed EAP")),
        "{outcome:?}"
    );
}
