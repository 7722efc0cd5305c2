//! ICMP echo over IPv4, built and checked by hand (RFC 791, RFC 792,
//! RFC 1071): the data the load generator pushes through each tunnel.
//!
//! A request is a 20-byte IPv4 header without options, an 8-byte ICMP
//! header and `payload_len` bytes of a pattern keyed by the sequence
//! number, so a reply that carries another request's bytes does not pass.
//! A reply passes only if both checksums hold, it is an Echo Reply
//! (type 0, code 0) and its payload is the pattern of its sequence number.

use std::fmt;
use std::net::Ipv4Addr;

/// An IPv4 header without options.
pub(crate) const IPV4_HEADER_LEN: usize = 20;
/// Type, code, checksum, identifier, sequence number.
pub(crate) const ICMP_HEADER_LEN: usize = 8;
/// IP plus ICMP headers: an echo packet is this plus its payload.
pub(crate) const ECHO_OVERHEAD: usize = IPV4_HEADER_LEN + ICMP_HEADER_LEN;

const PROTO_ICMP: u8 = 1;
const ECHO_REQUEST: u8 = 8;
const ECHO_REPLY: u8 = 0;
const TTL: u8 = 64;

/// The Internet checksum (RFC 1071): the ones' complement of the ones'
/// complement sum of the 16-bit big-endian words, an odd last byte padded
/// with zero.
pub(crate) fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut words = data.chunks_exact(2);
    for w in &mut words {
        sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    // The loop above folded every carry, so the sum fits 16 bits.
    !(sum as u16)
}

/// The payload byte at `index` of the request with sequence number `seq`.
fn pattern(seq: u16, index: usize) -> u8 {
    (index as u8) ^ (seq as u8) ^ ((seq >> 8) as u8)
}

/// One Echo Request to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EchoRequest {
    pub(crate) src: Ipv4Addr,
    pub(crate) dst: Ipv4Addr,
    pub(crate) id: u16,
    pub(crate) seq: u16,
    /// ICMP data bytes after the 8-byte header.
    pub(crate) payload_len: usize,
}

impl EchoRequest {
    /// The IP packet's length.
    pub(crate) fn len(&self) -> usize {
        ECHO_OVERHEAD + self.payload_len
    }

    /// Writes the whole IPv4 packet into `out` (replacing what it held).
    /// Fails if the packet would not fit IPv4's 16-bit total length.
    pub(crate) fn emit(&self, out: &mut Vec<u8>) -> Result<(), IcmpError> {
        let total = u16::try_from(self.len()).map_err(|_| IcmpError::TooLong)?;
        out.clear();
        out.reserve(self.len());
        // IPv4 header (RFC 791 3.1): version 4, IHL 5, no DSCP, no options,
        // DF clear (a benchmark wants to see fragmentation fail loudly at
        // the MTU check, not in the network), the identification from the
        // sequence number so captures are easy to read.
        out.extend_from_slice(&[0x45, 0x00]);
        out.extend_from_slice(&total.to_be_bytes());
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&[0x00, 0x00, TTL, PROTO_ICMP, 0x00, 0x00]);
        out.extend_from_slice(&self.src.octets());
        out.extend_from_slice(&self.dst.octets());
        let ip_sum = checksum(&out[..IPV4_HEADER_LEN]);
        out[10..12].copy_from_slice(&ip_sum.to_be_bytes());
        // ICMP Echo (RFC 792).
        out.extend_from_slice(&[ECHO_REQUEST, 0, 0, 0]);
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend((0..self.payload_len).map(|i| pattern(self.seq, i)));
        let icmp_sum = checksum(&out[IPV4_HEADER_LEN..]);
        out[IPV4_HEADER_LEN + 2..IPV4_HEADER_LEN + 4].copy_from_slice(&icmp_sum.to_be_bytes());
        Ok(())
    }
}

/// An Echo Reply that passed every check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EchoReply {
    pub(crate) src: Ipv4Addr,
    pub(crate) dst: Ipv4Addr,
    pub(crate) id: u16,
    pub(crate) seq: u16,
    /// The IP packet's total length.
    pub(crate) len: usize,
}

/// Why a received packet is not a good Echo Reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IcmpError {
    /// Shorter than its headers or its stated length.
    Truncated,
    /// Not IPv4, or an IPv4 packet that is not ICMP.
    NotIcmpV4,
    /// The IPv4 header checksum does not hold.
    BadIpChecksum,
    /// The ICMP checksum does not hold.
    BadIcmpChecksum,
    /// ICMP, but not an Echo Reply (type, code).
    NotEchoReply(u8, u8),
    /// A fragment: our packets fit the MTU, so a reply never is one.
    Fragment,
    /// The payload is not the pattern of its sequence number.
    BadPayload,
    /// Too long for IPv4 (building).
    TooLong,
}

impl fmt::Display for IcmpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("truncated packet"),
            Self::NotIcmpV4 => f.write_str("not an ICMP IPv4 packet"),
            Self::BadIpChecksum => f.write_str("bad IPv4 header checksum"),
            Self::BadIcmpChecksum => f.write_str("bad ICMP checksum"),
            Self::NotEchoReply(t, c) => write!(f, "ICMP type {t} code {c}, not an Echo Reply"),
            Self::Fragment => f.write_str("an IPv4 fragment"),
            Self::BadPayload => f.write_str("the echo payload differs from what was sent"),
            Self::TooLong => f.write_str("packet too long for IPv4"),
        }
    }
}

impl std::error::Error for IcmpError {}

/// Checks `packet` (a whole IPv4 packet from the tunnel) and returns the
/// Echo Reply it holds. Bytes after the IPv4 total length are ignored.
pub(crate) fn parse_echo_reply(packet: &[u8]) -> Result<EchoReply, IcmpError> {
    let first = *packet.first().ok_or(IcmpError::Truncated)?;
    if first >> 4 != 4 {
        return Err(IcmpError::NotIcmpV4);
    }
    let ihl = usize::from(first & 0x0F) * 4;
    if ihl < IPV4_HEADER_LEN || packet.len() < ihl {
        return Err(IcmpError::Truncated);
    }
    let header = &packet[..ihl];
    let total = usize::from(u16::from_be_bytes([header[2], header[3]]));
    if total < ihl + ICMP_HEADER_LEN || packet.len() < total {
        return Err(IcmpError::Truncated);
    }
    if header[9] != PROTO_ICMP {
        return Err(IcmpError::NotIcmpV4);
    }
    if checksum(header) != 0 {
        return Err(IcmpError::BadIpChecksum);
    }
    // More Fragments set, or a fragment offset: part of a bigger packet.
    if u16::from_be_bytes([header[6], header[7]]) & 0x3FFF != 0 {
        return Err(IcmpError::Fragment);
    }
    let icmp = &packet[ihl..total];
    if checksum(icmp) != 0 {
        return Err(IcmpError::BadIcmpChecksum);
    }
    let (kind, code) = (icmp[0], icmp[1]);
    if kind != ECHO_REPLY || code != 0 {
        return Err(IcmpError::NotEchoReply(kind, code));
    }
    let seq = u16::from_be_bytes([icmp[6], icmp[7]]);
    let payload = &icmp[ICMP_HEADER_LEN..];
    if payload
        .iter()
        .enumerate()
        .any(|(i, b)| *b != pattern(seq, i))
    {
        return Err(IcmpError::BadPayload);
    }
    Ok(EchoReply {
        src: Ipv4Addr::new(header[12], header[13], header[14], header[15]),
        dst: Ipv4Addr::new(header[16], header[17], header[18], header[19]),
        id: u16::from_be_bytes([icmp[4], icmp[5]]),
        seq,
        len: total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: Ipv4Addr = Ipv4Addr::new(10, 64, 0, 2);
    const DST: Ipv4Addr = Ipv4Addr::new(10, 64, 0, 1);

    /// What the kernel does with an Echo Request: swap the addresses, set
    /// type 0, fix both checksums (RFC 792: the data is returned as is).
    fn kernel_reply(request: &[u8]) -> Vec<u8> {
        let mut r = request.to_vec();
        r[12..16].copy_from_slice(&request[16..20]);
        r[16..20].copy_from_slice(&request[12..16]);
        r[8] = 63; // one hop
        r[10..12].copy_from_slice(&[0, 0]);
        let ip = checksum(&r[..20]);
        r[10..12].copy_from_slice(&ip.to_be_bytes());
        r[20] = ECHO_REPLY;
        r[22..24].copy_from_slice(&[0, 0]);
        let icmp = checksum(&r[20..]);
        r[22..24].copy_from_slice(&icmp.to_be_bytes());
        r
    }

    fn request(seq: u16, payload_len: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let req = EchoRequest {
            src: SRC,
            dst: DST,
            id: 0x1234,
            seq,
            payload_len,
        };
        req.emit(&mut out).expect("fits");
        assert_eq!(out.len(), req.len());
        out
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 1.3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn checksum_odd_length_pads_with_zero() {
        assert_eq!(
            checksum(&[0x12, 0x34, 0x56]),
            checksum(&[0x12, 0x34, 0x56, 0x00])
        );
        assert_eq!(checksum(&[]), 0xFFFF);
    }

    #[test]
    fn checksum_folds_carries() {
        // 0xFFFF + 0x0001 = 0x1_0000 → folds to 0x0001 → complement 0xFFFE.
        assert_eq!(checksum(&[0xFF, 0xFF, 0x00, 0x01]), 0xFFFE);
    }

    #[test]
    fn known_request_bytes() {
        // An 8-byte-payload echo request from SRC to DST, checked against
        // an independent computation of both checksums (a few lines of Python
        // summing the 16-bit words).
        let p = request(1, 8);
        assert_eq!(
            &p[..20],
            &[
                0x45, 0x00, 0x00, 0x24, 0x00, 0x01, 0x00, 0x00, 0x40, 0x01, 0x66, 0x56, 10, 64, 0,
                2, 10, 64, 0, 1
            ]
        );
        assert_eq!(&p[20..28], &[8, 0, 0xd5, 0xbe, 0x12, 0x34, 0x00, 0x01]);
        assert_eq!(&p[28..], &[1, 0, 3, 2, 5, 4, 7, 6]);
        // A correct checksum makes the region sum to zero.
        assert_eq!(checksum(&p[..20]), 0);
        assert_eq!(checksum(&p[20..]), 0);
    }

    #[test]
    fn reply_round_trip() {
        for (seq, len) in [(0u16, 0usize), (1, 1), (513, 56), (65535, 1372)] {
            let reply = parse_echo_reply(&kernel_reply(&request(seq, len))).expect("valid");
            assert_eq!(
                reply,
                EchoReply {
                    src: DST,
                    dst: SRC,
                    id: 0x1234,
                    seq,
                    len: ECHO_OVERHEAD + len
                }
            );
        }
    }

    #[test]
    fn trailing_bytes_after_total_length_are_ignored() {
        let mut r = kernel_reply(&request(7, 10));
        r.extend_from_slice(&[0xAA; 5]);
        assert_eq!(parse_echo_reply(&r).map(|e| e.seq), Ok(7));
    }

    #[test]
    fn our_own_request_is_not_a_reply() {
        assert_eq!(
            parse_echo_reply(&request(3, 16)),
            Err(IcmpError::NotEchoReply(8, 0))
        );
    }

    #[test]
    fn rejects_damage() {
        let good = kernel_reply(&request(9, 32));
        let mut bad_ip = good.clone();
        bad_ip[8] ^= 1;
        assert_eq!(parse_echo_reply(&bad_ip), Err(IcmpError::BadIpChecksum));
        let mut bad_icmp = good.clone();
        bad_icmp[40] ^= 1;
        assert_eq!(parse_echo_reply(&bad_icmp), Err(IcmpError::BadIcmpChecksum));
        assert_eq!(
            parse_echo_reply(&good[..good.len() - 1]),
            Err(IcmpError::Truncated)
        );
        assert_eq!(parse_echo_reply(&good[..10]), Err(IcmpError::Truncated));
        assert_eq!(parse_echo_reply(&[]), Err(IcmpError::Truncated));
        assert_eq!(parse_echo_reply(&[0x60; 40]), Err(IcmpError::NotIcmpV4));
        let mut udp = good.clone();
        udp[9] = 17;
        assert_eq!(parse_echo_reply(&udp), Err(IcmpError::NotIcmpV4));
        let mut short_ihl = good.clone();
        short_ihl[0] = 0x44;
        assert_eq!(parse_echo_reply(&short_ihl), Err(IcmpError::Truncated));
    }

    #[test]
    fn rejects_a_payload_that_is_not_the_pattern() {
        // A well-formed reply with checksums fixed but other data.
        let mut r = kernel_reply(&request(4, 16));
        r[30] ^= 0xFF;
        r[22..24].copy_from_slice(&[0, 0]);
        let sum = checksum(&r[20..]);
        r[22..24].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(parse_echo_reply(&r), Err(IcmpError::BadPayload));
    }

    #[test]
    fn rejects_fragments() {
        let mut r = kernel_reply(&request(4, 16));
        r[6] = 0x20; // More Fragments
        r[10..12].copy_from_slice(&[0, 0]);
        let sum = checksum(&r[..20]);
        r[10..12].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(parse_echo_reply(&r), Err(IcmpError::Fragment));
    }

    #[test]
    fn too_long_for_ipv4() {
        let req = EchoRequest {
            src: SRC,
            dst: DST,
            id: 1,
            seq: 1,
            payload_len: 70_000,
        };
        assert_eq!(req.emit(&mut Vec::new()), Err(IcmpError::TooLong));
    }
}
