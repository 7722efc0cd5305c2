//! What `sstp-server` and `sstp-client` share as long-running services:
//!
//! - [`log`]: `--log-format auto|text|json|journal`: plain text for a
//!   person, one JSON object a line for log shippers, and lines with the
//!   sd-daemon(3) `<N>` priority prefix when stderr is the journal, so
//!   `journalctl -p warning` filters by level;
//! - [`notify`]: sd_notify(3) states for `Type=notify` units (READY,
//!   RELOADING with MONOTONIC_USEC, STOPPING, STATUS, the watchdog);
//! - [`docs`]: shell completions and man pages made from the command line
//!   definition itself, so they never drift from `--help`.

#![warn(missing_docs)]

pub mod docs;
pub mod log;
pub mod notify;
