//! `sstp-bench run`: the whole suite on one machine, in network namespaces it creates and removes.
//!
//! Topology (all addresses live only inside the namespaces):
//!
//! ```text
//!  [sb-cli] sb-c 192.0.2.2/24 ──veth── 192.0.2.1/24 sb-s [sb-srv]
//!           sstp-client / relay client        sstp-server / relay server, iperf3 -s,
//!           iperf3 -c, ping                   load generator (to 127.0.0.1)
//! ```
//!
//! Every scenario runs its baseline in the same run and repeats `--runs` times, interleaving the
//! variants (veth, relay, sstp, veth, relay, sstp, ...) so that a noisy neighbour hurts them alike.
//! The table gives the median of the runs and the spread (min–max).
//!
//! What owns what: this module runs processes and parses their output; the measuring itself is
//! done by iperf3, ping, [`crate::relay`] and [`crate::load`].

mod report;
mod softether;
mod stats;
mod sys;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use self::report::Table;
use self::stats::{Spread, median, percentile};
use self::sys::{Netns, Proc, cpu_ticks, run_ok, wait_for_file_line, wait_for_tcp};

/// Namespace names (prefix `sb-`, removed at the end and on start if left over).
const NS_SRV: &str = "sb-srv";
const NS_CLI: &str = "sb-cli";
const VETH_SRV_ADDR: &str = "192.0.2.1";
const VETH_CLI_ADDR: &str = "192.0.2.2";
/// The tunnel MTU of every variant (issue 6: "MTU 1400").
const MTU: u16 = 1400;
/// Relay tunnel addresses.
const RELAY_SRV: &str = "198.19.0.1";
const RELAY_CLI: &str = "198.19.0.2";
/// The server's pool for the throughput and latency runs; the server keeps the first address.
const SSTP_POOL: &str = "10.77.0.0/24";
const SSTP_SRV: &str = "10.77.0.1";
/// The pool for the load generator's sessions (room for 16 k sessions).
const LOAD_POOL: &str = "10.64.0.0/18";
const LOAD_SRV: &str = "10.64.0.1";
const USER: &str = "bench";
const PASSWORD: &str = "bench-password";
/// The name in the server's certificate (outer TLS, and inner EAP-TLS where the server shows
/// the same one).
const SERVER_NAME: &str = "sstp-bench.test";
const SSTP_PORT: u16 = 443;
const LOAD_PORT: u16 = 4443;
const RELAY_PORT: u16 = 4433;

/// Arguments of `sstp-bench run`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Repetitions of each measurement (the table shows the median and the spread).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Seconds per iperf3 measurement.
    #[arg(long, default_value_t = 8)]
    secs: u32,
    /// Scenarios to run, comma-separated: throughput, latency, softether, sessions, connects,
    /// fairness, radius (a real FreeRADIUS from `scripts/freeradius`; not in the default set).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "throughput,latency,softether,sessions,connects,fairness"
    )]
    only: Vec<Scenario>,
    /// Paths to compare in the throughput and latency scenarios.
    #[arg(long, value_delimiter = ',', default_value = "veth,relay,sstp")]
    variants: Vec<Variant>,
    /// Session counts for the many-sessions scenario.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    sessions: Vec<usize>,
    /// Seconds the many sessions stay idle while the server's CPU is measured.
    #[arg(long, default_value_t = 60)]
    idle_secs: u32,
    /// Sessions the radius scenario brings up at once through FreeRADIUS (and through the
    /// users file, to compare).
    #[arg(long, default_value_t = 1000)]
    radius_sessions: usize,
    /// Directory with the release `sstp-server` and `sstp-client` binaries (default: next to this
    /// binary).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// The third-party peers' harness (for the SoftEther comparison).
    #[arg(long, default_value = "../shared/interop")]
    interop_dir: PathBuf,
    /// Also write the table (Markdown) to this file.
    #[arg(long)]
    output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
enum Scenario {
    Throughput,
    Latency,
    Softether,
    Sessions,
    Connects,
    Fairness,
    Radius,
}

/// One tunnel under test between `sb-cli` and `sb-srv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
enum Variant {
    /// Plain veth: no tunnel at all.
    Veth,
    /// The bare TUN → TLS → TUN relay.
    Relay,
    /// sstp-client + sstp-server.
    Sstp,
}

impl Variant {
    const ALL: [Self; 3] = [Self::Veth, Self::Relay, Self::Sstp];

    fn name(self) -> &'static str {
        match self {
            Self::Veth => "veth",
            Self::Relay => "bare TLS relay",
            Self::Sstp => "sstp-rs",
        }
    }

    /// The address in `sb-srv` that traffic from `sb-cli` is sent to.
    fn target(self) -> &'static str {
        match self {
            Self::Veth => VETH_SRV_ADDR,
            Self::Relay => RELAY_SRV,
            Self::Sstp => SSTP_SRV,
        }
    }
}

/// One iperf3 case: streams and direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Flow {
    streams: u32,
    /// Server → client (`iperf3 -R`): the download direction of a VPN user.
    reverse: bool,
}

impl Flow {
    const ALL: [Self; 4] = [
        Self {
            streams: 1,
            reverse: false,
        },
        Self {
            streams: 4,
            reverse: false,
        },
        Self {
            streams: 1,
            reverse: true,
        },
        Self {
            streams: 4,
            reverse: true,
        },
    ];

    fn label(self) -> String {
        let dir = if self.reverse {
            "server → client"
        } else {
            "client → server"
        };
        let s = if self.streams == 1 {
            "stream"
        } else {
            "streams"
        };
        format!("TCP {} {s}, {dir}", self.streams)
    }
}

/// Everything the scenarios share: binaries, a scratch folder, the namespaces.
#[derive(Debug)]
struct Bench {
    args: Args,
    server_bin: PathBuf,
    client_bin: PathBuf,
    bench_bin: PathBuf,
    work: PathBuf,
    _srv: Netns,
    _cli: Netns,
}

pub(crate) fn main(args: Args) -> Result<()> {
    preflight()?;
    let bench_bin = std::env::current_exe().context("locating sstp-bench")?;
    let bin_dir = match &args.bin_dir {
        Some(dir) => dir.clone(),
        None => bench_bin
            .parent()
            .context("sstp-bench has no parent directory")?
            .to_path_buf(),
    };
    let server_bin = bin_dir.join("sstp-server");
    let client_bin = bin_dir.join("sstp-client");
    for bin in [&server_bin, &client_bin] {
        if !bin.exists() {
            bail!(
                "{} not found: build it first (cargo build --release -p sstp-server -p sstp-client)",
                bin.display()
            );
        }
    }
    let work = std::env::temp_dir().join(format!("sstp-bench.{}", std::process::id()));
    std::fs::create_dir_all(&work).context("creating the scratch folder")?;
    let result = (|| {
        let (srv, cli) = topology()?;
        let mut bench = Bench {
            args,
            server_bin,
            client_bin,
            bench_bin,
            work: work.clone(),
            _srv: srv,
            _cli: cli,
        };
        bench.run_all()
    })();
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn preflight() -> Result<()> {
    if !nix::unistd::Uid::effective().is_root() {
        bail!("sstp-bench run needs root (network namespaces, TUN devices)");
    }
    for tool in ["ip", "iperf3", "ping"] {
        if !sys::have(tool) {
            bail!("sstp-bench run needs `{tool}` (Debian: iproute2, iperf3, iputils-ping)");
        }
    }
    Ok(())
}

/// The two namespaces and the veth between them.
fn topology() -> Result<(Netns, Netns)> {
    let srv = Netns::create(NS_SRV)?;
    let cli = Netns::create(NS_CLI)?;
    run_ok(
        "ip",
        &[
            "link", "add", "sb-c", "netns", NS_CLI, "type", "veth", "peer", "name", "sb-s",
            "netns", NS_SRV,
        ],
    )?;
    run_ok(
        "ip",
        &[
            "-n",
            NS_SRV,
            "addr",
            "add",
            &format!("{VETH_SRV_ADDR}/24"),
            "dev",
            "sb-s",
        ],
    )?;
    run_ok(
        "ip",
        &[
            "-n",
            NS_CLI,
            "addr",
            "add",
            &format!("{VETH_CLI_ADDR}/24"),
            "dev",
            "sb-c",
        ],
    )?;
    run_ok("ip", &["-n", NS_SRV, "link", "set", "sb-s", "up"])?;
    run_ok("ip", &["-n", NS_CLI, "link", "set", "sb-c", "up"])?;
    Ok((srv, cli))
}

/// Results of the throughput scenario: Gbit/s per (variant, flow), one entry per run.
type ThroughputRuns = BTreeMap<(Variant, Flow), Vec<f64>>;

impl Bench {
    fn run_all(&mut self) -> Result<()> {
        let started = Instant::now();
        let mut out = String::new();
        let command = std::env::args().collect::<Vec<_>>().join(" ");
        let _ = writeln!(out, "# sstp-bench results\n");
        let _ = writeln!(out, "Command: `{command}`  ");
        let _ = writeln!(out, "Machine: {}  ", sys::machine_summary());
        let _ = writeln!(
            out,
            "Runs per measurement: {} (median, spread min–max); iperf3 {} s per run; tunnel MTU {MTU}.\n",
            self.args.runs, self.args.secs
        );
        let scenarios = self.args.only.clone();
        for scenario in scenarios {
            eprintln!("== {scenario:?}");
            let section = match scenario {
                Scenario::Throughput => self
                    .throughput()
                    .map(|r| throughput_table(&r, &mut Table::default())),
                Scenario::Latency => self.latency(),
                Scenario::Softether => softether::run(self),
                Scenario::Sessions => self.sessions(),
                Scenario::Connects => self.connects(),
                Scenario::Fairness => self.fairness(),
                Scenario::Radius => self.radius(),
            };
            match section {
                Ok(text) => out.push_str(&text),
                Err(e) => {
                    eprintln!("{scenario:?} failed: {e:#}");
                    let _ = writeln!(out, "## {scenario:?}\n\nFAILED: {e:#}\n");
                }
            }
            out.push('\n');
        }
        let _ = writeln!(out, "Total time: {:.0} s", started.elapsed().as_secs_f64());
        println!("{out}");
        if let Some(path) = &self.args.output {
            std::fs::write(path, &out).with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(())
    }

    // ---- tunnels -------------------------------------------------------------------------------

    /// Brings up `variant` between the namespaces; the returned processes keep it up.
    fn tunnel_up(&self, variant: Variant) -> Result<Vec<Proc>> {
        match variant {
            Variant::Veth => Ok(Vec::new()),
            Variant::Relay => {
                let listen = format!("{VETH_SRV_ADDR}:{RELAY_PORT}");
                let mtu = MTU.to_string();
                let server = Proc::spawn_lines(
                    "relay-server",
                    &self.work,
                    NS_SRV,
                    &self.bench_bin,
                    &[
                        "relay", "server", "--listen", &listen, "--tun", "sbr0", "--local",
                        RELAY_SRV, "--peer", RELAY_CLI, "--mtu", &mtu,
                    ],
                )?;
                wait_for_tcp(NS_CLI, VETH_SRV_ADDR, RELAY_PORT, Duration::from_secs(10))?;
                let client = Proc::spawn_lines(
                    "relay-client",
                    &self.work,
                    NS_CLI,
                    &self.bench_bin,
                    &[
                        "relay",
                        "client",
                        "--connect",
                        &listen,
                        "--tun",
                        "sbr0",
                        "--local",
                        RELAY_CLI,
                        "--peer",
                        RELAY_SRV,
                        "--mtu",
                        &mtu,
                    ],
                )?;
                wait_for_file_line(&client.log, "ready", Duration::from_secs(10), &client)?;
                wait_for_file_line(&server.log, "ready", Duration::from_secs(5), &server)?;
                Ok(vec![client, server])
            }
            Variant::Sstp => {
                let server = self.start_server(
                    "tput",
                    &format!("{VETH_SRV_ADDR}:{SSTP_PORT}"),
                    SSTP_POOL,
                    64,
                    None,
                )?;
                wait_for_tcp(NS_CLI, VETH_SRV_ADDR, SSTP_PORT, Duration::from_secs(10))?;
                let client = self.start_client(
                    "client",
                    NS_CLI,
                    VETH_SRV_ADDR,
                    SSTP_PORT,
                    &["--no-routes"],
                )?;
                Ok(vec![client, server])
            }
        }
    }

    /// Starts `sstp-server` in `sb-srv` with a fresh certificate and one user. With `client_ca`
    /// (a `ca.pem` from [`Bench::client_ca`]) it also offers EAP-TLS, after the MS-CHAPv2 methods
    /// so that password clients negotiate what they did before.
    fn start_server(
        &self,
        tag: &str,
        listen: &str,
        pool: &str,
        max_sessions: usize,
        client_ca: Option<&Path>,
    ) -> Result<Proc> {
        let dir = self.work.join(format!("server-{tag}"));
        std::fs::create_dir_all(&dir)?;
        if !dir.join("cert.pem").exists() {
            run_ok(
                path_str(&self.server_bin)?,
                &[
                    "gen-cert",
                    "--name",
                    SERVER_NAME,
                    "--cert",
                    path_str(&dir.join("cert.pem"))?,
                    "--key",
                    path_str(&dir.join("key.pem"))?,
                ],
            )?;
        }
        std::fs::write(
            dir.join("users.toml"),
            format!("[users.{USER}]\npassword = \"{PASSWORD}\"\n"),
        )?;
        let config = server_config(listen, pool, max_sessions, client_ca)?;
        let config_path = dir.join("server.toml");
        std::fs::write(&config_path, config)?;
        Proc::spawn_lines(
            &format!("sstp-server-{tag}"),
            &self.work,
            NS_SRV,
            &self.server_bin,
            &["--config", path_str(&config_path)?],
        )
    }

    /// Starts `sstp-client` in `ns` and waits for its tunnel.
    fn start_client(
        &self,
        tag: &str,
        ns: &str,
        host: &str,
        port: u16,
        extra: &[&str],
    ) -> Result<Proc> {
        let cert = self.work.join("server-tput").join("cert.pem");
        let password = self.work.join("password");
        std::fs::write(&password, format!("{PASSWORD}\n"))?;
        let server = format!("{host}:{port}");
        let mtu = MTU.to_string();
        let mut args = vec![
            "connect",
            "--server",
            &server,
            "--user",
            USER,
            "--password-file",
            path_str(&password)?,
            "--ca-file",
            path_str(&cert)?,
            "--sni",
            SERVER_NAME,
            "--mtu",
            &mtu,
            "--no-dns",
            "--no-ipv6",
            "--no-reconnect",
            "--interface",
            "sbc%d",
        ];
        args.extend_from_slice(extra);
        let client = Proc::spawn_lines(tag, &self.work, ns, &self.client_bin, &args)?;
        wait_for_file_line(&client.log, "Tunnel up", Duration::from_secs(20), &client)?;
        Ok(client)
    }

    // ---- throughput ----------------------------------------------------------------------------

    fn throughput(&self) -> Result<ThroughputRuns> {
        let _iperf = Proc::spawn_lines(
            "iperf3-server",
            &self.work,
            NS_SRV,
            Path::new("iperf3"),
            &["-s"],
        )?;
        wait_for_tcp(NS_CLI, VETH_SRV_ADDR, 5201, Duration::from_secs(5))?;
        let mut results = ThroughputRuns::new();
        for run in 0..self.args.runs {
            for &variant in &self.args.variants {
                let tunnel = self.tunnel_up(variant)?;
                for flow in Flow::ALL {
                    let before = cpu_ticks(&tunnel);
                    // A failed measurement is reported and left out; the rest of the run
                    // still counts (the table shows how many runs each median has).
                    let gbps = match self.iperf(NS_CLI, variant.target(), flow) {
                        Ok(gbps) => gbps,
                        Err(e) => {
                            eprintln!("  run {} {}: {e:#}", run + 1, variant.name());
                            continue;
                        }
                    };
                    let cpu = cpu_ticks(&tunnel).saturating_sub(before);
                    eprintln!(
                        "  run {} {:<15} {:<32} {gbps:6.2} Gbit/s (tunnel processes {:.1} CPU-s)",
                        run + 1,
                        variant.name(),
                        flow.label(),
                        sys::ticks_to_secs(cpu)
                    );
                    results.entry((variant, flow)).or_default().push(gbps);
                }
                settle();
                drop(tunnel);
            }
        }
        Ok(results)
    }

    /// One iperf3 client run from namespace `ns`; returns the receiver's rate in Gbit/s.
    fn iperf(&self, ns: &str, target: &str, flow: Flow) -> Result<f64> {
        let secs = self.args.secs.to_string();
        let streams = flow.streams.to_string();
        let mut args = vec![
            "netns", "exec", ns, "iperf3", "-c", target, "-t", &secs, "-P", &streams, "-J",
        ];
        if flow.reverse {
            args.push("-R");
        }
        // Retries: iperf3's server refuses a test while it is still closing the previous one
        // ("the server is busy"); a failure that outlasts them is real.
        let mut last = None;
        for attempt in 0..4 {
            if attempt > 0 {
                std::thread::sleep(Duration::from_secs(2));
            }
            match sys::output("ip", &args).and_then(|out| parse_iperf_json(&out)) {
                Ok(gbps) => return Ok(gbps),
                Err(e) => {
                    eprintln!("  iperf3 to {target} ({}): {e:#}", flow.label());
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("iperf3 did not run")))
            .with_context(|| format!("iperf3 to {target} ({})", flow.label()))
    }

    // ---- latency -------------------------------------------------------------------------------

    fn latency(&self) -> Result<String> {
        // Per variant: the median and the p99 of each run.
        let mut med: BTreeMap<Variant, Vec<f64>> = BTreeMap::new();
        let mut p99: BTreeMap<Variant, Vec<f64>> = BTreeMap::new();
        for _ in 0..self.args.runs {
            for &variant in &self.args.variants {
                let tunnel = self.tunnel_up(variant)?;
                let out = sys::output(
                    "ip",
                    &[
                        "netns",
                        "exec",
                        NS_CLI,
                        "ping",
                        "-n",
                        "-c",
                        "500",
                        "-i",
                        "0.005",
                        "-s",
                        "56",
                        variant.target(),
                    ],
                )?;
                drop(tunnel);
                let mut rtts = parse_ping_rtts(&out);
                if rtts.len() < 450 {
                    bail!(
                        "ping through {}: only {} of 500 replies",
                        variant.name(),
                        rtts.len()
                    );
                }
                rtts.sort_by(f64::total_cmp);
                med.entry(variant).or_default().push(median(&rtts));
                p99.entry(variant)
                    .or_default()
                    .push(percentile(&rtts, 99.0));
            }
        }
        let mut t = Table::new(&["path", "RTT median (ms)", "RTT p99 (ms)", "median vs veth"]);
        let veth = median(&sorted(
            med.get(&Variant::Veth).cloned().unwrap_or_default(),
        ));
        for variant in Variant::ALL {
            let m = Spread::of(med.get(&variant).map_or(&[][..], |v| v));
            let p = Spread::of(p99.get(&variant).map_or(&[][..], |v| v));
            t.row(vec![
                variant.name().to_owned(),
                m.show(3),
                p.show(3),
                format!("+{:.3} ms", m.median - veth),
            ]);
        }
        Ok(format!(
            "## Latency\n\n`ping -c 500 -i 0.005 -s 56` from sb-cli to the far end of each path.\n\n{}",
            t.markdown()
        ))
    }

    // ---- many sessions, connects, fairness -----------------------------------------------------

    /// Starts the server the load generator talks to (in `sb-srv`, on its loopback); with
    /// `client_ca` it offers EAP-TLS too (see [`Bench::start_server`]).
    fn load_server(
        &self,
        tag: &str,
        max_sessions: usize,
        client_ca: Option<&Path>,
    ) -> Result<Proc> {
        let server = self.start_server(
            tag,
            &format!("127.0.0.1:{LOAD_PORT}"),
            LOAD_POOL,
            max_sessions + 64,
            client_ca,
        )?;
        wait_for_tcp(NS_SRV, "127.0.0.1", LOAD_PORT, Duration::from_secs(10))?;
        Ok(server)
    }

    /// Runs `sstp-bench load MODE ...` in `sb-srv`; returns its JSON result.
    fn load(&self, mode: &str, extra: &[String]) -> Result<serde_json::Value> {
        let server = format!("127.0.0.1:{LOAD_PORT}");
        let mut args: Vec<String> = [
            "netns",
            "exec",
            NS_SRV,
            path_str(&self.bench_bin)?,
            "load",
            mode,
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        args.extend(
            ["--server", &server, "--user", USER, "--password", PASSWORD]
                .into_iter()
                .map(str::to_owned),
        );
        args.extend_from_slice(extra);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = sys::output_stderr_passthrough("ip", &refs)?;
        last_json_line(&out).with_context(|| format!("sstp-bench load {mode}"))
    }

    /// `sstp-bench load idle`: `n` sessions from 16 loopback sources to `server`, each
    /// passing an echo before and after `idle_secs` idle.
    fn load_idle(&self, n: usize, server: &Proc, idle_secs: u32) -> Result<serde_json::Value> {
        let sources = (1..=16)
            .map(|i| format!("127.0.0.{i}"))
            .collect::<Vec<_>>()
            .join(",");
        self.load(
            "idle",
            &[
                "--target".into(),
                LOAD_SRV.into(),
                "--sessions".into(),
                n.to_string(),
                "--sources".into(),
                sources,
                "--server-pid".into(),
                server.pid().to_string(),
                "--idle-secs".into(),
                idle_secs.to_string(),
            ],
        )
    }

    fn sessions(&self) -> Result<String> {
        let mut t = Table::new(&[
            "sessions",
            "established",
            "time to establish (s)",
            "server RSS per idle session (KiB)",
            "server CPU idle (% of a core)",
            "data before / after idle",
        ]);
        for &n in &self.args.sessions {
            let server = self.load_server(&format!("sessions{n}"), n, None)?;
            let v = self.load_idle(n, &server, self.args.idle_secs)?;
            drop(server);
            t.row(vec![
                n.to_string(),
                json_num(&v, "established", 0),
                json_num(&v, "establish_secs", 2),
                json_num(&v, "rss_per_session_kib", 1),
                json_num(&v, "server_idle_cpu_pct", 2),
                format!(
                    "{} / {}",
                    json_num(&v, "data_ok", 0),
                    json_num(&v, "data_ok_after_idle", 0)
                ),
            ]);
            if let Some(err) = v.get("first_error").and_then(|e| e.as_str()) {
                eprintln!("  first error: {err}");
            }
        }
        Ok(format!(
            "## Many sessions\n\nOne load-generator process (`sstp-bench load idle`, sstp-core client engine, no TUN) \
             opens the sessions over loopback; each passes an ICMP echo through the server's TUN before and after \
             {} s idle (keepalives running). RSS is the server's VmRSS growth divided by the sessions.\n\n{}",
            self.args.idle_secs,
            t.markdown()
        ))
    }

    /// A client CA made with the server binary (`ca init`) in the work folder, and one client
    /// certificate from it for [`USER`] (`ca issue`: ECDSA P-256, clientAuth; the server takes the
    /// user name from its CN). Returns (the CA's `ca.pem`, the certificate, its key).
    fn client_ca(&self) -> Result<(PathBuf, PathBuf, PathBuf)> {
        let dir = self.work.join("client-ca");
        let server = path_str(&self.server_bin)?;
        run_ok(
            server,
            &[
                "ca",
                "init",
                "--dir",
                path_str(&dir)?,
                "--name",
                "sstp-bench client CA",
                "--force",
            ],
        )
        .context("making the client CA (sstp-server ca init)")?;
        run_ok(
            server,
            &["ca", "issue", "--dir", path_str(&dir)?, "--name", USER],
        )
        .context("issuing the client certificate (sstp-server ca issue)")?;
        let issued = dir.join("issued");
        let (cert, key) = (
            issued.join(format!("{USER}.pem")),
            issued.join(format!("{USER}.key")),
        );
        for file in [&cert, &key] {
            if !file.exists() {
                bail!("sstp-server ca issue did not write {}", file.display());
            }
        }
        Ok((dir.join("ca.pem"), cert, key))
    }

    /// Connects per second: per run, one `load connects` with MS-CHAPv2 and one with EAP-TLS,
    /// against the same server. Each invocation runs its own TLS-only phase first, so every full
    /// phase has a baseline measured just before it; the baseline row pools them all.
    fn connects(&self) -> Result<String> {
        let (ca, cert, key) = self.client_ca()?;
        let server = self.load_server("connects", 1024, Some(&ca))?;
        let mut tls = Vec::new();
        let mut tls_us = Vec::new();
        let (mut mschap, mut mschap_us) = (Vec::new(), Vec::new());
        let (mut eap_tls, mut eap_tls_us) = (Vec::new(), Vec::new());
        let mut kx = String::new();
        let common: Vec<String> = vec![
            "--concurrency".into(),
            "64".into(),
            "--duration-secs".into(),
            "10".into(),
            "--server-pid".into(),
            server.pid().to_string(),
        ];
        let eap_tls_args: Vec<String> = [
            "--auth",
            "eap-tls",
            "--cert",
            path_str(&cert)?,
            "--key",
            path_str(&key)?,
            "--eap-server-name",
            SERVER_NAME,
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        for _ in 0..self.args.runs {
            for eap in [false, true] {
                let mut args = common.clone();
                if eap {
                    args.extend_from_slice(&eap_tls_args);
                }
                let v = self.load("connects", &args)?;
                if let Some(err) = v.get("first_error").and_then(|e| e.as_str()) {
                    eprintln!("  first error: {err}");
                }
                let (full, full_us) = if eap {
                    (&mut eap_tls, &mut eap_tls_us)
                } else {
                    (&mut mschap, &mut mschap_us)
                };
                full.push(json_f64(&v, "full_per_sec")?);
                tls.push(json_f64(&v, "tls_per_sec")?);
                // CPU time per connect moves less with the rest of the machine's
                // load than the rates do: the number to compare across builds.
                // (Absent when nothing connected: the rate of 0 says it.)
                full_us.extend(json_f64(&v, "full_server_cpu_us_per_connect").ok());
                tls_us.extend(json_f64(&v, "tls_server_cpu_us_per_connect").ok());
                kx = v
                    .get("kx")
                    .and_then(|k| k.as_str())
                    .unwrap_or("?")
                    .to_owned();
            }
        }
        drop(server);
        let rows = [
            (
                "full SSTP connect, MS-CHAPv2 (TLS + HTTP + LCP + MS-CHAPv2 + IPCP + binding)",
                mschap,
                mschap_us,
            ),
            (
                "full SSTP connect, EAP-TLS (TLS + HTTP + LCP + EAP-TLS 1.3 inside + IPCP + binding)",
                eap_tls,
                eap_tls_us,
            ),
        ];
        Ok(format!(
            "## Connects per second\n\n`sstp-bench load connects --concurrency 64 --duration-secs 10` against the \
             server in sb-srv over loopback, ECDSA P-256 server certificate, key exchange {kx}; client and server \
             share the machine's cores. Each run measures MS-CHAPv2 (user and password) and EAP-TLS (an ECDSA P-256 \
             client certificate from `sstp-server ca issue`; a second, whole TLS 1.3 handshake carried in EAP \
             inside the tunnel), each invocation after its own TLS-only phase; the baseline row pools those. \
             Server CPU per connect is the server process's CPU time divided by the connects it completed.\n\n{}",
            connects_table(&tls, &tls_us, &rows).markdown()
        ))
    }

    /// Authentication through a real FreeRADIUS 3.2 (`scripts/freeradius`, in `sb-srv`, debug
    /// log off, accounting on) against the users file, in the same run: connects per second
    /// with MS-CHAPv2 (one Access-Request each, plus accounting Start and Stop), and
    /// `--radius-sessions` sessions brought up at once.
    fn radius(&self) -> Result<String> {
        let dir = self.work.join("freeradius");
        let users = self.work.join("freeradius-users");
        std::fs::write(
            &users,
            format!("{USER}\tCleartext-Password := \"{PASSWORD}\"\n"),
        )?;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/freeradius");
        run_ok(
            "ip",
            &[
                "netns",
                "exec",
                NS_SRV,
                "env",
                "FREERADIUS_DEBUG=",
                path_str(&script)?,
                "start",
                path_str(&dir)?,
                "--sign-replies",
                "--users",
                path_str(&users)?,
            ],
        )?;
        let ports = std::fs::read_to_string(dir.join("ports"))?;
        let port = |key: &str| -> Result<u16> {
            ports
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|p| p.parse().ok())
                .with_context(|| format!("no {key} in {}", dir.join("ports").display()))
        };
        let (auth, acct) = (port("auth=")?, port("acct=")?);
        let radius = format!(
            "[radius]\nnas_identifier = \"sstp-bench\"\n\
             [[radius.server]]\naddress = \"127.0.0.1\"\nauth_port = {auth}\nacct_port = {acct}\n\
             secret_file = {}\n",
            toml_string(path_str(&dir.join("secret"))?)
        );
        let n = self.args.radius_sessions;
        let mut t = Table::new(&[
            "backend",
            "connects/s (MS-CHAPv2)",
            "server CPU per connect (µs)",
            &format!("{n} sessions: established"),
            "time to establish (s)",
        ]);
        let mut rates = Vec::new();
        for (label, radius) in [("users file", None), ("FreeRADIUS", Some(&radius))] {
            let server = self.start_server_with(
                &format!("radius-{}", rates.len()),
                n + 64,
                radius.map(String::as_str),
            )?;
            let (mut rate, mut cpu) = (Vec::new(), Vec::new());
            for _ in 0..self.args.runs {
                let v = self.load(
                    "connects",
                    &[
                        "--concurrency".into(),
                        "64".into(),
                        "--duration-secs".into(),
                        "10".into(),
                        "--server-pid".into(),
                        server.pid().to_string(),
                    ],
                )?;
                if let Some(err) = v.get("first_error").and_then(|e| e.as_str()) {
                    eprintln!("  first error: {err}");
                }
                rate.push(json_f64(&v, "full_per_sec")?);
                cpu.extend(json_f64(&v, "full_server_cpu_us_per_connect").ok());
            }
            let v = self.load_idle(n, &server, 1)?;
            if let Some(err) = v.get("first_error").and_then(|e| e.as_str()) {
                eprintln!("  first error: {err}");
            }
            drop(server);
            let r = Spread::of(&rate);
            t.row(vec![
                label.into(),
                r.show(0),
                Spread::of(&cpu).show(0),
                json_num(&v, "established", 0),
                json_num(&v, "establish_secs", 2),
            ]);
            rates.push(r.median);
        }
        let _ = run_ok(path_str(&script)?, &["stop", path_str(&dir)?]);
        // Proof the second server asked FreeRADIUS: its accounting Starts.
        let starts = std::fs::read_to_string(dir.join("detail"))
            .unwrap_or_default()
            .matches("Acct-Status-Type = Start")
            .count();
        if starts == 0 {
            bail!("FreeRADIUS logged no accounting Start: the RADIUS server was not asked");
        }
        Ok(format!(
            "## RADIUS\n\nThe same server and load generator as in Connects per second (`sstp-bench load connects \
             --concurrency 64 --duration-secs 10`, MS-CHAPv2), first with the users file, then with \
             `[radius]` pointing at a FreeRADIUS 3.2 on the server's loopback (`scripts/freeradius`, debug log \
             off; one Access-Request per connect with the MS-MPPE keys, accounting Start and Stop on). Then \
             `sstp-bench load idle` brings {n} sessions up at once against each. RADIUS connects run at {} of \
             the users file's rate; FreeRADIUS logged {starts} accounting Starts.\n\n{}",
            ratio(
                rates.get(1).copied().unwrap_or(0.0),
                rates.first().copied().unwrap_or(0.0)
            ),
            t.markdown()
        ))
    }

    /// A load server whose configuration gets `radius` (a `[radius]` section, then
    /// `auth.backends = ["radius"]`).
    fn start_server_with(
        &self,
        tag: &str,
        max_sessions: usize,
        radius: Option<&str>,
    ) -> Result<Proc> {
        let server = self.load_server(tag, max_sessions, None)?;
        let Some(radius) = radius else {
            return Ok(server);
        };
        // Started with the users file; restart it with RADIUS.
        drop(server);
        let dir = self.work.join(format!("server-{tag}"));
        let config_path = dir.join("server.toml");
        let config = std::fs::read_to_string(&config_path)?
            .replace("[auth]\n", "[auth]\nbackends = [\"radius\"]\n");
        std::fs::write(&config_path, format!("{config}{radius}"))?;
        let server = Proc::spawn_lines(
            &format!("sstp-server-{tag}-radius"),
            &self.work,
            NS_SRV,
            &self.server_bin,
            &["--config", path_str(&config_path)?],
        )?;
        wait_for_tcp(NS_SRV, "127.0.0.1", LOAD_PORT, Duration::from_secs(10))?;
        Ok(server)
    }

    fn fairness(&self) -> Result<String> {
        let server = self.load_server("fairness", 128, None)?;
        let mut rows = Vec::new();
        let mut single = Vec::new();
        for n in [1usize, 64] {
            let mut totals = Vec::new();
            let mut jain = Vec::new();
            let mut spread = Vec::new();
            for _ in 0..self.args.runs {
                let v = self.load(
                    "flood",
                    &[
                        "--target".into(),
                        LOAD_SRV.into(),
                        "--sessions".into(),
                        n.to_string(),
                        "--duration-secs".into(),
                        "10".into(),
                    ],
                )?;
                totals.push(json_f64(&v, "total_mbit_s")?);
                jain.push(json_f64(&v, "jain_index")?);
                spread.push(format!(
                    "{}–{}",
                    json_num(&v, "min", 0),
                    json_num(&v, "max", 0)
                ));
            }
            if n == 1 {
                single.clone_from(&totals);
            }
            rows.push((n, totals, jain, spread));
        }
        drop(server);
        let single = median(&sorted(single));
        let mut t = Table::new(&[
            "sessions",
            "total (Mbit/s)",
            "vs one session",
            "per-session min–max (Mbit/s), each run",
            "Jain index",
        ]);
        for (n, totals, jain, spread) in rows {
            let s = Spread::of(&totals);
            t.row(vec![
                n.to_string(),
                s.show(0),
                ratio(s.median, single),
                spread.join(", "),
                Spread::of(&jain).show(3),
            ]);
        }
        Ok(format!(
            "## Aggregate and fairness\n\n`sstp-bench load flood`: every session keeps 32 ICMP echo requests of \
             1372 bytes in flight to the server's tunnel address for 10 s (closed loop).\n\n{}",
            t.markdown()
        ))
    }
}

/// Renders the throughput results.
fn throughput_table(r: &ThroughputRuns, t: &mut Table) -> String {
    *t = Table::new(&[
        "flow (Gbit/s)",
        "veth",
        "bare TLS relay",
        "sstp-rs",
        "sstp-rs / relay",
    ]);
    for flow in Flow::ALL {
        let get = |v: Variant| Spread::of(r.get(&(v, flow)).map_or(&[][..], |x| x));
        let (veth, relay, sstp) = (get(Variant::Veth), get(Variant::Relay), get(Variant::Sstp));
        t.row(vec![
            flow.label(),
            veth.show(2),
            relay.show(2),
            sstp.show(2),
            ratio(sstp.median, relay.median),
        ]);
    }
    format!(
        "## Throughput\n\niperf3 from sb-cli to sb-srv through each path (MTU {MTU} in the tunnels, 1500 on the \
         veth).\n\n{}",
        t.markdown()
    )
}

/// The server's `server.toml` (paths relative to its folder: `cert.pem`, `key.pem`,
/// `users.toml`); with `client_ca`, EAP-TLS offered after the MS-CHAPv2 methods.
fn server_config(
    listen: &str,
    pool: &str,
    max_sessions: usize,
    client_ca: Option<&Path>,
) -> Result<String> {
    let burst = max_sessions.max(64) * 2;
    let (eap_tls_method, eap_tls_section) = match client_ca {
        Some(ca) => (
            ", \"eap-tls\"",
            format!("[auth.eap_tls]\nca = {}\n", toml_string(path_str(ca)?)),
        ),
        None => ("", String::new()),
    };
    Ok(format!(
        "listen = [\"{listen}\"]\n\
         [tls]\ncertificate = \"cert.pem\"\nprivate_key = \"key.pem\"\n\
         [tun]\nname = \"sbs%d\"\nmtu = {MTU}\n\
         [network]\nipv4_pool = \"{pool}\"\n\
         [auth]\nusers_file = \"users.toml\"\n\
         methods = [\"mschapv2\", \"eap-mschapv2\"{eap_tls_method}]\n\
         {eap_tls_section}\
         [limits]\nmax_sessions = {max_sessions}\nmax_unauthenticated = {burst}\n\
         per_source_rate = 1000000.0\nper_source_burst = {burst}\n\
         [control]\nsocket = \"control.sock\"\n"
    ))
}

/// The connects table: the TLS-only baseline, then one row per full-connect method (label, per
/// second of each run, server CPU µs per connect of each run).
fn connects_table(tls: &[f64], tls_us: &[f64], rows: &[(&str, Vec<f64>, Vec<f64>)]) -> Table {
    let b = Spread::of(tls);
    let mut t = Table::new(&[
        "what",
        "per second",
        "vs TLS only",
        "server CPU per connect (µs)",
    ]);
    t.row(vec![
        "TLS 1.3 handshake only (baseline)".into(),
        b.show(0),
        "1.00".into(),
        Spread::of(tls_us).show(0),
    ]);
    for (label, per_sec, us) in rows {
        let f = Spread::of(per_sec);
        t.row(vec![
            (*label).to_owned(),
            f.show(0),
            ratio(f.median, b.median),
            Spread::of(us).show(0),
        ]);
    }
    t
}

/// `s` as a TOML basic string (quoted, with `\` and `"` escaped).
fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Lets iperf3's server finish closing the last test over a tunnel before the tunnel goes: a
/// server whose control connection vanishes mid-close stays "busy" until it times out.
fn settle() {
    std::thread::sleep(Duration::from_secs(1));
}

/// `a / b` with two decimals, or `n/a` when there is nothing to divide.
fn ratio(a: f64, b: f64) -> String {
    if a > 0.0 && b > 0.0 {
        format!("{:.2}", a / b)
    } else {
        "n/a".to_owned()
    }
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str()
        .with_context(|| format!("non-UTF-8 path {}", p.display()))
}

/// The receiver's rate from `iperf3 -J` output, in Gbit/s.
fn parse_iperf_json(out: &str) -> Result<f64> {
    let v: serde_json::Value = serde_json::from_str(out).context("iperf3 output is not JSON")?;
    if let Some(err) = v.get("error").and_then(|e| e.as_str()) {
        bail!("iperf3: {err}");
    }
    let bps = v
        .pointer("/end/sum_received/bits_per_second")
        .and_then(serde_json::Value::as_f64)
        .context("iperf3 JSON has no end.sum_received.bits_per_second")?;
    Ok(bps / 1e9)
}

/// The round-trip times (ms) of the replies in `ping` output.
fn parse_ping_rtts(out: &str) -> Vec<f64> {
    out.lines()
        .filter_map(|line| line.split("time=").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .filter_map(|ms| ms.parse().ok())
        .collect()
}

/// The last line of `out` that parses as a JSON object.
fn last_json_line(out: &str) -> Result<serde_json::Value> {
    out.lines()
        .rev()
        .filter(|l| l.trim_start().starts_with('{'))
        .find_map(|l| serde_json::from_str(l).ok())
        .context("no JSON result line in the output")
}

fn json_f64(v: &serde_json::Value, key: &str) -> Result<f64> {
    v.get(key)
        .and_then(serde_json::Value::as_f64)
        .with_context(|| format!("result has no number `{key}`"))
}

fn json_num(v: &serde_json::Value, key: &str, decimals: usize) -> String {
    v.get(key)
        .and_then(serde_json::Value::as_f64)
        .map_or_else(|| "?".to_owned(), |x| format!("{x:.decimals$}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_config_offers_eap_tls_only_with_a_ca() {
        let plain = server_config("127.0.0.1:4443", LOAD_POOL, 64, None).expect("config");
        assert!(plain.contains("methods = [\"mschapv2\", \"eap-mschapv2\"]\n"));
        assert!(!plain.contains("eap_tls"));
        let eap = server_config(
            "127.0.0.1:4443",
            LOAD_POOL,
            64,
            Some(Path::new("/tmp/w/client-ca/ca.pem")),
        )
        .expect("config");
        assert!(eap.contains("methods = [\"mschapv2\", \"eap-mschapv2\", \"eap-tls\"]\n"));
        assert!(eap.contains("[auth.eap_tls]\nca = \"/tmp/w/client-ca/ca.pem\"\n[limits]"));
        assert_eq!(toml_string(r#"a\b"c"#), r#""a\\b\"c""#);
    }

    #[test]
    fn connects_table_has_both_methods_against_the_baseline() {
        let rows = [
            ("MS-CHAPv2", vec![500.0, 400.0, 600.0], vec![900.0]),
            ("EAP-TLS", vec![250.0], vec![]),
        ];
        let md = connects_table(&[1000.0, 1000.0], &[300.0], &rows).markdown();
        assert!(
            md.contains("| MS-CHAPv2 | 500 (400–600) | 0.50 | 900 |"),
            "{md}"
        );
        assert!(md.contains("| EAP-TLS | 250 | 0.25 | n/a |"), "{md}");
    }

    #[test]
    fn iperf_json_receiver_rate() {
        let out = r#"{"start":{},"end":{"sum_sent":{"bits_per_second":3.1e9,"retransmits":4},
            "sum_received":{"bits_per_second":3.0e9}}}"#;
        assert!((parse_iperf_json(out).expect("parse") - 3.0).abs() < 1e-9);
        let err =
            parse_iperf_json(r#"{"error":"unable to connect to server: Connection refused"}"#)
                .expect_err("error");
        assert!(format!("{err:#}").contains("Connection refused"));
        assert!(parse_iperf_json("iperf3: error").is_err());
        assert!(parse_iperf_json(r#"{"end":{}}"#).is_err());
    }

    #[test]
    fn ping_rtts_from_iputils_output() {
        let out = "PING 10.77.0.1 (10.77.0.1) 56(84) bytes of data.\n\
                   64 bytes from 10.77.0.1: icmp_seq=1 ttl=64 time=0.112 ms\n\
                   64 bytes from 10.77.0.1: icmp_seq=2 ttl=64 time=0.0981 ms\n\
                   From 10.77.0.9 icmp_seq=3 Destination Host Unreachable\n\
                   \n--- 10.77.0.1 ping statistics ---\n\
                   3 packets transmitted, 2 received, 33% packet loss, time 2ms\n\
                   rtt min/avg/max/mdev = 0.098/0.105/0.112/0.007 ms\n";
        assert_eq!(parse_ping_rtts(out), vec![0.112, 0.0981]);
    }

    #[test]
    fn last_json_line_skips_progress() {
        let out = "connecting 1000\n{\"partial\": \n{\"mode\":\"idle\",\"established\":1000}\n";
        let v = last_json_line(out).expect("json");
        assert_eq!(v["established"], 1000);
        assert!(last_json_line("no json here\n").is_err());
        assert_eq!(json_num(&v, "established", 0), "1000");
        assert_eq!(json_num(&v, "missing", 1), "?");
        assert!(json_f64(&v, "mode").is_err());
    }

    #[test]
    fn throughput_table_has_ratio() {
        let mut r = ThroughputRuns::new();
        for flow in Flow::ALL {
            r.insert((Variant::Veth, flow), vec![20.0, 21.0, 19.0]);
            r.insert((Variant::Relay, flow), vec![3.0, 3.2, 2.8]);
            r.insert((Variant::Sstp, flow), vec![2.4, 2.5, 2.6]);
        }
        let text = throughput_table(&r, &mut Table::default());
        assert!(text.contains("| TCP 1 stream, client → server | 20.00 (19.00–21.00) | 3.00 (2.80–3.20) | 2.50 (2.40–2.60) | 0.83 |"), "{text}");
        assert_eq!(text.matches("| TCP ").count(), 4);
    }
}
