//! IPv4 and IPv6 together: the server has an IPv6 pool, so IPv6CP opens
//! (the client learns its link-local address) and the server's Router
//! Advertisement gives the client a global address from its /64 (SLAAC,
//! RFC 4862); an IPv6 packet then crosses each way, as does an IPv4 one.

use std::net::Ipv6Addr;

use sstp_client::{System, TunnelEvent};

use crate::auth::{check_up, exchange_v4, up_info};
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dual_stack_with_slaac() {
    let mut server = TestServer::start(ServerSpec {
        ipv6: true,
        ..ServerSpec::default()
    })
    .await;
    let (tun, mut handle) = client_tun("cli6");
    let mut tunnel = within(
        "the connect",
        server.client().connect_with(tun, System::none()),
    )
    .await
    .expect("connect");
    let (up, _) = up_info(&mut tunnel).await;
    check_up(&up);

    // After Up (the client emits Ipv6Up with or after it, and SLAAC needs
    // the RA that answers its Router Solicitation): IPv6CP's link-local
    // address, then the global address from the RA.
    let mut link_local = None;
    let mut global = None;
    let mut seen = Vec::new();
    while link_local.is_none() || global.is_none() {
        match next_event(&mut tunnel).await {
            TunnelEvent::Ipv6Up { local, peer, .. } => {
                assert!(local.is_unicast_link_local(), "{local}");
                assert!(peer.is_some_and(|p| p.is_unicast_link_local()), "{peer:?}");
                link_local = Some(local);
            }
            TunnelEvent::Ipv6Address {
                address,
                prefix_len,
                router,
                ..
            } => {
                assert_eq!(prefix_len, 64);
                assert!(
                    router.is_unicast_link_local(),
                    "the RA comes from the link-local router"
                );
                global = Some(address);
            }
            other => seen.push(other),
        }
    }
    let (link_local, global) = (link_local.expect("set"), global.expect("set"));
    // The global address is in the server's pool fd00:77::/48 and keeps the
    // interface identifier IPv6CP negotiated (RFC 5072 + SLAAC).
    assert_eq!(global.segments()[..2], [0xfd00, 0x77], "{global}");
    assert_eq!(
        global.octets()[8..],
        link_local.octets()[8..],
        "{global} vs {link_local}"
    );
    assert_eq!(server.handle.leases_in_use(), (1, 1));

    // IPv6 client → server: to an address behind the server.
    let far = Ipv6Addr::new(0xfd00, 0x77, 0xffff, 0, 0, 0, 0, 1);
    let out = ipv6(global, far, b"six out");
    handle.inject(&out).await.expect("inject");
    let got = observe_until(&mut server.tun, |p| carries(p, b"six out")).await;
    assert_eq!(got, out);
    // IPv6 server → client: routed by the client's /64.
    let back = ipv6(far, global, b"six back");
    server.tun.inject(&back).await.expect("inject");
    let got = observe_until(&mut handle, |p| carries(p, b"six back")).await;
    assert_eq!(got, back);
    // IPv4 still works beside it.
    exchange_v4(&mut server, &mut handle, &up, b"four too").await;

    within("the disconnect", tunnel.disconnect())
        .await
        .expect("clean");
    server.wait_idle().await;
    server.shutdown().await;
}
