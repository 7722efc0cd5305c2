//! The RADIUS packet (RFC 2865 §3): Code, Identifier, Length,
//! Authenticator, then attributes (§5) to the Length. Parsing checks every
//! length before reading and never panics; emitting refuses what does not
//! fit rather than truncating.

use std::fmt;

use zeroize::Zeroizing;

use crate::attr;
use crate::attribute::{Attribute, ValueError};
use crate::crypt;

/// The header: Code, Identifier, Length (2) and the 16-byte Authenticator.
pub const HEADER_LEN: usize = 20;
/// The largest packet, Length included (RFC 2865 §3).
pub const MAX_PACKET_LEN: usize = 4096;
/// The longest attribute value: the Length octet counts the two header
/// octets too (RFC 2865 §5).
pub const MAX_ATTRIBUTE_VALUE_LEN: usize = 253;

/// The packet's Code (RFC 2865 §3, RFC 2866 §3, RFC 5997 §2, RFC 5176
/// §2.3). Any other value is refused when parsing: RFC 2865 §3 says a
/// packet with an invalid Code is silently discarded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    /// 1 (RFC 2865 §4.1).
    AccessRequest,
    /// 2 (RFC 2865 §4.2).
    AccessAccept,
    /// 3 (RFC 2865 §4.3).
    AccessReject,
    /// 4 (RFC 2866 §4.1).
    AccountingRequest,
    /// 5 (RFC 2866 §4.2).
    AccountingResponse,
    /// 11 (RFC 2865 §4.4).
    AccessChallenge,
    /// 12 (RFC 5997 §2).
    StatusServer,
    /// 40 (RFC 5176 §2.1).
    DisconnectRequest,
    /// 41 (RFC 5176 §2.1).
    DisconnectAck,
    /// 42 (RFC 5176 §2.1).
    DisconnectNak,
    /// 43 (RFC 5176 §2.2).
    CoaRequest,
    /// 44 (RFC 5176 §2.2).
    CoaAck,
    /// 45 (RFC 5176 §2.2).
    CoaNak,
}

impl Code {
    /// The code for this octet, if it is one of those above.
    pub const fn from_u8(value: u8) -> Option<Self> {
        Some(match value {
            1 => Self::AccessRequest,
            2 => Self::AccessAccept,
            3 => Self::AccessReject,
            4 => Self::AccountingRequest,
            5 => Self::AccountingResponse,
            11 => Self::AccessChallenge,
            12 => Self::StatusServer,
            40 => Self::DisconnectRequest,
            41 => Self::DisconnectAck,
            42 => Self::DisconnectNak,
            43 => Self::CoaRequest,
            44 => Self::CoaAck,
            45 => Self::CoaNak,
            _ => return None,
        })
    }

    /// The octet on the wire.
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::AccessRequest => 1,
            Self::AccessAccept => 2,
            Self::AccessReject => 3,
            Self::AccountingRequest => 4,
            Self::AccountingResponse => 5,
            Self::AccessChallenge => 11,
            Self::StatusServer => 12,
            Self::DisconnectRequest => 40,
            Self::DisconnectAck => 41,
            Self::DisconnectNak => 42,
            Self::CoaRequest => 43,
            Self::CoaAck => 44,
            Self::CoaNak => 45,
        }
    }

    /// The name the RFCs give it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::AccessRequest => "Access-Request",
            Self::AccessAccept => "Access-Accept",
            Self::AccessReject => "Access-Reject",
            Self::AccountingRequest => "Accounting-Request",
            Self::AccountingResponse => "Accounting-Response",
            Self::AccessChallenge => "Access-Challenge",
            Self::StatusServer => "Status-Server",
            Self::DisconnectRequest => "Disconnect-Request",
            Self::DisconnectAck => "Disconnect-ACK",
            Self::DisconnectNak => "Disconnect-NAK",
            Self::CoaRequest => "CoA-Request",
            Self::CoaAck => "CoA-ACK",
            Self::CoaNak => "CoA-NAK",
        }
    }

    /// Whether a client sends this code (and a server answers it).
    pub const fn is_request(self) -> bool {
        matches!(
            self,
            Self::AccessRequest
                | Self::AccountingRequest
                | Self::StatusServer
                | Self::DisconnectRequest
                | Self::CoaRequest
        )
    }

    /// Whether a packet of this code answers a request of code `request`:
    /// Access-Accept, -Reject or -Challenge an Access-Request (RFC 2865
    /// §4), Accounting-Response an Accounting-Request (RFC 2866 §4),
    /// Access-Accept (authentication port) or Accounting-Response
    /// (accounting port) a Status-Server (RFC 5997 §3), ACK or NAK a
    /// Disconnect- or CoA-Request (RFC 5176 §2).
    pub const fn answers(self, request: Self) -> bool {
        matches!(
            (request, self),
            (
                Self::AccessRequest,
                Self::AccessAccept | Self::AccessReject | Self::AccessChallenge
            ) | (Self::AccountingRequest, Self::AccountingResponse)
                | (
                    Self::StatusServer,
                    Self::AccessAccept | Self::AccountingResponse
                )
                | (
                    Self::DisconnectRequest,
                    Self::DisconnectAck | Self::DisconnectNak
                )
                | (Self::CoaRequest, Self::CoaAck | Self::CoaNak)
        )
    }

    /// Whether the Request Authenticator of this request code is computed
    /// from the packet and the secret (Accounting-Request, RFC 2866 §3;
    /// Disconnect- and CoA-Request, RFC 5176 §2.3) rather than random
    /// (Access-Request, Status-Server).
    pub(crate) const fn has_computed_authenticator(self) -> bool {
        matches!(
            self,
            Self::AccountingRequest | Self::DisconnectRequest | Self::CoaRequest
        )
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A RADIUS packet: the header fields and the attributes in order.
///
/// [`parse`](Self::parse) and [`emit`](Self::emit) are exact inverses on the
/// bytes up to the Length: an emitted parse is the input without its
/// padding. Neither checks an authenticator; [`verify_response`](crate::verify_response)
/// and [`verify_request`](crate::verify_request) do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// The Code.
    pub code: Code,
    /// The Identifier that matches an answer to its request.
    pub identifier: u8,
    /// The Request or Response Authenticator, as on the wire.
    pub authenticator: [u8; 16],
    /// The attributes, in order, duplicates kept.
    pub attributes: Vec<Attribute>,
}

/// Bytes that are not a RADIUS packet (RFC 2865 §3). Whoever sent them is
/// at fault; RFC 2865 says to discard them silently.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Fewer bytes than a header.
    #[error("{0} bytes are too few for a RADIUS packet (the header alone is 20)")]
    TooShort(usize),
    /// A Length field outside 20..=4096.
    #[error("the Length field says {0}, outside RADIUS's 20 to 4096")]
    BadLength(usize),
    /// A datagram shorter than its Length field.
    #[error("the packet says it is {length} bytes long but only {received} arrived")]
    Truncated {
        /// The Length field.
        length: usize,
        /// The bytes received.
        received: usize,
    },
    /// A Code this crate does not know.
    #[error("code {0} is not a RADIUS packet type this client knows")]
    UnknownCode(u8),
    /// An attribute with a Length under 2, or one that runs past the
    /// packet's Length (RFC 2865 §5).
    #[error("the attribute at offset {offset} has a bad length: {why}")]
    BadAttribute {
        /// Where the attribute starts, from the start of the packet.
        offset: usize,
        /// What is wrong with it.
        why: &'static str,
    },
}

/// What the caller asked for does not fit in a RADIUS packet. The caller is
/// at fault; nothing was truncated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// The packet would be longer than 4096 bytes (RFC 2865 §3).
    #[error("the packet would be {0} bytes long, over RADIUS's 4096")]
    TooLarge(usize),
    /// An attribute value over 253 bytes (RFC 2865 §5).
    #[error("attribute {ty} has a {len}-byte value, over the 253 an attribute holds")]
    AttributeTooLong {
        /// The attribute's type.
        ty: u8,
        /// The value's length.
        len: usize,
    },
    /// A User-Password over 128 bytes (RFC 2865 §5.2).
    #[error("the password is {0} bytes long, over the 128 RADIUS can carry")]
    PasswordTooLong(usize),
    /// A User-Password in a request other than an Access-Request: it is
    /// hidden with the random Request Authenticator only an Access-Request
    /// has (RFC 2865 §5.2).
    #[error("a User-Password can only be sent in an Access-Request, not a {0}")]
    PasswordNotAllowed(Code),
    /// A Message-Authenticator given by the caller: the encoder computes it.
    #[error("the encoder adds the Message-Authenticator itself; do not add one")]
    MessageAuthenticatorGiven,
    /// A response whose code does not answer the request's.
    #[error("a {response} does not answer a {request}")]
    NotAnAnswer {
        /// The request's code.
        request: Code,
        /// The response's code.
        response: Code,
    },
}

impl Packet {
    /// An empty packet.
    pub const fn new(code: Code, identifier: u8, authenticator: [u8; 16]) -> Self {
        Self {
            code,
            identifier,
            authenticator,
            attributes: Vec::new(),
        }
    }

    /// Parses one datagram (RFC 2865 §3): at least the header, a Length of
    /// 20 to 4096 and no more than the datagram holds, a known Code, then
    /// attributes of Length 2 or more that end exactly at the Length.
    /// Bytes past the Length are padding and ignored, as §3 says.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let Some((header, _)) = bytes.split_first_chunk::<HEADER_LEN>() else {
            return Err(ParseError::TooShort(bytes.len()));
        };
        let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
        if !(HEADER_LEN..=MAX_PACKET_LEN).contains(&length) {
            return Err(ParseError::BadLength(length));
        }
        let Some(body) = bytes.get(HEADER_LEN..length) else {
            return Err(ParseError::Truncated {
                length,
                received: bytes.len(),
            });
        };
        let code = Code::from_u8(header[0]).ok_or(ParseError::UnknownCode(header[0]))?;
        let mut authenticator = [0; 16];
        authenticator.copy_from_slice(&header[4..HEADER_LEN]);
        let attributes = AttributeIter::new(body)
            .map(|r| r.map(|(ty, value)| Attribute::new(ty, value)))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            code,
            identifier: header[1],
            authenticator,
            attributes,
        })
    }

    /// The packet's bytes, Length filled in. Refuses (never truncates) a
    /// value over 253 bytes or a packet over 4096.
    pub fn emit(&self) -> Result<Vec<u8>, EmitError> {
        let mut out = Vec::with_capacity(self.encoded_len()?);
        out.push(self.code.to_u8());
        out.push(self.identifier);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.authenticator);
        for a in &self.attributes {
            push_attribute(&mut out, a.ty, &a.value)?;
        }
        finish_length(&mut out)?;
        Ok(out)
    }

    /// Adds an attribute at the end.
    pub fn push(&mut self, attribute: Attribute) {
        self.attributes.push(attribute);
    }

    /// The first attribute of this type.
    pub fn get(&self, ty: u8) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.ty == ty)
    }

    /// Every attribute of this type, in order.
    pub fn get_all(&self, ty: u8) -> impl Iterator<Item = &Attribute> + '_ {
        self.attributes.iter().filter(move |a| a.ty == ty)
    }

    /// The value of the first vendor attribute of this vendor and type,
    /// looking inside every well-formed Vendor-Specific (RFC 2865 §5.26).
    pub fn vendor_attribute(&self, vendor_id: u32, vendor_type: u8) -> Option<&[u8]> {
        self.vendor_attributes(vendor_id, vendor_type).next()
    }

    /// The values of every vendor attribute of this vendor and type, in
    /// order. A malformed Vendor-Specific is skipped.
    pub fn vendor_attributes(
        &self,
        vendor_id: u32,
        vendor_type: u8,
    ) -> impl Iterator<Item = &[u8]> + '_ {
        self.get_all(attr::VENDOR_SPECIFIC)
            .filter_map(|a| a.vsas().ok())
            .flatten()
            .filter(move |v| v.vendor_id == vendor_id && v.vendor_type == vendor_type)
            .map(|v| v.value)
    }

    /// The EAP packet these EAP-Message attributes carry, joined in order
    /// (RFC 3579 §3.1), or `None` if there is none.
    pub fn eap_message(&self) -> Option<Vec<u8>> {
        let mut parts = self.get_all(attr::EAP_MESSAGE).peekable();
        parts.peek()?;
        Some(parts.flat_map(|a| a.value.iter().copied()).collect())
    }

    /// The Event-Timestamp (RFC 2869 §5.3), seconds since 1970 UTC, that a
    /// NAS compares with its clock for the replay window of a DAE request
    /// (RFC 5176 §3.5).
    pub fn event_timestamp(&self) -> Result<Option<u32>, ValueError> {
        self.get(attr::EVENT_TIMESTAMP)
            .map(Attribute::as_u32)
            .transpose()
    }

    /// The cleartext of the first User-Password (RFC 2865 §5.2), hidden with
    /// this packet's authenticator and `secret`: the server's view of an
    /// Access-Request. Trailing NUL padding is removed.
    pub fn user_password(&self, secret: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>, ValueError> {
        self.get(attr::USER_PASSWORD)
            .map(|a| crypt::unhide_password(&a.value, &self.authenticator, secret))
            .transpose()
    }

    fn encoded_len(&self) -> Result<usize, EmitError> {
        let mut len = HEADER_LEN;
        for a in &self.attributes {
            if a.value.len() > MAX_ATTRIBUTE_VALUE_LEN {
                return Err(EmitError::AttributeTooLong {
                    ty: a.ty,
                    len: a.value.len(),
                });
            }
            len += 2 + a.value.len();
        }
        if len > MAX_PACKET_LEN {
            return Err(EmitError::TooLarge(len));
        }
        Ok(len)
    }
}

/// Walks the attributes of a packet body, refusing a Length under 2 or one
/// past the end (RFC 2865 §5).
pub(crate) struct AttributeIter<'a> {
    body: &'a [u8],
    offset: usize,
}

impl<'a> AttributeIter<'a> {
    pub(crate) const fn new(body: &'a [u8]) -> Self {
        Self { body, offset: 0 }
    }
}

impl<'a> Iterator for AttributeIter<'a> {
    type Item = Result<(u8, &'a [u8]), ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.body.get(self.offset..).filter(|r| !r.is_empty())?;
        let offset = HEADER_LEN + self.offset;
        let bad = |why| Some(Err(ParseError::BadAttribute { offset, why }));
        let [ty, len, ..] = rest else {
            self.offset = self.body.len();
            return bad("a lone type octet with no length");
        };
        let len = usize::from(*len);
        if len < 2 {
            self.offset = self.body.len();
            return bad("its Length is under 2");
        }
        let Some(value) = rest.get(2..len) else {
            self.offset = self.body.len();
            return bad("it runs past the end of the packet");
        };
        self.offset += len;
        Some(Ok((*ty, value)))
    }
}

/// Appends one attribute.
pub(crate) fn push_attribute(out: &mut Vec<u8>, ty: u8, value: &[u8]) -> Result<(), EmitError> {
    let len = u8::try_from(value.len() + 2).map_err(|_| EmitError::AttributeTooLong {
        ty,
        len: value.len(),
    })?;
    out.push(ty);
    out.push(len);
    out.extend_from_slice(value);
    Ok(())
}

/// Writes the Length field of a packet in `out`, refusing one over 4096.
pub(crate) fn finish_length(out: &mut [u8]) -> Result<(), EmitError> {
    if out.len() > MAX_PACKET_LEN {
        return Err(EmitError::TooLarge(out.len()));
    }
    // At most 4096, so it fits.
    let len = u16::try_from(out.len()).map_err(|_| EmitError::TooLarge(out.len()))?;
    out[2..4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests;
