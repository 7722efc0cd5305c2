//! IPv6 router discovery over the tunnel, the server's policy: when and
//! what it advertises (RFC 4861), so a PPP client gets a global address by
//! SLAAC (RFC 4862) once IPv6CP is up, and how often it answers pings. The
//! packets themselves are built and parsed by `sstp_core::wire::icmpv6`.
//!
//! IPv6CP (RFC 5072) only agrees on interface identifiers, i.e. link-local
//! addresses. pppd, Windows and our client then expect a router on the link
//! to advertise a prefix. The server carves one /64 per session from its
//! IPv6 pool (`crate::pool`) and advertises it with the on-link (L) and
//! autonomous (A) flags, plus the link MTU and, if configured, DNS servers
//! (RDNSS, RFC 8106). Advertisements go out when IPv6 comes up, in answer to
//! every Router Solicitation, and periodically (RFC 4861 6.2.4, 6.2.6).
//!
//! The server is also a node on each PPP link: clients use its link-local
//! address (the IPv6CP peer) as their default gateway, and expect it to
//! answer ICMPv6 Echo Requests (RFC 4443 4.1, 4.2) like any neighbour.
//! The TUN is shared by all sessions, so that address is not the kernel's:
//! the session answers them itself, at a bounded rate ([`EchoBudget`]).
//!
//! Packets are whole IPv6 packets (no link-layer header: PPP has none), so
//! they go straight into `Session::send_ip` and come out of
//! `poll_ip`.

use std::net::Ipv6Addr;
use std::time::Instant;

/// Echo Replies the server sends at once on one session, and per second
/// after that ([`EchoBudget`]): ample for ping, too few to keep a session
/// task busy answering a flood.
const ECHO_BURST: f64 = 16.0;
const ECHO_PER_SECOND: f64 = 8.0;

/// The Echo Replies one session may still send: a token bucket, pure (time
/// comes in as `now`). A reply is no larger than its request, so this only
/// bounds the work a flood of requests costs the session.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EchoBudget {
    tokens: f64,
    last: Option<Instant>,
}

impl Default for EchoBudget {
    fn default() -> Self {
        Self {
            tokens: ECHO_BURST,
            last: None,
        }
    }
}

impl EchoBudget {
    /// Whether a reply may go out now (and takes a token if so).
    pub(crate) fn allow(&mut self, now: Instant) -> bool {
        if let Some(last) = self.last {
            let elapsed = now.saturating_duration_since(last).as_secs_f64();
            self.tokens = (self.tokens + elapsed * ECHO_PER_SECOND).min(ECHO_BURST);
        }
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Whether an IPv6 destination stays on the PPP link (link-local unicast or
/// link-/interface-local multicast): such packets are for the server itself,
/// never forwarded to the TUN (RFC 4291 2.5.6, 2.7).
pub(crate) fn is_link_scoped(dst: Ipv6Addr) -> bool {
    let first = dst.segments()[0];
    (first & 0xffc0) == 0xfe80 || (first & 0xff0f) == 0xff02 || (first & 0xff0f) == 0xff01
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> Ipv6Addr {
        s.parse().expect("address")
    }

    #[test]
    fn link_scope() {
        for local in ["fe80::1", "ff02::2", "ff02::1:ff00:1", "ff01::1", "febf::1"] {
            assert!(is_link_scoped(addr(local)), "{local}");
        }
        for global in ["2001:db8::1", "fd00::1", "ff05::2", "fec0::1", "ff0e::1"] {
            assert!(!is_link_scoped(addr(global)), "{global}");
        }
    }

    #[test]
    fn echo_budget_allows_a_burst_then_the_rate() {
        let start = Instant::now();
        let mut budget = EchoBudget::default();
        let burst = (0..100).filter(|_| budget.allow(start)).count();
        assert_eq!(burst, ECHO_BURST as usize);
        // One second later: the rate's worth again, not the whole burst.
        let later = start + std::time::Duration::from_secs(1);
        let refilled = (0..100).filter(|_| budget.allow(later)).count();
        assert_eq!(refilled, ECHO_PER_SECOND as usize);
        // A clock that does not move gives nothing more.
        assert!(!budget.allow(later));
    }
}
