//! Fuzz oracles for the SSTP wire layer: packets and control messages
//! ([`crate::wire::sstp`]), the stream deframer ([`crate::deframer`]) and the
//! HTTP handshake ([`crate::wire::http`]).
//!
//! Each function takes arbitrary bytes, must never panic on them, and asserts
//! the round-trip and consistency properties of its parsers; an assertion
//! failure is a bug. They are called by the libFuzzer targets in `fuzz/` and
//! by the corpus replay test.

use crate::deframer::{DeframeError, Deframer};
use crate::wire::http::{
    self, ClientRequest, Guid, HttpError, MAX_HEAD_LEN, RequestHead, ServerResponse,
};
use crate::wire::sstp::{
    self, Attribute, ControlMessage, HEADER_LEN, Header, MAC_RANGE, MAX_DATA_PAYLOAD,
    MAX_PACKET_LEN, Message, Packet, Status, VERSION,
};

/// `data` as one SSTP packet: [`Packet`], [`ControlMessage`], [`Message`] and
/// [`Attribute`] parse, emit, re-parse; the bytes emitted equal the input
/// with its reserved fields zeroed; every [`crate::wire::sstp::MessageError`]
/// yields a NAK or Abort that itself round-trips.
pub fn sstp_packet(data: &[u8]) {
    packet_round_trip(data);
    message_round_trip(data);
    attribute_round_trip(data);
    data_path(data);
    if let Ok(input) = sstp::received_mac_input(data) {
        assert_eq!(input.get(..MAC_RANGE.start), data.get(..MAC_RANGE.start));
        assert!(
            input
                .get(MAC_RANGE)
                .is_some_and(|mac| mac.iter().all(|&b| b == 0))
        );
    }
}

fn packet_round_trip(data: &[u8]) {
    let Ok(packet) = Packet::parse(data) else {
        return;
    };
    let header = Header::peek(data).expect("a parsed packet has a valid header");
    assert_eq!(header.packet_len(), data.len());
    let mut out = Vec::new();
    packet.emit(&mut out).expect("a parsed packet encodes");
    assert_eq!(out.len(), packet.buffer_len());
    assert_eq!(Packet::parse(&out).as_ref(), Ok(&packet));
    let canonical = match &packet {
        Packet::Data(payload) => {
            assert!(!header.is_control());
            assert_eq!(out.get(HEADER_LEN..), Some(*payload));
            canonical_header(data)
        }
        Packet::Control(control) => {
            assert!(header.is_control());
            canonical_control(data, control)
        }
    };
    assert_eq!(
        out, canonical,
        "emit(parse(x)) is x with reserved fields zeroed"
    );
}

fn message_round_trip(data: &[u8]) {
    let message = Message::parse(data);
    match ControlMessage::parse(data) {
        Ok(control) => assert_eq!(message, Message::from_control(control)),
        Err(error) => {
            let message_error = message.as_ref().expect_err("structure errors carry over");
            assert_eq!(message_error.parse_error(), &error);
            assert_eq!(message_error.status(), Status::INVALID_FRAME_RECEIVED);
            assert!(!message_error.calls_for_nak());
        }
    }
    match &message {
        Ok(message) => {
            let out = emit(message);
            assert!(out.len() <= data.len(), "typed form drops, never adds");
            assert_eq!(Message::parse(&out).as_ref(), Ok(message));
        }
        Err(error) => {
            assert!(!error.status_infos().is_empty());
            assert_eq!(error.status_info(), error.status_infos()[0]);
            let answer = if error.calls_for_nak() {
                Message::CallConnectNak {
                    status_infos: error.status_infos().to_vec(),
                }
            } else {
                assert_eq!(error.status_infos().len(), 1);
                Message::CallAbort {
                    status: Some(error.status_info()),
                }
            };
            let out = emit(&answer);
            assert!(out.len() <= MAX_PACKET_LEN);
            assert_eq!(
                Message::parse(&out),
                Ok(answer),
                "the answer carries every status info"
            );
        }
    }
}

fn attribute_round_trip(data: &[u8]) {
    let Ok(attribute) = Attribute::parse(data) else {
        return;
    };
    let mut out = Vec::new();
    attribute.emit(&mut out);
    assert_eq!(out.len(), attribute.buffer_len());
    assert_eq!(out.len(), data.len(), "attribute lengths are exact");
    assert_eq!(Attribute::parse(&out), Ok(attribute));
}

/// The send side of the data path with `data` as a PPP frame.
fn data_path(data: &[u8]) {
    let payload = data.get(..MAX_DATA_PAYLOAD).unwrap_or(data);
    let mut buf = vec![0u8; HEADER_LEN + payload.len()];
    buf.get_mut(HEADER_LEN..)
        .expect("sized above")
        .copy_from_slice(payload);
    let packet = sstp::encode_data_packet(&mut buf, HEADER_LEN, payload.len())
        .expect("a payload within the limit encodes")
        .to_vec();
    assert_eq!(Packet::parse(&packet), Ok(Packet::Data(payload)));
    let mut emitted = Vec::new();
    sstp::emit_data_packet(payload, &mut emitted).expect("within the limit");
    assert_eq!(emitted, packet);
    if data.len() > MAX_DATA_PAYLOAD {
        assert!(sstp::emit_data_packet(data, &mut emitted).is_err());
    }
}

fn emit(message: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    message.emit(&mut out);
    assert_eq!(out.len(), message.buffer_len());
    out
}

/// `data` with the header's reserved bits zeroed (MS-SSTP 2.2.1).
fn canonical_header(data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    if let Some(flags) = out.get_mut(1) {
        *flags &= 0x01;
    }
    if let Some(length) = out.get_mut(2) {
        *length &= 0x0F;
    }
    out
}

/// `data` with every reserved field of a control packet zeroed: the header's
/// (2.2.1), each attribute header's (2.2.4) and the 3 Reserved1 bytes of the
/// typed attributes (2.2.6-2.2.8).
fn canonical_control(data: &[u8], control: &ControlMessage) -> Vec<u8> {
    let mut out = canonical_header(data);
    let mut at = sstp::CONTROL_HEADER_LEN;
    for attribute in &control.attributes {
        if let Some(reserved) = out.get_mut(at) {
            *reserved = 0;
        }
        if let Some(length) = out.get_mut(at + 2) {
            *length &= 0x0F;
        }
        let has_reserved1 = matches!(
            attribute,
            Attribute::StatusInfo(_)
                | Attribute::CryptoBinding(_)
                | Attribute::CryptoBindingRequest(_)
        );
        if has_reserved1 && let Some(reserved) = out.get_mut(at + 4..at + 7) {
            reserved.fill(0);
        }
        at += attribute.buffer_len();
    }
    assert_eq!(at, data.len(), "the attributes fill the packet");
    out
}

/// `data` as a TLS plaintext stream: the packets and the error are the same
/// however the stream is cut into chunks (whole, byte by byte, and cuts
/// derived from the data); each packet is well framed; the packets are a
/// prefix of the stream and what is left is buffered; packets in a single
/// chunk are borrowed from it.
pub fn deframer(data: &[u8]) {
    let whole = deframe(&[data]);
    let bytewise: Vec<&[u8]> = data.chunks(1).collect();
    assert_eq!(deframe(&bytewise), whole, "byte at a time");
    assert_eq!(deframe(&derived_chunks(data)), whole, "derived cuts");
    let (packets, error, buffered) = &whole;

    let mut at = 0;
    for packet in packets {
        let header = Header::peek(packet).expect("yielded packets have valid headers");
        assert_eq!(header.packet_len(), packet.len());
        assert_eq!(data.get(at..at + packet.len()), Some(packet.as_slice()));
        at += packet.len();
    }
    match error {
        None => assert_eq!(at + buffered, data.len()),
        Some(DeframeError::UnsupportedVersion { version }) => {
            assert_eq!(data.get(at), Some(version));
            assert_ne!(*version, VERSION);
        }
        Some(DeframeError::LengthTooShort { length }) => {
            assert_eq!(data.get(at), Some(&VERSION));
            let field = data.get(at + 2..at + 4).expect("a whole header");
            assert_eq!(u16::from_be_bytes([field[0], field[1]]) & 0x0FFF, *length);
            assert!(usize::from(*length) < HEADER_LEN);
        }
    }

    // Zero copy: whole packets of a single chunk are slices of it.
    let mut deframer = Deframer::new();
    let mut input = data;
    let range = data.as_ptr_range();
    while let Some(Ok(packet)) = deframer.next_packet(&mut input) {
        assert!(range.contains(&packet.as_ptr()), "borrowed from the input");
        // Whatever the session does next must not panic either.
        let _ = Packet::parse(packet);
    }
}

type Deframed = (Vec<Vec<u8>>, Option<DeframeError>, usize);

fn deframe(chunks: &[&[u8]]) -> Deframed {
    let mut deframer = Deframer::new();
    let mut packets = Vec::new();
    let mut error = None;
    for chunk in chunks {
        let mut input = *chunk;
        while let Some(result) = deframer.next_packet(&mut input) {
            match result {
                Ok(packet) => {
                    assert!(error.is_none(), "nothing after an error");
                    packets.push(packet.to_vec());
                }
                Err(e) => {
                    assert!(error.is_none(), "one error, once");
                    error = Some(e);
                }
            }
        }
        assert!(input.is_empty());
        assert!(deframer.buffered_len() < MAX_PACKET_LEN);
    }
    assert_eq!(deframer.error(), error);
    let buffered = if error.is_some() {
        0
    } else {
        deframer.buffered_len()
    };
    (packets, error, buffered)
}

/// Chunk sizes from a small PRNG seeded with the data: empty chunks, tiny
/// ones that split headers, and ones around the maximum packet length.
fn derived_chunks(data: &[u8]) -> Vec<&[u8]> {
    let mut state = data.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    }) | 1;
    let mut chunks = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let r = (state >> 8) as usize;
        let size = match state % 4 {
            0 => r % 4,
            1 => 1 + r % 64,
            2 => 1 + r % MAX_PACKET_LEN,
            _ => MAX_PACKET_LEN - 1 + r % 3,
        };
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        chunks.push(chunk);
        rest = tail;
    }
    chunks
}

/// `data` as the start of an HTTP connection, read by both the server's
/// request parser and the client's response parser: consumed counts stay
/// within the data and the head limit; the result does not depend on what
/// follows the head; a byte less is incomplete; emitters round-trip through
/// the parsers (the request, the 200 response, every error response).
pub fn http_preamble(data: &[u8]) {
    request_side(data);
    response_side(data);
}

fn request_side(data: &[u8]) {
    match http::parse_request_head(data) {
        Ok(None) => assert!(data.len() < MAX_HEAD_LEN),
        Ok(Some(RequestHead::Sstp(head))) => {
            let consumed = head.consumed;
            assert!(consumed <= data.len() && consumed <= MAX_HEAD_LEN);
            let (taken, _) = data.split_at(consumed);
            assert!(taken.ends_with(b"\r\n\r\n"));
            assert_eq!(
                http::parse_request_head(taken),
                Ok(Some(RequestHead::Sstp(head.clone())))
            );
            let cut = derived_cut(data, consumed);
            assert_eq!(
                http::parse_request_head(data.get(..cut).unwrap_or_default()),
                Ok(None),
                "a prefix of an SSTP head is incomplete"
            );
            let guid = head.correlation_id.and_then(Guid::parse);
            if let (Some(host), Some(guid)) = (head.host, guid)
                && let Ok(request) = ClientRequest::new(host, guid)
            {
                let mut out = Vec::new();
                request.emit(&mut out);
                assert_eq!(out.len(), request.buffer_len());
                let Ok(Some(RequestHead::Sstp(again))) = http::parse_request_head(&out) else {
                    panic!("an emitted request parses as SSTP");
                };
                assert_eq!((again.host, again.consumed), (Some(host), out.len()));
                assert_eq!(again.correlation_id.and_then(Guid::parse), Some(guid));
            }
        }
        Ok(Some(RequestHead::NotSstp(other))) => {
            assert!(!other.method.is_empty() && !other.target.is_empty());
            refusal_round_trips(other.error_status());
        }
        Err(error) => {
            let status = error
                .error_status()
                .expect("request errors map to an HTTP status");
            refusal_round_trips(status);
        }
    }
}

fn response_side(data: &[u8]) {
    match http::parse_response_head(data) {
        Ok(None) => assert!(data.len() < MAX_HEAD_LEN),
        Ok(Some(head)) => {
            let consumed = head.consumed;
            assert!(consumed <= data.len() && consumed <= MAX_HEAD_LEN);
            let (taken, _) = data.split_at(consumed);
            assert!(taken.ends_with(b"\r\n\r\n"));
            assert_eq!(http::parse_response_head(taken), Ok(Some(head.clone())));
            let cut = derived_cut(data, consumed);
            assert_eq!(
                http::parse_response_head(data.get(..cut).unwrap_or_default()),
                Ok(None),
                "a prefix of a 200 head is incomplete"
            );
            let mut response = Ok(ServerResponse::new());
            if let Some(server) = head.server {
                response = response.and_then(|r| r.with_server(server));
            }
            if let Some(date) = head.date {
                response = response.and_then(|r| r.with_date(date));
            }
            if let Ok(response) = response {
                let mut out = Vec::new();
                response.emit(&mut out);
                assert_eq!(out.len(), response.buffer_len());
                let again = http::parse_response_head(&out)
                    .expect("an emitted response parses")
                    .expect("and is complete");
                assert_eq!((again.server, again.date), (head.server, head.date));
                assert_eq!(again.consumed, out.len());
            }
        }
        Err(HttpError::Refused { code, reason }) => {
            assert_ne!(code, 200);
            assert!(code <= 999);
            assert!(reason.chars().count() <= 128);
            assert!(!reason.chars().any(char::is_control));
        }
        Err(_) => {}
    }
}

/// An error response parses back as the refusal it is.
fn refusal_round_trips(status: http::ErrorStatus) {
    let mut out = Vec::new();
    status.emit(&mut out);
    assert_eq!(out.len(), status.buffer_len());
    assert_eq!(
        http::parse_response_head(&out),
        Err(HttpError::Refused {
            code: status.code(),
            reason: status.reason().into(),
        })
    );
}

/// A length below `consumed`, picked by the data.
fn derived_cut(data: &[u8], consumed: usize) -> usize {
    let seed = data
        .iter()
        .fold(0usize, |h, &b| h.wrapping_mul(31).wrapping_add(b.into()));
    seed % consumed.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo_random(seed: u64, len: usize) -> Vec<u8> {
        let mut state = seed | 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn sstp_packet_accepts_fixtures_and_noise() {
        let connect_request = [
            0x10, 0x01, 0x00, 0x0E, 0x00, 0x01, 0x00, 0x01, 0x00, 0x01, 0x00, 0x06, 0x00, 0x01,
        ];
        sstp_packet(&connect_request);
        sstp_packet(&[0x10, 0x00, 0x00, 0x04]);
        sstp_packet(&[0x10, 0xFF, 0xF0, 0x08, 0x00, 0x07, 0x00, 0x00]);
        sstp_packet(&[]);
        for seed in 0..200 {
            let mut bytes = pseudo_random(seed, (seed as usize * 7) % 300);
            sstp_packet(&bytes);
            if bytes.len() >= 8 {
                // Make it look like a control packet so deeper paths run.
                let len = bytes.len() as u16;
                bytes[..4].copy_from_slice(&[0x10, 0x01, (len >> 8) as u8, len as u8]);
                bytes[6..8].copy_from_slice(&[0, (seed % 4) as u8]);
                sstp_packet(&bytes);
            }
        }
    }

    #[test]
    fn deframer_accepts_streams_and_noise() {
        let echo = [0x10, 0x01, 0x00, 0x08, 0x00, 0x08, 0x00, 0x00];
        let stream: Vec<u8> = echo.iter().copied().cycle().take(8 * 50).collect();
        deframer(&stream);
        let mut big = vec![0x10, 0x00, 0x0F, 0xFF];
        big.resize(MAX_PACKET_LEN, 0xAB);
        deframer(&[big.clone(), big, echo.to_vec()].concat());
        for seed in 0..100 {
            deframer(&pseudo_random(seed, 64));
        }
    }

    #[test]
    fn http_preamble_accepts_handshakes_and_noise() {
        http_preamble(
            b"SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\n\
              Host: 10.213.0.1\r\nContent-Length: 18446744073709551615\r\n\
              SSTPCORRELATIONID: {6D5C1B10-2F34-4A8E-9C71-0B2E4D6F8A93}\r\n\r\n\x10\x01",
        );
        http_preamble(
            b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\
              Server: Microsoft-HTTPAPI/2.0\r\nDate: Thu, 09 Nov 2006 00:51:09 GMT\r\n\r\n",
        );
        http_preamble(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        http_preamble(b"HTTP/1.1 404 Not Found\r\n\r\n");
        http_preamble(&[b'A'; MAX_HEAD_LEN + 10]);
        for seed in 0..100 {
            http_preamble(&pseudo_random(seed, 100));
        }
    }
}
