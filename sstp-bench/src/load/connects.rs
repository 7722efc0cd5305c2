//! `load connects`: full SSTP connects per second, with TLS-handshake-only
//! connects per second against the same port as the baseline, in the same
//! run (TLS first, then full).
//!
//! A full connect is TCP, TLS 1.3, the SSTP HTTP exchange, SSTP Call
//! Connect, LCP, the `--auth` method (MS-CHAPv2 by default; with
//! `--auth eap-tls`, a whole TLS 1.3 handshake with a client certificate
//! inside EAP), IPCP and the crypto binding, until the engine reports the
//! tunnel up. It counts when it is up within the window.
//!
//! Each tunnel is then closed **cleanly** (LCP Terminate, Call Disconnect
//! and its Ack, close_notify), as a real client does, so the server's
//! teardown work is part of the measured load. The close runs in its own
//! task while the worker starts its next connect: the close's two round
//! trips are latency, not work, and should not throttle the connect rate.
//! A worker waits for its previous close before spawning another, so at
//! most `concurrency` closes are in flight.
//!
//! A TLS-only connect is TCP and the TLS 1.3 handshake, then close_notify.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use tokio::io::AsyncWriteExt as _;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::dial::{Dialer, negotiated};
use super::procfs::{CpuMeter, Proc};
use super::tunnel::Tunnel;
use super::{Common, at_least_one, raise_nofile};

/// TLS read size of a connecting session (handshake packets only).
const READ_BUF: usize = 2048;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    pub(super) common: Common,
    /// Workers, each looping connect → close.
    #[arg(long, default_value_t = 64)]
    pub(super) concurrency: usize,
    /// Length of each phase (TLS only, then full), in seconds.
    #[arg(long, default_value_t = 10)]
    pub(super) duration_secs: u64,
    /// The server's process id, to report its CPU use in each phase.
    #[arg(long)]
    pub(super) server_pid: Option<u32>,
}

/// The JSON line of `load connects`.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    mode: &'static str,
    concurrency: usize,
    duration_secs: f64,
    /// Tunnels up within the full phase.
    full_connects: u64,
    full_per_sec: f64,
    full_errors: u64,
    /// Clean disconnects that did not complete.
    close_errors: u64,
    /// TLS handshakes completed within the baseline phase.
    tls_only: u64,
    tls_per_sec: f64,
    tls_errors: u64,
    /// full_per_sec / tls_per_sec.
    ratio: Option<f64>,
    /// The negotiated key exchange group (e.g. `X25519MLKEM768`).
    kx: Option<String>,
    /// The negotiated cipher suite (e.g. `TLS13_AES_256_GCM_SHA384`).
    suite: Option<String>,
    /// CPU use in each phase, percent of one core (the machine has
    /// `cores`): the server's (with `--server-pid`) and this process's.
    /// They tell whether the server was the limit.
    tls_server_cpu_pct: Option<f64>,
    full_server_cpu_pct: Option<f64>,
    tls_loadgen_cpu_pct: f64,
    full_loadgen_cpu_pct: f64,
    cores: usize,
    /// Server CPU time per completed connect, in microseconds: less
    /// sensitive to other load on the machine than the rates are.
    tls_server_cpu_us_per_connect: Option<f64>,
    full_server_cpu_us_per_connect: Option<f64>,
    first_error: Option<String>,
}

/// (key exchange, cipher suite) of the first TLS-only handshake.
type Negotiated = (Option<String>, Option<String>);

/// Counters of one phase, shared by its workers.
#[derive(Debug, Default)]
struct Counters {
    ok: AtomicU64,
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl Counters {
    fn error(&self, e: &anyhow::Error) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut first = self
            .first_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if first.is_none() {
            *first = Some(format!("{e:#}"));
        }
    }

    fn first_error(&self) -> Option<String> {
        self.first_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

pub(crate) async fn run(args: Args) -> anyhow::Result<Report> {
    let concurrency = at_least_one(args.concurrency, "--concurrency")?;
    let duration = Duration::from_secs(args.duration_secs.max(1));
    // A connect, its close and a few spares per worker.
    raise_nofile(concurrency as u64 * 4 + 1000)?;
    let dialer = Arc::new(args.common.dialer()?);
    let config = Arc::new(args.common.session_config()?);
    let seen: Arc<Mutex<Option<Negotiated>>> = Arc::default();

    let server = args.server_pid.map(Proc::Pid);

    eprintln!(
        "TLS-only connects for {} s, {concurrency} workers",
        duration.as_secs()
    );
    let meter = CpuMeter::start(server)?;
    let tls = {
        let seen = Arc::clone(&seen);
        phase(
            concurrency,
            duration,
            Arc::clone(&dialer),
            move |dialer, index, _: &mut ()| {
                let seen = Arc::clone(&seen);
                async move {
                    let mut stream = dialer.tls(index).await?;
                    seen.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .get_or_insert_with(|| negotiated(&stream));
                    let _ = tokio::time::timeout(Duration::from_secs(2), stream.shutdown()).await;
                    Ok(())
                }
            },
        )
        .await
    };
    let tls_cpu = meter.stop()?;
    let tls_ok = tls.ok.load(Ordering::Relaxed);
    eprintln!("TLS only: {tls_ok} in {} s", duration.as_secs());

    eprintln!(
        "full connects for {} s, {concurrency} workers",
        duration.as_secs()
    );
    let close_errors = Arc::new(Counters::default());
    let meter = CpuMeter::start(server)?;
    let full = {
        let close_errors = Arc::clone(&close_errors);
        phase(
            concurrency,
            duration,
            Arc::clone(&dialer),
            move |dialer, index, closes: &mut Option<tokio::task::JoinHandle<()>>| {
                let config = Arc::clone(&config);
                let close_errors = Arc::clone(&close_errors);
                let previous = closes.take();
                let (tx, rx) = tokio::sync::oneshot::channel();
                *closes = Some(tokio::spawn(async move {
                    if let Ok(tunnel) = rx.await
                        && let Err(e) = Tunnel::close(tunnel).await
                    {
                        close_errors.error(&e);
                    }
                }));
                async move {
                    let tunnel = Tunnel::establish(&dialer, &config, index, READ_BUF, true).await;
                    // The previous close ran while this connect did.
                    if let Some(previous) = previous {
                        let _ = previous.await;
                    }
                    let _ = tx.send(tunnel?);
                    Ok(())
                }
            },
        )
        .await
    };
    let full_cpu = meter.stop()?;
    let full_ok = full.ok.load(Ordering::Relaxed);
    eprintln!("full: {full_ok} in {} s", duration.as_secs());

    let secs = duration.as_secs_f64();
    let tls_per_sec = tls_ok as f64 / secs;
    let full_per_sec = full_ok as f64 / secs;
    let (kx, suite) = seen
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .unwrap_or_default();
    Ok(Report {
        mode: "connects",
        concurrency,
        duration_secs: secs,
        full_connects: full_ok,
        full_per_sec,
        full_errors: full.errors.load(Ordering::Relaxed),
        close_errors: close_errors.errors.load(Ordering::Relaxed),
        tls_only: tls_ok,
        tls_per_sec,
        tls_errors: tls.errors.load(Ordering::Relaxed),
        ratio: (tls_per_sec > 0.0).then(|| full_per_sec / tls_per_sec),
        kx,
        suite,
        tls_server_cpu_pct: tls_cpu.server_pct(),
        full_server_cpu_pct: full_cpu.server_pct(),
        tls_loadgen_cpu_pct: tls_cpu.me_pct(),
        full_loadgen_cpu_pct: full_cpu.me_pct(),
        cores: std::thread::available_parallelism().map_or(1, usize::from),
        tls_server_cpu_us_per_connect: tls_cpu.server_us_per(tls_ok),
        full_server_cpu_us_per_connect: full_cpu.server_us_per(full_ok),
        first_error: full
            .first_error()
            .or_else(|| tls.first_error())
            .or_else(|| close_errors.first_error()),
    })
}

/// `concurrency` workers loop `op` until `duration` has passed; an
/// operation counts if it succeeds or fails before the end. Each worker
/// gets its own `W` state (default-initialised), passed to every `op`;
/// the phase waits for the worker states to drop before it returns.
async fn phase<W, F, Fut>(
    concurrency: usize,
    duration: Duration,
    dialer: Arc<Dialer>,
    op: F,
) -> Arc<Counters>
where
    W: Default + Send + 'static + Finish,
    F: Fn(Arc<Dialer>, usize, &mut W) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let counters = Arc::new(Counters::default());
    let op = Arc::new(op);
    let end = Instant::now() + duration;
    let mut workers = JoinSet::new();
    for worker in 0..concurrency {
        let (counters, op, dialer) = (Arc::clone(&counters), Arc::clone(&op), Arc::clone(&dialer));
        workers.spawn(async move {
            let mut state = W::default();
            let mut index = worker;
            while Instant::now() < end {
                let result = op(Arc::clone(&dialer), index, &mut state).await;
                if Instant::now() <= end {
                    match result {
                        Ok(()) => {
                            counters.ok.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => counters.error(&e),
                    }
                }
                index += concurrency;
            }
            state.finish().await;
        });
    }
    while workers.join_next().await.is_some() {}
    counters
}

/// A worker's state, finished when the worker stops.
trait Finish {
    fn finish(self) -> impl Future<Output = ()> + Send;
}

impl Finish for Option<tokio::task::JoinHandle<()>> {
    async fn finish(self) {
        if let Some(handle) = self {
            let _ = handle.await;
        }
    }
}

impl Finish for () {
    async fn finish(self) {}
}
