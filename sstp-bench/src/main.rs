//! `sstp-bench`: the benchmark tool of sstp-rs (BENCHMARKS.md).
//!
//! Every scenario runs its baseline in the same run, so ratios stay meaningful on a noisy machine.
//! The subcommands are the building blocks; `run` (in [`orchestrate`]) creates the network
//! namespaces, runs the scenarios with several repetitions and prints one table.
//!
//! - `relay`: the bare TUN → TLS → TUN relay, the data plane of SSTP without SSTP or PPP.
//! - `load`: many SSTP sessions from one process with the sstp-core client engine and no TUN
//!   (idle sessions, connects per second, aggregate traffic and fairness).
//! - `run`: the whole suite (needs root, `ip`, `iperf3`, `ping`).

mod load;
mod orchestrate;
mod relay;
mod verifier;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "sstp-bench",
    version,
    about = "sstp-rs benchmarks (see BENCHMARKS.md)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Bare TUN → TLS → TUN relay (baseline for tunnel throughput).
    Relay(relay::Args),
    /// Many SSTP sessions from one process, without TUN devices.
    Load(load::Args),
    /// The whole suite in network namespaces; prints one table.
    Run(orchestrate::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Relay(args) => relay::main(args),
        Command::Load(args) => load::main(args),
        Command::Run(args) => orchestrate::main(args),
    }
}
