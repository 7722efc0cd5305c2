//! Fuzz harness for the RFC 1661 automaton ([`crate::ppp::fsm`]): arbitrary
//! event sequences on virtual time, checked against the automaton's
//! invariants. There is no wire format here, so instead of a round-trip
//! oracle the asserts are the invariants:
//!
//! - never a panic, whatever the sequence;
//! - the Restart counter stays within `max(Max-Configure, Max-Terminate)` and
//!   the failure counter within Max-Failure (RFC 1661 section 4.6);
//! - nothing is sent while the lower layer is Down (Initial, Starting), nor
//!   in answer to Down;
//! - the Restart timer runs exactly in Closing, Stopping, Req-Sent, Ack-Rcvd
//!   and Ack-Sent (section 4.2), and never lies in the past after
//!   `handle_timeout`;
//! - an illegal event changes nothing; a timeout is never illegal;
//! - `tlu` exactly when entering Opened, `tld` exactly when leaving it.
//!
//! Input layout: byte 0 is the configuration (see `config_from`); then
//! pairs of (operation, time step). The time step advances virtual time by
//! `step * 100 ms` before the operation. Operation `op % 18`: `0..=15` is
//! `Event::ALL[op]` fed to `handle`; `16` calls `handle_timeout`; `17` jumps
//! to the Restart timer deadline (if any) and calls `handle_timeout`.

use std::time::{Duration, Instant};

use crate::ppp::fsm::{Action, Actions, Event, Fsm, FsmConfig, State};

/// Virtual time unit of the time-step byte.
const TICK: Duration = Duration::from_millis(100);

/// Runs one input; see the module documentation for the layout.
pub fn fsm_events(data: &[u8]) {
    let _ = run(data);
}

/// The harness proper; returns the automaton at the end (for seed tests).
fn run(data: &[u8]) -> Option<Fsm> {
    let (&config_byte, rest) = data.split_first()?;
    let mut fsm = Fsm::new(config_from(config_byte));
    let mut now = base_instant();

    for pair in rest.chunks_exact(2) {
        let &[op, step] = pair else { continue };
        now = now.checked_add(TICK * u32::from(step)).unwrap_or(now);
        let from = fsm.state();
        let (event, actions) = match op % 18 {
            16 => (None, fsm.handle_timeout(now)),
            17 => {
                if let Some(deadline) = fsm.poll_timeout() {
                    now = now.max(deadline);
                }
                (None, fsm.handle_timeout(now))
            }
            index => {
                let event = Event::ALL
                    .get(usize::from(index))
                    .copied()
                    .unwrap_or(Event::Up);
                (Some(event), fsm.handle(now, event))
            }
        };
        check(&fsm, from, event, &actions, now);
    }
    Some(fsm)
}

/// Byte 0: bit 0 passive option, bit 1 restart option, bits 2-3
/// Max-Terminate (0..=3), bits 4-5 Max-Configure (0..=3), bit 6 Max-Failure
/// 1 (else 2); bit 7 keeps the RFC default maxima instead (10, 2, 5).
/// Small maxima reach counter exhaustion in a few steps.
fn config_from(byte: u8) -> FsmConfig {
    let defaults = FsmConfig::default();
    let small = byte & 0x80 == 0;
    FsmConfig {
        name: "fuzz",
        passive: byte & 0x01 != 0,
        restart_option: byte & 0x02 != 0,
        max_terminate: if small {
            u32::from((byte >> 2) & 0x03)
        } else {
            defaults.max_terminate
        },
        max_configure: if small {
            u32::from((byte >> 4) & 0x03)
        } else {
            defaults.max_configure
        },
        max_failure: match (small, byte & 0x40 != 0) {
            (false, _) => defaults.max_failure,
            (true, true) => 1,
            (true, false) => 2,
        },
        ..defaults
    }
}

/// The base of virtual time. The automaton only compares instants derived
/// from this one, so the result is deterministic whatever the clock says.
#[allow(clippy::disallowed_methods)] // The one clock read: a base for virtual time.
fn base_instant() -> Instant {
    Instant::now()
}

fn check(fsm: &Fsm, from: State, event: Option<Event>, actions: &Actions, now: Instant) {
    let to = fsm.state();
    let config = fsm.config();

    assert!(fsm.restart_counter() <= config.max_configure.max(config.max_terminate));
    assert!(fsm.failures() <= config.max_failure);

    assert_eq!(
        fsm.poll_timeout().is_some(),
        to.restart_timer_runs(),
        "timer rule in {to}"
    );
    // A timeout call leaves no deadline in the past. (An event may arrive
    // after a deadline the driver has not processed yet; that is allowed.)
    if let (None, Some(deadline)) = (event, fsm.poll_timeout()) {
        assert!(deadline >= now, "deadline in the past after handle_timeout");
    }

    if actions.has_send() {
        assert!(to.lower_layer_up(), "send while entering {to}");
        assert!(
            from.lower_layer_up() || event == Some(Event::Up),
            "send from {from}"
        );
        assert_ne!(event, Some(Event::Down), "send on Down");
    }
    if actions.is_illegal() {
        assert!(event.is_some(), "a timeout is never illegal");
        assert!(actions.is_empty());
        assert_eq!(from, to);
    }
    assert_eq!(
        actions.contains(Action::Tlu),
        to == State::Opened && from != State::Opened
    );
    assert_eq!(
        actions.contains(Action::Tld),
        from == State::Opened && to != State::Opened
    );
    assert!(actions.len() <= 3);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed seeds (fuzz/corpus/fsm_events), replayed.
    const SEEDS: &[&[u8]] = &[
        include_bytes!("../../../fuzz/corpus/fsm_events/negotiate_to_opened.bin"),
        include_bytes!("../../../fuzz/corpus/fsm_events/max_configure_exhaustion.bin"),
        include_bytes!("../../../fuzz/corpus/fsm_events/close_max_terminate.bin"),
        include_bytes!("../../../fuzz/corpus/fsm_events/opened_rtr_zrc.bin"),
        include_bytes!("../../../fuzz/corpus/fsm_events/illegal_events.bin"),
        include_bytes!("../../../fuzz/corpus/fsm_events/restart_option.bin"),
        include_bytes!("../../../fuzz/corpus/fsm_events/passive_option.bin"),
        include_bytes!("../../../fuzz/corpus/fsm_events/crossed_connection.bin"),
        include_bytes!("../../../fuzz/corpus/fsm_events/nak_loop_max_failure.bin"),
        include_bytes!("../../../fuzz/corpus/fsm_events/all_events_rfc_defaults.bin"),
    ];

    #[test]
    fn seeds_replay() {
        for seed in SEEDS {
            assert!(seed.len() > 1);
            fsm_events(seed);
        }
    }

    /// The seeds reach the states their names promise.
    #[test]
    fn seeds_reach_their_states() {
        let end = |seed: &[u8]| run(seed).map(|f| f.state());
        assert_eq!(end(SEEDS[0]), Some(State::Opened), "negotiate_to_opened");
        assert_eq!(
            end(SEEDS[1]),
            Some(State::Stopped),
            "max_configure_exhaustion"
        );
        assert_eq!(end(SEEDS[2]), Some(State::Initial), "close_max_terminate");
        assert_eq!(end(SEEDS[3]), Some(State::Starting), "opened_rtr_zrc");
        assert_eq!(end(SEEDS[5]), Some(State::ReqSent), "restart_option");
        assert_eq!(end(SEEDS[6]), Some(State::Opened), "passive_option");
        assert_eq!(end(SEEDS[7]), Some(State::ReqSent), "crossed_connection");
        assert_eq!(end(SEEDS[8]), Some(State::ReqSent), "nak_loop_max_failure");
        let nak = run(SEEDS[8]).map(|f| f.max_failure_reached());
        assert_eq!(
            nak,
            Some(true),
            "Max-Failure 1 reached again after the last RCR-"
        );
    }

    #[test]
    fn degenerate_inputs() {
        fsm_events(&[]);
        fsm_events(&[0xff]);
        fsm_events(&[0x00, 0x06]); // odd tail ignored
        fsm_events(&[0x00, 0xff, 0xff, 0xff, 0xff]);
    }

    /// A deterministic sweep of pseudo-random inputs (xorshift), so plain
    /// `cargo test` exercises the harness beyond the seeds.
    #[test]
    fn pseudo_random_inputs() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut buf = [0u8; 257];
        for _ in 0..500 {
            for b in &mut buf {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x.to_le_bytes()[0];
            }
            fsm_events(&buf);
        }
    }

    #[test]
    fn config_byte_layout() {
        let c = config_from(0b0101_1011);
        assert!(c.passive && c.restart_option);
        assert_eq!((c.max_terminate, c.max_configure, c.max_failure), (2, 1, 1));
        let d = config_from(0x80);
        assert_eq!(
            (d.max_terminate, d.max_configure, d.max_failure),
            (
                FsmConfig::default().max_terminate,
                FsmConfig::default().max_configure,
                5
            )
        );
    }
}
