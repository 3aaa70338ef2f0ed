//! A fixed-size set of operation numbers: which operations are linearized.

/// A set of `0..n`, one bit each.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Bitset(Box<[u64]>);

impl Bitset {
    /// The empty set over `0..n`.
    pub(super) fn new(n: usize) -> Bitset {
        Bitset(vec![0; n.div_ceil(64)].into_boxed_slice())
    }

    pub(super) fn insert(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    pub(super) fn remove(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }

    #[cfg(test)]
    pub(super) fn contains(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::Bitset;

    #[test]
    fn insert_remove_contains() {
        let mut set = Bitset::new(130);
        for i in [0, 63, 64, 129] {
            assert!(!set.contains(i));
            set.insert(i);
            assert!(set.contains(i));
        }
        set.remove(64);
        assert!(!set.contains(64));
        assert!(set.contains(63) && set.contains(129));
        assert_eq!(set, {
            let mut other = Bitset::new(130);
            for i in [129, 0, 63] {
                other.insert(i);
            }
            other
        });
    }
}
