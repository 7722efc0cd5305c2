//! The server configuration: the TOML file an admin writes
//! (`server.example.toml` documents every setting), its defaults, and the
//! checks `sstp-server --check-config` runs.
//!
//! Durations are written as `"500ms"`, `"10s"`, `"5m"`, `"2h"` or a bare
//! number of seconds. Relative paths are relative to the config file's
//! directory.
//!
//! Besides the values themselves, it checks the pools against the host's
//! routing table ([`Config::check_routes`], [`host_routes`]) and the modes of
//! the secret files ([`Config::check_file_modes`]).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Deserializer};
use sstp_core::AuthMethod;

use crate::pool::{Ipv4Pool, Ipv6Pool};
pub use crate::proxy::{CertificateHash, OffloadSettings, ProxyProtocolSettings};
pub use crate::radius::{DaeClientSettings, DaeSettings, RadiusServerSettings, RadiusSettings};

/// Why a configuration could not be used.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read.
    // The OS error is part of the message, so it is not also the `source()`
    // (a chain printer would say it twice).
    #[error("cannot read {path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// A file is not valid TOML for its schema.
    #[error("{path}: {message}")]
    Parse {
        /// The file (or `<string>`).
        path: PathBuf,
        /// What the TOML parser said, with line and column.
        message: String,
    },
    /// A setting has a value the server cannot run with.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Port of the default `http.metrics_listen` (127.0.0.1).
const DEFAULT_METRICS_PORT: u16 = 9478;

/// The whole configuration file.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// TLS listen addresses, IPv4 and IPv6 (an IPv6 wildcard listens on IPv6
    /// only, so `0.0.0.0:443` and `[::]:443` can both be given).
    pub listen: Vec<SocketAddr>,
    /// Certificate and key.
    pub tls: TlsSettings,
    /// The HTTP side of the port.
    pub http: HttpSettings,
    /// The TUN device (used by the `sstp-server` binary).
    pub tun: TunSettings,
    /// Address pools, DNS, forwarding policy.
    pub network: NetworkSettings,
    /// Users and authentication methods.
    pub auth: AuthSettings,
    /// Limits and timeouts.
    pub limits: Limits,
    /// RADIUS servers, accounting and dynamic authorization.
    pub radius: Option<RadiusSettings>,
    /// The session-control socket.
    pub control: ControlSettings,
    /// PROXY protocol headers from trusted load balancers.
    pub proxy_protocol: ProxyProtocolSettings,
    /// The plain-HTTP listener behind a TLS offloader.
    pub offload: Option<OffloadSettings>,
}

/// `[control]`: the Unix socket `sstp-server sessions`, `disconnect`,
/// `drain`, `reload` and `status` talk to.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ControlSettings {
    /// Where the socket is made; empty: no control socket.
    pub socket: PathBuf,
    /// A group whose members may use it too (root and the server's own
    /// user always may); the socket is made mode 0660 with this group.
    pub group: Option<String>,
}

/// Where the control socket is unless configured.
pub const DEFAULT_CONTROL_SOCKET: &str = "/run/sstp-server/control.sock";

impl Default for ControlSettings {
    fn default() -> Self {
        Self {
            socket: PathBuf::from(DEFAULT_CONTROL_SOCKET),
            group: None,
        }
    }
}

impl ControlSettings {
    /// The socket's path, unless it is off.
    pub fn path(&self) -> Option<&Path> {
        (!self.socket.as_os_str().is_empty()).then_some(self.socket.as_path())
    }
}

/// What the per-user session limit does with one session too many.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UserLimitAction {
    /// The new session is refused (the user hears why).
    #[default]
    Refuse,
    /// The user's oldest session ends (Acct-Terminate-Cause Port
    /// Preempted) and the new one comes up.
    ReplaceOldest,
}

/// `[tls]`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSettings {
    /// PEM certificate chain, leaf first.
    pub certificate: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key: PathBuf,
    /// Oldest TLS version accepted: `"1.2"` (Windows 10 needs it) or `"1.3"`.
    pub min_version: TlsVersion,
}

/// A TLS protocol version.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum TlsVersion {
    /// TLS 1.2.
    #[serde(rename = "1.2")]
    Tls12,
    /// TLS 1.3.
    #[serde(rename = "1.3")]
    Tls13,
}

/// `[http]`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// `Server:` header of the SSTP `200 OK`.
    pub server_header: String,
    /// Serve `/metrics` (Prometheus text) on [`metrics_listen`](Self::metrics_listen).
    /// `/healthz` is always served on the SSTP port.
    pub metrics: bool,
    /// Where `/metrics` is served, over plain HTTP. Loopback by default: the
    /// SSTP port is open to every client, the counters are for the admin.
    pub metrics_listen: SocketAddr,
}

/// `[tun]`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TunSettings {
    /// Interface name.
    pub name: String,
    /// Interface and tunnel MTU (MS-SSTP 3.1.5.2 default 1400).
    pub mtu: u16,
    /// TUN offload (`IFF_VNET_HDR`): the kernel hands over TCP super-packets that the server
    /// splits itself, and the server coalesces what it writes (GRO). Far fewer system calls per
    /// byte; off only to rule it out when debugging.
    pub offload: bool,
    /// Transmit queue length of the TUN (packets the kernel holds for the server). The kernel's
    /// 500 dropped bursts for many sessions at once (sstp-bench `load flood`).
    pub tx_queue_len: u32,
}

/// `[network]`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSettings {
    /// Client addresses; the server keeps the first host address.
    pub ipv4_pool: Ipv4Net,
    /// `[network.pools]`: more IPv4 pools by name, for the authentication
    /// backend to choose (RADIUS Framed-Pool, RFC 2869 §5.18). Each must
    /// stay apart from `ipv4_pool` and the others.
    pub pools: std::collections::BTreeMap<String, Ipv4Net>,
    /// Networks that may sit behind a client: a backend's Framed-Route
    /// (RFC 2865 §5.22) inside one of them is routed to that session; one
    /// outside all of them is refused with a warning, so a RADIUS reply
    /// cannot take over other networks of the gateway. The binary routes
    /// them to the TUN at start.
    pub routed_networks: Vec<Ipv4Net>,
    /// IPv6 pool, carved into one /64 per session (the server keeps the
    /// first); IPv6CP is offered only when this is set.
    pub ipv6_pool: Option<Ipv6Net>,
    /// DNS servers pushed through IPCP (RFC 1877; two at most).
    pub dns: Vec<Ipv4Addr>,
    /// IPv6 DNS servers advertised in Router Advertisements (RFC 8106).
    pub dns6: Vec<Ipv6Addr>,
    /// Let clients reach each other through the server.
    pub client_to_client: bool,
    /// Packets queued towards one session before more are dropped.
    pub session_queue: usize,
    /// Interval of unsolicited Router Advertisements (RFC 4861 6.2.4).
    #[serde(deserialize_with = "duration")]
    pub ra_interval: Duration,
    /// Router Lifetime in RAs: non-zero makes the server the client's
    /// default IPv6 router; `0` advertises the prefix only.
    #[serde(deserialize_with = "duration")]
    pub ra_router_lifetime: Duration,
}

/// `[auth]`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// Who is asked, in order: `"users"` (the users file) and `"radius"`
    /// (`[radius]`). The first that knows the user decides; a RADIUS
    /// server that does not answer passes to the next. Default: the users
    /// file, or RADIUS alone when `[radius]` is set.
    pub backends: Option<Vec<Backend>>,
    /// The users file (TOML).
    pub users_file: PathBuf,
    /// Methods offered, most preferred first.
    #[serde(deserialize_with = "auth_methods")]
    pub methods: Vec<AuthMethod>,
    /// Name in CHAP and EAP-MSCHAPv2 challenges.
    pub server_name: String,
    /// `[auth.eap_tls]`: certificate authentication (method `eap-tls`).
    pub eap_tls: Option<crate::eap_tls::EapTlsConfig>,
    /// On a reload, end the sessions of users the users file no longer
    /// has (or now disables).
    pub disconnect_removed_users: bool,
}

/// `[limits]`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Most SSTP sessions at once; more get `503 Service Unavailable`.
    pub max_sessions: usize,
    /// Most connections that have not authenticated yet (TLS handshake,
    /// HTTP head, SSTP and PPP negotiation); more are closed at accept.
    pub max_unauthenticated: usize,
    /// New connections per second one source address may open, on average.
    pub per_source_rate: f64,
    /// Burst of new connections one source may open at once.
    pub per_source_burst: u32,
    /// Time for the TLS handshake.
    #[serde(deserialize_with = "duration")]
    pub tls_handshake_timeout: Duration,
    /// Time for the HTTP request head after TLS.
    #[serde(deserialize_with = "duration")]
    pub http_head_timeout: Duration,
    /// SSTP negotiation timer (MS-SSTP 3.3.2.1): for the Call Connect
    /// Request, then again for the Call Connected.
    #[serde(deserialize_with = "duration")]
    pub negotiation_timeout: Duration,
    /// Bound on the PPP authentication phase, backend included.
    #[serde(deserialize_with = "duration")]
    pub auth_timeout: Duration,
    /// SSTP Hello timer (MS-SSTP 3.1.2.3).
    #[serde(deserialize_with = "duration")]
    pub hello_interval: Duration,
    /// Bound on the whole graceful shutdown. Each session gets at most
    /// 0.4 s of it to finish its teardown (`conn::SHUTDOWN_CLOSE`).
    #[serde(deserialize_with = "duration")]
    pub shutdown_grace: Duration,
    /// Most sessions one user may have up at once; 0: no limit.
    pub max_sessions_per_user: usize,
    /// What one session more than `max_sessions_per_user` gets:
    /// `"refuse"` or `"replace-oldest"`.
    pub user_limit_action: UserLimitAction,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: vec![
                SocketAddr::from((Ipv4Addr::UNSPECIFIED, 443)),
                SocketAddr::from((Ipv6Addr::UNSPECIFIED, 443)),
            ],
            tls: TlsSettings::default(),
            http: HttpSettings::default(),
            tun: TunSettings::default(),
            network: NetworkSettings::default(),
            auth: AuthSettings::default(),
            limits: Limits::default(),
            radius: None,
            control: ControlSettings::default(),
            proxy_protocol: ProxyProtocolSettings::default(),
            offload: None,
        }
    }
}

impl Default for TlsSettings {
    fn default() -> Self {
        Self {
            certificate: PathBuf::from("cert.pem"),
            private_key: PathBuf::from("key.pem"),
            min_version: TlsVersion::Tls12,
        }
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            server_header: "sstp-rs".to_owned(),
            metrics: true,
            metrics_listen: SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_METRICS_PORT)),
        }
    }
}

impl Default for TunSettings {
    fn default() -> Self {
        Self {
            name: "sstp0".to_owned(),
            mtu: sstp_core::CommonConfig::default().mtu,
            offload: true,
            tx_queue_len: 10_000,
        }
    }
}

impl Default for NetworkSettings {
    fn default() -> Self {
        Self {
            ipv4_pool: Ipv4Net::new(Ipv4Addr::new(10, 77, 0, 0), 24).unwrap_or_default(),
            pools: std::collections::BTreeMap::new(),
            routed_networks: Vec::new(),
            ipv6_pool: None,
            dns: Vec::new(),
            dns6: Vec::new(),
            client_to_client: false,
            session_queue: 4096,
            ra_interval: Duration::from_secs(200),
            ra_router_lifetime: Duration::from_secs(1800),
        }
    }
}

/// An authentication backend of `auth.backends`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The users file (`auth.users_file`).
    Users,
    /// The RADIUS servers of `[radius]`.
    Radius,
}

impl Config {
    /// `auth.backends`, or its default.
    pub fn backends(&self) -> Vec<Backend> {
        match (&self.auth.backends, &self.radius) {
            (Some(backends), _) => backends.clone(),
            (None, Some(_)) => vec![Backend::Radius],
            (None, None) => vec![Backend::Users],
        }
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            backends: None,
            users_file: PathBuf::from("users.toml"),
            methods: AuthMethod::DEFAULT_SERVER_ORDER.to_vec(),
            server_name: sstp_core::AuthenticatorConfig::default().server_name,
            eap_tls: None,
            disconnect_removed_users: true,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_sessions: 1024,
            max_unauthenticated: 256,
            per_source_rate: 5.0,
            per_source_burst: 20,
            tls_handshake_timeout: Duration::from_secs(10),
            http_head_timeout: Duration::from_secs(10),
            negotiation_timeout: Duration::from_secs(60),
            auth_timeout: sstp_core::AuthenticatorConfig::default().timeout,
            hello_interval: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(5),
            max_sessions_per_user: 0,
            user_limit_action: UserLimitAction::Refuse,
        }
    }
}

impl Config {
    /// Parses a configuration from TOML text; relative paths stay relative.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::from("<string>"),
            message: e.to_string(),
        })
    }

    /// Reads a configuration file; relative paths in it are made relative
    /// to its directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Io {
            path: path.to_owned(),
            error,
        })?;
        let mut config: Self = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        let mut files = vec![
            &mut config.tls.certificate,
            &mut config.tls.private_key,
            &mut config.auth.users_file,
        ];
        if let Some(eap) = &mut config.auth.eap_tls {
            files.extend(eap.ca.iter_mut());
            files.extend(eap.crl.iter_mut());
            files.extend(eap.revoked.iter_mut());
            files.extend(eap.certificate.iter_mut());
            files.extend(eap.private_key.iter_mut());
        }
        if config.control.path().is_some() {
            files.push(&mut config.control.socket);
        }
        for file in files {
            if file.is_relative() {
                *file = base.join(&*file);
            }
        }
        if let Some(radius) = &mut config.radius {
            radius.resolve(base);
        }
        Ok(config)
    }

    /// Checks values that parse but cannot work. Returns warnings (things
    /// that work but deserve a look); an error for things that cannot.
    pub fn validate(&self) -> Result<Vec<String>, ConfigError> {
        let invalid = |s: String| Err(ConfigError::Invalid(s));
        let mut warnings = Vec::new();
        if self.listen.is_empty() {
            return invalid("`listen` has no address".into());
        }
        check_ipv4_pool(self.network.ipv4_pool).map_err(ConfigError::Invalid)?;
        Ipv4Pool::new(self.network.ipv4_pool).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        let mut seen = vec![("ipv4_pool".to_owned(), self.network.ipv4_pool)];
        for (name, net) in &self.network.pools {
            check_ipv4_pool(*net)
                .map_err(|e| ConfigError::Invalid(format!("network.pools.{name}: {e}")))?;
            Ipv4Pool::new(*net)
                .map_err(|e| ConfigError::Invalid(format!("network.pools.{name}: {e}")))?;
            if let Some((other, _)) = seen
                .iter()
                .find(|(_, o)| o.contains(&net.network()) || net.contains(&o.network()))
            {
                return invalid(format!(
                    "network.pools.{name} ({net}) overlaps {other}: address pools must be apart"
                ));
            }
            seen.push((format!("network.pools.{name}"), *net));
        }
        for net in &self.network.routed_networks {
            if let Some((other, _)) = seen
                .iter()
                .find(|(_, o)| o.contains(&net.network()) || net.contains(&o.network()))
            {
                return invalid(format!(
                    "network.routed_networks {net} overlaps {other}: networks behind clients must be apart from the pools"
                ));
            }
        }
        if let Some(v6) = self.network.ipv6_pool {
            check_ipv6_pool(v6).map_err(ConfigError::Invalid)?;
            Ipv6Pool::new(v6).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        } else if !self.network.dns6.is_empty() {
            // RDNSS travels in Router Advertisements (RFC 8106 5.1), which the server sends
            // only to sessions with an IPv6 prefix.
            warnings.push(
                "network.dns6 is set but network.ipv6_pool is not, so no client gets these servers; set ipv6_pool or remove dns6".into(),
            );
        }
        // 1280 is the IPv6 minimum (RFC 8200 5); 4087 the most one SSTP
        // data packet carries (MS-SSTP 2.2.1: a 12-bit length, 4095,
        // less the 4-byte SSTP header and 4 bytes of PPP header, 2.2.3).
        let max_mtu = sstp_core::MAX_IP_PACKET;
        if usize::from(self.tun.mtu) > max_mtu || self.tun.mtu < 576 {
            return invalid(format!(
                "tun.mtu {} is outside 576..={max_mtu}",
                self.tun.mtu
            ));
        }
        if self.network.ipv6_pool.is_some() && self.tun.mtu < 1280 {
            return invalid("tun.mtu below 1280 cannot carry IPv6 (RFC 8200 5)".into());
        }
        check_interface_name(&self.tun.name).map_err(ConfigError::Invalid)?;
        if self.network.session_queue == 0 {
            return invalid("network.session_queue must be at least 1".into());
        }
        if self.network.dns.len() > 2 {
            warnings.push(format!(
                "network.dns lists {} servers; IPCP carries two (RFC 1877), the rest are ignored",
                self.network.dns.len()
            ));
        }
        if self.network.ra_router_lifetime > Duration::from_secs(9000) {
            return invalid("network.ra_router_lifetime is at most 9000 s (RFC 4861 6.2.1)".into());
        }
        if self.network.ra_interval < Duration::from_secs(1) {
            return invalid("network.ra_interval must be at least 1 s".into());
        }
        let header = &self.http.server_header;
        if header.is_empty()
            || header.starts_with(' ')
            || header.ends_with(' ')
            || !header.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
        {
            return invalid(format!(
                "http.server_header {header:?} must be printable ASCII without surrounding spaces"
            ));
        }
        if self.auth.methods.is_empty() {
            return invalid("auth.methods is empty".into());
        }
        let mut seen = Vec::new();
        for m in &self.auth.methods {
            if seen.contains(m) {
                return invalid(format!("auth.methods lists {m} twice"));
            }
            seen.push(*m);
        }
        let backends = self.backends();
        let relays =
            backends.contains(&Backend::Radius) && self.radius.as_ref().is_some_and(|r| r.eap);
        match (
            self.auth.methods.contains(&AuthMethod::EapTls),
            &self.auth.eap_tls,
        ) {
            // Relayed, the RADIUS server checks the certificates.
            (true, None) if relays => {}
            (true, None) => {
                return invalid(
                    "auth.methods offers eap-tls, but there is no [auth.eap_tls] naming the CA that issues client certificates".into(),
                );
            }
            (false, Some(_)) => warnings.push(
                "[auth.eap_tls] is set, but auth.methods does not offer eap-tls: certificates are never asked for".into(),
            ),
            _ => {}
        }
        if let Some(eap) = &self.auth.eap_tls
            && eap.certificate.is_some() != eap.private_key.is_some()
        {
            return invalid(
                "[auth.eap_tls] needs both certificate and private_key, or neither (then the server's TLS certificate serves)".into(),
            );
        }
        if backends.is_empty() {
            return invalid("auth.backends is empty: nobody could log in".into());
        }
        match (&self.radius, backends.contains(&Backend::Radius)) {
            (Some(radius), true) => warnings.extend(radius.validate()?),
            (Some(radius), false) => warnings.extend(radius.validate()?.into_iter().chain([
                "[radius] is set, but auth.backends does not name \"radius\": it authenticates nobody (accounting still goes to it)".into(),
            ])),
            (None, true) => {
                return invalid("auth.backends names \"radius\", but there is no [radius]".into());
            }
            (None, false) => {}
        }
        if let Some(m) = self.auth.methods.iter().find(|m| m.needs_relay())
            && !relays
        {
            return invalid(format!(
                "auth.methods offers {m}, which only a RADIUS server runs: add [radius] with eap = true and \"radius\" in auth.backends"
            ));
        }
        if self.auth.methods.contains(&AuthMethod::Pap) {
            warnings.push(
                "auth.methods enables PAP: the password travels in clear inside TLS, and the client cannot tell our server from an impostor by it".into(),
            );
        }
        if self.auth.methods.contains(&AuthMethod::ChapMd5) {
            warnings.push(
                "auth.methods enables CHAP-MD5: it needs the plaintext password of each user (an NT hash is not enough) and proves nothing about the server".into(),
            );
        }
        let l = &self.limits;
        if l.max_sessions == 0 || l.max_unauthenticated == 0 {
            return invalid(
                "limits.max_sessions and limits.max_unauthenticated must be at least 1".into(),
            );
        }
        if !(l.per_source_rate > 0.0 && l.per_source_rate.is_finite()) || l.per_source_burst == 0 {
            return invalid(
                "limits.per_source_rate must be positive and limits.per_source_burst at least 1"
                    .into(),
            );
        }
        for (name, value) in [
            ("tls_handshake_timeout", l.tls_handshake_timeout),
            ("http_head_timeout", l.http_head_timeout),
            ("negotiation_timeout", l.negotiation_timeout),
            ("auth_timeout", l.auth_timeout),
            ("hello_interval", l.hello_interval),
        ] {
            if value.is_zero() {
                return invalid(format!("limits.{name} must not be zero"));
            }
        }
        if self.proxy_protocol.header_timeout.is_zero() {
            return invalid("proxy_protocol.header_timeout must not be zero".into());
        }
        if let Some(offload) = &self.offload {
            warnings.extend(
                offload
                    .validate(&self.proxy_protocol)
                    .map_err(ConfigError::Invalid)?,
            );
        }
        Ok(warnings)
    }

    /// The `sstp-core` server settings these options give.
    pub fn session_config(&self) -> sstp_core::ServerConfig {
        let mut config = sstp_core::ServerConfig::default();
        config.auth_methods.clone_from(&self.auth.methods);
        config.auth.server_name.clone_from(&self.auth.server_name);
        config.auth.timeout = self.limits.auth_timeout;
        config.common.mtu = self.tun.mtu;
        // Ask the peer to send no more than the tunnel carries (LCP MRU,
        // RFC 1661 6.1), so its interface MTU matches ours (pppd sets its
        // MTU from our MRU) instead of defaulting to 1500.
        config.common.mru = Some(self.tun.mtu);
        config.common.ipv6 = self.network.ipv6_pool.is_some();
        config.common.timers.negotiation = self.limits.negotiation_timeout;
        config.common.timers.hello = self.limits.hello_interval;
        config
    }
}

impl Config {
    /// Checks the pools against the host's routing table (`routes`, from
    /// [`host_routes`]). A pool that covers a network routed through another
    /// interface is an error: the TUN's connected route would take that
    /// network over (or lose to it), so either the clients or the hosts
    /// there become unreachable. A pool inside a larger routed network (a
    /// summary route towards a gateway) works, as the pool's longer prefix
    /// wins, but replies from that network may not find their way back: a
    /// warning. Routes through the server's own TUN (a running server, or
    /// `tun.name` with `%d`) do not count.
    pub fn check_routes(&self, routes: &[HostRoute]) -> Result<Vec<String>, ConfigError> {
        let mut warnings = Vec::new();
        let pools = std::iter::once(IpNet::V4(self.network.ipv4_pool.trunc()))
            .chain(self.network.ipv6_pool.map(|p| IpNet::V6(p.trunc())));
        for (pool, setting) in pools.zip(["network.ipv4_pool", "network.ipv6_pool"]) {
            for route in routes {
                if route.net.prefix_len() == 0 || self.is_own_interface(&route.interface) {
                    continue;
                }
                if pool.contains(&route.net) {
                    return Err(ConfigError::Invalid(format!(
                        "{setting} {pool} covers {}, which this host already routes through {}; pick a range that is not in use here, such as {}",
                        route.net,
                        route.interface,
                        if pool.addr().is_ipv4() {
                            "10.77.0.0/24"
                        } else {
                            "fd00:77::/48"
                        }
                    )));
                }
                if route.net.contains(&pool) {
                    warnings.push(format!(
                        "{setting} {pool} lies inside {}, which this host routes through {}; make sure the hosts there send replies for {pool} to this server",
                        route.net, route.interface
                    ));
                }
            }
        }
        Ok(warnings)
    }

    /// Whether `interface` is this server's TUN: `tun.name` itself or, for a
    /// kernel-numbered name such as `sstp%d`, the prefix followed by digits.
    fn is_own_interface(&self, interface: &str) -> bool {
        match self.tun.name.split_once("%d") {
            Some((prefix, suffix)) => interface
                .strip_prefix(prefix)
                .and_then(|rest| rest.strip_suffix(suffix))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())),
            None => interface == self.tun.name,
        }
    }

    /// Warnings about secrets others can read: the private key and the users
    /// file (passwords or NT hashes, which log in as well as a password does
    /// with MS-CHAPv2) should be readable by the server's user only. A file
    /// that cannot be read is left to the loading step, which says why.
    pub fn check_file_modes(&self) -> Vec<String> {
        use std::os::unix::fs::PermissionsExt;
        let mut warnings = Vec::new();
        for (setting, path) in [
            ("tls.private_key", &self.tls.private_key),
            ("auth.users_file", &self.auth.users_file),
        ] {
            let Ok(meta) = std::fs::metadata(path) else {
                continue;
            };
            let mode = meta.permissions().mode();
            if mode & 0o004 != 0 {
                warnings.push(format!(
                    "{setting} {} is readable by every user of this host (mode {:04o}); restrict it with chmod 600 {}",
                    path.display(),
                    mode & 0o7777,
                    path.display()
                ));
            }
        }
        warnings
    }
}

/// A route of the host's main routing table, as far as the pool check needs
/// it.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRoute {
    /// The destination network.
    pub net: IpNet,
    /// The interface it leaves through.
    pub interface: String,
}

impl HostRoute {
    /// A route to `net` through `interface`.
    pub fn new(net: IpNet, interface: impl Into<String>) -> Self {
        Self {
            net,
            interface: interface.into(),
        }
    }
}

/// The host's IPv4 and IPv6 routes from `/proc/net/route` and
/// `/proc/net/ipv6_route` (readable without privileges); a missing file
/// (no IPv6, not Linux) gives no routes.
pub fn host_routes() -> Vec<HostRoute> {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let mut routes = parse_proc_route(&read("/proc/net/route"));
    routes.extend(parse_proc_ipv6_route(&read("/proc/net/ipv6_route")));
    routes
}

/// `/proc/net/route`: a header line, then `Iface Destination Gateway Flags
/// RefCnt Use Metric Mask ...` with the destination and mask as the hex of
/// the address's bytes read as a native-endian `u32`.
fn parse_proc_route(text: &str) -> Vec<HostRoute> {
    const RTF_UP: u32 = 0x0001;
    const RTF_REJECT: u32 = 0x0200;
    let hex = |s: &str| u32::from_str_radix(s, 16).ok();
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (iface, dest, flags, mask) = (
                f.first()?,
                hex(f.get(1)?)?,
                hex(f.get(3)?)?,
                hex(f.get(7)?)?,
            );
            if flags & RTF_UP == 0 || flags & RTF_REJECT != 0 || *iface == "lo" {
                return None;
            }
            let mask = Ipv4Addr::from(mask.to_ne_bytes());
            let prefix = u8::try_from(u32::from(mask).leading_ones()).ok()?;
            let net = Ipv4Net::new(Ipv4Addr::from(dest.to_ne_bytes()), prefix).ok()?;
            Some(HostRoute::new(IpNet::V4(net.trunc()), *iface))
        })
        .collect()
}

/// `/proc/net/ipv6_route`: `dest plen src splen next_hop metric refcnt use
/// flags iface`, addresses as 32 hex digits. Local (the host's own
/// addresses), rejecting, loopback, link-local and multicast routes are left
/// out: the pool checks refuse those ranges on their own.
fn parse_proc_ipv6_route(text: &str) -> Vec<HostRoute> {
    const RTF_REJECT: u32 = 0x0200;
    const RTF_LOCAL: u32 = 0x8000_0000;
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 {
                return None;
            }
            let dest = Ipv6Addr::from(u128::from_str_radix(f[0], 16).ok()?);
            let prefix = u8::from_str_radix(f[1], 16).ok()?;
            let flags = u32::from_str_radix(f[8], 16).ok()?;
            let iface = f[9];
            if flags & (RTF_REJECT | RTF_LOCAL) != 0 || iface == "lo" {
                return None;
            }
            let net = Ipv6Net::new(dest, prefix).ok()?.trunc();
            let special = ["fe80::/10", "ff00::/8"]
                .iter()
                .filter_map(|s| s.parse::<Ipv6Net>().ok())
                .any(|block| block.contains(&net));
            (!special).then(|| HostRoute::new(IpNet::V6(net), iface))
        })
        .collect()
}

/// Address blocks no pool may touch, with what they are.
const IPV4_RESERVED: [(&str, &str); 5] = [
    ("0.0.0.0/8", "\"this network\" block (RFC 1122 3.2.1.3)"),
    ("127.0.0.0/8", "loopback block (RFC 1122 3.2.1.3)"),
    ("169.254.0.0/16", "link-local block (RFC 3927)"),
    ("224.0.0.0/4", "multicast block (RFC 5771)"),
    (
        "240.0.0.0/4",
        "reserved block (RFC 1112 4), which holds the broadcast address",
    ),
];

/// IPv6 blocks no pool may touch.
const IPV6_RESERVED: [(&str, &str); 3] = [
    (
        "::/8",
        "reserved block of the unspecified, loopback and IPv4-mapped addresses (RFC 4291 2.4)",
    ),
    (
        "fe80::/10",
        "link-local block (RFC 4291 2.5.6), which never leaves one link",
    ),
    ("ff00::/8", "multicast block (RFC 4291 2.7)"),
];

/// Host bits and reserved ranges of the IPv4 pool.
fn check_ipv4_pool(pool: Ipv4Net) -> Result<(), String> {
    if pool.trunc() != pool {
        return Err(format!(
            "network.ipv4_pool {pool} has host bits set; write the network, {} (the server takes {}, clients the addresses after it)",
            pool.trunc(),
            Ipv4Addr::from(u32::from(pool.network()).saturating_add(1))
        ));
    }
    for (block, what) in IPV4_RESERVED {
        let Ok(block) = block.parse::<Ipv4Net>() else {
            continue;
        };
        if block.contains(&pool) || pool.contains(&block) {
            return Err(format!(
                "network.ipv4_pool {pool} overlaps {block}, the {what}, whose addresses cannot be clients'; use a private range such as 10.77.0.0/24 (RFC 1918)"
            ));
        }
    }
    Ok(())
}

/// Host bits and reserved ranges of the IPv6 pool.
fn check_ipv6_pool(pool: Ipv6Net) -> Result<(), String> {
    if pool.trunc() != pool {
        return Err(format!(
            "network.ipv6_pool {pool} has host bits set; write the network, {}",
            pool.trunc()
        ));
    }
    for (block, what) in IPV6_RESERVED {
        let Ok(block) = block.parse::<Ipv6Net>() else {
            continue;
        };
        if block.contains(&pool) || pool.contains(&block) {
            return Err(format!(
                "network.ipv6_pool {pool} overlaps {block}, the {what}, whose addresses cannot be clients'; use a unique local prefix such as fd00:77::/48 (RFC 4193) or a global one routed to this host"
            ));
        }
    }
    Ok(())
}

/// Linux interface names (`dev_valid_name` in the kernel): 1 to 15 bytes
/// (`IFNAMSIZ` 16 with the NUL), not `.` or `..`, no `/`, `:` or white
/// space. `%d` is allowed: the kernel replaces it with a free number.
fn check_interface_name(name: &str) -> Result<(), String> {
    let problem = if name.is_empty() || name.len() > 15 {
        Some("must be 1 to 15 bytes long")
    } else if name == "." || name == ".." {
        Some("cannot be \".\" or \"..\"")
    } else if name.contains('/') || name.contains(':') {
        Some("cannot contain '/' or ':'")
    } else if name.chars().any(char::is_whitespace) {
        Some("cannot contain white space")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(format!(
            "tun.name {name:?} {problem}, as Linux interface names are; use a name such as sstp0"
        )),
        None => Ok(()),
    }
}

/// Parses a duration as a person writes it: a bare number of seconds
/// (fractions allowed), or a number with a unit as `humantime` reads it
/// (`250ms`, `10s`, `1.5m`, `5min`, `2h`, `1h 30m`).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let bare = text
        .parse()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok());
    bare.or_else(|| humantime::parse_duration(text).ok())
}

pub(crate) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Seconds(f64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Seconds(s) => Duration::try_from_secs_f64(s)
            .map_err(|_| serde::de::Error::custom("a duration must be a non-negative number")),
        Raw::Text(t) => parse_duration(&t).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{t:?} is not a duration (examples: \"500ms\", \"10s\", \"5m\", \"2h\")"
            ))
        }),
    }
}

/// A duration that may be left out.
pub(crate) fn optional_duration<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Duration>, D::Error> {
    duration(d).map(Some)
}

fn auth_methods<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<AuthMethod>, D::Error> {
    let names = Vec::<String>::deserialize(d)?;
    names
        .iter()
        .map(|n| {
            n.parse().map_err(|_| {
                serde::de::Error::custom(format!(
                    "unknown authentication method {n:?} (expected eap-tls, eap-peap, eap-mschapv2, mschapv2, chap-md5 or pap)"
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example config documents every setting with its real default.
    #[test]
    fn the_example_config_is_complete_and_shows_the_defaults() {
        let text = include_str!("../server.example.toml");
        let example = Config::from_toml(text).expect("the example parses");
        assert_eq!(example, Config::default());
        assert!(example.validate().expect("valid").is_empty());
        let table: toml::Table = text.parse().expect("TOML");
        let keys = |section: &str| -> Vec<String> {
            let mut k: Vec<String> = match section {
                "" => table
                    .keys()
                    .filter(|k| !table[*k].is_table())
                    .cloned()
                    .collect(),
                s => table[s]
                    .as_table()
                    .expect("section")
                    .keys()
                    .cloned()
                    .collect(),
            };
            k.sort();
            k
        };
        let expect = |fields: &[&str]| {
            let mut v: Vec<String> = fields.iter().map(|s| (*s).to_owned()).collect();
            v.sort();
            v
        };
        assert_eq!(keys(""), expect(&["listen"]));
        assert_eq!(
            keys("tls"),
            expect(&["certificate", "private_key", "min_version"])
        );
        assert_eq!(
            keys("http"),
            expect(&["server_header", "metrics", "metrics_listen"])
        );
        assert_eq!(
            keys("tun"),
            expect(&["name", "mtu", "offload", "tx_queue_len"])
        );
        // ipv6_pool is documented commented out (off by default).
        assert!(text.contains("# ipv6_pool = "));
        assert_eq!(
            keys("network"),
            expect(&[
                "ipv4_pool",
                "dns",
                "dns6",
                "client_to_client",
                "session_queue",
                "ra_interval",
                "ra_router_lifetime"
            ])
        );
        assert_eq!(
            keys("auth"),
            expect(&[
                "users_file",
                "methods",
                "server_name",
                "disconnect_removed_users"
            ])
        );
        assert_eq!(keys("control"), expect(&["socket"]));
        assert!(text.contains("# group = "));
        assert!(text.contains("# backends = [\"users\"]"));
        assert_eq!(
            keys("proxy_protocol"),
            expect(&["trusted", "header_timeout"])
        );
        assert!(text.contains("# [offload]"));
        assert!(text.contains("# certificate_hashes = "));
        assert_eq!(
            keys("limits"),
            expect(&[
                "max_sessions",
                "max_unauthenticated",
                "per_source_rate",
                "per_source_burst",
                "tls_handshake_timeout",
                "http_head_timeout",
                "negotiation_timeout",
                "auth_timeout",
                "hello_interval",
                "shutdown_grace",
                "max_sessions_per_user",
                "user_limit_action"
            ])
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("ten"), None);
        assert_eq!(parse_duration("10 parsecs"), None);
        assert_eq!(parse_duration("-1s"), None);
        // What the hand-written parser accepted before humantime read the units.
        assert_eq!(parse_duration(" 30 "), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("5min"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("5 min"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("0.5s"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5m"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h 30m"), Some(Duration::from_secs(5400)));
        for nonsense in ["", "-1", "inf", "NaN", "s", "1.5.2s"] {
            assert_eq!(parse_duration(nonsense), None, "{nonsense:?}");
        }
    }

    #[test]
    fn defaults_are_valid_and_sensible() {
        let config = Config::from_toml("").expect("empty file");
        assert!(config.validate().expect("valid").is_empty());
        assert_eq!(config.listen.len(), 2);
        assert_eq!(
            config.auth.methods,
            [AuthMethod::EapMsChapV2, AuthMethod::MsChapV2]
        );
        assert_eq!(config.tun.mtu, 1400);
        assert!(!config.network.client_to_client);
        let session = config.session_config();
        assert!(!session.common.ipv6, "no IPv6 pool, no IPv6CP");
        assert_eq!(session.common.timers.negotiation, Duration::from_secs(60));
        assert_eq!(session.common.mru, Some(1400));
    }

    #[test]
    fn a_full_file_parses() {
        let config = Config::from_toml(
            r#"
            listen = ["127.0.0.1:8443", "[::1]:8443"]
            [tls]
            certificate = "c.pem"
            private_key = "k.pem"
            min_version = "1.3"
            [network]
            ipv4_pool = "10.1.0.0/16"
            ipv6_pool = "fd00:1::/48"
            dns = ["10.1.0.1"]
            client_to_client = true
            ra_interval = "30s"
            [auth]
            methods = ["mschapv2", "pap"]
            [limits]
            negotiation_timeout = "1500ms"
            shutdown_grace = 2
            "#,
        )
        .expect("parses");
        assert_eq!(config.tls.min_version, TlsVersion::Tls13);
        assert_eq!(config.auth.methods, [AuthMethod::MsChapV2, AuthMethod::Pap]);
        assert_eq!(
            config.limits.negotiation_timeout,
            Duration::from_millis(1500)
        );
        assert_eq!(config.limits.shutdown_grace, Duration::from_secs(2));
        let warnings = config.validate().expect("valid");
        assert!(warnings.iter().any(|w| w.contains("PAP")), "{warnings:?}");
        let session = config.session_config();
        assert!(session.common.ipv6);
        assert_eq!(
            session.common.timers.negotiation,
            Duration::from_millis(1500)
        );
    }

    #[test]
    fn bad_values_are_refused_with_a_reason() {
        for (toml, what) in [
            ("listen = []", "no address"),
            ("[network]\nipv4_pool = \"10.0.0.0/31\"", "too small"),
            ("[network]\nipv6_pool = \"fd00::/64\"", "/63"),
            ("[tun]\nmtu = 9000", "tun.mtu"),
            ("[auth]\nmethods = []", "empty"),
            ("[auth]\nmethods = [\"pap\", \"pap\"]", "twice"),
            ("[limits]\nmax_sessions = 0", "at least 1"),
            ("[limits]\nper_source_rate = 0.0", "positive"),
            ("[limits]\nhttp_head_timeout = 0", "zero"),
            (
                "[http]\nserver_header = \"bad\\r\\nInjected: 1\"",
                "printable ASCII",
            ),
        ] {
            let config = Config::from_toml(toml).expect("parses");
            let err = config.validate().expect_err(what).to_string();
            assert!(err.contains(what), "{toml}: {err}");
        }
        for (toml, what) in [
            (
                "[auth]\nmethods = [\"kerberos\"]",
                "unknown authentication method",
            ),
            ("[limits]\nhttp_head_timeout = \"soon\"", "not a duration"),
            ("[tls]\nmin_version = \"1.1\"", "unknown variant"),
            ("typo = 1", "unknown field"),
        ] {
            let err = Config::from_toml(toml).expect_err(what).to_string();
            assert!(err.contains(what), "{toml}: {err}");
        }
    }

    fn refusal(toml: &str) -> String {
        let config = Config::from_toml(toml).expect("parses");
        config.validate().expect_err(toml).to_string()
    }

    #[test]
    fn pools_that_cannot_carry_clients_are_refused() {
        for (pool, what) in [
            (
                "0.0.0.0/0",
                "overlaps 0.0.0.0/8, the \"this network\" block",
            ),
            ("127.0.0.0/8", "overlaps 127.0.0.0/8, the loopback block"),
            ("127.0.1.0/24", "overlaps 127.0.0.0/8, the loopback block"),
            ("224.1.0.0/16", "overlaps 224.0.0.0/4, the multicast block"),
            ("169.254.0.0/24", "link-local"),
            ("255.255.255.0/24", "broadcast"),
        ] {
            let err = refusal(&format!("[network]\nipv4_pool = \"{pool}\""));
            assert!(err.contains(what), "{pool}: {err}");
            assert!(err.contains("such as 10.77.0.0/24"), "{pool}: {err}");
        }
        for (pool, what) in [
            ("::/0", "overlaps ::/8"),
            ("fe80::/56", "overlaps fe80::/10, the link-local block"),
            ("ff05::/48", "multicast"),
        ] {
            let err = refusal(&format!("[network]\nipv6_pool = \"{pool}\""));
            assert!(err.contains(what), "{pool}: {err}");
            assert!(err.contains("fd00:77::/48"), "{pool}: {err}");
        }
        // Ordinary private and global ranges pass.
        for toml in [
            "[network]\nipv4_pool = \"172.16.0.0/12\"",
            "[network]\nipv4_pool = \"100.64.0.0/16\"\nipv6_pool = \"2001:db8::/48\"",
        ] {
            let config = Config::from_toml(toml).expect("parses");
            assert!(config.validate().is_ok(), "{toml}");
        }
    }

    #[test]
    fn a_pool_with_host_bits_is_refused_with_its_network() {
        assert_eq!(
            refusal("[network]\nipv4_pool = \"10.77.0.5/24\""),
            "invalid configuration: network.ipv4_pool 10.77.0.5/24 has host bits set; write the network, 10.77.0.0/24 (the server takes 10.77.0.1, clients the addresses after it)"
        );
        assert_eq!(
            refusal("[network]\nipv6_pool = \"fd00:77::1/48\""),
            "invalid configuration: network.ipv6_pool fd00:77::1/48 has host bits set; write the network, fd00:77::/48"
        );
    }

    #[test]
    fn tun_names_follow_the_linux_rules() {
        for (name, what) in [
            ("a/b", "cannot contain '/' or ':'"),
            ("eth0:1", "cannot contain '/' or ':'"),
            ("a b", "cannot contain white space"),
            (".", "cannot be \".\" or \"..\""),
            ("..", "cannot be \".\" or \"..\""),
            ("", "must be 1 to 15 bytes long"),
            ("sixteen-bytes-xx", "must be 1 to 15 bytes long"),
        ] {
            let err = refusal(&format!("[tun]\nname = \"{name}\""));
            assert_eq!(
                err,
                format!(
                    "invalid configuration: tun.name {name:?} {what}, as Linux interface names are; use a name such as sstp0"
                )
            );
        }
        for name in ["sstp0", "fifteen-bytes-x", "sbs%d", "vpn.1"] {
            let config = Config::from_toml(&format!("[tun]\nname = \"{name}\"")).expect("parses");
            assert!(config.validate().is_ok(), "{name}");
        }
    }

    #[test]
    fn dns6_without_an_ipv6_pool_is_a_warning() {
        let config = Config::from_toml("[network]\ndns6 = [\"2001:db8::53\"]").expect("parses");
        assert_eq!(
            config.validate().expect("valid"),
            [
                "network.dns6 is set but network.ipv6_pool is not, so no client gets these servers; set ipv6_pool or remove dns6"
            ]
        );
        let config =
            Config::from_toml("[network]\nipv6_pool = \"fd00:77::/48\"\ndns6 = [\"2001:db8::53\"]")
                .expect("parses");
        assert!(config.validate().expect("valid").is_empty());
    }

    /// `/proc/net/route` and `/proc/net/ipv6_route` of a Linux 6.x host
    /// (eth0 on 192.0.2.0/24 and fd00::/64, a default route each way).
    const PROC_ROUTE: &str = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
        eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
        eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
    const PROC_IPV6_ROUTE: &str = "\
        fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n\
        fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000002 00000000 00000001     eth0\n\
        00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0\n\
        00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo\n\
        fd000000000000000000000000000002 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000003 00000000 80200001     eth0\n\
        ff000000000000000000000000000000 08 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000003 00000000 00000001     eth0\n\
        00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n";

    fn route(net: &str, interface: &str) -> HostRoute {
        HostRoute::new(net.parse().expect("net"), interface)
    }

    #[test]
    fn host_routes_parse_from_proc() {
        // Only the parsing is checked (native-endian fields assume a
        // little-endian host, as the fixture came from one).
        if cfg!(target_endian = "little") {
            assert_eq!(
                parse_proc_route(PROC_ROUTE),
                [route("0.0.0.0/0", "eth0"), route("192.0.2.0/24", "eth0")]
            );
        }
        assert_eq!(
            parse_proc_ipv6_route(PROC_IPV6_ROUTE),
            [route("fd00::/64", "eth0"), route("::/0", "eth0")]
        );
    }

    #[test]
    fn a_pool_over_a_routed_network_is_refused() {
        let routes = [
            route("0.0.0.0/0", "eth0"),
            route("192.0.2.0/24", "eth0"),
            route("10.0.0.0/8", "eth1"),
            route("10.77.0.0/24", "sstp0"),
            route("10.88.0.0/24", "sbs12"),
            route("fd00::/64", "eth0"),
        ];
        let check = |toml: &str| {
            Config::from_toml(toml)
                .expect("parses")
                .check_routes(&routes)
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            check("[network]\nipv4_pool = \"192.0.2.0/24\""),
            Err("invalid configuration: network.ipv4_pool 192.0.2.0/24 covers 192.0.2.0/24, which this host already routes through eth0; pick a range that is not in use here, such as 10.77.0.0/24".into())
        );
        assert_eq!(
            check("[network]\nipv4_pool = \"192.0.0.0/16\""),
            Err("invalid configuration: network.ipv4_pool 192.0.0.0/16 covers 192.0.2.0/24, which this host already routes through eth0; pick a range that is not in use here, such as 10.77.0.0/24".into())
        );
        assert_eq!(
            check("[network]\nipv4_pool = \"172.16.0.0/24\"\nipv6_pool = \"fd00::/56\""),
            Err("invalid configuration: network.ipv6_pool fd00::/56 covers fd00::/64, which this host already routes through eth0; pick a range that is not in use here, such as fd00:77::/48".into())
        );
        // Inside a larger route: works (longest prefix wins), with a warning.
        assert_eq!(
            check("[network]\nipv4_pool = \"10.99.0.0/24\""),
            Ok(vec!["network.ipv4_pool 10.99.0.0/24 lies inside 10.0.0.0/8, which this host routes through eth1; make sure the hosts there send replies for 10.99.0.0/24 to this server".to_owned()])
        );
        // The server's own TUN (running, or numbered by the kernel) does not count.
        let ok = "[network]\nipv4_pool = \"10.77.0.0/24\"\n[tun]\nname = \"sstp0\"";
        assert_eq!(check(ok).map(|w| w.len()), Ok(1), "only the 10/8 warning");
        let ok = "[network]\nipv4_pool = \"10.88.0.0/24\"\n[tun]\nname = \"sbs%d\"";
        assert_eq!(check(ok).map(|w| w.len()), Ok(1), "only the 10/8 warning");
        let clash = "[network]\nipv4_pool = \"10.88.0.0/24\"\n[tun]\nname = \"sbs\"";
        assert!(check(clash).is_err());
    }

    #[test]
    fn secrets_readable_by_everyone_get_a_warning() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("sstp-config-modes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let key = dir.join("key.pem");
        let users = dir.join("users.toml");
        for file in [&key, &users] {
            std::fs::write(file, "secret").expect("write");
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        }
        let mut config = Config::default();
        config.tls.private_key.clone_from(&key);
        config.auth.users_file.clone_from(&users);
        assert_eq!(
            config.check_file_modes(),
            [
                format!(
                    "tls.private_key {} is readable by every user of this host (mode 0644); restrict it with chmod 600 {}",
                    key.display(),
                    key.display()
                ),
                format!(
                    "auth.users_file {} is readable by every user of this host (mode 0644); restrict it with chmod 600 {}",
                    users.display(),
                    users.display()
                ),
            ]
        );
        for file in [&key, &users] {
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        }
        assert!(config.check_file_modes().is_empty());
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn load_resolves_relative_paths() {
        let dir = std::env::temp_dir().join(format!("sstp-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("server.toml");
        std::fs::write(
            &path,
            "[tls]\ncertificate = \"c.pem\"\nprivate_key = \"/abs/k.pem\"\n\
             [auth.eap_tls]\nca = [\"ca/ca.pem\", \"/abs/ca2.pem\"]\nrevoked = \"ca/revoked.txt\"\n",
        )
        .expect("write");
        let config = Config::load(&path).expect("load");
        assert_eq!(config.tls.certificate, dir.join("c.pem"));
        let eap = config.auth.eap_tls.as_ref().expect("[auth.eap_tls]");
        assert_eq!(
            eap.ca,
            [dir.join("ca/ca.pem"), PathBuf::from("/abs/ca2.pem")]
        );
        assert_eq!(eap.revoked, Some(dir.join("ca/revoked.txt")));
        assert_eq!(config.tls.private_key, PathBuf::from("/abs/k.pem"));
        assert_eq!(config.auth.users_file, dir.join("users.toml"));
        std::fs::remove_dir_all(&dir).expect("cleanup");
        assert!(matches!(Config::load(&path), Err(ConfigError::Io { .. })));
    }

    #[test]
    fn proxy_protocol_and_offload_sections() {
        let hash = "AB:".repeat(31) + "AB";
        let text = format!(
            "[proxy_protocol]\ntrusted = [\"10.0.0.10/32\"]\n[offload]\nlisten = [\"0.0.0.0:8443\"]\ncertificate_hashes = [\"{hash}\"]\n"
        );
        let config = Config::from_toml(&text).expect("parses");
        assert!(
            config
                .proxy_protocol
                .trusts("10.0.0.10".parse().expect("ip"))
        );
        let warnings = config.validate().expect("valid");
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("offload.listen 0.0.0.0:8443") && w.contains("unencrypted")),
            "{warnings:?}"
        );
        // A hash of neither length, and an empty list, say what to do.
        let short = text.replace(&hash, "AB:CD");
        let err = Config::from_toml(&short)
            .expect_err("short hash")
            .to_string();
        assert!(err.contains("SHA-256 hash has 32"), "{err}");
        let none = Config::from_toml("[offload]\nlisten = [\"127.0.0.1:8443\"]\n").expect("parses");
        let err = none.validate().expect_err("no hashes").to_string();
        assert!(err.contains("offload.certificate_hashes"), "{err}");
        let err = Config::from_toml("[proxy_protocol]\ntrusted = [\"10.0.0.300/8\"]\n")
            .expect_err("bad range")
            .to_string();
        assert!(err.contains("trusted"), "{err}");
        let zero =
            Config::from_toml("[proxy_protocol]\nheader_timeout = \"0s\"\n").expect("parses");
        assert!(zero.validate().is_err());
    }

    #[test]
    fn named_pools_must_stay_apart() {
        let with = |pools: &str| {
            Config::from_toml(&format!(
                "[network]\nipv4_pool = \"10.77.0.0/24\"\n[network.pools]\n{pools}"
            ))
            .expect("parses")
            .validate()
            .map_err(|e| e.to_string())
        };
        assert!(with("staff = \"10.78.0.0/24\"\nguests = \"10.79.0.0/25\"").is_ok());
        let err = with("staff = \"10.77.0.128/25\"").expect_err("inside ipv4_pool");
        assert!(
            err.contains("network.pools.staff (10.77.0.128/25) overlaps ipv4_pool"),
            "{err}"
        );
        let err = with("a = \"10.78.0.0/16\"\nb = \"10.78.5.0/24\"").expect_err("nested");
        assert!(err.contains("overlaps network.pools.a"), "{err}");
        let err = with("tiny = \"10.78.0.0/31\"").expect_err("too small");
        assert!(err.contains("network.pools.tiny"), "{err}");
    }
}
