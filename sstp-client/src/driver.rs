//! The async side of a tunnel: a supervisor that connects, runs one
//! connection at a time, restores the system after each, and reconnects
//! with backoff; and the connection loop, the same shape as the server's
//! (one `select!` over TLS reads, TUN reads, the session's deadline and the
//! stop signal), feeding sstp-core's `ClientSession` and draining it.
//!
//! Time is `sstp_tun::drive::now` (tokio's clock), so tests can pause and
//! advance it; the helpers the server's driver shares come from there too.
//!
//! One task owns the TLS stream: reads happen in the `select!`, writes
//! between turns (everything the session queued, in one `write_all`, so
//! many SSTP packets share a TLS record). A write that blocks (the server
//! not reading) holds up reading meanwhile; servers read and write
//! independently, so this only slows a client whose server is stalled.

use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rand::RngExt;
use sstp_core::Session;
use sstp_core::{ClientSession, CloseReason, Event, Ipv6Config, NetConfig};
use sstp_tun::drive::{self, Sent, Written, now, ready_now};
use sstp_tun::{RecvBatch, SendBatch, TunDevice};
use tokio::io::AsyncReadExt;
use tokio::sync::{mpsc, watch};
use tokio_rustls::client::TlsStream;

use crate::client::{Phase, Settings, StatsInner, TunnelEvent, UpInfo};
use crate::dial::{self, BoxedIo, Dialed};
use crate::error::Error;
use crate::netsetup::{Ipv4Link, NetSetup};
use crate::options::IPV6_MIN_MTU;
use crate::slaac::{
    RouterAdvert, build_router_solicitation, parse_router_advertisement, slaac_addresses,
};

/// Longest a clean disconnect may take before the connection is dropped.
const CLOSE_LIMIT: Duration = Duration::from_secs(10);
/// Longest the TLS close_notify may take.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(2);
/// Bytes read from TLS at once.
const READ_CHUNK: usize = 64 * 1024;
/// Packets read from the TUN per wake-up.
const TUN_BATCH: usize = 64;
/// Extra TUN batches taken without waiting before the TLS write (each up to [`TUN_BATCH`]
/// packets; an offload read is one GSO packet of at most 64 KiB), so that three batches stay
/// within the session's 256 KiB transmit buffer).
const TUN_READ_AHEAD: usize = 2;

/// What the supervisor shares with the `Tunnel` handle.
pub(crate) struct Shared {
    pub(crate) events: mpsc::Sender<TunnelEvent>,
    pub(crate) phase: watch::Sender<Phase>,
    pub(crate) stats: Arc<StatsInner>,
    pub(crate) stop: watch::Receiver<bool>,
}

impl Shared {
    fn emit(&self, event: TunnelEvent) {
        tracing::debug!(?event, "tunnel event");
        if self.events.try_send(event).is_err() {
            tracing::debug!("tunnel event dropped: nobody reads the event stream");
        }
    }

    fn stop_requested(&self) -> bool {
        *self.stop.borrow() || self.stop.has_changed().is_err()
    }
}

/// How one connection ended.
enum End {
    /// The user asked to disconnect (and the call was closed).
    Stopped,
    /// It failed, before or after the tunnel came up.
    Failed { error: Error, was_up: bool },
}

/// Runs the tunnel until the user stops it or it fails for good.
pub(crate) async fn supervise<D: TunDevice>(
    settings: Arc<Settings>,
    tun: D,
    mut net: NetSetup,
    mut shared: Shared,
) -> Result<(), Error> {
    let interface = tun.name().to_owned();
    let mut attempt = 0u32;
    let mut failures = 0u32;
    let mut ever_up = false;
    // Not fatal: a container may mount /proc/sys read-only, and a full tunnel does not care.
    if let Err(e) = net.prepare(&interface).await {
        tracing::warn!(
            "{e}; the kernel may still take an IPv6 default route from the server, past --route or --no-routes"
        );
    }
    let result = loop {
        attempt += 1;
        shared.emit(TunnelEvent::Connecting {
            attempt,
            server: settings.server.to_string(),
            proxy: settings.proxy.as_ref().map(ToString::to_string),
        });
        let dialed = tokio::select! {
            r = dial::dial(&settings.server, settings.proxy.as_ref(), &settings.tls, settings.timeouts) => r,
            _ = stopped(&mut shared.stop) => break Ok(()),
        };
        let end = match dialed {
            Ok(dialed) => {
                shared.emit(TunnelEvent::Connected {
                    server: settings.server.to_string(),
                    remote: dialed.remote,
                    tls_version: dialed.tls_version,
                    fingerprint: dialed.fingerprint,
                });
                run_connection(&settings, &tun, &interface, dialed, &mut net, &mut shared).await
            }
            Err(error) => End::Failed {
                error,
                was_up: false,
            },
        };
        // After every connection: the system goes back to how it was.
        net.restore().await;
        shared.stats.went_down();
        match end {
            End::Stopped => break Ok(()),
            End::Failed { error, was_up } => {
                if was_up {
                    ever_up = true;
                    failures = 0;
                }
                let policy = &settings.reconnect;
                // After a tunnel was up, whatever can pass is retried; before, only what is
                // plainly transient, so a typo or a wrong password fails at once.
                let worth_it = if ever_up {
                    error.is_retryable()
                        || policy.retry_auth_failures && error.kind() == crate::ErrorKind::Auth
                } else {
                    error.is_transient()
                };
                if !(policy.enabled && worth_it) || shared.stop_requested() {
                    break Err(error);
                }
                if policy.max_attempts.is_some_and(|max| failures >= max) {
                    if failures == 0 {
                        break Err(error);
                    }
                    break Err(Error::GaveUp {
                        established: ever_up,
                        attempts: if ever_up { failures } else { failures + 1 },
                        last: Box::new(error),
                    });
                }
                failures += 1;
                let delay = policy.delay(failures, rand::rng().random::<f64>());
                tracing::info!(%error, attempt = failures, ?delay, established = ever_up, "retrying");
                shared.emit(TunnelEvent::Reconnecting {
                    attempt: failures,
                    established: ever_up,
                    delay,
                    reason: error.to_string(),
                    kind: error.kind(),
                });
                if ever_up {
                    shared.stats.reconnects.fetch_add(1, Ordering::Relaxed);
                    let _ = shared.phase.send(Phase::Reconnecting);
                }
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    _ = stopped(&mut shared.stop) => break Ok(()),
                }
            }
        }
    };
    net.restore().await;
    let (reason, kind) = match &result {
        Ok(()) => ("disconnected".to_owned(), None),
        Err(e) => (e.to_string(), Some(e.kind())),
    };
    shared.emit(TunnelEvent::Down { reason, kind });
    let _ = shared.phase.send(Phase::Ended);
    result
}

/// Resolves once a stop is requested (or the handle is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    loop {
        if *stop.borrow_and_update() {
            return;
        }
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// One SSTP connection, from the HTTP handshake's leftover bytes to
/// `Event::Down` (MS-SSTP 3.2; the call order in the `sstp_core` docs).
async fn run_connection<D: TunDevice>(
    settings: &Settings,
    tun: &D,
    interface: &str,
    dialed: Dialed,
    net: &mut NetSetup,
    shared: &mut Shared,
) -> End {
    let Dialed {
        stream,
        leftover,
        cert,
        remote,
        ..
    } = dialed;
    let rng: Box<dyn sstp_core::Random + Send> = match drive::session_rng() {
        Ok(rng) => Box::new(rng),
        Err(e) => {
            return End::Failed {
                error: Error::Io(e),
                was_up: false,
            };
        }
    };
    let at = now();
    let mut session = ClientSession::new(&settings.session, cert, at, rng);
    drive::set_wall_clock(&mut session, at);
    if !leftover.is_empty() {
        session.handle_input(now(), &leftover);
    }
    let stats = Arc::clone(&shared.stats);
    let mut conn = Connection {
        settings,
        tun,
        interface,
        net,
        shared,
        stream,
        session,
        pin: remote.map(|a| a.ip()),
        rbuf: vec![0u8; READ_CHUNK],
        tx: Vec::with_capacity(16 * 1024),
        batch: RecvBatch::new(TUN_BATCH, usize::from(tun.mtu()), 0),
        tun_out: None,
        up: false,
        closing: None,
        failure: None,
        down: None,
        ipv6_id: None,
        ipv6_allowed: true,
        ipv6_addresses: Vec::new(),
        adverts: Vec::new(),
        stats,
    };
    let reason = conn.run().await;
    conn.finish(reason).await
}

/// One connection's state: the session, the stream and TUN it is driven
/// over, and what the loop learned (up, closing, IPv6, the first failure).
struct Connection<'a, D> {
    settings: &'a Settings,
    tun: &'a D,
    interface: &'a str,
    net: &'a mut NetSetup,
    shared: &'a mut Shared,
    stream: TlsStream<BoxedIo>,
    session: ClientSession,
    /// The TCP peer's address, kept off the tunnel by the routes.
    pin: Option<IpAddr>,
    rbuf: Vec<u8>,
    tx: Vec<u8>,
    batch: RecvBatch,
    /// Packets for the TUN go out in one batch per wake-up (coalesced by GRO on an offload
    /// device); made when the first packet comes.
    tun_out: Option<SendBatch>,
    up: bool,
    closing: Option<tokio::time::Instant>,
    failure: Option<Error>,
    /// `Event::Down` came: why the session ended.
    down: Option<CloseReason>,
    ipv6_id: Option<[u8; 8]>,
    /// Whether the negotiated MTU lets IPv6 run (known from `Event::Up`).
    ipv6_allowed: bool,
    ipv6_addresses: Vec<Ipv6Addr>,
    adverts: Vec<RouterAdvert>,
    stats: Arc<StatsInner>,
}

impl<D: TunDevice> Connection<'_, D> {
    /// The loop: the session's outputs ([`drive::drain`]: events, TUN
    /// packets, SLAAC addresses, TLS bytes), then one wait for input, until
    /// the session is down.
    async fn run(&mut self) -> CloseReason {
        loop {
            drive::drain(self).await;
            if let Some(reason) = self.down.take() {
                return reason;
            }
            self.wait().await;
        }
    }

    /// Writes what the session has for TLS; a failed write is a lost
    /// transport.
    async fn flush(&mut self) {
        self.tx.clear();
        if !self.session.poll_transmit(&mut self.tx) {
            return;
        }
        if let Err(e) = drive::write_flush(&mut self.stream, &self.tx).await {
            tracing::debug!(error = %e, "TLS write failed");
            self.failure.get_or_insert(Error::Io(e));
            self.session.transport_closed(now());
        }
    }

    /// Packets for the TUN, written a batch at a time; Router
    /// Advertisements among them are kept for SLAAC. A packet the device
    /// refuses is counted and dropped; a device that fails ends the call.
    async fn write_packets(&mut self) {
        let mtu = usize::from(self.tun.mtu());
        let mut written = Written::default();
        let mut too_long = 0u64;
        let adverts = &mut self.adverts;
        let result = drive::deliver(
            &mut self.session,
            self.tun,
            &mut self.tun_out,
            || SendBatch::new(TUN_BATCH),
            &mut written,
            |packet| {
                if packet.first().is_some_and(|b| b >> 4 == 6)
                    && let Some(ra) = parse_router_advertisement(packet)
                {
                    adverts.push(ra);
                }
                if packet.len() > mtu {
                    too_long += 1;
                    return false;
                }
                true
            },
        )
        .await;
        let rest = drive::write_rest(self.tun, &mut self.tun_out, &mut written).await;
        let stats = &self.stats;
        stats
            .rx_packets
            .fetch_add(written.packets, Ordering::Relaxed);
        stats.rx_bytes.fetch_add(written.bytes, Ordering::Relaxed);
        stats
            .dropped
            .fetch_add(written.dropped + too_long, Ordering::Relaxed);
        if let Err(error) = result.and(rest) {
            self.fail(Error::Tun(error));
        }
    }

    /// A local failure (setup, TUN) ends the call: the first one is kept
    /// for the user, and the disconnect gets [`CLOSE_LIMIT`].
    fn fail(&mut self, error: Error) {
        self.failure.get_or_insert(error);
        self.session.close(now());
        self.closing
            .get_or_insert(tokio::time::Instant::now() + CLOSE_LIMIT);
    }

    /// Acts on one session event.
    async fn handle_event(&mut self, event: Event) {
        match event {
            Event::Authenticated { username, method } => {
                self.shared
                    .emit(TunnelEvent::Authenticated { username, method });
            }
            Event::Up(config) => self.on_up(config).await,
            Event::Ipv6Up(_) if !self.ipv6_allowed => {
                tracing::debug!("IPv6CP opened on a link below 1280 bytes; IPv6 stays off");
            }
            Event::Ipv6Up(v6) => self.on_ipv6_up(v6).await,
            Event::Down(reason) => self.down = Some(reason),
            _ => {}
        }
    }

    /// The link is up: the IPv4 side of the system is set up, and IPv6 if
    /// it came up with it.
    async fn on_up(&mut self, config: NetConfig) {
        // The MTU may come out below what was asked (the server's MRU); IPv6
        // needs 1280 (RFC 8200 5), so below it the link stays IPv4 only.
        self.ipv6_allowed = config.mtu >= IPV6_MIN_MTU;
        let mut warnings = Vec::new();
        if self.settings.session.common.ipv6 && !self.ipv6_allowed {
            let warning = format!(
                "the server lowered the tunnel MTU to {}, below the {IPV6_MIN_MTU} IPv6 needs: the tunnel carries IPv4 only",
                config.mtu
            );
            // A person reads it in the `Up` event.
            tracing::info!("{warning}");
            warnings.push(warning);
        }
        let ipv6 = config.ipv6.filter(|_| self.ipv6_allowed);
        if let Some(v6) = ipv6 {
            self.ipv6_id = Some(v6.local_id);
        }
        let link = Ipv4Link {
            local: config.ipv4.local,
            peer: config.ipv4.peer,
            dns: config.ipv4.dns.clone(),
            mtu: config.mtu,
            ipv6_local: ipv6.map(|v| v.local),
        };
        let applied = self
            .net
            .apply_ipv4(self.interface, &link, &self.settings.tunnel, self.pin)
            .await;
        match applied {
            Ok(applied) => {
                self.up = true;
                self.stats.went_up();
                warnings.extend(applied.warnings);
                let _ = self.shared.phase.send(Phase::Up);
                self.shared.emit(TunnelEvent::Up(UpInfo {
                    server: self.settings.server.to_string(),
                    interface: self.interface.to_owned(),
                    local: link.local,
                    peer: link.peer,
                    dns: link.dns.clone(),
                    mtu: link.mtu,
                    routes: applied.routes,
                    dns_applied: applied.dns,
                    binding: config.binding,
                    warnings,
                }));
                if let Some(v6) = ipv6 {
                    self.ipv6_link_up(v6);
                }
            }
            Err(e) => self.fail(Error::Setup(e)),
        }
    }

    /// IPv6CP opened (after the link came up): the link-local address, and
    /// a Router Solicitation for the global one.
    async fn on_ipv6_up(&mut self, v6: Ipv6Config) {
        self.ipv6_id = Some(v6.local_id);
        match self
            .net
            .apply_ipv6_link(self.interface, v6.local, &self.settings.tunnel)
            .await
        {
            Ok(_) => self.ipv6_link_up(v6),
            Err(e) => {
                tracing::warn!(error = %e, "IPv6 link setup failed; IPv6 stays off")
            }
        }
    }

    /// The link-local address is in place: say so, and ask for a Router
    /// Advertisement now rather than waiting (RFC 4861 6.3.7).
    fn ipv6_link_up(&mut self, v6: Ipv6Config) {
        self.shared.emit(TunnelEvent::Ipv6Up {
            interface: self.interface.to_owned(),
            local: v6.local,
            peer: v6.peer,
        });
        let _ = self.session.send_ip(&build_router_solicitation(v6.local));
    }

    /// The SLAAC addresses of the advertisements received (RFC 4862
    /// 5.5.3), once the interface identifier is known; at most four.
    async fn add_slaac_addresses(&mut self) {
        let Some(id) = self.ipv6_id else {
            self.adverts.clear();
            return;
        };
        for ra in std::mem::take(&mut self.adverts) {
            for address in slaac_addresses(&ra, id) {
                if self.ipv6_addresses.contains(&address) || self.ipv6_addresses.len() >= 4 {
                    continue;
                }
                match self
                    .net
                    .apply_ipv6_global(self.interface, address, &ra, &self.settings.tunnel)
                    .await
                {
                    Ok(routes) => {
                        self.ipv6_addresses.push(address);
                        self.shared.emit(TunnelEvent::Ipv6Address {
                            interface: self.interface.to_owned(),
                            address,
                            prefix_len: 64,
                            router: ra.router,
                            routes,
                        });
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, %address, "could not add the SLAAC address")
                    }
                }
            }
        }
    }

    /// Waits for one input: the stop signal, TLS bytes, TUN packets, the
    /// session's deadline or the bound on a clean disconnect.
    async fn wait(&mut self) {
        let deadline = self
            .session
            .poll_timeout()
            .map(tokio::time::Instant::from_std);
        let closing = self.closing;
        tokio::select! {
            _ = stopped(&mut self.shared.stop), if closing.is_none() => {
                tracing::info!("disconnecting");
                self.session.close(now());
                self.closing = Some(tokio::time::Instant::now() + CLOSE_LIMIT);
            }
            r = self.stream.read(&mut self.rbuf) => match r {
                Ok(0) => self.session.transport_closed(now()),
                Ok(n) => {
                    let at = now();
                    self.session.handle_input(at, &self.rbuf[..n]);
                }
                Err(e) => {
                    tracing::debug!(error = %e, "TLS read failed");
                    self.failure.get_or_insert(Error::Io(e));
                    self.session.transport_closed(now());
                }
            },
            r = self.tun.recv_batch(&mut self.batch), if self.up && closing.is_none() => match r {
                Ok(_) => {
                    let mut sent = Sent::default();
                    sent.send_batch(&mut self.session, &self.batch);
                    // More batches already waiting go into the same TLS write (the drain after
                    // this wait): fewer, larger writes.
                    for _ in 0..TUN_READ_AHEAD {
                        match ready_now(self.tun.recv_batch(&mut self.batch)) {
                            Some(Ok(_)) => sent.send_batch(&mut self.session, &self.batch),
                            Some(Err(_)) | None => break,
                        }
                    }
                    let stats = &self.stats;
                    stats.tx_packets.fetch_add(sent.packets, Ordering::Relaxed);
                    stats.tx_bytes.fetch_add(sent.bytes, Ordering::Relaxed);
                    stats.dropped.fetch_add(sent.dropped(), Ordering::Relaxed);
                }
                Err(e) => self.fail(Error::Tun(e)),
            },
            () = sleep_until_opt(deadline) => self.session.handle_timeout(now()),
            () = sleep_until_opt(closing) => {
                tracing::debug!("clean disconnect took too long; dropping the connection");
                self.session.transport_closed(now());
            }
        }
    }

    /// After Down: the last bytes, close_notify, and what the connection
    /// came to.
    async fn finish(mut self, reason: CloseReason) -> End {
        // The last bytes (Call Disconnect Ack, Abort), then close_notify
        // (MS-SSTP 3.2.7.3 ends the call before TLS).
        self.tx.clear();
        self.session.poll_transmit(&mut self.tx);
        drive::finish(&mut self.stream, &self.tx, SHUTDOWN_LIMIT).await;
        tracing::info!(%reason, "SSTP call ended");

        let stopped = self.closing.is_some() && self.shared.stop_requested();
        let end = match (self.failure, reason) {
            // The server's verdict on the credentials says the most.
            (_, CloseReason::AuthFailed(f)) => Error::Auth(f),
            // A local failure (setup, TUN) ended the call.
            (Some(e @ (Error::Setup(_) | Error::Tun(_))), _) => e,
            // The user asked for it: however the call ended, that was the end.
            (_, _) if stopped => return End::Stopped,
            // "Connection lost" with the transport's own error.
            (
                Some(e),
                CloseReason::LocalClose
                | CloseReason::TransportClosed
                | CloseReason::PeerDisconnected,
            ) => e,
            (_, reason) => Error::from_close(reason),
        };
        End::Failed {
            error: end,
            was_up: self.up,
        }
    }
}

/// Where the session's outputs go, in the order [`drive::drain`] takes them.
/// Once the session is down only [`Connection::finish`] writes, within its
/// bound.
impl<D: TunDevice> drive::Outputs for Connection<'_, D> {
    type Session = ClientSession;

    fn session(&mut self) -> &mut ClientSession {
        &mut self.session
    }

    async fn on_event(&mut self, event: Event) {
        self.handle_event(event).await;
    }

    async fn deliver(&mut self) {
        if self.down.is_none() {
            self.write_packets().await;
        }
    }

    async fn answer(&mut self) {
        if self.down.is_none() {
            self.add_slaac_addresses().await;
        }
    }

    async fn transmit(&mut self) {
        if self.down.is_none() {
            self.flush().await;
        }
    }
}

async fn sleep_until_opt(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
