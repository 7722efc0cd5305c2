//! One EAP-TLS conversation as the EAP layer sees it, the same in both
//! roles: EAP-TLS packets in, the next EAP-TLS packet out (RFC 5216 §2.1).
//!
//! Each side speaks in turn. A received packet is either an
//! acknowledgement of our last fragment (then the next fragment goes), a
//! fragment of the other side's flight (then an acknowledgement goes), or
//! the last fragment of it: the whole flight goes into TLS, and TLS's
//! answer goes out in fragments. When TLS has nothing to answer, the
//! answer is an empty packet: the peer's final acknowledgement of the
//! server's last flight (RFC 5216 §2.1.1, RFC 9190 §2.1.1).

use crate::wire::auth::EapTls;

use super::fragments::{FragmentError, Incoming, Outgoing, Reassembled};
use super::tls::{TlsEngine, TlsFailure};

/// What the EAP layer does next.
#[derive(Debug)]
pub(crate) enum Next {
    /// Send this EAP-TLS packet (in a Request from the server, a Response
    /// from the peer).
    Send(EapTls),
    /// The other side acknowledged our last fragment and TLS has nothing
    /// more to say. For the server, after a handshake that is
    /// established, this is the moment to decide (RFC 5216 §2.1.1: the
    /// peer's empty Response to the server's last flight).
    Quiet,
    /// TLS failed. The alert (if rustls made one) goes to the other side in
    /// an EAP-TLS packet (RFC 5216 §2.1.3); then the conversation is over.
    Failed {
        /// The alert, as an EAP-TLS packet, if there is one to send.
        alert: Option<EapTls>,
        /// What TLS said.
        error: rustls::Error,
    },
    /// The other side's fragments broke the rules (too long, endless).
    BadFragments(FragmentError),
}

/// The EAP-TLS state of one side.
#[derive(Debug)]
pub(crate) struct Exchange {
    engine: TlsEngine,
    incoming: Incoming,
    outgoing: Option<Outgoing>,
    fragment: usize,
}

impl Exchange {
    /// An exchange over `engine`, fragments of at most `fragment` bytes of
    /// TLS data out, at most `limit` bytes of TLS flight in.
    pub(crate) fn new(engine: TlsEngine, fragment: usize, limit: usize) -> Self {
        Self {
            engine,
            incoming: Incoming::new(limit),
            outgoing: None,
            fragment,
        }
    }

    /// The TLS engine (keys, the peer's certificates, the version).
    pub(crate) fn engine(&self) -> &TlsEngine {
        &self.engine
    }

    /// The peer's first packet: its ClientHello, in fragments (the answer
    /// to the server's EAP-TLS Start).
    pub(crate) fn client_hello(&mut self) -> Next {
        let hello = self.engine.take_output();
        self.send(hello)
    }

    /// Takes the other side's packet and says what to send.
    pub(crate) fn handle(&mut self, packet: &EapTls) -> Next {
        let is_ack = packet.data.is_empty()
            && !packet.more_fragments
            && !packet.start
            && !self.incoming.in_progress();
        if is_ack {
            return match self.outgoing.as_mut().and_then(Outgoing::next_fragment) {
                Some(fragment) => Next::Send(fragment),
                None => {
                    self.outgoing = None;
                    Next::Quiet
                }
            };
        }
        // The other side speaks: whatever we still had to say is moot
        // (it would have acknowledged instead).
        self.outgoing = None;
        match self.incoming.push(packet) {
            Err(e) => Next::BadFragments(e),
            Ok(Reassembled::More) => Next::Send(EapTls::ack()),
            Ok(Reassembled::Complete(flight)) => match self.engine.handle_flight(&flight) {
                Ok(answer) => self.send(answer),
                Err(TlsFailure { error, alert }) => Next::Failed {
                    alert: (!alert.is_empty()).then(|| EapTls::fragment(alert, false, None)),
                    error,
                },
            },
        }
    }

    /// Starts sending `flight` (an empty one is a bare acknowledgement).
    fn send(&mut self, flight: Vec<u8>) -> Next {
        let mut outgoing = Outgoing::new(flight, self.fragment);
        let first = outgoing.next_fragment().unwrap_or_default();
        self.outgoing = (!outgoing.is_done()).then_some(outgoing);
        Next::Send(first)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use rustls::pki_types::{ServerName, UnixTime};
    use rustls::version::{TLS12, TLS13};

    use super::super::tls::WallClock;
    use super::super::tls::tests::{TODAY, client_config, pki, server_config};
    use super::*;

    fn pair(
        version: &'static rustls::SupportedProtocolVersion,
        fragment: usize,
        limit: usize,
    ) -> (Exchange, Exchange) {
        let pki = pki();
        let clock = Arc::new(WallClock::default());
        clock.set(UnixTime::since_unix_epoch(Duration::from_secs(TODAY)));
        let server = TlsEngine::server(server_config(&pki, version, &clock)).unwrap();
        let client = TlsEngine::client(
            client_config(&pki, version, &clock),
            ServerName::try_from("vpn.example").unwrap(),
        )
        .unwrap();
        (
            Exchange::new(server, fragment, limit),
            Exchange::new(client, fragment, limit),
        )
    }

    /// Plays the EAP-TLS conversation after the Start: the peer's packet,
    /// the server's answer, and so on, until the server goes quiet.
    /// Returns the packets each side sent.
    fn converse(server: &mut Exchange, peer: &mut Exchange) -> (Vec<EapTls>, Vec<EapTls>) {
        let (mut from_server, mut from_peer) = (Vec::new(), Vec::new());
        let Next::Send(mut packet) = peer.client_hello() else {
            panic!("no ClientHello");
        };
        for _ in 0..100 {
            from_peer.push(packet.clone());
            let answer = match server.handle(&packet) {
                Next::Send(answer) => answer,
                Next::Quiet => return (from_server, from_peer),
                other => panic!("server: {other:?}"),
            };
            from_server.push(answer.clone());
            packet = match peer.handle(&answer) {
                Next::Send(p) => p,
                other => panic!("peer: {other:?}"),
            };
        }
        panic!("no end after 100 round trips");
    }

    #[test]
    fn tls13_in_small_fragments_ends_with_the_peers_empty_response() {
        let (mut server, mut peer) = pair(&TLS13, 300, 64 * 1024);
        let (from_server, from_peer) = converse(&mut server, &mut peer);
        assert!(server.engine().is_established() && peer.engine().is_established());
        // Every packet kept to the fragment size, and fragmentation happened.
        assert!(
            from_server
                .iter()
                .chain(&from_peer)
                .all(|p| p.data.len() <= 300)
        );
        assert!(
            from_server
                .iter()
                .any(|p| p.more_fragments && p.message_length.is_some())
        );
        assert!(
            from_peer
                .iter()
                .any(|p| p.more_fragments && p.message_length.is_some())
        );
        // The peer's last word is the empty acknowledgement of the
        // server's success indication.
        assert_eq!(from_peer.last(), Some(&EapTls::ack()));
        let (s, p) = (
            server.engine().keys().unwrap(),
            peer.engine().keys().unwrap(),
        );
        assert_eq!(s.msk.as_bytes(), p.msk.as_bytes());
    }

    #[test]
    fn tls12_unfragmented_takes_the_rfc_5216_round_trips() {
        let (mut server, mut peer) = pair(&TLS12, 16 * 1024, 64 * 1024);
        let (from_server, from_peer) = converse(&mut server, &mut peer);
        // RFC 5216 §2.1.1's example, after the Start: ClientHello;
        // ServerHello..Done; Certificate..Finished; ChangeCipherSpec and
        // Finished; the empty Response.
        assert_eq!(from_peer.len(), 3);
        assert_eq!(from_server.len(), 2);
        assert!(
            from_server
                .iter()
                .chain(&from_peer)
                .all(|p| !p.more_fragments)
        );
        assert!(server.engine().is_established() && peer.engine().is_established());
    }

    #[test]
    fn a_flight_over_the_limit_is_refused() {
        // The server's certificate flight is well over 200 bytes.
        let (mut server, mut peer) = pair(&TLS13, 100, 200);
        let Next::Send(hello) = peer.client_hello() else {
            panic!()
        };
        // The ClientHello itself passes 200 bytes on the server's side.
        let mut next = server.handle(&hello);
        let mut rounds = 0;
        while let Next::Send(ack) = next {
            rounds += 1;
            assert!(rounds < 10, "no refusal");
            assert_eq!(ack, EapTls::ack());
            let Next::Send(fragment) = peer.handle(&ack) else {
                panic!()
            };
            next = server.handle(&fragment);
        }
        assert!(
            matches!(next, Next::BadFragments(FragmentError::TooLong { .. })),
            "{next:?}"
        );
    }
}
