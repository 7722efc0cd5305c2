//! Two sessions back to back in memory.

use std::net::Ipv4Addr;
use std::time::Instant;

use sstp_core::Session as _;
use sstp_core::{
    AddressLease, AuthMethod, CertHashes, ClientConfig, ClientSession, Credential, Event,
    ServerConfig, ServerSession,
};

use crate::{base, boxed_rng};

/// A `ClientSession` and a `ServerSession` joined back to back in memory on
/// a clock that stands still: what a bench or an allocation count needs to
/// bring a call up and then push packets through it.
///
/// The server answers authentication from the stored credential and leases
/// 10.0.0.1 (itself) and 10.0.0.2 (the client). sstp-core's own session
/// tests have a richer pair over its private types (lost and rewritten
/// bytes, deferred verdicts, moving time); this one is for code that sees
/// only the public API.
#[derive(Debug)]
pub struct Pair {
    /// The client end.
    pub client: ClientSession,
    /// The server end.
    pub server: ServerSession,
    /// The instant every call is given.
    pub now: Instant,
    stored: Credential,
    wire: Vec<u8>,
}

impl Pair {
    /// The user the client logs in as.
    pub const USER: &str = "alice";
    /// Its password, known to both ends.
    pub const PASSWORD: &str = "pw";

    /// Both ends with default configurations offering only `method`.
    pub fn new(method: AuthMethod) -> Self {
        let mut server = ServerConfig::default();
        server.auth_methods = vec![method];
        let mut client = ClientConfig::new(Self::USER, Credential::from_password(Self::PASSWORD));
        client.auth_methods = vec![method];
        Self::with_configs(&server, &client, Credential::from_password(Self::PASSWORD))
    }

    /// Both ends from the given configurations; the server checks the
    /// client against `stored`. The client seeds its RNG with 1, the server
    /// with 2.
    pub fn with_configs(server: &ServerConfig, client: &ClientConfig, stored: Credential) -> Self {
        let now = base();
        let cert = CertHashes::from_der(b"sstp-testkit certificate");
        Self {
            client: ClientSession::new(client, cert.clone(), now, boxed_rng(1)),
            server: ServerSession::new(server, cert, now, boxed_rng(2)),
            now,
            stored,
            wire: Vec::with_capacity(64 * 1024),
        }
    }

    /// Brings the call up: rounds until both ends have reported `Up`, at
    /// most 100. Returns whether they did.
    pub fn connect(&mut self) -> bool {
        let mut ups = 0;
        for _ in 0..100 {
            ups += self.round();
            if ups >= 2 {
                return true;
            }
        }
        false
    }

    /// Runs `rounds` rounds and returns how many `Up` events the two ends
    /// reported in all, so a call that came up once on both sides, and
    /// stayed up, gives 2.
    pub fn run(&mut self, rounds: usize) -> usize {
        (0..rounds).map(|_| self.round()).sum()
    }

    /// One round: each end's bytes to the other, then each end's events
    /// (the server answers authentication and address requests). Returns
    /// how many `Up` events came.
    pub fn round(&mut self) -> usize {
        let mut ups = 0;
        self.wire.clear();
        if self.client.poll_transmit(&mut self.wire) {
            self.server.handle_input(self.now, &self.wire);
        }
        self.wire.clear();
        if self.server.poll_transmit(&mut self.wire) {
            self.client.handle_input(self.now, &self.wire);
        }
        while let Some(event) = self.client.poll_event() {
            ups += usize::from(matches!(event, Event::Up(_)));
        }
        while let Some(event) = self.server.poll_event() {
            match event {
                Event::Authenticate(request) => {
                    let verdict = request.verify_with(&self.stored);
                    self.server.auth_complete(self.now, verdict);
                }
                Event::NeedAddresses { .. } => self.server.assign_addresses(
                    self.now,
                    AddressLease::new(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)),
                ),
                Event::Up(_) => ups += 1,
                _ => {}
            }
        }
        ups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_comes_up_once_on_both_sides() {
        for method in [
            AuthMethod::Pap,
            AuthMethod::ChapMd5,
            AuthMethod::MsChapV2,
            AuthMethod::EapMsChapV2,
        ] {
            let mut pair = Pair::new(method);
            assert!(pair.connect(), "{method}");
            assert_eq!(pair.run(20), 0, "{method}: up once, and it stays up");
            let packet = crate::ipv4(
                Ipv4Addr::new(10, 0, 0, 2),
                Ipv4Addr::new(10, 0, 0, 1),
                b"up",
            );
            assert!(pair.client.send_ip(&packet).is_ok());
        }
    }

    #[test]
    fn a_wrong_password_never_comes_up() {
        let server = ServerConfig::default();
        let client = ClientConfig::new(Pair::USER, Credential::from_password("wrong"));
        let mut pair = Pair::with_configs(&server, &client, Credential::from_password("pw"));
        assert!(!pair.connect());
        assert_eq!(pair.run(20), 0);
    }
}
