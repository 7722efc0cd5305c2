use proptest::prelude::*;

use super::*;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace([' ', '\n'], "")).expect("test hex")
}

/// RFC 2865 §7.1, the Access-Request.
const RFC_7_1_REQUEST: &str = "01 00 00 38 0f 40 3f 94 73 97 80 57 bd 83 d5 cb
    98 f4 22 7a 01 06 6e 65 6d 6f 02 12 0d be 70 8d 93 d4 13 ce 31 96 e4 3f
    78 2a 0a ee 04 06 c0 a8 01 10 05 06 00 00 00 03";

#[test]
fn rfc_2865_7_1_parses_and_emits_back() {
    let bytes = h(RFC_7_1_REQUEST);
    let p = Packet::parse(&bytes).unwrap();
    assert_eq!(p.code, Code::AccessRequest);
    assert_eq!(p.identifier, 0);
    assert_eq!(p.attributes.len(), 4);
    assert_eq!(p.get(attr::USER_NAME).unwrap().as_text(), Ok("nemo"));
    assert_eq!(
        p.get(attr::NAS_IP_ADDRESS).unwrap().as_ipv4(),
        Ok("192.168.1.16".parse().unwrap())
    );
    assert_eq!(p.get(attr::NAS_PORT).unwrap().as_u32(), Ok(3));
    assert_eq!(
        p.user_password(b"xyzzy5461")
            .unwrap()
            .as_deref()
            .map(Vec::as_slice),
        Some(&b"arctangent"[..])
    );
    assert_eq!(p.emit().unwrap(), bytes);
    // Padding past the Length is ignored (RFC 2865 §3).
    let mut padded = bytes.clone();
    padded.extend_from_slice(&[0xee; 30]);
    assert_eq!(Packet::parse(&padded), Ok(p));
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = h(RFC_7_1_REQUEST);
    for n in 0..bytes.len() {
        let e = Packet::parse(&bytes[..n]).unwrap_err();
        if n < HEADER_LEN {
            assert_eq!(e, ParseError::TooShort(n));
        } else {
            assert_eq!(
                e,
                ParseError::Truncated {
                    length: bytes.len(),
                    received: n
                }
            );
        }
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn header_errors() {
    let mut b = vec![1, 0, 0, 19];
    b.extend_from_slice(&[0; 16]);
    assert_eq!(Packet::parse(&b), Err(ParseError::BadLength(19)));
    b[2..4].copy_from_slice(&4097u16.to_be_bytes());
    b.resize(5000, 0);
    assert_eq!(Packet::parse(&b), Err(ParseError::BadLength(4097)));
    b[2..4].copy_from_slice(&20u16.to_be_bytes());
    for code in [0u8, 6, 10, 13, 39, 46, 255] {
        b[0] = code;
        assert_eq!(Packet::parse(&b), Err(ParseError::UnknownCode(code)));
    }
    b[0] = 2;
    assert!(Packet::parse(&b).is_ok());
    // The largest packet parses.
    b[2..4].copy_from_slice(&4096u16.to_be_bytes());
    b.truncate(4096);
    for chunk in b[20..].chunks_mut(4) {
        chunk.copy_from_slice(&[18, 4, 0, 0]);
    }
    assert_eq!(Packet::parse(&b).unwrap().attributes.len(), 1019);
}

#[test]
fn attribute_errors() {
    let packet = |attrs: &[u8]| {
        let mut b = vec![2, 0];
        b.extend_from_slice(&((20 + attrs.len()) as u16).to_be_bytes());
        b.extend_from_slice(&[0; 16]);
        b.extend_from_slice(attrs);
        b
    };
    for (attrs, offset) in [
        (&[1u8][..], 20),
        (&[1, 0], 20),
        (&[1, 1], 20),
        (&[1, 3], 20),
        (&[1, 2, 5, 4, 0], 22),
        (&[1, 2, 7], 22),
    ] {
        match Packet::parse(&packet(attrs)) {
            Err(ParseError::BadAttribute { offset: o, .. }) => assert_eq!(o, offset, "{attrs:?}"),
            other => panic!("{attrs:?}: {other:?}"),
        }
    }
    // An empty attribute (Length 2) is fine; so is one ending exactly at the
    // Length.
    let p = Packet::parse(&packet(&[79, 2, 1, 3, b'x'])).unwrap();
    assert_eq!(
        p.attributes,
        [Attribute::new(79, []), Attribute::new(1, "x")]
    );
}

#[test]
fn emit_refuses_rather_than_truncates() {
    let mut p = Packet::new(Code::AccessAccept, 1, [0; 16]);
    p.push(Attribute::new(attr::REPLY_MESSAGE, vec![b'a'; 253]));
    assert_eq!(p.emit().unwrap().len(), 20 + 255);
    p.push(Attribute::new(attr::REPLY_MESSAGE, vec![b'a'; 254]));
    assert_eq!(
        p.emit(),
        Err(EmitError::AttributeTooLong {
            ty: attr::REPLY_MESSAGE,
            len: 254
        })
    );
    let mut p = Packet::new(Code::AccessAccept, 1, [0; 16]);
    for _ in 0..16 {
        p.push(Attribute::new(attr::CLASS, vec![0; 253]));
    }
    // 20 + 16 * 255 = 4100.
    assert_eq!(p.emit(), Err(EmitError::TooLarge(4100)));
    p.attributes.pop();
    p.push(Attribute::new(attr::CLASS, vec![0; 249]));
    assert_eq!(p.emit().unwrap().len(), 4096);
}

#[test]
fn codes() {
    for v in 0..=255u8 {
        if let Some(c) = Code::from_u8(v) {
            assert_eq!(c.to_u8(), v);
            assert!(!c.name().is_empty());
            assert_eq!(c.to_string(), c.name());
        }
    }
    assert!(Code::AccessChallenge.answers(Code::AccessRequest));
    assert!(!Code::AccountingResponse.answers(Code::AccessRequest));
    assert!(Code::AccountingResponse.answers(Code::StatusServer));
    assert!(Code::AccessAccept.answers(Code::StatusServer));
    assert!(!Code::AccessReject.answers(Code::StatusServer));
    assert!(Code::CoaNak.answers(Code::CoaRequest));
    assert!(!Code::DisconnectAck.answers(Code::CoaRequest));
    assert!(!Code::AccessRequest.answers(Code::AccessRequest));
}

#[test]
fn accessors() {
    let mut p = Packet::new(Code::AccessAccept, 1, [0; 16]);
    assert_eq!(p.eap_message(), None);
    p.push(Attribute::new(attr::EAP_MESSAGE, [1, 2]));
    p.push(Attribute::vendor(311, 16, b"send"));
    p.push(Attribute::new(attr::EAP_MESSAGE, [3]));
    p.push(Attribute::new(attr::VENDOR_SPECIFIC, [0, 0, 1])); // malformed, skipped
    p.push(Attribute::vendor(311, 16, b"second"));
    p.push(Attribute::from_u32(attr::EVENT_TIMESTAMP, 1_700_000_000));
    assert_eq!(p.eap_message(), Some(vec![1, 2, 3]));
    assert_eq!(p.vendor_attribute(311, 16), Some(&b"send"[..]));
    assert_eq!(p.vendor_attributes(311, 16).count(), 2);
    assert_eq!(p.vendor_attribute(311, 17), None);
    assert_eq!(p.vendor_attribute(9, 16), None);
    assert_eq!(p.event_timestamp(), Ok(Some(1_700_000_000)));
    assert_eq!(p.get_all(attr::EAP_MESSAGE).count(), 2);
    p.attributes.retain(|a| a.ty != attr::EVENT_TIMESTAMP);
    assert_eq!(p.event_timestamp(), Ok(None));
    p.push(Attribute::new(attr::EVENT_TIMESTAMP, [1]));
    assert!(p.event_timestamp().is_err());
}

fn any_code() -> impl Strategy<Value = Code> {
    prop::sample::select((0..=255u8).filter_map(Code::from_u8).collect::<Vec<_>>())
}

prop_compose! {
    fn any_packet()(
        code in any_code(),
        identifier in any::<u8>(),
        authenticator in any::<[u8; 16]>(),
        attributes in prop::collection::vec(
            (any::<u8>(), prop::collection::vec(any::<u8>(), 0..=60)), 0..20),
    ) -> Packet {
        Packet {
            code,
            identifier,
            authenticator,
            attributes: attributes.into_iter().map(|(ty, v)| Attribute::new(ty, v)).collect(),
        }
    }
}

proptest! {
    #[test]
    fn emit_then_parse_is_identity(p in any_packet()) {
        let bytes = p.emit().unwrap();
        prop_assert_eq!(Packet::parse(&bytes), Ok(p.clone()));
        prop_assert_eq!(Packet::parse(&bytes).unwrap().emit().unwrap(), bytes);
    }

    #[test]
    fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(p) = Packet::parse(&bytes) {
            let length = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
            prop_assert_eq!(p.emit().unwrap(), &bytes[..length]);
        }
    }
}
