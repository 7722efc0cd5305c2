//! PAP (RFC 1334 §2) in both roles.
//!
//! The peer sends Authenticate-Request and retransmits it on the Restart
//! timer, with a new Identifier each time (RFC 1334 §2.2.1 "MUST be
//! changed each time an Authenticate-Request packet is issued"); it accepts
//! an Ack or Nak for any Identifier it used, since the answer to an earlier
//! copy may arrive late. The authenticator answers the first request once
//! the verdict is in, and answers later copies of the same request with the
//! same Ack or Nak (the peer retransmits when the answer is lost).
//!
//! PAP derives no keys: both sides bind with the zero HLAK (MS-SSTP
//! §3.2.5.2.2).

use std::time::Instant;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::crypto::binding::Hlak;
use crate::crypto::mschapv2::Credential;
use crate::ppp::{AuthMethod, Outbox, Random};
use crate::wire::auth::PapPacket;
use crate::wire::ppp::Protocol;

use super::request::{DEFAULT_ACCEPT_MESSAGE, DEFAULT_REJECT_MESSAGE, Final, server_hlak};
use super::{
    AuthData, AuthFailure, AuthRequest, AuthVerdict, ClientOutcome, Cx, Identity, PapPassword,
    PeerConfig, PeerCx, ServerOutcome, after, peer_text, push, random_u8,
};

const WAITING_FOR_REQUEST: &str = "the peer's PAP Authenticate-Request";
const WAITING_FOR_VERDICT: &str = "the authentication backend's verdict";
const WAITING_FOR_ANSWER: &str = "the server's PAP Authenticate-Ack or Authenticate-Nak";

/// The credentials of the request under evaluation, to recognise its
/// retransmissions.
#[derive(Debug)]
struct Evaluated {
    peer_id: Vec<u8>,
    password: PapPassword,
}

impl Evaluated {
    fn is_same(&self, peer_id: &[u8], password: &[u8]) -> bool {
        self.peer_id == peer_id && bool::from(self.password.as_bytes().ct_eq(password))
    }
}

#[derive(Debug)]
enum ServerState {
    Waiting,
    Pending {
        request: Evaluated,
        /// Identifier of the latest copy of the request: the peer may have
        /// moved on to a new Identifier while the backend worked.
        reply_id: u8,
    },
    Done {
        request: Evaluated,
        ack: bool,
        message: Vec<u8>,
    },
    Closed,
}

/// The authenticator side of PAP.
#[derive(Debug)]
pub(super) struct PapServer {
    state: ServerState,
}

impl PapServer {
    pub(super) const fn new() -> Self {
        Self {
            state: ServerState::Waiting,
        }
    }

    pub(super) fn handle(&mut self, cx: Cx<'_>, bytes: &[u8]) -> Option<ServerOutcome> {
        let packet = match PapPacket::parse(bytes) {
            Ok(p) => p,
            Err(e) => {
                cx.counters.malformed("PAP packet", &e);
                return None;
            }
        };
        let PapPacket::AuthenticateRequest {
            identifier,
            peer_id,
            password,
        } = packet
        else {
            cx.counters
                .unexpected("PAP packet other than Authenticate-Request");
            return None;
        };
        match &mut self.state {
            ServerState::Waiting => {
                let password = PapPassword::new(password.to_vec());
                self.state = ServerState::Pending {
                    request: Evaluated {
                        peer_id: peer_id.clone(),
                        password: password.clone(),
                    },
                    reply_id: identifier,
                };
                let data = AuthData::Pap { password };
                Some(ServerOutcome::NeedVerdict(AuthRequest::from_parts(
                    AuthMethod::Pap,
                    peer_id,
                    data,
                )))
            }
            ServerState::Pending { request, reply_id } if request.is_same(&peer_id, &password) => {
                tracing::debug!("auth: PAP request repeated while the verdict is pending");
                *reply_id = identifier;
                None
            }
            ServerState::Done {
                request,
                ack,
                message,
            } if request.is_same(&peer_id, &password) => {
                // RFC 1334 §2.2.1: the peer retransmits when our answer is
                // lost; answer again, under the Identifier of this copy.
                push(cx.out, Protocol::PAP, reply(*ack, identifier, message));
                None
            }
            _ => {
                cx.counters
                    .unexpected("PAP Authenticate-Request (other credentials or state)");
                None
            }
        }
    }

    pub(super) fn complete(&mut self, cx: Cx<'_>, verdict: AuthVerdict) -> Option<ServerOutcome> {
        let state = core::mem::replace(&mut self.state, ServerState::Closed);
        let ServerState::Pending { request, reply_id } = state else {
            self.state = state;
            tracing::debug!("auth: PAP verdict with none pending, ignored");
            return None;
        };
        let username = String::from_utf8_lossy(&request.peer_id).into_owned();
        let (ack, message, outcome) = match verdict.settle(AuthMethod::Pap) {
            Final::Accept(accept) => {
                let message = accept.message.as_deref().unwrap_or(DEFAULT_ACCEPT_MESSAGE);
                let hlak = server_hlak(AuthMethod::Pap, accept.keys.as_ref());
                (
                    true,
                    message_bytes(message),
                    ServerOutcome::Success { username, hlak },
                )
            }
            Final::Reject {
                reason, message, ..
            } => {
                let message = message.as_deref().unwrap_or(DEFAULT_REJECT_MESSAGE);
                let failure = AuthFailure::Rejected {
                    message: reason,
                    mschapv2_error: None,
                };
                (
                    false,
                    message_bytes(message),
                    ServerOutcome::Failure(failure),
                )
            }
        };
        push(cx.out, Protocol::PAP, reply(ack, reply_id, &message));
        self.state = ServerState::Done {
            request,
            ack,
            message,
        };
        Some(outcome)
    }

    /// Stops for good; returns what was awaited.
    pub(super) fn abort(&mut self) -> &'static str {
        let waiting_for = match self.state {
            ServerState::Waiting => WAITING_FOR_REQUEST,
            ServerState::Pending { .. } => WAITING_FOR_VERDICT,
            ServerState::Done { .. } | ServerState::Closed => "nothing",
        };
        self.state = ServerState::Closed;
        waiting_for
    }
}

/// A PAP Message field holds at most 255 bytes (RFC 1334 §2.2.2 Msg-Length).
fn message_bytes(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    bytes.get(..255).unwrap_or(bytes).to_vec()
}

fn reply(ack: bool, identifier: u8, message: &[u8]) -> Vec<u8> {
    let message = message.to_vec();
    let packet = if ack {
        PapPacket::AuthenticateAck {
            identifier,
            message,
        }
    } else {
        PapPacket::AuthenticateNak {
            identifier,
            message,
        }
    };
    let mut out = Vec::with_capacity(packet.buffer_len());
    packet.emit(&mut out);
    out
}

// ---------------------------------------------------------------------------
// Peer
// ---------------------------------------------------------------------------

#[derive(Debug)]
enum PeerState {
    Sending {
        /// Every Identifier used so far: an answer to any of them counts.
        ids: Vec<u8>,
        transmissions: u32,
        retransmit_at: Instant,
    },
    Done,
}

/// The peer side of PAP.
#[derive(Debug)]
pub(super) struct PapPeer {
    state: PeerState,
}

impl PapPeer {
    /// Sends the first Authenticate-Request.
    pub(super) fn start(
        identity: &Identity,
        config: &PeerConfig,
        now: Instant,
        rng: &mut dyn Random,
        out: &mut Outbox,
    ) -> (Self, Option<ClientOutcome>) {
        let identifier = random_u8(rng);
        match request(identity, identifier) {
            Ok(packet) => {
                push(out, Protocol::PAP, packet.to_vec());
                let state = PeerState::Sending {
                    ids: vec![identifier],
                    transmissions: 1,
                    retransmit_at: after(now, config.restart_timer),
                };
                (Self { state }, None)
            }
            Err(failure) => (
                Self {
                    state: PeerState::Done,
                },
                Some(ClientOutcome::Failure(failure)),
            ),
        }
    }

    pub(super) fn handle(&mut self, cx: PeerCx<'_>, bytes: &[u8]) -> Option<ClientOutcome> {
        let packet = match PapPacket::parse(bytes) {
            Ok(p) => p,
            Err(e) => {
                cx.counters.malformed("PAP packet", &e);
                return None;
            }
        };
        let PeerState::Sending { ids, .. } = &self.state else {
            cx.counters.unexpected("PAP packet after the outcome");
            return None;
        };
        if !ids.contains(&packet.identifier()) {
            cx.counters.unexpected("PAP answer with a stale Identifier");
            return None;
        }
        match packet {
            PapPacket::AuthenticateAck { .. } => {
                self.state = PeerState::Done;
                Some(ClientOutcome::Success { hlak: Hlak::zero() })
            }
            PapPacket::AuthenticateNak { message, .. } => {
                self.state = PeerState::Done;
                Some(ClientOutcome::Failure(AuthFailure::Rejected {
                    message: peer_text(&message),
                    mschapv2_error: None,
                }))
            }
            _ => {
                cx.counters.unexpected("PAP packet other than Ack or Nak");
                None
            }
        }
    }

    pub(super) fn retransmit_at(&self) -> Option<Instant> {
        match &self.state {
            PeerState::Sending { retransmit_at, .. } => Some(*retransmit_at),
            PeerState::Done => None,
        }
    }

    /// Retransmits under a new Identifier, or gives up after
    /// `max_transmissions`.
    pub(super) fn handle_timeout(
        &mut self,
        identity: &Identity,
        config: &PeerConfig,
        now: Instant,
        out: &mut Outbox,
    ) -> Option<ClientOutcome> {
        let PeerState::Sending {
            ids,
            transmissions,
            retransmit_at,
        } = &mut self.state
        else {
            return None;
        };
        if now < *retransmit_at {
            return None;
        }
        if *transmissions >= config.max_transmissions.max(1) {
            self.state = PeerState::Done;
            return Some(ClientOutcome::Failure(AuthFailure::Timeout {
                waiting_for: WAITING_FOR_ANSWER,
            }));
        }
        let identifier = ids.last().map_or(0, |id| id.wrapping_add(1));
        match request(identity, identifier) {
            Ok(packet) => push(out, Protocol::PAP, packet.to_vec()),
            Err(failure) => {
                self.state = PeerState::Done;
                return Some(ClientOutcome::Failure(failure));
            }
        }
        if !ids.contains(&identifier) {
            ids.push(identifier);
        }
        *transmissions = transmissions.saturating_add(1);
        *retransmit_at = after(now, config.restart_timer);
        None
    }

    pub(super) fn abort(&mut self) -> &'static str {
        self.state = PeerState::Done;
        WAITING_FOR_ANSWER
    }
}

/// The Authenticate-Request bytes (zeroized once sent: the copy in the
/// outbox is the link's).
fn request(identity: &Identity, identifier: u8) -> Result<Zeroizing<Vec<u8>>, AuthFailure> {
    let Credential::Password(password) = &identity.credential else {
        return Err(AuthFailure::LocalPolicy {
            reason: "PAP needs the plaintext password, but only an NT hash is configured".into(),
        });
    };
    let peer_id = identity.user_name.as_bytes();
    if peer_id.len() > 255 || password.len() > 255 {
        return Err(AuthFailure::LocalPolicy {
            reason: "PAP carries at most 255 bytes of user name and of password".into(),
        });
    }
    let packet = PapPacket::AuthenticateRequest {
        identifier,
        peer_id: peer_id.to_vec(),
        password: Zeroizing::new(password.as_bytes().to_vec()),
    };
    let mut out = Zeroizing::new(Vec::with_capacity(packet.buffer_len()));
    packet.emit(&mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{ScriptedRng, base, frames};
    use super::super::{
        Accept, AuthPeer, Authenticator, AuthenticatorConfig, Counters, PeerConfig,
    };
    use super::*;
    use std::time::Duration;

    fn b(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).expect("test hex")
    }

    // RFC 1334 §2.2.1 layout: Code 1, Identifier 0x2a, Length 16,
    // Peer-ID-Length 5 "alice", Passwd-Length 5 "s3cr3".
    const REQUEST: &str = "01 2a 00 10 05 616c696365 05 7333637233";

    fn server() -> (Authenticator, Instant, ScriptedRng, Outbox) {
        let mut s = Authenticator::new(AuthMethod::Pap, &AuthenticatorConfig::default());
        let t0 = base();
        let mut rng = ScriptedRng::default();
        let mut out = Outbox::new();
        s.start(t0, &mut rng, &mut out);
        assert!(out.is_empty(), "a PAP authenticator waits");
        (s, t0, rng, out)
    }

    #[test]
    fn server_asks_for_a_verdict_then_acks_byte_for_byte() {
        let (mut s, t0, mut rng, mut out) = server();
        let outcome = s.handle_packet(t0, Protocol::PAP, &b(REQUEST), &mut rng, &mut out);
        let Some(ServerOutcome::NeedVerdict(request)) = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(request.method(), AuthMethod::Pap);
        assert_eq!(request.user_name(), b"alice");
        assert!(
            matches!(request.data(), AuthData::Pap { password } if password.as_bytes() == b"s3cr3")
        );
        let verdict = request.verify_with(&Credential::from_password("s3cr3"));
        let outcome = s.complete(t0, verdict, &mut rng, &mut out);
        let Some(ServerOutcome::Success { username, hlak }) = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(username, "alice");
        assert_eq!(hlak.as_bytes(), &[0; 32]);
        // Authenticate-Ack, Identifier 0x2a, Msg-Length 14 "Access granted".
        assert_eq!(
            frames(&mut out),
            vec![(
                Protocol::PAP,
                b("02 2a 00 13 0e 416363657373 206772616e746564")
            )]
        );
        assert!(s.is_finished());
        assert_eq!(s.poll_timeout(), None);
    }

    #[test]
    fn server_naks_with_generic_text_and_keeps_the_reason() {
        let (mut s, t0, mut rng, mut out) = server();
        s.handle_packet(t0, Protocol::PAP, &b(REQUEST), &mut rng, &mut out);
        let outcome = s.complete(t0, AuthVerdict::reject("no such user"), &mut rng, &mut out);
        assert!(matches!(
            outcome,
            Some(ServerOutcome::Failure(AuthFailure::Rejected { ref message, mschapv2_error: None }))
                if message == "no such user"
        ));
        let sent = frames(&mut out);
        assert_eq!(sent.len(), 1);
        let reply = PapPacket::parse(&sent[0].1).expect("parses");
        assert_eq!(
            reply,
            PapPacket::AuthenticateNak {
                identifier: 0x2a,
                message: b"Authentication failed".to_vec()
            }
        );
    }

    #[test]
    fn server_ignores_repeats_while_pending_and_answers_the_latest_id() {
        let (mut s, t0, mut rng, mut out) = server();
        assert!(
            s.handle_packet(t0, Protocol::PAP, &b(REQUEST), &mut rng, &mut out)
                .is_some()
        );
        let mut again = b(REQUEST);
        again[1] = 0x2b;
        assert!(
            s.handle_packet(t0, Protocol::PAP, &again, &mut rng, &mut out)
                .is_none()
        );
        // Other credentials while pending: ignored and counted.
        let mut other = b(REQUEST);
        other[15] ^= 1;
        assert!(
            s.handle_packet(t0, Protocol::PAP, &other, &mut rng, &mut out)
                .is_none()
        );
        assert_eq!(s.counters().unexpected, 1);
        s.complete(t0, AuthVerdict::Accept(Accept::new()), &mut rng, &mut out);
        let sent = frames(&mut out);
        assert_eq!(sent[0].1[1], 0x2b, "answer under the latest Identifier");
        // A second verdict is ignored.
        assert!(
            s.complete(t0, AuthVerdict::Accept(Accept::new()), &mut rng, &mut out)
                .is_none()
        );
        assert!(out.is_empty());
    }

    #[test]
    fn server_re_answers_a_retransmitted_request_after_the_verdict() {
        let (mut s, t0, mut rng, mut out) = server();
        s.handle_packet(t0, Protocol::PAP, &b(REQUEST), &mut rng, &mut out);
        s.complete(t0, AuthVerdict::reject("x"), &mut rng, &mut out);
        frames(&mut out);
        let mut again = b(REQUEST);
        again[1] = 0x30;
        assert!(
            s.handle_packet(t0, Protocol::PAP, &again, &mut rng, &mut out)
                .is_none()
        );
        let sent = frames(&mut out);
        assert_eq!(sent.len(), 1);
        assert_eq!(
            &sent[0].1[..2],
            &[0x03, 0x30],
            "the same Nak, new Identifier"
        );
    }

    #[test]
    fn server_counts_malformed_and_ignores_other_protocols() {
        let (mut s, t0, mut rng, mut out) = server();
        assert!(
            s.handle_packet(t0, Protocol::PAP, &b("01 2a 00 10 05"), &mut rng, &mut out)
                .is_none()
        );
        assert!(
            s.handle_packet(t0, Protocol::CHAP, &b(REQUEST), &mut rng, &mut out)
                .is_none()
        );
        assert!(
            s.handle_packet(t0, Protocol::PAP, &b("02 01 00 05 00"), &mut rng, &mut out)
                .is_none()
        );
        assert_eq!(
            s.counters(),
            Counters {
                malformed: 1,
                unexpected: 2
            }
        );
        assert!(out.is_empty());
    }

    #[test]
    fn server_times_out_waiting_for_the_request_or_the_verdict() {
        let (mut s, t0, mut rng, mut out) = server();
        assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(30)));
        assert!(
            s.handle_timeout(t0 + Duration::from_secs(29), &mut rng, &mut out)
                .is_none()
        );
        let outcome = s.handle_timeout(t0 + Duration::from_secs(30), &mut rng, &mut out);
        assert!(matches!(
            outcome,
            Some(ServerOutcome::Failure(AuthFailure::Timeout {
                waiting_for: WAITING_FOR_REQUEST
            }))
        ));
        let (mut s, t0, mut rng, mut out) = server();
        s.handle_packet(t0, Protocol::PAP, &b(REQUEST), &mut rng, &mut out);
        let outcome = s.handle_timeout(t0 + Duration::from_secs(30), &mut rng, &mut out);
        assert!(matches!(
            outcome,
            Some(ServerOutcome::Failure(AuthFailure::Timeout {
                waiting_for: WAITING_FOR_VERDICT
            }))
        ));
        // A late verdict changes nothing.
        assert!(
            s.complete(t0, AuthVerdict::Accept(Accept::new()), &mut rng, &mut out)
                .is_none()
        );
        assert!(out.is_empty());
    }

    fn peer(password: &str) -> (AuthPeer, Instant, ScriptedRng, Outbox) {
        let p = AuthPeer::new(
            "alice",
            Credential::from_password(password),
            &PeerConfig::default(),
        );
        (p, base(), ScriptedRng::new(&[0x2a]), Outbox::new())
    }

    #[test]
    fn peer_sends_the_request_and_takes_the_ack() {
        let (mut p, t0, mut rng, mut out) = peer("s3cr3");
        assert!(p.start(t0, AuthMethod::Pap, &mut rng, &mut out).is_none());
        assert_eq!(frames(&mut out), vec![(Protocol::PAP, b(REQUEST))]);
        // An Ack for another Identifier is not ours.
        assert!(
            p.handle_packet(t0, Protocol::PAP, &b("02 2b 00 05 00"), &mut rng, &mut out)
                .is_none()
        );
        let outcome = p.handle_packet(t0, Protocol::PAP, &b("02 2a 00 05 00"), &mut rng, &mut out);
        let Some(ClientOutcome::Success { hlak }) = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(hlak.as_bytes(), &[0; 32]);
        assert_eq!(p.poll_timeout(), None);
        assert_eq!(p.counters().unexpected, 1);
    }

    #[test]
    fn peer_retransmits_with_new_ids_and_accepts_a_late_answer() {
        let (mut p, t0, mut rng, mut out) = peer("s3cr3");
        p.start(t0, AuthMethod::Pap, &mut rng, &mut out);
        frames(&mut out);
        let t1 = t0 + Duration::from_secs(3);
        assert_eq!(p.poll_timeout(), Some(t1));
        assert!(
            p.handle_timeout(t1 - Duration::from_millis(1), &mut out)
                .is_none()
        );
        assert!(out.is_empty(), "not due yet");
        assert!(p.handle_timeout(t1, &mut out).is_none());
        let sent = frames(&mut out);
        let mut expected = b(REQUEST);
        expected[1] = 0x2b;
        assert_eq!(sent, vec![(Protocol::PAP, expected)]);
        // The Nak to the first copy still counts.
        let outcome = p.handle_packet(
            t1,
            Protocol::PAP,
            &b("03 2a 00 0a 05 4e6f7065 21"),
            &mut rng,
            &mut out,
        );
        assert!(matches!(
            outcome,
            Some(ClientOutcome::Failure(AuthFailure::Rejected { ref message, mschapv2_error: None }))
                if message == "Nope!"
        ));
    }

    #[test]
    fn peer_gives_up_after_max_transmissions() {
        let config = PeerConfig {
            max_transmissions: 3,
            ..PeerConfig::default()
        };
        let mut p = AuthPeer::new("alice", Credential::from_password("pw"), &config);
        let (t0, mut rng, mut out) = (base(), ScriptedRng::default(), Outbox::new());
        p.start(t0, AuthMethod::Pap, &mut rng, &mut out);
        let mut outcome = None;
        let mut now = t0;
        while outcome.is_none() {
            now = p.poll_timeout().expect("a deadline");
            outcome = p.handle_timeout(now, &mut out);
        }
        assert_eq!(frames(&mut out).len(), 3);
        assert_eq!(now, t0 + Duration::from_secs(9));
        assert!(matches!(
            outcome,
            Some(ClientOutcome::Failure(AuthFailure::Timeout {
                waiting_for: WAITING_FOR_ANSWER
            }))
        ));
    }

    #[test]
    fn peer_refuses_pap_without_plaintext_or_with_oversized_fields() {
        let mut p = AuthPeer::new(
            "alice",
            Credential::from_nt_hash([0; 16]),
            &PeerConfig::default(),
        );
        let (t0, mut rng, mut out) = (base(), ScriptedRng::default(), Outbox::new());
        let outcome = p.start(t0, AuthMethod::Pap, &mut rng, &mut out);
        assert!(matches!(
            outcome,
            Some(ClientOutcome::Failure(AuthFailure::LocalPolicy { .. }))
        ));
        assert!(out.is_empty());
        let mut p = AuthPeer::new(
            "a".repeat(256),
            Credential::from_password("pw"),
            &PeerConfig::default(),
        );
        let outcome = p.start(t0, AuthMethod::Pap, &mut rng, &mut out);
        assert!(
            matches!(outcome, Some(ClientOutcome::Failure(AuthFailure::LocalPolicy { ref reason })) if reason.contains("255"))
        );
        assert!(out.is_empty());
    }
}
