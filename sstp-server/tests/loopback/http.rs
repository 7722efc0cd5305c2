//! The other requests on the SSTP port: health, metrics, and errors that
//! answer rather than hang.

use tokio::io::AsyncWriteExt;

use crate::support::*;

/// `/healthz` on the SSTP port; `/metrics` only on its own listener
/// (`http.metrics_listen`): the SSTP port answers it like any unknown path.
#[tokio::test]
async fn healthz_on_the_tls_port_metrics_on_their_own_listener() {
    let server = TestServer::start().await;
    let client = server.client().connect().await.expect("a session");

    let health = http_request(&server, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    assert!(health.starts_with("HTTP/1.1 200 OK\r\n"), "{health}");
    assert!(health.ends_with("\r\n\r\nok\n"), "{health}");

    let on_vpn_port =
        http_request(&server, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    assert!(
        on_vpn_port.starts_with("HTTP/1.1 404 Not Found\r\n"),
        "{on_vpn_port}"
    );
    assert!(!on_vpn_port.contains("sstp_"), "{on_vpn_port}");

    let metrics_addr = server.metrics_addr.expect("metrics listener");
    assert!(metrics_addr.ip().is_loopback());
    assert!(!server.local_addrs.contains(&metrics_addr));
    let metrics = plain_http_request(
        metrics_addr,
        "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n",
    )
    .await;
    assert!(metrics.starts_with("HTTP/1.1 200 OK\r\n"), "{metrics}");
    assert!(metrics.contains("text/plain; version=0.0.4"), "{metrics}");
    let body = metrics.split("\r\n\r\n").nth(1).expect("body");
    assert_eq!(metric_value(body, "sstp_sessions_active"), 1.0);
    for family in [
        "sstp_tunnel_bytes_total",
        "sstp_tunnel_packets_total",
        "sstp_dropped_packets_total",
        "sstp_auth_failures_total",
        "sstp_handshake_seconds_bucket",
        "sstp_sessions_total",
        "sstp_tcp_probes_total",
    ] {
        assert!(body.contains(family), "{family} missing");
    }
    assert!(metric_value(body, "sstp_handshake_seconds_count") >= 1.0);
    let other = plain_http_request(metrics_addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(other.starts_with("HTTP/1.1 404"), "{other}");
    client.close().await;
}

/// `http.metrics = false`: no metrics listener at all.
#[tokio::test]
async fn metrics_can_be_turned_off() {
    let mut config = test_config();
    config.http.metrics = false;
    let server = TestServer::start_with(config).await;
    assert_eq!(server.metrics_addr, None);
    let on_vpn_port = http_request(&server, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(on_vpn_port.starts_with("HTTP/1.1 404"), "{on_vpn_port}");
}

#[tokio::test]
async fn other_requests_get_404_or_405_not_a_hang() {
    let server = TestServer::start().await;
    for (request, status) in [
        ("GET / HTTP/1.1\r\nHost: x\r\n\r\n", "404"),
        ("GET /nothing/here HTTP/1.1\r\nHost: x\r\n\r\n", "404"),
        (
            "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
            "405",
        ),
        (
            "GET /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\nHost: x\r\n\r\n",
            "405",
        ),
        (
            "SSTP_DUPLEX_POST /not-sstp/ HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551615\r\n\r\n",
            "404",
        ),
        // HTTP/1.0 SSTP request: wrong version (MS-SSTP 4.1).
        (
            "SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.0\r\n\r\n",
            "505",
        ),
    ] {
        let response = http_request(&server, request).await;
        let first = response.lines().next().unwrap_or_default();
        assert!(
            first.starts_with(&format!("HTTP/1.1 {status}")),
            "{request:?} got {first:?}"
        );
    }
    let sstp_path_405 = http_request(
        &server,
        "GET /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    assert!(
        sstp_path_405
            .to_ascii_lowercase()
            .contains("allow: sstp_duplex_post")
    );
}

#[tokio::test]
async fn an_http_head_split_across_records_is_replayed_whole_to_hyper() {
    let server = TestServer::start().await;
    let mut tls = tls_connect(server.addr, &server.pki.ca).await.expect("TLS");
    // The sniff decides on the request line; hyper must still see it all.
    for part in ["GET /hea", "lthz HTTP/1.1\r\n", "Host: x\r\n", "\r\n"] {
        tls.write_all(part.as_bytes()).await.expect("write");
        tls.flush().await.expect("flush");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (bytes, closed) = read_until_closed(&mut tls, STEP).await;
    assert!(closed);
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
}
