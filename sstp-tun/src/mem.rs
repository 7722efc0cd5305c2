//! `MemTun`: an in-memory packet device for tests.

use std::fmt;
use std::io;

use tokio::sync::{Mutex, mpsc};

use crate::batch::RecvBatch;
use crate::device::{TunDevice, check_packet};

/// Packets each direction of a [`MemTun::pair`] holds before the writer waits.
pub const DEFAULT_QUEUE_LEN: usize = 256;

/// The device side of an in-memory TUN: what a driver under test owns.
///
/// Packets the [`MemTunHandle`] injects come out of [`recv`](TunDevice::recv); packets given to
/// [`send`](TunDevice::send) come out of [`MemTunHandle::observe`]. Both directions are bounded
/// queues: a writer waits (backpressure) while its queue is full, so nothing grows without bound and
/// no packet is lost silently. Dropping the handle makes `recv` fail with
/// [`io::ErrorKind::UnexpectedEof`] once the queued packets are read, and `send` fail with
/// [`io::ErrorKind::BrokenPipe`], so a driver stops instead of hanging.
pub struct MemTun {
    name: String,
    mtu: u16,
    /// Injected packets; the lock lets `recv(&self)` be called from any task.
    rx: Mutex<mpsc::Receiver<Vec<u8>>>,
    /// Packets sent by the device, towards the handle.
    tx: mpsc::Sender<Vec<u8>>,
}

/// The test side of a [`MemTun`]: plays the operating system.
///
/// [`inject`](Self::inject) routes a packet into the tunnel (the device reads it);
/// [`observe`](Self::observe) takes a packet the device wrote.
pub struct MemTunHandle {
    mtu: u16,
    tx: mpsc::Sender<Vec<u8>>,
    rx: mpsc::Receiver<Vec<u8>>,
}

impl MemTun {
    /// A device with this MTU and its handle, each direction queueing up to
    /// [`DEFAULT_QUEUE_LEN`] packets. The device is named `memtun`.
    pub fn pair(mtu: u16) -> (Self, MemTunHandle) {
        Self::pair_with(mtu, DEFAULT_QUEUE_LEN, "memtun")
    }

    /// Like [`pair`](Self::pair), with the queue length (at least 1) and device name given.
    pub fn pair_with(mtu: u16, queue_len: usize, name: &str) -> (Self, MemTunHandle) {
        let queue_len = queue_len.max(1);
        let (inject_tx, inject_rx) = mpsc::channel(queue_len);
        let (out_tx, out_rx) = mpsc::channel(queue_len);
        let tun = Self {
            name: name.to_owned(),
            mtu,
            rx: Mutex::new(inject_rx),
            tx: out_tx,
        };
        let handle = MemTunHandle {
            mtu,
            tx: inject_tx,
            rx: out_rx,
        };
        (tun, handle)
    }
}

impl TunDevice for MemTun {
    async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        let packet = self.rx.lock().await.recv().await.ok_or_else(handle_gone)?;
        copy_out(&packet, buf)
    }

    async fn send(&self, packet: &[u8]) -> io::Result<usize> {
        check_packet(packet, self.mtu)?;
        self.tx
            .send(packet.to_vec())
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "MemTun handle dropped"))?;
        Ok(packet.len())
    }

    fn mtu(&self) -> u16 {
        self.mtu
    }

    fn name(&self) -> &str {
        &self.name
    }

    /// Waits for one packet, then takes every packet already queued, up to the batch's slots.
    async fn recv_batch(&self, batch: &mut RecvBatch) -> io::Result<usize> {
        batch.clear();
        batch.reserve_slots(1, usize::from(self.mtu));
        let mut rx = self.rx.lock().await;
        let first = rx.recv().await.ok_or_else(handle_gone)?;
        let n = copy_out(&first, batch.slot_mut(0))?;
        batch.commit(n);
        while batch.len() < batch.slots() {
            let Ok(packet) = rx.try_recv() else { break };
            let n = copy_out(&packet, batch.slot_mut(batch.len()))?;
            batch.commit(n);
        }
        Ok(batch.len())
    }
}

impl fmt::Debug for MemTun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemTun")
            .field("name", &self.name)
            .field("mtu", &self.mtu)
            .finish_non_exhaustive()
    }
}

impl MemTunHandle {
    /// Routes `packet` into the tunnel, waiting while the device's queue is full.
    ///
    /// Fails with [`io::ErrorKind::InvalidInput`] for an empty packet or one longer than the MTU
    /// (the OS would not route it into the TUN either), and with [`io::ErrorKind::BrokenPipe`] if
    /// the device was dropped.
    pub async fn inject(&self, packet: &[u8]) -> io::Result<()> {
        check_packet(packet, self.mtu)?;
        self.tx
            .send(packet.to_vec())
            .await
            .map_err(|_| device_gone())
    }

    /// Like [`inject`](Self::inject) without waiting: fails with [`io::ErrorKind::WouldBlock`]
    /// when the device's queue is full.
    pub fn try_inject(&self, packet: &[u8]) -> io::Result<()> {
        check_packet(packet, self.mtu)?;
        self.tx.try_send(packet.to_vec()).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => io::Error::new(
                io::ErrorKind::WouldBlock,
                "MemTun queue towards the device is full",
            ),
            mpsc::error::TrySendError::Closed(_) => device_gone(),
        })
    }

    /// The next packet the device sent; `None` once the device is dropped and every packet it
    /// sent has been observed.
    pub async fn observe(&mut self) -> Option<Vec<u8>> {
        self.rx.recv().await
    }

    /// A packet the device already sent, if any.
    pub fn try_observe(&mut self) -> Option<Vec<u8>> {
        self.rx.try_recv().ok()
    }

    /// The device's MTU.
    pub fn mtu(&self) -> u16 {
        self.mtu
    }
}

impl fmt::Debug for MemTunHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemTunHandle")
            .field("mtu", &self.mtu)
            .finish_non_exhaustive()
    }
}

/// Copies a queued packet into a receive buffer; a buffer that is too small is an error (the
/// packet is lost, as with a datagram socket).
fn copy_out(packet: &[u8], buf: &mut [u8]) -> io::Result<usize> {
    let Some(dst) = buf.get_mut(..packet.len()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "receive buffer of {} bytes is too small for a packet of {}",
                buf.len(),
                packet.len()
            ),
        ));
    };
    dst.copy_from_slice(packet);
    Ok(packet.len())
}

fn handle_gone() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "MemTun handle dropped")
}

fn device_gone() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "MemTun device dropped")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::time::timeout;

    use super::*;
    use crate::{IDEAL_BATCH_SIZE, SendBatch};

    const WAIT: Duration = Duration::from_secs(5);

    fn packet(tag: u8, len: usize) -> Vec<u8> {
        let mut p = vec![tag; len];
        p[0] = 0x45;
        p
    }

    #[tokio::test]
    async fn inject_then_recv() {
        let (tun, os) = MemTun::pair(1400);
        assert_eq!((tun.name(), tun.mtu(), os.mtu()), ("memtun", 1400, 1400));
        os.inject(&packet(1, 60)).await.unwrap();
        os.inject(&packet(2, 1400)).await.unwrap();
        let mut buf = [0u8; 1400];
        let n = tun.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], &packet(1, 60)[..]);
        let n = tun.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], &packet(2, 1400)[..]);
    }

    #[tokio::test]
    async fn send_then_observe() {
        let (tun, mut os) = MemTun::pair(1400);
        assert_eq!(os.try_observe(), None);
        assert_eq!(tun.send(&packet(3, 100)).await.unwrap(), 100);
        assert_eq!(os.observe().await, Some(packet(3, 100)));
        assert_eq!(os.try_observe(), None);
    }

    #[tokio::test]
    async fn mtu_is_enforced_both_ways() {
        let (tun, os) = MemTun::pair(576);
        let err = tun.send(&packet(1, 577)).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("MTU of 576"), "{err}");
        assert_eq!(
            tun.send(&[]).await.unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        let err = os.inject(&packet(1, 577)).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(
            os.try_inject(&packet(1, 577)).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(tun.send(&packet(1, 576)).await.unwrap(), 576);
    }

    #[tokio::test]
    async fn small_recv_buffer_is_an_error() {
        let (tun, os) = MemTun::pair(1400);
        os.inject(&packet(1, 100)).await.unwrap();
        os.inject(&packet(2, 10)).await.unwrap();
        let mut small = [0u8; 50];
        let err = tun.recv(&mut small).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        // The device still works: the next packet fits.
        assert_eq!(tun.recv(&mut small).await.unwrap(), 10);
    }

    #[tokio::test]
    async fn queues_are_bounded() {
        let (tun, mut os) = MemTun::pair_with(1400, 2, "t");
        os.try_inject(&packet(1, 20)).unwrap();
        os.try_inject(&packet(2, 20)).unwrap();
        let err = os.try_inject(&packet(3, 20)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        // inject waits for room instead of growing the queue.
        assert!(
            timeout(Duration::from_millis(50), os.inject(&packet(3, 20)))
                .await
                .is_err()
        );

        // The device side is bounded too: a third send waits until the handle observes.
        tun.send(&packet(4, 20)).await.unwrap();
        tun.send(&packet(5, 20)).await.unwrap();
        let tun = Arc::new(tun);
        let sender = {
            let tun = Arc::clone(&tun);
            tokio::spawn(async move { tun.send(&packet(6, 20)).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!sender.is_finished());
        assert_eq!(os.observe().await, Some(packet(4, 20)));
        assert_eq!(timeout(WAIT, sender).await.unwrap().unwrap().unwrap(), 20);
        assert_eq!(os.observe().await, Some(packet(5, 20)));
        assert_eq!(os.observe().await, Some(packet(6, 20)));
    }

    #[tokio::test]
    async fn dropped_handle_is_eof_not_a_hang() {
        let (tun, os) = MemTun::pair(1400);
        os.inject(&packet(1, 20)).await.unwrap();
        drop(os);
        let mut buf = [0u8; 1400];
        // Packets already queued are still delivered, then EOF.
        assert_eq!(tun.recv(&mut buf).await.unwrap(), 20);
        let err = timeout(WAIT, tun.recv(&mut buf))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        let mut batch = RecvBatch::new(4, 1400, 0);
        let err = timeout(WAIT, tun.recv_batch(&mut batch))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        let err = tun.send(&packet(2, 20)).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }

    #[tokio::test]
    async fn dropped_device_ends_the_handle() {
        let (tun, mut os) = MemTun::pair(1400);
        tun.send(&packet(1, 20)).await.unwrap();
        drop(tun);
        assert_eq!(os.observe().await, Some(packet(1, 20)));
        assert_eq!(timeout(WAIT, os.observe()).await.unwrap(), None);
        assert_eq!(
            os.inject(&packet(2, 20)).await.unwrap_err().kind(),
            io::ErrorKind::BrokenPipe
        );
        assert_eq!(
            os.try_inject(&packet(2, 20)).unwrap_err().kind(),
            io::ErrorKind::BrokenPipe
        );
    }

    #[tokio::test]
    async fn recv_batch_takes_what_is_queued() {
        let (tun, os) = MemTun::pair(1400);
        for i in 0..5 {
            os.inject(&packet(i, 40 + usize::from(i))).await.unwrap();
        }
        // A batch too small for the MTU is grown once; headroom is kept in front of each packet.
        let mut batch = RecvBatch::new(3, 100, 8);
        assert_eq!(tun.recv_batch(&mut batch).await.unwrap(), 3);
        assert_eq!(batch.packet_capacity(), 1400);
        let lens: Vec<usize> = batch.iter().map(<[u8]>::len).collect();
        assert_eq!(lens, [40, 41, 42]);
        for (i, frame) in batch.frames_mut().enumerate() {
            assert_eq!(frame.len(), 8 + 40 + i);
            assert_eq!(frame[8], 0x45);
        }
        assert_eq!(tun.recv_batch(&mut batch).await.unwrap(), 2);
        assert_eq!(batch.packet(1), Some(&packet(4, 44)[..]));
    }

    #[tokio::test]
    async fn recv_batch_is_cancel_safe() {
        let (tun, os) = MemTun::pair(1400);
        let mut batch = RecvBatch::new(IDEAL_BATCH_SIZE, 1400, 0);
        // A losing select! arm: nothing queued yet, the future is dropped.
        assert!(
            timeout(Duration::from_millis(20), tun.recv_batch(&mut batch))
                .await
                .is_err()
        );
        os.inject(&packet(7, 20)).await.unwrap();
        assert_eq!(tun.recv_batch(&mut batch).await.unwrap(), 1);
        assert_eq!(batch.packet(0), Some(&packet(7, 20)[..]));
    }

    #[tokio::test]
    async fn send_batch_writes_all_and_clears() {
        let (tun, mut os) = MemTun::pair(100);
        let mut batch = SendBatch::new(IDEAL_BATCH_SIZE);
        batch.push(&packet(1, 20));
        batch.push(&packet(2, 101)); // too big: reported, the others still go out
        batch.push(&packet(3, 30));
        let err = tun.send_batch(&mut batch).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(batch.is_empty());
        assert_eq!(batch.dropped(), 1, "one refused packet is one drop");
        assert_eq!(os.observe().await, Some(packet(1, 20)));
        assert_eq!(os.observe().await, Some(packet(3, 30)));

        batch.push(&packet(4, 20));
        batch.push(&packet(5, 20));
        assert_eq!(tun.send_batch(&mut batch).await.unwrap(), 2);
        assert_eq!(batch.dropped(), 0, "a success resets the count");
        assert_eq!(os.observe().await, Some(packet(4, 20)));
        assert_eq!(os.observe().await, Some(packet(5, 20)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shared_between_reader_and_writers() {
        let (tun, mut os) = MemTun::pair(1400);
        let tun = Arc::new(tun);
        let writers: Vec<_> = (0..4u8)
            .map(|w| {
                let tun = Arc::clone(&tun);
                tokio::spawn(async move {
                    for i in 0..50u8 {
                        tun.send(&[0x45, w, i]).await.unwrap();
                    }
                })
            })
            .collect();
        let reader = {
            let tun = Arc::clone(&tun);
            tokio::spawn(async move {
                let mut buf = [0u8; 1400];
                let mut got = 0;
                while got < 100 {
                    got += tun.recv(&mut buf).await.map(|_| 1).unwrap();
                }
                got
            })
        };
        for i in 0..100u8 {
            os.inject(&[0x60, i]).await.unwrap();
        }
        let mut seen = 0;
        while seen < 200 {
            timeout(WAIT, os.observe()).await.unwrap().unwrap();
            seen += 1;
        }
        for w in writers {
            w.await.unwrap();
        }
        assert_eq!(reader.await.unwrap(), 100);
    }

    /// A driver generic over `TunDevice` accepts an `Arc` of a device, too.
    #[tokio::test]
    async fn arc_is_a_device() {
        async fn echo<D: TunDevice>(dev: &D) -> io::Result<()> {
            let mut buf = vec![0; usize::from(dev.mtu())];
            let n = dev.recv(&mut buf).await?;
            dev.send(&buf[..n]).await.map(drop)
        }
        let (tun, mut os) = MemTun::pair(1400);
        let tun = Arc::new(tun);
        os.inject(&packet(9, 64)).await.unwrap();
        echo(&tun).await.unwrap();
        assert_eq!(os.observe().await, Some(packet(9, 64)));
        assert_eq!(TunDevice::name(&tun), "memtun");
    }
}
