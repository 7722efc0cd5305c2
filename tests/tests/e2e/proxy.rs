//! The proxy path (MS-SSTP 4.5): the client reaches our server through an
//! HTTP CONNECT proxy; TLS runs end to end through it.

use sstp_client::{HttpProxy, ProxySetting, ServerAddr, System, TunnelEvent};

use crate::auth::{check_up, exchange_v4, up_info};
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_a_connect_proxy() {
    let mut server = TestServer::start(ServerSpec::default()).await;
    let proxy = ConnectProxy::start(None).await;
    let (tun, mut handle) = client_tun("cli0");
    let mut tunnel = within(
        "the connect",
        server
            .client()
            .proxy(ProxySetting::Http(HttpProxy::new(ServerAddr::new(
                "127.0.0.1",
                proxy.addr.port(),
            ))))
            .connect_with(tun, System::none()),
    )
    .await
    .expect("connect through the proxy");
    // The CONNECT named our server, and the TCP peer was the proxy.
    assert_eq!(
        proxy.targets(),
        vec![format!("127.0.0.1:{}", server.addr.port())]
    );
    let mut seen = Vec::new();
    let remote = wait_event(&mut tunnel, &mut seen, |e| match e {
        TunnelEvent::Connected { remote, .. } => Some(*remote),
        _ => None,
    })
    .await;
    assert_eq!(remote, Some(proxy.addr));
    let (up, _) = up_info(&mut tunnel).await;
    check_up(&up);
    exchange_v4(&mut server, &mut handle, &up, b"via proxy").await;
    within("the disconnect", tunnel.disconnect())
        .await
        .expect("clean");
    server.wait_idle().await;
    server.shutdown().await;
}
