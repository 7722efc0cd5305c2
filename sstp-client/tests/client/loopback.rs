//! Loopback tier: the client library against a test server built from
//! sstp-core (tests/support), over real TLS on 127.0.0.1, with in-memory
//! TUN devices and the Recording route/DNS fakes. No root needed.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::support::*;
use sstp_client::routes::RouteOp;
use sstp_client::{
    AuthMethod, CertificateError, ClientBuilder, Error, ErrorKind, Fingerprint, HttpProxy,
    Keepalive, ProxyError, ProxySetting, ReconnectPolicy, RouteMode, TlsOptions, Tunnel,
    TunnelEvent, TunnelOptions, UpInfo,
};
use sstp_tun::{MemTun, MemTunHandle};

/// A client for `server` that trusts its certificate by pin, and never
/// reconnects unless a test says so.
pub(crate) fn client(server: &TestServer) -> ClientBuilder {
    let tls = TlsOptions {
        pins: vec![server.fingerprint],
        ..TlsOptions::default()
    };
    ClientBuilder::new(server.server_addr())
        .password(USER, PASSWORD)
        .tls(tls)
        .proxy(ProxySetting::Direct)
        .reconnect(ReconnectPolicy::disabled())
}

pub(crate) async fn next_event(tunnel: &mut Tunnel) -> TunnelEvent {
    let event = tokio::time::timeout(STEP, tunnel.next_event())
        .await
        .expect("an event in time")
        .expect("the event stream is open");
    // Shown when a test fails.
    println!("event: {event:?}");
    event
}

/// Reads events until one matches; returns it.
pub(crate) async fn event_until<T>(
    tunnel: &mut Tunnel,
    mut pick: impl FnMut(TunnelEvent) -> Option<T>,
) -> T {
    loop {
        if let Some(t) = pick(next_event(tunnel).await) {
            return t;
        }
    }
}

pub(crate) async fn up_info(tunnel: &mut Tunnel) -> UpInfo {
    event_until(tunnel, |e| match e {
        TunnelEvent::Up(info) => Some(info),
        _ => None,
    })
    .await
}

/// One packet each way through the tunnel.
async fn ping_ipv4(client_os: &mut MemTunHandle, server: &mut TestServer) {
    let up = ipv4(CLIENT_TUN_IP, SERVER_TUN_IP, b"ping");
    client_os.inject(&up).await.unwrap();
    let got = observe_until(&mut server.tun, |p| p[0] >> 4 == 4).await;
    assert_eq!(got, up);
    let down = ipv4(SERVER_TUN_IP, CLIENT_TUN_IP, b"pong");
    server.tun.inject(&down).await.unwrap();
    let got = observe_until(client_os, |p| p[0] >> 4 == 4).await;
    assert_eq!(got, down);
}

#[tokio::test]
async fn every_auth_method_connects_routes_and_restores() {
    for method in [
        AuthMethod::Pap,
        AuthMethod::ChapMd5,
        AuthMethod::MsChapV2,
        AuthMethod::EapMsChapV2,
    ] {
        let mut server = TestServer::start(ServerOptions {
            methods: vec![method],
            ..ServerOptions::default()
        })
        .await;
        let fakes = Fakes::new();
        let (tun, mut os) = MemTun::pair(1400);
        let mut tunnel = client(&server)
            .auth_methods([method])
            .tunnel(TunnelOptions {
                ipv6: false,
                ..TunnelOptions::default()
            })
            .start_with(tun, fakes.system())
            .unwrap();

        let connected = event_until(&mut tunnel, |e| match e {
            TunnelEvent::Connected { fingerprint, .. } => Some(fingerprint),
            _ => None,
        })
        .await;
        assert_eq!(connected, server.fingerprint);
        let used = event_until(&mut tunnel, |e| match e {
            TunnelEvent::Authenticated { method, .. } => Some(method),
            _ => None,
        })
        .await;
        assert_eq!(used, Some(method));
        let up = up_info(&mut tunnel).await;
        assert_eq!(
            (up.local, up.peer),
            (CLIENT_TUN_IP, Some(SERVER_TUN_IP)),
            "{method}"
        );
        assert_eq!(up.dns, [DNS_IP]);
        assert_eq!(up.mtu, 1400);
        assert!(tunnel.is_up());
        // The server is on loopback: no host route is pinned for it.
        assert_eq!(
            up.routes,
            [
                "10.0.0.1/32 dev memtun",
                "0.0.0.0/1 dev memtun",
                "128.0.0.0/1 dev memtun"
            ],
            "{method}"
        );
        assert_eq!(fakes.routes.addresses(), ["memtun 10.0.0.2/32"]);
        let dns = fakes.dns.current().expect("DNS applied");
        assert_eq!(dns.servers, [std::net::IpAddr::from(DNS_IP)]);
        assert!(dns.default_route);
        assert_eq!(
            server.log.authenticated.lock().unwrap().as_slice(),
            [(USER.to_owned(), Some(method))]
        );

        ping_ipv4(&mut os, &mut server).await;
        let stats = tunnel.stats();
        assert_eq!((stats.tx_packets, stats.rx_packets), (1, 1), "{method}");
        assert_eq!(stats.tx_bytes, 24);
        assert!(stats.uptime.is_some());

        tokio::time::timeout(STEP, tunnel.disconnect())
            .await
            .unwrap()
            .unwrap();
        // A clean Call Disconnect reached the server (MS-SSTP 3.2.7.3).
        server.wait_clean_closes(1).await;
        assert!(fakes.is_restored(), "{:?}", fakes.routes.ops());
        assert_eq!(fakes.dns.calls(), (1, 1));
    }
}

#[tokio::test]
async fn ipv6_gets_the_link_local_and_a_slaac_address() {
    let mut server = TestServer::start(ServerOptions {
        ra_prefix: Some(RA_PREFIX),
        ..ServerOptions::default()
    })
    .await;
    let fakes = Fakes::new();
    let (tun, mut os) = MemTun::pair(1400);
    let mut tunnel = client(&server).start_with(tun, fakes.system()).unwrap();
    let (local, peer) = event_until(&mut tunnel, |e| match e {
        TunnelEvent::Ipv6Up { local, peer, .. } => Some((local, peer)),
        _ => None,
    })
    .await;
    assert_eq!(local.segments()[0], 0xfe80);
    let peer = peer.expect("server link-local");
    let (address, routes) = event_until(&mut tunnel, |e| match e {
        TunnelEvent::Ipv6Address {
            address, routes, ..
        } => Some((address, routes)),
        _ => None,
    })
    .await;
    // Prefix from the RA, interface identifier from IPv6CP (RFC 4862 5.5.3).
    assert_eq!(&address.octets()[..8], &RA_PREFIX.octets()[..8]);
    assert_eq!(&address.octets()[8..], &local.octets()[8..]);
    assert_eq!(routes, ["::/1 dev memtun", "8000::/1 dev memtun"]);
    let addresses = fakes.routes.addresses();
    assert!(
        addresses.contains(&format!("memtun {local}/64")),
        "{addresses:?}"
    );
    assert!(
        addresses.contains(&format!("memtun {address}/64")),
        "{addresses:?}"
    );
    // The RDNSS server joined the IPv4 one.
    let dns = fakes.dns.current().unwrap();
    assert_eq!(dns.servers.len(), 2, "{dns:?}");
    assert!(tunnel.is_up());

    // The client asked for an RA (RFC 4861 6.3.7) and IPv6 flows both ways.
    let rs = observe_until(&mut server.tun, |p| p[0] >> 4 == 6 && p[40] == 133).await;
    assert_eq!(&rs[8..24], &local.octets());
    let far = Ipv6Addr::new(0x2001, 0xdb8, 0xff, 0, 0, 0, 0, 1);
    let up = ipv6(address, far, b"six");
    os.inject(&up).await.unwrap();
    assert_eq!(
        observe_until(&mut server.tun, |p| p[0] >> 4 == 6 && p[6] == 59).await,
        up
    );
    let down = ipv6(peer, address, b"back");
    server.tun.inject(&down).await.unwrap();
    assert_eq!(
        observe_until(&mut os, |p| p[0] >> 4 == 6 && p[6] == 59).await,
        down
    );
    // IPv4 still works beside it.
    ping_ipv4(&mut os, &mut server).await;

    tunnel.disconnect().await.unwrap();
    assert!(fakes.is_restored(), "{:?}", fakes.routes.addresses());
}

#[tokio::test]
async fn reconnects_after_the_server_drops_the_connection() {
    let mut server = TestServer::start(ServerOptions::default()).await;
    let fakes = Fakes::new();
    let (tun, mut os) = MemTun::pair(1400);
    let policy = ReconnectPolicy {
        initial_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(200),
        ..ReconnectPolicy::default()
    };
    let mut tunnel = client(&server)
        .reconnect(policy)
        .start_with(tun, fakes.system())
        .unwrap();
    up_info(&mut tunnel).await;
    let v4_addresses = |f: &Fakes| {
        let mut a = f.routes.addresses();
        a.retain(|a| !a.contains("fe80"));
        a
    };
    let first = (v4_addresses(&fakes), fakes.routes.routes());

    server.kill_connections();
    let (attempt, kind) = event_until(&mut tunnel, |e| match e {
        TunnelEvent::Reconnecting { attempt, kind, .. } => Some((attempt, kind)),
        _ => None,
    })
    .await;
    assert_eq!((attempt, kind), (1, ErrorKind::ConnectionLost));
    // The loss restored the system before the next attempt.
    let undone = fakes.routes.ops();
    assert!(
        undone.contains(&RouteOp::DelRoute("0.0.0.0/1 dev memtun".into())),
        "{undone:?}"
    );

    up_info(&mut tunnel).await;
    assert_eq!((v4_addresses(&fakes), fakes.routes.routes()), first);
    assert_eq!(server.connections(), 2);
    assert_eq!(tunnel.stats().reconnects, 1);
    ping_ipv4(&mut os, &mut server).await;

    tunnel.disconnect().await.unwrap();
    assert!(fakes.is_restored());
}

#[tokio::test]
async fn keepalives_notice_a_silent_server_and_reconnect() {
    let server = TestServer::start(ServerOptions::default()).await;
    let fakes = Fakes::new();
    let (tun, _os) = MemTun::pair(1400);
    // Short periods, with room for a loaded machine: about a second of
    // silence (4 LCP echoes of 250 ms unanswered) declares the peer dead.
    let keepalive = Keepalive {
        sstp_hello: Duration::from_secs(1),
        lcp_echo: Some(Duration::from_millis(250)),
        lcp_max_missed: 4,
    };
    let mut tunnel = client(&server)
        .keepalive(keepalive)
        .reconnect(ReconnectPolicy {
            initial_delay: Duration::from_millis(10),
            ..ReconnectPolicy::default()
        })
        .start_with(tun, fakes.system())
        .unwrap();
    up_info(&mut tunnel).await;
    // Healthy: echoes are answered, the tunnel stays up across many periods.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(tunnel.is_up());
    assert_eq!(server.connections(), 1);

    server.freeze_connections();
    let (reason, kind) = event_until(&mut tunnel, |e| match e {
        TunnelEvent::Reconnecting { reason, kind, .. } => Some((reason, kind)),
        _ => None,
    })
    .await;
    assert_eq!(kind, ErrorKind::ConnectionLost, "{reason}");
    assert!(reason.contains("timed out"), "{reason}");
    up_info(&mut tunnel).await;
    assert_eq!(server.connections(), 2);
    server.kill_connections();
    drop(tunnel);
}

#[tokio::test]
async fn without_reconnect_a_lost_connection_ends_the_tunnel() {
    let server = TestServer::start(ServerOptions::default()).await;
    let fakes = Fakes::new();
    let (tun, _os) = MemTun::pair(1400);
    let mut tunnel = client(&server).start_with(tun, fakes.system()).unwrap();
    tunnel.wait_up().await.unwrap();
    server.kill_connections();
    let (reason, kind) = event_until(&mut tunnel, |e| match e {
        TunnelEvent::Down { reason, kind } => Some((reason, kind)),
        TunnelEvent::Reconnecting { .. } => panic!("reconnect is off"),
        _ => None,
    })
    .await;
    assert_eq!(kind, Some(ErrorKind::ConnectionLost), "{reason}");
    let err = tunnel.wait().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionLost);
    assert!(fakes.is_restored());
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn wrong_password_is_a_clear_error_and_never_retried() {
    let server = TestServer::start(ServerOptions::default()).await;
    let fakes = Fakes::new();
    let (tun, _os) = MemTun::pair(1400);
    let err = client(&server)
        .password(USER, "wrong")
        .reconnect(ReconnectPolicy {
            initial_delay: Duration::from_millis(10),
            ..ReconnectPolicy::default()
        })
        .connect_with(tun, fakes.system())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert!(matches!(err, Error::Auth(_)), "{err:?}");
    assert!(
        err.to_string().starts_with("authentication failed"),
        "{err}"
    );
    assert!(!err.is_retryable());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.connections(), 1);
    assert!(fakes.is_restored());
}

#[tokio::test]
async fn auth_failure_on_reconnect_stops_the_loop() {
    let server = TestServer::start(ServerOptions::default()).await;
    let fakes = Fakes::new();
    let (tun, _os) = MemTun::pair(1400);
    let mut tunnel = client(&server)
        .reconnect(ReconnectPolicy {
            initial_delay: Duration::from_millis(10),
            ..ReconnectPolicy::default()
        })
        .start_with(tun, fakes.system())
        .unwrap();
    tunnel.wait_up().await.unwrap();
    server.set_password("changed by the admin");
    server.kill_connections();
    let kind = event_until(&mut tunnel, |e| match e {
        TunnelEvent::Down { kind, .. } => Some(kind),
        _ => None,
    })
    .await;
    assert_eq!(kind, Some(ErrorKind::Auth));
    assert_eq!(server.connections(), 2, "one reconnect, then no loop");
    assert_eq!(tunnel.wait().await.unwrap_err().kind(), ErrorKind::Auth);
    assert!(fakes.is_restored());
}

#[tokio::test]
async fn pin_mismatch_is_refused_with_the_fingerprint_seen() {
    let server = TestServer::start(ServerOptions::default()).await;
    let wrong = Fingerprint([0x42; 32]);
    let (tun, _os) = MemTun::pair(1400);
    let err = client(&server)
        .tls(TlsOptions {
            pins: vec![wrong],
            ..TlsOptions::default()
        })
        .connect_with(tun, Fakes::new().system())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Certificate);
    match &err {
        Error::Certificate(CertificateError::PinMismatch { seen, pinned }) => {
            assert_eq!(*seen, server.fingerprint);
            assert_eq!(pinned, &[wrong]);
        }
        other => panic!("expected a pin mismatch, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains(&server.fingerprint.to_string()), "{text}");
    assert!(text.contains("certificate mismatch"), "{text}");
    // TLS failed: the SSTP request never reached the server's session.
    assert!(server.log.authenticated.lock().unwrap().is_empty());
}

#[tokio::test]
async fn ca_file_trusts_the_server_and_names_are_checked() {
    let server = TestServer::start(ServerOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &server.cert_pem).unwrap();
    let tls = TlsOptions {
        ca_file: Some(ca.clone()),
        ..TlsOptions::default()
    };
    let (tun, _os) = MemTun::pair(1400);
    let tunnel = client(&server)
        .tls(tls.clone())
        .connect_with(tun, Fakes::new().system())
        .await
        .unwrap();
    tunnel.disconnect().await.unwrap();

    // The same CA, but the certificate is for "localhost", not this name.
    let (tun, _os) = MemTun::pair(1400);
    let err = client(&server)
        .tls(TlsOptions {
            sni: Some("vpn.example.net".into()),
            ..tls
        })
        .connect_with(tun, Fakes::new().system())
        .await
        .unwrap_err();
    match &err {
        Error::Certificate(CertificateError::Untrusted { seen, reason }) => {
            assert_eq!(*seen, Some(server.fingerprint));
            assert!(reason.contains("not valid for the name"), "{reason}");
        }
        other => panic!("expected an untrusted certificate, got {other:?}"),
    }
}

#[tokio::test]
async fn dangerous_skip_verify_connects_to_anything() {
    let server = TestServer::start(ServerOptions::default()).await;
    let (tun, _os) = MemTun::pair(1400);
    let tunnel = client(&server)
        .tls(TlsOptions {
            dangerous_skip_verify: true,
            sni: Some("anything.invalid".into()),
            ..TlsOptions::default()
        })
        .connect_with(tun, Fakes::new().system())
        .await
        .unwrap();
    tunnel.disconnect().await.unwrap();
}

#[tokio::test]
async fn proxy_path_carries_sstpversion_and_basic_auth() {
    let mut server = TestServer::start(ServerOptions::default()).await;
    // "bob:pa:ss" in base64.
    let proxy = ConnectProxy::start(Some("Ym9iOnBhOnNz")).await;
    let fakes = Fakes::new();
    let (tun, mut os) = MemTun::pair(1400);
    let url = format!("http://bob:pa%3Ass@127.0.0.1:{}", proxy.addr.port());
    let mut tunnel = client(&server)
        .proxy(ProxySetting::Http(HttpProxy::parse(&url).unwrap()))
        .start_with(tun, fakes.system())
        .unwrap();
    let via = event_until(&mut tunnel, |e| match e {
        TunnelEvent::Connecting { proxy, .. } => Some(proxy),
        _ => None,
    })
    .await;
    assert_eq!(
        via.as_deref(),
        Some(format!("127.0.0.1:{} (as bob)", proxy.addr.port()).as_str())
    );
    up_info(&mut tunnel).await;
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].target, format!("localhost:{}", server.addr.port()));
    // MS-SSTP 4.5.
    assert_eq!(seen[0].sstp_version.as_deref(), Some("1.0"));
    assert_eq!(seen[0].authorization.as_deref(), Some("Basic Ym9iOnBhOnNz"));
    ping_ipv4(&mut os, &mut server).await;
    tunnel.disconnect().await.unwrap();
    assert!(fakes.is_restored());
}

#[tokio::test]
async fn proxy_refusals_are_reported_in_plain_words() {
    let server = TestServer::start(ServerOptions::default()).await;
    let proxy = ConnectProxy::start(Some("Ym9iOnNlY3JldA==")).await;
    let (tun, _os) = MemTun::pair(1400);
    let url = format!("http://127.0.0.1:{}", proxy.addr.port());
    let err = client(&server)
        .proxy(ProxySetting::Http(HttpProxy::parse(&url).unwrap()))
        .connect_with(tun, Fakes::new().system())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Proxy);
    assert!(
        matches!(
            err,
            Error::Proxy(ProxyError::AuthRequired {
                sent_credentials: false,
                ..
            })
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("requires authentication"), "{err}");

    // A proxy that is not there.
    let (tun, _os) = MemTun::pair(1400);
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let err = client(&server)
        .proxy(ProxySetting::Http(
            HttpProxy::parse(&format!("127.0.0.1:{port}")).unwrap(),
        ))
        .connect_with(tun, Fakes::new().system())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Proxy(ProxyError::Unreachable { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn unreachable_server_is_reported_at_once() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let (tun, _os) = MemTun::pair(1400);
    let err = ClientBuilder::new(sstp_client::ServerAddr::new("127.0.0.1", port))
        .password(USER, PASSWORD)
        .tls(TlsOptions {
            pins: vec![Fingerprint([0; 32])],
            ..TlsOptions::default()
        })
        .proxy(ProxySetting::Direct)
        .reconnect(ReconnectPolicy::disabled())
        .connect_with(tun, sstp_client::System::none())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unreachable, "{err}");
    assert!(err.to_string().contains("unreachable"), "{err}");
}

#[tokio::test]
async fn split_routes_go_through_the_tunnel_only() {
    let server = TestServer::start(ServerOptions::default()).await;
    let fakes = Fakes::new();
    let (tun, _os) = MemTun::pair(1400);
    let tunnel = client(&server)
        .tunnel(TunnelOptions {
            routes: RouteMode::Split(vec!["172.16.0.0/12".parse().unwrap()]),
            dns: false,
            ipv6: false,
            ..TunnelOptions::default()
        })
        .connect_with(tun, fakes.system())
        .await
        .unwrap();
    assert_eq!(
        fakes.routes.routes(),
        ["10.0.0.1/32 dev memtun", "172.16.0.0/12 dev memtun"]
    );
    assert_eq!(fakes.dns.calls(), (0, 0));
    tunnel.disconnect().await.unwrap();
    assert!(fakes.is_restored());
}

#[tokio::test]
async fn a_failed_network_setup_closes_the_call_and_restores() {
    let server = TestServer::start(ServerOptions::default()).await;
    let fakes = Fakes::new();
    fakes.routes.fail_adds(true);
    let (tun, _os) = MemTun::pair(1400);
    let err = client(&server)
        .connect_with(tun, fakes.system())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Local, "{err}");
    assert!(matches!(err, Error::Setup(_)), "{err:?}");
    // The call was closed cleanly, not dropped.
    server.wait_clean_closes(1).await;
    assert!(fakes.is_restored());
}

#[tokio::test]
async fn dropping_the_handle_disconnects() {
    let server = TestServer::start(ServerOptions::default()).await;
    let fakes = Fakes::new();
    let (tun, _os) = MemTun::pair(1400);
    let tunnel = client(&server)
        .connect_with(tun, fakes.system())
        .await
        .unwrap();
    drop(tunnel);
    server.wait_clean_closes(1).await;
    tokio::time::timeout(STEP, async {
        while !fakes.is_restored() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
}

#[test]
fn settings_errors_come_before_any_traffic() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (tun, _os) = MemTun::pair(1400);
        let err = ClientBuilder::new("localhost:1".parse().unwrap())
            .start_with(tun, sstp_client::System::none())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        let (tun, _os) = MemTun::pair(1400);
        let err = ClientBuilder::new("localhost:1".parse().unwrap())
            .password(USER, PASSWORD)
            .tunnel(TunnelOptions {
                mtu: 100,
                ..TunnelOptions::default()
            })
            .start_with(tun, sstp_client::System::none())
            .unwrap_err();
        assert!(err.to_string().contains("MTU"), "{err}");
    });
    let _ = Ipv4Addr::LOCALHOST;
}

#[tokio::test]
async fn cli_fingerprint_prints_what_the_server_presents() {
    let server = TestServer::start(ServerOptions::default()).await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_sstp-client"))
        .args(["fingerprint", "--no-proxy", "--server"])
        .arg(format!("localhost:{}", server.addr.port()))
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(printed.trim(), server.fingerprint.to_string());
    // And it pins: the printed value parses back to the same fingerprint.
    assert_eq!(
        printed.trim().parse::<Fingerprint>().unwrap(),
        server.fingerprint
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("NOT verified"));
}

#[tokio::test]
async fn cli_usage_errors_exit_2_before_touching_the_system() {
    let run = |args: &'static [&'static str]| async move {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_sstp-client"))
            .args(args)
            .env_remove("SSTP_NOPE")
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .unwrap()
    };
    // No password source and no terminal to prompt on.
    let out = run(&["connect", "--server", "localhost", "--user", "alice"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no password"));
    // An unset variable.
    let out = run(&[
        "connect",
        "--server",
        "localhost",
        "--user",
        "a",
        "--password-env",
        "SSTP_NOPE",
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SSTP_NOPE is not set"));
    // A malformed pin, in JSON.
    let out = run(&[
        "connect",
        "--server",
        "localhost",
        "--user",
        "a",
        "--password-env",
        "PATH",
        "--pin-sha256",
        "12:34",
        "--json",
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (line["event"].as_str(), line["kind"].as_str()),
        (Some("exit"), Some("config"))
    );
    // No plain password flag exists.
    let out = run(&[
        "connect",
        "--server",
        "localhost",
        "--user",
        "a",
        "--password",
        "x",
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));
}

/// Connects to a server that answers with `raw`; returns the error.
async fn connect_to_raw(raw: &[u8]) -> Error {
    let server = TestServer::start(ServerOptions {
        raw_reply: Some(raw.to_vec()),
        ..ServerOptions::default()
    })
    .await;
    let fakes = Fakes::new();
    let (tun, _os) = MemTun::pair(1400);
    let err = tokio::time::timeout(STEP, client(&server).connect_with(tun, fakes.system()))
        .await
        .expect("a broken server fails the connect, never hangs it")
        .unwrap_err();
    assert!(fakes.is_restored());
    server.kill_connections();
    err
}

#[tokio::test]
async fn broken_servers_fail_cleanly_with_the_reason() {
    let err = connect_to_raw(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n").await;
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert!(err.to_string().contains("404 Not Found"), "{err}");
    assert!(!err.is_retryable());

    let err = connect_to_raw(b"HTTP/1.1 503 Service Unavailable\r\n\r\n").await;
    assert!(err.is_retryable(), "a busy server may come back: {err}");

    // A 200 with a real length is not SSTP (sstpc rejects it too).
    let err = connect_to_raw(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n").await;
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");

    // A right head followed by bytes that are not SSTP (MS-SSTP 3.1.5.1).
    let mut junk = b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n".to_vec();
    junk.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0]);
    let err = connect_to_raw(&junk).await;
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert!(err.to_string().contains("malformed"), "{err}");

    // Not even HTTP.
    let err = connect_to_raw(b"SSH-2.0-OpenSSH_9.6\r\n").await;
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
}

#[tokio::test]
async fn tls_versions_are_honoured() {
    let server = TestServer::start(ServerOptions::default()).await;
    let (tun, _os) = MemTun::pair(1400);
    let mut tunnel = client(&server)
        .tls(TlsOptions {
            pins: vec![server.fingerprint],
            max_version: Some(sstp_client::TlsVersion::Tls12),
            ..TlsOptions::default()
        })
        .start_with(tun, Fakes::new().system())
        .unwrap();
    let version = event_until(&mut tunnel, |e| match e {
        TunnelEvent::Connected { tls_version, .. } => Some(tls_version),
        _ => None,
    })
    .await;
    assert_eq!(version, "TLS 1.2");
    tunnel.wait_up().await.unwrap();
    tunnel.disconnect().await.unwrap();
}

/// Fast retries, at most `attempts` in a row.
fn quick_retries(attempts: Option<u32>) -> ReconnectPolicy {
    ReconnectPolicy {
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_attempts: attempts,
        ..ReconnectPolicy::default()
    }
}

/// Every event until the stream ends.
async fn all_events(tunnel: &mut Tunnel) -> Vec<TunnelEvent> {
    let mut events = Vec::new();
    while let Some(e) = tokio::time::timeout(STEP, tunnel.next_event())
        .await
        .expect("the event stream ends in time")
    {
        println!("event: {e:?}");
        events.push(e);
    }
    events
}

#[tokio::test]
async fn a_busy_server_on_the_first_connect_is_retried_until_it_lets_us_in() {
    // 503 twice (a full server), then a session.
    let server = TestServer::start(ServerOptions {
        busy_first: 2,
        ..ServerOptions::default()
    })
    .await;
    let fakes = Fakes::new();
    let (tun, _os) = MemTun::pair(1400);
    let mut tunnel = client(&server)
        .reconnect(quick_retries(Some(5)))
        .start_with(tun, fakes.system())
        .unwrap();
    let mut retries = Vec::new();
    let up = event_until(&mut tunnel, |e| match e {
        TunnelEvent::Reconnecting {
            attempt,
            established,
            reason,
            ..
        } => {
            retries.push((attempt, established, reason));
            None
        }
        TunnelEvent::Up(up) => Some(up),
        _ => None,
    })
    .await;
    assert_eq!(up.local, CLIENT_TUN_IP);
    assert_eq!(retries.len(), 2, "{retries:?}");
    for (i, (attempt, established, reason)) in retries.iter().enumerate() {
        assert_eq!((*attempt, *established), (i as u32 + 1, false));
        assert!(reason.contains("503"), "{reason}");
    }
    assert_eq!(server.connections(), 3);
    // Retrying a first connect is not a reconnect.
    assert_eq!(tunnel.stats().reconnects, 0);
    tunnel.disconnect().await.unwrap();
}

#[tokio::test]
async fn a_first_connect_that_keeps_failing_gives_up_with_the_last_reason() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let (tun, _os) = MemTun::pair(1400);
    let mut tunnel = ClientBuilder::new(sstp_client::ServerAddr::new("127.0.0.1", port))
        .password(USER, PASSWORD)
        .tls(TlsOptions {
            pins: vec![Fingerprint([0; 32])],
            ..TlsOptions::default()
        })
        .proxy(ProxySetting::Direct)
        .reconnect(quick_retries(Some(2)))
        .start_with(tun, sstp_client::System::none())
        .unwrap();
    let events = all_events(&mut tunnel).await;
    let connecting = events
        .iter()
        .filter(|e| matches!(e, TunnelEvent::Connecting { .. }))
        .count();
    assert_eq!(connecting, 3, "the first try and two retries");
    assert!(
        matches!(
            events.last(),
            Some(TunnelEvent::Down {
                kind: Some(ErrorKind::Unreachable),
                ..
            })
        ),
        "{events:?}"
    );
    let err = tunnel.wait().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unreachable, "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "could not connect after 3 attempts; the last one: server 127.0.0.1:{port} is unreachable"
        )),
        "{text}"
    );
}

#[tokio::test]
async fn what_cannot_pass_fails_the_first_connect_at_once_even_with_reconnect_on() {
    let server = TestServer::start(ServerOptions::default()).await;
    let (tun, _os) = MemTun::pair(1400);
    let err = client(&server)
        .tls(TlsOptions {
            pins: vec![Fingerprint([0x42; 32])],
            ..TlsOptions::default()
        })
        .reconnect(quick_retries(None))
        .connect_with(tun, Fakes::new().system())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Certificate, "{err}");
    // A 404 is not a busy server either.
    let raw = TestServer::start(ServerOptions {
        raw_reply: Some(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec()),
        ..ServerOptions::default()
    })
    .await;
    let (tun, _os) = MemTun::pair(1400);
    let err = client(&raw)
        .reconnect(quick_retries(None))
        .connect_with(tun, Fakes::new().system())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!((server.connections(), raw.connections()), (1, 1));
    raw.kill_connections();
}

#[tokio::test]
async fn giving_up_on_reconnecting_is_a_lost_connection() {
    let server = TestServer::start(ServerOptions::default()).await;
    let fakes = Fakes::new();
    let (tun, _os) = MemTun::pair(1400);
    let mut tunnel = client(&server)
        .reconnect(quick_retries(Some(2)))
        .start_with(tun, fakes.system())
        .unwrap();
    tunnel.wait_up().await.unwrap();
    // The server goes away for good: the listener closes, the connection drops.
    drop(server);
    let events = all_events(&mut tunnel).await;
    let retries = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                TunnelEvent::Reconnecting {
                    established: true,
                    ..
                }
            )
        })
        .count();
    assert_eq!(retries, 2, "{events:?}");
    let Some(TunnelEvent::Down { kind, reason }) = events.last() else {
        panic!("no Down at the end: {events:?}")
    };
    assert_eq!(*kind, Some(ErrorKind::ConnectionLost), "{reason}");
    let err = tunnel.wait().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionLost, "{err}");
    assert!(
        err.to_string()
            .starts_with("connection lost and not re-established after 2 attempts; the last one: "),
        "{err}"
    );
    assert!(fakes.is_restored());
}

#[tokio::test]
async fn uptime_is_still_reported_once_the_tunnel_is_down() {
    let server = TestServer::start(ServerOptions::default()).await;
    let (tun, _os) = MemTun::pair(1400);
    let mut tunnel = client(&server)
        .connect_with(tun, Fakes::new().system())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    tunnel.request_disconnect();
    all_events(&mut tunnel).await;
    // What the CLI reports at exit: the tunnel is over, the session lasted.
    let uptime = tunnel.stats().uptime.expect("an uptime after the session");
    assert!(uptime >= Duration::from_millis(300), "{uptime:?}");
    tunnel.wait().await.unwrap();
}

/// Connects with `ra_prefix` on, waits until up and a little longer (IPv6CP
/// would open right after); returns the Up info, the events and the
/// addresses added.
async fn up_and_settled(server: &TestServer, mtu: u16) -> (UpInfo, Vec<TunnelEvent>, Vec<String>) {
    let fakes = Fakes::new();
    let (tun, _os) = MemTun::pair(1400);
    let mut tunnel = client(server)
        .tunnel(TunnelOptions {
            mtu,
            ..TunnelOptions::default()
        })
        .start_with(tun, fakes.system())
        .unwrap();
    let up = up_info(&mut tunnel).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(tunnel.is_up());
    let addresses = fakes.routes.addresses();
    tunnel.request_disconnect();
    let events = all_events(&mut tunnel).await;
    tunnel.wait().await.unwrap();
    (up, events, addresses)
}

#[tokio::test]
async fn an_mtu_below_1280_keeps_ipv6_off_instead_of_failing() {
    let server = TestServer::start(ServerOptions {
        ra_prefix: Some(RA_PREFIX),
        ..ServerOptions::default()
    })
    .await;
    // Asked for by the user.
    let (up, events, addresses) = up_and_settled(&server, 1000).await;
    assert_eq!(up.mtu, 1000);
    assert_eq!(addresses, ["memtun 10.0.0.2/32"]);
    assert!(
        !events.iter().any(|e| matches!(
            e,
            TunnelEvent::Ipv6Up { .. } | TunnelEvent::Ipv6Address { .. }
        )),
        "{events:?}"
    );

    // Negotiated: the server's MRU is 1200 (RFC 1661 6.1).
    let small = TestServer::start(ServerOptions {
        ra_prefix: Some(RA_PREFIX),
        mru: Some(1200),
        ..ServerOptions::default()
    })
    .await;
    let (up, events, addresses) = up_and_settled(&small, 1400).await;
    assert_eq!(up.mtu, 1200);
    assert_eq!(addresses, ["memtun 10.0.0.2/32"]);
    assert_eq!(
        up.warnings,
        [
            "the server lowered the tunnel MTU to 1200, below the 1280 IPv6 needs: the tunnel carries IPv4 only"
        ]
    );
    assert!(
        !events.iter().any(|e| matches!(
            e,
            TunnelEvent::Ipv6Up { .. } | TunnelEvent::Ipv6Address { .. }
        )),
        "{events:?}"
    );
}

#[tokio::test]
async fn pin_and_ca_file_together_must_both_hold() {
    let server = TestServer::start(ServerOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let right_ca = dir.path().join("right.pem");
    std::fs::write(&right_ca, &server.cert_pem).unwrap();
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let wrong_ca = dir.path().join("wrong.pem");
    std::fs::write(&wrong_ca, other.cert.pem()).unwrap();
    let attempt = |ca: &std::path::Path, pin: Fingerprint| {
        let tls = TlsOptions {
            ca_file: Some(ca.to_owned()),
            pins: vec![pin],
            ..TlsOptions::default()
        };
        let (tun, os) = MemTun::pair(1400);
        let connect = client(&server)
            .tls(tls)
            .connect_with(tun, Fakes::new().system());
        // The OS side stays open while the tunnel runs.
        async move { (connect.await, os) }
    };
    // The right pin does not excuse a CA that did not sign the certificate (the other
    // certificate has the same subject, so it is taken for the issuer and its key refutes it).
    let err = attempt(&wrong_ca, server.fingerprint).await.0.unwrap_err();
    match &err {
        Error::Certificate(CertificateError::Untrusted { seen, reason }) => {
            assert_eq!(*seen, Some(server.fingerprint));
            assert!(reason.contains("signature does not verify"), "{reason}");
        }
        other => panic!("expected an untrusted certificate, got {other:?}"),
    }
    // Nor does the right CA excuse a wrong pin.
    let err = attempt(&right_ca, Fingerprint([0x42; 32]))
        .await
        .0
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Certificate(CertificateError::PinMismatch { .. })
        ),
        "{err:?}"
    );
    // Both right: connected.
    let (tunnel, _os) = attempt(&right_ca, server.fingerprint).await;
    tunnel.unwrap().disconnect().await.unwrap();
}

#[tokio::test]
async fn a_dns_server_the_split_routes_miss_is_pointed_out() {
    let server = TestServer::start(ServerOptions::default()).await;
    let fakes = Fakes::new();
    let (tun, _os) = MemTun::pair(1400);
    let mut tunnel = client(&server)
        .tunnel(TunnelOptions {
            routes: RouteMode::Split(vec!["172.16.0.0/12".parse().unwrap()]),
            ipv6: false,
            ..TunnelOptions::default()
        })
        .start_with(tun, fakes.system())
        .unwrap();
    let up = up_info(&mut tunnel).await;
    assert_eq!(
        up.warnings,
        [
            "the DNS server 10.0.0.53 the server pushed is outside the split routes, so lookups to it do not go through the tunnel: add --route 10.0.0.53/32, or --no-dns to keep the local resolvers"
        ]
    );
    tunnel.disconnect().await.unwrap();

    // Routed: no warning.
    let (tun, _os) = MemTun::pair(1400);
    let mut tunnel = client(&server)
        .tunnel(TunnelOptions {
            routes: RouteMode::Split(vec!["10.0.0.53/32".parse().unwrap()]),
            ipv6: false,
            ..TunnelOptions::default()
        })
        .start_with(tun, Fakes::new().system())
        .unwrap();
    assert!(up_info(&mut tunnel).await.warnings.is_empty());
    tunnel.disconnect().await.unwrap();
}

/// Runs the CLI with `args` and no terminal; nothing here reaches a TUN.
async fn cli(args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_sstp-client"))
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap()
}

#[tokio::test]
async fn cli_mtu_out_of_range_is_a_usage_error_before_any_tun() {
    for mtu in ["0", "100"] {
        let out = cli(&[
            "connect",
            "--server",
            "localhost:1",
            "--user",
            "a",
            "--password-env",
            "PATH",
            "--mtu",
            mtu,
        ])
        .await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!("MTU {mtu} is out of range (576-4087")),
            "{stderr}"
        );
    }
}

#[tokio::test]
async fn cli_logs_without_colour_when_stderr_is_no_terminal() {
    // MTU 1000 warns (IPv6 stays off); the TLS versions then stop it before any TUN.
    let out = cli(&[
        "connect",
        "--server",
        "localhost:1",
        "--user",
        "a",
        "--password-env",
        "PATH",
        "--mtu",
        "1000",
        "--tls-min",
        "1.3",
        "--tls-max",
        "1.2",
    ])
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("MTU 1000 is below 1280, the least IPv6 needs"),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "colour escapes in a pipe: {stderr:?}"
    );
}

/// Routes whose `prepare_link` fails (as on a read-only /proc/sys), the rest recorded.
#[derive(Debug)]
struct ReadOnlySysctl(sstp_client::routes::RecordingRoutes);

impl sstp_client::routes::Routes for ReadOnlySysctl {
    fn prepare_link(
        &self,
        link: &str,
    ) -> sstp_client::routes::BoxFuture<'_, Result<(), sstp_client::SetupError>> {
        let err = sstp_client::SetupError::new(
            format!("turn off IPv6 autoconfiguration on {link}"),
            std::io::Error::from_raw_os_error(30),
        );
        Box::pin(async move { Err(err) })
    }
    fn link_up(
        &self,
        link: &str,
        mtu: u16,
    ) -> sstp_client::routes::BoxFuture<'_, Result<(), sstp_client::SetupError>> {
        self.0.link_up(link, mtu)
    }
    fn add_address(
        &self,
        link: &str,
        addr: std::net::IpAddr,
        len: u8,
    ) -> sstp_client::routes::BoxFuture<'_, Result<(), sstp_client::SetupError>> {
        self.0.add_address(link, addr, len)
    }
    fn del_address(
        &self,
        link: &str,
        addr: std::net::IpAddr,
        len: u8,
    ) -> sstp_client::routes::BoxFuture<'_, Result<(), sstp_client::SetupError>> {
        self.0.del_address(link, addr, len)
    }
    fn route_get(
        &self,
        dst: std::net::IpAddr,
    ) -> sstp_client::routes::BoxFuture<
        '_,
        Result<sstp_client::routes::PathTo, sstp_client::SetupError>,
    > {
        self.0.route_get(dst)
    }
    fn add_route(
        &self,
        route: &sstp_tun::netlink::Route,
    ) -> sstp_client::routes::BoxFuture<'_, Result<(), sstp_client::SetupError>> {
        self.0.add_route(route)
    }
    fn del_route(
        &self,
        route: &sstp_tun::netlink::Route,
    ) -> sstp_client::routes::BoxFuture<'_, Result<(), sstp_client::SetupError>> {
        self.0.del_route(route)
    }
}

#[tokio::test]
async fn a_link_that_cannot_be_prepared_still_comes_up() {
    let server = TestServer::start(ServerOptions::default()).await;
    let fakes = Fakes::new();
    let system = sstp_client::System::new(
        std::sync::Arc::new(ReadOnlySysctl(fakes.routes.clone())),
        std::sync::Arc::new(fakes.dns.clone()),
    );
    let (tun, _os) = MemTun::pair(1400);
    let tunnel = client(&server).connect_with(tun, system).await.unwrap();
    assert!(tunnel.is_up());
    tunnel.disconnect().await.unwrap();
    assert!(fakes.is_restored());
}
