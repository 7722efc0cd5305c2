//! Our client against the SoftEther server (from the interop harness) versus our client against
//! our server.

use anyhow::{Result, bail};

use super::Bench;

pub(super) fn run(bench: &Bench) -> Result<String> {
    let script = bench.args.interop_dir.join("softether-server.sh");
    if !script.exists() {
        bail!("{} not found (pass --interop-dir)", script.display());
    }
    bail!("not implemented yet")
}
