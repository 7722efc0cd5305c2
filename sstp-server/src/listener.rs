//! Accepting connections: bind the listen sockets, admit or refuse each new
//! connection (per-source rate, unauthenticated-connection cap), run the
//! TLS handshake, sniff the HTTP request head, and dispatch:
//!
//! - `SSTP_DUPLEX_POST` on the SSTP path (MS-SSTP 3.2.4.1, 4.1): answer
//!   `200 OK` with `Content-Length: 18446744073709551615` and hand the TLS
//!   stream, plus any bytes read past the head, to a session (`crate::conn`);
//! - any other request: hyper serves it (`/healthz`, 404/405)
//!   over a stream that first **replays the whole head** it missed
//!   (hyper cannot take `SSTP_DUPLEX_POST` itself: it refuses a
//!   Content-Length of u64::MAX, an internal marker of its own; and a hyper
//!   that is not given the head back waits for it forever);
//! - not HTTP, or too long, or too slow: a plain error status, then close.
//!
//! Before TLS, a trusted balancer's PROXY header is read and its client
//! address becomes the connection's peer; an untrusted source that sends one
//! is refused (`crate::proxy`). The `offload.listen` sockets run the same
//! path without TLS, for a TLS offloader in front.
//!
//! `/metrics` has a listener of its own (`http.metrics_listen`, plain HTTP,
//! loopback by default): the SSTP port answers it like any unknown path.
//!
//! Every stage is bounded in time (`limits.tls_handshake_timeout`,
//! `limits.http_head_timeout`) and size (`MAX_HEAD_LEN`), so a slow or
//! hostile peer costs one task for a bounded time and nothing else.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use sstp_core::AcceptedCertHashes;
use sstp_core::wire::http::{
    self, ErrorStatus, MAX_HEAD_LEN, RequestHead, SSTP_METHOD, SSTP_PATH, ServerResponse,
};
use sstp_tun::TunDevice;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{Instrument, debug, error, info, info_span, warn};

use crate::config::Limits;
use crate::conn::{self, SessionStart, Unauthenticated};
use crate::limits::RateLimiter;
use crate::metrics::{Metrics, Reject};
use crate::proxy::{self, Proxied, Start};
use crate::{ServerError, Shared, router, words};

/// Pending connections the kernel queues per listen socket.
const BACKLOG: i32 = 1024;
/// A whole plain-HTTP exchange (health check, scrape) must fit in this.
const HTTP_EXCHANGE_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the rate limiter forgets idle sources.
const PRUNE_INTERVAL: Duration = Duration::from_secs(60);
/// Scrapes served at once on the metrics listener; more wait in the backlog.
const METRICS_CONNECTIONS: usize = 16;

/// What a listen socket speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// TLS, then HTTP (`listen`).
    Tls,
    /// Plain HTTP behind a TLS offloader (`offload.listen`).
    Plain,
}

/// Binds one listen socket: address reuse (a restart does not wait for
/// TIME_WAIT) and, for IPv6, v6-only so `0.0.0.0` and `::` coexist.
pub(crate) fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    TcpListener::from_std(socket.into())
}

/// The accept loops, admission, the TUN reader, and graceful shutdown.
pub(crate) async fn serve<D: TunDevice + 'static>(
    shared: Arc<Shared>,
    listeners: Vec<(TcpListener, Kind)>,
    metrics_listener: Option<TcpListener>,
    tun: Arc<D>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServerError> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let (conn_tx, mut conn_rx) = mpsc::channel::<(TcpStream, SocketAddr, Kind)>(256);
    let mut accepters = JoinSet::new();
    for (listener, kind) in listeners {
        accepters.spawn(accept_loop(
            listener,
            kind,
            conn_tx.clone(),
            stop_rx.clone(),
        ));
    }
    drop(conn_tx);
    if let Some(listener) = metrics_listener {
        accepters.spawn(metrics_loop(listener, Arc::clone(&shared)));
    }
    let mut reader = tokio::spawn(router::run_tun_reader(
        Arc::clone(&tun),
        Arc::clone(&shared.router),
        Arc::clone(&shared.metrics),
    ));
    let mut admission = Admission {
        gate: Arc::new(Mutex::new(Gate {
            limiter: RateLimiter::new(
                shared.config.load().limits.per_source_rate,
                shared.config.load().limits.per_source_burst,
            ),
            rate_log: LogThrottle::default(),
            proxy_log: LogThrottle::default(),
            header_log: LogThrottle::default(),
            offload_log: LogThrottle::default(),
        })),
        unauth_log: LogThrottle::default(),
    };
    let mut prune = tokio::time::interval(PRUNE_INTERVAL);
    let mut tasks = JoinSet::new();
    let mut failure = None;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = conn_rx.recv() => {
                let Some((tcp, peer, kind)) = accepted else { break };
                if let Some(task) = admit(&shared, &mut admission, tcp, peer, kind, &tun, &stop_rx) {
                    tasks.spawn(task);
                }
            }
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                if let Err(e) = done
                    && e.is_panic()
                {
                    error!(error = %e, "connection task panicked");
                }
            }
            _ = prune.tick() => admission.gate().limiter.prune(Instant::now().into_std()),
            result = &mut reader => {
                let e = result.unwrap_or_else(|join| io::Error::other(join.to_string()));
                error!(error = %e, "TUN device failed; shutting down");
                failure = Some(e);
                break;
            }
        }
    }

    // Graceful shutdown: no new connections, every session closes.
    let _ = stop_tx.send(true);
    accepters.shutdown().await;
    drop(conn_rx);
    let grace = shared.config.load().limits.shutdown_grace;
    let open = tasks.len();
    if open > 0 {
        info!(
            connections = open,
            grace_ms = grace.as_millis() as u64,
            "shutting down: closing sessions"
        );
    }
    let drained =
        tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        warn!(
            connections = tasks.len(),
            "shutdown grace period over; dropping the remaining connections"
        );
        tasks.shutdown().await;
    }
    reader.abort();
    match failure {
        Some(e) => Err(ServerError::Tun(e)),
        None => Ok(()),
    }
}

async fn accept_loop(
    listener: TcpListener,
    kind: Kind,
    out: mpsc::Sender<(TcpStream, SocketAddr, Kind)>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    if out.send((tcp, peer, kind)).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
}

/// The metrics listener: plain HTTP, `/metrics` and `/healthz`, a few
/// connections at a time, each bounded in time. Ends (with its connections)
/// when the server's accept loops are shut down.
async fn metrics_loop(listener: TcpListener, shared: Arc<Shared>) {
    let metrics = Arc::clone(&shared.metrics);
    let mut conns = JoinSet::new();
    loop {
        if conns.len() >= METRICS_CONNECTIONS {
            conns.join_next().await;
            continue;
        }
        tokio::select! {
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => {
                    let metrics = Arc::clone(&metrics);
                    let shared = Arc::clone(&shared);
                    conns.spawn(async move {
                        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                            let response = respond_metrics(&req, &metrics, &shared);
                            async move { Ok::<_, Infallible>(response) }
                        });
                        let conn = hyper::server::conn::http1::Builder::new()
                            .keep_alive(false)
                            .serve_connection(TokioIo::new(tcp), service);
                        match tokio::time::timeout(HTTP_EXCHANGE_TIMEOUT, conn).await {
                            Ok(Ok(())) => {}
                            Ok(Err(e)) => debug!(error = %e, "metrics connection error"),
                            Err(_) => debug!("metrics exchange timed out"),
                        }
                    });
                }
                Err(e) => {
                    warn!(error = %e, "metrics accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
}

/// The admission state of the accept loop.
struct Admission {
    gate: Arc<Mutex<Gate>>,
    unauth_log: LogThrottle,
}

impl Admission {
    fn gate(&self) -> std::sync::MutexGuard<'_, Gate> {
        self.gate.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The per-source rate limit and the refusal logs that connection tasks
/// share with the accept loop: behind a trusted balancer the limit runs on
/// the client address, known only once its PROXY header is read.
struct Gate {
    limiter: RateLimiter,
    rate_log: LogThrottle,
    /// PROXY headers from untrusted sources.
    proxy_log: LogThrottle,
    /// Bad, missing or late headers from trusted balancers.
    header_log: LogThrottle,
    /// Sources the plain listener does not take.
    offload_log: LogThrottle,
}

impl Gate {
    /// The per-source rate limit for `peer`; logs (throttled) and counts a
    /// refusal.
    fn allow(
        &mut self,
        peer: SocketAddr,
        now: Instant,
        metrics: &Metrics,
        limits: &Limits,
    ) -> bool {
        // Cheap, and a reload's new limits apply from the next connection.
        self.limiter
            .retune(limits.per_source_rate, limits.per_source_burst);
        if self.limiter.allow(peer.ip(), now.into_std()) {
            return true;
        }
        metrics.reject(Reject::RateLimited);
        if let Some(suppressed) = self.rate_log.check(now) {
            warn!(%peer, suppressed, "connection refused: per-source rate limit");
        }
        false
    }
}

fn lock(gate: &Mutex<Gate>) -> std::sync::MutexGuard<'_, Gate> {
    gate.lock().unwrap_or_else(PoisonError::into_inner)
}

/// At most one log line per [`LogThrottle::INTERVAL`] for a refusal that a
/// flood can trigger thousands of times a second; the line says how many
/// were not logged.
#[derive(Default)]
struct LogThrottle {
    last: Option<Instant>,
    suppressed: u64,
}

impl LogThrottle {
    const INTERVAL: Duration = Duration::from_secs(10);

    /// `Some(suppressed since the last line)` when a line may be logged.
    fn check(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now.duration_since(last) < Self::INTERVAL => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

/// Applies the admission limits; returns the connection's task if admitted.
fn admit<D: TunDevice + 'static>(
    shared: &Arc<Shared>,
    admission: &mut Admission,
    tcp: TcpStream,
    peer: SocketAddr,
    kind: Kind,
    tun: &Arc<D>,
    stop: &watch::Receiver<bool>,
) -> Option<impl Future<Output = ()> + Send + 'static> {
    let metrics = &shared.metrics;
    metrics.connections_total.inc();
    let accepted_at = Instant::now();
    // A trusted balancer's connections are limited per client, after the
    // PROXY header (`handle`): limiting the balancer would limit everyone.
    let config = shared.config.load();
    let balanced = config.proxy_protocol.trusts(peer.ip());
    if !balanced
        && !admission
            .gate()
            .allow(peer, accepted_at, metrics, &config.limits)
    {
        return None;
    }
    let Ok(permit) = Arc::clone(shared.unauthenticated_slots.semaphore()).try_acquire_owned()
    else {
        metrics.reject(Reject::TooManyUnauthenticated);
        if let Some(suppressed) = admission.unauth_log.check(accepted_at) {
            warn!(%peer, suppressed, "connection refused: too many unauthenticated connections");
        }
        return None;
    };
    let unauth = Unauthenticated::new(permit, Arc::clone(metrics));
    // Without it Nagle plus the client's delayed ACK stall each TLS
    // handshake about 40 ms (RFC 1122 4.2.3.4, 4.2.3.2): rates collapse.
    if let Err(e) = tcp.set_nodelay(true) {
        debug!(%peer, error = %e, "TCP_NODELAY failed");
    }
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let span = if balanced {
        // `peer` is recorded once the header names the client.
        info_span!("conn", id, peer = tracing::field::Empty, balancer = %peer)
    } else {
        info_span!("conn", id, %peer)
    };
    let shared = Arc::clone(shared);
    let tun = Arc::clone(tun);
    let stop = stop.clone();
    let gate = Arc::clone(&admission.gate);
    let accepted = Accepted {
        tcp,
        peer,
        kind,
        balanced,
        id,
        accepted_at,
    };
    Some(
        async move {
            handle(shared, tun, accepted, gate, unauth, stop).await;
        }
        .instrument(span),
    )
}

/// A connection as the accept loop hands it over.
struct Accepted {
    tcp: TcpStream,
    /// The TCP peer: the client, or a balancer.
    peer: SocketAddr,
    kind: Kind,
    /// `peer` is in `proxy_protocol.trusted`: a PROXY header comes first.
    balanced: bool,
    id: u64,
    accepted_at: Instant,
}

/// One connection from TCP accept to dispatch: the PROXY header, then TLS
/// (or nothing, on the offload listener), then [`serve_stream`].
async fn handle<D: TunDevice + 'static>(
    shared: Arc<Shared>,
    tun: Arc<D>,
    accepted: Accepted,
    gate: Arc<Mutex<Gate>>,
    unauth: Unauthenticated,
    stop: watch::Receiver<bool>,
) {
    let Accepted {
        mut tcp,
        peer: tcp_peer,
        kind,
        balanced,
        id,
        accepted_at,
    } = accepted;
    // The configuration in effect when the connection came (a reload may
    // swap it meanwhile).
    let config = shared.config.load_full();
    let limits = &config.limits;
    let metrics = &shared.metrics;
    let proxy_settings = &config.proxy_protocol;
    let mut peer = tcp_peer;
    if balanced {
        let header = tokio::time::timeout(
            proxy_settings.header_timeout,
            Box::pin(proxy::read_header(&mut tcp)),
        )
        .await;
        match header {
            Ok(Ok(Proxied::Client(client))) => {
                peer = client;
                tracing::Span::current().record("peer", tracing::field::display(client));
                if !lock(&gate).allow(client, Instant::now(), metrics, limits) {
                    return;
                }
            }
            Ok(Ok(Proxied::Local)) => {
                tracing::Span::current().record("peer", tracing::field::display(tcp_peer));
                debug!("PROXY LOCAL: the balancer's own connection (a health check)");
            }
            Ok(Err(e)) => {
                metrics.reject(Reject::ProxyHeader);
                if let Some(suppressed) = lock(&gate).header_log.check(Instant::now()) {
                    warn!(balancer = %tcp_peer, suppressed, error = %e, "connection closed: bad PROXY header from a trusted balancer");
                }
                return;
            }
            Err(_) => {
                metrics.reject(Reject::ProxyHeader);
                if let Some(suppressed) = lock(&gate).header_log.check(Instant::now()) {
                    warn!(
                        balancer = %tcp_peer,
                        suppressed,
                        timeout_ms = proxy_settings.header_timeout.as_millis() as u64,
                        "connection closed: no PROXY header in time from a trusted balancer"
                    );
                }
                return;
            }
        }
    } else {
        let start = tokio::time::timeout(
            limits.tls_handshake_timeout,
            proxy::peek_start(&tcp, limits.tls_handshake_timeout),
        )
        .await;
        match start {
            Ok(Start::Proxy) => {
                metrics.reject(Reject::ProxyUntrusted);
                if let Some(suppressed) = lock(&gate).proxy_log.check(Instant::now()) {
                    warn!(%peer, suppressed, "connection refused: PROXY header from a source outside proxy_protocol.trusted");
                }
                return;
            }
            Ok(_) => {}
            // Silent for the whole handshake time: what the handshake's
            // own timeout would have said, without waiting for it twice.
            Err(_) => {
                metrics.reject(Reject::TlsHandshake);
                info!(
                    timeout_ms = limits.tls_handshake_timeout.as_millis() as u64,
                    "nothing received before the handshake timeout"
                );
                return;
            }
        }
    }

    match kind {
        Kind::Tls => {
            let tls_state = shared.tls();
            let hashes = AcceptedCertHashes::from(tls_state.hashes.clone());
            let Some(tls) = Box::pin(tls_handshake(&shared, tcp, &tls_state.acceptor)).await else {
                return;
            };
            drop(tls_state);
            let tls_version = match tls.get_ref().1.protocol_version() {
                Some(rustls::ProtocolVersion::TLSv1_3) => Some("TLS 1.3"),
                Some(rustls::ProtocolVersion::TLSv1_2) => Some("TLS 1.2"),
                _ => None,
            };
            let conn = Connection {
                peer,
                id,
                accepted_at,
                cert_hashes: hashes,
                tls_version,
            };
            Box::pin(serve_stream(shared, tun, tls, conn, unauth, stop)).await;
        }
        Kind::Plain => {
            let Some(offload) = config.offload.as_ref() else {
                return;
            };
            if !offload.allows(tcp_peer.ip(), proxy_settings) {
                metrics.reject(Reject::OffloadSource);
                if let Some(suppressed) = lock(&gate).offload_log.check(Instant::now()) {
                    warn!(source = %tcp_peer, suppressed, "connection refused: the plain offload listener takes only offload.sources and proxy_protocol.trusted");
                }
                return;
            }
            let Some(hashes) = offload.accepted() else {
                return;
            };
            // The same bare-probe check as before TLS: a balancer's TCP check.
            match tokio::time::timeout(limits.http_head_timeout, tcp.peek(&mut [0u8; 1])).await {
                Ok(Ok(0)) => {
                    metrics.tcp_probes.inc();
                    debug!("TCP probe: connected and closed without sending anything");
                    return;
                }
                Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionReset => {
                    metrics.tcp_probes.inc();
                    return;
                }
                _ => {}
            }
            let conn = Connection {
                peer,
                id,
                accepted_at,
                cert_hashes: hashes,
                tls_version: None,
            };
            Box::pin(serve_stream(shared, tun, tcp, conn, unauth, stop)).await;
        }
    }
}

/// Runs the TLS handshake, bounded by `limits.tls_handshake_timeout`; logs
/// and counts what goes wrong.
async fn tls_handshake(
    shared: &Shared,
    tcp: TcpStream,
    acceptor: &tokio_rustls::TlsAcceptor,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let limits = &shared.config.load().limits;
    let handshake = async {
        // A bare TCP probe (a load balancer's health check: connect, then
        // close without a byte) is not a failed handshake: tell it apart
        // before TLS reads anything. The peek waits for what the TLS accept
        // would wait for anyway.
        match tcp.peek(&mut [0u8; 1]).await {
            Ok(0) => return Handshake::Probe,
            Ok(_) => {}
            // Some balancers end their check with a reset instead of a FIN.
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Handshake::Probe,
            Err(e) => return Handshake::Failed(e),
        }
        match acceptor.accept(tcp).await {
            Ok(stream) => Handshake::Done(stream),
            Err(e) => Handshake::Failed(e),
        }
    };
    match tokio::time::timeout(limits.tls_handshake_timeout, handshake).await {
        Ok(Handshake::Done(stream)) => Some(stream),
        Ok(Handshake::Probe) => {
            shared.metrics.tcp_probes.inc();
            debug!("TCP probe: connected and closed without sending anything");
            None
        }
        Ok(Handshake::Failed(e)) => {
            shared.metrics.reject(Reject::TlsHandshake);
            info!(error = %words::handshake_error(&e), "TLS handshake failed");
            None
        }
        Err(_) => {
            shared.metrics.reject(Reject::TlsHandshake);
            info!(
                timeout_ms = limits.tls_handshake_timeout.as_millis() as u64,
                "TLS handshake timed out"
            );
            None
        }
    }
}

/// What the connection is, once TLS (or the offloader) is behind it.
struct Connection {
    /// The client: the TCP peer, or the address a PROXY header named.
    peer: SocketAddr,
    id: u64,
    accepted_at: Instant,
    /// What the client's crypto binding may name.
    cert_hashes: AcceptedCertHashes,
    /// The TLS version, when TLS ends here.
    tls_version: Option<&'static str>,
}

/// Sniffs the HTTP head and dispatches: an SSTP session, or plain HTTP.
async fn serve_stream<D, S>(
    shared: Arc<Shared>,
    tun: Arc<D>,
    mut tls: S,
    conn: Connection,
    unauth: Unauthenticated,
    stop: watch::Receiver<bool>,
) where
    D: TunDevice + 'static,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Connection {
        peer,
        id,
        accepted_at,
        cert_hashes,
        tls_version,
    } = conn;
    let limits = &shared.config.load().limits;
    let mut head = Vec::with_capacity(512);
    let sniffed = Box::pin(tokio::time::timeout(
        limits.http_head_timeout,
        read_head(&mut tls, &mut head),
    ))
    .await;
    let Ok(sniffed) = sniffed else {
        shared.metrics.reject(Reject::HttpHead);
        info!(
            timeout_ms = limits.http_head_timeout.as_millis() as u64,
            "HTTP request head timed out"
        );
        return;
    };
    match sniffed {
        Ok(Sniffed::Sstp {
            consumed,
            correlation_id,
        }) => {
            if shared.is_draining() {
                shared.metrics.reject(Reject::Draining);
                info!("SSTP request refused: the server is draining");
                send_error(&mut tls, ErrorStatus::ServiceUnavailable).await;
                return;
            }
            let Ok(session_permit) =
                Arc::clone(shared.session_slots.semaphore()).try_acquire_owned()
            else {
                shared.metrics.reject(Reject::MaxSessions);
                warn!("SSTP request refused: max_sessions reached");
                send_error(&mut tls, ErrorStatus::ServiceUnavailable).await;
                return;
            };
            let mut response = Vec::with_capacity(160);
            sstp_response(&shared.config.load().http.server_header, &mut response);
            let leftover = head.split_off(consumed);
            let start = SessionStart {
                id,
                peer,
                correlation_id,
                accepted_at,
                cert_hashes,
                tls_version,
                leftover,
                response,
            };
            Box::pin(conn::run(
                shared,
                tun,
                tls,
                start,
                unauth,
                session_permit,
                stop,
            ))
            .await;
        }
        Ok(Sniffed::Other {
            method,
            sstp_method,
        }) => {
            shared.metrics.http_requests_total.inc();
            if sstp_method {
                // SSTP_DUPLEX_POST on another path: hyper would refuse its
                // giant Content-Length with a 431; say what is wrong.
                debug!(%method, "SSTP request on an unknown path");
                send_error(&mut tls, ErrorStatus::NotFound).await;
                return;
            }
            debug!(%method, "plain HTTP request");
            let io = TokioIo::new(Prefixed::new(head, tls));
            let health = Arc::clone(&shared);
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let response = respond(&req, &health);
                async move { Ok::<_, Infallible>(response) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(false)
                .max_buf_size(MAX_HEAD_LEN.max(8192))
                .serve_connection(io, service);
            match Box::pin(tokio::time::timeout(HTTP_EXCHANGE_TIMEOUT, conn)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => debug!(error = %e, "HTTP connection error"),
                Err(_) => debug!("HTTP exchange timed out"),
            }
            drop(unauth);
        }
        Err(HeadError::Http(e)) => {
            shared.metrics.reject(Reject::HttpHead);
            info!(error = %e, "bad HTTP request head");
            if let Some(status) = e.error_status() {
                send_error(&mut tls, status).await;
            }
        }
        Err(HeadError::Io(e)) => {
            shared.metrics.reject(Reject::HttpHead);
            info!(error = %e, "connection closed before the HTTP head ended");
        }
    }
}

/// How the TLS handshake of one connection went.
enum Handshake<S> {
    Done(S),
    /// The peer closed the TCP connection without sending a byte.
    Probe,
    Failed(io::Error),
}

/// What the head sniff found (owned, so the buffer can move on).
enum Sniffed {
    Sstp {
        consumed: usize,
        correlation_id: Option<String>,
    },
    Other {
        method: String,
        sstp_method: bool,
    },
}

enum HeadError {
    Http(http::HttpError),
    Io(io::Error),
}

/// Reads until `parse_request_head` decides; `buf` keeps every byte read.
async fn read_head<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
) -> Result<Sniffed, HeadError> {
    let mut chunk = [0u8; 2048];
    loop {
        match http::parse_request_head(buf) {
            Ok(None) => {}
            Ok(Some(RequestHead::Sstp(req))) => {
                return Ok(Sniffed::Sstp {
                    consumed: req.consumed,
                    correlation_id: req.correlation_id.map(sanitize),
                });
            }
            Ok(Some(RequestHead::NotSstp(other))) => {
                return Ok(Sniffed::Other {
                    method: sanitize(other.method),
                    sstp_method: other.method == SSTP_METHOD,
                });
            }
            Ok(Some(_)) => {
                return Err(HeadError::Http(http::HttpError::Malformed {
                    what: "request",
                }));
            }
            Err(e) => return Err(HeadError::Http(e)),
        }
        // The parser errs once MAX_HEAD_LEN bytes hold no end of head, so
        // the buffer stays below MAX_HEAD_LEN + one chunk.
        let n = stream.read(&mut chunk).await.map_err(HeadError::Io)?;
        if n == 0 {
            return Err(HeadError::Io(io::ErrorKind::UnexpectedEof.into()));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A peer-supplied string made safe for one log line: printable ASCII,
/// at most 64 characters.
fn sanitize(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(64)
        .collect()
}

/// The `200 OK` of MS-SSTP 4.1 (Content-Length 2^64-1, `Server`, `Date`).
fn sstp_response(server: &str, out: &mut Vec<u8>) {
    let date = httpdate::fmt_http_date(SystemTime::now());
    let with_server = ServerResponse::new()
        .with_server(server)
        .unwrap_or_else(|_| ServerResponse::new());
    let response = with_server.with_date(&date).unwrap_or(with_server);
    response.emit(out);
}

async fn send_error<S: AsyncWrite + Unpin>(stream: &mut S, status: ErrorStatus) {
    let mut out = Vec::with_capacity(128);
    status.emit(&mut out);
    let write = async {
        stream.write_all(&out).await?;
        stream.shutdown().await
    };
    // A peer that does not read its error costs at most a second.
    let _ = tokio::time::timeout(Duration::from_secs(1), write).await;
}

fn plain(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn not_allowed(allow: &'static str) -> Response<Full<Bytes>> {
    let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    r.headers_mut().insert(
        hyper::header::ALLOW,
        hyper::header::HeaderValue::from_static(allow),
    );
    r
}

/// `/healthz`: 200 while the server can take logins; 503 while it drains
/// or when every RADIUS server it authenticates with is skipped as dead,
/// so a balancer sends new clients elsewhere.
fn health(shared: &Shared) -> Response<Full<Bytes>> {
    if shared.is_draining() {
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "draining: this node takes no new sessions\n",
        );
    }
    match shared.radius.get() {
        Some(radius) if radius.all_servers_down() => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "no RADIUS server answers\n",
        ),
        _ => plain(StatusCode::OK, "ok\n"),
    }
}

fn is_get<B>(req: &Request<B>) -> bool {
    req.method() == Method::GET || req.method() == Method::HEAD
}

/// The plain HTTP service of the SSTP port: health, and errors for the
/// rest (`/metrics` included: it has its own listener).
fn respond<B>(req: &Request<B>, shared: &Shared) -> Response<Full<Bytes>> {
    match req.uri().path() {
        "/healthz" if is_get(req) => health(shared),
        "/healthz" => not_allowed("GET, HEAD"),
        p if p.eq_ignore_ascii_case(SSTP_PATH) => not_allowed(SSTP_METHOD),
        _ => plain(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// The service of the metrics listener: `/metrics`, `/healthz`, 404/405.
fn respond_metrics<B>(
    req: &Request<B>,
    metrics: &Metrics,
    shared: &Shared,
) -> Response<Full<Bytes>> {
    match req.uri().path() {
        "/metrics" if is_get(req) => {
            let mut r = Response::new(Full::new(Bytes::from(metrics.encode())));
            r.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
            );
            r
        }
        "/healthz" if is_get(req) => health(shared),
        "/metrics" | "/healthz" => not_allowed("GET, HEAD"),
        _ => plain(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// A stream that first returns `prefix`, then reads `inner`; writes go to
/// `inner`. Gives hyper back the head the sniff already consumed.
pub(crate) struct Prefixed<S> {
    prefix: Vec<u8>,
    pos: usize,
    inner: S,
}

impl<S> Prefixed<S> {
    pub(crate) fn new(prefix: Vec<u8>, inner: S) -> Self {
        Self {
            prefix,
            pos: 0,
            inner,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pos < this.prefix.len() {
            let rest = &this.prefix[this.pos..];
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            this.pos += n;
            if this.pos == this.prefix.len() {
                this.prefix = Vec::new();
                this.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn prefixed_replays_then_reads_on() {
        let (mut a, b) = tokio::io::duplex(64);
        a.write_all(b" world").await.expect("write");
        drop(a);
        let mut p = Prefixed::new(b"hello".to_vec(), b);
        let mut out = String::new();
        p.read_to_string(&mut out).await.expect("read");
        assert_eq!(out, "hello world");
    }

    #[tokio::test]
    async fn head_sniff_keeps_every_byte() {
        let (mut a, mut b) = tokio::io::duplex(4096);
        let mut req = Vec::new();
        http::ClientRequest::new("vpn", http::Guid([7; 16]))
            .expect("request")
            .emit(&mut req);
        let head_len = req.len();
        req.extend_from_slice(&[0x10, 0x01, 0x00, 0x0e]);
        // Split across writes, as a slow client would.
        let (first, second) = req.split_at(10);
        a.write_all(first).await.expect("write");
        let writer = tokio::spawn({
            let second = second.to_vec();
            async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                a.write_all(&second).await.expect("write");
                a
            }
        });
        let mut buf = Vec::new();
        let sniffed = read_head(&mut b, &mut buf).await.ok().expect("sniffed");
        let _a = writer.await.expect("writer");
        match sniffed {
            Sniffed::Sstp {
                consumed,
                correlation_id,
            } => {
                assert_eq!(consumed, head_len);
                assert_eq!(&buf[consumed..], &[0x10, 0x01, 0x00, 0x0e]);
                assert!(correlation_id.expect("id").starts_with('{'));
            }
            Sniffed::Other { .. } => panic!("not SSTP?"),
        }
    }

    #[tokio::test]
    async fn head_sniff_refuses_garbage_and_eof() {
        let (mut a, mut b) = tokio::io::duplex(4096);
        a.write_all(b"\x16\x03\x01garbage\r\n")
            .await
            .expect("write");
        let mut buf = Vec::new();
        assert!(matches!(
            read_head(&mut b, &mut buf).await,
            Err(HeadError::Http(_))
        ));
        let (a, mut b) = tokio::io::duplex(4096);
        drop(a);
        let mut buf = Vec::new();
        assert!(matches!(
            read_head(&mut b, &mut buf).await,
            Err(HeadError::Io(_))
        ));
    }

    #[test]
    fn refusal_logs_are_throttled_and_count_what_they_skip() {
        let t0 = Instant::now();
        let mut throttle = LogThrottle::default();
        assert_eq!(throttle.check(t0), Some(0));
        for _ in 0..5 {
            assert_eq!(throttle.check(t0 + Duration::from_secs(1)), None);
        }
        assert_eq!(throttle.check(t0 + LogThrottle::INTERVAL), Some(5));
        assert_eq!(throttle.check(t0 + LogThrottle::INTERVAL), None);
    }

    #[test]
    fn sanitize_strips_control_and_bounds_length() {
        assert_eq!(sanitize("{ab\r\n\x1b[31mc}"), "{ab[31mc}");
        assert_eq!(sanitize(&"x".repeat(500)).len(), 64);
    }
}
