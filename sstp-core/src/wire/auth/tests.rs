//! Tests of `wire::auth`: PAP, CHAP, the MS-CHAPv2 values and messages,
//! EAP, with fixtures and proptest round trips.

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
    0x5b, 0x5d, 0x7c, 0x7d, 0x7b, 0x3f, 0x2f, 0x3e, 0x3c, 0x2c, 0x60, 0x21, 0x32, 0x26, 0x26, 0x28,
];
const PEER_CHALLENGE: [u8; 16] = [
    0x21, 0x40, 0x23, 0x24, 0x25, 0x5e, 0x26, 0x2a, 0x28, 0x29, 0x5f, 0x2b, 0x3a, 0x33, 0x7c, 0x7e,
];
const NT_RESPONSE: [u8; 24] = [
    0x82, 0x30, 0x9e, 0xcd, 0x8d, 0x70, 0x8b, 0x5e, 0xa0, 0x8f, 0xaa, 0x39, 0x81, 0xcd, 0x83, 0x54,
    0x42, 0x33, 0x11, 0x4a, 0x3d, 0x85, 0xd6, 0xdf,
];
const AUTHENTICATOR_RESPONSE: [u8; 20] = [
    0x40, 0x7a, 0x55, 0x89, 0x11, 0x5f, 0xd0, 0xd6, 0x20, 0x9f, 0x51, 0x0f, 0xe9, 0xc0, 0x45, 0x66,
    0x93, 0x2c, 0xda, 0x56,
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
const FIXTURE_EAP_MSCHAPV2_CHALLENGE: &str =
    "01 02 00 1f 1a 01 02 00 1a 10 5b 5d 7c 7d 7b 3f 2f 3e 3c 2c 60 21 32 26 26 28 73 73 74 70 64";
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
/// RFC 5216 §3.1 EAP-TLS Start (flags 0x20): SoftEther's first EAP offer,
/// as seen in the interop runs.
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
    assert!(p.code().name().is_none());
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
    let f =
        MsChapV2Failure::parse(b"E=691 R=1 C=5b5d7c7d7b3f2f3e3c2c602132262628 V=3 M=bad C=00 E=1")
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
    let bytes = b(FIXTURE_EAP_EXPANDED);
    let p = EapPacket::parse(&bytes).expect("parses");
    assert_eq!(
        p,
        EapPacket::Request {
            identifier: 2,
            data: EapData::Other {
                eap_type: EapType::EXPANDED,
                data: b("00 00 00 00 00 00 01")
            }
        }
    );
    assert_eq!(emit_eap(&p), bytes);
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

// EAP-TLS (RFC 5216 §3.1, §3.2). The bytes are laid out by hand from the
// RFC's field diagrams: Code, Identifier, Length, Type 13, Flags (L M S and
// five reserved bits), TLS Message Length when L is set, TLS data.

#[test]
fn eap_tls_start_request() {
    let bytes = b(FIXTURE_EAP_TLS_START);
    let p = EapPacket::parse(&bytes).expect("parses");
    assert_eq!(
        p,
        EapPacket::Request {
            identifier: 2,
            data: EapData::Tls(EapTls::start()),
        }
    );
    assert_eq!(emit_eap(&p), bytes);
}

#[test]
fn eap_tls_first_fragment_carries_the_total_length() {
    // L and M: a 1000-byte TLS message, of which this fragment holds 3 bytes.
    let bytes = b("02 08 000d 0d c0 000003e8 16 03 01");
    let p = EapPacket::parse(&bytes).expect("parses");
    let EapPacket::Response {
        data: EapData::Tls(t),
        ..
    } = &p
    else {
        panic!("not an EAP-TLS Response: {p:?}");
    };
    assert!(t.more_fragments && !t.start);
    assert_eq!(t.message_length, Some(1000));
    assert_eq!(t.data, [0x16, 0x03, 0x01]);
    assert_eq!(emit_eap(&p), bytes);
}

#[test]
fn eap_tls_acknowledgement_is_flags_alone() {
    let bytes = b("02 09 0006 0d 00");
    let p = EapPacket::parse(&bytes).expect("parses");
    assert_eq!(
        p,
        EapPacket::Response {
            identifier: 9,
            data: EapData::Tls(EapTls::ack()),
        }
    );
    assert_eq!(emit_eap(&p), bytes);
}

#[test]
fn eap_tls_reserved_flags_are_kept_and_otherwise_ignored() {
    let bytes = b("01 0a 0008 0d 1f 17 03");
    let p = EapPacket::parse(&bytes).expect("parses");
    let EapPacket::Request {
        data: EapData::Tls(t),
        ..
    } = &p
    else {
        panic!("not an EAP-TLS Request: {p:?}");
    };
    assert!(!t.start && !t.more_fragments && t.message_length.is_none());
    assert_eq!(t.reserved_flags, 0x1f);
    assert_eq!(emit_eap(&p), bytes);
}

#[test]
fn eap_tls_length_flag_without_its_field_is_truncated() {
    for bytes in [b("01 0b 0006 0d 80"), b("01 0b 0008 0d 80 0000")] {
        assert!(matches!(
            EapPacket::parse(&bytes),
            Err(ParseError::Truncated { needed: 5, .. })
        ));
    }
    // No Flags octet at all.
    assert!(matches!(
        EapPacket::parse(&b("01 0b 0005 0d")),
        Err(ParseError::Truncated { needed: 1, .. })
    ));
}

fn eap_data(mschapv2: BoxedStrategy<EapMsChapV2>) -> impl Strategy<Value = EapData> {
    prop_oneof![
        bytes(100).prop_map(EapData::Identity),
        bytes(100).prop_map(EapData::Notification),
        vec(any::<u8>().prop_map(EapType), 0..10).prop_map(EapData::Nak),
        (value(), bytes(100)).prop_map(|(value, name)| EapData::Md5Challenge { value, name }),
        mschapv2.prop_map(EapData::MsChapV2),
        eap_tls().prop_map(EapData::Tls),
        (
            any::<u8>().prop_filter("decoded types", |t| ![1, 2, 3, 4, 13, 26].contains(t)),
            bytes(100)
        )
            .prop_map(|(t, data)| EapData::Other {
                eap_type: EapType(t),
                data
            }),
    ]
}

fn eap_tls() -> impl Strategy<Value = EapTls> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<Option<u32>>(),
        0u8..0x20,
        bytes(100),
    )
        .prop_map(
            |(start, more_fragments, message_length, reserved_flags, data)| EapTls {
                start,
                more_fragments,
                message_length,
                reserved_flags,
                data,
            },
        )
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
    (any::<[u8; 20]>(), proptest::option::of(bytes(100))).prop_map(|(a, message)| MsChapV2Success {
        authenticator_response: a,
        message,
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
        let _ = EapTls::parse(&data);
        let _ = MsChapV2Success::parse(&data);
        let _ = MsChapV2Failure::parse(&data);
    }
}
