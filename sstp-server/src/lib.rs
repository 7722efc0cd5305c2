//! # sstp-server
//!
//! An SSTP (MS-SSTP) VPN server: one process, one TUN device, many clients.
//! The protocol lives in `sstp-core` (sans-IO); this crate is the tokio
//! driver around it: TLS, the shared HTTPS port, the data plane, users,
//! limits, metrics and logs.
//!
//! ```text
//!  TCP ─▶ TLS (rustls) ─▶ HTTP head ─┬─ SSTP_DUPLEX_POST ─▶ conn: ServerSession ◀─▶ queue ◀─ router ◀─ TUN
//!        listener.rs      sniffed    │                       │ auth backend, pools     ▲
//!                                    └─ anything else ─▶ hyper: /healthz, 404/405      └──▶ TUN (shared writer)
//!  TCP (http.metrics_listen, loopback by default) ─▶ hyper: /metrics, /healthz
//! ```
//!
//! `/metrics` is not served on the SSTP port: every client reaches that
//! port, and the counters (sessions, leases, refusals) are for the admin.
//!
//! ## Modules
//!
//! - `config`: the TOML configuration and its checks ([`Config`]).
//! - `tls`: certificate chain and key, rustls on aws-lc-rs, reload, and
//!   self-signed certificates ([`TlsIdentity`], [`generate_self_signed`]).
//! - `listener`: accept, admission (limits), TLS, the head sniff, dispatch
//!   to a session or to hyper.
//! - `conn`: one task per SSTP connection, owning the TLS stream and its
//!   `ServerSession`.
//! - `router`: the TUN reader and destination → session routing.
//! - `pool`: IPv4 addresses and IPv6 /64s ([`Ipv4Pool`], [`Ipv6Pool`]).
//! - `auth`: the [`AuthBackend`] trait, its per-session conversations and
//!   [`Chain`]; `users`: the users file ([`StaticUsers`]).
//! - `ra`: ICMPv6 Router Solicitation / Advertisement for SLAAC.
//! - `metrics`, `limits`: counters and their plain-HTTP listener,
//!   per-source rate limit.
//!
//! ## Embedding
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use sstp_server::{Config, Server, StaticUsers, TlsIdentity};
//!
//! let config = Config::load("server.toml".as_ref())?;
//! let users = Arc::new(StaticUsers::load(&config.auth.users_file)?);
//! let identity = TlsIdentity::from_pem_files(&config.tls.certificate, &config.tls.private_key)?;
//! let (tun, _os) = sstp_tun::MemTun::pair(config.tun.mtu); // or a LinuxTun
//! let server = Server::bind(config, identity, tun, users).await?;
//! println!("listening on {:?}", server.local_addrs());
//! server.run(async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod accounting;
mod auth;
pub mod ca;
mod config;
mod conn;
pub mod control;
pub mod eap_tls;
mod limits;
mod listener;
mod metrics;
mod pool;
mod proxy;
mod ra;
mod radius;
mod reload;
mod router;
mod sessions;
mod tls;
mod users;
mod words;

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use ipnet::Ipv6Net;
use sstp_core::Ending;
use sstp_tun::{TunDevice, drive};
use tokio::net::TcpListener;
use tracing::info;

pub use auth::{
    AuthBackend, AuthContext, AuthConversation, AuthDecision, Chain, Round, SessionSettings,
};
pub use config::{
    AuthSettings, Backend, Config, ConfigError, ControlSettings, DEFAULT_CONTROL_SOCKET,
    DaeClientSettings, DaeSettings, HostRoute, HttpSettings, Limits, NetworkSettings,
    RadiusServerSettings, RadiusSettings, TlsSettings, TlsVersion, TunSettings, UserLimitAction,
    host_routes, parse_duration,
};
pub use config::{CertificateHash, OffloadSettings, ProxyProtocolSettings};
pub use metrics::CONTENT_TYPE as METRICS_CONTENT_TYPE;
pub use pool::{Ipv4Pool, Ipv6Pool, PoolError};
pub use radius::{RadiusBackend, RadiusError};
pub use sessions::{SessionFilter, SessionInfo, Traffic};
pub use tls::{
    CertProblem, MAX_CERT_DAYS, SelfSigned, TlsError, TlsIdentity, fingerprint,
    generate_self_signed,
};
pub use users::StaticUsers;

use crate::metrics::Metrics;
use crate::pool::AddressPools;
use crate::router::Router;
use crate::tls::TlsState;

/// Why the server could not start or stopped.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The certificate or key is unusable.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// A listen address could not be bound.
    // The OS error is part of the message, so it is not also the `source()`
    // (a chain printer would say it twice).
    #[error("cannot listen on {addr} ({setting}): {error}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The setting that names it: `listen` or `http.metrics_listen`.
        setting: &'static str,
        /// The OS error.
        error: std::io::Error,
    },
    /// The TUN device failed: no traffic can flow.
    #[error("TUN device failed: {0}")]
    Tun(std::io::Error),
}

/// 32 random bits naming this process's run of the server.
fn instance_id() -> u32 {
    let mut bytes = [0u8; 4];
    match drive::session_rng() {
        Ok(mut rng) => sstp_core::Random::fill(&mut rng, &mut bytes),
        // No OS randomness: the start time is still distinct per run.
        Err(_) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            bytes = (now.as_micros() as u32).to_be_bytes();
        }
    }
    u32::from_be_bytes(bytes)
}

/// What every task of one server shares (everything but the TUN device,
/// which the generic parts carry).
#[derive(Debug)]
pub(crate) struct Shared {
    /// The configuration in effect: a reload swaps in a new one whose
    /// settings that need a restart keep their running values.
    pub(crate) config: arc_swap::ArcSwap<Config>,
    /// The sessions' settings; swapped on SIGHUP when EAP-TLS reloads.
    session_config: RwLock<Arc<sstp_core::ServerConfig>>,
    /// The EAP-TLS policy (`[auth.eap_tls]`), if configured.
    eap_tls: RwLock<Option<Arc<eap_tls::EapTlsPolicy>>>,
    tls: RwLock<Arc<TlsState>>,
    pub(crate) auth: Arc<dyn AuthBackend>,
    pub(crate) pools: Arc<AddressPools>,
    pub(crate) router: Arc<Router>,
    pub(crate) metrics: Arc<Metrics>,
    /// `limits.max_sessions`, resized by a reload.
    pub(crate) session_slots: reload::Slots,
    /// `limits.max_unauthenticated`, resized by a reload.
    pub(crate) unauthenticated_slots: reload::Slots,
    pub(crate) next_id: AtomicU64,
    /// Random per process: with the session id, the accounting session id
    /// is unique across restarts and nodes.
    pub(crate) instance: u32,
    /// RADIUS accounting, when `[radius]` has it on.
    pub(crate) accounting: std::sync::OnceLock<Arc<radius::Accounting>>,
    /// The named pools and the networks behind clients (for the
    /// client-to-client policy); swapped with the configuration.
    pub(crate) client_nets: arc_swap::ArcSwap<Vec<ipnet::Ipv4Net>>,
    /// The live sessions, for Disconnect and CoA requests.
    pub(crate) live: Arc<sessions::Sessions>,
    /// The RADIUS servers' health, for `/healthz`.
    pub(crate) radius: std::sync::OnceLock<Arc<RadiusBackend>>,
    /// TUN write batches lent to sessions while they write (see `conn::BatchPool`).
    pub(crate) tun_batches: conn::BatchPool,
    /// Draining: no new sessions, `/healthz` 503, the sessions up stay.
    pub(crate) draining: std::sync::atomic::AtomicBool,
    /// When the server was made, for `status`.
    started: (std::time::Instant, std::time::SystemTime),
}

impl Shared {
    /// The settings new sessions start with.
    pub(crate) fn session_config(&self) -> Arc<sstp_core::ServerConfig> {
        Arc::clone(
            &self
                .session_config
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// The EAP-TLS policy, if certificates are taken.
    pub(crate) fn eap_tls_policy(&self) -> Option<Arc<eap_tls::EapTlsPolicy>> {
        self.eap_tls
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Puts a loaded EAP-TLS in place for new sessions.
    fn set_eap_tls(&self, loaded: eap_tls::EapTlsLoaded) {
        let mut session = (*self.session_config()).clone();
        session.auth.eap_tls = Some(loaded.session);
        *self
            .session_config
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(session);
        *self
            .eap_tls
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(loaded.policy);
    }

    /// The TLS state new handshakes use.
    pub(crate) fn tls(&self) -> Arc<TlsState> {
        Arc::clone(
            &self
                .tls
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Whether the server drains (no new sessions).
    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Updates the lease gauges from the pools.
    pub(crate) fn update_lease_gauges(&self) {
        let (v4, v6) = self.pools.in_use();
        self.metrics.ipv4_leases.set(v4 as i64);
        self.metrics.ipv6_leases.set(v6 as i64);
    }
}

/// A bound server, ready to [`run`](Self::run).
#[derive(Debug)]
pub struct Server<D> {
    shared: Arc<Shared>,
    listeners: Listeners,
    tun: Arc<D>,
}

/// The bound sockets of a server: the SSTP listen addresses and, unless
/// `http.metrics` is off, the metrics address.
///
/// Binding them before anything else lets a program fail fast, before it
/// changes the system (the `sstp-server` binary binds, then creates its TUN
/// device); [`Server::bind`] does both at once.
#[derive(Debug)]
pub struct Listeners {
    sstp: Vec<TcpListener>,
    local_addrs: Vec<SocketAddr>,
    /// `offload.listen`: plain HTTP behind a TLS offloader.
    offload: Vec<(TcpListener, SocketAddr)>,
    metrics: Option<(TcpListener, SocketAddr)>,
    /// `[radius.dae]`'s UDP socket.
    dae: Option<(tokio::net::UdpSocket, SocketAddr)>,
}

impl Listeners {
    /// Binds every `listen` address and `http.metrics_listen` (port 0 picks
    /// a free port). Needs a tokio runtime.
    pub fn bind(config: &Config) -> Result<Self, ServerError> {
        let bind = |addr: SocketAddr, setting| -> Result<_, ServerError> {
            let err = |error| ServerError::Bind {
                addr,
                setting,
                error,
            };
            let listener = listener::bind(addr).map_err(err)?;
            let local = listener.local_addr().map_err(err)?;
            Ok((listener, local))
        };
        let mut sstp = Vec::with_capacity(config.listen.len());
        let mut local_addrs = Vec::with_capacity(config.listen.len());
        for addr in &config.listen {
            let (listener, local) = bind(*addr, "listen")?;
            sstp.push(listener);
            local_addrs.push(local);
        }
        let mut offload = Vec::new();
        for addr in config.offload.iter().flat_map(|o| &o.listen) {
            offload.push(bind(*addr, "offload.listen")?);
        }
        let metrics = if config.http.metrics {
            Some(bind(config.http.metrics_listen, "http.metrics_listen")?)
        } else {
            None
        };
        let dae = match config.radius.as_ref().and_then(|r| r.dae.as_ref()) {
            Some(dae) => {
                let addr = dae.listen;
                let err = |error| ServerError::Bind {
                    addr,
                    setting: "radius.dae.listen",
                    error,
                };
                let socket = std::net::UdpSocket::bind(addr).map_err(err)?;
                socket.set_nonblocking(true).map_err(err)?;
                let local = socket.local_addr().map_err(err)?;
                Some((tokio::net::UdpSocket::from_std(socket).map_err(err)?, local))
            }
            None => None,
        };
        Ok(Self {
            sstp,
            local_addrs,
            offload,
            metrics,
            dae,
        })
    }

    /// The SSTP addresses actually bound, in `listen` order.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    /// The metrics address actually bound; `None` when `http.metrics` is off.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(_, addr)| *addr)
    }

    /// The plain-HTTP addresses actually bound (`offload.listen`).
    pub fn offload_addrs(&self) -> Vec<SocketAddr> {
        self.offload.iter().map(|(_, addr)| *addr).collect()
    }

    /// The Disconnect/CoA address actually bound (`radius.dae.listen`).
    pub fn dae_addr(&self) -> Option<SocketAddr> {
        self.dae.as_ref().map(|(_, addr)| *addr)
    }
}

/// Controls a running server from elsewhere: reload the certificate,
/// reserve fixed addresses, read counters. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ServerHandle {
    shared: Arc<Shared>,
}

impl<D: TunDevice + 'static> Server<D> {
    /// Checks `config` and `identity` ([`TlsIdentity::check`]; its warnings
    /// are for the caller to show), binds every listen address (port 0 picks a free
    /// port; see [`local_addrs`](Self::local_addrs)) and prepares the
    /// pools. `tun` carries every session's packets; it should already have
    /// the server addresses (the binary sets them on a Linux TUN).
    pub async fn bind(
        config: Config,
        identity: TlsIdentity,
        tun: D,
        auth: Arc<dyn AuthBackend>,
    ) -> Result<Self, ServerError> {
        config.validate()?;
        let listeners = Listeners::bind(&config)?;
        Self::with_listeners(config, identity, listeners, tun, auth)
    }

    /// Like [`bind`](Self::bind), on sockets already bound with
    /// [`Listeners::bind`] for this `config`.
    pub fn with_listeners(
        config: Config,
        identity: TlsIdentity,
        listeners: Listeners,
        tun: D,
        auth: Arc<dyn AuthBackend>,
    ) -> Result<Self, ServerError> {
        config.validate()?;
        identity.check(config.tls.min_version)?;
        let eap_tls = config
            .auth
            .eap_tls
            .as_ref()
            .map(|c| eap_tls::EapTlsLoaded::load(c, &identity))
            .transpose()
            .map_err(|e| ConfigError::Invalid(format!("[auth.eap_tls]: {e}")))?;
        let tls = TlsState::new(identity, config.tls.min_version)?;
        let v4 = Ipv4Pool::new(config.network.ipv4_pool)
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        let v6 = config
            .network
            .ipv6_pool
            .map(Ipv6Pool::new)
            .transpose()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        let mut session_config = config.session_config();
        // A backend that runs EAP methods (RADIUS) gets EAP relayed.
        session_config.auth.eap_relay = auth.relays_eap();
        let mut named = Vec::with_capacity(config.network.pools.len());
        for (name, net) in &config.network.pools {
            let pool = Ipv4Pool::new(*net)
                .map_err(|e| ConfigError::Invalid(format!("network.pools.{name}: {e}")))?;
            named.push((name.clone(), pool));
        }
        let client_nets = config
            .network
            .pools
            .values()
            .chain(&config.network.routed_networks)
            .copied()
            .collect();
        let shared = Arc::new(Shared {
            session_config: RwLock::new(Arc::new(session_config)),
            eap_tls: RwLock::new(None),
            session_slots: reload::Slots::new(config.limits.max_sessions),
            unauthenticated_slots: reload::Slots::new(config.limits.max_unauthenticated),
            config: arc_swap::ArcSwap::from_pointee(config),
            tls: RwLock::new(Arc::new(tls)),
            auth,
            pools: Arc::new(AddressPools::new(v4, v6).with_named(named)),
            router: Arc::new(Router::default()),
            metrics: Arc::new(Metrics::new()),
            next_id: AtomicU64::new(1),
            instance: instance_id(),
            accounting: std::sync::OnceLock::new(),
            live: Arc::default(),
            client_nets: arc_swap::ArcSwap::from_pointee(client_nets),
            radius: std::sync::OnceLock::new(),
            tun_batches: conn::BatchPool::default(),
            draining: std::sync::atomic::AtomicBool::new(false),
            started: (std::time::Instant::now(), std::time::SystemTime::now()),
        });
        if let Some(loaded) = eap_tls {
            shared.set_eap_tls(loaded);
        }
        Ok(Self {
            shared,
            listeners,
            tun: Arc::new(tun),
        })
    }

    /// The addresses actually bound, in `listen` order.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        self.listeners.local_addrs()
    }

    /// Where Disconnect and CoA requests are taken (`radius.dae.listen`).
    pub fn dae_addr(&self) -> Option<SocketAddr> {
        self.listeners.dae_addr()
    }

    /// Where `/metrics` is served (plain HTTP); `None` when `http.metrics`
    /// is off.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.listeners.metrics_addr()
    }

    /// The plain-HTTP SSTP addresses bound for a TLS offloader
    /// (`offload.listen`).
    pub fn offload_addrs(&self) -> Vec<SocketAddr> {
        self.listeners.offload_addrs()
    }

    /// A handle for reloads and counters.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Serves until `shutdown` resolves, then shuts down gracefully: stops
    /// accepting, closes every session (LCP Terminate and SSTP Call
    /// Disconnect, MS-SSTP 3.2.4.2), gives each a short bound (0.4 s) to
    /// finish before closing its TLS, waits up to `limits.shutdown_grace` in
    /// all, and drops the rest. Returns an error only if the TUN
    /// device failed.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), ServerError> {
        let Listeners {
            sstp,
            offload,
            metrics,
            dae,
            ..
        } = self.listeners;
        let sstp = sstp
            .into_iter()
            .map(|l| (l, listener::Kind::Tls))
            .chain(offload.into_iter().map(|(l, _)| (l, listener::Kind::Plain)))
            .collect();
        let metrics = metrics.map(|(listener, _)| listener);
        let config = self.shared.config.load_full();
        let dae = match (dae, config.radius.as_ref().and_then(|r| r.dae.as_ref())) {
            (Some((socket, _)), Some(settings)) => {
                let mut clients = Vec::with_capacity(settings.clients.len());
                for client in &settings.clients {
                    clients.push((client.address, client.read_secret()?));
                }
                let radius = config.radius.as_ref();
                let listener = radius::Dae {
                    socket,
                    clients,
                    replay_window: settings.replay_window,
                    nas_identifier: radius.map(|r| r.nas_identifier.clone()).unwrap_or_default(),
                    sessions: Arc::clone(&self.shared.live),
                    metrics: Arc::clone(&self.shared.metrics.radius),
                };
                Some(tokio::spawn(listener.run()))
            }
            _ => None,
        };
        let accounting = self.shared.accounting.get().cloned();
        let sender = accounting.as_ref().map(|a| {
            a.begin();
            tokio::spawn(Arc::clone(a).run())
        });
        let result =
            listener::serve(Arc::clone(&self.shared), sstp, metrics, self.tun, shutdown).await;
        if let Some(dae) = dae {
            dae.abort();
        }
        if let (Some(accounting), Some(sender)) = (accounting, sender) {
            // Every session's Stop is queued by now (their tasks are gone).
            accounting.end(ACCOUNTING_FLUSH).await;
            sender.abort();
        }
        result
    }

    /// Asks `radius` (the backend the server was made with, or one that
    /// only does accounting) for RADIUS accounting, if `radius.accounting`
    /// is on, and reports its servers in the metrics and `/healthz`.
    pub fn with_radius(self, radius: &Arc<RadiusBackend>) -> Self {
        if let Some(accounting) = radius.attach(&self.shared.metrics.radius) {
            let _ = self.shared.accounting.set(Arc::new(accounting));
        }
        let _ = self.shared.radius.set(Arc::clone(radius));
        self
    }
}

/// At shutdown, how long accounting may take to send what is queued
/// (Accounting-Off and the last Stops) before the rest goes to the spool.
const ACCOUNTING_FLUSH: std::time::Duration = std::time::Duration::from_secs(3);

impl ServerHandle {
    /// Swaps in a new certificate and key for new connections; sessions
    /// that are up keep theirs (the SIGHUP reload). A chain or key that
    /// [`TlsIdentity::check`] refuses is not swapped in: the old one stays.
    /// Returns the new leaf's SHA-256 fingerprint.
    pub fn reload_tls(&self, identity: TlsIdentity) -> Result<String, TlsError> {
        identity.check(self.shared.config.load().tls.min_version)?;
        let state = TlsState::new(identity, self.shared.config.load().tls.min_version)?;
        let fingerprint = state.fingerprint.clone();
        *self
            .shared
            .tls
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(state);
        self.shared.metrics.tls_reloads.inc();
        Ok(fingerprint)
    }

    /// Reads `[auth.eap_tls]` again (CAs, CRLs, the revoked list, the inner
    /// certificate) for new sessions; sessions that are up keep theirs (the
    /// SIGHUP reload). The inner certificate defaults to `identity`, the
    /// server's TLS certificate. On an error the old policy stays. Returns
    /// `None` when EAP-TLS is not configured.
    pub fn reload_eap_tls(
        &self,
        identity: &TlsIdentity,
    ) -> Option<Result<(), eap_tls::PolicyError>> {
        let config = self.shared.config.load();
        let config = config.auth.eap_tls.as_ref()?;
        Some(
            eap_tls::EapTlsLoaded::load(config, identity)
                .map(|loaded| self.shared.set_eap_tls(loaded)),
        )
    }

    /// The SHA-256 fingerprint of the certificate new connections get.
    pub fn tls_fingerprint(&self) -> String {
        self.shared.tls().fingerprint.clone()
    }

    /// Keeps users' fixed addresses out of dynamic allocation (call again
    /// after reloading the users file; it replaces the previous set).
    /// Returns the addresses that are not client addresses of the pools.
    pub fn reserve_fixed_addresses(
        &self,
        ipv4: impl IntoIterator<Item = Ipv4Addr>,
        ipv6: impl IntoIterator<Item = Ipv6Net>,
    ) -> Vec<PoolError> {
        self.shared.pools.set_reservations(ipv4, ipv6)
    }

    /// SSTP sessions that are up.
    pub fn active_sessions(&self) -> i64 {
        self.shared.metrics.sessions_active.get()
    }

    /// (IPv4 addresses, IPv6 prefixes) leased right now.
    pub fn leases_in_use(&self) -> (usize, usize) {
        self.shared.pools.in_use()
    }

    /// Routes installed in the router (IPv4, IPv6).
    pub fn routes(&self) -> (usize, usize) {
        self.shared.router.len()
    }

    /// The Prometheus text exposition `/metrics` serves (on
    /// `http.metrics_listen`).
    pub fn metrics_text(&self) -> String {
        self.shared.metrics.encode()
    }

    /// The sessions that are up and that `filter` names (all with an empty
    /// filter), by session number, each with its traffic so far.
    pub async fn sessions(&self, filter: &SessionFilter) -> Vec<SessionInfo> {
        let found = self.shared.live.filter(filter);
        futures_util::future::join_all(
            found
                .into_iter()
                .map(|(id, entry)| sessions::describe(id, entry)),
        )
        .await
    }

    /// Ends the sessions `filter` names, as an administrator (LCP
    /// Terminate and Call Disconnect, MS-SSTP 3.2.5.4; RADIUS Stop with
    /// Acct-Terminate-Cause Admin-Reset, RFC 2866 §5.10), and returns them.
    /// An empty filter names nothing: ending every session is a shutdown.
    pub async fn disconnect(&self, filter: &SessionFilter) -> Vec<SessionInfo> {
        if filter.is_empty() {
            return Vec::new();
        }
        let ended = self.sessions(filter).await;
        for (id, entry) in self.shared.live.filter(filter) {
            if ended.iter().any(|s| s.id == id) {
                info!(
                    session = id,
                    user = %entry.user,
                    "disconnecting the session on an administrator's request"
                );
                // Full only if the session is busy with orders already; it
                // is ending then or will read this one next.
                let _ = entry
                    .control
                    .try_send(sessions::Control::End(Ending::AdminReset));
            }
        }
        ended
    }

    /// Starts (`true`) or ends draining: while draining, new SSTP
    /// requests get `503 Service Unavailable` and `/healthz` answers 503,
    /// so a load balancer sends new clients to other nodes; the sessions
    /// that are up stay. Returns whether it was draining before.
    pub fn set_draining(&self, on: bool) -> bool {
        let was = self.shared.draining.swap(on, Ordering::SeqCst);
        if was != on {
            if on {
                info!(
                    sessions = self.shared.live.len(),
                    "draining: no new sessions; the sessions that are up stay"
                );
            } else {
                info!("draining ended: new sessions are taken again");
            }
        }
        self.shared.metrics.draining.set(i64::from(on));
        was
    }

    /// Puts a new configuration in place for new sessions: limits,
    /// methods, timeouts, DNS, routed networks and the client-to-client
    /// policy take effect at once; the settings that need a restart keep
    /// their running values and are named in the report (and logged). A
    /// configuration that does not validate changes nothing. Sessions that
    /// are up keep what they negotiated.
    ///
    /// The users file, the certificate and the EAP-TLS policy are read
    /// again by the caller ([`StaticUsers::reload_and_compare`],
    /// [`reload_tls`](Self::reload_tls),
    /// [`reload_eap_tls`](Self::reload_eap_tls)); RADIUS servers through
    /// [`RadiusBackend::reload`].
    pub fn apply_config(&self, config: Config) -> control::ReloadReport {
        let report = reload::apply(&self.shared, config);
        let result = if report.ok() { "ok" } else { "failed" };
        self.shared
            .metrics
            .reloads
            .get_or_create(&[("result", result)])
            .inc();
        report
    }

    /// The configuration in effect.
    pub fn config(&self) -> Arc<Config> {
        self.shared.config.load_full()
    }

    /// Ends the sessions of `users` that this server's users file let in
    /// (not those a RADIUS server accepted), as an administrator would:
    /// what a reload does for users removed or disabled. Returns how many
    /// were told to end.
    pub fn end_sessions_of(&self, users: &[String]) -> usize {
        let mut ended = 0;
        for user in users {
            for (id, entry) in self.shared.live.of_user(user) {
                if entry.about.remote {
                    continue;
                }
                info!(
                    session = id,
                    user = %entry.user,
                    "ending the session: the user was removed or disabled in the users file"
                );
                if entry
                    .control
                    .try_send(sessions::Control::End(Ending::AdminReset))
                    .is_ok()
                {
                    ended += 1;
                }
            }
        }
        ended
    }

    /// Whether the server is draining ([`set_draining`](Self::set_draining)).
    pub fn is_draining(&self) -> bool {
        self.shared.is_draining()
    }

    /// The server's state at a glance (`sstp-server status`).
    pub fn status(&self) -> Status {
        let (ipv4_leases, ipv6_leases) = self.leases_in_use();
        let radius = self.shared.radius.get().map_or_else(Vec::new, |r| {
            r.server_states()
                .into_iter()
                .map(|s| RadiusServerStatus {
                    name: s.name,
                    alive: s.alive,
                    last_answer_secs: s.last_response.map(|d| d.as_secs()),
                })
                .collect()
        });
        let config = self.shared.config.load();
        Status {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            up_since: self
                .shared
                .started
                .1
                .duration_since(std::time::SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            uptime_secs: self.shared.started.0.elapsed().as_secs(),
            draining: self.is_draining(),
            sessions: self.shared.live.len(),
            max_sessions: config.limits.max_sessions,
            unauthenticated: self.shared.metrics.unauthenticated.get().max(0) as usize,
            ipv4_leases,
            ipv6_leases,
            certificate_sha256: self.tls_fingerprint(),
            radius,
        }
    }
}

/// What `sstp-server status` shows.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Status {
    /// The server's version.
    pub version: String,
    /// When it started, in seconds since the Unix epoch.
    pub up_since: u64,
    /// Seconds since it started.
    pub uptime_secs: u64,
    /// Whether it is draining (no new sessions).
    pub draining: bool,
    /// Sessions that are up.
    pub sessions: usize,
    /// `limits.max_sessions`.
    pub max_sessions: usize,
    /// Connections that have not authenticated yet.
    pub unauthenticated: usize,
    /// IPv4 addresses leased.
    pub ipv4_leases: usize,
    /// IPv6 prefixes leased.
    pub ipv6_leases: usize,
    /// The SHA-256 fingerprint of the certificate new connections get.
    pub certificate_sha256: String,
    /// The RADIUS servers, if any, and their health.
    pub radius: Vec<RadiusServerStatus>,
}

/// One RADIUS server in [`Status`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RadiusServerStatus {
    /// Its name (`address` or `address:port`).
    pub name: String,
    /// Whether requests go to it (not skipped as dead).
    pub alive: bool,
    /// Seconds since its last verified answer, if it ever answered.
    pub last_answer_secs: Option<u64>,
}
