//! Every authentication method the server can enable, end to end: the call
//! comes up with the pushed addresses, DNS and MTU, an IPv4 packet crosses
//! each way, and a clean disconnect is seen by both sides. And a wrong
//! password: an authentication error, no reconnect loop, the lease freed.

use std::net::IpAddr;

use sstp_client::dns::RecordingDns;
use sstp_client::routes::RecordingRoutes;
use sstp_client::{AuthMethod, ErrorKind, ReconnectPolicy, System, Tunnel, TunnelEvent, UpInfo};
use sstp_tun::MemTunHandle;

use crate::support::*;

/// The `Up` event among the events a connect queued, and the method the
/// `Authenticated` event named.
pub(crate) async fn up_info(tunnel: &mut Tunnel) -> (UpInfo, Option<AuthMethod>) {
    let mut seen = Vec::new();
    let up = wait_event(tunnel, &mut seen, |e| match e {
        TunnelEvent::Up(up) => Some(up.clone()),
        _ => None,
    })
    .await;
    let method = seen.iter().find_map(|e| match e {
        TunnelEvent::Authenticated { username, method } => {
            assert_eq!(username, USER);
            Some(*method)
        }
        _ => None,
    });
    (up, method.expect("an Authenticated event before Up"))
}

/// Checks the addresses, DNS and MTU of a call to a default test server.
pub(crate) fn check_up(up: &UpInfo) {
    assert_ne!(
        up.local, SERVER_TUN_IP,
        "the client got the server's address"
    );
    assert_eq!(
        up.local.octets()[..2],
        [10, 77],
        "address from the pool 10.77.0.0/22: {up:?}"
    );
    assert_eq!(up.peer, Some(SERVER_TUN_IP));
    assert_eq!(up.dns, vec![DNS_IP]);
    assert_eq!(up.mtu, MTU);
}

/// One IPv4 packet client → server and one server → client.
pub(crate) async fn exchange_v4(
    server: &mut TestServer,
    client_tun: &mut MemTunHandle,
    up: &UpInfo,
    marker: &[u8],
) {
    let out = ipv4(up.local, SERVER_TUN_IP, marker);
    client_tun.inject(&out).await.expect("inject at the client");
    let got = observe_until(&mut server.tun, |p| carries(p, marker)).await;
    assert_eq!(got, out, "the packet crossed client → server unchanged");

    let back = ipv4(SERVER_TUN_IP, up.local, marker);
    server
        .tun
        .inject(&back)
        .await
        .expect("inject at the server");
    let got = observe_until(client_tun, |p| carries(p, marker)).await;
    assert_eq!(got, back, "the packet crossed server → client unchanged");
}

async fn method_end_to_end(server_method: &'static str, client_method: AuthMethod) {
    let mut server = TestServer::start(ServerSpec {
        methods: vec![server_method],
        ..ServerSpec::default()
    })
    .await;
    let (tun, mut handle) = client_tun("cli0");
    let routes = RecordingRoutes::new(None);
    let dns = RecordingDns::new();
    let system = System::new(
        std::sync::Arc::new(routes.clone()),
        std::sync::Arc::new(dns.clone()),
    );
    let mut tunnel = within(
        "the connect",
        server
            .client_with(&[client_method])
            .connect_with(tun, system),
    )
    .await
    .unwrap_or_else(|e| panic!("{server_method}: connect failed: {e}"));
    let (up, method) = up_info(&mut tunnel).await;
    assert_eq!(method, Some(client_method));
    check_up(&up);
    // The client applied what the server pushed to its (recording) system.
    assert_eq!(
        dns.current().map(|d| d.servers),
        Some(vec![IpAddr::V4(DNS_IP)])
    );
    assert!(
        routes
            .addresses()
            .iter()
            .any(|a| a.contains(&up.local.to_string())),
        "the address was set: {:?}",
        routes.addresses()
    );
    assert_eq!(server.handle.active_sessions(), 1);
    assert_eq!(server.handle.leases_in_use().0, 1);

    exchange_v4(&mut server, &mut handle, &up, server_method.as_bytes()).await;
    // The client counts a packet once its TUN write returned, which may be
    // just after the packet is seen on the handle.
    within("the client's counters", async {
        while tunnel.stats().rx_packets == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await;
    let stats = tunnel.stats();
    assert!(stats.tx_packets >= 1 && stats.rx_bytes >= 20, "{stats:?}");

    within("the disconnect", tunnel.disconnect())
        .await
        .expect("a clean disconnect");
    // The client restored its system.
    assert!(dns.current().is_none(), "DNS restored");
    assert!(routes.addresses().is_empty(), "address removed");
    assert!(routes.routes().is_empty(), "routes removed");
    // The server saw a normal end (LCP Terminate + Call Disconnect), not a
    // lost connection, and freed the session and its lease.
    server.wait_idle().await;
    server
        .wait_for("a normal session end", |s| {
            s.metric("sstp_session_ends_total{kind=\"normal\"}") == 1.0
        })
        .await;
    assert_eq!(
        server
            .metric_opt("sstp_session_ends_total{kind=\"lost\"}")
            .unwrap_or(0.0),
        0.0
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eap_mschapv2() {
    method_end_to_end("eap-mschapv2", AuthMethod::EapMsChapV2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mschapv2() {
    method_end_to_end("mschapv2", AuthMethod::MsChapV2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pap() {
    method_end_to_end("pap", AuthMethod::Pap).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chap_md5() {
    method_end_to_end("chap-md5", AuthMethod::ChapMd5).await;
}

/// The server's default order and the client's default methods agree on
/// one of the MS-CHAPv2 flavours.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defaults_agree() {
    let mut server = TestServer::start(ServerSpec::default()).await;
    let (tun, mut handle) = client_tun("cli0");
    let mut tunnel = within(
        "the connect",
        server.client().connect_with(tun, System::none()),
    )
    .await
    .expect("connect");
    let (up, method) = up_info(&mut tunnel).await;
    assert!(
        matches!(method, Some(AuthMethod::EapMsChapV2 | AuthMethod::MsChapV2)),
        "{method:?}"
    );
    assert!(
        up.binding.is_some(),
        "crypto binding done with MS-CHAPv2 keys"
    );
    exchange_v4(&mut server, &mut handle, &up, b"defaults").await;
    within("the disconnect", tunnel.disconnect())
        .await
        .expect("clean");
    server.wait_idle().await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_an_auth_error_without_a_reconnect_loop() {
    let mut server = TestServer::start(ServerSpec::default()).await;
    let (tun, _handle) = client_tun("cli0");
    // Reconnect is on, as by default: an auth failure must still end it.
    let mut tunnel = server
        .client()
        .password(USER, "not the password")
        .reconnect(ReconnectPolicy {
            initial_delay: std::time::Duration::from_millis(50),
            jitter: 0.0,
            ..ReconnectPolicy::default()
        })
        .start_with(tun, System::none())
        .expect("start");
    let mut events = Vec::new();
    // Until the stream closes: the tunnel is over (a reconnect loop would
    // keep it open and time out here).
    while let Some(event) = within("a tunnel event", tunnel.next_event()).await {
        println!("event: {event:?}");
        events.push(event);
    }
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, TunnelEvent::Reconnecting { .. })
                || matches!(e, TunnelEvent::Up(_))),
        "{events:?}"
    );
    let connects = events
        .iter()
        .filter(|e| matches!(e, TunnelEvent::Connecting { .. }))
        .count();
    assert_eq!(connects, 1, "exactly one attempt: {events:?}");
    match events.last() {
        Some(TunnelEvent::Down { kind, reason }) => {
            assert_eq!(*kind, Some(ErrorKind::Auth), "{reason}");
            assert!(reason.contains("authentication"), "{reason}");
        }
        other => panic!("the last event is not Down: {other:?}"),
    }
    let err = within("the tunnel's end", tunnel.wait())
        .await
        .expect_err("failed");
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert!(!err.is_retryable());
    // The server counted the failure and holds nothing for it.
    server.wait_idle().await;
    assert_eq!(server.metric("sstp_auth_failures_total"), 1.0);
    assert_eq!(server.handle.routes(), (0, 0));
    server.shutdown().await;
}

/// A laptop with only a client certificate (a .pfx from `sstp-server ca
/// issue`): EAP-TLS, the address, a packet each way, and the server names
/// the user from the certificate.
#[tokio::test]
async fn a_client_certificate_alone_brings_the_call_up() {
    let ca = tempfile::tempdir().expect("tmp");
    let issued = client_ca(ca.path(), Some("pfx password"));
    let mut server = TestServer::start(ServerSpec {
        methods: vec!["eap-tls", "eap-mschapv2"],
        eap_tls: Some(format!("ca = {:?}\n", ca.path().join("ca.pem"))),
        ..ServerSpec::default()
    })
    .await;
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let identity = sstp_client::ClientIdentity::from_pkcs12(
        issued.pkcs12.as_deref().expect("a .p12"),
        "pfx password",
        &provider,
    )
    .expect("identity");
    let (tun, mut handle) = client_tun("cli0");
    let system = System::new(
        std::sync::Arc::new(RecordingRoutes::new(None)),
        std::sync::Arc::new(RecordingDns::new()),
    );
    let mut tunnel = within(
        "the connect",
        server
            .client()
            .certificate(identity)
            .auth_methods([AuthMethod::EapTls])
            .connect_with(tun, system),
    )
    .await
    .expect("connect with a certificate");
    let (up, method) = up_info(&mut tunnel).await;
    assert_eq!(method, Some(AuthMethod::EapTls));
    check_up(&up);
    exchange_v4(&mut server, &mut handle, &up, b"eap-tls").await;
    assert_eq!(server.handle.active_sessions(), 1);
    tunnel.disconnect().await.expect("clean disconnect");
    server.wait_idle().await;
}
