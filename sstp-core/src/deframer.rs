//! Cuts the plaintext byte stream of the TLS connection into whole SSTP
//! packets (MS-SSTP 3.1.7.2 "Receive HTTPS stream": the SSTP layer delineates
//! the stream into control and data packets).
//!
//! The deframer only delineates: it checks the version byte and the 12-bit
//! Length of each header (MS-SSTP 2.2.1) and yields the packet, header
//! included, for [`crate::wire::sstp::Packet::parse`]. It owns one buffer of
//! [`MAX_PACKET_LEN`] bytes, allocated once in [`Deframer::new`], which holds
//! at most one incomplete packet. Whole packets inside an input chunk are
//! yielded as slices of that chunk, without copying; only the piece of a
//! packet split across chunks is copied.
//!
//! A framing failure is sticky: MS-SSTP 3.1.5.1 says to abort the connection
//! without sending anything, because the stream can no longer be trusted.
//! After one error the deframer yields nothing more.

use core::fmt;

use crate::wire::sstp::{HEADER_LEN, Header, MAX_PACKET_LEN, VERSION};

/// Why the stream cannot be delineated (MS-SSTP 3.1.5.1). The connection must
/// be dropped without sending a Call Abort.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DeframeError {
    /// The version byte is not 0x10 (MS-SSTP 2.2.1).
    #[error("SSTP framing failed: version byte {version:#04x}, expected 0x10")]
    UnsupportedVersion {
        /// The version byte received.
        version: u8,
    },
    /// The Length field is smaller than the 4-byte header (MS-SSTP 2.2.1).
    #[error("SSTP framing failed: packet length {length} is below 4")]
    LengthTooShort {
        /// The Length field received.
        length: u16,
    },
}

/// Stream-to-packet deframer with a bounded buffer.
///
/// Call [`Deframer::next_packet`] in a loop with the chunk the TLS layer
/// returned until it gives `None`:
///
/// (The test `one_packet_then_a_partial_one` shows the loop.)
pub(crate) struct Deframer {
    buf: Box<[u8]>,
    /// Bytes of the incomplete packet held in `buf`.
    len: usize,
    /// Set (and reported) once; from then on nothing is yielded.
    failed: Option<DeframeError>,
}

impl Deframer {
    /// A deframer. Its one 4095-byte buffer is allocated when a packet first spans two chunks.
    pub(crate) fn new() -> Self {
        Self {
            buf: Box::default(),
            len: 0,
            failed: None,
        }
    }

    /// Frees the buffer if no partial packet is held in it (an idle session need not keep it;
    /// it comes back when needed).
    pub(crate) fn shrink(&mut self) {
        if self.len == 0 {
            self.buf = Box::default();
        }
    }

    /// Yields the next whole packet (header included) from the bytes held
    /// back from earlier chunks and `input`, advancing `input` past what it
    /// used.
    ///
    /// - `Some(Ok(packet))`: a whole packet; it borrows `input` when the
    ///   packet lies entirely in it, else the internal buffer.
    /// - `None`: `input` is used up (a trailing partial packet was buffered);
    ///   call again with the next chunk.
    /// - `Some(Err(_))`: framing failed. Reported once; every later call
    ///   returns `None` and discards its input.
    ///
    /// Packets must be handled (or copied) before the next call, which may
    /// reuse the buffer; the borrow checker enforces it.
    pub(crate) fn next_packet<'r, 'i: 'r>(
        &'r mut self,
        input: &mut &'i [u8],
    ) -> Option<Result<&'r [u8], DeframeError>> {
        if self.failed.is_some() {
            *input = &[];
            return None;
        }
        if self.len == 0 {
            self.whole_or_buffer(input)
        } else {
            self.complete_buffered(input)
        }
    }

    /// Nothing buffered: yield a whole packet straight from `input`, or
    /// buffer the incomplete rest.
    fn whole_or_buffer<'r, 'i: 'r>(
        &'r mut self,
        input: &mut &'i [u8],
    ) -> Option<Result<&'r [u8], DeframeError>> {
        let chunk: &'i [u8] = input;
        if chunk.is_empty() {
            return None;
        }
        match packet_len(chunk) {
            Err(error) => self.fail(error, input),
            Ok(Some(len)) if chunk.len() >= len => {
                let (packet, rest) = chunk.split_at(len);
                *input = rest;
                Some(Ok(packet))
            }
            Ok(_) => {
                // A partial packet (at most 4094 bytes) or partial header.
                if self.buf.is_empty() {
                    self.buf = vec![0; MAX_PACKET_LEN].into_boxed_slice();
                }
                self.buf[..chunk.len()].copy_from_slice(chunk);
                self.len = chunk.len();
                *input = &[];
                None
            }
        }
    }

    /// Something buffered: top it up from `input`.
    fn complete_buffered<'r, 'i: 'r>(
        &'r mut self,
        input: &mut &'i [u8],
    ) -> Option<Result<&'r [u8], DeframeError>> {
        if self.len < HEADER_LEN {
            let take = (HEADER_LEN - self.len).min(input.len());
            self.take_from(input, take);
        }
        let len = match packet_len(&self.buf[..self.len]) {
            Err(error) => return self.fail(error, input),
            Ok(None) => return None,
            Ok(Some(len)) => len,
        };
        let take = (len - self.len).min(input.len());
        self.take_from(input, take);
        if self.len < len {
            return None;
        }
        self.len = 0;
        Some(Ok(&self.buf[..len]))
    }

    /// Moves `take` bytes from the front of `input` into the buffer. Callers
    /// keep `self.len + take` within one packet, so within the buffer.
    fn take_from(&mut self, input: &mut &[u8], take: usize) {
        let (head, rest) = input.split_at(take);
        self.buf[self.len..self.len + take].copy_from_slice(head);
        self.len += take;
        *input = rest;
    }

    fn fail<'r>(
        &'r mut self,
        error: DeframeError,
        input: &mut &[u8],
    ) -> Option<Result<&'r [u8], DeframeError>> {
        self.failed = Some(error);
        self.len = 0;
        *input = &[];
        Some(Err(error))
    }

    /// Bytes of an incomplete packet held back (0..4095). Non-zero when the
    /// stream ends means the peer sent a truncated packet.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn buffered_len(&self) -> usize {
        self.len
    }

    /// The framing error, once delineation has failed (the connection must
    /// then be dropped).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn error(&self) -> Option<DeframeError> {
        self.failed
    }
}

impl Default for Deframer {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Deframer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deframer")
            .field("buffered", &self.len)
            .field("failed", &self.failed)
            .finish()
    }
}

/// The length of the packet starting at `bytes`, once its header is
/// complete. Checks the version byte as soon as it is there, so a stream that
/// is not SSTP fails on its first byte.
fn packet_len(bytes: &[u8]) -> Result<Option<usize>, DeframeError> {
    let Some(&version) = bytes.first() else {
        return Ok(None);
    };
    if version != VERSION {
        return Err(DeframeError::UnsupportedVersion { version });
    }
    let Some(header) = bytes.first_chunk::<HEADER_LEN>() else {
        return Ok(None);
    };
    match Header::decode(*header) {
        Ok(header) => Ok(Some(header.packet_len())),
        Err(_) => Err(DeframeError::LengthTooShort {
            length: u16::from_be_bytes([header[2], header[3]]) & 0x0FFF,
        }),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_packet_then_a_partial_one() {
        use crate::deframer::Deframer;

        let mut deframer = Deframer::new();
        // An Echo Request, then the first 3 bytes of an Echo Response.
        let chunk = [
            0x10, 0x01, 0x00, 0x08, 0x00, 0x08, 0x00, 0x00, 0x10, 0x01, 0x00,
        ];
        let mut input = &chunk[..];
        let mut packets = Vec::new();
        while let Some(packet) = deframer.next_packet(&mut input) {
            packets.push(packet.expect("well framed").to_vec());
        }
        assert_eq!(packets.len(), 1);
        assert_eq!(deframer.buffered_len(), 3);
    }

    use super::*;
    use proptest::prelude::*;

    /// Echo Request (MS-SSTP 2.2.15).
    const ECHO: [u8; 8] = [0x10, 0x01, 0x00, 0x08, 0x00, 0x08, 0x00, 0x00];
    /// MS-SSTP 4.7 Call Connect Request.
    const REQUEST: [u8; 14] = [
        0x10, 0x01, 0x00, 0x0E, 0x00, 0x01, 0x00, 0x01, 0x00, 0x01, 0x00, 0x06, 0x00, 0x01,
    ];
    /// Data packet with an LCP Echo-Request frame.
    const DATA: [u8; 16] = [
        0x10, 0x00, 0x00, 0x10, 0xFF, 0x03, 0xC0, 0x21, 0x09, 0x01, 0x00, 0x08, 0x00, 0x00, 0x00,
        0x00,
    ];

    /// A data packet of `len` bytes whose payload counts up.
    fn data_packet(len: usize) -> Vec<u8> {
        let mut p = vec![0x10, 0x00];
        p.extend_from_slice(&(len as u16).to_be_bytes());
        p.extend((0..len - 4).map(|i| i as u8));
        p
    }

    /// Feeds `chunks` in order; returns the packets and the error, if any.
    fn run<'a>(
        deframer: &mut Deframer,
        chunks: impl IntoIterator<Item = &'a [u8]>,
    ) -> (Vec<Vec<u8>>, Option<DeframeError>) {
        let mut packets = Vec::new();
        let mut error = None;
        for chunk in chunks {
            let mut input = chunk;
            while let Some(result) = deframer.next_packet(&mut input) {
                match result {
                    Ok(p) => packets.push(p.to_vec()),
                    Err(e) => {
                        assert!(error.is_none(), "an error is reported once");
                        error = Some(e);
                    }
                }
            }
            assert!(
                input.is_empty(),
                "every call sequence ends with the input used up"
            );
        }
        (packets, error)
    }

    fn stream(packets: &[&[u8]]) -> Vec<u8> {
        packets.concat()
    }

    #[test]
    fn shrink_keeps_a_partial_packet_and_frees_an_idle_buffer() {
        let packet = data_packet(1400);
        let mut deframer = Deframer::new();
        let (first, rest) = packet.split_at(700);
        assert_eq!(run(&mut deframer, [first]).0.len(), 0);
        // A partial packet is held: shrinking must not lose it.
        deframer.shrink();
        assert_eq!(deframer.buffered_len(), 700);
        let (packets, error) = run(&mut deframer, [rest]);
        assert_eq!((packets, error), (vec![packet.clone()], None));
        // Idle: the buffer goes, and comes back for the next split packet.
        deframer.shrink();
        assert!(deframer.buf.is_empty());
        let (packets, _) = run(&mut deframer, [first, rest]);
        assert_eq!(packets, vec![packet]);
    }

    #[test]
    fn many_packets_in_one_chunk_are_borrowed_from_it() {
        let bytes = stream(&[&ECHO, &REQUEST, &DATA, &ECHO]);
        let mut deframer = Deframer::new();
        let mut input = &bytes[..];
        let mut offsets = Vec::new();
        while let Some(p) = deframer.next_packet(&mut input) {
            let p = p.expect("well framed");
            let offset = p.as_ptr() as usize - bytes.as_ptr() as usize;
            assert_eq!(p, &bytes[offset..offset + p.len()], "a slice of the input");
            offsets.push((offset, p.len()));
        }
        assert_eq!(offsets, vec![(0, 8), (8, 14), (22, 16), (38, 8)]);
        assert_eq!(deframer.buffered_len(), 0);
    }

    #[test]
    fn byte_at_a_time() {
        let bytes = stream(&[&REQUEST, &DATA, &ECHO]);
        let mut deframer = Deframer::new();
        let (packets, error) = run(&mut deframer, bytes.chunks(1));
        assert_eq!(
            packets,
            vec![REQUEST.to_vec(), DATA.to_vec(), ECHO.to_vec()]
        );
        assert_eq!(error, None);
        assert_eq!(deframer.buffered_len(), 0);
    }

    #[test]
    fn split_headers_at_every_position() {
        let bytes = stream(&[&ECHO, &DATA, &REQUEST]);
        for split in 0..=bytes.len() {
            let mut deframer = Deframer::new();
            let (packets, error) = run(&mut deframer, [&bytes[..split], &bytes[split..]]);
            assert_eq!(
                packets,
                vec![ECHO.to_vec(), DATA.to_vec(), REQUEST.to_vec()],
                "split at {split}"
            );
            assert_eq!(error, None);
        }
    }

    #[test]
    fn three_way_splits_within_one_packet() {
        let packet = data_packet(300);
        for a in 0..8 {
            for b in a..packet.len() {
                let mut deframer = Deframer::new();
                let (packets, _) = run(&mut deframer, [&packet[..a], &packet[a..b], &packet[b..]]);
                assert_eq!(packets, vec![packet.clone()], "splits {a} {b}");
            }
        }
    }

    #[test]
    fn partial_packet_is_buffered_until_complete() {
        let mut deframer = Deframer::new();
        let mut input = &DATA[..10];
        assert!(deframer.next_packet(&mut input).is_none());
        assert!(input.is_empty());
        assert_eq!(deframer.buffered_len(), 10);
        // The rest plus the start of the next packet.
        let more = stream(&[&DATA[10..], &ECHO[..2]]);
        let mut input = &more[..];
        let packet = deframer
            .next_packet(&mut input)
            .expect("complete")
            .expect("ok");
        assert_eq!(packet, DATA);
        assert_eq!(input, &ECHO[..2], "the rest stays in the caller's input");
        assert!(deframer.next_packet(&mut input).is_none());
        assert_eq!(deframer.buffered_len(), 2);
    }

    #[test]
    fn maximum_length_packets() {
        let max = data_packet(MAX_PACKET_LEN);
        assert_eq!(&max[..4], &[0x10, 0x00, 0x0F, 0xFF]);
        let bytes = stream(&[&max, &max, &ECHO]);
        for chunk in [1, 7, 4094, 4095, 4096, 10_000] {
            let mut deframer = Deframer::new();
            let (packets, error) = run(&mut deframer, bytes.chunks(chunk));
            assert_eq!(
                packets,
                vec![max.clone(), max.clone(), ECHO.to_vec()],
                "chunk {chunk}"
            );
            assert_eq!(error, None);
            assert!(deframer.buffered_len() < MAX_PACKET_LEN);
        }
    }

    #[test]
    fn minimum_length_packet() {
        let empty_data = [0x10, 0x00, 0x00, 0x04];
        let mut deframer = Deframer::new();
        let (packets, error) = run(&mut deframer, [&empty_data[..], &empty_data[..]]);
        assert_eq!(packets, vec![empty_data.to_vec(), empty_data.to_vec()]);
        assert_eq!(error, None);
    }

    #[test]
    fn bad_version_fails_on_its_first_byte_and_sticks() {
        let mut deframer = Deframer::new();
        let mut input: &[u8] = &[0x16, 0x03, 0x01, 0x02, 0x00];
        assert_eq!(
            deframer.next_packet(&mut input),
            Some(Err(DeframeError::UnsupportedVersion { version: 0x16 }))
        );
        assert!(input.is_empty(), "input discarded");
        assert_eq!(
            deframer.error(),
            Some(DeframeError::UnsupportedVersion { version: 0x16 })
        );
        let mut good = &ECHO[..];
        assert_eq!(
            deframer.next_packet(&mut good),
            None,
            "nothing after an error"
        );
        assert!(good.is_empty());
    }

    #[test]
    fn bad_version_after_good_packets() {
        let bytes = stream(&[&ECHO, &[0x11, 0x01, 0x00, 0x08], &ECHO]);
        for chunk in [1, 3, 8, 100] {
            let mut deframer = Deframer::new();
            let (packets, error) = run(&mut deframer, bytes.chunks(chunk));
            assert_eq!(packets, vec![ECHO.to_vec()], "chunk {chunk}");
            assert_eq!(
                error,
                Some(DeframeError::UnsupportedVersion { version: 0x11 })
            );
        }
    }

    #[test]
    fn length_below_4_fails() {
        for length in 0..4u8 {
            let bytes = stream(&[&ECHO, &[0x10, 0x00, 0xF0, length], &ECHO]);
            for chunk in [1, 2, 5, 100] {
                let mut deframer = Deframer::new();
                let (packets, error) = run(&mut deframer, bytes.chunks(chunk));
                assert_eq!(packets, vec![ECHO.to_vec()]);
                assert_eq!(
                    error,
                    Some(DeframeError::LengthTooShort {
                        length: length.into()
                    }),
                    "length {length}, chunk {chunk}"
                );
                assert_eq!(deframer.buffered_len(), 0);
            }
        }
    }

    #[test]
    fn empty_input_yields_nothing() {
        let mut deframer = Deframer::default();
        let mut input: &[u8] = &[];
        assert_eq!(deframer.next_packet(&mut input), None);
        assert_eq!(deframer.error(), None);
        assert!(format!("{deframer:?}").contains("buffered: 0"));
    }

    fn arb_packet() -> impl Strategy<Value = Vec<u8>> {
        (any::<bool>(), prop::collection::vec(any::<u8>(), 0..600)).prop_map(|(control, body)| {
            let mut p = vec![0x10, u8::from(control)];
            p.extend_from_slice(&((body.len() + 4) as u16).to_be_bytes());
            p.extend_from_slice(&body);
            p
        })
    }

    proptest! {
        #[test]
        fn any_chunking_gives_the_same_packets(
            packets in prop::collection::vec(arb_packet(), 0..8),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..10),
        ) {
            let bytes = packets.concat();
            let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut start = 0;
            for cut in cuts {
                chunks.push(&bytes[start..cut]);
                start = cut;
            }
            chunks.push(&bytes[start..]);
            let mut deframer = Deframer::new();
            let (got, error) = run(&mut deframer, chunks);
            prop_assert_eq!(got, packets);
            prop_assert_eq!(error, None);
            prop_assert_eq!(deframer.buffered_len(), 0);
        }
    }
}
