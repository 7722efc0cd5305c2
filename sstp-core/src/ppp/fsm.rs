//! The RFC 1661 section 4 option-negotiation automaton, shared by LCP, IPCP
//! and IPv6CP.
//!
//! This module owns the ten states, the sixteen events, the state
//! transition table (RFC 1661 section 4.1), the Restart timer and the
//! Restart and failure counters (section 4.6). It knows nothing about
//! options or packets: the protocol module (LCP, IPCP, IPv6CP) classifies
//! what it received into an [`Event`], feeds it to [`Fsm::handle`], and then
//! performs the returned [`Action`]s in order, building the packets itself.
//!
//! # Call order
//!
//! 1. `Fsm::new(config)` starts in [`State::Initial`].
//! 2. Feed administrative and lower-layer events ([`Event::Up`],
//!    [`Event::Down`], [`Event::Open`], [`Event::Close`]) and received
//!    packets ([`Event::RcrPlus`], [`Event::Rca`], ...) with
//!    [`Fsm::handle`]. The caller decides RCR+ versus RCR- (its option
//!    policy), and RXJ+ versus RXJ- (whether the rejected code or protocol
//!    can be done without). Out-of-sequence or malformed Configure-Ack/Nak/
//!    Reject packets are silently discarded by the caller and never become
//!    events (section 4.3, RCA and RCN).
//! 3. Perform every returned [`Action`] in order: the send actions (`scr`,
//!    `sca`, `scn`, `str`, `sta`, `scj`, `ser`) build and send a packet; the
//!    layer notifications (`tlu`, `tld`, `tls`, `tlf`) tell the layer above or
//!    below; `irc` and `zrc` are listed for completeness and have already been
//!    applied by the automaton.
//! 4. After every call, re-read [`Fsm::poll_timeout`]; when that instant has
//!    passed, call [`Fsm::handle_timeout`], which turns the expiry into TO+ or
//!    TO- from the Restart counter.
//! 5. Before answering a Configure-Request with a Configure-Nak, check
//!    [`Fsm::max_failure_reached`]: once it is true, send a Configure-Reject
//!    instead and stop appending locally desired options (section 4.6,
//!    Max-Failure).
//!
//! # Implementation choices for the footnoted cells
//!
//! - `[p]` Passive option (section 4.2, Stopped): off by default. When
//!   [`FsmConfig::passive`] is set, TO- in Req-Sent, Ack-Rcvd and Ack-Sent
//!   goes to Stopped *without* `tlf`, waiting for the peer's Configure-Request.
//!   The RFC says it SHOULD NOT be used on switched circuits, and an SSTP
//!   tunnel behaves like one, so the default follows the printed cell.
//! - `[r]` Restart option (section 4.3, Open): off by default, so Open in
//!   Stopped, Closing, Stopping and Opened takes the printed cell. When
//!   [`FsmConfig::restart_option`] is set, Open in those states is the
//!   printed cell followed at once by Down and Up (the "issue a Down event,
//!   immediately followed by an Up event" of section 4.3). The automaton is
//!   synchronous, so no other Down can slip in between.
//! - `[x]` Crossed connection (section 4.3, RCA): the printed cell is taken
//!   (renegotiate), and the result is flagged with
//!   [`Actions::is_crossed_connection`] so the caller logs it, as the RFC
//!   says it SHOULD.
//! - `zrc` in Opened/RTR (`tld,zrc,sta/5`): the Restart counter is zeroed and
//!   the Restart timer started for one Restart period, so the automaton
//!   lingers in Stopping long enough for the peer to process the
//!   Terminate-Ack, then takes TO- (`tlf/3`), as the section 4.4 note on
//!   `zrc` describes.
//! - Illegal events (`-`) never panic: no transition is taken, no action is
//!   returned, the result is flagged with [`Actions::is_illegal`], and a
//!   `debug` record is logged (section 4.4, Illegal-Event).
//!
//! The RFC table itself is kept as text in `states.txt` next to this file.

use core::fmt;
use std::time::{Duration, Instant};

/// Default Restart timer period (RFC 1661 section 4.6: "SHOULD default to
/// three (3) seconds").
pub(crate) const DEFAULT_RESTART_TIMER: Duration = Duration::from_secs(3);

/// Default Max-Terminate (RFC 1661 section 4.6: "SHOULD default to two (2)
/// transmissions").
pub(crate) const DEFAULT_MAX_TERMINATE: u32 = 2;

/// Default Max-Configure (RFC 1661 section 4.6: "SHOULD default to ten (10)
/// transmissions").
pub(crate) const DEFAULT_MAX_CONFIGURE: u32 = 10;

/// Default Max-Failure (RFC 1661 section 4.6: "SHOULD default to five (5)
/// transmissions").
pub(crate) const DEFAULT_MAX_FAILURE: u32 = 5;

/// Capacity of [`Actions`]. The largest RFC 1661 cell has three actions
/// (`tld,irc,str`, `irc,scr,sca`, ...), and the restart option composes to at
/// most three as well; one slot is spare.
const ACTIONS_CAPACITY: usize = 4;

/// Tunables of one automaton (RFC 1661 section 4.6, plus the footnoted
/// implementation options of section 4.1).
///
/// Every value "MUST be configurable" per the RFC; the [`Default`] gives the
/// RFC's SHOULD-defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FsmConfig {
    /// Name used in log records only, e.g. `"LCP"` or `"IPCP"`.
    pub name: &'static str,
    /// Restart timer period (section 4.6, Restart Timer). Also the linger time
    /// after `zrc` (section 4.4).
    pub restart_timer: Duration,
    /// Terminate-Requests sent without a Terminate-Ack before giving up
    /// (section 4.6, Max-Terminate). `0` behaves like `1`: the counter is
    /// decremented on each transmission including the first.
    pub max_terminate: u32,
    /// Configure-Requests sent without a valid Ack/Nak/Reject before giving
    /// up (section 4.6, Max-Configure). `0` behaves like `1`.
    pub max_configure: u32,
    /// Configure-Naks sent without sending a Configure-Ack before the caller
    /// must turn further Naks into Rejects (section 4.6, Max-Failure).
    pub max_failure: u32,
    /// `[p]` Passive option (section 4.2, Stopped): TO- in Req-Sent, Ack-Rcvd
    /// and Ack-Sent goes to Stopped without `tlf`.
    pub passive: bool,
    /// `[r]` Restart option (section 4.3, Open): Open in Stopped, Closing,
    /// Stopping and Opened is followed by Down and Up, renegotiating.
    pub restart_option: bool,
}

impl Default for FsmConfig {
    fn default() -> Self {
        Self {
            name: "ppp",
            restart_timer: DEFAULT_RESTART_TIMER,
            max_terminate: DEFAULT_MAX_TERMINATE,
            max_configure: DEFAULT_MAX_CONFIGURE,
            max_failure: DEFAULT_MAX_FAILURE,
            passive: false,
            restart_option: false,
        }
    }
}

/// The ten automaton states (RFC 1661 section 4.2). The discriminant is the
/// state number used in the section 4.1 table.
///
/// Not `#[non_exhaustive]`: the set is fixed by RFC 1661, and callers should
/// match it exhaustively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum State {
    /// 0: lower layer Down, no Open has occurred; Restart timer not running.
    Initial = 0,
    /// 1: Open has occurred, lower layer still Down; Restart timer not
    /// running. Up sends a Configure-Request.
    Starting = 1,
    /// 2: lower layer Up, no Open has occurred; Restart timer not running.
    /// Configure-Requests are answered with Terminate-Ack.
    Closed = 2,
    /// 3: the Open counterpart of Closed, entered after `tlf` or after
    /// sending a Terminate-Ack; Restart timer not running.
    Stopped = 3,
    /// 4: a Terminate-Request has been sent (after Close) and the Restart
    /// timer is running; waiting for a Terminate-Ack.
    Closing = 4,
    /// 5: the Open counterpart of Closing; Restart timer running.
    Stopping = 5,
    /// 6: a Configure-Request has been sent; Restart timer running; no
    /// Configure-Ack sent or received yet.
    ReqSent = 6,
    /// 7: a Configure-Request has been sent and a Configure-Ack received;
    /// Restart timer still running (no Configure-Ack sent yet).
    AckRcvd = 7,
    /// 8: a Configure-Request and a Configure-Ack have both been sent; no
    /// Configure-Ack received yet; Restart timer running.
    AckSent = 8,
    /// 9: a Configure-Ack has been both sent and received; Restart timer not
    /// running.
    Opened = 9,
}

impl State {
    /// All states in table order (0 to 9).
    #[cfg(test)]
    pub(crate) const ALL: [Self; 10] = [
        Self::Initial,
        Self::Starting,
        Self::Closed,
        Self::Stopped,
        Self::Closing,
        Self::Stopping,
        Self::ReqSent,
        Self::AckRcvd,
        Self::AckSent,
        Self::Opened,
    ];

    /// The state number of the RFC 1661 section 4.1 table.
    #[must_use]
    #[cfg(test)]
    pub(crate) const fn number(self) -> u8 {
        self as u8
    }

    /// The RFC 1661 spelling of the state ("Req-Sent", ...).
    #[must_use]
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Self::Initial => "Initial",
            Self::Starting => "Starting",
            Self::Closed => "Closed",
            Self::Stopped => "Stopped",
            Self::Closing => "Closing",
            Self::Stopping => "Stopping",
            Self::ReqSent => "Req-Sent",
            Self::AckRcvd => "Ack-Rcvd",
            Self::AckSent => "Ack-Sent",
            Self::Opened => "Opened",
        }
    }

    /// Whether the Restart timer runs in this state (RFC 1661 section 4.2):
    /// Closing, Stopping, Req-Sent, Ack-Rcvd and Ack-Sent.
    #[must_use]
    pub(crate) const fn restart_timer_runs(self) -> bool {
        matches!(
            self,
            Self::Closing | Self::Stopping | Self::ReqSent | Self::AckRcvd | Self::AckSent
        )
    }

    /// Whether the lower layer is known to be Up (every state but Initial and
    /// Starting). Nothing may be sent while this is false.
    #[must_use]
    pub(crate) const fn lower_layer_up(self) -> bool {
        !matches!(self, Self::Initial | Self::Starting)
    }

    /// Configuration is being negotiated (Req-Sent, Ack-Rcvd, Ack-Sent).
    const fn negotiating(self) -> bool {
        matches!(self, Self::ReqSent | Self::AckRcvd | Self::AckSent)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The sixteen automaton events (RFC 1661 section 4.3).
///
/// Not `#[non_exhaustive]`: the set is fixed by RFC 1661.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Event {
    /// Up: the lower layer is ready to carry packets.
    Up,
    /// Down: the lower layer can no longer carry packets.
    Down,
    /// Open: administrative Open, the link is allowed to be Opened.
    Open,
    /// Close: administrative Close, the link is not allowed to be Opened.
    Close,
    /// TO+: Restart timer expired with the Restart counter above zero.
    /// Normally produced by [`Fsm::handle_timeout`], not by the caller.
    #[doc(alias = "TO+")]
    TimeoutPlus,
    /// TO-: Restart timer expired with the Restart counter at zero.
    /// Normally produced by [`Fsm::handle_timeout`], not by the caller.
    #[doc(alias = "TO-")]
    TimeoutMinus,
    /// RCR+: a Configure-Request whose every option is acceptable.
    #[doc(alias = "RCR+")]
    RcrPlus,
    /// RCR-: a Configure-Request to be answered with a Nak or a Reject.
    #[doc(alias = "RCR-")]
    RcrMinus,
    /// RCA: a valid Configure-Ack (matching Identifier and options).
    #[doc(alias = "RCA")]
    Rca,
    /// RCN: a valid Configure-Nak or Configure-Reject.
    #[doc(alias = "RCN")]
    Rcn,
    /// RTR: a Terminate-Request.
    #[doc(alias = "RTR")]
    Rtr,
    /// RTA: a Terminate-Ack.
    #[doc(alias = "RTA")]
    Rta,
    /// RUC: a packet with an unknown Code.
    #[doc(alias = "RUC")]
    Ruc,
    /// RXJ+: a Code-Reject or Protocol-Reject of something that can be done
    /// without (for example an Echo-Request, or a single NCP).
    #[doc(alias = "RXJ+")]
    RxjPlus,
    /// RXJ-: a Code-Reject or Protocol-Reject that makes the link unusable
    /// (for example a rejected Configure-Request or Terminate-Request).
    #[doc(alias = "RXJ-")]
    RxjMinus,
    /// RXR: an Echo-Request, Echo-Reply or Discard-Request.
    #[doc(alias = "RXR")]
    Rxr,
}

impl Event {
    /// All events in table order.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) const ALL: [Self; 16] = [
        Self::Up,
        Self::Down,
        Self::Open,
        Self::Close,
        Self::TimeoutPlus,
        Self::TimeoutMinus,
        Self::RcrPlus,
        Self::RcrMinus,
        Self::Rca,
        Self::Rcn,
        Self::Rtr,
        Self::Rta,
        Self::Ruc,
        Self::RxjPlus,
        Self::RxjMinus,
        Self::Rxr,
    ];

    /// The RFC 1661 abbreviation ("RCR+", "TO-", ...).
    #[must_use]
    pub(crate) const fn abbrev(self) -> &'static str {
        match self {
            Self::Up => "Up",
            Self::Down => "Down",
            Self::Open => "Open",
            Self::Close => "Close",
            Self::TimeoutPlus => "TO+",
            Self::TimeoutMinus => "TO-",
            Self::RcrPlus => "RCR+",
            Self::RcrMinus => "RCR-",
            Self::Rca => "RCA",
            Self::Rcn => "RCN",
            Self::Rtr => "RTR",
            Self::Rta => "RTA",
            Self::Ruc => "RUC",
            Self::RxjPlus => "RXJ+",
            Self::RxjMinus => "RXJ-",
            Self::Rxr => "RXR",
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.abbrev())
    }
}

/// The automaton actions (RFC 1661 section 4.4), in the order the caller
/// must perform them.
///
/// Not `#[non_exhaustive]`: the set is fixed by RFC 1661.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Action {
    /// tlu, This-Layer-Up: tell the upper layer the automaton is Opened
    /// (for LCP: enter the Authenticate or Network phase).
    #[doc(alias = "tlu")]
    Tlu,
    /// tld, This-Layer-Down: tell the upper layer the automaton is leaving
    /// Opened.
    #[doc(alias = "tld")]
    Tld,
    /// tls, This-Layer-Started: tell the lower layer that this layer needs
    /// it (for an NCP: ask LCP to open the link).
    #[doc(alias = "tls")]
    Tls,
    /// tlf, This-Layer-Finished: tell the lower layer that this layer no
    /// longer needs it (for LCP: the link may be torn down).
    #[doc(alias = "tlf")]
    Tlf,
    /// irc, Initialize-Restart-Count: already applied by the automaton
    /// (Max-Terminate before `str`, Max-Configure otherwise).
    #[doc(alias = "irc")]
    Irc,
    /// zrc, Zero-Restart-Count: already applied by the automaton (counter
    /// zeroed, Restart timer started).
    #[doc(alias = "zrc")]
    Zrc,
    /// scr, Send-Configure-Request (new Identifier unless retransmitting the
    /// same options). The automaton has started the Restart timer.
    #[doc(alias = "scr")]
    Scr,
    /// sca, Send-Configure-Ack echoing the received request.
    #[doc(alias = "sca")]
    Sca,
    /// scn, Send-Configure-Nak or Send-Configure-Reject (the caller's option
    /// policy chooses; see [`Fsm::max_failure_reached`]).
    #[doc(alias = "scn")]
    Scn,
    /// str, Send-Terminate-Request. The automaton has started the Restart
    /// timer.
    #[doc(alias = "str")]
    Str,
    /// sta, Send-Terminate-Ack.
    #[doc(alias = "sta")]
    Sta,
    /// scj, Send-Code-Reject of the received packet.
    #[doc(alias = "scj")]
    Scj,
    /// ser, Send-Echo-Reply (to an Echo-Request; nothing for an Echo-Reply or
    /// Discard-Request).
    #[doc(alias = "ser")]
    Ser,
}

impl Action {
    /// The RFC 1661 abbreviation ("scr", "tld", ...).
    #[must_use]
    pub(crate) const fn abbrev(self) -> &'static str {
        match self {
            Self::Tlu => "tlu",
            Self::Tld => "tld",
            Self::Tls => "tls",
            Self::Tlf => "tlf",
            Self::Irc => "irc",
            Self::Zrc => "zrc",
            Self::Scr => "scr",
            Self::Sca => "sca",
            Self::Scn => "scn",
            Self::Str => "str",
            Self::Sta => "sta",
            Self::Scj => "scj",
            Self::Ser => "ser",
        }
    }

    /// Whether the caller must transmit a packet for this action.
    #[must_use]
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) const fn is_send(self) -> bool {
        matches!(
            self,
            Self::Scr | Self::Sca | Self::Scn | Self::Str | Self::Sta | Self::Scj | Self::Ser
        )
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.abbrev())
    }
}

/// The result of one event: the actions to perform in order, plus what the
/// RFC asks to be logged. Fixed capacity, no heap allocation.
#[derive(Clone, Copy)]
#[must_use = "the caller must perform the actions in order"]
pub(crate) struct Actions {
    list: [Action; ACTIONS_CAPACITY],
    len: u8,
    illegal: bool,
    crossed: bool,
}

impl Actions {
    /// No actions, no flags.
    pub(crate) const fn new() -> Self {
        Self {
            // Filler only; slots past `len` are never read.
            list: [Action::Tlu; ACTIONS_CAPACITY],
            len: 0,
            illegal: false,
            crossed: false,
        }
    }

    /// The actions, in the order the RFC lists them.
    #[must_use]
    pub(crate) fn as_slice(&self) -> &[Action] {
        self.list.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Iterates the actions in order.
    pub(crate) fn iter(&self) -> core::slice::Iter<'_, Action> {
        self.as_slice().iter()
    }

    /// Number of actions.
    #[must_use]
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether there are no actions.
    #[must_use]
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `action` is among the actions.
    #[must_use]
    pub(crate) fn contains(&self, action: Action) -> bool {
        self.as_slice().contains(&action)
    }

    /// Whether any action transmits a packet (see [`Action::is_send`]).
    #[must_use]
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn has_send(&self) -> bool {
        self.iter().any(|a| a.is_send())
    }

    /// The event was illegal in the state it arrived in (a `-` cell, RFC 1661
    /// section 4.4 Illegal-Event): no transition was taken. The RFC asks for
    /// it to be logged; it usually means a caller bug.
    #[must_use]
    pub(crate) fn is_illegal(&self) -> bool {
        self.illegal
    }

    /// The event was an RCA or RCN in Ack-Rcvd or Opened, the `[x]` crossed
    /// connection cells (RFC 1661 section 4.3, RCA): the link renegotiates,
    /// and the RFC says this occurrence SHOULD be logged.
    #[must_use]
    pub(crate) fn is_crossed_connection(&self) -> bool {
        self.crossed
    }

    /// Appends an action. Never fails in practice: no cell or composition
    /// exceeds the capacity (checked by the tests); an overflow would drop
    /// the action rather than panic.
    fn push(&mut self, action: Action) {
        if let Some(slot) = self.list.get_mut(usize::from(self.len)) {
            *slot = action;
            self.len = self.len.saturating_add(1);
        }
    }

    /// Appends another result (restart option composition).
    fn extend(&mut self, other: &Self) {
        for &action in other.iter() {
            self.push(action);
        }
        self.illegal |= other.illegal;
        self.crossed |= other.crossed;
    }
}

impl Default for Actions {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialEq for Actions {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
            && self.illegal == other.illegal
            && self.crossed == other.crossed
    }
}

impl Eq for Actions {}

impl fmt::Debug for Actions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Actions")
            .field("actions", &self.as_slice())
            .field("illegal", &self.illegal)
            .field("crossed", &self.crossed)
            .finish()
    }
}

/// Comma-separated abbreviations as in the RFC table ("tld,irc,str").
impl fmt::Display for Actions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, action) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(action.abbrev())?;
        }
        Ok(())
    }
}

impl IntoIterator for Actions {
    type Item = Action;
    type IntoIter = core::iter::Take<core::array::IntoIter<Action, ACTIONS_CAPACITY>>;

    fn into_iter(self) -> Self::IntoIter {
        self.list.into_iter().take(usize::from(self.len))
    }
}

impl<'a> IntoIterator for &'a Actions {
    type Item = &'a Action;
    type IntoIter = core::slice::Iter<'a, Action>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// One cell of the RFC 1661 section 4.1 table.
struct Cell {
    actions: &'static [Action],
    next: State,
    /// The cell carries the `[x]` crossed-connection footnote.
    crossed: bool,
}

/// `action/next` cell.
const fn go(actions: &'static [Action], next: State) -> Option<Cell> {
    Some(Cell {
        actions,
        next,
        crossed: false,
    })
}

/// `action/next x` cell (crossed connection).
const fn crossed(actions: &'static [Action], next: State) -> Option<Cell> {
    Some(Cell {
        actions,
        next,
        crossed: true,
    })
}

/// The RFC 1661 section 4.1 state transition table, one arm per cell or per
/// group of identical cells, grouped by event row. `None` is an illegal
/// event (`-`). The `[r]` restart option is composed in [`Fsm::handle`]; the
/// `[p]` passive option is the `passive` flag here.
fn rfc1661_cell(state: State, event: Event, passive: bool) -> Option<Cell> {
    use Action::{Irc, Sca, Scj, Scn, Scr, Ser, Sta, Str, Tld, Tlf, Tls, Tlu, Zrc};
    use Event::{
        Close, Down, Open, Rca, Rcn, RcrMinus, RcrPlus, Rta, Rtr, Ruc, RxjMinus, RxjPlus, Rxr,
        TimeoutMinus, TimeoutPlus, Up,
    };
    use State::{
        AckRcvd, AckSent, Closed, Closing, Initial, Opened, ReqSent, Starting, Stopped, Stopping,
    };

    match (state, event) {
        // ---- Up (section 4.3): the lower layer is ready.
        // Initial/Up: 2.
        (Initial, Up) => go(&[], Closed),
        // Starting/Up: irc,scr/6 (section 4.2 Starting: "When the lower
        // layer becomes available (Up), a Configure-Request is sent").
        (Starting, Up) => go(&[Irc, Scr], ReqSent),
        // Up in states 2..9: "-" (the lower layer is already Up).
        (Closed | Stopped | Closing | Stopping | ReqSent | AckRcvd | AckSent | Opened, Up) => None,

        // ---- Down (section 4.3): the lower layer is gone.
        // Initial, Starting/Down: "-" (already Down).
        (Initial | Starting, Down) => None,
        // Closed/Down: 0.
        (Closed, Down) => go(&[], Initial),
        // Stopped/Down: tls/1 (section 4.2 Stopped rationale: Down supersedes
        // and returns to Starting).
        (Stopped, Down) => go(&[Tls], Starting),
        // Closing/Down: 0.
        (Closing, Down) => go(&[], Initial),
        // Stopping, Req-Sent, Ack-Rcvd, Ack-Sent/Down: 1.
        (Stopping | ReqSent | AckRcvd | AckSent, Down) => go(&[], Starting),
        // Opened/Down: tld/1.
        (Opened, Down) => go(&[Tld], Starting),

        // ---- Open (section 4.3): administrative Open.
        // Initial/Open: tls/1.
        (Initial, Open) => go(&[Tls], Starting),
        // Starting/Open: 1.
        (Starting, Open) => go(&[], Starting),
        // Closed/Open: irc,scr/6.
        (Closed, Open) => go(&[Irc, Scr], ReqSent),
        // Stopped/Open: 3r (restart option composed in `Fsm::handle`).
        (Stopped, Open) => go(&[], Stopped),
        // Closing/Open: 5r (the pending Close becomes a Stop; restart option
        // composed in `Fsm::handle`).
        (Closing | Stopping, Open) => go(&[], Stopping),
        // Req-Sent, Ack-Rcvd, Ack-Sent/Open: 6, 7, 8 (already opening).
        (ReqSent | AckRcvd | AckSent, Open) => go(&[], state),
        // Opened/Open: 9r (restart option composed in `Fsm::handle`).
        (Opened, Open) => go(&[], Opened),

        // ---- Close (section 4.3): administrative Close.
        // Initial/Close: 0.
        (Initial, Close) => go(&[], Initial),
        // Starting/Close: tlf/0 (undo the tls of Open).
        (Starting, Close) => go(&[Tlf], Initial),
        // Closed, Stopped/Close: 2.
        (Closed | Stopped, Close) => go(&[], Closed),
        // Closing, Stopping/Close: 4 (the Restart timer keeps running).
        (Closing | Stopping, Close) => go(&[], Closing),
        // Req-Sent, Ack-Rcvd, Ack-Sent/Close: irc,str/4.
        (ReqSent | AckRcvd | AckSent, Close) => go(&[Irc, Str], Closing),
        // Opened/Close: tld,irc,str/4.
        (Opened, Close) => go(&[Tld, Irc, Str], Closing),

        // ---- TO+ (section 4.3, Timeout): counter still above zero.
        // "-" where the Restart timer does not run.
        (Initial | Starting | Closed | Stopped | Opened, TimeoutPlus) => None,
        // Closing/TO+: str/4.
        (Closing, TimeoutPlus) => go(&[Str], Closing),
        // Stopping/TO+: str/5.
        (Stopping, TimeoutPlus) => go(&[Str], Stopping),
        // Req-Sent, Ack-Rcvd/TO+: scr/6 (in Ack-Rcvd the retransmitted
        // request voids the received Ack).
        (ReqSent | AckRcvd, TimeoutPlus) => go(&[Scr], ReqSent),
        // Ack-Sent/TO+: scr/8.
        (AckSent, TimeoutPlus) => go(&[Scr], AckSent),

        // ---- TO- (section 4.3, Timeout): counter expired.
        (Initial | Starting | Closed | Stopped | Opened, TimeoutMinus) => None,
        // Closing/TO-: tlf/2.
        (Closing, TimeoutMinus) => go(&[Tlf], Closed),
        // Stopping/TO-: tlf/3.
        (Stopping, TimeoutMinus) => go(&[Tlf], Stopped),
        // Req-Sent, Ack-Rcvd, Ack-Sent/TO-: tlf/3p. With the passive option
        // (section 4.2 Stopped), "the This-Layer-Finished action is not used
        // for the TO- event in states Req-Sent, Ack-Rcvd and Ack-Sent".
        (ReqSent | AckRcvd | AckSent, TimeoutMinus) if passive => go(&[], Stopped),
        (ReqSent | AckRcvd | AckSent, TimeoutMinus) => go(&[Tlf], Stopped),

        // ---- RCR+ (section 4.3): acceptable Configure-Request.
        // "-" while the lower layer is Down.
        (Initial | Starting, RcrPlus) => None,
        // Closed/RCR+: sta/2 (section 4.2 Closed: "Upon reception of
        // Configure-Request packets, a Terminate-Ack is sent").
        (Closed, RcrPlus) => go(&[Sta], Closed),
        // Stopped/RCR+: irc,scr,sca/8.
        (Stopped, RcrPlus) => go(&[Irc, Scr, Sca], AckSent),
        // Closing, Stopping/RCR+: 4, 5 (silently discarded while terminating).
        (Closing | Stopping, RcrPlus) => go(&[], state),
        // Req-Sent/RCR+: sca/8.
        (ReqSent, RcrPlus) => go(&[Sca], AckSent),
        // Ack-Rcvd/RCR+: sca,tlu/9.
        (AckRcvd, RcrPlus) => go(&[Sca, Tlu], Opened),
        // Ack-Sent/RCR+: sca/8 (the peer changed its request; ack it again).
        (AckSent, RcrPlus) => go(&[Sca], AckSent),
        // Opened/RCR+: tld,scr,sca/8 (the peer renegotiates; section 4.3 RCR
        // note: "MUST be prepared to immediately renegotiate").
        (Opened, RcrPlus) => go(&[Tld, Scr, Sca], AckSent),

        // ---- RCR- (section 4.3): unacceptable Configure-Request.
        (Initial | Starting, RcrMinus) => None,
        // Closed/RCR-: sta/2.
        (Closed, RcrMinus) => go(&[Sta], Closed),
        // Stopped/RCR-: irc,scr,scn/6.
        (Stopped, RcrMinus) => go(&[Irc, Scr, Scn], ReqSent),
        // Closing, Stopping/RCR-: 4, 5.
        (Closing | Stopping, RcrMinus) => go(&[], state),
        // Req-Sent/RCR-: scn/6.
        (ReqSent, RcrMinus) => go(&[Scn], ReqSent),
        // Ack-Rcvd/RCR-: scn/7.
        (AckRcvd, RcrMinus) => go(&[Scn], AckRcvd),
        // Ack-Sent/RCR-: scn/6 (our earlier Ack no longer stands).
        (AckSent, RcrMinus) => go(&[Scn], ReqSent),
        // Opened/RCR-: tld,scr,scn/6.
        (Opened, RcrMinus) => go(&[Tld, Scr, Scn], ReqSent),

        // ---- RCA (section 4.3): valid Configure-Ack.
        (Initial | Starting, Rca) => None,
        // Closed/RCA: sta/2 (section 4.2 Closed/Stopped: other packets get a
        // Terminate-Ack to resynchronize the peer).
        (Closed, Rca) => go(&[Sta], Closed),
        // Stopped/RCA: sta/3.
        (Stopped, Rca) => go(&[Sta], Stopped),
        // Closing, Stopping/RCA: 4, 5.
        (Closing | Stopping, Rca) => go(&[], state),
        // Req-Sent/RCA: irc/7 (the Restart timer keeps running: our Ack is
        // still to be sent).
        (ReqSent, Rca) => go(&[Irc], AckRcvd),
        // Ack-Rcvd/RCA: scr/6x (crossed connection).
        (AckRcvd, Rca) => crossed(&[Scr], ReqSent),
        // Ack-Sent/RCA: irc,tlu/9.
        (AckSent, Rca) => go(&[Irc, Tlu], Opened),
        // Opened/RCA: tld,scr/6x (crossed connection).
        (Opened, Rca) => crossed(&[Tld, Scr], ReqSent),

        // ---- RCN (section 4.3): valid Configure-Nak or Configure-Reject.
        (Initial | Starting, Rcn) => None,
        // Closed/RCN: sta/2.
        (Closed, Rcn) => go(&[Sta], Closed),
        // Stopped/RCN: sta/3.
        (Stopped, Rcn) => go(&[Sta], Stopped),
        // Closing, Stopping/RCN: 4, 5.
        (Closing | Stopping, Rcn) => go(&[], state),
        // Req-Sent/RCN: irc,scr/6 (the peer answered: restart the count).
        (ReqSent, Rcn) => go(&[Irc, Scr], ReqSent),
        // Ack-Rcvd/RCN: scr/6x (crossed connection).
        (AckRcvd, Rcn) => crossed(&[Scr], ReqSent),
        // Ack-Sent/RCN: irc,scr/8.
        (AckSent, Rcn) => go(&[Irc, Scr], AckSent),
        // Opened/RCN: tld,scr/6x (crossed connection).
        (Opened, Rcn) => crossed(&[Tld, Scr], ReqSent),

        // ---- RTR (section 4.3): Terminate-Request.
        (Initial | Starting, Rtr) => None,
        // Closed, Stopped, Closing, Stopping/RTR: sta/2, 3, 4, 5.
        (Closed | Stopped | Closing | Stopping, Rtr) => go(&[Sta], state),
        // Req-Sent, Ack-Rcvd, Ack-Sent/RTR: sta/6 (negotiation restarts once
        // the peer sends a new Configure-Request).
        (ReqSent | AckRcvd | AckSent, Rtr) => go(&[Sta], ReqSent),
        // Opened/RTR: tld,zrc,sta/5 (zrc: linger one Restart period so the
        // peer sees the Terminate-Ack, section 4.4).
        (Opened, Rtr) => go(&[Tld, Zrc, Sta], Stopping),

        // ---- RTA (section 4.3): Terminate-Ack.
        (Initial | Starting, Rta) => None,
        // Closed, Stopped/RTA: 2, 3 (silently discarded to avoid a loop).
        (Closed | Stopped, Rta) => go(&[], state),
        // Closing/RTA: tlf/2.
        (Closing, Rta) => go(&[Tlf], Closed),
        // Stopping/RTA: tlf/3.
        (Stopping, Rta) => go(&[Tlf], Stopped),
        // Req-Sent, Ack-Rcvd/RTA: 6 (an Ack received is voided).
        (ReqSent | AckRcvd, Rta) => go(&[], ReqSent),
        // Ack-Sent/RTA: 8.
        (AckSent, Rta) => go(&[], AckSent),
        // Opened/RTA: tld,scr/6 (the peer is out of sync: renegotiate).
        (Opened, Rta) => go(&[Tld, Scr], ReqSent),

        // ---- RUC (section 4.3): unknown Code.
        (Initial | Starting, Ruc) => None,
        // States 2..9/RUC: scj/same state.
        (Closed | Stopped | Closing | Stopping | ReqSent | AckRcvd | AckSent | Opened, Ruc) => {
            go(&[Scj], state)
        }

        // ---- RXJ+ (section 4.3): permitted Code-Reject or Protocol-Reject.
        (Initial | Starting, RxjPlus) => None,
        // Ack-Rcvd/RXJ+: 6 (as printed: the Ack received is voided).
        (AckRcvd, RxjPlus) => go(&[], ReqSent),
        // Other states 2..9/RXJ+: same state, no action.
        (Closed | Stopped | Closing | Stopping | ReqSent | AckSent | Opened, RxjPlus) => {
            go(&[], state)
        }

        // ---- RXJ- (section 4.3): catastrophic Code-Reject or
        // Protocol-Reject.
        (Initial | Starting, RxjMinus) => None,
        // Closed, Closing/RXJ-: tlf/2.
        (Closed | Closing, RxjMinus) => go(&[Tlf], Closed),
        // Stopped, Stopping, Req-Sent, Ack-Rcvd, Ack-Sent/RXJ-: tlf/3.
        (Stopped | Stopping | ReqSent | AckRcvd | AckSent, RxjMinus) => go(&[Tlf], Stopped),
        // Opened/RXJ-: tld,irc,str/5.
        (Opened, RxjMinus) => go(&[Tld, Irc, Str], Stopping),

        // ---- RXR (section 4.3): Echo-Request, Echo-Reply, Discard-Request.
        (Initial | Starting, Rxr) => None,
        // States 2..8/RXR: same state, no action (echo only when Opened).
        (Closed | Stopped | Closing | Stopping | ReqSent | AckRcvd | AckSent, Rxr) => {
            go(&[], state)
        }
        // Opened/RXR: ser/9.
        (Opened, Rxr) => go(&[Ser], Opened),
    }
}

/// One RFC 1661 option-negotiation automaton: state, Restart timer, Restart
/// counter and failure counter. Pure and deterministic: time comes in as
/// `now`.
///
/// See the [module documentation](self) for the call order.
#[derive(Debug, Clone)]
pub(crate) struct Fsm {
    config: FsmConfig,
    state: State,
    /// Restart counter (section 4.6): transmissions left before TO-.
    restart_counter: u32,
    /// Configure-Naks (or Rejects) sent since the last Configure-Ack sent or
    /// since negotiation (re)started, capped at `max_failure`.
    failures: u32,
    /// Restart timer deadline; `Some` exactly in the states where the timer
    /// runs.
    deadline: Option<Instant>,
}

impl Fsm {
    /// A new automaton in the Initial state, timer stopped.
    #[must_use]
    pub(crate) fn new(config: FsmConfig) -> Self {
        Self {
            config,
            state: State::Initial,
            restart_counter: 0,
            failures: 0,
            deadline: None,
        }
    }

    /// The configuration this automaton was built with.
    #[must_use]
    pub(crate) fn config(&self) -> &FsmConfig {
        &self.config
    }

    /// The current state.
    #[must_use]
    pub(crate) fn state(&self) -> State {
        self.state
    }

    /// Whether the automaton is in the Opened state.
    #[must_use]
    pub(crate) fn is_opened(&self) -> bool {
        self.state == State::Opened
    }

    /// The Restart counter (section 4.6): Configure- or Terminate-Requests
    /// that may still be sent before the next timeout is TO-.
    #[must_use]
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn restart_counter(&self) -> u32 {
        self.restart_counter
    }

    /// Configure-Nak/Reject packets sent (`scn`) since the last
    /// Configure-Ack sent (`sca`) or since negotiation (re)started, capped at
    /// Max-Failure (section 4.6).
    ///
    /// The automaton cannot tell a Nak from a Reject (both are `scn`), so a
    /// Reject counts too; that only turns Naks into Rejects a little earlier,
    /// which still converges.
    #[must_use]
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn failures(&self) -> u32 {
        self.failures
    }

    /// Whether Max-Failure Configure-Naks have been sent without a
    /// Configure-Ack: the next reply to an unacceptable Configure-Request
    /// must be a Configure-Reject, and locally desired options are no longer
    /// appended (section 4.6, Max-Failure). Check it before building the
    /// reply to an RCR-.
    #[must_use]
    pub(crate) fn max_failure_reached(&self) -> bool {
        self.failures >= self.config.max_failure
    }

    /// When the Restart timer fires, if it runs (RFC 1661 section 4.6). It is
    /// `Some` exactly in Closing, Stopping, Req-Sent, Ack-Rcvd and Ack-Sent.
    #[must_use]
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// Processes the Restart timer: if it runs and `now` has reached its
    /// deadline, the expiry becomes TO+ (Restart counter above zero) or TO-
    /// (counter expired), and that cell's actions are returned. Otherwise
    /// nothing happens and the result is empty.
    pub(crate) fn handle_timeout(&mut self, now: Instant) -> Actions {
        match self.deadline {
            Some(deadline) if now >= deadline => {
                let event = if self.restart_counter > 0 {
                    Event::TimeoutPlus
                } else {
                    Event::TimeoutMinus
                };
                self.deadline = None;
                // Every TO+ cell retransmits (re-arming the timer) and every
                // TO- cell leaves the timer states.
                self.step(now, event)
            }
            _ => Actions::new(),
        }
    }

    /// Processes one event at time `now` and returns the actions to perform,
    /// in order (RFC 1661 section 4.1). Never panics: an event that is
    /// illegal in the current state changes nothing and returns an empty
    /// result flagged [`Actions::is_illegal`].
    ///
    /// TO+ and TO- may be fed here to force that cell (tests do), but
    /// normally come from [`Fsm::handle_timeout`].
    pub(crate) fn handle(&mut self, now: Instant, event: Event) -> Actions {
        // [r] Restart option (section 4.3, Open): the printed cell, then
        // Down, then Up, which renegotiates through Starting and Req-Sent.
        if event == Event::Open
            && self.config.restart_option
            && matches!(
                self.state,
                State::Stopped | State::Closing | State::Stopping | State::Opened
            )
        {
            let mut out = self.step(now, Event::Open);
            let down = self.step(now, Event::Down);
            out.extend(&down);
            let up = self.step(now, Event::Up);
            out.extend(&up);
            return out;
        }
        self.step(now, event)
    }

    /// One table cell: look it up, apply irc/zrc/scr/str/sca/scn to the
    /// counters and timer, change state, and stop the timer when leaving the
    /// timer states.
    fn step(&mut self, now: Instant, event: Event) -> Actions {
        let from = self.state;
        let Some(cell) = rfc1661_cell(from, event, self.config.passive) else {
            tracing::debug!(
                fsm = self.config.name,
                state = from.name(),
                event = event.abbrev(),
                "illegal event ignored (RFC 1661 section 4.4)"
            );
            let mut out = Actions::new();
            out.illegal = true;
            return out;
        };

        // A fresh negotiation (from outside Req-Sent/Ack-Rcvd/Ack-Sent)
        // starts with no Naks counted. Resetting on every irc instead would
        // let two peers that Nak each other loop forever, because RCN in
        // Req-Sent does irc.
        if !from.negotiating() && cell.next.negotiating() {
            self.failures = 0;
        }

        let mut out = Actions::new();
        out.crossed = cell.crossed;
        // irc sets Max-Terminate when the cell sends a Terminate-Request and
        // Max-Configure otherwise (section 4.4, Initialize-Restart-Count).
        let terminating = cell.actions.contains(&Action::Str);
        for &action in cell.actions {
            match action {
                Action::Irc => {
                    self.restart_counter = if terminating {
                        self.config.max_terminate
                    } else {
                        self.config.max_configure
                    };
                }
                Action::Zrc => {
                    self.restart_counter = 0;
                    self.arm(now);
                }
                // "The Restart counter is decremented each time a
                // Configure-Request [Terminate-Request] is sent", and the
                // Restart timer is started (section 4.4, scr and str).
                Action::Scr | Action::Str => {
                    self.restart_counter = self.restart_counter.saturating_sub(1);
                    self.arm(now);
                }
                Action::Sca => self.failures = 0,
                Action::Scn => {
                    self.failures = self.failures.saturating_add(1).min(self.config.max_failure);
                }
                Action::Tlu
                | Action::Tld
                | Action::Tls
                | Action::Tlf
                | Action::Sta
                | Action::Scj
                | Action::Ser => {}
            }
            out.push(action);
        }

        self.state = cell.next;
        if !cell.next.restart_timer_runs() {
            self.deadline = None;
        }
        if cell.crossed {
            tracing::debug!(
                fsm = self.config.name,
                state = from.name(),
                event = event.abbrev(),
                "crossed connection: Configure-Ack/Nak/Reject outside negotiation (RFC 1661 section 4.3)"
            );
        }
        tracing::trace!(
            fsm = self.config.name,
            from = from.name(),
            event = event.abbrev(),
            to = cell.next.name(),
            "transition"
        );
        out
    }

    /// Starts (or restarts) the Restart timer. An overflowing deadline falls
    /// back to `now`: the timer then fires at once, still bounded by the
    /// Restart counter.
    fn arm(&mut self, now: Instant) {
        self.deadline = Some(now.checked_add(self.config.restart_timer).unwrap_or(now));
    }
}

#[cfg(test)]
mod tests;
