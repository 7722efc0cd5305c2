//! The fuzz harness, shared by the libFuzzer target `radius_packet` in
//! `fuzz/` and by the corpus-replay test, so every committed seed also runs
//! under plain `cargo test`. A panic here is a bug.
//!
//! Not part of the stable API.

use crate::*;

/// A harness: takes the fuzzer's bytes, panics only on a bug.
pub type Harness = fn(&[u8]);

/// Every harness by the name of its libFuzzer target (and of its corpus
/// folder, `fuzz/corpus/<name>/`).
pub const TARGETS: &[(&str, Harness)] = &[("radius_packet", packet)];

/// The secret the bytes are checked with. Seeds signed with it (and, for
/// answers, with [`REQUEST_AUTHENTICATOR`]) get past verification.
pub const SECRET: &[u8] = b"fuzzing-secret";

/// The Request Authenticator of the fixed request the bytes are checked as
/// an answer to (its identifier is the bytes' own).
pub const REQUEST_AUTHENTICATOR: [u8; 16] = [0x5a; 16];

/// Arbitrary bytes through every reader of the codec, and the round trips
/// they allow:
///
/// - as a packet: parse, then emit gives back the bytes up to the Length,
///   and parses to the same packet;
/// - as an answer to a fixed request of each request code, and as a request
///   (DAE, accounting, access) received by a server: verification never
///   panics, and what it accepts is what parse gives;
/// - each attribute: the value readers, the IPv6 prefix round trip, MPPE
///   decryption of every value (and every vendor value) with its
///   encrypt/decrypt round trip, the MS-CHAP parsers with theirs, and the
///   hidden User-Password with its;
/// - EAP-Message: joined is the concatenation of the attributes;
/// - re-signed: the parsed attributes sent as a request and as an answer
///   by the codec's encoders verify and come back equal.
pub fn packet(data: &[u8]) {
    let request_auth = REQUEST_AUTHENTICATOR;
    for code in [
        Code::AccessRequest,
        Code::AccountingRequest,
        Code::StatusServer,
        Code::DisconnectRequest,
        Code::CoaRequest,
    ] {
        let id = data.get(1).copied().unwrap_or(0);
        if let Ok(p) = verify_response(data, code, id, &request_auth, SECRET) {
            assert!(p.code.answers(code));
            assert_eq!(Ok(&p), Packet::parse(data).as_ref());
        }
    }
    if let Ok(p) = verify_request(data, SECRET) {
        assert!(p.code.is_request());
        assert_eq!(Ok(&p), Packet::parse(data).as_ref());
    }

    let Ok(p) = Packet::parse(data) else {
        return;
    };
    let length = usize::from(u16::from_be_bytes([data[2], data[3]]));
    let emitted = p.emit().expect("a parsed packet emits");
    assert_eq!(
        emitted,
        &data[..length],
        "emit(parse(x)) is x without padding"
    );
    assert_eq!(Packet::parse(&emitted).as_ref(), Ok(&p));

    for a in &p.attributes {
        attribute(a, &p.authenticator);
    }
    let joined: Vec<u8> = p
        .get_all(attr::EAP_MESSAGE)
        .flat_map(|a| a.value.clone())
        .collect();
    assert_eq!(
        p.eap_message().is_some(),
        p.get(attr::EAP_MESSAGE).is_some()
    );
    assert_eq!(p.eap_message().unwrap_or_default(), joined);
    let _ = p.event_timestamp();
    let _ = p.error_cause();
    if let Ok(Some(pw)) = p.user_password(SECRET) {
        let hidden = crypt::hide_password(&pw, &p.authenticator, SECRET).expect("at most 128");
        let again = crypt::unhide_password(&hidden, &p.authenticator, SECRET).expect("unhides");
        assert_eq!(&again[..], &pw[..]);
    }

    resigned(&p, &request_auth);
}

fn attribute(a: &Attribute, authenticator: &[u8; 16]) {
    let _ = a.as_u32();
    let _ = a.as_ipv4();
    let _ = a.as_ipv6();
    let _ = a.as_text();
    if let Ok((prefix, len)) = a.as_ipv6_prefix() {
        let again = Attribute::from_ipv6_prefix(a.ty, prefix, len);
        assert_eq!(again.as_ipv6_prefix(), Ok((prefix, len)));
    }
    mppe(&a.value, authenticator);
    if let Ok(vsas) = a.vsas() {
        for v in vsas {
            mppe(v.value, authenticator);
            ms_chap(v.value);
            let one = Attribute::vendor(v.vendor_id, v.vendor_type, v.value);
            assert_eq!(one.vsas().map(|x| x.len()).ok(), Some(1));
        }
    }
}

fn mppe(value: &[u8], authenticator: &[u8; 16]) {
    let Ok(key) = decrypt_mppe_key(value, authenticator, SECRET) else {
        return;
    };
    let salt = [value[0], value[1]];
    match encrypt_mppe_key(&key, salt, authenticator, SECRET) {
        Ok(v) => {
            let back =
                decrypt_mppe_key(&v, authenticator, SECRET).expect("our own encryption decrypts");
            assert_eq!(&back[..], &key[..]);
        }
        Err(e) => assert!(matches!(e, MppeError::KeyTooLong(_)), "{e}"),
    }
}

fn ms_chap(value: &[u8]) {
    if let Ok(r) = ms::MsChap2Response::parse(value) {
        assert_eq!(ms::MsChap2Response::parse(&r.to_bytes()), Ok(r));
    }
    if let Ok(s) = ms::MsChap2Success::parse(value) {
        assert_eq!(ms::MsChap2Success::parse(&s.to_bytes()), Ok(s));
    }
    if let Ok(e) = ms::MsChapError::parse(value) {
        assert_eq!(ms::MsChapError::parse(&e.to_bytes()), Ok(e));
    }
}

/// The parsed attributes sent again by the codec's own encoders, signed:
/// as a request of the packet's code (if it is one) and as an answer to a
/// fixed request (if it is one).
fn resigned(p: &Packet, request_auth: &[u8; 16]) {
    let plain: Vec<&Attribute> = p
        .attributes
        .iter()
        .filter(|a| a.ty != attr::MESSAGE_AUTHENTICATOR)
        .collect();
    let mut request = match p.code {
        Code::AccessRequest => Request::access_request(),
        Code::AccountingRequest => Request::accounting_request(),
        Code::StatusServer => Request::status_server(),
        Code::DisconnectRequest => Request::disconnect_request(),
        Code::CoaRequest => Request::coa_request(),
        _ => Request::access_request(),
    };
    for a in &plain {
        request.push((*a).clone());
    }
    match request.encode(p.identifier, request_auth, SECRET) {
        Ok(sent) => {
            let got = verify_request(&sent.bytes, SECRET).expect("our own request verifies");
            let back: Vec<&Attribute> = got
                .attributes
                .iter()
                .filter(|a| a.ty != attr::MESSAGE_AUTHENTICATOR)
                .collect();
            assert_eq!(back, plain);
            assert_eq!(got.identifier, p.identifier);
        }
        Err(e) => assert!(matches!(e, EmitError::TooLarge(_)), "{e}"),
    }

    let answers = [
        (
            Code::AccessRequest,
            [
                Code::AccessAccept,
                Code::AccessReject,
                Code::AccessChallenge,
            ]
            .as_slice(),
        ),
        (Code::AccountingRequest, &[Code::AccountingResponse]),
        (
            Code::StatusServer,
            &[Code::AccessAccept, Code::AccountingResponse],
        ),
        (
            Code::DisconnectRequest,
            &[Code::DisconnectAck, Code::DisconnectNak],
        ),
        (Code::CoaRequest, &[Code::CoaAck, Code::CoaNak]),
    ];
    for (request_code, codes) in answers {
        if !codes.contains(&p.code) {
            continue;
        }
        let req = Packet::new(request_code, p.identifier, *request_auth);
        let mut response = Response::new(p.code);
        for a in &plain {
            response.push((*a).clone());
        }
        match response.encode(&req, SECRET) {
            Ok(bytes) => {
                let got = verify_response(&bytes, request_code, p.identifier, request_auth, SECRET)
                    .expect("our own answer verifies");
                let back: Vec<&Attribute> = got
                    .attributes
                    .iter()
                    .filter(|a| a.ty != attr::MESSAGE_AUTHENTICATOR)
                    .collect();
                assert_eq!(back, plain);
            }
            Err(e) => assert!(matches!(e, EmitError::TooLarge(_)), "{e}"),
        }
    }
}
