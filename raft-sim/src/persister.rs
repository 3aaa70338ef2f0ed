//! One server's disk: the durable [`PersistentState`] with every `Persist` applied, as the
//! lab's persister keeps it, and — beyond the lab — what a real disk does at a crash.
//!
//! A crash may fall inside a node's step, in the middle of writing its change. A log store
//! writes a change's parts in order (hard state, snapshot, truncation, then each appended
//! entry), so after a crash the disk holds the state before the change plus any *prefix* of
//! those parts: a *torn write* ([`Persister::apply_torn`], [`PersistChange::prefix`]). That is a legal outcome that Raft
//! must survive, since the node had not acted on the change yet.
//!
//! A disk that loses a write it already reported done (no fsync, a lying cache) is not legal:
//! [`Persister::set_unsafe`] models it, to show what the checkers catch when a disk breaks
//! its promise.

use raft_core::{ChangeError, PersistChange, PersistentState};

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

    /// A crash tore the write of `change`: only its first `parts` parts reached the disk
    /// ([`PersistChange::prefix`]). Returns what was written.
    pub fn apply_torn(
        &mut self,
        change: &PersistChange,
        parts: usize,
    ) -> Result<PersistChange, ChangeError> {
        let written = change.prefix(parts);
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

#[cfg(test)]
mod tests {
    use super::*;
    use raft_core::{Entry, HardState, LogAppend, LogIndex, Term};

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
