//! Tests of `wire::sstp`: header and data path, attributes, control
//! messages, fixtures and proptest round trips.

use super::*;
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    let clean: String = s.split_whitespace().collect();
    hex::decode(clean).expect("valid hex fixture")
}

fn emit_message(m: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    m.emit(&mut out);
    assert_eq!(out.len(), m.buffer_len(), "buffer_len agrees with emit");
    out
}

// --- Fixtures -----------------------------------------------------------

/// MS-SSTP 4.7: the Call Connect Request, byte for byte.
const CONNECT_REQUEST: &str = "10 01 00 0E 00 01 00 01 00 01 00 06 00 01";

/// MS-SSTP 4.7: Call Connect Acknowledge, SHA256 only.
const CONNECT_ACK_SHA256: &str = "10 01 00 30 00 02 00 01 00 04 00 28 00 00 00 02
    41 2B 48 9A EB D7 EC C7 D0 89 66 F2 6B E7 CD 72
    B2 31 A0 E9 21 0D 7C 91 B3 08 86 2B 03 44 C4 35";

/// MS-SSTP 4.7: Call Connected for the SHA256 Acknowledge.
const CALL_CONNECTED_SHA256: &str = "10 01 00 70 00 04 00 01 00 03 00 68 00 00 00 02
    41 2B 48 9A EB D7 EC C7 D0 89 66 F2 6B E7 CD 72
    B2 31 A0 E9 21 0D 7C 91 B3 08 86 2B 03 44 C4 35
    79 93 EF 31 4C 49 3D AC E9 F0 2D 60 E7 E6 1C 84
    B6 69 0A AF E9 D7 AE EA 92 CB BE 8A D5 99 42 2D
    52 A6 8E FD 8C FF BF 52 77 0B 8F 0F E8 EC 73 71
    65 83 AF 6D 61 1E B6 D1 79 B3 B2 08 40 98 54 49";

/// MS-SSTP 4.7: Call Connect Acknowledge, SHA1 only.
const CONNECT_ACK_SHA1: &str = "10 01 00 30 00 02 00 01 00 04 00 28 00 00 00 01
    0F 1A 2D 58 D4 A3 E3 00 0F AD 3C E4 90 6E 07 B7
    07 AA 9E 44 1C CE AC 5C BD 7B 2C C1 C9 D8 6C DF";

/// MS-SSTP 4.7: Call Connected for the SHA1 Acknowledge (hash and MAC
/// zero-padded to 32 bytes).
const CALL_CONNECTED_SHA1: &str = "10 01 00 70 00 04 00 01 00 03 00 68 00 00 00 01
    0F 1A 2D 58 D4 A3 E3 00 0F AD 3C E4 90 6E 07 B7
    07 AA 9E 44 1C CE AC 5C BD 7B 2C C1 C9 D8 6C DF
    58 26 B6 29 BD A5 9B 8E 6F D8 DC D2 62 2F D3 4C
    53 48 05 A5 00 00 00 00 00 00 00 00 00 00 00 00
    69 91 5D D5 83 D8 06 2F EF 16 F6 1D B2 F0 32 90
    EC 27 CB 6C 00 00 00 00 00 00 00 00 00 00 00 00";

/// Composed from MS-SSTP 2.2.12 and the 2.2.8 example: a NAK rejecting
/// the Encapsulated Protocol ID with VALUE_NOT_SUPPORTED, echoing the
/// proposed value 0x0001.
const CONNECT_NAK: &str = "10 01 00 16 00 03 00 01 00 02 00 0E 00 00 00 01 00 00 00 04 00 01";

/// Composed from MS-SSTP 2.2.13 and 3.3.5.2.3: the Abort a server sends
/// when the Compound MAC is wrong (CRYPTO_BINDING, VALUE_NOT_SUPPORTED).
const CALL_ABORT: &str = "10 01 00 14 00 05 00 01 00 02 00 0C 00 00 00 03 00 00 00 04";

/// MS-SSTP 2.2.13 allows an Abort without Status Info.
const CALL_ABORT_BARE: &str = "10 01 00 08 00 05 00 00";

/// Composed from MS-SSTP 2.2.14: Disconnect with NO_ERROR/NO_ERROR.
const CALL_DISCONNECT: &str = "10 01 00 14 00 06 00 01 00 02 00 0C 00 00 00 00 00 00 00 00";

/// MS-SSTP 2.2.15: the three 8-byte messages.
const CALL_DISCONNECT_ACK: &str = "10 01 00 08 00 07 00 00";
const ECHO_REQUEST: &str = "10 01 00 08 00 08 00 00";
const ECHO_RESPONSE: &str = "10 01 00 08 00 09 00 00";

/// A data packet (2.2.3) carrying an LCP Echo-Request (RFC 1661 5.8) with
/// address/control `FF 03`.
const DATA_LCP_ECHO: &str = "10 00 00 10 FF 03 C0 21 09 01 00 08 00 00 00 00";

fn sha256_ack() -> CryptoBindingRequest {
    CryptoBindingRequest {
        hash_bitmask: HashBitmask::SHA256,
        nonce: hex("412B489AEBD7ECC7D08966F26BE7CD72B231A0E9210D7C91B308862B0344C435")
            .try_into()
            .expect("32 bytes"),
    }
}

fn sha256_binding() -> CryptoBinding {
    CryptoBinding {
        hash_protocol: HashBitmask::SHA256,
        nonce: sha256_ack().nonce,
        cert_hash: hex("7993EF314C493DACE9F02D60E7E61C84B6690AAFE9D7AEEA92CBBE8AD599422D")
            .try_into()
            .expect("32 bytes"),
        compound_mac: hex("52A68EFD8CFFBF52770B8F0FE8EC73716583AF6D611EB6D179B3B20840985449")
            .try_into()
            .expect("32 bytes"),
    }
}

fn pad32(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0; 32];
    out[..bytes.len()].copy_from_slice(bytes);
    out
}

fn sha1_binding() -> CryptoBinding {
    CryptoBinding {
        hash_protocol: HashBitmask::SHA1,
        nonce: hex("0F1A2D58D4A3E3000FAD3CE4906E07B707AA9E441CCEAC5CBD7B2CC1C9D86CDF")
            .try_into()
            .expect("32 bytes"),
        cert_hash: pad32(&hex("5826B629BDA59B8E6FD8DCD2622FD34C534805A5")),
        compound_mac: pad32(&hex("69915DD583D8062FEF16F61DB2F03290EC27CB6C")),
    }
}

/// Every fixture with the typed message it is.
fn fixtures() -> Vec<(&'static str, Message)> {
    vec![
        (
            CONNECT_REQUEST,
            Message::CallConnectRequest {
                protocol_id: ProtocolId::PPP,
            },
        ),
        (
            CONNECT_ACK_SHA256,
            Message::CallConnectAck {
                request: sha256_ack(),
            },
        ),
        (
            CONNECT_ACK_SHA1,
            Message::CallConnectAck {
                request: CryptoBindingRequest {
                    hash_bitmask: HashBitmask::SHA1,
                    nonce: sha1_binding().nonce,
                },
            },
        ),
        (
            CALL_CONNECTED_SHA256,
            Message::CallConnected {
                binding: sha256_binding(),
            },
        ),
        (
            CALL_CONNECTED_SHA1,
            Message::CallConnected {
                binding: sha1_binding(),
            },
        ),
        (
            CONNECT_NAK,
            Message::CallConnectNak {
                status_infos: vec![StatusInfo::with_value(
                    AttributeId::ENCAPSULATED_PROTOCOL_ID,
                    Status::VALUE_NOT_SUPPORTED,
                    &[0x00, 0x01],
                )],
            },
        ),
        (
            CALL_ABORT,
            Message::CallAbort {
                status: Some(StatusInfo::new(
                    AttributeId::CRYPTO_BINDING,
                    Status::VALUE_NOT_SUPPORTED,
                )),
            },
        ),
        (CALL_ABORT_BARE, Message::CallAbort { status: None }),
        (
            CALL_DISCONNECT,
            Message::CallDisconnect {
                status: Some(StatusInfo::new(AttributeId::NO_ERROR, Status::NO_ERROR)),
            },
        ),
        (CALL_DISCONNECT_ACK, Message::CallDisconnectAck),
        (ECHO_REQUEST, Message::EchoRequest),
        (ECHO_RESPONSE, Message::EchoResponse),
    ]
}

// --- Fixtures: parse and emit byte for byte -----------------------------

#[test]
fn fixtures_parse_to_their_typed_message() {
    for (bytes, expected) in fixtures() {
        let bytes = hex(bytes);
        assert_eq!(Message::parse(&bytes), Ok(expected.clone()), "{expected:?}");
    }
}

#[test]
fn call_abort_and_disconnect_ignore_attributes_other_than_status_info() {
    // sstpd 0.7.2's Call Disconnect: one attribute of the reserved ID 0
    // with four zero bytes (its `ppp_stopped`).
    let sstpd = hex("10 01 00 10 00 06 00 01 00 00 00 08 00 00 00 00");
    assert_eq!(
        Message::parse(&sstpd),
        Ok(Message::CallDisconnect { status: None })
    );
    // An unknown attribute before the Status Info, and a second Status
    // Info: the first Status Info is the one kept.
    let abort = hex("10 01 00 28 00 05 00 03 00 7F 00 08 DE AD BE EF \
         00 02 00 0C 00 00 00 03 00 00 00 04 00 02 00 0C 00 00 00 00 00 00 00 00");
    assert_eq!(
        Message::parse(&abort),
        Ok(Message::CallAbort {
            status: Some(StatusInfo::new(
                AttributeId::CRYPTO_BINDING,
                Status::VALUE_NOT_SUPPORTED
            )),
        })
    );
}

#[test]
fn fixtures_emit_byte_for_byte() {
    for (bytes, message) in fixtures() {
        assert_eq!(emit_message(&message), hex(bytes), "{message:?}");
    }
}

#[test]
fn fixtures_round_trip_as_control_messages_and_packets() {
    for (bytes, message) in fixtures() {
        let bytes = hex(bytes);
        let control = ControlMessage::parse(&bytes).expect("fixture parses");
        assert_eq!(control.message_type, message.message_type());
        let mut out = Vec::new();
        control.emit(&mut out);
        assert_eq!(out, bytes);
        assert_eq!(control.buffer_len(), bytes.len());
        assert_eq!(Packet::parse(&bytes), Ok(Packet::Control(control)));
    }
}

#[test]
fn spec_message_lengths() {
    // 2.2.9: 14 bytes; 2.2.10: 48; 2.2.11: 112; 2.2.15: 8.
    assert_eq!(hex(CONNECT_REQUEST).len(), 14);
    assert_eq!(hex(CONNECT_ACK_SHA256).len(), 48);
    assert_eq!(hex(CALL_CONNECTED_SHA1).len(), CALL_CONNECTED_LEN);
    assert_eq!(Message::EchoRequest.buffer_len(), 8);
}

#[test]
fn connect_request_fields_match_4_7() {
    let control = ControlMessage::parse(&hex(CONNECT_REQUEST)).expect("parses");
    assert_eq!(control.message_type, MessageType::CALL_CONNECT_REQUEST);
    assert_eq!(
        control.attributes,
        vec![Attribute::EncapsulatedProtocolId(EncapsulatedProtocolId {
            protocol_id: ProtocolId::PPP
        })]
    );
}

#[test]
fn call_connected_bytes_and_mac_input() {
    for (bytes, binding) in [
        (CALL_CONNECTED_SHA256, sha256_binding()),
        (CALL_CONNECTED_SHA1, sha1_binding()),
    ] {
        let bytes = hex(bytes);
        assert_eq!(binding.call_connected_bytes().as_slice(), bytes.as_slice());
        let mac_input = binding.call_connected_mac_input();
        assert_eq!(mac_input[..MAC_RANGE.start], bytes[..MAC_RANGE.start]);
        assert_eq!(mac_input[MAC_RANGE], [0; 32]);
        // The MAC field is exactly the last 32 bytes.
        assert_eq!(bytes[MAC_RANGE], binding.compound_mac);
        assert_eq!(received_mac_input(&bytes), Ok(mac_input));
    }
}

#[test]
fn received_mac_input_keeps_reserved_bytes_as_sent() {
    let mut bytes = hex(CALL_CONNECTED_SHA256);
    bytes[12] = 0xAA; // Reserved1 of the Crypto Binding: ignored, but MACed.
    let input = received_mac_input(&bytes).expect("locates the field");
    assert_eq!(input[12], 0xAA);
    assert_eq!(input[MAC_RANGE], [0; 32]);
    // The typed parse ignores it.
    assert_eq!(
        Message::parse(&bytes),
        Ok(Message::CallConnected {
            binding: sha256_binding()
        })
    );
}

#[test]
fn received_mac_input_rejects_other_packets() {
    let bytes = hex(CALL_CONNECTED_SHA256);
    assert!(received_mac_input(&bytes[..111]).is_err());
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(received_mac_input(&longer).is_err());
    let mut wrong_type = bytes.clone();
    wrong_type[5] = 0x05;
    assert!(received_mac_input(&wrong_type).is_err());
    let mut data = bytes.clone();
    data[1] = 0;
    assert!(received_mac_input(&data).is_err());
    let mut wrong_attr = bytes;
    wrong_attr[9] = 0x04;
    assert!(received_mac_input(&wrong_attr).is_err());
}

// --- Header and data path -----------------------------------------------

#[test]
fn header_decodes_fields_and_ignores_reserved_bits() {
    let h = Header::decode([0x10, 0xFF, 0xF0, 0x10]).expect("valid");
    assert!(h.is_control());
    assert_eq!(h.packet_len(), 16);
    assert_eq!(h.payload_len(), 12);
    assert_eq!(h.to_bytes(), [0x10, 0x01, 0x00, 0x10]);
    let d = Header::decode([0x10, 0xFE, 0x0F, 0xFF]).expect("valid");
    assert!(!d.is_control());
    assert_eq!(d.packet_len(), MAX_PACKET_LEN);
}

#[test]
fn header_rejects_other_versions_keeping_the_byte() {
    for version in [0x00, 0x11, 0x20, 0x01, 0xFF] {
        assert_eq!(
            Header::decode([version, 0x01, 0x00, 0x08]),
            Err(ParseError::InvalidValue {
                what: "SSTP packet version",
                value: version.into()
            })
        );
    }
}

#[test]
fn header_rejects_lengths_below_4() {
    for len in 0..4u8 {
        assert!(matches!(
            Header::decode([0x10, 0x00, 0xF0, len]),
            Err(ParseError::BadLength { length, .. }) if length == usize::from(len)
        ));
    }
}

#[test]
fn header_parse_is_exact() {
    assert!(Header::parse(&[0x10, 0x00, 0x00]).is_err());
    assert!(Header::parse(&[0x10, 0x00, 0x00, 0x04, 0x00]).is_err());
    assert_eq!(
        Header::parse(&[0x10, 0x00, 0x00, 0x04]),
        Ok(Header::new(false, 4).expect("valid"))
    );
    assert_eq!(
        Header::new(true, 4096),
        Err(EncodeError::TooLong { len: 4096 })
    );
    assert!(Header::new(true, 3).is_err());
}

#[test]
fn data_packet_parses_to_borrowed_frame() {
    let bytes = hex(DATA_LCP_ECHO);
    let Ok(Packet::Data(frame)) = Packet::parse(&bytes) else {
        panic!("data packet expected");
    };
    assert_eq!(frame, &bytes[4..]);
    assert!(
        core::ptr::eq(frame.as_ptr(), bytes[4..].as_ptr()),
        "no copy"
    );
    let mut out = Vec::new();
    Packet::Data(frame).emit(&mut out).expect("fits");
    assert_eq!(out, bytes);
}

#[test]
fn empty_data_packet_is_structurally_valid() {
    assert_eq!(
        Packet::parse(&[0x10, 0x00, 0x00, 0x04]),
        Ok(Packet::Data(&[]))
    );
}

#[test]
fn packet_parse_is_exact() {
    let bytes = hex(DATA_LCP_ECHO);
    for cut in 0..bytes.len() {
        assert!(Packet::parse(&bytes[..cut]).is_err(), "truncated at {cut}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(
        Packet::parse(&longer),
        Err(ParseError::TrailingBytes {
            what: "SSTP packet",
            extra: 1
        })
    );
}

#[test]
fn write_data_header_and_encode_in_place() {
    let frame = hex("FF 03 C0 21 09 01 00 08 00 00 00 00");
    // Caller buffer: 8 bytes of headroom, then the frame.
    let mut buf = vec![0xEE; 8 + frame.len() + 5];
    buf[8..8 + frame.len()].copy_from_slice(&frame);
    let packet = encode_data_packet(&mut buf, 8, frame.len()).expect("fits");
    assert_eq!(packet, hex(DATA_LCP_ECHO).as_slice());
    assert_eq!(buf[..4], [0xEE; 4], "bytes before the header untouched");

    let mut header = [0u8; 4];
    write_data_header(&mut header, frame.len()).expect("fits");
    assert_eq!(header, [0x10, 0x00, 0x00, 0x10]);
}

#[test]
fn data_path_limits() {
    let mut buf = vec![0u8; HEADER_LEN + MAX_DATA_PAYLOAD + 1];
    let packet = encode_data_packet(&mut buf, HEADER_LEN, MAX_DATA_PAYLOAD).expect("max fits");
    assert_eq!(packet.len(), MAX_PACKET_LEN);
    assert_eq!(packet[..4], [0x10, 0x00, 0x0F, 0xFF]);
    assert_eq!(
        encode_data_packet(&mut buf, HEADER_LEN, MAX_DATA_PAYLOAD + 1),
        Err(EncodeError::TooLong { len: 4096 })
    );
    assert!(matches!(
        encode_data_packet(&mut buf, 3, 10),
        Err(EncodeError::BufferTooSmall { .. })
    ));
    assert!(matches!(
        encode_data_packet(&mut [0u8; 8], 4, 10),
        Err(EncodeError::BufferTooSmall {
            needed: 14,
            available: 8
        })
    ));
    assert!(matches!(
        write_data_header(&mut [0u8; 3], 1),
        Err(EncodeError::BufferTooSmall { .. })
    ));
    assert!(write_data_header(&mut [0u8; 4], MAX_DATA_PAYLOAD + 1).is_err());
    let mut out = Vec::new();
    assert!(emit_data_packet(&[0; MAX_DATA_PAYLOAD + 1], &mut out).is_err());
    assert!(out.is_empty(), "nothing written on error");
    emit_data_packet(&[0; MAX_DATA_PAYLOAD], &mut out).expect("max fits");
    assert_eq!(out.len(), MAX_PACKET_LEN);
    assert!(
        Packet::Data(&[0; MAX_DATA_PAYLOAD + 1])
            .emit(&mut out)
            .is_err()
    );
}

// --- Control structure: negatives ---------------------------------------

#[test]
fn every_fixture_truncated_at_every_length_fails() {
    for (bytes, _) in fixtures() {
        let bytes = hex(bytes);
        for cut in 0..bytes.len() {
            assert!(ControlMessage::parse(&bytes[..cut]).is_err(), "cut {cut}");
            assert!(Message::parse(&bytes[..cut]).is_err(), "cut {cut}");
        }
    }
}

#[test]
fn trailing_bytes_after_last_attribute_are_rejected() {
    // Length 16 covers 2 bytes after the 6-byte attribute.
    let bytes = hex("10 01 00 10 00 01 00 01 00 01 00 06 00 01 00 00");
    assert_eq!(
        ControlMessage::parse(&bytes),
        Err(ParseError::TrailingBytes {
            what: "SSTP control message",
            extra: 2
        })
    );
    let err = Message::parse(&bytes).expect_err("invalid frame");
    assert_eq!(err.status(), Status::INVALID_FRAME_RECEIVED);
    assert_eq!(err.message_type(), Some(MessageType::CALL_CONNECT_REQUEST));
    assert!(!err.calls_for_nak());
}

#[test]
fn count_larger_than_what_fits_is_rejected_up_front() {
    let bytes = hex("10 01 00 0E 00 01 FF FF 00 01 00 06 00 01");
    assert!(matches!(
        ControlMessage::parse(&bytes),
        Err(ParseError::InvalidValue { value: 0xFFFF, .. })
    ));
    // Count 2, but after the first attribute only 2 bytes are left.
    let bytes = hex("10 01 00 10 00 01 00 02 00 01 00 06 00 01 00 00");
    assert!(matches!(
        ControlMessage::parse(&bytes),
        Err(ParseError::Truncated { .. })
    ));
}

#[test]
fn attribute_lengths_that_overrun_or_underrun_are_rejected() {
    // Attribute Length 0x007 runs past the packet.
    let overrun = hex("10 01 00 0E 00 01 00 01 00 01 00 07 00 01");
    assert!(ControlMessage::parse(&overrun).is_err());
    // Attribute Length 3 is shorter than its own header.
    let underrun = hex("10 01 00 0C 00 08 00 01 00 09 00 03");
    assert!(matches!(
        ControlMessage::parse(&underrun),
        Err(ParseError::BadLength { length: 3, .. })
    ));
}

#[test]
fn control_parse_rejects_data_packets_and_short_bodies() {
    assert!(ControlMessage::parse(&hex(DATA_LCP_ECHO)).is_err());
    assert!(ControlMessage::parse(&hex("10 01 00 06 00 08")).is_err());
    let err = Message::parse(&hex(DATA_LCP_ECHO)).expect_err("not control");
    assert_eq!(err.status(), Status::INVALID_FRAME_RECEIVED);
    assert_eq!(err.attrib_id(), AttributeId::STATUS_INFO);
}

#[test]
fn reserved_bits_are_ignored_and_sent_as_zero() {
    // Reserved bits set everywhere: header, attribute reserved byte, R bits.
    let sloppy = hex("10 FF F0 0E 00 01 00 01 FF 01 F0 06 00 01");
    let message = Message::parse(&sloppy).expect("reserved bits ignored");
    assert_eq!(emit_message(&message), hex(CONNECT_REQUEST));
}

#[test]
fn unknown_message_types_and_attributes_keep_their_bytes() {
    let bytes = hex("10 01 00 12 12 34 00 02 00 77 00 06 AB CD 00 05 00 04");
    let control = ControlMessage::parse(&bytes).expect("structurally valid");
    assert_eq!(control.message_type, MessageType(0x1234));
    assert!(control.message_type.name().is_none());
    assert_eq!(
        control.attributes,
        vec![
            Attribute::Unknown {
                id: AttributeId(0x77),
                value: vec![0xAB, 0xCD]
            },
            Attribute::Unknown {
                id: AttributeId(0x05),
                value: vec![]
            },
        ]
    );
    let mut out = Vec::new();
    control.emit(&mut out);
    assert_eq!(out, bytes);
    assert_eq!(Message::parse(&bytes), Ok(Message::Unknown(control)));
}

#[test]
fn known_attribute_with_wrong_length_is_kept() {
    // Encapsulated Protocol ID with Length 8.
    let bytes = hex("10 01 00 10 00 01 00 01 00 01 00 08 00 01 00 00");
    let control = ControlMessage::parse(&bytes).expect("structure is fine");
    assert_eq!(
        control.attributes,
        vec![Attribute::InvalidLength {
            id: AttributeId::ENCAPSULATED_PROTOCOL_ID,
            value: vec![0, 1, 0, 0]
        }]
    );
    let mut out = Vec::new();
    control.emit(&mut out);
    assert_eq!(out, bytes);
}

#[test]
fn typed_attribute_parsers_are_exact() {
    let request = hex(CONNECT_REQUEST);
    let epid = &request[8..];
    assert_eq!(
        EncapsulatedProtocolId::parse(epid),
        Ok(EncapsulatedProtocolId {
            protocol_id: ProtocolId::PPP
        })
    );
    for cut in 0..epid.len() {
        assert!(EncapsulatedProtocolId::parse(&epid[..cut]).is_err());
    }
    let ack = hex(CONNECT_ACK_SHA256);
    let cbr = &ack[8..];
    assert_eq!(CryptoBindingRequest::parse(cbr), Ok(sha256_ack()));
    assert!(matches!(
        CryptoBinding::parse(cbr),
        Err(ParseError::InvalidValue { value: 4, .. })
    ));
    let connected = hex(CALL_CONNECTED_SHA256);
    assert_eq!(CryptoBinding::parse(&connected[8..]), Ok(sha256_binding()));
    for cut in 0..connected.len() - 8 {
        assert!(CryptoBinding::parse(&connected[8..8 + cut]).is_err());
    }
    let nak = hex(CONNECT_NAK);
    let info = StatusInfo::parse(&nak[8..]).expect("status info");
    assert_eq!(info.value(), &[0, 1]);
    assert_eq!(info.buffer_len(), 14);
}

#[test]
fn status_info_value_is_bounded_to_64() {
    let long = [0x5A; 100];
    let info = StatusInfo::with_value(AttributeId(9), Status(77), &long);
    assert_eq!(info.value(), &long[..64]);
    assert_eq!(info.buffer_len(), StatusInfo::MAX_LEN);
    let mut out = Vec::new();
    info.emit(&mut out);
    assert_eq!(StatusInfo::parse(&out), Ok(info));
    // A 77-byte Status Info (65 bytes of value) is an invalid length.
    let mut too_long = out.clone();
    too_long.push(0);
    too_long[3] = 77;
    assert!(matches!(
        StatusInfo::parse(&too_long),
        Err(ParseError::BadLength { length: 77, .. })
    ));
    assert!(matches!(
        Attribute::parse(&too_long),
        Ok(Attribute::InvalidLength { id: AttributeId::STATUS_INFO, ref value }) if value.len() == 73
    ));
}

#[test]
fn oversized_local_messages_are_truncated_not_corrupted() {
    let huge = Attribute::Unknown {
        id: AttributeId(0x42),
        value: vec![0; MAX_PACKET_LEN],
    };
    assert_eq!(huge.buffer_len(), 0);
    let mut out = Vec::new();
    huge.emit(&mut out);
    assert!(out.is_empty());

    let many = Message::CallConnectNak {
        status_infos: vec![StatusInfo::with_value(AttributeId(1), Status(3), &[7; 64]); 100],
    };
    let bytes = emit_message(&many);
    assert!(bytes.len() <= MAX_PACKET_LEN);
    let Ok(Message::CallConnectNak { status_infos }) = Message::parse(&bytes) else {
        panic!("a valid NAK");
    };
    assert_eq!(status_infos.len(), (MAX_PACKET_LEN - 8) / 76);

    let control = ControlMessage {
        message_type: MessageType(0x99),
        attributes: vec![
            huge,
            Attribute::Unknown {
                id: AttributeId(0x43),
                value: vec![1],
            },
        ],
    };
    assert!(!control.fits());
    let mut out = Vec::new();
    control.emit(&mut out);
    let reparsed = ControlMessage::parse(&out).expect("valid packet");
    assert_eq!(reparsed.attributes.len(), 1);
}

// --- Typed rules ----------------------------------------------------------

fn request_with(attrs: &str, count: u16) -> Vec<u8> {
    let attrs = hex(attrs);
    let len = (8 + attrs.len()) as u16;
    let mut bytes = vec![0x10, 0x01];
    bytes.extend_from_slice(&len.to_be_bytes());
    bytes.extend_from_slice(&[0x00, 0x01]);
    bytes.extend_from_slice(&count.to_be_bytes());
    bytes.extend_from_slice(&attrs);
    bytes
}

#[test]
fn connect_request_missing_protocol_id_calls_for_nak() {
    let err = Message::parse(&request_with("", 0)).expect_err("missing");
    assert!(err.calls_for_nak());
    assert_eq!(err.status(), Status::REQUIRED_ATTRIBUTE_MISSING);
    assert_eq!(err.attrib_id(), AttributeId::ENCAPSULATED_PROTOCOL_ID);
    assert_eq!(err.status_info().value(), &[] as &[u8]);
}

#[test]
fn connect_request_duplicate_protocol_id() {
    let err = Message::parse(&request_with("00 01 00 06 00 01 00 01 00 06 00 01", 2))
        .expect_err("duplicate");
    assert!(err.calls_for_nak());
    assert_eq!(err.status(), Status::DUPLICATE_ATTRIBUTE);
    assert_eq!(err.attrib_id(), AttributeId::ENCAPSULATED_PROTOCOL_ID);
    assert_eq!(err.status_info().value(), &[0, 1], "understood: echoed");
}

#[test]
fn connect_request_invalid_length_is_named_with_its_value() {
    let err = Message::parse(&request_with("00 01 00 08 00 01 AB CD", 1)).expect_err("bad len");
    assert!(err.calls_for_nak());
    assert_eq!(err.status_infos().len(), 1, "not also reported missing");
    assert_eq!(err.status(), Status::INVALID_ATTRIB_VALUE_LENGTH);
    assert_eq!(err.attrib_id(), AttributeId::ENCAPSULATED_PROTOCOL_ID);
    assert_eq!(err.status_info().value(), &[0, 1, 0xAB, 0xCD]);
}

#[test]
fn connect_request_lists_every_problem() {
    // Unknown attribute 0x33, a Status Info with an error, a Crypto
    // Binding Request (known, but not in this message), then the protocol.
    let attrs = "00 33 00 05 99 \
         00 02 00 0C 00 00 00 00 00 00 00 07 \
         00 04 00 28 00 00 00 02 \
         00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 \
         00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 \
         00 01 00 06 00 01";
    let err = Message::parse(&request_with(attrs, 4)).expect_err("problems");
    assert!(err.calls_for_nak());
    let got: Vec<_> = err
        .status_infos()
        .iter()
        .map(|s| (s.attrib_id, s.status, s.value().len()))
        .collect();
    assert_eq!(
        got,
        vec![
            (AttributeId(0x33), Status::UNRECOGNIZED_ATTRIBUTE, 0),
            (
                AttributeId::STATUS_INFO,
                Status::STATUS_INFO_NOT_SUPPORTED_IN_MSG,
                8
            ),
            (
                AttributeId::CRYPTO_BINDING_REQ,
                Status::UNRECOGNIZED_ATTRIBUTE,
                0
            ),
        ]
    );
    // The NAK built from it is a valid NAK.
    let nak = Message::CallConnectNak {
        status_infos: err.status_infos().to_vec(),
    };
    assert_eq!(Message::parse(&emit_message(&nak)), Ok(nak));
}

#[test]
fn connect_request_tolerates_no_error_status_info_and_other_protocols() {
    let ok = Message::parse(&request_with(
        "00 02 00 0C 00 00 00 00 00 00 00 00 00 01 00 06 00 01",
        2,
    ));
    assert_eq!(
        ok,
        Ok(Message::CallConnectRequest {
            protocol_id: ProtocolId::PPP
        })
    );
    assert_eq!(
        Message::parse(&request_with("00 01 00 06 BE EF", 1)),
        Ok(Message::CallConnectRequest {
            protocol_id: ProtocolId(0xBEEF)
        })
    );
}

#[test]
fn connect_request_nak_list_is_bounded_by_one_nak() {
    // 1000 four-byte unknown attributes: each is one 12-byte Status Info.
    let attrs = "00 55 00 04 ".repeat(1000);
    let err = Message::parse(&request_with(&attrs, 1000)).expect_err("unknown");
    assert_eq!(err.status_infos().len(), (MAX_PACKET_LEN - 8) / 12);
}

#[test]
fn call_connected_violations_follow_3_3_5_2_3() {
    let connected = hex(CALL_CONNECTED_SHA256);
    let binding_attr = &connected[8..];
    let build = |attrs: &[&[u8]]| {
        let body: Vec<u8> = attrs.concat();
        let mut bytes = vec![0x10, 0x01];
        bytes.extend_from_slice(&((8 + body.len()) as u16).to_be_bytes());
        bytes.extend_from_slice(&[0x00, 0x04]);
        bytes.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        bytes.extend_from_slice(&body);
        bytes
    };
    let error_status = hex("00 02 00 0C 00 00 00 00 00 00 00 01");
    let no_error_status = hex("00 02 00 0C 00 00 00 00 00 00 00 00");
    let protocol = hex("00 01 00 06 00 01");
    let mut short_binding = binding_attr[..100].to_vec();
    short_binding[3] = 100;
    let cases: [(Vec<&[u8]>, &str); 5] = [
        (vec![], "missing"),
        (vec![binding_attr, binding_attr], "duplicate"),
        (
            vec![binding_attr, &error_status[..]],
            "status info with error",
        ),
        (vec![&short_binding[..]], "invalid length"),
        (vec![binding_attr, &protocol[..]], "wrong attribute"),
    ];
    for (attrs, why) in cases {
        let err = Message::parse(&build(&attrs)).expect_err(why);
        assert!(!err.calls_for_nak(), "{why}");
        assert_eq!(err.status(), Status::ATTRIB_NOT_SUPPORTED_IN_MSG, "{why}");
        assert_eq!(err.attrib_id(), AttributeId::STATUS_INFO, "{why}");
        assert!(err.status_info().value().is_empty(), "{why}");
    }
    assert_eq!(
        Message::parse(&build(&[&no_error_status[..], binding_attr])),
        Ok(Message::CallConnected {
            binding: sha256_binding()
        })
    );
}

#[test]
fn other_messages_abort_naming_the_attribute() {
    let ack = hex(CONNECT_ACK_SHA256);
    let cbr = &ack[8..];
    let status_bytes = hex("00 02 00 0C 00 00 00 00 00 00 00 00");
    let status = &status_bytes[..];
    let build = |message_type: u16, attrs: &[&[u8]]| {
        let body: Vec<u8> = attrs.concat();
        let mut bytes = vec![0x10, 0x01];
        bytes.extend_from_slice(&((8 + body.len()) as u16).to_be_bytes());
        bytes.extend_from_slice(&message_type.to_be_bytes());
        bytes.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        bytes.extend_from_slice(&body);
        bytes
    };
    let cases: Vec<(u16, Vec<&[u8]>, AttributeId)> = vec![
        (2, vec![], AttributeId::CRYPTO_BINDING_REQ),
        (2, vec![cbr, cbr], AttributeId::CRYPTO_BINDING_REQ),
        (2, vec![cbr, status], AttributeId::STATUS_INFO),
        (3, vec![], AttributeId::STATUS_INFO),
        (3, vec![status, cbr], AttributeId::CRYPTO_BINDING_REQ),
        // Call Abort (5) and Call Disconnect (6) take what they get: see
        // call_abort_and_disconnect_ignore_attributes_other_than_status_info.
        (7, vec![status], AttributeId::STATUS_INFO),
        (8, vec![cbr], AttributeId::CRYPTO_BINDING_REQ),
        (9, vec![status], AttributeId::STATUS_INFO),
    ];
    for (message_type, attrs, attrib_id) in cases {
        let err = Message::parse(&build(message_type, &attrs)).expect_err("violation");
        assert!(!err.calls_for_nak());
        assert_eq!(err.message_type(), Some(MessageType(message_type)));
        assert_eq!(err.status(), Status::ATTRIB_NOT_SUPPORTED_IN_MSG);
        assert_eq!(err.attrib_id(), attrib_id, "type {message_type}");
    }
}

#[test]
fn message_error_display_names_status_and_cause() {
    let err = Message::parse(&request_with("", 0)).expect_err("missing");
    let text = err.to_string();
    assert!(
        text.contains("ATTRIB_STATUS_REQUIRED_ATTRIBUTE_MISSING"),
        "{text}"
    );
    assert!(text.contains("Encapsulated Protocol ID missing"), "{text}");
}

#[test]
fn hash_bitmask_choice() {
    assert_eq!(
        HashBitmask::SHA1_AND_SHA256.choose(HashBitmask::SHA1_AND_SHA256),
        Some(HashProtocol::Sha256)
    );
    assert_eq!(
        HashBitmask::SHA1_AND_SHA256.choose(HashBitmask::SHA1),
        Some(HashProtocol::Sha1)
    );
    assert_eq!(HashBitmask::SHA1.choose(HashBitmask::SHA256), None);
    assert_eq!(HashBitmask(0).choose(HashBitmask::SHA1_AND_SHA256), None);
    assert!(!HashBitmask(0xFC).contains(HashProtocol::Sha1));
    assert!(!HashBitmask(0xFC).contains(HashProtocol::Sha256));
    assert_eq!(
        format!("{:?}", HashBitmask(3)),
        "HashBitmask(0x03 SHA1 SHA256)"
    );
}

#[test]
fn code_space_names() {
    assert_eq!(
        MessageType::ECHO_RESPONSE.name(),
        Some("SSTP_MSG_ECHO_RESPONSE")
    );
    assert_eq!(Status(11), Status::STATUS_INFO_NOT_SUPPORTED_IN_MSG);
    assert_eq!(Status(12).name(), None);
    assert_eq!(format!("{:?}", AttributeId(9)), "AttributeId(0x9)");
}

// --- Property tests -------------------------------------------------------

fn arb_status_info() -> impl Strategy<Value = StatusInfo> {
    (
        any::<u8>(),
        any::<u32>(),
        prop::collection::vec(any::<u8>(), 0..=64),
    )
        .prop_map(|(id, status, value)| {
            StatusInfo::with_value(AttributeId(id), Status(status), &value)
        })
}

fn arb_binding() -> impl Strategy<Value = CryptoBinding> {
    (
        any::<u8>(),
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
    )
        .prop_map(|(p, nonce, cert_hash, compound_mac)| CryptoBinding {
            hash_protocol: HashBitmask(p),
            nonce,
            cert_hash,
            compound_mac,
        })
}

fn arb_request() -> impl Strategy<Value = CryptoBindingRequest> {
    (any::<u8>(), any::<[u8; 32]>()).prop_map(|(b, nonce)| CryptoBindingRequest {
        hash_bitmask: HashBitmask(b),
        nonce,
    })
}

fn arb_attribute() -> impl Strategy<Value = Attribute> {
    let known_id = prop_oneof![Just(1u8), Just(2), Just(3), Just(4)];
    prop_oneof![
        any::<u16>().prop_map(
            |p| Attribute::EncapsulatedProtocolId(EncapsulatedProtocolId {
                protocol_id: ProtocolId(p)
            })
        ),
        arb_status_info().prop_map(Attribute::StatusInfo),
        arb_binding().prop_map(Attribute::CryptoBinding),
        arb_request().prop_map(Attribute::CryptoBindingRequest),
        (known_id, prop::collection::vec(any::<u8>(), 0..120))
            .prop_filter("a wrong length", |(id, v)| {
                let len = v.len() + 4;
                match id {
                    1 => len != 6,
                    2 => !(12..=76).contains(&len),
                    3 => len != 104,
                    _ => len != 40,
                }
            })
            .prop_map(|(id, value)| Attribute::InvalidLength {
                id: AttributeId(id),
                value
            }),
        (
            any::<u8>().prop_filter("unknown id", |id| !(1..=4).contains(id)),
            prop::collection::vec(any::<u8>(), 0..40)
        )
            .prop_map(|(id, value)| Attribute::Unknown {
                id: AttributeId(id),
                value
            }),
    ]
}

fn arb_control() -> impl Strategy<Value = ControlMessage> {
    (any::<u16>(), prop::collection::vec(arb_attribute(), 0..12)).prop_map(|(t, attributes)| {
        ControlMessage {
            message_type: MessageType(t),
            attributes,
        }
    })
}

fn arb_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        any::<u16>().prop_map(|p| Message::CallConnectRequest {
            protocol_id: ProtocolId(p)
        }),
        arb_request().prop_map(|request| Message::CallConnectAck { request }),
        prop::collection::vec(arb_status_info(), 1..8)
            .prop_map(|status_infos| Message::CallConnectNak { status_infos }),
        arb_binding().prop_map(|binding| Message::CallConnected { binding }),
        prop::option::of(arb_status_info()).prop_map(|status| Message::CallAbort { status }),
        prop::option::of(arb_status_info()).prop_map(|status| Message::CallDisconnect { status }),
        Just(Message::CallDisconnectAck),
        Just(Message::EchoRequest),
        Just(Message::EchoResponse),
        arb_control()
            .prop_filter("unknown type", |c| !(1..=9).contains(&c.message_type.0))
            .prop_map(Message::Unknown),
    ]
}

proptest! {
    #[test]
    fn control_message_round_trips(control in arb_control()) {
        prop_assume!(control.fits());
        let mut bytes = Vec::new();
        control.emit(&mut bytes);
        prop_assert_eq!(bytes.len(), control.buffer_len());
        prop_assert_eq!(ControlMessage::parse(&bytes), Ok(control));
    }

    #[test]
    fn message_round_trips(message in arb_message()) {
        let bytes = emit_message(&message);
        prop_assert_eq!(Message::parse(&bytes), Ok(message));
    }

    #[test]
    fn data_packet_round_trips(payload in prop::collection::vec(any::<u8>(), 0..=MAX_DATA_PAYLOAD)) {
        let mut bytes = Vec::new();
        emit_data_packet(&payload, &mut bytes).expect("fits");
        prop_assert_eq!(Packet::parse(&bytes), Ok(Packet::Data(&payload)));
        let mut buf = vec![0; HEADER_LEN + payload.len()];
        buf[HEADER_LEN..].copy_from_slice(&payload);
        prop_assert_eq!(encode_data_packet(&mut buf, HEADER_LEN, payload.len()), Ok(bytes.as_slice()));
    }

    #[test]
    fn parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = Packet::parse(&bytes);
        let _ = Message::parse(&bytes);
        let _ = Attribute::parse(&bytes);
        let _ = StatusInfo::parse(&bytes);
        let _ = received_mac_input(&bytes);
    }

    #[test]
    fn structured_garbage_never_panics(
        message_type in any::<u16>(),
        count in any::<u16>(),
        body in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let len = 8 + body.len();
        let mut bytes = vec![0x10, 0x01];
        bytes.extend_from_slice(&(len as u16).to_be_bytes());
        bytes.extend_from_slice(&message_type.to_be_bytes());
        bytes.extend_from_slice(&count.to_be_bytes());
        bytes.extend_from_slice(&body);
        if let Ok(control) = ControlMessage::parse(&bytes) {
            let mut out = Vec::new();
            control.emit(&mut out);
            prop_assert_eq!(ControlMessage::parse(&out), Ok(control));
        }
    }
}
