//! Behind a load balancer: the PROXY protocol (HAProxy's `proxy-protocol.txt`,
//! versions 1 and 2) from trusted balancers, and the plain-HTTP listener for a
//! TLS offloader (`[proxy_protocol]`, `[offload]`).
//!
//! A connection from a `proxy_protocol.trusted` source must begin with a
//! header; its source address then stands for the client everywhere after
//! (logs, the per-source rate limit, metrics, RADIUS Calling-Station-Id). The
//! v2 LOCAL command (a balancer's own health check) keeps the balancer's
//! address. A header is read byte-exact (v1 up to its CRLF, v2 by its length
//! field), so nothing of the TLS or HTTP bytes behind it is consumed, and it
//! is bounded: 107 bytes for v1 (spec 2.1), [`MAX_V2_LEN`] for v2. The
//! parsing itself is the `ppp` crate's.
//!
//! A source outside the trusted ranges that starts with a PROXY signature is
//! refused: accepting it would let any client choose its own address.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ipnet::IpNet;
use ppp::v2;
use serde::{Deserialize, Deserializer};
use sstp_core::AcceptedCertHashes;
use tokio::io::{AsyncRead, AsyncReadExt};

/// The v1 signature (spec 2.1).
const V1_SIGNATURE: &[u8] = b"PROXY ";
/// The v2 signature (spec 2.2).
const V2_SIGNATURE: &[u8] = v2::PROTOCOL_PREFIX;
/// A v1 line, `PROXY` to CRLF, is at most 107 bytes (spec 2.1).
const MAX_V1_LEN: usize = 107;
/// The fixed part of a v2 header: signature, version and command, family, length (spec 2.2).
const V2_FIXED_LEN: usize = 16;
/// The largest v2 header read: the fixed 16 bytes, the longest address block
/// (216, AF_UNIX) and room for TLVs. HAProxy sends a few dozen bytes of TLVs;
/// a longer header is refused rather than buffered.
pub(crate) const MAX_V2_LEN: usize = 16 + 216 + 1024;

/// `[proxy_protocol]`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProxyProtocolSettings {
    /// Sources (the balancers) whose connections begin with a PROXY header;
    /// empty: no source may send one.
    pub trusted: Vec<IpNet>,
    /// How long a trusted source has to send its whole header.
    #[serde(deserialize_with = "crate::config::duration")]
    pub header_timeout: Duration,
}

impl Default for ProxyProtocolSettings {
    fn default() -> Self {
        Self {
            trusted: Vec::new(),
            header_timeout: Duration::from_secs(5),
        }
    }
}

impl ProxyProtocolSettings {
    /// Whether `ip` is a trusted balancer (an IPv4-mapped IPv6 source counts
    /// as its IPv4 address).
    pub fn trusts(&self, ip: IpAddr) -> bool {
        in_ranges(&self.trusted, ip)
    }
}

fn in_ranges(ranges: &[IpNet], ip: IpAddr) -> bool {
    let ip = ip.to_canonical();
    ranges.iter().any(|net| net.contains(&ip))
}

/// `[offload]`: a plain-HTTP SSTP listener for when TLS ends at a balancer.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OffloadSettings {
    /// Plain-HTTP listen addresses.
    pub listen: Vec<SocketAddr>,
    /// Hashes of the certificate(s) the offloader shows clients: SHA-256
    /// (32 bytes) or SHA-1 (20 bytes), hex with or without colons.
    pub certificate_hashes: Vec<CertificateHash>,
    /// Sources that may connect to the plain listener besides the trusted
    /// PROXY balancers; others are refused.
    pub sources: Vec<IpNet>,
}

impl Default for OffloadSettings {
    fn default() -> Self {
        Self {
            listen: Vec::new(),
            certificate_hashes: Vec::new(),
            sources: vec![
                loopback4(),
                IpNet::from(IpAddr::from(std::net::Ipv6Addr::LOCALHOST)),
            ],
        }
    }
}

fn loopback4() -> IpNet {
    // 127.0.0.0/8 (RFC 1122 3.2.1.3); a valid prefix length, so no error.
    IpNet::new(IpAddr::from([127, 0, 0, 0]), 8).unwrap_or_default()
}

impl OffloadSettings {
    /// The hashes as the SSTP core checks them.
    pub fn accepted(&self) -> Option<AcceptedCertHashes> {
        let mut sha1 = Vec::new();
        let mut sha256 = Vec::new();
        for hash in &self.certificate_hashes {
            match hash {
                CertificateHash::Sha1(h) => sha1.push(*h),
                CertificateHash::Sha256(h) => sha256.push(*h),
            }
        }
        AcceptedCertHashes::new(sha1, sha256)
    }

    /// Whether `ip` may use the plain listener.
    pub fn allows(&self, ip: IpAddr, proxy: &ProxyProtocolSettings) -> bool {
        in_ranges(&self.sources, ip) || proxy.trusts(ip)
    }

    /// Checks the section; returns warnings for what works but is risky.
    pub(crate) fn validate(&self, proxy: &ProxyProtocolSettings) -> Result<Vec<String>, String> {
        if self.listen.is_empty() {
            return Err("offload.listen has no address; remove [offload] or give one".into());
        }
        if self.certificate_hashes.is_empty() {
            return Err("offload.certificate_hashes is empty: give the SHA-256 fingerprint of the offloader's certificate (openssl x509 -noout -fingerprint -sha256 -in cert.pem)".into());
        }
        let mut warnings = Vec::new();
        for addr in &self.listen {
            let ip = addr.ip();
            let reachable = !(ip.to_canonical().is_loopback()
                || in_ranges(&self.sources, ip)
                || proxy.trusts(ip));
            if reachable {
                warnings.push(format!(
                    "offload.listen {addr} takes plain, unencrypted SSTP and is not a loopback address: make sure only the TLS offloader can reach it (a firewall), or listen on 127.0.0.1"
                ));
            }
        }
        Ok(warnings)
    }
}

/// One configured certificate hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateHash {
    /// 20 bytes.
    Sha1([u8; 20]),
    /// 32 bytes.
    Sha256([u8; 32]),
}

impl std::str::FromStr for CertificateHash {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let digits: String = text.chars().filter(|c| *c != ':').collect();
        let bytes = hex::decode(&digits).map_err(|_| {
            format!("certificate hash {text:?} is not hex (like AB:CD:.. or abcd..)")
        })?;
        match bytes.len() {
            20 => Ok(Self::Sha1(bytes.try_into().unwrap_or([0; 20]))),
            32 => Ok(Self::Sha256(bytes.try_into().unwrap_or([0; 32]))),
            n => Err(format!(
                "certificate hash {text:?} has {n} bytes: a SHA-256 hash has 32, a SHA-1 hash 20"
            )),
        }
    }
}

impl<'de> Deserialize<'de> for CertificateHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What a trusted balancer's header said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Proxied {
    /// A relayed connection from this client.
    Client(SocketAddr),
    /// The balancer speaks for itself (v2 LOCAL: a health check; v1
    /// UNKNOWN; or an address family with no IP source): keep its address.
    Local,
}

/// Why a trusted source's header was not taken.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HeaderError {
    /// The connection began with something else.
    #[error("the connection did not begin with a PROXY header")]
    Missing,
    /// The peer closed (or reset) before the header ended.
    #[error("the connection closed inside the PROXY header")]
    Truncated,
    /// Longer than any header we take.
    #[error("the PROXY header is longer than {0} bytes")]
    TooLong(usize),
    /// The header's syntax.
    #[error("bad PROXY v1 header: {0}")]
    V1(ppp::v1::BinaryParseError),
    /// The header's syntax.
    #[error("bad PROXY v2 header: {0}")]
    V2(v2::ParseError),
    /// A read error.
    #[error("reading the PROXY header failed: {0}")]
    Io(std::io::Error),
}

fn read_error(e: std::io::Error) -> HeaderError {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof
        | std::io::ErrorKind::ConnectionReset
        | std::io::ErrorKind::ConnectionAborted => HeaderError::Truncated,
        _ => HeaderError::Io(e),
    }
}

/// Reads one PROXY header, exactly its bytes, from a trusted balancer.
pub(crate) async fn read_header<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> Result<Proxied, HeaderError> {
    let mut first = [0u8; 1];
    stream.read_exact(&mut first).await.map_err(read_error)?;
    match first[0] {
        b'P' => read_v1(stream).await,
        b'\r' => read_v2(stream).await,
        _ => Err(HeaderError::Missing),
    }
}

async fn read_v1<S: AsyncRead + Unpin>(stream: &mut S) -> Result<Proxied, HeaderError> {
    let mut line = Vec::with_capacity(MAX_V1_LEN);
    line.push(b'P');
    // Byte by byte up to the LF: a read past it would take the client's
    // first TLS or HTTP bytes (at most 107 small reads, once a connection).
    while line.last() != Some(&b'\n') {
        if line.len() >= MAX_V1_LEN {
            return Err(HeaderError::TooLong(MAX_V1_LEN));
        }
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).await.map_err(read_error)?;
        line.push(byte[0]);
        if line.len() <= V1_SIGNATURE.len() && !V1_SIGNATURE.starts_with(&line) {
            return Err(HeaderError::Missing);
        }
    }
    parse_v1(&line)
}

fn parse_v1(line: &[u8]) -> Result<Proxied, HeaderError> {
    let header = ppp::v1::Header::try_from(line).map_err(HeaderError::V1)?;
    Ok(match header.addresses {
        ppp::v1::Addresses::Tcp4(a) => {
            Proxied::Client(SocketAddr::from((a.source_address, a.source_port)))
        }
        ppp::v1::Addresses::Tcp6(a) => {
            Proxied::Client(SocketAddr::from((a.source_address, a.source_port)))
        }
        ppp::v1::Addresses::Unknown => Proxied::Local,
    })
}

async fn read_v2<S: AsyncRead + Unpin>(stream: &mut S) -> Result<Proxied, HeaderError> {
    let mut header = vec![0u8; V2_FIXED_LEN];
    header[0] = b'\r';
    stream
        .read_exact(&mut header[1..])
        .await
        .map_err(read_error)?;
    if !header.starts_with(V2_SIGNATURE) {
        return Err(HeaderError::Missing);
    }
    let len = usize::from(u16::from_be_bytes([header[14], header[15]]));
    if V2_FIXED_LEN + len > MAX_V2_LEN {
        return Err(HeaderError::TooLong(MAX_V2_LEN));
    }
    header.resize(V2_FIXED_LEN + len, 0);
    stream
        .read_exact(&mut header[V2_FIXED_LEN..])
        .await
        .map_err(read_error)?;
    parse_v2(&header)
}

/// A whole v2 header (its length field already read) to what it says.
pub(crate) fn parse_v2(bytes: &[u8]) -> Result<Proxied, HeaderError> {
    let header = v2::Header::try_from(bytes).map_err(HeaderError::V2)?;
    if header.command == v2::Command::Local {
        // Spec 2.2: LOCAL connections come from the proxy itself; the
        // receiver must use the real connection endpoints.
        return Ok(Proxied::Local);
    }
    Ok(match header.addresses {
        v2::Addresses::IPv4(a) => {
            Proxied::Client(SocketAddr::from((a.source_address, a.source_port)))
        }
        v2::Addresses::IPv6(a) => {
            Proxied::Client(SocketAddr::from((a.source_address, a.source_port)))
        }
        // Spec 2.2: UNSPEC or a family we do not take: use the real
        // endpoints, as for LOCAL.
        v2::Addresses::Unspecified | v2::Addresses::Unix(_) => Proxied::Local,
    })
}

/// What the first bytes of an untrusted connection look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// A PROXY signature, v1 or v2.
    Proxy,
    /// Not one.
    Other,
    /// A start of a signature; more bytes decide.
    Undecided,
}

/// Classifies `peeked`, the first bytes of a connection (not consumed).
pub(crate) fn classify(peeked: &[u8]) -> Start {
    let mut undecided = false;
    for signature in [V1_SIGNATURE, V2_SIGNATURE] {
        let n = peeked.len().min(signature.len());
        if peeked[..n] == signature[..n] {
            if n == signature.len() {
                return Start::Proxy;
            }
            undecided = true;
        }
    }
    if undecided && !peeked.is_empty() {
        Start::Undecided
    } else {
        Start::Other
    }
}

/// Peeks the start of a connection from an untrusted source until it is
/// known whether it is a PROXY header (its first byte has arrived already).
/// A slow sender of a signature's prefix is polled at a few ms for at most
/// `budget`; an ordinary TLS or HTTP client decides on the first byte.
pub(crate) async fn peek_start(tcp: &tokio::net::TcpStream, budget: Duration) -> Start {
    let deadline = tokio::time::Instant::now() + budget;
    let mut buf = [0u8; 16];
    loop {
        let Ok(n) = tcp.peek(&mut buf).await else {
            return Start::Other;
        };
        match classify(&buf[..n]) {
            Start::Undecided if n > 0 && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Start::Undecided => return Start::Other,
            decided => return decided,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    fn v2_proxy(src: SocketAddr, dst: SocketAddr) -> Vec<u8> {
        v2::Builder::with_addresses(
            v2::Version::Two | v2::Command::Proxy,
            v2::Protocol::Stream,
            (src, dst),
        )
        .build()
        .expect("v2 header")
    }

    fn v2_local() -> Vec<u8> {
        v2::Builder::with_addresses(
            v2::Version::Two | v2::Command::Local,
            v2::Protocol::Unspecified,
            v2::Addresses::Unspecified,
        )
        .build()
        .expect("v2 header")
    }

    /// Reads the header from `bytes` and returns it with what is left.
    async fn read_from(bytes: &[u8]) -> (Result<Proxied, HeaderError>, Vec<u8>) {
        let (mut a, mut b) = tokio::io::duplex(8192);
        a.write_all(bytes).await.expect("write");
        drop(a);
        let result = read_header(&mut b).await;
        let mut rest = Vec::new();
        b.read_to_end(&mut rest).await.expect("rest");
        (result, rest)
    }

    #[tokio::test]
    async fn v1_and_v2_give_the_client_and_leave_the_rest_unread() {
        let client: SocketAddr = "198.51.100.7:51000".parse().expect("addr");
        let us: SocketAddr = "192.0.2.1:443".parse().expect("addr");
        let mut bytes = v2_proxy(client, us);
        bytes.extend_from_slice(b"\x16\x03\x01 TLS");
        let (got, rest) = read_from(&bytes).await;
        assert_eq!(got.expect("v2"), Proxied::Client(client));
        assert_eq!(rest, b"\x16\x03\x01 TLS");

        let v6: SocketAddr = "[2001:db8::5]:4000".parse().expect("addr");
        let bytes = v2_proxy(v6, "[2001:db8::1]:443".parse().expect("addr"));
        assert_eq!(read_from(&bytes).await.0.expect("v2"), Proxied::Client(v6));

        let (got, rest) = read_from(b"PROXY TCP4 198.51.100.7 192.0.2.1 51000 443\r\nGET /").await;
        assert_eq!(got.expect("v1"), Proxied::Client(client));
        assert_eq!(rest, b"GET /");
        let (got, _) = read_from(b"PROXY TCP6 2001:db8::5 2001:db8::1 4000 443\r\n").await;
        assert_eq!(got.expect("v1"), Proxied::Client(v6));
        let (got, _) = read_from(b"PROXY UNKNOWN\r\n").await;
        assert_eq!(got.expect("v1"), Proxied::Local);
    }

    #[tokio::test]
    async fn v2_local_is_a_health_check() {
        let mut bytes = v2_local();
        bytes.extend_from_slice(b"GET /healthz HTTP/1.0\r\n\r\n");
        let (got, rest) = read_from(&bytes).await;
        assert_eq!(got.expect("local"), Proxied::Local);
        assert!(rest.starts_with(b"GET /healthz"));
    }

    #[tokio::test]
    async fn malformed_truncated_missing_and_long_headers_are_errors() {
        let full = v2_proxy(
            "198.51.100.7:1".parse().expect("addr"),
            "192.0.2.1:2".parse().expect("addr"),
        );
        for cut in 1..full.len() {
            let (got, _) = read_from(&full[..cut]).await;
            assert!(
                matches!(got, Err(HeaderError::Truncated)),
                "cut at {cut}: {got:?}"
            );
        }
        let (got, _) = read_from(b"PROXY TCP4 1.2.3.4").await;
        assert!(matches!(got, Err(HeaderError::Truncated)), "{got:?}");
        let (got, _) = read_from(b"PROXY TCP4 1.2.3.400 5.6.7.8 1 2\r\n").await;
        assert!(matches!(got, Err(HeaderError::V1(_))), "{got:?}");
        let (got, _) = read_from(b"PROXY TCP9 x\r\n").await;
        assert!(matches!(got, Err(HeaderError::V1(_))), "{got:?}");
        let mut long = b"PROXY TCP4 ".to_vec();
        long.extend(std::iter::repeat_n(b'1', 200));
        let (got, _) = read_from(&long).await;
        assert!(matches!(got, Err(HeaderError::TooLong(_))), "{got:?}");
        // v2 with a bad version nibble, and with a length past our bound.
        let mut bad = full.clone();
        bad[12] = 0x31;
        let (got, _) = read_from(&bad).await;
        assert!(matches!(got, Err(HeaderError::V2(_))), "{got:?}");
        let mut huge = full.clone();
        huge[14..16].copy_from_slice(&u16::MAX.to_be_bytes());
        let (got, _) = read_from(&huge).await;
        assert!(matches!(got, Err(HeaderError::TooLong(_))), "{got:?}");
        // No header at all: TLS, or HTTP, or a near miss of a signature.
        for start in [
            &b"\x16\x03\x01"[..],
            b"POST / HTTP/1.1\r\n",
            b"\r\n\r\nxxxxxxxxxxxxxxxx",
        ] {
            let (got, _) = read_from(start).await;
            assert!(
                matches!(got, Err(HeaderError::Missing)),
                "{start:?}: {got:?}"
            );
        }
        let (got, _) = read_from(b"").await;
        assert!(matches!(got, Err(HeaderError::Truncated)), "{got:?}");
    }

    #[tokio::test]
    async fn a_header_that_never_comes_is_bounded_by_the_caller_timeout() {
        let (mut a, mut b) = tokio::io::duplex(64);
        a.write_all(b"PROXY TCP4 ").await.expect("write");
        let got = tokio::time::timeout(Duration::from_millis(50), read_header(&mut b)).await;
        assert!(got.is_err(), "still waiting for the rest");
        drop(a);
    }

    /// Our framing around the crate's parser, on hostile input: random
    /// bytes after each signature (and mutations of a good header) end in a
    /// verdict, never a panic, and never read past the bound.
    #[tokio::test]
    async fn random_headers_end_in_a_bounded_verdict() {
        use rand::RngExt as _;
        let mut rng = sstp_testkit::rng(7);
        let good = v2_proxy(
            "198.51.100.7:1".parse().expect("addr"),
            "192.0.2.1:2".parse().expect("addr"),
        );
        for round in 0..3000 {
            let mut bytes = match round % 3 {
                0 => b"PROXY ".to_vec(),
                1 => V2_SIGNATURE.to_vec(),
                _ => good.clone(),
            };
            if round % 3 == 2 {
                let at = rng.random_range(0..bytes.len());
                bytes[at] = rng.random();
            } else {
                let n = rng.random_range(0..300);
                bytes.extend((0..n).map(|_| rng.random::<u8>()));
            }
            let total = bytes.len();
            let (got, rest) = read_from(&bytes).await;
            let consumed = total - rest.len();
            assert!(consumed <= MAX_V2_LEN, "read {consumed} bytes");
            if let Ok(Proxied::Client(_) | Proxied::Local) = got {
                assert!(consumed >= 16 || bytes.starts_with(b"PROXY "), "{bytes:?}");
            }
        }
    }

    #[test]
    fn signatures_are_told_apart_from_tls_and_http() {
        assert_eq!(classify(b"PROXY TCP4"), Start::Proxy);
        assert_eq!(classify(&v2_local()), Start::Proxy);
        assert_eq!(classify(b"PRO"), Start::Undecided);
        assert_eq!(classify(b"\r\n\r\n"), Start::Undecided);
        assert_eq!(classify(b"POST"), Start::Other);
        assert_eq!(classify(b"SSTP_DUPLEX_POST"), Start::Other);
        assert_eq!(classify(b"\x16\x03\x01"), Start::Other);
        assert_eq!(classify(b"\r\n\r\nx"), Start::Other);
        assert_eq!(classify(b""), Start::Other);
    }

    #[test]
    fn trusted_ranges_and_mapped_addresses() {
        let settings = ProxyProtocolSettings {
            trusted: vec![
                "10.0.0.0/8".parse().expect("net"),
                "::1/128".parse().expect("net"),
            ],
            ..ProxyProtocolSettings::default()
        };
        assert!(settings.trusts("10.1.2.3".parse().expect("ip")));
        assert!(settings.trusts("::ffff:10.1.2.3".parse().expect("ip")));
        assert!(settings.trusts("::1".parse().expect("ip")));
        assert!(!settings.trusts("11.0.0.1".parse().expect("ip")));
        assert!(!ProxyProtocolSettings::default().trusts("127.0.0.1".parse().expect("ip")));
    }

    #[test]
    fn certificate_hashes_parse_by_length_with_or_without_colons() {
        let sha256 = "AB:".repeat(31) + "AB";
        assert_eq!(
            sha256.parse::<CertificateHash>(),
            Ok(CertificateHash::Sha256([0xab; 32]))
        );
        assert_eq!(
            "cd".repeat(20).parse::<CertificateHash>(),
            Ok(CertificateHash::Sha1([0xcd; 20]))
        );
        let err = "abcd".parse::<CertificateHash>().expect_err("short");
        assert!(err.contains("2 bytes") && err.contains("32"), "{err}");
        let err = "zz"
            .repeat(32)
            .parse::<CertificateHash>()
            .expect_err("not hex");
        assert!(err.contains("not hex"), "{err}");
    }

    #[test]
    fn offload_needs_hashes_and_warns_when_reachable() {
        let proxy = ProxyProtocolSettings::default();
        let mut offload = OffloadSettings {
            listen: vec!["127.0.0.1:8443".parse().expect("addr")],
            ..OffloadSettings::default()
        };
        let err = offload.validate(&proxy).expect_err("no hashes");
        assert!(err.contains("openssl x509"), "{err}");
        offload.certificate_hashes = vec![CertificateHash::Sha256([1; 32])];
        assert_eq!(offload.validate(&proxy), Ok(vec![]));
        assert_eq!(
            offload.accepted().expect("set").bitmask(),
            sstp_core::wire::sstp::HashBitmask::SHA256
        );
        offload.listen = vec!["0.0.0.0:8443".parse().expect("addr")];
        let warnings = offload.validate(&proxy).expect("valid");
        assert!(warnings[0].contains("not a loopback"), "{warnings:?}");
        assert!(offload.allows("127.0.0.5".parse().expect("ip"), &proxy));
        assert!(!offload.allows("192.0.2.9".parse().expect("ip"), &proxy));
        offload.listen.clear();
        assert!(offload.validate(&proxy).is_err());
    }
}
