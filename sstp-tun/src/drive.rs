//! The toolkit both drivers (`sstp-server`'s per-session task and
//! `sstp-client`'s connection loop) are built from: the clock they hand the
//! sans-IO session, polling a ready future once, writing and flushing the
//! TLS stream (all at once, or as much as it takes now), the last flush
//! before close with a bounded wait, the loop that drains a session
//! ([`drain`]: events, then packets, then bytes), packets handed to the
//! session and packets written to the TUN in batches, each with their
//! counters, and the session's CSPRNG.
//!
//! It lives beside [`TunDevice`] because both drivers already depend on
//! this crate and on tokio, and none of it is protocol: the session
//! (`sstp-core`) still never sees a device, a stream or the clock. It is
//! generic over [`Session`], so each driver's loop compiles to static
//! calls on its own session type: nothing here costs a dynamic call, an
//! allocation or a copy per packet.

use std::future::Future;
use std::io;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::{StdRng, SysRng};
use sstp_core::{Event, SendError, Session};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::{RecvBatch, SendBatch, TunDevice};

/// The time handed to the session: tokio's clock, so tests can pause and
/// advance it, as the `std` instant the session takes.
pub fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

/// The output of `fut` if it is ready now, else `None` (and `fut` is
/// dropped, so it must be cancel safe). Polled with a no-op waker: the
/// driver's `select!` polls again with the task's waker before the task
/// sleeps, so no wake-up is lost.
pub fn ready_now<F: Future>(fut: F) -> Option<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    match std::pin::pin!(fut).poll(&mut cx) {
        Poll::Ready(out) => Some(out),
        Poll::Pending => None,
    }
}

/// A read that is ready now, or `None` without waiting ([`ready_now`]:
/// a read is cancel safe).
pub fn read_now<R: AsyncRead + Unpin>(rd: &mut R, buf: &mut [u8]) -> Option<io::Result<usize>> {
    ready_now(rd.read(buf))
}

/// Writes all of `bytes` and flushes, so they leave in as few TLS records
/// as the stream makes of one write.
pub async fn write_flush<W: AsyncWrite + Unpin>(wr: &mut W, bytes: &[u8]) -> io::Result<()> {
    wr.write_all(bytes).await?;
    wr.flush().await
}

/// The end of a connection: the session's last bytes (Call Disconnect Ack,
/// Call Abort), a flush, then TLS close_notify and TCP close (MS-SSTP
/// 3.2.7.3 ends the call before TLS), all within `limit`: a peer that
/// stops reading cannot hold the task. Errors are of no use any more.
pub async fn finish<W: AsyncWrite + Unpin>(wr: &mut W, rest: &[u8], limit: Duration) {
    let _ = tokio::time::timeout(limit, async {
        write_flush(wr, rest).await?;
        wr.shutdown().await
    })
    .await;
}

/// Writes what waits (returning how much was taken), or flushes when
/// nothing waits (returning `None`). Both are cancel safe, so this can be a
/// `select!` arm beside the reads: a losing arm writes nothing, and a
/// cancelled flush resumes next time.
pub async fn write_or_flush<W: AsyncWrite + Unpin>(
    wr: &mut W,
    waiting: &[u8],
) -> io::Result<Option<usize>> {
    if waiting.is_empty() {
        wr.flush().await.map(|()| None)
    } else {
        wr.write(waiting).await.map(Some)
    }
}

/// Where a driver puts what its session has to say, as [`drain`] asks for
/// it. The methods are the driver's; the order is [`drain`]'s.
pub trait Outputs {
    /// The end the driver drives.
    type Session: Session;

    /// The session.
    fn session(&mut self) -> &mut Self::Session;

    /// Acts on one event.
    fn on_event(&mut self, event: Event) -> impl Future<Output = ()>;

    /// Takes the packets of [`Session::poll_ip`] (usually to the TUN, with
    /// [`deliver`]).
    fn deliver(&mut self) -> impl Future<Output = ()>;

    /// Sends what the driver answers or adds itself, after the events and
    /// packets that asked for it (Router Advertisements, Echo Replies, the
    /// SLAAC addresses of the advertisements received).
    fn answer(&mut self) -> impl Future<Output = ()> {
        async {}
    }

    /// Takes the bytes of [`Session::poll_transmit`], for TLS.
    fn transmit(&mut self) -> impl Future<Output = ()>;
}

/// Processes everything the session has to say, until it is quiet: its
/// events first (they set up what the packets need: a lease, an IPv6 link),
/// then its packets, the driver's own answers, and the bytes for TLS, so
/// many SSTP packets leave in one write. Again while events came, or while
/// the outputs ended the session (a failed write): then its
/// [`Event::Down`] is handled here, not after the next wait.
pub async fn drain<O: Outputs>(out: &mut O) {
    loop {
        let was_closed = out.session().is_closed();
        let mut progressed = false;
        while let Some(event) = out.session().poll_event() {
            progressed = true;
            out.on_event(event).await;
        }
        out.deliver().await;
        out.answer().await;
        out.transmit().await;
        if !progressed && out.session().is_closed() == was_closed {
            return;
        }
    }
}

/// Packets handed to a session in one burst ([`Sent::send`]), for the
/// driver's counters: added to shared atomics once a burst, not a packet.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// Packets the session took.
    pub packets: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Packets refused because its transmit buffer is full
    /// ([`SendError::Full`]: the peer does not read fast enough).
    pub full: u64,
    /// Packets refused because the tunnel is not up for them, or they are
    /// not sendable ([`SendError::NotReady`], [`SendError::Invalid`]).
    pub not_ready: u64,
}

impl Sent {
    /// Hands `packet` to `session`, counting how it went.
    #[inline]
    pub fn send<S: Session>(&mut self, session: &mut S, packet: &[u8]) {
        match session.send_ip(packet) {
            Ok(()) => {
                self.packets += 1;
                self.bytes += packet.len() as u64;
            }
            Err(SendError::Full) => self.full += 1,
            Err(_) => self.not_ready += 1,
        }
    }

    /// Hands every packet of a TUN read to `session` ([`Sent::send`]).
    pub fn send_batch<S: Session>(&mut self, session: &mut S, batch: &RecvBatch) {
        for packet in batch.iter() {
            self.send(session, packet);
        }
    }

    /// Packets refused, for whatever reason.
    pub fn dropped(&self) -> u64 {
        self.full + self.not_ready
    }
}

/// Packets written to a TUN device ([`write_batch`], [`deliver`]), for the
/// driver's counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Packets the device took.
    pub packets: u64,
    /// Their bytes. The device says how many packets of a batch it refused,
    /// not which, so the bytes of a batch it refused part of are not
    /// counted: this is a lower bound, exact while nothing is refused.
    pub bytes: u64,
    /// Packets the device refused (too long, empty: `InvalidInput`) or lost
    /// when it failed. Rare: the session already drops packets over our
    /// MRU at receipt.
    pub dropped: u64,
}

/// Writes `batch` to `tun` (emptying it) and counts the outcome (the
/// [`TunDevice`] error contract): refused packets are counted and the rest
/// went in; an error means the device failed and is unusable.
pub async fn write_batch<D: TunDevice>(
    tun: &D,
    batch: &mut SendBatch,
    written: &mut Written,
) -> io::Result<()> {
    let packets = batch.len() as u64;
    let bytes: u64 = batch.iter().map(|p| p.len() as u64).sum();
    match tun.send_batch(batch).await {
        Ok(_) => {
            written.packets += packets;
            written.bytes += bytes;
            Ok(())
        }
        Err(error) => {
            let dropped = (batch.dropped() as u64).min(packets);
            written.packets += packets - dropped;
            written.dropped += dropped;
            if error.kind() == io::ErrorKind::InvalidInput {
                tracing::debug!(%error, dropped, "the TUN refused packets");
                Ok(())
            } else {
                Err(error)
            }
        }
    }
}

/// Moves the packets the session received ([`Session::poll_ip`]) toward
/// `tun`, a batch at a time. `route` sees each packet first and says
/// whether it goes to the TUN (`false`: the driver dealt with it: another
/// session, an answer of its own, a drop). The batch is `batch`, or one
/// `new_batch` makes when the first packet for the TUN comes (so a driver
/// can lend batches from a pool only while it writes). Full batches are
/// written; the last one stays in `batch` for [`write_rest`], so the driver
/// can update its counters before the packets show on the device. Returns
/// the device's first failure.
pub async fn deliver<S, D>(
    session: &mut S,
    tun: &D,
    batch: &mut Option<SendBatch>,
    new_batch: impl Fn() -> SendBatch,
    written: &mut Written,
    mut route: impl FnMut(&[u8]) -> bool,
) -> io::Result<()>
where
    S: Session,
    D: TunDevice,
{
    let mut failure = None;
    loop {
        if let Some(b) = batch.as_mut().filter(|b| b.is_full())
            && let Err(e) = write_batch(tun, b, written).await
        {
            failure.get_or_insert(e);
        }
        let Some(packet) = session.poll_ip() else {
            break;
        };
        if route(packet) {
            batch.get_or_insert_with(&new_batch).push(packet);
        }
    }
    failure.map_or(Ok(()), Err)
}

/// Writes what [`deliver`] left in `batch`, if anything ([`write_batch`]).
pub async fn write_rest<D: TunDevice>(
    tun: &D,
    batch: &mut Option<SendBatch>,
    written: &mut Written,
) -> io::Result<()> {
    match batch.as_mut().filter(|b| !b.is_empty()) {
        Some(b) => write_batch(tun, b, written).await,
        None => Ok(()),
    }
}

/// Gives `session` the wall-clock time at `now` (EAP-TLS checks
/// certificate dates against it; the session reads no clock). A clock set
/// before 1970 counts as 1970, which no certificate passes.
pub fn set_wall_clock(session: &mut impl Session, now: std::time::Instant) {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    session.set_wall_clock(now, since_epoch);
}

/// A session's random source (nonces, challenges, magic numbers): a CSPRNG
/// seeded from the OS, one per session. An error means the OS has no
/// randomness to give; no session may start without it.
pub fn session_rng() -> io::Result<StdRng> {
    StdRng::try_from_rng(&mut SysRng).map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemTun;

    #[test]
    fn ready_now_takes_only_what_is_ready() {
        assert_eq!(ready_now(async { 7 }), Some(7));
        assert_eq!(ready_now(std::future::pending::<()>()), None);
    }

    #[tokio::test]
    async fn write_batch_counts_what_went_in_and_what_was_refused() {
        let (tun, mut os) = MemTun::pair(100);
        let mut batch = SendBatch::new(4);
        let mut written = Written::default();
        batch.push(&[0x45; 20]);
        write_batch(&tun, &mut batch, &mut written)
            .await
            .expect("written");
        assert_eq!(os.observe().await.map(|p| p.len()), Some(20));
        assert_eq!(
            written,
            Written {
                packets: 1,
                bytes: 20,
                dropped: 0
            }
        );
        // One packet too long for the device: refused and counted, the
        // other goes in, and the device is still usable.
        batch.push(&[0x45; 30]);
        batch.push(&[0x45; 200]);
        write_batch(&tun, &mut batch, &mut written)
            .await
            .expect("a refusal is no failure");
        assert_eq!(os.observe().await.map(|p| p.len()), Some(30));
        assert_eq!(
            written,
            Written {
                packets: 2,
                bytes: 20,
                dropped: 1
            }
        );
        assert!(batch.is_empty());
    }

    #[tokio::test]
    async fn sent_counts_each_outcome() {
        use sstp_core::{CertHashes, ClientConfig, ClientSession, Credential};
        struct Zero;
        impl sstp_core::Random for Zero {
            fn fill(&mut self, buf: &mut [u8]) {
                buf.fill(0);
            }
        }
        let config = ClientConfig::new("u", Credential::from_password("p"));
        let mut session = ClientSession::new(
            &config,
            CertHashes::from_der(b"cert"),
            now(),
            Box::new(Zero),
        );
        let mut sent = Sent::default();
        // Not up yet: refused as not ready; not IP at all: likewise.
        sent.send(&mut session, &[0x45; 20]);
        sent.send(&mut session, &[0x00; 20]);
        assert_eq!(
            sent,
            Sent {
                not_ready: 2,
                ..Sent::default()
            }
        );
        assert_eq!(sent.dropped(), 2);
    }

    /// A session that only hands out what a test queued.
    #[derive(Default)]
    struct Fake {
        events: std::collections::VecDeque<Event>,
        packets: std::collections::VecDeque<Vec<u8>>,
        current: Vec<u8>,
        tx: Vec<u8>,
        closed: bool,
    }

    impl Session for Fake {
        fn handle_input(&mut self, _: std::time::Instant, _: &[u8]) {}
        fn send_ip(&mut self, _: &[u8]) -> Result<(), SendError> {
            Ok(())
        }
        fn handle_timeout(&mut self, _: std::time::Instant) {}
        fn set_wall_clock(&mut self, _: std::time::Instant, _: Duration) {}
        fn close(&mut self, _: std::time::Instant) {}
        fn transport_closed(&mut self, _: std::time::Instant) {
            if !self.closed {
                self.closed = true;
                self.events
                    .push_back(Event::Down(sstp_core::CloseReason::TransportClosed));
            }
        }
        fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> bool {
            buf.append(&mut self.tx);
            !buf.is_empty()
        }
        fn poll_ip(&mut self) -> Option<&[u8]> {
            self.current = self.packets.pop_front()?;
            Some(&self.current)
        }
        fn poll_event(&mut self) -> Option<Event> {
            self.events.pop_front()
        }
        fn shrink_buffers(&mut self) {}
        fn poll_timeout(&self) -> Option<std::time::Instant> {
            None
        }
        fn stats(&self) -> sstp_core::SessionStats {
            sstp_core::SessionStats::default()
        }
        fn state(&self) -> sstp_core::ControlState {
            sstp_core::ControlState::Closed
        }
        fn is_closed(&self) -> bool {
            self.closed
        }
    }

    /// A driver that writes down what `drain` asked of it.
    #[derive(Default)]
    struct Log {
        session: Fake,
        calls: Vec<String>,
        /// The first transmit fails, as a TLS write that found the peer gone.
        fail_transmit: bool,
    }

    impl Outputs for Log {
        type Session = Fake;
        fn session(&mut self) -> &mut Fake {
            &mut self.session
        }
        async fn on_event(&mut self, event: Event) {
            let name = match event {
                Event::Down(_) => "down",
                _ => "event",
            };
            self.calls.push(name.into());
        }
        async fn deliver(&mut self) {
            while self.session.poll_ip().is_some() {}
            self.calls.push("deliver".into());
        }
        async fn answer(&mut self) {
            self.calls.push("answer".into());
        }
        async fn transmit(&mut self) {
            let mut out = Vec::new();
            self.session.poll_transmit(&mut out);
            self.calls.push(format!("transmit {}", out.len()));
            if std::mem::take(&mut self.fail_transmit) {
                self.session.transport_closed(now());
            }
        }
    }

    fn authenticated() -> Event {
        Event::Authenticated {
            username: "u".into(),
            method: None,
        }
    }

    #[tokio::test]
    async fn drain_takes_events_then_packets_then_bytes_until_quiet() {
        let mut log = Log::default();
        log.session
            .events
            .extend([authenticated(), authenticated()]);
        log.session.packets.push_back(vec![0x45; 20]);
        log.session.tx.extend_from_slice(b"bytes");
        drain(&mut log).await;
        assert_eq!(
            log.calls,
            [
                "event",
                "event",
                "deliver",
                "answer",
                "transmit 5",
                // Events came: once more, to see that all is quiet.
                "deliver",
                "answer",
                "transmit 0"
            ]
        );
    }

    #[tokio::test]
    async fn drain_handles_the_down_a_failed_write_caused() {
        let mut log = Log {
            fail_transmit: true,
            ..Log::default()
        };
        drain(&mut log).await;
        assert_eq!(
            log.calls,
            [
                "deliver",
                "answer",
                "transmit 0",
                "down",
                "deliver",
                "answer",
                "transmit 0",
                "deliver",
                "answer",
                "transmit 0"
            ]
        );
    }

    #[tokio::test]
    async fn deliver_routes_batches_and_leaves_the_last_batch() {
        let (tun, mut os) = MemTun::pair(100);
        let mut session = Fake::default();
        for len in [20, 21, 22, 23, 24, 25] {
            session.packets.push_back(vec![0x45; len]);
        }
        let mut batch = None;
        let mut written = Written::default();
        let mut seen = Vec::new();
        deliver(
            &mut session,
            &tun,
            &mut batch,
            || SendBatch::new(2),
            &mut written,
            |p| {
                seen.push(p.len());
                // The driver keeps the 21-byte one for itself.
                p.len() != 21
            },
        )
        .await
        .expect("delivered");
        assert_eq!(seen, [20, 21, 22, 23, 24, 25]);
        // Two full batches went in; the last packet waits for write_rest.
        assert_eq!(written.packets, 4);
        assert_eq!(batch.as_ref().map(SendBatch::len), Some(1));
        write_rest(&tun, &mut batch, &mut written)
            .await
            .expect("written");
        assert_eq!(
            written,
            Written {
                packets: 5,
                bytes: 20 + 22 + 23 + 24 + 25,
                dropped: 0
            }
        );
        for len in [20, 22, 23, 24, 25] {
            assert_eq!(os.observe().await.map(|p| p.len()), Some(len));
        }
        assert!(batch.is_some_and(|b| b.is_empty()));
    }

    #[test]
    fn session_rng_is_seeded() {
        use rand::Rng;
        let mut a = session_rng().expect("OS randomness");
        let mut b = session_rng().expect("OS randomness");
        assert_ne!(a.next_u64(), b.next_u64());
    }
}
