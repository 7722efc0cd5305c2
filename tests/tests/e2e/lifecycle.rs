//! A server restart as the client lives it: the server shuts down
//! gracefully (every session gets Call Disconnect), the client reports
//! `Reconnecting`, a new server comes up on the same port, and the client
//! is `Up` again and carries traffic through the new server.

use std::time::Duration;

use sstp_client::{ReconnectPolicy, System, TunnelEvent};

use crate::auth::{exchange_v4, up_info};
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_a_server_restart() {
    let mut server = TestServer::start(ServerSpec::default()).await;
    let (tun, mut handle) = client_tun("cli0");
    let mut tunnel = within(
        "the connect",
        server
            .client()
            .reconnect(ReconnectPolicy {
                initial_delay: Duration::from_millis(100),
                max_delay: Duration::from_millis(400),
                jitter: 0.0,
                ..ReconnectPolicy::default()
            })
            .connect_with(tun, System::none()),
    )
    .await
    .expect("connect");
    let (first, _) = up_info(&mut tunnel).await;
    exchange_v4(&mut server, &mut handle, &first, b"before").await;

    server.restart().await;

    let mut seen = Vec::new();
    let reason = wait_event(&mut tunnel, &mut seen, |e| match e {
        TunnelEvent::Reconnecting {
            attempt, reason, ..
        } => {
            assert_eq!(*attempt, 1, "the first Reconnecting is attempt 1");
            Some(reason.clone())
        }
        TunnelEvent::Down { reason, .. } => panic!("the tunnel ended: {reason}"),
        _ => None,
    })
    .await;
    println!("lost because: {reason}");
    let again = wait_event(&mut tunnel, &mut seen, |e| match e {
        TunnelEvent::Up(up) => Some(up.clone()),
        TunnelEvent::Down { reason, .. } => panic!("the tunnel ended: {reason}"),
        _ => None,
    })
    .await;
    assert!(tunnel.is_up());
    assert!(tunnel.stats().reconnects >= 1, "{:?}", tunnel.stats());
    assert_eq!(
        server.handle.active_sessions(),
        1,
        "the new server has the session"
    );
    // Traffic flows through the new server.
    exchange_v4(&mut server, &mut handle, &again, b"after").await;

    within("the disconnect", tunnel.disconnect())
        .await
        .expect("clean");
    server.wait_idle().await;
    server.shutdown().await;
}
