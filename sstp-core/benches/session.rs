//! Session engines: the data path through a connected client/server pair
//! (one 1400-byte IP packet: `send_ip` → `poll_transmit` → `handle_input` →
//! `poll_ip`), and a full in-memory connect (MS-CHAPv2 + IPCP + IPv6CP +
//! crypto binding) from nothing to `Up` on both sides.
//!
//! `cargo bench -p sstp-core --bench session`

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sstp_core::Session;
use sstp_core::{
    AddressLease, AuthMethod, CertHashes, ClientConfig, ClientSession, Credential, Event,
    ServerConfig, ServerSession,
};

struct Pair {
    client: ClientSession,
    server: ServerSession,
    now: Instant,
    secret: Credential,
    buf: Vec<u8>,
}

impl Pair {
    fn new(method: AuthMethod) -> Self {
        #[allow(clippy::disallowed_methods)] // benchmarks run outside the sans-IO rule
        let now = Instant::now();
        let mut server = ServerConfig::default();
        server.auth_methods = vec![method];
        let mut client = ClientConfig::new("alice", Credential::from_password("pw"));
        client.auth_methods = vec![method];
        let cert = CertHashes::from_der(b"bench certificate");
        Self {
            client: ClientSession::new(
                &client,
                cert.clone(),
                now,
                Box::new(ChaCha20Rng::from_seed([1; 32])),
            ),
            server: ServerSession::new(
                &server,
                cert,
                now,
                Box::new(ChaCha20Rng::from_seed([2; 32])),
            ),
            now,
            secret: Credential::from_password("pw"),
            buf: Vec::with_capacity(64 * 1024),
        }
    }

    /// Runs the exchange to completion; returns whether both sides are up.
    fn connect(&mut self) -> bool {
        let (mut client_up, mut server_up) = (false, false);
        for _ in 0..100 {
            self.buf.clear();
            if self.client.poll_transmit(&mut self.buf) {
                self.server.handle_input(self.now, &self.buf);
            }
            self.buf.clear();
            if self.server.poll_transmit(&mut self.buf) {
                self.client.handle_input(self.now, &self.buf);
            }
            while let Some(e) = self.client.poll_event() {
                client_up |= matches!(e, Event::Up(_));
            }
            while let Some(e) = self.server.poll_event() {
                match e {
                    Event::Authenticate(r) => {
                        let v = r.verify_with(&self.secret);
                        self.server.auth_complete(self.now, v);
                    }
                    Event::NeedAddresses { .. } => self.server.assign_addresses(
                        self.now,
                        AddressLease::new(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)),
                    ),
                    Event::Up(_) => server_up = true,
                    _ => {}
                }
            }
            if client_up && server_up {
                return true;
            }
        }
        false
    }
}

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
