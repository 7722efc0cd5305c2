//! The data path makes no heap allocation per packet (issue: "The data path
//! (IP in, SSTP bytes out and back) makes no per-packet heap allocation").
//!
//! A counting global allocator wraps the system one, in this test binary
//! only. After a connected pair has warmed its buffers, thousands of packets
//! go client → server and back through `send_ip`, `poll_transmit`,
//! `handle_input` and `poll_ip`, and the allocation count must not move.

#![allow(clippy::disallowed_methods)] // a test driver owns the clock

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sstp_core::Session;
use sstp_core::{
    AddressLease, AuthMethod, CertHashes, ClientConfig, ClientSession, Credential, Event,
    ServerConfig, ServerSession,
};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY-free wrapper: `GlobalAlloc` is an unsafe trait, so this test opts
// out of the workspace's `unsafe_code = "forbid"` just here.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn data_path_allocates_nothing_once_warm() {
    let now = Instant::now();
    let mut server_config = ServerConfig::default();
    server_config.auth_methods = vec![AuthMethod::MsChapV2];
    let mut client_config = ClientConfig::new("alice", Credential::from_password("pw"));
    client_config.auth_methods = vec![AuthMethod::MsChapV2];
    client_config.common.keepalive.interval = None;
    server_config.common.keepalive.interval = None;
    let cert = CertHashes::from_der(b"cert");
    let mut client = ClientSession::new(
        &client_config,
        cert.clone(),
        now,
        Box::new(ChaCha20Rng::from_seed([1; 32])),
    );
    let mut server = ServerSession::new(
        &server_config,
        cert,
        now,
        Box::new(ChaCha20Rng::from_seed([2; 32])),
    );
    let secret = Credential::from_password("pw");
    let mut up = 0;
    let mut wire = Vec::with_capacity(512 * 1024);
    for _ in 0..100 {
        wire.clear();
        if client.poll_transmit(&mut wire) {
            server.handle_input(now, &wire);
        }
        wire.clear();
        if server.poll_transmit(&mut wire) {
            client.handle_input(now, &wire);
        }
        while let Some(e) = client.poll_event() {
            up += usize::from(matches!(e, Event::Up(_)));
        }
        while let Some(e) = server.poll_event() {
            match e {
                Event::Authenticate(r) => server.auth_complete(now, r.verify_with(&secret)),
                Event::NeedAddresses { .. } => server.assign_addresses(
                    now,
                    AddressLease::new(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)),
                ),
                Event::Up(_) => up += 1,
                _ => {}
            }
        }
    }
    assert_eq!(up, 2, "both sides up");

    let mut packet = vec![0u8; 1400];
    packet[0] = 0x45;
    let mut round = |client: &mut ClientSession, server: &mut ServerSession, n: usize| {
        for _ in 0..n {
            for _ in 0..16 {
                client.send_ip(&packet).expect("client up");
                server.send_ip(&packet).expect("server up");
            }
            wire.clear();
            client.poll_transmit(&mut wire);
            server.handle_input(now, &wire);
            while server.poll_ip().is_some() {}
            wire.clear();
            server.poll_transmit(&mut wire);
            client.handle_input(now, &wire);
            while client.poll_ip().is_some() {}
        }
    };
    // Warm up: buffers reach their working size.
    round(&mut client, &mut server, 50);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    round(&mut client, &mut server, 500);
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    assert_eq!(
        after - before,
        0,
        "16 000 packets through the data path allocated {} times",
        after - before
    );
    assert_eq!(server.stats().ip_rx_packets, 550 * 16);
    assert_eq!(client.stats().ip_rx_packets, 550 * 16);
}
