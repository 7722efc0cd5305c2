//! Root tier: our server and our client on real Linux TUN devices, each in
//! a network namespace this test creates and deletes, joined by a veth pair
//! with addresses from 198.18.0.0/15 (RFC 2544 benchmarking range). The
//! client applies real routes (rtnetlink) and DNS to a resolv.conf under
//! `/etc/netns/<ns>/` (the host's file is never touched); the kernel in the
//! client namespace pings the server's tunnel address through the tunnel;
//! after the disconnect the routes and resolv.conf are as before. Without
//! root the test prints why it skipped and passes.

use std::fs::File;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use nix::sched::{CloneFlags, setns};
use sstp_client::dns::ResolvConf;
use sstp_client::routes::LinuxRoutes;
use sstp_client::{
    ClientBuilder, ProxySetting, ReconnectPolicy, ServerAddr, System, TlsOptions, TunnelOptions,
};
use sstp_server::{Server, StaticUsers};
use sstp_tun::LinuxTun;
use tokio::sync::oneshot;

use crate::auth::up_info;
use crate::support::*;
use sstp_testkit::{Netns, ip, root_skip_reason};

const SERVER_VETH: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const CLIENT_VETH: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const SERVER_TUN: &str = "sstps0";
const CLIENT_TUN: &str = "sstpc0";
/// The resolv.conf the client namespace starts with.
const ORIGINAL_RESOLV: &str = "# e2e namespace resolver\nnameserver 198.18.0.53\nsearch e2e.test\n";

/// The two namespaces, and the client's `/etc/netns` directory removed on
/// drop, also when the test panics.
struct Namespaces {
    server: Netns,
    client: Netns,
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(format!("/etc/netns/{}", self.client.name()));
    }
}

/// Runs `body` on its own thread inside namespace `ns`, on a
/// current-thread runtime (so every socket, TUN and netlink handle it makes
/// lives in `ns`).
fn spawn_in<F, Fut>(ns: &str, body: F) -> std::thread::JoinHandle<()>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = File::open(&path).expect("open the namespace");
        setns(&file, CloneFlags::CLONE_NEWNET).expect("setns");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(60), body())
                .await
                .expect("the netns test timed out");
        });
    })
}

fn join(thread: std::thread::JoinHandle<()>) {
    if let Err(panic) = thread.join() {
        std::panic::resume_unwind(panic);
    }
}

/// The client's real TUN device and its system (rtnetlink routes, the
/// namespace's resolv.conf at `resolv`); call inside the client namespace.
fn client_device(resolv: &str) -> (LinuxTun, System) {
    let tun = LinuxTun::builder(CLIENT_TUN)
        .mtu(MTU)
        .build()
        .expect("client TUN");
    let system = System::new(
        Arc::new(LinuxRoutes::new().expect("netlink")),
        Arc::new(ResolvConf::new(resolv)),
    );
    (tun, system)
}

/// A client for the server at `addr` pinned to `pin`, direct, no
/// reconnect, on `CLIENT_TUN`, IPv4 only; the test adds the credentials.
fn builder(addr: SocketAddr, pin: sstp_client::Fingerprint) -> ClientBuilder {
    ClientBuilder::new(ServerAddr::new(addr.ip().to_string(), addr.port()))
        .tls(TlsOptions {
            pins: vec![pin],
            ..TlsOptions::default()
        })
        .proxy(ProxySetting::Direct)
        .reconnect(ReconnectPolicy::disabled())
        .tunnel(TunnelOptions {
            interface: CLIENT_TUN.to_owned(),
            ipv6: false,
            ..TunnelOptions::default()
        })
}

/// The kernel pings the server's tunnel address `count` times from `ns`
/// (a child process: it must not block the runtime's thread). Whether it
/// succeeded, and what ping printed.
async fn ping(ns: &str, count: u32) -> (bool, String) {
    let out = tokio::process::Command::new("ip")
        .args(["netns", "exec", ns, "ping", "-c", &count.to_string()])
        .args(["-i", "0.2", "-W", "5"])
        .arg(SERVER_TUN_IP.to_string())
        .output()
        .await
        .expect("run ping");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn real_tun_devices_in_network_namespaces() {
    if let Some(reason) = root_skip_reason(&["ping"]) {
        println!("{reason}");
        return;
    }
    init_tracing();
    let nss = Namespaces {
        server: Netns::create("sstpe2e", "s"),
        client: Netns::create("sstpe2e", "c"),
    };
    ip(&[
        "-n",
        nss.server.name(),
        "link",
        "add",
        "ve-srv",
        "type",
        "veth",
        "peer",
        "name",
        "ve-cli",
        "netns",
        nss.client.name(),
    ]);
    let server_cidr = format!("{SERVER_VETH}/30");
    let client_cidr = format!("{CLIENT_VETH}/30");
    ip(&[
        "-n",
        nss.server.name(),
        "addr",
        "add",
        &server_cidr,
        "dev",
        "ve-srv",
    ]);
    ip(&["-n", nss.server.name(), "link", "set", "ve-srv", "up"]);
    ip(&[
        "-n",
        nss.client.name(),
        "addr",
        "add",
        &client_cidr,
        "dev",
        "ve-cli",
    ]);
    ip(&["-n", nss.client.name(), "link", "set", "ve-cli", "up"]);
    let etc = format!("/etc/netns/{}", nss.client.name());
    std::fs::create_dir_all(&etc).expect("mkdir /etc/netns/<ns>");
    let resolv = format!("{etc}/resolv.conf");
    std::fs::write(&resolv, ORIGINAL_RESOLV).expect("write resolv.conf");
    let routes_before = ip(&["-n", nss.client.name(), "route", "show"]);

    // A client CA and alice's certificate, for the second tunnel (EAP-TLS).
    let ca = tempfile::tempdir().expect("tmp");
    let alice = client_ca(ca.path(), None);
    let spec = ServerSpec {
        methods: vec!["eap-mschapv2", "mschapv2", "eap-tls"],
        eap_tls: Some(format!("ca = {:?}\n", ca.path().join("ca.pem"))),
        ..ServerSpec::default()
    };

    // The server: a real TUN with the pool's first address.
    let pki = Arc::new(Pki::new());
    let pin = pki.fingerprint();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel::<SocketAddr>();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server_ns = nss.server.name().to_owned();
    let server = spawn_in(nss.server.name(), move || async move {
        let listen = SocketAddr::from((SERVER_VETH, 0));
        let config = spec.config(listen);
        let tun = LinuxTun::builder(SERVER_TUN)
            .mtu(config.tun.mtu)
            .build()
            .expect("server TUN");
        let cidr = format!("{SERVER_TUN_IP}/22");
        ip(&["-n", &server_ns, "addr", "add", &cidr, "dev", SERVER_TUN]);
        ip(&["-n", &server_ns, "link", "set", SERVER_TUN, "up"]);
        let users = Arc::new(StaticUsers::from_toml(USERS).expect("users"));
        let server = Server::bind(config, pki.identity(), tun, users)
            .await
            .expect("bind");
        addr_tx.send(server.local_addrs()[0]).expect("report addr");
        server
            .run(async move {
                let _ = stop_rx.await;
            })
            .await
            .expect("server run");
    });
    let server_addr = addr_rx
        .recv_timeout(STEP)
        .expect("the server reports its address");

    // The client: a real TUN, rtnetlink routes, the namespace's resolv.conf.
    let client_ns = nss.client.name().to_owned();
    let resolv_path = resolv.clone();
    let routes_during = Arc::new(std::sync::Mutex::new(String::new()));
    let routes_seen = Arc::clone(&routes_during);
    let client = spawn_in(nss.client.name(), move || async move {
        let (tun, system) = client_device(&resolv_path);
        let mut tunnel = builder(server_addr, pin)
            .password(USER, PASSWORD)
            .connect_with(tun, system)
            .await
            .expect("connect");
        let (up, _) = up_info(&mut tunnel).await;
        assert_eq!(up.interface, CLIENT_TUN);
        assert_eq!(up.peer, Some(SERVER_TUN_IP));

        // Routes: both halves of the default through the tunnel, and the
        // server itself still over the veth.
        let routes = ip(&["-n", &client_ns, "route", "show"]);
        *routes_seen.lock().expect("lock") = routes.clone();
        assert!(
            routes.contains(&format!("0.0.0.0/1 dev {CLIENT_TUN}")),
            "{routes}"
        );
        assert!(
            routes.contains(&format!("128.0.0.0/1 dev {CLIENT_TUN}")),
            "{routes}"
        );
        let to_server = ip(&["-n", &client_ns, "route", "get", &SERVER_VETH.to_string()]);
        assert!(to_server.contains("dev ve-cli"), "{to_server}");
        // DNS: the namespace's resolv.conf names the pushed server.
        let text = std::fs::read_to_string(&resolv_path).expect("resolv.conf");
        assert!(text.contains(&format!("nameserver {DNS_IP}")), "{text}");
        assert!(!text.contains("198.18.0.53"), "{text}");

        // The kernel pings the server's tunnel address through the tunnel
        // (a child process: it must not block this runtime's thread).
        let (ok, out) = ping(&client_ns, 3).await;
        assert!(ok, "ping failed:\n{out}");
        assert!(out.contains("3 received"), "{out}");
        let stats = tunnel.stats();
        assert!(stats.tx_packets >= 3 && stats.rx_packets >= 3, "{stats:?}");

        tunnel.disconnect().await.expect("clean disconnect");

        // Again with only a certificate (EAP-TLS), on a new TUN device.
        let (tun, system) = client_device(&resolv_path);
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        let identity =
            sstp_client::ClientIdentity::from_pem_files(&alice.cert, &alice.key, &provider)
                .expect("identity");
        let mut tunnel = builder(server_addr, pin)
            .certificate(identity)
            .auth_methods([sstp_client::AuthMethod::EapTls])
            .connect_with(tun, system)
            .await
            .expect("connect with a certificate");
        let (up, method) = up_info(&mut tunnel).await;
        assert_eq!(method, Some(sstp_client::AuthMethod::EapTls));
        let (ok, out) = ping(&client_ns, 2).await;
        assert!(ok, "ping over the EAP-TLS tunnel failed:\n{out}");
        assert_eq!(up.interface, CLIENT_TUN);
        tunnel.disconnect().await.expect("clean disconnect");
    });
    let client_result = client.join();
    let _ = stop_tx.send(());
    join(server);
    if let Err(panic) = client_result {
        std::panic::resume_unwind(panic);
    }

    // Everything the client changed is back.
    let routes_after = ip(&["-n", nss.client.name(), "route", "show"]);
    assert_ne!(
        *routes_during.lock().expect("lock"),
        routes_before,
        "the tunnel changed the routes"
    );
    assert_eq!(routes_after, routes_before, "routes restored");
    let text = std::fs::read_to_string(&resolv).expect("resolv.conf");
    assert_eq!(text, ORIGINAL_RESOLV, "resolv.conf restored");
    assert!(
        !std::path::Path::new(&format!("{resolv}.sstp-client.orig")).exists(),
        "the backup is gone"
    );
    drop(nss);
}
