//! What the crate's own tests share: the workspace's base clock and
//! deterministic RNG (from `sstp-testkit`), and a scripted RNG for tests
//! that choose the bytes (a challenge, an Identifier, a Magic-Number
//! collision).
//!
//! A unit test build of sstp-core is a crate of its own: `sstp-testkit`
//! links the library build, so its types and traits are not this crate's.
//! What it returns in plain std or rand types (an `Instant`, a
//! `ChaCha20Rng`, a `Vec<u8>`) is shared; what implements or names this
//! crate's traits and types (the boxed RNG, [`ScriptedRng`], the session
//! `Pair`) lives here.

pub(crate) use sstp_testkit::{base, rng};

use crate::ppp::Random;

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
    fn boxed_rng_draws_what_rng_draws() {
        let (mut a, mut b) = ([0; 16], [0; 16]);
        boxed_rng(3).fill(&mut a);
        rng(3).fill(&mut b);
        assert_eq!(a, b);
        assert_ne!(a, [0; 16]);
    }
}
