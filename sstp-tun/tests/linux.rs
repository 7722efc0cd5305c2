//! Root tier: a real TUN device in a network namespace that each test creates and deletes.
//!
//! Each test makes `sstptun-test-<pid>-<tag>`, enters it on a thread of its own (`setns`), runs a
//! current-thread tokio runtime there, and deletes the namespace at the end, also on failure.
//! Traffic goes only to addresses routed into the TUN inside that namespace (benchmarking and
//! documentation ranges: 198.18.0.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32); the test
//! itself plays the far end by reading and writing the TUN. Without root every test prints
//! "skipped: needs root" and passes.

use std::fs::File;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use nix::sched::{CloneFlags, setns};
use sstp_tun::netlink::{Netlink, NetlinkError, Route};
use sstp_tun::{IDEAL_BATCH_SIZE, LinuxTun, RecvBatch, SendBatch, TunDevice};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UdpSocket;
use tokio::time::timeout;

const TUN: &str = "sstpt0";
const MTU: u16 = 1400;
/// Our address on the TUN, and the far end the test plays.
const LOCAL4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const PEER4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const LOCAL6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
const PEER6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 2);
const STEP: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------------
// Harness: root check, namespace guard, a thread inside the namespace.

use sstp_testkit::Netns;

/// Runs `test(namespace name)` inside a fresh `sstptun-test-<pid>-<tag>`
/// namespace (see `sstp_testkit::in_netns`).
fn in_netns<F, Fut>(tag: &str, test: F)
where
    F: FnOnce(String) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    sstp_testkit::in_netns("sstptun-test", tag, test);
}

/// A TUN with 198.18.0.1/24 and 2001:db8:1::1/64, set up through the netlink module.
async fn tun_with_addresses(builder: sstp_tun::LinuxTunBuilder) -> (LinuxTun, Netlink) {
    let tun = builder.build().expect("create the TUN");
    let nl = Netlink::new().expect("netlink socket");
    nl.add_address(TUN, LOCAL4.into(), 24)
        .await
        .expect("add IPv4 address");
    nl.add_address(tun.index(), LOCAL6.into(), 64)
        .await
        .expect("add IPv6 address");
    nl.set_link_up(TUN).await.expect("link up");
    (tun, nl)
}

async fn udp_socket(addr: IpAddr) -> UdpSocket {
    // An IPv6 address may need a moment before it can be bound.
    for _ in 0..50 {
        match UdpSocket::bind(SocketAddr::new(addr, 0)).await {
            Ok(s) => return s,
            Err(e) if e.kind() == io::ErrorKind::AddrNotAvailable => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("bind {addr}: {e}"),
        }
    }
    panic!("{addr} never became usable");
}

/// Reads from the TUN until a UDP packet to `dst` comes (the kernel also sends IPv6 router
/// solicitations and MLD reports of its own); returns that packet.
async fn recv_udp_to<D: TunDevice>(tun: &D, dst: SocketAddr) -> Vec<u8> {
    let mut buf = vec![0; usize::from(tun.mtu())];
    loop {
        let n = timeout(STEP, tun.recv(&mut buf))
            .await
            .expect("no packet on the TUN")
            .expect("recv");
        if let Some(udp) = Udp::parse(&buf[..n])
            && udp.dst == dst
        {
            return buf[..n].to_vec();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[test]
fn ipv4_udp_and_ping_through_the_tun() {
    in_netns("v4", |ns| async move {
        let (tun, _nl) = tun_with_addresses(LinuxTun::builder(TUN).mtu(MTU)).await;
        assert_eq!((tun.name(), tun.mtu(), tun.offload()), (TUN, MTU, false));

        // Out: a datagram to the far end is routed into the TUN.
        let sock = udp_socket(LOCAL4.into()).await;
        let peer = SocketAddr::new(PEER4.into(), 9999);
        sock.send_to(b"hello", peer).await.unwrap();
        let packet = recv_udp_to(&tun, peer).await;
        let udp = Udp::parse(&packet).unwrap();
        assert_eq!(
            (udp.src, udp.payload.as_slice()),
            (sock.local_addr().unwrap(), &b"hello"[..])
        );

        // In: a datagram written to the TUN reaches the socket.
        let reply = udp_packet(peer, sock.local_addr().unwrap(), 1, b"world");
        assert_eq!(tun.send(&reply).await.unwrap(), reply.len());
        let mut buf = [0u8; 64];
        let (n, from) = timeout(STEP, sock.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((&buf[..n], from), (&b"world"[..], peer));

        // ping: the echo request comes out of the TUN, our crafted reply goes back in.
        if Command::new("ping").arg("-V").output().is_err() {
            println!("ping part skipped: no ping command (iputils-ping)");
            return;
        }
        let mut ping = Command::new("ip")
            .args([
                "netns",
                "exec",
                &ns,
                "ping",
                "-c",
                "1",
                "-W",
                "5",
                "198.18.0.2",
            ])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut buf = vec![0; usize::from(MTU)];
        let request = loop {
            let n = timeout(STEP, tun.recv(&mut buf)).await.unwrap().unwrap();
            if is_icmp_echo_request(&buf[..n], PEER4) {
                break buf[..n].to_vec();
            }
        };
        tun.send(&icmp_echo_reply(&request)).await.unwrap();
        let status = tokio::task::spawn_blocking(move || ping.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(status.success(), "ping got no reply: {status}");

        // The MTU is enforced on send.
        let err = tun
            .send(&vec![0x45; usize::from(MTU) + 1])
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    });
}

#[test]
fn ipv6_routes_and_lookups() {
    in_netns("routes", |_ns| async move {
        let (tun, nl) = tun_with_addresses(LinuxTun::builder(TUN).mtu(MTU)).await;
        assert_eq!(nl.link_index(TUN).await.unwrap(), tun.index());
        let err = nl.link_index("nosuch0").await.unwrap_err();
        assert!(matches!(err, NetlinkError::NoSuchLink(_)), "{err:?}");
        assert!(nl.set_link_up("nosuch0").await.is_err());

        // IPv6 both ways.
        let sock6 = udp_socket(LOCAL6.into()).await;
        let peer6 = SocketAddr::new(PEER6.into(), 5353);
        sock6.send_to(b"six", peer6).await.unwrap();
        let packet = recv_udp_to(&tun, peer6).await;
        assert_eq!(packet[0] >> 4, 6);
        let reply = udp_packet(peer6, sock6.local_addr().unwrap(), 0, b"xis");
        tun.send(&reply).await.unwrap();
        let mut buf = [0u8; 64];
        let (n, from) = timeout(STEP, sock6.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((&buf[..n], from), (&b"xis"[..], peer6));

        // A route out of the device, IPv4 and IPv6: looked up and used.
        let net4 = Route::new(Ipv4Addr::new(198, 51, 100, 0).into(), 24).dev(TUN);
        let net6 =
            Route::new(Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 0).into(), 48).dev(tun.index());
        nl.add_route(&net4).await.unwrap();
        nl.add_route(&net6).await.unwrap();
        let far4: IpAddr = Ipv4Addr::new(198, 51, 100, 7).into();
        let far6: IpAddr = Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 5).into();
        let found = nl.route_get(far4).await.unwrap();
        assert_eq!(
            (found.oif, found.gateway, found.pref_src),
            (Some(tun.index()), None, Some(LOCAL4.into()))
        );
        assert_eq!(nl.route_get(far6).await.unwrap().oif, Some(tun.index()));
        let sock = udp_socket(LOCAL4.into()).await;
        sock.send_to(b"routed", SocketAddr::new(far4, 7))
            .await
            .unwrap();
        recv_udp_to(&tun, SocketAddr::new(far4, 7)).await;
        sock6
            .send_to(b"routed", SocketAddr::new(far6, 7))
            .await
            .unwrap();
        recv_udp_to(&tun, SocketAddr::new(far6, 7)).await;

        // Routes through a gateway; adding twice is AlreadyExists, replace is fine.
        let via4 = Route::new(Ipv4Addr::new(203, 0, 113, 0).into(), 24)
            .via(PEER4.into())
            .metric(10);
        let via6 =
            Route::new(Ipv6Addr::new(0x2001, 0xdb8, 3, 0, 0, 0, 0, 0).into(), 48).via(PEER6.into());
        nl.add_route(&via4).await.unwrap();
        nl.add_route(&via6).await.unwrap();
        let err = nl.add_route(&via4).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err:?}");
        nl.replace_route(&via4).await.unwrap();
        let in_via4: IpAddr = Ipv4Addr::new(203, 0, 113, 9).into();
        let in_via6: IpAddr = Ipv6Addr::new(0x2001, 0xdb8, 3, 0, 0, 0, 0, 9).into();
        let found = nl.route_get(in_via4).await.unwrap();
        assert_eq!(
            (found.gateway, found.oif),
            (Some(PEER4.into()), Some(tun.index()))
        );
        assert_eq!(
            nl.route_get(in_via6).await.unwrap().gateway,
            Some(PEER6.into())
        );

        // The client's pinned host route: same gateway and device as the lookup.
        let pinned = nl.route_get(in_via4).await.unwrap().host_route();
        assert_eq!(
            pinned.to_string(),
            format!("203.0.113.9/32 via 198.18.0.2 dev #{}", tun.index())
        );
        nl.add_route(&pinned).await.unwrap();
        nl.del_route(&pinned).await.unwrap();

        // Deleted routes are gone: this namespace has no default route.
        nl.del_route(&via4).await.unwrap();
        nl.del_route(&via6).await.unwrap();
        nl.del_route(&net4).await.unwrap();
        let err = nl.route_get(in_via4).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NetworkUnreachable, "{err:?}");
        assert!(nl.del_route(&net4).await.is_err());
        let err = nl.add_route(&Route::new(far4, 32)).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);

        // Addresses and MTU.
        nl.del_address(TUN, LOCAL4.into(), 24).await.unwrap();
        assert!(nl.del_address(TUN, LOCAL4.into(), 24).await.is_err());
        nl.set_mtu(TUN, 1300).await.unwrap();
        tun.set_mtu(1280).unwrap();
        assert_eq!(tun.mtu(), 1280);
        nl.set_link_down(TUN).await.unwrap();
    });
}

#[test]
fn offload_batches() {
    in_netns("offload", |_ns| async move {
        let tun = match LinuxTun::builder(TUN).mtu(MTU).offload(true).build() {
            Ok(tun) if tun.offload() => tun,
            Ok(_) => return println!("skipped: the kernel did not grant TUN offload"),
            Err(e) => return println!("skipped: offload TUN not available: {e}"),
        };
        let nl = Netlink::new().unwrap();
        nl.add_address(TUN, LOCAL4.into(), 24).await.unwrap();
        println!("offload on, udp_gso {}", tun.udp_gso());

        // Read: one send of 4 segments (UDP GSO where the socket allows it). The first comes out
        // of the single-packet recv, the rest out of recv_batch (staged or read from the kernel).
        let sock = udp_socket(LOCAL4.into()).await;
        let peer = SocketAddr::new(PEER4.into(), 4000);
        let payload: Vec<u8> = (0..4000u32).map(|i| (i % 251) as u8).collect();
        let gso =
            nix::sys::socket::setsockopt(&sock, nix::sys::socket::sockopt::UdpGsoSegment, &1000)
                .is_ok();
        if gso {
            sock.send_to(&payload, peer).await.unwrap();
        } else {
            println!("UDP_SEGMENT refused; sending 4 datagrams");
            for chunk in payload.chunks(1000) {
                sock.send_to(chunk, peer).await.unwrap();
            }
        }
        let first = recv_udp_to(&tun, peer).await;
        let mut got = Udp::parse(&first).unwrap().payload;
        let mut batch = RecvBatch::new(IDEAL_BATCH_SIZE, usize::from(MTU), 8);
        let mut batches = 0;
        while got.len() < payload.len() {
            timeout(STEP, tun.recv_batch(&mut batch))
                .await
                .unwrap()
                .unwrap();
            batches += 1;
            for packet in batch.iter() {
                assert!(packet.len() <= usize::from(MTU));
                if let Some(udp) = Udp::parse(packet)
                    && udp.dst == peer
                {
                    got.extend_from_slice(&udp.payload);
                }
            }
        }
        assert_eq!(got, payload, "segments arrive whole and in order");
        if gso && tun.udp_gso() {
            assert_eq!(
                batches, 1,
                "one GSO read gives the three segments left at once"
            );
        }

        // Write: 8 datagrams of one flow in one batch (coalesced by GRO where the kernel has
        // USO), each delivered to the socket, in order.
        let dst = sock.local_addr().unwrap();
        let from = SocketAddr::new(PEER4.into(), 7000);
        let mut out = SendBatch::new(IDEAL_BATCH_SIZE);
        for i in 0..8u16 {
            out.push(&udp_packet(from, dst, i, &[i as u8; 1000]));
        }
        assert_eq!(
            timeout(STEP, tun.send_batch(&mut out))
                .await
                .unwrap()
                .unwrap(),
            8
        );
        assert!(out.is_empty());
        assert_eq!(out.dropped(), 0);
        let mut buf = [0u8; 2000];
        for i in 0..8u8 {
            let (n, src) = timeout(STEP, sock.recv_from(&mut buf))
                .await
                .unwrap()
                .unwrap();
            assert_eq!((n, src, buf[0]), (1000, from, i));
        }

        // Single send in offload mode, and oversized packets dropped from a batch.
        tun.send(&udp_packet(from, dst, 9, b"single"))
            .await
            .unwrap();
        let (n, _) = timeout(STEP, sock.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..n], b"single");
        out.push(&udp_packet(from, dst, 10, &[0; 1500]));
        out.push(&udp_packet(from, dst, 11, b"fits"));
        let err = tun.send_batch(&mut out).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(tun.tx_dropped(), 1);
        assert_eq!(
            out.dropped(),
            1,
            "only the oversized packet counts as dropped"
        );
        let (n, _) = timeout(STEP, sock.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..n], b"fits");
    });
}

#[test]
fn multi_queue_spreads_and_delivers() {
    in_netns("mq", |_ns| async move {
        let single = LinuxTun::builder("sstpt1").build().unwrap();
        assert_eq!(
            single.try_clone_queue().unwrap_err().kind(),
            io::ErrorKind::Unsupported
        );
        drop(single);

        let (q0, _nl) = tun_with_addresses(LinuxTun::builder(TUN).mtu(MTU).multi_queue(true)).await;
        let q1 = q0.try_clone_queue().unwrap();
        assert_eq!((q1.name(), q1.index(), q1.mtu()), (TUN, q0.index(), MTU));

        // 16 flows out: the kernel spreads them over the queues; both readers together see all.
        let peer = SocketAddr::new(PEER4.into(), 6000);
        let mut socks = Vec::new();
        for _ in 0..16 {
            let s = udp_socket(LOCAL4.into()).await;
            s.send_to(b"mq", peer).await.unwrap();
            socks.push(s);
        }
        let mut seen = Vec::new();
        let (mut b0, mut b1) = (RecvBatch::new(16, 1500, 0), RecvBatch::new(16, 1500, 0));
        let mut per_queue = [0usize; 2];
        while seen.len() < socks.len() {
            let q = tokio::select! {
                r = q0.recv_batch(&mut b0) => { r.unwrap(); 0 }
                r = q1.recv_batch(&mut b1) => { r.unwrap(); 1 }
                () = tokio::time::sleep(STEP) => panic!("only {} of 16 flows seen", seen.len()),
            };
            let batch = if q == 0 { &b0 } else { &b1 };
            for udp in batch
                .iter()
                .filter_map(Udp::parse)
                .filter(|u| u.dst == peer)
            {
                per_queue[q] += 1;
                seen.push(udp.src);
            }
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 16);
        println!("flows per queue: {per_queue:?}");

        // A write on the second queue is delivered too.
        let dst = socks[0].local_addr().unwrap();
        q1.send(&udp_packet(peer, dst, 1, b"q1")).await.unwrap();
        let mut buf = [0u8; 16];
        let (n, _) = timeout(STEP, socks[0].recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..n], b"q1");
    });
}

#[test]
fn tcp_over_a_plain_relay() {
    tcp_over_a_relay(false);
}

#[test]
fn tcp_over_an_offload_relay() {
    tcp_over_a_relay(true);
}

/// Two namespaces, a TUN in each, and a relay between the TUNs (what the tunnel does, without
/// the tunnel): a 4 MiB TCP transfer from one namespace to the other must arrive intact. With
/// offload, reads are GSO-split and writes GRO-coalesced on the way.
fn tcp_over_a_relay(offload: bool) {
    let tag = if offload { "gso" } else { "plain" };
    in_netns(&format!("{tag}-a"), move |_ns| async move {
        let ns_b = Netns::create("sstptun-test", &format!("{tag}-b"));
        let home = File::open("/proc/thread-self/ns/net").expect("open own namespace");
        let there = File::open(format!("/run/netns/{}", ns_b.name())).expect("open namespace B");

        // The far side, made while this thread is in namespace B.
        setns(&there, CloneFlags::CLONE_NEWNET).expect("enter B");
        let tun_b = LinuxTun::builder(TUN)
            .mtu(MTU)
            .offload(offload)
            .build()
            .expect("TUN in B");
        let nl_b = Netlink::new().expect("netlink in B");
        nl_b.add_address(TUN, PEER4.into(), 24)
            .await
            .expect("address in B");
        let listener = tokio::net::TcpListener::bind((PEER4, 0))
            .await
            .expect("listen in B");
        setns(&home, CloneFlags::CLONE_NEWNET).expect("back to A");

        let (tun_a, _nl_a) =
            tun_with_addresses(LinuxTun::builder(TUN).mtu(MTU).offload(offload)).await;
        if offload && !(tun_a.offload() && tun_b.offload()) {
            return println!("skipped: the kernel did not grant TUN offload");
        }
        let (tun_a, tun_b) = (Arc::new(tun_a), Arc::new(tun_b));
        let stats = Arc::new(RelayStats::default());
        let relays = [
            tokio::spawn(relay(
                Arc::clone(&tun_a),
                Arc::clone(&tun_b),
                Arc::clone(&stats),
            )),
            tokio::spawn(relay(
                Arc::clone(&tun_b),
                Arc::clone(&tun_a),
                Arc::clone(&stats),
            )),
        ];

        let addr = listener.local_addr().expect("listener address");
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await?;
            let mut got = Vec::new();
            stream.read_to_end(&mut got).await?;
            io::Result::Ok(got)
        });
        let data: Vec<u8> = (0..4usize << 20).map(|i| (i * 7 % 251) as u8).collect();
        let mut client = tokio::net::TcpStream::connect(addr)
            .await
            .expect("connect over the relay");
        client.write_all(&data).await.expect("send over the relay");
        client.shutdown().await.expect("close");
        let got = server
            .await
            .expect("server task")
            .expect("receive over the relay");
        assert_eq!(got.len(), data.len());
        assert!(got == data, "the transfer arrived corrupted");
        for r in relays {
            r.abort();
        }
        let packets = stats.packets.load(Ordering::Relaxed);
        let batches = stats.batches.load(Ordering::Relaxed);
        println!("relay (offload {offload}): {packets} packets in {batches} batches");
        assert!(batches > 0 && packets >= batches);
    });
}

#[derive(Default)]
struct RelayStats {
    packets: AtomicUsize,
    batches: AtomicUsize,
}

/// Moves packets from one TUN to the other in batches until the task is aborted.
async fn relay(from: Arc<LinuxTun>, to: Arc<LinuxTun>, stats: Arc<RelayStats>) {
    let mut rx = RecvBatch::new(IDEAL_BATCH_SIZE, usize::from(from.mtu()), 0);
    let mut tx = SendBatch::new(IDEAL_BATCH_SIZE);
    loop {
        let n = from.recv_batch(&mut rx).await.expect("relay read");
        stats.packets.fetch_add(n, Ordering::Relaxed);
        stats.batches.fetch_add(1, Ordering::Relaxed);
        for packet in rx.iter() {
            tx.push(packet);
        }
        if let Err(e) = to.send_batch(&mut tx).await {
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "relay write: {e}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Packet crafting and parsing for the far end.

/// A UDP datagram in an IPv4 or IPv6 packet.
#[derive(Debug)]
struct Udp {
    src: SocketAddr,
    dst: SocketAddr,
    payload: Vec<u8>,
}

impl Udp {
    fn parse(packet: &[u8]) -> Option<Self> {
        let (src, dst, l4) = match packet.first()? >> 4 {
            4 => {
                let ihl = usize::from(packet[0] & 0x0f) * 4;
                if packet.len() < ihl + 8 || packet[9] != 17 {
                    return None;
                }
                let src: [u8; 4] = packet[12..16].try_into().ok()?;
                let dst: [u8; 4] = packet[16..20].try_into().ok()?;
                (IpAddr::from(src), IpAddr::from(dst), &packet[ihl..])
            }
            6 => {
                if packet.len() < 48 || packet[6] != 17 {
                    return None;
                }
                let src: [u8; 16] = packet[8..24].try_into().ok()?;
                let dst: [u8; 16] = packet[24..40].try_into().ok()?;
                (IpAddr::from(src), IpAddr::from(dst), &packet[40..])
            }
            _ => return None,
        };
        let sport = u16::from_be_bytes([l4[0], l4[1]]);
        let dport = u16::from_be_bytes([l4[2], l4[3]]);
        let len = usize::from(u16::from_be_bytes([l4[4], l4[5]]));
        Some(Self {
            src: SocketAddr::new(src, sport),
            dst: SocketAddr::new(dst, dport),
            payload: l4.get(8..len)?.to_vec(),
        })
    }
}

/// Internet checksum (RFC 1071) of `data`, starting from the partial sum `sum`.
fn checksum(data: &[u8], mut sum: u32) -> u16 {
    for chunk in data.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn pseudo_sum(src: IpAddr, dst: IpAddr, proto: u8, len: usize) -> u32 {
    let mut bytes = Vec::new();
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            bytes.extend_from_slice(&s.octets());
            bytes.extend_from_slice(&d.octets());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            bytes.extend_from_slice(&s.octets());
            bytes.extend_from_slice(&d.octets());
        }
        _ => panic!("mixed families"),
    }
    bytes.extend_from_slice(&[0, proto]);
    bytes.extend_from_slice(&(len as u16).to_be_bytes());
    bytes
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum()
}

/// An IPv4 or IPv6 UDP packet with correct checksums.
fn udp_packet(src: SocketAddr, dst: SocketAddr, ip_id: u16, payload: &[u8]) -> Vec<u8> {
    let udp_len = 8 + payload.len();
    let mut udp = Vec::with_capacity(udp_len);
    udp.extend_from_slice(&src.port().to_be_bytes());
    udp.extend_from_slice(&dst.port().to_be_bytes());
    udp.extend_from_slice(&(udp_len as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);
    let sum = checksum(&udp, pseudo_sum(src.ip(), dst.ip(), 17, udp_len));
    udp[6..8].copy_from_slice(&(if sum == 0 { 0xffff } else { sum }).to_be_bytes());
    let mut packet = match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let mut h = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0];
            h[2..4].copy_from_slice(&((20 + udp_len) as u16).to_be_bytes());
            h[4..6].copy_from_slice(&ip_id.to_be_bytes());
            h.extend_from_slice(&s.octets());
            h.extend_from_slice(&d.octets());
            let sum = checksum(&h, 0);
            h[10..12].copy_from_slice(&sum.to_be_bytes());
            h
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let mut h = vec![0x60, 0, 0, 0, 0, 0, 17, 64];
            h[4..6].copy_from_slice(&(udp_len as u16).to_be_bytes());
            h.extend_from_slice(&s.octets());
            h.extend_from_slice(&d.octets());
            h
        }
        _ => panic!("mixed families"),
    };
    packet.extend_from_slice(&udp);
    packet
}

fn is_icmp_echo_request(packet: &[u8], dst: Ipv4Addr) -> bool {
    packet.len() >= 28
        && packet[0] == 0x45
        && packet[9] == 1
        && packet[16..20] == dst.octets()
        && packet[20] == 8
}

/// The echo reply to an IPv4 echo request (no options): addresses swapped, type 0, checksums redone.
fn icmp_echo_reply(request: &[u8]) -> Vec<u8> {
    let mut reply = request.to_vec();
    reply[12..16].copy_from_slice(&request[16..20]);
    reply[16..20].copy_from_slice(&request[12..16]);
    reply[10..12].fill(0);
    let sum = checksum(&reply[..20], 0);
    reply[10..12].copy_from_slice(&sum.to_be_bytes());
    reply[20] = 0;
    reply[22..24].fill(0);
    let sum = checksum(&reply[20..], 0);
    reply[22..24].copy_from_slice(&sum.to_be_bytes());
    reply
}
