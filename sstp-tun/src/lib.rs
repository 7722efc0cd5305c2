//! Packet devices for sstp-rs: where the IP packets of a tunnel enter and leave the operating system.
//!
//! # What this crate owns
//!
//! - [`TunDevice`]: the small async trait the server and client drivers are generic over. One device
//!   carries raw IP packets (IPv4 or IPv6, no link-layer header, no packet-information prefix).
//! - [`RecvBatch`] / [`SendBatch`]: reusable packet batches for the batched data path (one allocation
//!   when the batch is made, none per packet).
//! - [`MemTun`] + [`MemTunHandle`]: an in-memory device for tests (smoltcp `Loopback`, h2 mock pipe).
//! - `LinuxTun` (feature `linux`, on by default): a Linux TUN device on [tun-rs], with optional
//!   offload (`IFF_VNET_HDR`: GSO split on read, GRO coalescing on write) and multi-queue.
//! - `netlink` (feature `linux`): the few rtnetlink calls the drivers need: addresses, link up and MTU,
//!   routes, and route lookup.
//!
//! - [`drive`]: what the server's and the client's drivers share around a device and a TLS stream:
//!   the clock, poll-once, write-and-flush, the bounded final flush, the loop that drains a session
//!   (generic over `sstp_core::Session`), counted packets to the session and TUN batches, the
//!   session's random source.
//!
//! The protocol (`sstp-core`) never sees a device: drivers read packets here and hand them to the
//! session (`send_ip`), and write the session's `poll_ip` output here.
//!
//! # The trait contract
//!
//! - A device is shared, not split: every method takes `&self`, so one `Arc<D>` serves a reader task
//!   and any number of writer tasks. `TunDevice` is also implemented for `Arc<D>`.
//! - [`recv`](TunDevice::recv) waits for one packet and copies it into `buf`, which should be at least
//!   [`mtu`](TunDevice::mtu) bytes. An error means the device is unusable (for [`MemTun`]: the handle
//!   was dropped); drivers stop on it. `recv` and `recv_batch` are cancel safe: dropping the future
//!   (a losing `select!` arm) loses no packet.
//! - [`send`](TunDevice::send) writes one packet. A packet longer than `mtu()` is rejected with
//!   [`std::io::ErrorKind::InvalidInput`]. An empty packet is rejected the same way.
//! - [`recv_batch`](TunDevice::recv_batch) waits for at least one packet, then returns what is ready,
//!   up to the batch's slot count. [`send_batch`](TunDevice::send_batch) writes every packet of a
//!   batch and empties it. The default implementations call `recv` / `send`; devices override them
//!   when they can do better (`LinuxTun` reads and writes many packets per wake-up, and with offload
//!   one read can return dozens of packets).
//!
//! The methods return `impl Future + Send` (native async functions in traits, Rust 1.75+), not boxed
//! futures: there is no allocation per packet, and a driver that is generic over `D: TunDevice` can
//! spawn its loops on a multi-threaded runtime. The price is that `TunDevice` is not dyn-compatible;
//! drivers are generic instead, which they want anyway for the fast path.
//!
//! # Notes for drivers
//!
//! - **Reading.** One reader task per device (per queue) owns a [`RecvBatch`] made once with
//!   headroom for the SSTP and PPP headers, loops on `recv_batch`, and encapsulates each packet in
//!   place through [`RecvBatch::frames_mut`]. With offload, give the batch at least
//!   [`IDEAL_BATCH_SIZE`] slots of at least the MTU (the device grows a smaller one); slots beyond
//!   that let one call take several kernel reads.
//! - **Writing.** Collect the packets that one TLS read decapsulated into a [`SendBatch`]
//!   ([`SendBatch::push_with`] writes them straight in), then `send_batch` once the read is
//!   handled or the batch [`is_full`](SendBatch::is_full). Flows that stay together in a batch are
//!   what GRO can coalesce. Writers on one device need no lock: each has its own batch.
//! - **Offload** (`LinuxTunBuilder::offload`) only pays with the batch calls; the single-packet
//!   calls work but copy through a staging batch. Check `LinuxTun::offload()` after building: the
//!   kernel may refuse it.
//! - **Multi-queue** (`LinuxTunBuilder::multi_queue`): `LinuxTun::try_clone_queue` per worker,
//!   one reader per queue; the kernel keeps a flow on one queue. Any queue can write any packet.
//! - **Errors.** `recv`/`recv_batch` errors mean the device is gone: stop. A `send`/`send_batch`
//!   error of kind [`InvalidInput`](std::io::ErrorKind::InvalidInput) is about packets (too long,
//!   empty) that were dropped: count and go on.
//!
//! # Using `MemTun` in tests
//!
//! ```
//! use sstp_tun::{MemTun, TunDevice};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let (tun, mut os) = MemTun::pair(1400);
//! // The "OS" routes a packet into the tunnel: the driver reads it from the device.
//! os.inject(&[0x45, 0, 0, 20]).await?;
//! let mut buf = vec![0; usize::from(tun.mtu())];
//! let n = tun.recv(&mut buf).await?;
//! assert_eq!(&buf[..n], &[0x45, 0, 0, 20]);
//! // The driver delivers a packet from the peer: the test observes it.
//! tun.send(&[0x60, 0, 0, 0]).await?;
//! assert_eq!(os.observe().await.as_deref(), Some(&[0x60, 0, 0, 0][..]));
//! # Ok(())
//! # }
//! ```
//!
//! [tun-rs]: https://docs.rs/tun-rs

#![warn(missing_docs)]

mod batch;
mod device;
pub mod drive;
mod mem;

#[cfg(all(feature = "linux", target_os = "linux"))]
mod linux;
#[cfg(all(feature = "linux", target_os = "linux"))]
pub mod netlink;

pub use batch::{RecvBatch, SendBatch};
pub use device::TunDevice;
#[cfg(all(feature = "linux", target_os = "linux"))]
pub use linux::{LinuxTun, LinuxTunBuilder};
pub use mem::{DEFAULT_QUEUE_LEN, MemTun, MemTunHandle};

/// A good number of packets per batch: what one offload read can produce from a 64 KiB GSO
/// packet, and the batch size tun-rs and wireguard-go use. Size [`RecvBatch`] and flush
/// [`SendBatch`] with it.
pub const IDEAL_BATCH_SIZE: usize = 128;
