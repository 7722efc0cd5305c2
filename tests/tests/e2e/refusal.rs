//! Refusals reach the person at the client: each way our server turns a
//! client away gives our client's library an error of the kind the CLI maps
//! to the exit code its help documents (Auth 5, Protocol 7, Unreachable 3,
//! see `exit_code` in sstp-client's binary) and the one sentence it prints.

use sstp_client::{AuthMethod, Error, ErrorKind, System};

use crate::auth::up_info;
use crate::support::*;

/// The first attempt's error of a client that must fail.
async fn refused(client: sstp_client::ClientBuilder) -> Error {
    let (tun, _handle) = client_tun("cli1");
    match within(
        "the refused connect",
        client.connect_with(tun, System::none()),
    )
    .await
    {
        Ok(_) => panic!("the connect was not refused"),
        Err(e) => {
            println!("error: {e}");
            e
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_pool_refuses_the_session_with_its_reason() {
    // A /30 has one client address.
    let mut server = TestServer::start(ServerSpec {
        ipv4_pool: "10.77.0.0/30",
        ..ServerSpec::default()
    })
    .await;
    let (tun, _handle) = client_tun("cli0");
    let mut first = within(
        "the first connect",
        server.client().connect_with(tun, System::none()),
    )
    .await
    .expect("the first client gets the pool's one address");
    up_info(&mut first).await;
    let err = refused(server.client()).await;
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert_eq!(
        err.to_string(),
        "the server refused the session: no address available: the server's address pool is exhausted"
    );
    server
        .wait_for("the refusal counted", |s| {
            s.metric_opt("sstp_session_ends_total{kind=\"refused\"}") == Some(1.0)
        })
        .await;
    within("the disconnect", first.disconnect())
        .await
        .expect("clean");
    server.wait_idle().await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_address_user_already_connected_is_refused_at_login() {
    let mut server = TestServer::start(ServerSpec {
        users: r#"
            [users.alice]
            password = "correct horse battery"
            ipv4 = "10.77.0.50"
        "#,
        methods: vec!["eap-mschapv2", "mschapv2", "pap"],
        ..ServerSpec::default()
    })
    .await;
    let mschapv2 = "authentication failed: the server refused this account: alice is already connected from another session (MS-CHAPv2 error 649)";
    // PAP carries the text alone (RFC 1334 2.2.3).
    let pap = "authentication failed: the server refused the login: alice is already connected from another session";
    for (method, expected) in [
        (AuthMethod::MsChapV2, mschapv2),
        (AuthMethod::EapMsChapV2, mschapv2),
        (AuthMethod::Pap, pap),
    ] {
        let (tun, _handle) = client_tun("cli0");
        let mut first = within(
            "the first connect",
            server
                .client_with(&[method])
                .connect_with(tun, System::none()),
        )
        .await
        .expect("the first session of alice");
        let (up, _) = up_info(&mut first).await;
        assert_eq!(up.local, std::net::Ipv4Addr::new(10, 77, 0, 50));
        let err = refused(server.client_with(&[method])).await;
        assert_eq!(err.kind(), ErrorKind::Auth, "{method}: {err}");
        assert_eq!(err.to_string(), expected, "{method}");
        // The first session is untouched and keeps its address.
        assert_eq!(server.handle.active_sessions(), 1);
        within("the disconnect", first.disconnect())
            .await
            .expect("clean");
        server.wait_idle().await;
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_common_authentication_method_is_an_authentication_error() {
    let mut server = TestServer::start(ServerSpec {
        methods: vec!["pap"],
        ..ServerSpec::default()
    })
    .await;
    let client = server.client_with(&[AuthMethod::MsChapV2, AuthMethod::EapMsChapV2]);
    let err = refused(client).await;
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert!(!err.is_retryable());
    assert_eq!(
        err.to_string(),
        "authentication failed: no authentication method in common with the server: the server asked for pap, and this client accepts only mschapv2, eap-mschapv2"
    );
    server.wait_idle().await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_connect_says_what_probably_happened() {
    // One new connection per source, then none for a long while.
    let mut server = TestServer::start(ServerSpec {
        per_source: (0.001, 1),
        ..ServerSpec::default()
    })
    .await;
    // The one connection the bucket allows.
    drop(
        tokio::net::TcpStream::connect(server.addr)
            .await
            .expect("TCP"),
    );
    server
        .wait_for("the first connection counted", |s| {
            s.metric("sstp_connections_total") >= 1.0
        })
        .await;
    let err = refused(server.client()).await;
    assert_eq!(err.kind(), ErrorKind::Unreachable, "{err}");
    assert!(err.is_retryable());
    assert_eq!(
        err.to_string(),
        "the server 127.0.0.1 closed the connection during the TLS handshake: it may be limiting new connections (try again shortly), or it is not an SSTP server"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_says_so() {
    let mut server = TestServer::start(ServerSpec::default()).await;
    for method in [AuthMethod::MsChapV2, AuthMethod::EapMsChapV2] {
        let client = server
            .client_with(&[method])
            .password(USER, "not the password");
        let err = refused(client).await;
        assert_eq!(err.kind(), ErrorKind::Auth, "{method}: {err}");
        assert_eq!(
            err.to_string(),
            "authentication failed: the server rejected the user name or password",
            "{method}"
        );
    }
    server.wait_idle().await;
    server.shutdown().await;
}
