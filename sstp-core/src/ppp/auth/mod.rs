//! PPP authentication in both roles, sans-IO: PAP (RFC 1334), CHAP with MD5
//! (RFC 1994), MS-CHAPv2 (RFC 2759) and EAP (RFC 3748) running
//! EAP-MSCHAPv2 (draft-kamath-pppext-eap-mschapv2-00, [MS-CHAP] §3).
//!
//! This module owns the authentication phase of the link: who sends what,
//! in which order, with which Identifier; retransmission and timeouts; the
//! client's check of the server's MS-CHAPv2 authenticator response; and the
//! HLAK each side feeds into the SSTP crypto binding (MS-SSTP §3.2.5.2.2).
//! Packet codecs live in [`crate::wire::auth`], the MS-CHAPv2 / MPPE math in
//! [`crate::crypto`].
//!
//! # The server never looks passwords up
//!
//! The `Authenticator` collects what the method needs (user name,
//! challenge, response) into an [`AuthRequest`] and hands it out as
//! [`ServerOutcome::NeedVerdict`]. Whoever holds the credentials (a local
//! user file through [`AuthRequest::verify_with`], RADIUS, ...) answers
//! with an [`AuthVerdict`], which goes back in through
//! `Authenticator::complete`. A server that relays EAP
//! ([`AuthenticatorConfig::eap_relay`]) hands out each EAP Response as
//! [`AuthData::Eap`] and sends the Request the backend answers with
//! ([`AuthVerdict::Continue`]) until it accepts or rejects: the method then
//! runs in the backend (RADIUS, RFC 3579), and the MSK it returns makes
//! the HLAK. For MS-CHAPv2 an accepting verdict carries
//! the authenticator response (`S=`) and the MPPE keys, so a backend that
//! never reveals the password (RADIUS with MS-CHAP2-Success and
//! MS-MPPE-Send/Recv-Key) fits as well as a local one.
//!
//! # The client trusts nothing unproven
//!
//! The `AuthPeer` reports [`ClientOutcome::Success`] for MS-CHAPv2 (plain
//! or inside EAP) only after the server's `S=` authenticator response has
//! been checked in constant time against the password (RFC 2759 §8.8). An
//! EAP-Success that does not follow a verified EAP-MSCHAPv2 success is a
//! failure: a server cannot skip authentication.
//!
//! # Call order (both components)
//!
//! 1. `new`, then `start` once the link enters the Authenticate phase
//!    (RFC 1661 §3.5) with the negotiated method.
//! 2. Feed every received packet of the method's protocol to
//!    `handle_packet`, and on the server every verdict to `complete`; send
//!    whatever they pushed into the outbox.
//! 3. After every call re-read `poll_timeout`; when that instant has passed,
//!    call `handle_timeout` (early calls are harmless).
//! 4. Each component reports exactly one terminal outcome (`Success` or
//!    `Failure`); the server reports at most one `NeedVerdict` before it,
//!    except when it relays EAP (RFC 3579), where each round of the
//!    backend's conversation is one `NeedVerdict`, one at a time.
//!    After the terminal outcome the component keeps answering
//!    retransmissions (RFC 1994 §4.2) but never reports again.
//!
//! # Robustness
//!
//! Malformed packets, packets with a stale Identifier and packets that make
//! no sense in the current state are ignored and counted (`Counters`),
//! never a panic. A Response that arrives while a verdict is pending is
//! ignored (no second `NeedVerdict`). Packets of another protocol are
//! ignored here; the link decides whether to send a Protocol-Reject, and
//! tells a component about a Protocol-Reject it received through
//! `protocol_rejected`.
//!
//! # HLAK (MS-SSTP §3.2.5.2.2)
//!
//! | Method | Client | Server |
//! |---|---|---|
//! | PAP, CHAP-MD5 | 32 zero bytes | 32 zero bytes |
//! | MS-CHAPv2 | `Hlak::from_mschapv2`, client-role MPPE keys | `Hlak::from_mschapv2` of the verdict's keys |
//! | EAP-MSCHAPv2 | `Hlak::from_eap_msk` of the MSK | the MSK from the verdict (or built from its MPPE keys) |
//!
//! For the same exchange all key-deriving rows give the same 32 bytes
//! (MS-SSTP 3.2.5.2.4 orders the MPPE keys per side so the HLAKs match;
//! the chained RFC 2759 vector in the tests pins it). CHAP-MD5 and PAP authenticate the peer only: a client
//! cannot tell a real server from an impostor with those methods.

use std::time::{Duration, Instant};

use crate::crypto::binding::Hlak;
use crate::crypto::mschapv2::Credential;
use crate::wire::ppp::Protocol;

use super::{AuthMethod, ControlFrame, Outbox, Random};

mod chap;
mod eap;
mod eap_tls;
mod pap;
mod request;
#[cfg(test)]
mod tests;

pub(crate) use eap_tls::WallAnchor;
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use eap_tls::test_pki;
// The fuzz harness of the reassembly (`fuzzing::eap_tls`).
pub use eap_tls::{DEFAULT_MAX_FLIGHT, EapTlsClientConfig, EapTlsServerConfig};
#[cfg(feature = "fuzzing")]
pub(crate) use eap_tls::{FragmentError, Incoming, Outgoing, Reassembled, fragment_size};
use eap_tls::{Next, TlsMethod, tls_words};
pub use request::{Accept, AuthData, AuthRequest, AuthVerdict, KeyMaterial, PapPassword};

/// Default Restart timer: how long a Challenge (or EAP Request, or PAP
/// Authenticate-Request) waits for its answer before it is sent again
/// (RFC 1661 §4.6 default, used by RFC 1994 §4.1 and RFC 1334 §2.2.1).
pub(crate) const DEFAULT_RESTART_TIMER: Duration = Duration::from_secs(3);

/// Default number of transmissions of one Challenge, EAP Request or PAP
/// Authenticate-Request before giving up (RFC 1661 §4.6 Max-Configure
/// default, as pppd uses for CHAP and PAP).
pub(crate) const DEFAULT_MAX_TRANSMISSIONS: u32 = 10;

/// Default bound on the whole authentication phase, verdict wait included.
pub(crate) const DEFAULT_AUTH_TIMEOUT: Duration = Duration::from_secs(30);

/// Default name the server puts in CHAP Challenges and EAP-MSCHAPv2
/// Challenges (RFC 1994 §4.1 Name).
pub(crate) const DEFAULT_SERVER_NAME: &str = "sstp-rs";

/// Longest text taken from a peer's message for events and logs; the rest
/// is cut.
const MAX_PEER_TEXT: usize = 256;

/// Tunables of the server side (the crate's `Authenticator`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthenticatorConfig {
    /// Name sent in CHAP and EAP-MSCHAPv2 Challenges (RFC 1994 §4.1 Name;
    /// at most 255 bytes are sent).
    pub server_name: String,
    /// Restart timer for Challenges and EAP Requests.
    pub restart_timer: Duration,
    /// Transmissions of one Challenge or EAP Request before giving up (`0`
    /// behaves like `1`).
    pub max_transmissions: u32,
    /// Bound on the whole phase, from `start` to the terminal outcome,
    /// including the time the backend takes for its verdict.
    pub timeout: Duration,
    /// EAP-TLS (RFC 5216): the inner TLS server. Without it EAP-TLS is
    /// never offered.
    pub eap_tls: Option<EapTlsServerConfig>,
    /// EAP pass-through (RFC 3579 §2): after its own Request/Identity, the
    /// server relays every EAP Response to the backend
    /// ([`AuthData::Eap`]) and sends the Requests it answers with
    /// ([`AuthVerdict::Continue`]), so the EAP method runs in a RADIUS
    /// server. The backend may hand a peer back to the local methods
    /// ([`AuthVerdict::Local`]). Off by default.
    pub eap_relay: bool,
    /// The EAP methods to offer inside EAP, in order (the session sets it
    /// from its method list).
    pub(crate) eap_methods: Vec<AuthMethod>,
}

impl Default for AuthenticatorConfig {
    fn default() -> Self {
        Self {
            server_name: DEFAULT_SERVER_NAME.to_owned(),
            restart_timer: DEFAULT_RESTART_TIMER,
            max_transmissions: DEFAULT_MAX_TRANSMISSIONS,
            timeout: DEFAULT_AUTH_TIMEOUT,
            eap_tls: None,
            eap_relay: false,
            eap_methods: vec![AuthMethod::EapMsChapV2],
        }
    }
}

/// Tunables of the client side (the crate's `AuthPeer`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerConfig {
    /// Restart timer for PAP Authenticate-Requests (CHAP and EAP peers
    /// never retransmit on their own: the authenticator does).
    pub restart_timer: Duration,
    /// Transmissions of the PAP Authenticate-Request before giving up (`0`
    /// behaves like `1`).
    pub max_transmissions: u32,
    /// Bound on the whole phase, from `start` to the terminal outcome.
    pub timeout: Duration,
    /// EAP-TLS (RFC 5216): the client certificate and the check of the
    /// server's inner certificate. Without it the client Naks EAP-TLS.
    pub eap_tls: Option<EapTlsClientConfig>,
    /// The EAP methods the peer answers (the session sets it from its
    /// method list).
    pub(crate) eap_methods: Vec<AuthMethod>,
}

impl Default for PeerConfig {
    fn default() -> Self {
        Self {
            restart_timer: DEFAULT_RESTART_TIMER,
            max_transmissions: DEFAULT_MAX_TRANSMISSIONS,
            timeout: DEFAULT_AUTH_TIMEOUT,
            eap_tls: None,
            eap_methods: vec![AuthMethod::EapMsChapV2],
        }
    }
}

/// Why authentication failed, in plain words, for events and logs. Either
/// side reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthFailure {
    /// The credentials or the account were refused: on the client, the server's message
    /// (PAP Nak text, CHAP Failure text, MS-CHAPv2 `M=`) and MS-CHAPv2 `E=`
    /// code; on the server, the backend's reason.
    #[error("{}", rejected_text(message, *mschapv2_error))]
    Rejected {
        /// The reason as text (from the peer: sanitized and cut to 256
        /// characters).
        message: String,
        /// The MS-CHAPv2 error code (RFC 2759 §6 `E=`, e.g. 691), when the
        /// method has one.
        mschapv2_error: Option<u32>,
    },
    /// The MS-CHAPv2 authenticator response (`S=`, RFC 2759 §5) was
    /// missing, garbled or wrong: the server could not prove it knows the
    /// password (client side), or the peer refused ours (server side).
    #[error("mutual authentication failed: the MS-CHAPv2 authenticator response did not verify")]
    MutualAuthFailed,
    /// The peer does not run the method (EAP Nak, Protocol-Reject, no
    /// common EAP type).
    #[error("authentication method not supported by the peer: {detail}")]
    MethodNotSupported {
        /// What the peer said or asked for instead.
        detail: String,
    },
    /// Nothing useful arrived in time.
    #[error("authentication timed out waiting for {waiting_for}")]
    Timeout {
        /// What was awaited, e.g. "the peer's CHAP Response".
        waiting_for: &'static str,
    },
    /// The peer broke the protocol in a way that ends authentication, e.g.
    /// an EAP-Success without a verified EAP-MSCHAPv2 exchange.
    #[error("the peer broke the authentication protocol: {detail}")]
    PeerMisbehaved {
        /// What it did.
        detail: String,
    },
    /// The EAP-TLS handshake failed: a certificate refused (expired, not
    /// from a trusted CA, revoked, not for this name), no common TLS
    /// parameters, an alert from the other side.
    #[error("certificate authentication failed: {detail}")]
    Tls {
        /// What went wrong, in words.
        detail: String,
    },
    /// This side refused or could not go on: configuration (PAP or
    /// CHAP-MD5 with only an NT hash), a backend verdict that lacks what
    /// the method needs, ...
    #[error("authentication stopped by local policy: {reason}")]
    LocalPolicy {
        /// Why.
        reason: String,
    },
}

fn rejected_text(message: &str, code: Option<u32>) -> String {
    let message = if message.is_empty() {
        "no reason given"
    } else {
        message
    };
    match code {
        // 691 is ERROR_AUTHENTICATION_FAILURE (RFC 2759 6): the password.
        // The other codes refuse an account whose credentials may be fine
        // (disabled, no dial-in permission, already connected, ...).
        Some(691) => format!("credentials rejected: {message} (MS-CHAPv2 error 691)"),
        Some(code) => format!("login refused: {message} (MS-CHAPv2 error {code})"),
        None => format!("credentials rejected: {message}"),
    }
}

/// What the server side reports.
#[derive(Debug)]
#[non_exhaustive]
pub(crate) enum ServerOutcome {
    /// The method's data is complete: check it and answer with
    /// `Authenticator::complete`.
    NeedVerdict(AuthRequest),
    /// The peer is authenticated; the Success went out.
    Success {
        /// The user name the peer authenticated as (lossy UTF-8).
        username: String,
        /// The HLAK for the SSTP crypto binding (MS-SSTP §3.2.5.2.2).
        hlak: Hlak,
    },
    /// Authentication failed; any Failure message the method has went out.
    Failure(AuthFailure),
    /// The name the peer gave in its EAP Identity (RFC 3748 §5.1), before
    /// any method ran: for logs, it proves nothing. The phase goes on.
    Identity(String),
    /// [`Identity`](Self::Identity), then [`NeedVerdict`](Self::NeedVerdict)
    /// on the relayed Response/Identity (EAP pass-through).
    IdentityAndVerdict(String, AuthRequest),
}

/// What the client side reports.
#[derive(Debug)]
#[non_exhaustive]
pub(crate) enum ClientOutcome {
    /// The server accepted us (and, for MS-CHAPv2, proved it knows the
    /// password).
    Success {
        /// The HLAK for the SSTP crypto binding (MS-SSTP §3.2.5.2.2).
        hlak: Hlak,
    },
    /// Authentication failed.
    Failure(AuthFailure),
}

/// Packets a component ignored, for diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    /// Packets that did not parse, or whose value had the wrong size.
    pub(crate) malformed: u32,
    /// Well-formed packets that did not fit: stale Identifier, wrong state,
    /// wrong protocol, a Response while a verdict is pending, ...
    pub(crate) unexpected: u32,
}

impl Counters {
    fn malformed(&mut self, what: &str, error: &dyn core::fmt::Display) {
        self.malformed = self.malformed.saturating_add(1);
        tracing::debug!(%error, "auth: ignored malformed {what}");
    }

    fn unexpected(&mut self, what: &str) {
        self.unexpected = self.unexpected.saturating_add(1);
        tracing::debug!("auth: ignored unexpected {what}");
    }
}

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

/// The authenticator (server) side of one authentication phase. See the
/// module docs for the call order.
#[derive(Debug)]
pub(crate) struct Authenticator {
    method: AuthMethod,
    config: AuthenticatorConfig,
    machine: ServerMachine,
    started: bool,
    /// A terminal outcome was reported.
    finished: bool,
    /// End of the whole phase ([`AuthenticatorConfig::timeout`]).
    deadline: Option<Instant>,
    counters: Counters,
    link: LinkInfo,
}

#[derive(Debug)]
enum ServerMachine {
    Pap(pap::PapServer),
    Chap(chap::ChapServer),
    Eap(eap::EapServer),
}

impl Authenticator {
    /// An authenticator for `method`, idle until [`start`](Self::start).
    pub(crate) fn new(method: AuthMethod, config: &AuthenticatorConfig) -> Self {
        let machine = match method {
            AuthMethod::Pap => ServerMachine::Pap(pap::PapServer::new()),
            AuthMethod::ChapMd5 => ServerMachine::Chap(chap::ChapServer::new(chap::Algorithm::Md5)),
            AuthMethod::MsChapV2 => {
                ServerMachine::Chap(chap::ChapServer::new(chap::Algorithm::MsChapV2))
            }
            AuthMethod::EapMsChapV2
            | AuthMethod::EapTls
            | AuthMethod::EapPeap
            | AuthMethod::EapRelayed => ServerMachine::Eap(eap::EapServer::new(method, config)),
        };
        Self {
            method,
            config: config.clone(),
            machine,
            started: false,
            finished: false,
            deadline: None,
            counters: Counters::default(),
            link: LinkInfo::default(),
        }
    }

    /// The method this authenticator runs: for EAP, the one offered last
    /// (the peer may have Nak'd the first for another, RFC 3748 §5.3.1).
    pub(crate) fn method(&self) -> AuthMethod {
        match &self.machine {
            ServerMachine::Eap(m) => m.method().unwrap_or(self.method),
            _ => self.method,
        }
    }

    /// What the link is: the peer's MRU and the wall-clock time.
    pub(crate) fn set_link(&mut self, link: LinkInfo) {
        self.link = link;
    }

    /// Packets ignored so far.
    #[cfg(test)] // only the tests read it
    pub(crate) const fn counters(&self) -> Counters {
        self.counters
    }

    /// Whether the terminal outcome was reported.
    #[cfg(test)] // only the tests read it
    pub(crate) const fn is_finished(&self) -> bool {
        self.finished
    }

    /// Begins the phase: CHAP and MS-CHAPv2 send a Challenge with a fresh
    /// random challenge, EAP an Identity Request; PAP waits for the peer's
    /// Authenticate-Request. A second call does nothing.
    pub(crate) fn start(&mut self, now: Instant, rng: &mut dyn Random, out: &mut Outbox) {
        if self.started {
            return;
        }
        self.started = true;
        self.deadline = Some(after(now, self.config.timeout));
        tracing::debug!(method = %self.method, "auth: authenticator starts");
        match &mut self.machine {
            ServerMachine::Pap(_) => {}
            ServerMachine::Chap(m) => m.start(&self.config, now, rng, out),
            ServerMachine::Eap(m) => m.start(&self.config, now, rng, out),
        }
    }

    /// Handles one received packet (`packet` starts at the Code field).
    pub(crate) fn handle_packet(
        &mut self,
        now: Instant,
        protocol: Protocol,
        packet: &[u8],
        rng: &mut dyn Random,
        out: &mut Outbox,
    ) -> Option<ServerOutcome> {
        if !self.started || protocol != self.method.protocol() {
            self.counters
                .unexpected("packet (not started, or another protocol)");
            return None;
        }
        let cx = Cx {
            config: &self.config,
            link: &self.link,
            now,
            out,
            counters: &mut self.counters,
        };
        let outcome = match &mut self.machine {
            ServerMachine::Pap(m) => m.handle(cx, packet),
            ServerMachine::Chap(m) => m.handle(cx, packet),
            ServerMachine::Eap(m) => m.handle(cx, packet, rng),
        };
        self.note(outcome)
    }

    /// Resumes with the backend's verdict on the last
    /// [`ServerOutcome::NeedVerdict`]: sends the Success or Failure message
    /// in the method's format. Ignored (returns `None`) when no verdict is
    /// pending.
    pub(crate) fn complete(
        &mut self,
        now: Instant,
        verdict: AuthVerdict,
        rng: &mut dyn Random,
        out: &mut Outbox,
    ) -> Option<ServerOutcome> {
        if self.finished {
            tracing::debug!("auth: verdict after the phase ended, ignored");
            return None;
        }
        let cx = Cx {
            config: &self.config,
            link: &self.link,
            now,
            out,
            counters: &mut self.counters,
        };
        let outcome = match &mut self.machine {
            ServerMachine::Pap(m) => m.complete(cx, verdict),
            ServerMachine::Chap(m) => m.complete(cx, verdict, rng),
            ServerMachine::Eap(m) => m.complete(cx, verdict, rng),
        };
        self.note(outcome)
    }

    /// The next instant [`handle_timeout`](Self::handle_timeout) has work.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let retransmit = match &self.machine {
            ServerMachine::Pap(_) => None,
            ServerMachine::Chap(m) => m.retransmit_at(),
            ServerMachine::Eap(m) => m.retransmit_at(),
        };
        let deadline = if self.finished { None } else { self.deadline };
        earliest(retransmit, deadline)
    }

    /// Retransmits the outstanding Challenge or EAP Request, gives up after
    /// [`AuthenticatorConfig::max_transmissions`], or ends the phase at
    /// [`AuthenticatorConfig::timeout`]. Acts only on due deadlines.
    pub(crate) fn handle_timeout(
        &mut self,
        now: Instant,
        _rng: &mut dyn Random,
        out: &mut Outbox,
    ) -> Option<ServerOutcome> {
        if !self.finished && self.deadline.is_some_and(|d| d <= now) {
            let waiting_for = match &mut self.machine {
                ServerMachine::Pap(m) => m.abort(),
                ServerMachine::Chap(m) => m.abort(),
                ServerMachine::Eap(m) => m.abort(),
            };
            tracing::debug!(method = %self.method, waiting_for, "auth: authenticator timed out");
            return self.note(Some(ServerOutcome::Failure(AuthFailure::Timeout {
                waiting_for,
            })));
        }
        let cx = Cx {
            config: &self.config,
            link: &self.link,
            now,
            out,
            counters: &mut self.counters,
        };
        let outcome = match &mut self.machine {
            ServerMachine::Pap(_) => None,
            ServerMachine::Chap(m) => m.handle_timeout(cx),
            ServerMachine::Eap(m) => m.handle_timeout(cx),
        };
        self.note(outcome)
    }

    /// The peer answered the method's protocol with an LCP Protocol-Reject
    /// (RFC 1661 §5.7): it does not run the method. Ends the phase with
    /// [`AuthFailure::MethodNotSupported`] unless it already ended.
    #[cfg(test)] // the link answers a rejected method itself (`on_protocol_rejected`)
    pub(crate) fn protocol_rejected(&mut self) -> Option<ServerOutcome> {
        if self.finished {
            return None;
        }
        match &mut self.machine {
            ServerMachine::Pap(m) => m.abort(),
            ServerMachine::Chap(m) => m.abort(),
            ServerMachine::Eap(m) => m.abort(),
        };
        let detail = format!("the peer sent an LCP Protocol-Reject for {}", self.method);
        self.note(Some(ServerOutcome::Failure(
            AuthFailure::MethodNotSupported { detail },
        )))
    }

    /// Records a terminal outcome; drops any outcome after the first
    /// terminal one (the machines never produce one, this is a backstop).
    fn note(&mut self, outcome: Option<ServerOutcome>) -> Option<ServerOutcome> {
        let outcome = outcome?;
        if self.finished {
            return None;
        }
        match &outcome {
            ServerOutcome::NeedVerdict(request) | ServerOutcome::IdentityAndVerdict(_, request) => {
                tracing::debug!(method = %self.method, user = request.user_name_lossy(), "auth: verdict needed");
            }
            ServerOutcome::Success { username, .. } => {
                tracing::debug!(method = %self.method, user = username.as_str(), "auth: peer authenticated");
                self.finished = true;
            }
            ServerOutcome::Failure(failure) => {
                tracing::debug!(method = %self.method, %failure, "auth: peer not authenticated");
                self.finished = true;
            }
            ServerOutcome::Identity(_) => {}
        }
        Some(outcome)
    }
}

// ---------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------

/// The peer (client) side of one authentication phase. See the module docs
/// for the call order.
#[derive(Debug)]
pub(crate) struct AuthPeer {
    identity: Identity,
    config: PeerConfig,
    machine: Option<PeerMachine>,
    finished: bool,
    deadline: Option<Instant>,
    counters: Counters,
    link: LinkInfo,
}

/// Who the client is: the user name as sent and the secret.
#[derive(Debug)]
struct Identity {
    user_name: String,
    credential: Credential,
}

#[derive(Debug)]
enum PeerMachine {
    Pap(pap::PapPeer),
    Chap(chap::ChapPeer),
    Eap(eap::EapPeer),
}

impl AuthPeer {
    /// A peer that will authenticate as `user_name` (sent as is, e.g.
    /// `DOMAIN\user`; MS-CHAPv2 hashes it without the domain).
    pub(crate) fn new(
        user_name: impl Into<String>,
        credential: Credential,
        config: &PeerConfig,
    ) -> Self {
        Self {
            identity: Identity {
                user_name: user_name.into(),
                credential,
            },
            config: config.clone(),
            machine: None,
            finished: false,
            deadline: None,
            counters: Counters::default(),
            link: LinkInfo::default(),
        }
    }

    /// Packets ignored so far.
    #[cfg(test)] // only the tests read it
    pub(crate) const fn counters(&self) -> Counters {
        self.counters
    }

    /// Whether the terminal outcome was reported.
    #[cfg(test)] // only the tests read it
    pub(crate) const fn is_finished(&self) -> bool {
        self.finished
    }

    /// What the link is: the peer's MRU and the wall-clock time.
    pub(crate) fn set_link(&mut self, link: LinkInfo) {
        self.link = link;
    }

    /// For EAP, the EAP method that ran (the server chooses inside EAP, so
    /// LCP's option does not say); `None` for the other protocols.
    pub(crate) fn eap_method(&self) -> Option<AuthMethod> {
        match &self.machine {
            Some(PeerMachine::Eap(m)) => Some(m.method()),
            _ => None,
        }
    }

    /// Begins the phase with the method the server asked for in LCP: PAP
    /// sends its Authenticate-Request (and retransmits it on the Restart
    /// timer); the others wait for the server. Fails at once when the
    /// credential cannot serve the method (PAP and CHAP-MD5 need the
    /// plaintext password). A second call does nothing.
    pub(crate) fn start(
        &mut self,
        now: Instant,
        method: AuthMethod,
        rng: &mut dyn Random,
        out: &mut Outbox,
    ) -> Option<ClientOutcome> {
        if self.machine.is_some() || self.finished {
            return None;
        }
        self.deadline = Some(after(now, self.config.timeout));
        tracing::debug!(%method, "auth: peer starts");
        let needs_plaintext = matches!(method, AuthMethod::Pap | AuthMethod::ChapMd5);
        if needs_plaintext && !matches!(self.identity.credential, Credential::Password(_)) {
            return self.note(Some(ClientOutcome::Failure(AuthFailure::LocalPolicy {
                reason: format!(
                    "{method} needs the plaintext password, but only an NT hash is configured"
                ),
            })));
        }
        let (machine, outcome) = match method {
            AuthMethod::Pap => {
                let (m, outcome) = pap::PapPeer::start(&self.identity, &self.config, now, rng, out);
                (PeerMachine::Pap(m), outcome)
            }
            AuthMethod::ChapMd5 => (
                PeerMachine::Chap(chap::ChapPeer::new(chap::Algorithm::Md5)),
                None,
            ),
            AuthMethod::MsChapV2 => (
                PeerMachine::Chap(chap::ChapPeer::new(chap::Algorithm::MsChapV2)),
                None,
            ),
            AuthMethod::EapMsChapV2
            | AuthMethod::EapTls
            | AuthMethod::EapPeap
            | AuthMethod::EapRelayed => (PeerMachine::Eap(eap::EapPeer::new()), None),
        };
        self.machine = Some(machine);
        self.note(outcome)
    }

    /// Handles one received packet (`packet` starts at the Code field).
    /// `now` keeps the signature uniform with the authenticator; no peer
    /// reaction depends on the time of arrival.
    pub(crate) fn handle_packet(
        &mut self,
        now: Instant,
        protocol: Protocol,
        packet: &[u8],
        rng: &mut dyn Random,
        out: &mut Outbox,
    ) -> Option<ClientOutcome> {
        let Some(machine) = &mut self.machine else {
            self.counters.unexpected("packet before start");
            return None;
        };
        let expected = match machine {
            PeerMachine::Pap(_) => Protocol::PAP,
            PeerMachine::Chap(_) => Protocol::CHAP,
            PeerMachine::Eap(_) => Protocol::EAP,
        };
        if protocol != expected {
            self.counters.unexpected("packet of another protocol");
            return None;
        }
        let cx = PeerCx {
            identity: &self.identity,
            config: &self.config,
            link: &self.link,
            now,
            out,
            counters: &mut self.counters,
        };
        let outcome = match machine {
            PeerMachine::Pap(m) => m.handle(cx, packet),
            PeerMachine::Chap(m) => m.handle(cx, packet, rng),
            PeerMachine::Eap(m) => m.handle(cx, packet, rng),
        };
        self.note(outcome)
    }

    /// The next instant [`handle_timeout`](Self::handle_timeout) has work.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        if self.finished {
            return None;
        }
        let retransmit = match &self.machine {
            Some(PeerMachine::Pap(m)) => m.retransmit_at(),
            _ => None,
        };
        earliest(retransmit, self.deadline)
    }

    /// Retransmits the PAP Authenticate-Request, gives up after
    /// [`PeerConfig::max_transmissions`], or ends the phase at
    /// [`PeerConfig::timeout`]. Acts only on due deadlines.
    pub(crate) fn handle_timeout(
        &mut self,
        now: Instant,
        out: &mut Outbox,
    ) -> Option<ClientOutcome> {
        if self.finished {
            return None;
        }
        if self.deadline.is_some_and(|d| d <= now) {
            let waiting_for = match &mut self.machine {
                Some(PeerMachine::Pap(m)) => m.abort(),
                Some(PeerMachine::Chap(m)) => m.abort(),
                Some(PeerMachine::Eap(m)) => m.abort(),
                None => "the start of authentication",
            };
            tracing::debug!(waiting_for, "auth: peer timed out");
            return self.note(Some(ClientOutcome::Failure(AuthFailure::Timeout {
                waiting_for,
            })));
        }
        let outcome = match &mut self.machine {
            Some(PeerMachine::Pap(m)) => m.handle_timeout(&self.identity, &self.config, now, out),
            _ => None,
        };
        self.note(outcome)
    }

    /// The server answered the method's protocol with an LCP
    /// Protocol-Reject (RFC 1661 §5.7). Ends the phase with
    /// [`AuthFailure::MethodNotSupported`] unless it already ended.
    #[cfg(test)] // the link answers a rejected method itself (`on_protocol_rejected`)
    pub(crate) fn protocol_rejected(&mut self) -> Option<ClientOutcome> {
        if self.finished {
            return None;
        }
        let method = match &mut self.machine {
            Some(PeerMachine::Pap(m)) => {
                m.abort();
                "PAP"
            }
            Some(PeerMachine::Chap(m)) => {
                m.abort();
                "CHAP"
            }
            Some(PeerMachine::Eap(m)) => {
                m.abort();
                "EAP"
            }
            None => "the authentication protocol",
        };
        let detail = format!("the server sent an LCP Protocol-Reject for {method}");
        self.note(Some(ClientOutcome::Failure(
            AuthFailure::MethodNotSupported { detail },
        )))
    }

    fn note(&mut self, outcome: Option<ClientOutcome>) -> Option<ClientOutcome> {
        let outcome = outcome?;
        if self.finished {
            return None;
        }
        self.finished = true;
        self.deadline = None;
        match &outcome {
            ClientOutcome::Success { .. } => tracing::debug!("auth: authenticated to the server"),
            ClientOutcome::Failure(failure) => {
                tracing::debug!(%failure, "auth: authentication failed");
            }
        }
        Some(outcome)
    }
}

// ---------------------------------------------------------------------------
// Shared by the method modules
// ---------------------------------------------------------------------------

/// What a server-side method machine needs from its caller for one call.
struct Cx<'a> {
    config: &'a AuthenticatorConfig,
    link: &'a LinkInfo,
    now: Instant,
    out: &'a mut Outbox,
    counters: &'a mut Counters,
}

/// What a client-side method machine needs from its caller for one call.
struct PeerCx<'a> {
    identity: &'a Identity,
    config: &'a PeerConfig,
    link: &'a LinkInfo,
    now: Instant,
    out: &'a mut Outbox,
    counters: &'a mut Counters,
}

/// What the link tells a component about itself: the peer's MRU (EAP-TLS
/// cuts its fragments to it) and the wall-clock time (EAP-TLS checks
/// certificate dates against it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LinkInfo {
    /// The peer's MRU (RFC 1661 §6.1).
    pub(crate) peer_mru: u16,
    /// The wall-clock time at some `now`, if the driver gave it.
    pub(crate) wall: Option<WallAnchor>,
}

impl Default for LinkInfo {
    fn default() -> Self {
        Self {
            peer_mru: 1500,
            wall: None,
        }
    }
}

/// A packet that waits for its answer under the Restart timer.
#[derive(Debug, Clone)]
struct Outstanding {
    protocol: Protocol,
    identifier: u8,
    packet: Vec<u8>,
    transmissions: u32,
    retransmit_at: Instant,
}

/// What the Restart timer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retransmit {
    NotDue,
    Resent,
    /// The last transmission went unanswered for a full period.
    Exhausted,
}

impl Outstanding {
    /// Sends `packet` and arms the Restart timer.
    fn send(
        protocol: Protocol,
        identifier: u8,
        packet: Vec<u8>,
        now: Instant,
        restart: Duration,
        out: &mut Outbox,
    ) -> Self {
        push(out, protocol, packet.clone());
        Self {
            protocol,
            identifier,
            packet,
            transmissions: 1,
            retransmit_at: after(now, restart),
        }
    }

    /// Sends the same bytes again if the Restart timer is due and the budget
    /// of `max` transmissions allows.
    fn on_timeout(
        &mut self,
        now: Instant,
        restart: Duration,
        max: u32,
        out: &mut Outbox,
    ) -> Retransmit {
        if now < self.retransmit_at {
            return Retransmit::NotDue;
        }
        if self.transmissions >= max.max(1) {
            return Retransmit::Exhausted;
        }
        push(out, self.protocol, self.packet.clone());
        self.transmissions = self.transmissions.saturating_add(1);
        self.retransmit_at = after(now, restart);
        Retransmit::Resent
    }
}

fn push(out: &mut Outbox, protocol: Protocol, packet: Vec<u8>) {
    out.push_back(ControlFrame { protocol, packet });
}

/// `now + d`, saturating at `now` for absurd durations rather than
/// panicking.
fn after(now: Instant, d: Duration) -> Instant {
    now.checked_add(d).unwrap_or(now)
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn random_u8(rng: &mut dyn Random) -> u8 {
    let mut b = [0u8; 1];
    rng.fill(&mut b);
    b[0]
}

fn random_16(rng: &mut dyn Random) -> [u8; 16] {
    let mut b = [0u8; 16];
    rng.fill(&mut b);
    b
}

/// Text from the peer made safe for events and logs: lossy UTF-8, control
/// characters replaced, cut to [`MAX_PEER_TEXT`] characters.
pub(crate) fn peer_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .take(MAX_PEER_TEXT)
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

/// The server name as sent in Challenges: at most 255 bytes, so a huge
/// configured name cannot push a packet past its length field.
fn server_name(config: &AuthenticatorConfig) -> Vec<u8> {
    let name = config.server_name.as_bytes();
    name.get(..255).unwrap_or(name).to_vec()
}
