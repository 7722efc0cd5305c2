//! Session engines: the data path through a connected client/server pair
//! (one 1400-byte IP packet: `send_ip` → `poll_transmit` → `handle_input` →
//! `poll_ip`), and a full in-memory connect (MS-CHAPv2 + IPCP + IPv6CP +
//! crypto binding) from nothing to `Up` on both sides.
//!
//! `cargo bench -p sstp-core --bench session`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sstp_core::AuthMethod;
use sstp_core::Session;
use sstp_testkit::Pair;

fn bench(c: &mut Criterion) {
    let mut pair = Pair::new(AuthMethod::MsChapV2);
    assert!(pair.connect());
    let mut packet = vec![0u8; 1400];
    packet[0] = 0x45;
    let mut wire = Vec::with_capacity(64 * 1024);
    let mut group = c.benchmark_group("data_path");
    group.throughput(Throughput::Elements(1));
    group.bench_function("1400-byte IPv4 client→server (encap + decap)", |b| {
        b.iter(|| {
            pair.client.send_ip(black_box(&packet)).expect("up");
            wire.clear();
            pair.client.poll_transmit(&mut wire);
            pair.server.handle_input(pair.now, &wire);
            black_box(pair.server.poll_ip().map(<[u8]>::len))
        });
    });
    // 32 packets per TLS write, as a batching driver does.
    group.throughput(Throughput::Elements(32));
    group.bench_function("32 × 1400-byte IPv4, one write", |b| {
        b.iter(|| {
            for _ in 0..32 {
                pair.client.send_ip(&packet).expect("up");
            }
            wire.clear();
            pair.client.poll_transmit(&mut wire);
            pair.server.handle_input(pair.now, &wire);
            let mut n = 0;
            while let Some(p) = pair.server.poll_ip() {
                n += p.len();
            }
            black_box(n)
        });
    });
    group.finish();

    let mut group = c.benchmark_group("connect");
    for method in [
        AuthMethod::MsChapV2,
        AuthMethod::EapMsChapV2,
        AuthMethod::Pap,
    ] {
        group.bench_function(format!("full in-memory connect, {method}"), |b| {
            b.iter(|| {
                let mut pair = Pair::new(method);
                assert!(pair.connect());
                black_box(pair.server.stats())
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
