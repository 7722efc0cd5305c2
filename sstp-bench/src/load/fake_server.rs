//! Tests only: an in-process SSTP server on loopback, built from
//! sstp-core's `ServerSession` over tokio-rustls, with no TUN. It answers
//! ICMP echo requests addressed to its tunnel address itself (what the
//! real server's kernel does), so the load generator's whole path (TLS,
//! HTTP, SSTP, PPP, MS-CHAPv2 or EAP-TLS, IPCP, binding, data, clean close)
//! runs in `cargo test` without root.
//!
//! Like the bench's real server, it offers MS-CHAPv2 first and EAP-TLS
//! second, trusting a CA made per server; [`start_with_client_cert`] hands
//! out a client certificate from it.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sstp_core::Session;
use sstp_core::wire::http::{RequestHead, ServerResponse, parse_request_head};
use sstp_core::{
    AddressLease, AuthMethod, CertHashes, Credential, EapTlsServerConfig, Event, ServerConfig,
    ServerSession,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use super::icmp::checksum;

pub(crate) const USER: &str = "bench";
pub(crate) const PASSWORD: &str = "bench-password";
/// The server's tunnel address (the echo target).
pub(crate) const SERVER_IP: Ipv4Addr = Ipv4Addr::new(10, 64, 0, 1);

/// A client certificate for [`USER`] and its key, PEM.
pub(crate) struct ClientCert {
    pub(crate) cert_pem: String,
    pub(crate) key_pem: String,
}

/// Starts the server on 127.0.0.1 and returns its address; it serves
/// until the test's runtime ends.
pub(crate) async fn start() -> SocketAddr {
    start_with_client_cert().await.0
}

/// [`start`], and a client certificate the server's EAP-TLS accepts.
pub(crate) async fn start_with_client_cert() -> (SocketAddr, ClientCert) {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("rcgen");
    let cert_der: CertificateDer<'static> = key.cert.der().clone();
    let server_key =
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.signing_key.serialize_der()));
    let hashes = CertHashes::from_der(&cert_der);
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_no_client_auth()
        .with_single_cert(vec![cert_der.clone()], server_key.clone_key())
        .expect("certificate");
    let acceptor = TlsAcceptor::from(Arc::new(tls));
    let (ca, client) = client_ca();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca).expect("CA");
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::clone(&provider),
    )
    .build()
    .expect("client verifier");
    let mut config = ServerConfig::default();
    config.auth_methods = vec![AuthMethod::MsChapV2, AuthMethod::EapTls];
    config.auth.eap_tls = Some(
        EapTlsServerConfig::new(provider, verifier, vec![cert_der], server_key)
            .expect("EAP-TLS server"),
    );
    config.common.ipv6 = false;
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let next_host = Arc::new(AtomicU32::new(2));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, config, hashes, next_host) = (
                acceptor.clone(),
                Arc::clone(&config),
                hashes.clone(),
                Arc::clone(&next_host),
            );
            tokio::spawn(async move {
                let _ = serve(tcp, acceptor, &config, hashes, &next_host).await;
            });
        }
    });
    (addr, client)
}

/// A CA (its certificate) and a client certificate from it for [`USER`]
/// (ECDSA P-256, clientAuth), as `sstp-server ca issue` makes.
fn client_ca() -> (CertificateDer<'static>, ClientCert) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
    };
    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("CA key");
    let mut params = CertificateParams::new(Vec::new()).expect("CA params");
    params
        .distinguished_name
        .push(DnType::CommonName, "fake client CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = params.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(params, ca_key);
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("client key");
    let mut params = CertificateParams::new(Vec::new()).expect("client params");
    params.distinguished_name.push(DnType::CommonName, USER);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let cert = params.signed_by(&key, &issuer).expect("client certificate");
    (
        ca.der().clone(),
        ClientCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        },
    )
}

async fn serve(
    tcp: TcpStream,
    acceptor: TlsAcceptor,
    config: &ServerConfig,
    hashes: CertHashes,
    next_host: &AtomicU32,
) -> std::io::Result<()> {
    tcp.set_nodelay(true)?;
    let mut tls = acceptor.accept(tcp).await?;
    // The SSTP request head; what follows it is SSTP.
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    let leftover = loop {
        let n = tls.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&chunk[..n]);
        match parse_request_head(&head) {
            Ok(Some(RequestHead::Sstp(request))) => break head.split_off(request.consumed),
            Ok(None) => {}
            _ => return Ok(()),
        }
    };
    let mut out = Vec::new();
    ServerResponse::new().emit(&mut out);
    tls.write_all(&out).await?;

    let now = || tokio::time::Instant::now().into_std();
    let rng = Box::new(rand::make_rng::<rand::rngs::StdRng>());
    let at = now();
    let mut session = ServerSession::new(config, hashes, at, rng);
    sstp_tun::drive::set_wall_clock(&mut session, at);
    session.handle_input(now(), &leftover);
    let secret = Credential::from_password(PASSWORD);
    let peer = Ipv4Addr::from(u32::from(SERVER_IP) + next_host.fetch_add(1, Ordering::Relaxed) - 1);
    let mut rbuf = vec![0u8; 64 * 1024];
    loop {
        let mut replies = Vec::new();
        while let Some(packet) = session.poll_ip() {
            if let Some(reply) = echo_reply(packet) {
                replies.push(reply);
            }
        }
        for reply in replies {
            let _ = session.send_ip(&reply);
        }
        while let Some(event) = session.poll_event() {
            match event {
                Event::Authenticate(request) => {
                    // EAP-TLS: the inner TLS has checked the chain against
                    // the CA; any certificate it issued may connect.
                    let verdict = if request.method() == AuthMethod::EapTls {
                        sstp_core::AuthVerdict::Accept(sstp_core::Accept::new())
                    } else if request.user_name().eq_ignore_ascii_case(USER.as_bytes()) {
                        request.verify_with(&secret)
                    } else {
                        sstp_core::AuthVerdict::reject("no such user")
                    };
                    session.auth_complete(now(), verdict);
                }
                Event::NeedAddresses { .. } => {
                    session.assign_addresses(now(), AddressLease::new(SERVER_IP, peer));
                }
                Event::Down(_) => {
                    out.clear();
                    if session.poll_transmit(&mut out) {
                        tls.write_all(&out).await?;
                    }
                    let _ = tls.shutdown().await;
                    return Ok(());
                }
                _ => {}
            }
        }
        out.clear();
        if session.poll_transmit(&mut out) {
            tls.write_all(&out).await?;
            tls.flush().await?;
            continue;
        }
        let timer = session.poll_timeout().map(tokio::time::Instant::from_std);
        tokio::select! {
            r = tls.read(&mut rbuf) => match r {
                Ok(0) | Err(_) => session.transport_closed(now()),
                Ok(n) => session.handle_input(now(), &rbuf[..n]),
            },
            () = async {
                match timer {
                    Some(t) => tokio::time::sleep_until(t).await,
                    None => std::future::pending().await,
                }
            } => session.handle_timeout(now()),
        }
    }
}

/// What a kernel answers to an echo request for [`SERVER_IP`].
fn echo_reply(request: &[u8]) -> Option<Vec<u8>> {
    let ihl = usize::from(request.first()? & 0x0F) * 4;
    if request.len() < ihl + 8
        || request[9] != 1
        || request[ihl] != 8
        || request[16..20] != SERVER_IP.octets()
    {
        return None;
    }
    let mut r = request.to_vec();
    r[12..16].copy_from_slice(&request[16..20]);
    r[16..20].copy_from_slice(&request[12..16]);
    r[10..12].copy_from_slice(&[0, 0]);
    let sum = checksum(&r[..ihl]);
    r[10..12].copy_from_slice(&sum.to_be_bytes());
    r[ihl] = 0;
    r[ihl + 2..ihl + 4].copy_from_slice(&[0, 0]);
    let sum = checksum(&r[ihl..]);
    r[ihl + 2..ihl + 4].copy_from_slice(&sum.to_be_bytes());
    Some(r)
}
