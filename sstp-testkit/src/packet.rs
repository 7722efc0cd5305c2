//! Minimal IP packets: enough header for the tunnel's data path, which
//! reads versions, lengths and addresses and checks no checksum.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IPv4 packet (RFC 791) from `src` to `dst` carrying `payload`:
/// protocol 17, TTL 64, checksum left zero.
pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(20 + payload.len()).expect("a test packet fits an IPv4 length");
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&len.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 0, 64, 17, 0, 0]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(payload);
    p
}

/// An IPv6 packet (RFC 8200) from `src` to `dst` carrying `payload`: no
/// next header (59), hop limit 64.
pub fn ipv6(src: Ipv6Addr, dst: Ipv6Addr, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(payload.len()).expect("a test packet fits an IPv6 length");
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&len.to_be_bytes());
    p.extend_from_slice(&[59, 64]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(payload);
    p
}

/// The source and destination of an IPv4 or IPv6 packet; `None` for
/// anything too short or of another version.
pub fn addresses(p: &[u8]) -> Option<(IpAddr, IpAddr)> {
    match p.first()? >> 4 {
        4 if p.len() >= 20 => Some((
            IpAddr::from(<[u8; 4]>::try_from(&p[12..16]).ok()?),
            IpAddr::from(<[u8; 4]>::try_from(&p[16..20]).ok()?),
        )),
        6 if p.len() >= 40 => Some((
            IpAddr::from(<[u8; 16]>::try_from(&p[8..24]).ok()?),
            IpAddr::from(<[u8; 16]>::try_from(&p[24..40]).ok()?),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_packets_read_back() {
        let (a, b) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        let p = ipv4(a, b, b"hi");
        assert_eq!(p.len(), 22);
        assert_eq!(u16::from_be_bytes([p[2], p[3]]), 22);
        assert_eq!(addresses(&p), Some((a.into(), b.into())));
        let (c, d) = (Ipv6Addr::LOCALHOST, Ipv6Addr::UNSPECIFIED);
        let p = ipv6(c, d, b"hello");
        assert_eq!(p.len(), 45);
        assert_eq!(u16::from_be_bytes([p[4], p[5]]), 5);
        assert_eq!(addresses(&p), Some((c.into(), d.into())));
        assert_eq!(addresses(&p[..39]), None);
        assert_eq!(addresses(&[]), None);
    }
}
