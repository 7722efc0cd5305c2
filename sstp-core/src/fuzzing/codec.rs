//! The data-path codecs, for the codec benchmark (`benches/codec.rs`):
//! they are private to the crate, so the benchmark reaches them through
//! this feature, as the harnesses do.

use crate::wire::ppp::{Frame, HeaderForm, Protocol, prepend_header};
use crate::wire::sstp::{HEADER_LEN, Packet, encode_data_packet};

/// Bytes of headroom a data packet needs in front of its IP packet: the
/// SSTP header (MS-SSTP 2.2.1) and the uncompressed PPP header (RFC 1661 2).
pub const HEADROOM: usize = HEADER_LEN + 4;

/// Writes the PPP and SSTP headers into the [`HEADROOM`] bytes in front of
/// the IPv4 packet in `buf[HEADROOM..]`, as `send_ip` does, and returns the
/// data packet. `None` if the packet is too long for one SSTP packet.
#[inline]
pub fn emit_ipv4_in_place(buf: &mut [u8]) -> Option<&[u8]> {
    let start = prepend_header(buf, HEADROOM, Protocol::IPV4, HeaderForm::UNCOMPRESSED).ok()?;
    let len = buf.len() - start;
    encode_data_packet(buf, start, len).ok()
}

/// The payload of the PPP frame a data packet carries, `None` for a control
/// packet or bytes that do not parse.
#[inline]
pub fn parse_data_packet(packet: &[u8]) -> Option<&[u8]> {
    let Ok(Packet::Data(frame)) = Packet::parse(packet) else {
        return None;
    };
    Frame::parse(frame).ok().map(|f| f.payload)
}

/// The session's deframer (MS-SSTP 2.2.1), fed one chunk at a time.
#[derive(Debug, Default)]
pub struct Deframer(crate::deframer::Deframer);

impl Deframer {
    /// An empty deframer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cuts every whole packet out of `chunk` (keeping a partial one for the
    /// next call) and returns the bytes after their SSTP headers; `None` on
    /// a framing error.
    #[inline]
    pub fn feed(&mut self, mut chunk: &[u8]) -> Option<usize> {
        let mut n = 0;
        while let Some(packet) = self.0.next_packet(&mut chunk) {
            n += packet.ok()?.len() - HEADER_LEN;
        }
        Some(n)
    }
}
