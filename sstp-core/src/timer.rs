//! A fixed table of optional deadlines, one per timer kind (the quinn-proto
//! shape): components arm and stop named timers, and a session reports the
//! earliest through `poll_timeout`.

use std::time::Instant;

/// A small table of deadlines indexed by a `Copy` key that converts to an
/// index below `N`.
#[derive(Debug, Clone)]
pub(crate) struct TimerTable<const N: usize> {
    deadlines: [Option<Instant>; N],
}

impl<const N: usize> Default for TimerTable<N> {
    fn default() -> Self {
        Self {
            deadlines: [None; N],
        }
    }
}

impl<const N: usize> TimerTable<N> {
    pub(crate) fn set(&mut self, index: usize, at: Instant) {
        if let Some(slot) = self.deadlines.get_mut(index) {
            *slot = Some(at);
        }
    }

    pub(crate) fn stop(&mut self, index: usize) {
        if let Some(slot) = self.deadlines.get_mut(index) {
            *slot = None;
        }
    }

    pub(crate) fn get(&self, index: usize) -> Option<Instant> {
        self.deadlines.get(index).copied().flatten()
    }

    pub(crate) fn stop_all(&mut self) {
        self.deadlines = [None; N];
    }

    /// Whether timer `index` is armed and due at `now`.
    pub(crate) fn is_expired(&self, index: usize, now: Instant) -> bool {
        self.get(index).is_some_and(|t| t <= now)
    }

    /// The earliest armed deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn earliest_deadline_wins_and_stop_clears() {
        let t0 = Instant::now();
        let mut t = TimerTable::<3>::default();
        assert_eq!(t.next_deadline(), None);
        t.set(0, t0 + Duration::from_secs(5));
        t.set(2, t0 + Duration::from_secs(1));
        assert_eq!(t.next_deadline(), Some(t0 + Duration::from_secs(1)));
        assert!(t.is_expired(2, t0 + Duration::from_secs(1)));
        assert!(!t.is_expired(0, t0 + Duration::from_secs(1)));
        t.stop(2);
        assert_eq!(t.next_deadline(), Some(t0 + Duration::from_secs(5)));
        t.set(7, t0); // out of range: ignored, never panics
        t.stop_all();
        assert_eq!(t.next_deadline(), None);
    }
}
