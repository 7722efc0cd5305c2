//! The ICMPv6 messages a PPP link's two ends exchange themselves once
//! IPv6CP (RFC 5072) is up: Router Solicitation and Router Advertisement
//! (RFC 4861 4.1, 4.2) with the Prefix Information, MTU and RDNSS options
//! (RFC 4861 4.6.2, 4.6.4; RFC 8106 5.1), Echo Request and Reply (RFC 4443
//! 4.1, 4.2), and the ICMPv6 checksum (RFC 4443 2.3) they all carry.
//!
//! IPv6CP only agrees on interface identifiers; a global address comes by
//! SLAAC (RFC 4862) from the router's advertisement, so the server builds
//! advertisements and parses solicitations and the client does the
//! reverse. Both ends' codecs live here, so the two agree by construction.
//!
//! Unlike the SSTP and PPP codecs of [`crate::wire`], these take and give
//! whole IPv6 packets (PPP has no link-layer header) picked out of the data
//! path, where "not one of these" is the usual case rather than an error:
//! the parsers return `Option`, `None` for every other or malformed packet,
//! and never panic. Extension headers are not followed (RFC 4861 messages
//! are sent without them).

use std::net::Ipv6Addr;

/// ICMPv6 as an IPv6 Next Header value (RFC 4443 1).
pub(crate) const NEXT_HEADER_ICMPV6: u8 = 58;
/// All-nodes link-local multicast (RFC 4291 2.7.1), the destination of
/// unsolicited advertisements.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// All-routers link-local multicast (RFC 4291 2.7.1), where solicitations
/// go (RFC 4861 6.3.7).
pub(crate) const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);
/// Neighbor Discovery packets carry hop limit 255, so a receiver knows they
/// were not forwarded (RFC 4861 6.1.1, 6.1.2).
pub(crate) const ND_HOP_LIMIT: u8 = 255;
/// The hop limit we advise hosts to use (RFC 4861 6.2.1 AdvCurHopLimit,
/// the value of the Assigned Numbers default), and use ourselves outside
/// Neighbor Discovery.
pub(crate) const DEFAULT_HOP_LIMIT: u8 = 64;

/// Echo Request and Reply types (RFC 4443 4.1, 4.2).
const TYPE_ECHO_REQUEST: u8 = 128;
const TYPE_ECHO_REPLY: u8 = 129;
/// Router Solicitation and Advertisement types (RFC 4861 4.1, 4.2).
const TYPE_ROUTER_SOLICITATION: u8 = 133;
const TYPE_ROUTER_ADVERTISEMENT: u8 = 134;
/// Neighbor Discovery option types (RFC 4861 4.6, RFC 8106 5.1).
const OPT_SOURCE_LINK_LAYER_ADDRESS: u8 = 1;
const OPT_PREFIX_INFORMATION: u8 = 3;
const OPT_MTU: u8 = 5;
const OPT_RDNSS: u8 = 25;
/// Prefix Information flags: on-link (L) and autonomous address
/// configuration (A) (RFC 4861 4.6.2).
const PREFIX_FLAG_ON_LINK: u8 = 0x80;
const PREFIX_FLAG_AUTONOMOUS: u8 = 0x40;
/// The fixed IPv6 header (RFC 8200 3).
const IPV6_HEADER_LEN: usize = 40;
/// Bounds on what a parsed advertisement keeps, so a hostile one costs
/// little: a real one carries a prefix or two and a few DNS servers.
const MAX_PREFIXES: usize = 16;
const MAX_DNS: usize = 8;

/// The ICMPv6 checksum (RFC 4443 2.3) over the IPv6 pseudo-header (RFC 8200
/// 8.1) and `icmp`. Computed over a message whose checksum field is filled
/// in, it is 0 when the checksum is right.
pub fn checksum(src: Ipv6Addr, dst: Ipv6Addr, icmp: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    let mut add = |bytes: &[u8]| {
        let mut chunks = bytes.chunks_exact(2);
        for pair in &mut chunks {
            sum += u64::from(u16::from_be_bytes([pair[0], pair[1]]));
        }
        if let [last] = chunks.remainder() {
            sum += u64::from(*last) << 8;
        }
    };
    add(&src.octets());
    add(&dst.octets());
    add(&u32::try_from(icmp.len()).unwrap_or(u32::MAX).to_be_bytes());
    add(&[0, 0, 0, NEXT_HEADER_ICMPV6]);
    add(icmp);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A valid Router Solicitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouterSolicitation {
    /// Its source: the host's link-local address, or `::` before the host
    /// has one.
    pub source: Ipv6Addr,
}

impl RouterSolicitation {
    /// Where the answer goes (RFC 4861 6.2.6): back to the soliciting
    /// host, or to all nodes when it had no address yet.
    pub fn reply_to(&self) -> Ipv6Addr {
        if self.source.is_unspecified() {
            ALL_NODES
        } else {
            self.source
        }
    }
}

/// Parses `packet` as a Router Solicitation and validates it as RFC 4861
/// 6.1.1 asks: hop limit 255, ICMP code 0, at least 8 bytes of ICMP, a
/// correct checksum, no zero-length option, and no Source Link-Layer
/// Address option when the source is unspecified.
pub fn parse_router_solicitation(packet: &[u8]) -> Option<RouterSolicitation> {
    let (source, destination, icmp) = icmpv6_in(packet, Some(ND_HOP_LIMIT))?;
    if icmp.len() < 8 || icmp[0] != TYPE_ROUTER_SOLICITATION || icmp[1] != 0 {
        return None;
    }
    if checksum(source, destination, icmp) != 0 {
        return None;
    }
    let mut options = &icmp[8..];
    while !options.is_empty() {
        let (kind, _, rest) = next_option(options)?;
        if kind == OPT_SOURCE_LINK_LAYER_ADDRESS && source.is_unspecified() {
            return None;
        }
        options = rest;
    }
    Some(RouterSolicitation { source })
}

/// A whole IPv6 packet carrying a Router Solicitation from `src` to
/// all-routers, without options (RFC 4861 4.1: no link-layer address on a
/// point-to-point link).
pub fn build_router_solicitation(src: Ipv6Addr) -> Vec<u8> {
    let mut icmp = vec![TYPE_ROUTER_SOLICITATION, 0, 0, 0, 0, 0, 0, 0];
    fill_checksum(src, ALL_ROUTERS, &mut icmp);
    let mut out = Vec::with_capacity(IPV6_HEADER_LEN + icmp.len());
    emit_ipv6(src, ALL_ROUTERS, ND_HOP_LIMIT, &icmp, &mut out);
    out
}

/// What a router's advertisement says (the builder's input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaParams {
    /// The advertised prefix (host bits zero).
    pub prefix: Ipv6Addr,
    /// Its length (64 for SLAAC, RFC 4862 5.5.3).
    pub prefix_len: u8,
    /// Router Lifetime in seconds: non-zero makes the sender the host's
    /// default IPv6 router (RFC 4861 4.2); 0 advertises the prefix only.
    pub router_lifetime: u16,
    /// Prefix valid lifetime, seconds.
    pub valid_lifetime: u32,
    /// Prefix preferred lifetime, seconds.
    pub preferred_lifetime: u32,
    /// Link MTU to advertise, if any.
    pub mtu: Option<u32>,
    /// Recursive DNS servers (RFC 8106), with their lifetime.
    pub dns: Vec<Ipv6Addr>,
    /// The RDNSS lifetime, seconds.
    pub dns_lifetime: u32,
}

/// Appends a whole IPv6 packet carrying a Router Advertisement from `src`
/// (the router's link-local address: hosts drop advertisements from any
/// other kind of source, RFC 4861 6.1.2) to `dst`: one Prefix Information
/// option with L and A set, then MTU and RDNSS if given.
pub fn build_router_advertisement(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    params: &RaParams,
    out: &mut Vec<u8>,
) {
    let mut icmp = Vec::with_capacity(16 + 32 + 8 + 8 + 16 * params.dns.len());
    // RFC 4861 4.2: type, code, checksum (filled below), Cur Hop Limit,
    // M/O flags (0: no DHCPv6), Router Lifetime, Reachable Time and
    // Retrans Timer (0: unspecified).
    icmp.extend_from_slice(&[TYPE_ROUTER_ADVERTISEMENT, 0, 0, 0, DEFAULT_HOP_LIMIT, 0]);
    icmp.extend_from_slice(&params.router_lifetime.to_be_bytes());
    icmp.extend_from_slice(&[0; 8]);
    // 4.6.2 Prefix Information: length 4 (32 bytes).
    icmp.extend_from_slice(&[
        OPT_PREFIX_INFORMATION,
        4,
        params.prefix_len,
        PREFIX_FLAG_ON_LINK | PREFIX_FLAG_AUTONOMOUS,
    ]);
    icmp.extend_from_slice(&params.valid_lifetime.to_be_bytes());
    icmp.extend_from_slice(&params.preferred_lifetime.to_be_bytes());
    icmp.extend_from_slice(&[0; 4]);
    icmp.extend_from_slice(&params.prefix.octets());
    // 4.6.4 MTU: length 1.
    if let Some(mtu) = params.mtu {
        icmp.extend_from_slice(&[OPT_MTU, 1, 0, 0]);
        icmp.extend_from_slice(&mtu.to_be_bytes());
    }
    // RFC 8106 5.1 RDNSS: length 1 + 2 per address. The Length field is
    // one byte, so at most 127 addresses fit; real lists are a few.
    if !params.dns.is_empty() {
        let dns = &params.dns[..params.dns.len().min(127)];
        let len = 1 + 2 * dns.len() as u8;
        icmp.extend_from_slice(&[OPT_RDNSS, len, 0, 0]);
        icmp.extend_from_slice(&params.dns_lifetime.to_be_bytes());
        for addr in dns {
            icmp.extend_from_slice(&addr.octets());
        }
    }
    fill_checksum(src, dst, &mut icmp);
    emit_ipv6(src, dst, ND_HOP_LIMIT, &icmp, out);
}

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

/// What a parsed Router Advertisement told us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterAdvert {
    /// The router's link-local address.
    pub router: Ipv6Addr,
    /// Router Lifetime in seconds: non-zero means "a default router".
    pub router_lifetime: u16,
    /// Prefix Information options (at most 17 kept).
    pub prefixes: Vec<PrefixInfo>,
    /// The MTU option, if any.
    pub mtu: Option<u32>,
    /// RDNSS servers (RFC 8106), at most 8.
    pub dns: Vec<Ipv6Addr>,
}

/// Parses `packet` as a Router Advertisement, validated as RFC 4861 6.1.2
/// asks: hop limit 255, source link-local, ICMP code 0, at least 16 bytes
/// of ICMP, checksum right, options well formed.
pub fn parse_router_advertisement(packet: &[u8]) -> Option<RouterAdvert> {
    let (src, dst, icmp) = icmpv6_in(packet, Some(ND_HOP_LIMIT))?;
    if icmp.len() < 16
        || icmp[0] != TYPE_ROUTER_ADVERTISEMENT
        || icmp[1] != 0
        || !is_link_local(src)
        || checksum(src, dst, icmp) != 0
    {
        return None;
    }
    let mut ra = RouterAdvert {
        router: src,
        router_lifetime: u16::from_be_bytes([icmp[6], icmp[7]]),
        prefixes: Vec::new(),
        mtu: None,
        dns: Vec::new(),
    };
    let mut options = &icmp[16..];
    while !options.is_empty() {
        let (kind, opt, rest) = next_option(options)?;
        options = rest;
        match kind {
            OPT_PREFIX_INFORMATION if opt.len() == 32 => {
                ra.prefixes.push(PrefixInfo {
                    len: opt[2],
                    on_link: opt[3] & PREFIX_FLAG_ON_LINK != 0,
                    autonomous: opt[3] & PREFIX_FLAG_AUTONOMOUS != 0,
                    valid_lifetime: u32_at(opt, 4)?,
                    prefix: ipv6_at(opt, 16)?,
                });
            }
            OPT_MTU if opt.len() == 8 => ra.mtu = u32_at(opt, 4),
            OPT_RDNSS if opt.len() >= 24 => {
                for at in (8..opt.len()).step_by(16) {
                    if ra.dns.len() < MAX_DNS {
                        ra.dns.extend(ipv6_at(opt, at));
                    }
                }
            }
            _ => {}
        }
        if ra.prefixes.len() > MAX_PREFIXES {
            break; // enough for anyone; bounds the work on a hostile RA
        }
    }
    Some(ra)
}

/// A valid Echo Request for us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EchoRequest<'a> {
    /// Its source, where the reply goes.
    pub source: Ipv6Addr,
    /// Identifier, Sequence Number and Data: what the reply returns.
    pub body: &'a [u8],
}

/// Parses `packet` as an Echo Request (RFC 4443 4.1) that `local` must
/// answer: addressed to `local` or to all nodes on the link (4.2: a reply
/// SHOULD be sent to a multicast request too), code 0, a correct checksum
/// (2.3), from a unicast source.
pub fn parse_echo_request(packet: &[u8], local: Ipv6Addr) -> Option<EchoRequest<'_>> {
    let (source, destination, icmp) = icmpv6_in(packet, None)?;
    // Type, code, checksum, then Identifier and Sequence Number (4.1).
    if icmp.len() < 8 || icmp[0] != TYPE_ECHO_REQUEST || icmp[1] != 0 {
        return None;
    }
    if destination != local && destination != ALL_NODES {
        return None;
    }
    // The reply goes back to the source: it must be somebody's unicast
    // address.
    if source.is_unspecified() || source.is_multicast() {
        return None;
    }
    if checksum(source, destination, icmp) != 0 {
        return None;
    }
    Some(EchoRequest {
        source,
        body: &icmp[4..],
    })
}

/// Appends a whole IPv6 packet carrying the Echo Reply (RFC 4443 4.2) to
/// `request`, from `local` (the reply to a multicast request too comes from
/// our unicast address, 4.2): the request's Identifier, Sequence Number and
/// Data unmodified.
pub fn build_echo_reply(local: Ipv6Addr, request: &EchoRequest<'_>, out: &mut Vec<u8>) {
    let mut icmp = Vec::with_capacity(4 + request.body.len());
    icmp.extend_from_slice(&[TYPE_ECHO_REPLY, 0, 0, 0]);
    icmp.extend_from_slice(request.body);
    fill_checksum(local, request.source, &mut icmp);
    // Not Neighbor Discovery: the default hop limit.
    emit_ipv6(local, request.source, DEFAULT_HOP_LIMIT, &icmp, out);
}

/// The source, destination and ICMPv6 message of an IPv6 packet whose Next
/// Header is ICMPv6 (and whose hop limit is `hop_limit`, if given).
fn icmpv6_in(packet: &[u8], hop_limit: Option<u8>) -> Option<(Ipv6Addr, Ipv6Addr, &[u8])> {
    let header = packet.get(..IPV6_HEADER_LEN)?;
    if header[0] >> 4 != 6 || header[6] != NEXT_HEADER_ICMPV6 {
        return None;
    }
    if hop_limit.is_some_and(|want| header[7] != want) {
        return None;
    }
    let payload_len = usize::from(u16::from_be_bytes([header[4], header[5]]));
    let icmp = packet.get(IPV6_HEADER_LEN..IPV6_HEADER_LEN + payload_len)?;
    Some((ipv6_at(header, 8)?, ipv6_at(header, 24)?, icmp))
}

/// The next Neighbor Discovery option (RFC 4861 4.6): its type, its whole
/// bytes, and what follows. `None` for a zero length (4.6: the packet is
/// dropped) or one past the end.
fn next_option(options: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let kind = *options.first()?;
    let len = usize::from(*options.get(1)?) * 8;
    if len == 0 || len > options.len() {
        return None;
    }
    let (opt, rest) = options.split_at(len);
    Some((kind, opt, rest))
}

/// Writes the checksum of `icmp` (its field zero) into bytes 2..4.
fn fill_checksum(src: Ipv6Addr, dst: Ipv6Addr, icmp: &mut [u8]) {
    let sum = checksum(src, dst, icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
}

/// Appends an IPv6 header (RFC 8200 3: traffic class and flow label 0)
/// and `icmp`. Every message built here is bounded well below 64 KiB, or
/// (an Echo Reply) no larger than a request whose length came in the same
/// 16-bit field.
fn emit_ipv6(src: Ipv6Addr, dst: Ipv6Addr, hop_limit: u8, icmp: &[u8], out: &mut Vec<u8>) {
    out.reserve(IPV6_HEADER_LEN + icmp.len());
    out.extend_from_slice(&[0x60, 0, 0, 0]);
    out.extend_from_slice(&u16::try_from(icmp.len()).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(&[NEXT_HEADER_ICMPV6, hop_limit]);
    out.extend_from_slice(&src.octets());
    out.extend_from_slice(&dst.octets());
    out.extend_from_slice(icmp);
}

fn is_link_local(a: Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

fn ipv6_at(bytes: &[u8], at: usize) -> Option<Ipv6Addr> {
    let octets: [u8; 16] = bytes.get(at..at + 16)?.try_into().ok()?;
    Some(Ipv6Addr::from(octets))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> Ipv6Addr {
        s.parse().expect("address")
    }

    fn params() -> RaParams {
        RaParams {
            prefix: addr("2001:db8:0:5::"),
            prefix_len: 64,
            router_lifetime: 1800,
            valid_lifetime: 7200,
            preferred_lifetime: 3600,
            mtu: Some(1400),
            dns: vec![addr("2001:db8::53")],
            dns_lifetime: 600,
        }
    }

    /// A Router Solicitation from fe80::2 to ff02::2 with no options, as
    /// pppd's kernel sends it. Checksum 0x7d35 computed independently
    /// (Python, RFC 4443 2.3) for this fixture.
    const RS: &str = "6000000000083aff\
        fe800000000000000000000000000002\
        ff020000000000000000000000000002\
        85007d3500000000";

    /// The advertisement `params()` gives from fe80::1 to fe80::2: header,
    /// RA (hop limit 64, lifetime 1800), PIO (/64, L+A, 7200/3600), MTU
    /// 1400, RDNSS (600 s, 2001:db8::53). Built and checksummed (0x45d5)
    /// independently in Python.
    const RA: &str = "6000000000503aff\
        fe800000000000000000000000000001\
        fe800000000000000000000000000002\
        860045d540000708\
        0000000000000000\
        030440c000001c2000000e1000000000\
        20010db8000000050000000000000000\
        0501000000000578\
        190300000000025820010db800000000\
        0000000000000053";

    /// An Echo Request from fe80::2 to fe80::1, hop limit 64, Identifier
    /// 0x1234, Sequence Number 7, Data "ping", and the Echo Reply to it:
    /// built and checksummed (0x91a8, 0x90a8) independently in Python.
    const ECHO_REQUEST: &str = "60000000000c3a40\
        fe800000000000000000000000000002\
        fe800000000000000000000000000001\
        800091a81234000770696e67";
    const ECHO_REPLY: &str = "60000000000c3a40\
        fe800000000000000000000000000001\
        fe800000000000000000000000000002\
        810090a81234000770696e67";

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s.replace(char::is_whitespace, "")).expect("hex fixture")
    }

    #[test]
    fn router_advertisement_matches_the_fixture_byte_for_byte() {
        let mut out = Vec::new();
        build_router_advertisement(addr("fe80::1"), addr("fe80::2"), &params(), &mut out);
        assert_eq!(hex::encode(&out), hex::encode(hex(RA)));
        // And the checksum verifies over the finished packet.
        assert_eq!(checksum(addr("fe80::1"), addr("fe80::2"), &out[40..]), 0);
    }

    #[test]
    fn router_advertisement_fields() {
        let mut out = Vec::new();
        let mut p = params();
        p.mtu = None;
        p.dns.clear();
        p.router_lifetime = 0;
        build_router_advertisement(addr("fe80::1"), ALL_NODES, &p, &mut out);
        assert_eq!(out.len(), 40 + 16 + 32);
        assert_eq!(out[7], 255, "hop limit 255 (RFC 4861 6.1.2)");
        assert_eq!(&out[24..40], &ALL_NODES.octets());
        let icmp = &out[40..];
        assert_eq!(icmp[0], 134);
        assert_eq!(&icmp[6..8], &[0, 0], "router lifetime 0");
        let pio = &icmp[16..];
        assert_eq!(&pio[..4], &[3, 4, 64, 0xc0], "PIO, /64, L+A");
        assert_eq!(&pio[16..32], &addr("2001:db8:0:5::").octets());
        assert_eq!(checksum(addr("fe80::1"), ALL_NODES, icmp), 0);
    }

    #[test]
    fn router_solicitation_parses() {
        let rs = parse_router_solicitation(&hex(RS)).expect("valid RS");
        assert_eq!(rs.source, addr("fe80::2"));
        assert_eq!(rs.reply_to(), addr("fe80::2"));
    }

    #[test]
    fn router_solicitation_from_the_unspecified_address() {
        let mut p = hex(RS);
        p[8..24].copy_from_slice(&Ipv6Addr::UNSPECIFIED.octets());
        fix_checksum(&mut p);
        let rs = parse_router_solicitation(&p).expect("valid");
        assert_eq!(rs.reply_to(), ALL_NODES);
        // With a Source Link-Layer Address option it is invalid (6.1.1).
        add_option(&mut p, &[1, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(parse_router_solicitation(&p), None);
    }

    fn fix_checksum(p: &mut [u8]) {
        p[42] = 0;
        p[43] = 0;
        let src = ipv6_at(p, 8).expect("src");
        let dst = ipv6_at(p, 24).expect("dst");
        let sum = checksum(src, dst, &p[40..]);
        p[42..44].copy_from_slice(&sum.to_be_bytes());
    }

    fn add_option(p: &mut Vec<u8>, option: &[u8]) {
        p.extend_from_slice(option);
        let len = (p.len() - 40) as u16;
        p[4..6].copy_from_slice(&len.to_be_bytes());
        fix_checksum(p);
    }

    #[test]
    fn invalid_solicitations_are_refused() {
        let good = hex(RS);
        type Mutation = Box<dyn Fn(&mut Vec<u8>)>;
        let cases: Vec<(&str, Mutation)> = vec![
            ("hop limit 64", Box::new(|p| p[7] = 64)),
            ("bad checksum", Box::new(|p| p[42] ^= 1)),
            ("code 1", Box::new(|p| p[41] = 1)),
            ("type 135", Box::new(|p| p[40] = 135)),
            ("not ICMPv6", Box::new(|p| p[6] = 17)),
            ("IPv4", Box::new(|p| p[0] = 0x45)),
            ("truncated", Box::new(|p| p.truncate(45))),
            ("payload length past the end", Box::new(|p| p[5] = 200)),
            ("ICMP shorter than 8", Box::new(|p| p[5] = 4)),
            (
                "zero-length option",
                Box::new(|p| add_option(p, &[1, 0, 0, 0, 0, 0, 0, 0])),
            ),
            (
                "option past the end",
                Box::new(|p| add_option(p, &[1, 2, 0, 0, 0, 0, 0, 0])),
            ),
        ];
        for (what, mutate) in cases {
            let mut p = good.clone();
            mutate(&mut p);
            if what != "bad checksum" && p.len() >= 44 && what != "not ICMPv6" && what != "IPv4" {
                // Keep the checksum right so only the named defect counts.
                if p.len() >= 40 + usize::from(u16::from_be_bytes([p[4], p[5]])) {
                    fix_checksum(&mut p);
                }
            }
            assert_eq!(parse_router_solicitation(&p), None, "{what}");
        }
        // Every prefix of a valid RS is refused without a panic.
        for n in 0..good.len() {
            assert_eq!(parse_router_solicitation(&good[..n]), None);
        }
        // A well-formed option is fine.
        let mut p = good;
        add_option(&mut p, &[1, 1, 0, 1, 2, 3, 4, 5]);
        assert!(parse_router_solicitation(&p).is_some());
    }

    #[test]
    fn echo_request_to_the_link_local_is_answered_byte_for_byte() {
        let request = hex(ECHO_REQUEST);
        let echo = parse_echo_request(&request, addr("fe80::1")).expect("valid request");
        assert_eq!(echo.source, addr("fe80::2"));
        let mut out = Vec::new();
        build_echo_reply(addr("fe80::1"), &echo, &mut out);
        assert_eq!(hex::encode(&out), hex::encode(hex(ECHO_REPLY)));
    }

    #[test]
    fn echo_request_to_all_nodes_is_answered_from_the_link_local() {
        let mut p = hex(ECHO_REQUEST);
        p[24..40].copy_from_slice(&ALL_NODES.octets());
        fix_checksum(&mut p);
        let echo = parse_echo_request(&p, addr("fe80::1")).expect("valid");
        let mut out = Vec::new();
        build_echo_reply(addr("fe80::1"), &echo, &mut out);
        assert_eq!(&out[8..24], &addr("fe80::1").octets());
        assert_eq!(&out[24..40], &addr("fe80::2").octets());
        assert_eq!(checksum(addr("fe80::1"), addr("fe80::2"), &out[40..]), 0);
    }

    #[test]
    fn echo_requests_not_for_us_or_malformed_are_refused() {
        let good = hex(ECHO_REQUEST);
        type Mutation = Box<dyn Fn(&mut Vec<u8>)>;
        let cases: Vec<(&str, Mutation)> = vec![
            ("bad checksum", Box::new(|p| p[42] ^= 1)),
            (
                "code 1",
                Box::new(|p| {
                    p[41] = 1;
                    fix_checksum(p);
                }),
            ),
            (
                "an Echo Reply",
                Box::new(|p| {
                    p[40] = TYPE_ECHO_REPLY;
                    fix_checksum(p);
                }),
            ),
            (
                "another link-local",
                Box::new(|p| {
                    p[39] = 9;
                    fix_checksum(p);
                }),
            ),
            (
                "from a multicast source",
                Box::new(|p| {
                    p[8..24].copy_from_slice(&ALL_NODES.octets());
                    fix_checksum(p);
                }),
            ),
            (
                "from the unspecified address",
                Box::new(|p| {
                    p[8..24].copy_from_slice(&Ipv6Addr::UNSPECIFIED.octets());
                    fix_checksum(p);
                }),
            ),
            ("payload length past the end", Box::new(|p| p[5] = 0x40)),
            (
                "too short for an identifier",
                Box::new(|p| {
                    p.truncate(44);
                    p[5] = 4;
                }),
            ),
            ("not ICMPv6", Box::new(|p| p[6] = 17)),
            ("IPv4", Box::new(|p| p[0] = 0x45)),
        ];
        for (what, mutate) in cases {
            let mut p = good.clone();
            mutate(&mut p);
            assert_eq!(parse_echo_request(&p, addr("fe80::1")), None, "{what}");
        }
        for len in 0..good.len() {
            let _ = parse_echo_request(&good[..len], addr("fe80::1"));
        }
    }

    // The client side: advertisements in, solicitations out.

    const ROUTER: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);

    /// A Router Advertisement as a server would send it.
    fn ra(prefix: Ipv6Addr, flags: u8, lifetime: u16, hop_limit: u8) -> Vec<u8> {
        let mut icmp = vec![TYPE_ROUTER_ADVERTISEMENT, 0, 0, 0, 64, 0];
        icmp.extend_from_slice(&lifetime.to_be_bytes());
        icmp.extend_from_slice(&[0; 8]); // reachable, retrans
        icmp.extend_from_slice(&[OPT_PREFIX_INFORMATION, 4, 64, flags]);
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
        let mut p = Vec::new();
        emit_ipv6(ROUTER, dst, hop_limit, &icmp, &mut p);
        p
    }

    #[test]
    fn router_advertisement_parses() {
        let prefix = Ipv6Addr::new(0x2001, 0xdb8, 7, 0, 0, 0, 0, 0);
        let parsed = parse_router_advertisement(&ra(prefix, 0xc0, 1800, 255)).expect("valid RA");
        assert_eq!(parsed.router, ROUTER);
        assert_eq!(parsed.router_lifetime, 1800);
        assert_eq!(parsed.mtu, Some(1400));
        assert_eq!(
            parsed.dns,
            [Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x53)]
        );
        let pio = parsed.prefixes[0];
        assert_eq!((pio.prefix, pio.len), (prefix, 64));
        assert!(pio.on_link && pio.autonomous);
        assert_eq!(pio.valid_lifetime, 86400);
        let parsed = parse_router_advertisement(&ra(prefix, 0x80, 0, 255)).expect("valid RA");
        assert!(parsed.prefixes[0].on_link && !parsed.prefixes[0].autonomous);
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
        zero[IPV6_HEADER_LEN + 17] = 0;
        assert!(parse_router_advertisement(&zero).is_none());
    }

    #[test]
    fn router_solicitation_is_well_formed() {
        let src = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);
        let rs = build_router_solicitation(src);
        // The very packet of the `RS` fixture: what the client sends is
        // what the server accepts.
        assert_eq!(hex::encode(&rs), hex::encode(hex(RS)));
        assert_eq!(
            (rs[6], rs[7], rs[40]),
            (NEXT_HEADER_ICMPV6, 255, TYPE_ROUTER_SOLICITATION)
        );
        let dst = ipv6_at(&rs, 24).expect("dst");
        assert_eq!(checksum(src, dst, &rs[40..]), 0);
    }
}
