//! Test peers for the loopback tier, built from sstp-core directly (not the
//! sstp-server crate): an SSTP server (`ServerSession` + tokio-rustls +
//! an rcgen certificate, IP packets to and from a `MemTun`), and from
//! sstp-testkit an HTTP CONNECT proxy and the packet builders. Everything
//! listens on 127.0.0.1 on a port the OS picks.

#![allow(dead_code, unreachable_pub)] // each test uses part of the support; `pub` for the test modules

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sstp_client::Fingerprint;
use sstp_client::dns::RecordingDns;
use sstp_client::routes::RecordingRoutes;
use sstp_core::Session;
use sstp_core::wire::http::{RequestHead, ServerResponse, parse_request_head};
use sstp_core::{
    AddressLease, AuthMethod, CertHashes, CloseReason, Credential, Event, ServerConfig,
    ServerSession,
};
use sstp_tun::{MemTun, MemTunHandle, TunDevice};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub const USER: &str = "alice";
pub const PASSWORD: &str = "correct horse battery";
pub const SERVER_TUN_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const CLIENT_TUN_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
pub const DNS_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 53);
pub const RA_PREFIX: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 7, 0, 0, 0, 0, 0);
/// Every test step finishes well within this; a hang fails instead.
pub const STEP: Duration = Duration::from_secs(20);

fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

/// How the test server behaves.
#[derive(Clone)]
pub struct ServerOptions {
    pub methods: Vec<AuthMethod>,
    pub password: Arc<Mutex<String>>,
    /// Send a Router Advertisement with this /64 once IPv6CP opens.
    pub ra_prefix: Option<Ipv6Addr>,
    /// Instead of SSTP, answer the request with these bytes and hold the
    /// connection open (a broken or hostile server).
    pub raw_reply: Option<Vec<u8>>,
    /// Answer the first this many connections `503 Service Unavailable`
    /// (a full server), then serve.
    pub busy_first: usize,
    /// The MRU the server asks for (RFC 1661 6.1), when not its default.
    pub mru: Option<u16>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            methods: AuthMethod::DEFAULT_SERVER_ORDER.to_vec(),
            password: Arc::new(Mutex::new(PASSWORD.to_owned())),
            ra_prefix: None,
            raw_reply: None,
            busy_first: 0,
            mru: None,
        }
    }
}

/// What the server saw.
#[derive(Default)]
pub struct ServerLog {
    pub connections: AtomicUsize,
    pub authenticated: Mutex<Vec<(String, Option<AuthMethod>)>>,
    pub downs: Mutex<Vec<CloseReason>>,
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub cert_pem: String,
    pub fingerprint: Fingerprint,
    /// The server's TUN: what the client sends arrives here.
    pub tun: MemTunHandle,
    pub log: Arc<ServerLog>,
    pub options: ServerOptions,
    kill: watch::Sender<u64>,
    freeze: watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    pub async fn start(options: ServerOptions) -> Self {
        // `RUST_LOG=debug cargo test` shows both ends' logs.
        sstp_testkit::init_tracing();
        let key = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .expect("rcgen certificate");
        let cert_der = key.cert.der().clone();
        let cert_pem = key.cert.pem();
        let key_der =
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.signing_key.serialize_der().into());
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert_der.clone()], key_der)
            .expect("server certificate");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (tun, handle) = MemTun::pair_with(1400, 256, "server");
        let tun = Arc::new(tun);
        let log = Arc::new(ServerLog::default());
        let (kill, _) = watch::channel(0u64);
        let (freeze, _) = watch::channel(0u64);
        let hashes = CertHashes::from_der(&cert_der);
        let task = {
            let log = Arc::clone(&log);
            let kill = kill.clone();
            let freeze = freeze.clone();
            let options = options.clone();
            tokio::spawn(async move {
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        return;
                    };
                    let _ = tcp.set_nodelay(true);
                    let index = log.connections.fetch_add(1, Ordering::SeqCst);
                    let conn = Conn {
                        index,
                        acceptor: acceptor.clone(),
                        tun: Arc::clone(&tun),
                        log: Arc::clone(&log),
                        options: options.clone(),
                        hashes: hashes.clone(),
                        kill: kill.subscribe(),
                        freeze: freeze.subscribe(),
                    };
                    tokio::spawn(conn.run(tcp));
                }
            })
        };
        Self {
            addr,
            cert_pem,
            fingerprint: Fingerprint::of_der(&cert_der),
            tun: handle,
            log,
            options,
            kill,
            freeze,
            task,
        }
    }

    /// Open connections stop reading and writing (a dead peer whose socket
    /// stays open): only keepalives can notice.
    pub fn freeze_connections(&self) {
        self.freeze.send_modify(|n| *n += 1);
    }

    /// `localhost:PORT`, matching the certificate's name.
    pub fn server_addr(&self) -> sstp_client::ServerAddr {
        sstp_client::ServerAddr::new("localhost", self.addr.port())
    }

    /// Drops every open connection's TCP socket, without a word.
    pub fn kill_connections(&self) {
        self.kill.send_modify(|n| *n += 1);
    }

    pub fn connections(&self) -> usize {
        self.log.connections.load(Ordering::SeqCst)
    }

    pub fn set_password(&self, password: &str) {
        *self.options.password.lock().unwrap() = password.to_owned();
    }

    /// Waits for `n` ended sessions and checks each was closed by the
    /// client on purpose: LCP Terminate then SSTP Call Disconnect (the
    /// session reports the LCP Terminate it received), not a dropped socket.
    pub async fn wait_clean_closes(&self, n: usize) {
        for reason in self.wait_downs(n).await {
            let clean = matches!(reason, CloseReason::PeerDisconnected);
            assert!(clean, "not a clean disconnect: {reason:?}");
        }
    }

    /// Waits until the server has recorded `n` ended sessions.
    pub async fn wait_downs(&self, n: usize) -> Vec<CloseReason> {
        tokio::time::timeout(STEP, async {
            loop {
                let downs = self.log.downs.lock().unwrap().clone();
                if downs.len() >= n {
                    return downs;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("server sessions ended")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
        self.kill_connections();
    }
}

struct Conn {
    /// 0 for the first connection.
    index: usize,
    acceptor: tokio_rustls::TlsAcceptor,
    tun: Arc<MemTun>,
    log: Arc<ServerLog>,
    options: ServerOptions,
    hashes: CertHashes,
    kill: watch::Receiver<u64>,
    freeze: watch::Receiver<u64>,
}

impl Conn {
    async fn run(mut self, tcp: TcpStream) {
        let Ok(mut tls) = self.acceptor.accept(tcp).await else {
            return;
        };
        // The HTTP head (MS-SSTP 3.3.4.1), then the 200 OK.
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let consumed = loop {
            let Ok(n) = tls.read(&mut chunk).await else {
                return;
            };
            if n == 0 {
                return;
            }
            buf.extend_from_slice(&chunk[..n]);
            match parse_request_head(&buf) {
                Ok(None) => continue,
                Ok(Some(RequestHead::Sstp(request))) => break request.consumed,
                _ => {
                    let _ = tls
                        .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                        .await;
                    return;
                }
            }
        };
        if self.index < self.options.busy_first {
            let _ = tls
                .write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
                .await;
            let _ = tls.shutdown().await;
            return;
        }
        if let Some(raw) = &self.options.raw_reply {
            if tls.write_all(raw).await.is_ok() {
                let _ = tls.flush().await;
                let _ = self.kill.changed().await;
            }
            return;
        }
        let mut head = Vec::new();
        ServerResponse::new()
            .with_server("sstp-client-tests")
            .expect("header")
            .emit(&mut head);
        if tls.write_all(&head).await.is_err() {
            return;
        }
        let mut config = ServerConfig::default();
        config.auth_methods = self.options.methods.clone();
        if let Some(mru) = self.options.mru {
            config.common.mtu = mru;
            config.common.mru = Some(mru);
        }
        let rng = sstp_testkit::boxed_rng(7);
        let mut session = ServerSession::new(&config, self.hashes.clone(), now(), rng);
        session.handle_input(now(), &buf[consumed..]);
        let mut rbuf = vec![0u8; 64 * 1024];
        let mut tbuf = vec![0u8; 1400];
        let mut tx = Vec::new();
        let mut up = false;
        let mut v6_local = None;
        let _ = self.kill.borrow_and_update();
        let _ = self.freeze.borrow_and_update();
        loop {
            tx.clear();
            if session.poll_transmit(&mut tx) && tls.write_all(&tx).await.is_err() {
                session.transport_closed(now());
            }
            let mut solicited = false;
            while let Some(p) = session.poll_ip() {
                // A Router Solicitation (RFC 4861 4.1) is answered, as a router does.
                solicited |= p.len() > 40 && p[0] >> 4 == 6 && p[6] == 58 && p[40] == 133;
                let _ = self.tun.send(p).await;
            }
            if solicited && let Some(local) = v6_local {
                self.advertise(&mut session, local);
            }
            while let Some(event) = session.poll_event() {
                match event {
                    Event::Authenticate(request) => {
                        let password = self.options.password.lock().unwrap().clone();
                        let verdict = request.verify_with(&Credential::from_password(password));
                        session.auth_complete(now(), verdict);
                    }
                    Event::Authenticated { username, method } => {
                        self.log
                            .authenticated
                            .lock()
                            .unwrap()
                            .push((username, method));
                    }
                    Event::NeedAddresses { .. } => {
                        let lease =
                            AddressLease::new(SERVER_TUN_IP, CLIENT_TUN_IP).with_dns([DNS_IP]);
                        session.assign_addresses(now(), lease);
                    }
                    Event::Up(config) => {
                        up = true;
                        if let Some(v6) = config.ipv6 {
                            v6_local = Some(v6.local);
                            self.advertise(&mut session, v6.local);
                        }
                    }
                    Event::Ipv6Up(v6) => {
                        v6_local = Some(v6.local);
                        self.advertise(&mut session, v6.local);
                    }
                    Event::Down(reason) => {
                        tx.clear();
                        if session.poll_transmit(&mut tx) {
                            let _ = tls.write_all(&tx).await;
                        }
                        let _ = tls.shutdown().await;
                        self.log.downs.lock().unwrap().push(reason);
                        return;
                    }
                    _ => {}
                }
            }
            // Events may have queued bytes (an RA): send them before sleeping.
            tx.clear();
            if session.poll_transmit(&mut tx) && tls.write_all(&tx).await.is_err() {
                session.transport_closed(now());
                continue;
            }
            let deadline = session.poll_timeout().map(tokio::time::Instant::from_std);
            tokio::select! {
                _ = self.freeze.changed() => {
                    // Hold the socket, say nothing, until killed.
                    let _ = self.kill.changed().await;
                    self.log.downs.lock().unwrap().push(CloseReason::TransportClosed);
                    return;
                }
                _ = self.kill.changed() => {
                    // Drop the socket: the client sees the connection vanish.
                    self.log.downs.lock().unwrap().push(CloseReason::TransportClosed);
                    return;
                }
                r = tls.read(&mut rbuf) => match r {
                    Ok(0) | Err(_) => session.transport_closed(now()),
                    Ok(n) => session.handle_input(now(), &rbuf[..n]),
                },
                r = self.tun.recv(&mut tbuf), if up => match r {
                    Ok(n) => { let _ = session.send_ip(&tbuf[..n]); }
                    Err(_) => session.close(now()),
                },
                () = async {
                    match deadline {
                        Some(d) => tokio::time::sleep_until(d).await,
                        None => std::future::pending().await,
                    }
                } => session.handle_timeout(now()),
            }
        }
    }

    /// A Router Advertisement for `ra_prefix` from our link-local address.
    fn advertise(&self, session: &mut ServerSession, router: Ipv6Addr) {
        if let Some(prefix) = self.options.ra_prefix {
            let _ = session.send_ip(&router_advertisement(router, prefix));
        }
    }
}

/// RFC 4861 4.2 Router Advertisement with one Prefix Information option
/// (on-link, autonomous) and one RDNSS option (RFC 8106).
pub fn router_advertisement(router: Ipv6Addr, prefix: Ipv6Addr) -> Vec<u8> {
    let dst = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
    let mut icmp = vec![134, 0, 0, 0, 64, 0];
    icmp.extend_from_slice(&1800u16.to_be_bytes());
    icmp.extend_from_slice(&[0; 8]);
    icmp.extend_from_slice(&[3, 4, 64, 0xc0]);
    icmp.extend_from_slice(&86400u32.to_be_bytes());
    icmp.extend_from_slice(&14400u32.to_be_bytes());
    icmp.extend_from_slice(&[0; 4]);
    icmp.extend_from_slice(&prefix.octets());
    icmp.extend_from_slice(&[25, 3, 0, 0, 0, 0, 0x0e, 0x10]);
    icmp.extend_from_slice(&Ipv6Addr::new(0x2001, 0xdb8, 7, 0, 0, 0, 0, 0x53).octets());
    let sum = sstp_core::wire::icmpv6::checksum(router, dst, &icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    p.extend_from_slice(&[58, 255]);
    p.extend_from_slice(&router.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(&icmp);
    p
}

pub use sstp_testkit::{ipv4, ipv6};

/// Reads from `handle` until a packet satisfies `want`, within [`STEP`].
pub async fn observe_until(handle: &mut MemTunHandle, want: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    sstp_testkit::observe_until(handle, STEP, want).await
}

/// The recording fakes a test hands to the client, and their view.
pub struct Fakes {
    pub routes: RecordingRoutes,
    pub dns: RecordingDns,
}

impl Fakes {
    pub fn new() -> Self {
        Self {
            routes: RecordingRoutes::new(Some(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 1)))),
            dns: RecordingDns::new(),
        }
    }

    pub fn system(&self) -> sstp_client::System {
        sstp_client::System::new(Arc::new(self.routes.clone()), Arc::new(self.dns.clone()))
    }

    pub fn is_restored(&self) -> bool {
        self.routes.routes().is_empty()
            && self.routes.addresses().is_empty()
            && self.dns.current().is_none()
    }
}

// ---------------------------------------------------------------------------
// The CONNECT proxy: requires `SSTPVERSION: 1.0` (MS-SSTP 4.5) and, when
// asked to, Basic credentials.

pub use sstp_testkit::ConnectProxy;
