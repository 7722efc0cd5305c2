//! End to end: our `sstp-client` library against our `sstp-server` library,
//! both in this process, over real TLS on 127.0.0.1 (port 0), with in-memory
//! TUN devices on both sides. The root tier (`netns`) runs the same two
//! libraries on real TUN devices in network namespaces it creates, and
//! skips with a printed reason when not root.

#[path = "e2e/support.rs"]
mod support;

#[path = "e2e/auth.rs"]
mod auth;
#[path = "e2e/haproxy.rs"]
mod haproxy;
#[path = "e2e/ipv6.rs"]
mod ipv6;
#[path = "e2e/lifecycle.rs"]
mod lifecycle;
#[path = "e2e/many.rs"]
mod many;
#[path = "e2e/netns.rs"]
mod netns;
#[path = "e2e/proxy.rs"]
mod proxy;
#[path = "e2e/radius.rs"]
mod radius;
#[path = "e2e/radius_hostile.rs"]
mod radius_hostile;
#[path = "e2e/refusal.rs"]
mod refusal;
#[path = "e2e/tls.rs"]
mod tls;
