//! Hot codec paths: one 1400-byte IP packet's SSTP data packet parsed and
//! emitted, and the deframer cutting a stream of them.
//!
//! `cargo bench -p sstp-core --bench codec`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sstp_core::deframer::Deframer;
use sstp_core::wire::ppp::{Frame, HeaderForm, Protocol, prepend_header};
use sstp_core::wire::sstp::{HEADER_LEN, Packet, encode_data_packet};

const IP_LEN: usize = 1400;

/// A data packet carrying a 1400-byte IPv4 packet: SSTP header, FF 03 00 21.
fn data_packet() -> Vec<u8> {
    let mut buf = vec![0u8; 8 + IP_LEN];
    buf[8] = 0x45;
    let start =
        prepend_header(&mut buf, 8, Protocol::IPV4, HeaderForm::UNCOMPRESSED).expect("headroom");
    let len = buf.len() - start;
    encode_data_packet(&mut buf, start, len)
        .expect("fits")
        .to_vec()
}

fn bench(c: &mut Criterion) {
    let packet = data_packet();
    let mut group = c.benchmark_group("data_packet");
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse (SSTP header + PPP frame)", |b| {
        b.iter(|| {
            let Ok(Packet::Data(payload)) = Packet::parse(black_box(&packet)) else {
                unreachable!()
            };
            let frame = Frame::parse(payload).expect("frame");
            black_box(frame.payload.len())
        });
    });
    let mut buf = vec![0u8; 8 + IP_LEN];
    group.bench_function("emit in place (headroom, no copy)", |b| {
        b.iter(|| {
            let start = prepend_header(&mut buf, 8, Protocol::IPV4, HeaderForm::UNCOMPRESSED)
                .expect("headroom");
            let len = buf.len() - start;
            let out = encode_data_packet(&mut buf, start, len).expect("fits");
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
                let mut input = chunk;
                while let Some(p) = deframer.next_packet(&mut input) {
                    n += p.expect("framed").len() - HEADER_LEN;
                }
            }
            black_box(n)
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
