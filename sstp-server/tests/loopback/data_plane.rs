//! Addresses, routing, anti-spoofing, client-to-client, IPv6 and SLAAC.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use tokio::task::JoinSet;

use crate::support::*;

/// At least 100 clients at once: each gets its own address, receives
/// exactly the packet injected for it on the TUN, and what each sends
/// comes out of the TUN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_concurrent_clients_get_distinct_addresses_and_exchange_packets() {
    const CLIENTS: usize = 100;
    let mut server = TestServer::start().await;
    let mut connecting = JoinSet::new();
    for _ in 0..CLIENTS {
        let opts = server.client();
        connecting.spawn(async move { opts.connect().await });
    }
    let mut clients = Vec::new();
    while let Some(result) = connecting.join_next().await {
        clients.push(result.expect("task").expect("client connects"));
    }
    let addresses: HashSet<Ipv4Addr> = clients.iter().map(|c| c.ipv4).collect();
    assert_eq!(addresses.len(), CLIENTS, "every client has its own address");
    let pool: ipnet::Ipv4Net = "10.77.0.0/22".parse().expect("net");
    for client in &clients {
        assert!(pool.contains(&client.ipv4));
        assert_ne!(
            client.ipv4,
            Ipv4Addr::new(10, 77, 0, 1),
            "the server keeps .1"
        );
        assert_eq!(client.net.ipv4.peer, Some(Ipv4Addr::new(10, 77, 0, 1)));
        assert_eq!(
            client.net.ipv4.dns,
            [Ipv4Addr::new(10, 77, 0, 1)],
            "DNS via IPCP"
        );
        assert_eq!(client.net.mtu, 1400);
    }
    assert_eq!(server.handle.leases_in_use().0, CLIENTS);
    assert_eq!(server.handle.active_sessions(), CLIENTS as i64);

    // TUN → each client: exactly its own packet.
    for (i, client) in clients.iter().enumerate() {
        let payload = format!("to client {i}");
        server
            .tun
            .inject(&ipv4(LAB_HOST, client.ipv4, payload.as_bytes()))
            .await
            .expect("inject");
    }
    for (i, client) in clients.iter_mut().enumerate() {
        let got = client.recv().await;
        assert_eq!(destination(&got), IpAddr::V4(client.ipv4));
        assert_eq!(&got[20..], format!("to client {i}").as_bytes());
    }
    for client in clients.iter_mut() {
        assert_eq!(client.try_recv(), None, "no one gets another's packet");
    }

    // Each client → TUN.
    for (i, client) in clients.iter().enumerate() {
        client.send(ipv4(client.ipv4, LAB_HOST, format!("from {i}").as_bytes()));
    }
    let mut seen = HashSet::new();
    for _ in 0..CLIENTS {
        let p = server.observe().await;
        assert_eq!(destination(&p), IpAddr::V4(LAB_HOST));
        let src = Ipv4Addr::from(<[u8; 4]>::try_from(&p[12..16]).expect("src"));
        let i = clients
            .iter()
            .position(|c| c.ipv4 == src)
            .expect("source is a client's address");
        assert_eq!(&p[20..], format!("from {i}").as_bytes());
        assert!(seen.insert(i));
    }
    assert!(
        server.metric("sstp_tunnel_packets_total{direction=\"from_client\"}") >= CLIENTS as f64
    );
    assert!(server.metric("sstp_tunnel_packets_total{direction=\"to_client\"}") >= CLIENTS as f64);

    let mut closing = JoinSet::new();
    for client in clients {
        closing.spawn(client.close());
    }
    while closing.join_next().await.is_some() {}
    server
        .wait_for("all leases back", |s| s.handle.leases_in_use() == (0, 0))
        .await;
    assert_eq!(server.handle.routes(), (0, 0));
    assert_eq!(server.handle.active_sessions(), 0);
    server.shutdown().await.expect("clean shutdown");
}

/// A client cannot send as someone else: the packet is dropped and
/// counted, and the next honest packet is the first thing on the TUN.
#[tokio::test]
async fn spoofed_sources_are_dropped_and_counted() {
    let mut server = TestServer::start().await;
    let a = server.client().connect().await.expect("a");
    let b = server.client().connect().await.expect("b");
    a.send(ipv4(b.ipv4, LAB_HOST, b"pretending to be b"));
    a.send(ipv4(
        Ipv4Addr::new(198, 51, 100, 7),
        LAB_HOST,
        b"from nowhere",
    ));
    a.send(ipv6(
        "fd00:77:9999::1".parse().expect("addr"),
        "2001:db8::1".parse().expect("addr"),
        b"v6 spoof",
    ));
    a.send(ipv4(a.ipv4, LAB_HOST, b"honest"));
    let first = server.observe().await;
    assert_eq!(&first[20..], b"honest");
    assert_eq!(
        server.metric("sstp_dropped_packets_total{reason=\"spoofed\"}"),
        3.0
    );
    // The spoofer's session is still fine, and so is b's.
    b.send(ipv4(b.ipv4, LAB_HOST, b"b is fine"));
    assert_eq!(&server.observe().await[20..], b"b is fine");
    a.close().await;
    b.close().await;
}

/// Client-to-client traffic is off by default, and flows when enabled.
#[tokio::test]
async fn client_to_client_is_off_by_default_and_on_by_config() {
    let mut server = TestServer::start().await;
    let a = server.client().connect().await.expect("a");
    let mut b = server.client().connect().await.expect("b");
    a.send(ipv4(a.ipv4, b.ipv4, b"hi b"));
    a.send(ipv4(a.ipv4, LAB_HOST, b"marker"));
    assert_eq!(&server.observe().await[20..], b"marker");
    assert_eq!(b.try_recv(), None);
    assert_eq!(
        server.metric("sstp_dropped_packets_total{reason=\"client_to_client\"}"),
        1.0
    );
    a.close().await;
    b.close().await;

    let mut config = test_config();
    config.network.client_to_client = true;
    let server = TestServer::start_with(config).await;
    let a = server.client().connect().await.expect("a");
    let mut b = server.client().connect().await.expect("b");
    a.send(ipv4(a.ipv4, b.ipv4, b"hi b"));
    let got = b.recv().await;
    assert_eq!(&got[20..], b"hi b");
    assert_eq!(destination(&got), IpAddr::V4(b.ipv4));
    a.close().await;
    b.close().await;
}

/// A user with fixed addresses always gets them.
#[tokio::test]
async fn fixed_addresses_per_user() {
    let mut server = TestServer::start().await;
    let mut carol = server
        .client()
        .user(FIXED_USER, "carol's secret")
        .connect()
        .await
        .expect("carol");
    assert_eq!(carol.ipv4, FIXED_V4);
    carol.ipv6().await;
    let ra = carol.recv_ra().await;
    let prefix: ipnet::Ipv6Net = FIXED_V6.parse().expect("net");
    assert_eq!(&ra[40 + 16 + 16..40 + 16 + 32], &prefix.network().octets());
    // Only one carol at a time: the address is hers.
    assert!(
        server
            .client()
            .user(FIXED_USER, "carol's secret")
            .connect()
            .await
            .is_err()
    );
    carol.send(ipv4(FIXED_V4, LAB_HOST, b"carol"));
    assert_eq!(&server.observe().await[20..], b"carol");
    carol.close().await;
    server
        .wait_for("leases back", |s| s.handle.leases_in_use() == (0, 0))
        .await;
}

/// IPv6: a /64 per session, announced by a Router Advertisement at once and
/// on every Router Solicitation, routed both ways.
#[tokio::test]
async fn ipv6_prefix_per_session_with_router_advertisements() {
    let mut server = TestServer::start().await;
    let mut client = server.client().connect().await.expect("client");
    let v6 = client.ipv6().await;
    assert_eq!(server.handle.leases_in_use(), (1, 1));

    // The unsolicited RA (RFC 4861 6.2.4) from the server's link-local
    // (the client's IPv6CP peer) to all nodes.
    let server_ll = v6.peer.expect("server link-local");
    let client_ll = v6.local;
    let ra = client.recv_ra().await;
    let prefix = check_ra(&ra, server_ll, "ff02::1".parse().expect("addr"));
    let pool: ipnet::Ipv6Net = "fd00:77::/48".parse().expect("net");
    assert!(pool.contains(&prefix));
    assert_ne!(
        prefix.network(),
        pool.network(),
        "the first /64 is the server's"
    );

    // A Router Solicitation from the client's link-local gets an answer.
    client.send(router_solicitation(client_ll));
    let answer = client.recv_ra().await;
    assert_eq!(check_ra(&answer, server_ll, client_ll), prefix);

    // SLAAC address in the prefix: out through the TUN, and back in.
    let me = Ipv6Addr::from(u128::from(prefix.network()) | 0x1234);
    let lab: Ipv6Addr = "2001:db8::10".parse().expect("addr");
    client.send(ipv6(me, lab, b"v6 out"));
    let seen = server.observe().await;
    assert_eq!(destination(&seen), IpAddr::V6(lab));
    assert_eq!(&seen[40..], b"v6 out");
    let other_host = Ipv6Addr::from(u128::from(prefix.network()) | 0xbeef);
    server
        .tun
        .inject(&ipv6(lab, other_host, b"v6 in"))
        .await
        .expect("inject");
    let got = client.recv().await;
    assert_eq!(destination(&got), IpAddr::V6(other_host));
    assert_eq!(&got[40..], b"v6 in");
    client.close().await;
    server
        .wait_for("prefix back", |s| s.handle.leases_in_use() == (0, 0))
        .await;
}

/// Checks an RA (RFC 4861 4.2, 4.6.2) and returns its prefix.
fn check_ra(p: &[u8], src: Ipv6Addr, dst: Ipv6Addr) -> ipnet::Ipv6Net {
    assert_eq!(p[0] >> 4, 6);
    assert_eq!(p[6], 58, "ICMPv6");
    assert_eq!(p[7], 255, "hop limit 255");
    assert_eq!(&p[8..24], &src.octets(), "from the server's link-local");
    assert_eq!(&p[24..40], &dst.octets());
    let icmp = &p[40..];
    assert_eq!(icmp[0], 134, "Router Advertisement");
    assert_eq!(icmpv6_sum(src, dst, icmp), 0, "checksum");
    assert_eq!(
        u16::from_be_bytes([icmp[6], icmp[7]]),
        1800,
        "router lifetime"
    );
    let pio = &icmp[16..48];
    assert_eq!(&pio[..4], &[3, 4, 64, 0xc0], "PIO /64 with L and A");
    let prefix = Ipv6Addr::from(<[u8; 16]>::try_from(&pio[16..32]).expect("prefix"));
    ipnet::Ipv6Net::new(prefix, 64).expect("net")
}

fn router_solicitation(src: Ipv6Addr) -> Vec<u8> {
    let dst: Ipv6Addr = "ff02::2".parse().expect("addr");
    let mut icmp = vec![133, 0, 0, 0, 0, 0, 0, 0];
    let sum = icmpv6_sum(src, dst, &icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut p = vec![0x60, 0, 0, 0, 0, 8, 58, 255];
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(&icmp);
    p
}

/// RFC 4443 2.3, written again here so the test does not trust the
/// server's own code.
fn icmpv6_sum(src: Ipv6Addr, dst: Ipv6Addr, icmp: &[u8]) -> u16 {
    let mut data = Vec::new();
    data.extend_from_slice(&src.octets());
    data.extend_from_slice(&dst.octets());
    data.extend_from_slice(&(icmp.len() as u32).to_be_bytes());
    data.extend_from_slice(&[0, 0, 0, 58]);
    data.extend_from_slice(icmp);
    if data.len() % 2 == 1 {
        data.push(0);
    }
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A full queue towards a client drops (and counts) instead of growing.
#[tokio::test]
async fn a_client_that_does_not_keep_up_costs_drops_not_memory() {
    let mut config = test_config();
    config.network.session_queue = 4;
    let server = TestServer::start_with(config).await;
    let client = server.client().connect().await.expect("client");
    // Far more than queue + buffers can hold in one burst.
    for i in 0..3000u32 {
        let _ = server
            .tun
            .try_inject(&ipv4(LAB_HOST, client.ipv4, &[(i % 251) as u8; 1300]));
        if i % 256 == 255 {
            tokio::task::yield_now().await;
        }
    }
    server
        .wait_for("drops counted", |s| {
            s.metric("sstp_dropped_packets_total{reason=\"queue_full\"}") > 0.0
        })
        .await;
    client.close().await;
}

/// One packet the TUN refuses in a batched write is one drop: the others of
/// the batch were written and are not counted as lost.
#[tokio::test]
async fn one_packet_refused_by_the_tun_counts_one_drop() {
    // The session carries 1400-byte packets; the TUN takes only 1200, so
    // the 1300-byte one fails its write and the two small ones go in.
    let mut server = TestServer::start_with_tun_mtu(test_config(), 1200).await;
    let client = server.client().connect().await.expect("client");
    client.send_burst(vec![
        ipv4(client.ipv4, LAB_HOST, b"first"),
        ipv4(client.ipv4, LAB_HOST, &[0x55; 1280]),
        ipv4(client.ipv4, LAB_HOST, b"third"),
    ]);
    assert_eq!(&server.observe().await[20..], b"first");
    assert_eq!(&server.observe().await[20..], b"third");
    server
        .wait_for("the drop counted", |s| {
            s.metric("sstp_dropped_packets_total{reason=\"tun_error\"}") > 0.0
        })
        .await;
    assert_eq!(
        server.metric("sstp_dropped_packets_total{reason=\"tun_error\"}"),
        1.0
    );
    client.close().await;
}

/// The server's link-local address, the client's IPv6 gateway, answers
/// ping (RFC 4443 4.1, 4.2) from the session itself: the TUN is shared, so
/// the kernel does not have that address, and nothing goes to the TUN. A
/// flood is answered up to a budget; the rest is dropped and counted.
#[tokio::test]
async fn the_servers_link_local_address_answers_echo_requests() {
    let mut server = TestServer::start().await;
    let mut client = server.client().connect().await.expect("client");
    let v6 = client.ipv6().await;
    let server_ll = v6.peer.expect("server link-local");
    let client_ll = v6.local;
    client.recv_ra().await;

    client.send(echo_request(client_ll, server_ll, 1, b"are you there?"));
    let reply = client.recv().await;
    check_echo_reply(&reply, server_ll, client_ll, 1, b"are you there?");

    // To all nodes on the link too (4.2), answered from the link-local.
    let all_nodes: Ipv6Addr = "ff02::1".parse().expect("addr");
    client.send(echo_request(client_ll, all_nodes, 2, b"anyone?"));
    let reply = client.recv().await;
    check_echo_reply(&reply, server_ll, client_ll, 2, b"anyone?");

    // A flood in one write: answered up to the budget, in order.
    const FLOOD: u16 = 64;
    client.send_burst(
        (0..FLOOD)
            .map(|i| echo_request(client_ll, server_ll, 100 + i, b"flood"))
            .collect(),
    );
    // Past the refill time of a few replies, a last one that is answered
    // marks the end of the flood's answers.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    client.send(echo_request(client_ll, server_ll, 999, b"last"));
    let mut answered = 0u16;
    loop {
        let reply = client.recv().await;
        let seq = u16::from_be_bytes([reply[46], reply[47]]);
        if seq == 999 {
            check_echo_reply(&reply, server_ll, client_ll, 999, b"last");
            break;
        }
        check_echo_reply(&reply, server_ll, client_ll, 100 + answered, b"flood");
        answered += 1;
    }
    let dropped = server.metric("sstp_dropped_packets_total{reason=\"rate_limited\"}");
    assert!(answered > 0 && answered < FLOOD, "{answered} answered");
    assert_eq!(f64::from(answered) + dropped, f64::from(FLOOD));
    assert!(
        server.tun.try_observe().is_none(),
        "no echo request reached the TUN"
    );
    client.close().await;
}

/// An Echo Request (RFC 4443 4.1), Identifier 0x4242.
fn echo_request(src: Ipv6Addr, dst: Ipv6Addr, seq: u16, data: &[u8]) -> Vec<u8> {
    let mut icmp = vec![128, 0, 0, 0, 0x42, 0x42];
    icmp.extend_from_slice(&seq.to_be_bytes());
    icmp.extend_from_slice(data);
    let sum = icmpv6_sum(src, dst, &icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    p.extend_from_slice(&[58, 64]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(&icmp);
    p
}

/// Checks an Echo Reply (RFC 4443 4.2): addresses, type and code, the
/// request's Identifier, Sequence Number and Data, and the checksum.
fn check_echo_reply(p: &[u8], src: Ipv6Addr, dst: Ipv6Addr, seq: u16, data: &[u8]) {
    assert_eq!(p[0] >> 4, 6);
    assert_eq!(p[6], 58, "ICMPv6");
    assert_eq!(
        usize::from(u16::from_be_bytes([p[4], p[5]])),
        8 + data.len(),
        "payload length"
    );
    assert_eq!(&p[8..24], &src.octets(), "from the server's link-local");
    assert_eq!(&p[24..40], &dst.octets(), "to the requester");
    let icmp = &p[40..];
    assert_eq!((icmp[0], icmp[1]), (129, 0), "Echo Reply, code 0");
    assert_eq!(&icmp[4..6], &[0x42, 0x42], "identifier");
    assert_eq!(u16::from_be_bytes([icmp[6], icmp[7]]), seq, "sequence");
    assert_eq!(&icmp[8..], data, "data");
    assert_eq!(icmpv6_sum(src, dst, icmp), 0, "checksum");
}
