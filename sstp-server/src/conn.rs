//! One SSTP connection: a task that owns the TLS stream and its
//! `ServerSession`, and moves bytes, packets and decisions between them.
//!
//! The loop selects over: the TLS read half, the TLS write half (only while
//! bytes wait), the session's bounded packet queue from the router, the
//! session deadline (`poll_timeout`), the auth backend's pending answer,
//! the periodic Router Advertisement, and the server's shutdown signal.
//! After every input it drains the session: events, packets for the TUN
//! (anti-spoofing, client-to-client policy, Router Solicitations), and the
//! bytes to send, which pile up in one buffer so many SSTP packets go out in
//! one TLS write; the stream is flushed when that buffer drains.
//!
//! Flow control: while more than [`HIGH_WATER`] bytes wait for a client
//! that does not read, the task stops reading from it (TCP pushes back);
//! above [`LOW_WATER`] it stops taking packets from its queue, which then
//! fills and the router drops (and counts) what does not fit. A slow or
//! hostile client therefore holds at most its own buffers, and the session
//! timers (MS-SSTP Hello, 3.1.2.3) still run.
//!
//! Whatever ends the session (Call Disconnect, abort, timeout, the TCP
//! connection vanishing, the task being dropped at the end of the shutdown
//! grace period), the address lease, the routes and the session slot are
//! RAII guards: they go back when the task's state drops, and one log line
//! says how the session ended.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ipnet::{Ipv4Net, Ipv6Net};
use sstp_core::Session;
use sstp_core::wire::http::Guid;
use sstp_core::wire::icmpv6;
use sstp_core::{
    AcceptedCertHashes, AddressLease, AuthData, AuthMethod, AuthRequest, AuthVerdict, CloseReason,
    Ending, Event, HashProtocol, Ipv6Config, MsChapV2Failure, Random, Refusal, ServerSession,
};
use sstp_tun::drive::{self, Sent, Written, now, read_now};
use sstp_tun::{SendBatch, TunDevice};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadHalf, WriteHalf};
use tokio::sync::{OwnedSemaphorePermit, mpsc, watch};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::Shared;
use crate::accounting;
use crate::auth::{AuthContext, AuthConversation, AuthDecision, Round, SessionSettings};
use crate::config::UserLimitAction;
use crate::metrics::{DropReason, Metrics};
use crate::pool::{Lease, LeaseRequest, PoolError};
use crate::ra;
use crate::radius::{AcctSession, Authentic, Usage};
use crate::router::{self, Delivery, PacketTx, RouteGuard};
use crate::sessions::{About, Control, Entry, Registered, Traffic};

/// Bytes waiting for the client above which we stop reading from it.
pub(crate) const HIGH_WATER: usize = 512 * 1024;
/// Bytes waiting above which we stop taking packets from the queue.
pub(crate) const LOW_WATER: usize = 64 * 1024;
/// TLS read size under load: one full TLS record.
const READ_BUF: usize = 16 * 1024 + 256;
/// TLS read size of a quiet session. Idle sessions are most of a big server's sessions, and the
/// read buffer was the largest thing each held (sstp-bench `load idle`, BENCHMARKS.md); a read
/// that fills it grows it to [`READ_BUF`], and a quiet timer tick shrinks it back.
const IDLE_READ_BUF: usize = 2048;
/// Output buffer capacity a quiet session keeps.
const IDLE_OUT_BUF: usize = 4096;
/// Packets taken from the queue per wake-up before the output is written.
const QUEUE_BURST: usize = 64;
/// Packets collected for one TUN write.
const TUN_BATCH: usize = 64;
/// Extra reads taken without waiting after a read, before the packets go to the TUN (at most
/// this many TLS records more, well within the session's IP queue).
const READ_AHEAD: usize = 4;
/// Time to write the last bytes (Call Disconnect/Abort) and close TLS.
const FINISH_TIMEOUT: Duration = Duration::from_secs(2);
/// At server shutdown, how long a session may take to finish its teardown
/// (LCP Terminate, RFC 1661 5.5, then Call Disconnect and its Ack, MS-SSTP
/// 3.2.4.2) before the server closes TLS anyway. A client that answers does
/// so in a few round trips; the teardown timers (up to 3 s per LCP
/// Terminate-Request, 5 s for the Call Disconnect Ack, MS-SSTP 3.1.2.2) are
/// for links that may recover, which a stopping server does not need.
const SHUTDOWN_CLOSE: Duration = Duration::from_millis(400);
/// The least time the last bytes get at shutdown, when [`SHUTDOWN_CLOSE`] is
/// up already.
const SHUTDOWN_FINISH_MIN: Duration = Duration::from_millis(100);
/// Prefix lifetimes in our Router Advertisements (seconds). The prefix lives
/// as long as the session, whose end takes the PPP interface away; these
/// only need to outlast a few missed advertisements.
const PREFIX_VALID_LIFETIME: u32 = 86_400;
const PREFIX_PREFERRED_LIFETIME: u32 = 14_400;

/// Adds the packets handed to one session in a burst to the shared counters.
fn record_sent(sent: &Sent, metrics: &Metrics) {
    if sent.packets > 0 {
        metrics.packets_to_clients.inc_by(sent.packets);
        metrics.bytes_to_clients.inc_by(sent.bytes);
    }
    if sent.full > 0 {
        metrics.count_drop(DropReason::QueueFull, sent.full);
    }
    if sent.not_ready > 0 {
        metrics.count_drop(DropReason::NotReady, sent.not_ready);
    }
}

/// TUN write batches shared by all sessions.
///
/// A `SendBatch` is large: its packet buffers, and above all the GRO state of an offload device
/// (about 1 MiB in tun-rs). One per session made the server's memory grow by that much per idle
/// session (sstp-bench, BENCHMARKS.md). A session borrows a batch only while it writes, so there
/// are about as many batches as sessions writing at once, that is, at most a few per worker.
#[derive(Debug, Default)]
pub(crate) struct BatchPool {
    free: std::sync::Mutex<Vec<SendBatch>>,
}

impl BatchPool {
    /// Batches kept for reuse; more are dropped when given back.
    const KEEP: usize = 8;

    pub(crate) fn take(&self) -> SendBatch {
        self.free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop()
            .unwrap_or_else(|| SendBatch::new(TUN_BATCH))
    }

    pub(crate) fn give(&self, mut batch: SendBatch) {
        batch.clear();
        let mut free = self
            .free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if free.len() < Self::KEEP {
            free.push(batch);
        }
    }
}

/// Holds a slot of `limits.max_unauthenticated` and the gauge that counts
/// it, until the peer authenticates or goes away.
#[derive(Debug)]
pub(crate) struct Unauthenticated {
    _permit: OwnedSemaphorePermit,
    metrics: Arc<Metrics>,
}

impl Unauthenticated {
    pub(crate) fn new(permit: OwnedSemaphorePermit, metrics: Arc<Metrics>) -> Self {
        metrics.unauthenticated.inc();
        Self {
            _permit: permit,
            metrics,
        }
    }
}

impl Drop for Unauthenticated {
    fn drop(&mut self) {
        self.metrics.unauthenticated.dec();
    }
}

/// What the listener learned before handing the connection over.
#[derive(Debug)]
pub(crate) struct SessionStart {
    pub(crate) id: u64,
    pub(crate) peer: SocketAddr,
    /// `SSTPCORRELATIONID` as sent (sanitized), if any.
    pub(crate) correlation_id: Option<String>,
    pub(crate) accepted_at: Instant,
    /// Hashes of the certificate the client saw: this connection's TLS
    /// leaf, or the offloader's (`offload.certificate_hashes`).
    pub(crate) cert_hashes: AcceptedCertHashes,
    /// The TLS version negotiated (`None` when TLS ended before us).
    pub(crate) tls_version: Option<&'static str>,
    /// Bytes read after the HTTP head: the first SSTP packets.
    pub(crate) leftover: Vec<u8>,
    /// The HTTP `200 OK`, sent with the first SSTP bytes.
    pub(crate) response: Vec<u8>,
}

/// The IPv6 side of a session, once IPv6CP is up and a /64 is routed.
#[derive(Debug)]
struct Ipv6Link {
    /// Our link-local address (IPv6CP), the source of every RA.
    server_ll: Ipv6Addr,
    prefix: Ipv6Net,
    next_ra: Instant,
}

/// Counts the session in `sessions_active` while it is up.
#[derive(Debug)]
struct ActiveGuard(Arc<Metrics>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.sessions_active.dec();
    }
}

struct Driver<D: TunDevice> {
    shared: Arc<Shared>,
    tun: Arc<D>,
    session: ServerSession,
    id: u64,
    peer: SocketAddr,
    tls_version: Option<&'static str>,
    correlation_id: String,
    /// RADIUS Acct-Session-Id (RFC 2866 §5.5): unique across restarts and
    /// nodes.
    acct_session_id: String,
    accepted_at: Instant,
    /// Bytes for the client; `out[out_pos..]` not written yet.
    out: Vec<u8>,
    out_pos: usize,
    /// Written but not flushed.
    need_flush: bool,
    /// `poll_transmit` target, swapped in without a copy when `out` is empty.
    spare: Vec<u8>,
    unauth: Option<Unauthenticated>,
    _session_slot: OwnedSemaphorePermit,
    /// The backend's round under way.
    auth: Option<Round>,
    /// The backend's conversation between rounds (begun at the first).
    conversation: Option<Box<dyn AuthConversation>>,
    /// What the backend decided beyond the verdict (RADIUS reply).
    settings: SessionSettings,
    /// When the session's time is up (Session-Timeout), from Up.
    ends_at: Option<Instant>,
    /// The last packet from the client, for Idle-Timeout.
    last_active: Instant,
    /// A remote server (RADIUS) accepted the session.
    remote: bool,
    /// The networks behind this client that are routed to it (Framed-Route).
    framed: Vec<Ipv4Net>,
    /// What accounting says of this session, from Up; and when its next
    /// Interim-Update is due.
    acct: Option<(AcctSession, Option<Duration>)>,
    next_interim: Option<Instant>,
    /// Orders from outside (Disconnect and CoA requests), while up.
    control: Option<(mpsc::Receiver<Control>, Registered)>,
    fixed: LeaseRequest,
    user: Option<String>,
    method: Option<AuthMethod>,
    lease: Option<Lease>,
    /// The session asked for addresses and got an answer (a lease or a
    /// refusal).
    addresses_assigned: bool,
    routes: Vec<RouteGuard>,
    ip_tx: PacketTx,
    ip_rx: mpsc::Receiver<Bytes>,
    active: Option<ActiveGuard>,
    mtu: u16,
    v6: Option<Ipv6Link>,
    /// Destinations of Router Advertisements to send.
    pending_ra: Vec<Ipv6Addr>,
    /// Echo Replies from our link-local address to send (at most the
    /// budget's burst between two drains).
    pending_echo: Vec<Vec<u8>>,
    echo_budget: ra::EchoBudget,
    /// First spoofed packet logged (once per session).
    spoof_logged: bool,
    down: Option<CloseReason>,
    closing: bool,
    /// Server shutdown: when to stop waiting for the session's teardown.
    close_by: Option<Instant>,
    eof: bool,
}

/// Runs one SSTP session to its end.
pub(crate) async fn run<D, S>(
    shared: Arc<Shared>,
    tun: Arc<D>,
    stream: S,
    start: SessionStart,
    unauth: Unauthenticated,
    session_slot: OwnedSemaphorePermit,
    stop: watch::Receiver<bool>,
) where
    D: TunDevice + 'static,
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let mut rng = match drive::session_rng() {
        Ok(rng) => rng,
        Err(e) => {
            warn!(error = %e, "no OS randomness for the session; closing");
            return;
        }
    };
    let correlation_id = start.correlation_id.clone().unwrap_or_else(|| {
        let mut bytes = [0u8; 16];
        Random::fill(&mut rng, &mut bytes);
        Guid::from_random(bytes).to_string()
    });
    let at = now();
    let mut session = ServerSession::new(
        &shared.session_config(),
        start.cert_hashes,
        at,
        Box::new(rng),
    );
    drive::set_wall_clock(&mut session, at);
    let (ip_tx, ip_rx) = mpsc::channel(shared.config.load().network.session_queue);
    let mtu = shared.config.load().tun.mtu;
    // On the heap: the task's future then holds a pointer, not the session, in every state; an
    // inline `Driver` was copied into several states of the future and made each idle session's
    // task about 12 KiB (sstp-bench `load idle`, BENCHMARKS.md).
    let acct_session_id = accounting::session_id(shared.instance, start.id);
    let mut driver = Box::new(Driver {
        shared,
        tun,
        session,
        id: start.id,
        peer: start.peer,
        tls_version: start.tls_version,
        correlation_id,
        acct_session_id,
        accepted_at: start.accepted_at,
        out: start.response,
        out_pos: 0,
        need_flush: false,
        spare: Vec::new(),
        unauth: Some(unauth),
        _session_slot: session_slot,
        auth: None,
        conversation: None,
        settings: SessionSettings::default(),
        ends_at: None,
        last_active: Instant::now(),
        remote: false,
        framed: Vec::new(),
        acct: None,
        next_interim: None,
        control: None,
        fixed: LeaseRequest::default(),
        user: None,
        method: None,
        lease: None,
        addresses_assigned: false,
        routes: Vec::new(),
        ip_tx,
        ip_rx,
        active: None,
        mtu,
        v6: None,
        pending_ra: Vec::new(),
        pending_echo: Vec::new(),
        echo_budget: ra::EchoBudget::default(),
        spoof_logged: false,
        down: None,
        closing: false,
        close_by: None,
        eof: false,
    });
    debug!(correlation_id = %driver.correlation_id, "SSTP session starting");
    if !start.leftover.is_empty() {
        driver.input(&start.leftover);
    }
    let (rd, wr) = tokio::io::split(stream);
    driver.run(rd, wr, stop).await;
}

/// The next order from outside, or never while the session is not
/// registered.
async fn recv_control(
    control: &mut Option<(mpsc::Receiver<Control>, Registered)>,
) -> Option<Control> {
    match control {
        Some((rx, _)) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// The auth backend's answer, or never if none is pending.
async fn wait_auth(pending: &mut Option<Round>) -> (AuthDecision, Box<dyn AuthConversation>) {
    match pending {
        Some(fut) => fut.await,
        None => std::future::pending().await,
    }
}

impl<D: TunDevice> Driver<D> {
    async fn run<S: AsyncRead + AsyncWrite>(
        mut self: Box<Self>,
        mut rd: ReadHalf<S>,
        mut wr: WriteHalf<S>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut rbuf = vec![0u8; IDLE_READ_BUF];
        if *stop.borrow() {
            self.begin_close();
        }
        loop {
            drive::drain(self.as_mut()).await;
            if self.down.is_some() {
                break;
            }
            let pending = self.out.len() - self.out_pos;
            let can_read = pending < HIGH_WATER && !self.eof;
            let take_ip = self.active.is_some() && pending < LOW_WATER;
            let far = Instant::now() + Duration::from_secs(3600);
            let deadline = self.session.poll_timeout().map(Instant::from_std);
            let ra_at = self.v6.as_ref().map(|v| v.next_ra);
            let close_by = self.close_by;
            let ends_at = self.limit_deadline();
            let interim_at = self.next_interim;
            tokio::select! {
                biased;
                _ = stop.changed(), if !self.closing => self.begin_close(),
                () = tokio::time::sleep_until(close_by.unwrap_or(far)), if close_by.is_some() => {
                    debug!("server shutting down: the client did not finish the teardown in time");
                    break;
                }
                (decision, conversation) = wait_auth(&mut self.auth), if self.auth.is_some() => {
                    self.auth = None;
                    self.conversation = Some(conversation);
                    self.on_decision(decision);
                }
                read = rd.read(&mut rbuf), if can_read => match read {
                    Ok(0) => self.transport_gone("the client closed the connection"),
                    Ok(n) => {
                        self.input(&rbuf[..n]);
                        if n == rbuf.len() && rbuf.len() < READ_BUF {
                            rbuf.resize(READ_BUF, 0);
                        }
                        // Whatever else is already readable goes in before the packets are
                        // written, so they reach the TUN in one larger (GRO-coalesced) batch.
                        for _ in 0..READ_AHEAD {
                            match read_now(&mut rd, &mut rbuf) {
                                Some(Ok(0)) => {
                                    self.transport_gone("the client closed the connection");
                                    break;
                                }
                                Some(Ok(n)) => self.input(&rbuf[..n]),
                                Some(Err(e)) => {
                                    debug!(error = %e, "TLS read failed");
                                    self.transport_gone("TLS read failed");
                                    break;
                                }
                                None => break,
                            }
                        }
                    }
                    Err(e) => {
                        debug!(error = %e, "TLS read failed");
                        self.transport_gone("TLS read failed");
                    }
                },
                io = drive::write_or_flush(&mut wr, &self.out[self.out_pos..]),
                    if pending > 0 || self.need_flush => match io {
                    Ok(Some(n)) if n > 0 => {
                        self.out_pos += n;
                        if self.out_pos == self.out.len() {
                            self.out.clear();
                            self.out_pos = 0;
                            self.need_flush = true;
                        }
                    }
                    Ok(Some(_)) => self.transport_gone("TLS write returned 0"),
                    Ok(None) => self.need_flush = false,
                    Err(e) => {
                        debug!(error = %e, "TLS write failed");
                        self.transport_gone("TLS write failed");
                    }
                },
                packet = self.ip_rx.recv(), if take_ip => {
                    if let Some(packet) = packet {
                        // One update of the shared counters per burst, not per packet: the
                        // counters are atomics every worker writes.
                        let mut sent = Sent::default();
                        sent.send(&mut self.session, &packet);
                        for _ in 1..QUEUE_BURST {
                            match self.ip_rx.try_recv() {
                                Ok(packet) => sent.send(&mut self.session, &packet),
                                Err(_) => break,
                            }
                        }
                        record_sent(&sent, &self.shared.metrics);
                    }
                }
                () = tokio::time::sleep_until(deadline.unwrap_or(far)), if deadline.is_some() => {
                    self.session.handle_timeout(now());
                    // Session timers fire when the link is quiet (MS-SSTP Hello, LCP echo):
                    // give back what only traffic needs.
                    if rbuf.len() > IDLE_READ_BUF {
                        rbuf = vec![0u8; IDLE_READ_BUF];
                    }
                    self.shrink_idle_buffers();
                }
                () = tokio::time::sleep_until(ends_at.unwrap_or(far)), if ends_at.is_some() => {
                    self.check_limits();
                }
                () = tokio::time::sleep_until(interim_at.unwrap_or(far)), if interim_at.is_some() => {
                    self.accounting_interim();
                }
                Some(order) = recv_control(&mut self.control) => self.on_control(order),
                () = tokio::time::sleep_until(ra_at.unwrap_or(far)), if ra_at.is_some() => {
                    if let Some(v6) = &mut self.v6 {
                        v6.next_ra = Instant::now() + self.shared.config.load().network.ra_interval;
                        self.pending_ra.push(icmpv6::ALL_NODES);
                    }
                }
            }
        }
        // The session is over: send what it last said (Call Disconnect Ack,
        // Call Abort), then close TLS (close_notify) and TCP.
        if !self.eof {
            // At shutdown the last bytes get what is left of the session's
            // bound (a little at least, for the close_notify).
            let limit = self.close_by.map_or(FINISH_TIMEOUT, |by| {
                by.saturating_duration_since(Instant::now())
                    .max(SHUTDOWN_FINISH_MIN)
            });
            drive::finish(&mut wr, &self.out[self.out_pos..], limit).await;
        }
    }

    /// The next instant a time limit of the backend's may end the session:
    /// Session-Timeout from Up, Idle-Timeout from the client's last packet
    /// (RFC 2865 §5.27, §5.28).
    fn limit_deadline(&self) -> Option<Instant> {
        if self.active.is_none() || self.closing {
            return None;
        }
        let idle = self.settings.idle_timeout.map(|t| self.last_active + t);
        match (self.ends_at, idle) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The session is up: accounting's Start, and the Interim-Update
    /// interval (the Access-Accept's Acct-Interim-Interval, else
    /// `radius.interim_interval`).
    fn accounting_start(&mut self, ipv4: Ipv4Addr, ipv6: Option<Ipv6Net>) {
        let Some(accounting) = self.shared.accounting.get() else {
            return;
        };
        let session = AcctSession {
            context: self.auth_context(),
            user: self.user.clone().unwrap_or_default(),
            ipv4,
            ipv6,
            class: self.settings.class.clone(),
            authentic: if self.remote {
                Authentic::Radius
            } else {
                Authentic::Local
            },
            started: std::time::Instant::now(),
        };
        accounting.start(&session);
        let interval = self
            .settings
            .interim_interval
            .or(accounting.default_interim)
            .filter(|i| !i.is_zero());
        self.next_interim = interval.map(|i| Instant::now() + i);
        self.acct = Some((session, interval));
    }

    fn usage(&self) -> Usage {
        let stats = self.session.stats();
        Usage {
            input_octets: stats.ip_rx_bytes,
            output_octets: stats.ip_tx_bytes,
            input_packets: stats.ip_rx_packets,
            output_packets: stats.ip_tx_packets,
        }
    }

    fn accounting_interim(&mut self) {
        let (Some(accounting), Some((session, interval))) =
            (self.shared.accounting.get(), &self.acct)
        else {
            self.next_interim = None;
            return;
        };
        accounting.interim(session, self.usage());
        self.next_interim = interval.map(|i| Instant::now() + i);
    }

    /// An order from a Disconnect or CoA request, the control socket or
    /// the per-user limit.
    fn on_control(&mut self, order: Control) {
        match order {
            Control::End(ending) => self.end_session(ending),
            Control::Report(reply) => {
                let usage = self.usage();
                // The asker may have given up waiting; nothing to do then.
                let _ = reply.send(Traffic {
                    bytes_from_client: usage.input_octets,
                    bytes_to_client: usage.output_octets,
                    packets_from_client: usage.input_packets,
                    packets_to_client: usage.output_packets,
                });
            }
            Control::SessionTimeout(timeout) => {
                info!(
                    correlation_id = %self.correlation_id,
                    user = self.user.as_deref().unwrap_or("-"),
                    seconds = timeout.as_secs(),
                    "new session timeout"
                );
                self.ends_at = Some(Instant::now() + timeout);
            }
        }
    }

    /// Ends the session if one of its time limits is up.
    fn check_limits(&mut self) {
        let at = Instant::now();
        let ending = if self.ends_at.is_some_and(|t| t <= at) {
            Ending::SessionTimeout
        } else if self
            .settings
            .idle_timeout
            .is_some_and(|t| self.last_active + t <= at)
        {
            Ending::IdleTimeout
        } else {
            return;
        };
        self.end_session(ending);
    }

    /// Ends the session on purpose, saying why (its Stop record and the
    /// session-end line carry the cause).
    fn end_session(&mut self, ending: Ending) {
        info!(
            correlation_id = %self.correlation_id,
            user = self.user.as_deref().unwrap_or("-"),
            "ending the session: {ending}"
        );
        self.closing = true;
        self.session.end(now(), ending);
    }

    /// Releases output buffer capacity beyond what a quiet session needs.
    fn shrink_idle_buffers(&mut self) {
        self.session.shrink_buffers();
        if self.out.len() == self.out_pos && self.out.capacity() > IDLE_OUT_BUF {
            self.out = Vec::new();
            self.out_pos = 0;
        }
        if self.spare.capacity() > IDLE_OUT_BUF {
            self.spare = Vec::new();
        }
    }

    /// Hands TLS plaintext to the session (it deframes, MS-SSTP 2.2).
    fn input(&mut self, bytes: &[u8]) {
        self.session.handle_input(now(), bytes);
    }

    /// Server shutdown: the session's teardown starts now and gets at most
    /// [`SHUTDOWN_CLOSE`] (within `limits.shutdown_grace`).
    fn begin_close(&mut self) {
        self.closing = true;
        let bound = SHUTDOWN_CLOSE.min(self.shared.config.load().limits.shutdown_grace);
        self.close_by = Some(Instant::now() + bound);
        debug!("server shutting down: closing the session");
        self.session.close(now());
    }

    fn transport_gone(&mut self, why: &str) {
        debug!(why, "transport closed");
        self.eof = true;
        self.session.transport_closed(now());
    }

    /// The Router Advertisements and Echo Replies the session's packets
    /// and events asked for.
    fn answer_link(&mut self) {
        for dst in std::mem::take(&mut self.pending_ra) {
            self.send_ra(dst);
        }
        for reply in std::mem::take(&mut self.pending_echo) {
            // Too large for the link (4.2 allows no truncation) or the
            // buffer is full: like any packet for the client, dropped.
            if let Err(e) = self.session.send_ip(&reply) {
                debug!(error = %e, "echo reply not sent");
            }
        }
    }

    /// The session's bytes join what waits for the client.
    fn take_transmit(&mut self) {
        if self.session.poll_transmit(&mut self.spare) {
            if self.out.is_empty() {
                std::mem::swap(&mut self.out, &mut self.spare);
                self.out_pos = 0;
            } else {
                self.out.extend_from_slice(&self.spare);
                self.spare.clear();
            }
        }
    }

    fn handle_event(&mut self, event: Event) {
        match event {
            Event::Authenticate(request) => {
                self.user = Some(request.user_name_lossy().to_owned());
                self.method = Some(request.method());
                let request = match self.certificate_user(request) {
                    Ok(request) => request,
                    Err(refusal) => {
                        self.on_decision(AuthDecision::new(AuthVerdict::reject(refusal)));
                        return;
                    }
                };
                let conversation = match self.conversation.take() {
                    Some(conversation) => conversation,
                    None => self.shared.auth.begin(&self.auth_context()),
                };
                self.auth = Some(conversation.answer(request));
            }
            // Names the session in the logs until authentication does.
            Event::Identity { name } => self.user = Some(name),
            Event::Authenticated { username, method } => {
                self.user = Some(username);
                self.method = method;
                // No longer counts against max_unauthenticated.
                self.unauth = None;
            }
            Event::NeedAddresses { .. } => self.assign_addresses(),
            Event::Up(net) => {
                let Some(lease) = &self.lease else {
                    // Cannot happen (IPCP needs a lease first); be safe.
                    self.session.close(now());
                    return;
                };
                self.mtu = net.mtu;
                self.routes.push(self.shared.router.add_v4(
                    lease.ipv4,
                    self.id,
                    self.ip_tx.clone(),
                ));
                self.ends_at = self.settings.session_timeout.map(|t| Instant::now() + t);
                self.last_active = Instant::now();
                let metrics = &self.shared.metrics;
                metrics.sessions_active.inc();
                self.active = Some(ActiveGuard(Arc::clone(metrics)));
                metrics.sessions_total.inc();
                metrics
                    .handshake_seconds
                    .observe(self.accepted_at.elapsed().as_secs_f64());
                info!(
                    correlation_id = %self.correlation_id,
                    user = self.user.as_deref().unwrap_or("-"),
                    method = self.method.map_or("none", AuthMethod::name),
                    ipv4 = %lease.ipv4,
                    ipv6 = %lease.ipv6.map_or_else(|| "-".to_owned(), |p| p.to_string()),
                    mtu = net.mtu,
                    binding = net.binding.map_or("none", |h| match h {
                        HashProtocol::Sha1 => "sha1",
                        HashProtocol::Sha256 => "sha256",
                        _ => "other",
                    }),
                    "session up"
                );
                let (ipv4, ipv6) = (lease.ipv4, lease.ipv6);
                self.route_framed();
                self.accounting_start(ipv4, ipv6);
                let (tx, rx) = mpsc::channel(4);
                let entry = Entry {
                    acct_session_id: self.acct_session_id.clone(),
                    user: self.user.clone().unwrap_or_default(),
                    ipv4,
                    control: tx,
                    about: About {
                        method: self.method.map_or("none", AuthMethod::name),
                        ipv6,
                        peer: self.peer,
                        tls_version: self.tls_version,
                        up_at: Instant::now(),
                        up_wall: std::time::SystemTime::now(),
                        remote: self.remote,
                    },
                };
                self.control = Some((rx, self.shared.live.register(self.id, entry)));
                if let Some(v6) = net.ipv6 {
                    self.ipv6_up(v6);
                }
            }
            Event::Ipv6Up(config) => self.ipv6_up(config),
            Event::Down(reason) => self.down = Some(reason),
            _ => {}
        }
    }

    /// Who this session is, for the backend (RADIUS NAS-Port,
    /// Calling-Station-Id, Acct-Session-Id).
    fn auth_context(&self) -> AuthContext {
        AuthContext::new(
            self.acct_session_id.clone(),
            accounting::nas_port(self.id),
            self.peer,
        )
    }

    /// EAP-TLS: TLS has checked the chain, dates and CRLs; the server's
    /// policy checks the revoked list and names the user from the
    /// certificate, and the backend hears of that user. Other methods pass
    /// through.
    fn certificate_user(&mut self, request: AuthRequest) -> Result<AuthRequest, String> {
        let AuthData::EapTls { certificates } = request.data() else {
            return Ok(request);
        };
        let Some(policy) = self.shared.eap_tls_policy() else {
            return Err("EAP-TLS ran without a certificate policy".into());
        };
        let Some(leaf) = certificates.first() else {
            return Err("the client presented no certificate".into());
        };
        let name = policy.check(leaf).map_err(|e| e.to_string())?;
        info!(
            correlation_id = %self.correlation_id,
            identity = %request.user_name_lossy(),
            user = %name,
            "client certificate accepted"
        );
        self.user = Some(name.clone());
        AuthRequest::new(AuthMethod::EapTls, name, request.data().clone())
            .ok_or_else(|| "EAP-TLS request without certificate data".to_owned())
    }

    fn on_decision(&mut self, decision: AuthDecision) {
        if decision.verdict.is_accept() {
            self.settings = decision.settings.clone();
            self.remote = decision.remote;
        }
        let fixed = LeaseRequest {
            ipv4: decision.ipv4,
            ipv6: decision.ipv6_prefix,
            pool: decision.settings.pool.clone(),
        };
        let mut verdict = decision.verdict;
        if verdict.is_accept() {
            verdict = self.user_limit(verdict);
        }
        if verdict.is_accept() && (fixed.ipv4.is_some() || fixed.ipv6.is_some()) {
            // A fixed address is its user's alone, so another session that
            // holds it is the same user connected already. That is known
            // now, so the refusal goes out in the method's failure message
            // (MS-CHAPv2 E=649 and M=, RFC 2759 6; PAP Authenticate-Nak,
            // RFC 1334 2.2.3; CHAP Failure, RFC 1994 4.2). The lease taken
            // here is the one the client gets.
            match self.shared.pools.lease(&fixed) {
                Ok(lease) => {
                    self.lease = Some(lease);
                    self.shared.update_lease_gauges();
                }
                Err(PoolError::InUse(address)) => {
                    let user = self.user.as_deref().unwrap_or("this user");
                    verdict = AuthVerdict::reject_with_code(
                        format!("{user} is already connected: its fixed address {address} is held by another session"),
                        MsChapV2Failure::ERROR_NO_DIALIN_PERMISSION,
                    )
                    .with_message(format!("{user} is already connected from another session"));
                }
                // A fixed address outside the pool: refused at lease time,
                // after authentication, like any address problem.
                Err(_) => {}
            }
        }
        if let AuthVerdict::Reject { reason, .. } = &verdict {
            self.shared.metrics.auth_failures.inc();
            info!(
                correlation_id = %self.correlation_id,
                user = self.user.as_deref().unwrap_or("-"),
                method = self.method.map_or("none", AuthMethod::name),
                reason = %reason,
                "authentication rejected"
            );
        }
        self.fixed = fixed;
        self.session.auth_complete(now(), verdict);
    }

    /// `limits.max_sessions_per_user`: one session more than the user may
    /// have is refused, or ends the user's oldest (Acct-Terminate-Cause
    /// Port Preempted). Sessions that are up count; a user's sessions
    /// authenticating at the same moment may pass together.
    fn user_limit(&mut self, verdict: AuthVerdict) -> AuthVerdict {
        let config = self.shared.config.load();
        let max = config.limits.max_sessions_per_user;
        if max == 0 {
            return verdict;
        }
        let user = self.user.clone().unwrap_or_default();
        let up = self.shared.live.of_user(&user);
        if up.len() < max {
            return verdict;
        }
        match config.limits.user_limit_action {
            UserLimitAction::ReplaceOldest => {
                for (id, entry) in up.iter().take(up.len() + 1 - max) {
                    info!(
                        correlation_id = %self.correlation_id,
                        user = %user,
                        replaced = id,
                        "the user has the most sessions allowed: ending the oldest for this one"
                    );
                    let _ = entry.control.try_send(Control::End(Ending::Preempted));
                }
                verdict
            }
            _ => AuthVerdict::reject_with_code(
                format!(
                    "{user} has {} sessions up, the most limits.max_sessions_per_user allows",
                    up.len()
                ),
                MsChapV2Failure::ERROR_NO_DIALIN_PERMISSION,
            )
            .with_message(format!(
                "{user} is connected already from {} other sessions, the most allowed",
                up.len()
            )),
        }
    }

    /// Routes the backend's Framed-Routes that lie inside
    /// `network.routed_networks` to this session; the others are refused
    /// in a warning.
    fn route_framed(&mut self) {
        let allowed = &self.shared.config.load().network.routed_networks;
        for net in self.settings.routes.clone() {
            let inside = allowed
                .iter()
                .any(|a| a.contains(&net.network()) && a.prefix_len() <= net.prefix_len());
            if inside {
                self.routes.push(
                    self.shared
                        .router
                        .add_v4_net(net, self.id, self.ip_tx.clone()),
                );
                self.framed.push(net);
            } else {
                warn!(
                    correlation_id = %self.correlation_id,
                    user = self.user.as_deref().unwrap_or("-"),
                    route = %net,
                    "the authentication backend's Framed-Route is outside network.routed_networks; not routed"
                );
            }
        }
    }

    fn assign_addresses(&mut self) {
        if self.addresses_assigned {
            return;
        }
        self.addresses_assigned = true;
        let lease = match self.lease.take() {
            Some(lease) => Ok(lease),
            None => self.shared.pools.lease(&self.fixed),
        };
        match lease {
            Ok(lease) => {
                // The backend's DNS servers (RADIUS MS-Primary/Secondary-DNS-Server) win.
                let dns = if self.settings.dns.is_empty() {
                    &self.shared.config.load().network.dns
                } else {
                    &self.settings.dns
                };
                let dns = dns.iter().take(2).copied();
                let addresses =
                    AddressLease::new(self.shared.pools.server_v4(), lease.ipv4).with_dns(dns);
                self.lease = Some(lease);
                self.shared.update_lease_gauges();
                self.session.assign_addresses(now(), addresses);
            }
            // Authenticated, but no address to give: the client's person
            // reads why in the LCP Terminate-Request (RFC 1661 5.5), and the
            // session's end line says it here.
            Err(e) => {
                let (cause, reason) = refusal(&e);
                self.session.refuse(now(), cause, &reason);
            }
        }
    }

    fn ipv6_up(&mut self, config: Ipv6Config) {
        if self.v6.is_some() {
            return;
        }
        let Some(prefix) = self.lease.as_ref().and_then(|l| l.ipv6) else {
            return;
        };
        self.routes.push(
            self.shared
                .router
                .add_v6(prefix, self.id, self.ip_tx.clone()),
        );
        debug!(
            %prefix,
            server = %config.local,
            client = %config.peer.map_or_else(|| "-".to_owned(), |a| a.to_string()),
            "IPv6 up"
        );
        self.v6 = Some(Ipv6Link {
            server_ll: config.local,
            prefix,
            next_ra: Instant::now() + self.shared.config.load().network.ra_interval,
        });
        // RFC 4861 6.2.4: advertise at once when the interface comes up.
        self.pending_ra.push(icmpv6::ALL_NODES);
    }

    fn send_ra(&mut self, dst: Ipv6Addr) {
        let Some(v6) = &self.v6 else { return };
        let network = &self.shared.config.load().network;
        let params = icmpv6::RaParams {
            prefix: v6.prefix.network(),
            prefix_len: v6.prefix.prefix_len(),
            router_lifetime: network.ra_router_lifetime.as_secs().min(9000) as u16,
            valid_lifetime: PREFIX_VALID_LIFETIME,
            preferred_lifetime: PREFIX_PREFERRED_LIFETIME,
            mtu: Some(u32::from(self.mtu)),
            dns: network.dns6.clone(),
            dns_lifetime: (network.ra_interval.as_secs() * 3).min(u64::from(u32::MAX)) as u32,
        };
        let mut packet = Vec::with_capacity(128);
        icmpv6::build_router_advertisement(v6.server_ll, dst, &params, &mut packet);
        if let Err(e) = self.session.send_ip(&packet) {
            debug!(error = %e, "router advertisement not sent");
        }
    }

    /// Packets the client sent: checked, then to the TUN in batches, to
    /// another session, or answered here (Router Solicitations, Echo
    /// Requests to our link-local address).
    async fn forward_from_client(&mut self) {
        let server_ll = self.v6.as_ref().map(|v6| v6.server_ll);
        let nets = self.shared.client_nets.load();
        let policy = Policy::new(
            &self.shared,
            &nets,
            self.lease.as_ref(),
            &self.framed,
            server_ll,
        );
        // Borrowed from the pool only while there is something to write.
        let mut batch: Option<SendBatch> = None;
        let mut written = Written::default();
        // (packets, bytes), added to the shared counters once.
        let mut from_client = (0u64, 0u64);
        let shared = &self.shared;
        let metrics = &shared.metrics;
        let result = drive::deliver(
            &mut self.session,
            &*self.tun,
            &mut batch,
            || shared.tun_batches.take(),
            &mut written,
            |packet| {
                from_client.0 += 1;
                from_client.1 += packet.len() as u64;
                match policy.classify(packet) {
                    Verdict::Tun => return true,
                    Verdict::Peer(dst) => {
                        match shared.router.deliver(dst, Bytes::copy_from_slice(packet)) {
                            Delivery::Queued => {}
                            Delivery::Full => metrics.count_drop(DropReason::QueueFull, 1),
                            Delivery::NoRoute => metrics.count_drop(DropReason::NoRoute, 1),
                        }
                    }
                    Verdict::RouterSolicitation(reply_to) => self.pending_ra.push(reply_to),
                    Verdict::EchoRequest(server_ll) => {
                        if self.echo_budget.allow(now()) {
                            if let Some(request) = icmpv6::parse_echo_request(packet, server_ll) {
                                let mut reply = Vec::with_capacity(packet.len());
                                icmpv6::build_echo_reply(server_ll, &request, &mut reply);
                                self.pending_echo.push(reply);
                            }
                        } else {
                            metrics.count_drop(DropReason::RateLimited, 1);
                        }
                    }
                    Verdict::Ignore => {}
                    Verdict::Drop(why) => {
                        metrics.count_drop(why, 1);
                        if why == DropReason::Spoofed && !self.spoof_logged {
                            self.spoof_logged = true;
                            let source = router::addresses(packet).map(|(s, _)| s);
                            warn!(
                                correlation_id = %self.correlation_id,
                                user = self.user.as_deref().unwrap_or("-"),
                                source = %source.map_or_else(|| "-".to_owned(), |a| a.to_string()),
                                "dropping packets with a source address that is not the client's (logged once per session)"
                            );
                        }
                    }
                }
                false
            },
        )
        .await;
        // Counted before the last packets show on the TUN.
        if from_client.0 > 0 {
            metrics.packets_from_clients.inc_by(from_client.0);
            metrics.bytes_from_clients.inc_by(from_client.1);
            self.last_active = Instant::now();
        }
        let rest = drive::write_rest(&*self.tun, &mut batch, &mut written).await;
        // A failed device is the router's to report; this session counts
        // what it lost.
        if let Err(error) = result.and(rest) {
            debug!(%error, "TUN write failed");
        }
        if written.dropped > 0 {
            metrics.count_drop(DropReason::TunError, written.dropped);
        }
        if let Some(b) = batch {
            shared.tun_batches.give(b);
        }
    }
}

/// Where the session's outputs go, in the order [`drive::drain`] takes them.
impl<D: TunDevice> drive::Outputs for Driver<D> {
    type Session = ServerSession;

    fn session(&mut self) -> &mut ServerSession {
        &mut self.session
    }

    async fn on_event(&mut self, event: Event) {
        self.handle_event(event);
    }

    async fn deliver(&mut self) {
        self.forward_from_client().await;
    }

    async fn answer(&mut self) {
        self.answer_link();
    }

    async fn transmit(&mut self) {
        self.take_transmit();
    }
}

impl<D: TunDevice> Drop for Driver<D> {
    /// The one log line of a session's end, whatever ended it.
    fn drop(&mut self) {
        let stats = self.session.stats();
        let reason = self
            .down
            .as_ref()
            .map_or_else(|| "dropped at shutdown".to_owned(), ToString::to_string);
        self.shared
            .metrics
            .session_end(self.down.as_ref().map(CloseReason::kind));
        info!(
            correlation_id = %self.correlation_id,
            user = self.user.as_deref().unwrap_or("-"),
            peer = %self.peer,
            ipv4 = %self.lease.as_ref().map_or_else(|| "-".to_owned(), |l| l.ipv4.to_string()),
            ipv6 = %self.lease.as_ref().and_then(|l| l.ipv6).map_or_else(|| "-".to_owned(), |p| p.to_string()),
            bytes_in = stats.ip_rx_bytes,
            bytes_out = stats.ip_tx_bytes,
            packets_in = stats.ip_rx_packets,
            packets_out = stats.ip_tx_packets,
            duration_ms = self.accepted_at.elapsed().as_millis() as u64,
            reason = %reason,
            terminate_cause = accounting::terminate_cause(self.down.as_ref()),
            "session end"
        );
        if let (Some(accounting), Some((session, _))) = (self.shared.accounting.get(), &self.acct) {
            let cause = accounting::terminate_cause(self.down.as_ref());
            accounting.stop(session, self.usage(), cause);
        }
        // Routes before the lease, so no packet is routed to a session
        // whose address is already someone else's.
        self.routes.clear();
        self.lease = None;
        self.shared.update_lease_gauges();
    }
}

/// Why a session gets no address: the cause, for the session's end and
/// accounting, and the words for the client's person (one line, at most 255
/// bytes go into the LCP Terminate-Request).
fn refusal(error: &PoolError) -> (Refusal, String) {
    match error {
        PoolError::Exhausted => (
            Refusal::NoAddress,
            "no address available: the server's address pool is exhausted".to_owned(),
        ),
        PoolError::InUse(address) => (
            Refusal::AddressInUse,
            format!("the fixed address {address} of this user is in use by another session"),
        ),
        PoolError::UnknownPool(name) => (
            Refusal::Misconfigured,
            format!(
                "the server is misconfigured: this user's address pool {name:?} does not exist"
            ),
        ),
        PoolError::NotInPool(address) => (
            Refusal::Misconfigured,
            format!(
                "the server is misconfigured: this user's fixed address {address} is outside its address pool"
            ),
        ),
        other => (Refusal::NoAddress, format!("no address available: {other}")),
    }
}

/// What happens to a packet from a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// To the TUN device.
    Tun,
    /// To another client (client-to-client is on).
    Peer(IpAddr),
    /// A Router Solicitation: answer it (to this address).
    RouterSolicitation(Ipv6Addr),
    /// An Echo Request to our link-local address (given): answer it.
    EchoRequest(Ipv6Addr),
    /// Link-scoped traffic for nobody (DAD, MLD): drop quietly.
    Ignore,
    Drop(DropReason),
}

/// The forwarding policy of one session.
#[derive(Debug)]
struct Policy<'a> {
    ipv4: Option<Ipv4Addr>,
    ipv6: Option<Ipv6Net>,
    pool_v4: Ipv4Net,
    server_v4: Ipv4Addr,
    pool_v6: Option<Ipv6Net>,
    /// The named pools and the networks behind clients: other sessions'
    /// too.
    client_nets: &'a [Ipv4Net],
    /// The networks behind this client (Framed-Route): sources it may send
    /// from besides its address.
    framed: &'a [Ipv4Net],
    client_to_client: bool,
    /// Our link-local address on this link, once IPv6CP is up.
    server_ll: Option<Ipv6Addr>,
}

impl<'a> Policy<'a> {
    fn new(
        shared: &'a Shared,
        client_nets: &'a [Ipv4Net],
        lease: Option<&Lease>,
        framed: &'a [Ipv4Net],
        server_ll: Option<Ipv6Addr>,
    ) -> Self {
        Self {
            ipv4: lease.map(|l| l.ipv4),
            ipv6: lease.and_then(|l| l.ipv6),
            pool_v4: shared.pools.net_v4(),
            server_v4: shared.pools.server_v4(),
            pool_v6: shared.pools.net_v6(),
            client_nets,
            framed,
            client_to_client: shared.config.load().network.client_to_client,
            server_ll,
        }
    }

    fn classify(&self, packet: &[u8]) -> Verdict {
        let Some((src, dst)) = router::addresses(packet) else {
            return Verdict::Drop(DropReason::Invalid);
        };
        match (src, dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => {
                if Some(src) != self.ipv4 && !self.framed.iter().any(|n| n.contains(&src)) {
                    return Verdict::Drop(DropReason::Spoofed);
                }
                let is_client = (self.pool_v4.contains(&dst)
                    && dst != self.server_v4
                    && dst != self.pool_v4.network()
                    && dst != self.pool_v4.broadcast())
                    || self.client_nets.iter().any(|n| n.contains(&dst));
                if is_client {
                    self.peer(dst.into())
                } else {
                    Verdict::Tun
                }
            }
            (IpAddr::V6(src), IpAddr::V6(dst)) => {
                if ra::is_link_scoped(dst) {
                    // Link-scoped packets are for the router on the link:
                    // us. We answer Router Solicitations and Echo Requests
                    // (RFC 4443 4.2; our link-local address is no kernel
                    // address: the TUN is shared); the rest (DAD, MLD)
                    // needs no answer on a point-to-point link.
                    if let Some(rs) = icmpv6::parse_router_solicitation(packet) {
                        return Verdict::RouterSolicitation(rs.reply_to());
                    }
                    return match self.server_ll {
                        Some(ll) if icmpv6::parse_echo_request(packet, ll).is_some() => {
                            Verdict::EchoRequest(ll)
                        }
                        _ => Verdict::Ignore,
                    };
                }
                if !self.ipv6.is_some_and(|p| p.contains(&src)) {
                    return Verdict::Drop(DropReason::Spoofed);
                }
                let is_client = self.pool_v6.is_some_and(|pool| {
                    pool.contains(&dst) && (u128::from(dst) ^ u128::from(pool.network())) >> 64 != 0
                });
                if is_client {
                    self.peer(dst.into())
                } else {
                    Verdict::Tun
                }
            }
            _ => Verdict::Drop(DropReason::Invalid),
        }
    }

    fn peer(&self, dst: IpAddr) -> Verdict {
        if self.client_to_client {
            Verdict::Peer(dst)
        } else {
            Verdict::Drop(DropReason::ClientToClient)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_pool_lends_and_keeps_a_bounded_number() {
        let pool = BatchPool::default();
        let mut b = pool.take();
        b.push(&[0x45, 0, 0, 20]);
        pool.give(b);
        // A batch comes back empty, whatever it held.
        assert!(pool.take().is_empty());
        let many: Vec<SendBatch> = (0..BatchPool::KEEP + 8).map(|_| pool.take()).collect();
        for b in many {
            pool.give(b);
        }
        let kept = pool.free.lock().expect("lock").len();
        assert_eq!(kept, BatchPool::KEEP);
    }

    /// The named pool 10.78.0.0/24 and the networks behind clients
    /// 192.168.0.0/16; this client has 192.168.77.0/24 behind it.
    const CLIENT_NETS: [Ipv4Net; 2] = [
        Ipv4Net::new_assert(Ipv4Addr::new(10, 78, 0, 0), 24),
        Ipv4Net::new_assert(Ipv4Addr::new(192, 168, 0, 0), 16),
    ];
    const FRAMED: [Ipv4Net; 1] = [Ipv4Net::new_assert(Ipv4Addr::new(192, 168, 77, 0), 24)];

    fn policy(c2c: bool) -> Policy<'static> {
        Policy {
            ipv4: Some(Ipv4Addr::new(10, 77, 0, 2)),
            ipv6: Some("fd00:77:0:1::/64".parse().expect("net")),
            pool_v4: "10.77.0.0/24".parse().expect("net"),
            server_v4: Ipv4Addr::new(10, 77, 0, 1),
            pool_v6: Some("fd00:77::/48".parse().expect("net")),
            client_nets: &CLIENT_NETS,
            framed: &FRAMED,
            client_to_client: c2c,
            server_ll: Some("fe80::1".parse().expect("addr")),
        }
    }

    fn v4(src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
        let mut p = vec![0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0];
        p.extend_from_slice(&src);
        p.extend_from_slice(&dst);
        p
    }

    fn v6(src: &str, dst: &str) -> Vec<u8> {
        let mut p = vec![0x60, 0, 0, 0, 0, 0, 59, 64];
        p.extend_from_slice(&src.parse::<Ipv6Addr>().expect("src").octets());
        p.extend_from_slice(&dst.parse::<Ipv6Addr>().expect("dst").octets());
        p
    }

    #[test]
    fn ipv4_policy() {
        let p = policy(false);
        assert_eq!(
            p.classify(&v4([10, 77, 0, 2], [192, 0, 2, 1])),
            Verdict::Tun
        );
        assert_eq!(
            p.classify(&v4([10, 77, 0, 2], [10, 77, 0, 1])),
            Verdict::Tun,
            "the server's own address"
        );
        assert_eq!(
            p.classify(&v4([10, 77, 0, 3], [192, 0, 2, 1])),
            Verdict::Drop(DropReason::Spoofed)
        );
        assert_eq!(
            p.classify(&v4([10, 77, 0, 2], [10, 77, 0, 9])),
            Verdict::Drop(DropReason::ClientToClient)
        );
        assert_eq!(
            policy(true).classify(&v4([10, 77, 0, 2], [10, 77, 0, 9])),
            Verdict::Peer(IpAddr::from([10, 77, 0, 9]))
        );
        assert_eq!(p.classify(&[0x45, 0]), Verdict::Drop(DropReason::Invalid));
        // From the network behind it; to a named pool or another client's
        // network, which is client to client.
        assert_eq!(
            p.classify(&v4([192, 168, 77, 5], [192, 0, 2, 1])),
            Verdict::Tun
        );
        assert_eq!(
            p.classify(&v4([192, 168, 78, 5], [192, 0, 2, 1])),
            Verdict::Drop(DropReason::Spoofed),
            "another client's network"
        );
        for dst in [[10, 78, 0, 9], [192, 168, 5, 5]] {
            assert_eq!(
                p.classify(&v4([10, 77, 0, 2], dst)),
                Verdict::Drop(DropReason::ClientToClient)
            );
            assert_eq!(
                policy(true).classify(&v4([10, 77, 0, 2], dst)),
                Verdict::Peer(IpAddr::from(dst))
            );
        }
    }

    #[test]
    fn ipv6_policy() {
        let p = policy(false);
        assert_eq!(
            p.classify(&v6("fd00:77:0:1::5", "2001:db8::1")),
            Verdict::Tun
        );
        assert_eq!(
            p.classify(&v6("fd00:77:0:1::5", "fd00:77::1")),
            Verdict::Tun,
            "the server's /64"
        );
        assert_eq!(
            p.classify(&v6("fd00:77:0:2::5", "2001:db8::1")),
            Verdict::Drop(DropReason::Spoofed)
        );
        assert_eq!(
            p.classify(&v6("fd00:77:0:1::5", "fd00:77:0:9::1")),
            Verdict::Drop(DropReason::ClientToClient)
        );
        assert_eq!(
            p.classify(&v6("::", "ff02::1:ff00:5")),
            Verdict::Ignore,
            "DAD"
        );
        assert_eq!(
            p.classify(&v6("fe80::2", "2001:db8::1")),
            Verdict::Drop(DropReason::Spoofed),
            "link-local source off the link"
        );
        let mut no_lease = policy(false);
        no_lease.ipv6 = None;
        assert_eq!(
            no_lease.classify(&v6("fd00:77:0:1::5", "2001:db8::1")),
            Verdict::Drop(DropReason::Spoofed)
        );
    }
}
