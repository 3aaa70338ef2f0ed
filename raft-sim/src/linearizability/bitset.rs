//! A fixed-size set of operation numbers: which operations are linearized.
//!
//! The search remembers every set it explored, so their size matters. Operations are
//! numbered in history order, and a history records an operation when it returns, so the
//! linearized operations are nearly always "all of the old ones and a few recent ones". A
//! [`Key`] therefore stores only the words after the leading run of full words and before
//! the trailing run of empty ones: a few words whatever the history's length.

/// A set of `0..n`, one bit each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Bitset {
    words: Box<[u64]>,
    /// How many leading words are full (all ones).
    full: usize,
}

/// A compact, canonical copy of a [`Bitset`]: equal sets, equal keys.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Key {
    /// Leading full words, omitted.
    full: u32,
    /// The words after them, trailing empty words omitted.
    middle: Box<[u64]>,
}

impl Bitset {
    /// The empty set over `0..n`.
    pub(super) fn new(n: usize) -> Bitset {
        Bitset {
            words: vec![0; n.div_ceil(64)].into_boxed_slice(),
            full: 0,
        }
    }

    pub(super) fn insert(&mut self, i: usize) {
        self.words[i / 64] |= 1 << (i % 64);
        while self.words.get(self.full) == Some(&u64::MAX) {
            self.full += 1;
        }
    }

    pub(super) fn remove(&mut self, i: usize) {
        self.words[i / 64] &= !(1 << (i % 64));
        self.full = self.full.min(i / 64);
    }

    /// The set's key.
    pub(super) fn key(&self) -> Key {
        let rest = &self.words[self.full..];
        let used = rest
            .iter()
            .rposition(|&w| w != 0)
            .map_or(0, |last| last + 1);
        Key {
            full: self.full as u32,
            middle: rest[..used].into(),
        }
    }

    #[cfg(test)]
    pub(super) fn contains(&self, i: usize) -> bool {
        self.words[i / 64] & (1 << (i % 64)) != 0
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

    #[test]
    fn keys_are_compact_and_canonical() {
        let n = 1000;
        let mut a = Bitset::new(n);
        for i in 0..700 {
            a.insert(i);
        }
        a.insert(900);
        let key = a.key();
        assert_eq!(key.full, 10, "700 = 10 full words and 60 bits");
        assert_eq!(key.middle.len(), 5, "words 10 to 14, nothing after 900");
        // The same set reached another way has the same key.
        let mut b = Bitset::new(n);
        b.insert(900);
        for i in (0..701).rev() {
            b.insert(i);
        }
        b.remove(700);
        assert_eq!(b.key(), key);
        // Removing a bit of a full word shortens the full prefix.
        b.remove(3);
        assert_eq!(b.key().full, 0);
        assert_ne!(b.key(), key);
        assert_eq!(Bitset::new(n).key().middle.len(), 0);
    }
}
