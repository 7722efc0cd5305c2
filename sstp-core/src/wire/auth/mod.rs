//! PPP authentication packets: the payload of PPP protocols 0xC023 (PAP,
//! RFC 1334 §2), 0xC223 (CHAP, RFC 1994 §4, with the MS-CHAPv2 value and
//! message formats of RFC 2759 §4–§6) and 0xC227 (EAP, RFC 3748 §4–§5, with
//! EAP-MSCHAPv2 per draft-kamath-pppext-eap-mschapv2-00 and EAP-TLS per
//! RFC 5216).
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
//! One file per protocol, as in `ppp::auth`: `pap.rs`, `chap.rs`,
//! `mschapv2.rs` (the RFC 2759 values and messages CHAP and EAP carry),
//! `eap.rs` and `eap_tls.rs`. This file holds the code spaces and the helpers they share, and
//! re-exports every item, so the paths stay `wire::auth::*`.
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

mod chap;
mod eap;
mod eap_tls;
mod mschapv2;
mod pap;

pub(crate) use chap::*;
pub(crate) use eap::*;
pub(crate) use eap_tls::*;
pub use mschapv2::*;
pub(crate) use pap::*;

/// Length of the Code/Identifier/Length header (RFC 1661 §5).
pub(crate) const HEADER_LEN: usize = 4;

code_space! {
    /// PAP packet Code (RFC 1334 §2.2).
    pub(crate) struct PapCode(u8) {
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
    pub(crate) struct ChapCode(u8) {
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
    pub(crate) struct EapCode(u8) {
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
    pub(crate) struct EapType(u8) {
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
    pub(crate) struct MsChapV2OpCode(u8) {
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
mod tests;
