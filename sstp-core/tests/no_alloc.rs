//! The data path makes no heap allocation per packet (issue: "The data path
//! (IP in, SSTP bytes out and back) makes no per-packet heap allocation").
//!
//! A counting global allocator wraps the system one, in this test binary
//! only. After a connected pair has warmed its buffers, thousands of packets
//! go client → server and back through `send_ip`, `poll_transmit`,
//! `handle_input` and `poll_ip`, and the allocation count must not move.
//! Only the test's own thread counts: the sessions spawn no threads, and
//! the harness's other threads allocate when they please.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use sstp_core::Session;
use sstp_core::{AuthMethod, ClientConfig, ClientSession, Credential, ServerConfig, ServerSession};
use sstp_testkit::Pair;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Whether this thread's allocations count (const-initialised: reading
    /// it allocates nothing).
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if COUNTED.try_with(Cell::get).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY-free wrapper: `GlobalAlloc` is an unsafe trait, so this test opts
// out of the workspace's `unsafe_code = "forbid"` just here.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn data_path_allocates_nothing_once_warm() {
    COUNTED.with(|c| c.set(true));
    let mut server_config = ServerConfig::default();
    server_config.auth_methods = vec![AuthMethod::MsChapV2];
    let mut client_config =
        ClientConfig::new(Pair::USER, Credential::from_password(Pair::PASSWORD));
    client_config.auth_methods = vec![AuthMethod::MsChapV2];
    client_config.common.keepalive.interval = None;
    server_config.common.keepalive.interval = None;
    let stored = Credential::from_password(Pair::PASSWORD);
    let mut pair = Pair::with_configs(&server_config, &client_config, stored);
    assert_eq!(pair.run(100), 2, "both sides up");
    let Pair {
        mut client,
        mut server,
        now,
        ..
    } = pair;
    let mut wire = Vec::with_capacity(512 * 1024);

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
