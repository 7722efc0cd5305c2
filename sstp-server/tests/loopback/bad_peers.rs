//! Peers that break the rules are dropped (with bounded cost) while a good
//! session on the same server keeps working.

use std::time::Duration;

use sstp_core::wire::http::parse_response_head;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::support::*;

/// A server with one good session; `check` proves it still works.
struct Scene {
    server: TestServer,
    good: TestClient,
    round: u8,
}

impl Scene {
    async fn new() -> Self {
        Self::with_config(test_config()).await
    }

    async fn with_config(config: sstp_server::Config) -> Self {
        let server = TestServer::start_with(config).await;
        let good = server.client().connect().await.expect("good client");
        let mut scene = Self {
            server,
            good,
            round: 0,
        };
        scene.check().await;
        scene
    }

    /// One packet each way through the good session.
    async fn check(&mut self) {
        self.round += 1;
        let tag = [self.round; 8];
        self.good.send(ipv4(self.good.ipv4, LAB_HOST, &tag));
        let out = self.server.observe().await;
        assert_eq!(&out[20..], &tag, "good client's packet reached the TUN");
        self.server
            .tun
            .inject(&ipv4(LAB_HOST, self.good.ipv4, &tag))
            .await
            .expect("inject");
        assert_eq!(
            &self.good.recv().await[20..],
            &tag,
            "good client got its packet"
        );
    }

    async fn raw(&self) -> tokio_rustls::client::TlsStream<TcpStream> {
        tls_connect(self.server.addr, &self.server.pki.ca)
            .await
            .expect("TLS")
    }

    async fn finish(mut self) {
        self.check().await;
        self.good.close().await;
        self.server
            .wait_for("no lease leaked", |s| s.handle.leases_in_use() == (0, 0))
            .await;
        self.server
            .wait_for("no unauthenticated connection left", |s| {
                s.metric("sstp_connections_unauthenticated") == 0.0
            })
            .await;
    }
}

/// Splits what a raw SSTP peer read into the HTTP head and the SSTP bytes.
fn after_http_head(bytes: &[u8]) -> &[u8] {
    let head = parse_response_head(bytes)
        .expect("an HTTP response")
        .expect("a whole head");
    &bytes[head.consumed..]
}

#[tokio::test]
async fn garbage_after_the_handshake_is_dropped_without_a_word() {
    let scene = Scene::new().await;
    let mut tls = scene.raw().await;
    let mut bytes = sstp_request();
    bytes.extend_from_slice(b"\x99\x42 this is not SSTP at all \x00\xff");
    tls.write_all(&bytes).await.expect("write");
    let (read, closed) = read_until_closed(&mut tls, STEP).await;
    assert!(closed, "the server closes the connection");
    // MS-SSTP 3.1.5.1: a framing failure aborts without sending anything.
    assert_eq!(after_http_head(&read), b"", "nothing after the HTTP head");
    scene
        .server
        .wait_for("the end counted", |s| {
            s.metric("sstp_session_ends_total{kind=\"peer_malformed\"}") == 1.0
        })
        .await;
    scene.finish().await;
}

#[tokio::test]
async fn invalid_sstp_lengths_are_dropped() {
    let mut scene = Scene::new().await;
    // An oversized Call Connect Request: the largest SSTP packet (4095
    // bytes) where the message must be exactly 14 (MS-SSTP 2.2.9).
    let mut oversized = vec![0x10, 0x01, 0x0f, 0xff, 0, 1, 0, 1, 0, 1, 0, 6, 0, 1];
    oversized.resize(4095, 0);
    let cases: Vec<Vec<u8>> = vec![
        // Length 2: shorter than the header itself.
        vec![0x10, 0x01, 0x00, 0x02],
        oversized,
        // Version 2.0.
        vec![0x20, 0x01, 0x00, 0x0e, 0, 1, 0, 1, 0, 1, 0, 6, 0, 1],
        // A Call Connect Request whose attribute claims 4095 bytes.
        vec![0x10, 0x01, 0x00, 0x0e, 0, 1, 0, 1, 0, 1, 0x0f, 0xff, 0, 1],
    ];
    // All at once: some end with a Call Abort and its timers (3.1.2.1).
    let mut peers = tokio::task::JoinSet::new();
    for bad in cases {
        let mut tls = scene.raw().await;
        peers.spawn(async move {
            let mut bytes = sstp_request();
            bytes.extend_from_slice(&bad);
            tls.write_all(&bytes).await.expect("write");
            let (_, closed) = read_until_closed(&mut tls, STEP).await;
            assert!(closed, "{:02x?}: connection closed", &bad[..4]);
        });
    }
    while let Some(done) = peers.join_next().await {
        done.expect("bad peer task");
    }
    scene.check().await;
    let ends = scene
        .server
        .metric("sstp_session_ends_total{kind=\"peer_malformed\"}");
    assert_eq!(ends, 4.0);
    scene.finish().await;
}

#[tokio::test]
async fn a_client_that_never_finishes_the_http_head_is_timed_out() {
    let mut config = test_config();
    config.limits.http_head_timeout = Duration::from_secs(1);
    let scene = Scene::with_config(config).await;
    let mut tls = scene.raw().await;
    tls.write_all(
        b"SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\nHost: x\r\n",
    )
    .await
    .expect("write");
    let (read, closed) = read_until_closed(&mut tls, STEP).await;
    assert!(closed, "closed after limits.http_head_timeout");
    assert!(read.is_empty(), "no response to half a request");
    assert_eq!(
        scene
            .server
            .metric("sstp_rejected_connections_total{reason=\"http_head\"}"),
        1.0
    );
    scene.finish().await;
}

#[tokio::test]
async fn a_client_that_never_finishes_sstp_negotiation_is_timed_out() {
    let mut config = test_config();
    config.limits.negotiation_timeout = Duration::from_millis(1500);
    let scene = Scene::with_config(config).await;
    // One peer stops after the HTTP head, one after the Call Connect
    // Request (it never authenticates nor sends Call Connected).
    let mut quiet = scene.raw().await;
    quiet.write_all(&sstp_request()).await.expect("write");
    let mut half = scene.raw().await;
    let mut bytes = sstp_request();
    bytes.extend_from_slice(&[0x10, 0x01, 0x00, 0x0e, 0, 1, 0, 1, 0, 1, 0, 6, 0, 1]);
    half.write_all(&bytes).await.expect("write");
    let (q, q_closed) = read_until_closed(&mut quiet, STEP).await;
    let (h, h_closed) = read_until_closed(&mut half, STEP).await;
    assert!(q_closed && h_closed, "both closed by the negotiation timer");
    assert!(parse_response_head(&q).expect("HTTP").is_some());
    // The half-negotiated one got a Call Connect Ack (type 2) first.
    let sstp = after_http_head(&h);
    assert!(
        sstp.windows(2).any(|w| w == [0x00, 0x02]),
        "Call Connect Ack sent: {sstp:02x?}"
    );
    scene
        .server
        .wait_for("timeouts counted", |s| {
            s.metric("sstp_session_ends_total{kind=\"timeout\"}") == 2.0
        })
        .await;
    scene.finish().await;
}

#[tokio::test]
async fn ip_sent_before_call_connected_never_reaches_the_tun() {
    let mut scene = Scene::new().await;
    // An SSTP data packet with an IPv4 packet, sent right behind the HTTP
    // head, before the Call Connect Request (MS-SSTP 3.3.7.1: dropped).
    let early = ipv4(scene.good.ipv4, LAB_HOST, b"too early");
    let mut data = vec![0x10, 0x00, 0, 0, 0xff, 0x03, 0x00, 0x21];
    data.extend_from_slice(&early);
    let len = data.len() as u16;
    data[2..4].copy_from_slice(&len.to_be_bytes());
    let mut opts = scene.server.client();
    opts.inject_after_head = data;
    let eager = opts.connect().await.expect("the session still comes up");
    eager.send(ipv4(eager.ipv4, LAB_HOST, b"on time"));
    let first = scene.server.observe().await;
    assert_eq!(&first[20..], b"on time", "the early packet was dropped");
    eager.close().await;
    scene.finish().await;
}

#[tokio::test]
async fn not_tls_and_silent_peers_are_dropped() {
    let mut config = test_config();
    config.limits.tls_handshake_timeout = Duration::from_secs(2);
    let scene = Scene::with_config(config).await;
    let mut plain = TcpStream::connect(scene.server.addr).await.expect("tcp");
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let (_, closed) = read_until_closed(&mut plain, STEP).await;
    assert!(closed, "plain HTTP on the TLS port: closed");
    let mut silent = TcpStream::connect(scene.server.addr).await.expect("tcp");
    let (read, closed) = read_until_closed(&mut silent, STEP).await;
    assert!(
        closed && read.is_empty(),
        "closed after the TLS handshake timeout"
    );
    assert_eq!(
        scene
            .server
            .metric("sstp_rejected_connections_total{reason=\"tls_handshake\"}"),
        2.0
    );
    scene.finish().await;
}

/// A bare TCP probe (a load balancer's check: connect, close, no byte) is
/// counted as a probe, not as a failed TLS handshake; a real TLS failure
/// still is one.
#[tokio::test]
async fn tcp_probes_are_counted_apart_from_tls_failures() {
    let scene = Scene::new().await;
    for _ in 0..3 {
        drop(TcpStream::connect(scene.server.addr).await.expect("tcp"));
    }
    scene
        .server
        .wait_for("three probes counted", |s| {
            s.metric("sstp_tcp_probes_total") == 3.0
        })
        .await;
    let mut garbage = TcpStream::connect(scene.server.addr).await.expect("tcp");
    garbage
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let (_, closed) = read_until_closed(&mut garbage, STEP).await;
    assert!(closed);
    scene
        .server
        .wait_for("the bad handshake counted", |s| {
            s.metric("sstp_rejected_connections_total{reason=\"tls_handshake\"}") == 1.0
        })
        .await;
    assert_eq!(scene.server.metric("sstp_tcp_probes_total"), 3.0);
    scene.finish().await;
}

#[tokio::test]
async fn wrong_password_and_unknown_user_fail_cleanly() {
    let scene = Scene::new().await;
    let err = scene
        .server
        .client()
        .user(USER, "wrong")
        .connect()
        .await
        .err()
        .expect("refused");
    assert!(err.contains("AuthFailed"), "{err}");
    let err = scene
        .server
        .client()
        .user("mallory", "x")
        .connect()
        .await
        .err()
        .expect("refused");
    assert!(err.contains("AuthFailed"), "{err}");
    assert_eq!(scene.server.metric("sstp_auth_failures_total"), 2.0);
    // PAP is off unless the admin enables it.
    let err = scene
        .server
        .client()
        .methods(&[sstp_core::AuthMethod::Pap])
        .connect()
        .await
        .err()
        .expect("no PAP by default");
    assert!(!err.is_empty());
    assert_eq!(
        scene.server.handle.leases_in_use(),
        (1, 1),
        "only the good client's"
    );
    scene.finish().await;
}

#[tokio::test]
async fn per_source_rate_limit_and_unauthenticated_cap() {
    let mut config = test_config();
    config.limits.per_source_rate = 0.001;
    config.limits.per_source_burst = 3;
    let server = TestServer::start_with(config).await;
    let mut streams = Vec::new();
    for _ in 0..5 {
        streams.push(TcpStream::connect(server.addr).await.expect("tcp"));
    }
    server
        .wait_for("two refused", |s| {
            s.metric("sstp_rejected_connections_total{reason=\"rate_limited\"}") == 2.0
        })
        .await;
    drop(streams);

    let mut config = test_config();
    config.limits.max_unauthenticated = 2;
    let server = TestServer::start_with(config).await;
    let _a = TcpStream::connect(server.addr).await.expect("tcp");
    let _b = TcpStream::connect(server.addr).await.expect("tcp");
    server
        .wait_for("two pending", |s| {
            s.metric("sstp_connections_unauthenticated") == 2.0
        })
        .await;
    let mut c = TcpStream::connect(server.addr).await.expect("tcp");
    let (_, closed) = read_until_closed(&mut c, Duration::from_secs(1)).await;
    assert!(closed, "the third is closed at once");
    assert_eq!(
        server.metric("sstp_rejected_connections_total{reason=\"too_many_unauthenticated\"}"),
        1.0
    );
}

#[tokio::test]
async fn max_sessions_answers_503() {
    let mut config = test_config();
    config.limits.max_sessions = 1;
    let server = TestServer::start_with(config).await;
    let first = server.client().connect().await.expect("first");
    let err = server
        .client()
        .connect()
        .await
        .err()
        .expect("second refused");
    assert!(err.contains("503"), "{err}");
    first.close().await;
    server
        .wait_for("slot free", |s| s.handle.active_sessions() == 0)
        .await;
    server
        .client()
        .connect()
        .await
        .expect("room again")
        .close()
        .await;
}
