//! PAP packets (RFC 1334 §2.2), PPP protocol 0xC023: Authenticate-Request
//! with Peer-ID and Password, and Authenticate-Ack/Nak with a message.

use super::*;

/// A PAP packet (RFC 1334 §2.2).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PapPacket {
    /// Authenticate-Request (RFC 1334 §2.2.1): Peer-ID-Length, Peer-ID,
    /// Passwd-Length, Password. The password is zeroized on drop and not
    /// printed.
    AuthenticateRequest {
        identifier: u8,
        peer_id: Vec<u8>,
        password: Zeroizing<Vec<u8>>,
    },
    /// Authenticate-Ack (RFC 1334 §2.2.2): Msg-Length, Message.
    AuthenticateAck { identifier: u8, message: Vec<u8> },
    /// Authenticate-Nak (RFC 1334 §2.2.2): Msg-Length, Message.
    AuthenticateNak { identifier: u8, message: Vec<u8> },
    /// Any other Code, with the bytes after the header kept raw (for a
    /// Code-Reject). Parsing never yields a known Code here.
    Unknown {
        code: PapCode,
        identifier: u8,
        data: Vec<u8>,
    },
}

impl PapPacket {
    const WHAT: &'static str = "PAP packet";

    /// Parses one PAP packet (bytes past its Length are padding).
    ///
    /// Tolerance: an Ack or Nak whose Length is exactly 4 (no Msg-Length
    /// octet) is read as an empty message.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let (code, identifier, body) = split_header(Self::WHAT, bytes)?;
        let code = PapCode(code);
        match code {
            PapCode::AUTHENTICATE_REQUEST => {
                let (rest, peer_id) = u8_prefixed("PAP Peer-ID", body)?;
                let (rest, password) = u8_prefixed("PAP Password", rest)?;
                no_trailing(Self::WHAT, rest)?;
                Ok(Self::AuthenticateRequest {
                    identifier,
                    peer_id: peer_id.to_vec(),
                    password: Zeroizing::new(password.to_vec()),
                })
            }
            PapCode::AUTHENTICATE_ACK | PapCode::AUTHENTICATE_NAK => {
                let message = if body.is_empty() {
                    Vec::new()
                } else {
                    let (rest, message) = u8_prefixed("PAP Message", body)?;
                    no_trailing(Self::WHAT, rest)?;
                    message.to_vec()
                };
                Ok(if code == PapCode::AUTHENTICATE_ACK {
                    Self::AuthenticateAck {
                        identifier,
                        message,
                    }
                } else {
                    Self::AuthenticateNak {
                        identifier,
                        message,
                    }
                })
            }
            _ => Ok(Self::Unknown {
                code,
                identifier,
                data: body.to_vec(),
            }),
        }
    }

    /// The Code of this packet.
    pub(crate) const fn code(&self) -> PapCode {
        match self {
            Self::AuthenticateRequest { .. } => PapCode::AUTHENTICATE_REQUEST,
            Self::AuthenticateAck { .. } => PapCode::AUTHENTICATE_ACK,
            Self::AuthenticateNak { .. } => PapCode::AUTHENTICATE_NAK,
            Self::Unknown { code, .. } => *code,
        }
    }

    /// The Identifier of this packet.
    pub(crate) const fn identifier(&self) -> u8 {
        match self {
            Self::AuthenticateRequest { identifier, .. }
            | Self::AuthenticateAck { identifier, .. }
            | Self::AuthenticateNak { identifier, .. }
            | Self::Unknown { identifier, .. } => *identifier,
        }
    }

    /// Appends the wire form.
    pub(crate) fn emit(&self, out: &mut Vec<u8>) {
        emit_header(out, self.code().0, self.identifier(), self.body_len());
        match self {
            Self::AuthenticateRequest {
                peer_id, password, ..
            } => {
                push_u8_prefixed(out, peer_id);
                push_u8_prefixed(out, password);
            }
            Self::AuthenticateAck { message, .. } | Self::AuthenticateNak { message, .. } => {
                push_u8_prefixed(out, message);
            }
            Self::Unknown { data, .. } => out.extend_from_slice(data),
        }
    }

    /// Length of the wire form.
    pub(crate) fn buffer_len(&self) -> usize {
        HEADER_LEN + self.body_len()
    }

    fn body_len(&self) -> usize {
        match self {
            Self::AuthenticateRequest {
                peer_id, password, ..
            } => u8_prefixed_len(peer_id) + u8_prefixed_len(password),
            Self::AuthenticateAck { message, .. } | Self::AuthenticateNak { message, .. } => {
                u8_prefixed_len(message)
            }
            Self::Unknown { data, .. } => data.len(),
        }
    }
}
