//! SSTP packets (MS-SSTP 2.2): the 4-byte packet header (2.2.1), data packets
//! carrying one PPP frame (2.2.3), control packets and their attributes
//! (2.2.2, 2.2.4–2.2.8), and the attribute rules of the nine control messages
//! (2.2.9–2.2.15).
//!
//! Public here: the code spaces and the Status Info a driver sees in
//! [`CloseReason::PeerAborted`](crate::CloseReason::PeerAborted)
//! ([`AttributeId`], [`Status`], [`StatusInfo`]), and the crypto-binding
//! hash choice of the configs ([`HashProtocol`], [`HashBitmask`]).
//!
//! Inside the crate, three layers:
//!
//! - `Header`, `Packet` and the data-path helpers (`write_data_header`,
//!   `encode_data_packet`, `emit_data_packet`). Receiving a data packet is
//!   one header check and a borrowed PPP frame. Sending writes the header into
//!   headroom the caller left in front of the frame. Neither allocates.
//! - `ControlMessage` / `Attribute`: the structure of 2.2.2 and 2.2.4 with
//!   typed attributes. It round-trips every structurally valid control packet:
//!   unknown message types, unknown attributes (`Attribute::Unknown`), and
//!   known attributes whose length is wrong (`Attribute::InvalidLength`),
//!   which a server must name in its NAK.
//! - `Message`: the typed messages, enforcing 2.2.9–2.2.15. A violation is a
//!   `MessageError` that carries the MS-SSTP [`Status`] and attribute ID for
//!   the Status Info of a Call Connect NAK or a Call Abort.
//!
//! The data path lives in `header.rs`, the attributes in `attributes.rs`, the
//! control messages (both layers) in `messages.rs`; this file holds the
//! constants, the code spaces (message types, attribute IDs, status codes)
//! and `EncodeError`, and re-exports the rest.
//!
//! Reserved fields are ignored on receipt and sent as zero (2.2.1 and every
//! attribute section), so parse/emit round trips compare values, not bytes.
//!
//! Framing failures (a version byte other than 0x10, a length below 4) are
//! found by the session's deframer before any of this runs; MS-SSTP 3.1.5.1 has
//! the connection aborted without sending anything in that case.

use core::fmt;
use core::ops::Range;

use nom::Parser;
use nom::bytes::complete::take;
use nom::number::complete::{be_u8, be_u16, be_u32};

use super::{ParseError, code_space, nom_truncated};

mod attributes;
mod header;
mod messages;

pub use attributes::StatusInfo;
pub(crate) use attributes::*;
pub(crate) use header::*;
pub use messages::MessageError;
pub(crate) use messages::*;

/// The only version byte SSTP defines: major 1, minor 0 (MS-SSTP 2.2.1).
pub(crate) const VERSION: u8 = 0x10;
/// Length of the SSTP packet header (MS-SSTP 2.2.1).
pub(crate) const HEADER_LEN: usize = 4;
/// Largest SSTP packet: the Length field has 12 bits (MS-SSTP 2.2.1).
pub(crate) const MAX_PACKET_LEN: usize = 4095;
/// Largest data-packet payload (one PPP frame, protocol field included):
/// 4095 − 4, the SSTP MRU of MS-SSTP 3.1.5.2.
pub(crate) const MAX_DATA_PAYLOAD: usize = MAX_PACKET_LEN - HEADER_LEN;
/// SSTP header plus Message Type and Num Attributes (MS-SSTP 2.2.2).
pub(crate) const CONTROL_HEADER_LEN: usize = 8;
/// Reserved, Attribute ID and LengthPacket of an attribute (MS-SSTP 2.2.4).
pub(crate) const ATTRIBUTE_HEADER_LEN: usize = 4;
/// Largest attribute that fits in a control packet.
pub(crate) const MAX_ATTRIBUTE_LEN: usize = MAX_PACKET_LEN - CONTROL_HEADER_LEN;
/// Length of a Call Connected message (MS-SSTP 2.2.11).
pub(crate) const CALL_CONNECTED_LEN: usize = CONTROL_HEADER_LEN + CryptoBinding::LEN;

// The fields of a Call Connected message (MS-SSTP 2.2.11, checked against
// both examples of 4.7): SSTP header (0..4, 2.2.1), Message Type and Num
// Attributes (4..8, 2.2.2), attribute header (8..12, 2.2.4), Reserved
// (12..15) and the Crypto Binding attribute's fields (2.2.7). The crypto
// binding works on these raw bytes (3.2.5.2).

/// Offset of the Hash Protocol Bitmask byte in a Call Connected message.
pub(crate) const HASH_PROTOCOL_OFFSET: usize = 15;
/// Where the nonce sits in a Call Connected message.
pub(crate) const NONCE_RANGE: Range<usize> = 16..48;
/// Where the certificate hash (and its padding) sits.
pub(crate) const CERT_HASH_RANGE: Range<usize> = 48..80;
/// Where the Compound MAC (and its padding) sits.
pub(crate) const MAC_RANGE: Range<usize> = 80..CALL_CONNECTED_LEN;
/// Largest AttribValue of a Status Info attribute (MS-SSTP 2.2.8).
pub(crate) const MAX_STATUS_VALUE_LEN: usize = 64;

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
    pub(crate) struct ProtocolId(u16) {
        /// PPP, the only protocol SSTP version 1 carries.
        PPP = 0x0001 => "SSTP_ENCAPSULATED_PROTOCOL_PPP",
    }
}

/// The hash of a crypto binding: the one protocol a client chose for the
/// certificate hash and the Compound MAC (MS-SSTP 2.2.7, 3.2.5.2), a member
/// of a [`HashBitmask`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashProtocol {
    /// CERT_HASH_PROTOCOL_SHA1 (0x01): HMAC-SHA1-160, 20-byte values
    /// zero-padded to 32.
    Sha1,
    /// CERT_HASH_PROTOCOL_SHA256 (0x02): HMAC-SHA256-256, 32-byte values.
    Sha256,
}

impl HashProtocol {
    /// Its bit in a Hash Protocol Bitmask (2.2.6, 2.2.7).
    pub const fn bit(self) -> u8 {
        match self {
            Self::Sha1 => 0x01,
            Self::Sha256 => 0x02,
        }
    }

    /// The protocol a Crypto Binding attribute names: exactly one known bit
    /// (2.2.7), else `None`.
    pub const fn from_bitmask(bitmask: HashBitmask) -> Option<Self> {
        match bitmask.0 {
            0x01 => Some(Self::Sha1),
            0x02 => Some(Self::Sha256),
            _ => None,
        }
    }

    /// Length of the hash, the CMK and the meaningful part of the MAC and
    /// certificate-hash fields: 20 for SHA1, 32 for SHA256.
    pub(crate) const fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
        }
    }
}

/// Hash Protocol Bitmask (MS-SSTP 2.2.6, 2.2.7): in a Crypto Binding
/// Request the hashes the server accepts, in a Crypto Binding the one the
/// client chose. Bit 0 is SHA1, bit 1 SHA256; the other bits are kept as
/// received.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct HashBitmask(pub u8);

impl HashBitmask {
    /// `CERT_HASH_PROTOCOL_SHA1` only.
    pub const SHA1: Self = Self(0x01);
    /// `CERT_HASH_PROTOCOL_SHA256` only.
    pub const SHA256: Self = Self(0x02);
    /// Both, as sstpd and RRAS offer.
    pub const SHA1_AND_SHA256: Self = Self(0x03);

    /// The bitmask holding `protocol` alone.
    pub const fn only(protocol: HashProtocol) -> Self {
        Self(protocol.bit())
    }

    /// Whether `protocol` is in the set.
    pub const fn contains(self, protocol: HashProtocol) -> bool {
        self.0 & protocol.bit() != 0
    }

    /// The protocol a client supporting `supported` must choose: SHA256 when
    /// both sides allow it (MS-SSTP 2.2.6, 3.2.5.3.2), else SHA1, else none
    /// (and the client aborts).
    pub const fn choose(self, supported: Self) -> Option<HashProtocol> {
        let common = Self(self.0 & supported.0);
        if common.contains(HashProtocol::Sha256) {
            Some(HashProtocol::Sha256)
        } else if common.contains(HashProtocol::Sha1) {
            Some(HashProtocol::Sha1)
        } else {
            None
        }
    }
}

impl fmt::Debug for HashBitmask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HashBitmask({:#04x}", self.0)?;
        if self.contains(HashProtocol::Sha1) {
            f.write_str(" SHA1")?;
        }
        if self.contains(HashProtocol::Sha256) {
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
pub(crate) enum EncodeError {
    /// The packet would exceed [`MAX_PACKET_LEN`].
    #[error("SSTP packet of {len} bytes exceeds the maximum of 4095")]
    TooLong { len: usize },
    /// The caller's buffer (or its headroom) is too small.
    #[error("buffer too small for SSTP packet: need {needed} bytes, have {available}")]
    BufferTooSmall { needed: usize, available: usize },
}

#[cfg(test)]
mod tests;
