//! Placeholder: filled in by the orchestrate work.

/// Arguments of this subcommand.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) fn main(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
