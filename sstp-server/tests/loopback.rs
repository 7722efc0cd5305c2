//! The loopback tier: the real server (TLS on 127.0.0.1, port 0, rcgen
//! certificates) with an in-memory TUN, driven by sstp-core `ClientSession`s
//! over tokio-rustls. No root needed.

mod support;

#[path = "loopback/bad_peers.rs"]
mod bad_peers;
#[path = "loopback/cli.rs"]
mod cli;
#[path = "loopback/control.rs"]
mod control;
#[path = "loopback/data_plane.rs"]
mod data_plane;
#[path = "loopback/eap_tls.rs"]
mod eap_tls;
#[path = "loopback/http.rs"]
mod http;
#[path = "loopback/lifecycle.rs"]
mod lifecycle;
#[path = "loopback/netns.rs"]
mod netns;
#[path = "loopback/reload.rs"]
mod reload;
