//! The LCP option policy (RFC 1661 section 6) for both ends of an SSTP
//! tunnel, and the LCP-only packets the link asks for (Protocol-Reject,
//! RFC 1661 5.7). The keepalive (Echo-Request, RFC 1661 5.8) is in
//! `lcp/keepalive.rs`; its items are re-exported here.
//!
//! # What we ask for
//!
//! - Maximum-Receive-Unit (6.1) only if [`LcpConfig::mru`] is set; the
//!   default is the RFC's 1500.
//! - Magic-Number (6.4) always, a random non-zero value; a peer that
//!   rejects it (SoftEther does) gets none.
//! - Authentication-Protocol (6.2) only as the server, the first method of
//!   [`LcpConfig::auth_methods`]. A Configure-Nak suggesting another method
//!   moves to it if we offer it and have not tried it, else to our next
//!   untried method; a Reject of the option, or running out of methods,
//!   fails with [`NegotiationFailure::PeerRefusesAuthentication`] (the
//!   server requires authentication). An empty list asks for none.
//!
//! Never PFC or ACFC (RFC 1661 6.5, 6.6): the link parses both frame forms
//! anyway (Windows asks for both), and not asking keeps every frame we send
//! uncompressed.
//!
//! # What we accept
//!
//! - MRU values from [`LcpConfig::min_peer_mru`] (576 by default) up;
//!   below that a Configure-Nak with that floor. 576 is the datagram size
//!   every IPv4 host must accept (RFC 791/RFC 1122), so a peer that asked
//!   for less can most plausibly take it; pppd likewise Naks with its floor
//!   (128) and accel-ppp Naks below its `min-mtu`. The link must not send
//!   more than `min(peer MRU, its MTU)`.
//! - Magic-Number unless it is zero or equals ours: then a Configure-Nak
//!   with a fresh random value (6.4). After
//!   [`LcpConfig::loopback_limit`] consecutive requests carrying our own
//!   number, the link is declared looped back
//!   ([`NegotiationFailure::LoopedBack`]).
//! - Authentication-Protocol only as the client: Ack a method in
//!   [`LcpConfig::auth_methods`], else Nak with the first of them (5.3);
//!   with an empty list, Reject. As the server it is always rejected (we
//!   do not authenticate ourselves to a client).
//! - Everything else is rejected with its exact bytes: ACCM (2, meaningless
//!   without async HDLC), Quality-Protocol (4), PFC (7), ACFC (8), Callback
//!   (13), MRRU (17), Endpoint Discriminator (19) and unknown types, which
//!   is what makes a Windows/RRAS first request (which carries Callback,
//!   MRRU and Endpoint Discriminator, axot/isstp#5) converge.
//!
//! The negotiated values are in [`LcpPolicy::negotiated`] once LCP is up.

use super::negotiator::{
    DEFAULT_MRU, NegotiationFailure, Negotiator, OptionVerdict, Policy, Role, random_nonzero_u32,
};
use super::{AuthMethod, Outbox, Random};
use crate::wire::cp::{Body, Code, ControlProtocol, CpPacket, OptionList, RawOption};
use crate::wire::options::{AuthProtocol, ChapAlgorithm, ConfigOption, LcpOption};
use crate::wire::ppp::Protocol;

mod keepalive;

#[cfg(test)]
use keepalive::DEFAULT_ECHO_INTERVAL;
pub use keepalive::KeepaliveConfig;
pub(crate) use keepalive::{KeepaliveEvent, LcpKeepalive};

/// LCP driven by [`LcpPolicy`].
pub(crate) type Lcp = Negotiator<LcpPolicy>;

/// Default floor for the peer's MRU (see the module docs).
pub(crate) const DEFAULT_MIN_PEER_MRU: u16 = 576;

/// Default number of consecutive Configure-Requests carrying our own
/// Magic-Number before the link is declared looped back. It must stay at or
/// below the automaton's Max-Failure plus one, or Max-Failure would turn
/// the Magic-Number Nak into a Reject first (RFC 1661 4.6).
pub(crate) const DEFAULT_LOOPBACK_LIMIT: u32 = 3;

/// Longest Identification message kept for logs.
const MAX_IDENTIFICATION_LEN: usize = 64;

/// Configuration of [`LcpPolicy`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LcpConfig {
    /// Which end we are: the server asks for authentication, the client
    /// agrees to it.
    pub role: Role,
    /// Server: the methods to offer, in order. Client: the methods we
    /// accept, most preferred first (the first is our Nak suggestion).
    pub auth_methods: Vec<AuthMethod>,
    /// The MRU to request (RFC 1661 6.1); `None` asks for nothing and so
    /// means 1500.
    pub mru: Option<u16>,
    /// Smallest peer MRU we Ack; lower values are Nak'd with it.
    pub min_peer_mru: u16,
    /// Consecutive requests with our own Magic-Number before giving up as
    /// looped back.
    pub loopback_limit: u32,
}

impl LcpConfig {
    /// Server defaults: offer EAP-MSCHAPv2, then MS-CHAPv2
    /// ([`AuthMethod::DEFAULT_SERVER_ORDER`]).
    #[must_use]
    pub(crate) fn server() -> Self {
        Self {
            role: Role::Server,
            auth_methods: AuthMethod::DEFAULT_SERVER_ORDER.to_vec(),
            mru: None,
            min_peer_mru: DEFAULT_MIN_PEER_MRU,
            loopback_limit: DEFAULT_LOOPBACK_LIMIT,
        }
    }

    /// Client defaults: accept EAP-MSCHAPv2 and MS-CHAPv2, preferring
    /// MS-CHAPv2 when the server asks for something else.
    #[must_use]
    pub(crate) fn client() -> Self {
        Self {
            role: Role::Client,
            auth_methods: vec![AuthMethod::MsChapV2, AuthMethod::EapMsChapV2],
            ..Self::server()
        }
    }
}

/// What LCP agreed on, valid once LCP is Opened.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LcpNegotiated {
    /// The most the peer receives per frame (its MRU, 1500 by default):
    /// the link sends at most `min(peer_mru, MTU)` bytes of payload.
    pub peer_mru: u16,
    /// The MRU the peer agreed to send us (1500 unless we asked).
    pub local_mru: u16,
    /// The authentication method to run: the server's Acked request, or
    /// the client's Acked view of it. `None`: no authentication phase.
    pub auth: Option<AuthMethod>,
    /// Our Magic-Number, 0 if not negotiated.
    pub local_magic: u32,
    /// The peer's Magic-Number, 0 if it did not send one.
    pub peer_magic: u32,
}

/// The LCP option policy; see the [module documentation](self).
#[derive(Debug, Clone)]
pub(crate) struct LcpPolicy {
    config: LcpConfig,
    /// MRU we currently request.
    mru_request: Option<u16>,
    /// Our Magic-Number (never zero).
    magic: u32,
    /// We still put the Magic-Number in our requests.
    magic_requested: bool,
    /// Server: the method we currently request.
    auth_request: Option<AuthMethod>,
    /// Server: methods the peer Nak'd.
    auth_tried: Vec<AuthMethod>,
    /// Consecutive requests carrying our own Magic-Number.
    collisions: u32,
    /// What our Acked request said.
    ours_acked: Option<OursAcked>,
    /// What the peer's Acked request said.
    peer: Option<PeerAcked>,
    identification: Option<Vec<u8>>,
    /// Client: allowed but non-preferred methods we already Nak'd once.
    auth_suggested: Vec<AuthMethod>,
    /// Server: we re-requested our last method after a Nak.
    auth_insisted: bool,
    /// Client: the methods the server asked for that we do not accept, in
    /// words, so a server that gives up can be reported as having no
    /// method in common with us.
    auth_refused: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
struct OursAcked {
    mru: u16,
    magic: u32,
    auth: Option<AuthMethod>,
}

#[derive(Debug, Clone, Copy)]
struct PeerAcked {
    mru: u16,
    magic: u32,
    auth: Option<AuthMethod>,
}

impl LcpPolicy {
    /// A policy with a fresh random Magic-Number from `rng`.
    pub(crate) fn new(config: LcpConfig, rng: &mut dyn Random) -> Self {
        let magic = random_nonzero_u32(rng, 0);
        let mut policy = Self {
            config,
            mru_request: None,
            magic,
            magic_requested: true,
            auth_request: None,
            auth_tried: Vec::new(),
            collisions: 0,
            ours_acked: None,
            peer: None,
            identification: None,
            auth_suggested: Vec::new(),
            auth_insisted: false,
            auth_refused: Vec::new(),
        };
        policy.reset();
        policy
    }

    /// The configuration.
    #[must_use]
    pub(crate) fn config(&self) -> &LcpConfig {
        &self.config
    }

    /// The negotiated values (defaults until both directions are Acked).
    #[must_use]
    pub(crate) fn negotiated(&self) -> LcpNegotiated {
        let auth = match self.config.role {
            Role::Server => self.ours_acked.and_then(|o| o.auth),
            Role::Client => self.peer.and_then(|p| p.auth),
        };
        LcpNegotiated {
            peer_mru: self.peer.map_or(DEFAULT_MRU, |p| p.mru),
            local_mru: self.ours_acked.map_or(DEFAULT_MRU, |o| o.mru),
            auth,
            local_magic: self.ours_acked.map_or(0, |o| o.magic),
            peer_magic: self.peer.map_or(0, |p| p.magic),
        }
    }

    /// The peer Protocol-Rejected `protocol` (RFC 1661 5.7): stop offering
    /// or accepting the methods it carries on this link.
    pub(crate) fn drop_auth_protocol(&mut self, protocol: Protocol) {
        self.config
            .auth_methods
            .retain(|m| m.protocol() != protocol);
    }

    /// Client: the authentication methods the server asked for and we
    /// Nak'd or rejected as not allowed ([`LcpConfig::auth_methods`]), in
    /// words, oldest first.
    #[must_use]
    pub(crate) fn refused_auth(&self) -> &[String] {
        &self.auth_refused
    }

    /// The peer's last LCP Identification message (RFC 1570 1.1; Windows
    /// sends e.g. `MSRASV5.20`), cut to 64 bytes, for logs.
    #[must_use]
    #[cfg(test)]
    pub(crate) fn peer_identification(&self) -> Option<&[u8]> {
        self.identification.as_deref()
    }

    fn is_server(&self) -> bool {
        self.config.role == Role::Server
    }

    fn emit(option: &LcpOption) -> Vec<u8> {
        let mut out = Vec::with_capacity(option.buffer_len());
        option.emit(&mut out);
        out
    }

    fn judge_magic(
        &mut self,
        magic: u32,
        rng: &mut dyn Random,
    ) -> Result<OptionVerdict, NegotiationFailure> {
        let collides = self.magic_requested && magic == self.magic;
        if collides {
            self.collisions = self.collisions.saturating_add(1);
            tracing::debug!(
                collisions = self.collisions,
                "peer's Magic-Number equals ours (RFC 1661 6.4)"
            );
            if self.collisions >= self.config.loopback_limit {
                return Err(NegotiationFailure::LoopedBack);
            }
        } else {
            self.collisions = 0;
        }
        if magic == 0 || collides {
            let suggestion = random_nonzero_u32(rng, self.magic);
            return Ok(OptionVerdict::Nak(Self::emit(&LcpOption::MagicNumber(
                suggestion,
            ))));
        }
        Ok(OptionVerdict::Ack)
    }

    fn judge_auth(&mut self, auth: &AuthProtocol) -> OptionVerdict {
        if self.is_server() {
            // We do not authenticate ourselves to a client.
            return OptionVerdict::Reject;
        }
        let offered = method_in(auth, &self.config.auth_methods);
        let preferred = self.config.auth_methods.first().copied();
        if let Some(method) = offered.filter(|m| self.config.auth_methods.contains(m)) {
            // An allowed method that is not our first choice: suggest ours
            // once (RFC 1661 5.3), and take theirs if they ask again. This
            // makes the preference order mean something, and it is what
            // SoftEther needs: it asks for EAP first but runs only EAP-TLS,
            // and moves to MS-CHAPv2 on a Nak.
            if preferred.is_some_and(|p| p != method) && !self.auth_suggested.contains(&method) {
                self.auth_suggested.push(method);
                if let Some(preferred) = preferred {
                    return OptionVerdict::Nak(Self::emit(&LcpOption::AuthProtocol(auth_option(
                        preferred,
                    ))));
                }
            }
            return OptionVerdict::Ack;
        }
        let name = auth_name(auth);
        if !self.auth_refused.contains(&name) && self.auth_refused.len() < MAX_REFUSED_AUTH {
            self.auth_refused.push(name);
        }
        match self.config.auth_methods.first() {
            Some(&preferred) => {
                OptionVerdict::Nak(Self::emit(&LcpOption::AuthProtocol(auth_option(preferred))))
            }
            None => OptionVerdict::Reject,
        }
    }

    /// Server: the peer Nak'd our method, suggesting `suggested`.
    fn auth_nakked(&mut self, suggested: Option<AuthMethod>) -> Result<(), NegotiationFailure> {
        let Some(current) = self.auth_request else {
            return Ok(());
        };
        // Every method sent as the option the peer refused is refused with
        // it: EAP-TLS and EAP-MSCHAPv2 are both plain EAP to LCP (RFC 3748
        // §2), while CHAP's algorithms are options of their own.
        for &m in &self.config.auth_methods {
            if auth_option(m) == auth_option(current) && !self.auth_tried.contains(&m) {
                self.auth_tried.push(m);
            }
        }
        let untried = |m: &AuthMethod| !self.auth_tried.contains(m);
        let next = suggested
            .filter(|m| self.config.auth_methods.contains(m) && untried(m))
            .or_else(|| self.config.auth_methods.iter().copied().find(untried));
        match next {
            Some(method) => {
                tracing::debug!(from = %current, to = %method, "authentication method Nak'd");
                self.auth_request = Some(method);
                Ok(())
            }
            // Nothing else to offer: ask once more for what we have. A peer
            // that merely prefers another method (our own client does, as
            // does any that lists a preference) accepts it the second time.
            None if !self.auth_insisted => {
                // A second round, once: a peer that only *prefers* another
                // method (our own client Naks a non-preferred method once)
                // takes one of ours the second time it is asked.
                self.auth_insisted = true;
                self.auth_tried.clear();
                let first = self.config.auth_methods.first().copied().unwrap_or(current);
                tracing::debug!(method = %first, "every method Nak'd; a second round");
                self.auth_request = Some(first);
                Ok(())
            }
            None => Err(NegotiationFailure::PeerRefusesAuthentication),
        }
    }
}

impl Policy for LcpPolicy {
    fn control_protocol(&self) -> ControlProtocol {
        ControlProtocol::Lcp
    }

    fn request(&mut self, out: &mut Vec<u8>) {
        // Type order, as pppd and Windows send them.
        if let Some(mru) = self.mru_request {
            LcpOption::Mru(mru).emit(out);
        }
        if let Some(method) = self.auth_request {
            LcpOption::AuthProtocol(auth_option(method)).emit(out);
        }
        if self.magic_requested {
            LcpOption::MagicNumber(self.magic).emit(out);
        }
    }

    fn judge(
        &mut self,
        option: RawOption<'_>,
        rng: &mut dyn Random,
    ) -> Result<OptionVerdict, NegotiationFailure> {
        Ok(match LcpOption::from_raw(option) {
            LcpOption::Mru(mru) if mru >= self.config.min_peer_mru => OptionVerdict::Ack,
            LcpOption::Mru(_) => {
                OptionVerdict::Nak(Self::emit(&LcpOption::Mru(self.config.min_peer_mru)))
            }
            LcpOption::MagicNumber(magic) => return self.judge_magic(magic, rng),
            LcpOption::AuthProtocol(auth) => self.judge_auth(&auth),
            _ => OptionVerdict::Reject,
        })
    }

    fn peer_acked(&mut self, request: OptionList<'_>) {
        let mut acked = PeerAcked {
            mru: DEFAULT_MRU,
            magic: 0,
            auth: None,
        };
        for option in request.iter().map(LcpOption::from_raw) {
            match option {
                LcpOption::Mru(mru) => acked.mru = mru,
                LcpOption::MagicNumber(magic) => acked.magic = magic,
                LcpOption::AuthProtocol(auth) => {
                    acked.auth = method_in(&auth, &self.config.auth_methods);
                }
                _ => {}
            }
        }
        self.collisions = 0;
        self.peer = Some(acked);
    }

    fn on_ack(&mut self, options: OptionList<'_>) -> Result<(), NegotiationFailure> {
        let mut acked = OursAcked {
            mru: DEFAULT_MRU,
            magic: 0,
            auth: None,
        };
        for option in options.iter().map(LcpOption::from_raw) {
            match option {
                LcpOption::Mru(mru) => acked.mru = mru,
                LcpOption::MagicNumber(magic) => acked.magic = magic,
                LcpOption::AuthProtocol(auth) => {
                    acked.auth = method_in(&auth, &self.config.auth_methods);
                }
                _ => {}
            }
        }
        self.ours_acked = Some(acked);
        Ok(())
    }

    fn on_nak(
        &mut self,
        options: OptionList<'_>,
        rng: &mut dyn Random,
    ) -> Result<(), NegotiationFailure> {
        let mut auth_seen = false;
        for option in options.iter().map(LcpOption::from_raw) {
            match option {
                LcpOption::Mru(suggested) => {
                    // Take a smaller MRU we can live with; keep ours
                    // otherwise (the peer may Reject it in the end).
                    if let Some(wanted) = self.mru_request
                        && (self.config.min_peer_mru..=wanted).contains(&suggested)
                    {
                        self.mru_request = Some(suggested);
                    }
                }
                LcpOption::MagicNumber(_) if self.magic_requested => {
                    // RFC 1661 6.4: a Nak'd Magic-Number may not be unique;
                    // choose a new one.
                    self.magic = random_nonzero_u32(rng, self.magic);
                }
                LcpOption::AuthProtocol(auth) if self.is_server() && !auth_seen => {
                    auth_seen = true;
                    self.auth_nakked(method_in(&auth, &self.config.auth_methods))?;
                }
                // Options we did not ask for: the peer would like us to
                // (RFC 1661 5.3), but we have no use for them.
                _ => {}
            }
        }
        Ok(())
    }

    fn on_reject(&mut self, options: OptionList<'_>) -> Result<(), NegotiationFailure> {
        for option in options.iter().map(LcpOption::from_raw) {
            match option {
                LcpOption::Mru(_) => self.mru_request = None,
                LcpOption::MagicNumber(_) => self.magic_requested = false,
                LcpOption::AuthProtocol(_) if self.auth_request.is_some() => {
                    return Err(NegotiationFailure::PeerRefusesAuthentication);
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.mru_request = self.config.mru;
        self.magic_requested = true;
        self.auth_request = if self.is_server() {
            self.config.auth_methods.first().copied()
        } else {
            None
        };
        self.auth_tried.clear();
        self.auth_insisted = false;
        self.collisions = 0;
        self.ours_acked = None;
        self.peer = None;
    }

    fn local_magic(&self) -> u32 {
        self.ours_acked.map_or(0, |o| o.magic)
    }

    fn failure_text(&self, failure: NegotiationFailure) -> String {
        if failure == NegotiationFailure::PeerRefusesAuthentication && self.is_server() {
            // The client's person needs to know what would work.
            return format!(
                "no common authentication method (the server allows {})",
                method_list(&self.config.auth_methods)
            );
        }
        failure.to_string()
    }

    fn peer_mru(&self) -> Option<u16> {
        self.peer.map(|p| p.mru)
    }

    fn on_extra(&mut self, packet: &CpPacket<'_>) {
        match packet.body {
            Body::Identification { message, .. } => {
                let message = message.get(..MAX_IDENTIFICATION_LEN).unwrap_or(message);
                tracing::debug!(
                    message = %String::from_utf8_lossy(message),
                    "LCP Identification (RFC 1570 1.1)"
                );
                self.identification = Some(message.to_vec());
            }
            Body::TimeRemaining { seconds, .. } => {
                tracing::debug!(seconds, "LCP Time-Remaining (RFC 1570 1.2)");
            }
            _ => {}
        }
    }
}

/// The Authentication-Protocol option value of a method (RFC 1661 6.2;
/// RFC 1994 3 for the CHAP algorithms; RFC 3748 for EAP).
fn auth_option(method: AuthMethod) -> AuthProtocol {
    match method {
        AuthMethod::Pap => AuthProtocol::Pap,
        AuthMethod::ChapMd5 => AuthProtocol::Chap(ChapAlgorithm::MD5),
        AuthMethod::MsChapV2 => AuthProtocol::Chap(ChapAlgorithm::MS_CHAP_V2),
        AuthMethod::EapMsChapV2
        | AuthMethod::EapTls
        | AuthMethod::EapPeap
        | AuthMethod::EapRelayed => AuthProtocol::Eap,
    }
}

/// Refused methods remembered at most (a peer can ask for any number).
const MAX_REFUSED_AUTH: usize = 8;

/// Methods as a person reads them: "mschapv2, pap", or "none".
pub(crate) fn method_list(methods: &[AuthMethod]) -> String {
    if methods.is_empty() {
        return "none".to_owned();
    }
    methods
        .iter()
        .map(|m| m.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// An Authentication-Protocol value in words: our method name, or what the
/// protocol number says (RFC 1661 6.2; RFC 1994 3 for CHAP algorithms).
fn auth_name(auth: &AuthProtocol) -> String {
    if let Some(method) = method_of(auth) {
        return method.name().to_owned();
    }
    match auth {
        AuthProtocol::Chap(ChapAlgorithm::MS_CHAP) => "ms-chap (version 1)".to_owned(),
        AuthProtocol::Chap(algorithm) => format!("chap with algorithm {}", algorithm.0),
        other => format!("protocol {:#06x}", other.protocol().0),
    }
}

/// The method of `methods` an Authentication-Protocol option means: for EAP
/// the first EAP method configured (which one runs is settled inside EAP,
/// RFC 3748 §2), otherwise [`method_of`].
fn method_in(auth: &AuthProtocol, methods: &[AuthMethod]) -> Option<AuthMethod> {
    match auth {
        AuthProtocol::Eap => methods
            .iter()
            .copied()
            .find(|m| m.protocol() == Protocol::EAP)
            .or(Some(AuthMethod::EapMsChapV2)),
        other => method_of(other),
    }
}

/// The method an Authentication-Protocol option asks for, if we run it.
fn method_of(auth: &AuthProtocol) -> Option<AuthMethod> {
    match auth {
        AuthProtocol::Pap => Some(AuthMethod::Pap),
        AuthProtocol::Chap(ChapAlgorithm::MD5) => Some(AuthMethod::ChapMd5),
        AuthProtocol::Chap(ChapAlgorithm::MS_CHAP_V2) => Some(AuthMethod::MsChapV2),
        AuthProtocol::Eap => Some(AuthMethod::EapMsChapV2),
        _ => None,
    }
}

impl Negotiator<LcpPolicy> {
    /// Sends a Protocol-Reject of a received frame of an unsupported
    /// `protocol`, whose Information field was `information` (RFC 1661
    /// 5.7): fresh Identifier, cut to the peer's MRU ("The
    /// Rejected-Information MUST be truncated to comply with the peer's
    /// established MRU"). Only when LCP is
    /// Opened ("Protocol-Reject packets can only be sent in the LCP Opened
    /// state"); returns whether it was sent.
    pub(crate) fn send_protocol_reject(
        &mut self,
        protocol: Protocol,
        information: &[u8],
        out: &mut Outbox,
    ) -> bool {
        if !self.is_opened() {
            return false;
        }
        tracing::debug!(%protocol, "sending Protocol-Reject");
        self.send_request_packet(
            Code::PROTOCOL_REJECT,
            &protocol.0.to_be_bytes(),
            information,
            out,
        );
        true
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests;
