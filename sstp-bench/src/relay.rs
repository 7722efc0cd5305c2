//! `sstp-bench relay`: the bare TUN → TLS → TUN relay, the baseline of the throughput scenarios.
//!
//! It is the data plane of SSTP without SSTP and without PPP: IP packets read from a TUN go over
//! one TLS 1.3 connection (aws-lc-rs) as a 2-byte length and the packet ([`frame`]), and are
//! written to the TUN on the other side. It gets every trick the SSTP drivers may use, so the
//! ratio "sstp-rs / relay" measures what SSTP and PPP cost and not a handicap of the baseline:
//!
//! - the TUN through `sstp_tun::LinuxTun` with offload on (GSO split on read, GRO on write) and the
//!   batch calls `recv_batch` / `send_batch`;
//! - no copy of a packet before TLS: its length goes into the headroom of the TUN batch, and the
//!   frames of up to [`COALESCE`] bytes of ready batches go to rustls in one vectored write;
//! - on the way back, the TLS reads that are ready are decoded into one TUN batch before it is
//!   written, so GRO sees long runs of one flow (`sstp-tun` gives the batch's buffers room to
//!   coalesce into; this relay found that it did not);
//! - TCP_NODELAY.
//!
//! The runtime is tokio's current-thread one: both directions in one thread. On this 2-core box,
//! shared with iperf3 and the kernel's TCP work, a two-worker runtime (`--runtime multi`, kept to
//! compare) moved no more bits per second in interleaved runs and used as much or more CPU per
//! bit. Reading the TLS socket through a 64 KiB buffer (rustls reads 4 KiB at a time) was tried
//! and made no difference, so rustls reads the socket directly, as in the SSTP drivers.
//!
//! ```text
//! sstp-bench relay server --listen 0.0.0.0:4433 --tun NAME --local 198.19.0.1 --peer 198.19.0.2
//! sstp-bench relay client --connect 192.0.2.1:4433 --tun NAME --local 198.19.0.2 --peer 198.19.0.1
//! ```
//!
//! Both create the TUN (MTU 1400 unless `--mtu`; offload unless `--no-offload`), give it `--local`
//! with a /32 (/128) and a host route to `--peer` through it, and print one line `ready` on stdout
//! when they are ready: the server once it listens (start the client after that), the client once
//! the TLS handshake is done (from then on the tunnel carries traffic). The server serves one
//! connection at a time and accepts the next when one ends. On SIGINT or SIGTERM either prints
//! one line `stats rx_packets=N tx_packets=N rx_bytes=N tx_bytes=N` (packets and bytes written
//! to / read from its TUN) and exits 0. The client also ends when the connection does: it prints
//! the stats line and exits 0 if the server closed it (with or without TLS close_notify), 1 on
//! an error. Errors go to stderr.

mod frame;
mod tls;

use std::future::Future;
use std::io::{IoSlice, Write as _};
use std::net::{IpAddr, SocketAddr};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context as TaskContext, Poll, Waker};

use anyhow::{Context, bail};
use sstp_tun::netlink::{Netlink, Route};
use sstp_tun::{IDEAL_BATCH_SIZE, LinuxTun, RecvBatch, SendBatch, TunDevice};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{SignalKind, signal};

use self::frame::Deframer;

/// Bytes of frames gathered from the TUN before one TLS write (a soft limit: the last TUN batch
/// taken may go past it).
const COALESCE: usize = 128 * 1024;
/// TUN batches gathered for one TLS write (each up to [`IDEAL_BATCH_SIZE`] packets).
const TX_BATCHES: usize = 4;
/// Receive buffer of the deframer: room for several TLS records of plaintext.
const DEFRAME_BUF: usize = 256 * 1024;
/// Longest a TLS handshake may take.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Packets per TUN write on the way back (what GRO can coalesce at once).
const TUN_SEND_BATCH: usize = IDEAL_BATCH_SIZE;

/// Arguments of `sstp-bench relay`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    role: Role,
}

#[derive(Debug, clap::Subcommand)]
enum Role {
    /// Listen, accept one TLS connection at a time, relay it to the TUN.
    Server(ServerArgs),
    /// Connect to a relay server and relay the connection to the TUN.
    Client(ClientArgs),
}

#[derive(Debug, clap::Args)]
struct ServerArgs {
    /// Address to listen on (TCP).
    #[arg(long, value_name = "ADDR:PORT")]
    listen: SocketAddr,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, clap::Args)]
struct ClientArgs {
    /// Relay server to connect to (TCP).
    #[arg(long, value_name = "ADDR:PORT")]
    connect: SocketAddr,
    #[command(flatten)]
    common: Common,
}

/// What both ends take.
#[derive(Debug, Clone, clap::Args)]
struct Common {
    /// Name of the TUN interface to create (at most 15 bytes).
    #[arg(long, value_name = "NAME", value_parser = parse_ifname)]
    tun: String,
    /// Address of this end on the TUN (/32, or /128 for IPv6).
    #[arg(long, value_name = "IP")]
    local: IpAddr,
    /// Address of the other end: routed into the TUN.
    #[arg(long, value_name = "IP")]
    peer: IpAddr,
    /// TUN MTU; both ends must use the same (longer frames are refused).
    #[arg(long, default_value_t = 1400, value_parser = clap::value_parser!(u16).range(576..))]
    mtu: u16,
    /// TUN without offload (no GSO split / GRO): one packet per read and write in the kernel.
    #[arg(long)]
    no_offload: bool,
    /// Tokio runtime: `current` (one thread) or `multi` (two workers).
    #[arg(long, value_enum, default_value_t = Runtime::Current)]
    runtime: Runtime,
}

/// The tokio runtime flavour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Runtime {
    /// Current-thread runtime: both directions on one thread.
    Current,
    /// Multi-thread runtime with two workers: the directions may run in parallel.
    Multi,
}

/// TUN-side counters: `rx` is what was written to the TUN (came from the peer), `tx` what was
/// read from it (went to the peer).
#[derive(Debug, Default)]
struct Stats {
    rx_packets: AtomicU64,
    tx_packets: AtomicU64,
    rx_bytes: AtomicU64,
    tx_bytes: AtomicU64,
}

impl Stats {
    /// The line printed at exit (the orchestrator parses it).
    fn line(&self) -> String {
        format!(
            "stats rx_packets={} tx_packets={} rx_bytes={} tx_bytes={}",
            self.rx_packets.load(Ordering::Relaxed),
            self.tx_packets.load(Ordering::Relaxed),
            self.rx_bytes.load(Ordering::Relaxed),
            self.tx_bytes.load(Ordering::Relaxed),
        )
    }
}

/// The TUN failed (not the connection): the relay cannot go on, even with another connection.
#[derive(Debug)]
struct TunFailed(std::io::Error);

impl std::fmt::Display for TunFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TUN device failed")
    }
}

impl std::error::Error for TunFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// How the relay ended, when it did not fail.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// SIGINT or SIGTERM.
    Signal,
    /// The server closed the connection (client only).
    PeerClosed,
}

pub(crate) fn main(args: Args) -> anyhow::Result<()> {
    let common = match &args.role {
        Role::Server(a) => &a.common,
        Role::Client(a) => &a.common,
    };
    common.validate()?;
    let runtime = match common.runtime {
        Runtime::Current => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        Runtime::Multi => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build(),
    }
    .context("starting the tokio runtime")?;
    let stats = Arc::new(Stats::default());
    let end = runtime.block_on(run(args.role, Arc::clone(&stats)));
    // Do not wait for tasks still blocked on the TUN or the socket.
    runtime.shutdown_background();
    let end = end?;
    tracing::debug!(?end, "relay done");
    print_line(&stats.line())
}

impl Common {
    /// Checks what clap cannot: addresses of one family, distinct.
    fn validate(&self) -> anyhow::Result<()> {
        if self.local.is_ipv4() != self.peer.is_ipv4() {
            bail!(
                "--local {} and --peer {} are not of the same address family",
                self.local,
                self.peer
            );
        }
        if self.local == self.peer {
            bail!("--local and --peer are both {}", self.local);
        }
        if self.local.is_unspecified() || self.peer.is_unspecified() {
            bail!("--local and --peer must be real addresses, not an unspecified one");
        }
        Ok(())
    }

    fn prefix_len(&self) -> u8 {
        if self.local.is_ipv4() { 32 } else { 128 }
    }
}

/// `--tun`: a Linux interface name (1 to 15 bytes, no `/`, no whitespace, not `.` or `..`).
fn parse_ifname(name: &str) -> Result<String, String> {
    if name.is_empty() || name.len() > 15 {
        return Err(format!(
            "interface name must be 1 to 15 bytes, not {}",
            name.len()
        ));
    }
    if name == "."
        || name == ".."
        || name.contains(['/', ':'])
        || name.contains(char::is_whitespace)
    {
        return Err(format!("{name:?} is not a valid interface name"));
    }
    Ok(name.to_owned())
}

async fn run(role: Role, stats: Arc<Stats>) -> anyhow::Result<End> {
    // Signals first: one that comes right after `ready` must find the handler in place.
    let mut sigint = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut sigterm = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let work = async {
        match role {
            Role::Server(a) => serve(a, &stats).await,
            Role::Client(a) => connect(a, &stats).await,
        }
    };
    tokio::select! {
        r = work => r,
        _ = sigint.recv() => Ok(End::Signal),
        _ = sigterm.recv() => Ok(End::Signal),
    }
}

async fn serve(args: ServerArgs, stats: &Arc<Stats>) -> anyhow::Result<End> {
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls::server_config()?));
    let tun = open_tun(&args.common).await?;
    print_line("ready")?;
    loop {
        let (tcp, from) = listener.accept().await.context("accepting")?;
        tcp.set_nodelay(true).context("TCP_NODELAY")?;
        match serve_one(&acceptor, tcp, &tun, stats).await {
            Ok(()) => tracing::info!(%from, "connection closed"),
            Err(e) if e.is::<TunFailed>() => return Err(e),
            // The next client gets the TUN.
            Err(e) => tracing::warn!(%from, error = format!("{e:#}"), "connection ended"),
        }
    }
}

/// Handshake and relay of one accepted connection.
async fn serve_one(
    acceptor: &tokio_rustls::TlsAcceptor,
    tcp: TcpStream,
    tun: &Arc<LinuxTun>,
    stats: &Arc<Stats>,
) -> anyhow::Result<()> {
    // A peer that connects and says nothing must not hold the server.
    let stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp))
        .await
        .context("TLS handshake timed out")?
        .context("TLS handshake")?;
    relay(stream, tun, stats).await
}

async fn connect(args: ClientArgs, stats: &Arc<Stats>) -> anyhow::Result<End> {
    let tun = open_tun(&args.common).await?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls::client_config()?));
    let tcp = TcpStream::connect(args.connect)
        .await
        .with_context(|| format!("connecting to {}", args.connect))?;
    tcp.set_nodelay(true).context("TCP_NODELAY")?;
    connect_one(&connector, tcp, &tun, stats)
        .await
        .with_context(|| format!("relay connection to {}", args.connect))?;
    Ok(End::PeerClosed)
}

/// Handshake, `ready`, and relay of the client's connection.
async fn connect_one(
    connector: &tokio_rustls::TlsConnector,
    tcp: TcpStream,
    tun: &Arc<LinuxTun>,
    stats: &Arc<Stats>,
) -> anyhow::Result<()> {
    let stream = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        connector.connect(tls::server_name()?, tcp),
    )
    .await
    .context("TLS handshake timed out")?
    .context("TLS handshake")?;
    print_line("ready")?;
    relay(stream, tun, stats).await
}

/// Creates the TUN with `--local` and a host route to `--peer` through it.
async fn open_tun(c: &Common) -> anyhow::Result<Arc<LinuxTun>> {
    let tun = LinuxTun::builder(&c.tun)
        .mtu(c.mtu)
        .offload(!c.no_offload)
        .build()
        .with_context(|| format!("creating TUN {} (needs CAP_NET_ADMIN)", c.tun))?;
    if !c.no_offload && !tun.offload() {
        tracing::warn!(tun = %c.tun, "the kernel refused TUN offload; relaying without it");
    }
    let nl = Netlink::new().context("opening rtnetlink")?;
    let index = tun.index();
    nl.add_address(index, c.local, c.prefix_len())
        .await
        .with_context(|| format!("adding {}/{} to {}", c.local, c.prefix_len(), c.tun))?;
    nl.set_link_up(index)
        .await
        .with_context(|| format!("setting {} up", c.tun))?;
    nl.add_route(&Route::host(c.peer).dev(index))
        .await
        .with_context(|| format!("adding the route to {} through {}", c.peer, c.tun))?;
    Ok(Arc::new(tun))
}

/// Relays one TLS connection to and from the TUN until the peer closes it (`Ok`) or something
/// fails. The two directions are two tasks over the halves of the stream.
async fn relay<S>(stream: S, tun: &Arc<LinuxTun>, stats: &Arc<Stats>) -> anyhow::Result<()>
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (rd, wr) = tokio::io::split(stream);
    let mut up = tokio::spawn(tun_to_tls(Arc::clone(tun), wr, Arc::clone(stats)));
    let mut down = tokio::spawn(tls_to_tun(rd, Arc::clone(tun), Arc::clone(stats)));
    // The first direction to end ends the connection; the other is cancelled (both TUN reads and
    // socket reads are cancel safe, and nothing else is in flight that matters for a benchmark).
    let (result, other) = tokio::select! {
        r = &mut up => (r, down),
        r = &mut down => (r, up),
    };
    other.abort();
    let _ = other.await;
    result.context("relay task")?
}

/// TUN → TLS: batches from the TUN, each packet framed in place (its length written into the
/// batch's headroom), and every frame of up to [`TX_BATCHES`] batches handed to rustls in one
/// vectored write: the packets are copied once, by rustls into its records.
async fn tun_to_tls<W: AsyncWrite + Unpin>(
    tun: Arc<LinuxTun>,
    mut wr: W,
    stats: Arc<Stats>,
) -> anyhow::Result<()> {
    let mtu = usize::from(tun.mtu());
    let mut batches: Vec<RecvBatch> = (0..TX_BATCHES)
        .map(|_| RecvBatch::new(IDEAL_BATCH_SIZE, mtu, frame::LEN_PREFIX))
        .collect();
    let mut slices: Vec<IoSlice<'static>> = Vec::new();
    loop {
        let Some((first, more)) = batches.split_first_mut() else {
            bail!("no TUN batch");
        };
        let mut bytes = tun.recv_batch(first).await.map_err(TunFailed)? * mtu;
        let mut used = 1;
        // More that is ready now goes into the same write: recv_batch is cancel safe, so a poll
        // that finds nothing loses nothing.
        for batch in more {
            if bytes >= COALESCE {
                break;
            }
            match poll_now(tun.recv_batch(batch)) {
                Some(r) => bytes += r.map_err(TunFailed)? * mtu,
                None => break,
            }
            used += 1;
        }
        // The slices borrow the batches only until the write is done; the vector's allocation
        // is kept from write to write.
        let mut frames = recycle(std::mem::take(&mut slices));
        let (mut packets, mut bytes) = (0u64, 0u64);
        for batch in &mut batches[..used] {
            for frame in batch.frames_mut() {
                match frame::encode_in_place(frame, mtu) {
                    Ok(()) => {
                        packets += 1;
                        bytes += (frame.len() - frame::LEN_PREFIX) as u64;
                        frames.push(IoSlice::new(frame));
                    }
                    // The TUN does not return such packets; if it did, dropping them is all we
                    // can do.
                    Err(e) => tracing::debug!(error = %e, "TUN packet not relayed"),
                }
            }
        }
        stats.tx_packets.fetch_add(packets, Ordering::Relaxed);
        stats.tx_bytes.fetch_add(bytes, Ordering::Relaxed);
        write_all_vectored(&mut wr, &mut frames)
            .await
            .context("TLS write")?;
        wr.flush().await.context("TLS flush")?;
        slices = recycle(frames);
    }
}

/// Writes every byte of `bufs` (which it consumes).
async fn write_all_vectored<W: AsyncWrite + Unpin>(
    wr: &mut W,
    bufs: &mut [IoSlice<'_>],
) -> std::io::Result<()> {
    let mut bufs = bufs;
    while !bufs.is_empty() {
        let n = wr.write_vectored(bufs).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut bufs, n);
    }
    Ok(())
}

/// An empty vector of slices of any lifetime, reusing the allocation of `v`.
fn recycle<'b>(mut v: Vec<IoSlice<'_>>) -> Vec<IoSlice<'b>> {
    v.clear();
    v.into_iter().map(|_| IoSlice::new(&[])).collect()
}

/// TLS → TUN: TLS plaintext into the deframer, whole packets into a send batch, one TUN write
/// for everything that was ready.
async fn tls_to_tun<R: AsyncRead + Unpin>(
    mut rd: R,
    tun: Arc<LinuxTun>,
    stats: Arc<Stats>,
) -> anyhow::Result<()> {
    let mtu = usize::from(tun.mtu());
    let mut deframer = Deframer::new(DEFRAME_BUF, mtu);
    let mut batch = SendBatch::new(TUN_SEND_BATCH);
    loop {
        let n = tls_read(rd.read(deframer.spare()).await)?;
        if n == 0 {
            return Ok(());
        }
        deframer.filled(n);
        let mut eof = false;
        loop {
            while let Some(packet) = deframer.next_frame().context("from the peer")? {
                batch.push(packet);
                if batch.is_full() {
                    write_tun(&tun, &mut batch, &stats).await?;
                }
            }
            // Decode what else is ready before writing, so a TUN write carries many packets.
            // A socket read is cancel safe: a poll that finds nothing consumes nothing.
            if batch.is_empty() {
                break;
            }
            match poll_now(rd.read(deframer.spare())).map(tls_read) {
                Some(Ok(0)) => {
                    eof = true;
                    break;
                }
                Some(Ok(n)) => deframer.filled(n),
                Some(Err(e)) => return Err(e),
                None => break,
            }
        }
        write_tun(&tun, &mut batch, &stats).await?;
        if eof {
            return Ok(());
        }
    }
}

/// The result of a TLS read, where a TCP close without close_notify is an end like any other:
/// a relay that is killed (the benchmark's way to stop one) does not send it.
fn tls_read(r: std::io::Result<usize>) -> anyhow::Result<usize> {
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(0),
        r => r.context("TLS read"),
    }
}

/// Writes `batch` to the TUN and counts it. Packets the TUN refuses (longer than its MTU) are
/// dropped; any other error ends the relay.
async fn write_tun(tun: &LinuxTun, batch: &mut SendBatch, stats: &Stats) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let packets = batch.len() as u64;
    let bytes: u64 = batch.iter().map(|p| p.len() as u64).sum();
    match tun.send_batch(batch).await {
        Ok(_) => {
            stats.rx_packets.fetch_add(packets, Ordering::Relaxed);
            stats.rx_bytes.fetch_add(bytes, Ordering::Relaxed);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
            tracing::debug!(error = %e, "packets dropped at the TUN");
            Ok(())
        }
        Err(e) => Err(TunFailed(e).into()),
    }
}

/// Polls `fut` once: its output if it is ready now, `None` if it would wait (then it is dropped,
/// so only cancel-safe futures belong here).
fn poll_now<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = pin!(fut);
    match fut
        .as_mut()
        .poll(&mut TaskContext::from_waker(Waker::noop()))
    {
        Poll::Ready(out) => Some(out),
        Poll::Pending => None,
    }
}

/// Prints one line on stdout and flushes it (the orchestrator waits for it).
fn print_line(line: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .context("writing to stdout")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use clap::Parser;

    /// The relay's arguments as a command line of their own.
    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn parse(line: &str) -> Result<Args, clap::Error> {
        Cli::try_parse_from(std::iter::once("relay").chain(line.split_whitespace())).map(|c| c.args)
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn server_line_with_defaults() {
        let args =
            parse("server --listen 0.0.0.0:4433 --tun brl0 --local 198.19.0.1 --peer 198.19.0.2")
                .unwrap();
        let Role::Server(s) = args.role else {
            panic!("not a server: {:?}", args.role);
        };
        assert_eq!(s.listen, "0.0.0.0:4433".parse().unwrap());
        assert_eq!(s.common.tun, "brl0");
        assert_eq!(s.common.local, "198.19.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(s.common.peer, "198.19.0.2".parse::<IpAddr>().unwrap());
        assert_eq!(s.common.mtu, 1400);
        assert!(!s.common.no_offload);
        assert_eq!(s.common.runtime, Runtime::Current);
        s.common.validate().unwrap();
        assert_eq!(s.common.prefix_len(), 32);
    }

    #[test]
    fn client_line_with_every_option() {
        let args = parse(
            "client --connect 192.0.2.1:4433 --tun brl1 --local 198.19.0.2 --peer 198.19.0.1 \
             --mtu 1500 --no-offload --runtime multi",
        )
        .unwrap();
        let Role::Client(c) = args.role else {
            panic!("not a client: {:?}", args.role);
        };
        assert_eq!(c.connect, "192.0.2.1:4433".parse().unwrap());
        assert_eq!(c.common.mtu, 1500);
        assert!(c.common.no_offload);
        assert_eq!(c.common.runtime, Runtime::Multi);
    }

    #[test]
    fn ipv6_addresses_take_a_128_prefix() {
        let args = parse("client --connect [fd00::1]:4433 --tun t --local fd01::2 --peer fd01::1")
            .unwrap();
        let Role::Client(c) = args.role else {
            panic!("not a client");
        };
        c.common.validate().unwrap();
        assert_eq!(c.common.prefix_len(), 128);
    }

    #[test]
    fn missing_or_malformed_arguments_are_errors() {
        for bad in [
            "",
            "proxy --listen 0.0.0.0:1 --tun t --local 10.0.0.1 --peer 10.0.0.2",
            "server --tun t --local 10.0.0.1 --peer 10.0.0.2",
            "server --listen 0.0.0.0 --tun t --local 10.0.0.1 --peer 10.0.0.2",
            "server --listen 0.0.0.0:1 --local 10.0.0.1 --peer 10.0.0.2",
            "client --connect 10.0.0.9:1 --tun t --local 10.0.0.1",
            "client --connect 10.0.0.9:1 --tun t --local 10.0.0.300 --peer 10.0.0.2",
            "client --connect 10.0.0.9:1 --tun t --local 10.0.0.1 --peer 10.0.0.2 --mtu 100",
            "client --connect 10.0.0.9:1 --tun t --local 10.0.0.1 --peer 10.0.0.2 --mtu 70000",
            "client --connect 10.0.0.9:1 --tun a_name_too_long0 --local 10.0.0.1 --peer 10.0.0.2",
            "client --connect 10.0.0.9:1 --tun a/b --local 10.0.0.1 --peer 10.0.0.2",
            "client --connect 10.0.0.9:1 --tun t --local 10.0.0.1 --peer 10.0.0.2 --runtime x",
            "client --connect 10.0.0.9:1 --listen 0.0.0.0:1 --tun t --local 10.0.0.1 --peer 10.0.0.2",
        ] {
            assert!(parse(bad).is_err(), "accepted: {bad:?}");
        }
    }

    #[test]
    fn inconsistent_addresses_are_refused() {
        for (line, why) in [
            ("--local 10.0.0.1 --peer fd00::1", "same address family"),
            ("--local 10.0.0.1 --peer 10.0.0.1", "are both"),
            ("--local 0.0.0.0 --peer 10.0.0.1", "real addresses"),
        ] {
            let args = parse(&format!("server --listen 0.0.0.0:1 --tun t {line}")).unwrap();
            let Role::Server(s) = args.role else {
                panic!("not a server");
            };
            let err = s.common.validate().unwrap_err().to_string();
            assert!(err.contains(why), "{line}: {err}");
        }
    }

    #[test]
    fn interface_names() {
        assert_eq!(parse_ifname("brl-a0"), Ok("brl-a0".to_owned()));
        assert!(parse_ifname("123456789012345").is_ok());
        for bad in ["", "1234567890123456", ".", "..", "a b", "a:b"] {
            assert!(parse_ifname(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn stats_line_format() {
        let stats = Stats::default();
        stats.rx_packets.store(1, Ordering::Relaxed);
        stats.tx_packets.store(2, Ordering::Relaxed);
        stats.rx_bytes.store(3, Ordering::Relaxed);
        stats.tx_bytes.store(4, Ordering::Relaxed);
        assert_eq!(
            stats.line(),
            "stats rx_packets=1 tx_packets=2 rx_bytes=3 tx_bytes=4"
        );
    }

    #[test]
    fn a_tun_failure_is_told_from_a_connection_failure() {
        let tun: anyhow::Error = TunFailed(std::io::Error::other("gone")).into();
        let tun = tun.context("relaying");
        assert!(tun.is::<TunFailed>());
        assert_eq!(format!("{tun:#}"), "relaying: TUN device failed: gone");
        let conn = anyhow::Error::from(std::io::Error::other("reset")).context("TLS read");
        assert!(!conn.is::<TunFailed>());
    }

    #[test]
    fn recycled_slices_keep_the_allocation() {
        let data = vec![1u8; 4];
        let mut v = Vec::with_capacity(100);
        v.push(IoSlice::new(&data));
        let w: Vec<IoSlice<'static>> = recycle(v);
        assert!(w.is_empty());
        assert!(w.capacity() >= 100, "capacity {}", w.capacity());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn vectored_writes_write_everything() {
        let (mut a, mut b) = tokio::io::duplex(7);
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            b.read_to_end(&mut got).await.map(|_| got)
        });
        let (x, y) = (vec![1u8; 10], vec![2u8; 25]);
        let mut bufs = [IoSlice::new(&x), IoSlice::new(&[]), IoSlice::new(&y)];
        write_all_vectored(&mut a, &mut bufs).await.unwrap();
        drop(a);
        let got = reader.await.unwrap().unwrap();
        assert_eq!(got, [x, y].concat());
    }

    #[test]
    fn poll_now_returns_only_what_is_ready() {
        assert_eq!(poll_now(async { 7 }), Some(7));
        assert_eq!(poll_now(std::future::pending::<u8>()), None);
    }
}
