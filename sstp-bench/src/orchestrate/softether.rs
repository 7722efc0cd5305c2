//! Our client against the SoftEther server (from the interop harness) versus our client against
//! our server, in the same run.
//!
//! SoftEther listens on the loopback of its own namespace (`sstpi-se`, made by
//! `softether-server.sh`). For a path with no relay in it, our client runs inside that namespace
//! and dials SoftEther directly; the far end is a Local Bridge of the hub (a tap device that
//! SoftEther creates, moved into a namespace of ours, `sb-selab`, where iperf3 listens). The
//! tunnel address comes from SoftEther's SecureNAT DHCP (192.168.30.0/24); the lab host takes
//! 192.168.30.250. Our own pair is measured the same way in the `sb-cli`/`sb-srv` topology.
//! The bridge and the namespace are removed at the end; SoftEther is stopped if we started it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::report::Table;
use super::stats::Spread;
use super::sys::{Netns, Proc, run_ok, wait_for_file_line, wait_for_tcp};
use super::{Bench, Flow, MTU, NS_CLI, NS_SRV, SSTP_SRV, Variant, path_str};

const LAB_NS: &str = "sb-selab";
/// Tap device SoftEther creates for a Local Bridge named `sbench`.
const BRIDGE: &str = "sbench";
const TAP: &str = "tap_sbench";
const LAB_ADDR: &str = "192.168.30.250";

/// What `softether-server.sh start` wrote to its `info.env`.
#[derive(Debug, Default)]
struct Info {
    port: String,
    user: String,
    password: String,
    hub: String,
    cert_sha256: String,
    netns: String,
}

fn parse_info(text: &str) -> Result<Info> {
    let mut map = BTreeMap::new();
    for line in text.lines() {
        if let Some((k, v)) = line.split_once('=') {
            map.insert(
                k.trim(),
                v.trim().trim_matches(|c| c == '"' || c == '\'').to_owned(),
            );
        }
    }
    let get = |k: &str| {
        map.get(k)
            .cloned()
            .with_context(|| format!("info.env has no {k}"))
    };
    Ok(Info {
        port: get("SE_PORT")?,
        user: get("SE_USER")?,
        password: get("SE_PASS")?,
        hub: get("SE_HUB")?,
        cert_sha256: get("SE_CERT_SHA256")?,
        netns: get("SE_NETNS")?,
    })
}

/// The harness's state folder (`$SSTP_INTEROP_DIR`, by default `${TMPDIR:-/var/tmp}/sstp-interop`).
fn state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SSTP_INTEROP_DIR") {
        return dir.into();
    }
    let tmp = std::env::var_os("TMPDIR").map_or_else(|| PathBuf::from("/var/tmp"), PathBuf::from);
    tmp.join("sstp-interop")
}

/// The Local Bridge; deleted on drop.
struct Bridge<'a> {
    script: &'a Path,
    hub: String,
}

impl Bridge<'_> {
    fn vpncmd(script: &Path, args: &[&str]) -> Result<()> {
        let mut all = vec!["vpncmd", "/CMD"];
        all.extend_from_slice(args);
        run_ok(path_str(script)?, &all)
    }
}

impl Drop for Bridge<'_> {
    fn drop(&mut self) {
        let device = format!("/DEVICE:{BRIDGE}");
        let _ = Self::vpncmd(self.script, &["BridgeDelete", &self.hub, &device]);
    }
}

pub(super) fn run(bench: &Bench) -> Result<String> {
    let script = bench.args.interop_dir.join("softether-server.sh");
    if !script.exists() {
        bail!("{} not found (pass --interop-dir)", script.display());
    }
    let script = std::fs::canonicalize(&script)?;
    let was_running = run_ok(path_str(&script)?, &["status"]).is_ok();
    eprintln!("  starting SoftEther (interop harness)");
    run_ok(path_str(&script)?, &["start"])?;
    let result = measure(bench, &script);
    if !was_running {
        let _ = run_ok(path_str(&script)?, &["stop"]);
    }
    result
}

fn measure(bench: &Bench, script: &Path) -> Result<String> {
    let info_path = state_dir().join("softether").join("info.env");
    let info = parse_info(
        &std::fs::read_to_string(&info_path)
            .with_context(|| format!("reading {}", info_path.display()))?,
    )?;

    let _ = Bridge::vpncmd(
        script,
        &["BridgeDelete", &info.hub, &format!("/DEVICE:{BRIDGE}")],
    );
    Bridge::vpncmd(
        script,
        &[
            "BridgeCreate",
            &info.hub,
            &format!("/DEVICE:{BRIDGE}"),
            "/TAP:yes",
        ],
    )?;
    let _bridge = Bridge {
        script,
        hub: info.hub.clone(),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while run_ok("ip", &["-n", &info.netns, "link", "show", TAP]).is_err() {
        if Instant::now() > deadline {
            bail!("SoftEther did not create {TAP} in {}", info.netns);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let lab = Netns::create(LAB_NS)?;
    run_ok(
        "ip",
        &["-n", &info.netns, "link", "set", TAP, "netns", LAB_NS],
    )?;
    run_ok(
        "ip",
        &[
            "-n",
            LAB_NS,
            "addr",
            "add",
            &format!("{LAB_ADDR}/24"),
            "dev",
            TAP,
        ],
    )?;
    run_ok("ip", &["-n", LAB_NS, "link", "set", TAP, "up"])?;
    let _lab_iperf = Proc::spawn_lines(
        "iperf3-selab",
        &bench.work,
        LAB_NS,
        Path::new("iperf3"),
        &["-s", "-B", LAB_ADDR],
    )?;
    let _srv_iperf = Proc::spawn_lines(
        "iperf3-se-ours",
        &bench.work,
        NS_SRV,
        Path::new("iperf3"),
        &["-s"],
    )?;
    wait_for_tcp(LAB_NS, LAB_ADDR, 5201, Duration::from_secs(5))?;

    let password = bench.work.join("se-password");
    std::fs::write(&password, format!("{}\n", info.password))?;
    let server = format!("127.0.0.1:{}", info.port);
    let mtu = MTU.to_string();
    let route = format!("{LAB_ADDR}/32");

    let mut se: BTreeMap<Flow, Vec<f64>> = BTreeMap::new();
    let mut ours: BTreeMap<Flow, Vec<f64>> = BTreeMap::new();
    for run in 0..bench.args.runs {
        {
            let client = Proc::spawn_lines(
                "client-softether",
                &bench.work,
                &info.netns,
                &bench.client_bin,
                &[
                    "connect",
                    "--server",
                    &server,
                    "--user",
                    &info.user,
                    "--password-file",
                    path_str(&password)?,
                    "--pin-sha256",
                    &info.cert_sha256,
                    "--mtu",
                    &mtu,
                    "--no-dns",
                    "--no-ipv6",
                    "--no-reconnect",
                    "--route",
                    &route,
                    "--interface",
                    "sbse%d",
                ],
            )?;
            wait_for_file_line(&client.log, "Tunnel up", Duration::from_secs(30), &client)?;
            for flow in Flow::ALL {
                let gbps = bench.iperf(&info.netns, LAB_ADDR, flow)?;
                eprintln!(
                    "  run {} {:<22} {:<32} {gbps:6.2} Gbit/s",
                    run + 1,
                    "client → SoftEther",
                    flow.label()
                );
                se.entry(flow).or_default().push(gbps);
            }
            super::settle();
        }
        let tunnel = bench.tunnel_up(Variant::Sstp)?;
        wait_for_tcp(NS_CLI, SSTP_SRV, 5201, Duration::from_secs(5))?;
        for flow in Flow::ALL {
            let gbps = bench.iperf(NS_CLI, SSTP_SRV, flow)?;
            eprintln!(
                "  run {} {:<22} {:<32} {gbps:6.2} Gbit/s",
                run + 1,
                "client → sstp-server",
                flow.label()
            );
            ours.entry(flow).or_default().push(gbps);
        }
        super::settle();
        drop(tunnel);
    }
    drop(lab);

    let mut t = Table::new(&[
        "flow (Gbit/s)",
        "sstp-client → SoftEther 5.01",
        "sstp-client → sstp-server",
        "sstp-rs / SoftEther",
    ]);
    for flow in Flow::ALL {
        let a = Spread::of(se.get(&flow).map_or(&[][..], |v| v));
        let b = Spread::of(ours.get(&flow).map_or(&[][..], |v| v));
        t.row(vec![
            flow.label(),
            a.show(2),
            b.show(2),
            super::ratio(b.median, a.median),
        ]);
    }
    Ok(format!(
        "## Against SoftEther\n\nOur client against SoftEther VPN Server 5.01 (the interop harness: MS-CHAPv2, \
         SecureNAT DHCP, a Local Bridge tap as the far end) and against our server, iperf3 in both, same flows, \
         interleaved runs. Our client dials SoftEther on its namespace's loopback, so no relay is in the path.\n\n{}",
        t.markdown()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_env_parses() {
        let text = "SE_HOST=127.0.0.1\nSE_PORT=4443\nSE_USER=test\nSE_PASS=test123\nSE_HUB=DEFAULT\n\
                    SE_CN=x\nSE_CERT_SHA256=46:AB\nSE_NETNS=sstpi-se\n";
        let info = parse_info(text).expect("parse");
        assert_eq!(
            (info.port.as_str(), info.user.as_str(), info.netns.as_str()),
            ("4443", "test", "sstpi-se")
        );
        assert_eq!(info.password, "test123");
        assert!(parse_info("SE_PORT=1\n").is_err());
    }
}
