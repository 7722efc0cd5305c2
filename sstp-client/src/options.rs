//! The settings a [`ClientBuilder`](crate::ClientBuilder) takes: where the
//! server is, how to trust it, how to reach it, what to do with the tunnel
//! once it is up, and how hard to try to stay up.
//!
//! Everything here is plain data with `FromStr` where a person types it, so
//! the CLI and a profile file parse into exactly these types.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::error::Error;
use crate::proxy::HttpProxy;
use crate::tls::Fingerprint;

/// The smallest link MTU IPv6 runs on (RFC 8200 5); below it the tunnel is
/// IPv4 only.
pub const IPV6_MIN_MTU: u16 = 1280;

/// The SSTP port (MS-SSTP 2.1: HTTPS).
pub const DEFAULT_PORT: u16 = 443;

/// `HOST[:PORT]`: a DNS name, an IPv4 address or a bracketed IPv6 address
/// (a bare IPv6 address is taken whole, port 443).
///
/// ```
/// use sstp_client::ServerAddr;
/// let a: ServerAddr = "vpn.example.net".parse().unwrap();
/// assert_eq!((a.host(), a.port()), ("vpn.example.net", 443));
/// let b: ServerAddr = "[2001:db8::1]:8443".parse().unwrap();
/// assert_eq!((b.host(), b.port()), ("2001:db8::1", 8443));
/// assert_eq!(b.to_string(), "[2001:db8::1]:8443");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerAddr {
    host: String,
    port: u16,
}

impl ServerAddr {
    /// A server at `host` and `port`.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
        }
    }

    /// The host name or address, without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The host as an IP address, if it is one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// `host:port` for HTTP (`Host`, CONNECT): IPv6 in brackets, and the
    /// port left out when it is 443 unless `always_port`.
    pub(crate) fn authority(&self, always_port: bool) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if always_port || self.port != DEFAULT_PORT {
            format!("{host}:{}", self.port)
        } else {
            host
        }
    }
}

impl fmt::Display for ServerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.authority(true))
    }
}

impl FromStr for ServerAddr {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| Error::Config(format!("server {s:?}: {why}"));
        let s = s.trim();
        let s = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("sstp://"))
            .unwrap_or(s);
        let s = s.trim_end_matches('/');
        if s.is_empty() {
            return Err(bad("empty"));
        }
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(|| bad("missing ']'"))?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| bad("junk after ']'"))?),
            };
            (host, port)
        } else if s.matches(':').count() > 1 {
            (s, None) // a bare IPv6 address
        } else {
            match s.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (s, None),
            }
        };
        if host.is_empty()
            || !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._:%".contains(&b))
        {
            return Err(bad("not a host name or address"));
        }
        if host.contains(':') && host.parse::<Ipv6Addr>().is_err() {
            return Err(bad("not an IPv6 address"));
        }
        let port = match port {
            None => DEFAULT_PORT,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| bad("the port must be 1-65535"))?,
        };
        Ok(Self::new(host, port))
    }
}

/// An IP prefix, `ADDRESS/LEN`, for split routes.
///
/// ```
/// use sstp_client::Prefix;
/// let p: Prefix = "10.1.2.3/8".parse().unwrap();
/// assert_eq!(p.to_string(), "10.0.0.0/8"); // host bits are cleared
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

impl Prefix {
    /// `addr/len` with the host bits cleared; `None` if `len` is too long.
    pub fn new(addr: IpAddr, len: u8) -> Option<Self> {
        let addr = match addr {
            IpAddr::V4(a) if len <= 32 => {
                let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
            }
            IpAddr::V6(a) if len <= 128 => {
                let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
            }
            _ => return None,
        };
        Some(Self { addr, len })
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    #[allow(clippy::len_without_is_empty)] // a prefix length, not a collection's
    pub fn len(&self) -> u8 {
        self.len
    }

    /// Whether `ip` is inside this prefix.
    pub fn contains(&self, ip: IpAddr) -> bool {
        Self::new(ip, self.len) == Some(*self)
    }

    /// Whether this is `0.0.0.0/0` or `::/0`.
    pub fn is_default(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for Prefix {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            Error::Config(format!(
                "route {s:?}: expected ADDRESS/LEN, e.g. 10.0.0.0/8"
            ))
        };
        let (addr, len) = match s.trim().split_once('/') {
            Some((a, l)) => (
                a.parse::<IpAddr>().map_err(|_| bad())?,
                l.parse::<u8>().map_err(|_| bad())?,
            ),
            None => {
                let a = s.trim().parse::<IpAddr>().map_err(|_| bad())?;
                (a, if a.is_ipv4() { 32 } else { 128 })
            }
        };
        Self::new(addr, len).ok_or_else(bad)
    }
}

/// A TLS protocol version.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TlsVersion {
    /// TLS 1.2 (Windows 10's SSTP server speaks only this).
    Tls12,
    /// TLS 1.3.
    Tls13,
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Tls12 => "1.2",
            Self::Tls13 => "1.3",
        })
    }
}

impl FromStr for TlsVersion {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s
            .trim()
            .to_ascii_lowercase()
            .trim_start_matches("tls")
            .trim_start_matches(['v', '-', '_'])
        {
            "1.2" | "12" => Ok(Self::Tls12),
            "1.3" | "13" => Ok(Self::Tls13),
            _ => Err(Error::Config(format!(
                "TLS version {s:?}: expected 1.2 or 1.3"
            ))),
        }
    }
}

/// How the server certificate is checked, and the TLS knobs. Build it
/// with `..TlsOptions::default()` (as the other option structs here).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// Trust these CA certificates (PEM) instead of the system roots.
    pub ca_file: Option<PathBuf>,
    /// Accept exactly the leaf certificates with these SHA-256 fingerprints.
    /// Alone, chain and name are then not checked (the handshake signatures
    /// are); with [`ca_file`](Self::ca_file), both must hold.
    pub pins: Vec<Fingerprint>,
    /// The name to send in SNI and to check the certificate against, when it
    /// differs from the server's host name.
    pub sni: Option<String>,
    /// The lowest TLS version to offer (default 1.2).
    pub min_version: Option<TlsVersion>,
    /// The highest TLS version to offer (default 1.3).
    pub max_version: Option<TlsVersion>,
    /// Accept any certificate. Only for labs: anyone on the path can read
    /// and change the traffic. A warning is logged on every connect.
    pub dangerous_skip_verify: bool,
}

/// How the server's inner EAP-TLS certificate is checked (RFC 5216 §5.3).
/// It is often not the certificate of the outer TLS: Windows NPS shows
/// its own. By default it is trusted as the outer one is
/// ([`TlsOptions`]: its CA file or the system roots, its pins) and must be
/// valid for the outer server name ([`TlsOptions::sni`], else the host).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EapTlsOptions {
    /// Trust only the CA certificates in this PEM file for the inner
    /// certificate (then the outer pins and `dangerous_skip_verify` do not
    /// apply to it).
    pub ca_file: Option<PathBuf>,
    /// The name the inner certificate must be valid for.
    pub server_name: Option<String>,
}

impl EapTlsOptions {
    /// The outer trust with these changes, and the name to check.
    pub(crate) fn trust<'a>(
        &'a self,
        outer: &'a TlsOptions,
        host: &'a str,
    ) -> (TlsOptions, &'a str) {
        let trust = match &self.ca_file {
            Some(ca) => TlsOptions {
                ca_file: Some(ca.clone()),
                pins: Vec::new(),
                dangerous_skip_verify: false,
                ..outer.clone()
            },
            None => outer.clone(),
        };
        let name = self
            .server_name
            .as_deref()
            .or(outer.sni.as_deref())
            .unwrap_or(host);
        (trust, name)
    }
}

/// Whether and how to go through an HTTP proxy.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ProxySetting {
    /// Use `https_proxy` / `HTTPS_PROXY` (or `all_proxy`) unless `no_proxy`
    /// / `NO_PROXY` matches the server (the default).
    #[default]
    FromEnv,
    /// Connect directly.
    Direct,
    /// Use this proxy.
    Http(HttpProxy),
}

/// Which traffic goes into the tunnel.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RouteMode {
    /// Everything: `0.0.0.0/1` + `128.0.0.0/1` (and `::/1` + `8000::/1`
    /// once IPv6 has a router) through the tunnel, which beat the existing
    /// default route without replacing it, plus a host route to the server
    /// (or proxy) through the old gateway so the tunnel's own packets keep
    /// their path.
    #[default]
    Default,
    /// Only these prefixes.
    Split(Vec<Prefix>),
    /// No routes beyond the peer's host route (the embedder routes).
    None,
}

/// What to set up on the tunnel interface once the call is up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelOptions {
    /// Interface name for the Linux TUN; `%d` lets the kernel number it.
    pub interface: String,
    /// The MTU to ask for and use (MS-SSTP 3.1.5.2 default: 1400).
    pub mtu: u16,
    /// Routes through the tunnel.
    pub routes: RouteMode,
    /// Apply the DNS servers the server pushes.
    pub dns: bool,
    /// Negotiate IPv6CP and take an address from the server's Router
    /// Advertisements.
    pub ipv6: bool,
}

impl Default for TunnelOptions {
    fn default() -> Self {
        Self {
            interface: "sstp%d".to_owned(),
            mtu: sstp_core::CommonConfig::default().mtu,
            routes: RouteMode::Default,
            dns: true,
            ipv6: true,
        }
    }
}

/// Reconnecting after an established tunnel is lost: exponential backoff
/// with jitter, bounded.
///
/// A first connection that fails for a reason that can pass (refused, timed
/// out, a busy server's HTTP 5xx) is retried the same way. Anything else on
/// the first connect (a name that does not resolve, an untrusted
/// certificate, a wrong password, bad settings) fails at once, so a typo
/// shows up immediately. When the attempts run out the error is
/// [`Error::GaveUp`].
#[derive(Debug, Clone, PartialEq)]
pub struct ReconnectPolicy {
    /// Reconnect at all.
    pub enabled: bool,
    /// The delay before the first attempt.
    pub initial_delay: Duration,
    /// The longest delay between attempts.
    pub max_delay: Duration,
    /// Give up after this many failed retries in a row (`None`: never).
    pub max_attempts: Option<u32>,
    /// Up to this fraction of each delay is taken off at random, so many
    /// clients do not come back in lockstep (0.0 to 1.0).
    pub jitter: f64,
    /// Retry when the server rejects the credentials (default: no, since a
    /// wrong password stays wrong and retrying may lock the account).
    pub retry_auth_failures: bool,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self {
            enabled: true,
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            max_attempts: None,
            jitter: 0.3,
            retry_auth_failures: false,
        }
    }
}

impl ReconnectPolicy {
    /// No reconnection: the first loss ends the tunnel.
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    /// The delay before attempt `attempt` (1-based): `initial · 2^(attempt-1)`
    /// capped at `max_delay`, less up to `jitter` of it; `unit` is a random
    /// number in `[0, 1)`.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let exp = attempt.saturating_sub(1).min(31);
        let base = self
            .initial_delay
            .checked_mul(1u32 << exp)
            .unwrap_or(self.max_delay)
            .min(self.max_delay);
        let jitter = self.jitter.clamp(0.0, 1.0) * unit.clamp(0.0, 1.0);
        base.mul_f64(1.0 - jitter)
    }
}

/// Keepalive timers. The SSTP Hello (MS-SSTP 3.1.2.3) and LCP Echo (RFC
/// 1661 5.8) both run from sstp-core's timers; this sets their periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// Receive silence before an SSTP Echo Request (default 60 s).
    pub sstp_hello: Duration,
    /// Idle time before an LCP Echo-Request (`None`: off; default 30 s).
    pub lcp_echo: Option<Duration>,
    /// Unanswered LCP Echo-Requests before the peer is declared dead.
    pub lcp_max_missed: u32,
}

impl Default for Keepalive {
    fn default() -> Self {
        let lcp = sstp_core::KeepaliveConfig::default();
        Self {
            sstp_hello: Duration::from_secs(60),
            lcp_echo: lcp.interval,
            lcp_max_missed: lcp.max_missed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_addresses_parse() {
        let cases = [
            ("vpn.example.net", "vpn.example.net", 443),
            ("vpn.example.net:8443", "vpn.example.net", 8443),
            ("https://vpn.example.net/", "vpn.example.net", 443),
            ("192.0.2.1:444", "192.0.2.1", 444),
            ("[::1]:4443", "::1", 4443),
            ("[::1]", "::1", 443),
            ("2001:db8::5", "2001:db8::5", 443),
        ];
        for (text, host, port) in cases {
            let a: ServerAddr = text.parse().unwrap();
            assert_eq!((a.host(), a.port()), (host, port), "{text}");
        }
        for bad in [
            "",
            ":443",
            "host:0",
            "host:99999",
            "ho st",
            "[::1",
            "[::1]x",
            "a:b:c",
        ] {
            assert!(bad.parse::<ServerAddr>().is_err(), "{bad:?} accepted");
        }
        let a: ServerAddr = "[::1]:443".parse().unwrap();
        assert_eq!(a.authority(false), "[::1]");
        assert_eq!(a.authority(true), "[::1]:443");
    }

    #[test]
    fn prefixes_parse_and_mask() {
        let p: Prefix = "192.168.7.9/16".parse().unwrap();
        assert_eq!(p.to_string(), "192.168.0.0/16");
        let p: Prefix = "2001:db8:1:2::7/48".parse().unwrap();
        assert_eq!(p.to_string(), "2001:db8:1::/48");
        let p: Prefix = "10.0.0.1".parse().unwrap();
        assert_eq!(p.to_string(), "10.0.0.1/32");
        assert!("0.0.0.0/0".parse::<Prefix>().unwrap().is_default());
        assert!("10.0.0.0/33".parse::<Prefix>().is_err());
        assert!("nope/8".parse::<Prefix>().is_err());
        let p: Prefix = "198.18.2.0/24".parse().unwrap();
        assert!(p.contains(Ipv4Addr::new(198, 18, 2, 53).into()));
        assert!(!p.contains(Ipv4Addr::new(198, 18, 3, 1).into()));
        assert!(!p.contains(Ipv6Addr::LOCALHOST.into()));
    }

    #[test]
    fn tls_versions_parse() {
        assert_eq!("1.2".parse::<TlsVersion>().unwrap(), TlsVersion::Tls12);
        assert_eq!("TLS1.3".parse::<TlsVersion>().unwrap(), TlsVersion::Tls13);
        assert_eq!("tlsv1.3".parse::<TlsVersion>().unwrap(), TlsVersion::Tls13);
        assert!("1.1".parse::<TlsVersion>().is_err());
    }

    #[test]
    fn backoff_doubles_is_capped_and_jittered_down() {
        let p = ReconnectPolicy {
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(10),
            jitter: 0.5,
            ..ReconnectPolicy::default()
        };
        let no_jitter: Vec<u64> = (1..=6).map(|n| p.delay(n, 0.0).as_secs()).collect();
        assert_eq!(no_jitter, [1, 2, 4, 8, 10, 10]);
        // Full jitter draw takes off half; never more, never negative.
        assert_eq!(p.delay(3, 0.999_999).as_millis(), 2000);
        assert_eq!(p.delay(100, 0.0), Duration::from_secs(10));
        let wild = ReconnectPolicy {
            jitter: 7.0,
            ..p.clone()
        };
        assert_eq!(wild.delay(1, 5.0), Duration::ZERO);
    }
}
