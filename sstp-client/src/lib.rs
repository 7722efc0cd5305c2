//! # sstp-client
//!
//! An SSTP (MS-SSTP) VPN client: a library that dials a server, brings the
//! PPP link up with sstp-core's `ClientSession`, and moves IP packets
//! between the tunnel and a packet device; and the `sstp-client` command.
//!
//! ```no_run
//! # // no_run: needs an SSTP server and CAP_NET_ADMIN.
//! use sstp_client::{ClientBuilder, TunnelEvent};
//!
//! # async fn run() -> Result<(), sstp_client::Error> {
//! let mut tunnel = ClientBuilder::new("vpn.example.net".parse()?)
//!     .password("alice", "correct horse")
//!     .connect() // Linux TUN, routes through rtnetlink, DNS
//!     .await?;
//! while let Some(event) = tunnel.next_event().await {
//!     if let TunnelEvent::Up(up) = event {
//!         println!("{} is {} via {}", up.interface, up.local, up.server);
//!         break;
//!     }
//! }
//! println!("{:?}", tunnel.stats());
//! tunnel.disconnect().await // Call Disconnect, close_notify, restore
//! # }
//! ```
//!
//! An embedder brings its own packet device (any [`sstp_tun::TunDevice`])
//! and decides what the tunnel may change on the system ([`System`]). Here
//! an in-memory device, nothing changed on the system, and a server that is
//! not there. With reconnecting on (the default) a refused first connect is
//! retried with backoff; with it off, the first connect fails at once with
//! an error that says so (the loopback tests in `tests/` run the same code
//! against a real server):
//!
//! ```
//! use sstp_client::{ClientBuilder, ErrorKind, ProxySetting, ReconnectPolicy, ServerAddr, System};
//! use sstp_tun::MemTun;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // A loopback port nobody listens on.
//! let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
//! let (tun, _os) = MemTun::pair(1400);
//! let err = ClientBuilder::new(ServerAddr::new("127.0.0.1", port))
//!     .password("alice", "correct horse")
//!     .proxy(ProxySetting::Direct)
//!     .reconnect(ReconnectPolicy::disabled())
//!     .connect_with(tun, System::none())
//!     .await
//!     .unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Unreachable);
//! assert!(err.to_string().starts_with("server 127.0.0.1:"));
//! # }
//! ```
//!
//! ## Layers
//!
//! - [`client`](ClientBuilder): the builder and the [`Tunnel`] handle
//!   (events, statistics, disconnect);
//! - `driver`: the supervisor (reconnect with backoff) and the connection
//!   loop around sstp-core's session;
//! - `dial`: TCP, proxy, TLS, and the SSTP HTTP handshake;
//! - `tls`: trust modes and the fingerprint-recording verifier (also the
//!   check of the server's inner EAP-TLS certificate);
//! - [`ClientIdentity`]: the EAP-TLS client certificate, from PEM or
//!   PKCS#12;
//! - `proxy`: HTTP CONNECT with hyper (MS-SSTP 4.5);
//! - [`routes`] and [`dns`]: what the tunnel changes on the system, behind
//!   traits with Linux implementations and `Recording` fakes;
//! - `netsetup`: applying a tunnel's configuration with an undo stack, so
//!   everything is restored on exit, on a signal and after a lost
//!   connection;
//! - [`slaac`]: IPv6 addresses from Router Advertisements.

#![warn(missing_docs)]

mod client;
mod dial;
mod driver;
mod error;
mod identity;
mod netsetup;
mod options;
mod proxy;
mod tls;

pub mod dns;
pub mod routes;
pub mod slaac;

pub use client::{
    ClientBuilder, System, Tunnel, TunnelEvent, TunnelStats, UpInfo, fetch_fingerprint,
};
pub use error::{CertificateError, Error, ErrorKind, ProxyError, SetupError};
pub use identity::{ClientIdentity, IdentityError};
pub use options::{
    DEFAULT_PORT, EapTlsOptions, IPV6_MIN_MTU, Keepalive, Prefix, ProxySetting, ReconnectPolicy,
    RouteMode, ServerAddr, TlsOptions, TlsVersion, TunnelOptions,
};
pub use proxy::HttpProxy;
pub use sstp_core::{AuthMethod, Credential};
pub use tls::Fingerprint;
