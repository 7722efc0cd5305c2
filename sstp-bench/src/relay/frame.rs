//! The relay's framing on the TLS stream: each IP packet is sent as a 2-byte big-endian length
//! followed by the packet. That is all: no SSTP header, no PPP header.
//!
//! [`encode_in_place`] writes the length into headroom left in front of the packet, so a batch
//! of TUN packets becomes a list of frames without a copy (many frames per TLS write). [`Deframer`] owns
//! the receive buffer: the caller reads TLS plaintext into [`Deframer::spare`], reports it with
//! [`Deframer::filled`], then takes whole frames with [`Deframer::next_frame`]; a frame split
//! across reads (even its length prefix) waits for the rest. Lengths of zero or above the maximum
//! (the TUN MTU) are errors: the stream is out of sync or the peer is not a relay, and the
//! connection ends.

use std::fmt;

/// Bytes of the length prefix.
pub(crate) const LEN_PREFIX: usize = 2;

/// A frame that cannot be encoded or a length prefix that cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FrameError {
    /// A packet or length prefix of zero bytes.
    Empty,
    /// A packet or length prefix above the maximum (the MTU).
    TooLong { len: usize, max: usize },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("frame of length 0"),
            Self::TooLong { len, max } => {
                write!(f, "frame of length {len} exceeds the maximum of {max}")
            }
        }
    }
}

impl std::error::Error for FrameError {}

/// Frames a packet in place: `frame` is [`LEN_PREFIX`] free bytes followed by the packet (a
/// `RecvBatch` slot with that much headroom); the length goes into the free bytes. `max` is the
/// longest packet accepted (the MTU; at most `u16::MAX`, which the prefix can express).
pub(crate) fn encode_in_place(frame: &mut [u8], max: usize) -> Result<(), FrameError> {
    let Some((prefix, packet)) = frame.split_first_chunk_mut::<LEN_PREFIX>() else {
        return Err(FrameError::Empty);
    };
    *prefix = check_len(packet.len(), max)?.to_be_bytes();
    Ok(())
}

/// `len` as a prefix, if it is neither zero nor above `max` (nor above what 2 bytes hold).
fn check_len(len: usize, max: usize) -> Result<u16, FrameError> {
    let max = max.min(usize::from(u16::MAX));
    if len == 0 {
        return Err(FrameError::Empty);
    }
    if len > max {
        return Err(FrameError::TooLong { len, max });
    }
    u16::try_from(len).map_err(|_| FrameError::TooLong { len, max })
}

/// Receive buffer that turns a byte stream back into packets.
///
/// Allocated once; bytes move only when a partial frame at the end has to be brought back to the
/// front (at most one frame's worth, once per buffer's worth of data).
#[derive(Debug)]
pub(crate) struct Deframer {
    buf: Vec<u8>,
    /// Start of the bytes not yet returned as frames.
    start: usize,
    /// End of the bytes received.
    end: usize,
    max: usize,
}

impl Deframer {
    /// A deframer accepting frames of up to `max` bytes (the MTU), with a buffer of at least
    /// `capacity` bytes (grown to hold two whole frames if smaller, so [`spare`](Self::spare) is
    /// never empty once the complete frames are taken).
    pub(crate) fn new(capacity: usize, max: usize) -> Self {
        let max = max.min(usize::from(u16::MAX));
        let capacity = capacity.max(2 * (LEN_PREFIX + max));
        Self {
            buf: vec![0; capacity],
            start: 0,
            end: 0,
            max,
        }
    }

    /// Free space to read into. Take the complete frames ([`next_frame`](Self::next_frame) until
    /// `Ok(None)`) before calling it again; then it is never empty.
    pub(crate) fn spare(&mut self) -> &mut [u8] {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.buf.len() - self.end < LEN_PREFIX + self.max {
            // Not room for a whole frame behind the partial one: move the partial one to the front.
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        &mut self.buf[self.end..]
    }

    /// Records that `n` bytes were read into [`spare`](Self::spare).
    pub(crate) fn filled(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }

    /// The next whole packet, `Ok(None)` when the rest has not arrived yet, or an error for a
    /// length prefix of zero or above the maximum.
    pub(crate) fn next_frame(&mut self) -> Result<Option<&[u8]>, FrameError> {
        let pending = &self.buf[self.start..self.end];
        let Some((prefix, rest)) = pending.split_first_chunk::<LEN_PREFIX>() else {
            return Ok(None);
        };
        let len = usize::from(u16::from_be_bytes(*prefix));
        check_len(len, self.max)?;
        if rest.len() < len {
            return Ok(None);
        }
        let from = self.start + LEN_PREFIX;
        self.start = from + len;
        Ok(Some(&self.buf[from..from + len]))
    }

    /// Bytes received but not yet returned as frames (part of a frame).
    #[cfg(test)]
    pub(crate) fn pending(&self) -> usize {
        self.end - self.start
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    /// Appends `packet` as one frame to `out`, through `encode_in_place`.
    fn encode(out: &mut Vec<u8>, packet: &[u8], max: usize) -> Result<(), FrameError> {
        let mut frame = vec![0xee; LEN_PREFIX];
        frame.extend_from_slice(packet);
        encode_in_place(&mut frame, max)?;
        out.extend_from_slice(&frame);
        Ok(())
    }

    /// Feeds `bytes` to `d` in reads of at most `chunk` bytes (less when the spare room is
    /// smaller, as a real read would) and collects the frames.
    fn feed(d: &mut Deframer, bytes: &[u8], chunk: usize) -> Result<Vec<Vec<u8>>, FrameError> {
        let mut frames = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let spare = d.spare();
            let n = chunk.min(rest.len()).min(spare.len());
            assert!(n > 0, "no room to read into");
            spare[..n].copy_from_slice(&rest[..n]);
            d.filled(n);
            rest = &rest[n..];
            while let Some(frame) = d.next_frame()? {
                frames.push(frame.to_vec());
            }
        }
        Ok(frames)
    }

    #[test]
    fn encode_writes_a_big_endian_length_then_the_packet() {
        let mut out = Vec::new();
        encode(&mut out, &[0x45, 1, 2], 1400).unwrap();
        encode(&mut out, &[7; 300], 1400).unwrap();
        assert_eq!(&out[..5], &[0, 3, 0x45, 1, 2]);
        assert_eq!(&out[5..7], &[0x01, 0x2c]);
        assert_eq!(out.len(), 5 + 2 + 300);
    }

    #[test]
    fn encode_rejects_empty_and_oversized_packets() {
        let mut out = Vec::new();
        assert_eq!(encode(&mut out, &[], 1400), Err(FrameError::Empty));
        assert_eq!(
            encode(&mut out, &[0; 1401], 1400),
            Err(FrameError::TooLong {
                len: 1401,
                max: 1400
            })
        );
        // The prefix caps the maximum whatever the MTU says.
        assert!(matches!(
            encode(&mut out, &vec![0; 65536], usize::MAX),
            Err(FrameError::TooLong { len: 65536, .. })
        ));
        assert!(out.is_empty(), "nothing written on error");
        encode(&mut out, &[1; 1400], 1400).unwrap();
        assert_eq!(out.len(), 1402);
    }

    #[test]
    fn encode_in_place_fills_the_headroom_only() {
        let mut frame = [0xee, 0xee, 0x45, 0, 0, 20];
        encode_in_place(&mut frame, 1400).unwrap();
        assert_eq!(frame, [0, 4, 0x45, 0, 0, 20]);
        let mut no_packet = [0xee, 0xee];
        assert_eq!(
            encode_in_place(&mut no_packet, 1400),
            Err(FrameError::Empty)
        );
        assert_eq!(encode_in_place(&mut [0xee], 1400), Err(FrameError::Empty));
        assert_eq!(no_packet, [0xee, 0xee], "untouched on error");
    }

    #[test]
    fn round_trip_in_every_chunking() {
        let packets: Vec<Vec<u8>> = (1..=40u8).map(|i| vec![i; usize::from(i) * 35]).collect();
        let mut stream = Vec::new();
        for p in &packets {
            encode(&mut stream, p, 1400).unwrap();
        }
        // Chunk sizes of 1 and 3 split length prefixes across reads; the small buffer forces
        // partial frames to move to the front.
        for chunk in [1, 2, 3, 7, 1000, 1402, 4096, stream.len()] {
            let mut d = Deframer::new(0, 1400);
            let frames = feed(&mut d, &stream, chunk).unwrap();
            assert_eq!(frames, packets, "chunk {chunk}");
            assert_eq!(d.pending(), 0);
        }
    }

    #[test]
    fn a_length_prefix_split_across_reads_waits_for_its_second_byte() {
        let mut d = Deframer::new(4096, 1400);
        d.spare()[0] = 0x01;
        d.filled(1);
        assert_eq!(d.next_frame(), Ok(None));
        let spare = d.spare();
        spare[..2].copy_from_slice(&[0x00, 0xaa]);
        d.filled(2);
        assert_eq!(d.next_frame(), Ok(None), "256 bytes announced, 1 here");
        let spare = d.spare();
        spare[..255].fill(0xaa);
        d.filled(255);
        assert_eq!(d.next_frame(), Ok(Some(&[0xaa; 256][..])));
        assert_eq!(d.next_frame(), Ok(None));
    }

    #[test]
    fn zero_and_oversized_lengths_are_errors() {
        let mut d = Deframer::new(4096, 1400);
        assert_eq!(feed(&mut d, &[0, 0, 0x45], 3), Err(FrameError::Empty));
        let mut d = Deframer::new(4096, 1400);
        // 1401 = 0x0579: refused as soon as the prefix is complete, before the body arrives.
        assert_eq!(
            feed(&mut d, &[0x05, 0x79], 1),
            Err(FrameError::TooLong {
                len: 1401,
                max: 1400
            })
        );
        let mut d = Deframer::new(0, 1400);
        assert_eq!(
            feed(&mut d, &[0xff, 0xff], 2),
            Err(FrameError::TooLong {
                len: 65535,
                max: 1400
            })
        );
        // An error is not forgotten: the same prefix is met again.
        assert!(d.next_frame().is_err());
    }

    #[test]
    fn largest_mtu_frames_pass() {
        let packet = vec![9; usize::from(u16::MAX)];
        let mut stream = Vec::new();
        encode(&mut stream, &packet, usize::from(u16::MAX)).unwrap();
        encode(&mut stream, &packet, usize::from(u16::MAX)).unwrap();
        let mut d = Deframer::new(0, usize::from(u16::MAX));
        let frames = feed(&mut d, &stream, 40_000).unwrap();
        assert_eq!(frames.len(), 2);
        assert!(frames.iter().all(|f| *f == packet));
    }

    #[test]
    fn errors_read_well() {
        assert_eq!(FrameError::Empty.to_string(), "frame of length 0");
        assert_eq!(
            FrameError::TooLong {
                len: 2000,
                max: 1400
            }
            .to_string(),
            "frame of length 2000 exceeds the maximum of 1400"
        );
    }
}
