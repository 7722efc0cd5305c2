//! Fuzz harness for the PPP authentication codecs ([`crate::wire::auth`]).
//!
//! The first input byte, taken modulo 9, picks the parser; the rest is its
//! input:
//!
//! | selector | parser |
//! |---|---|
//! | 0 | [`PapPacket`] |
//! | 1 | [`ChapPacket`], then the MS-CHAPv2 value or message inside it |
//! | 2 | [`EapPacket`], then the MS-CHAPv2 message inside it |
//! | 3 | [`MsChapV2Challenge`] value |
//! | 4 | [`MsChapV2Response`] value |
//! | 5 | [`MsChapV2Success`] message |
//! | 6 | [`MsChapV2Failure`] message |
//! | 7 | [`EapMsChapV2::parse_request`] Type-Data |
//! | 8 | [`EapMsChapV2::parse_response`] Type-Data |
//!
//! Whatever parses is emitted, `buffer_len` is checked against the emitted
//! length, and the output must parse back to an equal value.

use core::fmt::Debug;

use crate::wire::ParseError;
use crate::wire::auth::{
    ChapPacket, EapData, EapMsChapV2, EapPacket, MsChapV2Challenge, MsChapV2Failure,
    MsChapV2Response, MsChapV2Success, PapPacket,
};

/// Fuzz target `auth_packets`: never panics except on a round-trip bug.
pub fn auth_packets(data: &[u8]) {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    match selector % 9 {
        0 => {
            round_trip(
                input,
                PapPacket::parse,
                PapPacket::emit,
                PapPacket::buffer_len,
            );
        }
        1 => {
            if let Some(packet) = round_trip(
                input,
                ChapPacket::parse,
                ChapPacket::emit,
                ChapPacket::buffer_len,
            ) {
                chap_contents(&packet);
            }
        }
        2 => {
            if let Some(packet) = round_trip(
                input,
                EapPacket::parse,
                EapPacket::emit,
                EapPacket::buffer_len,
            ) {
                eap_contents(&packet);
            }
        }
        3 => challenge_value(input),
        4 => response_value(input),
        5 => success_message(input),
        6 => failure_message(input),
        7 => {
            round_trip(
                input,
                EapMsChapV2::parse_request,
                EapMsChapV2::emit,
                EapMsChapV2::buffer_len,
            );
        }
        _ => {
            round_trip(
                input,
                EapMsChapV2::parse_response,
                EapMsChapV2::emit,
                EapMsChapV2::buffer_len,
            );
        }
    }
}

/// The typed readings an engine would apply to a CHAP packet.
fn chap_contents(packet: &ChapPacket) {
    match packet {
        ChapPacket::Challenge { value, .. } => challenge_value(value),
        ChapPacket::Response { value, .. } => response_value(value),
        ChapPacket::Success { message, .. } => success_message(message),
        ChapPacket::Failure { message, .. } => failure_message(message),
        _ => {}
    }
}

/// The typed readings an engine would apply to an EAP-MSCHAPv2 message.
fn eap_contents(packet: &EapPacket) {
    if let EapPacket::Request {
        data: EapData::MsChapV2(m),
        ..
    } = packet
    {
        match m {
            EapMsChapV2::SuccessRequest { message, .. } => success_message(message),
            EapMsChapV2::FailureRequest { message, .. } => failure_message(message),
            _ => {}
        }
    }
}

fn challenge_value(input: &[u8]) {
    round_trip(
        input,
        MsChapV2Challenge::parse,
        MsChapV2Challenge::emit,
        MsChapV2Challenge::buffer_len,
    );
}

fn response_value(input: &[u8]) {
    round_trip(
        input,
        MsChapV2Response::parse,
        MsChapV2Response::emit,
        MsChapV2Response::buffer_len,
    );
}

fn success_message(input: &[u8]) {
    round_trip(
        input,
        MsChapV2Success::parse,
        MsChapV2Success::emit,
        MsChapV2Success::buffer_len,
    );
}

fn failure_message(input: &[u8]) {
    round_trip(
        input,
        MsChapV2Failure::parse,
        MsChapV2Failure::emit,
        MsChapV2Failure::buffer_len,
    );
}

/// Parses `input`; if it parses, checks emit/buffer_len and that the emitted
/// bytes parse back to an equal value. Returns the parsed value.
fn round_trip<T: PartialEq + Debug>(
    input: &[u8],
    parse: impl Fn(&[u8]) -> Result<T, ParseError>,
    emit: impl Fn(&T, &mut Vec<u8>),
    buffer_len: impl Fn(&T) -> usize,
) -> Option<T> {
    let value = parse(input).ok()?;
    let mut out = Vec::new();
    emit(&value, &mut out);
    assert_eq!(
        out.len(),
        buffer_len(&value),
        "buffer_len disagrees with emit for {value:?}"
    );
    let again = parse(&out);
    assert_eq!(
        again.as_ref(),
        Ok(&value),
        "parse(emit(x)) != x; emitted {out:02x?}"
    );
    Some(value)
}
