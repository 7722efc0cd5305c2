//! `load flood`: N sessions each keep a window of echo requests in flight
//! for a while (a closed loop: a new request per reply, a slot freed after
//! one second without one), then report per-session goodput and how fair
//! the server was between them.
//!
//! Goodput counts, for each request answered within the run, the IP bytes
//! of the request and of its reply (IP header included; SSTP, PPP, TLS and
//! TCP overhead excluded), each once: `2 × (28 + payload)` bytes per
//! round trip, over the configured duration.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::fleet::{Cmd, Fleet, LOSS_TIMEOUT, Tally};
use super::icmp::ECHO_OVERHEAD;
use super::procfs::{CpuMeter, Proc};
use super::stats::{jain_index, mbit_per_sec, spread};
use super::tunnel::CLOSE_LIMIT;
use super::{Common, at_least_one, raise_nofile};

/// TLS read size of a flooding session: many packets per read.
const READ_BUF: usize = 64 * 1024;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    pub(super) common: Common,
    /// The echo destination: the server's tunnel address.
    #[arg(long)]
    target: Ipv4Addr,
    /// Sessions pushing traffic at once.
    #[arg(long)]
    pub(super) sessions: usize,
    /// Handshakes in flight at most while connecting.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Length of the flood, in seconds.
    #[arg(long, default_value_t = 10)]
    pub(super) duration_secs: u64,
    /// ICMP payload bytes per request (1372 makes 1400-byte IP packets).
    #[arg(long, default_value_t = 1372)]
    pub(super) payload: usize,
    /// Requests in flight per session.
    #[arg(long, default_value_t = 32)]
    pub(super) window: usize,
    /// The server's process id, to report its CPU use during the flood.
    #[arg(long)]
    server_pid: Option<u32>,
}

/// The JSON line of `load flood`.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    mode: &'static str,
    sessions: usize,
    established: usize,
    duration_secs: f64,
    payload: usize,
    window: usize,
    /// Sum over sessions (see the module docs for what is counted).
    total_mbit_s: f64,
    /// One entry per session that flooded.
    per_session_mbit_s: Vec<f64>,
    min: Option<f64>,
    median: Option<f64>,
    max: Option<f64>,
    /// Jain's fairness index over `per_session_mbit_s`.
    jain_index: Option<f64>,
    /// Requests unanswered within one second.
    lost: u64,
    /// Round trips completed.
    replies: u64,
    /// Sessions that never came up, or ended during the run.
    failed: usize,
    /// CPU use during the flood, percent of one core: the server's (with
    /// `--server-pid`) and this process's.
    server_cpu_pct: Option<f64>,
    loadgen_cpu_pct: f64,
    first_error: Option<String>,
}

pub(crate) async fn run(args: Args) -> anyhow::Result<Report> {
    let n = at_least_one(args.sessions, "--sessions")?;
    let concurrency = at_least_one(args.concurrency, "--concurrency")?;
    let window = at_least_one(args.window, "--window")?;
    let duration = Duration::from_secs(args.duration_secs.max(1));
    if ECHO_OVERHEAD + args.payload > sstp_core::MAX_IP_PACKET {
        bail!(
            "--payload {} makes {}-byte packets, more than SSTP carries ({})",
            args.payload,
            ECHO_OVERHEAD + args.payload,
            sstp_core::MAX_IP_PACKET
        );
    }
    raise_nofile(n as u64 + 1000)?;
    let fleet = Arc::new(Fleet {
        dialer: args.common.dialer()?,
        config: args.common.session_config()?,
        handshakes: Semaphore::new(concurrency),
        target: args.target,
        read_buf: READ_BUF,
        lean: false,
        payload: args.payload,
        window,
    });

    eprintln!("connecting {n} sessions to {}", args.common.server);
    let connect_deadline = fleet.connect_deadline(n, concurrency);
    let (cmd, mut reports) = fleet.spawn(n);
    let mut tally = Tally::default();
    tally
        .collect(&mut reports, Some(connect_deadline), "connecting", |t| {
            t.up + t.failed >= n
        })
        .await;
    let flooding = tally.alive();
    eprintln!(
        "{} up, {} failed; flooding for {} s",
        tally.up,
        tally.failed,
        duration.as_secs()
    );

    let meter = CpuMeter::start(args.server_pid.map(Proc::Pid))?;
    let until = Instant::now() + duration;
    cmd.send_replace(Cmd::Flood { until });
    tally
        .collect(
            &mut reports,
            Some(until + LOSS_TIMEOUT + Duration::from_secs(5)),
            "flood",
            |t| t.floods.len() >= flooding,
        )
        .await;
    let cpu = meter.stop()?;

    cmd.send_replace(Cmd::Close);
    tally
        .collect(
            &mut reports,
            Some(Instant::now() + CLOSE_LIMIT + Duration::from_secs(5)),
            "closing",
            |_| false,
        )
        .await;

    let secs = duration.as_secs_f64();
    let per_session: Vec<f64> = tally
        .floods
        .iter()
        .map(|f| mbit_per_sec(f.bytes, secs))
        .collect();
    let spread = spread(&per_session);
    Ok(Report {
        mode: "flood",
        sessions: n,
        established: tally.up,
        duration_secs: secs,
        payload: args.payload,
        window,
        total_mbit_s: per_session.iter().sum(),
        min: spread.map(|s| s.min),
        median: spread.map(|s| s.median),
        max: spread.map(|s| s.max),
        jain_index: jain_index(&per_session),
        lost: tally.floods.iter().map(|f| f.lost).sum(),
        replies: tally.floods.iter().map(|f| f.replies).sum(),
        failed: tally.failed + tally.lost,
        server_cpu_pct: cpu.server_pct(),
        loadgen_cpu_pct: cpu.me_pct(),
        first_error: tally.first_error,
        per_session_mbit_s: per_session,
    })
}
