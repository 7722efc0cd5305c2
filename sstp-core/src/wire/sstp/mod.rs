//! SSTP packets (MS-SSTP 2.2): the 4-byte packet header (2.2.1), data packets
//! carrying one PPP frame (2.2.3), control packets and their attributes
//! (2.2.2, 2.2.4–2.2.8), and the attribute rules of the nine control messages
//! (2.2.9–2.2.15).
//!
//! # Three layers
//!
//! - [`Header`], [`Packet`] and the data-path helpers ([`write_data_header`],
//!   [`encode_data_packet`], [`emit_data_packet`]). Receiving a data packet is
//!   one header check and a borrowed PPP frame. Sending writes the header into
//!   headroom the caller left in front of the frame. Neither allocates.
//! - [`ControlMessage`] / [`Attribute`]: the structure of 2.2.2 and 2.2.4 with
//!   typed attributes. It round-trips every structurally valid control packet:
//!   unknown message types, unknown attributes ([`Attribute::Unknown`]), and
//!   known attributes whose length is wrong ([`Attribute::InvalidLength`]),
//!   which a server must name in its NAK.
//! - [`Message`]: the typed messages, enforcing 2.2.9–2.2.15. A violation is a
//!   [`MessageError`] that carries the MS-SSTP [`Status`] and attribute ID for
//!   the Status Info of a Call Connect NAK or a Call Abort.
//!
//! Reserved fields are ignored on receipt and sent as zero (2.2.1 and every
//! attribute section), so parse/emit round trips compare values, not bytes.
//!
//! Framing failures (a version byte other than 0x10, a length below 4) are
//! found by [`crate::deframer`] before any of this runs; MS-SSTP 3.1.5.1 has
//! the connection aborted without sending anything in that case.

use core::fmt;

use nom::Parser;
use nom::bytes::complete::take;
use nom::number::complete::{be_u8, be_u16, be_u32};

use super::{ParseError, code_space, nom_truncated};

/// The only version byte SSTP defines: major 1, minor 0 (MS-SSTP 2.2.1).
pub const VERSION: u8 = 0x10;
/// Length of the SSTP packet header (MS-SSTP 2.2.1).
pub const HEADER_LEN: usize = 4;
/// Largest SSTP packet: the Length field has 12 bits (MS-SSTP 2.2.1).
pub const MAX_PACKET_LEN: usize = 4095;
/// Largest data-packet payload (one PPP frame, protocol field included):
/// 4095 − 4, the SSTP MRU of MS-SSTP 3.1.5.2.
pub const MAX_DATA_PAYLOAD: usize = MAX_PACKET_LEN - HEADER_LEN;
/// SSTP header plus Message Type and Num Attributes (MS-SSTP 2.2.2).
pub const CONTROL_HEADER_LEN: usize = 8;
/// Reserved, Attribute ID and LengthPacket of an attribute (MS-SSTP 2.2.4).
pub const ATTRIBUTE_HEADER_LEN: usize = 4;
/// Largest attribute that fits in a control packet.
pub const MAX_ATTRIBUTE_LEN: usize = MAX_PACKET_LEN - CONTROL_HEADER_LEN;
/// Length of a Call Connected message (MS-SSTP 2.2.11).
pub const CALL_CONNECTED_LEN: usize = CONTROL_HEADER_LEN + CryptoBinding::LEN;
/// Offset of the Compound MAC field in a Call Connected message: header (4),
/// type and count (4), attribute header (4), reserved and hash protocol (4),
/// nonce (32), cert hash (32).
pub const COMPOUND_MAC_OFFSET: usize = 80;
/// Largest AttribValue of a Status Info attribute (MS-SSTP 2.2.8).
pub const MAX_STATUS_VALUE_LEN: usize = 64;

/// The 12-bit Length of the LengthPacket fields; the top 4 bits are reserved.
const LENGTH_MASK: u16 = 0x0FFF;
/// The C bit, the least significant bit of the second header byte.
const CONTROL_BIT: u8 = 0x01;

code_space! {
    /// SSTP control message type (MS-SSTP 2.2.2).
    pub struct MessageType(u16) {
        /// 2.2.9, client to server.
        CALL_CONNECT_REQUEST = 0x0001 => "SSTP_MSG_CALL_CONNECT_REQUEST",
        /// 2.2.10, server to client.
        CALL_CONNECT_ACK = 0x0002 => "SSTP_MSG_CALL_CONNECT_ACK",
        /// 2.2.12, server to client.
        CALL_CONNECT_NAK = 0x0003 => "SSTP_MSG_CALL_CONNECT_NAK",
        /// 2.2.11, client to server.
        CALL_CONNECTED = 0x0004 => "SSTP_MSG_CALL_CONNECTED",
        /// 2.2.13, either direction.
        CALL_ABORT = 0x0005 => "SSTP_MSG_CALL_ABORT",
        /// 2.2.14, either direction.
        CALL_DISCONNECT = 0x0006 => "SSTP_MSG_CALL_DISCONNECT",
        /// 2.2.15, either direction.
        CALL_DISCONNECT_ACK = 0x0007 => "SSTP_MSG_CALL_DISCONNECT_ACK",
        /// 2.2.15, either direction.
        ECHO_REQUEST = 0x0008 => "SSTP_MSG_ECHO_REQUEST",
        /// 2.2.15, either direction.
        ECHO_RESPONSE = 0x0009 => "SSTP_MSG_ECHO_RESPONSE",
    }
}

code_space! {
    /// SSTP attribute ID (MS-SSTP 2.2.4), also the AttribID of a Status Info
    /// (2.2.8), where 0 means "no attribute".
    pub struct AttributeId(u8) {
        /// Only as AttribID inside a Status Info (2.2.8).
        NO_ERROR = 0x00 => "SSTP_ATTRIB_NO_ERROR",
        /// 2.2.5.
        ENCAPSULATED_PROTOCOL_ID = 0x01 => "SSTP_ATTRIB_ENCAPSULATED_PROTOCOL_ID",
        /// 2.2.8.
        STATUS_INFO = 0x02 => "SSTP_ATTRIB_STATUS_INFO",
        /// 2.2.7.
        CRYPTO_BINDING = 0x03 => "SSTP_ATTRIB_CRYPTO_BINDING",
        /// 2.2.6.
        CRYPTO_BINDING_REQ = 0x04 => "SSTP_ATTRIB_CRYPTO_BINDING_REQ",
    }
}

code_space! {
    /// Status of a Status Info attribute (MS-SSTP 2.2.8).
    pub struct Status(u32) {
        /// No error, e.g. a normal disconnect.
        NO_ERROR = 0x0000_0000 => "ATTRIB_STATUS_NO_ERROR",
        /// An attribute occurs more than once.
        DUPLICATE_ATTRIBUTE = 0x0000_0001 => "ATTRIB_STATUS_DUPLICATE_ATTRIBUTE",
        /// An attribute is not recognized.
        UNRECOGNIZED_ATTRIBUTE = 0x0000_0002 => "ATTRIB_STATUS_UNRECOGNIZED_ATTRIBUTE",
        /// An attribute's length is not the one its section defines.
        INVALID_ATTRIB_VALUE_LENGTH = 0x0000_0003 => "ATTRIB_STATUS_INVALID_ATTRIB_VALUE_LENGTH",
        /// An attribute's value is not supported.
        VALUE_NOT_SUPPORTED = 0x0000_0004 => "ATTRIB_STATUS_VALUE_NOT_SUPPORTED",
        /// A message type not acceptable in the current state.
        UNACCEPTED_FRAME_RECEIVED = 0x0000_0005 => "ATTRIB_STATUS_UNACCEPTED_FRAME_RECEIVED",
        /// Too many NAKed Call Connect Requests.
        RETRY_COUNT_EXCEEDED = 0x0000_0006 => "ATTRIB_STATUS_RETRY_COUNT_EXCEEDED",
        /// Message type or frame format not recognized.
        INVALID_FRAME_RECEIVED = 0x0000_0007 => "ATTRIB_STATUS_INVALID_FRAME_RECEIVED",
        /// The far end did not answer in time.
        NEGOTIATION_TIMEOUT = 0x0000_0008 => "ATTRIB_STATUS_NEGOTIATION_TIMEOUT",
        /// An attribute not allowed in the message, or a required one missing
        /// (used in Call Abort).
        ATTRIB_NOT_SUPPORTED_IN_MSG = 0x0000_0009 => "ATTRIB_STATUS_ATTRIB_NOT_SUPPORTED_IN_MSG",
        /// A mandatory attribute is missing (used in Call Connect NAK).
        REQUIRED_ATTRIBUTE_MISSING = 0x0000_000a => "ATTRIB_STATUS_REQUIRED_ATTRIBUTE_MISSING",
        /// A Call Connect Request carried a Status Info with an error status.
        STATUS_INFO_NOT_SUPPORTED_IN_MSG = 0x0000_000b => "ATTRIB_STATUS_STATUS_INFO_NOT_SUPPORTED_IN_MSG",
    }
}

impl Status {
    /// What the status means, in words for a person (the meanings of
    /// MS-SSTP 2.2.8), e.g. for the reason of a Call Abort.
    pub const fn description(self) -> &'static str {
        match self {
            Self::NO_ERROR => "no error",
            Self::DUPLICATE_ATTRIBUTE => "an attribute was sent twice",
            Self::UNRECOGNIZED_ATTRIBUTE => "an attribute was not recognized",
            Self::INVALID_ATTRIB_VALUE_LENGTH => "an attribute had the wrong length",
            Self::VALUE_NOT_SUPPORTED => "a value was not accepted",
            Self::UNACCEPTED_FRAME_RECEIVED => "a message came at the wrong time",
            Self::RETRY_COUNT_EXCEEDED => "too many connect requests were refused",
            Self::INVALID_FRAME_RECEIVED => "a message was not understood",
            Self::NEGOTIATION_TIMEOUT => "the other end did not answer in time",
            Self::ATTRIB_NOT_SUPPORTED_IN_MSG => "a message carried an attribute it may not carry",
            Self::REQUIRED_ATTRIBUTE_MISSING => "a required attribute was missing",
            Self::STATUS_INFO_NOT_SUPPORTED_IN_MSG => "a connect request carried an error status",
            _ => "an unknown status",
        }
    }
}

impl AttributeId {
    /// The attribute in words (MS-SSTP 2.2.4), `None` for NO_ERROR (a status
    /// about the message as a whole, 2.2.8).
    pub const fn description(self) -> Option<&'static str> {
        match self {
            Self::NO_ERROR => None,
            Self::ENCAPSULATED_PROTOCOL_ID => Some("the encapsulated protocol"),
            Self::STATUS_INFO => Some("the status"),
            Self::CRYPTO_BINDING => Some("the crypto binding"),
            Self::CRYPTO_BINDING_REQ => Some("the crypto binding request"),
            _ => Some("an unknown attribute"),
        }
    }
}

code_space! {
    /// Protocol ID of the Encapsulated Protocol ID attribute (MS-SSTP 2.2.5).
    pub struct ProtocolId(u16) {
        /// PPP, the only protocol SSTP version 1 carries.
        PPP = 0x0001 => "SSTP_ENCAPSULATED_PROTOCOL_PPP",
    }
}

code_space! {
    /// Hash Protocol of the Crypto Binding attribute: the one hash the client
    /// chose for the certificate hash and the Compound MAC (MS-SSTP 2.2.7).
    pub struct HashProtocol(u8) {
        /// HMAC-SHA1; hash and MAC are 20 bytes, zero-padded to 32.
        SHA1 = 0x01 => "CERT_HASH_PROTOCOL_SHA1",
        /// HMAC-SHA256.
        SHA256 = 0x02 => "CERT_HASH_PROTOCOL_SHA256",
    }
}

/// Hash Protocol Bitmask of the Crypto Binding Request attribute: the hashes
/// the server accepts (MS-SSTP 2.2.6). Bit 0 is SHA1, bit 1 SHA256; the other
/// bits are kept as received.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct HashBitmask(pub u8);

impl HashBitmask {
    /// `CERT_HASH_PROTOCOL_SHA1` only.
    pub const SHA1: Self = Self(0x01);
    /// `CERT_HASH_PROTOCOL_SHA256` only.
    pub const SHA256: Self = Self(0x02);
    /// Both, as sstpd and RRAS offer.
    pub const SHA1_AND_SHA256: Self = Self(0x03);

    /// Whether `protocol` is offered. Unknown protocols are never offered.
    pub const fn contains(self, protocol: HashProtocol) -> bool {
        match protocol {
            HashProtocol::SHA1 | HashProtocol::SHA256 => self.0 & protocol.0 != 0,
            _ => false,
        }
    }

    /// The protocol a client supporting `supported` must choose: SHA256 when
    /// both sides allow it (MS-SSTP 2.2.6, 3.2.5.3.2), else SHA1, else none
    /// (and the client aborts).
    pub const fn choose(self, supported: Self) -> Option<HashProtocol> {
        let common = Self(self.0 & supported.0);
        if common.contains(HashProtocol::SHA256) {
            Some(HashProtocol::SHA256)
        } else if common.contains(HashProtocol::SHA1) {
            Some(HashProtocol::SHA1)
        } else {
            None
        }
    }
}

impl fmt::Debug for HashBitmask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HashBitmask({:#04x}", self.0)?;
        if self.contains(HashProtocol::SHA1) {
            f.write_str(" SHA1")?;
        }
        if self.contains(HashProtocol::SHA256) {
            f.write_str(" SHA256")?;
        }
        f.write_str(")")
    }
}

/// Why an SSTP packet could not be encoded. Only locally built values can
/// cause this (too long for the 12-bit Length, or a caller buffer without
/// room); parsed values always encode.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The packet would exceed [`MAX_PACKET_LEN`].
    #[error("SSTP packet of {len} bytes exceeds the maximum of 4095")]
    TooLong { len: usize },
    /// The caller's buffer (or its headroom) is too small.
    #[error("buffer too small for SSTP packet: need {needed} bytes, have {available}")]
    BufferTooSmall { needed: usize, available: usize },
}

// ---------------------------------------------------------------------------
// Packet header and data path
// ---------------------------------------------------------------------------

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
pub struct Header {
    control: bool,
    length: u16,
}

impl Header {
    /// A header for a packet of `packet_len` bytes (header included).
    pub fn new(control: bool, packet_len: usize) -> Result<Self, EncodeError> {
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
    pub fn decode(bytes: [u8; HEADER_LEN]) -> Result<Self, ParseError> {
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
    pub fn peek(bytes: &[u8]) -> Result<Self, ParseError> {
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
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
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
    fn of_packet(bytes: &[u8]) -> Result<Self, ParseError> {
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
    pub const fn is_control(self) -> bool {
        self.control
    }

    /// Length of the whole packet, header included (4..=4095).
    pub const fn packet_len(self) -> usize {
        self.length as usize
    }

    /// Length of the data that follows the header.
    pub const fn payload_len(self) -> usize {
        self.length as usize - HEADER_LEN
    }

    /// The wire form, reserved bits zero.
    pub const fn to_bytes(self) -> [u8; HEADER_LEN] {
        let [hi, lo] = (self.length & LENGTH_MASK).to_be_bytes();
        [VERSION, if self.control { CONTROL_BIT } else { 0 }, hi, lo]
    }

    /// Appends the wire form.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bytes());
    }

    /// Always [`HEADER_LEN`].
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }
}

/// One whole SSTP packet: a borrowed PPP frame, or a control message.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet<'a> {
    /// A data packet's payload: one PPP frame, no HDLC framing (2.2.3).
    Data(&'a [u8]),
    /// A control packet (2.2.2).
    Control(ControlMessage),
}

impl<'a> Packet<'a> {
    /// Parses exactly one whole packet (as the deframer yields it). A data
    /// packet costs one header check and borrows its payload.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ParseError> {
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
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            Self::Data(payload) => emit_data_packet(payload, out),
            Self::Control(message) => {
                message.emit(out);
                Ok(())
            }
        }
    }

    /// Length of the wire form.
    pub fn buffer_len(&self) -> usize {
        match self {
            Self::Data(payload) => HEADER_LEN + payload.len(),
            Self::Control(message) => message.buffer_len(),
        }
    }
}

/// Writes a data-packet header for a `payload_len`-byte PPP frame into the
/// first 4 bytes of `buf` (2.2.3).
pub fn write_data_header(buf: &mut [u8], payload_len: usize) -> Result<(), EncodeError> {
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
pub fn encode_data_packet(
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
pub fn emit_data_packet(payload: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
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

// ---------------------------------------------------------------------------
// Attributes
// ---------------------------------------------------------------------------

/// Encapsulated Protocol ID attribute (MS-SSTP 2.2.5): the protocol the client
/// will carry. Always 6 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EncapsulatedProtocolId {
    /// Protocol ID; SSTP version 1 defines only [`ProtocolId::PPP`].
    pub protocol_id: ProtocolId,
}

impl EncapsulatedProtocolId {
    /// Length of the attribute, header included (2.2.5: "MUST be set to 0x006").
    pub const LEN: usize = 6;
    const WHAT: &'static str = "Encapsulated Protocol ID attribute";

    /// Parses exactly one 6-byte attribute.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let value = typed_value(
            bytes,
            AttributeId::ENCAPSULATED_PROTOCOL_ID,
            Self::LEN,
            Self::WHAT,
        )?;
        Self::parse_value(value)
    }

    fn parse_value(value: &[u8]) -> Result<Self, ParseError> {
        let (_, protocol_id) =
            be_u16(value).map_err(nom_truncated(Self::WHAT, Self::LEN, value.len()))?;
        Ok(Self {
            protocol_id: ProtocolId(protocol_id),
        })
    }

    /// Appends the wire form.
    pub fn emit(&self, out: &mut Vec<u8>) {
        emit_attribute_header(out, AttributeId::ENCAPSULATED_PROTOCOL_ID, Self::LEN);
        out.extend_from_slice(&self.protocol_id.0.to_be_bytes());
    }

    /// Always [`Self::LEN`].
    pub const fn buffer_len(&self) -> usize {
        Self::LEN
    }
}

/// Crypto Binding Request attribute (MS-SSTP 2.2.6): the server's nonce and the
/// hashes it accepts, sent in the Call Connect Acknowledge. Always 40 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CryptoBindingRequest {
    /// Hash Protocol Bitmask. The server must set at least one bit (2.2.6);
    /// the client checks that when it chooses ([`HashBitmask::choose`]).
    pub hash_bitmask: HashBitmask,
    /// Nonce, echoed in the client's Crypto Binding.
    pub nonce: [u8; 32],
}

impl CryptoBindingRequest {
    /// Length of the attribute, header included (2.2.6: "MUST be 40").
    pub const LEN: usize = 40;
    const WHAT: &'static str = "Crypto Binding Request attribute";

    /// Parses exactly one 40-byte attribute.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let value = typed_value(
            bytes,
            AttributeId::CRYPTO_BINDING_REQ,
            Self::LEN,
            Self::WHAT,
        )?;
        Self::parse_value(value)
    }

    fn parse_value(value: &[u8]) -> Result<Self, ParseError> {
        // Reserved1 (3 bytes) is ignored on receipt.
        let (_, (_, hash_bitmask, nonce)) = (take(3usize), be_u8, array::<32>)
            .parse(value)
            .map_err(nom_truncated(Self::WHAT, Self::LEN, value.len()))?;
        Ok(Self {
            hash_bitmask: HashBitmask(hash_bitmask),
            nonce,
        })
    }

    /// Appends the wire form.
    pub fn emit(&self, out: &mut Vec<u8>) {
        emit_attribute_header(out, AttributeId::CRYPTO_BINDING_REQ, Self::LEN);
        out.extend_from_slice(&[0, 0, 0, self.hash_bitmask.0]);
        out.extend_from_slice(&self.nonce);
    }

    /// Always [`Self::LEN`].
    pub const fn buffer_len(&self) -> usize {
        Self::LEN
    }
}

/// Crypto Binding attribute (MS-SSTP 2.2.7), sent by the client in Call
/// Connected. Always 104 bytes.
///
/// With SHA1 the certificate hash and the MAC are 20 bytes; the fields hold
/// them zero-padded to 32, exactly as on the wire (the padding is part of the
/// bytes the Compound MAC covers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CryptoBinding {
    /// The hash the client chose from the server's bitmask.
    pub hash_protocol: HashProtocol,
    /// The nonce of the server's Crypto Binding Request.
    pub nonce: [u8; 32],
    /// Hash of the server's certificate (DER), zero-padded to 32 bytes.
    pub cert_hash: [u8; 32],
    /// Compound MAC (3.2.5.2), zero-padded to 32 bytes.
    pub compound_mac: [u8; 32],
}

impl CryptoBinding {
    /// Length of the attribute, header included (2.2.7: "MUST be 104").
    pub const LEN: usize = 104;
    const WHAT: &'static str = "Crypto Binding attribute";

    /// Parses exactly one 104-byte attribute.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let value = typed_value(bytes, AttributeId::CRYPTO_BINDING, Self::LEN, Self::WHAT)?;
        Self::parse_value(value)
    }

    fn parse_value(value: &[u8]) -> Result<Self, ParseError> {
        // Reserved1 (3 bytes) is ignored on receipt.
        let (_, (_, hash_protocol, nonce, cert_hash, compound_mac)) =
            (take(3usize), be_u8, array::<32>, array::<32>, array::<32>)
                .parse(value)
                .map_err(nom_truncated(Self::WHAT, Self::LEN, value.len()))?;
        Ok(Self {
            hash_protocol: HashProtocol(hash_protocol),
            nonce,
            cert_hash,
            compound_mac,
        })
    }

    /// Appends the wire form.
    pub fn emit(&self, out: &mut Vec<u8>) {
        emit_attribute_header(out, AttributeId::CRYPTO_BINDING, Self::LEN);
        out.extend_from_slice(&[0, 0, 0, self.hash_protocol.0]);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.cert_hash);
        out.extend_from_slice(&self.compound_mac);
    }

    /// Always [`Self::LEN`].
    pub const fn buffer_len(&self) -> usize {
        Self::LEN
    }

    /// The Call Connected message carrying this binding, byte for byte as
    /// [`Message::CallConnected`] emits it (2.2.11): 112 bytes, SSTP header
    /// included.
    pub fn call_connected_bytes(&self) -> [u8; CALL_CONNECTED_LEN] {
        let mut out = Vec::with_capacity(CALL_CONNECTED_LEN);
        encode_control(
            MessageType::CALL_CONNECTED,
            core::iter::once(self),
            Some(&mut out),
        );
        let mut bytes = [0; CALL_CONNECTED_LEN];
        if let Some(src) = out.first_chunk::<CALL_CONNECTED_LEN>() {
            bytes = *src;
        }
        bytes
    }

    /// The input of the Compound MAC: [`Self::call_connected_bytes`] with the
    /// 32-byte Compound MAC field zeroed (3.2.5.2: the HMAC covers the whole
    /// message, SSTP header included).
    ///
    /// A client computes its MAC over this. A server checking a received
    /// message should prefer [`received_mac_input`], which keeps the bytes as
    /// sent (reserved fields included) instead of re-encoding them.
    pub fn call_connected_mac_input(&self) -> [u8; CALL_CONNECTED_LEN] {
        let mut bytes = self.call_connected_bytes();
        zero_mac_field(&mut bytes);
        bytes
    }
}

/// The input of the Compound MAC for a received Call Connected message: the
/// 112 bytes as received with the Compound MAC field zeroed (MS-SSTP 3.2.5.2).
///
/// Checks only what locating the field needs: 112 bytes, version 0x10, a
/// control packet of type Call Connected whose one attribute is a 104-byte
/// Crypto Binding. The typed checks are [`Message::parse`]'s.
pub fn received_mac_input(packet: &[u8]) -> Result<[u8; CALL_CONNECTED_LEN], ParseError> {
    const WHAT: &str = "SSTP_MSG_CALL_CONNECTED";
    let Some(bytes) = packet.first_chunk::<CALL_CONNECTED_LEN>() else {
        return Err(ParseError::truncated(
            WHAT,
            CALL_CONNECTED_LEN,
            packet.len(),
        ));
    };
    if packet.len() > CALL_CONNECTED_LEN {
        return Err(ParseError::TrailingBytes {
            what: WHAT,
            extra: packet.len() - CALL_CONNECTED_LEN,
        });
    }
    let header = Header::of_packet(packet)?;
    let message_type = u16::from_be_bytes([bytes[4], bytes[5]]);
    if !header.is_control() || message_type != MessageType::CALL_CONNECTED.0 {
        return Err(ParseError::malformed(WHAT, "not a Call Connected message"));
    }
    if bytes[9] != AttributeId::CRYPTO_BINDING.0 {
        return Err(ParseError::malformed(
            WHAT,
            "first attribute is not a Crypto Binding",
        ));
    }
    let mut bytes = *bytes;
    zero_mac_field(&mut bytes);
    Ok(bytes)
}

fn zero_mac_field(bytes: &mut [u8; CALL_CONNECTED_LEN]) {
    if let Some(mac) = bytes.get_mut(COMPOUND_MAC_OFFSET..) {
        mac.fill(0);
    }
}

/// Status Info attribute (MS-SSTP 2.2.8): a status about one attribute (or
/// about the message, with AttribID 0), in NAK, Abort and Disconnect messages.
/// 12 bytes plus AttribValue.
///
/// AttribValue is held inline (at most 64 bytes), so a Status Info never
/// allocates and can never be too long to encode.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusInfo {
    /// AttribID: the attribute the status is about.
    pub attrib_id: AttributeId,
    /// Status.
    pub status: Status,
    value_len: u8,
    // Bytes past `value_len` stay zero, so the derived comparisons hold.
    value: [u8; MAX_STATUS_VALUE_LEN],
}

impl StatusInfo {
    /// Smallest length of the attribute (no AttribValue).
    pub const MIN_LEN: usize = 12;
    /// Largest length of the attribute (64 bytes of AttribValue).
    pub const MAX_LEN: usize = Self::MIN_LEN + MAX_STATUS_VALUE_LEN;
    const WHAT: &'static str = "Status Info attribute";

    /// A Status Info without AttribValue (the case for everything but some
    /// NAKs, 2.2.8).
    pub const fn new(attrib_id: AttributeId, status: Status) -> Self {
        Self {
            attrib_id,
            status,
            value_len: 0,
            value: [0; MAX_STATUS_VALUE_LEN],
        }
    }

    /// A Status Info echoing `original` as AttribValue, as a NAK does for an
    /// attribute it understood but rejects. Only the first 64 bytes are kept,
    /// as 2.2.8 prescribes for longer attributes.
    pub fn with_value(attrib_id: AttributeId, status: Status, original: &[u8]) -> Self {
        let mut info = Self::new(attrib_id, status);
        let len = original.len().min(MAX_STATUS_VALUE_LEN);
        if let (Some(dst), Some(src)) = (info.value.get_mut(..len), original.get(..len)) {
            dst.copy_from_slice(src);
        }
        info.value_len = len as u8;
        info
    }

    /// AttribValue (0..=64 bytes).
    pub fn value(&self) -> &[u8] {
        self.value
            .get(..usize::from(self.value_len))
            .unwrap_or_default()
    }

    /// Parses exactly one attribute of 12 to 76 bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let (id, value) = split_attribute(bytes)?;
        if id != AttributeId::STATUS_INFO {
            return Err(ParseError::InvalidValue {
                what: Self::WHAT,
                value: id.0.into(),
            });
        }
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&bytes.len()) {
            return Err(ParseError::BadLength {
                what: Self::WHAT,
                length: bytes.len(),
            });
        }
        Self::parse_value(value)
    }

    fn parse_value(value: &[u8]) -> Result<Self, ParseError> {
        // Reserved1 (3 bytes) is ignored on receipt.
        let (rest, (_, attrib_id, status)) = (take(3usize), be_u8, be_u32)
            .parse(value)
            .map_err(nom_truncated(Self::WHAT, Self::MIN_LEN, value.len()))?;
        if rest.len() > MAX_STATUS_VALUE_LEN {
            return Err(ParseError::TooLong {
                what: "Status Info AttribValue",
                limit: MAX_STATUS_VALUE_LEN,
            });
        }
        Ok(Self::with_value(
            AttributeId(attrib_id),
            Status(status),
            rest,
        ))
    }

    /// Appends the wire form.
    pub fn emit(&self, out: &mut Vec<u8>) {
        emit_attribute_header(out, AttributeId::STATUS_INFO, self.buffer_len());
        out.extend_from_slice(&[0, 0, 0, self.attrib_id.0]);
        out.extend_from_slice(&self.status.0.to_be_bytes());
        out.extend_from_slice(self.value());
    }

    /// 12 plus the AttribValue length.
    pub fn buffer_len(&self) -> usize {
        Self::MIN_LEN + usize::from(self.value_len)
    }
}

impl fmt::Debug for StatusInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusInfo")
            .field("attrib_id", &self.attrib_id)
            .field("status", &self.status)
            .field("value", &HexBytes(self.value()))
            .finish()
    }
}

/// One SSTP attribute (MS-SSTP 2.2.4).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Attribute {
    /// 2.2.5.
    EncapsulatedProtocolId(EncapsulatedProtocolId),
    /// 2.2.8.
    StatusInfo(StatusInfo),
    /// 2.2.7.
    CryptoBinding(CryptoBinding),
    /// 2.2.6.
    CryptoBindingRequest(CryptoBindingRequest),
    /// A known attribute ID (1 to 4) whose Length is not the one its section
    /// defines. Kept, value and all, so a server can name it in a NAK with
    /// `ATTRIB_STATUS_INVALID_ATTRIB_VALUE_LENGTH` (3.3.5.2.2) and so the
    /// packet round-trips. [`Message`] rejects it.
    InvalidLength {
        /// The known ID.
        id: AttributeId,
        /// Value bytes (after the 4-byte attribute header).
        value: Vec<u8>,
    },
    /// An attribute ID this crate does not know (parsing never puts IDs 1 to 4
    /// here). Its value bytes are kept.
    Unknown {
        /// The ID.
        id: AttributeId,
        /// Value bytes (after the 4-byte attribute header).
        value: Vec<u8>,
    },
}

impl Attribute {
    /// Parses exactly one attribute: 4-byte header, then a value of Length − 4
    /// bytes. Only the header can fail; a known ID with a wrong length becomes
    /// [`Attribute::InvalidLength`].
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let (id, value) = split_attribute(bytes)?;
        let len = bytes.len();
        let typed = match id {
            AttributeId::ENCAPSULATED_PROTOCOL_ID if len == EncapsulatedProtocolId::LEN => {
                EncapsulatedProtocolId::parse_value(value).map(Self::EncapsulatedProtocolId)
            }
            AttributeId::STATUS_INFO
                if (StatusInfo::MIN_LEN..=StatusInfo::MAX_LEN).contains(&len) =>
            {
                StatusInfo::parse_value(value).map(Self::StatusInfo)
            }
            AttributeId::CRYPTO_BINDING if len == CryptoBinding::LEN => {
                CryptoBinding::parse_value(value).map(Self::CryptoBinding)
            }
            AttributeId::CRYPTO_BINDING_REQ if len == CryptoBindingRequest::LEN => {
                CryptoBindingRequest::parse_value(value).map(Self::CryptoBindingRequest)
            }
            AttributeId::ENCAPSULATED_PROTOCOL_ID
            | AttributeId::STATUS_INFO
            | AttributeId::CRYPTO_BINDING
            | AttributeId::CRYPTO_BINDING_REQ => Ok(Self::InvalidLength {
                id,
                value: value.to_vec(),
            }),
            _ => Ok(Self::Unknown {
                id,
                value: value.to_vec(),
            }),
        };
        // The typed value parsers only fail on length, which the guards
        // above already checked; keep the bytes if that ever changes.
        Ok(typed.unwrap_or_else(|_| Self::InvalidLength {
            id,
            value: value.to_vec(),
        }))
    }

    /// The Attribute ID.
    pub const fn id(&self) -> AttributeId {
        match self {
            Self::EncapsulatedProtocolId(_) => AttributeId::ENCAPSULATED_PROTOCOL_ID,
            Self::StatusInfo(_) => AttributeId::STATUS_INFO,
            Self::CryptoBinding(_) => AttributeId::CRYPTO_BINDING,
            Self::CryptoBindingRequest(_) => AttributeId::CRYPTO_BINDING_REQ,
            Self::InvalidLength { id, .. } | Self::Unknown { id, .. } => *id,
        }
    }

    /// Appends the wire form. An attribute longer than [`MAX_ATTRIBUTE_LEN`]
    /// (only possible for a locally built `Unknown` or `InvalidLength` value)
    /// cannot be encoded and is written as nothing.
    pub fn emit(&self, out: &mut Vec<u8>) {
        match self {
            Self::EncapsulatedProtocolId(a) => a.emit(out),
            Self::StatusInfo(a) => a.emit(out),
            Self::CryptoBinding(a) => a.emit(out),
            Self::CryptoBindingRequest(a) => a.emit(out),
            Self::InvalidLength { id, value } | Self::Unknown { id, value } => {
                let len = ATTRIBUTE_HEADER_LEN + value.len();
                if len <= MAX_ATTRIBUTE_LEN {
                    emit_attribute_header(out, *id, len);
                    out.extend_from_slice(value);
                }
            }
        }
    }

    /// Length of the wire form: 0 for an attribute too long to encode.
    pub fn buffer_len(&self) -> usize {
        match self {
            Self::EncapsulatedProtocolId(a) => a.buffer_len(),
            Self::StatusInfo(a) => a.buffer_len(),
            Self::CryptoBinding(a) => a.buffer_len(),
            Self::CryptoBindingRequest(a) => a.buffer_len(),
            Self::InvalidLength { value, .. } | Self::Unknown { value, .. } => {
                let len = ATTRIBUTE_HEADER_LEN + value.len();
                if len <= MAX_ATTRIBUTE_LEN { len } else { 0 }
            }
        }
    }

    /// The value as it goes on the wire (after the attribute header): what a
    /// NAK echoes as AttribValue, which keeps the first 64 bytes (2.2.8).
    fn wire_value(&self) -> Vec<u8> {
        let mut wire = Vec::with_capacity(self.buffer_len());
        self.emit(&mut wire);
        wire.split_off(ATTRIBUTE_HEADER_LEN.min(wire.len()))
    }
}

/// Splits one whole attribute into ID and value, checking its header: at
/// least 4 bytes, Length at least 4 and equal to the slice.
fn split_attribute(bytes: &[u8]) -> Result<(AttributeId, &[u8]), ParseError> {
    let Some((header, value)) = bytes.split_first_chunk::<ATTRIBUTE_HEADER_LEN>() else {
        return Err(ParseError::truncated(
            "SSTP attribute header",
            ATTRIBUTE_HEADER_LEN,
            bytes.len(),
        ));
    };
    // Reserved (byte 0) and the 4 reserved bits of LengthPacket are ignored.
    let [_, id, len_hi, len_lo] = *header;
    let length = usize::from(u16::from_be_bytes([len_hi, len_lo]) & LENGTH_MASK);
    if length < ATTRIBUTE_HEADER_LEN {
        return Err(ParseError::BadLength {
            what: "SSTP attribute",
            length,
        });
    }
    if length > bytes.len() {
        return Err(ParseError::truncated("SSTP attribute", length, bytes.len()));
    }
    if length < bytes.len() {
        return Err(ParseError::TrailingBytes {
            what: "SSTP attribute",
            extra: bytes.len() - length,
        });
    }
    Ok((AttributeId(id), value))
}

/// The value of a fixed-length typed attribute: right ID, right length.
fn typed_value<'a>(
    bytes: &'a [u8],
    id: AttributeId,
    len: usize,
    what: &'static str,
) -> Result<&'a [u8], ParseError> {
    let (found, value) = split_attribute(bytes)?;
    if found != id {
        return Err(ParseError::InvalidValue {
            what,
            value: found.0.into(),
        });
    }
    if bytes.len() != len {
        return Err(ParseError::BadLength {
            what,
            length: bytes.len(),
        });
    }
    Ok(value)
}

/// Takes the next attribute (header and value) off the front of `rest`.
fn next_raw_attribute<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8], ParseError> {
    let Some(header) = rest.first_chunk::<ATTRIBUTE_HEADER_LEN>() else {
        return Err(ParseError::truncated(
            "SSTP attribute header",
            ATTRIBUTE_HEADER_LEN,
            rest.len(),
        ));
    };
    let length = usize::from(u16::from_be_bytes([header[2], header[3]]) & LENGTH_MASK);
    if length < ATTRIBUTE_HEADER_LEN {
        return Err(ParseError::BadLength {
            what: "SSTP attribute",
            length,
        });
    }
    let Some((attribute, tail)) = rest.split_at_checked(length) else {
        return Err(ParseError::truncated("SSTP attribute", length, rest.len()));
    };
    *rest = tail;
    Ok(attribute)
}

fn emit_attribute_header(out: &mut Vec<u8>, id: AttributeId, len: usize) {
    out.push(0);
    out.push(id.0);
    out.extend_from_slice(&length_field(len));
}

/// A 12-bit Length with the 4 reserved bits zero.
fn length_field(len: usize) -> [u8; 2] {
    ((len as u16) & LENGTH_MASK).to_be_bytes()
}

/// A fixed-size array, as a nom parser on a complete input.
fn array<const N: usize>(input: &[u8]) -> nom::IResult<&[u8], [u8; N]> {
    match input.split_first_chunk::<N>() {
        Some((array, rest)) => Ok((rest, *array)),
        None => Err(nom::Err::Error(nom::error::Error::new(
            input,
            nom::error::ErrorKind::Eof,
        ))),
    }
}

/// What the control-message encoder needs from an attribute.
trait EncodeAttribute {
    fn attribute_len(&self) -> usize;
    fn emit_attribute(&self, out: &mut Vec<u8>);
}

macro_rules! encode_attribute {
    ($($t:ty),*) => {$(
        impl EncodeAttribute for $t {
            fn attribute_len(&self) -> usize {
                self.buffer_len()
            }
            fn emit_attribute(&self, out: &mut Vec<u8>) {
                self.emit(out)
            }
        }
    )*};
}
encode_attribute!(
    Attribute,
    StatusInfo,
    CryptoBinding,
    CryptoBindingRequest,
    EncapsulatedProtocolId
);

/// Encodes a control packet (2.2.2) into `out` if given, and returns its
/// length either way, so `emit` and `buffer_len` cannot disagree.
///
/// An attribute that would take the packet past [`MAX_PACKET_LEN`] (or that
/// cannot be encoded at all) is left out and Num Attributes counts only what
/// was written. Parsed values always fit; this keeps locally built ones (a
/// NAK listing many attributes, say) from producing a corrupt packet.
fn encode_control<'x, A: EncodeAttribute + 'x>(
    message_type: MessageType,
    attributes: impl IntoIterator<Item = &'x A>,
    mut out: Option<&mut Vec<u8>>,
) -> usize {
    let start = out.as_deref().map(Vec::len);
    if let Some(out) = out.as_deref_mut() {
        out.extend_from_slice(&[VERSION, CONTROL_BIT, 0, 0]);
        out.extend_from_slice(&message_type.0.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
    }
    let mut len = CONTROL_HEADER_LEN;
    let mut count: u16 = 0;
    for attribute in attributes {
        let n = attribute.attribute_len();
        if n < ATTRIBUTE_HEADER_LEN || n > MAX_PACKET_LEN - len {
            continue;
        }
        if let Some(out) = out.as_deref_mut() {
            attribute.emit_attribute(out);
        }
        len += n;
        // At most 1021 four-byte attributes fit in 4095 bytes.
        count = count.saturating_add(1);
    }
    if let (Some(out), Some(start)) = (out, start) {
        if let Some(field) = out.get_mut(start + 2..start + 4) {
            field.copy_from_slice(&length_field(len));
        }
        if let Some(field) = out.get_mut(start + 6..start + 8) {
            field.copy_from_slice(&count.to_be_bytes());
        }
    }
    len
}

// ---------------------------------------------------------------------------
// Control messages: structure
// ---------------------------------------------------------------------------

/// A control packet as structure (MS-SSTP 2.2.2): the message type and its
/// attributes in order, SSTP header included in the wire form.
///
/// This level checks only structure: the header, that Num Attributes
/// attributes are present and fill the packet exactly, and each attribute's
/// header. [`Message`] applies the per-message rules.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ControlMessage {
    /// Message Type.
    pub message_type: MessageType,
    /// The attributes, in wire order.
    pub attributes: Vec<Attribute>,
}

impl ControlMessage {
    const WHAT: &'static str = "SSTP control message";

    /// Parses exactly one whole control packet, SSTP header included.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let (message_type, count, mut rest) = split_control(bytes)?;
        // Each attribute is at least 4 bytes; the Vec grows with what is
        // actually present, never with what the count field claims.
        let mut attributes = Vec::new();
        for _ in 0..count {
            let raw = next_raw_attribute(&mut rest)?;
            attributes.push(Attribute::parse(raw)?);
        }
        if !rest.is_empty() {
            return Err(ParseError::TrailingBytes {
                what: Self::WHAT,
                extra: rest.len(),
            });
        }
        Ok(Self {
            message_type,
            attributes,
        })
    }

    /// Appends the wire form, SSTP header included. Attributes that would not
    /// fit in [`MAX_PACKET_LEN`] are left out (only possible for a locally
    /// built message; see [`ControlMessage::fits`]).
    pub fn emit(&self, out: &mut Vec<u8>) {
        encode_control(self.message_type, &self.attributes, Some(out));
    }

    /// Length of the wire form.
    pub fn buffer_len(&self) -> usize {
        encode_control(self.message_type, &self.attributes, None)
    }

    /// Whether every attribute fits in one packet, so that `emit` writes all
    /// of them.
    pub fn fits(&self) -> bool {
        let total = self
            .attributes
            .iter()
            .try_fold(CONTROL_HEADER_LEN, |len, a| {
                let n = a.buffer_len();
                (n >= ATTRIBUTE_HEADER_LEN).then(|| len + n)
            });
        total.is_some_and(|len| len <= MAX_PACKET_LEN)
    }
}

/// Checks the header of a whole control packet and returns Message Type, Num
/// Attributes and the attribute bytes.
fn split_control(bytes: &[u8]) -> Result<(MessageType, u16, &[u8]), ParseError> {
    const WHAT: &str = ControlMessage::WHAT;
    let header = Header::of_packet(bytes)?;
    if !header.is_control() {
        return Err(ParseError::malformed(WHAT, "C bit is 0 (a data packet)"));
    }
    let body = bytes.get(HEADER_LEN..).unwrap_or_default();
    let (rest, (message_type, count)) = (be_u16, be_u16).parse(body).map_err(nom_truncated(
        WHAT,
        CONTROL_HEADER_LEN,
        bytes.len(),
    ))?;
    if usize::from(count) * ATTRIBUTE_HEADER_LEN > rest.len() {
        return Err(ParseError::InvalidValue {
            what: "SSTP control message Num Attributes (more than fit)",
            value: count.into(),
        });
    }
    Ok((MessageType(message_type), count, rest))
}

// ---------------------------------------------------------------------------
// Control messages: typed, with the rules of 2.2.9–2.2.15
// ---------------------------------------------------------------------------

/// A control message with its attribute rules enforced (MS-SSTP 2.2.9–2.2.15).
///
/// Parsing fails with a [`MessageError`] that says which Status Info to send
/// back; the mapping is documented on [`Message::from_control`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Message {
    /// 2.2.9: exactly one Encapsulated Protocol ID (14 bytes in all). Any
    /// Protocol ID is accepted here; a server answers anything but
    /// [`ProtocolId::PPP`] with a NAK whose Status Info is
    /// `(ENCAPSULATED_PROTOCOL_ID, VALUE_NOT_SUPPORTED)` echoing the 2-byte
    /// value (3.3.5.2.2 item 5).
    CallConnectRequest { protocol_id: ProtocolId },
    /// 2.2.10: exactly one Crypto Binding Request (48 bytes in all).
    CallConnectAck { request: CryptoBindingRequest },
    /// 2.2.12: one or more Status Info, nothing else. When built locally it
    /// must hold at least one; Status Info beyond what fits in one packet
    /// (53 with 64-byte values, 340 without) are left out on emit.
    CallConnectNak { status_infos: Vec<StatusInfo> },
    /// 2.2.11: exactly one Crypto Binding (112 bytes in all). The exact wire
    /// form and the Compound MAC input come from
    /// [`CryptoBinding::call_connected_bytes`] and
    /// [`CryptoBinding::call_connected_mac_input`].
    CallConnected { binding: CryptoBinding },
    /// 2.2.13: at most one Status Info (Windows always sends one).
    CallAbort { status: Option<StatusInfo> },
    /// 2.2.14: at most one Status Info (Windows always sends one).
    CallDisconnect { status: Option<StatusInfo> },
    /// 2.2.15: no attributes (8 bytes).
    CallDisconnectAck,
    /// 2.2.15: no attributes (8 bytes).
    EchoRequest,
    /// 2.2.15: no attributes (8 bytes).
    EchoResponse,
    /// A message type SSTP version 1 does not define, kept whole (parsing
    /// puts only types other than 1 to 9 here). A session treats it as an
    /// invalid frame (`INVALID_FRAME_RECEIVED`, 2.2.8).
    Unknown(ControlMessage),
}

impl Message {
    /// Parses exactly one whole control packet, SSTP header included, and
    /// applies the rules of its message type. Any structural error is a
    /// [`MessageError`] with `INVALID_FRAME_RECEIVED`.
    pub fn parse(bytes: &[u8]) -> Result<Self, MessageError> {
        let message_type = split_control(bytes).ok().map(|(t, _, _)| t);
        let control = ControlMessage::parse(bytes).map_err(|error| MessageError {
            message_type,
            ..MessageError::from(error)
        })?;
        Self::from_control(control)
    }

    /// Applies the per-message rules to a parsed control message.
    ///
    /// Status Info for each violation (what a [`MessageError`] carries):
    ///
    /// | Message | Violation | AttribID | Status |
    /// |---|---|---|---|
    /// | Call Connect Request (3.3.5.2.2, answered with a NAK listing every problem) | Status Info with a status other than NO_ERROR | STATUS_INFO | STATUS_INFO_NOT_SUPPORTED_IN_MSG |
    /// | | known attribute with a wrong length | its ID | INVALID_ATTRIB_VALUE_LENGTH |
    /// | | second Encapsulated Protocol ID | ENCAPSULATED_PROTOCOL_ID | DUPLICATE_ATTRIBUTE |
    /// | | unknown attribute, or one not used in this message | its ID | UNRECOGNIZED_ATTRIBUTE |
    /// | | no Encapsulated Protocol ID | ENCAPSULATED_PROTOCOL_ID (2.2.8; 3.3.5.2.2 item 6 says STATUS_INFO, 2.2.8 is the more specific text) | REQUIRED_ATTRIBUTE_MISSING |
    /// | Call Connected (3.3.5.2.3, answered with an Abort) | anything but exactly one valid Crypto Binding (Status Info with NO_ERROR tolerated) | STATUS_INFO | ATTRIB_NOT_SUPPORTED_IN_MSG |
    /// | Others (answered with an Abort, 3.1.5.1) | missing, extra, duplicate or wrong-length attribute | the attribute's ID | ATTRIB_NOT_SUPPORTED_IN_MSG |
    ///
    /// In a NAK, AttribValue echoes the first 64 bytes of an attribute the
    /// server understood, and is empty for unrecognized or missing ones
    /// (2.2.8). In all other cases it is empty.
    ///
    /// Status Info attributes with NO_ERROR in a Call Connect Request or Call
    /// Connected are accepted and dropped: 3.3.5.2.2 and 3.3.5.2.3 object
    /// only to other statuses.
    pub fn from_control(control: ControlMessage) -> Result<Self, MessageError> {
        let ControlMessage {
            message_type,
            attributes,
        } = control;
        let attrs = attributes.as_slice();
        match message_type {
            MessageType::CALL_CONNECT_REQUEST => connect_request(attrs),
            MessageType::CALL_CONNECT_ACK => {
                let mut found = only_allowed(
                    message_type,
                    attrs,
                    AttributeId::CRYPTO_BINDING_REQ,
                    1,
                    |a| match a {
                        Attribute::CryptoBindingRequest(r) => Some(*r),
                        _ => None,
                    },
                )?;
                match found.pop() {
                    Some(request) => Ok(Self::CallConnectAck { request }),
                    None => Err(MessageError::abort(
                        message_type,
                        AttributeId::CRYPTO_BINDING_REQ,
                        "Crypto Binding Request missing",
                    )),
                }
            }
            MessageType::CALL_CONNECT_NAK => {
                let status_infos = only_allowed(
                    message_type,
                    attrs,
                    AttributeId::STATUS_INFO,
                    usize::MAX,
                    |a| match a {
                        Attribute::StatusInfo(s) => Some(*s),
                        _ => None,
                    },
                )?;
                if status_infos.is_empty() {
                    return Err(MessageError::abort(
                        message_type,
                        AttributeId::STATUS_INFO,
                        "no Status Info",
                    ));
                }
                Ok(Self::CallConnectNak { status_infos })
            }
            MessageType::CALL_CONNECTED => call_connected(attrs),
            MessageType::CALL_ABORT | MessageType::CALL_DISCONNECT => {
                // 2.2.12 / 2.2.13 allow one optional Status Info. The call
                // ends whatever else the message carries, so anything else
                // is ignored on receipt: sstpd 0.7.2 sends Call Disconnect
                // with an attribute of ID 0 (see the fixture in the tests),
                // and refusing it would hide why the call ended.
                let status = attrs.iter().find_map(|a| match a {
                    Attribute::StatusInfo(s) => Some(*s),
                    _ => None,
                });
                Ok(if message_type == MessageType::CALL_ABORT {
                    Self::CallAbort { status }
                } else {
                    Self::CallDisconnect { status }
                })
            }
            MessageType::CALL_DISCONNECT_ACK
            | MessageType::ECHO_REQUEST
            | MessageType::ECHO_RESPONSE => {
                if let Some(a) = attrs.first() {
                    return Err(MessageError::abort(
                        message_type,
                        a.id(),
                        "attribute in a message that has none",
                    ));
                }
                Ok(match message_type {
                    MessageType::CALL_DISCONNECT_ACK => Self::CallDisconnectAck,
                    MessageType::ECHO_REQUEST => Self::EchoRequest,
                    _ => Self::EchoResponse,
                })
            }
            _ => Ok(Self::Unknown(ControlMessage {
                message_type,
                attributes,
            })),
        }
    }

    /// The message type.
    pub fn message_type(&self) -> MessageType {
        match self {
            Self::CallConnectRequest { .. } => MessageType::CALL_CONNECT_REQUEST,
            Self::CallConnectAck { .. } => MessageType::CALL_CONNECT_ACK,
            Self::CallConnectNak { .. } => MessageType::CALL_CONNECT_NAK,
            Self::CallConnected { .. } => MessageType::CALL_CONNECTED,
            Self::CallAbort { .. } => MessageType::CALL_ABORT,
            Self::CallDisconnect { .. } => MessageType::CALL_DISCONNECT,
            Self::CallDisconnectAck => MessageType::CALL_DISCONNECT_ACK,
            Self::EchoRequest => MessageType::ECHO_REQUEST,
            Self::EchoResponse => MessageType::ECHO_RESPONSE,
            Self::Unknown(control) => control.message_type,
        }
    }

    /// Appends the wire form, SSTP header included. A NAK with more Status
    /// Info than fit in one packet carries the ones that fit.
    pub fn emit(&self, out: &mut Vec<u8>) {
        self.encode(Some(out));
    }

    /// Length of the wire form.
    pub fn buffer_len(&self) -> usize {
        self.encode(None)
    }

    fn encode(&self, out: Option<&mut Vec<u8>>) -> usize {
        let message_type = self.message_type();
        match self {
            Self::CallConnectRequest { protocol_id } => {
                let attribute = EncapsulatedProtocolId {
                    protocol_id: *protocol_id,
                };
                encode_control(message_type, core::iter::once(&attribute), out)
            }
            Self::CallConnectAck { request } => {
                encode_control(message_type, core::iter::once(request), out)
            }
            Self::CallConnectNak { status_infos } => {
                encode_control(message_type, status_infos, out)
            }
            Self::CallConnected { binding } => {
                encode_control(message_type, core::iter::once(binding), out)
            }
            Self::CallAbort { status } | Self::CallDisconnect { status } => {
                encode_control(message_type, status, out)
            }
            Self::CallDisconnectAck | Self::EchoRequest | Self::EchoResponse => {
                encode_control::<Attribute>(message_type, [], out)
            }
            Self::Unknown(control) => encode_control(message_type, &control.attributes, out),
        }
    }
}

impl TryFrom<ControlMessage> for Message {
    type Error = MessageError;

    fn try_from(control: ControlMessage) -> Result<Self, MessageError> {
        Self::from_control(control)
    }
}

/// Call Connect Request (2.2.9, 3.3.5.2.2): collects every problem, since the
/// NAK must list them all.
fn connect_request(attrs: &[Attribute]) -> Result<Message, MessageError> {
    const MT: MessageType = MessageType::CALL_CONNECT_REQUEST;
    let mut protocol_id = None;
    let mut seen_protocol = false;
    let mut problems = NakProblems::default();
    for attribute in attrs {
        match attribute {
            Attribute::EncapsulatedProtocolId(a) => {
                if seen_protocol {
                    problems.push(
                        attribute,
                        Status::DUPLICATE_ATTRIBUTE,
                        true,
                        "duplicate Encapsulated Protocol ID",
                    );
                } else {
                    protocol_id = Some(a.protocol_id);
                }
                seen_protocol = true;
            }
            Attribute::StatusInfo(s) if s.status == Status::NO_ERROR => {}
            Attribute::StatusInfo(_) => problems.push(
                attribute,
                Status::STATUS_INFO_NOT_SUPPORTED_IN_MSG,
                true,
                "Status Info with an error status",
            ),
            Attribute::InvalidLength { id, .. } => {
                // A mis-sized Encapsulated Protocol ID is reported as such,
                // not also as missing or duplicate.
                if *id == AttributeId::ENCAPSULATED_PROTOCOL_ID {
                    seen_protocol = true;
                }
                problems.push(
                    attribute,
                    Status::INVALID_ATTRIB_VALUE_LENGTH,
                    true,
                    "attribute with an invalid length",
                );
            }
            _ => problems.push(
                attribute,
                Status::UNRECOGNIZED_ATTRIBUTE,
                false,
                "attribute not recognized in this message",
            ),
        }
    }
    if !seen_protocol {
        problems.push_missing(
            AttributeId::ENCAPSULATED_PROTOCOL_ID,
            "Encapsulated Protocol ID missing",
        );
    }
    match (problems.into_error(), protocol_id) {
        (Some(error), _) => Err(error),
        (None, Some(protocol_id)) => Ok(Message::CallConnectRequest { protocol_id }),
        (None, None) => Err(MessageError::abort(
            MT,
            AttributeId::ENCAPSULATED_PROTOCOL_ID,
            "Encapsulated Protocol ID missing",
        )),
    }
}

/// The problems of a Call Connect Request, bounded by what one NAK can carry.
#[derive(Default)]
struct NakProblems {
    infos: Vec<StatusInfo>,
    nak_len: usize,
    first_reason: Option<&'static str>,
}

impl NakProblems {
    fn push(&mut self, attribute: &Attribute, status: Status, echo: bool, reason: &'static str) {
        let info = if echo {
            StatusInfo::with_value(attribute.id(), status, &attribute.wire_value())
        } else {
            StatusInfo::new(attribute.id(), status)
        };
        self.add(info, reason);
    }

    fn push_missing(&mut self, id: AttributeId, reason: &'static str) {
        self.add(
            StatusInfo::new(id, Status::REQUIRED_ATTRIBUTE_MISSING),
            reason,
        );
    }

    fn add(&mut self, info: StatusInfo, reason: &'static str) {
        self.first_reason.get_or_insert(reason);
        let len = self.nak_len.max(CONTROL_HEADER_LEN) + info.buffer_len();
        if len <= MAX_PACKET_LEN {
            self.nak_len = len;
            self.infos.push(info);
        }
    }

    fn into_error(self) -> Option<MessageError> {
        let reason = self.first_reason?;
        Some(MessageError {
            message_type: Some(MessageType::CALL_CONNECT_REQUEST),
            nak: true,
            status_infos: self.infos,
            error: ParseError::malformed("SSTP_MSG_CALL_CONNECT_REQUEST", reason),
        })
    }
}

/// Call Connected (2.2.11, 3.3.5.2.3): exactly one Crypto Binding; Status Info
/// with NO_ERROR tolerated. Every violation is reported as 3.3.5.2.3 says:
/// AttribID STATUS_INFO, status ATTRIB_NOT_SUPPORTED_IN_MSG.
fn call_connected(attrs: &[Attribute]) -> Result<Message, MessageError> {
    const MT: MessageType = MessageType::CALL_CONNECTED;
    let fail = |reason| Err(MessageError::abort(MT, AttributeId::STATUS_INFO, reason));
    let mut binding = None;
    for attribute in attrs {
        match attribute {
            Attribute::CryptoBinding(b) if binding.is_none() => binding = Some(*b),
            Attribute::CryptoBinding(_) => return fail("duplicate Crypto Binding"),
            Attribute::StatusInfo(s) if s.status == Status::NO_ERROR => {}
            Attribute::StatusInfo(_) => return fail("Status Info with an error status"),
            Attribute::InvalidLength { .. } => return fail("attribute with an invalid length"),
            _ => return fail("attribute not allowed in this message"),
        }
    }
    match binding {
        Some(binding) => Ok(Message::CallConnected { binding }),
        None => fail("Crypto Binding missing"),
    }
}

/// For messages that allow only attribute `allowed`, at most `max` times:
/// returns them typed, or the first violation as an Abort-type error.
fn only_allowed<T>(
    message_type: MessageType,
    attrs: &[Attribute],
    allowed: AttributeId,
    max: usize,
    extract: impl Fn(&Attribute) -> Option<T>,
) -> Result<Vec<T>, MessageError> {
    let mut found = Vec::new();
    for attribute in attrs {
        let Some(value) = extract(attribute) else {
            let reason = if attribute.id() == allowed {
                "attribute with an invalid length"
            } else {
                "attribute not allowed in this message"
            };
            return Err(MessageError::abort(message_type, attribute.id(), reason));
        };
        if found.len() >= max {
            return Err(MessageError::abort(
                message_type,
                allowed,
                "attribute occurs more often than allowed",
            ));
        }
        found.push(value);
    }
    Ok(found)
}

/// A control message that breaks the rules of MS-SSTP 2.2, with the Status
/// Info to answer it with.
///
/// [`ParseError`] stays the description of what was wrong
/// ([`MessageError::parse_error`]); this adds what MS-SSTP says to do about
/// it:
///
/// - [`MessageError::calls_for_nak`]: a Call Connect Request whose attributes
///   are unacceptable; the server answers with a Call Connect NAK carrying
///   [`MessageError::status_infos`] (3.3.5.2.2).
/// - otherwise: the peer aborts with a Call Abort carrying
///   [`MessageError::status_info`] (3.1.5.1). Broken structure (attribute
///   lengths that overrun the packet, a wrong count, a data packet where a
///   control packet was expected) gives `INVALID_FRAME_RECEIVED`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageError {
    message_type: Option<MessageType>,
    nak: bool,
    // Never empty.
    status_infos: Vec<StatusInfo>,
    error: ParseError,
}

impl MessageError {
    fn abort(message_type: MessageType, attrib_id: AttributeId, reason: &'static str) -> Self {
        Self {
            message_type: Some(message_type),
            nak: false,
            status_infos: vec![StatusInfo::new(
                attrib_id,
                Status::ATTRIB_NOT_SUPPORTED_IN_MSG,
            )],
            error: ParseError::malformed(
                message_type.name().unwrap_or("SSTP control message"),
                reason,
            ),
        }
    }

    /// The message type, if the packet got far enough to have one.
    pub fn message_type(&self) -> Option<MessageType> {
        self.message_type
    }

    /// The Status of the (first) problem.
    pub fn status(&self) -> Status {
        self.status_info().status
    }

    /// The AttribID of the (first) problem: the attribute concerned.
    pub fn attrib_id(&self) -> AttributeId {
        self.status_info().attrib_id
    }

    /// The Status Info for a Call Abort: the first problem.
    pub fn status_info(&self) -> StatusInfo {
        self.status_infos
            .first()
            .copied()
            .unwrap_or(StatusInfo::new(
                AttributeId::STATUS_INFO,
                Status::INVALID_FRAME_RECEIVED,
            ))
    }

    /// Every problem found, as many as fit in one Call Connect NAK: what the
    /// NAK of 3.3.5.2.2 carries. One entry unless
    /// [`MessageError::calls_for_nak`].
    pub fn status_infos(&self) -> &[StatusInfo] {
        &self.status_infos
    }

    /// Whether this is a Call Connect Request the server should answer with a
    /// Call Connect NAK (3.3.5.2.2) rather than an Abort.
    pub fn calls_for_nak(&self) -> bool {
        self.nak
    }

    /// The underlying description of what was wrong.
    pub fn parse_error(&self) -> &ParseError {
        &self.error
    }
}

impl From<ParseError> for MessageError {
    /// A control packet that does not parse as structure: an invalid frame
    /// (2.2.8 `ATTRIB_STATUS_INVALID_FRAME_RECEIVED`, AttribID STATUS_INFO
    /// because no one attribute is at fault).
    fn from(error: ParseError) -> Self {
        Self {
            message_type: None,
            nak: false,
            status_infos: vec![StatusInfo::new(
                AttributeId::STATUS_INFO,
                Status::INVALID_FRAME_RECEIVED,
            )],
            error,
        }
    }
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let info = self.status_info();
        write!(
            f,
            "{} (answer {} for {})",
            self.error, info.status, info.attrib_id
        )
    }
}

impl std::error::Error for MessageError {}

/// Bytes in hex for Debug output.
struct HexBytes<'a>(&'a [u8]);

impl fmt::Debug for HexBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        f.write_str("\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        let clean: String = s.split_whitespace().collect();
        hex::decode(clean).expect("valid hex fixture")
    }

    fn emit_message(m: &Message) -> Vec<u8> {
        let mut out = Vec::new();
        m.emit(&mut out);
        assert_eq!(out.len(), m.buffer_len(), "buffer_len agrees with emit");
        out
    }

    // --- Fixtures -----------------------------------------------------------

    /// MS-SSTP 4.7: the Call Connect Request, byte for byte.
    const CONNECT_REQUEST: &str = "10 01 00 0E 00 01 00 01 00 01 00 06 00 01";

    /// MS-SSTP 4.7: Call Connect Acknowledge, SHA256 only.
    const CONNECT_ACK_SHA256: &str = "10 01 00 30 00 02 00 01 00 04 00 28 00 00 00 02
        41 2B 48 9A EB D7 EC C7 D0 89 66 F2 6B E7 CD 72
        B2 31 A0 E9 21 0D 7C 91 B3 08 86 2B 03 44 C4 35";

    /// MS-SSTP 4.7: Call Connected for the SHA256 Acknowledge.
    const CALL_CONNECTED_SHA256: &str = "10 01 00 70 00 04 00 01 00 03 00 68 00 00 00 02
        41 2B 48 9A EB D7 EC C7 D0 89 66 F2 6B E7 CD 72
        B2 31 A0 E9 21 0D 7C 91 B3 08 86 2B 03 44 C4 35
        79 93 EF 31 4C 49 3D AC E9 F0 2D 60 E7 E6 1C 84
        B6 69 0A AF E9 D7 AE EA 92 CB BE 8A D5 99 42 2D
        52 A6 8E FD 8C FF BF 52 77 0B 8F 0F E8 EC 73 71
        65 83 AF 6D 61 1E B6 D1 79 B3 B2 08 40 98 54 49";

    /// MS-SSTP 4.7: Call Connect Acknowledge, SHA1 only.
    const CONNECT_ACK_SHA1: &str = "10 01 00 30 00 02 00 01 00 04 00 28 00 00 00 01
        0F 1A 2D 58 D4 A3 E3 00 0F AD 3C E4 90 6E 07 B7
        07 AA 9E 44 1C CE AC 5C BD 7B 2C C1 C9 D8 6C DF";

    /// MS-SSTP 4.7: Call Connected for the SHA1 Acknowledge (hash and MAC
    /// zero-padded to 32 bytes).
    const CALL_CONNECTED_SHA1: &str = "10 01 00 70 00 04 00 01 00 03 00 68 00 00 00 01
        0F 1A 2D 58 D4 A3 E3 00 0F AD 3C E4 90 6E 07 B7
        07 AA 9E 44 1C CE AC 5C BD 7B 2C C1 C9 D8 6C DF
        58 26 B6 29 BD A5 9B 8E 6F D8 DC D2 62 2F D3 4C
        53 48 05 A5 00 00 00 00 00 00 00 00 00 00 00 00
        69 91 5D D5 83 D8 06 2F EF 16 F6 1D B2 F0 32 90
        EC 27 CB 6C 00 00 00 00 00 00 00 00 00 00 00 00";

    /// Composed from MS-SSTP 2.2.12 and the 2.2.8 example: a NAK rejecting
    /// the Encapsulated Protocol ID with VALUE_NOT_SUPPORTED, echoing the
    /// proposed value 0x0001.
    const CONNECT_NAK: &str = "10 01 00 16 00 03 00 01 00 02 00 0E 00 00 00 01 00 00 00 04 00 01";

    /// Composed from MS-SSTP 2.2.13 and 3.3.5.2.3: the Abort a server sends
    /// when the Compound MAC is wrong (CRYPTO_BINDING, VALUE_NOT_SUPPORTED).
    const CALL_ABORT: &str = "10 01 00 14 00 05 00 01 00 02 00 0C 00 00 00 03 00 00 00 04";

    /// MS-SSTP 2.2.13 allows an Abort without Status Info.
    const CALL_ABORT_BARE: &str = "10 01 00 08 00 05 00 00";

    /// Composed from MS-SSTP 2.2.14: Disconnect with NO_ERROR/NO_ERROR.
    const CALL_DISCONNECT: &str = "10 01 00 14 00 06 00 01 00 02 00 0C 00 00 00 00 00 00 00 00";

    /// MS-SSTP 2.2.15: the three 8-byte messages.
    const CALL_DISCONNECT_ACK: &str = "10 01 00 08 00 07 00 00";
    const ECHO_REQUEST: &str = "10 01 00 08 00 08 00 00";
    const ECHO_RESPONSE: &str = "10 01 00 08 00 09 00 00";

    /// A data packet (2.2.3) carrying an LCP Echo-Request (RFC 1661 5.8) with
    /// address/control `FF 03`.
    const DATA_LCP_ECHO: &str = "10 00 00 10 FF 03 C0 21 09 01 00 08 00 00 00 00";

    fn sha256_ack() -> CryptoBindingRequest {
        CryptoBindingRequest {
            hash_bitmask: HashBitmask::SHA256,
            nonce: hex("412B489AEBD7ECC7D08966F26BE7CD72B231A0E9210D7C91B308862B0344C435")
                .try_into()
                .expect("32 bytes"),
        }
    }

    fn sha256_binding() -> CryptoBinding {
        CryptoBinding {
            hash_protocol: HashProtocol::SHA256,
            nonce: sha256_ack().nonce,
            cert_hash: hex("7993EF314C493DACE9F02D60E7E61C84B6690AAFE9D7AEEA92CBBE8AD599422D")
                .try_into()
                .expect("32 bytes"),
            compound_mac: hex("52A68EFD8CFFBF52770B8F0FE8EC73716583AF6D611EB6D179B3B20840985449")
                .try_into()
                .expect("32 bytes"),
        }
    }

    fn pad32(bytes: &[u8]) -> [u8; 32] {
        let mut out = [0; 32];
        out[..bytes.len()].copy_from_slice(bytes);
        out
    }

    fn sha1_binding() -> CryptoBinding {
        CryptoBinding {
            hash_protocol: HashProtocol::SHA1,
            nonce: hex("0F1A2D58D4A3E3000FAD3CE4906E07B707AA9E441CCEAC5CBD7B2CC1C9D86CDF")
                .try_into()
                .expect("32 bytes"),
            cert_hash: pad32(&hex("5826B629BDA59B8E6FD8DCD2622FD34C534805A5")),
            compound_mac: pad32(&hex("69915DD583D8062FEF16F61DB2F03290EC27CB6C")),
        }
    }

    /// Every fixture with the typed message it is.
    fn fixtures() -> Vec<(&'static str, Message)> {
        vec![
            (
                CONNECT_REQUEST,
                Message::CallConnectRequest {
                    protocol_id: ProtocolId::PPP,
                },
            ),
            (
                CONNECT_ACK_SHA256,
                Message::CallConnectAck {
                    request: sha256_ack(),
                },
            ),
            (
                CONNECT_ACK_SHA1,
                Message::CallConnectAck {
                    request: CryptoBindingRequest {
                        hash_bitmask: HashBitmask::SHA1,
                        nonce: sha1_binding().nonce,
                    },
                },
            ),
            (
                CALL_CONNECTED_SHA256,
                Message::CallConnected {
                    binding: sha256_binding(),
                },
            ),
            (
                CALL_CONNECTED_SHA1,
                Message::CallConnected {
                    binding: sha1_binding(),
                },
            ),
            (
                CONNECT_NAK,
                Message::CallConnectNak {
                    status_infos: vec![StatusInfo::with_value(
                        AttributeId::ENCAPSULATED_PROTOCOL_ID,
                        Status::VALUE_NOT_SUPPORTED,
                        &[0x00, 0x01],
                    )],
                },
            ),
            (
                CALL_ABORT,
                Message::CallAbort {
                    status: Some(StatusInfo::new(
                        AttributeId::CRYPTO_BINDING,
                        Status::VALUE_NOT_SUPPORTED,
                    )),
                },
            ),
            (CALL_ABORT_BARE, Message::CallAbort { status: None }),
            (
                CALL_DISCONNECT,
                Message::CallDisconnect {
                    status: Some(StatusInfo::new(AttributeId::NO_ERROR, Status::NO_ERROR)),
                },
            ),
            (CALL_DISCONNECT_ACK, Message::CallDisconnectAck),
            (ECHO_REQUEST, Message::EchoRequest),
            (ECHO_RESPONSE, Message::EchoResponse),
        ]
    }

    // --- Fixtures: parse and emit byte for byte -----------------------------

    #[test]
    fn fixtures_parse_to_their_typed_message() {
        for (bytes, expected) in fixtures() {
            let bytes = hex(bytes);
            assert_eq!(Message::parse(&bytes), Ok(expected.clone()), "{expected:?}");
        }
    }

    #[test]
    fn call_abort_and_disconnect_ignore_attributes_other_than_status_info() {
        // sstpd 0.7.2's Call Disconnect: one attribute of the reserved ID 0
        // with four zero bytes (its `ppp_stopped`).
        let sstpd = hex("10 01 00 10 00 06 00 01 00 00 00 08 00 00 00 00");
        assert_eq!(
            Message::parse(&sstpd),
            Ok(Message::CallDisconnect { status: None })
        );
        // An unknown attribute before the Status Info, and a second Status
        // Info: the first Status Info is the one kept.
        let abort = hex("10 01 00 28 00 05 00 03 00 7F 00 08 DE AD BE EF \
             00 02 00 0C 00 00 00 03 00 00 00 04 00 02 00 0C 00 00 00 00 00 00 00 00");
        assert_eq!(
            Message::parse(&abort),
            Ok(Message::CallAbort {
                status: Some(StatusInfo::new(
                    AttributeId::CRYPTO_BINDING,
                    Status::VALUE_NOT_SUPPORTED
                )),
            })
        );
    }

    #[test]
    fn fixtures_emit_byte_for_byte() {
        for (bytes, message) in fixtures() {
            assert_eq!(emit_message(&message), hex(bytes), "{message:?}");
        }
    }

    #[test]
    fn fixtures_round_trip_as_control_messages_and_packets() {
        for (bytes, message) in fixtures() {
            let bytes = hex(bytes);
            let control = ControlMessage::parse(&bytes).expect("fixture parses");
            assert_eq!(control.message_type, message.message_type());
            let mut out = Vec::new();
            control.emit(&mut out);
            assert_eq!(out, bytes);
            assert_eq!(control.buffer_len(), bytes.len());
            assert_eq!(Packet::parse(&bytes), Ok(Packet::Control(control)));
        }
    }

    #[test]
    fn spec_message_lengths() {
        // 2.2.9: 14 bytes; 2.2.10: 48; 2.2.11: 112; 2.2.15: 8.
        assert_eq!(hex(CONNECT_REQUEST).len(), 14);
        assert_eq!(hex(CONNECT_ACK_SHA256).len(), 48);
        assert_eq!(hex(CALL_CONNECTED_SHA1).len(), CALL_CONNECTED_LEN);
        assert_eq!(Message::EchoRequest.buffer_len(), 8);
    }

    #[test]
    fn connect_request_fields_match_4_7() {
        let control = ControlMessage::parse(&hex(CONNECT_REQUEST)).expect("parses");
        assert_eq!(control.message_type, MessageType::CALL_CONNECT_REQUEST);
        assert_eq!(
            control.attributes,
            vec![Attribute::EncapsulatedProtocolId(EncapsulatedProtocolId {
                protocol_id: ProtocolId::PPP
            })]
        );
    }

    #[test]
    fn call_connected_bytes_and_mac_input() {
        for (bytes, binding) in [
            (CALL_CONNECTED_SHA256, sha256_binding()),
            (CALL_CONNECTED_SHA1, sha1_binding()),
        ] {
            let bytes = hex(bytes);
            assert_eq!(binding.call_connected_bytes().as_slice(), bytes.as_slice());
            let mac_input = binding.call_connected_mac_input();
            assert_eq!(
                mac_input[..COMPOUND_MAC_OFFSET],
                bytes[..COMPOUND_MAC_OFFSET]
            );
            assert_eq!(mac_input[COMPOUND_MAC_OFFSET..], [0; 32]);
            // The MAC field is exactly the last 32 bytes.
            assert_eq!(bytes[COMPOUND_MAC_OFFSET..], binding.compound_mac);
            assert_eq!(received_mac_input(&bytes), Ok(mac_input));
        }
    }

    #[test]
    fn received_mac_input_keeps_reserved_bytes_as_sent() {
        let mut bytes = hex(CALL_CONNECTED_SHA256);
        bytes[12] = 0xAA; // Reserved1 of the Crypto Binding: ignored, but MACed.
        let input = received_mac_input(&bytes).expect("locates the field");
        assert_eq!(input[12], 0xAA);
        assert_eq!(input[COMPOUND_MAC_OFFSET..], [0; 32]);
        // The typed parse ignores it.
        assert_eq!(
            Message::parse(&bytes),
            Ok(Message::CallConnected {
                binding: sha256_binding()
            })
        );
    }

    #[test]
    fn received_mac_input_rejects_other_packets() {
        let bytes = hex(CALL_CONNECTED_SHA256);
        assert!(received_mac_input(&bytes[..111]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(received_mac_input(&longer).is_err());
        let mut wrong_type = bytes.clone();
        wrong_type[5] = 0x05;
        assert!(received_mac_input(&wrong_type).is_err());
        let mut data = bytes.clone();
        data[1] = 0;
        assert!(received_mac_input(&data).is_err());
        let mut wrong_attr = bytes;
        wrong_attr[9] = 0x04;
        assert!(received_mac_input(&wrong_attr).is_err());
    }

    // --- Header and data path -----------------------------------------------

    #[test]
    fn header_decodes_fields_and_ignores_reserved_bits() {
        let h = Header::decode([0x10, 0xFF, 0xF0, 0x10]).expect("valid");
        assert!(h.is_control());
        assert_eq!(h.packet_len(), 16);
        assert_eq!(h.payload_len(), 12);
        assert_eq!(h.to_bytes(), [0x10, 0x01, 0x00, 0x10]);
        let d = Header::decode([0x10, 0xFE, 0x0F, 0xFF]).expect("valid");
        assert!(!d.is_control());
        assert_eq!(d.packet_len(), MAX_PACKET_LEN);
    }

    #[test]
    fn header_rejects_other_versions_keeping_the_byte() {
        for version in [0x00, 0x11, 0x20, 0x01, 0xFF] {
            assert_eq!(
                Header::decode([version, 0x01, 0x00, 0x08]),
                Err(ParseError::InvalidValue {
                    what: "SSTP packet version",
                    value: version.into()
                })
            );
        }
    }

    #[test]
    fn header_rejects_lengths_below_4() {
        for len in 0..4u8 {
            assert!(matches!(
                Header::decode([0x10, 0x00, 0xF0, len]),
                Err(ParseError::BadLength { length, .. }) if length == usize::from(len)
            ));
        }
    }

    #[test]
    fn header_parse_is_exact() {
        assert!(Header::parse(&[0x10, 0x00, 0x00]).is_err());
        assert!(Header::parse(&[0x10, 0x00, 0x00, 0x04, 0x00]).is_err());
        assert_eq!(
            Header::parse(&[0x10, 0x00, 0x00, 0x04]),
            Ok(Header::new(false, 4).expect("valid"))
        );
        assert_eq!(
            Header::new(true, 4096),
            Err(EncodeError::TooLong { len: 4096 })
        );
        assert!(Header::new(true, 3).is_err());
    }

    #[test]
    fn data_packet_parses_to_borrowed_frame() {
        let bytes = hex(DATA_LCP_ECHO);
        let Ok(Packet::Data(frame)) = Packet::parse(&bytes) else {
            panic!("data packet expected");
        };
        assert_eq!(frame, &bytes[4..]);
        assert!(
            core::ptr::eq(frame.as_ptr(), bytes[4..].as_ptr()),
            "no copy"
        );
        let mut out = Vec::new();
        Packet::Data(frame).emit(&mut out).expect("fits");
        assert_eq!(out, bytes);
    }

    #[test]
    fn empty_data_packet_is_structurally_valid() {
        assert_eq!(
            Packet::parse(&[0x10, 0x00, 0x00, 0x04]),
            Ok(Packet::Data(&[]))
        );
    }

    #[test]
    fn packet_parse_is_exact() {
        let bytes = hex(DATA_LCP_ECHO);
        for cut in 0..bytes.len() {
            assert!(Packet::parse(&bytes[..cut]).is_err(), "truncated at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            Packet::parse(&longer),
            Err(ParseError::TrailingBytes {
                what: "SSTP packet",
                extra: 1
            })
        );
    }

    #[test]
    fn write_data_header_and_encode_in_place() {
        let frame = hex("FF 03 C0 21 09 01 00 08 00 00 00 00");
        // Caller buffer: 8 bytes of headroom, then the frame.
        let mut buf = vec![0xEE; 8 + frame.len() + 5];
        buf[8..8 + frame.len()].copy_from_slice(&frame);
        let packet = encode_data_packet(&mut buf, 8, frame.len()).expect("fits");
        assert_eq!(packet, hex(DATA_LCP_ECHO).as_slice());
        assert_eq!(buf[..4], [0xEE; 4], "bytes before the header untouched");

        let mut header = [0u8; 4];
        write_data_header(&mut header, frame.len()).expect("fits");
        assert_eq!(header, [0x10, 0x00, 0x00, 0x10]);
    }

    #[test]
    fn data_path_limits() {
        let mut buf = vec![0u8; HEADER_LEN + MAX_DATA_PAYLOAD + 1];
        let packet = encode_data_packet(&mut buf, HEADER_LEN, MAX_DATA_PAYLOAD).expect("max fits");
        assert_eq!(packet.len(), MAX_PACKET_LEN);
        assert_eq!(packet[..4], [0x10, 0x00, 0x0F, 0xFF]);
        assert_eq!(
            encode_data_packet(&mut buf, HEADER_LEN, MAX_DATA_PAYLOAD + 1),
            Err(EncodeError::TooLong { len: 4096 })
        );
        assert!(matches!(
            encode_data_packet(&mut buf, 3, 10),
            Err(EncodeError::BufferTooSmall { .. })
        ));
        assert!(matches!(
            encode_data_packet(&mut [0u8; 8], 4, 10),
            Err(EncodeError::BufferTooSmall {
                needed: 14,
                available: 8
            })
        ));
        assert!(matches!(
            write_data_header(&mut [0u8; 3], 1),
            Err(EncodeError::BufferTooSmall { .. })
        ));
        assert!(write_data_header(&mut [0u8; 4], MAX_DATA_PAYLOAD + 1).is_err());
        let mut out = Vec::new();
        assert!(emit_data_packet(&[0; MAX_DATA_PAYLOAD + 1], &mut out).is_err());
        assert!(out.is_empty(), "nothing written on error");
        emit_data_packet(&[0; MAX_DATA_PAYLOAD], &mut out).expect("max fits");
        assert_eq!(out.len(), MAX_PACKET_LEN);
        assert!(
            Packet::Data(&[0; MAX_DATA_PAYLOAD + 1])
                .emit(&mut out)
                .is_err()
        );
    }

    // --- Control structure: negatives ---------------------------------------

    #[test]
    fn every_fixture_truncated_at_every_length_fails() {
        for (bytes, _) in fixtures() {
            let bytes = hex(bytes);
            for cut in 0..bytes.len() {
                assert!(ControlMessage::parse(&bytes[..cut]).is_err(), "cut {cut}");
                assert!(Message::parse(&bytes[..cut]).is_err(), "cut {cut}");
            }
        }
    }

    #[test]
    fn trailing_bytes_after_last_attribute_are_rejected() {
        // Length 16 covers 2 bytes after the 6-byte attribute.
        let bytes = hex("10 01 00 10 00 01 00 01 00 01 00 06 00 01 00 00");
        assert_eq!(
            ControlMessage::parse(&bytes),
            Err(ParseError::TrailingBytes {
                what: "SSTP control message",
                extra: 2
            })
        );
        let err = Message::parse(&bytes).expect_err("invalid frame");
        assert_eq!(err.status(), Status::INVALID_FRAME_RECEIVED);
        assert_eq!(err.message_type(), Some(MessageType::CALL_CONNECT_REQUEST));
        assert!(!err.calls_for_nak());
    }

    #[test]
    fn count_larger_than_what_fits_is_rejected_up_front() {
        let bytes = hex("10 01 00 0E 00 01 FF FF 00 01 00 06 00 01");
        assert!(matches!(
            ControlMessage::parse(&bytes),
            Err(ParseError::InvalidValue { value: 0xFFFF, .. })
        ));
        // Count 2, but after the first attribute only 2 bytes are left.
        let bytes = hex("10 01 00 10 00 01 00 02 00 01 00 06 00 01 00 00");
        assert!(matches!(
            ControlMessage::parse(&bytes),
            Err(ParseError::Truncated { .. })
        ));
    }

    #[test]
    fn attribute_lengths_that_overrun_or_underrun_are_rejected() {
        // Attribute Length 0x007 runs past the packet.
        let overrun = hex("10 01 00 0E 00 01 00 01 00 01 00 07 00 01");
        assert!(ControlMessage::parse(&overrun).is_err());
        // Attribute Length 3 is shorter than its own header.
        let underrun = hex("10 01 00 0C 00 08 00 01 00 09 00 03");
        assert!(matches!(
            ControlMessage::parse(&underrun),
            Err(ParseError::BadLength { length: 3, .. })
        ));
    }

    #[test]
    fn control_parse_rejects_data_packets_and_short_bodies() {
        assert!(ControlMessage::parse(&hex(DATA_LCP_ECHO)).is_err());
        assert!(ControlMessage::parse(&hex("10 01 00 06 00 08")).is_err());
        let err = Message::parse(&hex(DATA_LCP_ECHO)).expect_err("not control");
        assert_eq!(err.status(), Status::INVALID_FRAME_RECEIVED);
        assert_eq!(err.attrib_id(), AttributeId::STATUS_INFO);
    }

    #[test]
    fn reserved_bits_are_ignored_and_sent_as_zero() {
        // Reserved bits set everywhere: header, attribute reserved byte, R bits.
        let sloppy = hex("10 FF F0 0E 00 01 00 01 FF 01 F0 06 00 01");
        let message = Message::parse(&sloppy).expect("reserved bits ignored");
        assert_eq!(emit_message(&message), hex(CONNECT_REQUEST));
    }

    #[test]
    fn unknown_message_types_and_attributes_keep_their_bytes() {
        let bytes = hex("10 01 00 12 12 34 00 02 00 77 00 06 AB CD 00 05 00 04");
        let control = ControlMessage::parse(&bytes).expect("structurally valid");
        assert_eq!(control.message_type, MessageType(0x1234));
        assert!(!control.message_type.is_known());
        assert_eq!(
            control.attributes,
            vec![
                Attribute::Unknown {
                    id: AttributeId(0x77),
                    value: vec![0xAB, 0xCD]
                },
                Attribute::Unknown {
                    id: AttributeId(0x05),
                    value: vec![]
                },
            ]
        );
        let mut out = Vec::new();
        control.emit(&mut out);
        assert_eq!(out, bytes);
        assert_eq!(Message::parse(&bytes), Ok(Message::Unknown(control)));
    }

    #[test]
    fn known_attribute_with_wrong_length_is_kept() {
        // Encapsulated Protocol ID with Length 8.
        let bytes = hex("10 01 00 10 00 01 00 01 00 01 00 08 00 01 00 00");
        let control = ControlMessage::parse(&bytes).expect("structure is fine");
        assert_eq!(
            control.attributes,
            vec![Attribute::InvalidLength {
                id: AttributeId::ENCAPSULATED_PROTOCOL_ID,
                value: vec![0, 1, 0, 0]
            }]
        );
        let mut out = Vec::new();
        control.emit(&mut out);
        assert_eq!(out, bytes);
    }

    #[test]
    fn typed_attribute_parsers_are_exact() {
        let request = hex(CONNECT_REQUEST);
        let epid = &request[8..];
        assert_eq!(
            EncapsulatedProtocolId::parse(epid),
            Ok(EncapsulatedProtocolId {
                protocol_id: ProtocolId::PPP
            })
        );
        for cut in 0..epid.len() {
            assert!(EncapsulatedProtocolId::parse(&epid[..cut]).is_err());
        }
        let ack = hex(CONNECT_ACK_SHA256);
        let cbr = &ack[8..];
        assert_eq!(CryptoBindingRequest::parse(cbr), Ok(sha256_ack()));
        assert!(matches!(
            CryptoBinding::parse(cbr),
            Err(ParseError::InvalidValue { value: 4, .. })
        ));
        let connected = hex(CALL_CONNECTED_SHA256);
        assert_eq!(CryptoBinding::parse(&connected[8..]), Ok(sha256_binding()));
        for cut in 0..connected.len() - 8 {
            assert!(CryptoBinding::parse(&connected[8..8 + cut]).is_err());
        }
        let nak = hex(CONNECT_NAK);
        let info = StatusInfo::parse(&nak[8..]).expect("status info");
        assert_eq!(info.value(), &[0, 1]);
        assert_eq!(info.buffer_len(), 14);
    }

    #[test]
    fn status_info_value_is_bounded_to_64() {
        let long = [0x5A; 100];
        let info = StatusInfo::with_value(AttributeId(9), Status(77), &long);
        assert_eq!(info.value(), &long[..64]);
        assert_eq!(info.buffer_len(), StatusInfo::MAX_LEN);
        let mut out = Vec::new();
        info.emit(&mut out);
        assert_eq!(StatusInfo::parse(&out), Ok(info));
        // A 77-byte Status Info (65 bytes of value) is an invalid length.
        let mut too_long = out.clone();
        too_long.push(0);
        too_long[3] = 77;
        assert!(matches!(
            StatusInfo::parse(&too_long),
            Err(ParseError::BadLength { length: 77, .. })
        ));
        assert!(matches!(
            Attribute::parse(&too_long),
            Ok(Attribute::InvalidLength { id: AttributeId::STATUS_INFO, ref value }) if value.len() == 73
        ));
    }

    #[test]
    fn oversized_local_messages_are_truncated_not_corrupted() {
        let huge = Attribute::Unknown {
            id: AttributeId(0x42),
            value: vec![0; MAX_PACKET_LEN],
        };
        assert_eq!(huge.buffer_len(), 0);
        let mut out = Vec::new();
        huge.emit(&mut out);
        assert!(out.is_empty());

        let many = Message::CallConnectNak {
            status_infos: vec![StatusInfo::with_value(AttributeId(1), Status(3), &[7; 64]); 100],
        };
        let bytes = emit_message(&many);
        assert!(bytes.len() <= MAX_PACKET_LEN);
        let Ok(Message::CallConnectNak { status_infos }) = Message::parse(&bytes) else {
            panic!("a valid NAK");
        };
        assert_eq!(status_infos.len(), (MAX_PACKET_LEN - 8) / 76);

        let control = ControlMessage {
            message_type: MessageType(0x99),
            attributes: vec![
                huge,
                Attribute::Unknown {
                    id: AttributeId(0x43),
                    value: vec![1],
                },
            ],
        };
        assert!(!control.fits());
        let mut out = Vec::new();
        control.emit(&mut out);
        let reparsed = ControlMessage::parse(&out).expect("valid packet");
        assert_eq!(reparsed.attributes.len(), 1);
    }

    // --- Typed rules ----------------------------------------------------------

    fn request_with(attrs: &str, count: u16) -> Vec<u8> {
        let attrs = hex(attrs);
        let len = (8 + attrs.len()) as u16;
        let mut bytes = vec![0x10, 0x01];
        bytes.extend_from_slice(&len.to_be_bytes());
        bytes.extend_from_slice(&[0x00, 0x01]);
        bytes.extend_from_slice(&count.to_be_bytes());
        bytes.extend_from_slice(&attrs);
        bytes
    }

    #[test]
    fn connect_request_missing_protocol_id_calls_for_nak() {
        let err = Message::parse(&request_with("", 0)).expect_err("missing");
        assert!(err.calls_for_nak());
        assert_eq!(err.status(), Status::REQUIRED_ATTRIBUTE_MISSING);
        assert_eq!(err.attrib_id(), AttributeId::ENCAPSULATED_PROTOCOL_ID);
        assert_eq!(err.status_info().value(), &[] as &[u8]);
    }

    #[test]
    fn connect_request_duplicate_protocol_id() {
        let err = Message::parse(&request_with("00 01 00 06 00 01 00 01 00 06 00 01", 2))
            .expect_err("duplicate");
        assert!(err.calls_for_nak());
        assert_eq!(err.status(), Status::DUPLICATE_ATTRIBUTE);
        assert_eq!(err.attrib_id(), AttributeId::ENCAPSULATED_PROTOCOL_ID);
        assert_eq!(err.status_info().value(), &[0, 1], "understood: echoed");
    }

    #[test]
    fn connect_request_invalid_length_is_named_with_its_value() {
        let err = Message::parse(&request_with("00 01 00 08 00 01 AB CD", 1)).expect_err("bad len");
        assert!(err.calls_for_nak());
        assert_eq!(err.status_infos().len(), 1, "not also reported missing");
        assert_eq!(err.status(), Status::INVALID_ATTRIB_VALUE_LENGTH);
        assert_eq!(err.attrib_id(), AttributeId::ENCAPSULATED_PROTOCOL_ID);
        assert_eq!(err.status_info().value(), &[0, 1, 0xAB, 0xCD]);
    }

    #[test]
    fn connect_request_lists_every_problem() {
        // Unknown attribute 0x33, a Status Info with an error, a Crypto
        // Binding Request (known, but not in this message), then the protocol.
        let attrs = "00 33 00 05 99 \
             00 02 00 0C 00 00 00 00 00 00 00 07 \
             00 04 00 28 00 00 00 02 \
             00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 \
             00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 \
             00 01 00 06 00 01";
        let err = Message::parse(&request_with(attrs, 4)).expect_err("problems");
        assert!(err.calls_for_nak());
        let got: Vec<_> = err
            .status_infos()
            .iter()
            .map(|s| (s.attrib_id, s.status, s.value().len()))
            .collect();
        assert_eq!(
            got,
            vec![
                (AttributeId(0x33), Status::UNRECOGNIZED_ATTRIBUTE, 0),
                (
                    AttributeId::STATUS_INFO,
                    Status::STATUS_INFO_NOT_SUPPORTED_IN_MSG,
                    8
                ),
                (
                    AttributeId::CRYPTO_BINDING_REQ,
                    Status::UNRECOGNIZED_ATTRIBUTE,
                    0
                ),
            ]
        );
        // The NAK built from it is a valid NAK.
        let nak = Message::CallConnectNak {
            status_infos: err.status_infos().to_vec(),
        };
        assert_eq!(Message::parse(&emit_message(&nak)), Ok(nak));
    }

    #[test]
    fn connect_request_tolerates_no_error_status_info_and_other_protocols() {
        let ok = Message::parse(&request_with(
            "00 02 00 0C 00 00 00 00 00 00 00 00 00 01 00 06 00 01",
            2,
        ));
        assert_eq!(
            ok,
            Ok(Message::CallConnectRequest {
                protocol_id: ProtocolId::PPP
            })
        );
        assert_eq!(
            Message::parse(&request_with("00 01 00 06 BE EF", 1)),
            Ok(Message::CallConnectRequest {
                protocol_id: ProtocolId(0xBEEF)
            })
        );
    }

    #[test]
    fn connect_request_nak_list_is_bounded_by_one_nak() {
        // 1000 four-byte unknown attributes: each is one 12-byte Status Info.
        let attrs = "00 55 00 04 ".repeat(1000);
        let err = Message::parse(&request_with(&attrs, 1000)).expect_err("unknown");
        assert_eq!(err.status_infos().len(), (MAX_PACKET_LEN - 8) / 12);
    }

    #[test]
    fn call_connected_violations_follow_3_3_5_2_3() {
        let connected = hex(CALL_CONNECTED_SHA256);
        let binding_attr = &connected[8..];
        let build = |attrs: &[&[u8]]| {
            let body: Vec<u8> = attrs.concat();
            let mut bytes = vec![0x10, 0x01];
            bytes.extend_from_slice(&((8 + body.len()) as u16).to_be_bytes());
            bytes.extend_from_slice(&[0x00, 0x04]);
            bytes.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
            bytes.extend_from_slice(&body);
            bytes
        };
        let error_status = hex("00 02 00 0C 00 00 00 00 00 00 00 01");
        let no_error_status = hex("00 02 00 0C 00 00 00 00 00 00 00 00");
        let protocol = hex("00 01 00 06 00 01");
        let mut short_binding = binding_attr[..100].to_vec();
        short_binding[3] = 100;
        let cases: [(Vec<&[u8]>, &str); 5] = [
            (vec![], "missing"),
            (vec![binding_attr, binding_attr], "duplicate"),
            (
                vec![binding_attr, &error_status[..]],
                "status info with error",
            ),
            (vec![&short_binding[..]], "invalid length"),
            (vec![binding_attr, &protocol[..]], "wrong attribute"),
        ];
        for (attrs, why) in cases {
            let err = Message::parse(&build(&attrs)).expect_err(why);
            assert!(!err.calls_for_nak(), "{why}");
            assert_eq!(err.status(), Status::ATTRIB_NOT_SUPPORTED_IN_MSG, "{why}");
            assert_eq!(err.attrib_id(), AttributeId::STATUS_INFO, "{why}");
            assert!(err.status_info().value().is_empty(), "{why}");
        }
        assert_eq!(
            Message::parse(&build(&[&no_error_status[..], binding_attr])),
            Ok(Message::CallConnected {
                binding: sha256_binding()
            })
        );
    }

    #[test]
    fn other_messages_abort_naming_the_attribute() {
        let ack = hex(CONNECT_ACK_SHA256);
        let cbr = &ack[8..];
        let status_bytes = hex("00 02 00 0C 00 00 00 00 00 00 00 00");
        let status = &status_bytes[..];
        let build = |message_type: u16, attrs: &[&[u8]]| {
            let body: Vec<u8> = attrs.concat();
            let mut bytes = vec![0x10, 0x01];
            bytes.extend_from_slice(&((8 + body.len()) as u16).to_be_bytes());
            bytes.extend_from_slice(&message_type.to_be_bytes());
            bytes.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
            bytes.extend_from_slice(&body);
            bytes
        };
        let cases: Vec<(u16, Vec<&[u8]>, AttributeId)> = vec![
            (2, vec![], AttributeId::CRYPTO_BINDING_REQ),
            (2, vec![cbr, cbr], AttributeId::CRYPTO_BINDING_REQ),
            (2, vec![cbr, status], AttributeId::STATUS_INFO),
            (3, vec![], AttributeId::STATUS_INFO),
            (3, vec![status, cbr], AttributeId::CRYPTO_BINDING_REQ),
            // Call Abort (5) and Call Disconnect (6) take what they get: see
            // call_abort_and_disconnect_ignore_attributes_other_than_status_info.
            (7, vec![status], AttributeId::STATUS_INFO),
            (8, vec![cbr], AttributeId::CRYPTO_BINDING_REQ),
            (9, vec![status], AttributeId::STATUS_INFO),
        ];
        for (message_type, attrs, attrib_id) in cases {
            let err = Message::parse(&build(message_type, &attrs)).expect_err("violation");
            assert!(!err.calls_for_nak());
            assert_eq!(err.message_type(), Some(MessageType(message_type)));
            assert_eq!(err.status(), Status::ATTRIB_NOT_SUPPORTED_IN_MSG);
            assert_eq!(err.attrib_id(), attrib_id, "type {message_type}");
        }
    }

    #[test]
    fn message_error_display_names_status_and_cause() {
        let err = Message::parse(&request_with("", 0)).expect_err("missing");
        let text = err.to_string();
        assert!(
            text.contains("ATTRIB_STATUS_REQUIRED_ATTRIBUTE_MISSING"),
            "{text}"
        );
        assert!(text.contains("Encapsulated Protocol ID missing"), "{text}");
    }

    #[test]
    fn hash_bitmask_choice() {
        assert_eq!(
            HashBitmask::SHA1_AND_SHA256.choose(HashBitmask::SHA1_AND_SHA256),
            Some(HashProtocol::SHA256)
        );
        assert_eq!(
            HashBitmask::SHA1_AND_SHA256.choose(HashBitmask::SHA1),
            Some(HashProtocol::SHA1)
        );
        assert_eq!(HashBitmask::SHA1.choose(HashBitmask::SHA256), None);
        assert_eq!(HashBitmask(0).choose(HashBitmask::SHA1_AND_SHA256), None);
        assert!(!HashBitmask(0xFF).contains(HashProtocol(0x04)));
        assert_eq!(
            format!("{:?}", HashBitmask(3)),
            "HashBitmask(0x03 SHA1 SHA256)"
        );
    }

    #[test]
    fn code_space_names() {
        assert_eq!(
            MessageType::ECHO_RESPONSE.name(),
            Some("SSTP_MSG_ECHO_RESPONSE")
        );
        assert_eq!(Status(11), Status::STATUS_INFO_NOT_SUPPORTED_IN_MSG);
        assert_eq!(Status(12).name(), None);
        assert_eq!(format!("{:?}", AttributeId(9)), "AttributeId(0x9)");
    }

    // --- Property tests -------------------------------------------------------

    fn arb_status_info() -> impl Strategy<Value = StatusInfo> {
        (
            any::<u8>(),
            any::<u32>(),
            prop::collection::vec(any::<u8>(), 0..=64),
        )
            .prop_map(|(id, status, value)| {
                StatusInfo::with_value(AttributeId(id), Status(status), &value)
            })
    }

    fn arb_binding() -> impl Strategy<Value = CryptoBinding> {
        (
            any::<u8>(),
            any::<[u8; 32]>(),
            any::<[u8; 32]>(),
            any::<[u8; 32]>(),
        )
            .prop_map(|(p, nonce, cert_hash, compound_mac)| CryptoBinding {
                hash_protocol: HashProtocol(p),
                nonce,
                cert_hash,
                compound_mac,
            })
    }

    fn arb_request() -> impl Strategy<Value = CryptoBindingRequest> {
        (any::<u8>(), any::<[u8; 32]>()).prop_map(|(b, nonce)| CryptoBindingRequest {
            hash_bitmask: HashBitmask(b),
            nonce,
        })
    }

    fn arb_attribute() -> impl Strategy<Value = Attribute> {
        let known_id = prop_oneof![Just(1u8), Just(2), Just(3), Just(4)];
        prop_oneof![
            any::<u16>().prop_map(
                |p| Attribute::EncapsulatedProtocolId(EncapsulatedProtocolId {
                    protocol_id: ProtocolId(p)
                })
            ),
            arb_status_info().prop_map(Attribute::StatusInfo),
            arb_binding().prop_map(Attribute::CryptoBinding),
            arb_request().prop_map(Attribute::CryptoBindingRequest),
            (known_id, prop::collection::vec(any::<u8>(), 0..120))
                .prop_filter("a wrong length", |(id, v)| {
                    let len = v.len() + 4;
                    match id {
                        1 => len != 6,
                        2 => !(12..=76).contains(&len),
                        3 => len != 104,
                        _ => len != 40,
                    }
                })
                .prop_map(|(id, value)| Attribute::InvalidLength {
                    id: AttributeId(id),
                    value
                }),
            (
                any::<u8>().prop_filter("unknown id", |id| !(1..=4).contains(id)),
                prop::collection::vec(any::<u8>(), 0..40)
            )
                .prop_map(|(id, value)| Attribute::Unknown {
                    id: AttributeId(id),
                    value
                }),
        ]
    }

    fn arb_control() -> impl Strategy<Value = ControlMessage> {
        (any::<u16>(), prop::collection::vec(arb_attribute(), 0..12)).prop_map(|(t, attributes)| {
            ControlMessage {
                message_type: MessageType(t),
                attributes,
            }
        })
    }

    fn arb_message() -> impl Strategy<Value = Message> {
        prop_oneof![
            any::<u16>().prop_map(|p| Message::CallConnectRequest {
                protocol_id: ProtocolId(p)
            }),
            arb_request().prop_map(|request| Message::CallConnectAck { request }),
            prop::collection::vec(arb_status_info(), 1..8)
                .prop_map(|status_infos| Message::CallConnectNak { status_infos }),
            arb_binding().prop_map(|binding| Message::CallConnected { binding }),
            prop::option::of(arb_status_info()).prop_map(|status| Message::CallAbort { status }),
            prop::option::of(arb_status_info())
                .prop_map(|status| Message::CallDisconnect { status }),
            Just(Message::CallDisconnectAck),
            Just(Message::EchoRequest),
            Just(Message::EchoResponse),
            arb_control()
                .prop_filter("unknown type", |c| !(1..=9).contains(&c.message_type.0))
                .prop_map(Message::Unknown),
        ]
    }

    proptest! {
        #[test]
        fn control_message_round_trips(control in arb_control()) {
            prop_assume!(control.fits());
            let mut bytes = Vec::new();
            control.emit(&mut bytes);
            prop_assert_eq!(bytes.len(), control.buffer_len());
            prop_assert_eq!(ControlMessage::parse(&bytes), Ok(control));
        }

        #[test]
        fn message_round_trips(message in arb_message()) {
            let bytes = emit_message(&message);
            prop_assert_eq!(Message::parse(&bytes), Ok(message));
        }

        #[test]
        fn data_packet_round_trips(payload in prop::collection::vec(any::<u8>(), 0..=MAX_DATA_PAYLOAD)) {
            let mut bytes = Vec::new();
            emit_data_packet(&payload, &mut bytes).expect("fits");
            prop_assert_eq!(Packet::parse(&bytes), Ok(Packet::Data(&payload)));
            let mut buf = vec![0; HEADER_LEN + payload.len()];
            buf[HEADER_LEN..].copy_from_slice(&payload);
            prop_assert_eq!(encode_data_packet(&mut buf, HEADER_LEN, payload.len()), Ok(bytes.as_slice()));
        }

        #[test]
        fn parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = Packet::parse(&bytes);
            let _ = Message::parse(&bytes);
            let _ = Attribute::parse(&bytes);
            let _ = StatusInfo::parse(&bytes);
            let _ = received_mac_input(&bytes);
        }

        #[test]
        fn structured_garbage_never_panics(
            message_type in any::<u16>(),
            count in any::<u16>(),
            body in prop::collection::vec(any::<u8>(), 0..200),
        ) {
            let len = 8 + body.len();
            let mut bytes = vec![0x10, 0x01];
            bytes.extend_from_slice(&(len as u16).to_be_bytes());
            bytes.extend_from_slice(&message_type.to_be_bytes());
            bytes.extend_from_slice(&count.to_be_bytes());
            bytes.extend_from_slice(&body);
            if let Ok(control) = ControlMessage::parse(&bytes) {
                let mut out = Vec::new();
                control.emit(&mut out);
                prop_assert_eq!(ControlMessage::parse(&out), Ok(control));
            }
        }
    }
}
