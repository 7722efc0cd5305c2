//! The public face: [`ClientBuilder`] (what to connect to and how) and
//! [`Tunnel`] (a running tunnel: its events, statistics, and
//! [`disconnect`](Tunnel::disconnect)).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sstp_core::{AuthMethod, ClientConfig, Credential, EapTlsClientConfig, HashProtocol};
use sstp_tun::TunDevice;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::dial::Timeouts;
use crate::dns::{Dns, NoDns};
use crate::driver::{self, Shared};
use crate::error::{Error, ErrorKind};
use crate::identity::ClientIdentity;
use crate::netsetup::NetSetup;
use crate::options::{
    EapTlsOptions, IPV6_MIN_MTU, Keepalive, ProxySetting, ReconnectPolicy, ServerAddr, TlsOptions,
    TunnelOptions,
};
use crate::proxy::{self, HttpProxy};
use crate::routes::{NoRoutes, Routes};
use crate::tls::{Fingerprint, TlsSetup};

/// Events a [`Tunnel`] holds before the oldest unread ones are dropped.
const EVENT_QUEUE: usize = 256;

/// Everything the driver needs, fixed at start.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) server: ServerAddr,
    pub(crate) session: ClientConfig,
    pub(crate) tls: TlsSetup,
    pub(crate) proxy: Option<HttpProxy>,
    pub(crate) tunnel: TunnelOptions,
    pub(crate) reconnect: ReconnectPolicy,
    pub(crate) timeouts: Timeouts,
}

/// The system a tunnel changes: routes and addresses, and DNS.
///
/// [`System::linux`] is the real one; [`System::none`] changes nothing (an
/// embedder that manages its own device); tests pass the `Recording`
/// fakes.
#[derive(Debug, Clone)]
pub struct System {
    routes: Arc<dyn Routes>,
    dns: Arc<dyn Dns>,
}

impl System {
    /// Routes and DNS through these.
    pub fn new(routes: Arc<dyn Routes>, dns: Arc<dyn Dns>) -> Self {
        Self { routes, dns }
    }

    /// Touches nothing.
    pub fn none() -> Self {
        Self::new(Arc::new(NoRoutes), Arc::new(NoDns))
    }

    /// rtnetlink for addresses and routes; systemd-resolved or
    /// `/etc/resolv.conf` for DNS. Call inside a tokio runtime.
    #[cfg(target_os = "linux")]
    pub fn linux() -> Result<Self, Error> {
        Ok(Self::new(
            Arc::new(crate::routes::LinuxRoutes::new()?),
            Arc::new(crate::dns::SystemDns::default()),
        ))
    }
}

/// Builds a client: the server, the credentials, then optional TLS, proxy,
/// tunnel, keepalive and reconnect settings; then
/// [`connect`](Self::connect) (Linux TUN) or
/// [`connect_with`](Self::connect_with) (your own packet device).
///
/// See the [crate docs](crate) for an example.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    server: ServerAddr,
    username: String,
    credential: Option<Credential>,
    auth_methods: Option<Vec<AuthMethod>>,
    identity: Option<ClientIdentity>,
    eap_tls: EapTlsOptions,
    tls: TlsOptions,
    proxy: ProxySetting,
    tunnel: TunnelOptions,
    reconnect: ReconnectPolicy,
    keepalive: Keepalive,
    timeouts: Timeouts,
}

impl ClientBuilder {
    /// A client for `server`.
    pub fn new(server: ServerAddr) -> Self {
        Self {
            server,
            username: String::new(),
            credential: None,
            auth_methods: None,
            identity: None,
            eap_tls: EapTlsOptions::default(),
            tls: TlsOptions::default(),
            proxy: ProxySetting::default(),
            tunnel: TunnelOptions::default(),
            reconnect: ReconnectPolicy::default(),
            keepalive: Keepalive::default(),
            timeouts: Timeouts::default(),
        }
    }

    /// Authenticate as `username` (sent as is, e.g. `DOMAIN\user`) with
    /// `password`.
    pub fn password(self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials(username, Credential::from_password(password))
    }

    /// Authenticate as `username` with a credential (a password, or only
    /// its NT hash, which serves MS-CHAPv2 and EAP-MSCHAPv2).
    pub fn credentials(mut self, username: impl Into<String>, credential: Credential) -> Self {
        self.username = username.into();
        self.credential = Some(credential);
        self
    }

    /// The user name alone, e.g. the EAP Identity for EAP-TLS, which needs
    /// no password (see [`certificate`](Self::certificate)).
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = username.into();
        self
    }

    /// Authenticate with this client certificate (EAP-TLS, RFC 5216). Unless
    /// [`auth_methods`](Self::auth_methods) says otherwise, EAP-TLS is then
    /// the first method, followed by the password methods only when a
    /// password was given. Without a user name, the certificate's
    /// [`name`](ClientIdentity::name) is the EAP Identity.
    ///
    /// ```no_run
    /// # // no_run: needs the files, an SSTP server and CAP_NET_ADMIN.
    /// use sstp_client::{ClientBuilder, ClientIdentity, EapTlsOptions};
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let provider = rustls::crypto::aws_lc_rs::default_provider();
    /// let me = ClientIdentity::from_pkcs12("alice.pfx".as_ref(), "s3cret", &provider)?;
    /// let tunnel = ClientBuilder::new("vpn.example.net".parse()?)
    ///     .certificate(me)
    ///     .eap_tls(EapTlsOptions {
    ///         server_name: Some("nps.example.net".into()),
    ///         ..EapTlsOptions::default()
    ///     })
    ///     .connect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn certificate(mut self, identity: ClientIdentity) -> Self {
        self.identity = Some(identity);
        self
    }

    /// How the server's inner EAP-TLS certificate is checked (default: as
    /// the outer TLS, for the same name).
    pub fn eap_tls(mut self, options: EapTlsOptions) -> Self {
        self.eap_tls = options;
        self
    }

    /// The authentication methods to accept, most preferred first (default:
    /// MS-CHAPv2 and EAP-MSCHAPv2; PAP and CHAP-MD5 only when listed, since
    /// they give no keys for the crypto binding; EAP-TLS first when a
    /// [`certificate`](Self::certificate) is given).
    pub fn auth_methods(mut self, methods: impl IntoIterator<Item = AuthMethod>) -> Self {
        self.auth_methods = Some(methods.into_iter().collect());
        self
    }

    /// TLS settings (trust, SNI, versions).
    pub fn tls(mut self, tls: TlsOptions) -> Self {
        self.tls = tls;
        self
    }

    /// Proxy settings (default: from the environment).
    pub fn proxy(mut self, proxy: ProxySetting) -> Self {
        self.proxy = proxy;
        self
    }

    /// What to set up once the call is up (interface, MTU, routes, DNS, IPv6).
    pub fn tunnel(mut self, tunnel: TunnelOptions) -> Self {
        self.tunnel = tunnel;
        self
    }

    /// Reconnect policy (default: on, 1 s doubling to 60 s, with jitter).
    pub fn reconnect(mut self, reconnect: ReconnectPolicy) -> Self {
        self.reconnect = reconnect;
        self
    }

    /// Keepalive periods.
    pub fn keepalive(mut self, keepalive: Keepalive) -> Self {
        self.keepalive = keepalive;
        self
    }

    /// Limit for the TCP connect (each address, and the proxy's CONNECT)
    /// and for the TLS handshake (default 15 s and 20 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.connect = timeout;
        self.timeouts.tls = timeout;
        self
    }

    fn settings(self) -> Result<Settings, Error> {
        let defaults = ClientConfig::new("", Credential::from_password("")).auth_methods;
        let methods = match self.auth_methods {
            Some(methods) if methods.is_empty() => {
                return Err(Error::Config("no authentication method allowed".into()));
            }
            Some(methods) => methods,
            None if self.identity.is_some() => {
                let mut methods = vec![AuthMethod::EapTls];
                if self.credential.is_some() {
                    methods.extend(defaults);
                }
                methods
            }
            None => defaults,
        };
        let wants_tls = methods.contains(&AuthMethod::EapTls);
        if wants_tls && self.identity.is_none() {
            return Err(Error::Config(
                "EAP-TLS needs a client certificate (--cert and --key, or --pkcs12)".into(),
            ));
        }
        let credential = match (self.credential, &self.identity) {
            (Some(credential), _) => credential,
            (None, None) => {
                return Err(Error::Config(
                    "no credentials: set a user name and password, or a client certificate".into(),
                ));
            }
            (None, Some(_)) => {
                let needing: Vec<&str> = methods
                    .iter()
                    .filter(|m| **m != AuthMethod::EapTls)
                    .map(|m| m.name())
                    .collect();
                if !needing.is_empty() {
                    return Err(Error::Config(format!(
                        "{} need{} a password: give one, or allow only eap-tls",
                        needing.join(", "),
                        if needing.len() == 1 { "s" } else { "" }
                    )));
                }
                // Never sent: EAP-TLS proves the certificate's key instead.
                Credential::from_password("")
            }
        };
        let username = match (self.username.is_empty(), &self.identity) {
            (false, _) => self.username,
            (true, Some(identity)) => identity.name().ok_or_else(|| {
                Error::Config(
                    "no user name: the client certificate has no common name or e-mail address to use as the EAP identity, so give one".into(),
                )
            })?,
            (true, None) => return Err(Error::Config("the user name is empty".into())),
        };
        if !(576..=4087).contains(&self.tunnel.mtu) {
            return Err(Error::Config(format!(
                "MTU {} is out of range (576-4087, MS-SSTP 2.2.3)",
                self.tunnel.mtu
            )));
        }
        let mut session = ClientConfig::new(username, credential);
        session.auth_methods = methods;
        if let Some(identity) = self.identity.as_ref().filter(|_| wants_tls) {
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let (trust, name) = self.eap_tls.trust(&self.tls, self.server.host());
            let verifier = crate::tls::eap_tls_verifier(&trust, &provider)?;
            let server_name =
                rustls_pki_types::ServerName::try_from(name.to_owned()).map_err(|_| {
                    Error::Config(format!("{name:?} is not a valid EAP-TLS server name"))
                })?;
            let config = EapTlsClientConfig::new(
                provider,
                verifier,
                server_name,
                identity.chain().to_vec(),
                identity.key(),
            )
            .map_err(|e| Error::Config(format!("the client certificate cannot be used: {e}")))?;
            session.auth.eap_tls = Some(config);
        }
        session.common.mtu = self.tunnel.mtu;
        // Tell the server the largest packet we take (RFC 1661 6.1).
        session.common.mru = Some(self.tunnel.mtu);
        // IPv6 needs a link MTU of 1280 (RFC 8200 5): below it the kernel
        // refuses IPv6 addresses on the link, so IPv6CP is not even offered.
        session.common.ipv6 = self.tunnel.ipv6 && self.tunnel.mtu >= IPV6_MIN_MTU;
        if self.tunnel.ipv6 && !session.common.ipv6 {
            tracing::warn!(
                "MTU {} is below {IPV6_MIN_MTU}, the least IPv6 needs: the tunnel carries IPv4 only (use an MTU of {IPV6_MIN_MTU} or more for IPv6, or turn IPv6 off to silence this)",
                self.tunnel.mtu
            );
        }
        session.common.timers.hello = self.keepalive.sstp_hello;
        session.common.keepalive.interval = self.keepalive.lcp_echo;
        session.common.keepalive.max_missed = self.keepalive.lcp_max_missed;
        let tls = TlsSetup::new(&self.tls, self.server.host())?;
        let proxy = match self.proxy {
            ProxySetting::Direct => None,
            ProxySetting::Http(p) => Some(p),
            ProxySetting::FromEnv => proxy::from_env(&self.server)?,
        };
        Ok(Settings {
            server: self.server,
            session,
            tls,
            proxy,
            tunnel: self.tunnel,
            reconnect: self.reconnect,
            timeouts: self.timeouts,
        })
    }

    /// Starts the tunnel over `tun`, changing the system through `system`,
    /// and returns at once; follow it with [`Tunnel::next_event`] or
    /// [`Tunnel::wait_up`]. Settings errors come back here, before any
    /// traffic. Call inside a tokio runtime.
    pub fn start_with<D: TunDevice + 'static>(
        self,
        tun: D,
        system: System,
    ) -> Result<Tunnel, Error> {
        Ok(spawn(self.settings()?, tun, system))
    }

    /// Like [`start_with`](Self::start_with), then waits until the tunnel is
    /// up, or failed for good (a first connect that fails for a reason that
    /// can pass is retried as the [`ReconnectPolicy`] says).
    pub async fn connect_with<D: TunDevice + 'static>(
        self,
        tun: D,
        system: System,
    ) -> Result<Tunnel, Error> {
        let mut tunnel = self.start_with(tun, system)?;
        tunnel.wait_up().await?;
        Ok(tunnel)
    }

    /// Creates the Linux TUN interface (needs `CAP_NET_ADMIN`) and starts
    /// the tunnel over it with [`System::linux`].
    #[cfg(target_os = "linux")]
    pub fn start(self) -> Result<Tunnel, Error> {
        // The settings first: a bad MTU or CA file is a configuration error,
        // not a failure of the TUN device it would otherwise reach.
        let settings = self.settings()?;
        // Offload: TCP super-packets from the kernel are split here and what we write is
        // coalesced (GRO), so a bulk transfer costs a fraction of the system calls.
        let tun = sstp_tun::LinuxTun::builder(&settings.tunnel.interface)
            .mtu(settings.tunnel.mtu)
            .offload(true)
            .build()
            .map_err(Error::Tun)?;
        let system = System::linux()?;
        Ok(spawn(settings, tun, system))
    }

    /// [`start`](Self::start), then waits until the tunnel is up.
    #[cfg(target_os = "linux")]
    pub async fn connect(self) -> Result<Tunnel, Error> {
        let mut tunnel = self.start()?;
        tunnel.wait_up().await?;
        Ok(tunnel)
    }
}

/// Starts the supervisor task over `tun`.
fn spawn<D: TunDevice + 'static>(settings: Settings, tun: D, system: System) -> Tunnel {
    let settings = Arc::new(settings);
    let interface = tun.name().to_owned();
    let (events_tx, events) = mpsc::channel(EVENT_QUEUE);
    let (phase_tx, phase) = watch::channel(Phase::Starting);
    let (stop, stop_rx) = watch::channel(false);
    let stats = Arc::new(StatsInner::default());
    let shared = Shared {
        events: events_tx,
        phase: phase_tx,
        stats: Arc::clone(&stats),
        stop: stop_rx,
    };
    let net = NetSetup::new(system.routes, system.dns);
    let task = tokio::spawn(driver::supervise(settings, tun, net, shared));
    Tunnel {
        events,
        phase,
        stop,
        task: Some(task),
        stats,
        interface,
    }
}

/// Fetches the SHA-256 fingerprint of `server`'s certificate *without
/// checking it*, and the TLS version, for a person to compare out of band
/// (`openssl x509 -fingerprint -sha256` on the server) before pinning it
/// with [`TlsOptions::pins`]. Uses the proxy setting as a connect would.
pub async fn fetch_fingerprint(
    server: &ServerAddr,
    sni: Option<&str>,
    proxy: ProxySetting,
) -> Result<(Fingerprint, &'static str), Error> {
    let proxy = match proxy {
        ProxySetting::Direct => None,
        ProxySetting::Http(p) => Some(p),
        ProxySetting::FromEnv => proxy::from_env(server)?,
    };
    crate::dial::fetch_fingerprint(server, proxy.as_ref(), sni, Timeouts::default()).await
}

/// Where a tunnel is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Starting,
    Up,
    Reconnecting,
    Ended,
}

/// What happened to a tunnel, in order.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum TunnelEvent {
    /// Dialing the server (attempt 1 is the first connection).
    Connecting {
        /// Attempts so far, this one included.
        attempt: u32,
        /// `host:port`.
        server: String,
        /// The HTTP proxy used, if any.
        proxy: Option<String>,
    },
    /// TLS and the SSTP HTTP handshake are done; PPP starts.
    Connected {
        /// `host:port`.
        server: String,
        /// The TCP peer (the proxy, with a proxy).
        remote: Option<SocketAddr>,
        /// `TLS 1.2` or `TLS 1.3`.
        tls_version: &'static str,
        /// The SHA-256 fingerprint of the server's certificate.
        fingerprint: Fingerprint,
    },
    /// The server accepted our credentials.
    Authenticated {
        /// The user name sent.
        username: String,
        /// The method used.
        method: Option<AuthMethod>,
    },
    /// The tunnel is up and configured.
    Up(UpInfo),
    /// IPv6CP opened: the link-local address is set.
    Ipv6Up {
        /// The interface.
        interface: String,
        /// Our link-local address.
        local: Ipv6Addr,
        /// The server's link-local address.
        peer: Option<Ipv6Addr>,
    },
    /// A Router Advertisement gave us a global IPv6 address (SLAAC).
    Ipv6Address {
        /// The interface.
        interface: String,
        /// The address.
        address: Ipv6Addr,
        /// Its prefix length.
        prefix_len: u8,
        /// The router that advertised it.
        router: Ipv6Addr,
        /// IPv6 routes added with it.
        routes: Vec<String>,
    },
    /// The connection was lost (or the first connect failed for a reason
    /// that can pass); the next attempt comes after `delay`.
    Reconnecting {
        /// Retries in a row, this one included.
        attempt: u32,
        /// Whether a tunnel had been up (`false`: the first connect is being
        /// retried).
        established: bool,
        /// The wait before it.
        delay: Duration,
        /// Why the connection ended, in plain words.
        reason: String,
        /// Its class.
        kind: ErrorKind,
    },
    /// The tunnel is over; the system is restored. Also the last event of
    /// a tunnel that never came up, with the reason.
    Down {
        /// Why, in plain words.
        reason: String,
        /// `None` after a requested disconnect.
        kind: Option<ErrorKind>,
    },
}

/// The configuration of a tunnel that came up.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpInfo {
    /// `host:port` of the server.
    pub server: String,
    /// The interface.
    pub interface: String,
    /// Our IPv4 address.
    pub local: Ipv4Addr,
    /// The server's tunnel address.
    pub peer: Option<Ipv4Addr>,
    /// The DNS servers the server pushed.
    pub dns: Vec<Ipv4Addr>,
    /// The tunnel MTU.
    pub mtu: u16,
    /// Routes added.
    pub routes: Vec<String>,
    /// Where DNS was applied (`None`: not applied).
    pub dns_applied: Option<String>,
    /// The crypto-binding hash (MS-SSTP 3.2.5.2).
    pub binding: Option<HashProtocol>,
    /// Things a person should know about this configuration, one sentence
    /// each (a DNS server outside the split routes, IPv6 left off).
    pub warnings: Vec<String>,
}

/// Counters shared between the driver and the handle.
#[derive(Debug, Default)]
pub(crate) struct StatsInner {
    pub(crate) tx_packets: AtomicU64,
    pub(crate) tx_bytes: AtomicU64,
    pub(crate) rx_packets: AtomicU64,
    pub(crate) rx_bytes: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) reconnects: AtomicU32,
    pub(crate) up_since: Mutex<Option<tokio::time::Instant>>,
    /// How long the last connection was up, once it is down.
    pub(crate) last_uptime: Mutex<Option<Duration>>,
}

impl StatsInner {
    /// The connection came up now.
    pub(crate) fn went_up(&self) {
        *self.up_since.lock().unwrap_or_else(PoisonError::into_inner) =
            Some(tokio::time::Instant::now());
    }

    /// The connection is over: keep how long it was up.
    pub(crate) fn went_down(&self) {
        let since = self
            .up_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(since) = since {
            *self
                .last_uptime
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(since.elapsed());
        }
    }
}

/// A snapshot of a tunnel's counters (over all its connections).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TunnelStats {
    /// IP packets sent into the tunnel.
    pub tx_packets: u64,
    /// IP bytes sent into the tunnel.
    pub tx_bytes: u64,
    /// IP packets received from the tunnel.
    pub rx_packets: u64,
    /// IP bytes received from the tunnel.
    pub rx_bytes: u64,
    /// Packets dropped (not ready, too large, queue full).
    pub dropped: u64,
    /// Reconnections.
    pub reconnects: u32,
    /// How long the current connection has been up; while the tunnel is
    /// down (reconnecting, or over), how long the last one was up (`None`:
    /// never up).
    pub uptime: Option<Duration>,
}

/// A running tunnel. Dropping it asks the tunnel to disconnect; prefer
/// [`disconnect`](Self::disconnect), which waits until the call is closed
/// and the system restored.
#[derive(Debug)]
pub struct Tunnel {
    events: mpsc::Receiver<TunnelEvent>,
    phase: watch::Receiver<Phase>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<Result<(), Error>>>,
    stats: Arc<StatsInner>,
    interface: String,
}

impl Tunnel {
    /// The next event; `None` once the tunnel is over and every event was
    /// read. Cancel safe.
    pub async fn next_event(&mut self) -> Option<TunnelEvent> {
        self.events.recv().await
    }

    /// Waits until the tunnel is up (now or after a reconnect). Fails with
    /// the tunnel's error if it ended first; it is then over.
    pub async fn wait_up(&mut self) -> Result<(), Error> {
        loop {
            let phase = *self.phase.borrow_and_update();
            match phase {
                Phase::Up => return Ok(()),
                Phase::Ended => break,
                Phase::Starting | Phase::Reconnecting => {}
            }
            if self.phase.changed().await.is_err() {
                break;
            }
        }
        match self.join().await {
            Ok(()) => Err(Error::Session(sstp_core::CloseReason::LocalClose)),
            Err(e) => Err(e),
        }
    }

    /// Whether the tunnel is up now.
    pub fn is_up(&self) -> bool {
        *self.phase.borrow() == Phase::Up
    }

    /// The interface name.
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// Counters and uptime.
    pub fn stats(&self) -> TunnelStats {
        let s = &self.stats;
        let up_since = *s.up_since.lock().unwrap_or_else(PoisonError::into_inner);
        let last = *s.last_uptime.lock().unwrap_or_else(PoisonError::into_inner);
        TunnelStats {
            tx_packets: s.tx_packets.load(Ordering::Relaxed),
            tx_bytes: s.tx_bytes.load(Ordering::Relaxed),
            rx_packets: s.rx_packets.load(Ordering::Relaxed),
            rx_bytes: s.rx_bytes.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            reconnects: s.reconnects.load(Ordering::Relaxed),
            uptime: up_since.map(|t| t.elapsed()).or(last),
        }
    }

    /// Asks the tunnel to disconnect without waiting (for a signal handler);
    /// then wait with [`wait`](Self::wait) or read events to `Down`.
    pub fn request_disconnect(&self) {
        let _ = self.stop.send(true);
    }

    /// Disconnects cleanly: LCP Terminate and SSTP Call Disconnect (MS-SSTP
    /// 3.2.7.3), TLS close_notify, then the routes, addresses and DNS are
    /// restored. Returns the tunnel's error if it had already failed.
    pub async fn disconnect(mut self) -> Result<(), Error> {
        self.request_disconnect();
        self.join().await
    }

    /// Waits until the tunnel ends by itself (or after
    /// [`request_disconnect`](Self::request_disconnect)): `Ok` after a
    /// requested disconnect, else why it failed for good.
    pub async fn wait(mut self) -> Result<(), Error> {
        self.join().await
    }

    async fn join(&mut self) -> Result<(), Error> {
        let Some(task) = self.task.take() else {
            return Ok(());
        };
        match task.await {
            Ok(result) => result,
            Err(e) => Err(Error::Io(std::io::Error::other(format!(
                "the tunnel task failed: {e}"
            )))),
        }
    }
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::tests::{fixture, write};
    use crate::options::EapTlsOptions;
    use rcgen::ExtendedKeyUsagePurpose;

    /// A builder with a client certificate for "alice", trusting the
    /// fixture's CA for the outer TLS.
    fn with_certificate(dir: &std::path::Path) -> ClientBuilder {
        let f = fixture(Some("alice"), &[ExtendedKeyUsagePurpose::ClientAuth]);
        let cert = write(dir, "c.pem", &f.leaf_pem);
        let key = write(dir, "k.pem", &f.key_pem);
        let ca = write(dir, "ca.pem", &f.ca_pem);
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        let identity = ClientIdentity::from_pem_files(&cert, &key, &provider).unwrap();
        ClientBuilder::new(ServerAddr::new("vpn.example.net", 443))
            .tls(TlsOptions {
                ca_file: Some(ca),
                ..TlsOptions::default()
            })
            .certificate(identity)
    }

    #[test]
    fn a_certificate_alone_is_eap_tls_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let settings = with_certificate(dir.path()).settings().unwrap();
        assert_eq!(settings.session.auth_methods, [AuthMethod::EapTls]);
        assert!(settings.session.auth.eap_tls.is_some());
        assert_eq!(settings.session.username, "alice");
    }

    #[test]
    fn a_certificate_and_a_password_put_eap_tls_first() {
        let dir = tempfile::tempdir().unwrap();
        let settings = with_certificate(dir.path())
            .password("bob", "pw")
            .eap_tls(EapTlsOptions {
                server_name: Some("nps.example.net".into()),
                ..EapTlsOptions::default()
            })
            .settings()
            .unwrap();
        let methods = &settings.session.auth_methods;
        assert_eq!(methods[0], AuthMethod::EapTls);
        assert!(methods.contains(&AuthMethod::MsChapV2), "{methods:?}");
        assert_eq!(settings.session.username, "bob");
        assert!(settings.session.auth.eap_tls.is_some());
    }

    #[test]
    fn eap_tls_settings_that_cannot_work_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = with_certificate(dir.path())
            .auth_methods([AuthMethod::EapTls, AuthMethod::MsChapV2])
            .settings()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration: mschapv2 needs a password: give one, or allow only eap-tls"
        );
        let err = ClientBuilder::new(ServerAddr::new("vpn.example.net", 443))
            .password("alice", "pw")
            .auth_methods([AuthMethod::EapTls])
            .settings()
            .unwrap_err();
        assert!(
            err.to_string().contains("needs a client certificate"),
            "{err}"
        );
        let err = with_certificate(dir.path())
            .eap_tls(EapTlsOptions {
                ca_file: Some(dir.path().join("missing-ca.pem")),
                ..EapTlsOptions::default()
            })
            .settings()
            .unwrap_err();
        assert!(err.to_string().contains("missing-ca.pem"), "{err}");
    }

    #[test]
    fn the_inner_trust_defaults_to_the_outer_one() {
        let outer = TlsOptions {
            pins: vec![Fingerprint([7; 32])],
            sni: Some("outer.example.net".into()),
            ..TlsOptions::default()
        };
        let same = EapTlsOptions::default();
        let (trust, name) = same.trust(&outer, "host");
        assert_eq!((trust, name), (outer.clone(), "outer.example.net"));
        let inner = EapTlsOptions {
            ca_file: Some("/etc/nps-ca.pem".into()),
            server_name: Some("nps.example.net".into()),
        };
        let (trust, name) = inner.trust(&outer, "host");
        assert_eq!(name, "nps.example.net");
        assert_eq!(
            trust.ca_file.as_deref(),
            Some(std::path::Path::new("/etc/nps-ca.pem"))
        );
        assert!(trust.pins.is_empty());
    }
}
