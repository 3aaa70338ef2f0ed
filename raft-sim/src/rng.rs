//! One seed, a tree of independent random streams.
//!
//! Every consumer (the network, each node incarnation, the test body) gets its own
//! `ChaCha8Rng`, seeded by mixing the run's seed with the consumer's label. Adding a consumer,
//! or drawing more from one stream, never perturbs another.

use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A seeded stream with the few draws the simulator needs.
#[derive(Clone, Debug)]
pub struct Stream(ChaCha8Rng);

impl Stream {
    /// The stream named `label` (and `index`, for families like "node i") under `seed`.
    pub fn new(seed: u64, label: &str, index: u64) -> Stream {
        Stream(ChaCha8Rng::seed_from_u64(derive_seed(seed, label, index)))
    }

    /// A uniform 64-bit value.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `0..n` (`n` > 0), without modulo bias.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0)");
        // Lemire's multiply-and-reject: exact and branch-light.
        loop {
            let product = u128::from(self.0.next_u64()) * u128::from(n);
            let low = product as u64;
            if low >= n.wrapping_neg() % n {
                return (product >> 64) as u64;
            }
        }
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

/// Mixes a seed with a label and an index (FNV-1a over the label, then SplitMix64 rounds).
pub fn derive_seed(seed: u64, label: &str, index: u64) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in label.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    splitmix(splitmix(seed ^ hash) ^ index)
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_independent_and_reproducible() {
        let a: Vec<u64> = (0..4)
            .map(|_| Stream::new(1, "net", 0).next_u64())
            .collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(
            Stream::new(1, "net", 0).next_u64(),
            Stream::new(1, "net", 1).next_u64()
        );
        assert_ne!(
            Stream::new(1, "net", 0).next_u64(),
            Stream::new(2, "net", 0).next_u64()
        );
        assert_ne!(
            Stream::new(1, "net", 0).next_u64(),
            Stream::new(1, "test", 0).next_u64()
        );
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut s = Stream::new(9, "t", 0);
        let mut seen = [false; 7];
        for _ in 0..1000 {
            let x = s.below(7);
            seen[x as usize] = true;
        }
        assert!(seen.iter().all(|&b| b));
    }
}
