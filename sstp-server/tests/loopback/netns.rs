//! Root tier: the real `sstp-server` binary on a Linux TUN inside a network
//! namespace this test creates (and deletes, also on failure). A test
//! client connects over the namespace's loopback; `ping` and `ping -6` from
//! the namespace's kernel reach the client through TUN → server → SSTP, and
//! the client's replies come back the same way. SIGTERM then shuts the
//! daemon down gracefully.
//!
//! Lives in the loopback binary to share its link (one test binary keeps
//! link time down). Without root it prints the reason and passes.

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nix::sched::{CloneFlags, setns};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep, timeout};

use crate::support::*;
use sstp_testkit::{Netns, root_skip_reason};

const PORT: u16 = 4433;

/// `program args` run inside `ns` (`ip netns exec`).
fn exec(ns: &Netns, program: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns.name(), program]).args(args);
    cmd
}

/// The daemon; killed on drop if the test did not stop it.
struct Daemon(Option<Child>);

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn write_files(dir: &Path, bin: &str) -> PathBuf {
    std::fs::create_dir_all(dir).expect("temp dir");
    let out = Command::new(bin)
        .args([
            "gen-cert",
            "--name",
            "localhost",
            "--name",
            "127.0.0.1",
            "--force",
        ])
        .arg("--cert")
        .arg(dir.join("cert.pem"))
        .arg("--key")
        .arg(dir.join("key.pem"))
        .output()
        .expect("gen-cert");
    assert!(out.status.success(), "gen-cert: {out:?}");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("SHA-256 fingerprint: "), "{printed}");
    std::fs::write(dir.join("users.toml"), USERS).expect("users");
    let config = dir.join("server.toml");
    std::fs::write(
        &config,
        format!(
            r#"
listen = ["127.0.0.1:{PORT}"]
[tls]
certificate = "cert.pem"
private_key = "key.pem"
[tun]
name = "sstpsrv0"
[network]
ipv4_pool = "10.77.0.0/22"
ipv6_pool = "fd00:77::/48"
[auth]
users_file = "users.toml"
[limits]
shutdown_grace = "3s"
[control]
socket = "control.sock"
"#
        ),
    )
    .expect("config");
    config
}

#[test]
fn the_daemon_on_a_real_tun_answers_ping_through_a_client() {
    if let Some(reason) = root_skip_reason(&["ping"]) {
        println!("{reason}");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_sstp-server");
    let dir = std::env::temp_dir().join(format!("sstp-server-netns-{}", std::process::id()));
    let config = write_files(&dir, bin);
    let ns = Netns::create("sstpsrv-test", "daemon");
    let config_arg = config.to_str().expect("utf-8 path");

    let check = exec(&ns, bin, &["--config", config_arg, "--check-config"])
        .output()
        .expect("check-config");
    assert!(check.status.success(), "--check-config: {check:?}");

    let log = File::create(dir.join("server.log")).expect("log file");
    let child = exec(&ns, bin, &["--config", config_arg])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start the daemon");
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let mut daemon = Daemon(Some(child));

    let ns_name = ns.name().to_owned();
    let cert_pem = std::fs::read(dir.join("cert.pem")).expect("cert");
    let scenario_dir = dir.clone();
    let result = std::thread::spawn(move || {
        let file = File::open(format!("/run/netns/{ns_name}")).expect("open netns");
        setns(&file, CloneFlags::CLONE_NEWNET).expect("setns");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            timeout(
                Duration::from_secs(60),
                scenario(&ns_name, &cert_pem, pid, &scenario_dir),
            )
            .await
            .expect("scenario timed out")
        })
    })
    .join();
    // After a failure the daemon got no SIGTERM: `Daemon`'s drop kills it.
    let status = match &result {
        Ok(()) => daemon.0.take().map(|mut c| c.wait().expect("wait")),
        Err(_) => None,
    };
    let logs = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(panic) = result {
        eprintln!("daemon log:\n{logs}");
        std::panic::resume_unwind(panic);
    }
    let status = status.expect("daemon ran");
    assert!(
        status.success(),
        "daemon exit after SIGTERM: {status}\n{logs}"
    );
    for line in [
        "TUN device ready",
        "session up",
        "session end",
        "SIGTERM",
        "metrics=http://127.0.0.1:9478/metrics",
    ] {
        assert!(logs.contains(line), "log lacks {line:?}:\n{logs}");
    }
}

async fn scenario(ns: &str, cert_pem: &[u8], daemon: nix::unistd::Pid, dir: &Path) {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, PORT));
    let end = Instant::now() + Duration::from_secs(15);
    while TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < end, "the daemon never listened");
        sleep(Duration::from_millis(50)).await;
    }
    let ca = rustls_pki_types::CertificateDer::from_pem_slice(cert_pem).expect("cert");
    let mut client = ClientOptions::new(addr, ca.clone())
        .connect()
        .await
        .expect("client up");
    let v6 = client.ipv6().await;
    let ra = client.recv_ra().await;
    let prefix = Ipv6Addr::from(<[u8; 16]>::try_from(&ra[72..88]).expect("PIO prefix"));
    let my_v6 = Ipv6Addr::from(u128::from(prefix) | 0x42);
    let my_v4 = client.ipv4;
    assert!(v6.peer.is_some());

    // The client answers echo requests to its addresses, like a host would.
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let responder = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = &mut stop_rx => return client,
                packet = client.recv() => {
                    if let Some(reply) = echo_reply(&packet) {
                        client.send(reply);
                    }
                }
            }
        }
    });
    for (target, v6) in [(IpAddr::V6(my_v6), true), (IpAddr::V4(my_v4), false)] {
        let mut args = vec!["-c", "3", "-i", "0.2", "-W", "5"];
        if v6 {
            args.insert(0, "-6");
        }
        let target = target.to_string();
        args.push(&target);
        // Off the runtime thread: the client must keep answering meanwhile.
        let ns_name = ns.to_owned();
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let out = tokio::task::spawn_blocking(move || {
            Command::new("ip")
                .args(["netns", "exec", &ns_name, "ping"])
                .args(&args)
                .output()
        })
        .await
        .expect("join")
        .expect("ping");
        let text = String::from_utf8_lossy(&out.stdout);
        if !(out.status.success() && text.contains(" 0% packet loss")) {
            let metrics = metrics_text().await;
            panic!(
                "ping {target}: {text}{}\nserver metrics:\n{metrics}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let _ = stop_tx.send(());
    let client = responder
        .await
        .expect("the responder hands the client back");

    // The control verbs reach the daemon: its session, and a reload.
    let socket = dir.join("control.sock");
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_sstp-server"))
            .args(args)
            .arg("--socket")
            .arg(&socket)
            .output()
            .expect("run the CLI");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, listing, err) = cli(&["sessions", "--json"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        listing.contains("\"user\": \"alice\"") && listing.contains(&my_v4.to_string()),
        "{listing}"
    );
    // An edited configuration: the DNS change applies, the port needs a
    // restart and keeps its running value.
    let config_file = dir.join("server.toml");
    let text = std::fs::read_to_string(&config_file).expect("config");
    let edited = text
        .replace(
            &format!("127.0.0.1:{PORT}"),
            &format!("127.0.0.1:{}", PORT + 1),
        )
        .replace(
            "[network]\n",
            "[network]\ndns = [\"10.77.0.53\"]\nrouted_networks = [\"10.99.0.0/24\"]\n",
        );
    std::fs::write(&config_file, edited).expect("edit the config");
    let (code, reloaded, err) = cli(&["reload"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        reloaded.contains("applied: certificate: SHA-256 "),
        "{reloaded}"
    );
    assert!(reloaded.contains("applied: network.dns\n"), "{reloaded}");
    // A routed network added by the reload is routed to the TUN.
    let routes = Command::new("ip")
        .args(["netns", "exec", ns, "ip", "route", "show", "10.99.0.0/24"])
        .output()
        .expect("ip route");
    let routes = String::from_utf8_lossy(&routes.stdout);
    assert!(routes.contains("dev sstpsrv0"), "{routes:?}\n{reloaded}");
    assert!(
        reloaded.contains("needs a restart: listen: the listening sockets are bound at start"),
        "{reloaded}"
    );
    std::fs::write(&config_file, text).expect("restore the config");

    // SIGHUP with an expired certificate in place: refused, logged with the
    // reason, and the old certificate goes on serving.
    let mut expired = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    expired.not_before = time::OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("time");
    expired.not_after = time::OffsetDateTime::from_unix_timestamp(1_750_000_000).expect("time");
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = expired.self_signed(&key).expect("cert");
    std::fs::write(dir.join("cert.pem"), cert.pem()).expect("cert");
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).expect("key");
    nix::sys::signal::kill(daemon, nix::sys::signal::Signal::SIGHUP).expect("SIGHUP");
    let refused = "certificate reload failed; keeping the old one";
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
        if let Some(line) = log.lines().find(|l| l.contains(refused)) {
            assert!(
                line.contains("cert.pem: the certificate for rcgen self signed cert expired on 2025-06-15 15:06 UTC"),
                "{line}"
            );
            break;
        }
        assert!(Instant::now() < end, "no refused reload in the log:\n{log}");
        sleep(Duration::from_millis(50)).await;
    }
    // The reload verb says the same, and fails.
    let (code, reloaded, _) = cli(&["reload"]);
    assert_eq!(code, Some(1), "{reloaded}");
    assert!(reloaded.contains("error: certificate: "), "{reloaded}");
    ClientOptions::new(addr, ca)
        .connect()
        .await
        .expect("the old certificate still serves")
        .close()
        .await;

    // SIGTERM with the session up: the client gets its Call Disconnect and
    // the daemon is gone within a second (it took 1.2-1.9 s).
    let sent = Instant::now();
    nix::sys::signal::kill(daemon, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let end = client.ended().await;
    assert!(
        end.saw_call_disconnect(),
        "Call Disconnect (0x0006) among {:04x?}",
        end.control_types
    );
    while !exited(daemon) {
        assert!(
            sent.elapsed() < Duration::from_secs(1),
            "the daemon still runs {:?} after SIGTERM",
            sent.elapsed()
        );
        sleep(Duration::from_millis(10)).await;
    }
}

/// Whether the process has exited (gone, or a zombie waiting to be reaped).
fn exited(pid: nix::unistd::Pid) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        // "pid (comm) state ...": the state follows the last ')'.
        stat.rsplit(')')
            .next()
            .and_then(|rest| rest.trim_start().chars().next())
            == Some('Z')
    })
}

/// The daemon's metrics, from its default metrics listener (loopback of the
/// namespace, plain HTTP).
async fn metrics_text() -> String {
    use tokio::io::AsyncWriteExt;
    let Ok(mut tcp) = TcpStream::connect((Ipv4Addr::LOCALHOST, 9478)).await else {
        return "(no connection)".into();
    };
    let _ = tcp
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let (bytes, _) = read_until_closed(&mut tcp, STEP).await;
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The echo reply to an ICMP/ICMPv6 echo request, checksums recomputed.
fn echo_reply(p: &[u8]) -> Option<Vec<u8>> {
    let mut r = p.to_vec();
    match p.first()? >> 4 {
        4 => {
            let ihl = usize::from(p[0] & 0x0f) * 4;
            if p.get(9) != Some(&1) || p.get(ihl) != Some(&8) {
                return None;
            }
            r.copy_within(12..16, 16);
            r[12..16].copy_from_slice(&p[16..20]);
            r[ihl] = 0;
            r[ihl + 2..ihl + 4].fill(0);
            let sum = checksum(&r[ihl..]);
            r[ihl + 2..ihl + 4].copy_from_slice(&sum.to_be_bytes());
            r[10..12].fill(0);
            let sum = checksum(&r[..ihl]);
            r[10..12].copy_from_slice(&sum.to_be_bytes());
            Some(r)
        }
        6 => {
            if p.get(6) != Some(&58) || p.get(40) != Some(&128) {
                return None;
            }
            r[8..24].copy_from_slice(&p[24..40]);
            r[24..40].copy_from_slice(&p[8..24]);
            r[40] = 129;
            r[42..44].fill(0);
            let mut pseudo = Vec::new();
            pseudo.extend_from_slice(&r[8..40]);
            pseudo.extend_from_slice(&((r.len() - 40) as u32).to_be_bytes());
            pseudo.extend_from_slice(&[0, 0, 0, 58]);
            pseudo.extend_from_slice(&r[40..]);
            let sum = checksum(&pseudo);
            r[42..44].copy_from_slice(&sum.to_be_bytes());
            Some(r)
        }
        _ => None,
    }
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

use rustls_pki_types::pem::PemObject as _;
