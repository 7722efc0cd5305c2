//! The `TunDevice` trait.

use std::future::Future;
use std::io;
use std::sync::Arc;

use crate::batch::{RecvBatch, SendBatch};

/// An IP packet device: the tunnel's end inside the operating system.
///
/// See the [crate docs](crate#the-trait-contract) for the contract. In short: `&self` methods so one
/// `Arc<D>` is shared by a reader task and writer tasks; `recv`/`recv_batch` are cancel safe;
/// packets longer than [`mtu`](Self::mtu) are rejected by `send` with
/// [`io::ErrorKind::InvalidInput`]; an error from `recv` means the device is gone.
pub trait TunDevice: Send + Sync {
    /// Waits for one packet and copies it into `buf`; returns its length.
    ///
    /// `buf` should hold at least [`mtu`](Self::mtu) bytes. Cancel safe.
    fn recv(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send;

    /// Writes one packet (as if it arrived from the network); returns the number of packet bytes
    /// written.
    ///
    /// Rejects an empty packet or one longer than [`mtu`](Self::mtu) with
    /// [`io::ErrorKind::InvalidInput`].
    fn send(&self, packet: &[u8]) -> impl Future<Output = io::Result<usize>> + Send;

    /// The device MTU: the largest packet `send` accepts and `recv` returns.
    fn mtu(&self) -> u16;

    /// The interface name (`sstp0`, or a `MemTun`'s label).
    fn name(&self) -> &str;

    /// Waits for at least one packet, then fills `batch` with what is ready, up to its slot count.
    /// Returns the number of packets, also [`RecvBatch::len`].
    ///
    /// The batch is cleared first. A device may grow the batch (more slots, larger slots) once to
    /// what it needs, for example a slot of at least [`mtu`](Self::mtu) bytes. Cancel safe.
    ///
    /// The default reads one packet with [`recv`](Self::recv).
    fn recv_batch(&self, batch: &mut RecvBatch) -> impl Future<Output = io::Result<usize>> + Send {
        async move {
            batch.clear();
            batch.reserve_slots(1, usize::from(self.mtu()));
            let n = self.recv(batch.slot_mut(0)).await?;
            batch.commit(n);
            Ok(1)
        }
    }

    /// Writes every packet in `batch` and clears it, on success and on error alike.
    ///
    /// Each packet is tried even when an earlier one failed; the result is the number of packets
    /// written, or the first error met, and [`SendBatch::dropped`] tells how many were not
    /// written. Not cancel safe: dropping the future may leave some packets written and the batch
    /// not yet cleared.
    ///
    /// The default writes the packets one by one with [`send`](Self::send).
    fn send_batch(&self, batch: &mut SendBatch) -> impl Future<Output = io::Result<usize>> + Send {
        async move {
            let mut first_err = None;
            let mut sent = 0;
            for packet in batch.iter() {
                match self.send(packet).await {
                    Ok(_) => sent += 1,
                    Err(e) => {
                        first_err.get_or_insert(e);
                    }
                }
            }
            batch.set_dropped(batch.len() - sent);
            batch.clear();
            match first_err {
                Some(e) => Err(e),
                None => Ok(sent),
            }
        }
    }
}

impl<D: TunDevice> TunDevice for Arc<D> {
    fn recv(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send {
        (**self).recv(buf)
    }

    fn send(&self, packet: &[u8]) -> impl Future<Output = io::Result<usize>> + Send {
        (**self).send(packet)
    }

    fn mtu(&self) -> u16 {
        (**self).mtu()
    }

    fn name(&self) -> &str {
        (**self).name()
    }

    fn recv_batch(&self, batch: &mut RecvBatch) -> impl Future<Output = io::Result<usize>> + Send {
        (**self).recv_batch(batch)
    }

    fn send_batch(&self, batch: &mut SendBatch) -> impl Future<Output = io::Result<usize>> + Send {
        (**self).send_batch(batch)
    }
}

/// Checks a packet handed to `send` against the contract: not empty, at most `mtu` bytes.
pub(crate) fn check_packet(packet: &[u8], mtu: u16) -> io::Result<()> {
    if packet.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty packet"));
    }
    if packet.len() > usize::from(mtu) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("packet of {} bytes exceeds the MTU of {mtu}", packet.len()),
        ));
    }
    Ok(())
}
