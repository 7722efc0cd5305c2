//! MS-CHAPv2 values and messages (RFC 2759 §4–§6), carried in CHAP packets
//! and in EAP-MSCHAPv2: the Challenge and Response values, and the Success
//! (`S=<auth string> M=<message>`) and Failure (`E= R= C= V= M=`) messages.

use super::*;

/// The MS-CHAPv2 Challenge value (RFC 2759 §4): the 16-byte authenticator
/// challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct MsChapV2Challenge(pub [u8; 16]);

impl MsChapV2Challenge {
    /// Length of the value.
    pub(crate) const LEN: usize = 16;

    /// Parses a Challenge Value (exactly 16 bytes).
    pub(crate) fn parse(value: &[u8]) -> Result<Self, ParseError> {
        exact_array(value, "MS-CHAPv2 Challenge value").map(Self)
    }

    /// Appends the 16 bytes.
    pub(crate) fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }

    /// Always 16.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) const fn buffer_len(&self) -> usize {
        Self::LEN
    }
}

/// The MS-CHAPv2 Response value (RFC 2759 §4), 49 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct MsChapV2Response {
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
    pub(crate) const LEN: usize = 49;

    /// A response with zero Reserved and Flags, as RFC 2759 §4 requires.
    pub(crate) const fn new(peer_challenge: [u8; 16], nt_response: [u8; 24]) -> Self {
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
    pub(crate) fn parse(value: &[u8]) -> Result<Self, ParseError> {
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
    pub(crate) fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.peer_challenge);
        out.extend_from_slice(&self.reserved);
        out.extend_from_slice(&self.nt_response);
        out.push(self.flags);
    }

    /// Always 49.
    pub(crate) const fn buffer_len(&self) -> usize {
        Self::LEN
    }
}

/// Unreachable after the exact-length check; named so the parse has no panic path.
const TRUNCATED_RESPONSE: ParseError =
    ParseError::truncated("MS-CHAPv2 Response value", MsChapV2Response::LEN, 0);

/// The MS-CHAPv2 success message (RFC 2759 §5): `S=<auth_string> M=<message>`,
/// the auth string being the 20-byte authenticator response as 40 hex digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MsChapV2Success {
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
    pub(crate) fn parse(text: &[u8]) -> Result<Self, ParseError> {
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
    pub(crate) fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"S=");
        push_hex_upper(out, &self.authenticator_response);
        if let Some(message) = &self.message {
            out.extend_from_slice(b" M=");
            out.extend_from_slice(message);
        }
    }

    /// Length of the text form.
    pub(crate) fn buffer_len(&self) -> usize {
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
