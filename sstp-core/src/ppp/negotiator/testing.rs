//! Shared test support for the control protocols (negotiator, LCP, IPCP,
//! IPv6CP tests): two negotiators wired together on virtual time, with the
//! crate's test clock and RNGs.
//!
//! `Wire` joins two `Negotiator`s packet by packet; the session tests'
//! `Pair` joins two whole sessions byte stream to byte stream. They stay
//! apart because a negotiator test must see each packet and lose it at
//! will, below SSTP framing and authentication.

use super::*;
use std::time::Duration;

use rand_chacha::ChaCha20Rng;

pub(crate) use crate::testing::{ScriptedRng, base, rng};

/// Which negotiator of a [`Wire`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    A,
    B,
}

impl Side {
    pub(crate) fn other(self) -> Self {
        match self {
            Self::A => Self::B,
            Self::B => Self::A,
        }
    }
}

/// A decision on one packet in flight: deliver or lose it.
pub(crate) type Filter = Box<dyn FnMut(Side, &[u8]) -> bool>;

/// Two negotiators joined by an in-memory wire on virtual time.
pub(crate) struct Wire<A: Policy, B: Policy> {
    pub(crate) now: Instant,
    pub(crate) a: Negotiator<A>,
    pub(crate) b: Negotiator<B>,
    pub(crate) rng_a: ChaCha20Rng,
    pub(crate) rng_b: ChaCha20Rng,
    /// (destination, packet)
    pub(crate) in_flight: VecDeque<(Side, Vec<u8>)>,
    /// Every packet sent, by sender, in order.
    pub(crate) sent: Vec<(Side, Vec<u8>)>,
    pub(crate) events_a: Vec<LayerEvent>,
    pub(crate) events_b: Vec<LayerEvent>,
    /// Returns `false` to lose a packet sent by the given side.
    pub(crate) deliver: Filter,
}

impl<A: Policy, B: Policy> Wire<A, B> {
    pub(crate) fn new(a: A, b: B) -> Self {
        Self::with_config(a, b, FsmConfig::default(), FsmConfig::default())
    }

    pub(crate) fn with_config(a: A, b: B, ca: FsmConfig, cb: FsmConfig) -> Self {
        Self {
            now: base(),
            a: Negotiator::new(a, ca),
            b: Negotiator::new(b, cb),
            rng_a: rng(0x1234_5678_9ABC_DEF1),
            rng_b: rng(0x0FED_CBA9_8765_4321),
            in_flight: VecDeque::new(),
            sent: Vec::new(),
            events_a: Vec::new(),
            events_b: Vec::new(),
            deliver: Box::new(|_, _| true),
        }
    }

    /// Moves what `side` queued onto the wire and collects its events.
    pub(crate) fn flush(&mut self, side: Side, out: &mut Outbox) {
        let protocol = match side {
            Side::A => self.a.protocol(),
            Side::B => self.b.protocol(),
        };
        for frame in out.drain(..) {
            assert_eq!(frame.protocol, protocol);
            assert!(frame.packet.len() <= MAX_PACKET_LEN);
            self.sent.push((side, frame.packet.clone()));
            if (self.deliver)(side, &frame.packet) {
                self.in_flight.push_back((side.other(), frame.packet));
            }
        }
        match side {
            Side::A => {
                while let Some(e) = self.a.poll_event() {
                    self.events_a.push(e);
                }
            }
            Side::B => {
                while let Some(e) = self.b.poll_event() {
                    self.events_b.push(e);
                }
            }
        }
    }

    /// Runs `f` on one side's negotiator with a fresh outbox, then
    /// flushes.
    pub(crate) fn with_a(&mut self, f: impl FnOnce(&mut Negotiator<A>, Instant, &mut Outbox)) {
        let mut out = Outbox::new();
        f(&mut self.a, self.now, &mut out);
        self.flush(Side::A, &mut out);
    }

    pub(crate) fn with_b(&mut self, f: impl FnOnce(&mut Negotiator<B>, Instant, &mut Outbox)) {
        let mut out = Outbox::new();
        f(&mut self.b, self.now, &mut out);
        self.flush(Side::B, &mut out);
    }

    /// Up and Open on both sides (A first).
    pub(crate) fn start(&mut self) {
        self.with_a(|n, now, out| {
            n.open(now, out);
            n.up(now, out);
        });
        self.with_b(|n, now, out| {
            n.open(now, out);
            n.up(now, out);
        });
    }

    /// Delivers one packet in flight; `false` if none.
    pub(crate) fn step(&mut self) -> bool {
        let Some((to, packet)) = self.in_flight.pop_front() else {
            return false;
        };
        let mut out = Outbox::new();
        match to {
            Side::A => self
                .a
                .handle_packet(self.now, &packet, &mut self.rng_a, &mut out),
            Side::B => self
                .b
                .handle_packet(self.now, &packet, &mut self.rng_b, &mut out),
        }
        self.flush(to, &mut out);
        true
    }

    /// Delivers everything in flight, without advancing time.
    pub(crate) fn settle(&mut self) {
        for _ in 0..10_000 {
            if !self.step() {
                return;
            }
        }
        panic!("wire did not settle");
    }

    /// Delivers and jumps to timer deadlines until nothing is in
    /// flight and no timer runs, or `limit` of virtual time passed.
    pub(crate) fn run_for(&mut self, limit: Duration) {
        let end = self.now + limit;
        for _ in 0..10_000 {
            self.settle();
            let next = [self.a.poll_timeout(), self.b.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let Some(next) = next else { return };
            if next > end {
                return;
            }
            self.now = self.now.max(next);
            self.with_a(|n, now, out| n.handle_timeout(now, out));
            self.with_b(|n, now, out| n.handle_timeout(now, out));
        }
        panic!("wire did not settle");
    }

    /// [`run_for`](Self::run_for) ten minutes of virtual time.
    pub(crate) fn run(&mut self) {
        self.run_for(Duration::from_secs(600));
    }

    /// Packets sent by `side` with `code`.
    pub(crate) fn sent_by(&self, side: Side, code: Code) -> Vec<Vec<u8>> {
        self.sent
            .iter()
            .filter(|(s, p)| *s == side && p.first() == Some(&code.0))
            .map(|(_, p)| p.clone())
            .collect()
    }
}
