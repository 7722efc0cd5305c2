//! Session harnesses: a real `ClientSession` and `ServerSession` wired
//! together in memory, with the fuzzer in charge of the wire between them
//! and of the clock. Driving a real peer (instead of asking the fuzzer to
//! forge a Compound MAC) lets inputs reach every state, the connected data
//! path included, with no bypass of any check.
//!
//! Input: a sequence of operations, one byte each plus operands:
//!
//! | op % 9 | operation |
//! |---|---|
//! | 0 | deliver everything pending client → server |
//! | 1 | deliver everything pending server → client |
//! | 2 | `len`, bytes: inject raw bytes into the target |
//! | 3 | `pos`, `xor`: corrupt one byte of the pending chunk toward the target, deliver it |
//! | 4 | `step`: advance the clock by `step` × 250 ms and run due timers |
//! | 5 | both ends send an IP packet (if they can) |
//! | 6 | `which`: close the client, the server, or report the transport closed |
//! | 7 | `len`: deliver only the first `len` pending bytes toward the target |
//! | 8 | drop everything pending toward the target |
//!
//! Invariants checked after every operation: nothing panics; every byte a
//! session transmits deframes into packets that parse (control messages by
//! their rules, data packets as PPP frames, LCP/IPCP/IPv6CP as CP packets);
//! after `handle_timeout(now)` the next deadline is in the future (no busy
//! loop); the transmit buffer and the IP queue stay bounded.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use crate::ppp::auth::{Authenticator, ServerOutcome};
use crate::ppp::{Outbox, Random};
use crate::session::Session;
use crate::session::{
    AddressLease, ClientConfig, ClientSession, Event, MAX_RX_QUEUE, MAX_TX_BUFFER, ServerConfig,
    ServerSession,
};
use crate::wire::cp::{ControlProtocol, CpPacket};
use crate::wire::ppp::{Frame, Protocol};
use crate::wire::sstp::Message;
use crate::{
    Accept, AuthData, AuthMethod, AuthVerdict, CertHashes, Credential, deframer::Deframer,
};

use super::eap_tls::CERT_USER;

/// Fuzz the server: the fuzzer controls what reaches the server.
pub fn server_session(data: &[u8]) {
    run(data, Target::Server);
}

/// Fuzz the client: the fuzzer controls what reaches the client.
pub fn client_session(data: &[u8]) {
    run(data, Target::Client);
}

/// Fuzz EAP-TLS (RFC 5216; TLS 1.3 per RFC 9190) through the sessions:
/// both ends authenticate with the harness's test certificates
/// ([`super::eap_tls`]). The first byte picks the target (bit 0: server or
/// client), the TLS version (bit 1: 1.3 or 1.2) and the MRU (bit 2: 600,
/// so the flights travel in several fragments, or the default); the rest
/// are the operations above.
pub fn eap_tls_session(data: &[u8]) {
    let Some((&seed, ops)) = data.split_first() else {
        return;
    };
    let target = if seed & 1 == 0 {
        Target::Server
    } else {
        Target::Client
    };
    drive(Harness::eap_tls(seed), ops, target);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Server,
    Client,
}

/// SplitMix64: deterministic bytes for a harness (never for real keys).
struct SplitMix(u64);

impl Random for SplitMix {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let bytes = z.to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// Checks that every byte a session sends is well-formed.
struct OutputChecker {
    deframer: Deframer,
}

impl OutputChecker {
    fn new() -> Self {
        Self {
            deframer: Deframer::new(),
        }
    }

    fn check(&mut self, bytes: &[u8]) {
        let mut input = bytes;
        while let Some(packet) = self.deframer.next_packet(&mut input) {
            let packet = packet.expect("a session sent bytes that do not deframe");
            if packet.get(1).is_some_and(|b| b & 1 != 0) {
                Message::parse(packet).expect("a session sent an invalid control message");
                continue;
            }
            let frame = Frame::parse(&packet[4..]).expect("a session sent an invalid PPP frame");
            let kind = match frame.protocol {
                Protocol::LCP => Some(ControlProtocol::Lcp),
                Protocol::IPCP => Some(ControlProtocol::Ipcp),
                Protocol::IPV6CP => Some(ControlProtocol::Ipv6cp),
                _ => None,
            };
            if let Some(kind) = kind {
                CpPacket::parse(frame.payload, kind).expect("a session sent an invalid CP packet");
            }
        }
    }
}

/// The EAP server a relaying server talks to (standing in for a RADIUS
/// server's EAP module): an unrelayed authenticator of this crate, begun
/// at the first relayed message with that message's Identifier.
struct RelayBackend {
    authenticator: Authenticator,
    rng: FirstThen,
    out: Outbox,
}

/// `first`, then SplitMix bytes: the backend's Identity Request carries
/// the relay's Identifier.
struct FirstThen {
    first: Option<u8>,
    rest: SplitMix,
}

impl Random for FirstThen {
    fn fill(&mut self, buf: &mut [u8]) {
        let Some((head, tail)) = buf.split_first_mut() else {
            return;
        };
        match self.first.take() {
            Some(b) => {
                *head = b;
                self.rest.fill(tail);
            }
            None => self.rest.fill(buf),
        }
    }
}

struct Harness {
    now: Instant,
    client: ClientSession,
    server: ServerSession,
    /// With a relaying server: its backend, once the Identity came.
    relay: Option<RelayBackend>,
    /// Bytes sent and not yet delivered, each way.
    to_server: Vec<u8>,
    to_client: Vec<u8>,
    client_check: OutputChecker,
    server_check: OutputChecker,
    password: Credential,
}

impl Harness {
    fn new(seed: u8, method: AuthMethod) -> Self {
        let server = ServerConfig {
            auth_methods: vec![method],
            ..ServerConfig::default()
        };
        let mut client = ClientConfig::new("fuzz", Credential::from_password("fuzz-pass"));
        client.auth_methods = vec![method];
        Self::with_configs(seed, &server, &client)
    }

    /// EAP-MSCHAPv2 with the server relaying EAP to its backend.
    fn relaying(seed: u8) -> Self {
        let mut server = ServerConfig {
            auth_methods: vec![AuthMethod::EapMsChapV2],
            ..ServerConfig::default()
        };
        server.auth.eap_relay = true;
        let mut client = ClientConfig::new("fuzz", Credential::from_password("fuzz-pass"));
        client.auth_methods = vec![AuthMethod::EapMsChapV2];
        Self::with_configs(seed, &server, &client)
    }

    /// Both ends on EAP-TLS with the harness's certificates; `seed` bit 1
    /// picks TLS 1.2 over 1.3, bit 2 an MRU of 600.
    fn eap_tls(seed: u8) -> Self {
        let configs = super::eap_tls::configs();
        let mut server = ServerConfig {
            auth_methods: vec![AuthMethod::EapTls],
            ..ServerConfig::default()
        };
        server.auth.eap_tls = Some(if seed & 2 == 0 {
            configs.server_tls13.clone()
        } else {
            configs.server_tls12.clone()
        });
        let mut client = ClientConfig::new(CERT_USER, Credential::from_password(""));
        client.auth_methods = vec![AuthMethod::EapTls];
        client.auth.eap_tls = Some(configs.client.clone());
        if seed & 4 != 0 {
            server.common.mru = Some(600);
            client.common.mru = Some(600);
        }
        Self::with_configs(seed, &server, &client)
    }

    fn with_configs(seed: u8, server: &ServerConfig, client: &ClientConfig) -> Self {
        #[allow(clippy::disallowed_methods)] // a base for virtual time only
        let now = Instant::now();
        let cert = CertHashes::from_der(b"fuzz certificate");
        let mut client = ClientSession::new(
            client,
            cert.clone(),
            now,
            Box::new(SplitMix(u64::from(seed))),
        );
        let mut server =
            ServerSession::new(server, cert, now, Box::new(SplitMix(!u64::from(seed))));
        // EAP-TLS checks certificate dates against this (RFC 5280 §4.1.2.5).
        let today = Duration::from_secs(super::eap_tls::TODAY);
        client.set_wall_clock(now, today);
        server.set_wall_clock(now, today);
        Self {
            now,
            client,
            server,
            to_server: Vec::new(),
            to_client: Vec::new(),
            client_check: OutputChecker::new(),
            server_check: OutputChecker::new(),
            password: Credential::from_password("fuzz-pass"),
            relay: None,
        }
    }

    /// The backend's answer to one relayed EAP Response (RFC 3579: the
    /// Access-Challenge's EAP-Message, or the Accept with the MSK, or a
    /// Reject).
    fn relay_verdict(&mut self, message: &[u8], identity: bool) -> AuthVerdict {
        if identity || self.relay.is_none() {
            let mut backend = RelayBackend {
                authenticator: Authenticator::new(
                    AuthMethod::EapMsChapV2,
                    &crate::AuthenticatorConfig::default(),
                ),
                rng: FirstThen {
                    first: message.get(1).copied(),
                    rest: SplitMix(0x5eed),
                },
                out: Outbox::new(),
            };
            backend
                .authenticator
                .start(self.now, &mut backend.rng, &mut backend.out);
            backend.out.clear();
            self.relay = Some(backend);
        }
        let Some(b) = self.relay.as_mut() else {
            return AuthVerdict::reject("no backend");
        };
        let mut outcome =
            b.authenticator
                .handle_packet(self.now, Protocol::EAP, message, &mut b.rng, &mut b.out);
        if let Some(ServerOutcome::NeedVerdict(request)) = &outcome {
            let verdict = request.verify_with(&self.password);
            outcome = b
                .authenticator
                .complete(self.now, verdict, &mut b.rng, &mut b.out);
        }
        let next = b.out.drain(..).find(|f| f.protocol == Protocol::EAP);
        match (outcome, next) {
            (Some(ServerOutcome::Success { hlak, .. }), _) => {
                let mut msk = [0u8; 64];
                msk[..32].copy_from_slice(hlak.as_bytes());
                AuthVerdict::Accept(
                    Accept::new().with_keys(crate::KeyMaterial::Msk(crate::Msk::from_bytes(msk))),
                )
            }
            (Some(ServerOutcome::Failure(failure)), _) => AuthVerdict::reject(failure.to_string()),
            (_, Some(frame)) => AuthVerdict::Continue(frame.packet),
            // The backend ignored the message (stale, malformed): as a
            // RADIUS server that drops it, the relay gets a Reject.
            _ => AuthVerdict::reject("the backend ignored the message"),
        }
    }

    /// Collects output, answers the server's resumptions, checks bounds.
    fn settle(&mut self) {
        for _ in 0..32 {
            let mut progressed = false;
            let mut buf = Vec::new();
            if self.client.poll_transmit(&mut buf) {
                assert!(
                    buf.len() <= MAX_TX_BUFFER + 64 * 1024,
                    "transmit buffer unbounded"
                );
                self.client_check.check(&buf);
                self.to_server.extend_from_slice(&buf);
                progressed = true;
            }
            let mut buf = Vec::new();
            if self.server.poll_transmit(&mut buf) {
                assert!(
                    buf.len() <= MAX_TX_BUFFER + 64 * 1024,
                    "transmit buffer unbounded"
                );
                self.server_check.check(&buf);
                self.to_client.extend_from_slice(&buf);
                progressed = true;
            }
            let mut total = 0;
            while let Some(p) = self.client.poll_ip() {
                total += p.len();
            }
            while let Some(p) = self.server.poll_ip() {
                total += p.len();
            }
            assert!(total <= 2 * MAX_RX_QUEUE, "IP queue unbounded");
            while self.client.poll_event().is_some() {
                progressed = true;
            }
            while let Some(event) = self.server.poll_event() {
                progressed = true;
                match event {
                    Event::Authenticate(request) => {
                        let verdict = match request.data() {
                            // The backend names the user from the certificate.
                            AuthData::EapTls { .. } => {
                                AuthVerdict::Accept(Accept::new().with_user_name(CERT_USER))
                            }
                            AuthData::Eap { message, identity } => {
                                let (message, identity) = (message.clone(), *identity);
                                self.relay_verdict(&message, identity)
                            }
                            _ => request.verify_with(&self.password),
                        };
                        self.server.auth_complete(self.now, verdict);
                    }
                    Event::NeedAddresses { .. } => self.server.assign_addresses(
                        self.now,
                        AddressLease::new(Ipv4Addr::new(10, 9, 0, 1), Ipv4Addr::new(10, 9, 0, 2)),
                    ),
                    _ => {}
                }
            }
            // Bound what the fuzzer may hoard undelivered.
            self.to_server.truncate(1 << 20);
            self.to_client.truncate(1 << 20);
            if !progressed {
                break;
            }
        }
    }

    fn deliver(&mut self, toward: Target, limit: usize) {
        let (pending, now) = match toward {
            Target::Server => (&mut self.to_server, self.now),
            Target::Client => (&mut self.to_client, self.now),
        };
        let n = limit.min(pending.len());
        let chunk: Vec<u8> = pending.drain(..n).collect();
        match toward {
            Target::Server => self.server.handle_input(now, &chunk),
            Target::Client => self.client.handle_input(now, &chunk),
        }
    }

    fn inject(&mut self, toward: Target, bytes: &[u8]) {
        match toward {
            Target::Server => self.server.handle_input(self.now, bytes),
            Target::Client => self.client.handle_input(self.now, bytes),
        }
    }

    fn advance(&mut self, step: Duration) {
        self.now += step;
        for _ in 0..64 {
            let due = |t: Option<Instant>, now| t.is_some_and(|t| t <= now);
            let (c, s) = (self.client.poll_timeout(), self.server.poll_timeout());
            if !due(c, self.now) && !due(s, self.now) {
                return;
            }
            if due(c, self.now) {
                self.client.handle_timeout(self.now);
            }
            if due(s, self.now) {
                self.server.handle_timeout(self.now);
            }
            self.settle();
        }
        panic!("a session keeps reporting a deadline it does not clear (busy loop)");
    }

    fn send_ip(&mut self) {
        let mut p = vec![0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0];
        p.extend_from_slice(&[10, 9, 0, 2, 10, 9, 0, 1]);
        p.extend_from_slice(&[0; 8]);
        let _ = self.client.send_ip(&p);
        let _ = self.server.send_ip(&p);
    }
}

fn run(data: &[u8], target: Target) {
    let Some((&seed, ops)) = data.split_first() else {
        return;
    };
    let method = match seed % 4 {
        0 => AuthMethod::MsChapV2,
        1 => AuthMethod::EapMsChapV2,
        2 => AuthMethod::Pap,
        _ => AuthMethod::ChapMd5,
    };
    // Seed bit 4 with EAP: the server relays EAP to a backend (RFC 3579).
    let h = if method == AuthMethod::EapMsChapV2 && seed & 16 != 0 {
        Harness::relaying(seed)
    } else {
        Harness::new(seed, method)
    };
    drive(h, ops, target);
}

/// Runs the operations (table above) against a fresh pair.
fn drive(mut h: Harness, mut ops: &[u8], target: Target) {
    h.settle();
    let take = |ops: &mut &[u8]| -> u8 {
        let Some((&b, rest)) = ops.split_first() else {
            return 0;
        };
        *ops = rest;
        b
    };
    let mut count = 0;
    while !ops.is_empty() && count < 4096 {
        count += 1;
        let op = take(&mut ops) % 9;
        match op {
            0 => h.deliver(Target::Server, usize::MAX),
            1 => h.deliver(Target::Client, usize::MAX),
            2 => {
                let len = usize::from(take(&mut ops));
                let n = len.min(ops.len());
                let (bytes, rest) = ops.split_at(n);
                ops = rest;
                h.inject(target, bytes);
            }
            3 => {
                let pos = usize::from(take(&mut ops));
                let xor = take(&mut ops);
                let pending = match target {
                    Target::Server => &mut h.to_server,
                    Target::Client => &mut h.to_client,
                };
                if let Some(b) = pending.get_mut(pos) {
                    *b ^= xor;
                }
                h.deliver(target, usize::MAX);
            }
            4 => {
                let step = Duration::from_millis(250 * u64::from(take(&mut ops)));
                h.advance(step);
            }
            5 => h.send_ip(),
            6 => match take(&mut ops) % 3 {
                0 => h.client.close(h.now),
                1 => h.server.close(h.now),
                _ => match target {
                    Target::Server => h.server.transport_closed(h.now),
                    Target::Client => h.client.transport_closed(h.now),
                },
            },
            7 => {
                let len = usize::from(take(&mut ops));
                h.deliver(target, len);
            }
            _ => match target {
                Target::Server => h.to_server.clear(),
                Target::Client => h.to_client.clear(),
            },
        }
        h.settle();
        // No deadline may be left in the past once timers ran.
        h.advance(Duration::ZERO);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Delivers everything both ways, 40 rounds; the call must be up.
    fn assert_ping_pong_connects(mut h: Harness, seed: u8) {
        h.settle();
        for _ in 0..40 {
            h.deliver(Target::Server, usize::MAX);
            h.settle();
            h.deliver(Target::Client, usize::MAX);
            h.settle();
        }
        assert_eq!(
            h.server.state(),
            crate::ControlState::ServerCallConnected,
            "seed {seed}"
        );
        assert_eq!(h.client.state(), crate::ControlState::ClientCallConnected);
    }

    /// Ping-pong delivery reaches a connected call for every method: the
    /// harness can reach the data path.
    #[test]
    fn plain_delivery_connects_every_method() {
        for seed in 0..4u8 {
            let h = Harness::new(
                seed,
                [
                    AuthMethod::MsChapV2,
                    AuthMethod::EapMsChapV2,
                    AuthMethod::Pap,
                    AuthMethod::ChapMd5,
                ][usize::from(seed)],
            );
            assert_ping_pong_connects(h, seed);
        }
    }

    /// And with the server relaying EAP-MSCHAPv2 to its backend: the
    /// relayed conversation reaches a connected call (the HLAK from the
    /// backend's MSK matches the client's, or the binding would fail).
    #[test]
    fn plain_delivery_connects_through_the_relay() {
        for seed in [17u8, 21, 49] {
            let h = Harness::relaying(seed);
            assert_ping_pong_connects(h, seed);
        }
    }

    /// The same for EAP-TLS, each version, each MRU: the certificates are
    /// good and the wall clock is inside their validity.
    #[test]
    fn plain_delivery_connects_with_eap_tls() {
        for seed in [0u8, 2, 4, 6] {
            let mut data = vec![seed];
            data.extend([0, 1].repeat(40));
            // Through the target, then a pair by hand.
            eap_tls_session(&data);
            assert_ping_pong_connects(Harness::eap_tls(seed), seed);
        }
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        for data in [
            &[][..],
            &[0],
            &[1, 2, 255],
            &[3, 0, 1, 0, 1, 3, 5, 0xff, 4, 255, 4, 255, 4, 255],
            &[0, 6, 2, 6, 0, 6, 1, 4, 200, 4, 200],
            &[2, 7, 3, 7, 1, 0, 1, 0, 1, 5, 5, 8, 8, 4, 10],
        ] {
            server_session(data);
            client_session(data);
        }
    }

    #[test]
    fn pseudo_random_inputs_do_not_panic() {
        let mut rng = SplitMix(42);
        for _ in 0..200 {
            let mut data = vec![0u8; 96];
            rng.fill(&mut data);
            server_session(&data);
            client_session(&data);
        }
        for _ in 0..16 {
            let mut data = vec![0u8; 96];
            rng.fill(&mut data);
            eap_tls_session(&data);
        }
    }
}
