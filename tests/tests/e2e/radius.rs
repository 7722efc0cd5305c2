//! Our client against our server authenticating through a real FreeRADIUS
//! 3.2 (started by `scripts/freeradius` with its generated configuration):
//! PAP, MS-CHAPv2 (the server relays challenge and response, and the
//! MS-MPPE keys of the reply make the HLAK, so the call coming up proves
//! the crypto binding end to end), EAP-MSCHAPv2 and EAP-TLS relayed to
//! FreeRADIUS's eap module, a wrong password, a user with a
//! Framed-IP-Address, and a Session-Timeout that ends the session.
//!
//! Skips with a printed reason when FreeRADIUS cannot be had (not root and
//! not installed).

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use sstp_client::dns::RecordingDns;
use sstp_client::routes::RecordingRoutes;
use sstp_client::{
    AuthMethod, ClientBuilder, EapTlsOptions, ErrorKind, System, Tunnel, TunnelEvent, UpInfo,
};
use sstp_testkit::{FreeRadius, FreeRadiusOptions};
use sstp_tun::MemTunHandle;

use crate::support::*;

/// A user the generated configuration does not have: a named pool, DNS
/// servers and an Idle-Timeout in the reply.
const FRANK: &str = "frank\tCleartext-Password := \"frank-pass\"\n\tFramed-Pool = \"staff\",\n\tMS-Primary-DNS-Server = 192.0.2.53,\n\tMS-Secondary-DNS-Server = 192.0.2.54,\n\tFramed-Route = \"192.168.77.0/24 0.0.0.0 1\",\n\tFramed-Route = \"172.16.9.0/24 0.0.0.0 1\",\n\tIdle-Timeout = 2\n";

/// FreeRADIUS for one test, or the reason it cannot run.
fn freeradius(dir: &tempfile::TempDir) -> Option<FreeRadius> {
    if let Some(reason) = FreeRadius::skip_reason() {
        println!("SKIP: {reason}");
        return None;
    }
    let options = FreeRadiusOptions {
        // FreeRADIUS 3.2.1 signs only EAP answers; our client requires a
        // Message-Authenticator in every Access-* answer (BlastRADIUS).
        sign_replies: true,
        extra_users: Some(FRANK.to_owned()),
        ..FreeRadiusOptions::default()
    };
    Some(FreeRadius::start(dir.path(), options).expect("FreeRADIUS starts"))
}

/// `[radius]` for `radius`, EAP relayed, no accounting.
fn radius_section(radius: &FreeRadius) -> String {
    radius_with(radius, "accounting = false")
}

/// `[radius]` for `radius` with more keys of `[radius]`.
fn radius_with(radius: &FreeRadius, keys: &str) -> String {
    format!(
        r#"
        [radius]
        nas_identifier = "sstp-e2e"
        {keys}
        [[radius.server]]
        name = "freeradius"
        address = "127.0.0.1"
        auth_port = {auth}
        acct_port = {acct}
        secret = "{secret}"
        timeout = "2s"
        retries = 2
        "#,
        auth = radius.auth_addr().port(),
        acct = radius.acct_addr().port(),
        secret = radius.secret(),
    )
}

async fn server_for(radius: &FreeRadius) -> TestServer {
    TestServer::start(ServerSpec {
        methods: vec!["eap-tls", "eap-mschapv2", "mschapv2", "chap-md5", "pap"],
        radius: Some(("[\"radius\"]", radius_section(radius))),
        ..ServerSpec::default()
    })
    .await
}

fn system() -> System {
    System::new(
        Arc::new(RecordingRoutes::new(None)),
        Arc::new(RecordingDns::new()),
    )
}

/// A call that is up: the tunnel, its device's other end (kept so the
/// device stays open), the Up and the method the Authenticated event named.
struct Call {
    tunnel: Tunnel,
    device: MemTunHandle,
    up: UpInfo,
    method: Option<AuthMethod>,
}

/// Connects `builder`.
async fn bring_up(builder: ClientBuilder, name: &str) -> Call {
    let (tun, device) = client_tun(name);
    let mut tunnel = within("the connect", builder.connect_with(tun, system()))
        .await
        .unwrap_or_else(|e| panic!("{name}: connect failed: {e}"));
    let mut seen = Vec::new();
    let up = wait_event(&mut tunnel, &mut seen, |e| match e {
        TunnelEvent::Up(up) => Some(up.clone()),
        _ => None,
    })
    .await;
    let method = seen.iter().find_map(|e| match e {
        TunnelEvent::Authenticated { method, .. } => Some(*method),
        _ => None,
    });
    Call {
        tunnel,
        device,
        up,
        method: method.expect("an Authenticated event before Up"),
    }
}

#[tokio::test]
async fn pap_mschapv2_and_relayed_eap_mschapv2_through_freeradius() {
    let dir = tempfile::tempdir().expect("tmp");
    let Some(radius) = freeradius(&dir) else {
        return;
    };
    let server = server_for(&radius).await;
    // alice has a cleartext password in FreeRADIUS, bob only an NT hash.
    for (user, password, method) in [
        ("alice", "alice-pass", AuthMethod::Pap),
        ("alice", "alice-pass", AuthMethod::ChapMd5),
        ("alice", "alice-pass", AuthMethod::MsChapV2),
        ("bob", "bob-pass", AuthMethod::MsChapV2),
        ("alice", "alice-pass", AuthMethod::EapMsChapV2),
        ("bob", "bob-pass", AuthMethod::EapMsChapV2),
    ] {
        let builder = server
            .client()
            .password(user, password)
            .auth_methods([method]);
        let call = bring_up(builder, &format!("{user}-{method}")).await;
        assert_eq!(call.method, Some(method), "{user} {method}");
        assert_eq!(call.up.local.octets()[..2], [10, 77], "{:?}", call.up);
        call.tunnel.disconnect().await.expect("clean disconnect");
        server.wait_idle().await;
    }
}

#[tokio::test]
async fn eap_tls_relayed_to_freeradius_checks_the_certificate_there() {
    let dir = tempfile::tempdir().expect("tmp");
    let Some(radius) = freeradius(&dir) else {
        return;
    };
    let server = server_for(&radius).await;
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let identity = sstp_client::ClientIdentity::from_pem_files(
        &radius.tls_user_cert(),
        &radius.tls_user_key(),
        &provider,
    )
    .expect("tls-user identity");
    // The inner TLS is FreeRADIUS's, with its own CA and name.
    let builder = server
        .client()
        .password("tls-user", "unused")
        .certificate(identity)
        .eap_tls(EapTlsOptions {
            ca_file: Some(radius.ca_pem()),
            server_name: Some("radius.sstp-rs.test".into()),
        })
        .auth_methods([AuthMethod::EapTls]);
    let call = bring_up(builder, "tls-user").await;
    assert_eq!(call.method, Some(AuthMethod::EapTls));
    call.tunnel.disconnect().await.expect("clean disconnect");
    server.wait_idle().await;
}

#[tokio::test]
async fn radius_rejects_addresses_and_session_timeouts_are_obeyed() {
    let dir = tempfile::tempdir().expect("tmp");
    let Some(radius) = freeradius(&dir) else {
        return;
    };
    let server = server_for(&radius).await;

    // A wrong password: FreeRADIUS's Access-Reject, an authentication error.
    for method in [
        AuthMethod::MsChapV2,
        AuthMethod::EapMsChapV2,
        AuthMethod::Pap,
    ] {
        let (tun, _h) = client_tun("wrong");
        let err = within(
            "the refused connect",
            server
                .client()
                .password("alice", "not-alice-pass")
                .auth_methods([method])
                .connect_with(tun, system()),
        )
        .await
        .expect_err("a wrong password is refused");
        assert_eq!(err.kind(), ErrorKind::Auth, "{method}: {err}");
    }
    server.wait_idle().await;

    // carol's Framed-IP-Address.
    let builder = server
        .client()
        .password("carol", "carol-pass")
        .auth_methods([AuthMethod::MsChapV2]);
    let call = bring_up(builder, "carol").await;
    assert_eq!(call.up.local, Ipv4Addr::new(10, 77, 0, 77));
    call.tunnel.disconnect().await.expect("clean disconnect");
    server.wait_idle().await;

    // dave's Session-Timeout of 5 s: the server ends the call.
    let builder = server
        .client()
        .password("dave", "dave-pass")
        .auth_methods([AuthMethod::EapMsChapV2]);
    let mut call = bring_up(builder, "dave").await;
    let started = std::time::Instant::now();
    let mut seen = Vec::new();
    let down = wait_event(&mut call.tunnel, &mut seen, |e| match e {
        TunnelEvent::Down { reason, .. } => Some(reason.clone()),
        _ => None,
    })
    .await;
    let lasted = started.elapsed();
    assert!(
        lasted >= Duration::from_secs(4),
        "ended after {lasted:?}, before its Session-Timeout: {down}"
    );
    server.wait_idle().await;
}

/// The accounting records FreeRADIUS wrote for `user`, once `want` holds
/// for them (polled; an outage's backoff may take a while).
async fn records_of(
    radius: &FreeRadius,
    user: &str,
    within: Duration,
    want: impl Fn(&[sstp_testkit::DetailRecord]) -> bool,
) -> Vec<sstp_testkit::DetailRecord> {
    let until = std::time::Instant::now() + within;
    loop {
        let records: Vec<_> = radius
            .detail_records()
            .into_iter()
            .filter(|r| r.get("User-Name") == Some(user))
            .collect();
        if want(&records) {
            return records;
        }
        assert!(
            std::time::Instant::now() < until,
            "accounting records of {user} never became complete: {records:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn kinds(records: &[sstp_testkit::DetailRecord]) -> Vec<&str> {
    records
        .iter()
        .filter_map(|r| r.get("Acct-Status-Type"))
        .collect()
}

#[tokio::test]
async fn accounting_reaches_freeradius_with_counters_and_survives_an_outage() {
    let dir = tempfile::tempdir().expect("tmp");
    let Some(mut radius) = freeradius(&dir) else {
        return;
    };
    let spool = dir.path().join("acct.spool");
    let mut server = TestServer::start(ServerSpec {
        methods: vec!["eap-mschapv2", "mschapv2"],
        // Local alice first (she logs in while RADIUS is down), then RADIUS.
        radius: Some((
            "[\"users\", \"radius\"]",
            radius_with(
                &radius,
                // erin's Framed-Pool.
                &format!(
                    "interim_interval = \"1s\"\naccounting_spool = {spool:?}\n[network.pools]\nstaff = \"10.78.0.0/24\"\n"
                ),
            ),
        )),
        ..ServerSpec::default()
    })
    .await;

    // erin (RADIUS): Start, Interim-Updates (her Acct-Interim-Interval is
    // 2 s), Stop with the traffic, her Class echoed.
    let builder = server
        .client()
        .password("erin", "erin-pass")
        .auth_methods([AuthMethod::MsChapV2]);
    let call = bring_up(builder, "erin").await;
    let payload = [0x5a; 1000];
    for _ in 0..3 {
        let packet = ipv4(call.up.local, SERVER_TUN_IP, &payload);
        call.device.inject(&packet).await.expect("inject");
    }
    observe_until(&mut server.tun, |p| carries(p, &payload)).await;
    records_of(&radius, "erin", Duration::from_secs(10), |r| {
        kinds(r).contains(&"Interim-Update")
    })
    .await;
    call.tunnel.disconnect().await.expect("clean disconnect");
    let records = records_of(&radius, "erin", STEP, |r| kinds(r).contains(&"Stop")).await;
    assert_eq!(kinds(&records).first(), Some(&"Start"), "{records:?}");
    let stop = records.last().expect("Stop");
    let session_id = stop.get("Acct-Session-Id").expect("Acct-Session-Id");
    assert!(
        records
            .iter()
            .all(|r| r.get("Acct-Session-Id") == Some(session_id))
    );
    let input: u64 = stop
        .get("Acct-Input-Octets")
        .expect("input")
        .parse()
        .expect("number");
    assert!(
        input >= 3 * 1020,
        "three 1020-byte packets went in: {stop:?}"
    );
    assert_eq!(stop.get("Acct-Input-Gigawords"), Some("0"));
    assert_eq!(stop.get("Acct-Terminate-Cause"), Some("User-Request"));
    // "erin-class", as FreeRADIUS writes an octet string.
    assert_eq!(stop.get("Class"), Some("0x6572696e2d636c617373"));
    assert_eq!(stop.get("NAS-Port-Type"), Some("Virtual"));
    assert_eq!(stop.get("Service-Type"), Some("Framed-User"));
    assert_eq!(stop.get("Framed-Protocol"), Some("PPP"));
    assert_eq!(stop.get("NAS-Identifier"), Some("sstp-e2e"));
    assert_eq!(stop.get("Calling-Station-Id"), Some("127.0.0.1"));
    assert_eq!(stop.get("Acct-Authentic"), Some("RADIUS"));
    assert!(stop.get("Framed-IP-Address").is_some());
    let on = radius.detail_records();
    assert!(
        on.iter()
            .any(|r| r.get("Acct-Status-Type") == Some("Accounting-On")),
        "no Accounting-On: {on:?}"
    );

    // FreeRADIUS down: alice logs in locally; her records wait.
    radius.stop().expect("stop FreeRADIUS");
    let builder = server.client().auth_methods([AuthMethod::MsChapV2]);
    let call = bring_up(builder, "alice-down").await;
    call.tunnel.disconnect().await.expect("clean disconnect");
    server.wait_idle().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        server.metric("sstp_radius_accounting_queued") >= 2.0,
        "Start and Stop wait in the queue:\n{}",
        server.handle.metrics_text()
    );
    // It comes back: nothing was lost.
    radius.restart().expect("restart FreeRADIUS");
    let records = records_of(&radius, "alice", Duration::from_secs(60), |r| {
        kinds(r) == ["Start", "Stop"]
    })
    .await;
    assert_eq!(records[1].get("Acct-Authentic"), Some("Local"));
    let delay: u32 = records[1]
        .get("Acct-Delay-Time")
        .expect("Acct-Delay-Time")
        .parse()
        .expect("number");
    assert!(delay >= 1, "the Stop says it waited: {:?}", records[1]);
    assert_eq!(server.metric("sstp_radius_accounting_dropped_total"), 0.0);

    // A stop while FreeRADIUS is down: the records go to the spool and
    // reach it from the next start.
    radius.stop().expect("stop FreeRADIUS");
    let builder = server.client().auth_methods([AuthMethod::MsChapV2]);
    let call = bring_up(builder, "alice-spool").await;
    call.tunnel.disconnect().await.expect("clean disconnect");
    server.wait_idle().await;
    server.shutdown().await;
    let spooled = std::fs::read_to_string(&spool).expect("the spool was written");
    assert!(
        spooled.lines().count() >= 3,
        "Start, Stop, Accounting-Off: {spooled}"
    );
    radius.restart().expect("restart FreeRADIUS");
    server.restart().await;
    records_of(&radius, "alice", Duration::from_secs(30), |r| {
        kinds(r).iter().filter(|k| **k == "Stop").count() >= 2
    })
    .await;
    assert!(!spool.exists(), "the spool is read back and removed");
    server.shutdown().await;
}

/// `radclient` sends `attributes` as a `command` ("disconnect", "coa") to
/// `to` with `secret`; its output. Off the runtime's thread: the server
/// under test answers on it.
async fn radclient(
    radius: &FreeRadius,
    to: std::net::SocketAddr,
    command: &str,
    secret: &str,
    attributes: &str,
) -> String {
    let raddb = radius.dir().join("raddb");
    let args = [command.to_owned(), secret.to_owned()];
    let attributes = attributes.to_owned();
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = std::process::Command::new("radclient")
            .args(["-x", "-t", "1", "-r", "1", "-d"])
            .arg(raddb)
            .arg(to.to_string())
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("radclient runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(attributes.as_bytes())
            .expect("write attributes");
        let out = child.wait_with_output().expect("radclient ends");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
    .await
    .expect("radclient task")
}

#[tokio::test]
async fn disconnect_and_coa_from_radclient_and_forgeries_are_dropped() {
    let dir = tempfile::tempdir().expect("tmp");
    let Some(radius) = freeradius(&dir) else {
        return;
    };
    let server = TestServer::start(ServerSpec {
        methods: vec!["eap-mschapv2", "mschapv2"],
        radius: Some((
            "[\"radius\"]",
            radius_with(
                &radius,
                r#"
                [radius.dae]
                listen = "127.0.0.1:0"
                [[radius.dae.client]]
                address = "127.0.0.1"
                secret = "dae-secret"
                "#,
            ),
        )),
        ..ServerSpec::default()
    })
    .await;
    let dae = server.dae.expect("the DAE listener");
    let connect = |user: &'static str, password: &'static str| {
        server
            .client()
            .password(user, password)
            .auth_methods([AuthMethod::MsChapV2])
    };

    // By Acct-Session-Id (from the Start record), then ACK, and the call ends.
    let mut call = bring_up(connect("carol", "carol-pass"), "carol-dm").await;
    let start = records_of(&radius, "carol", STEP, |r| kinds(r).contains(&"Start")).await;
    let session_id = start[0]
        .get("Acct-Session-Id")
        .expect("Acct-Session-Id")
        .to_owned();
    let out = radclient(
        &radius,
        dae,
        "disconnect",
        "dae-secret",
        &format!("Acct-Session-Id = \"{session_id}\"\n"),
    )
    .await;
    assert!(out.contains("Received Disconnect-ACK"), "{out}");
    let mut seen = Vec::new();
    let reason = wait_event(&mut call.tunnel, &mut seen, |e| match e {
        TunnelEvent::Down { reason, .. } => Some(reason.clone()),
        _ => None,
    })
    .await;
    println!("carol's call ended: {reason}");
    let stop = records_of(&radius, "carol", STEP, |r| kinds(r).contains(&"Stop")).await;
    assert_eq!(
        stop.last().and_then(|r| r.get("Acct-Terminate-Cause")),
        Some("Admin-Reset")
    );
    server.wait_idle().await;

    // No such session: NAK with Error-Cause 503.
    let out = radclient(
        &radius,
        dae,
        "disconnect",
        "dae-secret",
        "User-Name = \"nobody\"\n",
    )
    .await;
    assert!(out.contains("Received Disconnect-NAK"), "{out}");
    assert!(out.contains("Session-Context-Not-Found"), "{out}");

    // Forged (wrong secret), from an unknown port too: no answer, and the
    // session stays up; a flood of junk changes nothing either.
    let mut call = bring_up(connect("alice", "alice-pass"), "alice-dm").await;
    let out = radclient(
        &radius,
        dae,
        "disconnect",
        "wrong-secret",
        "User-Name = \"alice\"\n",
    )
    .await;
    assert!(
        !out.contains("Received"),
        "a forged request got an answer: {out}"
    );
    let flood = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("udp");
    for i in 0..500u32 {
        let mut junk = vec![40u8, (i % 256) as u8, 0, 38];
        junk.extend_from_slice(&[0xab; 34]);
        flood.send_to(&junk, dae).await.expect("send");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(server.metric("sstp_radius_dae_requests_total{result=\"forged\"}") >= 501.0);
    assert_eq!(server.handle.active_sessions(), 1);

    // CoA: a Session-Timeout of 2 s, counted from now, ends the call.
    let out = radclient(
        &radius,
        dae,
        "coa",
        "dae-secret",
        "User-Name = \"alice\"\nSession-Timeout = 2\n",
    )
    .await;
    assert!(out.contains("Received CoA-ACK"), "{out}");
    let started = std::time::Instant::now();
    let mut seen = Vec::new();
    let reason = wait_event(&mut call.tunnel, &mut seen, |e| match e {
        TunnelEvent::Down { reason, .. } => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert!(started.elapsed() >= Duration::from_secs(1), "{reason}");
    let stop = records_of(&radius, "alice", STEP, |r| kinds(r).contains(&"Stop")).await;
    assert_eq!(
        stop.last().and_then(|r| r.get("Acct-Terminate-Cause")),
        Some("Session-Timeout")
    );
    server.wait_idle().await;
}

#[tokio::test]
async fn framed_pool_routes_dns_and_idle_timeout_come_from_the_reply() {
    let dir = tempfile::tempdir().expect("tmp");
    let Some(radius) = freeradius(&dir) else {
        return;
    };
    let section = format!(
        "{}\n[network.pools]\nstaff = \"10.78.0.0/24\"\n",
        radius_section(&radius)
    );
    let mut server = TestServer::start(ServerSpec {
        methods: vec!["eap-mschapv2", "mschapv2"],
        radius: Some(("[\"radius\"]", section)),
        network_extra: "routed_networks = [\"192.168.0.0/16\"]",
        ..ServerSpec::default()
    })
    .await;
    let builder = server
        .client()
        .password("frank", "frank-pass")
        .auth_methods([AuthMethod::EapMsChapV2]);
    let mut call = bring_up(builder, "frank").await;
    assert_eq!(call.up.local.octets()[..3], [10, 78, 0], "{:?}", call.up);
    assert_eq!(
        call.up.dns,
        vec![Ipv4Addr::new(192, 0, 2, 53), Ipv4Addr::new(192, 0, 2, 54)]
    );
    // Framed-Route 192.168.77.0/24 is inside routed_networks: routed to
    // frank, and frank may send from it. 172.16.9.0/24 is not: refused.
    let behind = Ipv4Addr::new(192, 168, 77, 5);
    let down = ipv4(SERVER_TUN_IP, behind, b"to the network behind frank");
    server
        .tun
        .inject(&down)
        .await
        .expect("inject at the server");
    let got = observe_until(&mut call.device, |p| {
        carries(p, b"to the network behind frank")
    })
    .await;
    assert_eq!(got, down);
    let up = ipv4(behind, SERVER_TUN_IP, b"from behind frank");
    call.device.inject(&up).await.expect("inject at the client");
    observe_until(&mut server.tun, |p| carries(p, b"from behind frank")).await;
    let spoofed = ipv4(Ipv4Addr::new(172, 16, 9, 5), SERVER_TUN_IP, b"spoofed");
    call.device
        .inject(&spoofed)
        .await
        .expect("inject at the client");
    server
        .wait_for("the spoofed packet to be dropped", |s| {
            s.metric("sstp_dropped_packets_total{reason=\"spoofed\"}") >= 1.0
        })
        .await;
    // Two idle seconds end it.
    let started = std::time::Instant::now();
    let mut seen = Vec::new();
    wait_event(&mut call.tunnel, &mut seen, |e| match e {
        TunnelEvent::Down { reason, .. } => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert!(started.elapsed() >= Duration::from_millis(1500));
    server.wait_idle().await;
}

#[tokio::test]
async fn the_first_server_down_fails_over_to_freeradius_and_healthz_follows() {
    let dir = tempfile::tempdir().expect("tmp");
    let Some(mut radius) = freeradius(&dir) else {
        return;
    };
    // Bound and silent: requests to it time out.
    let dead = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("udp");
    let section = format!(
        r#"
        [radius]
        accounting = false
        dead_time = "1h"
        [[radius.server]]
        name = "down"
        address = "127.0.0.1"
        auth_port = {dead}
        acct_port = 0
        secret = "whatever"
        timeout = "300ms"
        retries = 1
        [[radius.server]]
        name = "freeradius"
        address = "127.0.0.1"
        auth_port = {auth}
        acct_port = 0
        secret = "{secret}"
        timeout = "1s"
        retries = 1
        "#,
        dead = dead.local_addr().expect("addr").port(),
        auth = radius.auth_addr().port(),
        secret = radius.secret(),
    );
    let server = TestServer::start(ServerSpec {
        methods: vec!["mschapv2"],
        radius: Some(("[\"radius\"]", section)),
        metrics_listener: true,
        ..ServerSpec::default()
    })
    .await;
    assert_eq!(server.healthz().await, 200);
    let builder = server
        .client()
        .password("alice", "alice-pass")
        .auth_methods([AuthMethod::MsChapV2]);
    let call = bring_up(builder, "failover").await;
    call.tunnel.disconnect().await.expect("clean disconnect");
    assert_eq!(
        server.metric_opt("sstp_radius_server_up{server=\"down\"}"),
        Some(0.0)
    );
    assert_eq!(server.healthz().await, 200, "one server answers");
    // Both down: new logins cannot work here, so balancers should look
    // elsewhere.
    radius.stop().expect("stop FreeRADIUS");
    let (tun, _device) = client_tun("both-down");
    let _ = within(
        "a login with no RADIUS server",
        server
            .client()
            .password("alice", "alice-pass")
            .auth_methods([AuthMethod::MsChapV2])
            .connect_with(tun, system()),
    )
    .await
    .expect_err("nobody answers");
    assert_eq!(server.healthz().await, 503);
    drop(dead);
}

#[tokio::test]
async fn a_reload_swaps_the_radius_servers_and_rereads_their_secrets() {
    let dir = tempfile::tempdir().expect("tmp");
    let Some(radius) = freeradius(&dir) else {
        return;
    };
    let secret_file = dir.path().join("radius.secret");
    std::fs::write(&secret_file, "not the secret\n").expect("secret");
    let section = |port: u16| {
        format!(
            r#"
            [radius]
            accounting = false
            [[radius.server]]
            name = "freeradius"
            address = "127.0.0.1"
            auth_port = {port}
            acct_port = 0
            secret_file = "{file}"
            timeout = "300ms"
            retries = 1
            "#,
            file = secret_file.display(),
        )
    };
    let settings = |port: u16| {
        sstp_server::Config::from_toml(&section(port))
            .expect("config")
            .radius
            .expect("[radius]")
    };
    let server = TestServer::start(ServerSpec {
        methods: vec!["mschapv2"],
        radius: Some(("[\"radius\"]", section(radius.auth_addr().port()))),
        metrics_listener: true,
        ..ServerSpec::default()
    })
    .await;
    let login = || {
        let (tun, device) = client_tun("reload");
        let connect = server
            .client()
            .password("alice", "alice-pass")
            .auth_methods([AuthMethod::MsChapV2])
            .connect_with(tun, system());
        async move { (within("a login", connect).await, device) }
    };
    // The wrong secret: FreeRADIUS's answers do not verify, so none count.
    let (refused, _device) = login().await;
    assert!(refused.is_err(), "logged in with the wrong secret");
    let backend = server.radius.clone().expect("a RADIUS backend");
    let reload = |settings: sstp_server::RadiusSettings| {
        let backend = Arc::clone(&backend);
        tokio::task::spawn_blocking(move || backend.reload(&settings))
    };
    // Same settings, same secret: nothing to do.
    let unchanged = reload(settings(radius.auth_addr().port()))
        .await
        .expect("task")
        .expect("reload");
    assert!(!unchanged, "nothing changed");
    // The right secret in the same file: a reload reads it again.
    std::fs::write(&secret_file, format!("{}\n", radius.secret())).expect("secret");
    let changed = reload(settings(radius.auth_addr().port()))
        .await
        .expect("task")
        .expect("reload");
    assert!(changed, "the secret changed");
    let (call, _device) = login().await;
    call.expect("logged in after the reload")
        .disconnect()
        .await
        .expect("disconnect");
    // A secret file that cannot be read: the running servers stay.
    let mut broken = settings(radius.auth_addr().port());
    let missing = dir.path().join("missing.secret");
    broken.servers[0].secret_file = Some(missing);
    let err = reload(broken).await.expect("task").expect_err("unreadable");
    assert!(err.to_string().contains("missing.secret"), "{err}");
    let (call, _device) = login().await;
    call.expect("the old servers still serve")
        .disconnect()
        .await
        .expect("disconnect");
}

#[tokio::test]
async fn an_admin_disconnect_and_a_replaced_session_say_why_in_their_stop() {
    let dir = tempfile::tempdir().expect("tmp");
    let Some(radius) = freeradius(&dir) else {
        return;
    };
    let server = TestServer::start(ServerSpec {
        methods: vec!["mschapv2"],
        radius: Some(("[\"radius\"]", radius_with(&radius, "accounting = true"))),
        ..ServerSpec::default()
    })
    .await;
    let connect = |user: &'static str, password: &'static str| {
        server
            .client()
            .password(user, password)
            .auth_methods([AuthMethod::MsChapV2])
    };
    let down = |call: Call| async move {
        // The device too, held until the call is down.
        let Call {
            mut tunnel, device, ..
        } = call;
        let mut seen = Vec::new();
        let reason = wait_event(&mut tunnel, &mut seen, |e| match e {
            TunnelEvent::Down { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .await;
        drop(device);
        reason
    };
    let stop_cause = |records: &[sstp_testkit::DetailRecord]| {
        records
            .iter()
            .rev()
            .find(|r| r.get("Acct-Status-Type") == Some("Stop"))
            .and_then(|r| r.get("Acct-Terminate-Cause"))
            .map(str::to_owned)
    };

    // The control socket's disconnect (here through the handle it serves).
    let call = bring_up(connect("carol", "carol-pass"), "carol-admin").await;
    let ended = server
        .handle
        .disconnect(&sstp_server::SessionFilter::user("carol"))
        .await;
    assert_eq!(ended.len(), 1, "{ended:?}");
    println!("carol's call ended: {}", down(call).await);
    let stop = records_of(&radius, "carol", STEP, |r| kinds(r).contains(&"Stop")).await;
    assert_eq!(stop_cause(&stop).as_deref(), Some("Admin-Reset"));

    // One session per user, the oldest replaced: a live reload turns it on.
    let mut config = (*server.handle.config()).clone();
    config.limits.max_sessions_per_user = 1;
    config.limits.user_limit_action = sstp_server::UserLimitAction::ReplaceOldest;
    let report = server.handle.apply_config(config);
    assert_eq!(
        report.applied,
        ["limits.max_sessions_per_user", "limits.user_limit_action"]
    );
    let first = bring_up(connect("alice", "alice-pass"), "alice-1").await;
    let second = bring_up(connect("alice", "alice-pass"), "alice-2").await;
    println!("alice's first call ended: {}", down(first).await);
    let stop = records_of(&radius, "alice", STEP, |r| kinds(r).contains(&"Stop")).await;
    assert_eq!(stop_cause(&stop).as_deref(), Some("Port-Preempted"));
    second.tunnel.disconnect().await.expect("disconnect");
    server.wait_idle().await;
}
