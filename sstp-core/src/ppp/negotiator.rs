//! The glue between the RFC 1661 automaton ([`Fsm`]) and the wire: one
//! [`Negotiator`] runs one control protocol (LCP, IPCP or IPv6CP), while a
//! small [`Policy`] decides what to ask for and what to accept.
//!
//! The negotiator owns the automaton, the Identifier counter and the last
//! Configure-Request it sent. It turns received packets into automaton
//! events and performs the automaton's actions by building packets into the
//! `Outbox`. The policy only ever sees option lists: it builds our
//! Configure-Request, judges the peer's options one by one, and learns from
//! the peer's Configure-Ack, -Nak and -Reject.
//!
//! # Call order (for the link)
//!
//! 1. `Negotiator::new(policy, fsm_config)`; then `open` (administrative
//!    Open) and `up` (lower layer ready) in either order. For LCP `up` is
//!    the SSTP call being established; for an NCP it is LCP reaching the
//!    Network phase.
//! 2. Feed every received packet of this protocol (bytes from the Code
//!    field on) to `handle_packet`, and call `handle_timeout` when
//!    [`Negotiator::poll_timeout`] has passed.
//! 3. After every call, drain [`Negotiator::poll_event`]: `Up` means both
//!    directions are Opened and the policy's results are valid; `Down`,
//!    `Started`, `Finished` are the other layer notifications;
//!    `Failed(reason)` says why a negotiation was given up (the negotiator
//!    has already sent a Terminate-Request).
//! 4. `close` to end the protocol (Terminate-Request with a reason text);
//!    `down` when the lower layer is gone.
//!
//! # Receive rules
//!
//! - Packets that do not parse are dropped and counted
//!   ([`NegotiatorStats::malformed`]); nothing a peer sends panics.
//! - A Configure-Ack must carry the Identifier of our last
//!   Configure-Request and echo its options byte for byte (RFC 1661 5.2); a
//!   Configure-Nak or -Reject must carry that Identifier (5.3, 5.4), and a
//!   Reject must list only options we sent, unmodified and in order (5.4).
//!   Only the first valid reply to a request counts: after it, the next
//!   request gets a new Identifier (5.1). Anything else is silently
//!   discarded and counted ([`NegotiatorStats::discarded`]).
//! - The peer's Configure-Request is judged option by option. A repeated
//!   option type is rejected. Rejects take precedence over Naks (5.3, 5.4);
//!   once [`Fsm::max_failure_reached`], Naks become Rejects of the options
//!   as received and no options are appended any more (4.6, Max-Failure).
//! - Unknown codes get a Code-Reject (5.6). A received Code-Reject of a
//!   Configure-*, Terminate-* or Code-Reject packet is RXJ- (the automaton
//!   cannot work without them); of anything else RXJ+ (4.3). A received
//!   Protocol-Reject of this very protocol is RXJ-, of another protocol
//!   RXJ+ plus [`LayerEvent::ProtocolRejected`], so the link can stop that
//!   protocol (`Negotiator::protocol_rejected`).
//! - Echo-Request, Echo-Reply and Discard-Request are RXR; only an
//!   Echo-Request is answered, and only when Opened (5.8). A request or
//!   reply carrying our own Magic-Number raises
//!   [`LayerEvent::LoopbackSuspected`].
//! - No packet we send exceeds the peer's MRU (RFC 1661 6.1; 1500 until LCP
//!   has established another): what copies peer data is cut to it, an
//!   Echo-Reply's Data (5.8), a Code-Reject's or Protocol-Reject's copy
//!   (5.6, 5.7), a Configure-Nak's or -Reject's options at an option
//!   boundary (5.3, 5.4). Only a Configure-Ack is never cut: it must echo
//!   the request exactly (5.2).
//!
//! # Identifiers
//!
//! One counter per negotiator, incremented for every request we originate
//! (Configure-, Terminate-, Echo-Request, Code- and Protocol-Reject). A
//! retransmission after a timeout reuses the Identifier and bytes of the
//! unanswered Configure-Request, as RFC 1661 5.1 allows.

use std::collections::VecDeque;
use std::time::Instant;

use super::fsm::{Action, Actions, Event, Fsm, FsmConfig, State};
use super::{ControlFrame, Outbox, Random};
use crate::wire::cp::{
    Body, Code, ControlProtocol, CpPacket, HEADER_LEN, MAX_PACKET_LEN, OptionList, RawOption,
};
use crate::wire::ppp::Protocol;

/// The MRU to assume until LCP says otherwise (RFC 1661 6.1: "The default
/// value is 1500 octets").
pub(crate) const DEFAULT_MRU: u16 = 1500;

/// Layer events kept for [`Negotiator::poll_event`]; one call produces at
/// most a handful, so this only overflows if the caller never polls.
const MAX_EVENTS: usize = 32;

/// Longest Terminate-Request reason text kept by [`Negotiator::close`].
const MAX_REASON_LEN: usize = 255;

/// Which end of the SSTP tunnel this side is: the server authenticates the
/// client and assigns its addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Role {
    /// The SSTP server (PPP authenticator, address assigner).
    Server,
    /// The SSTP client (PPP peer that authenticates, takes an address).
    Client,
}

/// A policy's judgement of one option of the peer's Configure-Request.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OptionVerdict {
    /// The option and its value are acceptable.
    Ack,
    /// The option is understood but its value is not: the TLV(s) to send
    /// in the Configure-Nak instead (RFC 1661 5.3).
    Nak(Vec<u8>),
    /// The option is not acceptable at all: it goes into the
    /// Configure-Reject exactly as received (RFC 1661 5.4).
    Reject,
}

/// Why a negotiation could not succeed. The negotiator reports it as
/// `LayerEvent::Failed` and closes the protocol with this text as the
/// Terminate-Request reason.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NegotiationFailure {
    /// The server requires authentication and the peer rejected the
    /// Authentication-Protocol option or refused every method we offer.
    #[error("peer refuses authentication")]
    PeerRefusesAuthentication,
    /// IPCP client: the server rejected the IP-Address option or
    /// acknowledged 0.0.0.0.
    #[error("server did not assign an address")]
    NoAddressAssigned,
    /// IPv6CP: the peer rejected the Interface-Identifier option, so no
    /// link-local address can be formed (RFC 5072 4.1).
    #[error("peer rejected the IPv6 interface identifier")]
    InterfaceIdentifierRejected,
    /// LCP: the peer kept sending our own Magic-Number (RFC 1661 6.4).
    #[error("link appears to be looped back")]
    LoopedBack,
    /// Max-Configure Configure-Requests went unanswered (RFC 1661 4.6).
    #[error("no answer to Configure-Request (Max-Configure reached)")]
    NoResponse,
    /// The peer Code-Rejected a code the automaton cannot do without
    /// (RFC 1661 4.3, RXJ-).
    #[error("peer rejected code {0}")]
    CodeRejected(Code),
    /// The peer Protocol-Rejected this protocol (RFC 1661 5.7).
    #[error("peer rejected the protocol")]
    ProtocolRejected,
}

/// What the layer above (or below) must learn, in order.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LayerEvent {
    /// This-Layer-Up (tlu): both directions are Opened; the policy's
    /// negotiated values are valid.
    Up,
    /// This-Layer-Down (tld): leaving Opened; negotiated values are void.
    Down,
    /// This-Layer-Started (tls): the protocol wants its lower layer (for an
    /// NCP: LCP should be opened).
    Started,
    /// This-Layer-Finished (tlf): the protocol no longer needs its lower
    /// layer (for LCP: the link may be torn down).
    Finished,
    /// The negotiation was given up for this reason; a Terminate-Request
    /// has been sent and `Finished` follows.
    Failed(NegotiationFailure),
    /// LCP: the peer Protocol-Rejected this protocol (RFC 1661 5.7); stop
    /// sending it (for an NCP: `Negotiator::protocol_rejected`).
    ProtocolRejected(Protocol),
    /// The peer Code-Rejected a code we can do without (RXJ+), such as
    /// Echo-Request or Identification; stop sending it.
    CodeRejected(Code),
    /// An LCP Echo-Request, Echo-Reply or Discard-Request carried our own
    /// Magic-Number: the link may be looped back (RFC 1661 5.8, 6.4).
    LoopbackSuspected,
}

/// Counters of what was dropped.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct NegotiatorStats {
    /// Packets that did not parse (bad Length, bad option TLVs, ...).
    pub malformed: u64,
    /// Well-formed packets silently discarded: replies that match no
    /// outstanding request, packets while the lower layer is Down, ...
    pub discarded: u64,
    /// Layer events dropped because the caller did not poll them.
    pub events_dropped: u64,
}

/// The option policy of one control protocol: what to request, what to
/// accept, and what to learn from the peer's answers.
///
/// Options reach the policy as raw TLVs, already checked to be well-formed
/// (RFC 1661 section 6); typing them ([`crate::wire::options`]) is the
/// policy's business. Nak lists it returns are wire TLVs.
pub(crate) trait Policy {
    /// The control protocol negotiated: its codes and PPP protocol number.
    fn control_protocol(&self) -> ControlProtocol;

    /// Appends the options of a new Configure-Request (RFC 1661 5.1).
    fn request(&mut self, out: &mut Vec<u8>);

    /// Judges one option of the peer's Configure-Request. An error gives
    /// the whole negotiation up.
    fn judge(
        &mut self,
        option: RawOption<'_>,
        rng: &mut dyn Random,
    ) -> Result<OptionVerdict, NegotiationFailure>;

    /// Appends options the peer left out of its request but should use
    /// (RFC 1661 5.3: a Configure-Nak may suggest additional options; e.g.
    /// RFC 1332 3.3 for the peer's IP-Address). Not called once
    /// Max-Failure is reached (RFC 1661 4.6).
    fn missing(&mut self, request: OptionList<'_>, out: &mut Vec<u8>) {
        let _ = (request, out);
    }

    /// We are acknowledging the peer's whole request: record its values.
    fn peer_acked(&mut self, request: OptionList<'_>);

    /// The peer acknowledged our request (these are exactly our options).
    fn on_ack(&mut self, options: OptionList<'_>) -> Result<(), NegotiationFailure>;

    /// The peer Nak'd our request: adjust the next one.
    fn on_nak(
        &mut self,
        options: OptionList<'_>,
        rng: &mut dyn Random,
    ) -> Result<(), NegotiationFailure>;

    /// The peer rejected these options of our request (each exactly as we
    /// sent it): stop asking for them, or give up.
    fn on_reject(&mut self, options: OptionList<'_>) -> Result<(), NegotiationFailure>;

    /// Negotiation (re)starts (This-Layer-Started or -Down): forget what
    /// was learnt from the peer and start from the configuration again.
    fn reset(&mut self);

    /// The Magic-Number to put in Echo-Reply and Echo-Request (RFC 1661
    /// 5.8): ours if negotiated, else 0. Only LCP has one.
    fn local_magic(&self) -> u32 {
        0
    }

    /// The peer's MRU once known (LCP): bounds the Code-Reject,
    /// Protocol-Reject and Echo-Reply we build.
    fn peer_mru(&self) -> Option<u16> {
        None
    }

    /// Sees every received LCP Echo-Request, Echo-Reply, Discard-Request,
    /// Identification and Time-Remaining (RFC 1661 5.8, 5.9; RFC 1570),
    /// after the negotiator has handled them.
    fn on_extra(&mut self, packet: &CpPacket<'_>) {
        let _ = packet;
    }

    /// The Terminate-Request text (RFC 1661 5.5 Data) for giving the
    /// negotiation up with `failure`: the peer's person reads it (pppd
    /// prints "LCP terminated by peer (text)"), so a policy may say more
    /// than the failure alone, e.g. which methods it allows.
    fn failure_text(&self, failure: NegotiationFailure) -> String {
        failure.to_string()
    }
}

/// How we answer one Configure-Request.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reply {
    Ack,
    Nak(Vec<u8>),
    Reject(Vec<u8>),
}

/// The last Configure-Request we sent.
#[derive(Debug, Clone)]
struct SentRequest {
    identifier: u8,
    options: Vec<u8>,
    /// A valid Ack, Nak or Reject has been received for it: further replies
    /// with its Identifier are stale, and a resend needs a new Identifier.
    answered: bool,
}

/// What an action may need from the packet that caused it.
#[derive(Debug, Default)]
struct Ctx<'a> {
    /// Identifier of the received packet (for sca, scn, sta, ser).
    identifier: Option<u8>,
    /// The received packet, Code to Length (for scj).
    packet: &'a [u8],
    /// The received Configure-Request's options (for sca).
    request: Option<OptionList<'a>>,
    /// Our answer to it (for scn).
    reply: Option<&'a Reply>,
    /// The received Echo-Request's data (for ser).
    echo: Option<&'a [u8]>,
    /// The scr is a timeout retransmission.
    retransmit: bool,
}

/// One control protocol's option negotiation: an RFC 1661 automaton driven
/// by packets, with a [`Policy`] deciding the options. See the
/// [module documentation](self) for the call order and rules.
#[derive(Debug)]
pub(crate) struct Negotiator<P: Policy> {
    policy: P,
    fsm: Fsm,
    cp: ControlProtocol,
    /// The Identifier most recently used for a packet we originated.
    last_identifier: u8,
    request: Option<SentRequest>,
    events: VecDeque<LayerEvent>,
    failure: Option<NegotiationFailure>,
    /// Data of our next Terminate-Request.
    terminate_reason: Vec<u8>,
    /// Data of the last Terminate-Request the peer sent (RFC 1661 5.5), cut
    /// to [`MAX_REASON_LEN`] bytes: why it ended the link, in its words.
    peer_reason: Option<Vec<u8>>,
    /// The peer's MRU as the link knows it (from LCP), for NCPs.
    link_mru: u16,
    stats: NegotiatorStats,
}

impl<P: Policy> Negotiator<P> {
    /// A negotiator in the Initial state. If `config.name` is the default,
    /// it is replaced by the protocol's name for logs.
    pub(crate) fn new(policy: P, mut config: FsmConfig) -> Self {
        let cp = policy.control_protocol();
        if config.name == FsmConfig::default().name {
            config.name = match cp {
                ControlProtocol::Lcp => "LCP",
                ControlProtocol::Ipcp => "IPCP",
                ControlProtocol::Ipv6cp => "IPv6CP",
            };
        }
        Self {
            policy,
            fsm: Fsm::new(config),
            cp,
            last_identifier: 0,
            request: None,
            events: VecDeque::new(),
            failure: None,
            terminate_reason: Vec::new(),
            peer_reason: None,
            link_mru: DEFAULT_MRU,
            stats: NegotiatorStats::default(),
        }
    }

    /// The automaton state.
    #[must_use]
    pub(crate) fn state(&self) -> State {
        self.fsm.state()
    }

    /// Whether the protocol is Opened (both directions acknowledged).
    #[must_use]
    pub(crate) fn is_opened(&self) -> bool {
        self.fsm.is_opened()
    }

    /// The policy, for its negotiated results.
    #[must_use]
    pub(crate) fn policy(&self) -> &P {
        &self.policy
    }

    /// The policy, mutably (e.g. to change configuration before a
    /// renegotiation).
    pub(crate) fn policy_mut(&mut self) -> &mut P {
        &mut self.policy
    }

    /// The automaton, for inspection.
    #[must_use]
    #[cfg(test)]
    pub(crate) fn fsm(&self) -> &Fsm {
        &self.fsm
    }

    /// The PPP protocol number of this negotiator's packets.
    #[must_use]
    #[cfg(test)]
    pub(crate) fn protocol(&self) -> Protocol {
        self.cp.protocol()
    }

    /// Why the last negotiation failed, if it did.
    #[must_use]
    #[cfg(test)]
    pub(crate) fn failure(&self) -> Option<NegotiationFailure> {
        self.failure
    }

    /// Drop counters.
    #[must_use]
    #[cfg(test)]
    pub(crate) fn stats(&self) -> NegotiatorStats {
        self.stats
    }

    /// When `handle_timeout` must next be called.
    #[must_use]
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.fsm.poll_timeout()
    }

    /// The next layer event, oldest first.
    pub(crate) fn poll_event(&mut self) -> Option<LayerEvent> {
        self.events.pop_front()
    }

    /// Tells an NCP the peer's MRU negotiated by LCP, which bounds the
    /// Code-Rejects it builds (RFC 1661 5.6). LCP knows it by itself.
    pub(crate) fn set_peer_mru(&mut self, mru: u16) {
        self.link_mru = mru;
    }

    /// The largest packet (Code to end) the peer accepts.
    fn peer_packet_limit(&self) -> usize {
        usize::from(self.policy.peer_mru().unwrap_or(self.link_mru)).min(MAX_PACKET_LEN)
    }

    fn push_event(&mut self, event: LayerEvent) {
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
            self.stats.events_dropped = self.stats.events_dropped.saturating_add(1);
        }
        self.events.push_back(event);
    }

    fn next_identifier(&mut self) -> u8 {
        self.last_identifier = self.last_identifier.wrapping_add(1);
        self.last_identifier
    }

    /// Appends one packet: header, `head`, then as much of `data` as fits in
    /// `limit` bytes (and the Length field).
    fn send(
        &self,
        code: Code,
        identifier: u8,
        head: &[u8],
        data: &[u8],
        limit: usize,
        out: &mut Outbox,
    ) {
        let limit = limit.min(MAX_PACKET_LEN);
        let room = limit.saturating_sub(HEADER_LEN.saturating_add(head.len()));
        let data = data.get(..room).unwrap_or(data);
        let len = HEADER_LEN + head.len() + data.len();
        let mut packet = Vec::with_capacity(len);
        packet.push(code.0);
        packet.push(identifier);
        packet.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
        packet.extend_from_slice(head);
        packet.extend_from_slice(data);
        packet.truncate(MAX_PACKET_LEN);
        tracing::debug!(
            protocol = %self.cp.protocol(),
            code = %code,
            identifier,
            len = packet.len(),
            "send"
        );
        out.push_back(ControlFrame {
            protocol: self.cp.protocol(),
            packet,
        });
    }

    /// Appends a Configure-* packet; an option list too long for the Length
    /// field is cut at an option boundary.
    fn send_configure(&self, code: Code, identifier: u8, options: &[u8], out: &mut Outbox) {
        let options = cut_options(options, MAX_PACKET_LEN - HEADER_LEN);
        self.send(code, identifier, &[], options, MAX_PACKET_LEN, out);
    }

    // ------------------------------------------------------------------
    // Administrative and lower-layer events.
    // ------------------------------------------------------------------

    /// Up: the lower layer can carry packets (RFC 1661 4.3).
    pub(crate) fn up(&mut self, now: Instant, out: &mut Outbox) {
        self.event(now, Event::Up, out);
    }

    /// Down: the lower layer is gone (RFC 1661 4.3). Sends nothing.
    pub(crate) fn down(&mut self, now: Instant, out: &mut Outbox) {
        self.event(now, Event::Down, out);
    }

    /// The Data of the last Terminate-Request the peer sent (RFC 1661 5.5),
    /// as received (at most 255 bytes); `None` if it sent none.
    pub(crate) fn peer_terminate_reason(&self) -> Option<&[u8]> {
        self.peer_reason.as_deref()
    }

    /// Open: the protocol may be Opened (RFC 1661 4.3). Clears any
    /// previous failure.
    pub(crate) fn open(&mut self, now: Instant, out: &mut Outbox) {
        self.failure = None;
        self.event(now, Event::Open, out);
    }

    /// Close: terminate the protocol, sending `reason` (cut to 255 bytes) in
    /// the Terminate-Request (RFC 1661 4.3, 5.5).
    pub(crate) fn close(&mut self, now: Instant, reason: &str, out: &mut Outbox) {
        let reason = reason.as_bytes();
        self.terminate_reason = reason.get(..MAX_REASON_LEN).unwrap_or(reason).to_vec();
        self.event(now, Event::Close, out);
    }

    /// This protocol was Protocol-Rejected by the peer (the link learnt it
    /// from LCP's [`LayerEvent::ProtocolRejected`]): stop it without sending
    /// anything more of it (RFC 1661 5.7: "MUST stop sending packets of the
    /// indicated protocol at the earliest opportunity").
    ///
    /// The RXJ- cell in Opened would send a Terminate-Request of the
    /// rejected protocol, so this takes a silent path to Initial instead,
    /// through cells that send nothing: Close then Down from Closed or
    /// Stopped (already finished: no events); otherwise Down (the
    /// protocol's lower layer is gone for it) then Close, giving `Down` if
    /// it was Opened and `Finished` (added by hand from Closing, whose Down
    /// cell has no `tlf`).
    pub(crate) fn protocol_rejected(&mut self, now: Instant, out: &mut Outbox) {
        let before = self.fsm.state();
        if !before.lower_layer_up() {
            return;
        }
        self.set_failure(NegotiationFailure::ProtocolRejected);
        if matches!(before, State::Closed | State::Stopped) {
            self.event(now, Event::Close, out);
            self.event(now, Event::Down, out);
        } else {
            self.event(now, Event::Down, out);
            self.event(now, Event::Close, out);
            if before == State::Closing {
                self.push_event(LayerEvent::Finished);
            }
        }
    }

    /// Processes the Restart timer if it is due: retransmits the
    /// Configure- or Terminate-Request, or gives up (TO-).
    pub(crate) fn handle_timeout(&mut self, now: Instant, out: &mut Outbox) {
        let before = self.fsm.state();
        let actions = self.fsm.handle_timeout(now);
        if matches!(before, State::ReqSent | State::AckRcvd | State::AckSent)
            && actions.contains(Action::Tlf)
        {
            tracing::debug!(fsm = self.fsm.config().name, "Max-Configure reached");
            self.set_failure(NegotiationFailure::NoResponse);
        }
        let ctx = Ctx {
            retransmit: true,
            ..Ctx::default()
        };
        self.perform(now, actions, &ctx, out);
    }

    fn event(&mut self, now: Instant, event: Event, out: &mut Outbox) {
        let actions = self.fsm.handle(now, event);
        self.perform(now, actions, &Ctx::default(), out);
    }

    fn set_failure(&mut self, failure: NegotiationFailure) {
        self.failure = Some(failure);
        self.push_event(LayerEvent::Failed(failure));
        let mut text = self.policy.failure_text(failure).into_bytes();
        text.truncate(MAX_REASON_LEN);
        self.terminate_reason = text;
    }

    /// Gives the negotiation up: report, then Close with the reason.
    fn fail(&mut self, now: Instant, failure: NegotiationFailure, out: &mut Outbox) {
        tracing::debug!(fsm = self.fsm.config().name, %failure, "negotiation failed");
        self.set_failure(failure);
        self.event(now, Event::Close, out);
    }

    // ------------------------------------------------------------------
    // Received packets.
    // ------------------------------------------------------------------

    /// Processes one received packet of this protocol (`packet` starts at
    /// the Code field; padding after Length is ignored). Malformed or
    /// out-of-sequence packets are dropped and counted.
    pub(crate) fn handle_packet(
        &mut self,
        now: Instant,
        packet: &[u8],
        rng: &mut dyn Random,
        out: &mut Outbox,
    ) {
        let parsed = match CpPacket::parse(packet, self.cp) {
            Ok(parsed) => parsed,
            Err(error) => {
                self.stats.malformed = self.stats.malformed.saturating_add(1);
                tracing::debug!(fsm = self.fsm.config().name, %error, "malformed packet dropped");
                return;
            }
        };
        if !self.fsm.state().lower_layer_up() {
            // Initial and Starting: no packet can legally arrive (every
            // receive event is illegal there, RFC 1661 4.1).
            self.discard("lower layer down");
            return;
        }
        let exact = packet.get(..parsed.buffer_len()).unwrap_or(packet);
        let identifier = parsed.identifier;
        match parsed.body {
            Body::ConfigureRequest(list) => {
                self.on_configure_request(now, identifier, list, rng, out);
            }
            Body::ConfigureAck(list) => self.on_configure_ack(now, identifier, list, out),
            Body::ConfigureNak(list) => self.on_configure_nak(now, identifier, list, rng, out),
            Body::ConfigureReject(list) => self.on_configure_reject(now, identifier, list, out),
            Body::TerminateRequest { data } => {
                tracing::debug!(
                    fsm = self.fsm.config().name,
                    reason = %String::from_utf8_lossy(data.get(..64).unwrap_or(data)).escape_debug(),
                    "Terminate-Request received"
                );
                // Kept whatever the state: before Opened the automaton only
                // acknowledges it (RFC 1661 4.1, RTR in Req-Sent), yet it is
                // the peer's one chance to say why it is giving up.
                let data = data.get(..MAX_REASON_LEN).unwrap_or(data);
                self.peer_reason = Some(data.to_vec());
                let actions = self.fsm.handle(now, Event::Rtr);
                let ctx = Ctx {
                    identifier: Some(identifier),
                    ..Ctx::default()
                };
                self.perform(now, actions, &ctx, out);
            }
            Body::TerminateAck { .. } => {
                let actions = self.fsm.handle(now, Event::Rta);
                self.perform(now, actions, &Ctx::default(), out);
            }
            Body::CodeReject { rejected } => self.on_code_reject(now, rejected, out),
            Body::ProtocolReject { protocol, .. } => self.on_protocol_reject(now, protocol, out),
            Body::EchoRequest { magic, data } => {
                self.check_magic(magic);
                let actions = self.fsm.handle(now, Event::Rxr);
                let ctx = Ctx {
                    identifier: Some(identifier),
                    echo: Some(data),
                    ..Ctx::default()
                };
                self.perform(now, actions, &ctx, out);
                self.policy.on_extra(&parsed);
            }
            Body::EchoReply { magic, .. } | Body::DiscardRequest { magic, .. } => {
                self.check_magic(magic);
                // RXR: `ser` answers Echo-Requests only; nothing to send.
                let actions = self.fsm.handle(now, Event::Rxr);
                self.perform(now, actions, &Ctx::default(), out);
                self.policy.on_extra(&parsed);
            }
            Body::Identification { .. } | Body::TimeRemaining { .. } => {
                // RFC 1570: informational; no automaton event.
                self.policy.on_extra(&parsed);
            }
            Body::Unknown { code, .. } => {
                tracing::debug!(fsm = self.fsm.config().name, %code, "unknown code");
                let actions = self.fsm.handle(now, Event::Ruc);
                let ctx = Ctx {
                    packet: exact,
                    ..Ctx::default()
                };
                self.perform(now, actions, &ctx, out);
            }
        }
    }

    fn discard(&mut self, why: &'static str) {
        self.stats.discarded = self.stats.discarded.saturating_add(1);
        tracing::debug!(fsm = self.fsm.config().name, why, "packet discarded");
    }

    fn check_magic(&mut self, magic: u32) {
        let ours = self.policy.local_magic();
        if ours != 0 && magic == ours {
            tracing::warn!(
                fsm = self.fsm.config().name,
                magic,
                "received our own Magic-Number: link may be looped back"
            );
            self.push_event(LayerEvent::LoopbackSuspected);
        }
    }

    fn on_configure_request(
        &mut self,
        now: Instant,
        identifier: u8,
        list: OptionList<'_>,
        rng: &mut dyn Random,
        out: &mut Outbox,
    ) {
        // Closed, Closing and Stopping answer (or drop) any request the
        // same way whatever its options; judging would only disturb the
        // policy.
        let reply = if matches!(
            self.fsm.state(),
            State::Closed | State::Closing | State::Stopping
        ) {
            Reply::Ack
        } else {
            match self.judge_request(list, rng) {
                Ok(reply) => reply,
                Err(failure) => {
                    self.fail(now, failure, out);
                    return;
                }
            }
        };
        let event = if reply == Reply::Ack {
            Event::RcrPlus
        } else {
            Event::RcrMinus
        };
        let actions = self.fsm.handle(now, event);
        let ctx = Ctx {
            identifier: Some(identifier),
            request: Some(list),
            reply: Some(&reply),
            ..Ctx::default()
        };
        self.perform(now, actions, &ctx, out);
    }

    /// Judges the peer's request option by option (RFC 1661 5.1 to 5.4,
    /// 4.6 Max-Failure).
    fn judge_request(
        &mut self,
        list: OptionList<'_>,
        rng: &mut dyn Random,
    ) -> Result<Reply, NegotiationFailure> {
        let mut seen = [false; 256];
        let mut reject = Vec::new();
        let mut nak = Vec::new();
        // The Nak'd options as received, in case Max-Failure turns the Nak
        // into a Reject.
        let mut nak_raw = Vec::new();
        for option in list.iter() {
            let first = match seen.get_mut(usize::from(option.kind())) {
                Some(slot) => !core::mem::replace(slot, true),
                None => false,
            };
            if !first {
                reject.extend_from_slice(option.as_bytes());
                continue;
            }
            match self.policy.judge(option, rng)? {
                OptionVerdict::Ack => {}
                OptionVerdict::Nak(suggested) => {
                    nak.extend_from_slice(&suggested);
                    nak_raw.extend_from_slice(option.as_bytes());
                }
                OptionVerdict::Reject => reject.extend_from_slice(option.as_bytes()),
            }
        }
        if !reject.is_empty() {
            return Ok(Reply::Reject(reject));
        }
        if self.fsm.max_failure_reached() {
            if nak_raw.is_empty() {
                return Ok(Reply::Ack);
            }
            tracing::debug!(
                fsm = self.fsm.config().name,
                "Max-Failure reached: rejecting instead of Nak"
            );
            return Ok(Reply::Reject(nak_raw));
        }
        self.policy.missing(list, &mut nak);
        Ok(if nak.is_empty() {
            Reply::Ack
        } else {
            Reply::Nak(nak)
        })
    }

    /// The outstanding request, if `identifier` answers it.
    fn outstanding(&mut self, identifier: u8) -> Option<&mut SentRequest> {
        self.request
            .as_mut()
            .filter(|r| r.identifier == identifier && !r.answered)
    }

    fn on_configure_ack(
        &mut self,
        now: Instant,
        identifier: u8,
        list: OptionList<'_>,
        out: &mut Outbox,
    ) {
        let Some(request) = self.outstanding(identifier) else {
            return self.discard("Configure-Ack does not match our request");
        };
        if request.options != list.as_bytes() {
            return self.discard("Configure-Ack does not echo our request");
        }
        request.answered = true;
        if let Err(failure) = self.policy.on_ack(list) {
            return self.fail(now, failure, out);
        }
        let actions = self.fsm.handle(now, Event::Rca);
        let ctx = Ctx {
            identifier: Some(identifier),
            ..Ctx::default()
        };
        self.perform(now, actions, &ctx, out);
    }

    fn on_configure_nak(
        &mut self,
        now: Instant,
        identifier: u8,
        list: OptionList<'_>,
        rng: &mut dyn Random,
        out: &mut Outbox,
    ) {
        let Some(request) = self.outstanding(identifier) else {
            return self.discard("Configure-Nak does not match our request");
        };
        request.answered = true;
        if let Err(failure) = self.policy.on_nak(list, rng) {
            return self.fail(now, failure, out);
        }
        self.after_rcn(now, identifier, out);
    }

    fn on_configure_reject(
        &mut self,
        now: Instant,
        identifier: u8,
        list: OptionList<'_>,
        out: &mut Outbox,
    ) {
        let Some(request) = self.outstanding(identifier) else {
            return self.discard("Configure-Reject does not match our request");
        };
        // RFC 1661 5.4: the options "MUST NOT be reordered or modified":
        // each must be one we sent, in our order.
        let sent = OptionList::parse(&request.options).unwrap_or_default();
        if list.is_empty() || !is_subsequence(list, sent) {
            return self.discard("Configure-Reject lists options we did not send");
        }
        request.answered = true;
        if let Err(failure) = self.policy.on_reject(list) {
            return self.fail(now, failure, out);
        }
        self.after_rcn(now, identifier, out);
    }

    fn after_rcn(&mut self, now: Instant, identifier: u8, out: &mut Outbox) {
        let actions = self.fsm.handle(now, Event::Rcn);
        let ctx = Ctx {
            identifier: Some(identifier),
            ..Ctx::default()
        };
        self.perform(now, actions, &ctx, out);
    }

    fn on_code_reject(&mut self, now: Instant, rejected: &[u8], out: &mut Outbox) {
        let Some(&code) = rejected.first() else {
            self.stats.malformed = self.stats.malformed.saturating_add(1);
            return;
        };
        let code = Code(code);
        tracing::debug!(fsm = self.fsm.config().name, %code, "Code-Reject received");
        // RFC 1661 4.3, RXJ-: the automaton cannot run without
        // Configure-*, Terminate-* and Code-Reject.
        if (1..=7).contains(&code.0) {
            self.set_failure(NegotiationFailure::CodeRejected(code));
            self.event(now, Event::RxjMinus, out);
        } else {
            self.push_event(LayerEvent::CodeRejected(code));
            self.event(now, Event::RxjPlus, out);
        }
    }

    fn on_protocol_reject(&mut self, now: Instant, protocol: Protocol, out: &mut Outbox) {
        tracing::debug!(fsm = self.fsm.config().name, %protocol, "Protocol-Reject received");
        if protocol == self.cp.protocol() {
            self.set_failure(NegotiationFailure::ProtocolRejected);
            self.event(now, Event::RxjMinus, out);
        } else {
            self.push_event(LayerEvent::ProtocolRejected(protocol));
            self.event(now, Event::RxjPlus, out);
        }
    }

    // ------------------------------------------------------------------
    // Actions.
    // ------------------------------------------------------------------

    /// Performs the automaton's actions in order (RFC 1661 4.4).
    fn perform(&mut self, now: Instant, actions: Actions, ctx: &Ctx<'_>, out: &mut Outbox) {
        let _ = now;
        if actions.is_illegal() {
            self.discard("illegal event for the state");
            return;
        }
        if actions.is_crossed_connection() {
            tracing::debug!(fsm = self.fsm.config().name, "crossed connection");
        }
        for action in actions {
            match action {
                Action::Tlu => {
                    // A Terminate-Request before this opening did not end
                    // the link after all.
                    self.peer_reason = None;
                    self.push_event(LayerEvent::Up);
                }
                Action::Tld => {
                    self.policy.reset();
                    self.push_event(LayerEvent::Down);
                }
                Action::Tls => {
                    self.policy.reset();
                    self.push_event(LayerEvent::Started);
                }
                Action::Tlf => self.push_event(LayerEvent::Finished),
                Action::Irc | Action::Zrc => {}
                Action::Scr => self.send_configure_request(ctx.retransmit, out),
                Action::Sca => {
                    if let (Some(identifier), Some(request)) = (ctx.identifier, ctx.request) {
                        self.policy.peer_acked(request);
                        self.send_configure(
                            Code::CONFIGURE_ACK,
                            identifier,
                            request.as_bytes(),
                            out,
                        );
                    }
                }
                // A Nak or Reject copies the peer's options, so it must fit
                // the peer's MRU (RFC 1661 6.1) like every frame we send:
                // cut at an option boundary, it Naks or Rejects fewer
                // options, which 5.3 and 5.4 allow (the peer's next request
                // gets the rest). An Ack cannot be cut (5.2: options
                // exactly as received); it is as long as the request.
                Action::Scn => {
                    let room = self.peer_packet_limit().saturating_sub(HEADER_LEN);
                    match (ctx.identifier, ctx.reply) {
                        (Some(identifier), Some(Reply::Nak(options))) => {
                            let options = cut_options(options, room);
                            self.send_configure(Code::CONFIGURE_NAK, identifier, options, out);
                        }
                        (Some(identifier), Some(Reply::Reject(options))) => {
                            let options = cut_options(options, room);
                            self.send_configure(Code::CONFIGURE_REJECT, identifier, options, out);
                        }
                        _ => {}
                    }
                }
                Action::Str => {
                    let identifier = self.next_identifier();
                    let limit = self.peer_packet_limit();
                    self.send(
                        Code::TERMINATE_REQUEST,
                        identifier,
                        &[],
                        &self.terminate_reason,
                        limit,
                        out,
                    );
                }
                Action::Sta => {
                    let identifier = match ctx.identifier {
                        Some(identifier) => identifier,
                        None => self.next_identifier(),
                    };
                    self.send(Code::TERMINATE_ACK, identifier, &[], &[], HEADER_LEN, out);
                }
                Action::Scj => {
                    // RFC 1661 5.6: "The Rejected-Packet MUST be truncated
                    // to comply with the peer's established MRU."
                    let identifier = self.next_identifier();
                    let limit = self.peer_packet_limit();
                    self.send(Code::CODE_REJECT, identifier, &[], ctx.packet, limit, out);
                }
                Action::Ser => {
                    if let (Some(identifier), Some(data)) = (ctx.identifier, ctx.echo) {
                        // Cut to the peer's MRU rather than dropped: RFC
                        // 1661 5.8 says an Echo-Request in Opened MUST be
                        // answered, and the Data is uninterpreted, so a
                        // shorter copy still proves the link; 6.1 forbids
                        // a longer frame. (A peer probing with a large echo
                        // learns where its frames get cut; RFC 1661 has no
                        // other answer for it.)
                        let magic = self.policy.local_magic().to_be_bytes();
                        let limit = self.peer_packet_limit();
                        self.send(Code::ECHO_REPLY, identifier, &magic, data, limit, out);
                    }
                }
            }
        }
    }

    /// scr: a new request, or the same one again after a timeout if it is
    /// still unanswered (RFC 1661 5.1: "For retransmissions, the Identifier
    /// MAY remain unchanged").
    fn send_configure_request(&mut self, retransmit: bool, out: &mut Outbox) {
        if retransmit && let Some(request) = self.request.as_ref().filter(|r| !r.answered) {
            self.send_configure(
                Code::CONFIGURE_REQUEST,
                request.identifier,
                &request.options,
                out,
            );
            return;
        }
        let mut options = Vec::new();
        self.policy.request(&mut options);
        let options = cut_options(&options, MAX_PACKET_LEN - HEADER_LEN).to_vec();
        let identifier = self.next_identifier();
        self.send_configure(Code::CONFIGURE_REQUEST, identifier, &options, out);
        self.request = Some(SentRequest {
            identifier,
            options,
            answered: false,
        });
    }

    /// Sends a packet with a fresh Identifier, `head` then `data` cut to the
    /// peer's MRU; for the LCP extras (Echo-Request, Protocol-Reject).
    pub(crate) fn send_request_packet(
        &mut self,
        code: Code,
        head: &[u8],
        data: &[u8],
        out: &mut Outbox,
    ) -> u8 {
        let identifier = self.next_identifier();
        let limit = self.peer_packet_limit();
        self.send(code, identifier, head, data, limit, out);
        identifier
    }
}

/// The longest prefix of a well-formed option list that fits in `max`
/// bytes, ending on an option boundary.
fn cut_options(options: &[u8], max: usize) -> &[u8] {
    if options.len() <= max {
        return options;
    }
    let mut end = 0;
    let list = OptionList::parse(options).unwrap_or_default();
    for option in list.iter() {
        let next = end + option.as_bytes().len();
        if next > max {
            break;
        }
        end = next;
    }
    options.get(..end).unwrap_or_default()
}

/// Whether every option of `rejected` appears byte for byte in `sent`, in
/// the same order.
fn is_subsequence(rejected: OptionList<'_>, sent: OptionList<'_>) -> bool {
    let mut sent = sent.iter();
    rejected
        .iter()
        .all(|r| sent.by_ref().any(|s| s.as_bytes() == r.as_bytes()))
}

/// A random `u32` that is neither 0 nor `avoid`. A source that keeps
/// returning bad values (only a broken test RNG does) ends the retry loop
/// with a value derived from `avoid`.
pub(crate) fn random_nonzero_u32(rng: &mut dyn Random, avoid: u32) -> u32 {
    for _ in 0..8 {
        let mut buf = [0u8; 4];
        rng.fill(&mut buf);
        let value = u32::from_be_bytes(buf);
        if value != 0 && value != avoid {
            return value;
        }
    }
    match avoid.wrapping_add(0x9E37_79B9) {
        0 => 1,
        value => value,
    }
}

/// A random 8-byte identifier that is neither all zero nor `avoid`.
pub(crate) fn random_nonzero_id(rng: &mut dyn Random, avoid: [u8; 8]) -> [u8; 8] {
    for _ in 0..8 {
        let mut buf = [0u8; 8];
        rng.fill(&mut buf);
        if buf != [0; 8] && buf != avoid {
            return buf;
        }
    }
    let value = u64::from_be_bytes(avoid).wrapping_add(0x9E37_79B9_7F4A_7C15);
    if value == 0 {
        1u64.to_be_bytes()
    } else {
        value.to_be_bytes()
    }
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests;
