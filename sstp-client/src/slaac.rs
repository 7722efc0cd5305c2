//! IPv6 address configuration on the tunnel: SLAAC (RFC 4862) done by the
//! client itself.
//!
//! IPv6CP (RFC 5072) only agrees on interface identifiers, which give the
//! link-local addresses. A global address comes from the server's Router
//! Advertisement (RFC 4861 4.2) with a Prefix Information option whose
//! autonomous flag is set: prefix (a /64) + our IPv6CP interface identifier
//! (RFC 5072 5, RFC 4862 5.5.3).
//!
//! Why not leave it to the kernel: a TUN device is `ARPHRD_NONE`, with no
//! MAC address to form an EUI-64 from, and the kernel's identifier (if any)
//! would not be the one IPv6CP negotiated; depending on `addr_gen_mode`
//! and `accept_ra` it may do nothing at all. So the driver reads the RAs
//! that arrive through the tunnel, derives the address, and adds it with
//! netlink. It also sends one Router Solicitation (RFC 4861 6.3.7) when
//! IPv6CP opens, so a server that only answers solicitations answers.
//! The kernel's own RA handling is turned off on the tunnel
//! (`LinuxRoutes::keep_kernel_off_ipv6_autoconf`), so it adds no default
//! route or address of its own behind the route mode's back.

use std::net::Ipv6Addr;

/// ICMPv6 (RFC 4443) in the IPv6 Next Header field.
const ICMPV6: u8 = 58;
const ROUTER_SOLICITATION: u8 = 133;
const ROUTER_ADVERTISEMENT: u8 = 134;
/// Prefix Information option (RFC 4861 4.6.2).
const OPT_PREFIX_INFO: u8 = 3;
/// MTU option (RFC 4861 4.6.4).
const OPT_MTU: u8 = 5;
/// Recursive DNS Server option (RFC 8106 5.1).
const OPT_RDNSS: u8 = 25;
const IPV6_HEADER: usize = 40;

/// An advertised prefix (RFC 4861 4.6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixInfo {
    /// The prefix, host bits as sent.
    pub prefix: Ipv6Addr,
    /// Its length.
    pub len: u8,
    /// L: the prefix is on link.
    pub on_link: bool,
    /// A: usable for SLAAC.
    pub autonomous: bool,
    /// Valid lifetime in seconds (`u32::MAX`: forever).
    pub valid_lifetime: u32,
}

/// What a Router Advertisement told us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterAdvert {
    /// The router's link-local address.
    pub router: Ipv6Addr,
    /// Router Lifetime in seconds: non-zero means "a default router".
    pub router_lifetime: u16,
    /// Prefix Information options.
    pub prefixes: Vec<PrefixInfo>,
    /// The MTU option, if any.
    pub mtu: Option<u32>,
    /// RDNSS servers (RFC 8106).
    pub dns: Vec<Ipv6Addr>,
}

impl RouterAdvert {
    /// The SLAAC address for each usable prefix: autonomous, /64, valid
    /// lifetime not zero (RFC 4862 5.5.3 a-d).
    pub fn slaac_addresses(&self, interface_id: [u8; 8]) -> Vec<Ipv6Addr> {
        self.prefixes
            .iter()
            .filter(|p| p.autonomous && p.len == 64 && p.valid_lifetime > 0)
            .filter(|p| !is_link_local(p.prefix))
            .map(|p| slaac_address(p.prefix, interface_id))
            .collect()
    }
}

/// `prefix` (its first 64 bits) followed by `interface_id`.
pub fn slaac_address(prefix: Ipv6Addr, interface_id: [u8; 8]) -> Ipv6Addr {
    let high = u128::from(prefix) & !u128::from(u64::MAX);
    Ipv6Addr::from(high | u128::from(u64::from_be_bytes(interface_id)))
}

fn is_link_local(a: Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

fn ipv6_at(bytes: &[u8], at: usize) -> Option<Ipv6Addr> {
    let raw: [u8; 16] = bytes.get(at..at + 16)?.try_into().ok()?;
    Some(Ipv6Addr::from(raw))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// Parses `packet` as a Router Advertisement, validated as RFC 4861 6.1.2
/// asks: hop limit 255, source link-local, ICMP code 0, checksum right,
/// options well formed. `None` for anything else (most packets).
pub fn parse_router_advertisement(packet: &[u8]) -> Option<RouterAdvert> {
    if packet.len() < IPV6_HEADER + 16 || packet[0] >> 4 != 6 || packet[6] != ICMPV6 {
        return None;
    }
    let payload_len = usize::from(u16::from_be_bytes([packet[4], packet[5]]));
    let icmp = packet.get(IPV6_HEADER..IPV6_HEADER + payload_len)?;
    let src = ipv6_at(packet, 8)?;
    let dst = ipv6_at(packet, 24)?;
    if icmp.first() != Some(&ROUTER_ADVERTISEMENT)
        || icmp.get(1) != Some(&0)
        || packet[7] != 255
        || !is_link_local(src)
        || icmp.len() < 16
        || checksum(src, dst, icmp) != 0
    {
        return None;
    }
    let router_lifetime = u16::from_be_bytes([icmp[6], icmp[7]]);
    let mut ra = RouterAdvert {
        router: src,
        router_lifetime,
        prefixes: Vec::new(),
        mtu: None,
        dns: Vec::new(),
    };
    let mut options = &icmp[16..];
    while !options.is_empty() {
        let kind = *options.first()?;
        let len = usize::from(*options.get(1)?) * 8;
        // 4.6: a zero length is invalid and the whole packet is dropped.
        if len == 0 || len > options.len() {
            return None;
        }
        let (opt, rest) = options.split_at(len);
        options = rest;
        match kind {
            OPT_PREFIX_INFO if len == 32 => {
                ra.prefixes.push(PrefixInfo {
                    len: opt[2],
                    on_link: opt[3] & 0x80 != 0,
                    autonomous: opt[3] & 0x40 != 0,
                    valid_lifetime: u32_at(opt, 4)?,
                    prefix: ipv6_at(opt, 16)?,
                });
            }
            OPT_MTU if len == 8 => ra.mtu = u32_at(opt, 4),
            OPT_RDNSS if len >= 24 => {
                for at in (8..len).step_by(16) {
                    if ra.dns.len() < 8 {
                        ra.dns.extend(ipv6_at(opt, at));
                    }
                }
            }
            _ => {}
        }
        if ra.prefixes.len() > 16 {
            break; // enough for anyone; bounds the work on a hostile RA
        }
    }
    Some(ra)
}

/// A Router Solicitation from `src` to all-routers (ff02::2), without
/// options (RFC 4861 4.1; no link-layer address on a point-to-point link).
pub fn router_solicitation(src: Ipv6Addr) -> Vec<u8> {
    let dst = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);
    let mut icmp = vec![ROUTER_SOLICITATION, 0, 0, 0, 0, 0, 0, 0];
    let sum = checksum(src, dst, &icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    ipv6_packet(src, dst, &icmp)
}

/// An IPv6 packet with hop limit 255 carrying `icmp`.
pub(crate) fn ipv6_packet(src: Ipv6Addr, dst: Ipv6Addr, icmp: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(IPV6_HEADER + icmp.len());
    p.extend_from_slice(&[0x60, 0, 0, 0]);
    p.extend_from_slice(&u16::try_from(icmp.len()).unwrap_or(u16::MAX).to_be_bytes());
    p.extend_from_slice(&[ICMPV6, 255]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(icmp);
    p
}

/// The ICMPv6 checksum (RFC 4443 2.3, pseudo-header of RFC 8200 8.1). Over
/// a message whose checksum field is filled in, a right checksum gives 0.
pub fn checksum(src: Ipv6Addr, dst: Ipv6Addr, icmp: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    let mut add = |bytes: &[u8]| {
        for pair in bytes.chunks(2) {
            let hi = u64::from(pair[0]) << 8;
            let lo = pair.get(1).copied().map_or(0, u64::from);
            sum += hi | lo;
        }
    };
    add(&src.octets());
    add(&dst.octets());
    add(&u32::try_from(icmp.len()).unwrap_or(u32::MAX).to_be_bytes());
    add(&[0, 0, 0, ICMPV6]);
    add(icmp);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTER: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);

    /// A Router Advertisement as a server would send it.
    fn ra(prefix: Ipv6Addr, flags: u8, lifetime: u16, hop_limit: u8) -> Vec<u8> {
        let mut icmp = vec![ROUTER_ADVERTISEMENT, 0, 0, 0, 64, 0];
        icmp.extend_from_slice(&lifetime.to_be_bytes());
        icmp.extend_from_slice(&[0; 8]); // reachable, retrans
        icmp.extend_from_slice(&[OPT_PREFIX_INFO, 4, 64, flags]);
        icmp.extend_from_slice(&86400u32.to_be_bytes());
        icmp.extend_from_slice(&14400u32.to_be_bytes());
        icmp.extend_from_slice(&[0; 4]);
        icmp.extend_from_slice(&prefix.octets());
        icmp.extend_from_slice(&[OPT_MTU, 1, 0, 0]);
        icmp.extend_from_slice(&1400u32.to_be_bytes());
        icmp.extend_from_slice(&[OPT_RDNSS, 3, 0, 0, 0, 0, 0x0e, 0x10]);
        icmp.extend_from_slice(&Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x53).octets());
        let dst = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
        let sum = checksum(ROUTER, dst, &icmp);
        icmp[2..4].copy_from_slice(&sum.to_be_bytes());
        let mut p = ipv6_packet(ROUTER, dst, &icmp);
        p[7] = hop_limit;
        p
    }

    #[test]
    fn router_advertisement_yields_the_slaac_address() {
        let prefix = Ipv6Addr::new(0x2001, 0xdb8, 7, 0, 0, 0, 0, 0);
        let parsed = parse_router_advertisement(&ra(prefix, 0xc0, 1800, 255)).unwrap();
        assert_eq!(parsed.router, ROUTER);
        assert_eq!(parsed.router_lifetime, 1800);
        assert_eq!(parsed.mtu, Some(1400));
        assert_eq!(
            parsed.dns,
            [Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x53)]
        );
        let id = [0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55];
        assert_eq!(
            parsed.slaac_addresses(id),
            [Ipv6Addr::new(
                0x2001, 0xdb8, 7, 0, 0x0211, 0x22ff, 0xfe33, 0x4455
            )]
        );
        // Not autonomous: no address.
        let parsed = parse_router_advertisement(&ra(prefix, 0x80, 0, 255)).unwrap();
        assert!(parsed.slaac_addresses(id).is_empty());
    }

    #[test]
    fn invalid_advertisements_are_ignored() {
        let prefix = Ipv6Addr::new(0x2001, 0xdb8, 7, 0, 0, 0, 0, 0);
        // RFC 4861 6.1.2: a hop limit below 255 means it was forwarded.
        assert!(parse_router_advertisement(&ra(prefix, 0xc0, 1800, 64)).is_none());
        let mut bad = ra(prefix, 0xc0, 1800, 255);
        let last = bad.len() - 1;
        bad[last] ^= 1; // checksum no longer matches
        assert!(parse_router_advertisement(&bad).is_none());
        let good = ra(prefix, 0xc0, 1800, 255);
        for cut in 0..good.len() {
            let _ = parse_router_advertisement(&good[..cut]);
        }
        // Zero-length option.
        let mut zero = good.clone();
        zero[IPV6_HEADER + 17] = 0;
        assert!(parse_router_advertisement(&zero).is_none());
    }

    #[test]
    fn router_solicitation_is_well_formed() {
        let src = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);
        let rs = router_solicitation(src);
        assert_eq!(rs.len(), 48);
        assert_eq!((rs[6], rs[7], rs[40]), (ICMPV6, 255, ROUTER_SOLICITATION));
        let dst = ipv6_at(&rs, 24).unwrap();
        assert_eq!(checksum(src, dst, &rs[40..]), 0);
    }
}
