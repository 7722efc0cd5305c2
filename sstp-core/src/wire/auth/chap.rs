//! CHAP packets (RFC 1994 §4), PPP protocol 0xC223: Challenge, Response,
//! Success and Failure. Values and messages stay raw bytes here; the
//! MS-CHAPv2 forms of them are in `mschapv2.rs`.

use super::*;

/// A CHAP packet (RFC 1994 §4). Values and messages are raw bytes; read an
/// MS-CHAPv2 value with [`MsChapV2Challenge::parse`] /
/// [`MsChapV2Response::parse`] and an MS-CHAPv2 message with
/// [`MsChapV2Success::parse`] / [`MsChapV2Failure::parse`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChapPacket {
    /// Challenge (RFC 1994 §4.1): Value-Size, Value, Name (the rest).
    Challenge {
        identifier: u8,
        /// 1..=255 bytes (16 for MS-CHAPv2).
        value: Vec<u8>,
        name: Vec<u8>,
    },
    /// Response (RFC 1994 §4.1): Value-Size, Value, Name (the rest).
    Response {
        identifier: u8,
        /// 1..=255 bytes (16 for MD5, 49 for MS-CHAPv2).
        value: Vec<u8>,
        name: Vec<u8>,
    },
    /// Success (RFC 1994 §4.2): Message (the rest; `S=... M=...` for
    /// MS-CHAPv2, RFC 2759 §5).
    Success { identifier: u8, message: Vec<u8> },
    /// Failure (RFC 1994 §4.2): Message (the rest; `E=... R=... C=... V=...
    /// M=...` for MS-CHAPv2, RFC 2759 §6).
    Failure { identifier: u8, message: Vec<u8> },
    /// Any other Code, with the bytes after the header kept raw. Parsing
    /// never yields a known Code here.
    Unknown {
        code: ChapCode,
        identifier: u8,
        data: Vec<u8>,
    },
}

impl ChapPacket {
    const WHAT: &'static str = "CHAP packet";

    /// Parses one CHAP packet (bytes past its Length are padding). A
    /// Value-Size of 0 is rejected (RFC 1994 §4.1: "one or more octets").
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let (code, identifier, body) = split_header(Self::WHAT, bytes)?;
        let code = ChapCode(code);
        Ok(match code {
            ChapCode::CHALLENGE | ChapCode::RESPONSE => {
                let (name, value) = value_and_name("CHAP Value", body)?;
                let (value, name) = (value.to_vec(), name.to_vec());
                if code == ChapCode::CHALLENGE {
                    Self::Challenge {
                        identifier,
                        value,
                        name,
                    }
                } else {
                    Self::Response {
                        identifier,
                        value,
                        name,
                    }
                }
            }
            ChapCode::SUCCESS => Self::Success {
                identifier,
                message: body.to_vec(),
            },
            ChapCode::FAILURE => Self::Failure {
                identifier,
                message: body.to_vec(),
            },
            _ => Self::Unknown {
                code,
                identifier,
                data: body.to_vec(),
            },
        })
    }

    /// The Code of this packet.
    pub(crate) const fn code(&self) -> ChapCode {
        match self {
            Self::Challenge { .. } => ChapCode::CHALLENGE,
            Self::Response { .. } => ChapCode::RESPONSE,
            Self::Success { .. } => ChapCode::SUCCESS,
            Self::Failure { .. } => ChapCode::FAILURE,
            Self::Unknown { code, .. } => *code,
        }
    }

    /// The Identifier of this packet.
    pub(crate) const fn identifier(&self) -> u8 {
        match self {
            Self::Challenge { identifier, .. }
            | Self::Response { identifier, .. }
            | Self::Success { identifier, .. }
            | Self::Failure { identifier, .. }
            | Self::Unknown { identifier, .. } => *identifier,
        }
    }

    /// Appends the wire form.
    pub(crate) fn emit(&self, out: &mut Vec<u8>) {
        emit_header(out, self.code().0, self.identifier(), self.body_len());
        match self {
            Self::Challenge { value, name, .. } | Self::Response { value, name, .. } => {
                push_u8_prefixed(out, value);
                out.extend_from_slice(name);
            }
            Self::Success { message, .. } | Self::Failure { message, .. } => {
                out.extend_from_slice(message);
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
            Self::Challenge { value, name, .. } | Self::Response { value, name, .. } => {
                u8_prefixed_len(value) + name.len()
            }
            Self::Success { message, .. } | Self::Failure { message, .. } => message.len(),
            Self::Unknown { data, .. } => data.len(),
        }
    }
}
