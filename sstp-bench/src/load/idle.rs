//! `load idle`: N sessions up, one echo each, an idle period with only the
//! keepalives running, a second echo each, then a clean disconnect of all.
//! Measures the time to establish them, the server's RSS per session above
//! its baseline, and the server's CPU while idle.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::fleet::{Cmd, Fleet, Tally};
use super::procfs::{self, Proc};
use super::tunnel::CLOSE_LIMIT;
use super::{Common, at_least_one, raise_nofile};

/// TLS read size of an idle session: keepalives and one echo.
const READ_BUF: usize = 2048;
/// Sequence numbers of the two echo rounds.
const ROUND_BEFORE: u16 = 1;
const ROUND_AFTER: u16 = 2;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    pub(super) common: Common,
    /// The echo destination: the server's tunnel address (first address
    /// of its pool).
    #[arg(long)]
    target: Ipv4Addr,
    /// Sessions to open.
    #[arg(long)]
    pub(super) sessions: usize,
    /// Handshakes in flight at most.
    #[arg(long, default_value_t = 256)]
    pub(super) concurrency: usize,
    /// The server's process id, for its RSS and CPU time.
    #[arg(long)]
    pub(super) server_pid: Option<u32>,
    /// Idle period, in seconds.
    #[arg(long, default_value_t = 30)]
    pub(super) idle_secs: u64,
    /// How long to wait for each echo round, in seconds.
    #[arg(long, default_value_t = 10)]
    echo_timeout_secs: u64,
}

/// The JSON line of `load idle`.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    mode: &'static str,
    /// Sessions asked for.
    sessions: usize,
    /// Sessions whose tunnel came up.
    established: usize,
    /// Sessions that never came up.
    failed: usize,
    /// From the first connect to the last session up (or failed).
    establish_secs: f64,
    /// Sessions whose echo came back before the idle period.
    data_ok: usize,
    /// Sessions whose echo came back after it.
    data_ok_after_idle: usize,
    /// Echo requests sent again after a second without a reply (both
    /// rounds): a sign of drops on the way (e.g. the server's TUN queue).
    echo_resent: usize,
    /// Server VmRSS before any session, and after the idle period.
    server_rss_before_kib: Option<u64>,
    server_rss_after_kib: Option<u64>,
    /// (after − before) / established.
    rss_per_session_kib: Option<f64>,
    /// The idle period as measured.
    idle_secs: f64,
    /// Server CPU (user + system) during the idle period, percent of one core.
    server_idle_cpu_pct: Option<f64>,
    /// This process's VmRSS with all sessions up.
    loadgen_rss_kib: u64,
    /// Established sessions that ended without being asked to.
    lost: usize,
    /// Sessions that completed the clean disconnect.
    closed_clean: usize,
    first_error: Option<String>,
}

pub(crate) async fn run(args: Args) -> anyhow::Result<Report> {
    let n = at_least_one(args.sessions, "--sessions")?;
    let concurrency = at_least_one(args.concurrency, "--concurrency")?;
    raise_nofile(n as u64 + 1000)?;
    let server = args.server_pid.map(Proc::Pid);
    let rss_before = server.map(procfs::rss_kib).transpose()?;
    let fleet = Arc::new(Fleet {
        dialer: args.common.dialer()?,
        config: args.common.session_config()?,
        handshakes: Semaphore::new(concurrency),
        target: args.target,
        read_buf: READ_BUF,
        lean: true,
        payload: 0,
        window: 1,
    });

    eprintln!(
        "connecting {n} sessions to {} ({concurrency} at a time)",
        args.common.server
    );
    let start = Instant::now();
    let connect_deadline = fleet.connect_deadline(n, concurrency);
    let (cmd, mut reports) = fleet.spawn(n);
    let mut tally = Tally::default();
    tally
        .collect(&mut reports, Some(connect_deadline), "connecting", |t| {
            t.up + t.failed >= n
        })
        .await;
    let establish_secs = start.elapsed().as_secs_f64();
    eprintln!(
        "{} up, {} failed in {establish_secs:.2} s",
        tally.up, tally.failed
    );

    let echo_timeout = Duration::from_secs(args.echo_timeout_secs.max(1));
    echo_round(&mut tally, &mut reports, &cmd, ROUND_BEFORE, echo_timeout).await;

    eprintln!("idle for {} s", args.idle_secs);
    let ticks_before = server.map(procfs::cpu_ticks).transpose()?;
    let idle_start = Instant::now();
    tally
        .collect(
            &mut reports,
            Some(idle_start + Duration::from_secs(args.idle_secs)),
            "idle",
            |_| false,
        )
        .await;
    let idle_secs = idle_start.elapsed().as_secs_f64();
    let ticks_after = server.map(procfs::cpu_ticks).transpose()?;
    let rss_after = server.map(procfs::rss_kib).transpose()?;
    let loadgen_rss_kib = procfs::rss_kib(Proc::Me)?;

    echo_round(&mut tally, &mut reports, &cmd, ROUND_AFTER, echo_timeout).await;

    eprintln!("disconnecting");
    cmd.send_replace(Cmd::Close);
    // Returns when every task has ended (the channel closes).
    tally
        .collect(
            &mut reports,
            Some(Instant::now() + CLOSE_LIMIT + Duration::from_secs(5)),
            "closing",
            |_| false,
        )
        .await;

    let server_idle_cpu_pct = match (ticks_before, ticks_after) {
        (Some(b), Some(a)) => Some(procfs::cpu_percent(
            a.saturating_sub(b),
            procfs::ticks_per_sec(),
            idle_secs,
        )),
        _ => None,
    };
    let rss_per_session_kib = match (rss_before, rss_after) {
        (Some(b), Some(a)) if tally.up > 0 => Some((a as f64 - b as f64) / tally.up as f64),
        _ => None,
    };
    Ok(Report {
        mode: "idle",
        sessions: n,
        established: tally.up,
        failed: tally.failed,
        establish_secs,
        data_ok: tally.echo_ok(ROUND_BEFORE),
        data_ok_after_idle: tally.echo_ok(ROUND_AFTER),
        echo_resent: tally.echo_resent,
        server_rss_before_kib: rss_before,
        server_rss_after_kib: rss_after,
        rss_per_session_kib,
        idle_secs,
        server_idle_cpu_pct,
        loadgen_rss_kib,
        lost: tally.lost,
        closed_clean: tally.closed_clean,
        first_error: tally.first_error,
    })
}

/// Every live session sends one echo request; waits for the replies.
async fn echo_round(
    tally: &mut Tally,
    reports: &mut tokio::sync::mpsc::UnboundedReceiver<super::fleet::Report>,
    cmd: &tokio::sync::watch::Sender<Cmd>,
    seq: u16,
    timeout: Duration,
) {
    let start = Instant::now();
    cmd.send_replace(Cmd::Echo(seq));
    let all = tally
        .collect(reports, Some(start + timeout), "echo", |t| {
            t.echo_ok(seq) >= t.alive()
        })
        .await;
    eprintln!(
        "echo round {seq}: {} of {} replied in {:.2} s{}",
        tally.echo_ok(seq),
        tally.alive(),
        start.elapsed().as_secs_f64(),
        if all { "" } else { " (timed out)" }
    );
    cmd.send_replace(Cmd::Hold);
}
