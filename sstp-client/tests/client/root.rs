//! Root tier: the real Linux side of the client in a network namespace the
//! test creates and deletes: a LinuxTun, addresses and routes through
//! rtnetlink (`LinuxRoutes`), DNS through a resolv.conf in a temporary
//! directory. The server is the loopback test server inside the same
//! namespace. Traffic: UDP between the namespace's kernel and the server's
//! MemTun, through the tunnel; nothing leaves the namespace. Without root
//! the test prints "skipped: needs root" and passes.

use std::fs::File;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use nix::sched::{CloneFlags, setns};
use sstp_client::dns::ResolvConf;
use sstp_client::routes::LinuxRoutes;
use sstp_client::{System, TunnelEvent, TunnelOptions};
use sstp_tun::LinuxTun;
use sstp_tun::netlink::Netlink;

use crate::loopback::{client, event_until, up_info};
use crate::support::*;

const TUN: &str = "sstpc0";

fn skip_reason() -> Option<&'static str> {
    if !nix::unistd::geteuid().is_root() {
        return Some("skipped: needs root");
    }
    if !std::path::Path::new("/dev/net/tun").exists() {
        return Some("skipped: no /dev/net/tun");
    }
    if Command::new("ip").arg("-V").output().is_err() {
        return Some("skipped: no `ip` command (iproute2) to make the namespace");
    }
    None
}

/// A namespace deleted on drop, also when the test panics.
struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn ip(args: &[&str]) {
    let status = Command::new("ip").args(args).status().expect("run ip");
    assert!(status.success(), "ip {args:?}: {status}");
}

/// Runs `test` on a thread inside a fresh namespace with `lo` up.
fn in_netns<F, Fut>(tag: &str, test: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    if let Some(reason) = skip_reason() {
        println!("{reason}");
        return;
    }
    let name = format!("sstpc-test-{}-{tag}", std::process::id());
    let _ = Command::new("ip")
        .args(["netns", "del", &name])
        .stderr(Stdio::null())
        .status();
    ip(&["netns", "add", &name]);
    let ns = Netns(name);
    ip(&["-n", &ns.0, "link", "set", "lo", "up"]);
    let path = format!("/run/netns/{}", ns.0);
    let result = std::thread::spawn(move || {
        let file = File::open(&path).expect("open the namespace");
        setns(&file, CloneFlags::CLONE_NEWNET).expect("setns");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(60), test())
                .await
                .expect("root test timed out");
        });
    })
    .join();
    drop(ns);
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// IPv4 + UDP with a valid header checksum (the kernel checks it) and no
/// UDP checksum (allowed over IPv4).
fn udp4(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let (IpAddr::V4(s), IpAddr::V4(d)) = (src.ip(), dst.ip()) else {
        panic!("IPv4 only")
    };
    let total = 28 + payload.len();
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&(total as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0]);
    p.extend_from_slice(&s.octets());
    p.extend_from_slice(&d.octets());
    let mut sum: u32 = p
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    p[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    p.extend_from_slice(&src.port().to_be_bytes());
    p.extend_from_slice(&dst.port().to_be_bytes());
    p.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    p
}

#[test]
fn real_tun_routes_and_dns_are_applied_and_restored() {
    in_netns("tun", || async {
        let mut server = TestServer::start(ServerOptions {
            ra_prefix: Some(RA_PREFIX),
            ..ServerOptions::default()
        })
        .await;
        let dir = tempfile::tempdir().unwrap();
        let resolv = dir.path().join("resolv.conf");
        std::fs::write(&resolv, "nameserver 192.0.2.53\n").unwrap();
        let system = System::new(
            Arc::new(LinuxRoutes::new().unwrap()),
            Arc::new(ResolvConf::new(&resolv)),
        );
        let tun = LinuxTun::builder(TUN).mtu(1400).build().unwrap();
        let index = tun.index();
        let mut tunnel = client(&server)
            .tunnel(TunnelOptions {
                interface: TUN.into(),
                ..TunnelOptions::default()
            })
            .start_with(tun, system)
            .unwrap();
        let up = up_info(&mut tunnel).await;
        assert_eq!(up.interface, TUN);
        let address = event_until(&mut tunnel, |e| match e {
            TunnelEvent::Ipv6Address { address, .. } => Some(address),
            _ => None,
        })
        .await;

        // The kernel now routes everything into the tunnel.
        let nl = Netlink::new().unwrap();
        for dst in [
            IpAddr::from(Ipv4Addr::new(198, 51, 100, 1)),
            IpAddr::from(Ipv4Addr::new(203, 0, 113, 1)),
            IpAddr::from(Ipv6Addr::new(0x2001, 0xdb8, 0xff, 0, 0, 0, 0, 1)),
        ] {
            let path = nl.route_get(dst).await.unwrap();
            assert_eq!(path.oif, Some(index), "{dst}");
        }
        let text = std::fs::read_to_string(&resolv).unwrap();
        assert!(text.contains("nameserver 10.0.0.53"), "{text}");
        assert!(text.contains("nameserver 2001:db8:7::53"), "{text}");

        // A datagram from the kernel crosses the tunnel to the server...
        let sock = tokio::net::UdpSocket::bind((CLIENT_TUN_IP, 0))
            .await
            .unwrap();
        let far = SocketAddr::new(SERVER_TUN_IP.into(), 9999);
        sock.send_to(b"through the tunnel", far).await.unwrap();
        let got = observe_until(&mut server.tun, |p| p[0] >> 4 == 4 && p[9] == 17).await;
        assert!(got.ends_with(b"through the tunnel"));
        // ... and one from the server reaches the socket.
        let back = udp4(far, sock.local_addr().unwrap(), b"and back");
        server.tun.inject(&back).await.unwrap();
        let mut buf = [0u8; 64];
        let (n, from) = tokio::time::timeout(STEP, sock.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((&buf[..n], from), (&b"and back"[..], far));
        drop(sock);

        tokio::time::timeout(STEP, tunnel.disconnect())
            .await
            .unwrap()
            .unwrap();
        server.wait_clean_closes(1).await;

        // Everything is back: no routes out, no tunnel address, the old resolv.conf.
        assert!(
            nl.route_get(Ipv4Addr::new(198, 51, 100, 1).into())
                .await
                .is_err()
        );
        assert!(
            nl.route_get(Ipv6Addr::new(0x2001, 0xdb8, 0xff, 0, 0, 0, 0, 1).into())
                .await
                .is_err()
        );
        let err = std::net::UdpSocket::bind((CLIENT_TUN_IP, 0)).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AddrNotAvailable);
        let err = std::net::UdpSocket::bind(SocketAddr::new(address.into(), 0)).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AddrNotAvailable);
        assert_eq!(
            std::fs::read_to_string(&resolv).unwrap(),
            "nameserver 192.0.2.53\n"
        );
    });
}
