//! [`ClientSession`] and [`ServerSession`]: one SSTP connection, sans-IO,
//! and [`Session`], the calls both ends answer.
//!
//! A session owns the deframer, the MS-SSTP control machine
//! ([`crate::sstp::control`]) and the PPP link ([`crate::ppp`]). The driver
//! owns the TLS stream, the TUN device, the clock and the randomness.
//!
//! The call order, a packet's path through a session and its memory
//! bounds are in the crate root's documentation, where a driver reads them.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::crypto::binding::{AcceptedCertHashes, CertHashes};
use crate::crypto::mschapv2::Credential;
use crate::deframer::Deframer;
use crate::error::{CloseReason, Ending, Malformed, Refusal};
use crate::ppp::auth::{AuthRequest, AuthVerdict, AuthenticatorConfig, PeerConfig};
use crate::ppp::fsm::FsmConfig;
use crate::ppp::ipcp::{IpcpClientConfig, Ipv4Config};
use crate::ppp::ipv6cp::Ipv6Config;
use crate::ppp::lcp::{KeepaliveConfig, LcpConfig};
use crate::ppp::link::{Link, LinkEvent, Phase};
use crate::ppp::{AuthMethod, Random};
use crate::sstp::control::{Control, ControlEvent, ControlState, SstpTimers};
use crate::wire::ppp::{Frame, HeaderForm, Protocol};
use crate::wire::sstp::{self, HashBitmask, HashProtocol, Message};

pub use crate::ppp::ipcp::AddressLease;
use crate::ppp::link::PppConfig;

/// Bytes `poll_transmit` may have pending before `send_ip` refuses.
pub(crate) const MAX_TX_BUFFER: usize = 256 * 1024;
/// Bytes of IP packets `poll_ip` may have pending before new ones drop.
pub(crate) const MAX_RX_QUEUE: usize = 256 * 1024;
/// SSTP header + `FF 03` + 2-byte protocol: the headroom of a data packet.
pub(crate) const DATA_OVERHEAD: usize = sstp::HEADER_LEN + 4;
/// The largest IP packet a data packet carries (MS-SSTP 2.2.3: 4091 bytes of
/// PPP frame, less `FF 03` and the protocol field).
pub const MAX_IP_PACKET: usize = sstp::MAX_DATA_PAYLOAD - 4;
/// Default tunnel MTU (MS-SSTP 3.1.5.2).
pub(crate) const DEFAULT_MTU: u16 = 1400;

/// What a session reports.
#[non_exhaustive]
#[derive(Debug)]
pub enum Event {
    /// Server: check these credentials, then call
    /// [`ServerSession::auth_complete`].
    Authenticate(AuthRequest),
    /// Server: the name the client gave in its EAP Identity (RFC 3748
    /// §5.1), before any method ran (sanitized, at most 256 characters).
    /// It proves nothing; it is for the logs of a session that is refused
    /// before a backend hears of it (a certificate TLS refused, say).
    Identity {
        /// The name, as sent.
        name: String,
    },
    /// Authentication succeeded (server: as whom; client: the method used).
    Authenticated {
        /// The user name the client authenticated as.
        username: String,
        /// The method, `None` if the server asked for none.
        method: Option<AuthMethod>,
    },
    /// Server: the client is authenticated; call
    /// [`ServerSession::assign_addresses`].
    NeedAddresses {
        /// The authenticated user, for per-user addresses.
        username: String,
    },
    /// The call is established and IPv4 is up: IP may flow.
    Up(NetConfig),
    /// IPv6CP opened (after or before `Up`): IPv6 may flow.
    Ipv6Up(Ipv6Config),
    /// The session is over. Nothing more will happen.
    Down(CloseReason),
}

/// The negotiated network configuration, as reported in [`Event::Up`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetConfig {
    /// Our address, the peer's, DNS and NBNS (RFC 1332, RFC 1877).
    pub ipv4: Ipv4Config,
    /// IPv6 link-local addresses, if IPv6CP opened first.
    pub ipv6: Option<Ipv6Config>,
    /// The largest IP packet to send: min(configured MTU, peer's MRU).
    pub mtu: u16,
    /// The crypto-binding hash protocol of the call.
    pub binding: Option<HashProtocol>,
}

/// Why `send_ip` did not take a packet.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The call is not connected, or the packet's NCP is not open.
    #[error("the tunnel is not up for this packet's protocol")]
    NotReady,
    /// `poll_transmit` has not been drained: back off.
    #[error("transmit buffer full")]
    Full,
    /// Not an IPv4 or IPv6 packet, or larger than the tunnel MTU.
    #[error("not a sendable IP packet")]
    Invalid,
}

/// Counters of one session.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// IP packets and bytes sent into the tunnel.
    pub ip_tx_packets: u64,
    /// IP bytes sent.
    pub ip_tx_bytes: u64,
    /// IP packets delivered from the tunnel.
    pub ip_rx_packets: u64,
    /// IP bytes delivered.
    pub ip_rx_bytes: u64,
    /// Bytes of TLS plaintext received and sent.
    pub bytes_in: u64,
    /// Bytes of TLS plaintext produced.
    pub bytes_out: u64,
    /// Received IP packets dropped: before the call was connected or the
    /// NCP open (MS-SSTP 3.3.5.2.3), longer than our MRU, or because
    /// `poll_ip` was not drained.
    pub ip_rx_dropped: u64,
    /// Of `ip_rx_dropped`: packets longer than the MRU the peer agreed to
    /// (RFC 1661 6.1), which no conforming peer sends.
    pub ip_rx_oversize: u64,
    /// PPP frames that did not parse.
    pub malformed_frames: u64,
}

/// Settings common to both roles.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommonConfig {
    /// MS-SSTP timers.
    pub timers: SstpTimers,
    /// RFC 1661 automaton timers and counters.
    pub fsm: FsmConfig,
    /// LCP Echo keepalive.
    pub keepalive: KeepaliveConfig,
    /// The tunnel MTU: the largest IP packet sent (peer MRU permitting).
    pub mtu: u16,
    /// The MRU to ask for in LCP (`None`: 1500, the default).
    pub mru: Option<u16>,
    /// Negotiate IPv6CP.
    pub ipv6: bool,
}

impl Default for CommonConfig {
    fn default() -> Self {
        Self {
            timers: SstpTimers::default(),
            fsm: FsmConfig::default(),
            keepalive: KeepaliveConfig::default(),
            mtu: DEFAULT_MTU,
            mru: None,
            ipv6: true,
        }
    }
}

/// Server settings (shared by all sessions; wrap it in an `Arc`).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Timers, MTU, IPv6.
    pub common: CommonConfig,
    /// Authentication methods to offer, in order (default: EAP-MSCHAPv2,
    /// MS-CHAPv2).
    pub auth_methods: Vec<AuthMethod>,
    /// Authenticator tunables (server name, retransmissions, timeout).
    pub auth: AuthenticatorConfig,
    /// Crypto-binding hashes offered in the Call Connect Ack (2.2.6).
    pub hash_protocols: HashBitmask,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            common: CommonConfig::default(),
            auth_methods: AuthMethod::DEFAULT_SERVER_ORDER.to_vec(),
            auth: AuthenticatorConfig::default(),
            hash_protocols: HashBitmask::SHA1_AND_SHA256,
        }
    }
}

/// Client settings.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Timers, MTU, IPv6.
    pub common: CommonConfig,
    /// The user name to authenticate as (sent as is, e.g. `DOMAIN\user`).
    pub username: String,
    /// The password, or its NT hash (enough for MS-CHAPv2 and EAP-MSCHAPv2).
    pub credential: Credential,
    /// Methods we accept, most preferred first.
    pub auth_methods: Vec<AuthMethod>,
    /// Authentication tunables.
    pub auth: PeerConfig,
    /// Crypto-binding hashes we support (we pick SHA256 when offered).
    pub hash_protocols: HashBitmask,
    /// IPCP: an address to ask for, and whether to ask for DNS servers.
    pub ipcp: IpcpClientConfig,
}

impl ClientConfig {
    /// A client authenticating as `username` with `credential`, otherwise
    /// defaults: MS-CHAPv2 or EAP-MSCHAPv2, SHA256 or SHA1 binding, DNS
    /// requested, IPv6 on.
    pub fn new(username: impl Into<String>, credential: Credential) -> Self {
        Self {
            common: CommonConfig::default(),
            username: username.into(),
            credential,
            auth_methods: LcpConfig::client().auth_methods,
            auth: PeerConfig::default(),
            hash_protocols: HashBitmask::SHA1_AND_SHA256,
            ipcp: IpcpClientConfig::default(),
        }
    }
}

/// The IP packets received and not yet taken by `poll_ip`: one byte arena
/// plus (start, len) pairs, reset when drained, so it keeps its capacity.
#[derive(Debug, Default)]
struct IpQueue {
    bytes: Vec<u8>,
    packets: VecDeque<(usize, usize)>,
}

impl IpQueue {
    fn push(&mut self, packet: &[u8]) -> bool {
        if self.packets.is_empty() {
            self.bytes.clear();
        }
        if self.bytes.len() + packet.len() > MAX_RX_QUEUE {
            return false;
        }
        self.packets.push_back((self.bytes.len(), packet.len()));
        self.bytes.extend_from_slice(packet);
        true
    }

    /// Releases the memory of an empty queue.
    fn shrink(&mut self) {
        if self.packets.is_empty() {
            self.bytes = Vec::new();
            self.packets = VecDeque::new();
        }
    }

    fn pop(&mut self) -> Option<&[u8]> {
        let (start, len) = self.packets.pop_front()?;
        self.bytes.get(start..start + len)
    }
}

/// What both roles share: everything but the deframer (kept apart so a
/// packet borrowed from it can be handed to the rest).
struct Core {
    control: Control,
    link: Link,
    rng: Box<dyn Random + Send>,
    tx: Vec<u8>,
    rx: IpQueue,
    events: VecDeque<Event>,
    stats: SessionStats,
    mtu: u16,
    /// Set once `Event::Up` went out.
    up: bool,
    /// IPCP result, waiting for the call to be connected (server).
    ipv4: Option<Ipv4Config>,
    ipv6: Option<Ipv6Config>,
    username: String,
    /// Why the link failed, for the SSTP disconnect that follows.
    link_failure: Option<CloseReason>,
    /// Down was reported.
    finished: bool,
    is_server: bool,
}

impl core::fmt::Debug for Core {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("state", &self.control.state())
            .field("phase", &self.link.phase())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Core {
    /// One whole SSTP packet from the deframer.
    fn on_packet(&mut self, now: Instant, packet: &[u8]) {
        // 3.1.2.3: any packet restarts the Hello timer.
        self.control.on_packet_received(now);
        let control_bit = packet.get(1).is_some_and(|b| b & 0x01 != 0);
        if control_bit {
            match Message::parse(packet) {
                Ok(message) => self.control.on_message(now, message, packet, &mut self.tx),
                Err(error) => self.control.on_invalid_message(now, &error, &mut self.tx),
            }
            // Act on it before the next packet of the same chunk: a PPP
            // frame right behind the Call Connect Ack needs PPP started.
            self.process(now);
            return;
        }
        // 2.2.3: a data packet carries one PPP frame.
        let payload = packet.get(sstp::HEADER_LEN..).unwrap_or_default();
        let Ok(frame) = Frame::parse(payload) else {
            self.stats.malformed_frames += 1;
            return;
        };
        self.link.frame_received(now);
        match frame.protocol {
            // The fast path (3.2.7.2, 3.3.5.2.3): data only once connected.
            Protocol::IPV4 | Protocol::IPV6 => {
                let open = self.control.passes_ppp_data()
                    && if frame.protocol == Protocol::IPV4 {
                        self.link.ipv4_open()
                    } else {
                        self.link.ipv6_open()
                    };
                // RFC 1661 6.1: the peer agreed to send at most our MRU
                // in the Information field. A longer packet would only be
                // refused by the TUN later, after being counted as
                // received; drop it here, where it is known for what it is.
                if open && frame.payload.len() > usize::from(self.link.local_mru()) {
                    self.stats.ip_rx_oversize += 1;
                    self.stats.ip_rx_dropped += 1;
                } else if open && self.rx.push(frame.payload) {
                    self.stats.ip_rx_packets += 1;
                    self.stats.ip_rx_bytes += frame.payload.len() as u64;
                } else {
                    self.stats.ip_rx_dropped += 1;
                }
            }
            protocol if protocol.is_control() => {
                // 3.2.7.2 / 3.3.1.1.1: PPP control frames once the Call
                // Connect exchange is done.
                if self.control.passes_ppp_control() {
                    self.link
                        .handle_frame(now, protocol, frame.payload, &mut *self.rng);
                }
            }
            // Another network protocol: Protocol-Reject (RFC 1661 5.7).
            protocol => {
                if self.control.passes_ppp_data() {
                    self.link
                        .handle_frame(now, protocol, frame.payload, &mut *self.rng);
                }
            }
        }
    }

    /// Moves what the parts produced to where it belongs, until quiet.
    fn process(&mut self, now: Instant) {
        for _ in 0..64 {
            let mut progressed = self.flush_link();
            while let Some(event) = self.control.poll_event() {
                progressed = true;
                self.on_control_event(now, event);
            }
            while let Some(event) = self.link.poll_event() {
                progressed = true;
                self.on_link_event(now, event);
            }
            if !progressed {
                break;
            }
        }
    }

    /// Frames the link's control packets into SSTP data packets.
    fn flush_link(&mut self) -> bool {
        let out = self.link.outbox();
        if out.is_empty() {
            return false;
        }
        let closed = self.control.state() == ControlState::Closed;
        while let Some(frame) = out.pop_front() {
            // PPP control frames flow from Connect-Ack on (3.2.7.1), and
            // during teardown only the LCP Terminate exchange matters.
            if closed {
                continue;
            }
            // We never ACFC/PFC-compress (we reject both), so every frame
            // carries FF 03 and a 2-byte protocol (RFC 1661 6.5, 6.6).
            let form = HeaderForm::UNCOMPRESSED;
            let header_len = crate::wire::ppp::header_len(frame.protocol, form);
            let len = header_len + frame.packet.len();
            if len > sstp::MAX_DATA_PAYLOAD {
                continue;
            }
            let start = self.tx.len();
            self.tx.resize(start + sstp::HEADER_LEN + header_len, 0);
            let _ = crate::wire::ppp::write_header(
                &mut self.tx[start + sstp::HEADER_LEN..],
                frame.protocol,
                form,
            );
            self.tx.extend_from_slice(&frame.packet);
            let _ = sstp::write_data_header(&mut self.tx[start..], len);
        }
        true
    }

    fn on_control_event(&mut self, now: Instant, event: ControlEvent) {
        match event {
            ControlEvent::LowerLayerUp => self.link.lower_up(now, &mut *self.rng),
            ControlEvent::Connected { .. } => self.maybe_up(),
            ControlEvent::Closed(reason) => {
                // A PPP failure (e.g. authentication) says more than the
                // disconnect that followed it. A refused authentication is
                // why the call ended, whatever the peer sent after it.
                let reason = match (self.link_failure.take(), reason) {
                    (Some(failure @ CloseReason::AuthFailed(_)), _) => failure,
                    (
                        Some(failure),
                        CloseReason::PeerDisconnected
                        | CloseReason::LocalClose
                        | CloseReason::TransportClosed,
                    ) => failure,
                    // The peer hung up before IP could flow: its LCP
                    // Terminate-Request, or the methods we refused, say why
                    // (RFC 1661 5.5, 6.2).
                    (
                        None,
                        reason @ (CloseReason::PeerDisconnected | CloseReason::TransportClosed),
                    ) if !self.up => self.link.peer_refusal().unwrap_or(reason),
                    (_, reason) => reason,
                };
                self.link.lower_down(now);
                self.rx = IpQueue::default();
                if !self.finished {
                    self.finished = true;
                    self.events.push_back(Event::Down(reason));
                }
            }
        }
    }

    fn on_link_event(&mut self, now: Instant, event: LinkEvent) {
        match event {
            LinkEvent::NeedVerdict(request) => self.events.push_back(Event::Authenticate(request)),
            LinkEvent::PeerIdentity(name) => self.events.push_back(Event::Identity { name }),
            LinkEvent::Authenticated {
                username,
                method,
                hlak,
            } => {
                self.username.clone_from(&username);
                if self.is_server {
                    self.control.set_hlak(now, hlak, &mut self.tx);
                } else {
                    // 3.2.7.1: the client sends Call Connected only now,
                    // after it verified the server.
                    self.control.client_authenticated(now, &hlak, &mut self.tx);
                }
                self.events
                    .push_back(Event::Authenticated { username, method });
            }
            LinkEvent::NeedAddresses => self.events.push_back(Event::NeedAddresses {
                username: self.username.clone(),
            }),
            LinkEvent::Ipv4Up(config) => {
                self.ipv4 = Some(config);
                self.maybe_up();
            }
            LinkEvent::Ipv6Up(config) => {
                self.ipv6 = Some(config);
                if self.up {
                    self.events.push_back(Event::Ipv6Up(config));
                }
            }
            LinkEvent::Failed(reason) => {
                if self.link_failure.is_none() {
                    self.link_failure = Some(reason);
                }
            }
            LinkEvent::Finished => {
                // LCP is done: the SSTP call follows it down (3.2.4.2).
                let reason = self.link_failure.clone().unwrap_or(CloseReason::LocalClose);
                self.control.disconnect(now, reason, &mut self.tx);
            }
        }
    }

    /// `Up` once the call is connected and IPCP opened, whichever is last.
    fn maybe_up(&mut self) {
        if self.up || !self.control.passes_ppp_data() {
            return;
        }
        let Some(ipv4) = self.ipv4.clone() else {
            return;
        };
        self.up = true;
        let mtu = self.mtu.min(self.link.peer_mru());
        self.events.push_back(Event::Up(NetConfig {
            ipv4,
            ipv6: self.ipv6,
            mtu,
            binding: self.control.chosen_hash(),
        }));
    }

    fn send_ip(&mut self, packet: &[u8]) -> Result<(), SendError> {
        let protocol = match packet.first().map(|b| b >> 4) {
            Some(4) => Protocol::IPV4,
            Some(6) => Protocol::IPV6,
            _ => return Err(SendError::Invalid),
        };
        let ready = self.control.passes_ppp_data()
            && if protocol == Protocol::IPV4 {
                self.link.ipv4_open()
            } else {
                self.link.ipv6_open()
            };
        if !ready {
            return Err(SendError::NotReady);
        }
        let limit = usize::from(self.mtu.min(self.link.peer_mru())).min(MAX_IP_PACKET);
        if packet.len() > limit {
            return Err(SendError::Invalid);
        }
        if self.tx.len() + DATA_OVERHEAD + packet.len() > MAX_TX_BUFFER {
            return Err(SendError::Full);
        }
        // 2.2.3 + RFC 1661 2: SSTP header, FF 03, protocol, then the packet.
        let len = packet.len() + 4;
        let [p_hi, p_lo] = protocol.0.to_be_bytes();
        let header = sstp::Header::new(false, sstp::HEADER_LEN + len)
            .map_err(|_| SendError::Invalid)?
            .to_bytes();
        self.tx.extend_from_slice(&header);
        self.tx.extend_from_slice(&[0xFF, 0x03, p_hi, p_lo]);
        self.tx.extend_from_slice(packet);
        self.stats.ip_tx_packets += 1;
        self.stats.ip_tx_bytes += packet.len() as u64;
        Ok(())
    }

    fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> bool {
        if self.tx.is_empty() {
            return false;
        }
        self.stats.bytes_out += self.tx.len() as u64;
        if buf.is_empty() {
            // Hand the whole buffer over; its capacity comes back next time.
            std::mem::swap(buf, &mut self.tx);
        } else {
            buf.extend_from_slice(&self.tx);
            self.tx.clear();
        }
        true
    }

    fn shrink_buffers(&mut self) {
        if self.tx.is_empty() {
            self.tx = Vec::new();
        }
        self.rx.shrink();
    }

    fn poll_timeout(&self) -> Option<Instant> {
        if self.finished {
            return None;
        }
        [self.control.poll_timeout(), self.link.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.control.handle_timeout(now, &mut self.tx);
        self.link.handle_timeout(now, &mut *self.rng);
        self.process(now);
    }

    fn close(&mut self, now: Instant) {
        if self.control.state().is_teardown() {
            return;
        }
        if matches!(self.link.phase(), Phase::Dead) {
            self.control
                .disconnect(now, CloseReason::LocalClose, &mut self.tx);
        } else {
            // RFC 1661 first (Terminate-Request), SSTP after (3.2.4.2).
            self.link.close(now, "session closed", &mut *self.rng);
        }
        self.process(now);
    }

    fn refuse(&mut self, now: Instant, cause: Refusal, reason: &str) {
        if self.control.state().is_teardown() {
            return;
        }
        if matches!(self.link.phase(), Phase::Dead) {
            let reason = CloseReason::Refused {
                cause,
                reason: reason.to_owned(),
            };
            self.control.disconnect(now, reason, &mut self.tx);
        } else {
            self.link.refuse(now, cause, reason, &mut *self.rng);
        }
        self.process(now);
    }

    fn end(&mut self, now: Instant, ending: Ending) {
        if self.control.state().is_teardown() {
            return;
        }
        if matches!(self.link.phase(), Phase::Dead) {
            self.control
                .disconnect(now, CloseReason::Ended(ending), &mut self.tx);
        } else {
            self.link.end(now, ending, &mut *self.rng);
        }
        self.process(now);
    }

    fn transport_closed(&mut self, now: Instant) {
        self.control.kill(CloseReason::TransportClosed);
        self.process(now);
    }
}

/// One SSTP connection, either end: what a driver calls. [`ServerSession`]
/// and [`ClientSession`] implement it (the server adds the authentication
/// and address resumptions), so a driver loop, or a toolkit of them, can
/// be generic over the end it drives; the calls are static, so generic code
/// costs nothing per packet. See the [crate docs](crate) for the call order.
pub trait Session {
    /// Plaintext bytes read from TLS (after the HTTP handshake).
    fn handle_input(&mut self, now: Instant, data: &[u8]);

    /// An IP packet from the TUN device, for the peer. No allocation once
    /// the transmit buffer is warm. It takes no `now`: sending starts no
    /// timer (the Hello timer of MS-SSTP 3.1.2.3 and the LCP keepalive of
    /// RFC 1661 5.8 run on what is received).
    fn send_ip(&mut self, packet: &[u8]) -> Result<(), SendError>;

    /// Timer processing: call when [`Session::poll_timeout`] has passed
    /// (calling early is harmless).
    fn handle_timeout(&mut self, now: Instant);

    /// The wall-clock time at `now`, as time since the Unix epoch: EAP-TLS
    /// checks certificate dates against it (RFC 5280 §4.1.2.5). The session
    /// reads no clock: later `now`s move this time on. Call it once after
    /// `new`, before any input; without it EAP-TLS refuses every
    /// certificate, saying no time was given.
    fn set_wall_clock(&mut self, now: Instant, since_epoch: Duration);

    /// Graceful close: LCP Terminate, then SSTP Call Disconnect
    /// (MS-SSTP 3.2.4.2). [`Event::Down`] follows.
    fn close(&mut self, now: Instant);

    /// The TLS/TCP connection is gone (MS-SSTP 3.1.7.2): clean up
    /// without a word on the wire.
    fn transport_closed(&mut self, now: Instant);

    /// Appends the bytes to write into TLS to `buf`; false when there
    /// are none. Pass an empty `buf` to take the buffer without a copy.
    fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> bool;

    /// The next IP packet for the TUN device.
    fn poll_ip(&mut self) -> Option<&[u8]>;

    /// The next event.
    fn poll_event(&mut self) -> Option<Event>;

    /// Gives back the capacity of the transmit buffer and the IP queue when they are empty.
    ///
    /// They grow with the traffic and keep their size, which is right under load and waste
    /// on the many idle sessions of a big server: call this when the link has been quiet
    /// (for example when a keepalive timer fires). Buffers grow again on demand.
    fn shrink_buffers(&mut self);

    /// When [`Session::handle_timeout`] must be called next.
    fn poll_timeout(&self) -> Option<Instant>;

    /// Counters.
    fn stats(&self) -> SessionStats;

    /// The MS-SSTP state, for logs.
    fn state(&self) -> ControlState;

    /// Whether [`Event::Down`] was reported.
    fn is_closed(&self) -> bool;
}

/// The one implementation of [`Session`] both ends share: they differ only
/// in how they are made and in the server's resumptions.
macro_rules! impl_session {
    ($ty:ty) => {
        impl Session for $ty {
            fn handle_input(&mut self, now: Instant, data: &[u8]) {
                self.core.stats.bytes_in += data.len() as u64;
                let mut input = data;
                while let Some(packet) = self.deframer.next_packet(&mut input) {
                    match packet {
                        Ok(packet) => self.core.on_packet(now, packet),
                        Err(error) => {
                            // 3.1.5.1: abort without sending anything.
                            self.core
                                .control
                                .kill(CloseReason::PeerMalformed(Malformed::Framing(error)));
                            break;
                        }
                    }
                }
                self.core.process(now);
            }

            #[inline]
            fn send_ip(&mut self, packet: &[u8]) -> Result<(), SendError> {
                self.core.send_ip(packet)
            }

            fn handle_timeout(&mut self, now: Instant) {
                self.core.handle_timeout(now);
            }

            fn set_wall_clock(&mut self, now: Instant, since_epoch: Duration) {
                self.core.link.set_wall_clock(now, since_epoch);
            }

            fn close(&mut self, now: Instant) {
                self.core.close(now);
            }

            fn transport_closed(&mut self, now: Instant) {
                self.core.transport_closed(now);
            }

            #[inline]
            fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> bool {
                self.core.poll_transmit(buf)
            }

            #[inline]
            fn poll_ip(&mut self) -> Option<&[u8]> {
                self.core.rx.pop()
            }

            fn poll_event(&mut self) -> Option<Event> {
                self.core.events.pop_front()
            }

            fn shrink_buffers(&mut self) {
                self.deframer.shrink();
                self.core.shrink_buffers();
            }

            fn poll_timeout(&self) -> Option<Instant> {
                self.core.poll_timeout()
            }

            fn stats(&self) -> SessionStats {
                self.core.stats
            }

            fn state(&self) -> ControlState {
                self.core.control.state()
            }

            fn is_closed(&self) -> bool {
                self.core.finished
            }
        }
    };
}

impl_session!(ServerSession);
impl_session!(ClientSession);

/// The server end of one SSTP connection. See the [crate docs](crate) for
/// the call order.
#[derive(Debug)]
pub struct ServerSession {
    deframer: Deframer,
    core: Core,
}

impl ServerSession {
    /// A session for a connection whose HTTP handshake is done.
    /// `cert_hashes` are the hashes of the certificate the client sees
    /// (our TLS leaf's [`CertHashes`], or the offloader's certificates as
    /// an [`AcceptedCertHashes`]; MS-SSTP 3.3.3). The Connect Ack offers
    /// the protocols of `config.hash_protocols` that have a hash (§2.2.6).
    /// Randomness (nonce, challenges, magic numbers) comes from `rng`.
    pub fn new(
        config: &ServerConfig,
        cert_hashes: impl Into<AcceptedCertHashes>,
        now: Instant,
        mut rng: Box<dyn Random + Send>,
    ) -> Self {
        let cert_hashes = cert_hashes.into();
        let mut nonce = [0; 32];
        rng.fill(&mut nonce);
        let offered = HashBitmask(config.hash_protocols.0 & cert_hashes.bitmask().0);
        let control = Control::new_server(now, config.common.timers, offered, cert_hashes, nonce);
        let mut lcp = LcpConfig::server();
        lcp.auth_methods.clone_from(&config.auth_methods);
        lcp.mru = config.common.mru;
        let ppp = ppp_config(&config.common, lcp);
        let link = Link::new_server(&ppp, config.auth.clone(), &mut *rng);
        Self {
            deframer: Deframer::new(),
            core: new_core(control, link, rng, config.common.mtu, true),
        }
    }

    /// Resumes after [`Event::Authenticate`] with the backend's verdict.
    pub fn auth_complete(&mut self, now: Instant, verdict: AuthVerdict) {
        self.core
            .link
            .auth_complete(now, verdict, &mut *self.core.rng);
        self.core.process(now);
    }

    /// Refuses the session once the client is authenticated (no address
    /// left, the user may not have another session, ...): ends PPP with an
    /// LCP Terminate-Request whose Data is `reason` (RFC 1661 5.5; pppd
    /// prints "LCP terminated by peer (reason)", our client reports it as
    /// [`CloseReason::PeerTerminated`]), then the SSTP Call Disconnect
    /// (MS-SSTP 3.2.4.2). [`Event::Down`] follows with
    /// [`CloseReason::Refused`] carrying `cause` and `reason`. Keep
    /// `reason` to one line: the peer sees at most 255 bytes of it.
    pub fn refuse(&mut self, now: Instant, cause: Refusal, reason: &str) {
        self.core.refuse(now, cause, reason);
    }

    /// Ends the session on purpose (its time is up, it sat idle, an
    /// administrator ended it): LCP Terminate-Request with the words of
    /// `ending` (RFC 1661 5.5), then the SSTP Call Disconnect (MS-SSTP
    /// 3.2.4.2). [`Event::Down`] follows with [`CloseReason::Ended`].
    pub fn end(&mut self, now: Instant, ending: Ending) {
        self.core.end(now, ending);
    }

    /// Resumes after [`Event::NeedAddresses`] with the client's addresses.
    pub fn assign_addresses(&mut self, now: Instant, lease: AddressLease) {
        self.core
            .link
            .assign_addresses(now, lease, &mut *self.core.rng);
        self.core.process(now);
    }
}

/// The client end of one SSTP connection. See the [crate docs](crate) for
/// the call order.
#[derive(Debug)]
pub struct ClientSession {
    deframer: Deframer,
    core: Core,
}

impl ClientSession {
    /// A session over a TLS connection whose HTTP handshake is done: it
    /// queues the Call Connect Request at once (MS-SSTP 3.2.4.1).
    /// `cert_hashes` are the hashes of the server certificate TLS presented.
    pub fn new(
        config: &ClientConfig,
        cert_hashes: CertHashes,
        now: Instant,
        mut rng: Box<dyn Random + Send>,
    ) -> Self {
        let control = Control::new_client(config.common.timers, config.hash_protocols, cert_hashes);
        let mut lcp = LcpConfig::client();
        lcp.auth_methods.clone_from(&config.auth_methods);
        lcp.mru = config.common.mru;
        let ppp = ppp_config(&config.common, lcp);
        let link = Link::new_client(
            &ppp,
            &config.username,
            config.credential.clone(),
            &config.auth,
            config.ipcp.clone(),
            &mut *rng,
        );
        let mut core = new_core(control, link, rng, config.common.mtu, false);
        core.control.start_client(now, &mut core.tx);
        Self {
            deframer: Deframer::new(),
            core,
        }
    }
}

fn ppp_config(common: &CommonConfig, lcp: LcpConfig) -> PppConfig {
    PppConfig {
        lcp,
        keepalive: common.keepalive.clone(),
        fsm: common.fsm.clone(),
        ipv6: common.ipv6,
    }
}

fn new_core(
    control: Control,
    link: Link,
    rng: Box<dyn Random + Send>,
    mtu: u16,
    is_server: bool,
) -> Core {
    Core {
        control,
        link,
        rng,
        // Grows with the traffic; an idle session keeps little (`shrink_buffers`).
        tx: Vec::new(),
        rx: IpQueue::default(),
        events: VecDeque::new(),
        stats: SessionStats::default(),
        mtu,
        up: false,
        ipv4: None,
        ipv6: None,
        username: String::new(),
        link_failure: None,
        finished: false,
        is_server,
    }
}

#[cfg(test)]
mod tests;
