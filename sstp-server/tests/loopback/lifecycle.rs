//! Sessions ending every way, certificate reload, graceful shutdown.

use sstp_core::CloseReason;

use crate::support::*;

#[tokio::test]
async fn leases_return_after_disconnect_and_after_abrupt_close() {
    let server = TestServer::start().await;
    let client = server.client().connect().await.expect("client");
    let first = client.ipv4;
    assert_eq!(server.handle.leases_in_use(), (1, 1));
    let end = client.close().await;
    assert_eq!(end.reason, Some(CloseReason::LocalClose));
    server
        .wait_for("lease back after Call Disconnect", |s| {
            s.handle.leases_in_use() == (0, 0)
        })
        .await;
    assert_eq!(server.metric("sstp_ipv4_leases"), 0.0);

    // The TCP connection vanishes without a word.
    let client = server.client().connect().await.expect("client");
    assert_ne!(client.ipv4, first, "next-fit: not the address just freed");
    assert_eq!(server.handle.leases_in_use(), (1, 1));
    client.abort();
    server
        .wait_for("lease back after an abrupt close", |s| {
            s.handle.leases_in_use() == (0, 0) && s.handle.routes() == (0, 0)
        })
        .await;
    assert_eq!(server.metric("sstp_session_ends_total{kind=\"lost\"}"), 1.0);
    assert_eq!(server.handle.active_sessions(), 0);
}

/// SIGHUP's reload (called directly): sessions that are up stay up and keep
/// working; new clients get the new certificate (and must trust it).
#[tokio::test]
async fn certificate_reload_keeps_existing_sessions() {
    let mut server = TestServer::start().await;
    let mut before = server.client().connect().await.expect("before");
    let old_ca = server.pki.ca.clone();
    let old_fingerprint = server.handle.tls_fingerprint();
    let new_pki = Pki::new("sstp-rs second CA");
    let fingerprint = server
        .handle
        .reload_tls(new_pki.identity())
        .expect("reload");
    assert_ne!(fingerprint, old_fingerprint);
    assert_eq!(server.handle.tls_fingerprint(), fingerprint);

    // The old session carries on.
    before.send(ipv4(before.ipv4, LAB_HOST, b"still here"));
    assert_eq!(&server.observe().await[20..], b"still here");
    server
        .tun
        .inject(&ipv4(LAB_HOST, before.ipv4, b"hello again"))
        .await
        .expect("inject");
    assert_eq!(&before.recv().await[20..], b"hello again");

    // New clients see the new certificate: the old CA no longer works, the
    // new one does, and the crypto binding uses the new leaf's hash.
    let mut stale = server.client();
    stale.ca = old_ca;
    assert!(stale.connect().await.is_err());
    let mut fresh = server.client();
    fresh.ca = new_pki.ca.clone();
    let after = fresh.connect().await.expect("after reload");
    assert_eq!(server.metric("sstp_tls_reloads_total"), 1.0);
    after.close().await;
    before.close().await;
}

/// SIGHUP with a bad new certificate (here an expired one): the reload is
/// refused with the reason, the old certificate stays, clients still connect.
#[tokio::test]
async fn a_reload_with_a_bad_certificate_keeps_the_old_one() {
    let server = TestServer::start().await;
    let old_fingerprint = server.handle.tls_fingerprint();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    params.not_before = time::OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("time");
    params.not_after = time::OffsetDateTime::from_unix_timestamp(1_750_000_000).expect("time");
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("cert");
    let expired =
        sstp_server::TlsIdentity::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())
            .expect("parses");
    let err = server
        .handle
        .reload_tls(expired)
        .expect_err("an expired certificate is refused");
    assert_eq!(
        err.to_string(),
        "certificate: the certificate for rcgen self signed cert expired on 2025-06-15 15:06 UTC; renew it (sstp-server gen-cert makes a self-signed one), then send SIGHUP"
    );
    assert_eq!(server.handle.tls_fingerprint(), old_fingerprint);
    assert_eq!(server.metric("sstp_tls_reloads_total"), 0.0);
    let client = server
        .client()
        .connect()
        .await
        .expect("the old certificate still serves");
    client.close().await;
}

/// SIGTERM's shutdown: every client gets a Call Disconnect and `run`
/// returns within the grace period; nothing is left behind.
#[tokio::test]
async fn graceful_shutdown_sends_call_disconnect() {
    let mut server = TestServer::start().await;
    let a = server.client().connect().await.expect("a");
    let b = server.client().connect().await.expect("b");
    server.shutdown().await.expect("run returns Ok");
    for client in [a, b] {
        let end = client.ended().await;
        assert!(
            end.saw_call_disconnect(),
            "Call Disconnect (0x0006) among {:04x?}",
            end.control_types
        );
        assert!(
            !matches!(end.reason, Some(CloseReason::TransportClosed) | None),
            "a clean end, not a dropped connection: {:?}",
            end.reason
        );
    }
    assert_eq!(server.handle.leases_in_use(), (0, 0));
    assert_eq!(server.handle.active_sessions(), 0);
    // The port is closed.
    assert!(tls_connect(server.addr, &server.pki.ca).await.is_err());
}

/// Several listen addresses, IPv4 and IPv6, on one server.
#[tokio::test]
async fn listens_on_ipv4_and_ipv6() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        println!("skipped: no IPv6 loopback here");
        return;
    }
    let mut config = test_config();
    config.listen = vec![
        "127.0.0.1:0".parse().expect("addr"),
        "[::1]:0".parse().expect("addr"),
    ];
    let server = TestServer::start_with(config).await;
    let addrs = server.local_addrs.clone();
    assert_eq!(addrs.len(), 2);
    assert!(addrs[1].is_ipv6());
    for addr in addrs {
        let mut opts = server.client();
        opts.addr = addr;
        let client = opts.connect().await.expect("connects on every address");
        client.close().await;
    }
}

/// Shutdown is bounded even with peers that never answer: a client stuck
/// before the Call Connect Request and one that stopped reading.
#[tokio::test]
async fn shutdown_is_bounded_with_peers_that_never_answer() {
    use tokio::io::AsyncWriteExt;
    let mut server = TestServer::start().await;
    let good = server.client().connect().await.expect("good");
    let mut stuck = tls_connect(server.addr, &server.pki.ca).await.expect("TLS");
    stuck.write_all(&sstp_request()).await.expect("write");
    server
        .wait_for("the stuck peer is a session", |s| {
            s.metric("sstp_connections_unauthenticated") == 1.0
        })
        .await;
    let started = tokio::time::Instant::now();
    server.shutdown().await.expect("run returns");
    // shutdown_grace is 3 s in the test config; allow slack for a busy box.
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    let (_, closed) = read_until_closed(&mut stuck, STEP).await;
    assert!(closed, "the stuck peer's connection is closed");
    assert!(good.ended().await.saw_call_disconnect());
    assert_eq!(server.handle.leases_in_use(), (0, 0));
}

/// TLS 1.2 (Windows 10) and 1.3 both work by default; `min_version = "1.3"`
/// refuses 1.2.
#[tokio::test]
async fn tls_12_and_13() {
    let server = TestServer::start().await;
    for versions in [TLS12_ONLY, TLS13_AND_12] {
        let tls = tls_connect_with(server.addr, &server.pki.ca, versions)
            .await
            .expect("handshake");
        let negotiated = tls.get_ref().1.protocol_version().expect("version");
        assert_eq!(negotiated, versions[0].version);
        let mut opts = server.client();
        opts.tls_versions = versions;
        opts.connect().await.expect("SSTP over it").close().await;
    }
    let mut config = test_config();
    config.tls.min_version = sstp_server::TlsVersion::Tls13;
    let strict = TestServer::start_with(config).await;
    assert!(
        tls_connect_with(strict.addr, &strict.pki.ca, TLS12_ONLY)
            .await
            .is_err()
    );
    tls_connect_with(strict.addr, &strict.pki.ca, TLS13_AND_12)
        .await
        .expect("1.3 still works");
}

/// Shutdown with a session up is prompt: the client gets its LCP Terminate
/// and Call Disconnect at once and answers, and `run` returns.
#[tokio::test]
async fn shutdown_with_a_session_up_is_prompt() {
    let mut server = TestServer::start().await;
    let client = server.client().connect().await.expect("client");
    let started = tokio::time::Instant::now();
    server.shutdown().await.expect("run returns Ok");
    let took = started.elapsed();
    assert!(client.ended().await.saw_call_disconnect());
    assert!(
        took < std::time::Duration::from_secs(1),
        "shutdown with one session took {took:?}"
    );
}

/// A client that hung (connected, reading, answering nothing) does not hold
/// shutdown up for the teardown timers or `limits.shutdown_grace` (3 s in
/// the test config): the server closes its TLS after a short bound and
/// `run` returns well within a second.
#[tokio::test]
async fn shutdown_does_not_wait_for_a_client_that_stopped_answering() {
    let mut server = TestServer::start().await;
    let client = server.client().connect().await.expect("client");
    client.mute();
    let started = tokio::time::Instant::now();
    server.shutdown().await.expect("run returns Ok");
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_secs(1),
        "shutdown with a hung client took {took:?}"
    );
    let end = client.ended().await;
    assert_eq!(
        end.reason,
        Some(CloseReason::TransportClosed),
        "the server closed the connection"
    );
    assert_eq!(server.handle.leases_in_use(), (0, 0));
    assert_eq!(server.handle.active_sessions(), 0);
}
