//! Tests of the negotiator with a toy policy: Configure-Request, -Ack, -Nak
//! and -Reject handling (RFC 1661 5.1–5.4), Terminate (5.5),
//! Code-Reject (5.6), Protocol-Reject (5.7), retransmission and failure counters (4.6),
//! two negotiators on one wire, and a proptest feeding arbitrary packets.

use super::testing::*;
use super::*;
use proptest::prelude::*;
use std::time::Duration;

/// A toy policy: requests option 1 with one data byte (`want`); accepts
/// option 1 with value `accept` (else Naks with it); rejects all else.
/// Gives up when its option is rejected if `required`.
#[derive(Debug, Clone)]
struct Toy {
    want: u8,
    accept: u8,
    required: bool,
    requesting: bool,
    acked: Option<u8>,
    peer: Option<u8>,
    resets: u32,
}

impl Toy {
    fn new(want: u8, accept: u8) -> Self {
        Self {
            want,
            accept,
            required: false,
            requesting: true,
            acked: None,
            peer: None,
            resets: 0,
        }
    }
}

impl Policy for Toy {
    fn control_protocol(&self) -> ControlProtocol {
        ControlProtocol::Ipcp
    }
    fn request(&mut self, out: &mut Vec<u8>) {
        if self.requesting {
            out.extend_from_slice(&[1, 3, self.want]);
        }
    }
    fn judge(
        &mut self,
        option: RawOption<'_>,
        _rng: &mut dyn Random,
    ) -> Result<OptionVerdict, NegotiationFailure> {
        Ok(match (option.kind(), option.data()) {
            (1, [v]) if *v == self.accept => OptionVerdict::Ack,
            (1, [_]) => OptionVerdict::Nak(vec![1, 3, self.accept]),
            _ => OptionVerdict::Reject,
        })
    }
    fn peer_acked(&mut self, request: OptionList<'_>) {
        self.peer = request
            .iter()
            .find(|o| o.kind() == 1)
            .and_then(|o| o.data().first().copied());
    }
    fn on_ack(&mut self, options: OptionList<'_>) -> Result<(), NegotiationFailure> {
        self.acked = options
            .iter()
            .next()
            .and_then(|o| o.data().first().copied());
        Ok(())
    }
    fn on_nak(
        &mut self,
        options: OptionList<'_>,
        _rng: &mut dyn Random,
    ) -> Result<(), NegotiationFailure> {
        for o in options.iter() {
            if let (1, [v]) = (o.kind(), o.data()) {
                self.want = *v;
            }
        }
        Ok(())
    }
    fn on_reject(&mut self, _options: OptionList<'_>) -> Result<(), NegotiationFailure> {
        if self.required {
            return Err(NegotiationFailure::NoAddressAssigned);
        }
        self.requesting = false;
        Ok(())
    }
    fn reset(&mut self) {
        self.resets += 1;
    }
}

fn open_single(policy: Toy) -> (Negotiator<Toy>, Instant, Outbox) {
    let now = base();
    let mut n = Negotiator::new(policy, FsmConfig::default());
    let mut out = Outbox::new();
    n.open(now, &mut out);
    n.up(now, &mut out);
    (n, now, out)
}

#[test]
fn first_request_and_events() {
    let (mut n, _, out) = open_single(Toy::new(7, 7));
    assert_eq!(n.state(), State::ReqSent);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].protocol, Protocol::IPCP);
    // Configure-Request id 1, Length 7, option 01 03 07 (RFC 1661 5.1).
    assert_eq!(out[0].packet, [0x01, 0x01, 0x00, 0x07, 0x01, 0x03, 0x07]);
    assert_eq!(n.poll_event(), Some(LayerEvent::Started));
    assert_eq!(n.poll_event(), None);
    assert_eq!(n.policy().resets, 1, "reset on tls");
}

#[test]
fn ack_must_echo_identifier_and_options() {
    let (mut n, now, mut out) = open_single(Toy::new(7, 7));
    out.clear();
    let mut rng = rng(1);
    // Wrong identifier: discarded.
    n.handle_packet(
        now,
        &[0x02, 0x09, 0x00, 0x07, 0x01, 0x03, 0x07],
        &mut rng,
        &mut out,
    );
    // Right identifier, different value: discarded (RFC 1661 5.2).
    n.handle_packet(
        now,
        &[0x02, 0x01, 0x00, 0x07, 0x01, 0x03, 0x08],
        &mut rng,
        &mut out,
    );
    // Right identifier, missing option: discarded.
    n.handle_packet(now, &[0x02, 0x01, 0x00, 0x04], &mut rng, &mut out);
    assert_eq!(n.state(), State::ReqSent);
    assert_eq!(n.stats().discarded, 3);
    // The real Ack, with padding after Length (RFC 1661 section 5).
    n.handle_packet(
        now,
        &[0x02, 0x01, 0x00, 0x07, 0x01, 0x03, 0x07, 0, 0],
        &mut rng,
        &mut out,
    );
    assert_eq!(n.state(), State::AckRcvd);
    assert_eq!(n.policy().acked, Some(7));
    // A duplicate of it is stale now.
    n.handle_packet(
        now,
        &[0x02, 0x01, 0x00, 0x07, 0x01, 0x03, 0x07],
        &mut rng,
        &mut out,
    );
    assert_eq!(n.state(), State::AckRcvd);
    assert_eq!(n.stats().discarded, 4);
    assert!(out.is_empty());
}

#[test]
fn nak_changes_request_and_identifier() {
    let (mut n, now, mut out) = open_single(Toy::new(7, 7));
    out.clear();
    let mut rng = rng(1);
    // Nak with a stale identifier: discarded.
    n.handle_packet(
        now,
        &[0x03, 0x05, 0x00, 0x07, 0x01, 0x03, 0x09],
        &mut rng,
        &mut out,
    );
    assert!(out.is_empty());
    n.handle_packet(
        now,
        &[0x03, 0x01, 0x00, 0x07, 0x01, 0x03, 0x09],
        &mut rng,
        &mut out,
    );
    // RCN in Req-Sent: irc,scr/6, new identifier, new value.
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].packet, [0x01, 0x02, 0x00, 0x07, 0x01, 0x03, 0x09]);
    assert_eq!(n.state(), State::ReqSent);
}

#[test]
fn reject_must_list_sent_options_unmodified() {
    let (mut n, now, mut out) = open_single(Toy::new(7, 7));
    out.clear();
    let mut rng = rng(1);
    // Rejects an option we never sent: discarded.
    n.handle_packet(
        now,
        &[0x04, 0x01, 0x00, 0x06, 0x02, 0x02, 0x00, 0x00],
        &mut rng,
        &mut out,
    );
    n.handle_packet(
        now,
        &[0x04, 0x01, 0x00, 0x07, 0x01, 0x03, 0x08],
        &mut rng,
        &mut out,
    );
    n.handle_packet(now, &[0x04, 0x01, 0x00, 0x04], &mut rng, &mut out);
    assert!(out.is_empty());
    assert_eq!(n.stats().discarded, 3);
    n.handle_packet(
        now,
        &[0x04, 0x01, 0x00, 0x07, 0x01, 0x03, 0x07],
        &mut rng,
        &mut out,
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].packet, [0x01, 0x02, 0x00, 0x04], "option dropped");
}

#[test]
fn required_option_rejected_fails_and_terminates() {
    let mut toy = Toy::new(7, 7);
    toy.required = true;
    let (mut n, now, mut out) = open_single(toy);
    out.clear();
    while n.poll_event().is_some() {}
    let mut rng = rng(1);
    n.handle_packet(
        now,
        &[0x04, 0x01, 0x00, 0x07, 0x01, 0x03, 0x07],
        &mut rng,
        &mut out,
    );
    assert_eq!(n.state(), State::Closing);
    assert_eq!(n.failure(), Some(NegotiationFailure::NoAddressAssigned));
    assert_eq!(
        n.poll_event(),
        Some(LayerEvent::Failed(NegotiationFailure::NoAddressAssigned))
    );
    assert_eq!(out.len(), 1);
    let mut expected = vec![0x05, 0x02, 0x00, 0x24];
    expected.extend_from_slice(b"server did not assign an address");
    assert_eq!(out[0].packet, expected);
    // Terminate-Ack: tlf/2.
    out.clear();
    n.handle_packet(now, &[0x06, 0x02, 0x00, 0x04], &mut rng, &mut out);
    assert_eq!(n.state(), State::Closed);
    assert_eq!(n.poll_event(), Some(LayerEvent::Finished));
}

#[test]
fn peer_request_ack_nak_reject() {
    let (mut n, now, mut out) = open_single(Toy::new(7, 5));
    out.clear();
    let mut rng = rng(1);
    // Unknown option 9 and a Nak-worthy option 1: the Reject wins
    // (RFC 1661 5.3/5.4) and carries option 9 exactly.
    n.handle_packet(
        now,
        &[
            0x01, 0x11, 0x00, 0x0B, 0x01, 0x03, 0x06, 0x09, 0x04, 0xAA, 0xBB,
        ],
        &mut rng,
        &mut out,
    );
    assert_eq!(
        out.pop_front().unwrap().packet,
        [0x04, 0x11, 0x00, 0x08, 0x09, 0x04, 0xAA, 0xBB]
    );
    // Then only the Nak.
    n.handle_packet(
        now,
        &[0x01, 0x12, 0x00, 0x07, 0x01, 0x03, 0x06],
        &mut rng,
        &mut out,
    );
    assert_eq!(
        out.pop_front().unwrap().packet,
        [0x03, 0x12, 0x00, 0x07, 0x01, 0x03, 0x05]
    );
    // A repeated option type is rejected even if its value is fine.
    n.handle_packet(
        now,
        &[0x01, 0x13, 0x00, 0x0A, 0x01, 0x03, 0x05, 0x01, 0x03, 0x05],
        &mut rng,
        &mut out,
    );
    assert_eq!(
        out.pop_front().unwrap().packet,
        [0x04, 0x13, 0x00, 0x07, 0x01, 0x03, 0x05]
    );
    // Acceptable: Ack echoing the request (RFC 1661 5.2).
    n.handle_packet(
        now,
        &[0x01, 0x14, 0x00, 0x07, 0x01, 0x03, 0x05],
        &mut rng,
        &mut out,
    );
    assert_eq!(
        out.pop_front().unwrap().packet,
        [0x02, 0x14, 0x00, 0x07, 0x01, 0x03, 0x05]
    );
    assert_eq!(n.policy().peer, Some(5));
    assert_eq!(n.state(), State::AckSent);
    assert!(out.is_empty());
}

#[test]
fn max_failure_turns_naks_into_rejects() {
    let now = base();
    let config = FsmConfig {
        max_failure: 2,
        ..FsmConfig::default()
    };
    let mut n = Negotiator::new(Toy::new(7, 5), config);
    let mut out = Outbox::new();
    n.open(now, &mut out);
    n.up(now, &mut out);
    out.clear();
    let mut rng = rng(1);
    let request = [0x01, 0x20, 0x00, 0x07, 0x01, 0x03, 0x06];
    for _ in 0..2 {
        n.handle_packet(now, &request, &mut rng, &mut out);
        assert_eq!(out.pop_front().unwrap().packet[0], 0x03, "Nak");
    }
    assert!(n.fsm().max_failure_reached());
    n.handle_packet(now, &request, &mut rng, &mut out);
    // RFC 1661 4.6: a Configure-Reject of the option as received.
    assert_eq!(
        out.pop_front().unwrap().packet,
        [0x04, 0x20, 0x00, 0x07, 0x01, 0x03, 0x06]
    );
}

#[test]
fn unknown_code_is_code_rejected() {
    let (mut n, now, mut out) = open_single(Toy::new(7, 7));
    out.clear();
    let mut rng = rng(1);
    // Echo-Request is not an IPCP code (RFC 1332 section 2): RUC, scj.
    // Padding after Length is not part of the rejected packet.
    let echo = [0x09, 0x05, 0x00, 0x08, 0, 0, 0, 0, 0xEE];
    n.handle_packet(now, &echo, &mut rng, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].packet,
        [0x07, 0x02, 0x00, 0x0C, 0x09, 0x05, 0x00, 0x08, 0, 0, 0, 0]
    );
    // Truncated to the peer's MRU (RFC 1661 5.6).
    out.clear();
    n.set_peer_mru(10);
    let mut big = vec![0x0E, 0x01, 0x00, 0x40];
    big.resize(0x40, 0xAB);
    n.handle_packet(now, &big, &mut rng, &mut out);
    assert_eq!(out[0].packet.len(), 10);
    assert_eq!(&out[0].packet[..4], &[0x07, 0x03, 0x00, 0x0A]);
    assert_eq!(&out[0].packet[4..], &big[..6]);
}

#[test]
fn received_code_rejects() {
    let (mut n, now, mut out) = open_single(Toy::new(7, 7));
    out.clear();
    while n.poll_event().is_some() {}
    let mut rng = rng(1);
    // Code-Reject of code 12 (not essential): RXJ+.
    n.handle_packet(
        now,
        &[0x07, 0x01, 0x00, 0x08, 0x0C, 0x01, 0x00, 0x04],
        &mut rng,
        &mut out,
    );
    assert_eq!(n.poll_event(), Some(LayerEvent::CodeRejected(Code(12))));
    assert_eq!(n.state(), State::ReqSent);
    // Empty Code-Reject: malformed.
    n.handle_packet(now, &[0x07, 0x02, 0x00, 0x04], &mut rng, &mut out);
    assert_eq!(n.stats().malformed, 1);
    // Code-Reject of Configure-Request: RXJ-, tlf/3.
    n.handle_packet(
        now,
        &[0x07, 0x03, 0x00, 0x08, 0x01, 0x01, 0x00, 0x04],
        &mut rng,
        &mut out,
    );
    assert_eq!(n.state(), State::Stopped);
    assert_eq!(
        n.poll_event(),
        Some(LayerEvent::Failed(NegotiationFailure::CodeRejected(
            Code::CONFIGURE_REQUEST
        )))
    );
    assert_eq!(n.poll_event(), Some(LayerEvent::Finished));
    assert!(out.is_empty());
}

#[test]
fn packets_while_down_are_discarded() {
    let now = base();
    let mut n = Negotiator::new(Toy::new(7, 7), FsmConfig::default());
    let mut out = Outbox::new();
    let mut rng = rng(1);
    n.handle_packet(now, &[0x01, 0x01, 0x00, 0x04], &mut rng, &mut out);
    n.handle_packet(now, &[0x01], &mut rng, &mut out);
    assert_eq!(n.stats().discarded, 1);
    assert_eq!(n.stats().malformed, 1);
    assert!(out.is_empty());
    assert_eq!(n.state(), State::Initial);
}

#[test]
fn closed_answers_requests_with_terminate_ack() {
    let now = base();
    let mut n = Negotiator::new(Toy::new(7, 7), FsmConfig::default());
    let mut out = Outbox::new();
    let mut rng = rng(1);
    n.up(now, &mut out);
    assert_eq!(n.state(), State::Closed);
    n.handle_packet(
        now,
        &[0x01, 0x33, 0x00, 0x07, 0x01, 0x03, 0x07],
        &mut rng,
        &mut out,
    );
    // RFC 1661 4.2 Closed: Terminate-Ack with the request's identifier.
    assert_eq!(out[0].packet, [0x06, 0x33, 0x00, 0x04]);
}

#[test]
fn pair_negotiates_through_nak() {
    let mut wire = Wire::new(Toy::new(1, 2), Toy::new(3, 1));
    wire.start();
    wire.run();
    assert!(wire.a.is_opened() && wire.b.is_opened());
    // A asks for 1, which B accepts; B asks for 3, A Naks with 2.
    assert_eq!(wire.a.policy().acked, Some(1));
    assert_eq!(wire.b.policy().peer, Some(1));
    assert_eq!(wire.b.policy().acked, Some(2), "B took A's Nak");
    assert_eq!(wire.a.policy().peer, Some(2));
    assert_eq!(wire.sent_by(Side::A, Code::CONFIGURE_NAK).len(), 1);
    assert_eq!(wire.events_a, [LayerEvent::Started, LayerEvent::Up]);
    assert_eq!(wire.events_b, [LayerEvent::Started, LayerEvent::Up]);
}

#[test]
fn retransmission_keeps_identifier_until_answered() {
    let t0 = base();
    let mut wire = Wire::new(Toy::new(1, 1), Toy::new(1, 1));
    wire.now = t0;
    // Lose A's first two requests.
    let mut lost = 0;
    wire.deliver = Box::new(move |side, p| {
        if side == Side::A && p[0] == 1 && lost < 2 {
            lost += 1;
            return false;
        }
        true
    });
    wire.start();
    wire.run();
    assert!(wire.a.is_opened() && wire.b.is_opened());
    let requests = wire.sent_by(Side::A, Code::CONFIGURE_REQUEST);
    assert_eq!(requests.len(), 3);
    assert!(
        requests.iter().all(|r| r == &requests[0]),
        "same id and bytes"
    );
    assert!(wire.now >= t0 + Duration::from_secs(6));
}

#[test]
fn terminate_from_either_side() {
    for closer in [Side::A, Side::B] {
        let mut wire = Wire::new(Toy::new(1, 1), Toy::new(1, 1));
        wire.start();
        wire.run();
        match closer {
            Side::A => wire.with_a(|n, now, out| n.close(now, "bye", out)),
            Side::B => wire.with_b(|n, now, out| n.close(now, "bye", out)),
        }
        wire.run();
        let (closing, other) = match closer {
            Side::A => (&wire.a, &wire.b),
            Side::B => (&wire.b, &wire.a),
        };
        assert_eq!(closing.state(), State::Closed);
        assert_eq!(other.state(), State::Stopped);
        let requests = wire.sent_by(closer, Code::TERMINATE_REQUEST);
        assert_eq!(&requests[0][4..], b"bye");
        for events in [&wire.events_a, &wire.events_b] {
            assert_eq!(
                events,
                &[
                    LayerEvent::Started,
                    LayerEvent::Up,
                    LayerEvent::Down,
                    LayerEvent::Finished
                ]
            );
        }
    }
}

#[test]
fn max_configure_exhaustion_fails() {
    let t0 = base();
    let config = FsmConfig {
        max_configure: 3,
        ..FsmConfig::default()
    };
    let mut wire = Wire::with_config(Toy::new(1, 1), Toy::new(1, 1), config, FsmConfig::default());
    wire.now = t0;
    wire.deliver = Box::new(|_, _| false);
    wire.with_a(|n, now, out| {
        n.open(now, out);
        n.up(now, out);
    });
    wire.run();
    assert_eq!(wire.a.state(), State::Stopped);
    assert_eq!(wire.sent_by(Side::A, Code::CONFIGURE_REQUEST).len(), 3);
    assert_eq!(wire.a.failure(), Some(NegotiationFailure::NoResponse));
    assert_eq!(
        wire.events_a,
        [
            LayerEvent::Started,
            LayerEvent::Failed(NegotiationFailure::NoResponse),
            LayerEvent::Finished
        ]
    );
    assert_eq!(wire.now, t0 + Duration::from_secs(9));
}

#[test]
fn protocol_rejected_stops_silently() {
    let mut wire = Wire::new(Toy::new(1, 1), Toy::new(1, 1));
    wire.start();
    wire.run();
    wire.events_a.clear();
    let before = wire.sent.len();
    wire.with_a(|n, now, out| n.protocol_rejected(now, out));
    assert_eq!(wire.sent.len(), before, "nothing sent");
    assert_eq!(wire.a.state(), State::Initial);
    assert_eq!(
        wire.events_a,
        [
            LayerEvent::Failed(NegotiationFailure::ProtocolRejected),
            LayerEvent::Down,
            LayerEvent::Finished
        ]
    );
}

#[test]
#[allow(clippy::type_complexity)] // a table of (setup, state, events)
fn protocol_rejected_from_every_state_sends_nothing() {
    // (state reached, expected events after the Failed event)
    let cases: [(
        fn(&mut Negotiator<Toy>, Instant, &mut Outbox),
        State,
        &[LayerEvent],
    ); 4] = [
        (|n, now, out| n.up(now, out), State::Closed, &[]),
        (
            |n, now, out| {
                n.up(now, out);
                n.open(now, out);
            },
            State::ReqSent,
            &[LayerEvent::Finished],
        ),
        (
            |n, now, out| {
                n.up(now, out);
                n.open(now, out);
                n.close(now, "x", out);
            },
            State::Closing,
            &[LayerEvent::Finished],
        ),
        (
            |n, now, out| {
                n.up(now, out);
                n.open(now, out);
                // Max-Configure (10) timeouts, 3 s apart: TO- to Stopped.
                for i in 1..=20 {
                    n.handle_timeout(now + Duration::from_secs(3 * i), out);
                }
            },
            State::Stopped,
            &[],
        ),
    ];
    for (setup, state, expected) in cases {
        let now = base();
        let mut n = Negotiator::new(Toy::new(1, 1), FsmConfig::default());
        let mut out = Outbox::new();
        setup(&mut n, now, &mut out);
        assert_eq!(n.state(), state);
        while n.poll_event().is_some() {}
        out.clear();
        n.protocol_rejected(now, &mut out);
        assert!(out.is_empty(), "{state}: nothing sent");
        assert_eq!(n.state(), State::Initial);
        assert_eq!(
            n.poll_event(),
            Some(LayerEvent::Failed(NegotiationFailure::ProtocolRejected))
        );
        let rest: Vec<_> = std::iter::from_fn(|| n.poll_event()).collect();
        assert_eq!(rest, expected, "{state}");
    }
}

#[test]
fn helpers() {
    let mut zeros = ScriptedRng::cycling(&[0]);
    assert_ne!(random_nonzero_u32(&mut zeros, 0), 0);
    assert_ne!(random_nonzero_u32(&mut zeros, 5), 5);
    let mut same = ScriptedRng::cycling(&[0, 0, 0, 5]);
    assert_ne!(random_nonzero_u32(&mut same, 5), 5);
    assert_ne!(random_nonzero_id(&mut zeros, [0; 8]), [0; 8]);
    assert_ne!(random_nonzero_id(&mut zeros, [1; 8]), [1; 8]);
    let list = [1, 3, 7, 2, 4, 0, 0, 9, 2];
    assert_eq!(cut_options(&list, 9), &list);
    assert_eq!(cut_options(&list, 8), &list[..7]);
    assert_eq!(cut_options(&list, 6), &list[..3]);
    assert_eq!(cut_options(&list, 2), &[] as &[u8]);
    let sent = OptionList::parse(&list).unwrap();
    let sub = |b: &[u8]| is_subsequence(OptionList::parse(b).unwrap(), sent);
    assert!(sub(&[1, 3, 7, 9, 2]));
    assert!(!sub(&[9, 2, 1, 3, 7]), "order matters");
    assert!(!sub(&[1, 3, 8]), "modified");
    assert!(!sub(&[1, 3, 7, 1, 3, 7]), "listed twice");
}

proptest! {
    /// Arbitrary bytes and arbitrary well-formed packets into a
    /// negotiator in any state never panic, and each call queues a
    /// bounded number of bounded packets.
    #[test]
    fn arbitrary_packets_never_panic(
        packets in proptest::collection::vec(
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..40),
                (1u8..=14, any::<u8>(), proptest::collection::vec(any::<u8>(), 0..24))
                    .prop_map(|(code, id, data)| {
                        let mut p = vec![code, id];
                        p.extend_from_slice(&u16::try_from(data.len() + 4).unwrap().to_be_bytes());
                        p.extend_from_slice(&data);
                        p
                    }),
            ],
            0..40,
        ),
        opens in any::<bool>(),
        ticks in proptest::collection::vec(0u64..4000, 0..40),
    ) {
        let mut now = base();
        let mut n = Negotiator::new(Toy::new(1, 2), FsmConfig::default());
        let mut out = Outbox::new();
        let mut rng = rng(7);
        if opens {
            n.open(now, &mut out);
        }
        n.up(now, &mut out);
        for (i, p) in packets.iter().enumerate() {
            out.clear();
            n.handle_packet(now, p, &mut rng, &mut out);
            if let Some(ms) = ticks.get(i) {
                now += Duration::from_millis(*ms);
                n.handle_timeout(now, &mut out);
            }
            prop_assert!(out.len() <= 4);
            for f in &out {
                prop_assert!(f.packet.len() <= usize::from(DEFAULT_MRU).max(p.len() + 4));
                prop_assert!(CpPacket::parse(&f.packet, ControlProtocol::Ipcp).is_ok());
            }
            while n.poll_event().is_some() {}
        }
    }
}
