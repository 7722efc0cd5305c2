//! EAP (RFC 3748) in both roles, running EAP-MSCHAPv2 (type 26,
//! draft-kamath-pppext-eap-mschapv2-00; the Windows state machines are in
//! [MS-CHAP] §3.2 and §3.3).
//!
//! Server: Request/Identity → Response/Identity → Request/EAP-MSCHAPv2
//! Challenge → Response (→ verdict) → Success Request → Success Response →
//! EAP-Success; or, on a reject, Failure Request → Failure Response →
//! EAP-Failure. The authenticator retransmits its Requests on the Restart
//! timer (RFC 3748 §4.3: the peer never retransmits on its own) and accepts
//! only a Response with the Identifier of its outstanding Request. A Windows
//! peer may skip the Failure Response ([MS-CHAP] §3.2.5.4 "SHOULD trigger
//! ... Failed or MAY prepare a Failure-Response"), so the Failure Request
//! is sent once and EAP-Failure follows after one Restart period at most.
//!
//! Peer: answers Identity with the user name, Notification with an empty
//! Notification (RFC 3748 §5.2), an EAP-MSCHAPv2 Challenge with a Response,
//! a Success Request whose `S=` verifies with a Success Response, and any
//! other method with a Nak asking for type 26 (RFC 3748 §5.3). A duplicate
//! Request gets the original Response again without being reprocessed
//! (RFC 3748 §4.1). EAP-Success counts only after a verified
//! EAP-MSCHAPv2 success: a server cannot skip authentication.
//!
//! The MS-CHAPv2-ID of the Challenge equals its EAP Identifier (as hostapd
//! does); Success and Failure Requests echo the MS-CHAPv2-ID of the peer's
//! Response. The user name of the verdict request is the Name of the
//! peer's EAP-MSCHAPv2 Response, the one its NT-Response hashes; the EAP
//! Identity is only logged (Windows sends the same name in both). HLAK: the EAP-MSCHAPv2 MSK's first 32 bytes (MS-SSTP
//! §3.2.5.2.2 "other EAP methods").

use crate::crypto::binding::Hlak;
use crate::crypto::mppe::Msk;
use crate::ppp::{AuthMethod, Outbox, Random};
use crate::wire::auth::{EapData, EapMsChapV2, EapPacket, EapType, MsChapV2Challenge};
use crate::wire::ppp::Protocol;

use super::chap::{Exchange, failure_message, rejected_by_failure_message, success_message};
use super::request::{DEFAULT_ACCEPT_MESSAGE, DEFAULT_REJECT_MESSAGE, server_hlak};
use super::{
    AuthData, AuthFailure, AuthRequest, AuthVerdict, AuthenticatorConfig, ClientOutcome, Cx,
    Identity, Outstanding, PeerCx, Retransmit, ServerOutcome, peer_text, push, random_16,
    random_u8, server_name,
};

/// RFC 3748 §5.3.2 Expanded Nak (Type 254 follows in the EAP data): Vendor-Id
/// 0 (IETF), Vendor-Type 3 (Nak), then the one type we want in expanded
/// form: Type 254, Vendor-Id 0, Vendor-Type 26.
const EXPANDED_NAK: [u8; 15] = [0, 0, 0, 0, 0, 0, 3, 254, 0, 0, 0, 0, 0, 0, 26];

#[derive(Debug)]
enum ServerState {
    Idle,
    IdentitySent {
        sent: Outstanding,
    },
    ChallengeSent {
        sent: Outstanding,
        challenge: [u8; 16],
    },
    Pending {
        /// Identifier of the Response under evaluation.
        last_id: u8,
        ms_chapv2_id: u8,
        user_name: String,
    },
    SuccessSent {
        sent: Outstanding,
        user_name: String,
        hlak: Hlak,
    },
    FailureSent {
        sent: Outstanding,
        failure: AuthFailure,
    },
    Done,
}

impl ServerState {
    const fn outstanding(&self) -> Option<&Outstanding> {
        match self {
            Self::IdentitySent { sent }
            | Self::ChallengeSent { sent, .. }
            | Self::SuccessSent { sent, .. }
            | Self::FailureSent { sent, .. } => Some(sent),
            Self::Idle | Self::Pending { .. } | Self::Done => None,
        }
    }

    const fn waiting_for(&self) -> &'static str {
        match self {
            Self::Idle | Self::IdentitySent { .. } => "the peer's EAP Identity Response",
            Self::ChallengeSent { .. } => "the peer's EAP-MSCHAPv2 Response",
            Self::Pending { .. } => "the authentication backend's verdict",
            Self::SuccessSent { .. } => "the peer's EAP-MSCHAPv2 Success Response",
            Self::FailureSent { .. } => "the peer's EAP-MSCHAPv2 Failure Response",
            Self::Done => "nothing",
        }
    }
}

/// The authenticator side of EAP-MSCHAPv2.
#[derive(Debug)]
pub(super) struct EapServer {
    state: ServerState,
}

impl EapServer {
    pub(super) const fn new() -> Self {
        Self {
            state: ServerState::Idle,
        }
    }

    /// Sends Request/Identity under a random Identifier.
    pub(super) fn start(
        &mut self,
        config: &AuthenticatorConfig,
        now: std::time::Instant,
        rng: &mut dyn Random,
        out: &mut Outbox,
    ) {
        let identifier = random_u8(rng);
        let packet = emit(&EapPacket::Request {
            identifier,
            data: EapData::Identity(Vec::new()),
        });
        let sent = Outstanding::send(
            Protocol::EAP,
            identifier,
            packet,
            now,
            config.restart_timer,
            out,
        );
        self.state = ServerState::IdentitySent { sent };
    }

    pub(super) fn handle(
        &mut self,
        cx: Cx<'_>,
        bytes: &[u8],
        rng: &mut dyn Random,
    ) -> Option<ServerOutcome> {
        let packet = match EapPacket::parse(bytes) {
            Ok(p) => p,
            Err(e) => {
                cx.counters.malformed("EAP packet", &e);
                return None;
            }
        };
        let EapPacket::Response { identifier, data } = packet else {
            cx.counters.unexpected("EAP packet other than Response");
            return None;
        };
        let Some(sent) = self.state.outstanding() else {
            cx.counters
                .unexpected("EAP Response with no Request outstanding");
            return None;
        };
        if sent.identifier != identifier {
            cx.counters
                .unexpected("EAP Response with a stale Identifier");
            return None;
        }
        let state = core::mem::replace(&mut self.state, ServerState::Done);
        let (next, outcome) = match (state, data) {
            (ServerState::IdentitySent { sent }, EapData::Identity(identity)) => {
                tracing::debug!(identity = %peer_text(&identity), "auth: EAP identity");
                let identifier = sent.identifier.wrapping_add(1);
                let challenge = random_16(rng);
                let packet = emit(&EapPacket::Request {
                    identifier,
                    data: EapData::MsChapV2(EapMsChapV2::Challenge {
                        ms_chapv2_id: identifier,
                        challenge: MsChapV2Challenge(challenge),
                        name: server_name(cx.config),
                        ms_length_mismatch: None,
                    }),
                });
                let sent = Outstanding::send(
                    Protocol::EAP,
                    identifier,
                    packet,
                    cx.now,
                    cx.config.restart_timer,
                    cx.out,
                );
                (ServerState::ChallengeSent { sent, challenge }, None)
            }
            (
                ServerState::ChallengeSent { sent, challenge },
                EapData::MsChapV2(EapMsChapV2::Response {
                    ms_chapv2_id,
                    response,
                    name,
                    ..
                }),
            ) => {
                let data = AuthData::MsChapV2 {
                    identifier: ms_chapv2_id,
                    authenticator_challenge: challenge,
                    peer_challenge: response.peer_challenge,
                    nt_response: response.nt_response,
                    flags: response.flags,
                };
                let request = AuthRequest::from_parts(AuthMethod::EapMsChapV2, name, data);
                let pending = ServerState::Pending {
                    last_id: sent.identifier,
                    ms_chapv2_id,
                    user_name: request.user_name_lossy().to_owned(),
                };
                (pending, Some(ServerOutcome::NeedVerdict(request)))
            }
            (ServerState::ChallengeSent { sent, .. }, EapData::Nak(types)) => {
                push(cx.out, Protocol::EAP, eap_failure(sent.identifier));
                let failure = AuthFailure::MethodNotSupported {
                    detail: nak_detail(&types),
                };
                (ServerState::Done, Some(ServerOutcome::Failure(failure)))
            }
            (
                ServerState::SuccessSent {
                    sent,
                    user_name,
                    hlak,
                },
                EapData::MsChapV2(EapMsChapV2::SuccessResponse { .. }),
            ) => {
                push(
                    cx.out,
                    Protocol::EAP,
                    emit(&EapPacket::Success {
                        identifier: sent.identifier,
                    }),
                );
                let outcome = ServerOutcome::Success {
                    username: user_name,
                    hlak,
                };
                (ServerState::Done, Some(outcome))
            }
            (
                ServerState::SuccessSent { sent, .. },
                EapData::MsChapV2(EapMsChapV2::FailureResponse { .. }),
            ) => {
                // The peer did not accept our authenticator response.
                push(cx.out, Protocol::EAP, eap_failure(sent.identifier));
                (
                    ServerState::Done,
                    Some(ServerOutcome::Failure(AuthFailure::MutualAuthFailed)),
                )
            }
            (
                ServerState::FailureSent { sent, failure },
                EapData::MsChapV2(EapMsChapV2::FailureResponse { .. }),
            ) => {
                push(cx.out, Protocol::EAP, eap_failure(sent.identifier));
                (ServerState::Done, Some(ServerOutcome::Failure(failure)))
            }
            (state, data) => {
                tracing::debug!(eap_type = ?data.eap_type(), "auth: EAP Response does not fit");
                cx.counters
                    .unexpected("EAP Response of another Type or OpCode");
                (state, None)
            }
        };
        self.state = next;
        outcome
    }

    pub(super) fn complete(
        &mut self,
        cx: Cx<'_>,
        verdict: AuthVerdict,
        rng: &mut dyn Random,
    ) -> Option<ServerOutcome> {
        let state = core::mem::replace(&mut self.state, ServerState::Done);
        let ServerState::Pending {
            last_id,
            ms_chapv2_id,
            user_name,
        } = state
        else {
            self.state = state;
            tracing::debug!("auth: EAP verdict with none pending, ignored");
            return None;
        };
        let identifier = last_id.wrapping_add(1);
        match verdict {
            AuthVerdict::Accept(accept) => {
                let Some(response) = accept.authenticator_response else {
                    push(cx.out, Protocol::EAP, eap_failure(last_id));
                    return Some(ServerOutcome::Failure(AuthFailure::LocalPolicy {
                        reason:
                            "the backend accepted EAP-MSCHAPv2 without an authenticator response"
                                .into(),
                    }));
                };
                let text = accept.message.as_deref().unwrap_or(DEFAULT_ACCEPT_MESSAGE);
                let packet = emit(&EapPacket::Request {
                    identifier,
                    data: EapData::MsChapV2(EapMsChapV2::SuccessRequest {
                        ms_chapv2_id,
                        message: success_message(response.as_bytes(), text),
                        ms_length_mismatch: None,
                    }),
                });
                let sent = Outstanding::send(
                    Protocol::EAP,
                    identifier,
                    packet,
                    cx.now,
                    cx.config.restart_timer,
                    cx.out,
                );
                let hlak = server_hlak(AuthMethod::EapMsChapV2, accept.keys.as_ref());
                self.state = ServerState::SuccessSent {
                    sent,
                    user_name,
                    hlak,
                };
            }
            AuthVerdict::Reject {
                reason,
                error_code,
                message,
            } => {
                let text = message.as_deref().unwrap_or(DEFAULT_REJECT_MESSAGE);
                let packet = emit(&EapPacket::Request {
                    identifier,
                    data: EapData::MsChapV2(EapMsChapV2::FailureRequest {
                        ms_chapv2_id,
                        message: failure_message(error_code, random_16(rng), text),
                        ms_length_mismatch: None,
                    }),
                });
                let sent = Outstanding::send(
                    Protocol::EAP,
                    identifier,
                    packet,
                    cx.now,
                    cx.config.restart_timer,
                    cx.out,
                );
                let failure = AuthFailure::Rejected {
                    message: reason,
                    mschapv2_error: Some(error_code),
                };
                self.state = ServerState::FailureSent { sent, failure };
            }
        }
        // The outcome comes with the peer's Success or Failure Response.
        None
    }

    pub(super) fn retransmit_at(&self) -> Option<std::time::Instant> {
        self.state.outstanding().map(|sent| sent.retransmit_at)
    }

    /// Retransmits the outstanding Request (except a Failure Request, after
    /// which EAP-Failure follows), or gives up after `max_transmissions`.
    pub(super) fn handle_timeout(&mut self, cx: Cx<'_>) -> Option<ServerOutcome> {
        let waiting_for = self.state.waiting_for();
        match &mut self.state {
            ServerState::IdentitySent { sent }
            | ServerState::ChallengeSent { sent, .. }
            | ServerState::SuccessSent { sent, .. } => match sent.on_timeout(
                cx.now,
                cx.config.restart_timer,
                cx.config.max_transmissions,
                cx.out,
            ) {
                Retransmit::NotDue | Retransmit::Resent => None,
                Retransmit::Exhausted => {
                    push(cx.out, Protocol::EAP, eap_failure(sent.identifier));
                    self.state = ServerState::Done;
                    Some(ServerOutcome::Failure(AuthFailure::Timeout { waiting_for }))
                }
            },
            ServerState::FailureSent { sent, .. } if sent.retransmit_at <= cx.now => {
                push(cx.out, Protocol::EAP, eap_failure(sent.identifier));
                match core::mem::replace(&mut self.state, ServerState::Done) {
                    ServerState::FailureSent { failure, .. } => {
                        Some(ServerOutcome::Failure(failure))
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    pub(super) fn abort(&mut self) -> &'static str {
        let waiting_for = self.state.waiting_for();
        self.state = ServerState::Done;
        waiting_for
    }
}

fn emit(packet: &EapPacket) -> Vec<u8> {
    let mut out = Vec::with_capacity(packet.buffer_len());
    packet.emit(&mut out);
    out
}

fn eap_failure(identifier: u8) -> Vec<u8> {
    emit(&EapPacket::Failure { identifier })
}

/// "the peer refused EAP-MSCHAPv2 and asked for EAP-TLS, PEAP".
fn nak_detail(types: &[EapType]) -> String {
    let wanted: Vec<String> = types
        .iter()
        .filter(|t| t.0 != 0)
        .map(|t| {
            t.name()
                .map_or_else(|| format!("EAP type {}", t.0), str::to_owned)
        })
        .collect();
    if wanted.is_empty() {
        "the peer refused EAP-MSCHAPv2 and proposed no other EAP method".to_owned()
    } else {
        format!(
            "the peer refused EAP-MSCHAPv2 and asked for {}",
            wanted.join(", ")
        )
    }
}

// ---------------------------------------------------------------------------
// Peer
// ---------------------------------------------------------------------------

/// The last Request answered and our Response, for duplicates.
#[derive(Debug)]
struct LastExchange {
    identifier: u8,
    request: Vec<u8>,
    response: Vec<u8>,
}

/// The peer side of EAP-MSCHAPv2.
#[derive(Debug)]
pub(super) struct EapPeer {
    last: Option<LastExchange>,
    /// The MS-CHAPv2 answer in flight, to check `S=` against.
    exchange: Option<Exchange>,
    /// Set once a Success Request's `S=` verified: the HLAK to report on
    /// EAP-Success.
    verified: Option<Hlak>,
    sent_nak: bool,
    done: bool,
}

impl EapPeer {
    pub(super) const fn new() -> Self {
        Self {
            last: None,
            exchange: None,
            verified: None,
            sent_nak: false,
            done: false,
        }
    }

    pub(super) fn handle(
        &mut self,
        cx: PeerCx<'_>,
        bytes: &[u8],
        rng: &mut dyn Random,
    ) -> Option<ClientOutcome> {
        let packet = match EapPacket::parse(bytes) {
            Ok(p) => p,
            Err(e) => {
                cx.counters.malformed("EAP packet", &e);
                return None;
            }
        };
        match packet {
            EapPacket::Request { identifier, data } => {
                if let Some(last) = &self.last
                    && last.identifier == identifier
                    && last.request.as_slice() == bytes
                {
                    // RFC 3748 §4.1: a duplicate gets the original Response.
                    push(cx.out, Protocol::EAP, last.response.clone());
                    return None;
                }
                if self.done {
                    cx.counters.unexpected("EAP Request after the outcome");
                    return None;
                }
                let (reply, outcome) = self.on_request(cx.identity, data, rng, cx.counters);
                if let Some(reply) = reply {
                    let response = emit(&EapPacket::Response {
                        identifier,
                        data: reply,
                    });
                    push(cx.out, Protocol::EAP, response.clone());
                    self.last = Some(LastExchange {
                        identifier,
                        request: bytes.to_vec(),
                        response,
                    });
                }
                outcome
            }
            EapPacket::Success { .. } if !self.done => {
                self.done = true;
                Some(match self.verified.take() {
                    Some(hlak) => ClientOutcome::Success { hlak },
                    None => ClientOutcome::Failure(AuthFailure::PeerMisbehaved {
                        detail:
                            "the server sent EAP-Success without a verified EAP-MSCHAPv2 success"
                                .into(),
                    }),
                })
            }
            EapPacket::Failure { .. } if !self.done => {
                self.done = true;
                let failure = if self.sent_nak && self.exchange.is_none() {
                    AuthFailure::MethodNotSupported {
                        detail: "the server offered no EAP method this client runs (it asked for EAP-MSCHAPv2)"
                            .into(),
                    }
                } else {
                    AuthFailure::Rejected {
                        message: "the server sent EAP-Failure".into(),
                        mschapv2_error: None,
                    }
                };
                Some(ClientOutcome::Failure(failure))
            }
            _ => {
                cx.counters
                    .unexpected("EAP packet other than Request (or after the outcome)");
                None
            }
        }
    }

    /// The Response data for a new Request, and an outcome if it ends the
    /// phase.
    fn on_request(
        &mut self,
        identity: &Identity,
        data: EapData,
        rng: &mut dyn Random,
        counters: &mut super::Counters,
    ) -> (Option<EapData>, Option<ClientOutcome>) {
        let requested = data.eap_type();
        let user_name = identity.user_name.as_bytes().to_vec();
        match data {
            EapData::Identity(_) => (Some(EapData::Identity(user_name)), None),
            EapData::Notification(text) => {
                tracing::debug!(text = %peer_text(&text), "auth: EAP notification");
                (Some(EapData::Notification(Vec::new())), None)
            }
            EapData::MsChapV2(EapMsChapV2::Challenge {
                ms_chapv2_id,
                challenge,
                ..
            }) => {
                let (exchange, response) = Exchange::answer(identity, challenge.0, rng);
                self.exchange = Some(exchange);
                self.verified = None;
                let reply = EapData::MsChapV2(EapMsChapV2::Response {
                    ms_chapv2_id,
                    response,
                    name: user_name,
                    ms_length_mismatch: None,
                });
                (Some(reply), None)
            }
            EapData::MsChapV2(EapMsChapV2::SuccessRequest { message, .. }) => {
                let Some(exchange) = &self.exchange else {
                    counters.unexpected("EAP-MSCHAPv2 Success Request before any Challenge");
                    return (None, None);
                };
                match exchange.verify_success(identity, &message) {
                    Some(master) => {
                        self.verified = Some(Hlak::from_eap_msk(&Msk::from_mschapv2(&master)));
                        let reply =
                            EapData::MsChapV2(EapMsChapV2::SuccessResponse { extra: Vec::new() });
                        (Some(reply), None)
                    }
                    None => {
                        self.done = true;
                        (
                            None,
                            Some(ClientOutcome::Failure(AuthFailure::MutualAuthFailed)),
                        )
                    }
                }
            }
            EapData::MsChapV2(EapMsChapV2::FailureRequest { message, .. }) => {
                if self.exchange.is_none() {
                    counters.unexpected("EAP-MSCHAPv2 Failure Request before any Challenge");
                    return (None, None);
                }
                self.done = true;
                let reply = EapData::MsChapV2(EapMsChapV2::FailureResponse { extra: Vec::new() });
                let failure = rejected_by_failure_message(&message);
                (Some(reply), Some(ClientOutcome::Failure(failure)))
            }
            EapData::MsChapV2(_) => {
                counters.unexpected("EAP-MSCHAPv2 Request with an OpCode a peer does not take");
                (None, None)
            }
            EapData::Nak(_) => {
                counters.unexpected("EAP Nak in a Request");
                (None, None)
            }
            EapData::Md5Challenge { .. } | EapData::Tls(_) | EapData::Other { .. } => {
                tracing::debug!(
                    ?requested,
                    "auth: EAP method not run here; answering Nak (26)"
                );
                self.sent_nak = true;
                let nak = if requested == EapType::EXPANDED {
                    EapData::Other {
                        eap_type: EapType::EXPANDED,
                        data: EXPANDED_NAK.to_vec(),
                    }
                } else {
                    EapData::Nak(vec![EapType::MSCHAPV2])
                };
                (Some(nak), None)
            }
        }
    }

    pub(super) fn abort(&mut self) -> &'static str {
        self.done = true;
        if self.verified.is_some() {
            "the server's EAP-Success"
        } else if self.exchange.is_some() {
            "the server's EAP-MSCHAPv2 Success or Failure Request"
        } else {
            "the server's EAP Requests"
        }
    }
}

#[cfg(test)]
mod tests {
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
        assert!(
            s.handle_packet(
                t0,
                Protocol::EAP,
                &b(IDENTITY_RESPONSE),
                &mut srng,
                &mut out
            )
            .is_none()
        );
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
        let Some(ServerOutcome::Failure(AuthFailure::MethodNotSupported { detail })) = outcome
        else {
            panic!("{outcome:?}");
        };
        assert_eq!(
            detail,
            "the peer refused EAP-MSCHAPv2 and asked for EAP-TLS, PEAP"
        );
        assert_eq!(frames(&mut out), vec![(Protocol::EAP, b("04 11 00 04"))]);
        assert_eq!(
            nak_detail(&[EapType(0)]),
            "the peer refused EAP-MSCHAPv2 and proposed no other EAP method"
        );
        assert_eq!(
            nak_detail(&[EapType(200)]),
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
            let outcome =
                p.handle_packet(base(), Protocol::EAP, &b(EAP_SUCCESS), &mut rng, &mut out);
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
}
