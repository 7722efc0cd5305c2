//! A whole SSTP call in memory: a `ClientSession` and a `ServerSession`
//! wired back to back, no sockets, no TUN, no root. It shows the sans-IO
//! call order a driver follows and prints what happens on each side.
//! It uses only sstp-core's public API and rand_chacha, not the tests'
//! `sstp-testkit`, so it can be copied as the start of a driver.
//!
//! `cargo run -p sstp-core --example pair [mschapv2|eap-mschapv2|pap|chap-md5]`

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sstp_core::Session;
use sstp_core::{
    AddressLease, AuthMethod, CertHashes, ClientConfig, ClientSession, Credential, Event,
    ServerConfig, ServerSession,
};

fn main() {
    let method: AuthMethod = std::env::args()
        .nth(1)
        .map(|m| m.parse().unwrap_or_else(|e| panic!("{m}: {e}")))
        .unwrap_or(AuthMethod::EapMsChapV2);
    #[allow(clippy::disallowed_methods)] // the example is a driver: it owns the clock
    let start = Instant::now();
    let mut now = start;

    let mut server_config = ServerConfig::default();
    server_config.auth_methods = vec![method];
    let mut client_config = ClientConfig::new("alice", Credential::from_password("wonderland"));
    client_config.auth_methods = vec![method];
    // Both ends hash the same certificate: the client's view of TLS matches
    // the server's, so the crypto binding verifies (MS-SSTP 3.2.5.2).
    let cert = CertHashes::from_der(b"demo certificate DER");
    let mut server = ServerSession::new(
        &server_config,
        cert.clone(),
        now,
        Box::new(ChaCha20Rng::seeded(1)),
    );
    let mut client =
        ClientSession::new(&client_config, cert, now, Box::new(ChaCha20Rng::seeded(2)));
    let users = Credential::from_password("wonderland");

    println!("sstp-rs in-memory call, method {method}");
    let (mut bytes_c2s, mut bytes_s2c) = (0usize, 0usize);
    let mut pinged = false;
    for _ in 0..200 {
        let mut moved = false;
        let mut buf = Vec::new();
        if client.poll_transmit(&mut buf) {
            moved = true;
            bytes_c2s += buf.len();
            server.handle_input(now, &buf);
        }
        let mut buf = Vec::new();
        if server.poll_transmit(&mut buf) {
            moved = true;
            bytes_s2c += buf.len();
            client.handle_input(now, &buf);
        }
        while let Some(packet) = server.poll_ip() {
            println!(
                "server TUN <- {} bytes: {:?}",
                packet.len(),
                String::from_utf8_lossy(&packet[28..])
            );
            let mut reply = packet.to_vec();
            reply.swap_with_slice_addresses();
            server.send_ip(&reply).expect("tunnel up");
        }
        while let Some(packet) = client.poll_ip() {
            println!(
                "client TUN <- {} bytes: {:?}",
                packet.len(),
                String::from_utf8_lossy(&packet[28..])
            );
            client.close(now);
        }
        while let Some(event) = server.poll_event() {
            println!(
                "[{:>6.3}s] server: {}",
                (now - start).as_secs_f64(),
                describe(&event)
            );
            match event {
                Event::Authenticate(request) => {
                    server.auth_complete(now, request.verify_with(&users))
                }
                Event::NeedAddresses { .. } => server.assign_addresses(
                    now,
                    AddressLease::new(Ipv4Addr::new(10, 77, 0, 1), Ipv4Addr::new(10, 77, 0, 2))
                        .with_dns([Ipv4Addr::new(10, 77, 0, 53)]),
                ),
                _ => {}
            }
        }
        while let Some(event) = client.poll_event() {
            println!(
                "[{:>6.3}s] client: {}",
                (now - start).as_secs_f64(),
                describe(&event)
            );
            if let Event::Up(config) = &event
                && !pinged
            {
                {
                    pinged = true;
                    let ping = udp(
                        config.ipv4.local,
                        Ipv4Addr::new(10, 77, 0, 1),
                        b"hello through the tunnel",
                    );
                    client.send_ip(&ping).expect("tunnel up");
                }
            }
        }
        if client.is_closed() && server.is_closed() {
            break;
        }
        // Nothing to move: jump to the next deadline, as a driver's sleep would.
        if moved {
            continue;
        }
        if let Some(next) = [client.poll_timeout(), server.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            && next > now
            && next - now < Duration::from_secs(10)
        {
            now = next;
            client.handle_timeout(now);
            server.handle_timeout(now);
        }
    }
    println!(
        "done: {bytes_c2s} bytes client→server, {bytes_s2c} bytes server→client; client {:?}",
        client.stats()
    );
}

fn describe(event: &Event) -> String {
    match event {
        Event::Authenticate(r) => format!(
            "check credentials of {:?} ({})",
            r.user_name_lossy(),
            r.method()
        ),
        Event::Authenticated { username, method } => {
            format!(
                "authenticated {username:?} with {}",
                method.map_or("none".into(), |m| m.to_string())
            )
        }
        Event::NeedAddresses { username } => format!("addresses needed for {username:?}"),
        Event::Up(c) => format!(
            "UP: local {} peer {:?} dns {:?} mtu {} binding {:?}",
            c.ipv4.local, c.ipv4.peer, c.ipv4.dns, c.mtu, c.binding
        ),
        Event::Ipv6Up(c) => format!("IPv6 up: local {} peer {:?}", c.local, c.peer),
        Event::Down(reason) => format!("DOWN: {reason}"),
        other => format!("{other:?}"),
    }
}

/// A minimal IPv4/UDP packet (checksums left zero: nothing checks them here).
fn udp(src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
    let len = 28 + payload.len();
    let mut p = vec![
        0x45,
        0,
        (len >> 8) as u8,
        len as u8,
        0,
        0,
        0,
        0,
        64,
        17,
        0,
        0,
    ];
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(&[0x30, 0x39, 0x30, 0x39, 0, (8 + payload.len()) as u8, 0, 0]);
    p.extend_from_slice(payload);
    p
}

trait SwapAddresses {
    fn swap_with_slice_addresses(&mut self);
}

impl SwapAddresses for Vec<u8> {
    /// Turns a request into its reply: swap IPv4 source and destination.
    fn swap_with_slice_addresses(&mut self) {
        let (src, dst) = self[12..20].split_at_mut(4);
        src.swap_with_slice(dst);
    }
}

trait Seeded {
    fn seeded(n: u8) -> Self;
}

impl Seeded for ChaCha20Rng {
    /// Fixed seeds keep the example's output reproducible; a real driver
    /// seeds each session from the OS. (Two ends with the same seed would
    /// pick the same LCP Magic-Number and rightly see a looped-back link.)
    fn seeded(n: u8) -> Self {
        Self::from_seed([n; 32])
    }
}
