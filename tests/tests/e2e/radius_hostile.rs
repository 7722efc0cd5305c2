//! RADIUS failover and hostile RADIUS traffic, against servers of the
//! test's own made with the codec of sstp-radius (a real FreeRADIUS never
//! forges): the first configured server never answers, so logins fail
//! over to the second; the second answers every Access-Request first with
//! a forged answer (wrong secret), an unsigned one (no
//! Message-Authenticator), one for an identifier never sent, a truncated
//! and an oversized one, and the right answer from another port, and only
//! then with the right answer. Each is dropped and counted by reason, and
//! the session comes up.

use std::net::SocketAddr;
use std::time::Duration;

use sstp_client::AuthMethod;
use sstp_radius::{Code, Response, attr, verify_request};
use tokio::net::UdpSocket;

use crate::support::*;

const SECRET: &[u8] = b"hostile-test-secret";

/// A RADIUS server that accepts anyone with PAP, after its junk.
async fn hostile_server() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("udp");
    let other = UdpSocket::bind("127.0.0.1:0").await.expect("udp");
    let addr = socket.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                return;
            };
            let Ok(request) = verify_request(&buf[..n], SECRET) else {
                continue;
            };
            if request.code != Code::AccessRequest || request.get(attr::USER_NAME).is_none() {
                continue;
            }
            let good = Response::new(Code::AccessAccept)
                .encode(&request, SECRET)
                .expect("answer");
            let forged = Response::new(Code::AccessAccept)
                .encode(&request, b"not-the-secret")
                .expect("forged");
            let unsigned = Response::new(Code::AccessAccept)
                .without_message_authenticator()
                .encode(&request, SECRET)
                .expect("unsigned");
            let mut stranger = good.clone();
            stranger[1] = stranger[1].wrapping_add(101);
            let truncated = good[..10].to_vec();
            let mut oversized = good.clone();
            oversized[2..4].copy_from_slice(&5000u16.to_be_bytes());
            for junk in [&forged, &unsigned, &stranger, &truncated, &oversized] {
                let _ = socket.send_to(junk, from).await;
            }
            let _ = other.send_to(&good, from).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            let _ = socket.send_to(&good, from).await;
        }
    });
    addr
}

#[tokio::test]
async fn failover_past_a_dead_server_and_hostile_answers_are_dropped_and_counted() {
    // Bound and silent: requests to it time out.
    let dead = UdpSocket::bind("127.0.0.1:0").await.expect("udp");
    let dead_port = dead.local_addr().expect("addr").port();
    let hostile = hostile_server().await;
    let secret = String::from_utf8_lossy(SECRET).into_owned();
    let section = format!(
        r#"
        [radius]
        accounting = false
        status_server = false
        [[radius.server]]
        name = "dead"
        address = "127.0.0.1"
        auth_port = {dead_port}
        acct_port = 0
        secret = "{secret}"
        timeout = "300ms"
        retries = 1
        [[radius.server]]
        name = "hostile"
        address = "127.0.0.1"
        auth_port = {port}
        acct_port = 0
        secret = "{secret}"
        timeout = "2s"
        retries = 1
        "#,
        port = hostile.port(),
    );
    let server = TestServer::start(ServerSpec {
        methods: vec!["pap"],
        radius: Some(("[\"radius\"]", section)),
        ..ServerSpec::default()
    })
    .await;
    for round in 0..2 {
        let (tun, _device) = client_tun(&format!("hostile{round}"));
        let mut tunnel = within(
            "a connect through the hostile server",
            server
                .client()
                .password("mallory", "anything")
                .auth_methods([AuthMethod::Pap])
                .connect_with(
                    tun,
                    sstp_client::System::new(
                        std::sync::Arc::new(sstp_client::routes::RecordingRoutes::new(None)),
                        std::sync::Arc::new(sstp_client::dns::RecordingDns::new()),
                    ),
                ),
        )
        .await
        .expect("the session comes up despite the junk");
        let mut seen = Vec::new();
        wait_event(&mut tunnel, &mut seen, |e| match e {
            sstp_client::TunnelEvent::Up(_) => Some(()),
            _ => None,
        })
        .await;
        tunnel.disconnect().await.expect("clean disconnect");
        server.wait_idle().await;
    }
    let text = server.handle.metrics_text();
    for (reason, server_name) in [
        ("bad_authenticator", "hostile"),
        ("no_message_authenticator", "hostile"),
        ("unknown_identifier", "hostile"),
        ("malformed", "hostile"),
        ("unknown_source", "unknown"),
    ] {
        let series =
            format!("sstp_radius_dropped_total{{server=\"{server_name}\",reason=\"{reason}\"}}");
        let n = sstp_testkit::metric(&text, &series).unwrap_or(0.0);
        assert!(n >= 2.0, "{series} = {n}:\n{text}");
    }
    // The dead server was tried, timed out and is skipped now.
    assert!(
        sstp_testkit::metric(&text, "sstp_radius_timeouts_total{server=\"dead\"}").unwrap_or(0.0)
            >= 1.0,
        "{text}"
    );
    assert_eq!(
        sstp_testkit::metric(&text, "sstp_radius_server_up{server=\"dead\"}"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sstp_testkit::metric(&text, "sstp_radius_server_up{server=\"hostile\"}"),
        Some(1.0)
    );
    drop(dead);
}
