//! The toolkit both drivers (`sstp-server`'s per-session task and
//! `sstp-client`'s connection loop) are built from: the clock they hand the
//! sans-IO session, polling a ready future once, writing and flushing the
//! TLS stream, the last flush before close with a bounded wait, the
//! classified outcome of a batched TUN write, and the session's CSPRNG.
//!
//! It lives beside [`TunDevice`] because both drivers already depend on
//! this crate and on tokio, and none of it is protocol: the session
//! (`sstp-core`) still never sees a device, a stream or the clock.

use std::future::Future;
use std::io;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::{StdRng, SysRng};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::{SendBatch, TunDevice};

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

/// How a batched TUN write went (the [`TunDevice`] error contract).
#[derive(Debug)]
pub enum TunWrite {
    /// Every packet went in.
    Written,
    /// The device refused packets (too long, empty: `InvalidInput`); the
    /// others went in. Count and go on.
    Refused {
        /// Packets that did not go in.
        dropped: usize,
        /// What the device said.
        error: io::Error,
    },
    /// The device failed: it is unusable.
    Failed {
        /// Packets that did not go in.
        dropped: usize,
        /// What the device said.
        error: io::Error,
    },
}

/// Writes `batch` to `tun` (emptying it) and classifies the outcome.
pub async fn write_batch<D: TunDevice>(tun: &D, batch: &mut SendBatch) -> TunWrite {
    match tun.send_batch(batch).await {
        Ok(_) => TunWrite::Written,
        Err(error) if error.kind() == io::ErrorKind::InvalidInput => TunWrite::Refused {
            dropped: batch.dropped(),
            error,
        },
        Err(error) => TunWrite::Failed {
            dropped: batch.dropped(),
            error,
        },
    }
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
    async fn write_batch_classifies_refused_packets() {
        let (tun, mut os) = MemTun::pair(100);
        let mut batch = SendBatch::new(4);
        batch.push(&[0x45; 20]);
        assert!(matches!(
            write_batch(&tun, &mut batch).await,
            TunWrite::Written
        ));
        assert_eq!(os.observe().await.map(|p| p.len()), Some(20));
        batch.push(&[0x45; 20]);
        batch.push(&[0x45; 200]);
        assert!(matches!(
            write_batch(&tun, &mut batch).await,
            TunWrite::Refused { dropped: 1, .. }
        ));
    }

    #[test]
    fn session_rng_is_seeded() {
        use rand::Rng;
        let mut a = session_rng().expect("OS randomness");
        let mut b = session_rng().expect("OS randomness");
        assert_ne!(a.next_u64(), b.next_u64());
    }
}
