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
//!
//! The packets are parsed and built by [`sstp_core::wire::icmpv6`], which
//! the server uses for its side of the exchange; this module owns the
//! SLAAC rule that turns an advertisement into addresses.

use std::net::Ipv6Addr;

pub use sstp_core::wire::icmpv6::{
    PrefixInfo, RouterAdvert, build_router_solicitation, parse_router_advertisement,
};

/// The SLAAC address for each usable prefix of `ra`: autonomous, /64,
/// valid lifetime not zero, not link-local (RFC 4862 5.5.3 a-d).
pub fn slaac_addresses(ra: &RouterAdvert, interface_id: [u8; 8]) -> Vec<Ipv6Addr> {
    ra.prefixes
        .iter()
        .filter(|p| p.autonomous && p.len == 64 && p.valid_lifetime > 0)
        .filter(|p| !is_link_local(p.prefix))
        .map(|p| slaac_address(p.prefix, interface_id))
        .collect()
}

/// `prefix` (its first 64 bits) followed by `interface_id`.
pub fn slaac_address(prefix: Ipv6Addr, interface_id: [u8; 8]) -> Ipv6Addr {
    let high = u128::from(prefix) & !u128::from(u64::MAX);
    Ipv6Addr::from(high | u128::from(u64::from_be_bytes(interface_id)))
}

fn is_link_local(a: Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(prefix: Ipv6Addr, autonomous: bool, len: u8, valid_lifetime: u32) -> PrefixInfo {
        PrefixInfo {
            prefix,
            len,
            on_link: true,
            autonomous,
            valid_lifetime,
        }
    }

    #[test]
    fn usable_prefixes_yield_the_slaac_address() {
        let global = Ipv6Addr::new(0x2001, 0xdb8, 7, 0, 0, 0, 0, 0);
        let link_local = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0);
        let ra = RouterAdvert {
            router: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1),
            router_lifetime: 1800,
            prefixes: vec![
                prefix(global, true, 64, 86400),
                // Not autonomous, not a /64, expired, link-local: no address.
                prefix(global, false, 64, 86400),
                prefix(global, true, 56, 86400),
                prefix(global, true, 64, 0),
                prefix(link_local, true, 64, 86400),
            ],
            mtu: None,
            dns: Vec::new(),
        };
        let id = [0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55];
        assert_eq!(
            slaac_addresses(&ra, id),
            [Ipv6Addr::new(
                0x2001, 0xdb8, 7, 0, 0x0211, 0x22ff, 0xfe33, 0x4455
            )]
        );
    }
}
