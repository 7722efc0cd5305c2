//! The LCP keepalive (RFC 1661 5.8): Echo-Requests on an idle link while
//! LCP is Opened, and the verdict that the peer is dead after
//! [`KeepaliveConfig::max_missed`] of them went without any frame received.
//! Echo-Replies to the peer's requests are the negotiator's job (it answers
//! every Echo-Request in Opened); this module only decides when to ask.

use std::time::{Duration, Instant};

use super::{Lcp, LcpPolicy};
use crate::ppp::Outbox;
use crate::ppp::negotiator::{Negotiator, Policy};
use crate::wire::cp::Code;

/// Default interval between keepalive Echo-Requests on an idle link.
pub(crate) const DEFAULT_ECHO_INTERVAL: Duration = Duration::from_secs(30);

/// Default number of unanswered Echo-Requests before the peer is dead.
pub(crate) const DEFAULT_ECHO_MAX_MISSED: u32 = 4;

impl Negotiator<LcpPolicy> {
    /// Sends an Echo-Request with our Magic-Number and `data` (RFC 1661
    /// 5.8), only when LCP is Opened. Returns its Identifier.
    pub(crate) fn send_echo_request(&mut self, data: &[u8], out: &mut Outbox) -> Option<u8> {
        if !self.is_opened() {
            return None;
        }
        let magic = self.policy().local_magic().to_be_bytes();
        Some(self.send_request_packet(Code::ECHO_REQUEST, &magic, data, out))
    }
}

/// The LCP Echo keepalive (RFC 1661 5.8): how often a quiet link sends an
/// Echo-Request, and how many may go unanswered before the link is down.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeepaliveConfig {
    /// Idle time before an Echo-Request, and between them; `None` disables
    /// the keepalive.
    pub interval: Option<Duration>,
    /// Echo-Requests left unanswered (no frame at all received) before the
    /// peer is declared dead.
    pub max_missed: u32,
}

impl Default for KeepaliveConfig {
    fn default() -> Self {
        Self {
            interval: Some(DEFAULT_ECHO_INTERVAL),
            max_missed: DEFAULT_ECHO_MAX_MISSED,
        }
    }
}

/// What the keepalive concluded.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeepaliveEvent {
    /// `missed` Echo-Requests in a row went without any frame received:
    /// the link is dead.
    PeerDead {
        /// Echo-Requests sent since the last frame received.
        missed: u32,
    },
}

/// LCP keepalive: when the link has been idle for an interval while LCP is
/// Opened, send an Echo-Request (RFC 1661 5.8); after
/// [`KeepaliveConfig::max_missed`] of them without any frame received,
/// report the peer dead. Any received frame counts as liveness, so a busy
/// link sends no echoes.
///
/// Call order: [`start`](Self::start) on LCP's `Up` event,
/// [`stop`](Self::stop) on `Down`; [`frame_received`](Self::frame_received)
/// for every frame of any protocol; `handle_timeout` when
/// [`poll_timeout`](Self::poll_timeout) has passed.
#[derive(Debug, Clone)]
pub(crate) struct LcpKeepalive {
    config: KeepaliveConfig,
    last_rx: Option<Instant>,
    missed: u32,
    deadline: Option<Instant>,
}

impl LcpKeepalive {
    /// A stopped keepalive.
    #[must_use]
    pub(crate) fn new(config: KeepaliveConfig) -> Self {
        Self {
            config,
            last_rx: None,
            missed: 0,
            deadline: None,
        }
    }

    /// LCP is Opened: start watching (does nothing if disabled).
    pub(crate) fn start(&mut self, now: Instant) {
        self.missed = 0;
        self.last_rx = Some(now);
        self.deadline = self.config.interval.map(|i| later(now, i));
    }

    /// LCP left Opened: stop.
    pub(crate) fn stop(&mut self) {
        self.deadline = None;
        self.missed = 0;
    }

    /// A frame (any protocol) arrived from the peer.
    pub(crate) fn frame_received(&mut self, now: Instant) {
        self.last_rx = Some(self.last_rx.map_or(now, |t| t.max(now)));
        self.missed = 0;
    }

    /// Echo-Requests sent since the last frame received.
    #[must_use]
    #[cfg(test)]
    pub(crate) fn missed(&self) -> u32 {
        self.missed
    }

    /// When `handle_timeout` must next be called.
    #[must_use]
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// Acts if the deadline is due: nothing if a frame came in the last
    /// interval, else an Echo-Request, or the verdict that the peer is dead.
    pub(crate) fn handle_timeout(
        &mut self,
        now: Instant,
        lcp: &mut Lcp,
        out: &mut Outbox,
    ) -> Option<KeepaliveEvent> {
        let deadline = self.deadline?;
        if now < deadline {
            return None;
        }
        let Some(interval) = self.config.interval else {
            self.stop();
            return None;
        };
        if !lcp.is_opened() {
            self.stop();
            return None;
        }
        let last_rx = self.last_rx.unwrap_or(now);
        let next_idle = later(last_rx, interval);
        if next_idle > now {
            self.missed = 0;
            self.deadline = Some(next_idle);
            return None;
        }
        if self.missed >= self.config.max_missed {
            let missed = self.missed;
            tracing::debug!(missed, "LCP keepalive: peer dead");
            self.stop();
            return Some(KeepaliveEvent::PeerDead { missed });
        }
        lcp.send_echo_request(&[], out);
        self.missed = self.missed.saturating_add(1);
        self.deadline = Some(later(now, interval));
        None
    }
}

/// `at + d`, or `at` if that overflows.
fn later(at: Instant, d: Duration) -> Instant {
    at.checked_add(d).unwrap_or(at)
}
