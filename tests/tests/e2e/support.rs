//! Shared pieces of the end-to-end tests: our `sstp-server` on 127.0.0.1
//! with a `MemTun` (startable again on the same port), a client builder for
//! our `sstp-client` that trusts the CA, and bounded waits so a broken
//! feature fails instead of hanging. The certificate authority and server
//! leaf, the HTTP CONNECT proxy and the IP packet builders come from
//! sstp-testkit.

#![allow(dead_code)] // each test module uses part of the support

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sstp_client::{
    AuthMethod, ClientBuilder, Fingerprint, ProxySetting, ReconnectPolicy, ServerAddr, TlsOptions,
    Tunnel, TunnelEvent,
};
use sstp_server::{
    AuthBackend, Backend, Chain, Config, RadiusBackend, Server, ServerError, ServerHandle,
    StaticUsers, TlsIdentity,
};
use sstp_tun::{MemTun, MemTunHandle};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub(crate) const USER: &str = "alice";
pub(crate) const PASSWORD: &str = "correct horse battery";
/// The users file: a plaintext password serves every method (CHAP-MD5
/// needs it; MS-CHAPv2 derives the NT hash from it).
pub(crate) const USERS: &str = r#"
[users.alice]
password = "correct horse battery"
"#;
/// The server's tunnel address: the first address of the pool.
pub(crate) const SERVER_TUN_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
pub(crate) const DNS_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 53);
pub(crate) const MTU: u16 = 1400;
/// Every step finishes well within this on a loaded 2-core machine; it only
/// turns a hang into a failure (never a speed assertion).
pub(crate) const STEP: Duration = Duration::from_secs(15);

/// Awaits `fut` for at most [`STEP`], naming `what` on a hang.
pub(crate) async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(STEP, fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

pub(crate) use sstp_testkit::init_tracing;

// ---------------------------------------------------------------------------
// Certificates

/// The testkit's CA and `localhost` leaf, with the CA's PEM in a temporary
/// file for the client's `ca_file`.
pub(crate) struct Pki {
    certs: sstp_testkit::Pki,
    pub(crate) ca_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Pki {
    pub(crate) fn new() -> Self {
        let certs = sstp_testkit::Pki::new("sstp-rs e2e CA");
        let dir = tempfile::tempdir().expect("temp dir");
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, &certs.ca_pem).expect("write CA");
        Self {
            certs,
            ca_file,
            _dir: dir,
        }
    }

    pub(crate) fn identity(&self) -> TlsIdentity {
        let (cert, key) = (&self.certs.cert_pem, &self.certs.key_pem);
        TlsIdentity::from_pem(cert.as_bytes(), key.as_bytes()).expect("identity")
    }

    /// The SHA-256 fingerprint of the leaf, as the client computes it.
    pub(crate) fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_der(&self.certs.leaf)
    }
}

// ---------------------------------------------------------------------------
// Server

/// How a test server is configured.
#[derive(Clone)]
pub(crate) struct ServerSpec {
    /// `auth.methods` (names as in the config file).
    pub(crate) methods: Vec<&'static str>,
    /// Give clients an IPv6 /64 from `fd00:77::/48` (IPv6CP + RA).
    pub(crate) ipv6: bool,
    /// `network.ipv4_pool`.
    pub(crate) ipv4_pool: &'static str,
    /// The users file.
    pub(crate) users: &'static str,
    /// `limits.per_source_rate` and `limits.per_source_burst`.
    pub(crate) per_source: (f64, u32),
    /// The body of `[auth.eap_tls]`, if EAP-TLS is on.
    pub(crate) eap_tls: Option<String>,
    /// `auth.backends` and the `[radius]` section (its whole text), for a
    /// server that asks a RADIUS server.
    pub(crate) radius: Option<(&'static str, String)>,
    /// More keys of `[network]`.
    pub(crate) network_extra: &'static str,
    /// Serve `/metrics` and `/healthz` on a port of their own (picked
    /// free), for [`TestServer::healthz`].
    pub(crate) metrics_listener: bool,
    /// More sections, appended (`[proxy_protocol]`, `[offload]`).
    pub(crate) extra: String,
}

impl Default for ServerSpec {
    fn default() -> Self {
        Self {
            methods: vec!["eap-mschapv2", "mschapv2"],
            ipv6: false,
            ipv4_pool: "10.77.0.0/22",
            users: USERS,
            per_source: (10000.0, 10000),
            eap_tls: None,
            radius: None,
            network_extra: "",
            metrics_listener: false,
            extra: String::new(),
        }
    }
}

impl ServerSpec {
    pub(crate) fn config(&self, listen: SocketAddr) -> Config {
        let methods = self
            .methods
            .iter()
            .map(|m| format!("{m:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let ipv6 = if self.ipv6 {
            "ipv6_pool = \"fd00:77::/48\""
        } else {
            ""
        };
        let ipv4_pool = self.ipv4_pool;
        let (rate, burst) = self.per_source;
        let text = format!(
            r#"
            listen = ["{listen}"]
            [http]
            # The client tests read counters through the handle; a fixed
            # metrics port would clash between servers running at once.
            {metrics}
            [network]
            ipv4_pool = "{ipv4_pool}"
            {ipv6}
            dns = ["{DNS_IP}"]
            ra_interval = "1h"
            {network_extra}
            [auth]
            methods = [{methods}]
            {backends}
            [limits]
            max_sessions = 100
            max_unauthenticated = 100
            per_source_rate = {rate:?}
            per_source_burst = {burst}
            tls_handshake_timeout = "15s"
            http_head_timeout = "15s"
            negotiation_timeout = "30s"
            shutdown_grace = "3s"
            {eap_tls}
            {radius}
            {extra}
            "#,
            extra = self.extra,
            backends = self
                .radius
                .as_ref()
                .map_or_else(String::new, |(backends, _)| format!(
                    "backends = {backends}"
                )),
            radius = self.radius.as_ref().map_or("", |(_, text)| text.as_str()),
            network_extra = self.network_extra,
            metrics = if self.metrics_listener {
                "metrics_listen = \"127.0.0.1:0\""
            } else {
                "metrics = false"
            },
            eap_tls = self
                .eap_tls
                .as_ref()
                .map_or_else(String::new, |body| format!("[auth.eap_tls]\n{body}")),
        );
        let config = Config::from_toml(&text).expect("test config");
        config.validate().expect("valid test config");
        config
    }
}

/// Our server on 127.0.0.1 with an in-memory TUN.
pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    /// Where Disconnect and CoA requests go (`[radius.dae]`).
    pub(crate) dae: Option<SocketAddr>,
    /// The plain-HTTP `/metrics` and `/healthz` listener, if on.
    pub(crate) metrics_addr: Option<SocketAddr>,
    /// The first `offload.listen` address, if any.
    pub(crate) offload_addr: Option<SocketAddr>,
    pub(crate) handle: ServerHandle,
    /// The server's TUN seen from the "OS": what clients send arrives here;
    /// what is injected here is routed to the clients.
    pub(crate) tun: MemTunHandle,
    pub(crate) pki: Arc<Pki>,
    /// The RADIUS backend, if `[radius]` is set (for reloads).
    pub(crate) radius: Option<Arc<RadiusBackend>>,
    spec: ServerSpec,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServerError>>>,
}

impl TestServer {
    pub(crate) async fn start(spec: ServerSpec) -> Self {
        init_tracing();
        let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        Self::start_on(spec, listen, Arc::new(Pki::new())).await
    }

    async fn start_on(spec: ServerSpec, listen: SocketAddr, pki: Arc<Pki>) -> Self {
        let config = spec.config(listen);
        let (tun, handle) = MemTun::pair_with(config.tun.mtu, 4096, "srv0");
        let users = Arc::new(StaticUsers::from_toml(spec.users).expect("users"));
        let (fixed4, fixed6) = users.fixed_addresses();
        let radius = match &config.radius {
            Some(settings) => Some(Arc::new(
                RadiusBackend::start(settings, &config.listen)
                    .await
                    .expect("the RADIUS backend"),
            )),
            None => None,
        };
        let auth: Arc<dyn AuthBackend> = match &radius {
            Some(radius) if config.backends() == [Backend::Users, Backend::Radius] => {
                Arc::new(Chain::new(vec![users, radius.clone()]))
            }
            Some(radius) if config.backends() == [Backend::Radius, Backend::Users] => {
                Arc::new(Chain::new(vec![radius.clone(), users]))
            }
            Some(radius) if config.backends() == [Backend::Radius] => radius.clone(),
            _ => users,
        };
        let mut server = Server::bind(config, pki.identity(), tun, auth)
            .await
            .expect("bind the server");
        if let Some(radius) = &radius {
            server = server.with_radius(radius);
        }
        // As the sstp-server binary does.
        let unusable = server.handle().reserve_fixed_addresses(fixed4, fixed6);
        assert!(unusable.is_empty(), "{unusable:?}");
        let addr = server.local_addrs()[0];
        let dae = server.dae_addr();
        let metrics_addr = server.metrics_addr();
        let offload_addr = server.offload_addrs().first().copied();
        let server_handle = server.handle();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            dae,
            metrics_addr,
            offload_addr,
            handle: server_handle,
            tun: handle,
            pki,
            radius,
            spec,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Graceful shutdown (every session gets LCP Terminate and SSTP Call
    /// Disconnect); waits for `run` to return.
    pub(crate) async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            within("the server to shut down", task)
                .await
                .expect("server task")
                .expect("server run");
        }
    }

    /// Shuts down, then starts a new server on the same port with the same
    /// certificate (a server restart as a client sees it).
    pub(crate) async fn restart(&mut self) {
        self.shutdown().await;
        let next = Self::start_on(self.spec.clone(), self.addr, Arc::clone(&self.pki)).await;
        *self = next;
    }

    /// A client for this server: trusts the CA file, direct (no proxy from
    /// the environment), no reconnect unless the test says so.
    pub(crate) fn client(&self) -> ClientBuilder {
        ClientBuilder::new(ServerAddr::new("127.0.0.1", self.addr.port()))
            .password(USER, PASSWORD)
            .tls(TlsOptions {
                ca_file: Some(self.pki.ca_file.clone()),
                ..TlsOptions::default()
            })
            .proxy(ProxySetting::Direct)
            .reconnect(ReconnectPolicy::disabled())
    }

    pub(crate) fn client_with(&self, methods: &[AuthMethod]) -> ClientBuilder {
        self.client().auth_methods(methods.iter().copied())
    }

    /// The value of one metric series (`name{labels}` as printed).
    pub(crate) fn metric(&self, series: &str) -> f64 {
        self.metric_opt(series)
            .unwrap_or_else(|| panic!("no metric {series} in\n{}", self.handle.metrics_text()))
    }

    /// Like [`metric`](Self::metric), `None` when the series was never
    /// used (labelled series appear on first use).
    pub(crate) fn metric_opt(&self, series: &str) -> Option<f64> {
        sstp_testkit::metric(&self.handle.metrics_text(), series)
    }

    /// The status code of `GET /healthz` on the metrics listener.
    pub(crate) async fn healthz(&self) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.metrics_addr.expect("ServerSpec::metrics_listener");
        let mut tcp = within("the health check", tokio::net::TcpStream::connect(addr))
            .await
            .expect("connect");
        tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        let mut answer = Vec::new();
        within("the health answer", tcp.read_to_end(&mut answer))
            .await
            .expect("read");
        let text = String::from_utf8_lossy(&answer);
        text.split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer: {text}"))
    }

    /// Waits until `cond` holds (polling), or panics naming `what`.
    pub(crate) async fn wait_for(&self, what: &str, cond: impl Fn(&Self) -> bool) {
        within(what, async {
            while !cond(self) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
    }

    /// Waits until no session is up and no address is leased.
    pub(crate) async fn wait_idle(&self) {
        self.wait_for("the server to free every session and lease", |s| {
            s.handle.active_sessions() == 0 && s.handle.leases_in_use() == (0, 0)
        })
        .await;
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

// ---------------------------------------------------------------------------
// Client side

/// A client MemTun and its "OS" handle.
pub(crate) fn client_tun(name: &str) -> (MemTun, MemTunHandle) {
    MemTun::pair_with(MTU, 256, name)
}

/// The next tunnel event, printed so a failing test shows the sequence.
pub(crate) async fn next_event(tunnel: &mut Tunnel) -> TunnelEvent {
    let event = within("a tunnel event", tunnel.next_event())
        .await
        .expect("the event stream is open");
    println!("event: {event:?}");
    event
}

/// Reads events until `pick` returns something; every event read is kept.
pub(crate) async fn wait_event<T>(
    tunnel: &mut Tunnel,
    seen: &mut Vec<TunnelEvent>,
    mut pick: impl FnMut(&TunnelEvent) -> Option<T>,
) -> T {
    loop {
        let event = next_event(tunnel).await;
        let got = pick(&event);
        seen.push(event);
        if let Some(got) = got {
            return got;
        }
    }
}

/// Reads from `handle` until a packet satisfies `want`, within [`STEP`].
pub(crate) async fn observe_until(
    handle: &mut MemTunHandle,
    want: impl Fn(&[u8]) -> bool,
) -> Vec<u8> {
    sstp_testkit::observe_until(handle, STEP, want).await
}

// ---------------------------------------------------------------------------
// Packets

pub(crate) use sstp_testkit::{addresses, ipv4, ipv6};

/// Whether `p` ends with `payload` (our test packets carry a marker).
pub(crate) fn carries(p: &[u8], payload: &[u8]) -> bool {
    p.ends_with(payload)
}

// ---------------------------------------------------------------------------
// The CONNECT proxy (MS-SSTP 4.5): loopback targets only, no credentials.

pub(crate) use sstp_testkit::ConnectProxy;

/// A client CA made in `dir` by the server's own tooling (`sstp-server ca
/// init`), and `USER`'s certificate from it, with a PKCS#12 bundle under
/// `p12_password` if one is given.
pub(crate) fn client_ca(
    dir: &std::path::Path,
    p12_password: Option<&str>,
) -> sstp_server::ca::Issued {
    sstp_server::ca::init(dir, "e2e client CA", 365, false).expect("ca init");
    sstp_server::ca::issue(
        dir,
        &sstp_server::ca::IssueRequest {
            name: USER.to_owned(),
            email: None,
            days: 30,
            out_dir: dir.join("issued"),
            pkcs12_password: p12_password.map(str::to_owned),
        },
    )
    .expect("issue")
}
