//! The PPP link: phases (RFC 1661 section 3.2) and dispatch by protocol.
//!
//! ```text
//! Dead --(SSTP Lower Link Up)--> Establish --(LCP Up)--> Authenticate
//!   --(auth success)--> Network --(IPCP/IPv6CP Up)--> IP flows
//! any phase --(failure / close)--> Terminate --(LCP Finished)--> Dead
//! ```
//!
//! The link owns the LCP negotiator and keepalive, the authentication side of
//! its role, and the IPCP and IPv6CP negotiators. It sees PPP *control*
//! frames only: IPv4/IPv6 data takes the session's fast path and never comes
//! here. What it sends goes into its `Outbox`; what the session must act on
//! comes out as `LinkEvent`s.
//!
//! Rules from RFC 1661 it enforces:
//! - authentication starts only once LCP is Opened in both directions
//!   (section 3.5; sstpc ignores a challenge before that);
//! - NCP packets before the Network phase are silently discarded (3.5);
//! - a frame of a protocol we do not run gets a Protocol-Reject, and only
//!   while LCP is Opened (5.7);
//! - LCP leaving Opened ends the call: SSTP has no use for a renegotiated
//!   link after the crypto binding, and Windows never does it.

use std::collections::VecDeque;
use std::time::Instant;

use super::auth::{
    AuthFailure, AuthPeer, AuthRequest, AuthVerdict, Authenticator, AuthenticatorConfig,
    ClientOutcome, LinkInfo, PeerConfig, ServerOutcome, WallAnchor,
};
use super::fsm::{FsmConfig, State};
use super::ipcp::{AddressLease, IpcpClientConfig, IpcpConfig, IpcpPolicy, Ipv4Config};
use super::ipv6cp::{Ipv6Config, Ipv6cpConfig, Ipv6cpPolicy};
use super::lcp::{KeepaliveConfig, KeepaliveEvent, LcpConfig, LcpKeepalive, LcpPolicy};
use super::negotiator::{LayerEvent, Negotiator};
use super::{AuthMethod, Outbox, Random};
use crate::crypto::binding::Hlak;
use crate::crypto::mschapv2::Credential;
use crate::error::{CloseReason, Ending, Missing, PppFailure, Refusal, Timer};
use crate::wire::ppp::Protocol;

/// NCP packets held while a server waits for its address lease.
const MAX_HELD_NCP_PACKETS: usize = 4;

/// The phase of the link (RFC 1661 3.2).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// No lower layer yet.
    Dead,
    /// LCP negotiating.
    Establish,
    /// Authentication running.
    Authenticate,
    /// NCPs negotiating or open.
    Network,
    /// Tearing down.
    Terminate,
}

/// What the session must act on.
#[derive(Debug)]
pub(crate) enum LinkEvent {
    /// Server: authentication data to check (resume with `auth_complete`).
    NeedVerdict(AuthRequest),
    /// Server: the name in the peer's EAP Identity (logs only).
    PeerIdentity(String),
    /// Authentication succeeded (or none was asked for, client side).
    Authenticated {
        username: String,
        method: Option<AuthMethod>,
        hlak: Hlak,
    },
    /// Server: the Network phase started; addresses are needed.
    NeedAddresses,
    /// IPCP is Opened.
    Ipv4Up(Ipv4Config),
    /// IPv6CP is Opened.
    Ipv6Up(Ipv6Config),
    /// The link cannot go on; LCP is terminating (Finished follows).
    Failed(CloseReason),
    /// LCP finished: the lower layer (the SSTP call) may be torn down.
    Finished,
}

/// PPP settings shared by both roles.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PppConfig {
    /// LCP options (role, auth methods, MRU).
    pub lcp: LcpConfig,
    /// LCP Echo keepalive.
    pub keepalive: KeepaliveConfig,
    /// Restart timer and counters of every automaton (RFC 1661 4.6).
    pub fsm: FsmConfig,
    /// Negotiate IPv6CP.
    pub ipv6: bool,
}

enum Side {
    Server {
        config: AuthenticatorConfig,
        authenticator: Option<Authenticator>,
        /// Held NCP packets (protocol, bytes) until the lease arrives.
        held: VecDeque<(Protocol, Vec<u8>)>,
        lease_requested: bool,
    },
    Client {
        peer: AuthPeer,
        username: String,
        /// Kept to start over when the server renegotiates LCP before
        /// authentication is done.
        credential: Credential,
        peer_config: PeerConfig,
        ipcp: IpcpClientConfig,
        /// The authentication phase was entered (once per LCP opening).
        started: bool,
    },
}

impl core::fmt::Debug for Side {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Server { .. } => f.write_str("Server"),
            Self::Client { .. } => f.write_str("Client"),
        }
    }
}

/// One PPP link, either role.
#[derive(Debug)]
pub(crate) struct Link {
    phase: Phase,
    side: Side,
    fsm: FsmConfig,
    ipv6: bool,
    lcp: Negotiator<LcpPolicy>,
    keepalive: LcpKeepalive,
    ipcp: Option<Negotiator<IpcpPolicy>>,
    ipv6cp: Option<Negotiator<Ipv6cpPolicy>>,
    out: Outbox,
    events: VecDeque<LinkEvent>,
    /// We are closing on purpose; LCP going down is expected.
    closing: bool,
    ipv4: Option<Ipv4Config>,
    peer_mru: u16,
    /// Our MRU as the peer Acked it (RFC 1661 6.1).
    local_mru: u16,
    /// An authentication packet that arrived just before LCP opened.
    held_auth: Option<(Protocol, Vec<u8>)>,
    /// The wall-clock time, for EAP-TLS certificate dates.
    wall: Option<WallAnchor>,
}

/// The EAP methods of the method list, in its order: which of them runs is
/// settled inside EAP (RFC 3748 §2), where the server offers them in turn
/// and the peer answers those it runs.
fn eap_methods(config: &PppConfig) -> Vec<AuthMethod> {
    config
        .lcp
        .auth_methods
        .iter()
        .copied()
        .filter(|m| m.protocol() == Protocol::EAP)
        .collect()
}

impl Link {
    pub(crate) fn new_server(
        config: &PppConfig,
        mut auth: AuthenticatorConfig,
        rng: &mut dyn Random,
    ) -> Self {
        auth.eap_methods = eap_methods(config);
        let side = Side::Server {
            config: auth,
            authenticator: None,
            held: VecDeque::new(),
            lease_requested: false,
        };
        Self::new(config, side, rng)
    }

    pub(crate) fn new_client(
        config: &PppConfig,
        username: &str,
        credential: Credential,
        peer_config: &PeerConfig,
        ipcp: IpcpClientConfig,
        rng: &mut dyn Random,
    ) -> Self {
        let mut peer_config = peer_config.clone();
        peer_config.eap_methods = eap_methods(config);
        let peer_config = &peer_config;
        let side = Side::Client {
            peer: AuthPeer::new(username, credential.clone(), peer_config),
            username: username.to_owned(),
            credential,
            peer_config: peer_config.clone(),
            ipcp,
            started: false,
        };
        Self::new(config, side, rng)
    }

    /// The wall-clock time at `at` (EAP-TLS checks certificate dates
    /// against it; the link reads no clock).
    pub(crate) fn set_wall_clock(&mut self, at: Instant, since_epoch: std::time::Duration) {
        self.wall = Some(WallAnchor { at, since_epoch });
    }

    fn new(config: &PppConfig, side: Side, rng: &mut dyn Random) -> Self {
        let lcp = Negotiator::new(
            LcpPolicy::new(config.lcp.clone(), rng),
            lcp_fsm(&config.fsm),
        );
        Self {
            phase: Phase::Dead,
            side,
            fsm: config.fsm.clone(),
            ipv6: config.ipv6,
            lcp,
            keepalive: LcpKeepalive::new(config.keepalive.clone()),
            ipcp: None,
            ipv6cp: None,
            out: Outbox::new(),
            events: VecDeque::new(),
            closing: false,
            ipv4: None,
            peer_mru: super::negotiator::DEFAULT_MRU,
            local_mru: super::negotiator::DEFAULT_MRU,
            held_auth: None,
            wall: None,
        }
    }

    pub(crate) fn phase(&self) -> Phase {
        self.phase
    }

    pub(crate) fn outbox(&mut self) -> &mut Outbox {
        &mut self.out
    }

    pub(crate) fn poll_event(&mut self) -> Option<LinkEvent> {
        self.events.pop_front()
    }

    /// The most payload bytes (the IP packet) the peer accepts per frame.
    pub(crate) fn peer_mru(&self) -> u16 {
        self.peer_mru
    }

    /// The most payload bytes (the IP packet) the peer agreed to send us
    /// per frame: our MRU as Acked, 1500 if we asked for none.
    pub(crate) fn local_mru(&self) -> u16 {
        self.local_mru
    }

    /// IPv4 packets may flow (IPCP Opened).
    pub(crate) fn ipv4_open(&self) -> bool {
        self.ipcp.as_ref().is_some_and(Negotiator::is_opened)
    }

    /// IPv6 packets may flow (IPv6CP Opened).
    pub(crate) fn ipv6_open(&self) -> bool {
        self.ipv6cp.as_ref().is_some_and(Negotiator::is_opened)
    }

    /// SSTP Lower Link Up (MS-SSTP 3.1.7.1): start LCP.
    pub(crate) fn lower_up(&mut self, now: Instant, rng: &mut dyn Random) {
        if self.phase != Phase::Dead {
            return;
        }
        self.phase = Phase::Establish;
        self.lcp.open(now, &mut self.out);
        self.lcp.up(now, &mut self.out);
        self.drain_lcp(now, rng);
    }

    /// SSTP Lower Link Down: everything stops at once, nothing is sent.
    pub(crate) fn lower_down(&mut self, now: Instant) {
        let mut sink = Outbox::new();
        self.lcp.down(now, &mut sink);
        self.stop_network(now);
        self.keepalive.stop();
        self.phase = Phase::Dead;
        self.out.clear();
    }

    /// Administrative close: LCP Terminate-Request; `Finished` follows when
    /// the peer acknowledges or the Max-Terminate retries run out.
    pub(crate) fn close(&mut self, now: Instant, reason: &str, rng: &mut dyn Random) {
        if self.closing {
            return;
        }
        self.closing = true;
        if self.phase == Phase::Dead {
            self.events.push_back(LinkEvent::Finished);
            return;
        }
        self.phase = Phase::Terminate;
        self.lcp.close(now, reason, &mut self.out);
        self.drain_lcp(now, rng);
    }

    /// Refuses the session (server, after authentication): LCP
    /// Terminate-Request with `reason` as its Data (RFC 1661 5.5), so the
    /// peer's person learns why; `Finished` follows.
    pub(crate) fn refuse(
        &mut self,
        now: Instant,
        cause: Refusal,
        reason: &str,
        rng: &mut dyn Random,
    ) {
        if self.closing {
            return;
        }
        tracing::debug!(reason, "refusing the session");
        self.events
            .push_back(LinkEvent::Failed(CloseReason::Refused {
                cause,
                reason: reason.to_owned(),
            }));
        self.close(now, reason, rng);
    }

    /// Ends the session on purpose: LCP Terminate-Request whose Data says
    /// why (RFC 1661 §5.5); `Finished` follows, and the session's end is
    /// [`CloseReason::Ended`].
    pub(crate) fn end(&mut self, now: Instant, ending: Ending, rng: &mut dyn Random) {
        if self.closing {
            return;
        }
        tracing::debug!(%ending, "ending the session");
        self.events
            .push_back(LinkEvent::Failed(CloseReason::Ended(ending)));
        self.close(now, ending.words(), rng);
    }

    /// Why the peer ended the link before IP could flow, if it said or if
    /// it is plain: the client refused every authentication method the
    /// server asked for, or the peer's Terminate-Request gave a reason
    /// (RFC 1661 5.5). Client side only: a client that hangs up early is
    /// not refusing anything. `None` once IPCP opened: an end after that is
    /// a normal disconnect, whatever the text.
    pub(crate) fn peer_refusal(&self) -> Option<CloseReason> {
        if self.ipv4.is_some() || matches!(self.side, Side::Server { .. }) {
            return None;
        }
        let refused = self.lcp.policy().refused_auth();
        if matches!(self.side, Side::Client { started: false, .. }) && !refused.is_empty() {
            // LCP never got to an authentication phase because we turned
            // down what the server asked for (RFC 1661 6.2 Nak/Reject).
            return Some(CloseReason::AuthFailed(AuthFailure::MethodNotSupported {
                detail: format!(
                    "the server asked for {}, and this client accepts only {}",
                    refused.join(", "),
                    super::lcp::method_list(&self.lcp.policy().config().auth_methods)
                ),
            }));
        }
        let text = super::auth::peer_text(self.lcp.peer_terminate_reason()?);
        (!text.trim().is_empty()).then(|| CloseReason::PeerTerminated {
            reason: text.trim().to_owned(),
        })
    }

    /// Any frame arrived: liveness for the keepalive.
    pub(crate) fn frame_received(&mut self, now: Instant) {
        self.keepalive.frame_received(now);
    }

    /// A PPP control frame (or a frame of an unknown protocol).
    pub(crate) fn handle_frame(
        &mut self,
        now: Instant,
        protocol: Protocol,
        packet: &[u8],
        rng: &mut dyn Random,
    ) {
        match protocol {
            Protocol::LCP => {
                self.lcp.handle_packet(now, packet, rng, &mut self.out);
                self.drain_lcp(now, rng);
            }
            Protocol::PAP | Protocol::CHAP | Protocol::EAP => {
                self.handle_auth(now, protocol, packet, rng);
            }
            Protocol::IPCP | Protocol::IPV6CP => self.handle_ncp(now, protocol, packet, rng),
            _ => self.protocol_reject(protocol, packet),
        }
    }

    fn protocol_reject(&mut self, protocol: Protocol, packet: &[u8]) {
        // RFC 1661 5.7: the rejected information is the frame's Information
        // field; sent only in LCP Opened (the negotiator checks).
        self.lcp
            .send_protocol_reject(protocol, packet, &mut self.out);
    }

    fn handle_auth(
        &mut self,
        now: Instant,
        protocol: Protocol,
        packet: &[u8],
        rng: &mut dyn Random,
    ) {
        if self.phase == Phase::Establish && self.lcp.state() == State::AckSent {
            // The peer thinks LCP is open (it sent our Ack and its own
            // request was acked) but its Ack of our request is still on the
            // way: SoftEther sends its CHAP Challenge ahead of that Ack after
            // an LCP renegotiation, and never repeats it. Keep the latest
            // authentication packet and replay it once LCP opens.
            self.held_auth = Some((protocol, packet.to_vec()));
            return;
        }
        if !matches!(self.phase, Phase::Authenticate | Phase::Network) {
            return;
        }
        match &mut self.side {
            Side::Server { authenticator, .. } => {
                let outcome = match authenticator {
                    Some(a) if a.method().protocol() == protocol => {
                        a.handle_packet(now, protocol, packet, rng, &mut self.out)
                    }
                    _ => return self.protocol_reject(protocol, packet),
                };
                self.server_outcome(now, outcome, rng);
            }
            Side::Client { peer, .. } => {
                let outcome = peer.handle_packet(now, protocol, packet, rng, &mut self.out);
                self.client_outcome(now, outcome, rng);
            }
        }
    }

    fn handle_ncp(
        &mut self,
        now: Instant,
        protocol: Protocol,
        packet: &[u8],
        rng: &mut dyn Random,
    ) {
        if protocol == Protocol::IPV6CP && !self.ipv6 {
            return self.protocol_reject(protocol, packet);
        }
        if self.phase != Phase::Network {
            // RFC 1661 3.5: NCP packets before the Network phase are dropped.
            return;
        }
        let negotiator_exists = match protocol {
            Protocol::IPCP => self.ipcp.is_some(),
            _ => self.ipv6cp.is_some(),
        };
        if !negotiator_exists {
            if let Side::Server { held, .. } = &mut self.side {
                // The lease is on its way: keep a few packets to replay.
                if held.len() < MAX_HELD_NCP_PACKETS {
                    held.push_back((protocol, packet.to_vec()));
                }
            }
            return;
        }
        match protocol {
            Protocol::IPCP => {
                if let Some(n) = &mut self.ipcp {
                    n.handle_packet(now, packet, rng, &mut self.out);
                }
            }
            _ => {
                if let Some(n) = &mut self.ipv6cp {
                    n.handle_packet(now, packet, rng, &mut self.out);
                }
            }
        }
        self.drain_ncps(now, rng);
    }

    /// Server: the backend's verdict.
    pub(crate) fn auth_complete(
        &mut self,
        now: Instant,
        verdict: AuthVerdict,
        rng: &mut dyn Random,
    ) {
        let Side::Server {
            authenticator: Some(a),
            ..
        } = &mut self.side
        else {
            return;
        };
        let outcome = a.complete(now, verdict, rng, &mut self.out);
        self.server_outcome(now, outcome, rng);
    }

    /// Server: the address lease; starts IPCP (and IPv6CP) and replays the
    /// NCP packets that arrived before it.
    pub(crate) fn assign_addresses(
        &mut self,
        now: Instant,
        lease: AddressLease,
        rng: &mut dyn Random,
    ) {
        if self.phase != Phase::Network || self.ipcp.is_some() {
            return;
        }
        self.start_ncps(now, IpcpConfig::Server(lease), rng);
        let held = match &mut self.side {
            Side::Server { held, .. } => std::mem::take(held),
            Side::Client { .. } => VecDeque::new(),
        };
        for (protocol, packet) in held {
            self.handle_ncp(now, protocol, &packet, rng);
        }
    }

    fn start_ncps(&mut self, now: Instant, ipcp: IpcpConfig, rng: &mut dyn Random) {
        let mut n = Negotiator::new(IpcpPolicy::new(ipcp), self.ncp_fsm("IPCP"));
        n.set_peer_mru(self.peer_mru);
        n.open(now, &mut self.out);
        n.up(now, &mut self.out);
        self.ipcp = Some(n);
        if self.ipv6 {
            let mut n = Negotiator::new(
                Ipv6cpPolicy::new(Ipv6cpConfig::default(), rng),
                self.ncp_fsm("IPv6CP"),
            );
            n.set_peer_mru(self.peer_mru);
            n.open(now, &mut self.out);
            n.up(now, &mut self.out);
            self.ipv6cp = Some(n);
        }
        self.drain_ncps(now, rng);
    }

    fn ncp_fsm(&self, name: &'static str) -> FsmConfig {
        let mut fsm = self.fsm.clone();
        fsm.name = name;
        fsm
    }

    fn stop_network(&mut self, now: Instant) {
        let mut sink = Outbox::new();
        if let Some(n) = &mut self.ipcp {
            n.down(now, &mut sink);
        }
        if let Some(n) = &mut self.ipv6cp {
            n.down(now, &mut sink);
        }
        self.ipcp = None;
        self.ipv6cp = None;
    }

    fn fail(&mut self, now: Instant, reason: CloseReason, rng: &mut dyn Random) {
        if self.closing {
            return;
        }
        tracing::debug!(%reason, "PPP link failed");
        self.events.push_back(LinkEvent::Failed(reason.clone()));
        self.close(now, &reason.to_string(), rng);
    }

    /// LCP layer events (RFC 1661 4.4 tlu/tld/tls/tlf).
    fn drain_lcp(&mut self, now: Instant, rng: &mut dyn Random) {
        while let Some(event) = self.lcp.poll_event() {
            match event {
                LayerEvent::Up => self.lcp_up(now, rng),
                LayerEvent::Down => {
                    self.keepalive.stop();
                    self.stop_network(now);
                    if self.closing {
                        // Our own Terminate-Request: expected.
                    } else if self.lcp.state() == State::Stopping {
                        // The peer sent Terminate-Request (RFC 1661 Opened +
                        // RTR): a normal end of the call; the SSTP
                        // disconnect follows from whichever side.
                        self.closing = true;
                        self.phase = Phase::Terminate;
                        let reason = self.peer_refusal().unwrap_or(CloseReason::PeerDisconnected);
                        self.events.push_back(LinkEvent::Failed(reason));
                    } else if self.phase == Phase::Authenticate {
                        // Opened + RCR before authentication is done: the
                        // server changes its mind about the method
                        // (SoftEther Protocol-Rejects EAP when the client
                        // cannot do EAP-TLS and asks again for MS-CHAPv2).
                        // Back to Establish; authentication starts over once
                        // LCP reopens (RFC 1661 3.7).
                        tracing::debug!("LCP renegotiated before authentication; starting over");
                        self.phase = Phase::Establish;
                        self.reset_auth();
                    } else if self.phase != Phase::Establish {
                        // Opened + RCR: a renegotiation. SSTP has no use for
                        // it after the crypto binding (module docs).
                        self.fail(
                            now,
                            CloseReason::PppFailed(PppFailure::LcpRenegotiated),
                            rng,
                        );
                    }
                }
                LayerEvent::Finished => {
                    self.phase = Phase::Dead;
                    self.events.push_back(LinkEvent::Finished);
                }
                LayerEvent::Failed(failure) => {
                    let reason = match failure {
                        super::negotiator::NegotiationFailure::PeerRefusesAuthentication => {
                            // What the Terminate-Request said: the methods
                            // we allow.
                            CloseReason::Incompatible(Missing::AuthMethod {
                                server_allows: self.lcp.policy().config().auth_methods.clone(),
                            })
                        }
                        _ => CloseReason::PppFailed(PppFailure::Negotiation {
                            protocol: Protocol::LCP,
                            failure,
                        }),
                    };
                    if !self.closing {
                        self.closing = true;
                        self.events.push_back(LinkEvent::Failed(reason));
                    }
                }
                LayerEvent::ProtocolRejected(protocol) => {
                    self.on_protocol_rejected(now, protocol, rng);
                }
                LayerEvent::LoopbackSuspected => {
                    tracing::warn!("LCP: our own Magic-Number came back; the link may be looped");
                }
                _ => {}
            }
        }
    }

    fn on_protocol_rejected(&mut self, now: Instant, protocol: Protocol, rng: &mut dyn Random) {
        match protocol {
            Protocol::IPV6CP => {
                if let Some(n) = &mut self.ipv6cp {
                    n.protocol_rejected(now, &mut self.out);
                }
                self.drain_ncps(now, rng);
            }
            Protocol::IPCP => {
                self.fail(now, CloseReason::Incompatible(Missing::IpcpRejected), rng);
            }
            Protocol::PAP | Protocol::CHAP | Protocol::EAP => {
                if matches!(self.side, Side::Client { .. }) && self.phase == Phase::Authenticate {
                    // The server rejects the method it asked for; SoftEther
                    // follows this with a new LCP Configure-Request for
                    // another method. Wait for it: the authentication
                    // timeout ends the wait if nothing comes.
                    tracing::info!(%protocol, "server rejected the authentication protocol; waiting for LCP to renegotiate");
                    self.lcp.policy_mut().drop_auth_protocol(protocol);
                    return;
                }
                self.fail(
                    now,
                    CloseReason::Incompatible(Missing::AuthProtocolRejected(protocol)),
                    rng,
                );
            }
            _ => {}
        }
    }

    /// Forgets the authentication in progress (LCP is renegotiating).
    fn reset_auth(&mut self) {
        match &mut self.side {
            Side::Server { authenticator, .. } => *authenticator = None,
            Side::Client {
                peer,
                username,
                credential,
                peer_config,
                started,
                ..
            } => {
                *peer = AuthPeer::new(username.as_str(), credential.clone(), peer_config);
                *started = false;
            }
        }
    }

    /// LCP Opened in both directions: the Authenticate phase (RFC 1661 3.5).
    fn lcp_up(&mut self, now: Instant, rng: &mut dyn Random) {
        let negotiated = self.lcp.policy().negotiated();
        self.peer_mru = negotiated.peer_mru;
        self.local_mru = negotiated.local_mru;
        self.keepalive.start(now);
        self.phase = Phase::Authenticate;
        tracing::debug!(?negotiated, "LCP opened");
        let method = self.lcp.policy().negotiated().auth;
        match &mut self.side {
            Side::Server {
                config,
                authenticator,
                ..
            } => {
                if authenticator.is_some() {
                    return;
                }
                let Some(method) = method else {
                    // LCP only opens with our Auth-Protocol acked.
                    return self.fail(now, CloseReason::Incompatible(Missing::NoAuthAgreed), rng);
                };
                let mut a = Authenticator::new(method, config);
                a.set_link(LinkInfo {
                    peer_mru: self.peer_mru,
                    wall: self.wall,
                });
                a.start(now, rng, &mut self.out);
                *authenticator = Some(a);
            }
            Side::Client { peer, started, .. } => {
                if std::mem::replace(started, true) {
                    return;
                }
                let outcome = match method {
                    Some(method) => {
                        peer.set_link(LinkInfo {
                            peer_mru: self.peer_mru,
                            wall: self.wall,
                        });
                        peer.start(now, method, rng, &mut self.out)
                    }
                    // The server asked for no authentication: nothing to
                    // prove, and the binding uses a zero HLAK (3.2.5.2.2).
                    None => Some(ClientOutcome::Success { hlak: Hlak::zero() }),
                };
                self.client_outcome(now, outcome, rng);
            }
        }
        if let Some((protocol, packet)) = self.held_auth.take() {
            self.handle_auth(now, protocol, &packet, rng);
        }
    }

    fn server_outcome(
        &mut self,
        now: Instant,
        outcome: Option<ServerOutcome>,
        rng: &mut dyn Random,
    ) {
        match outcome {
            None => {}
            Some(ServerOutcome::NeedVerdict(request)) => {
                self.events.push_back(LinkEvent::NeedVerdict(request));
            }
            Some(ServerOutcome::Identity(name)) => {
                self.events.push_back(LinkEvent::PeerIdentity(name));
            }
            Some(ServerOutcome::IdentityAndVerdict(name, request)) => {
                self.events.push_back(LinkEvent::PeerIdentity(name));
                self.events.push_back(LinkEvent::NeedVerdict(request));
            }
            Some(ServerOutcome::Success { username, hlak }) => {
                let method = match &self.side {
                    Side::Server {
                        authenticator: Some(a),
                        ..
                    } => Some(a.method()),
                    _ => None,
                };
                self.events.push_back(LinkEvent::Authenticated {
                    username,
                    method,
                    hlak,
                });
                if self.phase == Phase::Authenticate {
                    self.phase = Phase::Network;
                    if let Side::Server {
                        lease_requested, ..
                    } = &mut self.side
                    {
                        *lease_requested = true;
                    }
                    self.events.push_back(LinkEvent::NeedAddresses);
                }
            }
            Some(ServerOutcome::Failure(failure)) => {
                self.fail(now, CloseReason::AuthFailed(failure), rng);
            }
        }
    }

    fn client_outcome(
        &mut self,
        now: Instant,
        outcome: Option<ClientOutcome>,
        rng: &mut dyn Random,
    ) {
        match outcome {
            None => {}
            Some(ClientOutcome::Success { hlak }) => {
                let (username, ipcp, eap) = match &self.side {
                    Side::Client {
                        username,
                        ipcp,
                        peer,
                        ..
                    } => (username.clone(), ipcp.clone(), peer.eap_method()),
                    Side::Server { .. } => return,
                };
                let method = eap.or(self.lcp.policy().negotiated().auth);
                self.events.push_back(LinkEvent::Authenticated {
                    username,
                    method,
                    hlak,
                });
                if self.phase == Phase::Authenticate {
                    self.phase = Phase::Network;
                    self.start_ncps(now, IpcpConfig::Client(ipcp), rng);
                }
            }
            Some(ClientOutcome::Failure(failure)) => {
                self.fail(now, CloseReason::AuthFailed(failure), rng);
            }
        }
    }

    /// NCP layer events.
    fn drain_ncps(&mut self, now: Instant, rng: &mut dyn Random) {
        let mut failed = None;
        if let Some(n) = &mut self.ipcp {
            while let Some(event) = n.poll_event() {
                match event {
                    LayerEvent::Up => {
                        if let Some(config) = n.policy().negotiated() {
                            self.ipv4 = Some(config.clone());
                            self.events.push_back(LinkEvent::Ipv4Up(config));
                        }
                    }
                    LayerEvent::Failed(failure) => {
                        failed = Some(PppFailure::Negotiation {
                            protocol: Protocol::IPCP,
                            failure,
                        });
                    }
                    _ => {}
                }
            }
        }
        if let Some(n) = &mut self.ipv6cp {
            while let Some(event) = n.poll_event() {
                match event {
                    LayerEvent::Up => {
                        if let Some(config) = n.policy().negotiated() {
                            self.events.push_back(LinkEvent::Ipv6Up(config));
                        }
                    }
                    // IPv6 is optional: log and carry on with IPv4.
                    LayerEvent::Failed(f) => tracing::info!(%f, "IPv6CP gave up"),
                    _ => {}
                }
            }
        }
        if let Some(reason) = failed {
            self.fail(now, CloseReason::PppFailed(reason), rng);
        }
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let auth = match &self.side {
            Side::Server {
                authenticator: Some(a),
                ..
            } => a.poll_timeout(),
            Side::Server { .. } => None,
            Side::Client { peer, .. } => peer.poll_timeout(),
        };
        [
            self.lcp.poll_timeout(),
            self.keepalive.poll_timeout(),
            self.ipcp.as_ref().and_then(Negotiator::poll_timeout),
            self.ipv6cp.as_ref().and_then(Negotiator::poll_timeout),
            auth,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant, rng: &mut dyn Random) {
        self.lcp.handle_timeout(now, &mut self.out);
        self.drain_lcp(now, rng);
        if let Some(KeepaliveEvent::PeerDead { missed }) =
            self.keepalive
                .handle_timeout(now, &mut self.lcp, &mut self.out)
        {
            tracing::debug!(missed, "LCP keepalive: no answer");
            self.fail(now, CloseReason::Timeout(Timer::LcpKeepalive), rng);
        }
        match &mut self.side {
            Side::Server {
                authenticator: Some(a),
                ..
            } => {
                let outcome = a.handle_timeout(now, rng, &mut self.out);
                self.server_outcome(now, outcome, rng);
            }
            Side::Server { .. } => {}
            Side::Client { peer, .. } => {
                let outcome = peer.handle_timeout(now, &mut self.out);
                self.client_outcome(now, outcome, rng);
            }
        }
        if let Some(n) = &mut self.ipcp {
            n.handle_timeout(now, &mut self.out);
        }
        if let Some(n) = &mut self.ipv6cp {
            n.handle_timeout(now, &mut self.out);
        }
        self.drain_ncps(now, rng);
    }
}

/// LCP gets the configured automaton with its own name for logs.
fn lcp_fsm(base: &FsmConfig) -> FsmConfig {
    let mut fsm = base.clone();
    fsm.name = "LCP";
    fsm
}
