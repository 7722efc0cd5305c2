//! PPP authentication packets: the payload of PPP protocols 0xC023 (PAP,
//! RFC 1334 §2), 0xC223 (CHAP, RFC 1994 §4, with the MS-CHAPv2 value and
//! message formats of RFC 2759 §4–§6) and 0xC227 (EAP, RFC 3748 §4–§5, with
//! EAP-MSCHAPv2 per draft-kamath-pppext-eap-mschapv2-00).
//!
//! All three share the RFC 1661 §5 header: Code (u8), Identifier (u8),
//! Length (u16, ≥ 4, counting the header). Octets past Length are link
//! padding and ignored (RFC 1661 §5, RFC 3748 §4), so `parse` accepts a slice
//! longer than Length; a Length past the end of the slice is an error.
//!
//! Typed values sit inside the generic packets and are parsed on request:
//! a CHAP Challenge/Response value with [`MsChapV2Challenge`] /
//! [`MsChapV2Response`], a CHAP or EAP-MSCHAPv2 success/failure message with
//! [`MsChapV2Success`] / [`MsChapV2Failure`]. The generic packet keeps the
//! raw bytes, so a peer's odd message text never makes the packet itself
//! unreadable.
//!
//! # Emit limits
//!
//! `emit` cannot fail. Fields with a one-octet length (PAP Peer-ID and
//! Password, CHAP and MD5-Challenge values) hold at most 255 bytes, and a
//! packet at most 65535; longer fields are a caller bug (a `debug_assert!`
//! fires) and are cut to the limit so the output still parses. Packets
//! inside SSTP are bounded by the 4095-byte SSTP length long before that.

use nom::IResult;
use nom::Parser;
use nom::multi::length_data;
use nom::number::complete::{be_u8, be_u16};
use zeroize::Zeroizing;

use super::{ParseError, code_space, nom_truncated};

/// Length of the Code/Identifier/Length header (RFC 1661 §5).
pub const HEADER_LEN: usize = 4;

code_space! {
    /// PAP packet Code (RFC 1334 §2.2).
    pub struct PapCode(u8) {
        /// RFC 1334 §2.2.1
        AUTHENTICATE_REQUEST = 1 => "Authenticate-Request",
        /// RFC 1334 §2.2.2
        AUTHENTICATE_ACK = 2 => "Authenticate-Ack",
        /// RFC 1334 §2.2.2
        AUTHENTICATE_NAK = 3 => "Authenticate-Nak",
    }
}

code_space! {
    /// CHAP packet Code (RFC 1994 §4).
    pub struct ChapCode(u8) {
        /// RFC 1994 §4.1
        CHALLENGE = 1 => "Challenge",
        /// RFC 1994 §4.1
        RESPONSE = 2 => "Response",
        /// RFC 1994 §4.2
        SUCCESS = 3 => "Success",
        /// RFC 1994 §4.2
        FAILURE = 4 => "Failure",
    }
}

code_space! {
    /// EAP packet Code (RFC 3748 §4; 5 and 6 from RFC 6696 §5.3, which this
    /// module does not decode).
    pub struct EapCode(u8) {
        /// RFC 3748 §4.1
        REQUEST = 1 => "Request",
        /// RFC 3748 §4.1
        RESPONSE = 2 => "Response",
        /// RFC 3748 §4.2
        SUCCESS = 3 => "Success",
        /// RFC 3748 §4.2
        FAILURE = 4 => "Failure",
        /// RFC 6696 §5.3.1
        INITIATE = 5 => "Initiate",
        /// RFC 6696 §5.3.2
        FINISH = 6 => "Finish",
    }
}

code_space! {
    /// EAP method Type (RFC 3748 §5, IANA "Method Types").
    pub struct EapType(u8) {
        /// RFC 3748 §5.1
        IDENTITY = 1 => "Identity",
        /// RFC 3748 §5.2
        NOTIFICATION = 2 => "Notification",
        /// RFC 3748 §5.3 (Legacy Nak; Response only)
        NAK = 3 => "Nak",
        /// RFC 3748 §5.4
        MD5_CHALLENGE = 4 => "MD5-Challenge",
        /// RFC 3748 §5.5
        OTP = 5 => "One-Time Password",
        /// RFC 3748 §5.6
        GTC = 6 => "Generic Token Card",
        /// RFC 5216
        TLS = 13 => "EAP-TLS",
        /// RFC 5281
        TTLS = 21 => "EAP-TTLS",
        /// draft-josefsson-pppext-eap-tls-eap (PEAP)
        PEAP = 25 => "PEAP",
        /// draft-kamath-pppext-eap-mschapv2
        MSCHAPV2 = 26 => "EAP-MSCHAPv2",
        /// RFC 3748 §5.7
        EXPANDED = 254 => "Expanded",
        /// RFC 3748 §5.8
        EXPERIMENTAL = 255 => "Experimental",
    }
}

code_space! {
    /// EAP-MSCHAPv2 OpCode (draft-kamath-pppext-eap-mschapv2-00 §2).
    pub struct MsChapV2OpCode(u8) {
        /// §2.1
        CHALLENGE = 1 => "Challenge",
        /// §2.2
        RESPONSE = 2 => "Response",
        /// §2.3, §2.4
        SUCCESS = 3 => "Success",
        /// §2.5, §2.6
        FAILURE = 4 => "Failure",
        /// §2.7
        CHANGE_PASSWORD = 7 => "Change-Password",
    }
}

// ---------------------------------------------------------------------------
// PAP
// ---------------------------------------------------------------------------

/// A PAP packet (RFC 1334 §2.2).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PapPacket {
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
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
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
    pub const fn code(&self) -> PapCode {
        match self {
            Self::AuthenticateRequest { .. } => PapCode::AUTHENTICATE_REQUEST,
            Self::AuthenticateAck { .. } => PapCode::AUTHENTICATE_ACK,
            Self::AuthenticateNak { .. } => PapCode::AUTHENTICATE_NAK,
            Self::Unknown { code, .. } => *code,
        }
    }

    /// The Identifier of this packet.
    pub const fn identifier(&self) -> u8 {
        match self {
            Self::AuthenticateRequest { identifier, .. }
            | Self::AuthenticateAck { identifier, .. }
            | Self::AuthenticateNak { identifier, .. }
            | Self::Unknown { identifier, .. } => *identifier,
        }
    }

    /// Appends the wire form.
    pub fn emit(&self, out: &mut Vec<u8>) {
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
    pub fn buffer_len(&self) -> usize {
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

// ---------------------------------------------------------------------------
// CHAP
// ---------------------------------------------------------------------------

/// A CHAP packet (RFC 1994 §4). Values and messages are raw bytes; read an
/// MS-CHAPv2 value with [`MsChapV2Challenge::parse`] /
/// [`MsChapV2Response::parse`] and an MS-CHAPv2 message with
/// [`MsChapV2Success::parse`] / [`MsChapV2Failure::parse`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChapPacket {
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
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
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
    pub const fn code(&self) -> ChapCode {
        match self {
            Self::Challenge { .. } => ChapCode::CHALLENGE,
            Self::Response { .. } => ChapCode::RESPONSE,
            Self::Success { .. } => ChapCode::SUCCESS,
            Self::Failure { .. } => ChapCode::FAILURE,
            Self::Unknown { code, .. } => *code,
        }
    }

    /// The Identifier of this packet.
    pub const fn identifier(&self) -> u8 {
        match self {
            Self::Challenge { identifier, .. }
            | Self::Response { identifier, .. }
            | Self::Success { identifier, .. }
            | Self::Failure { identifier, .. }
            | Self::Unknown { identifier, .. } => *identifier,
        }
    }

    /// Appends the wire form.
    pub fn emit(&self, out: &mut Vec<u8>) {
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
    pub fn buffer_len(&self) -> usize {
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

// ---------------------------------------------------------------------------
// MS-CHAPv2 values and messages (RFC 2759)
// ---------------------------------------------------------------------------

/// The MS-CHAPv2 Challenge value (RFC 2759 §4): the 16-byte authenticator
/// challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MsChapV2Challenge(pub [u8; 16]);

impl MsChapV2Challenge {
    /// Length of the value.
    pub const LEN: usize = 16;

    /// Parses a Challenge Value (exactly 16 bytes).
    pub fn parse(value: &[u8]) -> Result<Self, ParseError> {
        exact_array(value, "MS-CHAPv2 Challenge value").map(Self)
    }

    /// Appends the 16 bytes.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }

    /// Always 16.
    pub const fn buffer_len(&self) -> usize {
        Self::LEN
    }
}

/// The MS-CHAPv2 Response value (RFC 2759 §4), 49 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MsChapV2Response {
    /// Peer-Challenge: 16 random bytes from the peer.
    pub peer_challenge: [u8; 16],
    /// Reserved, sent as zero; kept as received.
    pub reserved: [u8; 8],
    /// NT-Response (RFC 2759 §8.1).
    pub nt_response: [u8; 24],
    /// Flags, sent as zero; kept as received.
    pub flags: u8,
}

impl MsChapV2Response {
    /// Length of the value.
    pub const LEN: usize = 49;

    /// A response with zero Reserved and Flags, as RFC 2759 §4 requires.
    pub const fn new(peer_challenge: [u8; 16], nt_response: [u8; 24]) -> Self {
        Self {
            peer_challenge,
            reserved: [0; 8],
            nt_response,
            flags: 0,
        }
    }

    /// Parses a Response Value (exactly 49 bytes). Non-zero Reserved or
    /// Flags are kept rather than rejected: the RFC only says they are sent
    /// as zero.
    pub fn parse(value: &[u8]) -> Result<Self, ParseError> {
        let bytes: [u8; Self::LEN] = exact_array(value, "MS-CHAPv2 Response value")?;
        let (peer_challenge, rest) = bytes.split_first_chunk::<16>().ok_or(TRUNCATED_RESPONSE)?;
        let (reserved, rest) = rest.split_first_chunk::<8>().ok_or(TRUNCATED_RESPONSE)?;
        let (nt_response, rest) = rest.split_first_chunk::<24>().ok_or(TRUNCATED_RESPONSE)?;
        let &[flags] = rest else {
            return Err(TRUNCATED_RESPONSE);
        };
        Ok(Self {
            peer_challenge: *peer_challenge,
            reserved: *reserved,
            nt_response: *nt_response,
            flags,
        })
    }

    /// Appends the 49 bytes.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.peer_challenge);
        out.extend_from_slice(&self.reserved);
        out.extend_from_slice(&self.nt_response);
        out.push(self.flags);
    }

    /// Always 49.
    pub const fn buffer_len(&self) -> usize {
        Self::LEN
    }
}

/// Unreachable after the exact-length check; named so the parse has no panic path.
const TRUNCATED_RESPONSE: ParseError =
    ParseError::truncated("MS-CHAPv2 Response value", MsChapV2Response::LEN, 0);

/// The MS-CHAPv2 success message (RFC 2759 §5): `S=<auth_string> M=<message>`,
/// the auth string being the 20-byte authenticator response as 40 hex digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsChapV2Success {
    /// The authenticator response (RFC 2759 §8.7).
    pub authenticator_response: [u8; 20],
    /// The text after ` M=`; `None` when the message ends after the hex
    /// digits (some servers omit it).
    pub message: Option<Vec<u8>>,
}

impl MsChapV2Success {
    const WHAT: &'static str = "MS-CHAPv2 Success message";

    /// Parses `S=` + 40 hex digits (either case), then either nothing or
    /// ` M=` and any text. Anything else after the digits is malformed.
    pub fn parse(text: &[u8]) -> Result<Self, ParseError> {
        let rest = text
            .strip_prefix(b"S=")
            .ok_or(ParseError::malformed(Self::WHAT, "does not start with S="))?;
        let (digits, rest) =
            rest.split_at_checked(40)
                .ok_or(ParseError::truncated(Self::WHAT, 42, text.len()))?;
        let authenticator_response = parse_hex(Self::WHAT, digits)?;
        let message = if rest.is_empty() {
            None
        } else {
            let m = rest.strip_prefix(b" M=").ok_or(ParseError::malformed(
                Self::WHAT,
                "expected \" M=\" after S=",
            ))?;
            Some(m.to_vec())
        };
        Ok(Self {
            authenticator_response,
            message,
        })
    }

    /// Appends `S=` + 40 upper-case hex digits, then ` M=` + the message if
    /// there is one.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"S=");
        push_hex_upper(out, &self.authenticator_response);
        if let Some(message) = &self.message {
            out.extend_from_slice(b" M=");
            out.extend_from_slice(message);
        }
    }

    /// Length of the text form.
    pub fn buffer_len(&self) -> usize {
        42 + self.message.as_ref().map_or(0, |m| 3 + m.len())
    }
}

/// The MS-CHAPv2 failure message (RFC 2759 §6):
/// `E=eeeeeeeeee R=r C=cccccccccccccccccccccccccccccccc V=vvvvvvvvvv M=<msg>`.
///
/// Tolerance: E is required; R, C, V and M may be missing (servers send
/// `E=691 R=0` alone, e.g. FreeRADIUS), and E/R/C/V are accepted in any
/// order and with runs of spaces. M must come last, since its text runs to
/// the end. Strict: numbers are plain decimal fitting in u32, R is `0` or
/// `1`, C is exactly 32 hex digits, and no key may repeat or be unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsChapV2Failure {
    /// E: the Windows error code (e.g. [`Self::ERROR_AUTHENTICATION_FAILURE`]).
    pub error: u32,
    /// R: whether the peer may retry.
    pub retry: Option<bool>,
    /// C: the new authenticator challenge for a retry.
    pub challenge: Option<[u8; 16]>,
    /// V: the password-change protocol version (3 per RFC 2759).
    pub version: Option<u32>,
    /// M: text for the user.
    pub message: Option<Vec<u8>>,
}

impl MsChapV2Failure {
    const WHAT: &'static str = "MS-CHAPv2 Failure message";

    /// RFC 2759 §6: ERROR_RESTRICTED_LOGON_HOURS.
    pub const ERROR_RESTRICTED_LOGON_HOURS: u32 = 646;
    /// RFC 2759 §6: ERROR_ACCT_DISABLED.
    pub const ERROR_ACCT_DISABLED: u32 = 647;
    /// RFC 2759 §6: ERROR_PASSWD_EXPIRED.
    pub const ERROR_PASSWD_EXPIRED: u32 = 648;
    /// RFC 2759 §6: ERROR_NO_DIALIN_PERMISSION.
    pub const ERROR_NO_DIALIN_PERMISSION: u32 = 649;
    /// RFC 2759 §6: ERROR_AUTHENTICATION_FAILURE.
    pub const ERROR_AUTHENTICATION_FAILURE: u32 = 691;
    /// RFC 2759 §6: ERROR_CHANGING_PASSWORD.
    pub const ERROR_CHANGING_PASSWORD: u32 = 709;

    /// Parses a failure message (see the type docs for what is tolerated).
    pub fn parse(text: &[u8]) -> Result<Self, ParseError> {
        let mut error = None;
        let mut retry = None;
        let mut challenge = None;
        let mut version = None;
        let mut message = None;
        let mut rest = text;
        loop {
            while let Some(r) = rest.strip_prefix(b" ") {
                rest = r;
            }
            if rest.is_empty() {
                break;
            }
            if let Some(m) = rest.strip_prefix(b"M=") {
                message = Some(m.to_vec());
                break;
            }
            let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
            let (token, after) = rest.split_at_checked(end).unwrap_or((rest, &[]));
            rest = after;
            let duplicate = ParseError::malformed(Self::WHAT, "repeated key");
            match token {
                [b'E', b'=', v @ ..] => {
                    set_once(&mut error, parse_decimal(Self::WHAT, v)?, duplicate)?;
                }
                [b'R', b'=', v @ ..] => {
                    let r = match v {
                        b"0" => false,
                        b"1" => true,
                        _ => return Err(ParseError::malformed(Self::WHAT, "R= is not 0 or 1")),
                    };
                    set_once(&mut retry, r, duplicate)?;
                }
                [b'C', b'=', v @ ..] => {
                    if v.len() != 32 {
                        return Err(ParseError::malformed(Self::WHAT, "C= is not 32 hex digits"));
                    }
                    set_once(&mut challenge, parse_hex(Self::WHAT, v)?, duplicate)?;
                }
                [b'V', b'=', v @ ..] => {
                    set_once(&mut version, parse_decimal(Self::WHAT, v)?, duplicate)?;
                }
                _ => return Err(ParseError::malformed(Self::WHAT, "unknown field")),
            }
        }
        let error = error.ok_or(ParseError::malformed(Self::WHAT, "missing E="))?;
        Ok(Self {
            error,
            retry,
            challenge,
            version,
            message,
        })
    }

    /// Appends the fields present in the RFC's order, C as upper-case hex.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(format!("E={}", self.error).as_bytes());
        if let Some(retry) = self.retry {
            out.extend_from_slice(if retry { b" R=1" } else { b" R=0" });
        }
        if let Some(challenge) = &self.challenge {
            out.extend_from_slice(b" C=");
            push_hex_upper(out, challenge);
        }
        if let Some(version) = self.version {
            out.extend_from_slice(format!(" V={version}").as_bytes());
        }
        if let Some(message) = &self.message {
            out.extend_from_slice(b" M=");
            out.extend_from_slice(message);
        }
    }

    /// Length of the text form.
    pub fn buffer_len(&self) -> usize {
        2 + decimal_len(self.error)
            + self.retry.map_or(0, |_| 4)
            + self.challenge.map_or(0, |_| 3 + 32)
            + self.version.map_or(0, |v| 3 + decimal_len(v))
            + self.message.as_ref().map_or(0, |m| 3 + m.len())
    }
}

// ---------------------------------------------------------------------------
// EAP
// ---------------------------------------------------------------------------

/// An EAP packet (RFC 3748 §4).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EapPacket {
    /// Request (RFC 3748 §4.1): Type and Type-Data.
    Request { identifier: u8, data: EapData },
    /// Response (RFC 3748 §4.1): Type and Type-Data.
    Response { identifier: u8, data: EapData },
    /// Success (RFC 3748 §4.2): Length exactly 4.
    Success { identifier: u8 },
    /// Failure (RFC 3748 §4.2): Length exactly 4.
    Failure { identifier: u8 },
    /// Any other Code (e.g. RFC 6696 Initiate/Finish), bytes after the
    /// header kept raw. Parsing never yields Codes 1–4 here.
    Unknown {
        code: EapCode,
        identifier: u8,
        data: Vec<u8>,
    },
}

impl EapPacket {
    const WHAT: &'static str = "EAP packet";

    /// Parses one EAP packet (bytes past its Length are padding).
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let (code, identifier, body) = split_header(Self::WHAT, bytes)?;
        let code = EapCode(code);
        match code {
            EapCode::SUCCESS | EapCode::FAILURE => {
                if !body.is_empty() {
                    return Err(ParseError::BadLength {
                        what: Self::WHAT,
                        length: HEADER_LEN + body.len(),
                    });
                }
                Ok(if code == EapCode::SUCCESS {
                    Self::Success { identifier }
                } else {
                    Self::Failure { identifier }
                })
            }
            EapCode::REQUEST | EapCode::RESPONSE => {
                let is_request = code == EapCode::REQUEST;
                let data = EapData::parse(is_request, body)?;
                Ok(if is_request {
                    Self::Request { identifier, data }
                } else {
                    Self::Response { identifier, data }
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
    pub const fn code(&self) -> EapCode {
        match self {
            Self::Request { .. } => EapCode::REQUEST,
            Self::Response { .. } => EapCode::RESPONSE,
            Self::Success { .. } => EapCode::SUCCESS,
            Self::Failure { .. } => EapCode::FAILURE,
            Self::Unknown { code, .. } => *code,
        }
    }

    /// The Identifier of this packet.
    pub const fn identifier(&self) -> u8 {
        match self {
            Self::Request { identifier, .. }
            | Self::Response { identifier, .. }
            | Self::Success { identifier }
            | Self::Failure { identifier }
            | Self::Unknown { identifier, .. } => *identifier,
        }
    }

    /// Appends the wire form.
    pub fn emit(&self, out: &mut Vec<u8>) {
        emit_header(out, self.code().0, self.identifier(), self.body_len());
        match self {
            Self::Request { data, .. } | Self::Response { data, .. } => data.emit(out),
            Self::Success { .. } | Self::Failure { .. } => {}
            Self::Unknown { data, .. } => out.extend_from_slice(data),
        }
    }

    /// Length of the wire form.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.body_len()
    }

    fn body_len(&self) -> usize {
        match self {
            Self::Request { data, .. } | Self::Response { data, .. } => data.buffer_len(),
            Self::Success { .. } | Self::Failure { .. } => 0,
            Self::Unknown { data, .. } => data.len(),
        }
    }
}

/// The Type and Type-Data of an EAP Request or Response (RFC 3748 §5).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EapData {
    /// Type 1 (§5.1): the identity, raw bytes (meant to be UTF-8, not checked).
    Identity(Vec<u8>),
    /// Type 2 (§5.2): displayable text, raw bytes.
    Notification(Vec<u8>),
    /// Type 3 (§5.3.1, Response only): the authentication Types the peer
    /// wants instead (0 = none).
    Nak(Vec<EapType>),
    /// Type 4 (§5.4): Value-Size, Value, Name, as in CHAP.
    Md5Challenge {
        /// 1..=255 bytes (16 in a Response).
        value: Vec<u8>,
        name: Vec<u8>,
    },
    /// Type 26: EAP-MSCHAPv2.
    MsChapV2(EapMsChapV2),
    /// Any other Type, including 254 Expanded (§5.7), with its Type-Data
    /// kept raw. Parsing never yields Types 1–4 or 26 here.
    Other { eap_type: EapType, data: Vec<u8> },
}

impl EapData {
    /// Parses Type + Type-Data; EAP-MSCHAPv2 needs the direction.
    fn parse(is_request: bool, body: &[u8]) -> Result<Self, ParseError> {
        let (&eap_type, data) = body.split_first().ok_or(ParseError::truncated(
            EapPacket::WHAT,
            HEADER_LEN + 1,
            HEADER_LEN,
        ))?;
        let eap_type = EapType(eap_type);
        Ok(match eap_type {
            EapType::IDENTITY => Self::Identity(data.to_vec()),
            EapType::NOTIFICATION => Self::Notification(data.to_vec()),
            EapType::NAK => Self::Nak(data.iter().copied().map(EapType).collect()),
            EapType::MD5_CHALLENGE => {
                let (name, value) = value_and_name("EAP MD5-Challenge Value", data)?;
                Self::Md5Challenge {
                    value: value.to_vec(),
                    name: name.to_vec(),
                }
            }
            EapType::MSCHAPV2 => Self::MsChapV2(if is_request {
                EapMsChapV2::parse_request(data)?
            } else {
                EapMsChapV2::parse_response(data)?
            }),
            _ => Self::Other {
                eap_type,
                data: data.to_vec(),
            },
        })
    }

    /// The EAP Type.
    pub const fn eap_type(&self) -> EapType {
        match self {
            Self::Identity(_) => EapType::IDENTITY,
            Self::Notification(_) => EapType::NOTIFICATION,
            Self::Nak(_) => EapType::NAK,
            Self::Md5Challenge { .. } => EapType::MD5_CHALLENGE,
            Self::MsChapV2(_) => EapType::MSCHAPV2,
            Self::Other { eap_type, .. } => *eap_type,
        }
    }

    /// Appends Type and Type-Data.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.eap_type().0);
        match self {
            Self::Identity(data) | Self::Notification(data) | Self::Other { data, .. } => {
                out.extend_from_slice(data);
            }
            Self::Nak(types) => out.extend(types.iter().map(|t| t.0)),
            Self::Md5Challenge { value, name } => {
                push_u8_prefixed(out, value);
                out.extend_from_slice(name);
            }
            Self::MsChapV2(m) => m.emit(out),
        }
    }

    /// Length of Type and Type-Data.
    pub fn buffer_len(&self) -> usize {
        1 + match self {
            Self::Identity(data) | Self::Notification(data) | Self::Other { data, .. } => {
                data.len()
            }
            Self::Nak(types) => types.len(),
            Self::Md5Challenge { value, name } => u8_prefixed_len(value) + name.len(),
            Self::MsChapV2(m) => m.buffer_len(),
        }
    }
}

/// EAP-MSCHAPv2 Type-Data (draft-kamath-pppext-eap-mschapv2-00 §2): OpCode,
/// then for most OpCodes MS-CHAPv2-ID, MS-Length and data.
///
/// # MS-Length tolerance
///
/// MS-Length should equal the EAP Length − 5 (OpCode to the end). Here the
/// EAP Length decides where the data ends, and an MS-Length that disagrees is
/// accepted and kept in `ms_length_mismatch` (so the packet round-trips
/// byte for byte and the engine can log it). This follows what deployed
/// stacks do: hostapd's server never reads MS-Length
/// (`src/eap_server/eap_server_mschapv2.c`), and wpa_supplicant checks it but
/// by default ignores a mismatch because "some authentication servers use
/// invalid ms_len" (`eap_mschapv2_check_mslen`, `eap_workaround`); FreeRADIUS
/// takes the Name length from MS-Length within loose bounds. Parsing only
/// sets `ms_length_mismatch` to `Some` when the value differs; emitting
/// writes the consistent value when it is `None`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EapMsChapV2 {
    /// Request, OpCode 1 (§2.1): Value-Size 16, Challenge, Name.
    Challenge {
        ms_chapv2_id: u8,
        challenge: MsChapV2Challenge,
        name: Vec<u8>,
        ms_length_mismatch: Option<u16>,
    },
    /// Response, OpCode 2 (§2.2): Value-Size 49, Response, Name.
    Response {
        ms_chapv2_id: u8,
        response: MsChapV2Response,
        name: Vec<u8>,
        ms_length_mismatch: Option<u16>,
    },
    /// Request, OpCode 3 (§2.3): the success message, raw (read it with
    /// [`MsChapV2Success::parse`]).
    SuccessRequest {
        ms_chapv2_id: u8,
        message: Vec<u8>,
        ms_length_mismatch: Option<u16>,
    },
    /// Response, OpCode 3 (§2.4): the OpCode alone. Bytes after it, which
    /// the draft does not define, are kept in `extra` (hostapd ignores
    /// them too).
    SuccessResponse { extra: Vec<u8> },
    /// Request, OpCode 4 (§2.5): the failure message, raw (read it with
    /// [`MsChapV2Failure::parse`]).
    FailureRequest {
        ms_chapv2_id: u8,
        message: Vec<u8>,
        ms_length_mismatch: Option<u16>,
    },
    /// Response, OpCode 4 (§2.6): the OpCode alone, `extra` as for
    /// [`Self::SuccessResponse`].
    FailureResponse { extra: Vec<u8> },
    /// Response, OpCode 7 (§2.7): Change-Password data, raw (encrypted
    /// password and hash, peer challenge, NT-Response, flags).
    ChangePassword {
        ms_chapv2_id: u8,
        data: Vec<u8>,
        ms_length_mismatch: Option<u16>,
    },
    /// An OpCode not defined for this direction, with everything after the
    /// OpCode kept raw.
    Other {
        op_code: MsChapV2OpCode,
        data: Vec<u8>,
    },
}

impl EapMsChapV2 {
    const WHAT: &'static str = "EAP-MSCHAPv2 data";
    /// OpCode, MS-CHAPv2-ID, MS-Length.
    const MS_HEADER_LEN: usize = 4;

    /// Parses the Type-Data of an EAP Request of Type 26 (from the OpCode).
    pub fn parse_request(data: &[u8]) -> Result<Self, ParseError> {
        let (&op, rest) = data
            .split_first()
            .ok_or(ParseError::truncated(Self::WHAT, 1, 0))?;
        let op_code = MsChapV2OpCode(op);
        Ok(match op_code {
            MsChapV2OpCode::CHALLENGE => {
                let (ms_chapv2_id, ms_length_mismatch, body) = ms_header(data)?;
                let (name, value) = value_and_name("EAP-MSCHAPv2 Challenge", body)?;
                check_value_size(
                    "EAP-MSCHAPv2 Challenge Value-Size",
                    value,
                    MsChapV2Challenge::LEN,
                )?;
                Self::Challenge {
                    ms_chapv2_id,
                    challenge: MsChapV2Challenge::parse(value)?,
                    name: name.to_vec(),
                    ms_length_mismatch,
                }
            }
            MsChapV2OpCode::SUCCESS => {
                let (ms_chapv2_id, ms_length_mismatch, body) = ms_header(data)?;
                Self::SuccessRequest {
                    ms_chapv2_id,
                    message: body.to_vec(),
                    ms_length_mismatch,
                }
            }
            MsChapV2OpCode::FAILURE => {
                let (ms_chapv2_id, ms_length_mismatch, body) = ms_header(data)?;
                Self::FailureRequest {
                    ms_chapv2_id,
                    message: body.to_vec(),
                    ms_length_mismatch,
                }
            }
            _ => Self::Other {
                op_code,
                data: rest.to_vec(),
            },
        })
    }

    /// Parses the Type-Data of an EAP Response of Type 26 (from the OpCode).
    pub fn parse_response(data: &[u8]) -> Result<Self, ParseError> {
        let (&op, rest) = data
            .split_first()
            .ok_or(ParseError::truncated(Self::WHAT, 1, 0))?;
        let op_code = MsChapV2OpCode(op);
        Ok(match op_code {
            MsChapV2OpCode::RESPONSE => {
                let (ms_chapv2_id, ms_length_mismatch, body) = ms_header(data)?;
                let (name, value) = value_and_name("EAP-MSCHAPv2 Response", body)?;
                check_value_size(
                    "EAP-MSCHAPv2 Response Value-Size",
                    value,
                    MsChapV2Response::LEN,
                )?;
                Self::Response {
                    ms_chapv2_id,
                    response: MsChapV2Response::parse(value)?,
                    name: name.to_vec(),
                    ms_length_mismatch,
                }
            }
            MsChapV2OpCode::SUCCESS => Self::SuccessResponse {
                extra: rest.to_vec(),
            },
            MsChapV2OpCode::FAILURE => Self::FailureResponse {
                extra: rest.to_vec(),
            },
            MsChapV2OpCode::CHANGE_PASSWORD => {
                let (ms_chapv2_id, ms_length_mismatch, body) = ms_header(data)?;
                Self::ChangePassword {
                    ms_chapv2_id,
                    data: body.to_vec(),
                    ms_length_mismatch,
                }
            }
            _ => Self::Other {
                op_code,
                data: rest.to_vec(),
            },
        })
    }

    /// The OpCode.
    pub const fn op_code(&self) -> MsChapV2OpCode {
        match self {
            Self::Challenge { .. } => MsChapV2OpCode::CHALLENGE,
            Self::Response { .. } => MsChapV2OpCode::RESPONSE,
            Self::SuccessRequest { .. } | Self::SuccessResponse { .. } => MsChapV2OpCode::SUCCESS,
            Self::FailureRequest { .. } | Self::FailureResponse { .. } => MsChapV2OpCode::FAILURE,
            Self::ChangePassword { .. } => MsChapV2OpCode::CHANGE_PASSWORD,
            Self::Other { op_code, .. } => *op_code,
        }
    }

    /// The MS-CHAPv2-ID, for the OpCodes that carry one.
    pub const fn ms_chapv2_id(&self) -> Option<u8> {
        match self {
            Self::Challenge { ms_chapv2_id, .. }
            | Self::Response { ms_chapv2_id, .. }
            | Self::SuccessRequest { ms_chapv2_id, .. }
            | Self::FailureRequest { ms_chapv2_id, .. }
            | Self::ChangePassword { ms_chapv2_id, .. } => Some(*ms_chapv2_id),
            Self::SuccessResponse { .. } | Self::FailureResponse { .. } | Self::Other { .. } => {
                None
            }
        }
    }

    /// Appends the Type-Data (from the OpCode).
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.op_code().0);
        let len = self.buffer_len();
        let header = |out: &mut Vec<u8>, id: u8, mismatch: &Option<u16>| {
            out.push(id);
            let ms_length = mismatch.unwrap_or_else(|| saturating_u16(len));
            out.extend_from_slice(&ms_length.to_be_bytes());
        };
        match self {
            Self::Challenge {
                ms_chapv2_id,
                challenge,
                name,
                ms_length_mismatch,
            } => {
                header(out, *ms_chapv2_id, ms_length_mismatch);
                out.push(MsChapV2Challenge::LEN as u8);
                challenge.emit(out);
                out.extend_from_slice(name);
            }
            Self::Response {
                ms_chapv2_id,
                response,
                name,
                ms_length_mismatch,
            } => {
                header(out, *ms_chapv2_id, ms_length_mismatch);
                out.push(MsChapV2Response::LEN as u8);
                response.emit(out);
                out.extend_from_slice(name);
            }
            Self::SuccessRequest {
                ms_chapv2_id,
                message: data,
                ms_length_mismatch,
            }
            | Self::FailureRequest {
                ms_chapv2_id,
                message: data,
                ms_length_mismatch,
            }
            | Self::ChangePassword {
                ms_chapv2_id,
                data,
                ms_length_mismatch,
            } => {
                header(out, *ms_chapv2_id, ms_length_mismatch);
                out.extend_from_slice(data);
            }
            Self::SuccessResponse { extra: data }
            | Self::FailureResponse { extra: data }
            | Self::Other { data, .. } => out.extend_from_slice(data),
        }
    }

    /// Length of the Type-Data (from the OpCode); MS-Length when consistent.
    pub fn buffer_len(&self) -> usize {
        1 + match self {
            Self::Challenge { name, .. } => 3 + 1 + MsChapV2Challenge::LEN + name.len(),
            Self::Response { name, .. } => 3 + 1 + MsChapV2Response::LEN + name.len(),
            Self::SuccessRequest { message: data, .. }
            | Self::FailureRequest { message: data, .. }
            | Self::ChangePassword { data, .. } => 3 + data.len(),
            Self::SuccessResponse { extra: data }
            | Self::FailureResponse { extra: data }
            | Self::Other { data, .. } => data.len(),
        }
    }
}

/// Splits OpCode, MS-CHAPv2-ID and MS-Length off `data` (which starts at
/// the OpCode). Returns the ID, the MS-Length if it disagrees with
/// `data.len()`, and the bytes after the header.
fn ms_header(data: &[u8]) -> Result<(u8, Option<u16>, &[u8]), ParseError> {
    let (body, (_, ms_chapv2_id, ms_length)) = u8_u8_be16(data).map_err(nom_truncated(
        EapMsChapV2::WHAT,
        EapMsChapV2::MS_HEADER_LEN,
        data.len(),
    ))?;
    let mismatch = (usize::from(ms_length) != data.len()).then_some(ms_length);
    Ok((ms_chapv2_id, mismatch, body))
}

fn check_value_size(what: &'static str, value: &[u8], expected: usize) -> Result<(), ParseError> {
    if value.len() == expected {
        Ok(())
    } else {
        Err(ParseError::InvalidValue {
            what,
            value: u32::try_from(value.len()).unwrap_or(u32::MAX),
        })
    }
}

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

/// Splits the RFC 1661 §5 header off `bytes`: (Code, Identifier, the
/// `Length − 4` bytes after the header). Octets past Length are padding.
fn split_header<'a>(what: &'static str, bytes: &'a [u8]) -> Result<(u8, u8, &'a [u8]), ParseError> {
    let (_, (code, identifier, length)) =
        u8_u8_be16(bytes).map_err(nom_truncated(what, HEADER_LEN, bytes.len()))?;
    let length = usize::from(length);
    if length < HEADER_LEN || length > bytes.len() {
        return Err(ParseError::BadLength { what, length });
    }
    let body = bytes
        .get(HEADER_LEN..length)
        .ok_or(ParseError::BadLength { what, length })?;
    Ok((code, identifier, body))
}

/// Two octets and a big-endian u16: the Code/Identifier/Length header and
/// the OpCode/MS-CHAPv2-ID/MS-Length header have this shape.
fn u8_u8_be16(input: &[u8]) -> IResult<&[u8], (u8, u8, u16)> {
    (be_u8, be_u8, be_u16).parse(input)
}

fn emit_header(out: &mut Vec<u8>, code: u8, identifier: u8, body_len: usize) {
    let length = HEADER_LEN.saturating_add(body_len);
    debug_assert!(
        length <= usize::from(u16::MAX),
        "auth packet longer than 65535 bytes"
    );
    out.push(code);
    out.push(identifier);
    out.extend_from_slice(&saturating_u16(length).to_be_bytes());
}

fn saturating_u16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// Reads a one-octet length and that many bytes: (rest, field).
fn u8_prefixed<'a>(
    what: &'static str,
    input: &'a [u8],
) -> Result<(&'a [u8], &'a [u8]), ParseError> {
    let needed = input.first().map_or(1, |&n| 1 + usize::from(n));
    let parsed: IResult<&[u8], &[u8]> = length_data(be_u8).parse(input);
    parsed.map_err(nom_truncated(what, needed, input.len()))
}

/// CHAP-style Value-Size, Value, Name: returns (name, value). Value-Size 0
/// is rejected (RFC 1994 §4.1).
fn value_and_name<'a>(
    what: &'static str,
    input: &'a [u8],
) -> Result<(&'a [u8], &'a [u8]), ParseError> {
    let (name, value) = u8_prefixed(what, input)?;
    if value.is_empty() {
        return Err(ParseError::InvalidValue { what, value: 0 });
    }
    Ok((name, value))
}

fn no_trailing(what: &'static str, rest: &[u8]) -> Result<(), ParseError> {
    if rest.is_empty() {
        Ok(())
    } else {
        Err(ParseError::TrailingBytes {
            what,
            extra: rest.len(),
        })
    }
}

/// Writes a one-octet length and the field, cut to 255 bytes (see the
/// module docs on emit limits).
fn push_u8_prefixed(out: &mut Vec<u8>, data: &[u8]) {
    debug_assert!(data.len() <= 255, "one-octet length field over 255 bytes");
    let n = data.len().min(255);
    out.push(u8::try_from(n).unwrap_or(u8::MAX));
    out.extend_from_slice(data.get(..n).unwrap_or(data));
}

fn u8_prefixed_len(data: &[u8]) -> usize {
    1 + data.len().min(255)
}

fn exact_array<const N: usize>(bytes: &[u8], what: &'static str) -> Result<[u8; N], ParseError> {
    match <[u8; N]>::try_from(bytes) {
        Ok(array) => Ok(array),
        Err(_) if bytes.len() < N => Err(ParseError::truncated(what, N, bytes.len())),
        Err(_) => Err(ParseError::TrailingBytes {
            what,
            extra: bytes.len() - N,
        }),
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T, duplicate: ParseError) -> Result<(), ParseError> {
    if slot.is_some() {
        return Err(duplicate);
    }
    *slot = Some(value);
    Ok(())
}

/// Exactly `2 * N` hex digits, either case.
fn parse_hex<const N: usize>(what: &'static str, digits: &[u8]) -> Result<[u8; N], ParseError> {
    if digits.len() != 2 * N {
        return Err(ParseError::malformed(what, "wrong number of hex digits"));
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let (Some(hi), Some(lo)) = (
            pair.first().copied().and_then(hex_value),
            pair.get(1).copied().and_then(hex_value),
        ) else {
            return Err(ParseError::malformed(what, "bad hex digit"));
        };
        *byte = (hi << 4) | lo;
    }
    Ok(out)
}

const fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn push_hex_upper(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0x0f)]);
    }
}

/// A plain decimal u32: 1 to 10 ASCII digits, no sign, no overflow.
fn parse_decimal(what: &'static str, digits: &[u8]) -> Result<u32, ParseError> {
    if digits.is_empty() || digits.len() > 10 {
        return Err(ParseError::malformed(what, "bad decimal number"));
    }
    digits.iter().try_fold(0u32, |acc, &c| {
        let d = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            _ => return Err(ParseError::malformed(what, "bad decimal number")),
        };
        acc.checked_mul(10)
            .and_then(|v| v.checked_add(d))
            .ok_or(ParseError::malformed(what, "decimal number too large"))
    })
}

const fn decimal_len(mut n: u32) -> usize {
    let mut len = 1;
    while n >= 10 {
        n /= 10;
        len += 1;
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    /// Decodes a spaced hex fixture.
    fn b(hex: &str) -> Vec<u8> {
        let digits: String = hex.split_whitespace().collect();
        hex::decode(digits).expect("fixture hex")
    }

    fn emit_pap(p: &PapPacket) -> Vec<u8> {
        let mut out = Vec::new();
        p.emit(&mut out);
        assert_eq!(out.len(), p.buffer_len());
        out
    }

    fn emit_chap(p: &ChapPacket) -> Vec<u8> {
        let mut out = Vec::new();
        p.emit(&mut out);
        assert_eq!(out.len(), p.buffer_len());
        out
    }

    fn emit_eap(p: &EapPacket) -> Vec<u8> {
        let mut out = Vec::new();
        p.emit(&mut out);
        assert_eq!(out.len(), p.buffer_len());
        out
    }

    // RFC 2759 §9.2 values used in the MS-CHAPv2 fixtures.
    const AUTH_CHALLENGE: [u8; 16] = [
        0x5b, 0x5d, 0x7c, 0x7d, 0x7b, 0x3f, 0x2f, 0x3e, 0x3c, 0x2c, 0x60, 0x21, 0x32, 0x26, 0x26,
        0x28,
    ];
    const PEER_CHALLENGE: [u8; 16] = [
        0x21, 0x40, 0x23, 0x24, 0x25, 0x5e, 0x26, 0x2a, 0x28, 0x29, 0x5f, 0x2b, 0x3a, 0x33, 0x7c,
        0x7e,
    ];
    const NT_RESPONSE: [u8; 24] = [
        0x82, 0x30, 0x9e, 0xcd, 0x8d, 0x70, 0x8b, 0x5e, 0xa0, 0x8f, 0xaa, 0x39, 0x81, 0xcd, 0x83,
        0x54, 0x42, 0x33, 0x11, 0x4a, 0x3d, 0x85, 0xd6, 0xdf,
    ];
    const AUTHENTICATOR_RESPONSE: [u8; 20] = [
        0x40, 0x7a, 0x55, 0x89, 0x11, 0x5f, 0xd0, 0xd6, 0x20, 0x9f, 0x51, 0x0f, 0xe9, 0xc0, 0x45,
        0x66, 0x93, 0x2c, 0xda, 0x56,
    ];

    // Fixtures. Each `FIXTURE_<NAME>` is also the fuzz seed
    // fuzz/corpus/auth_packets/<name>.bin: a selector byte (0 PAP, 1 CHAP,
    // 2 EAP; see fuzzing/auth.rs) followed by these bytes.

    /// RFC 1334 §2.2.1 Authenticate-Request, id 1, Peer-ID "test", Password
    /// "test123" (the interop README's sstpd user).
    const FIXTURE_PAP_REQUEST: &str = "01 01 00 11 04 74 65 73 74 07 74 65 73 74 31 32 33";
    /// RFC 1334 §2.2.2 Authenticate-Ack, id 1, "Login ok" (pppd's text).
    const FIXTURE_PAP_ACK: &str = "02 01 00 0d 08 4c 6f 67 69 6e 20 6f 6b";
    /// RFC 1334 §2.2.2 Authenticate-Nak, id 1, "Login incorrect" (pppd's text).
    const FIXTURE_PAP_NAK: &str = "03 01 00 14 0f 4c 6f 67 69 6e 20 69 6e 63 6f 72 72 65 63 74";

    /// RFC 1994 §4.1 Challenge with the RFC 2759 §9.2 authenticator
    /// challenge as a 16-byte MS-CHAPv2 value (RFC 2759 §4), Name "sstpd".
    const FIXTURE_CHAP_MSCHAPV2_CHALLENGE: &str =
        "01 02 00 1a 10 5b 5d 7c 7d 7b 3f 2f 3e 3c 2c 60 21 32 26 26 28 73 73 74 70 64";
    /// RFC 1994 §4.1 Response with the RFC 2759 §9.2 peer challenge and
    /// NT-Response as a 49-byte MS-CHAPv2 value (RFC 2759 §4), Name "User".
    const FIXTURE_CHAP_MSCHAPV2_RESPONSE: &str = "02 02 00 3a 31 21 40 23 24 25 5e 26 2a 28 29 5f 2b 3a 33 7c 7e 00 00 00 00 00 00 00 00 82 30 9e cd 8d 70 8b 5e a0 8f aa 39 81 cd 83 54 42 33 11 4a 3d 85 d6 df 00 55 73 65 72";
    /// RFC 1994 §4.2 Success carrying the RFC 2759 §5 message with the
    /// §9.2 authenticator response: "S=407A...DA56 M=Access granted" (pppd's text).
    const FIXTURE_CHAP_MSCHAPV2_SUCCESS: &str = "03 02 00 3f 53 3d 34 30 37 41 35 35 38 39 31 31 35 46 44 30 44 36 32 30 39 46 35 31 30 46 45 39 43 30 34 35 36 36 39 33 32 43 44 41 35 36 20 4d 3d 41 63 63 65 73 73 20 67 72 61 6e 74 65 64";
    /// RFC 1994 §4.2 Failure carrying the RFC 2759 §6 message
    /// "E=691 R=1 C=5B5D...2628 V=3 M=Authentication failure".
    const FIXTURE_CHAP_MSCHAPV2_FAILURE: &str = "04 02 00 4d 45 3d 36 39 31 20 52 3d 31 20 43 3d 35 42 35 44 37 43 37 44 37 42 33 46 32 46 33 45 33 43 32 43 36 30 32 31 33 32 32 36 32 36 32 38 20 56 3d 33 20 4d 3d 41 75 74 68 65 6e 74 69 63 61 74 69 6f 6e 20 66 61 69 6c 75 72 65";
    /// RFC 1994 §4.1 CHAP-MD5 Challenge, id 7, value 00..0f, Name "server".
    const FIXTURE_CHAP_MD5_CHALLENGE: &str =
        "01 07 00 1b 10 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 73 65 72 76 65 72";

    /// RFC 3748 §5.1 Request/Identity, empty prompt.
    const FIXTURE_EAP_REQUEST_IDENTITY: &str = "01 01 00 05 01";
    /// RFC 3748 §5.1 Response/Identity "CORP\User" (Windows sends the domain).
    const FIXTURE_EAP_RESPONSE_IDENTITY: &str = "02 01 00 0e 01 43 4f 52 50 5c 55 73 65 72";
    /// draft-kamath §2.1 Challenge: MS-CHAPv2-ID 2, MS-Length 26, the
    /// RFC 2759 §9.2 challenge, Name "sstpd" (layout as hostapd builds it).
    const FIXTURE_EAP_MSCHAPV2_CHALLENGE: &str = "01 02 00 1f 1a 01 02 00 1a 10 5b 5d 7c 7d 7b 3f 2f 3e 3c 2c 60 21 32 26 26 28 73 73 74 70 64";
    /// draft-kamath §2.2 Response: MS-Length 58, the RFC 2759 §9.2
    /// response, Name "User".
    const FIXTURE_EAP_MSCHAPV2_RESPONSE: &str = "02 02 00 3f 1a 02 02 00 3a 31 21 40 23 24 25 5e 26 2a 28 29 5f 2b 3a 33 7c 7e 00 00 00 00 00 00 00 00 82 30 9e cd 8d 70 8b 5e a0 8f aa 39 81 cd 83 54 42 33 11 4a 3d 85 d6 df 00 55 73 65 72";
    /// draft-kamath §2.3 Success Request "S=407A...DA56 M=OK" (hostapd's
    /// `eap_mschapv2_build_success_req` text).
    const FIXTURE_EAP_MSCHAPV2_SUCCESS_REQUEST: &str = "01 03 00 38 1a 03 02 00 33 53 3d 34 30 37 41 35 35 38 39 31 31 35 46 44 30 44 36 32 30 39 46 35 31 30 46 45 39 43 30 34 35 36 36 39 33 32 43 44 41 35 36 20 4d 3d 4f 4b";
    /// draft-kamath §2.4 Success Response: the OpCode alone.
    const FIXTURE_EAP_MSCHAPV2_SUCCESS_RESPONSE: &str = "02 03 00 06 1a 03";
    /// draft-kamath §2.5 Failure Request with hostapd's
    /// `eap_mschapv2_build_failure_req` text
    /// "E=691 R=0 C=00000000000000000000000000000000 V=3 M=FAILED".
    const FIXTURE_EAP_MSCHAPV2_FAILURE_REQUEST: &str = "01 03 00 42 1a 04 02 00 3d 45 3d 36 39 31 20 52 3d 30 20 43 3d 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 20 56 3d 33 20 4d 3d 46 41 49 4c 45 44";
    /// draft-kamath §2.6 Failure Response: the OpCode alone.
    const FIXTURE_EAP_MSCHAPV2_FAILURE_RESPONSE: &str = "02 03 00 06 1a 04";
    /// RFC 3748 §4.2 Success.
    const FIXTURE_EAP_SUCCESS: &str = "03 04 00 04";
    /// RFC 3748 §4.2 Failure.
    const FIXTURE_EAP_FAILURE: &str = "04 04 00 04";
    /// RFC 3748 §5.3.1 Nak asking for EAP-MSCHAPv2.
    const FIXTURE_EAP_NAK: &str = "02 01 00 06 03 1a";
    /// RFC 5216 §3.1 EAP-TLS Start (flags 0x20), kept raw (SoftEther's
    /// EAP offer, interop README).
    const FIXTURE_EAP_TLS_START: &str = "01 02 00 06 0d 20";
    /// RFC 3748 §5.7 Expanded Type, Vendor-Id 0, Vendor-Type 1, kept raw.
    const FIXTURE_EAP_EXPANDED: &str = "01 02 00 0c fe 00 00 00 00 00 00 01";
    /// RFC 3748 §5.4 MD5-Challenge Request, value 00..0f, Name "server".
    const FIXTURE_EAP_MD5_CHALLENGE: &str =
        "01 05 00 1c 04 10 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 73 65 72 76 65 72";

    const PAP_FIXTURES: [&str; 3] = [FIXTURE_PAP_REQUEST, FIXTURE_PAP_ACK, FIXTURE_PAP_NAK];
    const CHAP_FIXTURES: [&str; 5] = [
        FIXTURE_CHAP_MSCHAPV2_CHALLENGE,
        FIXTURE_CHAP_MSCHAPV2_RESPONSE,
        FIXTURE_CHAP_MSCHAPV2_SUCCESS,
        FIXTURE_CHAP_MSCHAPV2_FAILURE,
        FIXTURE_CHAP_MD5_CHALLENGE,
    ];
    const EAP_FIXTURES: [&str; 14] = [
        FIXTURE_EAP_REQUEST_IDENTITY,
        FIXTURE_EAP_RESPONSE_IDENTITY,
        FIXTURE_EAP_MSCHAPV2_CHALLENGE,
        FIXTURE_EAP_MSCHAPV2_RESPONSE,
        FIXTURE_EAP_MSCHAPV2_SUCCESS_REQUEST,
        FIXTURE_EAP_MSCHAPV2_SUCCESS_RESPONSE,
        FIXTURE_EAP_MSCHAPV2_FAILURE_REQUEST,
        FIXTURE_EAP_MSCHAPV2_FAILURE_RESPONSE,
        FIXTURE_EAP_SUCCESS,
        FIXTURE_EAP_FAILURE,
        FIXTURE_EAP_NAK,
        FIXTURE_EAP_TLS_START,
        FIXTURE_EAP_EXPANDED,
        FIXTURE_EAP_MD5_CHALLENGE,
    ];

    // ----- PAP ------------------------------------------------------------

    #[test]
    fn pap_request_parse_and_emit() {
        let bytes = b(FIXTURE_PAP_REQUEST);
        let p = PapPacket::parse(&bytes).expect("parses");
        assert_eq!(
            p,
            PapPacket::AuthenticateRequest {
                identifier: 1,
                peer_id: b"test".to_vec(),
                password: Zeroizing::new(b"test123".to_vec()),
            }
        );
        assert_eq!(p.code(), PapCode::AUTHENTICATE_REQUEST);
        assert_eq!(p.identifier(), 1);
        assert_eq!(emit_pap(&p), bytes);
        assert!(
            !format!("{p:?}").contains("test123"),
            "password must not print"
        );
    }

    #[test]
    fn pap_ack_nak_parse_and_emit() {
        let ack = PapPacket::parse(&b(FIXTURE_PAP_ACK)).expect("ack");
        assert_eq!(
            ack,
            PapPacket::AuthenticateAck {
                identifier: 1,
                message: b"Login ok".to_vec()
            }
        );
        assert_eq!(emit_pap(&ack), b(FIXTURE_PAP_ACK));
        let nak = PapPacket::parse(&b(FIXTURE_PAP_NAK)).expect("nak");
        assert_eq!(
            nak,
            PapPacket::AuthenticateNak {
                identifier: 1,
                message: b"Login incorrect".to_vec()
            }
        );
        assert_eq!(emit_pap(&nak), b(FIXTURE_PAP_NAK));
    }

    #[test]
    fn pap_ack_without_msg_length_is_an_empty_message() {
        let p = PapPacket::parse(&b("02 09 00 04")).expect("tolerated");
        assert_eq!(
            p,
            PapPacket::AuthenticateAck {
                identifier: 9,
                message: vec![]
            }
        );
        assert_eq!(emit_pap(&p), b("02 09 00 05 00"));
    }

    #[test]
    fn pap_rejects_bad_inner_lengths_and_trailing_bytes() {
        // Peer-ID-Length 5 but only 4 bytes before the end.
        assert!(matches!(
            PapPacket::parse(&b("01 01 00 09 05 74 65 73 74")),
            Err(ParseError::Truncated { .. })
        ));
        // Missing Passwd-Length.
        assert!(matches!(
            PapPacket::parse(&b("01 01 00 09 04 74 65 73 74")),
            Err(ParseError::Truncated { .. })
        ));
        // A byte after the password, inside Length.
        assert_eq!(
            PapPacket::parse(&b("01 01 00 0a 01 61 01 62 ff ff")),
            Err(ParseError::TrailingBytes {
                what: "PAP packet",
                extra: 2
            })
        );
        // Msg-Length 3 with only 2 bytes.
        assert!(matches!(
            PapPacket::parse(&b("02 01 00 07 03 61 62")),
            Err(ParseError::Truncated { .. })
        ));
        // Message followed by junk.
        assert!(matches!(
            PapPacket::parse(&b("03 01 00 07 01 61 62")),
            Err(ParseError::TrailingBytes { extra: 1, .. })
        ));
    }

    #[test]
    fn pap_unknown_code_keeps_bytes() {
        let bytes = b("09 33 00 07 de ad be");
        let p = PapPacket::parse(&bytes).expect("unknown code parses");
        assert_eq!(
            p,
            PapPacket::Unknown {
                code: PapCode(9),
                identifier: 0x33,
                data: b("de ad be")
            }
        );
        assert!(!p.code().is_known());
        assert_eq!(emit_pap(&p), bytes);
    }

    // ----- CHAP -----------------------------------------------------------

    #[test]
    fn chap_mschapv2_challenge() {
        let bytes = b(FIXTURE_CHAP_MSCHAPV2_CHALLENGE);
        let p = ChapPacket::parse(&bytes).expect("parses");
        let ChapPacket::Challenge {
            identifier,
            value,
            name,
        } = &p
        else {
            panic!("not a Challenge: {p:?}");
        };
        assert_eq!(*identifier, 2);
        assert_eq!(name, b"sstpd");
        let challenge = MsChapV2Challenge::parse(value).expect("16-byte value");
        assert_eq!(challenge, MsChapV2Challenge(AUTH_CHALLENGE));
        assert_eq!(emit_chap(&p), bytes);
    }

    #[test]
    fn chap_mschapv2_response() {
        let bytes = b(FIXTURE_CHAP_MSCHAPV2_RESPONSE);
        let p = ChapPacket::parse(&bytes).expect("parses");
        let ChapPacket::Response { value, name, .. } = &p else {
            panic!("not a Response: {p:?}");
        };
        assert_eq!(name, b"User");
        let r = MsChapV2Response::parse(value).expect("49-byte value");
        assert_eq!(r, MsChapV2Response::new(PEER_CHALLENGE, NT_RESPONSE));
        let mut v = Vec::new();
        r.emit(&mut v);
        assert_eq!(&v, value);
        assert_eq!(r.buffer_len(), 49);
        assert_eq!(emit_chap(&p), bytes);
    }

    #[test]
    fn chap_mschapv2_success_and_failure() {
        let p = ChapPacket::parse(&b(FIXTURE_CHAP_MSCHAPV2_SUCCESS)).expect("parses");
        let ChapPacket::Success {
            identifier: 2,
            message,
        } = &p
        else {
            panic!("not a Success: {p:?}");
        };
        let s = MsChapV2Success::parse(message).expect("S= message");
        assert_eq!(s.authenticator_response, AUTHENTICATOR_RESPONSE);
        assert_eq!(s.message.as_deref(), Some(&b"Access granted"[..]));
        assert_eq!(emit_chap(&p), b(FIXTURE_CHAP_MSCHAPV2_SUCCESS));

        let p = ChapPacket::parse(&b(FIXTURE_CHAP_MSCHAPV2_FAILURE)).expect("parses");
        let ChapPacket::Failure { message, .. } = &p else {
            panic!("not a Failure: {p:?}");
        };
        let f = MsChapV2Failure::parse(message).expect("E= message");
        assert_eq!(
            f,
            MsChapV2Failure {
                error: MsChapV2Failure::ERROR_AUTHENTICATION_FAILURE,
                retry: Some(true),
                challenge: Some(AUTH_CHALLENGE),
                version: Some(3),
                message: Some(b"Authentication failure".to_vec()),
            }
        );
        let mut text = Vec::new();
        f.emit(&mut text);
        assert_eq!(&text, message);
        assert_eq!(f.buffer_len(), text.len());
        assert_eq!(emit_chap(&p), b(FIXTURE_CHAP_MSCHAPV2_FAILURE));
    }

    #[test]
    fn chap_md5_challenge() {
        let bytes = b(FIXTURE_CHAP_MD5_CHALLENGE);
        let p = ChapPacket::parse(&bytes).expect("parses");
        assert_eq!(
            p,
            ChapPacket::Challenge {
                identifier: 7,
                value: (0..16).collect(),
                name: b"server".to_vec()
            }
        );
        assert_eq!(emit_chap(&p), bytes);
    }

    #[test]
    fn chap_rejects_bad_value_size() {
        // Value-Size 0.
        assert_eq!(
            ChapPacket::parse(&b("01 01 00 05 00")),
            Err(ParseError::InvalidValue {
                what: "CHAP Value",
                value: 0
            })
        );
        // Value-Size past Length.
        assert!(matches!(
            ChapPacket::parse(&b("02 01 00 07 05 61 62")),
            Err(ParseError::Truncated { .. })
        ));
        // No Value-Size at all.
        assert!(matches!(
            ChapPacket::parse(&b("01 01 00 04")),
            Err(ParseError::Truncated { .. })
        ));
    }

    #[test]
    fn chap_empty_success_and_unknown_code() {
        let p = ChapPacket::parse(&b("03 05 00 04")).expect("empty message");
        assert_eq!(
            p,
            ChapPacket::Success {
                identifier: 5,
                message: vec![]
            }
        );
        let bytes = b("05 05 00 06 aa bb");
        let p = ChapPacket::parse(&bytes).expect("unknown code");
        assert_eq!(p.code(), ChapCode(5));
        assert_eq!(emit_chap(&p), bytes);
    }

    // ----- MS-CHAPv2 values and messages ------------------------------------

    #[test]
    fn mschapv2_values_need_exact_lengths() {
        assert!(matches!(
            MsChapV2Challenge::parse(&[0; 15]),
            Err(ParseError::Truncated { .. })
        ));
        assert!(matches!(
            MsChapV2Challenge::parse(&[0; 17]),
            Err(ParseError::TrailingBytes { extra: 1, .. })
        ));
        assert!(matches!(
            MsChapV2Response::parse(&[0; 48]),
            Err(ParseError::Truncated { .. })
        ));
        assert!(matches!(
            MsChapV2Response::parse(&[0; 50]),
            Err(ParseError::TrailingBytes { extra: 1, .. })
        ));
    }

    #[test]
    fn mschapv2_response_keeps_nonzero_reserved_and_flags() {
        let mut value = [0u8; 49];
        value[16] = 0xaa;
        value[48] = 0x01;
        let r = MsChapV2Response::parse(&value).expect("parses");
        assert_eq!(r.reserved[0], 0xaa);
        assert_eq!(r.flags, 1);
        let mut out = Vec::new();
        r.emit(&mut out);
        assert_eq!(out, value);
    }

    #[test]
    fn success_message_forms() {
        const HEX_UPPER: &str = "407A5589115FD0D6209F510FE9C04566932CDA56";
        let lower = format!("S={}", HEX_UPPER.to_lowercase());
        let s = MsChapV2Success::parse(lower.as_bytes()).expect("lowercase accepted, no M=");
        assert_eq!(s.authenticator_response, AUTHENTICATOR_RESPONSE);
        assert_eq!(s.message, None);
        let mut out = Vec::new();
        s.emit(&mut out);
        assert_eq!(out, format!("S={HEX_UPPER}").into_bytes());
        assert_eq!(s.buffer_len(), 42);

        let with_empty = format!("S={HEX_UPPER} M=");
        let s = MsChapV2Success::parse(with_empty.as_bytes()).expect("empty M=");
        assert_eq!(s.message, Some(vec![]));

        let bad = |t: String| MsChapV2Success::parse(t.as_bytes());
        assert!(matches!(
            bad(format!("s={HEX_UPPER}")),
            Err(ParseError::Malformed { .. })
        ));
        assert!(matches!(
            bad(format!("S={}", &HEX_UPPER[..39])),
            Err(ParseError::Truncated { .. })
        ));
        assert!(matches!(
            bad(format!("S={}G", &HEX_UPPER[..39])),
            Err(ParseError::Malformed { .. })
        ));
        assert!(matches!(
            bad(format!("S={HEX_UPPER}0")),
            Err(ParseError::Malformed { .. })
        ));
        assert!(matches!(
            bad(format!("S={HEX_UPPER} X=y")),
            Err(ParseError::Malformed { .. })
        ));
        assert!(matches!(
            bad(format!("S={HEX_UPPER}M=ok")),
            Err(ParseError::Malformed { .. })
        ));
        assert!(matches!(
            bad(String::new()),
            Err(ParseError::Malformed { .. })
        ));
    }

    #[test]
    fn failure_message_tolerates_missing_and_reordered_parts() {
        // FreeRADIUS's bare form.
        let f = MsChapV2Failure::parse(b"E=691 R=0").expect("parses");
        assert_eq!(
            f,
            MsChapV2Failure {
                error: 691,
                retry: Some(false),
                challenge: None,
                version: None,
                message: None
            }
        );
        let f = MsChapV2Failure::parse(b"E=648").expect("E alone");
        assert_eq!(f.error, MsChapV2Failure::ERROR_PASSWD_EXPIRED);
        assert!(
            matches!(
                MsChapV2Failure::parse(b"V=3 R=1 E=691 c"),
                Err(ParseError::Malformed { .. })
            ),
            "an unknown token is rejected"
        );
        let f = MsChapV2Failure::parse(b"V=3  R=1 E=0691").expect("any order, extra spaces");
        assert_eq!((f.error, f.retry, f.version), (691, Some(true), Some(3)));
        // Lower-case C is accepted; M runs to the end, spaces and all.
        let f = MsChapV2Failure::parse(
            b"E=691 R=1 C=5b5d7c7d7b3f2f3e3c2c602132262628 V=3 M=bad C=00 E=1",
        )
        .expect("parses");
        assert_eq!(f.challenge, Some(AUTH_CHALLENGE));
        assert_eq!(f.message.as_deref(), Some(&b"bad C=00 E=1"[..]));
        let mut out = Vec::new();
        f.emit(&mut out);
        assert_eq!(
            out,
            b"E=691 R=1 C=5B5D7C7D7B3F2F3E3C2C602132262628 V=3 M=bad C=00 E=1".to_vec()
        );
        assert_eq!(f.buffer_len(), out.len());
    }

    #[test]
    fn failure_message_is_strict_on_values() {
        for text in [
            &b""[..],
            b"R=1 V=3",
            b"M=only a message",
            b"E=",
            b"E=69a",
            b"E=-691",
            b"E=4294967296",
            b"E=12345678901",
            b"E=691 E=691",
            b"E=691 R=2",
            b"E=691 R=",
            b"E=691 R=0 R=1",
            b"E=691 C=5B5D7C7D7B3F2F3E3C2C60213226262",
            b"E=691 C=5B5D7C7D7B3F2F3E3C2C6021322626280",
            b"E=691 C=5B5D7C7D7B3F2F3E3C2C60213226262G",
            b"E=691 V=x",
            b"E=691 X=1",
            b"E=691,R=0",
        ] {
            assert!(
                matches!(
                    MsChapV2Failure::parse(text),
                    Err(ParseError::Malformed { .. })
                ),
                "{:?} should be malformed",
                String::from_utf8_lossy(text)
            );
        }
        assert_eq!(
            MsChapV2Failure::parse(b"E=4294967295").map(|f| f.error),
            Ok(u32::MAX)
        );
    }

    // ----- EAP ------------------------------------------------------------

    #[test]
    fn eap_identity_nak_success_failure() {
        let p = EapPacket::parse(&b(FIXTURE_EAP_REQUEST_IDENTITY)).expect("parses");
        assert_eq!(
            p,
            EapPacket::Request {
                identifier: 1,
                data: EapData::Identity(vec![])
            }
        );
        let p = EapPacket::parse(&b(FIXTURE_EAP_RESPONSE_IDENTITY)).expect("parses");
        assert_eq!(
            p,
            EapPacket::Response {
                identifier: 1,
                data: EapData::Identity(b"CORP\\User".to_vec())
            }
        );
        let p = EapPacket::parse(&b(FIXTURE_EAP_NAK)).expect("parses");
        assert_eq!(
            p,
            EapPacket::Response {
                identifier: 1,
                data: EapData::Nak(vec![EapType::MSCHAPV2])
            }
        );
        assert_eq!(
            EapPacket::parse(&b(FIXTURE_EAP_SUCCESS)),
            Ok(EapPacket::Success { identifier: 4 })
        );
        assert_eq!(
            EapPacket::parse(&b(FIXTURE_EAP_FAILURE)),
            Ok(EapPacket::Failure { identifier: 4 })
        );
        let p = EapPacket::parse(&b(FIXTURE_EAP_MD5_CHALLENGE)).expect("parses");
        assert_eq!(
            p,
            EapPacket::Request {
                identifier: 5,
                data: EapData::Md5Challenge {
                    value: (0..16).collect(),
                    name: b"server".to_vec()
                }
            }
        );
    }

    #[test]
    fn eap_success_and_failure_are_exactly_four_bytes() {
        assert_eq!(
            EapPacket::parse(&b("03 01 00 05 00")),
            Err(ParseError::BadLength {
                what: "EAP packet",
                length: 5
            })
        );
        assert!(matches!(
            EapPacket::parse(&b("04 01 00 06 00 00")),
            Err(ParseError::BadLength { length: 6, .. })
        ));
        // Padding past Length is fine.
        assert_eq!(
            EapPacket::parse(&b("03 01 00 04 00 00")),
            Ok(EapPacket::Success { identifier: 1 })
        );
    }

    #[test]
    fn eap_request_needs_a_type() {
        assert!(matches!(
            EapPacket::parse(&b("01 01 00 04")),
            Err(ParseError::Truncated { needed: 5, .. })
        ));
    }

    #[test]
    fn eap_other_types_keep_raw_bytes() {
        for (fixture, ty, data) in [
            (FIXTURE_EAP_TLS_START, EapType::TLS, b("20")),
            (
                FIXTURE_EAP_EXPANDED,
                EapType::EXPANDED,
                b("00 00 00 00 00 00 01"),
            ),
        ] {
            let bytes = b(fixture);
            let p = EapPacket::parse(&bytes).expect("parses");
            assert_eq!(
                p,
                EapPacket::Request {
                    identifier: 2,
                    data: EapData::Other { eap_type: ty, data }
                }
            );
            assert_eq!(emit_eap(&p), bytes);
        }
        let bytes = b("02 02 00 07 63 01 02");
        let p = EapPacket::parse(&bytes).expect("unknown type 99");
        let EapPacket::Response { data, .. } = &p else {
            panic!("{p:?}");
        };
        assert_eq!(data.eap_type(), EapType(99));
        assert_eq!(emit_eap(&p), bytes);
    }

    #[test]
    fn eap_unknown_code_keeps_bytes() {
        let bytes = b("05 01 00 06 01 02");
        let p = EapPacket::parse(&bytes).expect("RFC 6696 Initiate kept raw");
        assert_eq!(
            p,
            EapPacket::Unknown {
                code: EapCode::INITIATE,
                identifier: 1,
                data: b("01 02")
            }
        );
        assert_eq!(emit_eap(&p), bytes);
    }

    #[test]
    fn eap_mschapv2_challenge_and_response() {
        let p = EapPacket::parse(&b(FIXTURE_EAP_MSCHAPV2_CHALLENGE)).expect("parses");
        assert_eq!(
            p,
            EapPacket::Request {
                identifier: 2,
                data: EapData::MsChapV2(EapMsChapV2::Challenge {
                    ms_chapv2_id: 2,
                    challenge: MsChapV2Challenge(AUTH_CHALLENGE),
                    name: b"sstpd".to_vec(),
                    ms_length_mismatch: None,
                })
            }
        );
        let p = EapPacket::parse(&b(FIXTURE_EAP_MSCHAPV2_RESPONSE)).expect("parses");
        let EapPacket::Response {
            data: EapData::MsChapV2(m),
            ..
        } = &p
        else {
            panic!("{p:?}");
        };
        assert_eq!(
            m,
            &EapMsChapV2::Response {
                ms_chapv2_id: 2,
                response: MsChapV2Response::new(PEER_CHALLENGE, NT_RESPONSE),
                name: b"User".to_vec(),
                ms_length_mismatch: None,
            }
        );
        assert_eq!(m.op_code(), MsChapV2OpCode::RESPONSE);
        assert_eq!(m.ms_chapv2_id(), Some(2));
    }

    #[test]
    fn eap_mschapv2_success_and_failure() {
        let p = EapPacket::parse(&b(FIXTURE_EAP_MSCHAPV2_SUCCESS_REQUEST)).expect("parses");
        let EapPacket::Request {
            data: EapData::MsChapV2(EapMsChapV2::SuccessRequest { message, .. }),
            ..
        } = &p
        else {
            panic!("{p:?}");
        };
        let s = MsChapV2Success::parse(message).expect("S= text");
        assert_eq!(s.authenticator_response, AUTHENTICATOR_RESPONSE);
        assert_eq!(s.message.as_deref(), Some(&b"OK"[..]));

        let p = EapPacket::parse(&b(FIXTURE_EAP_MSCHAPV2_FAILURE_REQUEST)).expect("parses");
        let EapPacket::Request {
            data: EapData::MsChapV2(EapMsChapV2::FailureRequest { message, .. }),
            ..
        } = &p
        else {
            panic!("{p:?}");
        };
        let f = MsChapV2Failure::parse(message).expect("E= text");
        assert_eq!(
            (f.error, f.retry, f.challenge, f.version),
            (691, Some(false), Some([0; 16]), Some(3))
        );
        assert_eq!(f.message.as_deref(), Some(&b"FAILED"[..]));

        for (fixture, expected) in [
            (
                FIXTURE_EAP_MSCHAPV2_SUCCESS_RESPONSE,
                EapMsChapV2::SuccessResponse { extra: vec![] },
            ),
            (
                FIXTURE_EAP_MSCHAPV2_FAILURE_RESPONSE,
                EapMsChapV2::FailureResponse { extra: vec![] },
            ),
        ] {
            let p = EapPacket::parse(&b(fixture)).expect("parses");
            assert_eq!(
                p,
                EapPacket::Response {
                    identifier: 3,
                    data: EapData::MsChapV2(expected)
                }
            );
        }
    }

    #[test]
    fn eap_mschapv2_direction_decides_the_opcode_meaning() {
        // OpCode 2 (Response) in a Request and OpCode 1 (Challenge) in a
        // Response are not defined: kept raw.
        let bytes = b("01 09 00 08 1a 02 aa bb");
        let p = EapPacket::parse(&bytes).expect("parses");
        assert_eq!(
            p,
            EapPacket::Request {
                identifier: 9,
                data: EapData::MsChapV2(EapMsChapV2::Other {
                    op_code: MsChapV2OpCode::RESPONSE,
                    data: b("aa bb")
                })
            }
        );
        assert_eq!(emit_eap(&p), bytes);
        let bytes = b("02 09 00 06 1a 01");
        let p = EapPacket::parse(&bytes).expect("parses");
        assert_eq!(
            p,
            EapPacket::Response {
                identifier: 9,
                data: EapData::MsChapV2(EapMsChapV2::Other {
                    op_code: MsChapV2OpCode::CHALLENGE,
                    data: vec![]
                })
            }
        );
        assert_eq!(emit_eap(&p), bytes);
    }

    #[test]
    fn eap_mschapv2_success_response_with_extra_bytes_round_trips() {
        // A peer that adds MS-CHAPv2-ID and MS-Length to its Success Response.
        let bytes = b("02 03 00 09 1a 03 02 00 04");
        let p = EapPacket::parse(&bytes).expect("tolerated");
        assert_eq!(
            p,
            EapPacket::Response {
                identifier: 3,
                data: EapData::MsChapV2(EapMsChapV2::SuccessResponse {
                    extra: b("02 00 04")
                })
            }
        );
        assert_eq!(emit_eap(&p), bytes);
    }

    #[test]
    fn eap_mschapv2_ms_length_mismatch_is_kept() {
        // FIXTURE_EAP_MSCHAPV2_CHALLENGE with MS-Length 0x1b instead of 0x1a.
        let mut bytes = b(FIXTURE_EAP_MSCHAPV2_CHALLENGE);
        bytes[8] = 0x1b;
        let p = EapPacket::parse(&bytes).expect("mismatch tolerated");
        let EapPacket::Request {
            data:
                EapData::MsChapV2(EapMsChapV2::Challenge {
                    name,
                    ms_length_mismatch,
                    ..
                }),
            ..
        } = &p
        else {
            panic!("{p:?}");
        };
        assert_eq!(name, b"sstpd", "the EAP Length decides where the Name ends");
        assert_eq!(*ms_length_mismatch, Some(0x1b));
        assert_eq!(emit_eap(&p), bytes, "round-trips byte for byte");
        // A wildly wrong MS-Length (0) is equally tolerated.
        bytes[7] = 0;
        bytes[8] = 0;
        let p = EapPacket::parse(&bytes).expect("tolerated");
        assert_eq!(emit_eap(&p), bytes);
    }

    #[test]
    fn eap_mschapv2_rejects_wrong_value_sizes_and_short_headers() {
        // Challenge with Value-Size 15.
        assert!(matches!(
            EapMsChapV2::parse_request(&b(
                "01 02 00 14 0f 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
            )),
            Err(ParseError::InvalidValue { value: 15, .. })
        ));
        // Response with Value-Size 16 (FreeRADIUS tolerates this for Cisco
        // NEAT; we do not: there is no NT-Response in it).
        let mut resp = b("02 02 00 15 10");
        resp.extend_from_slice(&[0; 16]);
        assert!(matches!(
            EapMsChapV2::parse_response(&resp),
            Err(ParseError::InvalidValue { value: 16, .. })
        ));
        // Header cut short.
        for short in [&b"\x01"[..], b"\x01\x02", b"\x01\x02\x00"] {
            assert!(matches!(
                EapMsChapV2::parse_request(short),
                Err(ParseError::Truncated { needed: 4, .. })
            ));
        }
        assert!(matches!(
            EapMsChapV2::parse_response(b"\x07\x01"),
            Err(ParseError::Truncated { needed: 4, .. })
        ));
        assert!(matches!(
            EapMsChapV2::parse_request(&[]),
            Err(ParseError::Truncated { .. })
        ));
        assert!(matches!(
            EapMsChapV2::parse_response(&[]),
            Err(ParseError::Truncated { .. })
        ));
    }

    #[test]
    fn eap_mschapv2_change_password_is_raw() {
        let mut data = b("07 05 00 0a");
        data.extend_from_slice(b"abcdef");
        let m = EapMsChapV2::parse_response(&data).expect("parses");
        assert_eq!(
            m,
            EapMsChapV2::ChangePassword {
                ms_chapv2_id: 5,
                data: b"abcdef".to_vec(),
                ms_length_mismatch: None
            }
        );
        let mut out = Vec::new();
        m.emit(&mut out);
        assert_eq!(out, data);
    }

    // ----- Every fixture ----------------------------------------------------

    #[test]
    fn fixtures_emit_byte_for_byte() {
        for f in PAP_FIXTURES {
            assert_eq!(emit_pap(&PapPacket::parse(&b(f)).expect(f)), b(f), "{f}");
        }
        for f in CHAP_FIXTURES {
            assert_eq!(emit_chap(&ChapPacket::parse(&b(f)).expect(f)), b(f), "{f}");
        }
        for f in EAP_FIXTURES {
            assert_eq!(emit_eap(&EapPacket::parse(&b(f)).expect(f)), b(f), "{f}");
        }
    }

    #[test]
    fn fixtures_truncated_at_every_length_fail() {
        for f in PAP_FIXTURES {
            let bytes = b(f);
            for n in 0..bytes.len() {
                assert!(PapPacket::parse(&bytes[..n]).is_err(), "{f} cut at {n}");
            }
        }
        for f in CHAP_FIXTURES {
            let bytes = b(f);
            for n in 0..bytes.len() {
                assert!(ChapPacket::parse(&bytes[..n]).is_err(), "{f} cut at {n}");
            }
        }
        for f in EAP_FIXTURES {
            let bytes = b(f);
            for n in 0..bytes.len() {
                assert!(EapPacket::parse(&bytes[..n]).is_err(), "{f} cut at {n}");
            }
        }
    }

    #[test]
    fn fixtures_ignore_padding_past_length() {
        for f in PAP_FIXTURES {
            let mut padded = b(f);
            let p = PapPacket::parse(&padded).expect(f);
            padded.extend_from_slice(&[0xff, 0, 0x7e]);
            assert_eq!(PapPacket::parse(&padded).as_ref(), Ok(&p), "{f}");
        }
        for f in CHAP_FIXTURES {
            let mut padded = b(f);
            let p = ChapPacket::parse(&padded).expect(f);
            padded.extend_from_slice(&[0xff, 0, 0x7e]);
            assert_eq!(ChapPacket::parse(&padded).as_ref(), Ok(&p), "{f}");
        }
        for f in EAP_FIXTURES {
            let mut padded = b(f);
            let p = EapPacket::parse(&padded).expect(f);
            padded.extend_from_slice(&[0xff, 0, 0x7e]);
            assert_eq!(EapPacket::parse(&padded).as_ref(), Ok(&p), "{f}");
        }
    }

    #[test]
    fn header_length_below_four_or_past_the_end_is_bad() {
        for bytes in [b("01 01 00 03 00"), b("01 01 00 00"), b("01 01 00 06 00")] {
            assert!(matches!(
                PapPacket::parse(&bytes),
                Err(ParseError::BadLength { .. })
            ));
            assert!(matches!(
                ChapPacket::parse(&bytes),
                Err(ParseError::BadLength { .. })
            ));
            assert!(matches!(
                EapPacket::parse(&bytes),
                Err(ParseError::BadLength { .. })
            ));
        }
        assert_eq!(
            EapPacket::parse(&b("01 01 00")),
            Err(ParseError::Truncated {
                what: "EAP packet",
                needed: 4,
                available: 3
            })
        );
    }

    #[test]
    fn code_spaces_name_known_values() {
        assert_eq!(PapCode::AUTHENTICATE_ACK.name(), Some("Authenticate-Ack"));
        assert_eq!(ChapCode(4).name(), Some("Failure"));
        assert_eq!(EapType(26), EapType::MSCHAPV2);
        assert_eq!(format!("{:?}", EapType(200)), "EapType(0xc8)");
        assert_eq!(MsChapV2OpCode::CHANGE_PASSWORD.0, 7);
        assert_eq!(EapCode::from(3u8), EapCode::SUCCESS);
    }

    // ----- Round-trip properties ---------------------------------------------

    fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        vec(any::<u8>(), 0..=max)
    }

    fn value() -> impl Strategy<Value = Vec<u8>> {
        vec(any::<u8>(), 1..=255)
    }

    fn pap() -> impl Strategy<Value = PapPacket> {
        prop_oneof![
            (any::<u8>(), bytes(255), bytes(255)).prop_map(|(identifier, peer_id, pw)| {
                PapPacket::AuthenticateRequest {
                    identifier,
                    peer_id,
                    password: Zeroizing::new(pw),
                }
            }),
            (any::<u8>(), bytes(255)).prop_map(|(identifier, message)| {
                PapPacket::AuthenticateAck {
                    identifier,
                    message,
                }
            }),
            (any::<u8>(), bytes(255)).prop_map(|(identifier, message)| {
                PapPacket::AuthenticateNak {
                    identifier,
                    message,
                }
            }),
            (prop_oneof![Just(0u8), 4u8..=255], any::<u8>(), bytes(300)).prop_map(
                |(code, identifier, data)| PapPacket::Unknown {
                    code: PapCode(code),
                    identifier,
                    data
                }
            ),
        ]
    }

    fn chap() -> impl Strategy<Value = ChapPacket> {
        prop_oneof![
            (any::<u8>(), value(), bytes(300)).prop_map(|(identifier, value, name)| {
                ChapPacket::Challenge {
                    identifier,
                    value,
                    name,
                }
            }),
            (any::<u8>(), value(), bytes(300)).prop_map(|(identifier, value, name)| {
                ChapPacket::Response {
                    identifier,
                    value,
                    name,
                }
            }),
            (any::<u8>(), bytes(300)).prop_map(|(identifier, message)| ChapPacket::Success {
                identifier,
                message
            }),
            (any::<u8>(), bytes(300)).prop_map(|(identifier, message)| ChapPacket::Failure {
                identifier,
                message
            }),
            (prop_oneof![Just(0u8), 5u8..=255], any::<u8>(), bytes(300)).prop_map(
                |(code, identifier, data)| ChapPacket::Unknown {
                    code: ChapCode(code),
                    identifier,
                    data
                }
            ),
        ]
    }

    fn mschapv2_response() -> impl Strategy<Value = MsChapV2Response> {
        (
            any::<[u8; 16]>(),
            any::<[u8; 8]>(),
            any::<[u8; 24]>(),
            any::<u8>(),
        )
            .prop_map(
                |(peer_challenge, reserved, nt_response, flags)| MsChapV2Response {
                    peer_challenge,
                    reserved,
                    nt_response,
                    flags,
                },
            )
    }

    /// Drops an MS-Length "mismatch" equal to the consistent value, which
    /// parsing would report as `None`.
    fn normalize(mut m: EapMsChapV2) -> EapMsChapV2 {
        let len = m.buffer_len();
        match &mut m {
            EapMsChapV2::Challenge {
                ms_length_mismatch, ..
            }
            | EapMsChapV2::Response {
                ms_length_mismatch, ..
            }
            | EapMsChapV2::SuccessRequest {
                ms_length_mismatch, ..
            }
            | EapMsChapV2::FailureRequest {
                ms_length_mismatch, ..
            }
            | EapMsChapV2::ChangePassword {
                ms_length_mismatch, ..
            } if *ms_length_mismatch == Some(saturating_u16(len)) => {
                *ms_length_mismatch = None;
            }
            _ => {}
        }
        m
    }

    fn eap_mschapv2_request() -> impl Strategy<Value = EapMsChapV2> {
        prop_oneof![
            (
                any::<u8>(),
                any::<[u8; 16]>(),
                bytes(100),
                any::<Option<u16>>()
            )
                .prop_map(|(ms_chapv2_id, c, name, ms_length_mismatch)| {
                    EapMsChapV2::Challenge {
                        ms_chapv2_id,
                        challenge: MsChapV2Challenge(c),
                        name,
                        ms_length_mismatch,
                    }
                }),
            (any::<u8>(), bytes(100), any::<Option<u16>>()).prop_map(
                |(ms_chapv2_id, message, ms_length_mismatch)| EapMsChapV2::SuccessRequest {
                    ms_chapv2_id,
                    message,
                    ms_length_mismatch
                }
            ),
            (any::<u8>(), bytes(100), any::<Option<u16>>()).prop_map(
                |(ms_chapv2_id, message, ms_length_mismatch)| EapMsChapV2::FailureRequest {
                    ms_chapv2_id,
                    message,
                    ms_length_mismatch
                }
            ),
            (
                any::<u8>().prop_filter("undefined in a Request", |op| ![1, 3, 4].contains(op)),
                bytes(100)
            )
                .prop_map(|(op, data)| EapMsChapV2::Other {
                    op_code: MsChapV2OpCode(op),
                    data
                }),
        ]
        .prop_map(normalize)
    }

    fn eap_mschapv2_response() -> impl Strategy<Value = EapMsChapV2> {
        prop_oneof![
            (
                any::<u8>(),
                mschapv2_response(),
                bytes(100),
                any::<Option<u16>>()
            )
                .prop_map(|(ms_chapv2_id, response, name, ms_length_mismatch)| {
                    EapMsChapV2::Response {
                        ms_chapv2_id,
                        response,
                        name,
                        ms_length_mismatch,
                    }
                }),
            bytes(10).prop_map(|extra| EapMsChapV2::SuccessResponse { extra }),
            bytes(10).prop_map(|extra| EapMsChapV2::FailureResponse { extra }),
            (any::<u8>(), bytes(600), any::<Option<u16>>()).prop_map(
                |(ms_chapv2_id, data, ms_length_mismatch)| EapMsChapV2::ChangePassword {
                    ms_chapv2_id,
                    data,
                    ms_length_mismatch
                }
            ),
            (
                any::<u8>().prop_filter("undefined in a Response", |op| ![2, 3, 4, 7].contains(op)),
                bytes(100)
            )
                .prop_map(|(op, data)| EapMsChapV2::Other {
                    op_code: MsChapV2OpCode(op),
                    data
                }),
        ]
        .prop_map(normalize)
    }

    fn eap_data(mschapv2: BoxedStrategy<EapMsChapV2>) -> impl Strategy<Value = EapData> {
        prop_oneof![
            bytes(100).prop_map(EapData::Identity),
            bytes(100).prop_map(EapData::Notification),
            vec(any::<u8>().prop_map(EapType), 0..10).prop_map(EapData::Nak),
            (value(), bytes(100)).prop_map(|(value, name)| EapData::Md5Challenge { value, name }),
            mschapv2.prop_map(EapData::MsChapV2),
            (
                any::<u8>().prop_filter("decoded types", |t| ![1, 2, 3, 4, 26].contains(t)),
                bytes(100)
            )
                .prop_map(|(t, data)| EapData::Other {
                    eap_type: EapType(t),
                    data
                }),
        ]
    }

    fn eap() -> impl Strategy<Value = EapPacket> {
        prop_oneof![
            (any::<u8>(), eap_data(eap_mschapv2_request().boxed()))
                .prop_map(|(identifier, data)| EapPacket::Request { identifier, data }),
            (any::<u8>(), eap_data(eap_mschapv2_response().boxed()))
                .prop_map(|(identifier, data)| EapPacket::Response { identifier, data }),
            any::<u8>().prop_map(|identifier| EapPacket::Success { identifier }),
            any::<u8>().prop_map(|identifier| EapPacket::Failure { identifier }),
            (prop_oneof![Just(0u8), 5u8..=255], any::<u8>(), bytes(100)).prop_map(
                |(code, identifier, data)| EapPacket::Unknown {
                    code: EapCode(code),
                    identifier,
                    data
                }
            ),
        ]
    }

    fn success() -> impl Strategy<Value = MsChapV2Success> {
        (any::<[u8; 20]>(), proptest::option::of(bytes(100))).prop_map(|(a, message)| {
            MsChapV2Success {
                authenticator_response: a,
                message,
            }
        })
    }

    fn failure() -> impl Strategy<Value = MsChapV2Failure> {
        (
            any::<u32>(),
            any::<Option<bool>>(),
            any::<Option<[u8; 16]>>(),
            any::<Option<u32>>(),
            proptest::option::of(bytes(100)),
        )
            .prop_map(
                |(error, retry, challenge, version, message)| MsChapV2Failure {
                    error,
                    retry,
                    challenge,
                    version,
                    message,
                },
            )
    }

    proptest! {
        #[test]
        fn pap_round_trips(p in pap()) {
            prop_assert_eq!(PapPacket::parse(&emit_pap(&p)), Ok(p));
        }

        #[test]
        fn chap_round_trips(p in chap()) {
            prop_assert_eq!(ChapPacket::parse(&emit_chap(&p)), Ok(p));
        }

        #[test]
        fn eap_round_trips(p in eap()) {
            prop_assert_eq!(EapPacket::parse(&emit_eap(&p)), Ok(p));
        }

        #[test]
        fn mschapv2_values_round_trip(c in any::<[u8; 16]>(), r in mschapv2_response()) {
            let c = MsChapV2Challenge(c);
            let mut out = Vec::new();
            c.emit(&mut out);
            prop_assert_eq!(out.len(), c.buffer_len());
            prop_assert_eq!(MsChapV2Challenge::parse(&out), Ok(c));
            let mut out = Vec::new();
            r.emit(&mut out);
            prop_assert_eq!(out.len(), r.buffer_len());
            prop_assert_eq!(MsChapV2Response::parse(&out), Ok(r));
        }

        #[test]
        fn success_message_round_trips(s in success()) {
            let mut out = Vec::new();
            s.emit(&mut out);
            prop_assert_eq!(out.len(), s.buffer_len());
            prop_assert_eq!(MsChapV2Success::parse(&out), Ok(s));
        }

        #[test]
        fn failure_message_round_trips(f in failure()) {
            let mut out = Vec::new();
            f.emit(&mut out);
            prop_assert_eq!(out.len(), f.buffer_len());
            prop_assert_eq!(MsChapV2Failure::parse(&out), Ok(f));
        }

        #[test]
        fn parsers_never_panic(data in bytes(400)) {
            let _ = PapPacket::parse(&data);
            let _ = ChapPacket::parse(&data);
            let _ = EapPacket::parse(&data);
            let _ = EapMsChapV2::parse_request(&data);
            let _ = EapMsChapV2::parse_response(&data);
            let _ = MsChapV2Success::parse(&data);
            let _ = MsChapV2Failure::parse(&data);
        }
    }
}
