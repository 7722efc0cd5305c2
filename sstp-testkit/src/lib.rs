//! What the tests, benches and end-to-end suite of the sstp-rs crates
//! share, so each helper exists once:
//!
//! - [`rng`] and [`base`]: the one deterministic RNG and the one base for
//!   virtual time;
//! - [`ipv4`], [`ipv6`] and [`addresses`]: minimal IP packets for the data
//!   path, and what a test reads back from one;
//! - [`replay_corpus`]: a committed fuzz corpus through its harness;
//! - [`Pair`]: a `ClientSession` and a `ServerSession` joined in memory and
//!   brought up, for benches and allocation counts;
//! - with the `net` feature (on by default): [`Pki`], a CA and a
//!   `localhost` leaf; [`ConnectProxy`], an HTTP CONNECT proxy
//!   (MS-SSTP 4.5); [`observe_until`], a bounded wait on a `MemTun`;
//!   [`metric`], one series of a Prometheus text page; [`init_tracing`];
//!   the root tier's harness: [`root_skip_reason`], [`Netns`],
//!   [`in_netns`] and [`ip`]; and [`FreeRadius`], a real FreeRADIUS 3.2
//!   started by `scripts/freeradius`, with its accounting records
//!   ([`DetailRecord`]); [`HaProxy`], a real HAProxy started by
//!   `scripts/haproxy`; [`notified`], a service manager's `NOTIFY_SOCKET`.
//!
//! sstp-core's own unit tests keep their private helpers (a scripted RNG,
//! the session `Pair` over crate-private types) in its `testing` module,
//! and take only this crate's sans-IO part (`default-features = false`).
//!
//! Not published: nothing here is API.

#![warn(missing_docs)]

mod corpus;
mod packet;
mod pair;
mod rng;

#[cfg(feature = "net")]
mod freeradius;
#[cfg(feature = "net")]
mod haproxy;
#[cfg(feature = "net")]
mod net;
#[cfg(feature = "net")]
mod netns;
#[cfg(feature = "net")]
mod pki;
#[cfg(feature = "net")]
mod proxy;
#[cfg(feature = "net")]
mod script;

pub use corpus::replay_corpus;
pub use packet::{addresses, ipv4, ipv6};
pub use pair::Pair;
pub use rng::{base, boxed_rng, rng};

#[cfg(feature = "net")]
pub use freeradius::{DetailRecord, FreeRadius, FreeRadiusOptions};
#[cfg(feature = "net")]
pub use haproxy::{HaProxy, HaProxyMode, HaProxyOptions};
#[cfg(feature = "net")]
pub use net::{init_tracing, metric, observe_until};
#[cfg(feature = "net")]
pub use netns::{Netns, in_netns, ip, root_skip_reason};
#[cfg(feature = "net")]
pub use pki::Pki;
#[cfg(feature = "net")]
pub use proxy::{ConnectProxy, ProxySeen};
#[cfg(feature = "net")]
pub use script::{notified, verify_unit};
