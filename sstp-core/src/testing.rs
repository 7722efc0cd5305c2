//! What the crate's own tests share: one base for virtual time, one
//! deterministic RNG, and one scripted RNG for tests that choose the bytes
//! (a challenge, an Identifier, a Magic-Number collision).
//!
//! Tests outside this crate use the `sstp-testkit` crate instead: a unit
//! test build of sstp-core is a crate of its own, so its private types
//! cannot come from another crate.

use std::sync::OnceLock;
use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use crate::ppp::Random;

/// The one clock read of the tests: a base for virtual time, the same
/// instant for every caller, so helpers that add to it agree.
#[allow(clippy::disallowed_methods)]
pub(crate) fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

/// The test RNG: ChaCha20 from a small seed. The same seed gives the same
/// bytes; two ends of a link take different seeds, or they draw the same
/// LCP Magic-Number and rightly see a looped-back link (RFC 1661 6.4).
pub(crate) fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// [`rng`], boxed as the sessions take it.
pub(crate) fn boxed_rng(seed: u64) -> Box<dyn Random + Send> {
    Box::new(rng(seed))
}

/// Randomness from a script: lets a test choose challenges (RFC 2759 9.2),
/// Identifiers and Magic-Numbers. Past its end the script either gives
/// zeros ([`new`](Self::new)) or starts again ([`cycling`](Self::cycling)).
#[derive(Debug, Clone, Default)]
pub(crate) struct ScriptedRng {
    script: Vec<u8>,
    at: usize,
    cycle: bool,
}

impl ScriptedRng {
    /// `script`, then zeros.
    pub(crate) fn new(script: &[u8]) -> Self {
        Self {
            script: script.to_vec(),
            at: 0,
            cycle: false,
        }
    }

    /// `script` again and again (zeros for an empty one): the same draw
    /// however often a test asks, for collisions on purpose.
    pub(crate) fn cycling(script: &[u8]) -> Self {
        Self {
            cycle: true,
            ..Self::new(script)
        }
    }

    /// Appends `more` to what is still to come.
    pub(crate) fn extend(&mut self, more: &[u8]) {
        self.script.extend_from_slice(more);
    }
}

impl Random for ScriptedRng {
    fn fill(&mut self, buf: &mut [u8]) {
        for byte in buf {
            if self.cycle && self.at == self.script.len() {
                self.at = 0;
            }
            // Zeros past the end do not use up the script: bytes added
            // later by `extend` come next.
            *byte = self.script.get(self.at).copied().unwrap_or(0);
            self.at = (self.at + 1).min(self.script.len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripted_gives_zeros_after_the_script_unless_cycling() {
        let mut once = ScriptedRng::new(&[1, 2]);
        let mut buf = [9; 5];
        once.fill(&mut buf);
        assert_eq!(buf, [1, 2, 0, 0, 0]);
        once.extend(&[3]);
        once.fill(&mut buf[..1]);
        assert_eq!(buf[0], 3);

        let mut cycling = ScriptedRng::cycling(&[1, 2]);
        cycling.fill(&mut buf);
        assert_eq!(buf, [1, 2, 1, 2, 1]);
        let mut empty = ScriptedRng::cycling(&[]);
        empty.fill(&mut buf);
        assert_eq!(buf, [0; 5]);
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        let (mut a, mut b, mut c) = ([0; 16], [0; 16], [0; 16]);
        rng(1).fill(&mut a);
        rng(1).fill(&mut b);
        rng(2).fill(&mut c);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(base(), base());
    }
}
