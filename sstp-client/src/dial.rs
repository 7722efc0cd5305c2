//! From a server address to a byte stream that carries SSTP: TCP (directly
//! or through an HTTP proxy), TLS, and the SSTP HTTP handshake (MS-SSTP
//! 3.2.4.1: `SSTP_DUPLEX_POST`, answered by `200 OK` with
//! `Content-Length: 18446744073709551615`).
//!
//! hyper cannot carry `SSTP_DUPLEX_POST` (it refuses a Content-Length of
//! u64::MAX, which it keeps as an internal marker, and has no raw stream
//! after a 200 to a non-CONNECT request), so
//! the request head is written by hand with sstp-core's `ClientRequest` and
//! the answer parsed with `parse_response_head`; bytes that arrived after
//! the head are the first SSTP bytes and go to the session.

use std::net::SocketAddr;
use std::time::Duration;

use rand::RngExt;
use sstp_core::CertHashes;
use sstp_core::wire::http::{ClientRequest, Guid, MAX_HEAD_LEN, parse_response_head};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::error::Error;
use crate::options::ServerAddr;
use crate::proxy::{self, HttpProxy};
use crate::tls::{Fingerprint, TlsSetup, TrustMode};

/// Any byte stream TLS can run over: a TCP socket or a proxy tunnel.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}
/// The boxed transport under TLS (one indirection per read/write; the
/// driver reads and writes in large chunks).
pub(crate) type BoxedIo = Box<dyn Io>;

/// Time limits of the steps of a connect.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// TCP connect (each address) and the proxy's CONNECT.
    pub(crate) connect: Duration,
    /// The TLS handshake.
    pub(crate) tls: Duration,
    /// The HTTP response (MS-SSTP 4.1: the client waits up to 60 s).
    pub(crate) http: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(15),
            tls: Duration::from_secs(20),
            http: Duration::from_secs(60),
        }
    }
}

/// A connection ready for `ClientSession`.
pub(crate) struct Dialed {
    pub(crate) stream: TlsStream<BoxedIo>,
    /// SSTP bytes that arrived with the HTTP response head.
    pub(crate) leftover: Vec<u8>,
    /// Hashes of the server's leaf certificate, for the crypto binding.
    pub(crate) cert: CertHashes,
    pub(crate) fingerprint: Fingerprint,
    pub(crate) tls_version: &'static str,
    /// The TCP peer: the server, or the proxy when there is one.
    pub(crate) remote: Option<SocketAddr>,
}

/// Connects to `server`, through `proxy` when given.
pub(crate) async fn dial(
    server: &ServerAddr,
    proxy: Option<&HttpProxy>,
    tls: &TlsSetup,
    timeouts: Timeouts,
) -> Result<Dialed, Error> {
    let (io, remote): (BoxedIo, _) = match proxy {
        Some(proxy) => proxy::connect(proxy, server, timeouts.connect).await?,
        None => {
            let tcp = connect_tcp(server, timeouts.connect).await?;
            let remote = tcp.peer_addr().ok();
            (Box::new(tcp), remote)
        }
    };
    if tls.mode == TrustMode::SkipVerify {
        tracing::warn!(
            server = %server,
            "DANGER: server certificate verification is OFF (--dangerous-skip-verify): \
             anyone on the path can impersonate the server and read the traffic"
        );
    }
    tls.reset_seen();
    let connector = TlsConnector::from(std::sync::Arc::clone(&tls.config));
    let mut stream =
        tokio::time::timeout(timeouts.tls, connector.connect(tls.server_name.clone(), io))
            .await
            .map_err(|_| Error::Timeout("waiting for the TLS handshake"))?
            .map_err(|e| tls.handshake_error(e))?;

    let (_, conn) = stream.get_ref();
    let Some(leaf) = conn.peer_certificates().and_then(|c| c.first()) else {
        return Err(Error::Tls {
            server: server.to_string(),
            source: std::io::Error::other("the server sent no certificate"),
        });
    };
    let cert = CertHashes::from_der(leaf);
    let fingerprint = Fingerprint(cert.sha256);
    let tls_version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3",
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2",
        _ => "TLS",
    };

    let leftover = tokio::time::timeout(timeouts.http, http_handshake(&mut stream, server))
        .await
        .map_err(|_| Error::Timeout("waiting for the SSTP HTTP response (MS-SSTP 4.1)"))??;
    Ok(Dialed {
        stream,
        leftover,
        cert,
        fingerprint,
        tls_version,
        remote,
    })
}

/// Connects and completes TLS without checking the certificate, and
/// returns the leaf's fingerprint and the TLS version: for a person to
/// verify out of band and then pin. No SSTP request is sent.
pub(crate) async fn fetch_fingerprint(
    server: &ServerAddr,
    proxy: Option<&HttpProxy>,
    sni: Option<&str>,
    timeouts: Timeouts,
) -> Result<(Fingerprint, &'static str), Error> {
    let options = crate::options::TlsOptions {
        sni: sni.map(str::to_owned),
        dangerous_skip_verify: true,
        ..crate::options::TlsOptions::default()
    };
    let tls = TlsSetup::new(&options, server.host())?;
    let io: BoxedIo = match proxy {
        Some(proxy) => proxy::connect(proxy, server, timeouts.connect).await?.0,
        None => Box::new(connect_tcp(server, timeouts.connect).await?),
    };
    let connector = TlsConnector::from(std::sync::Arc::clone(&tls.config));
    let mut stream =
        tokio::time::timeout(timeouts.tls, connector.connect(tls.server_name.clone(), io))
            .await
            .map_err(|_| Error::Timeout("waiting for the TLS handshake"))?
            .map_err(|e| tls.handshake_error(e))?;
    let (_, conn) = stream.get_ref();
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3",
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2",
        _ => "TLS",
    };
    let fingerprint = tls.seen().ok_or_else(|| Error::Tls {
        server: server.to_string(),
        source: std::io::Error::other("the server sent no certificate"),
    })?;
    let _ = stream.shutdown().await;
    Ok((fingerprint, version))
}

async fn connect_tcp(server: &ServerAddr, timeout: Duration) -> Result<TcpStream, Error> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((server.host(), server.port()))
        .await
        .map_err(|source| Error::Resolve {
            host: server.host().to_owned(),
            source,
        })?
        .collect();
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
    for addr in addrs {
        match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(tcp)) => {
                // Nagle plus delayed ACK stall each handshake flight and echo for
                // about 40 ms (RFC 1122 4.2.3.4, 4.2.3.2): send small writes at once.
                let _ = tcp.set_nodelay(true);
                return Ok(tcp);
            }
            Ok(Err(e)) => last = e,
            Err(_) => {
                last = std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no answer from {addr} within {timeout:?}"),
                );
            }
        }
    }
    Err(Error::Unreachable {
        server: server.to_string(),
        source: last,
    })
}

/// Sends the SSTP request head and reads the response head; returns the
/// bytes after it.
async fn http_handshake<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    server: &ServerAddr,
) -> Result<Vec<u8>, Error> {
    // MS-SSTP 3.2.4.1: a new correlation GUID per attempt, for the server's logs.
    let guid = Guid::from_random(rand::rng().random::<[u8; 16]>());
    let host = server.authority(false);
    let request = ClientRequest::new(&host, guid).map_err(|e| Error::Config(e.to_string()))?;
    let mut head = Vec::new();
    request.emit(&mut head);
    stream.write_all(&head).await.map_err(Error::Io)?;
    stream.flush().await.map_err(Error::Io)?;
    tracing::debug!(correlation_id = %guid, "SSTP request sent");

    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = stream.read(&mut chunk).await.map_err(Error::Io)?;
        if n == 0 {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the server closed the connection during the SSTP HTTP handshake",
            )));
        }
        buf.extend_from_slice(&chunk[..n]);
        match parse_response_head(&buf) {
            Ok(Some(response)) => return Ok(buf.split_off(response.consumed)),
            Ok(None) if buf.len() <= MAX_HEAD_LEN => {}
            Ok(None) => {
                return Err(Error::Http(sstp_core::wire::http::HttpError::HeadTooLong {
                    limit: MAX_HEAD_LEN,
                }));
            }
            Err(e) => return Err(Error::Http(e)),
        }
    }
}
