//! Root tier: the real Linux side of the client in a network namespace the
//! test creates and deletes: a LinuxTun, addresses and routes through
//! rtnetlink (`LinuxRoutes`), DNS through a resolv.conf in a temporary
//! directory. The server is the loopback test server inside the same
//! namespace. Traffic: UDP between the namespace's kernel and the server's
//! MemTun, through the tunnel; nothing leaves the namespace. Without root
//! the test prints "skipped: needs root" and passes.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use sstp_client::dns::ResolvConf;
use sstp_client::routes::LinuxRoutes;
use sstp_client::{System, TunnelEvent, TunnelOptions};
use sstp_tun::LinuxTun;
use sstp_tun::netlink::Netlink;

use crate::loopback::{client, event_until, up_info};
use crate::support::*;

const TUN: &str = "sstpc0";

/// Runs `test` inside a fresh `sstpc-test-<pid>-<tag>` namespace with `lo`
/// up (see `sstp_testkit::in_netns`).
fn in_netns<F, Fut>(tag: &str, test: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    sstp_testkit::in_netns("sstpc-test", tag, |_| test());
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

/// Runs the `sstp-client` binary in the namespace with `args`; returns the
/// child (stdout piped).
fn spawn_cli(server: &TestServer, password: &str, extra: &[&str]) -> tokio::process::Child {
    let port = server.addr.port().to_string();
    let pin = server.fingerprint.to_string();
    let mut args = vec![
        "connect",
        "--server",
        "localhost",
        "--user",
        USER,
        "--password-env",
        "SSTP_TEST_PASSWORD",
        "--pin-sha256",
        &pin,
        "--no-dns",
        "--no-proxy",
    ];
    args.extend_from_slice(extra);
    // `localhost` plus the port, as a person types it.
    let server_arg = format!("localhost:{port}");
    args[2] = &server_arg;
    tokio::process::Command::new(env!("CARGO_BIN_EXE_sstp-client"))
        .args(&args)
        .env("SSTP_TEST_PASSWORD", password)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run sstp-client")
}

/// The JSON lines of the child's stdout, read until `until` matches one.
async fn json_lines_until(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    until: &str,
) -> Vec<serde_json::Value> {
    let mut seen = Vec::new();
    loop {
        let line = tokio::time::timeout(STEP, lines.next_line())
            .await
            .expect("a line in time")
            .expect("read stdout")
            .unwrap_or_else(|| panic!("stdout ended before {until:?}: {seen:?}"));
        let value: serde_json::Value =
            serde_json::from_str(&line).expect("one JSON object per line");
        let done = value["event"] == until;
        seen.push(value);
        if done {
            return seen;
        }
    }
}

#[test]
fn cli_connects_reports_json_and_restores_on_sigterm() {
    use tokio::io::AsyncBufReadExt;
    in_netns("cli", || async {
        let server = TestServer::start(ServerOptions::default()).await;
        let mut child = spawn_cli(&server, PASSWORD, &["--interface", "sstpc1", "--json"]);
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let events = json_lines_until(&mut lines, "up").await;
        let names: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
        assert_eq!(names, ["connecting", "connected", "authenticated", "up"]);
        let up = &events[3];
        assert_eq!(up["interface"], "sstpc1");
        assert_eq!(up["address"], "10.0.0.2");
        assert_eq!(up["peer"], "10.0.0.1");
        assert_eq!(events[1]["cert_sha256"], server.fingerprint.to_string());
        let nl = Netlink::new().unwrap();
        let index = nl.link_index("sstpc1").await.unwrap();
        let path = nl
            .route_get(Ipv4Addr::new(198, 51, 100, 1).into())
            .await
            .unwrap();
        assert_eq!(path.oif, Some(index));

        let pid = nix::unistd::Pid::from_raw(child.id().unwrap() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let rest = json_lines_until(&mut lines, "exit").await;
        let exit = rest.last().unwrap();
        assert_eq!(exit["code"], 0, "{rest:?}");
        // The session lasted: its length is reported after it ended.
        let uptime = exit["stats"]["uptime_secs"].as_f64();
        assert!(uptime.is_some_and(|u| u > 0.0), "{exit}");
        assert!(
            rest.iter()
                .any(|e| e["event"] == "signal" && e["signal"] == "terminate")
        );
        let status = tokio::time::timeout(STEP, child.wait())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(status.code(), Some(0));
        server.wait_clean_closes(1).await;
        // The routes went with the tunnel, and so did the interface.
        assert!(
            nl.route_get(Ipv4Addr::new(198, 51, 100, 1).into())
                .await
                .is_err()
        );
        assert!(nl.link_index("sstpc1").await.is_err());
    });
}

#[test]
fn cli_wrong_password_exits_5_with_a_plain_reason() {
    in_netns("cli-auth", || async {
        let server = TestServer::start(ServerOptions::default()).await;
        let child = spawn_cli(
            &server,
            "not the password",
            &["--interface", "sstpc2", "--json"],
        );
        let out = tokio::time::timeout(STEP, child.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(out.status.code(), Some(5));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
        // The tunnel never came up, so it did not go down either.
        assert!(!stdout.contains(r#""event":"down""#), "{stdout}");
        assert_eq!(last["kind"], "auth");
        assert!(
            last["error"]
                .as_str()
                .unwrap()
                .starts_with("authentication failed"),
            "{last}"
        );
        assert_eq!(server.connections(), 1);
    });
}

#[test]
fn cli_human_output_tells_whom_addresses_routes_and_dns() {
    use tokio::io::AsyncBufReadExt;
    in_netns("cli-human", || async {
        let server = TestServer::start(ServerOptions::default()).await;
        let mut child = spawn_cli(
            &server,
            PASSWORD,
            &["--interface", "sstpc3", "--route", "172.16.0.0/12"],
        );
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut text = Vec::new();
        while !text.iter().any(|l: &String| l.starts_with("  DNS:")) {
            let line = tokio::time::timeout(STEP, lines.next_line())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            text.push(line);
        }
        let pid = nix::unistd::Pid::from_raw(child.id().unwrap() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
        while let Some(line) = tokio::time::timeout(STEP, lines.next_line())
            .await
            .unwrap()
            .unwrap()
        {
            text.push(line);
        }
        let status = child.wait().await.unwrap();
        let text = text.join("\n");
        println!("{text}");
        assert_eq!(status.code(), Some(0), "{text}");
        let port = server.addr.port();
        for want in [
            format!("Connecting to localhost:{port}..."),
            format!(
                "Connected to localhost:{port} (127.0.0.1:{port}) over TLS 1.3; server certificate SHA-256 {}",
                server.fingerprint
            ),
            // The server offers EAP-MSCHAPv2 first; the client prefers MS-CHAPv2
            // and Naks once, so MS-CHAPv2 is what runs.
            "Authenticated as alice with mschapv2".to_owned(),
            "Tunnel up on sstpc3: address 10.0.0.2, server side 10.0.0.1, MTU 1400".to_owned(),
            "  routes: 10.0.0.1/32 dev sstpc3, 172.16.0.0/12 dev sstpc3".to_owned(),
            "  DNS: 10.0.0.53 (not applied)".to_owned(),
            "Disconnecting (Ctrl-C)...".to_owned(),
            // The kernel's own IPv6 chatter (solicitations, MLD) may have gone out.
            "Disconnected. Sent ".to_owned(),
        ] {
            assert!(text.contains(&want), "missing {want:?} in:\n{text}");
        }
    });
}

#[test]
fn split_tunnel_keeps_the_kernel_from_taking_the_routers_ipv6_default() {
    in_netns("ra", || async {
        let server = TestServer::start(ServerOptions {
            ra_prefix: Some(RA_PREFIX),
            ..ServerOptions::default()
        })
        .await;
        let system = System::new(
            Arc::new(LinuxRoutes::new().unwrap()),
            Arc::new(sstp_client::dns::NoDns),
        );
        let tun = LinuxTun::builder("sstpc4").mtu(1400).build().unwrap();
        let mut tunnel = client(&server)
            .tunnel(TunnelOptions {
                interface: "sstpc4".into(),
                routes: sstp_client::RouteMode::Split(vec!["198.18.2.0/24".parse().unwrap()]),
                dns: false,
                ..TunnelOptions::default()
            })
            .start_with(tun, system)
            .unwrap();
        up_info(&mut tunnel).await;
        // The client's own SLAAC address: the RA (router lifetime 1800 s) has reached the kernel.
        let address = event_until(&mut tunnel, |e| match e {
            TunnelEvent::Ipv6Address { address, .. } => Some(address),
            _ => None,
        })
        .await;
        // The kernel handles a received RA shortly after the write; give it time to show.
        for _ in 0..20 {
            let defaults = sstp_testkit::ip(&["-6", "route", "show", "default"]);
            assert!(
                defaults.trim().is_empty(),
                "split tunnel, yet an IPv6 default route: {defaults}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let globals = sstp_testkit::ip(&[
            "-6", "-o", "addr", "show", "dev", "sstpc4", "scope", "global",
        ]);
        let found: Vec<&str> = globals
            .split_whitespace()
            .filter(|w| w.starts_with("2001:"))
            .collect();
        assert_eq!(found, [format!("{address}/64")], "{globals}");
        let nl = Netlink::new().unwrap();
        assert!(
            nl.route_get(Ipv6Addr::new(0x2001, 0xdb8, 0xff, 0, 0, 0, 0, 1).into())
                .await
                .is_err(),
            "IPv6 outside the split routes has a route"
        );
        tokio::time::timeout(STEP, tunnel.disconnect())
            .await
            .unwrap()
            .unwrap();
    });
}

#[test]
fn cli_exits_8_once_reconnecting_is_given_up() {
    use tokio::io::AsyncBufReadExt;
    in_netns("cli-gaveup", || async {
        let server = TestServer::start(ServerOptions::default()).await;
        let mut child = spawn_cli(
            &server,
            PASSWORD,
            &[
                "--interface",
                "sstpc5",
                "--json",
                "--reconnect-attempts",
                "1",
                "--reconnect-max-delay",
                "1s",
            ],
        );
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        json_lines_until(&mut lines, "up").await;
        // The server goes away for good: one reconnect is refused, then the client gives up.
        drop(server);
        let rest = json_lines_until(&mut lines, "exit").await;
        let exit = rest.last().unwrap();
        assert_eq!(exit["code"], 8, "{rest:?}");
        assert_eq!(exit["kind"], "connection-lost", "{exit}");
        assert!(
            exit["error"]
                .as_str()
                .unwrap()
                .starts_with("connection lost and not re-established after 1 attempt;"),
            "{exit}"
        );
        let status = tokio::time::timeout(STEP, child.wait())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(status.code(), Some(8));
    });
}
