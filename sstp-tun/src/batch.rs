//! Reusable packet batches for `TunDevice::recv_batch` and `TunDevice::send_batch`.

use std::fmt;

/// Room kept in front of every packet of a [`SendBatch`]: the virtio-net header that an offload
/// TUN write starts with (tun-rs `VIRTIO_NET_HDR_LEN`).
pub(crate) const SEND_HEADROOM: usize = 10;

/// Capacity a write buffer needs for tun-rs to coalesce into it: two virtio-net headers' worth of
/// room (its check) plus the largest coalesced packet.
#[cfg(all(feature = "linux", target_os = "linux"))]
const GRO_ROOM: usize = 2 * SEND_HEADROOM + 65535;

/// Size of the raw read buffer of an offload device: a virtio-net header plus the largest GSO packet.
#[cfg(all(feature = "linux", target_os = "linux"))]
const RAW_BUF_LEN: usize = SEND_HEADROOM + 65535;

/// Packets received in one [`TunDevice::recv_batch`](crate::TunDevice::recv_batch) call.
///
/// Make one per reader task and reuse it: its buffers are allocated once. Each slot keeps
/// `headroom` bytes in front of the packet, so a driver can write the SSTP and PPP headers in place
/// ([`frames_mut`](Self::frames_mut)) and hand the whole frame to TLS without copying the packet.
///
/// ```
/// use sstp_tun::{IDEAL_BATCH_SIZE, RecvBatch};
///
/// // 8 bytes of headroom: the 4-byte SSTP header and a 4-byte PPP header.
/// let batch = RecvBatch::new(IDEAL_BATCH_SIZE, 1500, 8);
/// assert!(batch.is_empty());
/// assert_eq!(batch.headroom(), 8);
/// ```
pub struct RecvBatch {
    /// One buffer per slot, each `headroom + packet_capacity` bytes long (fully initialised).
    bufs: Vec<Vec<u8>>,
    /// Packet length in each slot (only the first `len` mean anything).
    sizes: Vec<usize>,
    len: usize,
    headroom: usize,
    packet_capacity: usize,
    /// Raw read buffer for offload devices; empty until one uses this batch.
    #[cfg(all(feature = "linux", target_os = "linux"))]
    raw: Vec<u8>,
}

impl RecvBatch {
    /// A batch of `slots` packets of up to `packet_capacity` bytes, each with `headroom` bytes
    /// in front. `slots` is at least 1.
    ///
    /// With an offload `LinuxTun`, give at least [`IDEAL_BATCH_SIZE`](crate::IDEAL_BATCH_SIZE)
    /// slots (the device grows a smaller batch to that once) and a `packet_capacity` of at least
    /// the MTU.
    pub fn new(slots: usize, packet_capacity: usize, headroom: usize) -> Self {
        let mut batch = Self {
            bufs: Vec::new(),
            sizes: Vec::new(),
            len: 0,
            headroom,
            packet_capacity: 0,
            #[cfg(all(feature = "linux", target_os = "linux"))]
            raw: Vec::new(),
        };
        batch.reserve_slots(slots.max(1), packet_capacity);
        batch
    }

    /// Number of packets from the last receive.
    pub fn len(&self) -> usize {
        self.len
    }

    /// No packet received (yet).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of slots: the most packets one receive can return.
    pub fn slots(&self) -> usize {
        self.bufs.len()
    }

    /// Largest packet a slot holds.
    pub fn packet_capacity(&self) -> usize {
        self.packet_capacity
    }

    /// Bytes kept free in front of each packet.
    pub fn headroom(&self) -> usize {
        self.headroom
    }

    /// Packet `i`, if received.
    pub fn packet(&self, i: usize) -> Option<&[u8]> {
        (i < self.len).then(|| &self.bufs[i][self.headroom..self.headroom + self.sizes[i]])
    }

    /// The received packets, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        self.bufs[..self.len]
            .iter()
            .zip(&self.sizes)
            .map(|(buf, &size)| &buf[self.headroom..self.headroom + size])
    }

    /// The received packets with their headroom: each item is `headroom` free bytes followed by
    /// the packet, ready for headers to be written in front of it.
    pub fn frames_mut(&mut self) -> impl ExactSizeIterator<Item = &mut [u8]> + '_ {
        let headroom = self.headroom;
        self.bufs[..self.len]
            .iter_mut()
            .zip(&self.sizes)
            .map(move |(buf, &size)| &mut buf[..headroom + size])
    }

    /// Forgets the received packets (the buffers stay).
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Grows the batch to at least `slots` slots of at least `packet_capacity` bytes.
    pub(crate) fn reserve_slots(&mut self, slots: usize, packet_capacity: usize) {
        if packet_capacity > self.packet_capacity {
            self.packet_capacity = packet_capacity;
            for buf in &mut self.bufs {
                buf.resize(self.headroom + packet_capacity, 0);
            }
        }
        while self.bufs.len() < slots {
            self.bufs
                .push(vec![0; self.headroom + self.packet_capacity]);
        }
        self.sizes.resize(self.bufs.len(), 0);
    }

    /// The packet area of slot `i` (after the headroom).
    pub(crate) fn slot_mut(&mut self, i: usize) -> &mut [u8] {
        &mut self.bufs[i][self.headroom..]
    }

    /// Records a packet of `size` bytes in the next free slot (just written by `slot_mut`).
    pub(crate) fn commit(&mut self, size: usize) {
        self.sizes[self.len] = size;
        self.len += 1;
    }

    /// The free slots (buffers and size cells), the raw buffer, and the headroom, for a device
    /// that fills several slots at once; then [`set_len`](Self::set_len).
    #[cfg(all(feature = "linux", target_os = "linux"))]
    pub(crate) fn free_parts(&mut self) -> (&mut [Vec<u8>], &mut [usize], &mut Vec<u8>, usize) {
        let len = self.len;
        (
            &mut self.bufs[len..],
            &mut self.sizes[len..],
            &mut self.raw,
            self.headroom,
        )
    }

    /// Number of free slots.
    #[cfg(all(feature = "linux", target_os = "linux"))]
    pub(crate) fn free_slots(&self) -> usize {
        self.bufs.len() - self.len
    }

    /// Marks `n` more slots as filled (their sizes were written through `free_parts`).
    #[cfg(all(feature = "linux", target_os = "linux"))]
    pub(crate) fn add_len(&mut self, n: usize) {
        self.len += n;
    }

    /// Allocates the raw read buffer an offload device needs.
    #[cfg(all(feature = "linux", target_os = "linux"))]
    pub(crate) fn reserve_raw(&mut self) {
        if self.raw.len() < RAW_BUF_LEN {
            self.raw.resize(RAW_BUF_LEN, 0);
        }
    }
}

impl fmt::Debug for RecvBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvBatch")
            .field("len", &self.len)
            .field("slots", &self.bufs.len())
            .field("packet_capacity", &self.packet_capacity)
            .field("headroom", &self.headroom)
            .finish_non_exhaustive()
    }
}

/// Packets to write in one [`TunDevice::send_batch`](crate::TunDevice::send_batch) call.
///
/// Make one per writer task and reuse it; push packets, then send when it
/// [`is_full`](Self::is_full) or when no more packets are waiting. Its buffers stay allocated
/// between sends. Each packet is copied in once (or written in place with
/// [`push_with`](Self::push_with)); an offload `LinuxTun` then coalesces TCP and UDP flows in
/// place (GRO) and writes a few large packets instead of many small ones.
///
/// ```
/// use sstp_tun::{IDEAL_BATCH_SIZE, SendBatch};
///
/// let mut batch = SendBatch::new(IDEAL_BATCH_SIZE);
/// batch.push(&[0x45, 0, 0, 20]);
/// batch.push_with(4, |packet| packet.copy_from_slice(&[0x60, 0, 0, 0]));
/// assert_eq!(batch.len(), 2);
/// assert_eq!(batch.iter().nth(1), Some(&[0x60, 0, 0, 0][..]));
/// ```
pub struct SendBatch {
    /// Buffers, each `SEND_HEADROOM` bytes then one packet; only the first `len` are in use.
    bufs: Vec<Vec<u8>>,
    len: usize,
    capacity: usize,
    /// Packets the last `send_batch` did not write.
    dropped: usize,
    /// Coalescing state of tun-rs, reused from send to send.
    #[cfg(all(feature = "linux", target_os = "linux"))]
    gro: tun_rs::GROTable,
}

impl SendBatch {
    /// An empty batch meant to hold `capacity` packets (see [`is_full`](Self::is_full));
    /// [`IDEAL_BATCH_SIZE`](crate::IDEAL_BATCH_SIZE) is a good value.
    pub fn new(capacity: usize) -> Self {
        Self {
            bufs: Vec::with_capacity(capacity),
            len: 0,
            capacity: capacity.max(1),
            dropped: 0,
            #[cfg(all(feature = "linux", target_os = "linux"))]
            gro: tun_rs::GROTable::new(),
        }
    }

    /// Adds a copy of `packet`.
    pub fn push(&mut self, packet: &[u8]) {
        // Not `push_with`: no zero fill before the copy (it showed in profiles).
        if self.len == self.bufs.len() {
            self.bufs.push(Vec::new());
        }
        let buf = &mut self.bufs[self.len];
        buf.clear();
        buf.extend_from_slice(&[0; SEND_HEADROOM]);
        buf.extend_from_slice(packet);
        self.len += 1;
    }

    /// Adds a packet of `len` bytes written by `fill`, without an intermediate copy (for example a
    /// PPP payload decapsulated straight into the batch). `fill` gets exactly `len` bytes.
    pub fn push_with(&mut self, len: usize, fill: impl FnOnce(&mut [u8])) {
        if self.len == self.bufs.len() {
            self.bufs.push(Vec::new());
        }
        let buf = &mut self.bufs[self.len];
        buf.clear();
        buf.resize(SEND_HEADROOM + len, 0);
        fill(&mut buf[SEND_HEADROOM..]);
        self.len += 1;
    }

    /// Number of packets waiting.
    pub fn len(&self) -> usize {
        self.len
    }

    /// No packet waiting.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Holds at least the capacity given to [`new`](Self::new): time to send. Pushing more still
    /// works; the batch grows.
    pub fn is_full(&self) -> bool {
        self.len >= self.capacity
    }

    /// The waiting packets, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        self.bufs[..self.len]
            .iter()
            .map(|buf| &buf[SEND_HEADROOM..])
    }

    /// Drops the waiting packets (the buffers stay allocated).
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// How many packets the last [`send_batch`](crate::TunDevice::send_batch) of this batch did
    /// not write (0 after a success): what a driver counts as dropped when it fails, since the
    /// other packets of the batch went in.
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// Records how many packets a `send_batch` did not write; for [`TunDevice`](crate::TunDevice)
    /// implementations that override `send_batch`.
    pub fn set_dropped(&mut self, dropped: usize) {
        self.dropped = dropped;
    }

    /// Moves packets that fail `keep` behind the others, keeping the order of the kept ones;
    /// returns how many were kept (they are the first ones now).
    #[cfg(all(feature = "linux", target_os = "linux"))]
    pub(crate) fn partition(&mut self, keep: impl Fn(&[u8]) -> bool) -> usize {
        let mut kept = 0;
        for i in 0..self.len {
            if keep(&self.bufs[i][SEND_HEADROOM..]) {
                self.bufs.swap(kept, i);
                kept += 1;
            }
        }
        kept
    }

    /// The first `n` buffers (headroom included) and the GRO table, for an offload write.
    ///
    /// tun-rs coalesces a flow's packets into the buffer of its first packet only when that
    /// buffer's capacity already holds the result; it never grows one. A buffer sized to one
    /// packet therefore coalesces nothing and every packet costs a write system call (seen with
    /// strace: 1410-byte writes only). So each buffer handed over gets room for the largest
    /// coalesced packet, once: buffers keep their capacity from batch to batch.
    #[cfg(all(feature = "linux", target_os = "linux"))]
    pub(crate) fn gro_parts(&mut self, n: usize) -> (&mut [Vec<u8>], &mut tun_rs::GROTable) {
        for buf in &mut self.bufs[..n] {
            if buf.capacity() < GRO_ROOM {
                buf.reserve_exact(GRO_ROOM - buf.len());
            }
        }
        (&mut self.bufs[..n], &mut self.gro)
    }
}

impl Default for SendBatch {
    fn default() -> Self {
        Self::new(crate::IDEAL_BATCH_SIZE)
    }
}

impl fmt::Debug for SendBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendBatch")
            .field("len", &self.len)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// tun-rs only coalesces into a buffer that already has room: every buffer handed to an
    /// offload write must have it, keep it across batches, and keep its packet intact.
    #[cfg(all(feature = "linux", target_os = "linux"))]
    #[test]
    fn gro_parts_give_every_buffer_room_to_coalesce() {
        let mut batch = SendBatch::new(4);
        batch.push(&[0x45; 60]);
        batch.push(&[0x46; 1400]);
        let (bufs, _) = batch.gro_parts(2);
        assert!(bufs.iter().all(|b| b.capacity() >= GRO_ROOM));
        assert_eq!(&bufs[1][SEND_HEADROOM..], &[0x46; 1400][..]);
        batch.clear();
        batch.push(&[0x47; 20]);
        assert!(
            batch.bufs[0].capacity() >= GRO_ROOM,
            "capacity survives clear and push"
        );
        assert_eq!(batch.iter().next(), Some(&[0x47; 20][..]));
    }

    #[test]
    fn recv_batch_slots_and_frames() {
        let mut batch = RecvBatch::new(0, 16, 4);
        assert_eq!(batch.slots(), 1);
        batch.reserve_slots(3, 32);
        assert_eq!((batch.slots(), batch.packet_capacity()), (3, 32));
        for (i, len) in [5usize, 7].into_iter().enumerate() {
            batch.slot_mut(i)[..len].fill(i as u8 + 1);
            batch.commit(len);
        }
        assert_eq!(batch.len(), 2);
        assert_eq!(batch.packet(1), Some(&[2u8; 7][..]));
        assert_eq!(batch.packet(2), None);
        for frame in batch.frames_mut() {
            frame[..4].copy_from_slice(b"HDR!");
        }
        let frames: Vec<Vec<u8>> = batch.frames_mut().map(|f| f.to_vec()).collect();
        assert_eq!(frames[0], b"HDR!\x01\x01\x01\x01\x01");
        assert_eq!(batch.iter().map(<[u8]>::len).collect::<Vec<_>>(), [5, 7]);
        batch.clear();
        assert!(batch.is_empty());
        assert_eq!(batch.iter().count(), 0);
    }

    #[test]
    fn send_batch_reuses_buffers() {
        let mut batch = SendBatch::new(2);
        batch.push(b"one");
        assert!(!batch.is_full());
        batch.push_with(3, |p| p.copy_from_slice(b"two"));
        assert!(batch.is_full());
        batch.push(b"three");
        assert_eq!(
            batch.iter().collect::<Vec<_>>(),
            [&b"one"[..], b"two", b"three"]
        );
        batch.clear();
        batch.push(b"4");
        assert_eq!(batch.iter().collect::<Vec<_>>(), [&b"4"[..]]);
        assert_eq!(batch.bufs.len(), 3, "buffers are kept for reuse");
    }

    #[cfg(all(feature = "linux", target_os = "linux"))]
    #[test]
    fn send_batch_partition_keeps_order() {
        let mut batch = SendBatch::new(8);
        for p in [&b"a"[..], b"bbbb", b"c", b"dddd", b"e"] {
            batch.push(p);
        }
        let kept = batch.partition(|p| p.len() < 4);
        assert_eq!(kept, 3);
        let firsts: Vec<&[u8]> = batch.iter().take(kept).collect();
        assert_eq!(firsts, [&b"a"[..], b"c", b"e"]);
    }
}
