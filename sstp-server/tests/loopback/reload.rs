//! Live configuration: a reload changes what new sessions get and the
//! limits at once, keeps what needs a restart, and the sessions up keep
//! what they negotiated; the per-user session limit.

use std::net::Ipv4Addr;

use sstp_core::{AuthMethod, CloseReason};
use sstp_server::{Config, UserLimitAction};

use crate::support::*;

/// `test_config` with `edit` applied.
fn edited(edit: impl FnOnce(&mut Config)) -> Config {
    let mut config = test_config();
    edit(&mut config);
    config
}

/// A client that offers MS-CHAPv2 only.
fn mschapv2(server: &TestServer) -> ClientOptions {
    server.client().methods(&[AuthMethod::MsChapV2])
}

/// The first test's reloaded configuration: its DNS, MS-CHAPv2 only, and
/// `max_sessions`.
fn reloaded(dns: Ipv4Addr, max_sessions: usize) -> Config {
    edited(|c| {
        c.network.dns = vec![dns];
        c.auth.methods = vec![AuthMethod::MsChapV2];
        c.limits.max_sessions = max_sessions;
    })
}

#[tokio::test]
async fn a_reload_applies_dns_methods_and_limits_to_new_sessions_only() {
    let mut server = TestServer::start().await;
    let before = server.client().connect().await.expect("before");
    assert_eq!(before.net.ipv4.dns, [Ipv4Addr::new(10, 77, 0, 1)]);

    let new_dns = Ipv4Addr::new(10, 77, 0, 53);
    let listen_before = server.handle.config().listen.clone();
    let mut first = reloaded(new_dns, test_config().limits.max_sessions);
    first.listen = vec!["127.0.0.1:1".parse().expect("addr")];
    let report = server.handle.apply_config(first);
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.applied, ["network.dns", "auth.methods"]);
    assert_eq!(
        report.needs_restart,
        ["listen: the listening sockets are bound at start"]
    );
    assert_eq!(server.handle.config().listen, listen_before, "kept running");

    // New sessions: the new DNS; a method no longer offered fails.
    let after = server
        .client()
        .methods(&[AuthMethod::MsChapV2])
        .connect()
        .await
        .expect("after");
    assert_eq!(after.net.ipv4.dns, [new_dns]);
    let refused = server
        .client()
        .methods(&[AuthMethod::EapMsChapV2])
        .connect()
        .await
        .err()
        .expect("EAP-MSCHAPv2 is no longer offered");
    assert!(refused.contains("session ended"), "{refused}");
    // max_sessions down to the two that are up.
    let report = server.handle.apply_config(reloaded(new_dns, 2));
    assert_eq!(report.applied, ["limits.max_sessions"]);
    let full = mschapv2(&server)
        .connect()
        .await
        .err()
        .expect("over the new max_sessions");
    assert!(full.contains("503"), "{full}");

    // The session from before keeps its settings and works.
    assert_eq!(before.net.ipv4.dns, [Ipv4Addr::new(10, 77, 0, 1)]);
    before.send(ipv4(before.ipv4, LAB_HOST, b"still here"));
    assert_eq!(&server.observe().await[20..], b"still here");

    // A configuration that does not validate changes nothing.
    let report = server
        .handle
        .apply_config(edited(|c| c.network.session_queue = 0));
    assert!(!report.ok());
    assert!(
        report.errors[0].contains("the running configuration stays"),
        "{report:?}"
    );
    assert_eq!(server.handle.config().network.dns, [new_dns]);
    assert_eq!(
        server.metric("sstp_config_reloads_total{result=\"failed\"}"),
        1.0
    );
    assert_eq!(
        server.metric("sstp_config_reloads_total{result=\"ok\"}"),
        2.0
    );

    // Room again: max_sessions up, the next one comes in.
    let report = server.handle.apply_config(reloaded(new_dns, 10));
    assert_eq!(report.applied, ["limits.max_sessions"]);
    let third = mschapv2(&server).connect().await.expect("room again");
    drop((third, after));
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn the_per_user_limit_refuses_or_replaces_the_oldest() {
    let server = TestServer::start_with(edited(|c| {
        c.limits.max_sessions_per_user = 1;
    }))
    .await;
    let first = server.client().connect().await.expect("first");
    let refused = server
        .client()
        .connect()
        .await
        .err()
        .expect("a second session of alice");
    assert!(refused.contains("session ended"), "{refused}");
    // Another user is not counted against alice.
    let carol = server.carol().connect().await.expect("carol");

    // Replace the oldest: the new one comes up, the old one is ended.
    server.handle.apply_config(edited(|c| {
        c.limits.max_sessions_per_user = 1;
        c.limits.user_limit_action = UserLimitAction::ReplaceOldest;
    }));
    let second = server.client().connect().await.expect("replaces the first");
    let end = first.ended().await;
    assert!(
        matches!(end.reason, Some(CloseReason::PeerTerminated { .. })) || end.saw_call_disconnect(),
        "{end:?}"
    );
    server
        .wait_for("one alice and carol", |s| s.handle.active_sessions() == 2)
        .await;
    drop((second, carol));
}

#[tokio::test]
async fn users_removed_from_the_users_file_lose_their_sessions() {
    let server = TestServer::start().await;
    let alice = server.client().connect().await.expect("alice");
    let carol = server.carol().connect().await.expect("carol");
    // What the binary does after reading the users file again.
    assert_eq!(server.handle.end_sessions_of(&["alice".to_owned()]), 1);
    let end = alice.ended().await;
    assert!(end.saw_call_disconnect(), "{end:?}");
    server
        .wait_for("carol alone", |s| s.handle.active_sessions() == 1)
        .await;
    assert_eq!(server.handle.end_sessions_of(&["nobody".to_owned()]), 0);
    drop(carol);
}
