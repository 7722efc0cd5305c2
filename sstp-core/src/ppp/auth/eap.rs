//! EAP (RFC 3748) in both roles, running EAP-TLS (type 13, RFC 5216; TLS
//! 1.3 per RFC 9190) and EAP-MSCHAPv2 (type 26,
//! draft-kamath-pppext-eap-mschapv2-00; the Windows state machines are in
//! [MS-CHAP] §3.2 and §3.3).
//!
//! Server: Request/Identity → Response/Identity → the first Request of the
//! first EAP method configured. A Nak (RFC 3748 §5.3.1) to that first
//! Request moves to the first other configured method the peer asked for;
//! when there is none, EAP-Failure.
//!
//! - EAP-MSCHAPv2: Challenge → Response (→ verdict) → Success Request →
//!   Success Response → EAP-Success; or, on a reject, Failure Request →
//!   Failure Response → EAP-Failure. A Windows peer may skip the Failure
//!   Response ([MS-CHAP] §3.2.5.4 "SHOULD trigger ... Failed or MAY prepare
//!   a Failure-Response"), so the Failure Request is sent once and
//!   EAP-Failure follows after one Restart period at most.
//! - EAP-TLS: Start → the TLS handshake in fragments (RFC 5216 §2.1.1) →
//!   the peer's empty Response to our last flight (→ verdict on the
//!   certificate) → EAP-Success; a TLS failure sends its alert in a
//!   Request, then EAP-Failure (§2.1.3), the same once-only way.
//!
//! The authenticator retransmits its Requests on the Restart timer (RFC
//! 3748 §4.3: the peer never retransmits on its own) and accepts only a
//! Response with the Identifier of its outstanding Request.
//!
//! Peer: answers Identity with the user name, Notification with an empty
//! Notification (RFC 3748 §5.2), the Requests of the methods it runs, and
//! any other method with a Nak naming the ones it does (RFC 3748 §5.3). A
//! duplicate Request gets the original Response again without being
//! reprocessed (RFC 3748 §4.1). EAP-Success counts only after the method
//! succeeded on our side (a verified EAP-MSCHAPv2 `S=`, or a TLS handshake
//! that ended with the server's success indication, RFC 9190 §2.1.1): a
//! server cannot skip authentication.
//!
//! The MS-CHAPv2-ID of the Challenge equals its EAP Identifier (as hostapd
//! does); Success and Failure Requests echo the MS-CHAPv2-ID of the peer's
//! Response. The user name of an EAP-MSCHAPv2 verdict request is the Name
//! of the peer's Response, the one its NT-Response hashes; for EAP-TLS it
//! is the EAP Identity, and the backend names the user from the
//! certificate ([`Accept::user_name`](super::Accept::user_name)). HLAK: the
//! MSK's first 32 bytes (MS-SSTP §3.2.5.2.2 "other EAP methods"; its note
//! says Windows takes that path for EAP-TLS too).

use std::time::Instant;

use crate::crypto::binding::Hlak;
use crate::crypto::mppe::Msk;
use crate::ppp::{AuthMethod, Outbox, Random};
use crate::wire::auth::{EapData, EapMsChapV2, EapPacket, EapTls, EapType, MsChapV2Challenge};
use crate::wire::ppp::Protocol;

use super::chap::{Exchange, failure_message, rejected_by_failure_message, success_message};
use super::request::{DEFAULT_ACCEPT_MESSAGE, DEFAULT_REJECT_MESSAGE, Final, server_hlak};
use super::{
    AuthData, AuthFailure, AuthRequest, AuthVerdict, AuthenticatorConfig, ClientOutcome, Cx, Next,
    Outstanding, PeerCx, Retransmit, ServerOutcome, TlsMethod, peer_text, push, random_16,
    random_u8, server_name, tls_words,
};

/// RFC 3748 §5.3.2 Expanded Nak (Type 254 follows in the EAP data): Vendor-Id
/// 0 (IETF), Vendor-Type 3 (Nak), then the types we want in expanded form:
/// Type 254, Vendor-Id 0, Vendor-Type `t` for each.
fn expanded_nak(types: &[EapType]) -> Vec<u8> {
    let mut data = vec![0, 0, 0, 0, 0, 0, 3];
    for t in types {
        data.extend_from_slice(&[254, 0, 0, 0, 0, 0, 0, t.0]);
    }
    data
}

/// The EAP Type a method runs as.
const fn eap_type(method: AuthMethod) -> EapType {
    match method {
        AuthMethod::EapTls => EapType::TLS,
        AuthMethod::EapPeap => EapType::PEAP,
        _ => EapType::MSCHAPV2,
    }
}

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
    /// An EAP-TLS Request is out: the Start, a fragment, an
    /// acknowledgement.
    TlsSent {
        sent: Outstanding,
        tls: Box<TlsMethod>,
        identity: Vec<u8>,
        /// Whether the peer has answered anything but a Nak yet (a Nak is
        /// only valid to the first Request of a method, RFC 3748 §5.3.1).
        started: bool,
    },
    /// EAP pass-through (RFC 3579 §2): a Request of the backend's is out.
    RelaySent {
        sent: Outstanding,
        identity: Vec<u8>,
    },
    /// EAP pass-through: the peer's Response is with the backend.
    RelayPending {
        last_id: u8,
        identity: Vec<u8>,
        /// The Response is the Identity: the backend may still hand the
        /// peer to the local methods.
        first: bool,
    },
    /// The TLS handshake is done; the backend judges the certificate.
    TlsPending {
        last_id: u8,
        identity: String,
        hlak: Hlak,
    },
    /// A Failure Request (EAP-MSCHAPv2) or a TLS alert (EAP-TLS) is out:
    /// whatever the peer answers, EAP-Failure follows.
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
            | Self::TlsSent { sent, .. }
            | Self::RelaySent { sent, .. }
            | Self::FailureSent { sent, .. } => Some(sent),
            Self::Idle
            | Self::Pending { .. }
            | Self::TlsPending { .. }
            | Self::RelayPending { .. }
            | Self::Done => None,
        }
    }

    const fn waiting_for(&self) -> &'static str {
        match self {
            Self::Idle | Self::IdentitySent { .. } => "the peer's EAP Identity Response",
            Self::ChallengeSent { .. } => "the peer's EAP-MSCHAPv2 Response",
            Self::Pending { .. } | Self::TlsPending { .. } | Self::RelayPending { .. } => {
                "the authentication backend's verdict"
            }
            Self::RelaySent { .. } => "the peer's next EAP Response",
            Self::SuccessSent { .. } => "the peer's EAP-MSCHAPv2 Success Response",
            Self::TlsSent { .. } => "the peer's next EAP-TLS Response",
            Self::FailureSent { .. } => "the peer's answer to our failure report",
            Self::Done => "nothing",
        }
    }
}

/// The authenticator side of EAP.
#[derive(Debug)]
pub(super) struct EapServer {
    state: ServerState,
    /// The EAP methods we run, in the order we offer them.
    methods: Vec<AuthMethod>,
    /// Those offered so far.
    tried: Vec<AuthMethod>,
    /// EAP pass-through ([`AuthenticatorConfig::eap_relay`]).
    relay: bool,
    /// The method the relayed conversation runs, from the Type of the
    /// peer's last Response that named one.
    relayed: Option<AuthMethod>,
}

impl EapServer {
    /// An authenticator offering `first`, then the others of `config`'s EAP
    /// methods; EAP-TLS only when it is configured.
    pub(super) fn new(first: AuthMethod, config: &AuthenticatorConfig) -> Self {
        let runs = |m: &AuthMethod| match m {
            AuthMethod::EapTls => config.eap_tls.is_some(),
            AuthMethod::EapMsChapV2 => true,
            _ => false,
        };
        let mut methods: Vec<AuthMethod> = Some(first).into_iter().filter(runs).collect();
        for &m in &config.eap_methods {
            if runs(&m) && !methods.contains(&m) {
                methods.push(m);
            }
        }
        if methods.is_empty() {
            // LCP agreed on EAP, but EAP-TLS has no configuration: the one
            // method that needs none.
            methods.push(AuthMethod::EapMsChapV2);
        }
        Self {
            state: ServerState::Idle,
            methods,
            tried: Vec::new(),
            relay: config.eap_relay,
            relayed: None,
        }
    }

    /// The method that ran: the one offered last, or the one the relayed
    /// conversation ran.
    pub(super) fn method(&self) -> Option<AuthMethod> {
        self.relayed
            .or_else(|| self.tried.last().copied())
            .or(self.relay.then_some(AuthMethod::EapRelayed))
    }

    /// Sends Request/Identity under a random Identifier.
    pub(super) fn start(
        &mut self,
        config: &AuthenticatorConfig,
        now: Instant,
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

    /// Sends a Request under the next Identifier and waits for its
    /// Response.
    fn request(cx: &mut Cx<'_>, identifier: u8, data: EapData) -> Outstanding {
        let packet = emit(&EapPacket::Request { identifier, data });
        Outstanding::send(
            Protocol::EAP,
            identifier,
            packet,
            cx.now,
            cx.config.restart_timer,
            cx.out,
        )
    }

    /// Opens `method` with its first Request under `identifier`.
    fn offer(
        &mut self,
        cx: &mut Cx<'_>,
        method: AuthMethod,
        identifier: u8,
        identity: Vec<u8>,
        rng: &mut dyn Random,
    ) -> (ServerState, Option<ServerOutcome>) {
        self.tried.push(method);
        if method == AuthMethod::EapTls {
            let made = cx
                .config
                .eap_tls
                .as_ref()
                .map(|config| TlsMethod::server(config, cx.link.wall, cx.link.peer_mru));
            return match made {
                Some(Ok(tls)) => {
                    let sent = Self::request(cx, identifier, EapData::Tls(EapTls::start()));
                    let state = ServerState::TlsSent {
                        sent,
                        tls: Box::new(tls),
                        identity,
                        started: false,
                    };
                    (state, None)
                }
                Some(Err(e)) => self.fail_now(
                    cx,
                    identifier.wrapping_sub(1),
                    AuthFailure::LocalPolicy {
                        reason: format!("the EAP-TLS configuration does not work: {e}"),
                    },
                ),
                None => self.fail_now(
                    cx,
                    identifier.wrapping_sub(1),
                    AuthFailure::LocalPolicy {
                        reason: "EAP-TLS is not configured".into(),
                    },
                ),
            };
        }
        let challenge = random_16(rng);
        let data = EapData::MsChapV2(EapMsChapV2::Challenge {
            ms_chapv2_id: identifier,
            challenge: MsChapV2Challenge(challenge),
            name: server_name(cx.config),
            ms_length_mismatch: None,
        });
        let sent = Self::request(cx, identifier, data);
        (ServerState::ChallengeSent { sent, challenge }, None)
    }

    /// EAP-Failure answering the Response `identifier`, and the outcome.
    #[allow(clippy::unused_self)] // a method, so every transition reads alike
    fn fail_now(
        &self,
        cx: &mut Cx<'_>,
        identifier: u8,
        failure: AuthFailure,
    ) -> (ServerState, Option<ServerOutcome>) {
        push(cx.out, Protocol::EAP, eap_failure(identifier));
        (ServerState::Done, Some(ServerOutcome::Failure(failure)))
    }

    /// The peer's Nak to the first Request of `current`: the first other
    /// method of ours it asked for, or EAP-Failure.
    fn on_nak(
        &mut self,
        cx: &mut Cx<'_>,
        sent: &Outstanding,
        current: AuthMethod,
        wanted: &[EapType],
        identity: Vec<u8>,
        rng: &mut dyn Random,
    ) -> (ServerState, Option<ServerOutcome>) {
        let next = self
            .methods
            .iter()
            .copied()
            .find(|m| !self.tried.contains(m) && wanted.contains(&eap_type(*m)));
        if let Some(method) = next {
            tracing::debug!(refused = %current, next = %method, "auth: EAP Nak; offering another method");
            return self.offer(cx, method, sent.identifier.wrapping_add(1), identity, rng);
        }
        let detail = nak_detail(current, wanted);
        self.fail_now(
            cx,
            sent.identifier,
            AuthFailure::MethodNotSupported { detail },
        )
    }

    pub(super) fn handle(
        &mut self,
        mut cx: Cx<'_>,
        bytes: &[u8],
        rng: &mut dyn Random,
    ) -> Option<ServerOutcome> {
        if matches!(self.state, ServerState::RelaySent { .. }) {
            // Relayed: the method is the backend's, so its Type-Data is not
            // ours to parse (RFC 3579 §2.6.2).
            return self.relay_response(cx, bytes);
        }
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
            (ServerState::IdentitySent { sent }, EapData::Identity(identity)) if self.relay => {
                let name = peer_text(&identity);
                tracing::debug!(identity = %name, "auth: EAP identity, relayed");
                let message = eap_message(bytes).unwrap_or(bytes).to_vec();
                let data = AuthData::Eap {
                    message,
                    identity: true,
                };
                let request =
                    AuthRequest::from_parts(AuthMethod::EapRelayed, identity.clone(), data);
                let pending = ServerState::RelayPending {
                    last_id: sent.identifier,
                    identity,
                    first: true,
                };
                (
                    pending,
                    Some(ServerOutcome::IdentityAndVerdict(name, request)),
                )
            }
            (ServerState::IdentitySent { sent }, EapData::Identity(identity)) => {
                let name = peer_text(&identity);
                tracing::debug!(identity = %name, "auth: EAP identity");
                let first = self
                    .methods
                    .first()
                    .copied()
                    .unwrap_or(AuthMethod::EapMsChapV2);
                let (state, outcome) = self.offer(
                    &mut cx,
                    first,
                    sent.identifier.wrapping_add(1),
                    identity,
                    rng,
                );
                // Who the peer says it is, for the logs of whatever follows.
                (state, outcome.or(Some(ServerOutcome::Identity(name))))
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
            (ServerState::ChallengeSent { sent, .. }, EapData::Nak(types)) => self.on_nak(
                &mut cx,
                &sent,
                AuthMethod::EapMsChapV2,
                &types,
                Vec::new(),
                rng,
            ),
            (
                ServerState::TlsSent {
                    sent,
                    identity,
                    started: false,
                    ..
                },
                EapData::Nak(types),
            ) => self.on_nak(&mut cx, &sent, AuthMethod::EapTls, &types, identity, rng),
            (
                ServerState::TlsSent {
                    sent,
                    tls,
                    identity,
                    ..
                },
                EapData::Tls(packet),
            ) => self.on_tls(&mut cx, &sent, tls, identity, &packet),
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
                self.fail_now(&mut cx, sent.identifier, AuthFailure::MutualAuthFailed)
            }
            (
                ServerState::FailureSent { sent, failure },
                EapData::MsChapV2(EapMsChapV2::FailureResponse { .. }) | EapData::Tls(_),
            ) => self.fail_now(&mut cx, sent.identifier, failure),
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

    /// The peer's EAP-TLS Response to our Request `sent`.
    fn on_tls(
        &mut self,
        cx: &mut Cx<'_>,
        sent: &Outstanding,
        mut tls: Box<TlsMethod>,
        identity: Vec<u8>,
        packet: &EapTls,
    ) -> (ServerState, Option<ServerOutcome>) {
        let next_id = sent.identifier.wrapping_add(1);
        match tls.handle(cx.now, packet) {
            Next::Send(packet) => {
                let sent = Self::request(cx, next_id, EapData::Tls(packet));
                let state = ServerState::TlsSent {
                    sent,
                    tls,
                    identity,
                    started: true,
                };
                (state, None)
            }
            // RFC 5216 §2.1.1, RFC 9190 §2.1.1: the peer's empty Response to
            // our last flight; the handshake is over and the certificate
            // goes to the backend.
            Next::Quiet if tls.is_established() => match tls.hlak() {
                Ok(hlak) => {
                    let data = AuthData::EapTls {
                        certificates: tls.peer_certificates(),
                    };
                    let request = AuthRequest::from_parts(AuthMethod::EapTls, identity, data);
                    let state = ServerState::TlsPending {
                        last_id: sent.identifier,
                        identity: request.user_name_lossy().to_owned(),
                        hlak,
                    };
                    (state, Some(ServerOutcome::NeedVerdict(request)))
                }
                Err(e) => self.fail_now(
                    cx,
                    sent.identifier,
                    AuthFailure::LocalPolicy {
                        reason: format!("the EAP-TLS keys could not be exported: {e}"),
                    },
                ),
            },
            Next::Quiet => self.fail_now(
                cx,
                sent.identifier,
                AuthFailure::PeerMisbehaved {
                    detail: "the peer went quiet before the TLS handshake was done".into(),
                },
            ),
            // RFC 5216 §2.1.3: the alert goes to the peer in a Request; its
            // Response, or the Restart timer, brings EAP-Failure.
            Next::Failed { alert, error } => {
                let failure = AuthFailure::Tls {
                    detail: tls_words(&error),
                };
                match alert {
                    Some(alert) => {
                        let sent = Self::request(cx, next_id, EapData::Tls(alert));
                        (ServerState::FailureSent { sent, failure }, None)
                    }
                    None => self.fail_now(cx, sent.identifier, failure),
                }
            }
            Next::BadFragments(e) => self.fail_now(
                cx,
                sent.identifier,
                AuthFailure::PeerMisbehaved {
                    detail: e.to_string(),
                },
            ),
        }
    }

    pub(super) fn complete(
        &mut self,
        mut cx: Cx<'_>,
        verdict: AuthVerdict,
        rng: &mut dyn Random,
    ) -> Option<ServerOutcome> {
        let state = core::mem::replace(&mut self.state, ServerState::Done);
        let (last_id, ms_chapv2_id, user_name) = match state {
            ServerState::Pending {
                last_id,
                ms_chapv2_id,
                user_name,
            } => (last_id, ms_chapv2_id, user_name),
            ServerState::TlsPending {
                last_id,
                identity,
                hlak,
            } => return Self::complete_tls(cx, verdict, last_id, identity, hlak),
            ServerState::RelayPending {
                last_id,
                identity,
                first,
            } => return self.complete_relay(cx, verdict, last_id, identity, first, rng),
            state => {
                self.state = state;
                tracing::debug!("auth: EAP verdict with none pending, ignored");
                return None;
            }
        };
        let identifier = last_id.wrapping_add(1);
        match verdict.settle(AuthMethod::EapMsChapV2) {
            Final::Accept(accept) => {
                let Some(response) = accept.authenticator_response else {
                    push(cx.out, Protocol::EAP, eap_failure(last_id));
                    return Some(ServerOutcome::Failure(AuthFailure::LocalPolicy {
                        reason:
                            "the backend accepted EAP-MSCHAPv2 without an authenticator response"
                                .into(),
                    }));
                };
                let text = accept.message.as_deref().unwrap_or(DEFAULT_ACCEPT_MESSAGE);
                let data = EapData::MsChapV2(EapMsChapV2::SuccessRequest {
                    ms_chapv2_id,
                    message: success_message(response.as_bytes(), text),
                    ms_length_mismatch: None,
                });
                let sent = Self::request(&mut cx, identifier, data);
                let hlak = server_hlak(AuthMethod::EapMsChapV2, accept.keys.as_ref());
                self.state = ServerState::SuccessSent {
                    sent,
                    user_name,
                    hlak,
                };
            }
            Final::Reject {
                reason,
                error_code,
                message,
            } => {
                let text = message.as_deref().unwrap_or(DEFAULT_REJECT_MESSAGE);
                let data = EapData::MsChapV2(EapMsChapV2::FailureRequest {
                    ms_chapv2_id,
                    message: failure_message(error_code, random_16(rng), text),
                    ms_length_mismatch: None,
                });
                let sent = Self::request(&mut cx, identifier, data);
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

    /// The backend's verdict on an EAP-TLS certificate: EAP-Success (the
    /// HLAK is ours, from the TLS MSK) or EAP-Failure (RFC 5216 §2.1.1).
    fn complete_tls(
        cx: Cx<'_>,
        verdict: AuthVerdict,
        last_id: u8,
        identity: String,
        hlak: Hlak,
    ) -> Option<ServerOutcome> {
        match verdict.settle(AuthMethod::EapTls) {
            Final::Accept(accept) => {
                push(
                    cx.out,
                    Protocol::EAP,
                    emit(&EapPacket::Success {
                        identifier: last_id,
                    }),
                );
                Some(ServerOutcome::Success {
                    username: accept.user_name.unwrap_or(identity),
                    hlak,
                })
            }
            Final::Reject { reason, .. } => {
                push(cx.out, Protocol::EAP, eap_failure(last_id));
                Some(ServerOutcome::Failure(AuthFailure::Rejected {
                    message: reason,
                    mschapv2_error: None,
                }))
            }
        }
    }

    /// EAP pass-through: the peer's Response to the backend's Request
    /// `sent` goes to the backend whole.
    fn relay_response(&mut self, cx: Cx<'_>, bytes: &[u8]) -> Option<ServerOutcome> {
        let Some(message) = eap_message(bytes) else {
            cx.counters
                .malformed("EAP packet", &"shorter than its Length, or without a Type");
            return None;
        };
        let (code, identifier, eap_type) = (message[0], message[1], EapType(message[4]));
        let ServerState::RelaySent { sent, .. } = &self.state else {
            return None;
        };
        if code != EAP_RESPONSE {
            cx.counters.unexpected("EAP packet other than Response");
            return None;
        }
        if sent.identifier != identifier {
            cx.counters
                .unexpected("EAP Response with a stale Identifier");
            return None;
        }
        let ServerState::RelaySent { identity, .. } =
            core::mem::replace(&mut self.state, ServerState::Done)
        else {
            return None;
        };
        if let Some(method) = relayed_method(eap_type) {
            self.relayed = Some(method);
        }
        let method = self.relayed.unwrap_or(AuthMethod::EapRelayed);
        let data = AuthData::Eap {
            message: message.to_vec(),
            identity: false,
        };
        let request = AuthRequest::from_parts(method, identity.clone(), data);
        self.state = ServerState::RelayPending {
            last_id: identifier,
            identity,
            first: false,
        };
        Some(ServerOutcome::NeedVerdict(request))
    }

    /// EAP pass-through: the backend's answer to the Response `last_id`.
    fn complete_relay(
        &mut self,
        mut cx: Cx<'_>,
        verdict: AuthVerdict,
        last_id: u8,
        identity: Vec<u8>,
        first: bool,
        rng: &mut dyn Random,
    ) -> Option<ServerOutcome> {
        let (state, outcome) = match verdict {
            AuthVerdict::Continue(message) => match eap_message(&message) {
                Some(request) if request[0] == EAP_REQUEST => {
                    let sent = Outstanding::send(
                        Protocol::EAP,
                        request[1],
                        request.to_vec(),
                        cx.now,
                        cx.config.restart_timer,
                        cx.out,
                    );
                    (ServerState::RelaySent { sent, identity }, None)
                }
                _ => self.fail_now(
                    &mut cx,
                    last_id,
                    AuthFailure::LocalPolicy {
                        reason: "the authentication backend's EAP message is not an EAP Request"
                            .into(),
                    },
                ),
            },
            // The backend hands a peer it does not serve to our own
            // methods, which start as after an unrelayed Identity.
            AuthVerdict::Local if first => {
                let method = self
                    .methods
                    .first()
                    .copied()
                    .unwrap_or(AuthMethod::EapMsChapV2);
                self.offer(&mut cx, method, last_id.wrapping_add(1), identity, rng)
            }
            AuthVerdict::Local => self.fail_now(
                &mut cx,
                last_id,
                AuthFailure::LocalPolicy {
                    reason: "the authentication backend gave a relayed EAP conversation back \
                             after it had begun"
                        .into(),
                },
            ),
            AuthVerdict::Accept(accept) => {
                push(
                    cx.out,
                    Protocol::EAP,
                    emit(&EapPacket::Success {
                        identifier: last_id,
                    }),
                );
                let method = self.relayed.unwrap_or(AuthMethod::EapRelayed);
                let hlak = server_hlak(method, accept.keys.as_ref());
                let username = accept
                    .user_name
                    .unwrap_or_else(|| String::from_utf8_lossy(&identity).into_owned());
                (
                    ServerState::Done,
                    Some(ServerOutcome::Success { username, hlak }),
                )
            }
            AuthVerdict::Reject { reason, .. } => self.fail_now(
                &mut cx,
                last_id,
                AuthFailure::Rejected {
                    message: reason,
                    mschapv2_error: None,
                },
            ),
        };
        self.state = state;
        outcome
    }

    pub(super) fn retransmit_at(&self) -> Option<Instant> {
        self.state.outstanding().map(|sent| sent.retransmit_at)
    }

    /// Retransmits the outstanding Request (except a Failure Request, after
    /// which EAP-Failure follows), or gives up after `max_transmissions`.
    pub(super) fn handle_timeout(&mut self, cx: Cx<'_>) -> Option<ServerOutcome> {
        let waiting_for = self.state.waiting_for();
        match &mut self.state {
            ServerState::IdentitySent { sent }
            | ServerState::ChallengeSent { sent, .. }
            | ServerState::TlsSent { sent, .. }
            | ServerState::RelaySent { sent, .. }
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

/// EAP Codes 1 and 2 (RFC 3748 §4).
const EAP_REQUEST: u8 = 1;
const EAP_RESPONSE: u8 = 2;

/// One EAP Request or Response, cut at its Length (RFC 3748 §4: octets
/// past it are padding), when it has a Type; the Type-Data is not looked
/// at. Indexes 0 (Code), 1 (Identifier) and 4 (Type) exist.
fn eap_message(bytes: &[u8]) -> Option<&[u8]> {
    let length = usize::from(u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?]));
    if length < 5 {
        return None;
    }
    bytes.get(..length)
}

/// The method a relayed Response's Type shows; `None` for the Types any
/// conversation has (Identity, Notification, Nak: RFC 3748 §5.1–§5.3).
fn relayed_method(eap_type: EapType) -> Option<AuthMethod> {
    match eap_type {
        EapType::IDENTITY | EapType::NOTIFICATION | EapType::NAK => None,
        EapType::TLS => Some(AuthMethod::EapTls),
        EapType::MSCHAPV2 => Some(AuthMethod::EapMsChapV2),
        EapType::PEAP => Some(AuthMethod::EapPeap),
        _ => Some(AuthMethod::EapRelayed),
    }
}

/// "the peer refused EAP-MSCHAPv2 and asked for EAP-TLS, PEAP".
fn nak_detail(refused: AuthMethod, types: &[EapType]) -> String {
    let refused = eap_type(refused).name().unwrap_or("the method");
    let wanted: Vec<String> = types
        .iter()
        .filter(|t| t.0 != 0)
        .map(|t| {
            t.name()
                .map_or_else(|| format!("EAP type {}", t.0), str::to_owned)
        })
        .collect();
    if wanted.is_empty() {
        format!("the peer refused {refused} and proposed no other EAP method")
    } else {
        format!(
            "the peer refused {refused} and asked for {}",
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

/// The peer side of EAP.
#[derive(Debug)]
pub(super) struct EapPeer {
    last: Option<LastExchange>,
    /// The MS-CHAPv2 answer in flight, to check `S=` against.
    exchange: Option<Exchange>,
    /// The EAP-TLS conversation, from the server's Start on.
    tls: Option<Box<TlsMethod>>,
    /// Set once the method succeeded on our side (a verified `S=`, a TLS
    /// handshake with its success indication): the HLAK to report on
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
            tls: None,
            verified: None,
            sent_nak: false,
            done: false,
        }
    }

    pub(super) fn handle(
        &mut self,
        mut cx: PeerCx<'_>,
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
                let (reply, outcome) = self.on_request(&mut cx, data, rng);
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
                        detail: if self.tls.is_some() {
                            "the server sent EAP-Success before the TLS handshake was done"
                        } else {
                            "the server sent EAP-Success without a verified EAP-MSCHAPv2 success"
                        }
                        .into(),
                    }),
                })
            }
            EapPacket::Failure { .. } if !self.done => {
                self.done = true;
                let failure = if self.sent_nak && self.exchange.is_none() && self.tls.is_none() {
                    AuthFailure::MethodNotSupported {
                        detail: format!(
                            "the server offered no EAP method this client runs (it runs {})",
                            method_names(&cx.config.eap_methods)
                        ),
                    }
                } else if self.tls.is_some() {
                    AuthFailure::Rejected {
                        message: "the server refused our certificate (EAP-Failure)".into(),
                        mschapv2_error: None,
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

    /// Whether we answer `method`'s Requests.
    fn runs(cx: &PeerCx<'_>, method: AuthMethod) -> bool {
        cx.config.eap_methods.contains(&method)
            && (method != AuthMethod::EapTls || cx.config.eap_tls.is_some())
    }

    /// The Nak to a Request of a method we do not run (RFC 3748 §5.3).
    fn nak(&mut self, cx: &PeerCx<'_>, requested: EapType) -> EapData {
        let ours: Vec<EapType> = [AuthMethod::EapTls, AuthMethod::EapMsChapV2]
            .into_iter()
            .filter(|m| Self::runs(cx, *m) && eap_type(*m) != requested)
            .map(eap_type)
            .collect();
        tracing::debug!(
            ?requested,
            ?ours,
            "auth: EAP method not run here; answering Nak"
        );
        self.sent_nak = true;
        if requested == EapType::EXPANDED {
            EapData::Other {
                eap_type: EapType::EXPANDED,
                data: expanded_nak(&ours),
            }
        } else if ours.is_empty() {
            // Type 0: no alternative (RFC 3748 §5.3.1).
            EapData::Nak(vec![EapType(0)])
        } else {
            EapData::Nak(ours)
        }
    }

    /// The Response data for a new Request, and an outcome if it ends the
    /// phase.
    fn on_request(
        &mut self,
        cx: &mut PeerCx<'_>,
        data: EapData,
        rng: &mut dyn Random,
    ) -> (Option<EapData>, Option<ClientOutcome>) {
        let requested = data.eap_type();
        let identity = cx.identity;
        let user_name = identity.user_name.as_bytes().to_vec();
        match data {
            EapData::Identity(_) => (Some(EapData::Identity(user_name)), None),
            EapData::Notification(text) => {
                tracing::debug!(text = %peer_text(&text), "auth: EAP notification");
                (Some(EapData::Notification(Vec::new())), None)
            }
            EapData::Tls(packet) if Self::runs(cx, AuthMethod::EapTls) => self.on_tls(cx, &packet),
            EapData::MsChapV2(EapMsChapV2::Challenge {
                ms_chapv2_id,
                challenge,
                ..
            }) if Self::runs(cx, AuthMethod::EapMsChapV2) => {
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
            EapData::MsChapV2(EapMsChapV2::Challenge { .. }) => {
                (Some(self.nak(cx, requested)), None)
            }
            EapData::MsChapV2(EapMsChapV2::SuccessRequest { message, .. }) => {
                let Some(exchange) = &self.exchange else {
                    cx.counters
                        .unexpected("EAP-MSCHAPv2 Success Request before any Challenge");
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
                    cx.counters
                        .unexpected("EAP-MSCHAPv2 Failure Request before any Challenge");
                    return (None, None);
                }
                self.done = true;
                let reply = EapData::MsChapV2(EapMsChapV2::FailureResponse { extra: Vec::new() });
                let failure = rejected_by_failure_message(&message);
                (Some(reply), Some(ClientOutcome::Failure(failure)))
            }
            EapData::MsChapV2(_) => {
                cx.counters
                    .unexpected("EAP-MSCHAPv2 Request with an OpCode a peer does not take");
                (None, None)
            }
            EapData::Nak(_) => {
                cx.counters.unexpected("EAP Nak in a Request");
                (None, None)
            }
            EapData::Md5Challenge { .. } | EapData::Tls(_) | EapData::Other { .. } => {
                (Some(self.nak(cx, requested)), None)
            }
        }
    }

    /// An EAP-TLS Request: the Start opens a new handshake (RFC 5216
    /// §2.1.1), anything else continues the one under way.
    fn on_tls(
        &mut self,
        cx: &mut PeerCx<'_>,
        packet: &EapTls,
    ) -> (Option<EapData>, Option<ClientOutcome>) {
        let next = if packet.start {
            let Some(config) = cx.config.eap_tls.as_ref() else {
                return (Some(self.nak(cx, EapType::TLS)), None);
            };
            match TlsMethod::client(config, cx.link.wall, cx.link.peer_mru) {
                Ok(tls) => {
                    self.verified = None;
                    self.tls.insert(Box::new(tls)).client_hello(cx.now)
                }
                Err(e) => {
                    self.done = true;
                    let failure = AuthFailure::LocalPolicy {
                        reason: format!("the EAP-TLS configuration does not work: {e}"),
                    };
                    return (None, Some(ClientOutcome::Failure(failure)));
                }
            }
        } else {
            let Some(tls) = self.tls.as_mut() else {
                cx.counters
                    .unexpected("EAP-TLS Request before the server's Start");
                return (None, None);
            };
            tls.handle(cx.now, packet)
        };
        let Some(tls) = self.tls.as_ref() else {
            return (None, None);
        };
        match next {
            Next::Send(reply) => {
                if tls.is_established() && self.verified.is_none() {
                    // The handshake is done on our side: EAP-Success may
                    // come now (RFC 9190 §2.1.1).
                    match tls.hlak() {
                        Ok(hlak) => self.verified = Some(hlak),
                        Err(e) => {
                            self.done = true;
                            let failure = AuthFailure::LocalPolicy {
                                reason: format!("the EAP-TLS keys could not be exported: {e}"),
                            };
                            return (None, Some(ClientOutcome::Failure(failure)));
                        }
                    }
                }
                (Some(EapData::Tls(reply)), None)
            }
            // The server acknowledged our last fragment with nothing
            // more to say from TLS: acknowledge in turn, so it speaks.
            Next::Quiet => (Some(EapData::Tls(EapTls::ack())), None),
            // RFC 5216 §2.1.3: our alert goes back in the Response; the
            // server ends with EAP-Failure.
            Next::Failed { alert, error } => {
                self.done = true;
                let failure = AuthFailure::Tls {
                    detail: tls_words(&error),
                };
                let reply = alert.unwrap_or_else(EapTls::ack);
                (
                    Some(EapData::Tls(reply)),
                    Some(ClientOutcome::Failure(failure)),
                )
            }
            Next::BadFragments(e) => {
                self.done = true;
                let failure = AuthFailure::PeerMisbehaved {
                    detail: e.to_string(),
                };
                (None, Some(ClientOutcome::Failure(failure)))
            }
        }
    }

    /// The EAP method this peer answered.
    pub(super) const fn method(&self) -> AuthMethod {
        if self.tls.is_some() {
            AuthMethod::EapTls
        } else {
            AuthMethod::EapMsChapV2
        }
    }

    pub(super) fn abort(&mut self) -> &'static str {
        self.done = true;
        if self.verified.is_some() {
            "the server's EAP-Success"
        } else if self.tls.is_some() {
            "the server's next EAP-TLS Request"
        } else if self.exchange.is_some() {
            "the server's EAP-MSCHAPv2 Success or Failure Request"
        } else {
            "the server's EAP Requests"
        }
    }
}

/// "EAP-TLS or EAP-MSCHAPv2".
fn method_names(methods: &[AuthMethod]) -> String {
    let names: Vec<&str> = methods.iter().filter_map(|m| eap_type(*m).name()).collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(" or ")
    }
}

#[cfg(test)]
mod relay_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tls_tests;
