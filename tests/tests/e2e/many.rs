//! Ten clients at once through one server: each gets its own address and
//! exchanges a packet with the server's TUN, and the server routes each
//! reply to the right client only.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use sstp_client::System;
use tokio::task::JoinSet;

use crate::auth::{check_up, up_info};
use crate::support::*;

const CLIENTS: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_clients_at_once() {
    let mut server = TestServer::start(ServerSpec::default()).await;
    let mut connects = JoinSet::new();
    for i in 0..CLIENTS {
        let builder = server.client();
        connects.spawn(async move {
            let (tun, handle) = client_tun(&format!("cli{i}"));
            let mut tunnel = builder
                .connect_with(tun, System::none())
                .await
                .unwrap_or_else(|e| panic!("client {i}: {e}"));
            let (up, _) = up_info(&mut tunnel).await;
            (i, tunnel, handle, up)
        });
    }
    let mut clients = Vec::new();
    while let Some(joined) = within("ten connects", connects.join_next()).await {
        clients.push(joined.expect("connect task"));
    }
    clients.sort_by_key(|c| c.0);
    let addrs: BTreeSet<_> = clients.iter().map(|c| c.3.local).collect();
    assert_eq!(addrs.len(), CLIENTS, "distinct addresses: {addrs:?}");
    for c in &clients {
        check_up(&c.3);
    }
    assert_eq!(server.handle.active_sessions(), CLIENTS as i64);
    assert_eq!(server.handle.leases_in_use().0, CLIENTS);

    // Every client sends at once; the server's TUN gets each, from the
    // right source.
    for (i, _, handle, up) in &clients {
        let marker = format!("from client {i}");
        handle
            .inject(&ipv4(up.local, SERVER_TUN_IP, marker.as_bytes()))
            .await
            .expect("inject");
    }
    let mut got: HashMap<String, IpAddr> = HashMap::new();
    while got.len() < CLIENTS {
        let p = observe_until(&mut server.tun, |p| p.first().is_some_and(|b| b >> 4 == 4)).await;
        let (src, _) = addresses(&p).expect("IPv4");
        let text = String::from_utf8_lossy(&p[20..]).into_owned();
        got.insert(text, src);
    }
    for (i, _, _, up) in &clients {
        assert_eq!(
            got.get(&format!("from client {i}")),
            Some(&IpAddr::V4(up.local)),
            "{got:?}"
        );
    }

    // The server answers each; each client gets its own reply only.
    for (i, _, _, up) in &clients {
        let marker = format!("to client {i}");
        server
            .tun
            .inject(&ipv4(SERVER_TUN_IP, up.local, marker.as_bytes()))
            .await
            .expect("inject");
    }
    for (i, _, handle, up) in &mut clients {
        let marker = format!("to client {i}");
        let p = observe_until(handle, |p| p.first().is_some_and(|b| b >> 4 == 4)).await;
        assert!(carries(&p, marker.as_bytes()), "client {i} got {p:?}");
        assert_eq!(addresses(&p).map(|a| a.1), Some(IpAddr::V4(up.local)));
    }

    // The TUN handles stay alive until every tunnel is down: a client whose
    // device vanished would (rightly) end with a TUN error.
    let mut ends = JoinSet::new();
    let mut handles = Vec::new();
    for (_, tunnel, handle, _) in clients {
        handles.push(handle);
        ends.spawn(tunnel.disconnect());
    }
    while let Some(end) = within("ten disconnects", ends.join_next()).await {
        end.expect("task").expect("clean disconnect");
    }
    drop(handles);
    server.wait_idle().await;
    assert_eq!(
        server.metric("sstp_session_ends_total{kind=\"normal\"}"),
        CLIENTS as f64
    );
    server.shutdown().await;
}
