//! The server's counters and their Prometheus text exposition, served on
//! `/metrics` by the metrics listener (`http.metrics_listen`,
//! `crate::listener`), not on the SSTP port.
//!
//! Counters are atomics (prometheus-client); the hot paths hold clones of
//! the labelled children, so counting a packet is one atomic add, no map
//! lookup and no lock.

use std::fmt;
use std::sync::Arc;

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use sstp_core::CloseKind;

/// `Content-Type` of the `/metrics` exposition
/// ([`ServerHandle::metrics_text`](crate::ServerHandle::metrics_text)).
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

type Labels = [(&'static str, &'static str); 1];

/// Why a packet was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DropReason {
    /// The session's queue from the TUN was full.
    QueueFull,
    /// No session has the destination address.
    NoRoute,
    /// A client sent a packet whose source is not its address.
    Spoofed,
    /// Client-to-client traffic while it is off.
    ClientToClient,
    /// The session could not take it (not up for that protocol, MTU).
    NotReady,
    /// Not an IP packet, or a link-scoped one we do not answer.
    Invalid,
    /// Writing to the TUN failed.
    TunError,
    /// Packets the server answers itself (ICMPv6 Echo Requests to its
    /// link-local address) beyond the rate it answers them at.
    RateLimited,
}

impl DropReason {
    const ALL: [Self; 8] = [
        Self::QueueFull,
        Self::NoRoute,
        Self::Spoofed,
        Self::ClientToClient,
        Self::NotReady,
        Self::Invalid,
        Self::TunError,
        Self::RateLimited,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::QueueFull => "queue_full",
            Self::NoRoute => "no_route",
            Self::Spoofed => "spoofed",
            Self::ClientToClient => "client_to_client",
            Self::NotReady => "not_ready",
            Self::Invalid => "invalid",
            Self::TunError => "tun_error",
            Self::RateLimited => "rate_limited",
        }
    }
}

/// Why a connection was refused before it got anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reject {
    /// The source opened connections too fast.
    RateLimited,
    /// Too many connections are not authenticated yet.
    TooManyUnauthenticated,
    /// `max_sessions` reached (answered 503).
    MaxSessions,
    /// The TLS handshake failed or timed out.
    TlsHandshake,
    /// The HTTP head was bad, too long or too slow.
    HttpHead,
    /// The server drains (answered 503).
    Draining,
    /// A PROXY header from a source outside `proxy_protocol.trusted`.
    ProxyUntrusted,
    /// A trusted source's PROXY header was malformed, truncated, missing
    /// or too slow.
    ProxyHeader,
    /// The plain (offload) listener, from a source it does not take.
    OffloadSource,
}

impl Reject {
    const ALL: [Self; 9] = [
        Self::RateLimited,
        Self::TooManyUnauthenticated,
        Self::MaxSessions,
        Self::TlsHandshake,
        Self::HttpHead,
        Self::Draining,
        Self::ProxyUntrusted,
        Self::ProxyHeader,
        Self::OffloadSource,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::RateLimited => "rate_limited",
            Self::TooManyUnauthenticated => "too_many_unauthenticated",
            Self::MaxSessions => "max_sessions",
            Self::TlsHandshake => "tls_handshake",
            Self::HttpHead => "http_head",
            Self::Draining => "draining",
            Self::ProxyUntrusted => "proxy_untrusted",
            Self::ProxyHeader => "proxy_header",
            Self::OffloadSource => "offload_source",
        }
    }
}

/// Every counter of one server.
pub(crate) struct Metrics {
    registry: Registry,
    pub(crate) sessions_active: Gauge,
    pub(crate) unauthenticated: Gauge,
    pub(crate) sessions_total: Counter,
    pub(crate) connections_total: Counter,
    pub(crate) http_requests_total: Counter,
    pub(crate) tcp_probes: Counter,
    pub(crate) auth_failures: Counter,
    pub(crate) tls_reloads: Counter,
    pub(crate) draining: Gauge,
    pub(crate) reloads: Family<Labels, Counter>,
    pub(crate) bytes_to_clients: Counter,
    pub(crate) bytes_from_clients: Counter,
    pub(crate) packets_to_clients: Counter,
    pub(crate) packets_from_clients: Counter,
    pub(crate) handshake_seconds: Histogram,
    pub(crate) ipv4_leases: Gauge,
    pub(crate) ipv6_leases: Gauge,
    drops: [Counter; DropReason::ALL.len()],
    rejects: [Counter; Reject::ALL.len()],
    ends: Family<Labels, Counter>,
    /// RADIUS, per server; the client reports through it.
    pub(crate) radius: Arc<RadiusMetrics>,
}

/// Labels with a server's name (known only from the configuration).
type ServerLabels = Vec<(&'static str, String)>;

/// The RADIUS client's counters, per server (`sstp_radius_*`), and the
/// accounting queue's.
#[derive(Debug)]
pub(crate) struct RadiusMetrics {
    requests: Family<ServerLabels, Counter>,
    retransmissions: Family<ServerLabels, Counter>,
    timeouts: Family<ServerLabels, Counter>,
    responses: Family<ServerLabels, Counter>,
    dropped: Family<ServerLabels, Counter>,
    latency: Family<ServerLabels, Histogram, fn() -> Histogram>,
    up: Family<ServerLabels, Gauge>,
    /// Accounting records waiting for a server.
    pub(crate) accounting_queued: Gauge,
    /// Accounting records answered by a server.
    pub(crate) accounting_sent: Counter,
    /// Accounting records lost: the queue was full.
    pub(crate) accounting_dropped: Counter,
    /// Accounting records saved to the spool at a stop.
    pub(crate) accounting_spooled: Counter,
    /// Disconnect and CoA requests, by what became of them.
    dae: Family<Labels, Counter>,
}

fn latency_histogram() -> Histogram {
    // 100 µs to ~3 s.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.0001, 2.0, 15,
    ))
}

fn server(name: &str) -> ServerLabels {
    vec![("server", name.to_owned())]
}

fn server_and(name: &str, key: &'static str, value: &str) -> ServerLabels {
    vec![("server", name.to_owned()), (key, value.to_owned())]
}

impl RadiusMetrics {
    fn new() -> Self {
        Self {
            requests: Family::default(),
            retransmissions: Family::default(),
            timeouts: Family::default(),
            responses: Family::default(),
            dropped: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            up: Family::default(),
            accounting_queued: Gauge::default(),
            accounting_sent: Counter::default(),
            accounting_dropped: Counter::default(),
            accounting_spooled: Counter::default(),
            dae: Family::default(),
        }
    }

    /// Counts a Disconnect or CoA request: `ack`, `nak`, `retransmitted`,
    /// or dropped as `forged`, `unknown_client`, `replayed`, `malformed`.
    pub(crate) fn dae(&self, result: &'static str) {
        self.dae.get_or_create(&[("result", result)]).inc();
    }

    fn register(&self, registry: &mut Registry) {
        registry.register(
            "radius_requests",
            "RADIUS requests sent (first transmissions), by server and code",
            self.requests.clone(),
        );
        registry.register(
            "radius_retransmissions",
            "RADIUS retransmissions, by server",
            self.retransmissions.clone(),
        );
        registry.register(
            "radius_timeouts",
            "RADIUS requests a server never answered, by server",
            self.timeouts.clone(),
        );
        registry.register(
            "radius_responses",
            "Verified RADIUS answers, by server and code",
            self.responses.clone(),
        );
        registry.register(
            "radius_dropped",
            "RADIUS datagrams dropped (forged, unsigned, unknown, malformed), by server and reason",
            self.dropped.clone(),
        );
        registry.register(
            "radius_response_seconds",
            "Time from a request's first transmission to its verified answer, by server",
            self.latency.clone(),
        );
        registry.register(
            "radius_server_up",
            "1 while a RADIUS server is alive, 0 while it is skipped as dead",
            self.up.clone(),
        );
        registry.register(
            "radius_accounting_queued",
            "Accounting records waiting for a RADIUS server",
            self.accounting_queued.clone(),
        );
        registry.register(
            "radius_accounting_sent",
            "Accounting records a RADIUS server answered",
            self.accounting_sent.clone(),
        );
        registry.register(
            "radius_accounting_dropped",
            "Accounting records lost because the queue was full",
            self.accounting_dropped.clone(),
        );
        registry.register(
            "radius_dae_requests",
            "Disconnect and CoA requests (RFC 5176), by what became of them",
            self.dae.clone(),
        );
        registry.register(
            "radius_accounting_spooled",
            "Accounting records saved to the spool file at a stop",
            self.accounting_spooled.clone(),
        );
    }

    /// Shows `name` as up before anything happened, so the series exist.
    pub(crate) fn server_configured(&self, name: &str) {
        self.up.get_or_create(&server(name)).set(1);
    }
}

impl sstp_radius::Observer for RadiusMetrics {
    fn request_sent(&self, name: &str, code: sstp_radius::Code, _identifier: u8) {
        self.requests
            .get_or_create(&server_and(name, "code", code.name()))
            .inc();
    }

    fn retransmitted(&self, name: &str, _code: sstp_radius::Code, _id: u8, _attempt: u32) {
        self.retransmissions.get_or_create(&server(name)).inc();
    }

    fn timed_out(&self, name: &str, _code: sstp_radius::Code) {
        self.timeouts.get_or_create(&server(name)).inc();
    }

    fn response(&self, name: &str, code: sstp_radius::Code, latency: std::time::Duration) {
        self.responses
            .get_or_create(&server_and(name, "code", code.name()))
            .inc();
        self.latency
            .get_or_create(&server(name))
            .observe(latency.as_secs_f64());
    }

    fn dropped(&self, name: Option<&str>, reason: sstp_radius::DropReason) {
        use sstp_radius::DropReason as R;
        let reason = match reason {
            R::BadAuthenticator => "bad_authenticator",
            R::NoMessageAuthenticator => "no_message_authenticator",
            R::UnknownIdentifier => "unknown_identifier",
            R::UnknownSource => "unknown_source",
            R::UnexpectedCode => "unexpected_code",
            R::Malformed => "malformed",
            _ => "other",
        };
        self.dropped
            .get_or_create(&server_and(name.unwrap_or("unknown"), "reason", reason))
            .inc();
    }

    fn server_dead(&self, name: &str) {
        self.up.get_or_create(&server(name)).set(0);
    }

    fn server_alive(&self, name: &str) {
        self.up.get_or_create(&server(name)).set(1);
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics")
            .field("sessions_active", &self.sessions_active.get())
            .finish_non_exhaustive()
    }
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("sstp");
        let sessions_active = Gauge::default();
        registry.register(
            "sessions_active",
            "SSTP sessions that are up",
            sessions_active.clone(),
        );
        let unauthenticated = Gauge::default();
        registry.register(
            "connections_unauthenticated",
            "Connections not authenticated yet (TLS, HTTP, SSTP and PPP negotiation)",
            unauthenticated.clone(),
        );
        let sessions_total = Counter::default();
        registry.register(
            "sessions",
            "SSTP sessions that came up",
            sessions_total.clone(),
        );
        let connections_total = Counter::default();
        registry.register(
            "connections",
            "TCP connections accepted",
            connections_total.clone(),
        );
        let http_requests_total = Counter::default();
        registry.register(
            "http_requests",
            "Plain HTTP requests on the SSTP port (health checks, errors)",
            http_requests_total.clone(),
        );
        let tcp_probes = Counter::default();
        registry.register(
            "tcp_probes",
            "TCP connections closed before sending a byte (load balancer health checks)",
            tcp_probes.clone(),
        );
        let auth_failures = Counter::default();
        registry.register(
            "auth_failures",
            "Rejected authentication attempts",
            auth_failures.clone(),
        );
        let tls_reloads = Counter::default();
        registry.register("tls_reloads", "Certificate reloads", tls_reloads.clone());
        let draining = Gauge::default();
        registry.register(
            "draining",
            "1 while the server drains (no new sessions)",
            draining.clone(),
        );
        let reloads: Family<Labels, Counter> = Family::default();
        registry.register(
            "config_reloads",
            "Configuration reloads, by result",
            reloads.clone(),
        );
        let bytes: Family<Labels, Counter> = Family::default();
        registry.register(
            "tunnel_bytes",
            "IP bytes through the tunnels",
            bytes.clone(),
        );
        let packets: Family<Labels, Counter> = Family::default();
        registry.register(
            "tunnel_packets",
            "IP packets through the tunnels",
            packets.clone(),
        );
        let to = [("direction", "to_client")];
        let from = [("direction", "from_client")];
        // Handshake latency: TCP accept to the session being up (TLS, HTTP,
        // SSTP, LCP, authentication, IPCP), 1 ms to ~16 s.
        let handshake_seconds = Histogram::new(
            prometheus_client::metrics::histogram::exponential_buckets(0.001, 2.0, 15),
        );
        registry.register(
            "handshake_seconds",
            "Time from TCP accept to the session being up",
            handshake_seconds.clone(),
        );
        let ipv4_leases = Gauge::default();
        registry.register("ipv4_leases", "IPv4 addresses leased", ipv4_leases.clone());
        let ipv6_leases = Gauge::default();
        registry.register(
            "ipv6_leases",
            "IPv6 /64 prefixes leased",
            ipv6_leases.clone(),
        );
        let drops_family: Family<Labels, Counter> = Family::default();
        registry.register(
            "dropped_packets",
            "IP packets dropped, by reason",
            drops_family.clone(),
        );
        let drops =
            DropReason::ALL.map(|d| drops_family.get_or_create_owned(&[("reason", d.label())]));
        let rejects_family: Family<Labels, Counter> = Family::default();
        registry.register(
            "rejected_connections",
            "Connections refused or dropped before a session, by reason",
            rejects_family.clone(),
        );
        let rejects =
            Reject::ALL.map(|r| rejects_family.get_or_create_owned(&[("reason", r.label())]));
        let ends: Family<Labels, Counter> = Family::default();
        registry.register(
            "session_ends",
            "SSTP sessions that ended, by who is at fault",
            ends.clone(),
        );
        let radius = RadiusMetrics::new();
        radius.register(&mut registry);
        Self {
            registry,
            sessions_active,
            unauthenticated,
            sessions_total,
            connections_total,
            http_requests_total,
            tcp_probes,
            auth_failures,
            tls_reloads,
            draining,
            reloads,
            bytes_to_clients: bytes.get_or_create_owned(&to),
            bytes_from_clients: bytes.get_or_create_owned(&from),
            packets_to_clients: packets.get_or_create_owned(&to),
            packets_from_clients: packets.get_or_create_owned(&from),
            handshake_seconds,
            ipv4_leases,
            ipv6_leases,
            drops,
            rejects,
            ends,
            radius: Arc::new(radius),
        }
    }

    /// Counts `n` dropped packets.
    pub(crate) fn count_drop(&self, why: DropReason, n: u64) {
        if let Some(c) = DropReason::ALL.iter().position(|d| *d == why) {
            self.drops[c].inc_by(n);
        }
    }

    /// Dropped packets so far.
    #[cfg(test)]
    pub(crate) fn dropped(&self, why: DropReason) -> u64 {
        DropReason::ALL
            .iter()
            .position(|d| *d == why)
            .map_or(0, |c| self.drops[c].get())
    }

    /// Counts a refused connection.
    pub(crate) fn reject(&self, why: Reject) {
        if let Some(c) = Reject::ALL.iter().position(|r| *r == why) {
            self.rejects[c].inc();
        }
    }

    /// Counts a session end.
    pub(crate) fn session_end(&self, kind: Option<CloseKind>) {
        let label = match kind {
            None => "unknown",
            Some(CloseKind::Normal) => "normal",
            Some(CloseKind::PeerMalformed) => "peer_malformed",
            Some(CloseKind::PeerMisbehaved) => "peer_misbehaved",
            Some(CloseKind::Incompatible) => "incompatible",
            Some(CloseKind::AuthFailed) => "auth_failed",
            Some(CloseKind::Timeout) => "timeout",
            Some(CloseKind::Lost) => "lost",
            Some(CloseKind::Refused) => "refused",
            Some(_) => "other",
        };
        self.ends.get_or_create(&[("kind", label)]).inc();
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub(crate) fn encode(&self) -> String {
        let mut out = String::with_capacity(4096);
        // Writing into a String cannot fail.
        let _ = prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_every_family() {
        let m = Metrics::new();
        m.count_drop(DropReason::Spoofed, 3);
        m.reject(Reject::RateLimited);
        m.session_end(Some(CloseKind::Timeout));
        m.sessions_active.set(2);
        m.bytes_to_clients.inc_by(100);
        m.handshake_seconds.observe(0.02);
        let text = m.encode();
        for line in [
            "sstp_dropped_packets_total{reason=\"spoofed\"} 3",
            "sstp_dropped_packets_total{reason=\"queue_full\"} 0",
            "sstp_rejected_connections_total{reason=\"rate_limited\"} 1",
            "sstp_session_ends_total{kind=\"timeout\"} 1",
            "sstp_sessions_active 2",
            "sstp_tunnel_bytes_total{direction=\"to_client\"} 100",
            "sstp_auth_failures_total 0",
            "sstp_tcp_probes_total 0",
            "sstp_handshake_seconds_count 1",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        assert_eq!(m.dropped(DropReason::Spoofed), 3);
    }
}
