//! Behind a real HAProxy 2.6 (`scripts/haproxy`, the configurations of the
//! admin guide): TCP mode with `send-proxy-v2` and `check-send-proxy`, and
//! HAProxy terminating TLS in front of our `[offload]` listener.
//!
//! HAProxy connects to our server from 127.0.0.3 (`source`), the only
//! trusted balancer, and our client from 127.0.0.1, so the server's log
//! lines tell them apart. The tests run on one thread so a thread-local
//! subscriber sees every line the server logs.
//!
//! Skips with a printed reason when HAProxy cannot be had (not installed and
//! not root).

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sstp_client::{ClientBuilder, ProxySetting, ReconnectPolicy, ServerAddr, System, TlsOptions};
use sstp_testkit::{HaProxy, HaProxyMode, HaProxyOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::auth::{check_up, exchange_v4, up_info};
use crate::support::*;

/// HAProxy's side of the loopback: the trusted balancer.
const BALANCER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);

/// Every log line of the server, as text.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// The lines containing every one of `parts`.
    fn lines_with(&self, parts: &[&str]) -> Vec<String> {
        self.text()
            .lines()
            .filter(|l| parts.iter().all(|p| l.contains(p)))
            .map(str::to_owned)
            .collect()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures this thread's log lines until the guard drops.
fn capture() -> (Logs, tracing::subscriber::DefaultGuard) {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    (logs, tracing::subscriber::set_default(subscriber))
}

fn skip() -> bool {
    if let Some(reason) = HaProxy::skip_reason() {
        println!("SKIP: {reason}");
        return true;
    }
    false
}

fn free_port() -> u16 {
    std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn haproxy(
    dir: &tempfile::TempDir,
    mode: HaProxyMode,
    server: SocketAddr,
    cert: Option<std::path::PathBuf>,
) -> (HaProxy, SocketAddr) {
    let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
    let options = HaProxyOptions {
        mode,
        listen,
        server,
        source: Some(IpAddr::V4(BALANCER)),
        cert,
    };
    let haproxy = HaProxy::start(dir.path(), &options).expect("HAProxy starts");
    (haproxy, listen)
}

/// Waits until HAProxy's health checks see our server UP.
async fn wait_up(haproxy: &HaProxy) {
    let mut last = String::new();
    for _ in 0..100 {
        match haproxy.server_status() {
            Ok(status) if status == "UP" => return,
            Ok(status) => last = status,
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "HAProxy never saw the server UP (last: {last})\n{}",
        haproxy.config()
    );
}

/// A client of `front` (HAProxy) trusting `ca_file`.
fn client(front: SocketAddr, ca_file: std::path::PathBuf) -> ClientBuilder {
    ClientBuilder::new(ServerAddr::new("127.0.0.1", front.port()))
        .password(USER, PASSWORD)
        .tls(TlsOptions {
            ca_file: Some(ca_file),
            ..TlsOptions::default()
        })
        .proxy(ProxySetting::Direct)
        .reconnect(ReconnectPolicy::disabled())
}

/// Whether the server closes `stream` (EOF or reset) within a few seconds.
async fn closed_by_server(stream: &mut tokio::net::TcpStream) -> bool {
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await,
        Ok(Ok(0) | Err(_))
    )
}

/// A TCP connection to `to` from `from`.
async fn connect_from(from: Ipv4Addr, to: SocketAddr) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::from((from, 0)))
        .expect("bind the source");
    socket.connect(to).await.expect("connect")
}

/// A PROXY v2 PROXY header for TCP over IPv4 (spec 2.2).
fn v2_header(src: SocketAddr, dst: SocketAddr) -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    h.extend_from_slice(&[0x21, 0x11, 0x00, 12]);
    for addr in [src, dst] {
        if let IpAddr::V4(ip) = addr.ip() {
            h.extend_from_slice(&ip.octets());
        }
    }
    h.extend_from_slice(&src.port().to_be_bytes());
    h.extend_from_slice(&dst.port().to_be_bytes());
    h
}

fn proxy_spec(extra: &str) -> ServerSpec {
    ServerSpec {
        extra: format!(
            "[proxy_protocol]\ntrusted = [\"{BALANCER}/32\"]\nheader_timeout = \"2s\"\n{extra}"
        ),
        ..ServerSpec::default()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn tcp_mode_with_send_proxy_v2_gives_the_client_address() {
    if skip() {
        return;
    }
    let (logs, _guard) = capture();
    let mut server = TestServer::start(proxy_spec("")).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (haproxy, front) = haproxy(&dir, HaProxyMode::Proxy, server.addr, None);
    // The check: a PROXY v2 LOCAL header, then GET /healthz over TLS.
    wait_up(&haproxy).await;
    assert!(
        !logs
            .lines_with(&["PROXY LOCAL", "balancer=127.0.0.3"])
            .is_empty(),
        "no health check seen:\n{}",
        logs.text()
    );

    let (tun, mut device) = client_tun("cli0");
    let mut tunnel = within(
        "the connect through HAProxy",
        client(front, server.pki.ca_file.clone()).connect_with(tun, System::none()),
    )
    .await
    .expect("connect through HAProxy");
    let (up, _) = up_info(&mut tunnel).await;
    check_up(&up);
    exchange_v4(&mut server, &mut device, &up, b"through haproxy").await;
    // The session's peer is our client (127.0.0.1), not HAProxy.
    let up_lines = logs.lines_with(&["session up", "binding=\"sha256\""]);
    assert_eq!(up_lines.len(), 1, "{}", logs.text());
    assert!(
        up_lines[0].contains("peer=127.0.0.1:") && up_lines[0].contains("balancer=127.0.0.3:"),
        "{}",
        up_lines[0]
    );
    // And what `sstp-server sessions` lists (the address RADIUS gets as
    // Calling-Station-Id too).
    let listed = server
        .handle
        .sessions(&sstp_server::SessionFilter::default())
        .await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].peer.ip(), Ipv4Addr::LOCALHOST, "{listed:?}");
    assert_eq!(listed[0].tls_version.as_deref(), Some("TLS 1.3"));

    // A PROXY header from an untrusted source (127.0.0.1, straight to the
    // server) is refused, and counted.
    let mut direct = connect_from(Ipv4Addr::LOCALHOST, server.addr).await;
    let spoofed = v2_header("203.0.113.9:1000".parse().expect("addr"), server.addr);
    direct.write_all(&spoofed).await.expect("write");
    assert!(
        closed_by_server(&mut direct).await,
        "untrusted header not refused"
    );
    server
        .wait_for("the untrusted refusal", |s| {
            s.metric_opt("sstp_rejected_connections_total{reason=\"proxy_untrusted\"}") == Some(1.0)
        })
        .await;
    assert!(
        !logs
            .lines_with(&["outside proxy_protocol.trusted"])
            .is_empty()
    );

    // From the trusted address: a malformed v1 line, then a v2 header cut
    // short; each closes its own connection only.
    let mut bad = connect_from(BALANCER, server.addr).await;
    bad.write_all(b"PROXY TCP4 not-an-address 127.0.0.1 1 2\r\n")
        .await
        .expect("write");
    assert!(
        closed_by_server(&mut bad).await,
        "malformed header not closed"
    );
    let mut cut = connect_from(BALANCER, server.addr).await;
    cut.write_all(&spoofed[..20]).await.expect("write");
    cut.shutdown().await.expect("half close");
    assert!(
        closed_by_server(&mut cut).await,
        "truncated header not closed"
    );
    server
        .wait_for("the bad headers", |s| {
            s.metric_opt("sstp_rejected_connections_total{reason=\"proxy_header\"}") == Some(2.0)
        })
        .await;
    // The established session carries on.
    exchange_v4(&mut server, &mut device, &up, b"still up").await;
    assert_eq!(server.handle.active_sessions(), 1);

    within("the disconnect", tunnel.disconnect())
        .await
        .expect("clean");
    server.wait_idle().await;
    drop(haproxy);
    server.shutdown().await;
}

/// The offloader's certificate, its PEM file for HAProxy and its hashes.
struct Offloader {
    pki: sstp_testkit::Pki,
    pem: std::path::PathBuf,
    ca_file: std::path::PathBuf,
    sha256: String,
    sha1: String,
}

fn offloader(dir: &tempfile::TempDir) -> Offloader {
    let pki = sstp_testkit::Pki::new("offloader CA");
    let pem = dir.path().join("haproxy.pem");
    std::fs::write(&pem, format!("{}{}", pki.cert_pem, pki.key_pem)).expect("write the PEM");
    let ca_file = dir.path().join("offloader-ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).expect("write the CA");
    let hashes = sstp_core::CertHashes::from_der(&pki.leaf);
    // As `openssl x509 -noout -fingerprint` prints it (colons, upper case).
    let colons = |bytes: &[u8]| {
        bytes
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    Offloader {
        sha256: colons(&hashes.sha256),
        sha1: hex::encode(hashes.sha1),
        pki,
        pem,
        ca_file,
    }
}

fn offload_spec(hashes: &[&str]) -> ServerSpec {
    let list = hashes
        .iter()
        .map(|h| format!("{h:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    proxy_spec(&format!(
        "[offload]\nlisten = [\"127.0.0.1:0\"]\ncertificate_hashes = [{list}]\n"
    ))
}

/// Connects through the offloader; the session's `session up` line.
async fn offload_session(hashes: &[&str], want: &str) -> Result<String, String> {
    let (logs, _guard) = capture();
    let dir = tempfile::tempdir().expect("temp dir");
    let off = offloader(&dir);
    let hashes: Vec<String> = hashes
        .iter()
        .map(|h| match *h {
            "real-sha256" => off.sha256.clone(),
            "real-sha1" => off.sha1.clone(),
            other => other.to_owned(),
        })
        .collect();
    let hashes: Vec<&str> = hashes.iter().map(String::as_str).collect();
    let mut server = TestServer::start(offload_spec(&hashes)).await;
    let plain = server.offload_addr.expect("the offload listener");
    let (haproxy, front) = haproxy(&dir, HaProxyMode::Offload, plain, Some(off.pem.clone()));
    wait_up(&haproxy).await;
    let (tun, mut device) = client_tun("cli0");
    let connect = client(front, off.ca_file.clone()).connect_with(tun, System::none());
    let result = match within("the connect through the offloader", connect).await {
        Ok(mut tunnel) => {
            let (up, _) = up_info(&mut tunnel).await;
            exchange_v4(&mut server, &mut device, &up, b"offloaded").await;
            // TLS ended at the offloader: the listing says so.
            let listed = server
                .handle
                .sessions(&sstp_server::SessionFilter::default())
                .await;
            assert_eq!(listed.len(), 1, "{listed:?}");
            assert_eq!(listed[0].tls_version, None, "{listed:?}");
            within("the disconnect", tunnel.disconnect())
                .await
                .expect("clean");
            let lines = logs.lines_with(&["session up", want]);
            lines
                .first()
                .cloned()
                .ok_or_else(|| format!("no session up with {want}:\n{}", logs.text()))
        }
        Err(e) => {
            // The server's `session end` line may come a moment after the
            // client's error.
            server.wait_idle().await;
            for _ in 0..50 {
                if !logs.lines_with(&["session end"]).is_empty() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(format!("{e}\n{}", logs.text()))
        }
    };
    server.wait_idle().await;
    drop(haproxy);
    server.shutdown().await;
    drop(off.pki);
    result
}

#[tokio::test(flavor = "current_thread")]
async fn tls_offload_verifies_the_binding_against_the_configured_hash() {
    if skip() {
        return;
    }
    let line = offload_session(&["real-sha256"], "binding=\"sha256\"")
        .await
        .expect("a session through the offloader");
    assert!(
        line.contains("peer=127.0.0.1:") && line.contains("balancer=127.0.0.3:"),
        "{line}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn tls_offload_rollover_either_hash_and_sha1_alone() {
    if skip() {
        return;
    }
    let old = "11".repeat(32);
    offload_session(&[&old, "real-sha256"], "binding=\"sha256\"")
        .await
        .expect("the new certificate during a rollover");
    // Only a SHA-1 hash: the server offers SHA-1 alone, the client uses it.
    offload_session(&["real-sha1"], "binding=\"sha1\"")
        .await
        .expect("a SHA-1 binding");
}

#[tokio::test(flavor = "current_thread")]
async fn tls_offload_with_a_wrong_hash_refuses_the_binding() {
    if skip() {
        return;
    }
    let wrong = "22".repeat(32);
    let err = offload_session(&[&wrong], "binding=")
        .await
        .expect_err("the binding is refused");
    assert!(err.contains("certificate hash mismatch"), "{err}");
}

/// `GET /healthz` over `stream`; the status code, or `None` when the
/// server closed instead.
async fn healthz_over(stream: &mut tokio::net::TcpStream) -> Option<u16> {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(&answer);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

/// Without HAProxy: the plain listener's source check, /healthz on it, and a
/// trusted balancer that sends no header in time.
#[tokio::test(flavor = "current_thread")]
async fn the_plain_listener_takes_only_its_sources_and_a_silent_balancer_times_out() {
    let (logs, _guard) = capture();
    let spec = proxy_spec(&format!(
        "[offload]\nlisten = [\"127.0.0.1:0\"]\ncertificate_hashes = [\"{}\"]\nsources = [\"127.0.0.2/32\"]\n",
        "ab".repeat(32)
    ));
    let server = TestServer::start(spec).await;
    let plain = server.offload_addr.expect("the offload listener");

    // An allowed source without a header is served as it is.
    let mut allowed = connect_from(Ipv4Addr::new(127, 0, 0, 2), plain).await;
    assert_eq!(healthz_over(&mut allowed).await, Some(200));
    // A trusted balancer's LOCAL header, then the same check.
    let mut local = connect_from(BALANCER, plain).await;
    let mut header = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    header.extend_from_slice(&[0x20, 0x00, 0x00, 0x00]);
    local.write_all(&header).await.expect("write");
    assert_eq!(healthz_over(&mut local).await, Some(200));
    // Any other source is refused before a byte is read.
    let mut other = connect_from(Ipv4Addr::LOCALHOST, plain).await;
    assert_eq!(healthz_over(&mut other).await, None);
    server
        .wait_for("the source refusal", |s| {
            s.metric_opt("sstp_rejected_connections_total{reason=\"offload_source\"}") == Some(1.0)
        })
        .await;
    assert!(
        !logs.lines_with(&["offload.sources"]).is_empty(),
        "{}",
        logs.text()
    );

    // A trusted balancer that sends nothing is closed at header_timeout (2 s).
    let mut silent = connect_from(BALANCER, server.addr).await;
    let started = std::time::Instant::now();
    let mut buf = [0u8; 8];
    let read = tokio::time::timeout(Duration::from_secs(10), silent.read(&mut buf)).await;
    assert!(matches!(read, Ok(Ok(0) | Err(_))), "{read:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "closed too early"
    );
    assert!(
        !logs.lines_with(&["no PROXY header in time"]).is_empty(),
        "{}",
        logs.text()
    );
    assert_eq!(
        server.metric("sstp_rejected_connections_total{reason=\"proxy_header\"}"),
        1.0
    );
}

/// Behind a trusted balancer the per-source rate limit counts the client
/// the header names, not the balancer all clients share.
#[tokio::test(flavor = "current_thread")]
async fn the_rate_limit_counts_the_client_behind_the_balancer() {
    let (logs, _guard) = capture();
    let mut spec = proxy_spec(&format!(
        "[offload]\nlisten = [\"127.0.0.1:0\"]\ncertificate_hashes = [\"{}\"]\n",
        "ab".repeat(32)
    ));
    spec.per_source = (0.001, 1);
    let server = TestServer::start(spec).await;
    let plain = server.offload_addr.expect("the offload listener");
    let via_balancer = |client: &'static str| async move {
        let mut stream = connect_from(BALANCER, plain).await;
        let header = format!("PROXY TCP4 {client} 127.0.0.1 40000 443\r\n");
        stream.write_all(header.as_bytes()).await.expect("write");
        healthz_over(&mut stream).await
    };
    assert_eq!(via_balancer("198.51.100.7").await, Some(200));
    // The same client again: over its burst of 1.
    assert_eq!(via_balancer("198.51.100.7").await, None);
    // Another client through the same balancer is not held back.
    assert_eq!(via_balancer("198.51.100.8").await, Some(200));
    assert_eq!(
        server.metric("sstp_rejected_connections_total{reason=\"rate_limited\"}"),
        1.0
    );
    let refused = logs.lines_with(&["per-source rate limit"]);
    assert!(
        refused.len() == 1 && refused[0].contains("peer=198.51.100.7:40000"),
        "{}",
        logs.text()
    );
}
