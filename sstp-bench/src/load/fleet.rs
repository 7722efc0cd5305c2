//! Many tunnels in one process: one lean tokio task per session, steered
//! by a controller through a `watch` channel (the current [`Cmd`]) and
//! reporting back through one unbounded channel ([`Report`]).
//!
//! A session task connects (at most `concurrency` handshakes in flight,
//! a semaphore), then idles with the session's timers served (SSTP Hello,
//! LCP Echo), acts on each new command (one echo, a flood, close), and ends
//! with a clean disconnect or by reporting how it was lost. The controller
//! owns all timing; a task only ever waits on its socket, its session's
//! timer, its own deadlines and the command channel.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use sstp_core::{ClientConfig, SendError};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::Instant;

use super::dial::Dialer;
use super::icmp::{self, EchoRequest};
use super::tunnel::{Tunnel, Woke};

/// An echo request unanswered this long counts lost (flood).
pub(crate) const LOSS_TIMEOUT: Duration = Duration::from_secs(1);
/// An idle session's echo unanswered this long is sent again.
pub(crate) const ECHO_RESEND: Duration = Duration::from_secs(1);
/// Progress on stderr this often.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// What the controller wants the sessions to do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmd {
    /// Stay up and idle.
    Hold,
    /// Send one echo request with this sequence number (once per value).
    Echo(u16),
    /// Keep `window` echo requests in flight until `until`.
    Flood { until: Instant },
    /// Disconnect cleanly.
    Close,
}

/// The result of one session's flood.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FloodResult {
    /// Echo replies received in time.
    pub(crate) replies: u64,
    /// IP bytes of the answered requests plus their replies.
    pub(crate) bytes: u64,
    /// Requests unanswered for [`LOSS_TIMEOUT`].
    pub(crate) lost: u64,
}

/// What a session tells the controller.
#[derive(Debug)]
pub(crate) enum Report {
    /// The tunnel is up.
    Up,
    /// The tunnel never came up.
    Failed(String),
    /// The reply to `Cmd::Echo(seq)` came back.
    EchoOk(u16),
    /// An echo went unanswered for [`ECHO_RESEND`] and was sent again.
    EchoResent,
    /// The flood is over (with the error that cut it short, if any).
    FloodDone(FloodResult, Option<String>),
    /// An established session ended without being asked to.
    Lost(String),
    /// The session closed on `Cmd::Close`; `Err` if not cleanly.
    Closed(Result<(), String>),
}

/// What every session task shares.
#[derive(Debug)]
pub(crate) struct Fleet {
    pub(crate) dialer: Dialer,
    pub(crate) config: ClientConfig,
    /// Handshakes in flight.
    pub(crate) handshakes: Semaphore,
    /// The echo destination (the server's tunnel address).
    pub(crate) target: Ipv4Addr,
    /// TLS read size per session.
    pub(crate) read_buf: usize,
    /// Drop the transmit buffer after each write (idle sessions).
    pub(crate) lean: bool,
    /// Flood: ICMP payload bytes and requests in flight.
    pub(crate) payload: usize,
    pub(crate) window: usize,
}

impl Fleet {
    /// When connecting `n` sessions must be over even if a task went
    /// silent: every connect is bounded by the dialer's timeout, and they
    /// run `concurrency` at a time.
    pub(crate) fn connect_deadline(&self, n: usize, concurrency: usize) -> Instant {
        let rounds = n.div_ceil(concurrency.max(1)) as u32 + 1;
        Instant::now() + self.dialer.timeout.saturating_mul(rounds) + Duration::from_secs(5)
    }

    /// Spawns `n` session tasks; returns the command sender and the
    /// report receiver (closed once every task is done).
    pub(crate) fn spawn(
        self: &Arc<Self>,
        n: usize,
    ) -> (watch::Sender<Cmd>, mpsc::UnboundedReceiver<Report>) {
        let (cmd_tx, cmd_rx) = watch::channel(Cmd::Hold);
        let (rep_tx, rep_rx) = mpsc::unbounded_channel();
        for index in 0..n {
            tokio::spawn(session_task(
                index,
                Arc::clone(self),
                cmd_rx.clone(),
                rep_tx.clone(),
            ));
        }
        (cmd_tx, rep_rx)
    }
}

/// Counts of what the sessions reported, and the first error.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) up: usize,
    pub(crate) failed: usize,
    pub(crate) lost: usize,
    pub(crate) closed_clean: usize,
    pub(crate) closed_unclean: usize,
    /// Per echo sequence number: replies.
    pub(crate) echo_ok: Vec<(u16, usize)>,
    pub(crate) echo_resent: usize,
    pub(crate) floods: Vec<FloodResult>,
    pub(crate) first_error: Option<String>,
}

impl Tally {
    fn error(&mut self, e: String) {
        if self.first_error.is_none() {
            self.first_error = Some(e);
        }
    }

    /// Sessions up now.
    pub(crate) fn alive(&self) -> usize {
        self.up
            .saturating_sub(self.lost + self.closed_clean + self.closed_unclean)
    }

    pub(crate) fn echo_ok(&self, seq: u16) -> usize {
        self.echo_ok
            .iter()
            .find(|(s, _)| *s == seq)
            .map_or(0, |(_, n)| *n)
    }

    pub(crate) fn record(&mut self, report: Report) {
        match report {
            Report::Up => self.up += 1,
            Report::Failed(e) => {
                self.failed += 1;
                self.error(e);
            }
            Report::EchoOk(seq) => match self.echo_ok.iter_mut().find(|(s, _)| *s == seq) {
                Some((_, n)) => *n += 1,
                None => self.echo_ok.push((seq, 1)),
            },
            Report::EchoResent => self.echo_resent += 1,
            Report::FloodDone(result, error) => {
                self.floods.push(result);
                if let Some(e) = error {
                    self.error(e);
                }
            }
            Report::Lost(e) => {
                self.lost += 1;
                self.error(e);
            }
            Report::Closed(Ok(())) => self.closed_clean += 1,
            Report::Closed(Err(e)) => {
                self.closed_unclean += 1;
                self.error(e);
            }
        }
    }

    /// Takes reports until `done` holds, the deadline passes, or every task
    /// has ended; prints progress as `what: …` on stderr. Returns whether
    /// `done` held.
    pub(crate) async fn collect(
        &mut self,
        reports: &mut mpsc::UnboundedReceiver<Report>,
        deadline: Option<Instant>,
        what: &str,
        done: impl Fn(&Self) -> bool,
    ) -> bool {
        let mut next_progress = Instant::now() + PROGRESS_EVERY;
        while !done(self) {
            let until = deadline.map_or(next_progress, |d| d.min(next_progress));
            match tokio::time::timeout_at(until, reports.recv()).await {
                Ok(Some(report)) => self.record(report),
                Ok(None) => return done(self),
                Err(_) if deadline.is_some_and(|d| Instant::now() >= d) => return false,
                Err(_) => {
                    next_progress = Instant::now() + PROGRESS_EVERY;
                    eprintln!(
                        "{what}: up {} failed {} lost {} echo-ok {:?} resent {} floods done {}",
                        self.up,
                        self.failed,
                        self.lost,
                        self.echo_ok,
                        self.echo_resent,
                        self.floods.len()
                    );
                }
            }
        }
        true
    }
}

/// One session from connect to close.
async fn session_task(
    index: usize,
    fleet: Arc<Fleet>,
    mut cmd: watch::Receiver<Cmd>,
    reports: mpsc::UnboundedSender<Report>,
) {
    let established = {
        let Ok(_permit) = fleet.handshakes.acquire().await else {
            return;
        };
        if *cmd.borrow() == Cmd::Close {
            return;
        }
        Tunnel::establish(
            &fleet.dialer,
            &fleet.config,
            index,
            fleet.read_buf,
            fleet.lean,
        )
        .await
    };
    let mut tunnel = match established {
        Ok(t) => t,
        Err(e) => {
            let _ = reports.send(Report::Failed(format!("{e:#}")));
            return;
        }
    };
    let _ = reports.send(Report::Up);
    // ICMP identifier: the session's index (each session has its own
    // address anyway; this keeps captures readable).
    let id = index as u16;
    let mut echoed: Option<u16> = None;
    // The echo waiting for its reply, and when to send it again.
    let mut awaiting: Option<(u16, Instant)> = None;
    let mut flooded = false;
    let mut packet = Vec::new();
    let lost = loop {
        let current = *cmd.borrow_and_update();
        match current {
            Cmd::Close => break None,
            Cmd::Echo(seq) if echoed != Some(seq) => {
                echoed = Some(seq);
                if let Err(e) = send_echo(&mut tunnel, &fleet, &mut packet, id, seq) {
                    break Some(format!("{e:#}"));
                }
                awaiting = Some((seq, Instant::now() + ECHO_RESEND));
            }
            Cmd::Echo(_) => {}
            Cmd::Flood { until } if !flooded => {
                flooded = true;
                let mut result = FloodResult::default();
                let outcome = flood(&mut tunnel, &fleet, id, until, &mut result).await;
                let error = outcome.as_ref().err().map(|e| format!("{e:#}"));
                let _ = reports.send(Report::FloodDone(result, error.clone()));
                if let Some(e) = error {
                    break Some(e);
                }
                continue;
            }
            // The round is over: stop resending.
            _ => awaiting = None,
        }
        let target = fleet.target;
        let local = tunnel.local;
        let pumped = tunnel
            .pump(|p| {
                if let Ok(reply) = icmp::parse_echo_reply(p)
                    && reply.id == id
                    && reply.src == target
                    && reply.dst == local
                    && awaiting.is_some_and(|(seq, _)| seq == reply.seq)
                {
                    awaiting = None;
                    let _ = reports.send(Report::EchoOk(reply.seq));
                }
            })
            .await;
        match pumped {
            Ok(None) => {}
            Ok(Some(reason)) => break Some(format!("session ended: {reason}")),
            Err(e) => break Some(format!("{e:#}")),
        }
        match tunnel.wait(awaiting.map(|(_, at)| at), cmd.changed()).await {
            // The controller is gone: close.
            Ok(Woke::Wake(Err(_))) => break None,
            Ok(Woke::Deadline) => {
                if let Some((seq, at)) = &mut awaiting {
                    // Unanswered: the request or its reply was dropped
                    // somewhere (counted, and the round goes on).
                    if let Err(e) = send_echo(&mut tunnel, &fleet, &mut packet, id, *seq) {
                        break Some(format!("{e:#}"));
                    }
                    *at += ECHO_RESEND;
                    let _ = reports.send(Report::EchoResent);
                }
            }
            Ok(_) => {}
            Err(e) => break Some(format!("{e:#}")),
        }
    };
    match lost {
        Some(e) => {
            let _ = reports.send(Report::Lost(e));
        }
        None => {
            let closed = tunnel.close().await.map_err(|e| format!("{e:#}"));
            let _ = reports.send(Report::Closed(closed));
        }
    }
}

/// Queues one 56-byte echo request (ping's default size) for the target.
fn send_echo(
    tunnel: &mut Tunnel,
    fleet: &Fleet,
    packet: &mut Vec<u8>,
    id: u16,
    seq: u16,
) -> anyhow::Result<()> {
    EchoRequest {
        src: tunnel.local,
        dst: fleet.target,
        id,
        seq,
        payload_len: 56,
    }
    .emit(packet)?;
    tunnel.send_ip(packet).context("sending the echo request")
}

/// A closed loop of echo requests until `until`: up to `fleet.window` in
/// flight, a new one for each reply, a slot freed by a reply or after
/// [`LOSS_TIMEOUT`].
async fn flood(
    tunnel: &mut Tunnel,
    fleet: &Fleet,
    id: u16,
    until: Instant,
    result: &mut FloodResult,
) -> anyhow::Result<()> {
    let window = fleet.window.max(1);
    let len = icmp::ECHO_OVERHEAD + fleet.payload;
    if len > usize::from(tunnel.mtu) {
        bail!(
            "--payload {} makes {len}-byte packets; the tunnel MTU is {}",
            fleet.payload,
            tunnel.mtu
        );
    }
    let mut in_flight: VecDeque<(u16, Instant)> = VecDeque::with_capacity(window);
    let mut seq: u16 = 0;
    let mut packet = Vec::with_capacity(icmp::ECHO_OVERHEAD + fleet.payload);
    let request_len = (icmp::ECHO_OVERHEAD + fleet.payload) as u64;
    let (target, local) = (fleet.target, tunnel.local);
    loop {
        // Replies first: they free slots.
        let down = tunnel
            .pump(|p| {
                let Ok(reply) = icmp::parse_echo_reply(p) else {
                    return;
                };
                if reply.id != id || reply.src != target || reply.dst != local {
                    return;
                }
                if let Some(at) = in_flight.iter().position(|(s, _)| *s == reply.seq) {
                    in_flight.remove(at);
                    result.replies += 1;
                    result.bytes += request_len + reply.len as u64;
                }
            })
            .await?;
        if let Some(reason) = down {
            bail!("session ended during the flood: {reason}");
        }
        let now = Instant::now();
        while in_flight
            .front()
            .is_some_and(|(_, sent)| now.duration_since(*sent) >= LOSS_TIMEOUT)
        {
            in_flight.pop_front();
            result.lost += 1;
        }
        if now >= until {
            return Ok(());
        }
        while in_flight.len() < window {
            seq = seq.wrapping_add(1);
            EchoRequest {
                src: local,
                dst: target,
                id,
                seq,
                payload_len: fleet.payload,
            }
            .emit(&mut packet)?;
            match tunnel.send_ip(&packet) {
                Ok(()) => in_flight.push_back((seq, now)),
                // The TLS side is behind: try again after the next wake-up.
                Err(SendError::Full) => break,
                Err(e) => bail!("sending an echo request: {e}"),
            }
        }
        tunnel.flush().await?;
        let next_loss = in_flight.front().map(|(_, sent)| *sent + LOSS_TIMEOUT);
        let deadline = next_loss.map_or(until, |d| d.min(until));
        tunnel
            .wait(Some(deadline), std::future::pending::<()>())
            .await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_counts_and_keeps_the_first_error() {
        let mut t = Tally::default();
        for r in [
            Report::Up,
            Report::Up,
            Report::Up,
            Report::Failed("no route".into()),
            Report::EchoOk(1),
            Report::EchoOk(1),
            Report::EchoResent,
            Report::Lost("reset".into()),
            Report::EchoOk(2),
            Report::Closed(Ok(())),
            Report::Closed(Err("timeout".into())),
        ] {
            t.record(r);
        }
        assert_eq!((t.up, t.failed, t.lost), (3, 1, 1));
        assert_eq!((t.closed_clean, t.closed_unclean), (1, 1));
        assert_eq!((t.echo_ok(1), t.echo_ok(2), t.echo_ok(3)), (2, 1, 0));
        assert_eq!(t.echo_resent, 1);
        assert_eq!(t.alive(), 0);
        assert_eq!(t.first_error.as_deref(), Some("no route"));
    }

    #[test]
    fn flood_results_are_kept_with_their_error() {
        let mut t = Tally::default();
        let r = FloodResult {
            replies: 10,
            bytes: 28_000,
            lost: 1,
        };
        t.record(Report::FloodDone(r, Some("cut short".into())));
        t.record(Report::FloodDone(FloodResult::default(), None));
        assert_eq!(t.floods, vec![r, FloodResult::default()]);
        assert_eq!(t.first_error.as_deref(), Some("cut short"));
    }

    #[tokio::test]
    async fn collect_stops_when_done_or_when_every_task_is_gone() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut t = Tally::default();
        for _ in 0..3 {
            tx.send(Report::Up).expect("open");
        }
        assert!(t.collect(&mut rx, None, "test", |t| t.up >= 2).await);
        assert_eq!(t.up, 2);
        drop(tx);
        // The third report is still read; then the channel is closed.
        assert!(!t.collect(&mut rx, None, "test", |t| t.up >= 5).await);
        assert_eq!(t.up, 3);
    }

    fn fleet(server: std::net::SocketAddr, payload: usize) -> Arc<Fleet> {
        use crate::load::fake_server::{PASSWORD, SERVER_IP, USER};
        let mut config = ClientConfig::new(USER, sstp_core::Credential::from_password(PASSWORD));
        config.auth_methods = vec![sstp_core::AuthMethod::MsChapV2];
        config.common.ipv6 = false;
        Arc::new(Fleet {
            dialer: Dialer::new(
                server,
                vec!["127.0.0.1".parse().expect("ip")],
                None,
                crate::load::dial::Kx::X25519,
                Duration::from_secs(10),
            )
            .expect("dialer"),
            config,
            handshakes: Semaphore::new(2),
            target: SERVER_IP,
            read_buf: 2048,
            lean: true,
            payload,
            window: 4,
        })
    }

    #[tokio::test]
    async fn sessions_echo_and_close_cleanly() {
        let server = crate::load::fake_server::start().await;
        let fleet = fleet(server, 0);
        let n = 5;
        let deadline = fleet.connect_deadline(n, 2);
        let (cmd, mut reports) = fleet.spawn(n);
        let mut t = Tally::default();
        assert!(
            t.collect(&mut reports, Some(deadline), "test", |t| t.up + t.failed
                >= n)
                .await
        );
        assert_eq!(t.up, n, "{:?}", t.first_error);
        let soon = || Some(Instant::now() + Duration::from_secs(10));
        for seq in [1, 2] {
            cmd.send_replace(Cmd::Echo(seq));
            assert!(
                t.collect(&mut reports, soon(), "test", |t| t.echo_ok(seq) >= n)
                    .await
            );
            cmd.send_replace(Cmd::Hold);
        }
        cmd.send_replace(Cmd::Close);
        // Returns when every task has ended.
        t.collect(&mut reports, soon(), "test", |_| false).await;
        assert_eq!(t.closed_clean, n, "{:?}", t.first_error);
        assert_eq!((t.lost, t.echo_resent), (0, 0));
    }

    #[tokio::test]
    async fn flood_counts_round_trips() {
        let server = crate::load::fake_server::start().await;
        let fleet = fleet(server, 100);
        let (cmd, mut reports) = fleet.spawn(2);
        let mut t = Tally::default();
        let soon = || Some(Instant::now() + Duration::from_secs(10));
        assert!(t.collect(&mut reports, soon(), "test", |t| t.up >= 2).await);
        cmd.send_replace(Cmd::Flood {
            until: Instant::now() + Duration::from_millis(300),
        });
        assert!(
            t.collect(&mut reports, soon(), "test", |t| t.floods.len() >= 2)
                .await
        );
        for f in &t.floods {
            assert!(f.replies > 0);
            // Request and reply, 128 bytes each.
            assert_eq!(f.bytes, f.replies * 2 * 128);
        }
        assert_eq!(t.first_error, None);
        cmd.send_replace(Cmd::Close);
        t.collect(&mut reports, soon(), "test", |_| false).await;
        assert_eq!(t.closed_clean, 2);
    }

    #[tokio::test]
    async fn a_payload_over_the_mtu_is_reported() {
        let server = crate::load::fake_server::start().await;
        let fleet = fleet(server, 1400);
        let (cmd, mut reports) = fleet.spawn(1);
        let mut t = Tally::default();
        let soon = || Some(Instant::now() + Duration::from_secs(10));
        assert!(t.collect(&mut reports, soon(), "test", |t| t.up >= 1).await);
        cmd.send_replace(Cmd::Flood {
            until: Instant::now() + Duration::from_millis(100),
        });
        t.collect(&mut reports, soon(), "test", |_| false).await;
        let error = t.first_error.expect("an error");
        assert!(error.contains("the tunnel MTU is 1400"), "{error}");
    }

    #[tokio::test]
    async fn failed_connects_are_counted_with_the_error() {
        // A port nobody listens on.
        let free = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = free.local_addr().expect("addr");
        drop(free);
        let fleet = fleet(addr, 0);
        let (_cmd, mut reports) = fleet.spawn(3);
        let mut t = Tally::default();
        let soon = Some(Instant::now() + Duration::from_secs(10));
        assert!(
            t.collect(&mut reports, soon, "test", |t| t.failed >= 3)
                .await
        );
        assert!(t.first_error.expect("error").contains("TCP connect"));
    }

    #[tokio::test]
    async fn collect_gives_up_at_the_deadline() {
        let (_tx, mut rx) = mpsc::unbounded_channel();
        let mut t = Tally::default();
        let deadline = Instant::now() + Duration::from_millis(50);
        assert!(!t.collect(&mut rx, Some(deadline), "test", |_| false).await);
        assert!(Instant::now() >= deadline);
    }
}
