//! Authenticator ↔ peer wired together in memory on virtual time, for every
//! method: success, wrong password (a clear failure on both sides), lost
//! packets and retransmission, timeouts, equal HLAKs (and the chained
//! HLAK for the RFC 2759 credentials), and proptests feeding
//! arbitrary bytes to both components. Also the helpers the per-method test
//! modules share.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;
use crate::crypto::binding::Hlak;
use crate::crypto::mschapv2::Credential;
use crate::ppp::{AuthMethod, ControlFrame, Outbox, Random};
use crate::wire::ppp::Protocol;

pub(super) use crate::testing::{ScriptedRng, base, boxed_rng, rng};

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

/// Hex with spaces, for byte fixtures.
pub(super) fn b(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).expect("test hex")
}

// RFC 2759 §9.2, shared by the CHAP and EAP tests.
pub(super) const AUTH_CHALLENGE: &str = "5B5D7C7D7B3F2F3E3C2C602132262628";
pub(super) const PEER_CHALLENGE: &str = "21402324255E262A28295F2B3A337C7E";
pub(super) const NT_RESPONSE: &str = "82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF";
pub(super) const S: &str = "S=407A5589115FD0D6209F510FE9C04566932CDA56";
/// Chained vector: the SSTP HLAK (MS-SSTP §3.2.5.2.4) of the RFC 2759 §9.2
/// credentials, from their RFC 3079 §3.5.3 MPPE keys; the same on both
/// sides. Derived here, not published.
pub(super) const CHAINED_HLAK: &str =
    "D5F0E9521E3EA9589645E86051C822268B7CDC149B993A1BA118CB153F56DCCB";

/// Drains the outbox into (protocol, bytes) pairs.
pub(super) fn frames(out: &mut Outbox) -> Vec<(Protocol, Vec<u8>)> {
    out.drain(..).map(|f| (f.protocol, f.packet)).collect()
}

fn h<const N: usize>(s: &str) -> [u8; N] {
    let v = hex::decode(s).expect("test hex");
    v.try_into().expect("test hex length")
}

const ALL: [AuthMethod; 4] = [
    AuthMethod::Pap,
    AuthMethod::ChapMd5,
    AuthMethod::MsChapV2,
    AuthMethod::EapMsChapV2,
];

// ---------------------------------------------------------------------------
// The pair
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    ToClient,
    ToServer,
}

type DropRule = Box<dyn FnMut(Dir, &ControlFrame) -> bool>;

/// An authenticator and a peer joined by two in-memory pipes. The server's
/// verdicts come from a local credential through `verify_with`.
///
/// Not the session tests' `Pair`: these tests drive the two authentication
/// machines alone, frame by frame, with no SSTP, LCP or crypto binding
/// around them, so one method's exchange can be lost or rewritten exactly.
struct Pair {
    now: Instant,
    server: Authenticator,
    client: AuthPeer,
    server_rng: Box<dyn Random>,
    client_rng: Box<dyn Random>,
    to_client: Outbox,
    to_server: Outbox,
    stored: Credential,
    /// Returns true to lose a frame in flight.
    drop: DropRule,
    /// Every frame sent, lost or not.
    log: Vec<(Dir, ControlFrame)>,
    verdicts_asked: usize,
    server_result: Option<Result<(String, Hlak), AuthFailure>>,
    client_result: Option<Result<Hlak, AuthFailure>>,
}

impl Pair {
    fn new(method: AuthMethod, user: &str, client_secret: Credential, stored: Credential) -> Self {
        Self::with_rngs(
            method,
            user,
            client_secret,
            stored,
            boxed_rng(1),
            boxed_rng(2),
        )
    }

    fn with_rngs(
        method: AuthMethod,
        user: &str,
        client_secret: Credential,
        stored: Credential,
        server_rng: Box<dyn Random>,
        client_rng: Box<dyn Random>,
    ) -> Self {
        let mut pair = Self {
            now: base(),
            server: Authenticator::new(method, &AuthenticatorConfig::default()),
            client: AuthPeer::new(user, client_secret, &PeerConfig::default()),
            server_rng,
            client_rng,
            to_client: Outbox::new(),
            to_server: Outbox::new(),
            stored,
            drop: Box::new(|_, _| false),
            log: Vec::new(),
            verdicts_asked: 0,
            server_result: None,
            client_result: None,
        };
        pair.server
            .start(pair.now, &mut *pair.server_rng, &mut pair.to_client);
        let outcome =
            pair.client
                .start(pair.now, method, &mut *pair.client_rng, &mut pair.to_server);
        pair.client_outcome(outcome);
        pair
    }

    fn dropping(mut self, rule: impl FnMut(Dir, &ControlFrame) -> bool + 'static) -> Self {
        self.drop = Box::new(rule);
        self
    }

    fn server_outcome(&mut self, outcome: Option<ServerOutcome>) {
        match outcome {
            None | Some(ServerOutcome::Identity(_)) => {}
            Some(
                ServerOutcome::NeedVerdict(request) | ServerOutcome::IdentityAndVerdict(_, request),
            ) => {
                self.verdicts_asked += 1;
                let verdict = request.verify_with(&self.stored);
                let outcome = self.server.complete(
                    self.now,
                    verdict,
                    &mut *self.server_rng,
                    &mut self.to_client,
                );
                self.server_outcome(outcome);
            }
            Some(ServerOutcome::Success { username, hlak }) => {
                assert!(self.server_result.is_none(), "second server outcome");
                self.server_result = Some(Ok((username, hlak)));
            }
            Some(ServerOutcome::Failure(failure)) => {
                assert!(self.server_result.is_none(), "second server outcome");
                self.server_result = Some(Err(failure));
            }
        }
    }

    fn client_outcome(&mut self, outcome: Option<ClientOutcome>) {
        match outcome {
            None => {}
            Some(ClientOutcome::Success { hlak }) => {
                assert!(self.client_result.is_none(), "second client outcome");
                self.client_result = Some(Ok(hlak));
            }
            Some(ClientOutcome::Failure(failure)) => {
                assert!(self.client_result.is_none(), "second client outcome");
                self.client_result = Some(Err(failure));
            }
        }
    }

    /// Delivers frames until both pipes are empty.
    fn deliver(&mut self) {
        loop {
            if let Some(frame) = self.to_server.pop_front() {
                self.log.push((Dir::ToServer, frame.clone()));
                if (self.drop)(Dir::ToServer, &frame) {
                    continue;
                }
                let outcome = self.server.handle_packet(
                    self.now,
                    frame.protocol,
                    &frame.packet,
                    &mut *self.server_rng,
                    &mut self.to_client,
                );
                self.server_outcome(outcome);
            } else if let Some(frame) = self.to_client.pop_front() {
                self.log.push((Dir::ToClient, frame.clone()));
                if (self.drop)(Dir::ToClient, &frame) {
                    continue;
                }
                let outcome = self.client.handle_packet(
                    self.now,
                    frame.protocol,
                    &frame.packet,
                    &mut *self.client_rng,
                    &mut self.to_server,
                );
                self.client_outcome(outcome);
            } else {
                return;
            }
        }
    }

    /// Runs until both sides reported or nothing is left to do; returns the
    /// virtual time spent.
    fn run(&mut self) -> Duration {
        let start = self.now;
        for _ in 0..1000 {
            self.deliver();
            if self.server_result.is_some() && self.client_result.is_some() {
                break;
            }
            let next = match (self.server.poll_timeout(), self.client.poll_timeout()) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    None => break,
                },
            };
            self.now = self.now.max(next);
            let outcome =
                self.server
                    .handle_timeout(self.now, &mut *self.server_rng, &mut self.to_client);
            self.server_outcome(outcome);
            let outcome = self.client.handle_timeout(self.now, &mut self.to_server);
            self.client_outcome(outcome);
        }
        self.now - start
    }

    fn sent(&self, dir: Dir) -> usize {
        self.log.iter().filter(|(d, _)| *d == dir).count()
    }
}

fn succeed(pair: &mut Pair) -> (String, Hlak, Hlak) {
    pair.run();
    let server = pair.server_result.take().expect("server outcome");
    let client = pair.client_result.take().expect("client outcome");
    let (user, server_hlak) = server.expect("server accepted");
    let client_hlak = client.expect("client accepted");
    (user, server_hlak, client_hlak)
}

// ---------------------------------------------------------------------------
// Success, per method
// ---------------------------------------------------------------------------

#[test]
fn every_method_succeeds_with_equal_hlaks() {
    for method in ALL {
        let mut pair = Pair::new(
            method,
            "alice",
            Credential::from_password("correct horse"),
            Credential::from_password("correct horse"),
        );
        let (user, server_hlak, client_hlak) = succeed(&mut pair);
        assert_eq!(user, "alice", "{method}");
        assert_eq!(server_hlak.as_bytes(), client_hlak.as_bytes(), "{method}");
        if method.derives_keys() {
            assert_ne!(server_hlak.as_bytes(), &[0; 32], "{method}");
        } else {
            assert_eq!(server_hlak.as_bytes(), &[0; 32], "{method}");
        }
        assert_eq!(pair.verdicts_asked, 1, "{method}");
        assert_eq!(pair.server.counters(), Counters::default(), "{method}");
        assert_eq!(pair.client.counters(), Counters::default(), "{method}");
        assert_eq!(pair.server.poll_timeout(), None, "{method}");
        assert_eq!(pair.client.poll_timeout(), None, "{method}");
    }
}

#[test]
fn key_deriving_methods_work_from_a_stored_nt_hash() {
    let hash = Credential::from_password("pw").nt_password_hash();
    for method in [
        AuthMethod::MsChapV2,
        AuthMethod::EapMsChapV2,
        AuthMethod::Pap,
    ] {
        let mut pair = Pair::new(
            method,
            "CORP\\alice",
            Credential::from_password("pw"),
            Credential::from_nt_hash(*hash.as_bytes()),
        );
        let (user, server_hlak, client_hlak) = succeed(&mut pair);
        assert_eq!(user, "CORP\\alice");
        assert_eq!(server_hlak.as_bytes(), client_hlak.as_bytes());
    }
}

#[test]
fn rfc2759_credentials_give_the_chained_hlak_for_both_key_methods() {
    for method in [AuthMethod::MsChapV2, AuthMethod::EapMsChapV2] {
        // The server draws its Identifier(s) and then the challenge; the
        // EAP server draws the Identity Request's Identifier first.
        let mut server_script = vec![0x01];
        server_script.extend_from_slice(&h::<16>(AUTH_CHALLENGE));
        let mut pair = Pair::with_rngs(
            method,
            "User",
            Credential::from_password("clientPass"),
            Credential::from_password("clientPass"),
            Box::new(ScriptedRng::new(&server_script)),
            Box::new(ScriptedRng::new(&h::<16>(PEER_CHALLENGE))),
        );
        let (_, server_hlak, client_hlak) = succeed(&mut pair);
        assert_eq!(server_hlak.as_bytes(), &h::<32>(CHAINED_HLAK), "{method}");
        assert_eq!(client_hlak.as_bytes(), &h::<32>(CHAINED_HLAK), "{method}");
        // And the S= the server sent is the RFC's.
        let s_sent = pair.log.iter().any(|(dir, frame)| {
            *dir == Dir::ToClient
                && frame
                    .packet
                    .windows(42)
                    .any(|w| w == b"S=407A5589115FD0D6209F510FE9C04566932CDA56")
        });
        assert!(s_sent, "{method}");
    }
}

// ---------------------------------------------------------------------------
// Wrong password
// ---------------------------------------------------------------------------

#[test]
fn wrong_password_fails_clearly_on_both_sides() {
    for method in ALL {
        let mut pair = Pair::new(
            method,
            "alice",
            Credential::from_password("guess"),
            Credential::from_password("correct horse"),
        );
        let spent = pair.run();
        let server = pair.server_result.take().expect("server outcome");
        let client = pair.client_result.take().expect("client outcome");
        let Err(AuthFailure::Rejected {
            message,
            mschapv2_error,
        }) = server
        else {
            panic!("{method}: server {server:?}");
        };
        assert_eq!(message, "wrong password", "{method}");
        let Err(AuthFailure::Rejected {
            message: client_message,
            mschapv2_error: client_code,
        }) = client
        else {
            panic!("{method}: client {client:?}");
        };
        if method.derives_keys() {
            assert_eq!(mschapv2_error, Some(691), "{method}");
            assert_eq!(client_code, Some(691), "{method}");
        } else {
            assert_eq!(mschapv2_error, None, "{method}");
            assert_eq!(client_code, None, "{method}");
        }
        // The peer sees the generic text, not the server's reason.
        assert_eq!(client_message, "Authentication failed", "{method}");
        assert!(spent < Duration::from_secs(4), "{method}: took {spent:?}");
    }
}

#[test]
fn user_visible_failure_texts() {
    let server = AuthFailure::Rejected {
        message: "wrong password".into(),
        mschapv2_error: Some(691),
    };
    assert_eq!(
        server.to_string(),
        "credentials rejected: wrong password (MS-CHAPv2 error 691)"
    );
    assert_eq!(
        AuthFailure::Rejected {
            message: String::new(),
            mschapv2_error: None
        }
        .to_string(),
        "credentials rejected: no reason given"
    );
    assert_eq!(
        AuthFailure::Timeout {
            waiting_for: "the peer's CHAP Response"
        }
        .to_string(),
        "authentication timed out waiting for the peer's CHAP Response"
    );
    assert!(
        AuthFailure::MutualAuthFailed
            .to_string()
            .contains("authenticator response")
    );
}

// ---------------------------------------------------------------------------
// Lost packets
// ---------------------------------------------------------------------------

/// Loses the first `n` frames sent in `dir`.
fn lose_first(dir: Dir, n: usize) -> impl FnMut(Dir, &ControlFrame) -> bool {
    let mut seen = 0;
    move |d, _| {
        if d == dir && seen < n {
            seen += 1;
            true
        } else {
            false
        }
    }
}

#[test]
fn lost_challenges_and_requests_are_retransmitted() {
    for method in ALL {
        let lossy = if method == AuthMethod::Pap {
            Dir::ToServer // the peer's Authenticate-Request
        } else {
            Dir::ToClient // the server's Challenge / Identity Request
        };
        let mut pair = Pair::new(
            method,
            "alice",
            Credential::from_password("pw"),
            Credential::from_password("pw"),
        )
        .dropping(lose_first(lossy, 2));
        let (_, server_hlak, client_hlak) = succeed(&mut pair);
        assert_eq!(server_hlak.as_bytes(), client_hlak.as_bytes(), "{method}");
        assert_eq!(pair.verdicts_asked, 1, "{method}");
        let spent = pair.now - base();
        assert_eq!(
            spent,
            Duration::from_secs(6),
            "{method}: two Restart periods"
        );
    }
}

#[test]
fn lost_responses_are_recovered_by_retransmission() {
    // CHAP and EAP peers re-send their Response when the server repeats
    // the Challenge / Request; the PAP authenticator re-answers a repeated
    // Authenticate-Request.
    for method in ALL {
        let lossy = if method == AuthMethod::Pap {
            Dir::ToClient // the Ack
        } else {
            Dir::ToServer // the peer's Response / Identity
        };
        let mut pair = Pair::new(
            method,
            "alice",
            Credential::from_password("pw"),
            Credential::from_password("pw"),
        )
        .dropping(lose_first(lossy, 1));
        let (_, server_hlak, client_hlak) = succeed(&mut pair);
        assert_eq!(server_hlak.as_bytes(), client_hlak.as_bytes(), "{method}");
        assert_eq!(pair.verdicts_asked, 1, "{method}: no second NeedVerdict");
    }
}

#[test]
fn lost_eap_success_response_is_recovered() {
    // Loses the peer's Success Response (its third frame): the server
    // repeats the Success Request and the peer answers the duplicate.
    let mut count = 0;
    let mut pair = Pair::new(
        AuthMethod::EapMsChapV2,
        "alice",
        Credential::from_password("pw"),
        Credential::from_password("pw"),
    )
    .dropping(move |dir, _| {
        if dir == Dir::ToServer {
            count += 1;
            count == 3
        } else {
            false
        }
    });
    let (_, server_hlak, client_hlak) = succeed(&mut pair);
    assert_eq!(server_hlak.as_bytes(), client_hlak.as_bytes());
    assert_eq!(pair.sent(Dir::ToServer), 4);
}

// ---------------------------------------------------------------------------
// Timeouts
// ---------------------------------------------------------------------------

#[test]
fn a_silent_peer_times_both_sides_out() {
    for method in ALL {
        let mut pair = Pair::new(
            method,
            "alice",
            Credential::from_password("pw"),
            Credential::from_password("pw"),
        )
        .dropping(|_, _| true);
        let spent = pair.run();
        assert!(
            matches!(pair.server_result, Some(Err(AuthFailure::Timeout { .. }))),
            "{method}: {:?}",
            pair.server_result
        );
        assert!(
            matches!(pair.client_result, Some(Err(AuthFailure::Timeout { .. }))),
            "{method}: {:?}",
            pair.client_result
        );
        assert_eq!(spent, Duration::from_secs(30), "{method}");
        // Ten transmissions of the Challenge / Request (PAP: of the
        // Authenticate-Request), no more.
        let retransmitted = if method == AuthMethod::Pap {
            Dir::ToServer
        } else {
            Dir::ToClient
        };
        assert_eq!(pair.sent(retransmitted), 10, "{method}");
    }
}

#[test]
fn a_verdict_that_never_comes_times_out() {
    for method in ALL {
        let mut server = Authenticator::new(method, &AuthenticatorConfig::default());
        let mut client = AuthPeer::new("u", Credential::from_password("p"), &PeerConfig::default());
        let (mut srng, mut crng) = (ScriptedRng::default(), ScriptedRng::default());
        let (mut to_client, mut to_server) = (Outbox::new(), Outbox::new());
        let t0 = base();
        server.start(t0, &mut srng, &mut to_client);
        client.start(t0, method, &mut crng, &mut to_server);
        let mut asked = false;
        for _ in 0..10 {
            while let Some(f) = to_client.pop_front() {
                client.handle_packet(t0, f.protocol, &f.packet, &mut crng, &mut to_server);
            }
            while let Some(f) = to_server.pop_front() {
                if let Some(ServerOutcome::NeedVerdict(_)) =
                    server.handle_packet(t0, f.protocol, &f.packet, &mut srng, &mut to_client)
                {
                    asked = true;
                }
            }
        }
        assert!(asked, "{method}");
        assert_eq!(
            server.poll_timeout(),
            Some(t0 + Duration::from_secs(30)),
            "{method}"
        );
        let outcome =
            server.handle_timeout(t0 + Duration::from_secs(30), &mut srng, &mut to_client);
        assert!(
            matches!(
                outcome,
                Some(ServerOutcome::Failure(AuthFailure::Timeout {
                    waiting_for: "the authentication backend's verdict"
                }))
            ),
            "{method}: {outcome:?}"
        );
        let late = server.complete(
            t0 + Duration::from_secs(31),
            AuthVerdict::Accept(Accept::new()),
            &mut srng,
            &mut to_client,
        );
        assert!(late.is_none(), "{method}");
        assert!(to_client.is_empty(), "{method}");
    }
}

// ---------------------------------------------------------------------------
// Misuse and method mismatch
// ---------------------------------------------------------------------------

#[test]
fn packets_of_another_protocol_or_before_start_are_ignored() {
    let mut server = Authenticator::new(AuthMethod::MsChapV2, &AuthenticatorConfig::default());
    let mut rng = ScriptedRng::default();
    let mut out = Outbox::new();
    assert!(
        server
            .handle_packet(base(), Protocol::CHAP, &[2, 1, 0, 4], &mut rng, &mut out)
            .is_none()
    );
    server.start(base(), &mut rng, &mut out);
    out.clear();
    assert!(
        server
            .handle_packet(
                base(),
                Protocol::PAP,
                &[1, 1, 0, 6, 0, 0],
                &mut rng,
                &mut out
            )
            .is_none()
    );
    assert!(
        server
            .handle_packet(base(), Protocol::EAP, &[2, 1, 0, 5, 1], &mut rng, &mut out)
            .is_none()
    );
    assert_eq!(server.counters().unexpected, 3);
    assert!(out.is_empty());
    // A verdict nobody asked for is ignored.
    assert!(
        server
            .complete(base(), AuthVerdict::reject("x"), &mut rng, &mut out)
            .is_none()
    );
    assert!(out.is_empty());

    let mut client = AuthPeer::new("u", Credential::from_password("p"), &PeerConfig::default());
    assert!(
        client
            .handle_packet(base(), Protocol::CHAP, &[1, 1, 0, 5, 0], &mut rng, &mut out)
            .is_none()
    );
    client.start(base(), AuthMethod::EapMsChapV2, &mut rng, &mut out);
    assert!(
        client
            .handle_packet(base(), Protocol::CHAP, &[3, 1, 0, 4], &mut rng, &mut out)
            .is_none()
    );
    assert_eq!(client.counters().unexpected, 2);
    assert!(!client.is_finished());
    // Starting twice does nothing.
    assert!(
        client
            .start(base(), AuthMethod::Pap, &mut rng, &mut out)
            .is_none()
    );
    assert!(out.is_empty());
}

#[test]
fn protocol_reject_ends_either_side_once() {
    for method in ALL {
        let mut pair = Pair::new(
            method,
            "alice",
            Credential::from_password("pw"),
            Credential::from_password("pw"),
        );
        let outcome = pair.server.protocol_rejected();
        let Some(ServerOutcome::Failure(AuthFailure::MethodNotSupported { detail })) = outcome
        else {
            panic!("{method}: {outcome:?}");
        };
        assert!(detail.contains(method.name()), "{method}: {detail}");
        assert!(pair.server.protocol_rejected().is_none(), "{method}");
        assert_eq!(pair.server.poll_timeout(), None, "{method}");
        let outcome = pair.client.protocol_rejected();
        assert!(
            matches!(
                outcome,
                Some(ClientOutcome::Failure(
                    AuthFailure::MethodNotSupported { .. }
                ))
            ),
            "{method}: {outcome:?}"
        );
        assert!(pair.client.protocol_rejected().is_none(), "{method}");
        assert_eq!(pair.client.poll_timeout(), None, "{method}");
    }
}

// ---------------------------------------------------------------------------
// Never panic
// ---------------------------------------------------------------------------

/// One step of a fuzzed conversation.
#[derive(Debug, Clone)]
enum Step {
    ToServer(u8, Vec<u8>),
    ToClient(u8, Vec<u8>),
    Verdict(bool),
    Advance(u16),
}

fn protocol(selector: u8) -> Protocol {
    match selector % 4 {
        0 => Protocol::PAP,
        1 => Protocol::CHAP,
        2 => Protocol::EAP,
        _ => Protocol::LCP,
    }
}

/// Bytes that often get past the header check: a Code 1–4, an Identifier,
/// a correct Length, and random data (sometimes an EAP type 26 body).
fn packet() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..80),
        (
            1u8..=4,
            any::<u8>(),
            proptest::collection::vec(any::<u8>(), 0..80)
        )
            .prop_map(|(code, id, body)| {
                let len = u16::try_from(body.len() + 4).unwrap_or(u16::MAX);
                let mut p = vec![code, id];
                p.extend_from_slice(&len.to_be_bytes());
                p.extend(body);
                p
            }),
        (
            1u8..=2,
            any::<u8>(),
            1u8..=7,
            any::<u8>(),
            proptest::collection::vec(any::<u8>(), 0..70)
        )
            .prop_map(|(code, id, op, ms_id, body)| {
                let len = u16::try_from(body.len() + 9).unwrap_or(u16::MAX);
                let mut p = vec![code, id];
                p.extend_from_slice(&len.to_be_bytes());
                p.extend_from_slice(&[26, op, ms_id]);
                p.extend_from_slice(&(len - 5).to_be_bytes());
                p.extend(body);
                p
            }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (any::<u8>(), packet()).prop_map(|(p, b)| Step::ToServer(p, b)),
        (any::<u8>(), packet()).prop_map(|(p, b)| Step::ToClient(p, b)),
        any::<bool>().prop_map(Step::Verdict),
        any::<u16>().prop_map(Step::Advance),
    ]
}

proptest! {
    #[test]
    fn arbitrary_packets_never_panic_and_outcomes_stay_single(
        method in 0usize..4,
        hash_only in any::<bool>(),
        steps in proptest::collection::vec(step(), 0..40),
    ) {
        let method = ALL[method];
        let secret = if hash_only {
            Credential::from_nt_hash([3; 16])
        } else {
            Credential::from_password("pw")
        };
        let mut server = Authenticator::new(method, &AuthenticatorConfig::default());
        let mut client = AuthPeer::new("DOM\\u", secret, &PeerConfig::default());
        let mut rng = rng(7);
        let mut out = Outbox::new();
        let mut now = base();
        server.start(now, &mut rng, &mut out);
        let mut client_done = client.start(now, method, &mut rng, &mut out).is_some();
        let mut server_done = false;
        let mut asked = 0;
        for step in steps {
            let server_outcome = match step {
                Step::ToServer(p, bytes) => {
                    server.handle_packet(now, protocol(p), &bytes, &mut rng, &mut out)
                }
                Step::ToClient(p, bytes) => {
                    if client.handle_packet(now, protocol(p), &bytes, &mut rng, &mut out).is_some() {
                        prop_assert!(!client_done, "second client outcome");
                        client_done = true;
                    }
                    None
                }
                Step::Verdict(accept) => {
                    let verdict = if accept {
                        AuthVerdict::Accept(Accept::new())
                    } else {
                        AuthVerdict::reject("no")
                    };
                    server.complete(now, verdict, &mut rng, &mut out)
                }
                Step::Advance(ms) => {
                    now += Duration::from_millis(u64::from(ms));
                    if client.handle_timeout(now, &mut out).is_some() {
                        prop_assert!(!client_done, "second client outcome");
                        client_done = true;
                    }
                    server.handle_timeout(now, &mut rng, &mut out)
                }
            };
            match server_outcome {
                Some(ServerOutcome::NeedVerdict(_)) => {
                    asked += 1;
                    prop_assert!(asked == 1, "second NeedVerdict");
                    prop_assert!(!server_done);
                }
                Some(_) => {
                    prop_assert!(!server_done, "second server outcome");
                    server_done = true;
                }
                None => {}
            }
            prop_assert_eq!(server.is_finished(), server_done);
            prop_assert_eq!(client.is_finished(), client_done);
            // Everything sent stays within what the SSTP length allows.
            for frame in out.drain(..) {
                prop_assert!(frame.packet.len() <= 4095);
            }
        }
    }

    #[test]
    fn a_client_cannot_be_talked_into_success_without_the_password(
        steps in proptest::collection::vec(packet(), 0..30),
        method in 1usize..4, // CHAP-MD5 trusts any Success, by design of RFC 1994
    ) {
        // An attacker that does not know the password scripts the server
        // side: MS-CHAPv2 and EAP-MSCHAPv2 clients must never succeed.
        let method = ALL[method];
        prop_assume!(method.derives_keys());
        let mut client = AuthPeer::new("u", Credential::from_password("secret"), &PeerConfig::default());
        let mut rng = rng(9);
        let mut out = Outbox::new();
        client.start(base(), method, &mut rng, &mut out);
        for bytes in steps {
            let outcome = client.handle_packet(base(), method.protocol(), &bytes, &mut rng, &mut out);
            let succeeded = matches!(outcome, Some(ClientOutcome::Success { .. }));
            prop_assert!(!succeeded, "a client succeeded without a valid server proof");
        }
    }
}
