//! The IPv6CP option policy (RFC 5072), the same at both ends of the
//! tunnel: it negotiates the 64-bit Interface-Identifiers that make the two
//! link-local addresses (`fe80::/64` + identifier, RFC 5072 section 5).
//!
//! - We ask for Interface-Identifier = a random non-zero value drawn at
//!   construction, or the configured one.
//! - The peer's identifier is Acked unless it is zero or equal to ours;
//!   then a Configure-Nak suggests a fresh random non-zero value (RFC 5072
//!   4.1).
//! - A Nak of ours is taken if its suggestion is non-zero and differs from
//!   the peer's own identifier; otherwise we draw a new random one.
//! - A Reject of the Interface-Identifier fails the negotiation
//!   ([`NegotiationFailure::InterfaceIdentifierRejected`]): no link-local
//!   address can be formed.
//! - IPv6-Compression-Protocol (RFC 5072 4.2) and unknown options are
//!   rejected.

use std::net::Ipv6Addr;

use super::Random;
#[cfg(test)]
use super::negotiator::Negotiator;
use super::negotiator::{NegotiationFailure, OptionVerdict, Policy, random_nonzero_id};
use crate::wire::cp::{ControlProtocol, OptionList, RawOption};
use crate::wire::options::{ConfigOption, Ipv6cpOption};

/// IPv6CP driven by [`Ipv6cpPolicy`].
#[cfg(test)]
pub(crate) type Ipv6cp = Negotiator<Ipv6cpPolicy>;

/// IPv6CP settings.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Ipv6cpConfig {
    /// Our Interface-Identifier; `None` (or all zero) draws a random one.
    pub interface_id: Option<[u8; 8]>,
}

/// What IPv6CP agreed on.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Config {
    /// Our Interface-Identifier.
    pub local_id: [u8; 8],
    /// Our link-local address, `fe80::` + `local_id`.
    pub local: Ipv6Addr,
    /// The peer's Interface-Identifier, if it sent one.
    pub peer_id: Option<[u8; 8]>,
    /// The peer's link-local address.
    pub peer: Option<Ipv6Addr>,
}

/// The link-local address for an Interface-Identifier (RFC 5072 section 5,
/// RFC 4291 2.5.6: `fe80::/64` then the 64-bit identifier).
#[must_use]
pub(crate) fn link_local(interface_id: [u8; 8]) -> Ipv6Addr {
    Ipv6Addr::from((0xfe80_u128 << 112) | u128::from(u64::from_be_bytes(interface_id)))
}

/// The IPv6CP option policy; see the [module documentation](self).
#[derive(Debug, Clone)]
pub(crate) struct Ipv6cpPolicy {
    config: Ipv6cpConfig,
    /// Our identifier (never zero).
    local_id: [u8; 8],
    /// The peer's identifier in its latest request.
    peer_seen: Option<[u8; 8]>,
    /// Our request was Acked with this identifier.
    ours: Option<[u8; 8]>,
    /// We Acked the peer's request (with this identifier, if any).
    peer: Option<Option<[u8; 8]>>,
}

impl Ipv6cpPolicy {
    /// A policy using the configured identifier, or a random one from
    /// `rng`.
    pub(crate) fn new(config: Ipv6cpConfig, rng: &mut dyn Random) -> Self {
        let local_id = match config.interface_id {
            Some(id) if id != [0; 8] => id,
            _ => random_nonzero_id(rng, [0; 8]),
        };
        Self {
            config,
            local_id,
            peer_seen: None,
            ours: None,
            peer: None,
        }
    }

    /// The identifier we currently ask for.
    #[must_use]
    #[cfg(test)]
    pub(crate) fn interface_id(&self) -> [u8; 8] {
        self.local_id
    }

    /// The agreed addresses, once both requests were acknowledged.
    #[must_use]
    pub(crate) fn negotiated(&self) -> Option<Ipv6Config> {
        let local_id = self.ours?;
        let peer_id = self.peer?;
        Some(Ipv6Config {
            local_id,
            local: link_local(local_id),
            peer_id,
            peer: peer_id.map(link_local),
        })
    }

    fn nak_with(id: [u8; 8]) -> OptionVerdict {
        let option = Ipv6cpOption::InterfaceIdentifier(id);
        let mut out = Vec::with_capacity(option.buffer_len());
        option.emit(&mut out);
        OptionVerdict::Nak(out)
    }
}

impl Policy for Ipv6cpPolicy {
    fn control_protocol(&self) -> ControlProtocol {
        ControlProtocol::Ipv6cp
    }

    fn request(&mut self, out: &mut Vec<u8>) {
        Ipv6cpOption::InterfaceIdentifier(self.local_id).emit(out);
    }

    fn judge(
        &mut self,
        option: RawOption<'_>,
        rng: &mut dyn Random,
    ) -> Result<OptionVerdict, NegotiationFailure> {
        Ok(match Ipv6cpOption::from_raw(option) {
            Ipv6cpOption::InterfaceIdentifier(id) => {
                self.peer_seen = Some(id);
                if id == [0; 8] || id == self.local_id {
                    // RFC 5072 4.1: suggest a different non-zero value.
                    Self::nak_with(random_nonzero_id(rng, self.local_id))
                } else {
                    OptionVerdict::Ack
                }
            }
            _ => OptionVerdict::Reject,
        })
    }

    fn peer_acked(&mut self, request: OptionList<'_>) {
        let id = request
            .iter()
            .find_map(|o| match Ipv6cpOption::from_raw(o) {
                Ipv6cpOption::InterfaceIdentifier(id) => Some(id),
                _ => None,
            });
        self.peer = Some(id);
    }

    fn on_ack(&mut self, options: OptionList<'_>) -> Result<(), NegotiationFailure> {
        let acked = options
            .iter()
            .find_map(|o| match Ipv6cpOption::from_raw(o) {
                Ipv6cpOption::InterfaceIdentifier(id) => Some(id),
                _ => None,
            });
        self.ours = Some(acked.unwrap_or(self.local_id));
        Ok(())
    }

    fn on_nak(
        &mut self,
        options: OptionList<'_>,
        rng: &mut dyn Random,
    ) -> Result<(), NegotiationFailure> {
        for option in options.iter().map(Ipv6cpOption::from_raw) {
            if let Ipv6cpOption::InterfaceIdentifier(suggested) = option {
                self.local_id = if suggested != [0; 8] && Some(suggested) != self.peer_seen {
                    suggested
                } else {
                    random_nonzero_id(rng, self.peer_seen.unwrap_or(self.local_id))
                };
                break;
            }
        }
        Ok(())
    }

    fn on_reject(&mut self, options: OptionList<'_>) -> Result<(), NegotiationFailure> {
        let rejected = options.iter().any(|o| {
            matches!(
                Ipv6cpOption::from_raw(o),
                Ipv6cpOption::InterfaceIdentifier(_)
            )
        });
        if rejected {
            return Err(NegotiationFailure::InterfaceIdentifierRejected);
        }
        Ok(())
    }

    fn reset(&mut self) {
        if let Some(id) = self.config.interface_id.filter(|id| *id != [0; 8]) {
            self.local_id = id;
        }
        self.peer_seen = None;
        self.ours = None;
        self.peer = None;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::ppp::Outbox;
    use crate::ppp::fsm::FsmConfig;
    use crate::ppp::negotiator::LayerEvent;
    use crate::ppp::negotiator::testing::*;
    use crate::wire::cp::{Code, CpPacket};
    use proptest::prelude::*;
    use std::time::Duration;

    /// pppd's IPv6CP Configure-Request `<addr fe80::5100:82ab:af79:6c55>`
    /// (espressif/esp-protocols#565 log; the `wire::options` fixture
    /// `PPPD_IPV6CP_CONFREQ`).
    const PPPD_CONFREQ: &str = "0101000e 010a510082abaf796c55";

    /// SoftEther's Configure-Nak to `f349:cafe:fff3:49c8` (interop README;
    /// fixture `SOFTETHER_IPV6CP_CONFNAK`).
    const SOFTETHER_CONFNAK: &str = "0301000e 010af349cafefff349c8";

    const OURS: [u8; 8] = [0x02, 0, 0, 0, 0, 0, 0, 0x01];

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    fn started(id: Option<[u8; 8]>) -> (Ipv6cp, std::time::Instant, Outbox) {
        let now = base();
        let config = Ipv6cpConfig { interface_id: id };
        let policy = Ipv6cpPolicy::new(config, &mut rng(4));
        let mut n = Negotiator::new(policy, FsmConfig::default());
        let mut out = Outbox::new();
        n.open(now, &mut out);
        n.up(now, &mut out);
        (n, now, out)
    }

    #[test]
    fn link_local_addresses() {
        assert_eq!(
            link_local(hex("510082abaf796c55").try_into().unwrap()),
            "fe80::5100:82ab:af79:6c55".parse::<Ipv6Addr>().unwrap()
        );
    }

    #[test]
    fn requests_configured_or_random_identifier() {
        let (_, _, out) = started(Some(OURS));
        assert_eq!(out[0].packet, hex("0101000e 010a0200000000000001"));
        let (n, _, out) = started(None);
        let id = n.policy().interface_id();
        assert_ne!(id, [0; 8]);
        assert_eq!(&out[0].packet[6..], &id);
        let (n, _, _) = started(Some([0; 8]));
        assert_ne!(n.policy().interface_id(), [0; 8], "zero means random");
    }

    #[test]
    fn takes_softether_nak() {
        let (mut n, now, mut out) = started(Some(OURS));
        out.clear();
        n.handle_packet(now, &hex(SOFTETHER_CONFNAK), &mut rng(1), &mut out);
        assert_eq!(
            out.pop_front().unwrap().packet,
            hex("0102000e 010af349cafefff349c8")
        );
    }

    #[test]
    fn nak_equal_to_peer_or_zero_draws_fresh() {
        let (mut n, now, mut out) = started(Some(OURS));
        out.clear();
        let mut rng = rng(1);
        // The peer asks for 5100:82ab:af79:6c55 (Acked) ...
        n.handle_packet(now, &hex(PPPD_CONFREQ), &mut rng, &mut out);
        assert_eq!(out.pop_front().unwrap().packet[0], 2);
        // ... then suggests that very value for us: not taken.
        n.handle_packet(
            now,
            &hex("0301000e 010a510082abaf796c55"),
            &mut rng,
            &mut out,
        );
        let id = n.policy().interface_id();
        assert_ne!(id, hex("510082abaf796c55")[..]);
        assert_ne!(id, [0; 8]);
        // A zero suggestion is not taken either.
        out.clear();
        n.handle_packet(
            now,
            &hex("0302000e 010a0000000000000000"),
            &mut rng,
            &mut out,
        );
        assert_ne!(n.policy().interface_id(), [0; 8]);
    }

    #[test]
    fn peer_zero_or_equal_is_nakked() {
        let (mut n, now, mut out) = started(Some(OURS));
        out.clear();
        let mut rng = rng(1);
        for (id, request) in [
            (5, "0105000e 010a0000000000000000"),
            (6, "0106000e 010a0200000000000001"),
        ] {
            n.handle_packet(now, &hex(request), &mut rng, &mut out);
            let nak = out.pop_front().unwrap().packet;
            assert_eq!(&nak[..6], &[0x03, id, 0x00, 0x0e, 0x01, 0x0a]);
            assert_ne!(&nak[6..], &[0; 8]);
            assert_ne!(&nak[6..], &OURS);
        }
        // Compression (IPHC 0061, RFC 5172) is rejected as received.
        n.handle_packet(now, &hex("0107000a 02060061abcd"), &mut rng, &mut out);
        assert_eq!(
            out.pop_front().unwrap().packet,
            hex("0407000a 02060061abcd")
        );
    }

    #[test]
    fn reject_of_identifier_fails() {
        let (mut n, now, mut out) = started(Some(OURS));
        out.clear();
        n.handle_packet(
            now,
            &hex("0401000e 010a0200000000000001"),
            &mut rng(1),
            &mut out,
        );
        assert_eq!(
            n.failure(),
            Some(NegotiationFailure::InterfaceIdentifierRejected)
        );
        assert!(
            std::iter::from_fn(|| n.poll_event())
                .any(|e| e == LayerEvent::Failed(NegotiationFailure::InterfaceIdentifierRejected))
        );
    }

    fn pair(a: Ipv6cpPolicy, b: Ipv6cpPolicy) -> Wire<Ipv6cpPolicy, Ipv6cpPolicy> {
        let mut wire = Wire::new(a, b);
        wire.start();
        wire.run();
        wire
    }

    #[test]
    fn pair_negotiates_link_locals() {
        let wire = pair(
            Ipv6cpPolicy::new(Ipv6cpConfig::default(), &mut rng(1)),
            Ipv6cpPolicy::new(Ipv6cpConfig::default(), &mut rng(2)),
        );
        assert!(wire.a.is_opened() && wire.b.is_opened());
        let (a, b) = (
            wire.a.policy().negotiated().unwrap(),
            wire.b.policy().negotiated().unwrap(),
        );
        assert_eq!(a.peer, Some(b.local));
        assert_eq!(b.peer, Some(a.local));
        assert_ne!(a.local, b.local);
        assert!(wire.sent_by(Side::A, Code::CONFIGURE_NAK).is_empty());
    }

    #[test]
    fn pair_resolves_collision() {
        let same = Ipv6cpConfig {
            interface_id: Some(OURS),
        };
        let wire = pair(
            Ipv6cpPolicy::new(same.clone(), &mut rng(1)),
            Ipv6cpPolicy::new(same, &mut rng(2)),
        );
        assert!(wire.a.is_opened() && wire.b.is_opened());
        let (a, b) = (
            wire.a.policy().negotiated().unwrap(),
            wire.b.policy().negotiated().unwrap(),
        );
        assert_ne!(a.local_id, b.local_id);
        assert_eq!(a.peer_id, Some(b.local_id));
        assert_eq!(b.peer_id, Some(a.local_id));
        assert!(!wire.sent_by(Side::A, Code::CONFIGURE_NAK).is_empty());
    }

    proptest! {
        #[test]
        fn arbitrary_packets_never_panic(
            packets in proptest::collection::vec(
                (1u8..=9, any::<u8>(), proptest::collection::vec(
                    (0u8..=3, proptest::collection::vec(any::<u8>(), 0..10)),
                    0..4,
                ))
                    .prop_map(|(code, id, opts)| {
                        let mut data = Vec::new();
                        for (kind, body) in opts {
                            data.push(kind);
                            data.push(u8::try_from(body.len() + 2).unwrap());
                            data.extend_from_slice(&body);
                        }
                        let mut p = vec![code, id];
                        p.extend_from_slice(&u16::try_from(data.len() + 4).unwrap().to_be_bytes());
                        p.extend_from_slice(&data);
                        p
                    }),
                0..60,
            ),
            ticks in proptest::collection::vec(0u64..5000, 0..60),
        ) {
            let (mut n, mut now, mut out) = started(None);
            let mut rng = rng(3);
            for (i, p) in packets.iter().enumerate() {
                out.clear();
                n.handle_packet(now, p, &mut rng, &mut out);
                if let Some(ms) = ticks.get(i) {
                    now += Duration::from_millis(*ms);
                    n.handle_timeout(now, &mut out);
                }
                prop_assert!(out.len() <= 4);
                for f in &out {
                    prop_assert!(f.packet.len() <= 1500usize.max(p.len() + 8));
                    prop_assert!(CpPacket::parse(&f.packet, ControlProtocol::Ipv6cp).is_ok());
                }
                prop_assert_ne!(n.policy().interface_id(), [0; 8]);
                while n.poll_event().is_some() {}
            }
        }
    }
}
