//! One server's disk: the durable [`PersistentState`] with every `Persist` applied, as the
//! lab's persister keeps it, and — beyond the lab — what a real disk does at a crash.
//!
//! A crash may fall inside a node's step, in the middle of writing its change. A log store
//! writes a change's parts in order (hard state, snapshot, truncation, then each appended
//! entry), so after a crash the disk holds the state before the change plus any *prefix* of
//! those parts: a *torn write* ([`Persister::apply_torn`]). That is a legal outcome that Raft
//! must survive, since the node had not acted on the change yet.
//!
//! A disk that loses a write it already reported done (no fsync, a lying cache) is not legal:
//! [`Persister::set_unsafe`] models it, to show what the checkers catch when a disk breaks
//! its promise.

use raft_core::{ChangeError, LogAppend, PersistChange, PersistentState};

/// The durable state of one server.
#[derive(Debug, Default)]
pub struct Persister {
    state: PersistentState,
    /// In unsafe mode, the state before the last write, which a crash may fall back to.
    before_last_write: Option<PersistentState>,
    unsafe_disk: bool,
}

impl Persister {
    /// What is durable now.
    pub fn state(&self) -> &PersistentState {
        &self.state
    }

    /// Makes the disk lose its last write at a crash, when told to ([`Self::lose_last_write`]).
    pub fn set_unsafe(&mut self, on: bool) {
        self.unsafe_disk = on;
        self.before_last_write = None;
    }

    /// Writes the whole change. On `Err` nothing was written.
    pub fn apply(&mut self, change: &PersistChange) -> Result<(), ChangeError> {
        if self.unsafe_disk {
            self.before_last_write = Some(self.state.clone());
        }
        self.state.apply(change)
    }

    /// A crash tore the write of `change`: only its first `parts` parts (see [`parts`]) reached
    /// the disk. Returns what was written.
    pub fn apply_torn(
        &mut self,
        change: &PersistChange,
        parts: usize,
    ) -> Result<PersistChange, ChangeError> {
        let written = prefix(change, parts);
        self.apply(&written)?;
        Ok(written)
    }

    /// An unsafe disk drops its last write, which the node believed durable. Returns whether
    /// anything was lost.
    pub fn lose_last_write(&mut self) -> bool {
        match self.before_last_write.take() {
            Some(before) if before != self.state => {
                self.state = before;
                true
            }
            _ => false,
        }
    }
}

/// How many parts a store writes for `change`, in order: the hard state, the snapshot, the
/// truncation, then one per appended entry.
pub fn parts(change: &PersistChange) -> usize {
    usize::from(change.hard_state.is_some())
        + usize::from(change.snapshot.is_some())
        + usize::from(change.truncate_after.is_some())
        + change.append.as_ref().map_or(0, |a| a.entries.len())
}

/// The first `keep` parts of `change`.
pub fn prefix(change: &PersistChange, keep: usize) -> PersistChange {
    let mut left = keep;
    let mut take = |present: bool| {
        let taken = present && left > 0;
        left -= usize::from(taken);
        taken
    };
    let mut written = PersistChange::default();
    if take(change.hard_state.is_some()) {
        written.hard_state = change.hard_state;
    }
    if take(change.snapshot.is_some()) {
        written.snapshot = change.snapshot.clone();
    }
    if take(change.truncate_after.is_some()) {
        written.truncate_after = change.truncate_after;
    }
    if let Some(append) = &change.append {
        let n = left.min(append.entries.len());
        if n > 0 {
            written.append = Some(LogAppend {
                first_index: append.first_index,
                entries: append.entries[..n].to_vec(),
            });
        }
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft_core::{Entry, HardState, LogIndex, Term};

    fn change() -> PersistChange {
        let entry = |t| Entry {
            term: Term(t),
            command: b"c".as_slice().into(),
        };
        PersistChange {
            hard_state: Some(HardState {
                term: Term(2),
                voted_for: None,
            }),
            snapshot: None,
            truncate_after: Some(LogIndex(0)),
            append: Some(LogAppend {
                first_index: LogIndex(1),
                entries: vec![entry(1), entry(2), entry(2)],
            }),
        }
    }

    #[test]
    fn a_torn_write_keeps_a_prefix_of_the_parts_in_order() {
        let c = change();
        assert_eq!(parts(&c), 5);
        assert!(prefix(&c, 0).is_empty());
        let one = prefix(&c, 1);
        assert!(one.hard_state.is_some() && one.truncate_after.is_none());
        let three = prefix(&c, 3);
        assert_eq!(three.append.as_ref().map(|a| a.entries.len()), Some(1));
        assert_eq!(prefix(&c, 5), c);
        assert_eq!(prefix(&c, 9), c);
    }

    #[test]
    fn only_an_unsafe_disk_loses_a_finished_write() {
        let mut safe = Persister::default();
        safe.apply(&change()).unwrap();
        assert!(!safe.lose_last_write());
        assert_eq!(safe.state().entries.len(), 3);
        let mut broken = Persister::default();
        broken.set_unsafe(true);
        broken.apply(&change()).unwrap();
        assert!(broken.lose_last_write());
        assert_eq!(broken.state(), &PersistentState::default());
    }
}
