//! Test support for the loopback tier: a server on 127.0.0.1 port 0 with a
//! `MemTun` and certificates from sstp-testkit, an SSTP client driven by the
//! sstp-core `ClientSession` over tokio-rustls, and raw TLS helpers for bad
//! peers. Packet builders and logs come from sstp-testkit.

#![allow(dead_code, unreachable_pub)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::{CertificateDer, ServerName};
use sstp_core::Session;
use sstp_core::wire::http::{ClientRequest, Guid, parse_response_head};
use sstp_core::{
    AuthMethod, CertHashes, ClientConfig, ClientSession, CloseReason, Credential, Event,
    Ipv6Config, NetConfig, SessionStats,
};
use sstp_server::{Config, Server, ServerError, ServerHandle, StaticUsers, TlsIdentity};
use sstp_testkit::init_tracing;
use sstp_tun::{MemTun, MemTunHandle};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

pub const USER: &str = "alice";
pub const PASSWORD: &str = "correct horse";
/// A user with fixed addresses.
pub const FIXED_USER: &str = "carol";
pub const FIXED_PASSWORD: &str = "carol's secret";
pub const FIXED_V4: Ipv4Addr = Ipv4Addr::new(10, 77, 3, 200);
pub const FIXED_V6: &str = "fd00:77:0:ff::/64";
/// A generous bound for anything that should happen "soon".
pub const STEP: Duration = Duration::from_secs(10);

pub const USERS: &str = r#"
[users.alice]
password = "correct horse"
[users.carol]
password = "carol's secret"
ipv4 = "10.77.3.200"
ipv6_prefix = "fd00:77:0:ff::/64"
"#;

// ---------------------------------------------------------------------------
// Certificates

pub use sstp_testkit::Pki;

/// The server identity of a [`Pki`]'s leaf.
pub trait Identity {
    fn identity(&self) -> TlsIdentity;
}

impl Identity for Pki {
    fn identity(&self) -> TlsIdentity {
        TlsIdentity::from_pem(self.cert_pem.as_bytes(), self.key_pem.as_bytes()).expect("identity")
    }
}

// ---------------------------------------------------------------------------
// Server

pub struct TestServer {
    pub addr: SocketAddr,
    pub local_addrs: Vec<SocketAddr>,
    /// Where `/metrics` is served (plain HTTP), if it is.
    pub metrics_addr: Option<SocketAddr>,
    pub handle: ServerHandle,
    pub tun: MemTunHandle,
    pub pki: Pki,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServerError>>>,
}

/// The configuration tests start from: loopback, pools large enough for a
/// few hundred clients, generous rate limits (every test client comes from
/// 127.0.0.1), and timeouts long enough for a loaded 2-core CI machine;
/// tests of the timeouts themselves shorten the one they test.
pub fn test_config() -> Config {
    let config = Config::from_toml(
        r#"
        listen = ["127.0.0.1:0"]
        [http]
        metrics_listen = "127.0.0.1:0"
        [network]
        ipv4_pool = "10.77.0.0/22"
        ipv6_pool = "fd00:77::/48"
        dns = ["10.77.0.1"]
        ra_interval = "1h"
        [limits]
        max_sessions = 1000
        max_unauthenticated = 1000
        per_source_rate = 100000.0
        per_source_burst = 100000
        tls_handshake_timeout = "15s"
        http_head_timeout = "15s"
        negotiation_timeout = "30s"
        shutdown_grace = "3s"
        "#,
    )
    .expect("test config");
    config.validate().expect("valid test config");
    config
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(test_config()).await
    }

    pub async fn start_with(config: Config) -> Self {
        let tun_mtu = config.tun.mtu;
        Self::start_with_tun_mtu(config, tun_mtu).await
    }

    /// Like `start_with`, with this users file.
    pub async fn start_with_users(config: Config, users: &str) -> Self {
        let tun_mtu = config.tun.mtu;
        Self::start_full(config, tun_mtu, users).await
    }

    /// Like `start_with`, with an in-memory TUN whose MTU differs from the
    /// one the server was configured with (to make TUN writes fail).
    pub async fn start_with_tun_mtu(config: Config, tun_mtu: u16) -> Self {
        Self::start_full(config, tun_mtu, USERS).await
    }

    async fn start_full(config: Config, tun_mtu: u16, users: &str) -> Self {
        init_tracing();
        let pki = Pki::new("sstp-rs test CA");
        let (tun, handle) = MemTun::pair_with(tun_mtu, 4096, "memtun");
        let users = Arc::new(StaticUsers::from_toml(users).expect("users"));
        let server = Server::bind(config, pki.identity(), tun, users.clone())
            .await
            .expect("bind");
        let server_handle = server.handle();
        let (v4, v6) = users.fixed_addresses();
        assert!(server_handle.reserve_fixed_addresses(v4, v6).is_empty());
        let local_addrs = server.local_addrs().to_vec();
        let metrics_addr = server.metrics_addr();
        let addr = local_addrs[0];
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            local_addrs,
            metrics_addr,
            handle: server_handle,
            tun: handle,
            pki,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn client(&self) -> ClientOptions {
        ClientOptions::new(self.addr, self.pki.ca.clone())
    }

    /// A client for carol, the user with fixed addresses.
    pub fn carol(&self) -> ClientOptions {
        self.client().user(FIXED_USER, FIXED_PASSWORD)
    }

    /// Graceful shutdown; waits for `run` to return.
    pub async fn shutdown(&mut self) -> Result<(), ServerError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.take().expect("running");
        timeout(Duration::from_secs(20), task)
            .await
            .expect("shutdown within the grace period")
            .expect("server task")
    }

    /// The value of one metric line (`name{labels}` as printed).
    pub fn metric(&self, series: &str) -> f64 {
        metric_value(&self.handle.metrics_text(), series)
    }

    /// Waits until `cond` holds (polling), or panics with `what`.
    pub async fn wait_for(&self, what: &str, mut cond: impl FnMut(&Self) -> bool) {
        let end = Instant::now() + STEP;
        while !cond(self) {
            assert!(Instant::now() < end, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The next packet the server wrote to its TUN.
    pub async fn observe(&mut self) -> Vec<u8> {
        timeout(STEP, self.tun.observe())
            .await
            .expect("a packet on the TUN in time")
            .expect("TUN open")
    }
}

pub fn metric_value(text: &str, series: &str) -> f64 {
    sstp_testkit::metric(text, series).unwrap_or_else(|| panic!("no metric {series} in\n{text}"))
}

// ---------------------------------------------------------------------------
// TLS and raw peers

/// TLS versions a test client offers.
pub type Versions = &'static [&'static rustls::SupportedProtocolVersion];
pub const TLS12_ONLY: Versions = &[&rustls::version::TLS12];
pub const TLS13_AND_12: Versions = &[&rustls::version::TLS13, &rustls::version::TLS12];

pub fn tls_connector(ca: &CertificateDer<'static>, versions: Versions) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone()).expect("CA");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// TCP + TLS to the server, trusting `ca`.
pub async fn tls_connect(
    addr: SocketAddr,
    ca: &CertificateDer<'static>,
) -> std::io::Result<TlsStream<TcpStream>> {
    tls_connect_with(addr, ca, TLS13_AND_12).await
}

/// Like [`tls_connect`], offering only `versions`.
pub async fn tls_connect_with(
    addr: SocketAddr,
    ca: &CertificateDer<'static>,
    versions: Versions,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let name = ServerName::try_from("localhost").expect("name");
    tls_connector(ca, versions).connect(name, tcp).await
}

/// The SSTP request head.
pub fn sstp_request() -> Vec<u8> {
    let mut out = Vec::new();
    ClientRequest::new("localhost", Guid::from_random([0x5a; 16]))
        .expect("request")
        .emit(&mut out);
    out
}

/// Reads until EOF or `limit`; returns what came and whether EOF was seen.
pub async fn read_until_closed<S: AsyncRead + Unpin>(
    stream: &mut S,
    limit: Duration,
) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let end = Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(end, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (out, true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (out, false),
        }
    }
}

/// A plain HTTP request over TLS on the SSTP port; the whole response.
pub async fn http_request(server: &TestServer, request: &str) -> String {
    let mut tls = tls_connect(server.addr, &server.pki.ca).await.expect("TLS");
    tls.write_all(request.as_bytes()).await.expect("write");
    let (bytes, closed) = read_until_closed(&mut tls, STEP).await;
    assert!(closed, "the server closes a plain HTTP exchange");
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A plain-HTTP request (no TLS) to `addr`; the whole response.
pub async fn plain_http_request(addr: SocketAddr, request: &str) -> String {
    let mut tcp = TcpStream::connect(addr).await.expect("TCP");
    tcp.write_all(request.as_bytes()).await.expect("write");
    let (bytes, closed) = read_until_closed(&mut tcp, STEP).await;
    assert!(closed, "the server closes a plain HTTP exchange");
    String::from_utf8_lossy(&bytes).into_owned()
}

// ---------------------------------------------------------------------------
// The SSTP test client

#[derive(Clone)]
pub struct ClientOptions {
    pub addr: SocketAddr,
    pub ca: CertificateDer<'static>,
    pub user: String,
    pub password: String,
    pub methods: Vec<AuthMethod>,
    pub ipv6: bool,
    /// Raw bytes sent right after the HTTP head, before the session's own
    /// first bytes (to play a client that breaks the rules).
    pub inject_after_head: Vec<u8>,
    /// TLS versions offered.
    pub tls_versions: Versions,
    /// EAP-TLS: the client certificate and the check of the server's.
    pub eap_tls: Option<sstp_core::EapTlsClientConfig>,
}

impl ClientOptions {
    pub fn new(addr: SocketAddr, ca: CertificateDer<'static>) -> Self {
        Self {
            addr,
            ca,
            user: USER.to_owned(),
            password: PASSWORD.to_owned(),
            methods: vec![AuthMethod::EapMsChapV2, AuthMethod::MsChapV2],
            ipv6: true,
            inject_after_head: Vec::new(),
            tls_versions: TLS13_AND_12,
            eap_tls: None,
        }
    }

    pub fn user(mut self, user: &str, password: &str) -> Self {
        self.user = user.to_owned();
        self.password = password.to_owned();
        self
    }

    pub fn methods(mut self, methods: &[AuthMethod]) -> Self {
        self.methods = methods.to_vec();
        self
    }

    pub async fn connect(&self) -> Result<TestClient, String> {
        TestClient::connect(self).await
    }
}

enum Cmd {
    SendIp(Vec<u8>),
    /// Several packets in one TLS write.
    SendBurst(Vec<Vec<u8>>),
    Close,
    /// From now on read but ignore everything (a client that hung).
    Mute,
}

/// How the client's session ended.
#[derive(Debug)]
pub struct ClientEnd {
    pub reason: Option<CloseReason>,
    /// SSTP control message types the server sent, in order.
    pub control_types: Vec<u16>,
    pub stats: SessionStats,
}

impl ClientEnd {
    pub fn saw_call_disconnect(&self) -> bool {
        self.control_types.contains(&0x0006)
    }
}

/// A connected client (its session is up).
pub struct TestClient {
    pub net: NetConfig,
    pub ipv4: Ipv4Addr,
    ipv6: watch::Receiver<Option<Ipv6Config>>,
    cmd: mpsc::UnboundedSender<Cmd>,
    received: mpsc::UnboundedReceiver<Vec<u8>>,
    /// Router Advertisements, kept apart from the other packets.
    ras: mpsc::UnboundedReceiver<Vec<u8>>,
    task: JoinHandle<ClientEnd>,
}

impl TestClient {
    async fn connect(opts: &ClientOptions) -> Result<Self, String> {
        let mut tls = tls_connect_with(opts.addr, &opts.ca, opts.tls_versions)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        let cert = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first().cloned())
            .ok_or("no peer certificate")?;
        let mut head = sstp_request();
        head.extend_from_slice(&opts.inject_after_head);
        tls.write_all(&head)
            .await
            .map_err(|e| format!("write: {e}"))?;
        // The response head, and whatever SSTP bytes followed it.
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let leftover = loop {
            match parse_response_head(&buf) {
                Ok(Some(resp)) => break buf[resp.consumed..].to_vec(),
                Ok(None) => {}
                Err(e) => return Err(format!("HTTP: {e}")),
            }
            let n = timeout(STEP, tls.read(&mut chunk))
                .await
                .map_err(|_| "HTTP response timed out")?
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err(format!(
                    "closed before the HTTP response: {:?}",
                    String::from_utf8_lossy(&buf)
                ));
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let mut config = ClientConfig::new(
            opts.user.clone(),
            Credential::from_password(opts.password.clone()),
        );
        config.auth_methods.clone_from(&opts.methods);
        config.auth.eap_tls.clone_from(&opts.eap_tls);
        config.common.ipv6 = opts.ipv6;
        let rng: rand::rngs::StdRng = rand::make_rng();
        let at = Instant::now().into_std();
        let mut session =
            ClientSession::new(&config, CertHashes::from_der(&cert), at, Box::new(rng));
        sstp_tun::drive::set_wall_clock(&mut session, at);
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ip_tx, ip_rx) = mpsc::unbounded_channel();
        let (ra_tx, ra_rx) = mpsc::unbounded_channel();
        let (up_tx, up_rx) = oneshot::channel();
        let (v6_tx, v6_rx) = watch::channel(None);
        let task = tokio::spawn(drive(
            session, tls, leftover, cmd_rx, ip_tx, ra_tx, up_tx, v6_tx,
        ));
        match timeout(STEP, up_rx).await {
            Ok(Ok(net)) => Ok(Self {
                ipv4: net.ipv4.local,
                net,
                ipv6: v6_rx,
                cmd: cmd_tx,
                received: ip_rx,
                ras: ra_rx,
                task,
            }),
            Ok(Err(_)) => {
                let end = task.await.map_err(|e| e.to_string())?;
                Err(format!("session ended: {:?}", end.reason))
            }
            Err(_) => {
                task.abort();
                Err("session did not come up in time".into())
            }
        }
    }

    pub fn send(&self, packet: Vec<u8>) {
        let _ = self.cmd.send(Cmd::SendIp(packet));
    }

    /// Sends `packets` in one TLS write, so the server reads them together.
    pub fn send_burst(&self, packets: Vec<Vec<u8>>) {
        let _ = self.cmd.send(Cmd::SendBurst(packets));
    }

    pub async fn recv(&mut self) -> Vec<u8> {
        timeout(STEP, self.received.recv())
            .await
            .expect("a packet at the client in time")
            .expect("client running")
    }

    /// The next Router Advertisement the server sent.
    pub async fn recv_ra(&mut self) -> Vec<u8> {
        timeout(STEP, self.ras.recv())
            .await
            .expect("a Router Advertisement in time")
            .expect("client running")
    }

    pub fn try_recv(&mut self) -> Option<Vec<u8>> {
        self.received.try_recv().ok()
    }

    /// Waits for IPv6CP.
    pub async fn ipv6(&mut self) -> Ipv6Config {
        let got = timeout(STEP, self.ipv6.wait_for(Option::is_some))
            .await
            .expect("IPv6 up in time")
            .expect("client running");
        got.expect("checked")
    }

    /// Graceful close; waits for the end.
    pub async fn close(self) -> ClientEnd {
        let _ = self.cmd.send(Cmd::Close);
        timeout(STEP, self.task)
            .await
            .expect("client closes in time")
            .expect("client task")
    }

    /// Waits for the session to end by itself (e.g. the server closed it).
    pub async fn ended(self) -> ClientEnd {
        timeout(STEP, self.task)
            .await
            .expect("client ends in time")
            .expect("client task")
    }

    /// The client hangs: it keeps its connection and reads, but answers
    /// nothing from now on.
    pub fn mute(&self) {
        let _ = self.cmd.send(Cmd::Mute);
    }

    /// Drops the TCP connection without a word.
    pub fn abort(self) {
        self.task.abort();
    }
}

#[allow(clippy::too_many_arguments)]
async fn drive(
    mut session: ClientSession,
    tls: TlsStream<TcpStream>,
    leftover: Vec<u8>,
    mut cmd: mpsc::UnboundedReceiver<Cmd>,
    ip: mpsc::UnboundedSender<Vec<u8>>,
    ras: mpsc::UnboundedSender<Vec<u8>>,
    up: oneshot::Sender<NetConfig>,
    v6: watch::Sender<Option<Ipv6Config>>,
) -> ClientEnd {
    let (mut rd, wr) = tokio::io::split(tls);
    let (out_tx, out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let writer = tokio::spawn(write_loop(wr, out_rx));
    let mut scanner = ControlScanner::default();
    let mut up = Some(up);
    let mut reason = None;
    let now = || Instant::now().into_std();
    // Whole SSTP packets one at a time (see `feed`).
    scanner.feed(&leftover);
    feed(&mut session, &leftover);
    let mut buf = vec![0u8; 32 * 1024];
    let mut muted = false;
    loop {
        while let Some(event) = session.poll_event() {
            match event {
                Event::Up(net) => {
                    if let Some(v) = net.ipv6 {
                        let _ = v6.send(Some(v));
                    }
                    if let Some(up) = up.take() {
                        let _ = up.send(net);
                    }
                }
                Event::Ipv6Up(config) => {
                    let _ = v6.send(Some(config));
                }
                Event::Down(r) => reason = Some(r),
                _ => {}
            }
        }
        while let Some(p) = session.poll_ip() {
            let is_ra = p.len() > 40 && p[0] >> 4 == 6 && p[6] == 58 && p[40] == 134;
            let _ = if is_ra { &ras } else { &ip }.send(p.to_vec());
        }
        let mut out = Vec::new();
        if session.poll_transmit(&mut out) {
            let _ = out_tx.send(out);
        }
        if reason.is_some() {
            break;
        }
        let far = Instant::now() + Duration::from_secs(3600);
        let deadline = session.poll_timeout().map(Instant::from_std);
        tokio::select! {
            read = rd.read(&mut buf) => match read {
                Ok(0) | Err(_) => session.transport_closed(now()),
                Ok(n) => {
                    scanner.feed(&buf[..n]);
                    if !muted {
                        feed(&mut session, &buf[..n]);
                    }
                }
            },
            c = cmd.recv() => match c {
                Some(Cmd::SendIp(p)) => {
                    if let Err(e) = session.send_ip(&p) {
                        panic!("client could not send: {e}");
                    }
                }
                Some(Cmd::SendBurst(packets)) => {
                    for p in packets {
                        if let Err(e) = session.send_ip(&p) {
                            panic!("client could not send: {e}");
                        }
                    }
                }
                Some(Cmd::Close) => session.close(now()),
                Some(Cmd::Mute) => muted = true,
                None => session.transport_closed(now()),
            },
            () = tokio::time::sleep_until(deadline.unwrap_or(far)), if deadline.is_some() => {
                session.handle_timeout(now());
            }
        }
    }
    drop(out_tx);
    let _ = timeout(Duration::from_secs(2), writer).await;
    ClientEnd {
        reason,
        control_types: scanner.types,
        stats: session.stats(),
    }
}

fn feed(session: &mut ClientSession, input: &[u8]) {
    session.handle_input(Instant::now().into_std(), input);
}

async fn write_loop<W: AsyncWrite + Unpin>(mut wr: W, mut rx: mpsc::UnboundedReceiver<Vec<u8>>) {
    while let Some(bytes) = rx.recv().await {
        if wr.write_all(&bytes).await.is_err() || wr.flush().await.is_err() {
            return;
        }
    }
    let _ = wr.shutdown().await;
}

/// Records the SSTP control message types in a byte stream.
#[derive(Default)]
struct ControlScanner {
    pending: Vec<u8>,
    types: Vec<u16>,
    broken: bool,
}

impl ControlScanner {
    /// Cuts whole packets by their header (MS-SSTP 2.2.1: version 0x10,
    /// the C bit, a 12-bit length that counts the header) and notes the
    /// Message Type of each control packet (2.2.2).
    fn feed(&mut self, input: &[u8]) {
        self.pending.extend_from_slice(input);
        while !self.broken && self.pending.len() >= 4 {
            let p = &self.pending;
            let len = usize::from(u16::from_be_bytes([p[2], p[3]]) & 0x0FFF);
            if p[0] != 0x10 || len < 4 {
                self.broken = true;
                break;
            }
            if p.len() < len {
                break;
            }
            if len >= 6 && p[1] & 1 == 1 {
                self.types.push(u16::from_be_bytes([p[4], p[5]]));
            }
            self.pending.drain(..len);
        }
    }
}

// ---------------------------------------------------------------------------
// Packets

pub use sstp_testkit::{ipv4, ipv6};

pub fn destination(packet: &[u8]) -> IpAddr {
    sstp_testkit::addresses(packet).expect("an IP packet").1
}

/// A remote host "in the lab" (documentation range).
pub const LAB_HOST: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
