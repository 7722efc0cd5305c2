//! CHAP (RFC 1994 §4) in both roles, with MD5 (algorithm 5) or MS-CHAPv2
//! (algorithm 0x81, RFC 2759 §4–§6), plus the MS-CHAPv2 steps EAP-MSCHAPv2
//! reuses.
//!
//! The authenticator sends a Challenge with 16 fresh random bytes and
//! retransmits the same packet on the Restart timer (as pppd does; the
//! Identifier changes only with a new challenge). The first Response with
//! the Challenge's Identifier becomes a verdict request; once the verdict
//! is sent as Success or Failure, a retransmitted Response with that
//! Identifier gets the same Success or Failure again (RFC 1994 §4.2: the
//! peer retransmits when the answer was lost). The peer answers each
//! Challenge once and re-sends the same Response for a retransmitted
//! Challenge, so both ends agree on one peer challenge.
//!
//! HLAK (MS-SSTP §3.2.5.2.2): MS-CHAPv2 binds with the MPPE keys
//! (`Hlak::from_mschapv2`), CHAP-MD5 with 32 zero bytes.

use crate::crypto::binding::Hlak;
use crate::crypto::chap::{MD5_RESPONSE_LEN, chap_md5_response};
use crate::crypto::mppe::{MasterKey, MppeKeys, Role};
use crate::crypto::mschapv2::{
    CHALLENGE_LEN, Credential, NT_RESPONSE_LEN, check_authenticator_response, generate_nt_response,
    user_name_without_domain,
};
use crate::ppp::{AuthMethod, Random};
use crate::wire::auth::{
    ChapPacket, MsChapV2Challenge, MsChapV2Failure, MsChapV2Response, MsChapV2Success,
};
use crate::wire::ppp::Protocol;

use super::request::{DEFAULT_ACCEPT_MESSAGE, DEFAULT_REJECT_MESSAGE, Final, server_hlak};
use super::{
    AuthData, AuthFailure, AuthRequest, AuthVerdict, ClientOutcome, Cx, Identity, Outstanding,
    PeerCx, Retransmit, ServerOutcome, peer_text, push, random_16, random_u8, server_name,
};

const WAITING_FOR_RESPONSE: &str = "the peer's CHAP Response";
const WAITING_FOR_VERDICT: &str = "the authentication backend's verdict";
const WAITING_FOR_CHALLENGE: &str = "the server's CHAP Challenge";
const WAITING_FOR_RESULT: &str = "the server's CHAP Success or Failure";

/// The CHAP algorithm (RFC 1994 §3 Algorithm field of the LCP option).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Algorithm {
    /// 5: MD5 (RFC 1994).
    Md5,
    /// 0x81: MS-CHAPv2 (RFC 2759).
    MsChapV2,
}

impl Algorithm {
    const fn method(self) -> AuthMethod {
        match self {
            Self::Md5 => AuthMethod::ChapMd5,
            Self::MsChapV2 => AuthMethod::MsChapV2,
        }
    }
}

#[derive(Debug)]
enum ServerState {
    Idle,
    ChallengeSent {
        challenge: [u8; CHALLENGE_LEN],
        sent: Outstanding,
    },
    Pending {
        identifier: u8,
        user_name: String,
    },
    /// The Success or Failure went out; `answer` is re-sent for a
    /// retransmitted Response.
    Done {
        identifier: u8,
        answer: Vec<u8>,
    },
    Closed,
}

/// The authenticator side of CHAP-MD5 and MS-CHAPv2.
#[derive(Debug)]
pub(super) struct ChapServer {
    algorithm: Algorithm,
    state: ServerState,
}

impl ChapServer {
    pub(super) const fn new(algorithm: Algorithm) -> Self {
        Self {
            algorithm,
            state: ServerState::Idle,
        }
    }

    /// Sends the Challenge: a random Identifier, then 16 random bytes (RFC
    /// 1994 §2.3 wants challenges "unique and unpredictable"; RFC 2759 §4
    /// fixes 16 bytes for MS-CHAPv2).
    pub(super) fn start(
        &mut self,
        config: &super::AuthenticatorConfig,
        now: std::time::Instant,
        rng: &mut dyn Random,
        out: &mut crate::ppp::Outbox,
    ) {
        let identifier = random_u8(rng);
        let challenge = random_16(rng);
        let packet = emit(&ChapPacket::Challenge {
            identifier,
            value: challenge.to_vec(),
            name: server_name(config),
        });
        let sent = Outstanding::send(
            Protocol::CHAP,
            identifier,
            packet,
            now,
            config.restart_timer,
            out,
        );
        self.state = ServerState::ChallengeSent { challenge, sent };
    }

    pub(super) fn handle(&mut self, cx: Cx<'_>, bytes: &[u8]) -> Option<ServerOutcome> {
        let packet = match ChapPacket::parse(bytes) {
            Ok(p) => p,
            Err(e) => {
                cx.counters.malformed("CHAP packet", &e);
                return None;
            }
        };
        let ChapPacket::Response {
            identifier,
            value,
            name,
        } = packet
        else {
            cx.counters.unexpected("CHAP packet other than Response");
            return None;
        };
        match &self.state {
            ServerState::ChallengeSent { challenge, sent } if sent.identifier == identifier => {
                let challenge = *challenge;
                let data = match self.algorithm {
                    Algorithm::Md5 => match <[u8; MD5_RESPONSE_LEN]>::try_from(value.as_slice()) {
                        Ok(response) => AuthData::ChapMd5 {
                            identifier,
                            challenge: challenge.to_vec(),
                            response,
                        },
                        Err(_) => {
                            cx.counters
                                .malformed("CHAP-MD5 Response", &"value is not 16 bytes");
                            return None;
                        }
                    },
                    Algorithm::MsChapV2 => match MsChapV2Response::parse(&value) {
                        Ok(r) => AuthData::MsChapV2 {
                            identifier,
                            authenticator_challenge: challenge,
                            peer_challenge: r.peer_challenge,
                            nt_response: r.nt_response,
                            flags: r.flags,
                        },
                        Err(e) => {
                            cx.counters.malformed("MS-CHAPv2 Response", &e);
                            return None;
                        }
                    },
                };
                let request = AuthRequest::from_parts(self.algorithm.method(), name, data);
                self.state = ServerState::Pending {
                    identifier,
                    user_name: request.user_name_lossy().to_owned(),
                };
                Some(ServerOutcome::NeedVerdict(request))
            }
            ServerState::Pending { .. } => {
                cx.counters
                    .unexpected("CHAP Response while the verdict is pending");
                None
            }
            ServerState::Done {
                identifier: id,
                answer,
            } if *id == identifier => {
                push(cx.out, Protocol::CHAP, answer.clone());
                None
            }
            _ => {
                cx.counters
                    .unexpected("CHAP Response with a stale Identifier");
                None
            }
        }
    }

    pub(super) fn complete(
        &mut self,
        cx: Cx<'_>,
        verdict: AuthVerdict,
        rng: &mut dyn Random,
    ) -> Option<ServerOutcome> {
        let ServerState::Pending {
            identifier,
            user_name,
        } = &self.state
        else {
            tracing::debug!("auth: CHAP verdict with none pending, ignored");
            return None;
        };
        let (identifier, username) = (*identifier, user_name.clone());
        match verdict.settle(self.algorithm.method()) {
            Final::Accept(accept) => {
                let text = accept.message.as_deref().unwrap_or(DEFAULT_ACCEPT_MESSAGE);
                let message = match self.algorithm {
                    Algorithm::Md5 => text.as_bytes().to_vec(),
                    Algorithm::MsChapV2 => {
                        let Some(response) = accept.authenticator_response else {
                            let failure = AuthFailure::LocalPolicy {
                                reason: "the backend accepted MS-CHAPv2 without an authenticator response"
                                    .into(),
                            };
                            return Some(self.fail(
                                cx,
                                identifier,
                                rng,
                                MsChapV2Failure::ERROR_AUTHENTICATION_FAILURE,
                                DEFAULT_REJECT_MESSAGE,
                                failure,
                            ));
                        };
                        success_message(response.as_bytes(), text)
                    }
                };
                let answer = emit(&ChapPacket::Success {
                    identifier,
                    message,
                });
                push(cx.out, Protocol::CHAP, answer.clone());
                self.state = ServerState::Done { identifier, answer };
                let hlak = server_hlak(self.algorithm.method(), accept.keys.as_ref());
                Some(ServerOutcome::Success { username, hlak })
            }
            Final::Reject {
                reason,
                error_code,
                message,
            } => {
                let failure = AuthFailure::Rejected {
                    message: reason,
                    mschapv2_error: (self.algorithm == Algorithm::MsChapV2).then_some(error_code),
                };
                let text = message.as_deref().unwrap_or(DEFAULT_REJECT_MESSAGE);
                Some(self.fail(cx, identifier, rng, error_code, text, failure))
            }
        }
    }

    /// Sends the Failure (RFC 2759 §6 format for MS-CHAPv2) and ends.
    fn fail(
        &mut self,
        cx: Cx<'_>,
        identifier: u8,
        rng: &mut dyn Random,
        error_code: u32,
        text: &str,
        failure: AuthFailure,
    ) -> ServerOutcome {
        let message = match self.algorithm {
            Algorithm::Md5 => text.as_bytes().to_vec(),
            Algorithm::MsChapV2 => failure_message(error_code, random_16(rng), text),
        };
        let answer = emit(&ChapPacket::Failure {
            identifier,
            message,
        });
        push(cx.out, Protocol::CHAP, answer.clone());
        self.state = ServerState::Done { identifier, answer };
        ServerOutcome::Failure(failure)
    }

    pub(super) fn retransmit_at(&self) -> Option<std::time::Instant> {
        match &self.state {
            ServerState::ChallengeSent { sent, .. } => Some(sent.retransmit_at),
            _ => None,
        }
    }

    /// Retransmits the Challenge, or gives up after `max_transmissions`.
    pub(super) fn handle_timeout(&mut self, cx: Cx<'_>) -> Option<ServerOutcome> {
        let ServerState::ChallengeSent { sent, .. } = &mut self.state else {
            return None;
        };
        match sent.on_timeout(
            cx.now,
            cx.config.restart_timer,
            cx.config.max_transmissions,
            cx.out,
        ) {
            Retransmit::NotDue | Retransmit::Resent => None,
            Retransmit::Exhausted => {
                self.state = ServerState::Closed;
                Some(ServerOutcome::Failure(AuthFailure::Timeout {
                    waiting_for: WAITING_FOR_RESPONSE,
                }))
            }
        }
    }

    pub(super) fn abort(&mut self) -> &'static str {
        let waiting_for = match self.state {
            ServerState::Idle | ServerState::ChallengeSent { .. } => WAITING_FOR_RESPONSE,
            ServerState::Pending { .. } => WAITING_FOR_VERDICT,
            ServerState::Done { .. } | ServerState::Closed => "nothing",
        };
        self.state = ServerState::Closed;
        waiting_for
    }
}

fn emit(packet: &ChapPacket) -> Vec<u8> {
    let mut out = Vec::with_capacity(packet.buffer_len());
    packet.emit(&mut out);
    out
}

/// `S=<40 hex digits> M=<text>` (RFC 2759 §5).
pub(super) fn success_message(authenticator_response: &[u8; 20], text: &str) -> Vec<u8> {
    let success = MsChapV2Success {
        authenticator_response: *authenticator_response,
        message: Some(text.as_bytes().to_vec()),
    };
    let mut out = Vec::with_capacity(success.buffer_len());
    success.emit(&mut out);
    out
}

/// `E=<code> R=0 C=<new challenge> V=3 M=<text>` (RFC 2759 §6). Retries
/// are not offered: the peer would only send the same password again.
pub(super) fn failure_message(error_code: u32, challenge: [u8; 16], text: &str) -> Vec<u8> {
    let failure = MsChapV2Failure {
        error: error_code,
        retry: Some(false),
        challenge: Some(challenge),
        version: Some(3),
        message: Some(text.as_bytes().to_vec()),
    };
    let mut out = Vec::with_capacity(failure.buffer_len());
    failure.emit(&mut out);
    out
}

/// The failure a peer reports for an MS-CHAPv2 failure message: the `M=`
/// text (or the RFC 2759 §6 meaning of the `E=` code when there is none)
/// and the code. A message that does not parse is reported raw.
pub(super) fn rejected_by_failure_message(message: &[u8]) -> AuthFailure {
    match MsChapV2Failure::parse(message) {
        Ok(failure) => AuthFailure::Rejected {
            message: match &failure.message {
                Some(m) if !m.is_empty() => peer_text(m),
                _ => error_meaning(failure.error).to_owned(),
            },
            mschapv2_error: Some(failure.error),
        },
        Err(_) => AuthFailure::Rejected {
            message: peer_text(message),
            mschapv2_error: None,
        },
    }
}

/// RFC 2759 §6 error codes in words.
const fn error_meaning(code: u32) -> &'static str {
    match code {
        MsChapV2Failure::ERROR_RESTRICTED_LOGON_HOURS => "logon not allowed at this time",
        MsChapV2Failure::ERROR_ACCT_DISABLED => "account disabled",
        MsChapV2Failure::ERROR_PASSWD_EXPIRED => "password expired",
        MsChapV2Failure::ERROR_NO_DIALIN_PERMISSION => "no dial-in permission",
        MsChapV2Failure::ERROR_AUTHENTICATION_FAILURE => "wrong user name or password",
        MsChapV2Failure::ERROR_CHANGING_PASSWORD => "error changing password",
        _ => "",
    }
}

// ---------------------------------------------------------------------------
// Peer
// ---------------------------------------------------------------------------

/// One MS-CHAPv2 answer, kept to check the server's `S=` later.
#[derive(Debug, Clone, Copy)]
pub(super) struct Exchange {
    authenticator_challenge: [u8; CHALLENGE_LEN],
    peer_challenge: [u8; CHALLENGE_LEN],
    nt_response: [u8; NT_RESPONSE_LEN],
}

impl Exchange {
    /// Answers an authenticator challenge with a fresh random peer
    /// challenge (RFC 2759 §4, §8.1), hashing the user name without its
    /// domain.
    pub(super) fn answer(
        identity: &Identity,
        authenticator_challenge: [u8; CHALLENGE_LEN],
        rng: &mut dyn Random,
    ) -> (Self, MsChapV2Response) {
        let peer_challenge = random_16(rng);
        let hash = identity.credential.nt_password_hash();
        let nt_response = generate_nt_response(
            &authenticator_challenge,
            &peer_challenge,
            user_name_without_domain(identity.user_name.as_bytes()),
            &hash,
        );
        let exchange = Self {
            authenticator_challenge,
            peer_challenge,
            nt_response,
        };
        (exchange, MsChapV2Response::new(peer_challenge, nt_response))
    }

    /// Checks a success message's `S=` in constant time (RFC 2759 §8.8);
    /// on a match, the MPPE master key (RFC 3079 §3.4). `None` when the
    /// message does not parse or the authenticator response is wrong.
    pub(super) fn verify_success(&self, identity: &Identity, message: &[u8]) -> Option<MasterKey> {
        let success = MsChapV2Success::parse(message).ok()?;
        let hash = identity.credential.nt_password_hash();
        check_authenticator_response(
            &hash,
            &self.nt_response,
            &self.peer_challenge,
            &self.authenticator_challenge,
            user_name_without_domain(identity.user_name.as_bytes()),
            &success.authenticator_response,
        )
        .then(|| MasterKey::from_password_hash(&hash, &self.nt_response))
    }
}

#[derive(Debug)]
enum PeerState {
    Waiting,
    Answered {
        identifier: u8,
        challenge: Vec<u8>,
        /// The Response packet, re-sent for a retransmitted Challenge.
        response: Vec<u8>,
        exchange: Option<Exchange>,
    },
    Done,
}

/// The peer side of CHAP-MD5 and MS-CHAPv2.
#[derive(Debug)]
pub(super) struct ChapPeer {
    algorithm: Algorithm,
    state: PeerState,
}

impl ChapPeer {
    pub(super) const fn new(algorithm: Algorithm) -> Self {
        Self {
            algorithm,
            state: PeerState::Waiting,
        }
    }

    pub(super) fn handle(
        &mut self,
        cx: PeerCx<'_>,
        bytes: &[u8],
        rng: &mut dyn Random,
    ) -> Option<ClientOutcome> {
        let packet = match ChapPacket::parse(bytes) {
            Ok(p) => p,
            Err(e) => {
                cx.counters.malformed("CHAP packet", &e);
                return None;
            }
        };
        match packet {
            ChapPacket::Challenge {
                identifier, value, ..
            } => {
                match &self.state {
                    PeerState::Done => {
                        cx.counters.unexpected("CHAP Challenge after the outcome");
                        return None;
                    }
                    PeerState::Answered {
                        identifier: id,
                        challenge,
                        response,
                        ..
                    } if *id == identifier && *challenge == value => {
                        // The server did not get our Response: same answer.
                        push(cx.out, Protocol::CHAP, response.clone());
                        return None;
                    }
                    PeerState::Waiting | PeerState::Answered { .. } => {}
                }
                self.answer(cx, identifier, value, rng)
            }
            ChapPacket::Success {
                identifier,
                message,
            } => {
                let exchange = self.take_answered(identifier, &mut *cx.counters)?;
                Some(match (self.algorithm, exchange) {
                    (Algorithm::Md5, _) => ClientOutcome::Success { hlak: Hlak::zero() },
                    (Algorithm::MsChapV2, Some(exchange)) => {
                        match exchange.verify_success(cx.identity, &message) {
                            Some(master) => ClientOutcome::Success {
                                hlak: Hlak::from_mschapv2(&MppeKeys::derive(&master, Role::Client)),
                            },
                            None => ClientOutcome::Failure(AuthFailure::MutualAuthFailed),
                        }
                    }
                    (Algorithm::MsChapV2, None) => {
                        ClientOutcome::Failure(AuthFailure::MutualAuthFailed)
                    }
                })
            }
            ChapPacket::Failure {
                identifier,
                message,
            } => {
                self.take_answered(identifier, &mut *cx.counters)?;
                Some(ClientOutcome::Failure(match self.algorithm {
                    Algorithm::Md5 => AuthFailure::Rejected {
                        message: peer_text(&message),
                        mschapv2_error: None,
                    },
                    Algorithm::MsChapV2 => rejected_by_failure_message(&message),
                }))
            }
            _ => {
                cx.counters
                    .unexpected("CHAP packet other than Challenge, Success or Failure");
                None
            }
        }
    }

    /// For a Success or Failure: `Some(exchange)` and the machine is done
    /// when it answers our Response; `None` (counted) otherwise.
    #[allow(
        clippy::option_option,
        reason = "outer: ours or not; inner: MS-CHAPv2 state"
    )]
    fn take_answered(
        &mut self,
        identifier: u8,
        counters: &mut super::Counters,
    ) -> Option<Option<Exchange>> {
        match &self.state {
            PeerState::Answered {
                identifier: id,
                exchange,
                ..
            } if *id == identifier => {
                let exchange = *exchange;
                self.state = PeerState::Done;
                Some(exchange)
            }
            _ => {
                counters.unexpected("CHAP Success/Failure that answers no Response of ours");
                None
            }
        }
    }

    fn answer(
        &mut self,
        cx: PeerCx<'_>,
        identifier: u8,
        challenge: Vec<u8>,
        rng: &mut dyn Random,
    ) -> Option<ClientOutcome> {
        let (value, exchange) = match self.algorithm {
            Algorithm::Md5 => {
                let Credential::Password(password) = &cx.identity.credential else {
                    self.state = PeerState::Done;
                    return Some(ClientOutcome::Failure(AuthFailure::LocalPolicy {
                        reason: "CHAP-MD5 needs the plaintext password, but only an NT hash is configured"
                            .into(),
                    }));
                };
                let response = chap_md5_response(identifier, password.as_bytes(), &challenge);
                (response.to_vec(), None)
            }
            Algorithm::MsChapV2 => {
                let authenticator_challenge = match MsChapV2Challenge::parse(&challenge) {
                    Ok(c) => c.0,
                    Err(e) => {
                        cx.counters.malformed("MS-CHAPv2 Challenge", &e);
                        return None;
                    }
                };
                let (exchange, response) =
                    Exchange::answer(cx.identity, authenticator_challenge, rng);
                let mut value = Vec::with_capacity(response.buffer_len());
                response.emit(&mut value);
                (value, Some(exchange))
            }
        };
        let response = emit(&ChapPacket::Response {
            identifier,
            value,
            name: cx.identity.user_name.as_bytes().to_vec(),
        });
        push(cx.out, Protocol::CHAP, response.clone());
        self.state = PeerState::Answered {
            identifier,
            challenge,
            response,
            exchange,
        };
        None
    }

    pub(super) fn abort(&mut self) -> &'static str {
        let waiting_for = match self.state {
            PeerState::Waiting => WAITING_FOR_CHALLENGE,
            PeerState::Answered { .. } => WAITING_FOR_RESULT,
            PeerState::Done => "nothing",
        };
        self.state = PeerState::Done;
        waiting_for
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{
        AUTH_CHALLENGE, CHAINED_HLAK, NT_RESPONSE, PEER_CHALLENGE, S, ScriptedRng, b, base, frames,
    };
    use super::super::{Accept, AuthPeer, Authenticator, AuthenticatorConfig, PeerConfig};
    use super::*;
    use crate::ppp::Outbox;
    use std::time::Duration;

    /// CHAP Challenge, Identifier 0x07, Value-Size 16, the RFC challenge,
    /// Name "sstp-rs" (RFC 1994 §4.1 layout).
    fn challenge_packet() -> Vec<u8> {
        b(&format!("01 07 00 1c 10 {AUTH_CHALLENGE} 737374702d7273"))
    }

    /// CHAP Response, Identifier 0x07, Value-Size 49: peer challenge, 8
    /// reserved zeros, NT-Response, flags 0; Name "User" (RFC 2759 §4).
    fn response_packet() -> Vec<u8> {
        b(&format!(
            "02 07 00 3a 31 {PEER_CHALLENGE} 0000000000000000 {NT_RESPONSE} 00 55736572"
        ))
    }

    fn ms_server() -> (Authenticator, std::time::Instant, ScriptedRng, Outbox) {
        let mut s = Authenticator::new(AuthMethod::MsChapV2, &AuthenticatorConfig::default());
        let t0 = base();
        let mut rng = ScriptedRng::new(&b(&format!("07 {AUTH_CHALLENGE}")));
        let mut out = Outbox::new();
        s.start(t0, &mut rng, &mut out);
        (s, t0, rng, out)
    }

    #[test]
    fn mschapv2_golden_exchange_rfc2759() {
        let (mut s, t0, mut srng, mut out) = ms_server();
        assert_eq!(frames(&mut out), vec![(Protocol::CHAP, challenge_packet())]);

        let mut p = AuthPeer::new(
            "User",
            Credential::from_password("clientPass"),
            &PeerConfig::default(),
        );
        let mut prng = ScriptedRng::new(&b(PEER_CHALLENGE));
        assert!(
            p.start(t0, AuthMethod::MsChapV2, &mut prng, &mut out)
                .is_none()
        );
        assert!(out.is_empty());
        assert!(
            p.handle_packet(t0, Protocol::CHAP, &challenge_packet(), &mut prng, &mut out)
                .is_none()
        );
        assert_eq!(frames(&mut out), vec![(Protocol::CHAP, response_packet())]);

        let outcome = s.handle_packet(t0, Protocol::CHAP, &response_packet(), &mut srng, &mut out);
        let Some(ServerOutcome::NeedVerdict(request)) = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(request.user_name(), b"User");
        assert!(matches!(
            request.data(),
            AuthData::MsChapV2 { identifier: 7, nt_response, peer_challenge, .. }
                if nt_response.as_slice() == b(NT_RESPONSE) && peer_challenge.as_slice() == b(PEER_CHALLENGE)
        ));
        let verdict = request.verify_with(&Credential::from_password("clientPass"));
        let outcome = s.complete(t0, verdict, &mut srng, &mut out);
        let Some(ServerOutcome::Success { username, hlak }) = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(username, "User");
        assert_eq!(hlak.as_bytes().as_slice(), b(CHAINED_HLAK));

        let success = frames(&mut out);
        let mut expected = b("03 07 00 3f");
        expected.extend_from_slice(format!("{S} M=Access granted").as_bytes());
        assert_eq!(success, vec![(Protocol::CHAP, expected.clone())]);

        let outcome = p.handle_packet(t0, Protocol::CHAP, &expected, &mut prng, &mut out);
        let Some(ClientOutcome::Success { hlak }) = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(hlak.as_bytes().as_slice(), b(CHAINED_HLAK));
        assert!(out.is_empty());
    }

    #[test]
    fn mschapv2_server_failure_message_format() {
        let (mut s, t0, mut rng, mut out) = ms_server();
        frames(&mut out);
        s.handle_packet(t0, Protocol::CHAP, &response_packet(), &mut rng, &mut out);
        // The next 16 script bytes become the new challenge in C=.
        rng.extend(&[0xab; 16]);
        let outcome = s.complete(
            t0,
            AuthVerdict::reject("wrong password"),
            &mut rng,
            &mut out,
        );
        assert!(matches!(
            outcome,
            Some(ServerOutcome::Failure(AuthFailure::Rejected { ref message, mschapv2_error: Some(691) }))
                if message == "wrong password"
        ));
        let sent = frames(&mut out);
        let ChapPacket::Failure {
            identifier: 7,
            message,
        } = ChapPacket::parse(&sent[0].1).expect("parses")
        else {
            panic!("{sent:?}");
        };
        assert_eq!(
            String::from_utf8(message).expect("ascii"),
            format!(
                "E=691 R=0 C={} V=3 M=Authentication failed",
                "AB".repeat(16)
            )
        );
    }

    #[test]
    fn server_resends_the_answer_for_a_retransmitted_response() {
        let (mut s, t0, mut rng, mut out) = ms_server();
        frames(&mut out);
        s.handle_packet(t0, Protocol::CHAP, &response_packet(), &mut rng, &mut out);
        // A Response while the verdict is pending: no second NeedVerdict.
        assert!(
            s.handle_packet(t0, Protocol::CHAP, &response_packet(), &mut rng, &mut out)
                .is_none()
        );
        assert!(out.is_empty());
        let verdict = AuthVerdict::Accept(Accept::new().with_authenticator_response(
            crate::crypto::mschapv2::AuthenticatorResponse::from_bytes([1; 20]),
        ));
        assert!(s.complete(t0, verdict, &mut rng, &mut out).is_some());
        let first = frames(&mut out);
        assert!(
            s.handle_packet(t0, Protocol::CHAP, &response_packet(), &mut rng, &mut out)
                .is_none()
        );
        assert_eq!(frames(&mut out), first, "RFC 1994 §4.2: same Success again");
        // Another Identifier: ignored.
        let mut other = response_packet();
        other[1] = 8;
        assert!(
            s.handle_packet(t0, Protocol::CHAP, &other, &mut rng, &mut out)
                .is_none()
        );
        assert!(out.is_empty());
        assert_eq!(s.counters().unexpected, 2);
    }

    #[test]
    fn server_ignores_wrong_id_and_malformed_values() {
        let (mut s, t0, mut rng, mut out) = ms_server();
        frames(&mut out);
        let mut wrong_id = response_packet();
        wrong_id[1] = 9;
        assert!(
            s.handle_packet(t0, Protocol::CHAP, &wrong_id, &mut rng, &mut out)
                .is_none()
        );
        // Value-Size 16 for MS-CHAPv2: malformed.
        let short = b(&format!("02 07 00 19 10 {AUTH_CHALLENGE} 55736572"));
        assert!(
            s.handle_packet(t0, Protocol::CHAP, &short, &mut rng, &mut out)
                .is_none()
        );
        assert!(
            s.handle_packet(t0, Protocol::CHAP, &[0x02, 0x07, 0x00], &mut rng, &mut out)
                .is_none()
        );
        assert_eq!(s.counters().malformed, 2);
        assert_eq!(s.counters().unexpected, 1);
        // Still waiting for the real one.
        assert!(matches!(
            s.handle_packet(t0, Protocol::CHAP, &response_packet(), &mut rng, &mut out),
            Some(ServerOutcome::NeedVerdict(_))
        ));
    }

    #[test]
    fn server_retransmits_the_same_challenge_then_gives_up() {
        let (mut s, t0, mut rng, mut out) = ms_server();
        let first = frames(&mut out);
        for n in 1..10u64 {
            let due = s.poll_timeout().expect("armed");
            assert_eq!(due, t0 + Duration::from_secs(3 * n));
            assert!(s.handle_timeout(due, &mut rng, &mut out).is_none());
            assert_eq!(frames(&mut out), first, "same bytes, same Identifier");
        }
        let due = s.poll_timeout().expect("armed");
        assert_eq!(due, t0 + Duration::from_secs(30));
        let outcome = s.handle_timeout(due, &mut rng, &mut out);
        assert!(matches!(
            outcome,
            Some(ServerOutcome::Failure(AuthFailure::Timeout { .. }))
        ));
        assert!(out.is_empty());
        assert_eq!(s.poll_timeout(), None);
    }

    #[test]
    fn server_without_authenticator_response_fails_locally() {
        let (mut s, t0, mut rng, mut out) = ms_server();
        frames(&mut out);
        s.handle_packet(t0, Protocol::CHAP, &response_packet(), &mut rng, &mut out);
        let outcome = s.complete(t0, AuthVerdict::Accept(Accept::new()), &mut rng, &mut out);
        assert!(matches!(
            outcome,
            Some(ServerOutcome::Failure(AuthFailure::LocalPolicy { .. }))
        ));
        let sent = frames(&mut out);
        assert_eq!(sent[0].1[0], 4, "the peer gets a Failure");
    }

    fn ms_peer(user: &str, password: &str) -> (AuthPeer, ScriptedRng, Outbox) {
        let mut p = AuthPeer::new(
            user,
            Credential::from_password(password),
            &PeerConfig::default(),
        );
        let mut rng = ScriptedRng::new(&b(PEER_CHALLENGE));
        let mut out = Outbox::new();
        p.start(base(), AuthMethod::MsChapV2, &mut rng, &mut out);
        p.handle_packet(
            base(),
            Protocol::CHAP,
            &challenge_packet(),
            &mut rng,
            &mut out,
        );
        (p, rng, out)
    }

    #[test]
    fn peer_resends_the_same_response_for_a_duplicate_challenge() {
        let (mut p, mut rng, mut out) = ms_peer("User", "clientPass");
        let first = frames(&mut out);
        rng.extend(&[0x99; 16]);
        assert!(
            p.handle_packet(
                base(),
                Protocol::CHAP,
                &challenge_packet(),
                &mut rng,
                &mut out
            )
            .is_none()
        );
        assert_eq!(frames(&mut out), first);
    }

    #[test]
    fn peer_hashes_without_domain_but_sends_the_full_name() {
        let (_p, _rng, mut out) = ms_peer("CORP\\User", "clientPass");
        let sent = frames(&mut out);
        let ChapPacket::Response { value, name, .. } =
            ChapPacket::parse(&sent[0].1).expect("parses")
        else {
            panic!("{sent:?}");
        };
        assert_eq!(name, b"CORP\\User");
        assert_eq!(
            MsChapV2Response::parse(&value)
                .expect("49")
                .nt_response
                .as_slice(),
            b(NT_RESPONSE)
        );
    }

    #[test]
    fn peer_rejects_a_bad_authenticator_response() {
        for bad in [
            "S=407A5589115FD0D6209F510FE9C04566932CDA57 M=ok".to_owned(),
            "S=0000000000000000000000000000000000000000".to_owned(),
            "S=407A5589 M=truncated".to_owned(),
            "M=no S at all".to_owned(),
            String::new(),
        ] {
            let (mut p, mut rng, mut out) = ms_peer("User", "clientPass");
            let mut packet = b("03 07 00 00");
            packet.extend_from_slice(bad.as_bytes());
            let len = u16::try_from(packet.len()).expect("short");
            packet[2..4].copy_from_slice(&len.to_be_bytes());
            let outcome = p.handle_packet(base(), Protocol::CHAP, &packet, &mut rng, &mut out);
            assert!(
                matches!(
                    outcome,
                    Some(ClientOutcome::Failure(AuthFailure::MutualAuthFailed))
                ),
                "{bad}: {outcome:?}"
            );
        }
    }

    #[test]
    fn peer_reports_the_failure_code_and_text() {
        let cases: [(&str, AuthFailure); 4] = [
            (
                "E=691 R=0 C=00000000000000000000000000000000 V=3 M=Bad password",
                AuthFailure::Rejected {
                    message: "Bad password".into(),
                    mschapv2_error: Some(691),
                },
            ),
            (
                "E=647 R=0",
                AuthFailure::Rejected {
                    message: "account disabled".into(),
                    mschapv2_error: Some(647),
                },
            ),
            (
                "garbage\x07",
                AuthFailure::Rejected {
                    message: "garbage\u{FFFD}".into(),
                    mschapv2_error: None,
                },
            ),
            (
                "E=649 R=0 M=",
                AuthFailure::Rejected {
                    message: "no dial-in permission".into(),
                    mschapv2_error: Some(649),
                },
            ),
        ];
        for (text, expected) in cases {
            let (mut p, mut rng, mut out) = ms_peer("User", "clientPass");
            let mut packet = b("04 07 00 00");
            packet.extend_from_slice(text.as_bytes());
            let len = u16::try_from(packet.len()).expect("short");
            packet[2..4].copy_from_slice(&len.to_be_bytes());
            // A Failure for another Identifier is not ours.
            let mut stale = packet.clone();
            stale[1] = 6;
            assert!(
                p.handle_packet(base(), Protocol::CHAP, &stale, &mut rng, &mut out)
                    .is_none()
            );
            let outcome = p.handle_packet(base(), Protocol::CHAP, &packet, &mut rng, &mut out);
            let Some(ClientOutcome::Failure(failure)) = outcome else {
                panic!("{outcome:?}");
            };
            assert_eq!(failure, expected);
        }
        let shown = AuthFailure::Rejected {
            message: "account disabled".into(),
            mschapv2_error: Some(647),
        };
        assert_eq!(
            shown.to_string(),
            "login refused: account disabled (MS-CHAPv2 error 647)"
        );
    }

    #[test]
    fn md5_both_roles_byte_for_byte() {
        let mut s = Authenticator::new(AuthMethod::ChapMd5, &AuthenticatorConfig::default());
        let t0 = base();
        let mut srng = ScriptedRng::new(&b("01 000102030405060708090a0b0c0d0e0f"));
        let mut out = Outbox::new();
        s.start(t0, &mut srng, &mut out);
        let challenge = frames(&mut out);
        assert_eq!(
            challenge,
            vec![(
                Protocol::CHAP,
                b("01 01 00 1c 10 000102030405060708090a0b0c0d0e0f 737374702d7273")
            )]
        );
        let mut p = AuthPeer::new(
            "bob",
            Credential::from_password("secret"),
            &PeerConfig::default(),
        );
        let mut prng = ScriptedRng::default();
        p.start(t0, AuthMethod::ChapMd5, &mut prng, &mut out);
        p.handle_packet(t0, Protocol::CHAP, &challenge[0].1, &mut prng, &mut out);
        let response = frames(&mut out);
        let expected = chap_md5_response(1, b"secret", &b("000102030405060708090a0b0c0d0e0f"));
        let mut packet = b("02 01 00 18 10");
        packet.extend_from_slice(&expected);
        packet.extend_from_slice(b"bob");
        assert_eq!(response, vec![(Protocol::CHAP, packet)]);

        let Some(ServerOutcome::NeedVerdict(request)) =
            s.handle_packet(t0, Protocol::CHAP, &response[0].1, &mut srng, &mut out)
        else {
            panic!("no verdict request");
        };
        assert!(matches!(
            request.data(),
            AuthData::ChapMd5 { identifier: 1, .. }
        ));
        let verdict = request.verify_with(&Credential::from_password("secret"));
        let Some(ServerOutcome::Success { hlak, .. }) =
            s.complete(t0, verdict, &mut srng, &mut out)
        else {
            panic!("not accepted");
        };
        assert_eq!(hlak.as_bytes(), &[0; 32]);
        let success = frames(&mut out);
        let mut expected = b("03 01 00 12");
        expected.extend_from_slice(b"Access granted");
        assert_eq!(success, vec![(Protocol::CHAP, expected)]);
        let Some(ClientOutcome::Success { hlak }) =
            p.handle_packet(t0, Protocol::CHAP, &success[0].1, &mut prng, &mut out)
        else {
            panic!("client did not succeed");
        };
        assert_eq!(hlak.as_bytes(), &[0; 32]);
    }

    #[test]
    fn md5_peer_with_only_a_hash_fails_at_start() {
        let mut p = AuthPeer::new(
            "bob",
            Credential::from_nt_hash([0; 16]),
            &PeerConfig::default(),
        );
        let mut out = Outbox::new();
        let outcome = p.start(
            base(),
            AuthMethod::ChapMd5,
            &mut ScriptedRng::default(),
            &mut out,
        );
        assert!(matches!(
            outcome,
            Some(ClientOutcome::Failure(AuthFailure::LocalPolicy { .. }))
        ));
        // MS-CHAPv2 works from the hash alone.
        let mut p = AuthPeer::new(
            "bob",
            Credential::from_nt_hash([0; 16]),
            &PeerConfig::default(),
        );
        assert!(
            p.start(
                base(),
                AuthMethod::MsChapV2,
                &mut ScriptedRng::default(),
                &mut out
            )
            .is_none()
        );
    }

    #[test]
    fn peer_times_out_waiting() {
        let (mut p, _rng, mut out) = ms_peer("User", "clientPass");
        let due = p.poll_timeout().expect("overall deadline");
        assert_eq!(due, base_plus(30));
        let outcome = p.handle_timeout(due, &mut out);
        assert!(matches!(
            outcome,
            Some(ClientOutcome::Failure(AuthFailure::Timeout {
                waiting_for: WAITING_FOR_RESULT
            }))
        ));
    }

    fn base_plus(secs: u64) -> std::time::Instant {
        base() + Duration::from_secs(secs)
    }
}
