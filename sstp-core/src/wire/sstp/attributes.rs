//! SSTP attributes (MS-SSTP 2.2.4–2.2.8): Encapsulated Protocol ID (2.2.5),
//! Crypto Binding Request (2.2.6), Crypto Binding (2.2.7) and Status Info
//! (2.2.8), the generic [`Attribute`], and the Call Connected MAC input
//! (3.2.5.2).

use super::*;

/// Encapsulated Protocol ID attribute (MS-SSTP 2.2.5): the protocol the client
/// will carry. Always 6 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct EncapsulatedProtocolId {
    /// Protocol ID; SSTP version 1 defines only [`ProtocolId::PPP`].
    pub protocol_id: ProtocolId,
}

impl EncapsulatedProtocolId {
    /// Length of the attribute, header included (2.2.5: "MUST be set to 0x006").
    pub(crate) const LEN: usize = 6;
    const WHAT: &'static str = "Encapsulated Protocol ID attribute";

    /// Parses exactly one 6-byte attribute.
    #[cfg(test)]
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
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
    pub(crate) fn emit(&self, out: &mut Vec<u8>) {
        emit_attribute_header(out, AttributeId::ENCAPSULATED_PROTOCOL_ID, Self::LEN);
        out.extend_from_slice(&self.protocol_id.0.to_be_bytes());
    }

    /// Always [`Self::LEN`].
    pub(crate) const fn buffer_len(&self) -> usize {
        Self::LEN
    }
}

/// Crypto Binding Request attribute (MS-SSTP 2.2.6): the server's nonce and the
/// hashes it accepts, sent in the Call Connect Acknowledge. Always 40 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct CryptoBindingRequest {
    /// Hash Protocol Bitmask. The server must set at least one bit (2.2.6);
    /// the client checks that when it chooses ([`HashBitmask::choose`]).
    pub hash_bitmask: HashBitmask,
    /// Nonce, echoed in the client's Crypto Binding.
    pub nonce: [u8; 32],
}

impl CryptoBindingRequest {
    /// Length of the attribute, header included (2.2.6: "MUST be 40").
    pub(crate) const LEN: usize = 40;
    const WHAT: &'static str = "Crypto Binding Request attribute";

    /// Parses exactly one 40-byte attribute.
    #[cfg(test)]
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
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
    pub(crate) fn emit(&self, out: &mut Vec<u8>) {
        emit_attribute_header(out, AttributeId::CRYPTO_BINDING_REQ, Self::LEN);
        out.extend_from_slice(&[0, 0, 0, self.hash_bitmask.0]);
        out.extend_from_slice(&self.nonce);
    }

    /// Always [`Self::LEN`].
    pub(crate) const fn buffer_len(&self) -> usize {
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
pub(crate) struct CryptoBinding {
    /// The hash the client chose from the server's bitmask.
    pub hash_protocol: HashBitmask,
    /// The nonce of the server's Crypto Binding Request.
    pub nonce: [u8; 32],
    /// Hash of the server's certificate (DER), zero-padded to 32 bytes.
    pub cert_hash: [u8; 32],
    /// Compound MAC (3.2.5.2), zero-padded to 32 bytes.
    pub compound_mac: [u8; 32],
}

impl CryptoBinding {
    /// Length of the attribute, header included (2.2.7: "MUST be 104").
    pub(crate) const LEN: usize = 104;
    const WHAT: &'static str = "Crypto Binding attribute";

    /// Parses exactly one 104-byte attribute.
    #[cfg(test)]
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
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
            hash_protocol: HashBitmask(hash_protocol),
            nonce,
            cert_hash,
            compound_mac,
        })
    }

    /// Appends the wire form.
    pub(crate) fn emit(&self, out: &mut Vec<u8>) {
        emit_attribute_header(out, AttributeId::CRYPTO_BINDING, Self::LEN);
        out.extend_from_slice(&[0, 0, 0, self.hash_protocol.0]);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.cert_hash);
        out.extend_from_slice(&self.compound_mac);
    }

    /// Always [`Self::LEN`].
    pub(crate) const fn buffer_len(&self) -> usize {
        Self::LEN
    }

    /// The Call Connected message carrying this binding, byte for byte as
    /// [`Message::CallConnected`] emits it (2.2.11): 112 bytes, SSTP header
    /// included.
    pub(crate) fn call_connected_bytes(&self) -> [u8; CALL_CONNECTED_LEN] {
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
    #[cfg(test)]
    pub(crate) fn call_connected_mac_input(&self) -> [u8; CALL_CONNECTED_LEN] {
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
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn received_mac_input(packet: &[u8]) -> Result<[u8; CALL_CONNECTED_LEN], ParseError> {
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

#[cfg(any(test, feature = "fuzzing"))]
fn zero_mac_field(bytes: &mut [u8; CALL_CONNECTED_LEN]) {
    if let Some(mac) = bytes.get_mut(MAC_RANGE) {
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
    pub(crate) const MIN_LEN: usize = 12;
    /// Largest length of the attribute (64 bytes of AttribValue).
    pub(crate) const MAX_LEN: usize = Self::MIN_LEN + MAX_STATUS_VALUE_LEN;
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
pub(crate) enum Attribute {
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
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
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
    pub(crate) const fn id(&self) -> AttributeId {
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
    pub(crate) fn emit(&self, out: &mut Vec<u8>) {
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
    pub(crate) fn buffer_len(&self) -> usize {
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
    pub(super) fn wire_value(&self) -> Vec<u8> {
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
#[cfg(test)]
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
pub(super) fn next_raw_attribute<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8], ParseError> {
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
pub(super) trait EncodeAttribute {
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
pub(super) fn encode_control<'x, A: EncodeAttribute + 'x>(
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
