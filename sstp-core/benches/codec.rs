//! Hot codec paths: one 1400-byte IP packet's SSTP data packet parsed and
//! emitted, and the deframer cutting a stream of them.
//!
//! `cargo bench -p sstp-core --bench codec`
//!
//! The codecs are private to the crate; the `fuzzing` feature (on for this
//! crate's own benches) reaches them through `sstp_core::fuzzing::codec`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sstp_core::fuzzing::codec::{Deframer, HEADROOM, emit_ipv4_in_place, parse_data_packet};

const IP_LEN: usize = 1400;

/// A data packet carrying a 1400-byte IPv4 packet: SSTP header, FF 03 00 21.
fn data_packet() -> Vec<u8> {
    let mut buf = vec![0u8; HEADROOM + IP_LEN];
    buf[HEADROOM] = 0x45;
    emit_ipv4_in_place(&mut buf).expect("fits").to_vec()
}

fn bench(c: &mut Criterion) {
    let packet = data_packet();
    let mut group = c.benchmark_group("data_packet");
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse (SSTP header + PPP frame)", |b| {
        b.iter(|| {
            let ip = parse_data_packet(black_box(&packet)).expect("a data packet");
            black_box(ip.len())
        });
    });
    let mut buf = vec![0u8; HEADROOM + IP_LEN];
    group.bench_function("emit in place (headroom, no copy)", |b| {
        b.iter(|| {
            let out = emit_ipv4_in_place(&mut buf).expect("fits");
            black_box(out.len())
        });
    });
    let mut out = Vec::with_capacity(64 * 1024);
    let ip = vec![0x45u8; IP_LEN];
    group.bench_function("emit into Vec (copying the packet)", |b| {
        b.iter(|| {
            out.clear();
            out.extend_from_slice(&[0x10, 0x00, 0x05, 0x7c, 0xff, 0x03, 0x00, 0x21]);
            out.extend_from_slice(black_box(&ip));
            black_box(out.len())
        });
    });
    group.finish();

    // 64 KiB of back-to-back packets, fed in TLS-record-sized chunks that
    // split packets at arbitrary points.
    let count = 64 * 1024 / packet.len();
    let stream: Vec<u8> = packet
        .iter()
        .copied()
        .cycle()
        .take(count * packet.len())
        .collect();
    let mut group = c.benchmark_group("deframer");
    group.throughput(Throughput::Elements(count as u64));
    group.bench_function("1408-byte packets in 16 KiB chunks", |b| {
        let mut deframer = Deframer::new();
        b.iter(|| {
            let mut n = 0usize;
            for chunk in stream.chunks(16 * 1024) {
                n += deframer.feed(chunk).expect("framed");
            }
            black_box(n)
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
