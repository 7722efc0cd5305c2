//! From the server address to a TLS stream that carries SSTP, the way
//! `sstp-client`'s `dial.rs` does it (TCP with `TCP_NODELAY`, TLS, the
//! `SSTP_DUPLEX_POST` head written by hand, the `200 OK` parsed with
//! sstp-core), trimmed for a benchmark: no proxy, no name resolution, an
//! optional local source address per connection, TLS 1.3 only, and no
//! certificate chain check.
//!
//! **Certificate trust.** This is a benchmark tool that only ever talks to
//! a server it started itself on loopback or in its own namespace, with a
//! self-signed certificate. It therefore does not check the certificate
//! chain or name; it still verifies the handshake signature (so the
//! handshake costs what a real client's does, less the chain walk), takes
//! the leaf's hashes for the crypto binding (MS-SSTP 3.2.5.2.1), and, when
//! `--fingerprint` is given, refuses any leaf whose SHA-256 differs. Do not
//! copy this verifier into anything that talks to a network.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use rand::RngExt as _;
use rustls::NamedGroup;
use rustls::pki_types::ServerName;
use sstp_client::Fingerprint;
use sstp_core::CertHashes;
use sstp_core::wire::http::{ClientRequest, Guid, MAX_HEAD_LEN, parse_response_head};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::verifier::BenchVerifier;

/// The key exchange groups the client offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Kx {
    /// The provider's default order (X25519MLKEM768 first when rustls'
    /// `prefer-post-quantum` is on, as in our client and server).
    Default,
    /// X25519 only.
    X25519,
    /// NIST P-256 only.
    P256,
    /// The X25519 + ML-KEM-768 hybrid only.
    X25519mlkem768,
}

impl Kx {
    fn group(self) -> Option<NamedGroup> {
        match self {
            Self::Default => None,
            Self::X25519 => Some(NamedGroup::X25519),
            Self::P256 => Some(NamedGroup::secp256r1),
            Self::X25519mlkem768 => Some(NamedGroup::X25519MLKEM768),
        }
    }
}

/// Everything a connection needs, shared by all of them.
pub(crate) struct Dialer {
    server: SocketAddr,
    /// The `Host` header: the address as given.
    host: String,
    server_name: ServerName<'static>,
    connector: TlsConnector,
    /// Local addresses to bind, used round robin (empty: the kernel picks).
    sources: Vec<IpAddr>,
    /// Bound on each connect (TCP, TLS, HTTP; the caller adds PPP).
    pub(crate) timeout: Duration,
}

impl std::fmt::Debug for Dialer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dialer")
            .field("server", &self.server)
            .field("sources", &self.sources)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A TLS stream after the SSTP HTTP handshake.
#[derive(Debug)]
pub(crate) struct Dialed {
    pub(crate) stream: TlsStream<TcpStream>,
    /// SSTP bytes that came with the HTTP response head.
    pub(crate) leftover: Vec<u8>,
    /// The leaf's hashes, for the crypto binding.
    pub(crate) cert: CertHashes,
}

impl Dialer {
    pub(crate) fn new(
        server: SocketAddr,
        sources: Vec<IpAddr>,
        fingerprint: Option<Fingerprint>,
        kx: Kx,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        if let Some(bad) = sources.iter().find(|s| s.is_ipv4() != server.is_ipv4()) {
            bail!("source address {bad} is not of the same family as the server {server}");
        }
        let provider = provider(kx)?;
        let verifier = Arc::new(BenchVerifier {
            pin: fingerprint,
            provider: Arc::clone(&provider),
        });
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .context("TLS 1.3 with the aws-lc-rs provider")?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        // Every connect is a full handshake (the point of the measurement);
        // our server sends no tickets anyway.
        config.resumption = rustls::client::Resumption::disabled();
        Ok(Self {
            server,
            host: server.to_string(),
            server_name: ServerName::IpAddress(server.ip().into()),
            connector: TlsConnector::from(Arc::new(config)),
            sources,
            timeout,
        })
    }

    /// The local address connection number `index` binds (round robin).
    fn source(&self, index: usize) -> Option<IpAddr> {
        (!self.sources.is_empty()).then(|| self.sources[index % self.sources.len()])
    }

    /// TCP to the server, from source `index` when sources are set.
    async fn tcp(&self, index: usize) -> anyhow::Result<TcpStream> {
        let socket = if self.server.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }
        .context("socket")?;
        if let Some(source) = self.source(index) {
            // Choose the port at connect time, per 4-tuple, rather than at
            // bind time per address: otherwise every source runs out of
            // ports at ~28k and TIME_WAIT ports cannot be reused.
            nix::sys::socket::setsockopt(
                &socket,
                nix::sys::socket::sockopt::IpBindAddressNoPort,
                &true,
            )
            .context("IP_BIND_ADDRESS_NO_PORT")?;
            socket
                .bind(SocketAddr::new(source, 0))
                .with_context(|| format!("binding source address {source}"))?;
        }
        let tcp = socket
            .connect(self.server)
            .await
            .with_context(|| format!("TCP connect to {}", self.server))?;
        // Nagle plus delayed ACK stall each handshake flight and echo for
        // about 40 ms (RFC 1122 4.2.3.4 and 4.2.3.2): send small writes at once.
        tcp.set_nodelay(true).context("TCP_NODELAY")?;
        Ok(tcp)
    }

    /// TCP and a TLS 1.3 handshake, nothing more (the baseline of the
    /// connects benchmark).
    pub(crate) async fn tls(&self, index: usize) -> anyhow::Result<TlsStream<TcpStream>> {
        let tcp = self.tcp(index).await?;
        self.connector
            .connect(self.server_name.clone(), tcp)
            .await
            .context("TLS handshake")
    }

    /// TCP, TLS and the SSTP HTTP handshake (MS-SSTP 3.2.4.1).
    pub(crate) async fn dial(&self, index: usize) -> anyhow::Result<Dialed> {
        let mut stream = self.tls(index).await?;
        let (_, conn) = stream.get_ref();
        let leaf = conn
            .peer_certificates()
            .and_then(|c| c.first())
            .context("the server sent no certificate")?;
        let cert = CertHashes::from_der(leaf);
        let leftover = http_handshake(&mut stream, &self.host).await?;
        Ok(Dialed {
            stream,
            leftover,
            cert,
        })
    }
}

/// The aws-lc-rs provider offering the `kx` groups (the outer TLS and the
/// inner EAP-TLS use the same).
pub(crate) fn provider(kx: Kx) -> anyhow::Result<Arc<rustls::crypto::CryptoProvider>> {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    if let Some(group) = kx.group() {
        provider.kx_groups.retain(|g| g.name() == group);
        if provider.kx_groups.is_empty() {
            bail!("the TLS provider has no {group:?} key exchange");
        }
    }
    Ok(Arc::new(provider))
}

/// The key exchange group and the cipher suite a handshake used, by name
/// (e.g. `X25519MLKEM768`, `TLS13_AES_256_GCM_SHA384`).
pub(crate) fn negotiated(stream: &TlsStream<TcpStream>) -> (Option<String>, Option<String>) {
    let (_, conn) = stream.get_ref();
    (
        conn.negotiated_key_exchange_group()
            .map(|g| format!("{:?}", g.name())),
        conn.negotiated_cipher_suite()
            .map(|s| format!("{:?}", s.suite())),
    )
}

/// Sends the SSTP request head and reads the response head; returns the
/// bytes after it.
async fn http_handshake(stream: &mut TlsStream<TcpStream>, host: &str) -> anyhow::Result<Vec<u8>> {
    // MS-SSTP 3.2.4.1: a new correlation GUID per attempt.
    let guid = Guid::from_random(rand::rng().random::<[u8; 16]>());
    let request = ClientRequest::new(host, guid).context("SSTP request head")?;
    let mut head = Vec::with_capacity(request.buffer_len());
    request.emit(&mut head);
    stream
        .write_all(&head)
        .await
        .context("sending the SSTP request")?;
    stream.flush().await.context("sending the SSTP request")?;

    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .context("reading the SSTP HTTP response")?;
        if n == 0 {
            bail!("the server closed the connection during the SSTP HTTP handshake");
        }
        buf.extend_from_slice(&chunk[..n]);
        match parse_response_head(&buf).context("the SSTP HTTP response")? {
            Some(response) => return Ok(buf.split_off(response.consumed)),
            None if buf.len() <= MAX_HEAD_LEN => {}
            None => bail!("the SSTP HTTP response head is longer than {MAX_HEAD_LEN} bytes"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialer(sources: Vec<IpAddr>) -> anyhow::Result<Dialer> {
        Dialer::new(
            "127.0.0.1:4443".parse()?,
            sources,
            None,
            Kx::Default,
            Duration::from_secs(1),
        )
    }

    #[test]
    fn sources_round_robin() {
        let d = dialer(vec![
            "127.0.0.1".parse().expect("ip"),
            "127.0.0.2".parse().expect("ip"),
        ])
        .expect("dialer");
        assert_eq!(d.source(0), Some("127.0.0.1".parse().expect("ip")));
        assert_eq!(d.source(1), Some("127.0.0.2".parse().expect("ip")));
        assert_eq!(d.source(2), Some("127.0.0.1".parse().expect("ip")));
        assert_eq!(dialer(vec![]).expect("dialer").source(5), None);
    }

    #[test]
    fn source_family_must_match() {
        let err = dialer(vec!["::1".parse().expect("ip")]).expect_err("mixed families");
        assert!(err.to_string().contains("same family"));
    }

    #[test]
    fn every_kx_choice_exists_in_the_provider() {
        for kx in [Kx::Default, Kx::X25519, Kx::P256, Kx::X25519mlkem768] {
            Dialer::new(
                "127.0.0.1:1".parse().expect("addr"),
                vec![],
                None,
                kx,
                Duration::from_secs(1),
            )
            .expect("provider has it");
        }
    }
}
