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
        ..FreeRadiusOptions::default()
    };
    Some(FreeRadius::start(dir.path(), options).expect("FreeRADIUS starts"))
}

/// `[radius]` for `radius`, EAP relayed.
fn radius_section(radius: &FreeRadius) -> String {
    format!(
        r#"
        [radius]
        nas_identifier = "sstp-e2e"
        accounting = false
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
        methods: vec!["eap-tls", "eap-mschapv2", "mschapv2", "pap"],
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
    _device: MemTunHandle,
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
        _device: device,
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
