//! The deterministic RNG and the base clock.

use std::sync::OnceLock;
use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sstp_core::Random;

/// The test RNG: ChaCha20 from a small seed, so a run repeats. Give the two
/// ends of a link different seeds, or they draw the same LCP Magic-Number
/// and rightly see a looped-back link (RFC 1661 6.4).
pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// [`rng`], boxed as `ClientSession::new` and `ServerSession::new` take it.
pub fn boxed_rng(seed: u64) -> Box<dyn Random + Send> {
    Box::new(rng(seed))
}

/// A base for virtual time: the same instant for every caller in a test
/// binary, so helpers that add to it agree. The one clock read here.
pub fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

#[cfg(test)]
mod tests {
    use super::*;

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
