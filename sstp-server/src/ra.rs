//! IPv6 router discovery over the tunnel: a Router Solicitation parser and
//! a Router Advertisement builder (RFC 4861), so a PPP client gets a global
//! address by SLAAC (RFC 4862) once IPv6CP is up.
//!
//! IPv6CP (RFC 5072) only agrees on interface identifiers, i.e. link-local
//! addresses. pppd, Windows and our client then expect a router on the link
//! to advertise a prefix. The server carves one /64 per session from its
//! IPv6 pool (`crate::pool`) and advertises it with the on-link (L) and
//! autonomous (A) flags, plus the link MTU and, if configured, DNS servers
//! (RDNSS, RFC 8106). Advertisements go out when IPv6 comes up, in answer to
//! every Router Solicitation, and periodically (RFC 4861 6.2.4, 6.2.6).
//!
//! The server is also a node on each PPP link: clients use its link-local
//! address (the IPv6CP peer) as their default gateway, and expect it to
//! answer ICMPv6 Echo Requests (RFC 4443 4.1, 4.2) like any neighbour.
//! The TUN is shared by all sessions, so that address is not the kernel's:
//! the session answers them itself, at a bounded rate ([`EchoBudget`]).
//!
//! Packets are whole IPv6 packets (no link-layer header: PPP has none), so
//! they go straight into `ServerSession::send_ip` and come out of
//! `poll_ip`.

use std::net::Ipv6Addr;
use std::time::Instant;

use ipnet::Ipv6Net;

/// ICMPv6 (RFC 4443) as an IPv6 Next Header value.
const NEXT_HEADER_ICMPV6: u8 = 58;
/// Echo Request and Reply types (RFC 4443 4.1, 4.2).
const TYPE_ECHO_REQUEST: u8 = 128;
const TYPE_ECHO_REPLY: u8 = 129;
/// Echo Replies the server sends at once on one session, and per second
/// after that ([`EchoBudget`]): ample for ping, too few to keep a session
/// task busy answering a flood.
const ECHO_BURST: f64 = 16.0;
const ECHO_PER_SECOND: f64 = 8.0;
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
/// Neighbor Discovery packets carry hop limit 255, so a receiver knows they
/// were not forwarded (RFC 4861 6.1.1, 6.1.2).
const ND_HOP_LIMIT: u8 = 255;
/// The hop limit we advise hosts to use (RFC 4861 6.2.1 AdvCurHopLimit,
/// the value of the Assigned Numbers default).
const ADV_CUR_HOP_LIMIT: u8 = 64;
const IPV6_HEADER_LEN: usize = 40;
/// All-nodes multicast, the destination of unsolicited advertisements.
pub(crate) const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// What an advertisement says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RaParams {
    /// The session's /64.
    pub(crate) prefix: Ipv6Net,
    /// Router Lifetime in seconds: non-zero makes the server the client's
    /// default IPv6 router (RFC 4861 4.2); 0 advertises the prefix only.
    pub(crate) router_lifetime: u16,
    /// Prefix valid lifetime, seconds.
    pub(crate) valid_lifetime: u32,
    /// Prefix preferred lifetime, seconds.
    pub(crate) preferred_lifetime: u32,
    /// Link MTU to advertise, if any.
    pub(crate) mtu: Option<u32>,
    /// Recursive DNS servers (RFC 8106), with their lifetime.
    pub(crate) dns: Vec<Ipv6Addr>,
    pub(crate) dns_lifetime: u32,
}

/// A valid Router Solicitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RouterSolicitation {
    /// Its source: the client's link-local address, or `::` before the
    /// client has one.
    pub(crate) source: Ipv6Addr,
}

impl RouterSolicitation {
    /// Where the answer goes (RFC 4861 6.2.6): back to the soliciting
    /// host, or to all nodes when it had no address yet.
    pub(crate) fn reply_to(&self) -> Ipv6Addr {
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
/// Address option when the source is unspecified. `None` for anything else
/// (other packets, extension headers, malformed ones): never a panic.
pub(crate) fn parse_router_solicitation(packet: &[u8]) -> Option<RouterSolicitation> {
    let header = packet.get(..IPV6_HEADER_LEN)?;
    if header[0] >> 4 != 6 || header[6] != NEXT_HEADER_ICMPV6 || header[7] != ND_HOP_LIMIT {
        return None;
    }
    let payload_len = usize::from(u16::from_be_bytes([header[4], header[5]]));
    let icmp = packet.get(IPV6_HEADER_LEN..IPV6_HEADER_LEN + payload_len)?;
    if icmp.len() < 8 || icmp[0] != TYPE_ROUTER_SOLICITATION || icmp[1] != 0 {
        return None;
    }
    let source = ipv6_at(header, 8)?;
    let destination = ipv6_at(header, 24)?;
    if checksum(source, destination, icmp) != 0 {
        return None;
    }
    let mut options = &icmp[8..];
    while !options.is_empty() {
        let kind = *options.first()?;
        let len = usize::from(*options.get(1)?) * 8;
        if len == 0 || len > options.len() {
            return None;
        }
        if kind == OPT_SOURCE_LINK_LAYER_ADDRESS && source.is_unspecified() {
            return None;
        }
        options = &options[len..];
    }
    Some(RouterSolicitation { source })
}

/// Appends a whole IPv6 packet carrying a Router Advertisement from `src`
/// (the server's link-local address: hosts drop advertisements from any
/// other kind of source, RFC 4861 6.1.2) to `dst`.
pub(crate) fn build_router_advertisement(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    params: &RaParams,
    out: &mut Vec<u8>,
) {
    let mut icmp = Vec::with_capacity(16 + 32 + 8 + 8 + 16 * params.dns.len());
    // RFC 4861 4.2: type, code, checksum (filled below), Cur Hop Limit,
    // M/O flags (0: no DHCPv6), Router Lifetime, Reachable Time and
    // Retrans Timer (0: unspecified).
    icmp.extend_from_slice(&[TYPE_ROUTER_ADVERTISEMENT, 0, 0, 0, ADV_CUR_HOP_LIMIT, 0]);
    icmp.extend_from_slice(&params.router_lifetime.to_be_bytes());
    icmp.extend_from_slice(&[0; 8]);
    // 4.6.2 Prefix Information: length 4 (32 bytes).
    icmp.extend_from_slice(&[
        OPT_PREFIX_INFORMATION,
        4,
        params.prefix.prefix_len(),
        PREFIX_FLAG_ON_LINK | PREFIX_FLAG_AUTONOMOUS,
    ]);
    icmp.extend_from_slice(&params.valid_lifetime.to_be_bytes());
    icmp.extend_from_slice(&params.preferred_lifetime.to_be_bytes());
    icmp.extend_from_slice(&[0; 4]);
    icmp.extend_from_slice(&params.prefix.network().octets());
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
    let sum = checksum(src, dst, &icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());

    out.reserve(IPV6_HEADER_LEN + icmp.len());
    out.extend_from_slice(&[0x60, 0, 0, 0]);
    // Options are bounded above, so the payload always fits 16 bits.
    out.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    out.extend_from_slice(&[NEXT_HEADER_ICMPV6, ND_HOP_LIMIT]);
    out.extend_from_slice(&src.octets());
    out.extend_from_slice(&dst.octets());
    out.extend_from_slice(&icmp);
}

/// A valid Echo Request for the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EchoRequest<'a> {
    /// Its source, where the reply goes.
    pub(crate) source: Ipv6Addr,
    /// Identifier, Sequence Number and Data: what the reply returns.
    pub(crate) body: &'a [u8],
}

/// Parses `packet` as an Echo Request (RFC 4443 4.1) the server must answer:
/// addressed to its link-local address `server_ll` or to all nodes on the
/// link (4.2: a reply SHOULD be sent to a multicast request too), code 0,
/// a correct checksum (2.3), from a unicast source. `None` for anything
/// else (other packets, extension headers, malformed ones): never a panic.
pub(crate) fn parse_echo_request(packet: &[u8], server_ll: Ipv6Addr) -> Option<EchoRequest<'_>> {
    let header = packet.get(..IPV6_HEADER_LEN)?;
    if header[0] >> 4 != 6 || header[6] != NEXT_HEADER_ICMPV6 {
        return None;
    }
    let payload_len = usize::from(u16::from_be_bytes([header[4], header[5]]));
    let icmp = packet.get(IPV6_HEADER_LEN..IPV6_HEADER_LEN + payload_len)?;
    // Type, code, checksum, then Identifier and Sequence Number (4.1).
    if icmp.len() < 8 || icmp[0] != TYPE_ECHO_REQUEST || icmp[1] != 0 {
        return None;
    }
    let source = ipv6_at(header, 8)?;
    let destination = ipv6_at(header, 24)?;
    if destination != server_ll && destination != ALL_NODES {
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
/// `request`, from `server_ll` (the reply to a multicast request too comes
/// from our unicast address, 4.2): the request's Identifier, Sequence
/// Number and Data unmodified.
pub(crate) fn build_echo_reply(server_ll: Ipv6Addr, request: &EchoRequest<'_>, out: &mut Vec<u8>) {
    let mut icmp = Vec::with_capacity(4 + request.body.len());
    icmp.extend_from_slice(&[TYPE_ECHO_REPLY, 0, 0, 0]);
    icmp.extend_from_slice(request.body);
    let sum = checksum(server_ll, request.source, &icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());

    out.reserve(IPV6_HEADER_LEN + icmp.len());
    out.extend_from_slice(&[0x60, 0, 0, 0]);
    // The request's payload length came in a 16-bit field: so does ours.
    out.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    // Not Neighbor Discovery: the default hop limit we advise hosts is ours
    // too.
    out.extend_from_slice(&[NEXT_HEADER_ICMPV6, ADV_CUR_HOP_LIMIT]);
    out.extend_from_slice(&server_ll.octets());
    out.extend_from_slice(&request.source.octets());
    out.extend_from_slice(&icmp);
}

/// The Echo Replies one session may still send: a token bucket, pure (time
/// comes in as `now`). A reply is no larger than its request, so this only
/// bounds the work a flood of requests costs the session.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EchoBudget {
    tokens: f64,
    last: Option<Instant>,
}

impl Default for EchoBudget {
    fn default() -> Self {
        Self {
            tokens: ECHO_BURST,
            last: None,
        }
    }
}

impl EchoBudget {
    /// Whether a reply may go out now (and takes a token if so).
    pub(crate) fn allow(&mut self, now: Instant) -> bool {
        if let Some(last) = self.last {
            let elapsed = now.saturating_duration_since(last).as_secs_f64();
            self.tokens = (self.tokens + elapsed * ECHO_PER_SECOND).min(ECHO_BURST);
        }
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The ICMPv6 checksum (RFC 4443 2.3) over the IPv6 pseudo-header (RFC 8200
/// 8.1) and `icmp`. Computed over a packet whose checksum field is filled,
/// it is 0 when the checksum is right.
pub(crate) fn checksum(src: Ipv6Addr, dst: Ipv6Addr, icmp: &[u8]) -> u16 {
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
    add(&(icmp.len() as u32).to_be_bytes());
    add(&[0, 0, 0, NEXT_HEADER_ICMPV6]);
    add(icmp);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn ipv6_at(bytes: &[u8], at: usize) -> Option<Ipv6Addr> {
    let octets: [u8; 16] = bytes.get(at..at + 16)?.try_into().ok()?;
    Some(Ipv6Addr::from(octets))
}

/// Whether an IPv6 destination stays on the PPP link (link-local unicast or
/// link-/interface-local multicast): such packets are for the server itself,
/// never forwarded to the TUN (RFC 4291 2.5.6, 2.7).
pub(crate) fn is_link_scoped(dst: Ipv6Addr) -> bool {
    let first = dst.segments()[0];
    (first & 0xffc0) == 0xfe80 || (first & 0xff0f) == 0xff02 || (first & 0xff0f) == 0xff01
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> Ipv6Addr {
        s.parse().expect("address")
    }

    fn params() -> RaParams {
        RaParams {
            prefix: "2001:db8:0:5::/64".parse().expect("net"),
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
    fn link_scope() {
        for local in ["fe80::1", "ff02::2", "ff02::1:ff00:1", "ff01::1", "febf::1"] {
            assert!(is_link_scoped(addr(local)), "{local}");
        }
        for global in ["2001:db8::1", "fd00::1", "ff05::2", "fec0::1", "ff0e::1"] {
            assert!(!is_link_scoped(addr(global)), "{global}");
        }
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

    #[test]
    fn echo_budget_allows_a_burst_then_the_rate() {
        let start = Instant::now();
        let mut budget = EchoBudget::default();
        let burst = (0..100).filter(|_| budget.allow(start)).count();
        assert_eq!(burst, ECHO_BURST as usize);
        // One second later: the rate's worth again, not the whole burst.
        let later = start + std::time::Duration::from_secs(1);
        let refilled = (0..100).filter(|_| budget.allow(later)).count();
        assert_eq!(refilled, ECHO_PER_SECOND as usize);
        // A clock that does not move gives nothing more.
        assert!(!budget.allow(later));
    }
}
