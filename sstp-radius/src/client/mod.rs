//! The async RADIUS client: one UDP socket per address family, one receive
//! task per socket that matches answers to requests, retransmission with
//! backoff, failover in priority order, dead servers and their revival.
//!
//! [`RadiusClient`]'s docs say how a request goes.

mod table;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rand::Rng as _;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use zeroize::Zeroizing;

use crate::crypt::MppeError;
use crate::packet::{Code, EmitError, MAX_PACKET_LEN, Packet};
use crate::request::Request;
use crate::secret::Secret;
use crate::verify::{VerifyError, verify_response};
use crate::{attr, decrypt_mppe_key, ms};
use table::{Answer, IdTable, Lease, Lookup, Pending};

/// The longest wait between two transmissions, unless the configured
/// timeout is longer: RFC 5080 §2.2.1's MRT.
pub const MAX_RETRANSMIT_WAIT: Duration = Duration::from_secs(16);

/// Which port of a server a request goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Service {
    /// Authentication (usually port 1812): Access-Request, Status-Server.
    Auth,
    /// Accounting (usually port 1813): Accounting-Request, Status-Server.
    Acct,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auth => "authentication",
            Self::Acct => "accounting",
        })
    }
}

/// One RADIUS server. Build it with [`ServerConfig::new`] and set the
/// fields.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The name used in logs, errors, [`Reply::server`] and the
    /// [`Observer`].
    pub name: String,
    /// The authentication port, if this server authenticates.
    pub auth: Option<SocketAddr>,
    /// The accounting port, if this server takes accounting.
    pub acct: Option<SocketAddr>,
    /// The shared secret (never printed).
    pub secret: Secret,
    /// The wait for an answer before the first retransmission; later waits
    /// double. Default 3 s.
    pub timeout: Duration,
    /// Retransmissions before the server is marked dead. Default 2.
    pub retries: u32,
}

impl ServerConfig {
    /// A server with no ports yet, a timeout of 3 s and 2 retries.
    pub fn new(name: impl Into<String>, secret: impl Into<Secret>) -> Self {
        Self {
            name: name.into(),
            auth: None,
            acct: None,
            secret: secret.into(),
            timeout: Duration::from_secs(3),
            retries: 2,
        }
    }

    /// Sets the authentication port.
    #[must_use]
    pub const fn auth(mut self, addr: SocketAddr) -> Self {
        self.auth = Some(addr);
        self
    }

    /// Sets the accounting port.
    #[must_use]
    pub const fn acct(mut self, addr: SocketAddr) -> Self {
        self.acct = Some(addr);
        self
    }

    const fn addr(&self, service: Service) -> Option<SocketAddr> {
        match service {
            Service::Auth => self.auth,
            Service::Acct => self.acct,
        }
    }
}

/// The client's configuration. Build it with [`ClientConfig::new`] and set
/// the fields.
#[derive(Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The servers in priority order.
    pub servers: Vec<ServerConfig>,
    /// How long a server that did not answer stays dead (skipped while
    /// another is alive). Default 30 s. With `status_server` on, a dead
    /// server is revived by an answered probe instead, however long that
    /// takes.
    pub dead_time: Duration,
    /// Probe dead servers with Status-Server (RFC 5997) every
    /// `probe_interval` and revive those that answer. Default off: the
    /// server must be configured to answer Status-Server (FreeRADIUS:
    /// `status_server = yes`, its default).
    pub status_server: bool,
    /// How often dead servers are probed. Default 5 s.
    pub probe_interval: Duration,
    /// The local address of the IPv4 socket. Default `0.0.0.0:0`.
    pub bind_v4: SocketAddr,
    /// The local address of the IPv6 socket. Default `[::]:0`.
    pub bind_v6: SocketAddr,
    /// Told about every transmission, answer, drop and change of health.
    /// Default: nobody.
    pub observer: Arc<dyn Observer>,
}

impl ClientConfig {
    /// A configuration for these servers, in priority order, with the
    /// defaults above.
    pub fn new(servers: Vec<ServerConfig>) -> Self {
        Self {
            servers,
            dead_time: Duration::from_secs(30),
            status_server: false,
            probe_interval: Duration::from_secs(5),
            bind_v4: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
            bind_v6: SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
            observer: Arc::new(NoObserver),
        }
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("servers", &self.servers)
            .field("dead_time", &self.dead_time)
            .field("status_server", &self.status_server)
            .field("probe_interval", &self.probe_interval)
            .field("bind_v4", &self.bind_v4)
            .field("bind_v6", &self.bind_v6)
            .finish_non_exhaustive()
    }
}

/// What the client tells an observer (metrics, logs). Every method has an
/// empty default; calls come from the task that sees the event and must
/// not block.
pub trait Observer: Send + Sync {
    /// A request's first transmission to a server.
    fn request_sent(&self, server: &str, code: Code, identifier: u8) {
        let _ = (server, code, identifier);
    }

    /// A retransmission (`attempt` counts from 1).
    fn retransmitted(&self, server: &str, code: Code, identifier: u8, attempt: u32) {
        let _ = (server, code, identifier, attempt);
    }

    /// A server did not answer a request after all its retransmissions.
    fn timed_out(&self, server: &str, code: Code) {
        let _ = (server, code);
    }

    /// A verified answer, `latency` after the request's first transmission
    /// to this server (under that identifier).
    fn response(&self, server: &str, code: Code, latency: Duration) {
        let _ = (server, code, latency);
    }

    /// A datagram dropped; `server` is `None` when it came from an address
    /// no server has.
    fn dropped(&self, server: Option<&str>, reason: DropReason) {
        let _ = (server, reason);
    }

    /// A server marked dead.
    fn server_dead(&self, server: &str) {
        let _ = server;
    }

    /// A dead server back: it answered, or its dead time passed.
    fn server_alive(&self, server: &str) {
        let _ = server;
    }
}

#[derive(Debug)]
struct NoObserver;

impl Observer for NoObserver {}

/// Why a received datagram was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// The Response Authenticator or the Message-Authenticator does not
    /// match: a wrong secret, or a forgery.
    BadAuthenticator,
    /// An answer to an Access-Request without a Message-Authenticator
    /// (BlastRADIUS).
    NoMessageAuthenticator,
    /// No request in flight has this identifier: never sent, or already
    /// answered (a duplicate).
    UnknownIdentifier,
    /// From an address and port no configured server has.
    UnknownSource,
    /// A code that does not answer the request's.
    UnexpectedCode,
    /// Not a RADIUS packet: truncated, oversized or malformed.
    Malformed,
}

/// How many datagrams were dropped, by reason, since the client started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DropCounts {
    /// [`DropReason::BadAuthenticator`].
    pub bad_authenticator: u64,
    /// [`DropReason::NoMessageAuthenticator`].
    pub no_message_authenticator: u64,
    /// [`DropReason::UnknownIdentifier`].
    pub unknown_identifier: u64,
    /// [`DropReason::UnknownSource`].
    pub unknown_source: u64,
    /// [`DropReason::UnexpectedCode`].
    pub unexpected_code: u64,
    /// [`DropReason::Malformed`].
    pub malformed: u64,
}

/// A server's health, for health checks.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerState {
    /// The server's name.
    pub name: String,
    /// Whether requests go to it first.
    pub alive: bool,
    /// How long ago it last sent a verified answer, if ever.
    pub last_response: Option<Duration>,
}

/// A verified answer.
#[non_exhaustive]
pub struct Reply {
    /// The name of the server that answered.
    pub server: String,
    /// The answer.
    pub packet: Packet,
    /// The Request Authenticator it answered (what MS-MPPE keys are
    /// encrypted with).
    pub request_authenticator: [u8; 16],
    /// From the transmission answered to the answer.
    pub latency: Duration,
    secret: Arc<Secret>,
}

impl Reply {
    /// The answer's code.
    pub const fn code(&self) -> Code {
        self.packet.code
    }

    /// The decrypted MS-MPPE-Send-Key (RFC 2548 §2.4.2): the key for what
    /// the NAS sends to the peer.
    pub fn mppe_send_key(&self) -> Result<Option<Zeroizing<Vec<u8>>>, MppeError> {
        self.mppe_key(ms::MPPE_SEND_KEY)
    }

    /// The decrypted MS-MPPE-Recv-Key (RFC 2548 §2.4.3): the key for what
    /// the NAS receives from the peer.
    pub fn mppe_recv_key(&self) -> Result<Option<Zeroizing<Vec<u8>>>, MppeError> {
        self.mppe_key(ms::MPPE_RECV_KEY)
    }

    fn mppe_key(&self, vendor_type: u8) -> Result<Option<Zeroizing<Vec<u8>>>, MppeError> {
        self.packet
            .vendor_attribute(ms::VENDOR_ID, vendor_type)
            .map(|v| decrypt_mppe_key(v, &self.request_authenticator, self.secret.expose()))
            .transpose()
    }

    /// The EAP packet of the answer's EAP-Message attributes, joined (RFC
    /// 3579 §3.1).
    pub fn eap_message(&self) -> Option<Vec<u8>> {
        self.packet.eap_message()
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply")
            .field("server", &self.server)
            .field("packet", &self.packet)
            .field("latency", &self.latency)
            .finish_non_exhaustive()
    }
}

/// Why a request got no answer, by who is at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The configuration has no server for this service.
    #[error("no RADIUS server is configured for {0}")]
    NoServer(Service),
    /// A request code that does not go to this service's port (the
    /// caller's mistake).
    #[error("a {code} does not go to the {service} port")]
    WrongService {
        /// The request's code.
        code: Code,
        /// The service asked for.
        service: Service,
    },
    /// Every server was tried and none sent a verified answer: each timed
    /// out after its retransmissions, or kept all 256 identifiers of its
    /// port in flight that long (answers that did arrive failed
    /// verification: see [`RadiusClient::dropped`]).
    #[error("no RADIUS server answered: {} timed out", .servers.join(", "))]
    NoAnswer {
        /// The servers tried, in order.
        servers: Vec<String>,
    },
    /// The request does not fit RADIUS (over 4096 bytes, a value over 253,
    /// a password over 128...): the caller's.
    #[error("the request cannot be sent: {0}")]
    Request(#[from] EmitError),
    /// A socket could not be made, or every server was unreachable from it.
    #[error("RADIUS socket error: {0}")]
    Socket(#[from] io::Error),
}

/// A RADIUS client for a NAS. Cheap to clone (the clones share one set of
/// sockets and tasks); the tasks stop when the last clone is dropped.
///
/// How a [`send`](Self::send) goes:
///
/// 1. The servers that serve the service are tried in order, live ones
///    first, then dead ones (a dead server is still tried rather than
///    refusing without trying).
/// 2. For each, the request takes a free identifier of that server's port
///    (waiting, bounded by the server's whole retransmission schedule, if
///    all 256 are in flight), is encoded with the server's secret and a
///    fresh Request Authenticator from the OS-seeded CSPRNG
///    ([`rand::rng`]), and is sent.
/// 3. With no verified answer after `timeout`, the same bytes go again
///    (same identifier and authenticator, as RFC 5080 §2.2.1 asks), after
///    2×, 4× … the timeout (each wait at most
///    [`MAX_RETRANSMIT_WAIT`] or the timeout if that is longer), `retries`
///    times. Then the server is marked dead for `dead_time` and the request
///    moves to the next server, encoded anew for its secret.
/// 4. Accounting-Request with an Acct-Delay-Time (RFC 2866 §5.2): each
///    transmission carries the seconds since `send` began; when that value
///    changes the packet changes, so it takes a new identifier and
///    authenticator (RFC 5080 §2.2.1 forbids changing a packet under an old
///    identifier). The earlier identifiers stay live until the request
///    ends, so a late answer to an earlier copy still counts.
/// 5. A dead server is alive again when its `dead_time` has passed or,
///    with `status_server`, when it answers a Status-Server probe (RFC
///    5997); any verified answer revives it at once.
///
/// The receive task drops, counts ([`DropCounts`]) and reports
/// ([`Observer::dropped`]) every datagram that is not a verified answer to
/// an outstanding request: from an unknown address, for an identifier
/// not in flight (never sent or already answered), with a wrong
/// authenticator or Message-Authenticator, without the Message-Authenticator
/// an answer to an Access-Request needs, with a code that does not answer
/// the request, or not a RADIUS packet at all (truncated, oversized,
/// malformed).
///
/// ```no_run
/// # async fn f() -> Result<(), sstp_radius::ClientError> {
/// use sstp_radius::{attr, ClientConfig, RadiusClient, Request, ServerConfig, Service};
/// let server = ServerConfig::new("radius-1", "s3cret").auth("192.0.2.1:1812".parse().unwrap());
/// let client = RadiusClient::new(ClientConfig::new(vec![server])).await?;
/// let request = Request::access_request()
///     .attribute(attr::USER_NAME, "alice")
///     .user_password(b"hello");
/// let reply = client.send(Service::Auth, request).await?;
/// println!("{} from {}", reply.code(), reply.server);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct RadiusClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

struct Shared {
    servers: Vec<Server>,
    v4: Option<Arc<UdpSocket>>,
    v6: Option<Arc<UdpSocket>>,
    /// One identifier table per server port; fixed after start.
    tables: HashMap<SocketAddr, Arc<IdTable>>,
    /// Which server each port belongs to (the first, if two share one).
    owners: HashMap<SocketAddr, usize>,
    dead_time: Duration,
    status_server: bool,
    probe_interval: Duration,
    observer: Arc<dyn Observer>,
    drops: [AtomicU64; 6],
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("servers", &self.servers.len())
            .finish_non_exhaustive()
    }
}

struct Server {
    config: ServerConfig,
    secret: Arc<Secret>,
    health: Mutex<Health>,
}

#[derive(Debug, Default)]
struct Health {
    /// Set while dead: until when (without probing).
    dead_until: Option<Instant>,
    last_response: Option<Instant>,
}

/// How one server's attempt at a request ended, short of an answer.
enum Failure {
    TimedOut,
    /// Every identifier of the port stayed in flight for the whole wait.
    Busy,
    Send(io::Error),
    Fatal(ClientError),
}

impl RadiusClient {
    /// Binds a socket for each address family the servers use and starts
    /// the receive tasks (and the Status-Server prober). Must be called
    /// inside a tokio runtime.
    pub async fn new(config: ClientConfig) -> Result<Self, ClientError> {
        let addrs: Vec<SocketAddr> = config
            .servers
            .iter()
            .flat_map(|s| [s.auth, s.acct])
            .flatten()
            .collect();
        let v4 = if addrs.iter().any(SocketAddr::is_ipv4) {
            Some(Arc::new(UdpSocket::bind(config.bind_v4).await?))
        } else {
            None
        };
        let v6 = if addrs.iter().any(SocketAddr::is_ipv6) {
            Some(Arc::new(UdpSocket::bind(config.bind_v6).await?))
        } else {
            None
        };
        let mut tables = HashMap::new();
        let mut owners = HashMap::new();
        for (i, s) in config.servers.iter().enumerate() {
            for addr in [s.auth, s.acct].into_iter().flatten() {
                tables.entry(addr).or_insert_with(IdTable::new);
                owners.entry(addr).or_insert(i);
            }
        }
        let servers = config
            .servers
            .into_iter()
            .map(|c| Server {
                secret: Arc::new(c.secret.clone()),
                config: c,
                health: Mutex::new(Health::default()),
            })
            .collect();
        let shared = Arc::new(Shared {
            servers,
            v4,
            v6,
            tables,
            owners,
            dead_time: config.dead_time,
            status_server: config.status_server,
            probe_interval: config.probe_interval,
            observer: config.observer,
            drops: Default::default(),
        });
        let mut tasks = Vec::new();
        for socket in [&shared.v4, &shared.v6].into_iter().flatten() {
            tasks.push(tokio::spawn(receive(
                Arc::clone(&shared),
                Arc::clone(socket),
            )));
        }
        if shared.status_server {
            tasks.push(tokio::spawn(probe(Arc::clone(&shared))));
        }
        Ok(Self {
            inner: Arc::new(Inner { shared, tasks }),
        })
    }

    /// Sends `request` to the servers of `service` until one answers (see
    /// the module docs for the order, the retransmissions and the
    /// failover) and returns the verified answer. Dropping the future
    /// gives its identifiers back.
    pub async fn send(&self, service: Service, request: Request) -> Result<Reply, ClientError> {
        let code = request.code();
        let fits = match service {
            Service::Auth => matches!(code, Code::AccessRequest | Code::StatusServer),
            Service::Acct => matches!(code, Code::AccountingRequest | Code::StatusServer),
        };
        if !fits {
            return Err(ClientError::WrongService { code, service });
        }
        let shared = &self.inner.shared;
        let now = Instant::now();
        let mut order: Vec<(usize, SocketAddr)> = shared
            .servers
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.config.addr(service).map(|a| (i, a)))
            .collect();
        if order.is_empty() {
            return Err(ClientError::NoServer(service));
        }
        // Live servers first, then the dead, each in priority order.
        let alive: Vec<bool> = (0..shared.servers.len())
            .map(|i| shared.is_alive(i, now))
            .collect();
        order.sort_by_key(|&(i, _)| !alive[i]);
        let started = Instant::now();
        let mut tried = Vec::new();
        let mut send_error = None;
        for (i, addr) in order {
            match shared.attempt(i, addr, &request, started).await {
                Ok(reply) => return Ok(reply),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::TimedOut | Failure::Busy) => {
                    tried.push(shared.servers[i].config.name.clone());
                }
                Err(Failure::Send(e)) => {
                    tracing::warn!(server = %shared.servers[i].config.name, error = %e, "RADIUS send failed");
                    send_error = Some(e);
                }
            }
        }
        match send_error {
            Some(e) if tried.is_empty() => Err(ClientError::Socket(e)),
            _ => Err(ClientError::NoAnswer { servers: tried }),
        }
    }

    /// Every server's health, in priority order.
    pub fn server_states(&self) -> Vec<ServerState> {
        let shared = &self.inner.shared;
        let now = Instant::now();
        (0..shared.servers.len())
            .map(|i| {
                let alive = shared.is_alive(i, now);
                let s = &shared.servers[i];
                let last = s.health().last_response;
                ServerState {
                    name: s.config.name.clone(),
                    alive,
                    last_response: last.map(|t| now.saturating_duration_since(t)),
                }
            })
            .collect()
    }

    /// The datagrams dropped so far, by reason.
    pub fn dropped(&self) -> DropCounts {
        let d = &self.inner.shared.drops;
        let n = |r: DropReason| d[r as usize].load(Ordering::Relaxed);
        DropCounts {
            bad_authenticator: n(DropReason::BadAuthenticator),
            no_message_authenticator: n(DropReason::NoMessageAuthenticator),
            unknown_identifier: n(DropReason::UnknownIdentifier),
            unknown_source: n(DropReason::UnknownSource),
            unexpected_code: n(DropReason::UnexpectedCode),
            malformed: n(DropReason::Malformed),
        }
    }

    /// The local address of the socket that talks to `family_of` (tests
    /// forge from elsewhere).
    #[cfg(test)]
    fn local_addr(&self, family_of: SocketAddr) -> SocketAddr {
        self.inner
            .shared
            .socket(family_of)
            .and_then(|s| s.local_addr().ok())
            .expect("a socket for the family")
    }

    #[cfg(test)]
    fn in_flight(&self, addr: SocketAddr) -> usize {
        self.inner.shared.tables[&addr].in_flight()
    }
}

impl Server {
    fn health(&self) -> std::sync::MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The whole retransmission schedule: timeout, 2×, 4× … capped.
    fn budget(&self) -> Duration {
        (0..=self.config.retries)
            .map(|n| backoff(self.config.timeout, n))
            .sum()
    }
}

/// The wait after transmission `n` (from 0): the timeout doubled `n` times,
/// at most [`MAX_RETRANSMIT_WAIT`] (or the timeout, if that is longer).
fn backoff(timeout: Duration, n: u32) -> Duration {
    let cap = timeout.max(MAX_RETRANSMIT_WAIT);
    timeout
        .checked_mul(2u32.saturating_pow(n))
        .unwrap_or(cap)
        .min(cap)
}

impl Shared {
    fn socket(&self, addr: SocketAddr) -> Option<&Arc<UdpSocket>> {
        match addr {
            SocketAddr::V4(_) => self.v4.as_ref(),
            SocketAddr::V6(_) => self.v6.as_ref(),
        }
    }

    /// Whether server `i` is alive now; a dead time that has passed (when
    /// not probing) revives it here.
    fn is_alive(&self, i: usize, now: Instant) -> bool {
        let s = &self.servers[i];
        let mut h = s.health();
        match h.dead_until {
            None => true,
            Some(until) if !self.status_server && now >= until => {
                h.dead_until = None;
                drop(h);
                tracing::info!(server = %s.config.name, "RADIUS server's dead time is over");
                self.observer.server_alive(&s.config.name);
                true
            }
            Some(_) => false,
        }
    }

    fn mark_dead(&self, i: usize) {
        let s = &self.servers[i];
        let mut h = s.health();
        let was_alive = h.dead_until.is_none();
        h.dead_until = Some(Instant::now() + self.dead_time);
        drop(h);
        if was_alive {
            tracing::warn!(server = %s.config.name, "RADIUS server marked dead");
            self.observer.server_dead(&s.config.name);
        }
    }

    fn mark_answered(&self, i: usize) {
        let s = &self.servers[i];
        let mut h = s.health();
        h.last_response = Some(Instant::now());
        let was_dead = h.dead_until.take().is_some();
        drop(h);
        if was_dead {
            tracing::info!(server = %s.config.name, "RADIUS server alive again");
            self.observer.server_alive(&s.config.name);
        }
    }

    fn drop_datagram(&self, server: Option<usize>, reason: DropReason) {
        self.drops[reason as usize].fetch_add(1, Ordering::Relaxed);
        let name = server.map(|i| self.servers[i].config.name.as_str());
        tracing::debug!(server = name, ?reason, "RADIUS datagram dropped");
        self.observer.dropped(name, reason);
    }

    /// One server's try at a request: its transmissions and their waits.
    async fn attempt(
        &self,
        i: usize,
        addr: SocketAddr,
        request: &Request,
        started: Instant,
    ) -> Result<Reply, Failure> {
        let server = &self.servers[i];
        let name = server.config.name.as_str();
        let code = request.code();
        let table = Arc::clone(&self.tables[&addr]);
        let socket = self
            .socket(addr)
            .ok_or_else(|| Failure::Send(io::Error::other("no socket for the address family")))?;
        let lease = table
            .acquire(Instant::now() + server.budget())
            .await
            .ok_or(Failure::Busy)?;
        let (tx, mut rx) = mpsc::channel(1);
        let mut delay = acct_delay(request, started);
        let mut bytes = self.encode(i, &lease, request, delay, &tx)?;
        let mut leases = vec![lease];
        send(socket, &bytes, addr).await?;
        self.observer.request_sent(name, code, leases[0].id());
        for n in 0..=server.config.retries {
            let wait = backoff(server.config.timeout, n);
            if let Ok(Some(answer)) = tokio::time::timeout(wait, rx.recv()).await {
                self.mark_answered(i);
                self.observer
                    .response(name, answer.packet.code, answer.latency);
                return Ok(Reply {
                    server: name.to_owned(),
                    request_authenticator: answer.authenticator,
                    packet: answer.packet,
                    latency: answer.latency,
                    secret: Arc::clone(&server.secret),
                });
            }
            if n == server.config.retries {
                break;
            }
            let now_delay = acct_delay(request, started);
            if now_delay != delay {
                // RFC 2866 §5.2 and RFC 5080 §2.2.1: a changed
                // Acct-Delay-Time is a new packet, so a new identifier; the
                // old ones stay live for late answers. With none free now,
                // the old bytes go again.
                if let Some(lease) = table.try_acquire() {
                    bytes = self.encode(i, &lease, request, now_delay, &tx)?;
                    delay = now_delay;
                    leases.push(lease);
                }
            }
            send(socket, &bytes, addr).await?;
            let id = leases.last().map_or(0, Lease::id);
            self.observer.retransmitted(name, code, id, n + 1);
        }
        tracing::warn!(server = name, %code, "RADIUS request timed out");
        self.observer.timed_out(name, code);
        self.mark_dead(i);
        Err(Failure::TimedOut)
    }

    /// Encodes `request` (with this Acct-Delay-Time, if it has one) under
    /// the lease's identifier for server `i`, and arms the lease.
    fn encode(
        &self,
        i: usize,
        lease: &Lease,
        request: &Request,
        delay: Option<u32>,
        tx: &mpsc::Sender<Answer>,
    ) -> Result<Vec<u8>, Failure> {
        let mut random = [0u8; 16];
        rand::rng().fill_bytes(&mut random);
        let delayed;
        let request = match delay.and_then(|d| request.delayed_by(d)) {
            Some(r) => {
                delayed = r;
                &delayed
            }
            None => request,
        };
        let encoded = request
            .encode(lease.id(), &random, self.servers[i].secret.expose())
            .map_err(|e| Failure::Fatal(e.into()))?;
        lease.arm(Pending {
            server: i,
            code: request.code(),
            authenticator: encoded.authenticator,
            sent_at: Instant::now(),
            answer: tx.clone(),
        });
        Ok(encoded.bytes)
    }

    /// Handles one datagram from `from`.
    fn handle_datagram(&self, data: &[u8], from: SocketAddr) {
        let (Some(table), Some(&owner)) = (self.tables.get(&from), self.owners.get(&from)) else {
            self.drop_datagram(None, DropReason::UnknownSource);
            return;
        };
        if data.len() > MAX_PACKET_LEN || data.len() < crate::HEADER_LEN {
            self.drop_datagram(Some(owner), DropReason::Malformed);
            return;
        }
        let id = data[1];
        let Lookup::Found(server, code, authenticator, sent_at) = table.lookup(id) else {
            self.drop_datagram(Some(owner), DropReason::UnknownIdentifier);
            return;
        };
        let secret = self.servers[server].secret.expose();
        match verify_response(data, code, id, &authenticator, secret) {
            Ok(packet) => {
                let answer = Answer {
                    packet,
                    authenticator,
                    latency: sent_at.elapsed(),
                };
                if !table.deliver(id, &authenticator, answer) {
                    self.drop_datagram(Some(server), DropReason::UnknownIdentifier);
                }
            }
            Err(e) => self.drop_datagram(Some(server), drop_reason(&e)),
        }
    }
}

/// The Acct-Delay-Time this transmission should carry: whole seconds since
/// `send` began, if the request has one.
fn acct_delay(request: &Request, started: Instant) -> Option<u32> {
    request
        .attributes()
        .any(|a| a.ty == attr::ACCT_DELAY_TIME)
        .then(|| u32::try_from(started.elapsed().as_secs()).unwrap_or(u32::MAX))
        .filter(|_| request.code() == Code::AccountingRequest)
}

async fn send(socket: &UdpSocket, bytes: &[u8], addr: SocketAddr) -> Result<(), Failure> {
    socket
        .send_to(bytes, addr)
        .await
        .map(drop)
        .map_err(Failure::Send)
}

const fn drop_reason(e: &VerifyError) -> DropReason {
    match e {
        VerifyError::ResponseAuthenticator | VerifyError::MessageAuthenticator => {
            DropReason::BadAuthenticator
        }
        VerifyError::MissingMessageAuthenticator => DropReason::NoMessageAuthenticator,
        VerifyError::UnexpectedCode { .. } => DropReason::UnexpectedCode,
        VerifyError::Identifier { .. } => DropReason::UnknownIdentifier,
        _ => DropReason::Malformed,
    }
}

/// The receive task of one socket.
async fn receive(shared: Arc<Shared>, socket: Arc<UdpSocket>) {
    // One byte more than the largest packet, so an oversized datagram
    // shows as one.
    let mut buf = vec![0u8; MAX_PACKET_LEN + 1];
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((n, from)) => shared.handle_datagram(&buf[..n], from),
            Err(e) => {
                // An ICMP error reported on the socket, or a transient
                // failure: log it and keep receiving, without spinning.
                tracing::debug!(error = %e, "RADIUS receive error");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// The Status-Server prober (RFC 5997): every `probe_interval`, each dead
/// server's ports get one Status-Server each; a verified answer revives the
/// server.
async fn probe(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(shared.probe_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = Instant::now();
        let mut probes = tokio::task::JoinSet::new();
        for i in 0..shared.servers.len() {
            if shared.is_alive(i, now) {
                continue;
            }
            let s = &shared.servers[i].config;
            for (service, addr) in [(Service::Auth, s.auth), (Service::Acct, s.acct)] {
                if let Some(addr) = addr {
                    let shared = Arc::clone(&shared);
                    probes.spawn(async move {
                        if shared.status_probe(i, addr).await {
                            tracing::debug!(server = %shared.servers[i].config.name, %service, "Status-Server answered");
                            shared.mark_answered(i);
                        }
                    });
                }
            }
        }
        while probes.join_next().await.is_some() {}
    }
}

impl Shared {
    /// One Status-Server to `addr`, no retransmission; whether it was
    /// answered in time.
    async fn status_probe(&self, i: usize, addr: SocketAddr) -> bool {
        let server = &self.servers[i];
        let Some(socket) = self.socket(addr) else {
            return false;
        };
        let deadline = Instant::now() + server.config.timeout;
        let Some(lease) = self.tables[&addr].acquire(deadline).await else {
            return false;
        };
        let (tx, mut rx) = mpsc::channel(1);
        let Ok(bytes) = self.encode(i, &lease, &Request::status_server(), None, &tx) else {
            return false;
        };
        if socket.send_to(&bytes, addr).await.is_err() {
            return false;
        }
        self.observer
            .request_sent(&server.config.name, Code::StatusServer, lease.id());
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(answer)) => {
                self.observer
                    .response(&server.config.name, answer.packet.code, answer.latency);
                true
            }
            _ => false,
        }
    }
}
