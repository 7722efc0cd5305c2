//! The `Pair` tier: a `ClientSession` wired to a `ServerSession` in memory,
//! on virtual time (the quinn-proto harness shape). Each test names what it
//! proves; the auth backend is a closure over a local password, the lease a
//! fixed one.

// Configs are `#[non_exhaustive]`: tests build them the way users must.
#![allow(clippy::field_reassign_with_default)]

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::*;
use crate::crypto::mppe::{MasterKey, MppeKeys};
use crate::error::{CloseKind, Missing, Refusal};
use crate::ppp::auth::{
    Accept, AuthData, AuthFailure, EapTlsClientConfig, EapTlsServerConfig, test_pki,
};
use crate::testing::{base, boxed_rng};
use crate::wire::sstp::{AttributeId, Status, StatusInfo};
use sstp_testkit::ipv4;

const USER: &str = "alice";
const PASSWORD: &str = "correct horse";
/// The user an EAP-TLS backend finds in the certificate.
const CERT_USER: &str = "alice-from-cert";

fn cert() -> CertHashes {
    CertHashes::from_der(b"server certificate DER")
}

fn lease() -> AddressLease {
    AddressLease::new(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2))
        .with_dns([Ipv4Addr::new(10, 0, 0, 53), Ipv4Addr::new(10, 0, 0, 54)])
}

/// An IPv6 packet between two link-local addresses, as IPv6CP gives them.
fn ipv6(payload: &[u8]) -> Vec<u8> {
    let link_local = |n| Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, n);
    sstp_testkit::ipv6(link_local(1), link_local(2), payload)
}

type Mutator = Box<dyn FnMut(&mut Vec<u8>)>;

/// How the in-memory wire between the two misbehaves.
#[derive(Default)]
struct Faults {
    /// Drop every client → server chunk whose index is in this list.
    drop_c2s: Vec<usize>,
    /// Rewrite client → server bytes before delivery.
    mutate_c2s: Option<Mutator>,
    /// Rewrite server → client bytes before delivery.
    mutate_s2c: Option<Mutator>,
}

struct Pair {
    now: Instant,
    client: ClientSession,
    server: ServerSession,
    client_events: Vec<Event>,
    server_events: Vec<Event>,
    /// What the server's backend knows about `USER`.
    secret: Credential,
    client_ip: Vec<Vec<u8>>,
    server_ip: Vec<Vec<u8>>,
    faults: Faults,
    c2s_chunks: usize,
    /// Answer auth requests (false: hold them, to test deferral).
    auto_verdict: bool,
    /// Refuse the session with this reason instead of assigning addresses.
    refuse_lease: Option<String>,
    pending_verdict: Option<AuthRequest>,
}

impl Pair {
    fn new(server: ServerConfig, client: ClientConfig) -> Self {
        Self::with_cert(server, client, cert())
    }

    fn with_cert(server: ServerConfig, client: ClientConfig, client_sees: CertHashes) -> Self {
        let now = base();
        let mut pair = Self {
            now,
            client: ClientSession::new(&client, client_sees, now, boxed_rng(1)),
            server: ServerSession::new(&server, cert(), now, boxed_rng(2)),
            client_events: Vec::new(),
            server_events: Vec::new(),
            secret: Credential::from_password(PASSWORD),
            client_ip: Vec::new(),
            server_ip: Vec::new(),
            faults: Faults::default(),
            c2s_chunks: 0,
            auto_verdict: true,
            refuse_lease: None,
            pending_verdict: None,
        };
        pair.set_wall_clock(test_pki::TODAY);
        pair
    }

    /// Both ends' wall clock, in seconds since the epoch.
    fn set_wall_clock(&mut self, secs: u64) {
        let since_epoch = Duration::from_secs(secs);
        self.client.set_wall_clock(self.now, since_epoch);
        self.server.set_wall_clock(self.now, since_epoch);
    }

    fn default_with(methods: &[AuthMethod]) -> Self {
        let mut s = ServerConfig::default();
        s.auth_methods = methods.to_vec();
        let mut c = ClientConfig::new(USER, Credential::from_password(PASSWORD));
        c.auth_methods = methods.to_vec();
        Self::new(s, c)
    }

    /// Moves bytes both ways and reacts to events until nothing moves.
    fn drive(&mut self) {
        for _ in 0..1000 {
            let mut moved = false;
            let mut buf = Vec::new();
            if self.client.poll_transmit(&mut buf) {
                moved = true;
                let index = self.c2s_chunks;
                self.c2s_chunks += 1;
                if !self.faults.drop_c2s.contains(&index) {
                    if let Some(mutate) = &mut self.faults.mutate_c2s {
                        mutate(&mut buf);
                    }
                    self.server.handle_input(self.now, &buf);
                }
            }
            let mut buf = Vec::new();
            if self.server.poll_transmit(&mut buf) {
                moved = true;
                if let Some(mutate) = &mut self.faults.mutate_s2c {
                    mutate(&mut buf);
                }
                self.client.handle_input(self.now, &buf);
            }
            while let Some(p) = self.client.poll_ip() {
                self.client_ip.push(p.to_vec());
            }
            while let Some(p) = self.server.poll_ip() {
                self.server_ip.push(p.to_vec());
            }
            while let Some(event) = self.client.poll_event() {
                moved = true;
                self.client_events.push(event);
            }
            while let Some(event) = self.server.poll_event() {
                moved = true;
                match &event {
                    Event::Authenticate(request) => {
                        if self.auto_verdict {
                            let verdict = match request.data() {
                                // The backend names the user from the
                                // certificate.
                                AuthData::EapTls { .. } => {
                                    AuthVerdict::Accept(Accept::new().with_user_name(CERT_USER))
                                }
                                _ => request.verify_with(&self.secret),
                            };
                            self.server.auth_complete(self.now, verdict);
                        } else {
                            self.pending_verdict = Some(request.clone());
                        }
                    }
                    Event::NeedAddresses { .. } => match &self.refuse_lease {
                        Some(reason) => self.server.refuse(self.now, Refusal::NoAddress, reason),
                        None => self.server.assign_addresses(self.now, lease()),
                    },
                    _ => {}
                }
                self.server_events.push(event);
            }
            if !moved {
                return;
            }
        }
        panic!("the pair never went quiet");
    }

    /// Jumps virtual time to the earliest deadline of either side.
    fn advance(&mut self) -> bool {
        let next = [self.client.poll_timeout(), self.server.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = next else {
            return false;
        };
        assert!(next >= self.now, "poll_timeout went backwards");
        self.now = next;
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
        self.drive();
        true
    }

    /// Drives and advances time until `done` or `limit` of virtual time.
    fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Self) -> bool) {
        let end = self.now + limit;
        self.drive();
        while !done(self) {
            assert!(self.advance(), "nothing left to wait for");
            assert!(self.now <= end, "condition not met within {limit:?}");
        }
    }

    fn both_up(&self) -> bool {
        has_up(&self.client_events) && has_up(&self.server_events)
    }

    fn connect(&mut self) {
        self.run_until(Duration::from_secs(30), Self::both_up);
    }

    fn client_down(&self) -> Option<&CloseReason> {
        down(&self.client_events)
    }

    fn server_down(&self) -> Option<&CloseReason> {
        down(&self.server_events)
    }

    /// One packet each way through the tunnel.
    fn exchange_ipv4(&mut self) {
        let up = ipv4(
            Ipv4Addr::new(10, 0, 0, 2),
            Ipv4Addr::new(192, 0, 2, 1),
            b"ping",
        );
        let down = ipv4(
            Ipv4Addr::new(192, 0, 2, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            b"pong",
        );
        self.client.send_ip(&up).expect("client sends");
        self.server.send_ip(&down).expect("server sends");
        self.drive();
        assert_eq!(self.server_ip.last(), Some(&up));
        assert_eq!(self.client_ip.last(), Some(&down));
    }
}

fn has_up(events: &[Event]) -> bool {
    events.iter().any(|e| matches!(e, Event::Up(_)))
}

fn up_config(events: &[Event]) -> &NetConfig {
    events
        .iter()
        .find_map(|e| match e {
            Event::Up(c) => Some(c),
            _ => None,
        })
        .expect("Up reported")
}

fn down(events: &[Event]) -> Option<&CloseReason> {
    events.iter().find_map(|e| match e {
        Event::Down(r) => Some(r),
        _ => None,
    })
}

fn connect_with(method: AuthMethod, hash: HashBitmask) {
    let mut server = ServerConfig::default();
    server.auth_methods = vec![method];
    server.hash_protocols = hash;
    let mut client = ClientConfig::new(USER, Credential::from_password(PASSWORD));
    client.auth_methods = vec![method];
    let mut pair = Pair::new(server, client);
    pair.connect();
    let config = up_config(&pair.client_events).clone();
    assert_eq!(config.ipv4.local, Ipv4Addr::new(10, 0, 0, 2));
    assert_eq!(config.ipv4.peer, Some(Ipv4Addr::new(10, 0, 0, 1)));
    assert_eq!(
        config.ipv4.dns,
        [Ipv4Addr::new(10, 0, 0, 53), Ipv4Addr::new(10, 0, 0, 54)]
    );
    let expected = if hash.0 & 0x02 != 0 {
        HashProtocol::Sha256
    } else {
        HashProtocol::Sha1
    };
    assert_eq!(config.binding, Some(expected));
    assert_eq!(up_config(&pair.server_events).binding, Some(expected));
    let server_auth = pair
        .server_events
        .iter()
        .find_map(|e| match e {
            Event::Authenticated { username, method } => Some((username.clone(), *method)),
            _ => None,
        })
        .expect("server saw the user authenticate");
    assert_eq!(server_auth, (USER.to_owned(), Some(method)));
    pair.exchange_ipv4();
    assert_eq!(pair.server.state(), ControlState::ServerCallConnected);
    assert_eq!(pair.client.state(), ControlState::ClientCallConnected);
}

#[test]
fn connect_every_method_with_sha256_binding() {
    for method in [
        AuthMethod::Pap,
        AuthMethod::ChapMd5,
        AuthMethod::MsChapV2,
        AuthMethod::EapMsChapV2,
    ] {
        connect_with(method, HashBitmask::SHA256);
    }
}

#[test]
fn connect_every_method_with_sha1_binding() {
    for method in [
        AuthMethod::Pap,
        AuthMethod::ChapMd5,
        AuthMethod::MsChapV2,
        AuthMethod::EapMsChapV2,
    ] {
        connect_with(method, HashBitmask::SHA1);
    }
}

#[test]
fn server_falls_back_from_eap_to_mschapv2_when_the_client_naks() {
    let server = ServerConfig::default(); // EAP-MSCHAPv2, then MS-CHAPv2
    let mut client = ClientConfig::new(USER, Credential::from_password(PASSWORD));
    client.auth_methods = vec![AuthMethod::MsChapV2];
    let mut pair = Pair::new(server, client);
    pair.connect();
    assert!(pair.server_events.iter().any(|e| matches!(
        e,
        Event::Authenticated {
            method: Some(AuthMethod::MsChapV2),
            ..
        }
    )));
}

#[test]
fn nt_hash_credentials_work_for_mschapv2_on_both_sides() {
    let hash = *Credential::from_password(PASSWORD)
        .nt_password_hash()
        .as_bytes();
    let mut client = ClientConfig::new(USER, Credential::from_nt_hash(hash));
    client.auth_methods = vec![AuthMethod::EapMsChapV2];
    let mut pair = Pair::new(ServerConfig::default(), client);
    pair.secret = Credential::from_nt_hash(hash);
    pair.connect();
    pair.exchange_ipv4();
}

#[test]
fn ipv4_ipv6_and_dns_are_negotiated() {
    let mut pair = Pair::default_with(&[AuthMethod::MsChapV2]);
    pair.connect();
    pair.run_until(Duration::from_secs(30), |p| {
        let v6 = |events: &[Event]| {
            events.iter().any(|e| matches!(e, Event::Ipv6Up(_))) || up_config(events).ipv6.is_some()
        };
        v6(&p.client_events) && v6(&p.server_events)
    });
    let packet = ipv6(b"hello over v6");
    pair.client.send_ip(&packet).expect("IPv6 up");
    pair.drive();
    assert_eq!(pair.server_ip.last(), Some(&packet));
}

#[test]
fn ipv6_can_be_turned_off() {
    let mut server = ServerConfig::default();
    server.common.ipv6 = false;
    let mut client = ClientConfig::new(USER, Credential::from_password(PASSWORD));
    client.common.ipv6 = false;
    let mut pair = Pair::new(server, client);
    pair.connect();
    assert_eq!(pair.client.send_ip(&ipv6(b"x")), Err(SendError::NotReady));
}

#[test]
fn wrong_password_fails_cleanly_on_both_sides() {
    for method in [
        AuthMethod::Pap,
        AuthMethod::ChapMd5,
        AuthMethod::MsChapV2,
        AuthMethod::EapMsChapV2,
    ] {
        let mut pair = Pair::default_with(&[method]);
        pair.secret = Credential::from_password("another password");
        pair.run_until(Duration::from_secs(30), |p| {
            p.client_down().is_some() && p.server_down().is_some()
        });
        let client_reason = pair.client_down().expect("client down");
        assert!(
            matches!(
                client_reason,
                CloseReason::AuthFailed(AuthFailure::Rejected { .. })
            ),
            "{method}: client says {client_reason:?}; events {:?}",
            pair.client_events
        );
        let server_reason = pair.server_down().expect("server down");
        assert!(
            matches!(server_reason, CloseReason::AuthFailed(_)),
            "{method}: server says {server_reason:?}"
        );
        assert!(!has_up(&pair.client_events) && !has_up(&pair.server_events));
        assert!(pair.server_ip.is_empty());
    }
}

/// Behind a TLS offloader (MS-SSTP 3.3.3): the server accepts a list of the
/// offloader's hashes. A SHA-1 hash alone makes the Connect Ack offer SHA-1
/// alone (2.2.6), which a SHA-256-preferring client then uses; two SHA-256
/// hashes (a rollover) accept a client that saw either certificate.
#[test]
fn accepted_hash_lists_offer_their_protocols_and_take_either_certificate() {
    let offloader = CertHashes::from_der(b"the offloader's certificate");
    let next = CertHashes::from_der(b"the offloader's next certificate");
    let connect = |accepted: AcceptedCertHashes, client_sees: &CertHashes| {
        let mut pair = Pair::with_cert(
            ServerConfig::default(),
            ClientConfig::new(USER, Credential::from_password(PASSWORD)),
            client_sees.clone(),
        );
        pair.server =
            ServerSession::new(&ServerConfig::default(), accepted, pair.now, boxed_rng(2));
        pair.connect();
        up_config(&pair.server_events).binding
    };
    let sha1_only = AcceptedCertHashes::new(vec![offloader.sha1], vec![]).expect("hashes");
    assert_eq!(connect(sha1_only, &offloader), Some(HashProtocol::Sha1));
    for client_sees in [&offloader, &next] {
        let rollover =
            AcceptedCertHashes::new(vec![], vec![offloader.sha256, next.sha256]).expect("hashes");
        assert_eq!(connect(rollover, client_sees), Some(HashProtocol::Sha256));
    }
}

#[test]
fn wrong_certificate_hash_is_aborted_and_no_ip_passes() {
    let mut pair = Pair::with_cert(
        ServerConfig::default(),
        ClientConfig::new(USER, Credential::from_password(PASSWORD)),
        CertHashes::from_der(b"a man in the middle's certificate"),
    );
    // As soon as the client thinks it is up, it tries to send.
    pair.run_until(Duration::from_secs(30), |p| p.server_down().is_some());
    assert_eq!(
        pair.server_down(),
        Some(&CloseReason::BindingFailed(
            crate::crypto::binding::BindingError::CertHashMismatch
        ))
    );
    assert!(!has_up(&pair.server_events));
    assert!(pair.server_ip.is_empty(), "no IP before a verified binding");
    pair.run_until(Duration::from_secs(10), |p| p.client_down().is_some());
    assert!(matches!(
        pair.client_down(),
        Some(CloseReason::PeerAborted {
            status: Some(StatusInfo {
                attrib_id: AttributeId::CRYPTO_BINDING,
                status: Status::VALUE_NOT_SUPPORTED,
                ..
            })
        })
    ));
}

#[test]
fn wrong_compound_mac_is_aborted_and_no_ip_passes() {
    let mut pair = Pair::default_with(&[AuthMethod::MsChapV2]);
    // Flip one MAC byte of the Call Connected (112 bytes, type 0x0004) on
    // the wire, and put an IP packet right behind it in the same chunk.
    pair.faults.mutate_c2s = Some(Box::new(|bytes: &mut Vec<u8>| {
        let mut i = 0;
        while i + 4 <= bytes.len() {
            let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) & 0x0fff);
            if len == 112 && bytes[i + 1] == 1 && bytes[i + 5] == 4 {
                bytes[i + 100] ^= 0x55;
                let ip = ipv4(Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 1), b"x");
                let mut data = vec![0x10, 0x00, 0, 0, 0xff, 0x03, 0x00, 0x21];
                data.extend_from_slice(&ip);
                let l = data.len() as u16;
                data[2..4].copy_from_slice(&l.to_be_bytes());
                bytes.extend_from_slice(&data);
                return;
            }
            i += len.max(4);
        }
    }));
    pair.run_until(Duration::from_secs(30), |p| p.server_down().is_some());
    assert_eq!(
        pair.server_down(),
        Some(&CloseReason::BindingFailed(
            crate::crypto::binding::BindingError::MacMismatch
        ))
    );
    assert!(pair.server_ip.is_empty());
    assert!(pair.server.stats().ip_rx_dropped >= 1);
}

#[test]
fn call_connected_before_the_verdict_is_held_not_rejected() {
    let mut pair = Pair::default_with(&[AuthMethod::Pap]);
    pair.auto_verdict = false;
    pair.run_until(Duration::from_secs(10), |p| p.pending_verdict.is_some());
    // PAP: the client learns success only from the server, so hold the
    // verdict and confirm the server is waiting in Call_Connected_Pending.
    assert_eq!(
        pair.server.state(),
        ControlState::ServerCallConnectedPending
    );
    let request = pair.pending_verdict.take().expect("request");
    let verdict = request.verify_with(&pair.secret);
    pair.server.auth_complete(pair.now, verdict);
    pair.connect();
    pair.exchange_ipv4();
}

#[test]
fn shrinking_idle_buffers_keeps_the_link_working() {
    let mut pair = Pair::default_with(&[AuthMethod::MsChapV2]);
    pair.connect();
    pair.exchange_ipv4();
    // Nothing waits: both sides give their buffers back, then traffic flows as before.
    pair.client.shrink_buffers();
    pair.server.shrink_buffers();
    pair.exchange_ipv4();
    // With bytes waiting, shrinking must not lose them.
    let up = ipv4(
        Ipv4Addr::new(10, 0, 0, 2),
        Ipv4Addr::new(192, 0, 2, 1),
        b"kept",
    );
    pair.client.send_ip(&up).expect("client sends");
    pair.client.shrink_buffers();
    pair.drive();
    assert_eq!(pair.server_ip.last(), Some(&up));
}

#[test]
fn sstp_hello_echo_keeps_an_idle_link_up() {
    let mut server = ServerConfig::default();
    server.common.keepalive.interval = None;
    let mut client = ClientConfig::new(USER, Credential::from_password(PASSWORD));
    client.common.keepalive.interval = None;
    let mut pair = Pair::new(server, client);
    pair.connect();
    let start = pair.now;
    // Ten minutes of silence: the Hello timers echo and both stay up.
    while pair.now < start + Duration::from_secs(600) {
        assert!(pair.advance());
    }
    assert!(pair.client_down().is_none() && pair.server_down().is_none());
    pair.exchange_ipv4();
}

#[test]
fn hello_timeout_when_the_peer_goes_silent() {
    let mut pair = Pair::default_with(&[AuthMethod::MsChapV2]);
    pair.connect();
    // The client vanishes: the server hears nothing any more.
    let start = pair.now;
    loop {
        let next = pair.server.poll_timeout().expect("timers run");
        pair.now = next;
        pair.server.handle_timeout(next);
        let mut sink = Vec::new();
        pair.server.poll_transmit(&mut sink);
        if let Some(Event::Down(reason)) = std::iter::from_fn(|| pair.server.poll_event()).last() {
            assert!(matches!(reason, CloseReason::Timeout(_)), "{reason:?}");
            break;
        }
        assert!(pair.now < start + Duration::from_secs(300));
    }
    // 60 s of silence, an echo, 60 s more (LCP echo may fire first at 30 s
    // intervals; either way well within 5 minutes).
    assert!(pair.now >= start + Duration::from_secs(60));
}

#[test]
fn graceful_disconnect_from_the_client() {
    let mut pair = Pair::default_with(&[AuthMethod::MsChapV2]);
    pair.connect();
    pair.client.close(pair.now);
    pair.run_until(Duration::from_secs(20), |p| {
        p.client_down().is_some() && p.server_down().is_some()
    });
    assert_eq!(pair.client_down(), Some(&CloseReason::LocalClose));
    assert_eq!(pair.server_down(), Some(&CloseReason::PeerDisconnected));
}

#[test]
fn graceful_disconnect_from_the_server() {
    let mut pair = Pair::default_with(&[AuthMethod::MsChapV2]);
    pair.connect();
    pair.server.close(pair.now);
    pair.run_until(Duration::from_secs(20), |p| {
        p.client_down().is_some() && p.server_down().is_some()
    });
    assert_eq!(pair.server_down(), Some(&CloseReason::LocalClose));
    assert_eq!(pair.client_down(), Some(&CloseReason::PeerDisconnected));
}

#[test]
fn an_ending_closes_gracefully_and_reports_its_cause() {
    for ending in [
        Ending::SessionTimeout,
        Ending::IdleTimeout,
        Ending::AdminReset,
    ] {
        let mut pair = Pair::default_with(&[AuthMethod::MsChapV2]);
        pair.connect();
        pair.server.end(pair.now, ending);
        pair.run_until(Duration::from_secs(20), |p| {
            p.client_down().is_some() && p.server_down().is_some()
        });
        assert_eq!(pair.server_down(), Some(&CloseReason::Ended(ending)));
        assert_eq!(
            pair.server_down().map(CloseReason::kind),
            Some(CloseKind::Normal)
        );
        // Up already: for the client it is the server hanging up.
        assert_eq!(pair.client_down(), Some(&CloseReason::PeerDisconnected));
        assert_eq!(
            CloseReason::Ended(ending).to_string(),
            format!("ended: {}", ending.words())
        );
    }
}

#[test]
fn a_refusal_after_authentication_reaches_the_client_with_its_reason() {
    for method in [
        AuthMethod::Pap,
        AuthMethod::MsChapV2,
        AuthMethod::EapMsChapV2,
    ] {
        let mut pair = Pair::default_with(&[method]);
        let reason = "no address available: the address pool is exhausted";
        pair.refuse_lease = Some(reason.to_owned());
        pair.run_until(Duration::from_secs(30), |p| {
            p.client_down().is_some() && p.server_down().is_some()
        });
        // The LCP Terminate-Request carried it (RFC 1661 5.5).
        assert_eq!(
            pair.client_down(),
            Some(&CloseReason::PeerTerminated {
                reason: reason.to_owned()
            }),
            "{method}"
        );
        assert_eq!(
            pair.server_down(),
            Some(&CloseReason::Refused {
                cause: Refusal::NoAddress,
                reason: reason.to_owned()
            }),
            "{method}"
        );
        assert_eq!(
            pair.client_down().map(CloseReason::kind),
            Some(CloseKind::Refused)
        );
        assert!(!has_up(&pair.client_events) && !has_up(&pair.server_events));
    }
}

#[test]
fn the_peers_terminate_text_is_sanitized_and_bounded() {
    let mut pair = Pair::default_with(&[AuthMethod::MsChapV2]);
    pair.refuse_lease = Some(format!("\u{1b}[31mred\nsecond line {}", "x".repeat(400)));
    pair.run_until(Duration::from_secs(30), |p| p.client_down().is_some());
    let Some(CloseReason::PeerTerminated { reason }) = pair.client_down() else {
        panic!("client says {:?}", pair.client_down());
    };
    assert!(!reason.chars().any(char::is_control), "{reason:?}");
    assert!(
        reason.starts_with("\u{FFFD}[31mred\u{FFFD}second line x"),
        "{reason:?}"
    );
    // 255 bytes on the wire (RFC 1661: the rest of the packet).
    assert_eq!(reason.len(), 255 + 2 * 2, "{reason:?}");
}

#[test]
fn a_normal_end_after_up_says_nothing_of_the_terminate_text() {
    // The server's own close sends a reason too; once up it is just an end.
    let mut pair = Pair::default_with(&[AuthMethod::MsChapV2]);
    pair.connect();
    pair.server
        .refuse(pair.now, Refusal::Misconfigured, "going away");
    pair.run_until(Duration::from_secs(20), |p| p.client_down().is_some());
    assert_eq!(pair.client_down(), Some(&CloseReason::PeerDisconnected));
}

#[test]
fn no_common_method_is_an_authentication_failure_on_the_client() {
    let mut s = ServerConfig::default();
    s.auth_methods = vec![AuthMethod::Pap];
    let mut c = ClientConfig::new(USER, Credential::from_password(PASSWORD));
    c.auth_methods = vec![AuthMethod::MsChapV2, AuthMethod::EapMsChapV2];
    let mut pair = Pair::new(s, c);
    pair.run_until(Duration::from_secs(60), |p| {
        p.client_down().is_some() && p.server_down().is_some()
    });
    assert_eq!(
        pair.client_down(),
        Some(&CloseReason::AuthFailed(AuthFailure::MethodNotSupported {
            detail: "the server asked for pap, and this client accepts only mschapv2, eap-mschapv2"
                .to_owned()
        }))
    );
    assert_eq!(
        pair.server_down(),
        Some(&CloseReason::Incompatible(Missing::AuthMethod {
            server_allows: vec![AuthMethod::Pap]
        }))
    );
    assert_eq!(
        pair.server_down().map(ToString::to_string).as_deref(),
        Some("incompatible peer: no common authentication method (the server allows pap)")
    );
}

/// sstpd 0.7.2 (`ppp_stopped` in its `sstp.py`) ends a call whose pppd
/// exited with a Call Disconnect carrying one attribute of ID 0 (reserved)
/// and four zero bytes, instead of a Status Info (MS-SSTP 2.2.14). It sends
/// it right after pppd's MS-CHAPv2 Failure when the password was wrong.
const SSTPD_CALL_DISCONNECT: [u8; 16] = [
    0x10, 0x01, 0x00, 0x10, 0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00,
];

#[test]
fn auth_failure_outranks_an_odd_call_disconnect_that_follows_it() {
    // With EAP the client ends the call itself on EAP-Failure; with the
    // others the server does, as sstpd does when its pppd gives up.
    for method in [AuthMethod::Pap, AuthMethod::ChapMd5, AuthMethod::MsChapV2] {
        let mut pair = Pair::default_with(&[method]);
        pair.secret = Credential::from_password("another password");
        // Every Call Disconnect the server sends becomes sstpd's.
        let rewritten = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let seen = rewritten.clone();
        pair.faults.mutate_s2c = Some(Box::new(move |buf: &mut Vec<u8>| {
            let call_disconnect = [0x10, 0x01, 0x00, 0x14, 0x00, 0x06];
            if let Some(at) = buf.windows(6).position(|w| w == call_disconnect) {
                buf.splice(at..at + 0x14, SSTPD_CALL_DISCONNECT);
                seen.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }));
        pair.run_until(Duration::from_secs(30), |p| p.client_down().is_some());
        assert!(
            rewritten.load(std::sync::atomic::Ordering::Relaxed),
            "{method}: no Call Disconnect"
        );
        let reason = pair.client_down().expect("client down");
        assert!(
            matches!(
                reason,
                CloseReason::AuthFailed(AuthFailure::Rejected { .. })
            ),
            "{method}: client says {reason:?}"
        );
    }
}

#[test]
fn odd_call_disconnect_ends_a_connected_call_normally() {
    let mut pair = Pair::default_with(&[AuthMethod::MsChapV2]);
    pair.connect();
    pair.client.handle_input(pair.now, &SSTPD_CALL_DISCONNECT);
    // The client acknowledges it (3.2.5.3.5) rather than aborting.
    let mut out = Vec::new();
    assert!(pair.client.poll_transmit(&mut out));
    let ack = [0x10, 0x01, 0x00, 0x08, 0x00, 0x07, 0x00, 0x00];
    assert!(out.windows(8).any(|w| w == ack), "sent {out:02x?}");
    pair.run_until(Duration::from_secs(10), |p| p.client_down().is_some());
    assert_eq!(pair.client_down(), Some(&CloseReason::PeerDisconnected));
}

#[test]
fn a_peer_that_terminates_lcp_and_hangs_up_ended_the_call_normally() {
    // A peer's LCP Terminate-Request (RFC 1661 5.5) ends the call there
    // and then: a TCP close right after it, before the SSTP teardown, does
    // not make it a lost connection.
    let mut pair = Pair::default_with(&[AuthMethod::MsChapV2]);
    pair.connect();
    let terminate = [0x05, 0x07, 0x00, 0x0a, b'b', b'y', b'e', b' ', b'n', b'o'];
    pair.server
        .handle_input(pair.now, &data_frame(0xc021, &terminate));
    pair.server.transport_closed(pair.now);
    let reason = std::iter::from_fn(|| pair.server.poll_event()).find_map(|e| match e {
        Event::Down(reason) => Some(reason),
        _ => None,
    });
    assert_eq!(reason, Some(CloseReason::PeerDisconnected));

    // Without the Terminate-Request the same close is a lost connection.
    let mut pair = Pair::default_with(&[AuthMethod::MsChapV2]);
    pair.connect();
    pair.server.transport_closed(pair.now);
    let reason = std::iter::from_fn(|| pair.server.poll_event()).find_map(|e| match e {
        Event::Down(reason) => Some(reason),
        _ => None,
    });
    assert_eq!(reason, Some(CloseReason::TransportClosed));
}

#[test]
fn abort_both_ways_on_garbage_control_messages() {
    // An unknown control message type is an invalid frame (2.2.8): the
    // receiver aborts with a Status Info and the other side answers.
    let mut pair = Pair::default_with(&[AuthMethod::MsChapV2]);
    pair.connect();
    pair.server
        .handle_input(pair.now, &[0x10, 0x01, 0x00, 0x08, 0x00, 0x7f, 0x00, 0x00]);
    pair.run_until(Duration::from_secs(10), |p| {
        p.client_down().is_some() && p.server_down().is_some()
    });
    assert!(matches!(
        pair.server_down(),
        Some(CloseReason::PeerMalformed(_))
    ));
    assert!(matches!(
        pair.client_down(),
        Some(CloseReason::PeerAborted { .. })
    ));

    let mut pair = Pair::default_with(&[AuthMethod::MsChapV2]);
    pair.connect();
    pair.client
        .handle_input(pair.now, &[0x10, 0x01, 0x00, 0x08, 0x00, 0x7f, 0x00, 0x00]);
    pair.run_until(Duration::from_secs(10), |p| {
        p.client_down().is_some() && p.server_down().is_some()
    });
    assert!(matches!(
        pair.server_down(),
        Some(CloseReason::PeerAborted { .. })
    ));
}

#[test]
fn framing_failure_kills_without_a_word() {
    let mut pair = Pair::default_with(&[AuthMethod::MsChapV2]);
    pair.connect();
    pair.server
        .handle_input(pair.now, b"GET / HTTP/1.1\r\n\r\n");
    let mut out = Vec::new();
    assert!(
        !pair.server.poll_transmit(&mut out),
        "3.1.5.1: nothing sent"
    );
    assert!(matches!(
        std::iter::from_fn(|| pair.server.poll_event()).last(),
        Some(Event::Down(CloseReason::PeerMalformed(_)))
    ));
}

#[test]
fn lost_packets_are_retransmitted() {
    let mut pair = Pair::default_with(&[AuthMethod::EapMsChapV2]);
    // Lose the client's second and third chunks (LCP traffic).
    pair.faults.drop_c2s = vec![1, 2];
    pair.connect();
    pair.exchange_ipv4();
}

#[test]
fn frames_without_address_control_are_accepted() {
    let mut pair = Pair::default_with(&[AuthMethod::MsChapV2]);
    pair.connect();
    // An IPv4 packet in a frame with ACFC and PFC applied: 21 <packet>.
    let ip = ipv4(
        Ipv4Addr::new(10, 0, 0, 2),
        Ipv4Addr::new(192, 0, 2, 1),
        b"c",
    );
    let mut data = vec![0x10, 0x00, 0, 0, 0x21];
    data.extend_from_slice(&ip);
    let l = data.len() as u16;
    data[2..4].copy_from_slice(&l.to_be_bytes());
    pair.server.handle_input(pair.now, &data);
    assert_eq!(pair.server.poll_ip(), Some(&ip[..]));
    // And with FF 03 but a 2-byte protocol, the normal form.
    let mut data = vec![0x10, 0x00, 0, 0, 0xff, 0x03, 0x00, 0x21];
    data.extend_from_slice(&ip);
    let l = data.len() as u16;
    data[2..4].copy_from_slice(&l.to_be_bytes());
    pair.server.handle_input(pair.now, &data);
    assert_eq!(pair.server.poll_ip(), Some(&ip[..]));
}

#[test]
fn ip_sent_before_up_is_refused_and_nothing_leaks() {
    let mut pair = Pair::default_with(&[AuthMethod::MsChapV2]);
    let ip = ipv4(
        Ipv4Addr::new(10, 0, 0, 2),
        Ipv4Addr::new(10, 0, 0, 1),
        b"early",
    );
    assert_eq!(pair.client.send_ip(&ip), Err(SendError::NotReady));
    // A raw IP data packet pushed at the server before anything else.
    let mut data = vec![0x10, 0x00, 0, 0, 0xff, 0x03, 0x00, 0x21];
    data.extend_from_slice(&ip);
    let l = data.len() as u16;
    data[2..4].copy_from_slice(&l.to_be_bytes());
    pair.server.handle_input(pair.now, &data);
    assert!(pair.server.poll_ip().is_none());
    assert_eq!(pair.server.stats().ip_rx_dropped, 1);
    pair.connect();
}

#[test]
fn send_ip_applies_backpressure_and_mtu() {
    let mut pair = Pair::default_with(&[AuthMethod::MsChapV2]);
    pair.connect();
    let big = ipv4(
        Ipv4Addr::new(10, 0, 0, 2),
        Ipv4Addr::new(1, 1, 1, 1),
        &[0; 1400],
    );
    assert_eq!(pair.client.send_ip(&big), Err(SendError::Invalid));
    let ok = ipv4(
        Ipv4Addr::new(10, 0, 0, 2),
        Ipv4Addr::new(1, 1, 1, 1),
        &[0; 1300],
    );
    let mut sent = 0;
    let result = loop {
        match pair.client.send_ip(&ok) {
            Ok(()) => sent += 1,
            Err(e) => break e,
        }
        assert!(sent < 10_000);
    };
    assert_eq!(result, SendError::Full);
    assert!(sent * (ok.len() + DATA_OVERHEAD) <= MAX_TX_BUFFER);
    pair.drive();
    assert_eq!(pair.server_ip.len(), sent);
    pair.client.send_ip(&ok).expect("drained: room again");
}

#[test]
fn windows_style_lcp_request_converges() {
    // RRAS-style first Configure-Request (axot/isstp#5): MRU 4091,
    // Auth EAP, Magic, PFC, ACFC, Callback, MRRU 1614, EPDISC. The server
    // must reject the extras and converge with a client that sends them.
    let mut pair = Pair::default_with(&[AuthMethod::MsChapV2]);
    // Only the Call Connect Request reaches the server; its Ack and LCP
    // request stay queued while the Windows-style request arrives.
    let mut buf = Vec::new();
    assert!(pair.client.poll_transmit(&mut buf));
    pair.server.handle_input(pair.now, &buf);
    let mut server_first = Vec::new();
    assert!(pair.server.poll_transmit(&mut server_first));
    let request: &[u8] = &[
        0x01, 0x42, 0x00, 0x26, // Configure-Request id 0x42, length 38
        0x01, 0x04, 0x0f, 0xfb, // MRU 4091
        0x03, 0x04, 0xc2, 0x27, // Auth EAP
        0x05, 0x06, 0x12, 0x34, 0x56, 0x78, // Magic
        0x07, 0x02, 0x08, 0x02, // PFC, ACFC
        0x0d, 0x03, 0x06, // Callback (CBCP)
        0x11, 0x04, 0x06, 0x4e, // MRRU 1614
        0x13, 0x09, 0x01, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, // EPDISC
    ];
    let mut frame = vec![0x10, 0x00, 0, 0, 0xff, 0x03, 0xc0, 0x21];
    frame.extend_from_slice(request);
    let l = frame.len() as u16;
    frame[2..4].copy_from_slice(&l.to_be_bytes());
    pair.server.handle_input(pair.now, &frame);
    let mut out = Vec::new();
    pair.server.poll_transmit(&mut out);
    // The server's answer is a Configure-Reject of PFC, ACFC, Callback,
    // MRRU and EPDISC, exactly as sent.
    let reject_at = out
        .windows(6)
        .position(|w| w == [0xff, 0x03, 0xc0, 0x21, 0x04, 0x42])
        .unwrap_or_else(|| panic!("a Configure-Reject with the request's identifier: {out:02x?}"));
    let body = &out[reject_at + 4..];
    assert_eq!(
        &body[8..],
        &[
            0x07, 0x02, 0x08, 0x02, 0x0d, 0x03, 0x06, 0x11, 0x04, 0x06, 0x4e, 0x13, 0x09, 0x01,
            0x01, 0x02, 0x03, 0x04, 0x05, 0x06
        ][..]
    );
    // The real client then carries on (the stray Reject matches none of its
    // requests and is discarded) and the pair converges.
    pair.client.handle_input(pair.now, &server_first);
    pair.client.handle_input(pair.now, &out);
    pair.connect();
    pair.exchange_ipv4();
}

#[test]
fn poll_timeout_never_goes_backwards_through_a_whole_session() {
    let mut pair = Pair::default_with(&[AuthMethod::EapMsChapV2]);
    pair.connect();
    pair.client.close(pair.now);
    pair.run_until(Duration::from_secs(20), |p| {
        p.client_down().is_some() && p.server_down().is_some()
    });
    assert!(pair.client.is_closed() && pair.server.is_closed());
    assert_eq!(pair.client.poll_timeout(), None);
    assert_eq!(pair.server.poll_timeout(), None);
}

#[test]
fn hlak_glue_matches_the_chained_vector() {
    // Chained vector: the RFC 2759 §9.2 credentials give this HLAK
    // (MS-SSTP 3.2.5.2.4, of the RFC 3079 §3.5.3 keys) on both sides.
    let hash = crate::crypto::mschapv2::NtPasswordHash::from_password("clientPass");
    let nt = [
        0x82, 0x30, 0x9E, 0xCD, 0x8D, 0x70, 0x8B, 0x5E, 0xA0, 0x8F, 0xAA, 0x39, 0x81, 0xCD, 0x83,
        0x54, 0x42, 0x33, 0x11, 0x4A, 0x3D, 0x85, 0xD6, 0xDF,
    ];
    let master = MasterKey::derive(&hash.hash_hash(), &nt);
    for role in [
        crate::crypto::mppe::Role::Client,
        crate::crypto::mppe::Role::Server,
    ] {
        let hlak = crate::crypto::binding::Hlak::from_mschapv2(&MppeKeys::derive(&master, role));
        assert_eq!(
            hlak.as_bytes()[..],
            [
                0xD5, 0xF0, 0xE9, 0x52, 0x1E, 0x3E, 0xA9, 0x58, 0x96, 0x45, 0xE8, 0x60, 0x51, 0xC8,
                0x22, 0x26, 0x8B, 0x7C, 0xDC, 0x14, 0x9B, 0x99, 0x3A, 0x1B, 0xA1, 0x18, 0xCB, 0x15,
                0x3F, 0x56, 0xDC, 0xCB
            ]
        );
    }
}

#[test]
fn connects_without_waiting_for_any_retransmission() {
    // Regression (found by the session fuzzer): the server's Call Connect
    // Ack and its first LCP Configure-Request arrive in one chunk; PPP must
    // be started before the frame behind the Ack is read, or the request is
    // lost and the call waits 3 s for a retransmission.
    for method in [
        AuthMethod::MsChapV2,
        AuthMethod::EapMsChapV2,
        AuthMethod::Pap,
    ] {
        let mut pair = Pair::default_with(&[method]);
        pair.drive();
        assert!(pair.both_up(), "{method}: up without any timer firing");
    }
}

#[test]
fn unknown_protocols_get_a_protocol_reject() {
    // Windows offers CCP (MPPE), which SSTP does not need: RFC 1661 5.7.
    let mut pair = Pair::default_with(&[AuthMethod::MsChapV2]);
    pair.connect();
    let ccp_request: &[u8] = &[0x01, 0x07, 0x00, 0x0a, 0x12, 0x06, 0x01, 0x00, 0x00, 0x60];
    let mut frame = vec![0x10, 0x00, 0, 0, 0xff, 0x03, 0x80, 0xfd];
    frame.extend_from_slice(ccp_request);
    let l = frame.len() as u16;
    frame[2..4].copy_from_slice(&l.to_be_bytes());
    pair.server.handle_input(pair.now, &frame);
    let mut out = Vec::new();
    assert!(pair.server.poll_transmit(&mut out));
    // LCP (c0 21) Protocol-Reject (08), rejected protocol 80 fd, then the
    // rejected packet.
    let at = out
        .windows(4)
        .position(|w| w == [0xff, 0x03, 0xc0, 0x21])
        .expect("an LCP frame");
    assert_eq!(out[at + 4], 0x08, "Protocol-Reject");
    assert_eq!(&out[at + 8..at + 10], &[0x80, 0xfd]);
    assert_eq!(&out[at + 10..at + 10 + ccp_request.len()], ccp_request);
    // The call carries on.
    pair.client.handle_input(pair.now, &out);
    pair.exchange_ipv4();
}

/// A PPP control packet in an SSTP data packet, FF 03 + 2-byte protocol.
fn data_frame(protocol: u16, packet: &[u8]) -> Vec<u8> {
    let mut out = vec![0x10, 0x00, 0, 0, 0xff, 0x03];
    out.extend_from_slice(&protocol.to_be_bytes());
    out.extend_from_slice(packet);
    let l = out.len() as u16;
    out[2..4].copy_from_slice(&l.to_be_bytes());
    out
}

/// Every PPP control packet (protocol, bytes from Code on) in `bytes`.
fn ppp_packets(bytes: &[u8]) -> Vec<(u16, Vec<u8>)> {
    let mut deframer = Deframer::new();
    let mut input = bytes;
    let mut out = Vec::new();
    while let Some(p) = deframer.next_packet(&mut input) {
        let p = p.expect("framed");
        if p[1] & 1 == 0 {
            let frame = Frame::parse(&p[4..]).expect("frame");
            out.push((frame.protocol.0, frame.payload.to_vec()));
        }
    }
    out
}

#[test]
fn client_follows_a_server_that_rejects_eap_and_renegotiates_lcp() {
    // SoftEther's behaviour (interop README): it asks for EAP, offers only
    // EAP-TLS, answers the client's EAP Nak with a Protocol-Reject of EAP
    // and a new LCP Configure-Request for MS-CHAPv2. A client that allows
    // both methods must follow it to MS-CHAPv2 instead of giving up.
    let now = base();
    let mut config = ClientConfig::new(USER, Credential::from_password(PASSWORD));
    // EAP preferred, so the client takes SoftEther's EAP request at once
    // (with MS-CHAPv2 first it would Nak EAP and never see this path).
    config.auth_methods = vec![AuthMethod::EapMsChapV2, AuthMethod::MsChapV2];
    let mut client = ClientSession::new(&config, cert(), now, boxed_rng(7));
    let mut out = Vec::new();
    let send = |client: &mut ClientSession, bytes: &[u8]| {
        client.handle_input(now, bytes);
        let mut out = Vec::new();
        client.poll_transmit(&mut out);
        ppp_packets(&out)
    };
    client.poll_transmit(&mut out); // Call Connect Request
    // Call Connect Ack (MS-SSTP 4.7, SHA256) + LCP request: Auth EAP, magic.
    let mut ack = vec![
        0x10, 0x01, 0x00, 0x30, 0x00, 0x02, 0x00, 0x01, 0x00, 0x04, 0x00, 0x28, 0x00, 0x00, 0x00,
        0x02,
    ];
    ack.extend_from_slice(&[0x42; 32]);
    let eap_req = [
        0x01, 0x01, 0x00, 0x0e, 0x03, 0x04, 0xc2, 0x27, 0x05, 0x06, 0xaa, 0xbb, 0xcc, 0xdd,
    ];
    ack.extend_from_slice(&data_frame(0xc021, &eap_req));
    let sent = send(&mut client, &ack);
    // The client Acks EAP and sends its own request; Ack that too.
    assert!(
        sent.iter()
            .any(|(p, b)| *p == 0xc021 && b[0] == 2 && b[1] == 1)
    );
    let (_, own) = sent
        .iter()
        .find(|(p, b)| *p == 0xc021 && b[0] == 1)
        .expect("client request");
    let mut own_ack = own.clone();
    own_ack[0] = 2;
    send(&mut client, &data_frame(0xc021, &own_ack));
    // EAP Identity request, then EAP-TLS Start: the client Naks with 26.
    let sent = send(
        &mut client,
        &data_frame(0xc227, &[0x01, 0x05, 0x00, 0x05, 0x01]),
    );
    assert!(
        sent.iter()
            .any(|(p, b)| *p == 0xc227 && b[0] == 2 && b[4] == 1),
        "Identity response"
    );
    let sent = send(
        &mut client,
        &data_frame(0xc227, &[0x01, 0x06, 0x00, 0x06, 0x0d, 0x20]),
    );
    assert!(
        sent.iter()
            .any(|(p, b)| *p == 0xc227 && b[0] == 2 && b[4] == 3 && b[5] == 26),
        "EAP Nak asking for EAP-MSCHAPv2: {sent:02x?}"
    );
    // Protocol-Reject of EAP, then a new LCP request for MS-CHAPv2.
    let reject = [
        0x08, 0x09, 0x00, 0x0c, 0xc2, 0x27, 0x02, 0x06, 0x00, 0x06, 0x03, 0x1a,
    ];
    let mut bytes = data_frame(0xc021, &reject);
    let chap_req = [
        0x01, 0x02, 0x00, 0x0f, 0x03, 0x05, 0xc2, 0x23, 0x81, 0x05, 0x06, 0xaa, 0xbb, 0xcc, 0xdd,
    ];
    bytes.extend_from_slice(&data_frame(0xc021, &chap_req));
    let sent = send(&mut client, &bytes);
    assert!(
        sent.iter()
            .any(|(p, b)| *p == 0xc021 && b[0] == 2 && b[1] == 2),
        "the client Acks MS-CHAPv2: {sent:02x?}"
    );
    let (_, own) = sent
        .iter()
        .find(|(p, b)| *p == 0xc021 && b[0] == 1)
        .expect("client request again");
    let mut own_ack = own.clone();
    own_ack[0] = 2;
    // As SoftEther does: the MS-CHAPv2 Challenge comes *before* its Ack of
    // the client's new request; the client must keep it until LCP opens.
    let mut challenge = vec![0x01, 0x03, 0x00, 0x1a, 0x10];
    challenge.extend_from_slice(&[0x11; 16]);
    challenge.extend_from_slice(b"srv");
    let l = challenge.len() as u16;
    challenge[2..4].copy_from_slice(&l.to_be_bytes());
    let mut bytes = data_frame(0xc223, &challenge);
    bytes.extend_from_slice(&data_frame(0xc021, &own_ack));
    let sent = send(&mut client, &bytes);
    assert!(
        sent.iter()
            .any(|(p, b)| *p == 0xc223 && b[0] == 2 && b[4] == 49),
        "an MS-CHAPv2 Response: {sent:02x?}"
    );
    assert!(!client.is_closed());
}

#[test]
fn ip_packets_longer_than_our_mru_are_dropped_at_receipt() {
    // The server asks for MRU 1400 (as sstp-server does) and the client
    // Acks it: a packet longer than that breaks RFC 1661 6.1 and must not
    // reach the TUN or count as received.
    let mut server = ServerConfig::default();
    server.auth_methods = vec![AuthMethod::MsChapV2];
    server.common.mru = Some(1400);
    let mut client = ClientConfig::new(USER, Credential::from_password(PASSWORD));
    client.auth_methods = vec![AuthMethod::MsChapV2];
    let mut pair = Pair::new(server, client);
    pair.connect();
    let before = pair.server.stats();
    let src = Ipv4Addr::new(10, 0, 0, 2);
    let dst = Ipv4Addr::new(192, 0, 2, 1);
    let fits = ipv4(src, dst, &[0x11; 1380]);
    let oversize = ipv4(src, dst, &[0x22; 1381]);
    assert_eq!((fits.len(), oversize.len()), (1400, 1401));
    let mut bytes = data_frame(0x0021, &oversize);
    bytes.extend_from_slice(&data_frame(0x0021, &fits));
    let v6 = ipv6(&[0x33; 1400 - 40 + 1]);
    bytes.extend_from_slice(&data_frame(0x0057, &v6));
    pair.server.handle_input(pair.now, &bytes);
    // (length, first payload byte) of what reaches the TUN: only the one
    // that fits.
    let delivered: Vec<(usize, u8)> =
        std::iter::from_fn(|| pair.server.poll_ip().map(|p| (p.len(), p[20]))).collect();
    assert_eq!(delivered, [(1400, 0x11)]);
    let after = pair.server.stats();
    assert_eq!(after.ip_rx_packets, before.ip_rx_packets + 1);
    assert_eq!(after.ip_rx_bytes, before.ip_rx_bytes + 1400);
    assert_eq!(after.ip_rx_oversize, before.ip_rx_oversize + 2);
    assert_eq!(after.ip_rx_dropped, before.ip_rx_dropped + 2);
    // The call carries on.
    pair.exchange_ipv4();
}

#[test]
fn a_4091_byte_echo_request_is_answered_within_the_peer_mru() {
    // A peer whose MRU 1400 we Acked sends the largest LCP Echo-Request an
    // SSTP data packet carries (4091-byte PPP frame, MS-SSTP 2.2.3). RFC
    // 1661 5.8 requires an answer and 6.1 forbids sending it more than
    // 1400: the Echo-Reply is cut to 1400 bytes, its data a prefix of the
    // request's.
    let mut server = ServerConfig::default();
    server.auth_methods = vec![AuthMethod::MsChapV2];
    let mut client = ClientConfig::new(USER, Credential::from_password(PASSWORD));
    client.auth_methods = vec![AuthMethod::MsChapV2];
    client.common.mru = Some(1400);
    let mut pair = Pair::new(server, client);
    pair.connect();
    let mut echo = vec![0x09, 0x77, 0, 0, 0, 0, 0, 0];
    echo.extend((0..4091 - 4 - 8).map(|i| i as u8));
    let l = echo.len() as u16;
    echo[2..4].copy_from_slice(&l.to_be_bytes());
    let frame = data_frame(0xc021, &echo);
    assert_eq!(frame.len(), 4095, "the largest SSTP packet");
    pair.server.handle_input(pair.now, &frame);
    let mut out = Vec::new();
    assert!(pair.server.poll_transmit(&mut out));
    let sent = ppp_packets(&out);
    assert_eq!(sent.len(), 1, "one answer");
    let (protocol, reply) = &sent[0];
    assert_eq!((*protocol, reply[0], reply[1]), (0xc021, 0x0a, 0x77));
    assert_eq!(reply.len(), 1400);
    assert_eq!(&reply[2..4], &1400u16.to_be_bytes());
    assert_eq!(&reply[8..], &echo[8..1400]);
    // The call carries on.
    pair.client.handle_input(pair.now, &out);
    pair.exchange_ipv4();
}

/// A server and a client that run EAP-TLS (TLS `version`) with the
/// certificates of `pki`, the client trusting `client_trusts`' CA.
fn eap_tls_configs(
    version: &'static rustls::SupportedProtocolVersion,
    pki: &test_pki::Pki,
    client_trusts: &test_pki::Pki,
) -> (ServerConfig, ClientConfig) {
    use rustls::pki_types::ServerName;
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        test_pki::roots(&pki.ca),
        test_pki::provider(),
    )
    .build()
    .expect("verifier");
    let mut server = ServerConfig::default();
    server.auth_methods = vec![AuthMethod::EapTls, AuthMethod::EapMsChapV2];
    server.auth.eap_tls = Some(
        EapTlsServerConfig::new(
            test_pki::provider(),
            verifier,
            vec![pki.server.0.clone()],
            pki.server.1.clone_key(),
        )
        .expect("server config")
        .with_versions(&[version]),
    );
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        test_pki::roots(&client_trusts.ca),
        test_pki::provider(),
    )
    .build()
    .expect("verifier");
    let mut client = ClientConfig::new(USER, Credential::from_password(""));
    client.auth_methods = vec![AuthMethod::EapTls];
    client.auth.eap_tls = Some(
        EapTlsClientConfig::new(
            test_pki::provider(),
            verifier,
            ServerName::try_from("vpn.example").expect("name"),
            vec![pki.client.0.clone()],
            pki.client.1.clone_key(),
        )
        .expect("client config"),
    );
    (server, client)
}

#[test]
fn eap_tls_comes_up_with_the_certificates_user_and_the_msk_binding() {
    let pki = test_pki::pki();
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let (mut server, mut client) = eap_tls_configs(version, &pki, &pki);
        // Small MRUs both ways: the TLS flights travel in many fragments.
        server.common.mru = Some(600);
        client.common.mru = Some(600);
        let mut pair = Pair::new(server, client);
        pair.connect();
        let authenticated = pair.server_events.iter().find_map(|e| match e {
            Event::Authenticated { username, method } => Some((username.clone(), *method)),
            _ => None,
        });
        assert_eq!(
            authenticated,
            Some((CERT_USER.to_owned(), Some(AuthMethod::EapTls))),
            "{version:?}"
        );
        // The binding held: the server checked the client's Compound MAC,
        // keyed from the EAP-TLS MSK on both sides (MS-SSTP 3.2.5.2.2).
        assert_eq!(
            up_config(&pair.server_events).binding,
            Some(HashProtocol::Sha256)
        );
        pair.exchange_ipv4();
    }
}

#[test]
fn eap_tls_refusals_reach_the_client_as_certificate_failures() {
    let (pki, other) = (test_pki::pki(), test_pki::pki_of("another CA"));
    // The client does not trust the server's inner certificate.
    let (server, client) = eap_tls_configs(&rustls::version::TLS13, &pki, &other);
    let mut pair = Pair::new(server, client);
    pair.run_until(Duration::from_secs(60), |p| p.client_down().is_some());
    assert_eq!(
        pair.client_down().map(ToString::to_string),
        Some(
            "authentication failed: certificate authentication failed: the certificate is not from a trusted CA"
                .to_owned()
        )
    );
    assert!(!has_up(&pair.server_events));
    // The server heard who the client said it was, for its logs.
    assert!(
        pair.server_events
            .iter()
            .any(|e| matches!(e, Event::Identity { name } if name == USER))
    );
    // An expired client certificate: the server refuses it.
    let (server, client) = eap_tls_configs(&rustls::version::TLS13, &pki, &pki);
    let mut pair = Pair::new(server, client);
    pair.server
        .set_wall_clock(pair.now, Duration::from_secs(test_pki::AFTER_EXPIRY));
    pair.run_until(Duration::from_secs(60), |p| {
        p.client_down().is_some() && p.server_down().is_some()
    });
    assert_eq!(
        pair.server_down().map(ToString::to_string),
        Some(
            "authentication failed: certificate authentication failed: the certificate has expired"
                .to_owned()
        )
    );
    assert!(!has_up(&pair.client_events));
}

/// The method both ends report is the EAP method that ran, not the first
/// one offered: a client without a certificate Naks EAP-TLS and runs
/// EAP-MSCHAPv2 (RFC 3748 5.3.1); one with a certificate runs EAP-TLS.
#[test]
fn authenticated_names_the_eap_method_that_ran() {
    let pki = test_pki::pki();
    let method_of = |events: &[Event]| {
        events.iter().find_map(|e| match e {
            Event::Authenticated { method, .. } => Some(*method),
            _ => None,
        })
    };
    let (server, _) = eap_tls_configs(&rustls::version::TLS13, &pki, &pki);
    let mut client = ClientConfig::new(USER, Credential::from_password(PASSWORD));
    client.auth_methods = vec![AuthMethod::EapMsChapV2];
    let mut pair = Pair::new(server, client);
    pair.connect();
    assert_eq!(
        method_of(&pair.server_events),
        Some(Some(AuthMethod::EapMsChapV2))
    );
    assert_eq!(
        method_of(&pair.client_events),
        Some(Some(AuthMethod::EapMsChapV2))
    );
    let (server, mut client) = eap_tls_configs(&rustls::version::TLS13, &pki, &pki);
    client.auth_methods = vec![AuthMethod::EapMsChapV2, AuthMethod::EapTls];
    let mut pair = Pair::new(server, client);
    pair.connect();
    assert_eq!(
        method_of(&pair.server_events),
        Some(Some(AuthMethod::EapTls))
    );
    assert_eq!(
        method_of(&pair.client_events),
        Some(Some(AuthMethod::EapTls))
    );
}
