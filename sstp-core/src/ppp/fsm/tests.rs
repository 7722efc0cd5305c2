//! Tests of the RFC 1661 section 4 automaton: every cell of the state
//! table (4.1) against the transcription in `states.txt`, the Restart timer
//! and counters (4.6), two automata wired together on virtual time, and
//! proptests of the invariants.

use super::*;
use proptest::prelude::*;
use std::collections::VecDeque;

use crate::testing::base;

/// An automaton put directly in `state`, with a running timer where the
/// state has one, as if it had got there by itself.
fn fsm_in(state: State, config: FsmConfig, now: Instant) -> Fsm {
    let mut fsm = Fsm::new(config);
    fsm.state = state;
    fsm.restart_counter = 1;
    if state.restart_timer_runs() {
        fsm.arm(now);
    }
    fsm
}

// ------------------------------------------------------------------
// The whole table against an independent transcription (states.txt).
// ------------------------------------------------------------------

/// Expected cell parsed from the text table: None is illegal.
#[derive(Debug)]
struct TextCell {
    actions: Vec<Action>,
    next: State,
    footnote: Option<char>,
}

fn action_from_abbrev(s: &str) -> Action {
    [
        Action::Tlu,
        Action::Tld,
        Action::Tls,
        Action::Tlf,
        Action::Irc,
        Action::Zrc,
        Action::Scr,
        Action::Sca,
        Action::Scn,
        Action::Str,
        Action::Sta,
        Action::Scj,
        Action::Ser,
    ]
    .into_iter()
    .find(|a| a.abbrev() == s)
    .unwrap_or_else(|| panic!("unknown action {s:?} in states.txt"))
}

fn parse_text_cell(token: &str) -> Option<TextCell> {
    if token == "-" {
        return None;
    }
    let (actions, target) = match token.split_once('/') {
        Some((a, t)) => (a.split(',').map(action_from_abbrev).collect(), t),
        None => (Vec::new(), token),
    };
    let mut chars = target.chars();
    let digit = chars
        .next()
        .and_then(|c| c.to_digit(10))
        .expect("state digit");
    let footnote = chars.next();
    assert!(chars.next().is_none(), "bad cell {token:?}");
    Some(TextCell {
        actions,
        next: State::ALL[digit as usize],
        footnote,
    })
}

/// Every (event, state) cell of the RFC table as written in states.txt.
fn text_table() -> Vec<(Event, Vec<Option<TextCell>>)> {
    let text = include_str!("../states.txt");
    let mut rows = Vec::new();
    for line in text.lines() {
        let Some((label, cells)) = line.split_once('|') else {
            continue;
        };
        let Some(event) = Event::ALL.into_iter().find(|e| e.abbrev() == label.trim()) else {
            continue;
        };
        let cells: Vec<_> = cells.split_whitespace().map(parse_text_cell).collect();
        assert_eq!(cells.len(), 10, "row {label:?} must have 10 cells");
        rows.push((event, cells));
    }
    rows
}

#[test]
fn text_table_has_every_event_once() {
    let rows = text_table();
    assert_eq!(rows.len(), 16);
    for (row, event) in rows.iter().zip(Event::ALL) {
        assert_eq!(row.0, event);
    }
    let cells: usize = rows.iter().map(|r| r.1.len()).sum();
    assert_eq!(cells, 160);
}

/// All 160 cells with the default configuration (no passive, no restart
/// option): actions, next state, flags, and the timer rule.
#[test]
fn every_cell_matches_the_rfc_table() {
    let now = base();
    let mut illegal = 0;
    for (event, cells) in text_table() {
        for (state, expected) in State::ALL.into_iter().zip(cells) {
            let mut fsm = fsm_in(state, FsmConfig::default(), now);
            let got = fsm.handle(now, event);
            let cell = format!("{state}/{event}");
            match expected {
                None => {
                    illegal += 1;
                    assert!(got.is_illegal(), "{cell} must be illegal");
                    assert!(got.is_empty(), "{cell}: no actions when illegal");
                    assert_eq!(fsm.state(), state, "{cell}: no transition when illegal");
                }
                Some(text) => {
                    assert!(!got.is_illegal(), "{cell} must be legal");
                    assert_eq!(got.as_slice(), &text.actions[..], "{cell} actions");
                    assert_eq!(fsm.state(), text.next, "{cell} next state");
                    assert_eq!(
                        got.is_crossed_connection(),
                        text.footnote == Some('x'),
                        "{cell} crossed flag"
                    );
                    if let Some(f) = text.footnote {
                        assert!("prx".contains(f), "{cell}: unknown footnote {f}");
                    }
                }
            }
            assert!(got.len() <= 3, "{cell}: at most three actions");
            assert_eq!(
                fsm.poll_timeout().is_some(),
                fsm.state().restart_timer_runs(),
                "{cell}: timer runs exactly in Closing..Ack-Sent"
            );
        }
    }
    // 40 dashes in the RFC 1661 table.
    assert_eq!(illegal, 40);
}

#[test]
fn footnoted_cells_are_where_the_rfc_puts_them() {
    let mut found: Vec<(char, State, Event)> = Vec::new();
    for (event, cells) in text_table() {
        for (state, cell) in State::ALL.into_iter().zip(cells) {
            if let Some(f) = cell.and_then(|c| c.footnote) {
                found.push((f, state, event));
            }
        }
    }
    use Event as E;
    use State as S;
    let want = vec![
        ('r', S::Stopped, E::Open),
        ('r', S::Closing, E::Open),
        ('r', S::Stopping, E::Open),
        ('r', S::Opened, E::Open),
        ('p', S::ReqSent, E::TimeoutMinus),
        ('p', S::AckRcvd, E::TimeoutMinus),
        ('p', S::AckSent, E::TimeoutMinus),
        ('x', S::AckRcvd, E::Rca),
        ('x', S::Opened, E::Rca),
        ('x', S::AckRcvd, E::Rcn),
        ('x', S::Opened, E::Rcn),
    ];
    assert_eq!(found, want);
}

// ------------------------------------------------------------------
// Hand-written cells that matter, including the footnoted options.
// ------------------------------------------------------------------

fn run(state: State, event: Event, config: FsmConfig) -> (Actions, Fsm) {
    let now = base();
    let mut fsm = fsm_in(state, config, now);
    let actions = fsm.handle(now, event);
    (actions, fsm)
}

fn check(state: State, event: Event, actions: &[Action], next: State) {
    let (got, fsm) = run(state, event, FsmConfig::default());
    assert_eq!(got.as_slice(), actions, "{state}/{event}");
    assert_eq!(fsm.state(), next, "{state}/{event}");
    assert!(!got.is_illegal());
}

#[test]
fn opening_cells() {
    use Action::*;
    check(State::Initial, Event::Up, &[], State::Closed);
    check(State::Initial, Event::Open, &[Tls], State::Starting);
    check(State::Starting, Event::Up, &[Irc, Scr], State::ReqSent);
    check(State::Closed, Event::Open, &[Irc, Scr], State::ReqSent);
    check(State::ReqSent, Event::RcrPlus, &[Sca], State::AckSent);
    check(State::ReqSent, Event::RcrMinus, &[Scn], State::ReqSent);
    check(State::ReqSent, Event::Rca, &[Irc], State::AckRcvd);
    check(State::ReqSent, Event::Rcn, &[Irc, Scr], State::ReqSent);
    check(State::AckRcvd, Event::RcrPlus, &[Sca, Tlu], State::Opened);
    check(State::AckRcvd, Event::RcrMinus, &[Scn], State::AckRcvd);
    check(State::AckSent, Event::Rca, &[Irc, Tlu], State::Opened);
    check(State::AckSent, Event::Rcn, &[Irc, Scr], State::AckSent);
    check(State::AckSent, Event::RcrMinus, &[Scn], State::ReqSent);
    check(
        State::Stopped,
        Event::RcrPlus,
        &[Irc, Scr, Sca],
        State::AckSent,
    );
    check(
        State::Stopped,
        Event::RcrMinus,
        &[Irc, Scr, Scn],
        State::ReqSent,
    );
}

#[test]
fn opened_cells() {
    use Action::*;
    check(State::Opened, Event::Down, &[Tld], State::Starting);
    check(
        State::Opened,
        Event::Close,
        &[Tld, Irc, Str],
        State::Closing,
    );
    check(
        State::Opened,
        Event::RcrPlus,
        &[Tld, Scr, Sca],
        State::AckSent,
    );
    check(
        State::Opened,
        Event::RcrMinus,
        &[Tld, Scr, Scn],
        State::ReqSent,
    );
    check(State::Opened, Event::Rtr, &[Tld, Zrc, Sta], State::Stopping);
    check(State::Opened, Event::Rta, &[Tld, Scr], State::ReqSent);
    check(State::Opened, Event::Ruc, &[Scj], State::Opened);
    check(State::Opened, Event::RxjPlus, &[], State::Opened);
    check(
        State::Opened,
        Event::RxjMinus,
        &[Tld, Irc, Str],
        State::Stopping,
    );
    check(State::Opened, Event::Rxr, &[Ser], State::Opened);
    check(State::Opened, Event::Open, &[], State::Opened);
}

#[test]
fn closing_and_terminating_cells() {
    use Action::*;
    check(State::Starting, Event::Close, &[Tlf], State::Initial);
    check(State::Stopped, Event::Down, &[Tls], State::Starting);
    check(State::Stopped, Event::Close, &[], State::Closed);
    check(State::Closing, Event::Rta, &[Tlf], State::Closed);
    check(State::Stopping, Event::Rta, &[Tlf], State::Stopped);
    check(State::Closing, Event::Open, &[], State::Stopping);
    check(State::Stopping, Event::Close, &[], State::Closing);
    check(State::Closing, Event::Rtr, &[Sta], State::Closing);
    check(State::Closing, Event::RcrPlus, &[], State::Closing);
    check(State::Closed, Event::RcrPlus, &[Sta], State::Closed);
    check(State::Closed, Event::Rta, &[], State::Closed);
    check(State::ReqSent, Event::Close, &[Irc, Str], State::Closing);
    check(State::AckRcvd, Event::Rtr, &[Sta], State::ReqSent);
    check(State::AckRcvd, Event::RxjPlus, &[], State::ReqSent);
    check(State::AckSent, Event::RxjMinus, &[Tlf], State::Stopped);
    check(State::Closing, Event::RxjMinus, &[Tlf], State::Closed);
}

#[test]
fn illegal_events_change_nothing_and_never_panic() {
    let now = base();
    for (state, event) in [
        (State::Initial, Event::RcrPlus),
        (State::Starting, Event::Down),
        (State::Opened, Event::Up),
        (State::Opened, Event::TimeoutPlus),
        (State::Closed, Event::TimeoutMinus),
    ] {
        let mut fsm = fsm_in(state, FsmConfig::default(), now);
        let before = (fsm.restart_counter(), fsm.failures(), fsm.poll_timeout());
        let got = fsm.handle(now, event);
        assert!(got.is_illegal());
        assert!(got.is_empty());
        assert_eq!(fsm.state(), state);
        assert_eq!(
            (fsm.restart_counter(), fsm.failures(), fsm.poll_timeout()),
            before
        );
    }
}

#[test]
fn crossed_connection_is_flagged_and_renegotiates() {
    use Action::*;
    for (state, event, actions) in [
        (State::AckRcvd, Event::Rca, &[Scr][..]),
        (State::AckRcvd, Event::Rcn, &[Scr][..]),
        (State::Opened, Event::Rca, &[Tld, Scr][..]),
        (State::Opened, Event::Rcn, &[Tld, Scr][..]),
    ] {
        let (got, fsm) = run(state, event, FsmConfig::default());
        assert!(got.is_crossed_connection(), "{state}/{event}");
        assert_eq!(got.as_slice(), actions);
        assert_eq!(fsm.state(), State::ReqSent);
    }
    let (got, _) = run(State::ReqSent, Event::Rca, FsmConfig::default());
    assert!(!got.is_crossed_connection());
}

#[test]
fn passive_option_drops_tlf_on_to_minus_in_negotiating_states() {
    let config = FsmConfig {
        passive: true,
        ..FsmConfig::default()
    };
    for state in [State::ReqSent, State::AckRcvd, State::AckSent] {
        let (got, fsm) = run(state, Event::TimeoutMinus, config.clone());
        assert!(got.is_empty(), "{state}: no tlf with the passive option");
        assert_eq!(fsm.state(), State::Stopped);
        assert_eq!(fsm.poll_timeout(), None);
    }
    // Closing and Stopping are not footnoted: tlf stays.
    let (got, fsm) = run(State::Stopping, Event::TimeoutMinus, config);
    assert_eq!(got.as_slice(), &[Action::Tlf]);
    assert_eq!(fsm.state(), State::Stopped);
}

#[test]
fn restart_option_composes_open_down_up() {
    use Action::*;
    let config = FsmConfig {
        restart_option: true,
        ..FsmConfig::default()
    };
    for (state, actions) in [
        (State::Opened, &[Tld, Irc, Scr][..]),
        (State::Stopped, &[Tls, Irc, Scr][..]),
        (State::Stopping, &[Irc, Scr][..]),
        (State::Closing, &[Irc, Scr][..]),
    ] {
        let (got, fsm) = run(state, Event::Open, config.clone());
        assert_eq!(got.as_slice(), actions, "{state}/Open with restart option");
        assert!(!got.is_illegal());
        assert_eq!(fsm.state(), State::ReqSent);
        assert_eq!(fsm.restart_counter(), DEFAULT_MAX_CONFIGURE - 1);
        assert!(fsm.poll_timeout().is_some());
    }
    // Unmarked cells are unaffected.
    for state in [
        State::Initial,
        State::Starting,
        State::Closed,
        State::ReqSent,
    ] {
        let (plain, a) = run(state, Event::Open, FsmConfig::default());
        let (restart, b) = run(state, Event::Open, config.clone());
        assert_eq!(plain, restart);
        assert_eq!(a.state(), b.state());
    }
}

#[test]
fn actions_api() {
    let (got, _) = run(State::Opened, Event::Close, FsmConfig::default());
    assert_eq!(got.len(), 3);
    assert!(got.contains(Action::Str));
    assert!(!got.contains(Action::Scr));
    assert!(got.has_send());
    assert_eq!(got.to_string(), "tld,irc,str");
    let by_value: Vec<Action> = got.into_iter().collect();
    assert_eq!(by_value, [Action::Tld, Action::Irc, Action::Str]);
    let by_ref: Vec<Action> = (&got).into_iter().copied().collect();
    assert_eq!(by_ref, by_value);
    let empty = Actions::default();
    assert!(empty.is_empty() && !empty.has_send() && empty.to_string().is_empty());
    assert_eq!(State::ReqSent.to_string(), "Req-Sent");
    assert_eq!(Event::RxjMinus.to_string(), "RXJ-");
    assert_eq!(State::Opened.number(), 9);
}

#[test]
fn actions_never_overflow() {
    let mut a = Actions::new();
    for _ in 0..10 {
        a.push(Action::Scr);
    }
    assert_eq!(a.len(), ACTIONS_CAPACITY);
}

// ------------------------------------------------------------------
// Counters and timer (section 4.6).
// ------------------------------------------------------------------

/// Up + Open from Initial: Req-Sent with one scr sent.
fn started(config: FsmConfig, now: Instant) -> Fsm {
    let mut fsm = Fsm::new(config);
    assert!(fsm.handle(now, Event::Up).is_empty());
    let got = fsm.handle(now, Event::Open);
    assert_eq!(got.as_slice(), &[Action::Irc, Action::Scr]);
    fsm
}

#[test]
fn new_automaton_is_initial_and_idle() {
    let fsm = Fsm::new(FsmConfig::default());
    assert_eq!(fsm.state(), State::Initial);
    assert!(!fsm.is_opened());
    assert_eq!(fsm.poll_timeout(), None);
    assert_eq!(fsm.restart_counter(), 0);
    assert_eq!(fsm.failures(), 0);
    assert_eq!(fsm.config(), &FsmConfig::default());
}

#[test]
fn max_configure_exhaustion_gives_tlf_and_stopped() {
    let t0 = base();
    let mut fsm = started(FsmConfig::default(), t0);
    assert_eq!(fsm.restart_counter(), DEFAULT_MAX_CONFIGURE - 1);
    let mut sent = 1;
    let mut now = t0;
    loop {
        let deadline = fsm.poll_timeout().expect("timer runs in Req-Sent");
        assert_eq!(
            deadline,
            now + DEFAULT_RESTART_TIMER,
            "timer re-armed on each scr"
        );
        now = deadline;
        let got = fsm.handle_timeout(now);
        if got.contains(Action::Scr) {
            assert_eq!(got.as_slice(), &[Action::Scr]);
            assert_eq!(fsm.state(), State::ReqSent);
            sent += 1;
        } else {
            assert_eq!(got.as_slice(), &[Action::Tlf]);
            break;
        }
    }
    assert_eq!(
        sent, DEFAULT_MAX_CONFIGURE,
        "Max-Configure transmissions in all"
    );
    assert_eq!(fsm.state(), State::Stopped);
    assert_eq!(fsm.poll_timeout(), None);
    assert_eq!(now, t0 + DEFAULT_RESTART_TIMER * DEFAULT_MAX_CONFIGURE);
}

#[test]
fn max_terminate_in_closing_gives_closed() {
    let now = base();
    let mut fsm = fsm_in(State::Opened, FsmConfig::default(), now);
    let got = fsm.handle(now, Event::Close);
    assert_eq!(got.as_slice(), &[Action::Tld, Action::Irc, Action::Str]);
    assert_eq!(fsm.restart_counter(), DEFAULT_MAX_TERMINATE - 1);
    let t1 = fsm.poll_timeout().expect("timer runs in Closing");
    assert_eq!(t1, now + DEFAULT_RESTART_TIMER);
    assert_eq!(fsm.handle_timeout(t1).as_slice(), &[Action::Str]);
    assert_eq!(fsm.state(), State::Closing);
    assert_eq!(fsm.restart_counter(), 0);
    let t2 = fsm.poll_timeout().expect("re-armed");
    assert_eq!(t2, t1 + DEFAULT_RESTART_TIMER);
    assert_eq!(fsm.handle_timeout(t2).as_slice(), &[Action::Tlf]);
    assert_eq!(fsm.state(), State::Closed);
    assert_eq!(fsm.poll_timeout(), None);
}

#[test]
fn max_terminate_in_stopping_after_rxj_minus_gives_stopped() {
    let now = base();
    let mut fsm = fsm_in(State::Opened, FsmConfig::default(), now);
    let got = fsm.handle(now, Event::RxjMinus);
    assert_eq!(got.as_slice(), &[Action::Tld, Action::Irc, Action::Str]);
    assert_eq!(fsm.state(), State::Stopping);
    let t1 = fsm.poll_timeout().expect("armed");
    assert_eq!(fsm.handle_timeout(t1).as_slice(), &[Action::Str]);
    let t2 = fsm.poll_timeout().expect("armed");
    assert_eq!(fsm.handle_timeout(t2).as_slice(), &[Action::Tlf]);
    assert_eq!(fsm.state(), State::Stopped);
}

#[test]
fn timeout_before_deadline_does_nothing() {
    let t0 = base();
    let mut fsm = started(FsmConfig::default(), t0);
    let before = fsm.restart_counter();
    let got = fsm.handle_timeout(t0 + DEFAULT_RESTART_TIMER - Duration::from_millis(1));
    assert!(got.is_empty() && !got.is_illegal());
    assert_eq!(fsm.state(), State::ReqSent);
    assert_eq!(fsm.restart_counter(), before);
    assert_eq!(fsm.poll_timeout(), Some(t0 + DEFAULT_RESTART_TIMER));
    // A late call fires once, and re-arms from the late `now`.
    let late = t0 + Duration::from_secs(10);
    assert_eq!(fsm.handle_timeout(late).as_slice(), &[Action::Scr]);
    assert_eq!(fsm.poll_timeout(), Some(late + DEFAULT_RESTART_TIMER));
    // No timer, no timeout.
    let mut idle = Fsm::new(FsmConfig::default());
    assert!(idle.handle_timeout(late).is_empty());
}

#[test]
fn zrc_in_opened_rtr_lingers_one_period_then_stopped() {
    let now = base();
    let mut fsm = fsm_in(State::Opened, FsmConfig::default(), now);
    fsm.restart_counter = 7;
    let got = fsm.handle(now, Event::Rtr);
    assert_eq!(got.as_slice(), &[Action::Tld, Action::Zrc, Action::Sta]);
    assert_eq!(fsm.state(), State::Stopping);
    assert_eq!(fsm.restart_counter(), 0);
    assert_eq!(fsm.poll_timeout(), Some(now + DEFAULT_RESTART_TIMER));
    let got = fsm.handle_timeout(now + DEFAULT_RESTART_TIMER);
    assert_eq!(got.as_slice(), &[Action::Tlf], "counter zero: TO-");
    assert_eq!(fsm.state(), State::Stopped);
    assert_eq!(fsm.poll_timeout(), None);
}

#[test]
fn irc_chooses_max_terminate_or_max_configure() {
    let config = FsmConfig {
        max_configure: 7,
        max_terminate: 4,
        restart_timer: Duration::from_millis(500),
        ..FsmConfig::default()
    };
    let now = base();
    // irc,str: Max-Terminate, then one decrement.
    let mut fsm = fsm_in(State::AckSent, config.clone(), now);
    let _ = fsm.handle(now, Event::Close);
    assert_eq!(fsm.restart_counter(), 3);
    assert_eq!(fsm.poll_timeout(), Some(now + Duration::from_millis(500)));
    // irc,scr: Max-Configure, then one decrement.
    let mut fsm = fsm_in(State::ReqSent, config.clone(), now);
    let _ = fsm.handle(now, Event::Rcn);
    assert_eq!(fsm.restart_counter(), 6);
    // irc alone (Req-Sent/RCA): Max-Configure, and the timer keeps its
    // deadline because nothing was sent.
    let later = now + Duration::from_millis(200);
    let mut fsm = fsm_in(State::ReqSent, config, now);
    let deadline = fsm.poll_timeout();
    let _ = fsm.handle(later, Event::Rca);
    assert_eq!(fsm.state(), State::AckRcvd);
    assert_eq!(fsm.restart_counter(), 7);
    assert_eq!(fsm.poll_timeout(), deadline);
}

#[test]
fn ack_rcvd_timeout_retransmits_and_voids_the_ack() {
    let t0 = base();
    let mut fsm = started(FsmConfig::default(), t0);
    let _ = fsm.handle(t0, Event::Rca);
    assert_eq!(fsm.state(), State::AckRcvd);
    let deadline = fsm.poll_timeout().expect("timer still runs in Ack-Rcvd");
    assert_eq!(deadline, t0 + DEFAULT_RESTART_TIMER);
    assert_eq!(fsm.handle_timeout(deadline).as_slice(), &[Action::Scr]);
    assert_eq!(fsm.state(), State::ReqSent);
    assert_eq!(fsm.restart_counter(), DEFAULT_MAX_CONFIGURE - 1);
}

#[test]
fn zero_maxima_behave_like_one_transmission() {
    let config = FsmConfig {
        max_configure: 0,
        max_terminate: 0,
        ..FsmConfig::default()
    };
    let t0 = base();
    let mut fsm = started(config, t0);
    assert_eq!(fsm.restart_counter(), 0);
    let got = fsm.handle_timeout(t0 + DEFAULT_RESTART_TIMER);
    assert_eq!(got.as_slice(), &[Action::Tlf]);
    assert_eq!(fsm.state(), State::Stopped);
}

#[test]
fn huge_restart_timer_does_not_overflow() {
    let config = FsmConfig {
        restart_timer: Duration::MAX,
        ..FsmConfig::default()
    };
    let t0 = base();
    let mut fsm = started(config, t0);
    assert_eq!(fsm.poll_timeout(), Some(t0), "falls back to `now`");
    assert_eq!(fsm.handle_timeout(t0).as_slice(), &[Action::Scr]);
}

#[test]
fn max_failure_counts_naks_since_last_ack() {
    let config = FsmConfig {
        max_failure: 3,
        ..FsmConfig::default()
    };
    let now = base();
    let mut fsm = started(config, now);
    for n in 1..=5 {
        assert_eq!(fsm.max_failure_reached(), n > 3);
        let got = fsm.handle(now, Event::RcrMinus);
        assert_eq!(got.as_slice(), &[Action::Scn]);
        assert_eq!(fsm.failures(), n.min(3), "capped at Max-Failure");
    }
    assert!(fsm.max_failure_reached());
    // The peer's Nak makes us irc,scr: that does not reset the count.
    let _ = fsm.handle(now, Event::Rcn);
    assert!(fsm.max_failure_reached());
    // Sending a Configure-Ack does.
    let _ = fsm.handle(now, Event::RcrPlus);
    assert_eq!(fsm.failures(), 0);
    assert!(!fsm.max_failure_reached());
    // Ack-Sent/RCR- counts again.
    let _ = fsm.handle(now, Event::RcrMinus);
    assert_eq!(fsm.failures(), 1);
}

#[test]
fn max_failure_resets_when_negotiation_restarts() {
    let config = FsmConfig {
        max_failure: 2,
        ..FsmConfig::default()
    };
    let now = base();
    let mut fsm = started(config, now);
    let _ = fsm.handle(now, Event::RcrMinus);
    let _ = fsm.handle(now, Event::RcrMinus);
    assert!(fsm.max_failure_reached());
    // Give up, then the peer tries again from Stopped: a fresh count,
    // and this RCR- is its first Nak.
    let _ = fsm.handle(now, Event::TimeoutMinus);
    assert_eq!(fsm.state(), State::Stopped);
    let got = fsm.handle(now, Event::RcrMinus);
    assert_eq!(got.as_slice(), &[Action::Irc, Action::Scr, Action::Scn]);
    assert_eq!(fsm.failures(), 1);
}

// ------------------------------------------------------------------
// Two automata wired together on virtual time.
// ------------------------------------------------------------------

/// A peer: an automaton plus a scripted option policy.
struct Peer {
    fsm: Fsm,
    /// Answer this many Configure-Requests with RCR- before accepting.
    naks_left: u32,
    tlu: u32,
    tld: u32,
    tlf: u32,
    scr: u32,
}

impl Peer {
    fn new(config: FsmConfig) -> Self {
        Self {
            fsm: Fsm::new(config),
            naks_left: 0,
            tlu: 0,
            tld: 0,
            tlf: 0,
            scr: 0,
        }
    }
}

/// What travels on the wire, reduced to what the automaton needs.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Msg {
    ConfReq,
    ConfAck,
    ConfNak,
    TermReq,
    TermAck,
    CodeRej,
    EchoReply,
}

/// Two automata joined by a wire of abstract messages: the automaton is
/// tested apart from any packet format, so this stays apart from the
/// negotiator tests' `Wire` and the session tests' `Pair`.
struct Pair {
    now: Instant,
    peers: [Peer; 2],
    /// (destination index, message)
    wire: VecDeque<(usize, Msg)>,
    /// Drop the next `drop` messages put on the wire.
    drop: u32,
    sent: u32,
}

impl Pair {
    fn new(a: FsmConfig, b: FsmConfig) -> Self {
        Self {
            now: base(),
            peers: [Peer::new(a), Peer::new(b)],
            wire: VecDeque::new(),
            drop: 0,
            sent: 0,
        }
    }

    fn input(&mut self, who: usize, event: Event) {
        let now = self.now;
        let actions = self.peers[who].fsm.handle(now, event);
        assert!(!actions.is_illegal(), "peer {who}: illegal {event} ");
        self.perform(who, actions);
    }

    fn perform(&mut self, who: usize, actions: Actions) {
        let to = 1 - who;
        for action in actions {
            let msg = match action {
                Action::Tlu => {
                    self.peers[who].tlu += 1;
                    None
                }
                Action::Tld => {
                    self.peers[who].tld += 1;
                    None
                }
                Action::Tlf => {
                    self.peers[who].tlf += 1;
                    None
                }
                Action::Tls | Action::Irc | Action::Zrc => None,
                Action::Scr => {
                    self.peers[who].scr += 1;
                    Some(Msg::ConfReq)
                }
                Action::Sca => Some(Msg::ConfAck),
                Action::Scn => Some(Msg::ConfNak),
                Action::Str => Some(Msg::TermReq),
                Action::Sta => Some(Msg::TermAck),
                Action::Scj => Some(Msg::CodeRej),
                Action::Ser => Some(Msg::EchoReply),
            };
            if let Some(msg) = msg {
                assert!(
                    self.peers[who].fsm.state().lower_layer_up(),
                    "sent {msg:?} while Down"
                );
                self.sent += 1;
                if self.drop > 0 {
                    self.drop -= 1;
                } else {
                    self.wire.push_back((to, msg));
                }
            }
        }
    }

    fn deliver(&mut self, to: usize, msg: Msg) {
        let event = match msg {
            Msg::ConfReq => {
                let peer = &mut self.peers[to];
                if peer.naks_left > 0 {
                    peer.naks_left -= 1;
                    Event::RcrMinus
                } else {
                    Event::RcrPlus
                }
            }
            Msg::ConfAck => Event::Rca,
            Msg::ConfNak => Event::Rcn,
            Msg::TermReq => Event::Rtr,
            Msg::TermAck => Event::Rta,
            Msg::CodeRej => Event::RxjPlus,
            Msg::EchoReply => {
                // RXR covers Echo-Reply too, but only an Echo-Request is
                // answered: the caller drops `ser` for a reply.
                let actions = self.peers[to].fsm.handle(self.now, Event::Rxr);
                assert!(!actions.is_illegal());
                return;
            }
        };
        self.input(to, event);
    }

    /// Runs until nothing is in flight and no timer runs, jumping virtual
    /// time to the next deadline when the wire is idle.
    fn run(&mut self) {
        for _ in 0..1000 {
            if let Some((to, msg)) = self.wire.pop_front() {
                self.deliver(to, msg);
                continue;
            }
            let next = self.peers.iter().filter_map(|p| p.fsm.poll_timeout()).min();
            let Some(next) = next else { return };
            self.now = next;
            for who in 0..2 {
                let actions = self.peers[who].fsm.handle_timeout(next);
                self.perform(who, actions);
            }
        }
        panic!("did not settle");
    }

    fn open_both(&mut self) {
        self.input(0, Event::Up);
        self.input(0, Event::Open);
        self.input(1, Event::Up);
        self.input(1, Event::Open);
        self.run();
    }
}

#[test]
fn two_automata_negotiate_to_opened() {
    let t0 = base();
    let mut pair = Pair::new(FsmConfig::default(), FsmConfig::default());
    pair.now = t0;
    pair.open_both();
    for peer in &pair.peers {
        assert!(peer.fsm.is_opened());
        assert_eq!((peer.tlu, peer.tld, peer.tlf), (1, 0, 0));
        assert_eq!(peer.fsm.poll_timeout(), None);
        assert_eq!(peer.scr, 1, "no retransmission on a clean wire");
    }
    assert_eq!(pair.now, t0, "no timer needed to fire");
}

#[test]
fn two_automata_negotiate_through_naks() {
    let mut pair = Pair::new(FsmConfig::default(), FsmConfig::default());
    pair.peers[1].naks_left = 3;
    pair.open_both();
    assert!(pair.peers[0].fsm.is_opened() && pair.peers[1].fsm.is_opened());
    assert_eq!(
        pair.peers[0].scr, 4,
        "one request per Nak, plus the accepted one"
    );
    assert_eq!(pair.peers[1].fsm.failures(), 0, "reset by the final Ack");
}

#[test]
fn two_automata_recover_from_lost_packets() {
    let t0 = base();
    let mut pair = Pair::new(FsmConfig::default(), FsmConfig::default());
    pair.now = t0;
    pair.drop = 3;
    pair.open_both();
    assert!(pair.peers[0].fsm.is_opened() && pair.peers[1].fsm.is_opened());
    assert!(
        pair.now >= t0 + DEFAULT_RESTART_TIMER,
        "retransmitted after a timeout"
    );
    assert_eq!(pair.peers[0].tlu, 1);
    assert_eq!(pair.peers[1].tlu, 1);
}

#[test]
fn two_automata_terminate() {
    let mut pair = Pair::new(FsmConfig::default(), FsmConfig::default());
    pair.open_both();
    pair.input(0, Event::Close);
    pair.run();
    // A: tld,irc,str/4, then RTA: tlf/2. B: tld,zrc,sta/5, then TO-: tlf/3.
    assert_eq!(pair.peers[0].fsm.state(), State::Closed);
    assert_eq!(pair.peers[1].fsm.state(), State::Stopped);
    for peer in &pair.peers {
        assert_eq!((peer.tlu, peer.tld, peer.tlf), (1, 1, 1));
        assert_eq!(peer.fsm.poll_timeout(), None);
    }
}

#[test]
fn unanswered_peer_gives_up_after_max_configure() {
    let config = FsmConfig {
        max_configure: 4,
        ..FsmConfig::default()
    };
    let t0 = base();
    let mut pair = Pair::new(config, FsmConfig::default());
    pair.now = t0;
    pair.drop = u32::MAX;
    pair.input(0, Event::Up);
    pair.input(0, Event::Open);
    pair.run();
    assert_eq!(pair.peers[0].fsm.state(), State::Stopped);
    assert_eq!(pair.peers[0].scr, 4);
    assert_eq!(pair.peers[0].tlf, 1);
    assert_eq!(pair.now, t0 + DEFAULT_RESTART_TIMER * 4);
}

#[test]
fn restart_option_renegotiates_an_opened_link() {
    let restart = FsmConfig {
        restart_option: true,
        ..FsmConfig::default()
    };
    let mut pair = Pair::new(restart, FsmConfig::default());
    pair.open_both();
    pair.input(0, Event::Open);
    pair.run();
    for peer in &pair.peers {
        assert!(peer.fsm.is_opened());
        assert_eq!((peer.tlu, peer.tld), (2, 1), "went down once and up again");
    }
}

#[test]
fn echo_and_code_reject_in_opened() {
    let mut pair = Pair::new(FsmConfig::default(), FsmConfig::default());
    pair.open_both();
    // An Echo-Request to peer 1 gets a reply; the reply is RXR at peer 0.
    pair.input(1, Event::Rxr);
    // An unknown code at peer 0 is Code-Rejected; peer 1 takes RXJ+.
    pair.input(0, Event::Ruc);
    pair.run();
    assert!(pair.peers[0].fsm.is_opened() && pair.peers[1].fsm.is_opened());
    assert_eq!(pair.peers[0].tld + pair.peers[1].tld, 0);
}

// ------------------------------------------------------------------
// Property tests: arbitrary event sequences.
// ------------------------------------------------------------------

/// One step of a random run: an event, or a timer tick.
#[derive(Debug, Clone)]
enum Step {
    Event(Event),
    /// Advance virtual time by this many milliseconds, then
    /// `handle_timeout`.
    Tick(u64),
    /// Jump to the deadline (if any), then `handle_timeout`.
    Expire,
    /// Advance virtual time by this many milliseconds without calling
    /// `handle_timeout`: a late driver, so the next event may arrive
    /// after an unprocessed deadline.
    Late(u64),
}

fn step_strategy() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => prop::sample::select(Event::ALL.to_vec()).prop_map(Step::Event),
        1 => (0u64..5000).prop_map(Step::Tick),
        2 => Just(Step::Expire),
        1 => (0u64..5000).prop_map(Step::Late),
    ]
}

fn config_strategy() -> impl Strategy<Value = FsmConfig> {
    (
        0u32..5,
        0u32..4,
        0u32..4,
        1u64..5000,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(max_configure, max_terminate, max_failure, ms, passive, restart_option)| FsmConfig {
                max_configure,
                max_terminate,
                max_failure,
                restart_timer: Duration::from_millis(ms),
                passive,
                restart_option,
                ..FsmConfig::default()
            },
        )
}

/// The invariants every transition keeps.
fn assert_invariants(from: State, event: Option<Event>, got: &Actions, fsm: &Fsm) {
    let to = fsm.state();
    let config = fsm.config();
    assert!(
        fsm.restart_counter() <= config.max_configure.max(config.max_terminate),
        "restart counter out of bounds"
    );
    assert!(
        fsm.failures() <= config.max_failure,
        "failure counter out of bounds"
    );
    assert_eq!(
        fsm.poll_timeout().is_some(),
        to.restart_timer_runs(),
        "timer rule in {to}"
    );
    assert!(got.len() <= 3);
    if got.has_send() {
        assert!(to.lower_layer_up(), "send while entering {to}");
        assert!(
            from.lower_layer_up() || event == Some(Event::Up),
            "send from {from}"
        );
        assert_ne!(event, Some(Event::Down), "send on Down");
    }
    if got.is_illegal() {
        assert!(got.is_empty());
        assert_eq!(from, to);
    }
    assert_eq!(
        got.contains(Action::Tlu),
        to == State::Opened && from != State::Opened,
        "tlu exactly when entering Opened ({from} -> {to})"
    );
    assert_eq!(
        got.contains(Action::Tld),
        from == State::Opened && to != State::Opened,
        "tld exactly when leaving Opened ({from} -> {to})"
    );
    if got.contains(Action::Tls) {
        assert!(matches!(from, State::Initial | State::Stopped));
    }
    if got.contains(Action::Tlf) {
        assert!(matches!(
            to,
            State::Initial | State::Closed | State::Stopped
        ));
    }
}

proptest! {
    #[test]
    fn arbitrary_event_sequences_keep_the_invariants(
        config in config_strategy(),
        steps in prop::collection::vec(step_strategy(), 0..200),
    ) {
        let mut now = base();
        let mut fsm = Fsm::new(config);
        for step in steps {
            let from = fsm.state();
            let (event, got) = match step {
                Step::Event(event) => (Some(event), fsm.handle(now, event)),
                Step::Tick(ms) => {
                    now += Duration::from_millis(ms);
                    (None, fsm.handle_timeout(now))
                }
                Step::Expire => {
                    if let Some(deadline) = fsm.poll_timeout() {
                        now = now.max(deadline);
                    }
                    (None, fsm.handle_timeout(now))
                }
                Step::Late(ms) => {
                    now += Duration::from_millis(ms);
                    continue;
                }
            };
            assert_invariants(from, event, &got, &fsm);
            if event.is_none() {
                prop_assert!(!got.is_illegal(), "a timeout is never illegal");
                if let Some(deadline) = fsm.poll_timeout() {
                    prop_assert!(deadline >= now, "no past deadline after handle_timeout");
                }
            }
        }
    }

    /// Two automata, random loss and Nak counts: they never panic, never
    /// send while Down, and end either both Opened or with one given up.
    #[test]
    fn paired_automata_settle(
        drop in 0u32..25,
        naks in (0u32..4, 0u32..4),
        max_configure in 1u32..12,
    ) {
        let config = FsmConfig { max_configure, ..FsmConfig::default() };
        let mut pair = Pair::new(config.clone(), config);
        pair.drop = drop;
        pair.peers[0].naks_left = naks.0;
        pair.peers[1].naks_left = naks.1;
        pair.open_both();
        let [a, b] = &pair.peers;
        let opened = a.fsm.is_opened() && b.fsm.is_opened();
        let gave_up = a.fsm.state() == State::Stopped || b.fsm.state() == State::Stopped;
        prop_assert!(opened || gave_up, "{:?} / {:?}", a.fsm.state(), b.fsm.state());
        if drop == 0 {
            prop_assert!(opened);
        }
        for peer in &pair.peers {
            prop_assert!(peer.tlu >= peer.tld && peer.tlu - peer.tld <= 1);
        }
    }
}
