//! `LinuxTun`: a Linux TUN device on tun-rs, with optional offload and multi-queue.

use std::fmt;
use std::io::{self, IoSlice};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};

use tokio::sync::Mutex;
use tun_rs::{AsyncDevice, DeviceBuilder};

use crate::IDEAL_BATCH_SIZE;
use crate::batch::{RecvBatch, SEND_HEADROOM, SendBatch};
use crate::device::{TunDevice, check_packet};

const _: () = assert!(SEND_HEADROOM == tun_rs::VIRTIO_NET_HDR_LEN);
const _: () = assert!(IDEAL_BATCH_SIZE == tun_rs::IDEAL_BATCH_SIZE);

/// The virtio-net header of a plain packet (no GSO, no checksum offload): all zeroes.
const PLAIN_VNET_HDR: [u8; SEND_HEADROOM] = [0; SEND_HEADROOM];

/// A Linux TUN interface (or one queue of a multi-queue interface).
///
/// Made with [`LinuxTun::builder`]; the interface is up when `build` returns and goes away when
/// every queue is dropped. Addresses and routes are set with [`crate::netlink`].
///
/// **Offload** ([`LinuxTunBuilder::offload`]): the kernel hands the device GSO packets of up to
/// 64 KiB and accepts coalesced ones. [`recv_batch`](TunDevice::recv_batch) splits them into
/// MTU-sized packets and [`send_batch`](TunDevice::send_batch) coalesces TCP and UDP flows (GRO)
/// before writing, so one system call moves many packets. The single-packet calls still work:
/// `send` writes one plain packet, and `recv` splits a GSO packet into an internal staging batch
/// and returns its packets one by one (a copy each); use the batch calls on the data path.
///
/// **Multi-queue** ([`LinuxTunBuilder::multi_queue`]): [`try_clone_queue`](Self::try_clone_queue)
/// opens another queue of the same interface. The kernel spreads the packets it routes into the
/// interface over the queues by flow hash; a write on any queue is delivered. Run one reader per
/// queue.
pub struct LinuxTun {
    dev: AsyncDevice,
    shared: Arc<Shared>,
    offload: bool,
    /// Packets split from a GSO read by the single-packet `recv` and not yet returned.
    staging: Mutex<Staging>,
    staged: AtomicUsize,
}

/// What the queues of one interface share.
struct Shared {
    name: String,
    index: u32,
    mtu: AtomicU16,
    multi_queue: bool,
    rx_dropped: AtomicU64,
    tx_dropped: AtomicU64,
}

#[derive(Default)]
struct Staging {
    batch: Option<RecvBatch>,
    next: usize,
}

/// Options for a [`LinuxTun`].
#[derive(Debug, Clone)]
pub struct LinuxTunBuilder {
    name: String,
    mtu: u16,
    offload: bool,
    multi_queue: bool,
    tx_queue_len: Option<u32>,
}

impl LinuxTunBuilder {
    /// MTU of the interface (default 1400).
    pub fn mtu(mut self, mtu: u16) -> Self {
        self.mtu = mtu;
        self
    }

    /// Asks for offload: `IFF_VNET_HDR` and `TUNSETOFFLOAD` (checksum, TSO4/6, and USO4/6 where the
    /// kernel has them). Default off. [`LinuxTun::offload`] tells whether it was granted.
    pub fn offload(mut self, offload: bool) -> Self {
        self.offload = offload;
        self
    }

    /// Makes a multi-queue interface (`IFF_MULTI_QUEUE`); see [`LinuxTun::try_clone_queue`].
    /// Default off.
    pub fn multi_queue(mut self, multi_queue: bool) -> Self {
        self.multi_queue = multi_queue;
        self
    }

    /// Transmit queue length of the interface (packets the kernel holds for the readers).
    pub fn tx_queue_len(mut self, len: u32) -> Self {
        self.tx_queue_len = Some(len);
        self
    }

    /// Creates the interface (or attaches to an existing TUN of that name) and sets it up.
    ///
    /// Needs `CAP_NET_ADMIN` and must be called inside a tokio runtime (the device registers with
    /// its reactor). The interface lives in the network namespace of the calling thread.
    pub fn build(self) -> io::Result<LinuxTun> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(io::Error::other(
                "LinuxTun must be built inside a tokio runtime",
            ));
        }
        let mut builder = DeviceBuilder::new()
            .name(&self.name)
            .mtu(self.mtu)
            .offload(self.offload)
            .multi_queue(self.multi_queue)
            .enable(true);
        if let Some(len) = self.tx_queue_len {
            builder = builder.tx_queue_len(len);
        }
        let dev = builder.build_async()?;
        let name = dev.name()?;
        let index = dev.if_index()?;
        let mtu = dev.mtu()?;
        let offload = dev.tcp_gso();
        tracing::debug!(
            %name, index, mtu, offload, udp_gso = dev.udp_gso(), multi_queue = self.multi_queue,
            "TUN device up"
        );
        let shared = Arc::new(Shared {
            name,
            index,
            mtu: AtomicU16::new(mtu),
            multi_queue: self.multi_queue,
            rx_dropped: AtomicU64::new(0),
            tx_dropped: AtomicU64::new(0),
        });
        Ok(LinuxTun::from_parts(dev, shared, offload))
    }
}

impl LinuxTun {
    /// Options for an interface named `name` (at most 15 bytes, e.g. `sstp0`; a `%d` in it lets
    /// the kernel pick a number).
    pub fn builder(name: &str) -> LinuxTunBuilder {
        LinuxTunBuilder {
            name: name.to_owned(),
            mtu: 1400,
            offload: false,
            multi_queue: false,
            tx_queue_len: None,
        }
    }

    fn from_parts(dev: AsyncDevice, shared: Arc<Shared>, offload: bool) -> Self {
        Self {
            dev,
            shared,
            offload,
            staging: Mutex::new(Staging::default()),
            staged: AtomicUsize::new(0),
        }
    }

    /// Opens one more queue of this multi-queue interface (same name, MTU and offload).
    ///
    /// Fails with [`io::ErrorKind::Unsupported`] unless the builder asked for
    /// [`multi_queue`](LinuxTunBuilder::multi_queue).
    pub fn try_clone_queue(&self) -> io::Result<Self> {
        if !self.shared.multi_queue {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the TUN device was not built with multi_queue(true)",
            ));
        }
        let dev = self.dev.try_clone()?;
        Ok(Self::from_parts(
            dev,
            Arc::clone(&self.shared),
            self.offload,
        ))
    }

    /// Interface index, for netlink calls.
    pub fn index(&self) -> u32 {
        self.shared.index
    }

    /// Offload is on: batch calls split GSO reads and coalesce writes.
    pub fn offload(&self) -> bool {
        self.offload
    }

    /// The kernel also offloads UDP segmentation (USO, Linux 6.2+); implies [`offload`](Self::offload).
    pub fn udp_gso(&self) -> bool {
        self.dev.udp_gso()
    }

    /// Changes the interface MTU. Use this rather than netlink so [`mtu`](TunDevice::mtu), which
    /// every queue caches, stays right.
    pub fn set_mtu(&self, mtu: u16) -> io::Result<()> {
        self.dev.set_mtu(mtu)?;
        self.shared.mtu.store(mtu, Ordering::Relaxed);
        Ok(())
    }

    /// Packets read from the kernel but dropped because they could not be split (a malformed or
    /// oversized GSO packet), over all queues.
    pub fn rx_dropped(&self) -> u64 {
        self.shared.rx_dropped.load(Ordering::Relaxed)
    }

    /// Packets given to `send_batch` but dropped because they were empty or longer than the MTU,
    /// over all queues.
    pub fn tx_dropped(&self) -> u64 {
        self.shared.tx_dropped.load(Ordering::Relaxed)
    }

    /// Offload read: waits for one kernel read, split into the free slots of `batch`, then takes
    /// more reads while a whole GSO packet surely fits in the slots left.
    async fn recv_offload(&self, batch: &mut RecvBatch) -> io::Result<()> {
        batch.reserve_slots(IDEAL_BATCH_SIZE, usize::from(self.mtu()));
        batch.reserve_raw();
        loop {
            let (bufs, sizes, raw, headroom) = batch.free_parts();
            match self.dev.recv_multiple(raw, bufs, sizes, headroom).await {
                Ok(n) => {
                    batch.add_len(n);
                    break;
                }
                Err(e) if is_packet_error(&e) => self.drop_rx(&e),
                Err(e) => return Err(e),
            }
        }
        while batch.free_slots() >= IDEAL_BATCH_SIZE {
            let (bufs, sizes, raw, headroom) = batch.free_parts();
            match self.dev.try_recv_multiple(raw, bufs, sizes, headroom) {
                Ok(n) => batch.add_len(n),
                Err(e) if is_packet_error(&e) => self.drop_rx(&e),
                // WouldBlock: all read. Another error comes back on the next call.
                Err(_) => break,
            }
        }
        Ok(())
    }

    /// Plain read: waits for one packet, then takes what else is ready without waiting.
    async fn recv_plain(&self, batch: &mut RecvBatch) -> io::Result<()> {
        batch.reserve_slots(1, usize::from(self.mtu()));
        let n = self.dev.recv(batch.slot_mut(0)).await?;
        batch.commit(n);
        while batch.len() < batch.slots() {
            match self.dev.try_recv(batch.slot_mut(batch.len())) {
                Ok(n) => batch.commit(n),
                Err(_) => break,
            }
        }
        Ok(())
    }

    /// Moves staged packets (left by the single-packet `recv` in offload mode) into `batch`.
    async fn drain_staging(&self, batch: &mut RecvBatch) {
        let mut staging = self.staging.lock().await;
        let Staging {
            batch: Some(staged),
            next,
        } = &mut *staging
        else {
            return;
        };
        batch.reserve_slots(1, staged.packet_capacity());
        while *next < staged.len() && batch.len() < batch.slots() {
            let Some(packet) = staged.packet(*next) else {
                break;
            };
            let len = batch.len();
            batch.slot_mut(len)[..packet.len()].copy_from_slice(packet);
            batch.commit(packet.len());
            *next += 1;
        }
        self.staged.store(staged.len() - *next, Ordering::Release);
    }

    fn drop_rx(&self, e: &io::Error) {
        self.shared.rx_dropped.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(tun = %self.shared.name, error = %e, "dropped a TUN packet that could not be split");
    }
}

impl TunDevice for LinuxTun {
    async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.offload {
            return self.dev.recv(buf).await;
        }
        let mut staging = self.staging.lock().await;
        let Staging { batch, next } = &mut *staging;
        let batch = batch
            .get_or_insert_with(|| RecvBatch::new(IDEAL_BATCH_SIZE, usize::from(self.mtu()), 0));
        if *next >= batch.len() {
            batch.clear();
            self.recv_offload(batch).await?;
            *next = 0;
        }
        let Some(packet) = batch.packet(*next) else {
            return Err(io::Error::other("offload read returned no packet"));
        };
        *next += 1;
        self.staged.store(batch.len() - *next, Ordering::Release);
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

    async fn send(&self, packet: &[u8]) -> io::Result<usize> {
        check_packet(packet, self.mtu())?;
        if self.offload {
            let bufs = [IoSlice::new(&PLAIN_VNET_HDR), IoSlice::new(packet)];
            let n = self.dev.send_vectored(&bufs).await?;
            Ok(n.saturating_sub(SEND_HEADROOM))
        } else {
            self.dev.send(packet).await
        }
    }

    fn mtu(&self) -> u16 {
        self.shared.mtu.load(Ordering::Relaxed)
    }

    fn name(&self) -> &str {
        &self.shared.name
    }

    async fn recv_batch(&self, batch: &mut RecvBatch) -> io::Result<usize> {
        batch.clear();
        if self.offload {
            if self.staged.load(Ordering::Acquire) > 0 {
                self.drain_staging(batch).await;
                if !batch.is_empty() {
                    return Ok(batch.len());
                }
            }
            self.recv_offload(batch).await?;
        } else {
            self.recv_plain(batch).await?;
        }
        Ok(batch.len())
    }

    async fn send_batch(&self, batch: &mut SendBatch) -> io::Result<usize> {
        let total = batch.len();
        let mtu = usize::from(self.mtu());
        let good = batch.partition(|p| !p.is_empty() && p.len() <= mtu);
        let result = if good == 0 {
            Ok(0)
        } else {
            let (bufs, gro) = batch.gro_parts(good);
            self.dev.send_multiple(gro, bufs, SEND_HEADROOM).await
        };
        batch.clear();
        // tun-rs tries every coalesced write and returns the last error without saying which
        // failed: the packets handed to it all count as not written then. The ones refused here
        // are known exactly.
        batch.set_dropped(if result.is_ok() { total - good } else { total });
        result?;
        if good < total {
            let dropped = total - good;
            self.shared
                .tx_dropped
                .fetch_add(dropped as u64, Ordering::Relaxed);
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{dropped} packet(s) empty or longer than the MTU of {mtu} were dropped"),
            ));
        }
        Ok(good)
    }
}

impl fmt::Debug for LinuxTun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinuxTun")
            .field("name", &self.shared.name)
            .field("index", &self.shared.index)
            .field("mtu", &self.mtu())
            .field("offload", &self.offload)
            .field("multi_queue", &self.shared.multi_queue)
            .finish_non_exhaustive()
    }
}

/// An error about one packet (tun-rs could not split it), not about the device: those carry no OS
/// error code.
fn is_packet_error(e: &io::Error) -> bool {
    e.raw_os_error().is_none() && e.kind() != io::ErrorKind::WouldBlock
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_a_runtime_is_an_error_not_a_panic() {
        let err = LinuxTun::builder("sstpx0").build().unwrap_err();
        assert!(err.to_string().contains("tokio runtime"), "{err}");
        assert!(crate::netlink::Netlink::new().is_err());
    }

    #[test]
    fn packet_errors_are_told_from_device_errors() {
        assert!(is_packet_error(&io::Error::other(
            "invalid ip header version: 0"
        )));
        assert!(!is_packet_error(&io::Error::from_raw_os_error(77)));
        assert!(!is_packet_error(&io::ErrorKind::WouldBlock.into()));
    }
}
