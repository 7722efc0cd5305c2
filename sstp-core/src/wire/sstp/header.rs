//! The SSTP packet header (MS-SSTP 2.2.1) and the data path: [`Header`],
//! [`Packet`], and data packets carrying one PPP frame (2.2.3), written into
//! caller headroom without allocating.

use super::*;

/// The 4-byte SSTP packet header (MS-SSTP 2.2.1).
///
/// ```text
/// byte 0    Version = 0x10
/// byte 1    7 reserved bits, C (LSB): 1 = control, 0 = data
/// bytes 2-3 4 reserved bits, 12-bit Length of the whole packet, header included
/// ```
///
/// The version byte is not stored: any other value is an error whose
/// [`ParseError::InvalidValue`] carries the raw byte, and which a session
/// treats as a framing failure (3.1.5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Header {
    control: bool,
    length: u16,
}

impl Header {
    /// A header for a packet of `packet_len` bytes (header included).
    pub(crate) fn new(control: bool, packet_len: usize) -> Result<Self, EncodeError> {
        if packet_len > MAX_PACKET_LEN {
            return Err(EncodeError::TooLong { len: packet_len });
        }
        if packet_len < HEADER_LEN {
            return Err(EncodeError::BufferTooSmall {
                needed: HEADER_LEN,
                available: packet_len,
            });
        }
        Ok(Self {
            control,
            length: packet_len as u16,
        })
    }

    /// Decodes a header: version must be 0x10 and Length at least 4; the
    /// reserved bits are ignored (2.2.1).
    pub(crate) fn decode(bytes: [u8; HEADER_LEN]) -> Result<Self, ParseError> {
        let [version, flags, len_hi, len_lo] = bytes;
        if version != VERSION {
            return Err(ParseError::InvalidValue {
                what: "SSTP packet version",
                value: version.into(),
            });
        }
        let length = u16::from_be_bytes([len_hi, len_lo]) & LENGTH_MASK;
        if usize::from(length) < HEADER_LEN {
            return Err(ParseError::BadLength {
                what: "SSTP packet",
                length: length.into(),
            });
        }
        Ok(Self {
            control: flags & CONTROL_BIT != 0,
            length,
        })
    }

    /// Decodes the header at the start of `bytes`, which may hold more (the
    /// rest of the packet, or of the stream).
    pub(crate) fn peek(bytes: &[u8]) -> Result<Self, ParseError> {
        match bytes.first_chunk::<HEADER_LEN>() {
            Some(header) => Self::decode(*header),
            None => Err(ParseError::truncated(
                "SSTP packet header",
                HEADER_LEN,
                bytes.len(),
            )),
        }
    }

    /// Parses exactly 4 bytes.
    #[cfg(test)]
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let header = Self::peek(bytes)?;
        if bytes.len() > HEADER_LEN {
            return Err(ParseError::TrailingBytes {
                what: "SSTP packet header",
                extra: bytes.len() - HEADER_LEN,
            });
        }
        Ok(header)
    }

    /// Decodes the header of a whole packet and checks that Length is exactly
    /// `bytes.len()`.
    pub(super) fn of_packet(bytes: &[u8]) -> Result<Self, ParseError> {
        let header = Self::peek(bytes)?;
        let length = header.packet_len();
        if bytes.len() < length {
            return Err(ParseError::truncated("SSTP packet", length, bytes.len()));
        }
        if bytes.len() > length {
            return Err(ParseError::TrailingBytes {
                what: "SSTP packet",
                extra: bytes.len() - length,
            });
        }
        Ok(header)
    }

    /// The C bit: a control packet (2.2.2) rather than a data packet (2.2.3).
    pub(crate) const fn is_control(self) -> bool {
        self.control
    }

    /// Length of the whole packet, header included (4..=4095).
    pub(crate) const fn packet_len(self) -> usize {
        self.length as usize
    }

    /// Length of the data that follows the header.
    #[cfg(test)]
    pub(crate) const fn payload_len(self) -> usize {
        self.length as usize - HEADER_LEN
    }

    /// The wire form, reserved bits zero.
    pub(crate) const fn to_bytes(self) -> [u8; HEADER_LEN] {
        let [hi, lo] = (self.length & LENGTH_MASK).to_be_bytes();
        [VERSION, if self.control { CONTROL_BIT } else { 0 }, hi, lo]
    }

    /// Appends the wire form.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bytes());
    }
}

/// One whole SSTP packet: a borrowed PPP frame, or a control message.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) enum Packet<'a> {
    /// A data packet's payload: one PPP frame, no HDLC framing (2.2.3).
    Data(&'a [u8]),
    /// A control packet (2.2.2).
    Control(ControlMessage),
}

#[cfg(any(test, feature = "fuzzing"))]
impl<'a> Packet<'a> {
    /// Parses exactly one whole packet (as the deframer yields it). A data
    /// packet costs one header check and borrows its payload.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, ParseError> {
        let header = Header::of_packet(bytes)?;
        if header.is_control() {
            ControlMessage::parse(bytes).map(Self::Control)
        } else {
            Ok(Self::Data(bytes.get(HEADER_LEN..).unwrap_or_default()))
        }
    }

    /// Appends the wire form. Fails only for a data payload longer than
    /// [`MAX_DATA_PAYLOAD`], which a PPP frame cannot be truncated to fit;
    /// control messages never fail (see [`ControlMessage::emit`]).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn emit(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            Self::Data(payload) => emit_data_packet(payload, out),
            Self::Control(message) => {
                message.emit(out);
                Ok(())
            }
        }
    }

    /// Length of the wire form.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn buffer_len(&self) -> usize {
        match self {
            Self::Data(payload) => HEADER_LEN + payload.len(),
            Self::Control(message) => message.buffer_len(),
        }
    }
}

/// Writes a data-packet header for a `payload_len`-byte PPP frame into the
/// first 4 bytes of `buf` (2.2.3).
pub(crate) fn write_data_header(buf: &mut [u8], payload_len: usize) -> Result<(), EncodeError> {
    let header = data_header(payload_len)?;
    match buf.first_chunk_mut::<HEADER_LEN>() {
        Some(slot) => {
            *slot = header.to_bytes();
            Ok(())
        }
        None => Err(EncodeError::BufferTooSmall {
            needed: HEADER_LEN,
            available: buf.len(),
        }),
    }
}

/// Turns a PPP frame already placed in a caller buffer into an SSTP data
/// packet, in place: the frame is `buf[payload_start..payload_start +
/// payload_len]`, and the header goes into the 4 bytes of headroom in front of
/// it. Returns the whole packet, ready for the TLS writer.
///
/// This is the send half of the data path: no allocation, no copy of the
/// frame.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn encode_data_packet(
    buf: &mut [u8],
    payload_start: usize,
    payload_len: usize,
) -> Result<&[u8], EncodeError> {
    let header = data_header(payload_len)?;
    let Some(start) = payload_start.checked_sub(HEADER_LEN) else {
        return Err(EncodeError::BufferTooSmall {
            needed: HEADER_LEN,
            available: payload_start,
        });
    };
    let end = payload_start + payload_len;
    let available = buf.len();
    let Some(packet) = buf.get_mut(start..end) else {
        return Err(EncodeError::BufferTooSmall {
            needed: end,
            available,
        });
    };
    if let Some(slot) = packet.first_chunk_mut::<HEADER_LEN>() {
        *slot = header.to_bytes();
    }
    Ok(packet)
}

/// Appends a data packet carrying `payload` (one PPP frame) to `out`.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn emit_data_packet(payload: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let header = data_header(payload.len())?;
    out.reserve(HEADER_LEN + payload.len());
    header.emit(out);
    out.extend_from_slice(payload);
    Ok(())
}

fn data_header(payload_len: usize) -> Result<Header, EncodeError> {
    if payload_len > MAX_DATA_PAYLOAD {
        return Err(EncodeError::TooLong {
            len: payload_len.saturating_add(HEADER_LEN),
        });
    }
    Header::new(false, HEADER_LEN + payload_len)
}
