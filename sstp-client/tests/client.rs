//! The client's integration tests, one binary (link time on 2 cores):
//! - `loopback`: the library against a test server on 127.0.0.1 with
//!   in-memory devices and Recording fakes; no root;
//! - `root`: a real TUN, rtnetlink routes and a resolv.conf in a network
//!   namespace of its own; skips with a reason when not root.
//! - `service`: the binary as a service: completions, man pages, log
//!   formats, and (root) the sd_notify states of a tunnel that comes up.

// Test code: a panic is the failure report, helpers included.
#![allow(clippy::unwrap_used)]

mod support;

#[path = "client/loopback.rs"]
mod loopback;
#[path = "client/root.rs"]
mod root;
#[path = "client/service.rs"]
mod service;
