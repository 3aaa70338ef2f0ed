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
//!
//! With pipelined persistence the node hands some writes over without waiting
//! (`Action::PersistAsync`). They queue here ([`Persister::begin`]) and complete in order,
//! later ([`Persister::complete_through`]); a synchronous write first completes every queued
//! one, as a disk that writes in order does. At a crash the queued writes are lost, except a
//! random prefix of them, the last possibly torn ([`Persister::crash_queued`]).

use crate::rng::Stream;
use raft_core::{ChangeError, LogIndex, PersistChange, PersistentState, Term};
use std::collections::VecDeque;

/// The durable state of one server.
#[derive(Debug, Default)]
pub struct Persister {
    state: PersistentState,
    /// In unsafe mode, the state before the last write, which a crash may fall back to.
    before_last_write: Option<PersistentState>,
    unsafe_disk: bool,
    /// Writes handed over without waiting, oldest first: (sequence number, change, what to
    /// report when it is durable).
    queued: VecDeque<(u64, PersistChange, LogIndex, Term)>,
    next_sequence: u64,
}

/// A queued write that became durable: report `Event::Persisted { index, term }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Completed {
    /// The index to report.
    pub index: LogIndex,
    /// The term to report.
    pub term: Term,
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

    /// Queues `change` (an asynchronous write, reported as `index`/`term` when durable) and
    /// returns its sequence number, for [`Self::complete_through`].
    pub fn begin(&mut self, change: PersistChange, index: LogIndex, term: Term) -> u64 {
        self.next_sequence += 1;
        self.queued
            .push_back((self.next_sequence, change, index, term));
        self.next_sequence
    }

    /// Makes every queued write up to `sequence` durable, in order. Returns what each wrote
    /// and what to report; an `Err` is a change that does not fit (a core bug).
    pub fn complete_through(
        &mut self,
        sequence: u64,
    ) -> Result<Vec<(PersistChange, Completed)>, ChangeError> {
        let mut done = Vec::new();
        while self.queued.front().is_some_and(|q| q.0 <= sequence) {
            let (_, change, index, term) = self.queued.pop_front().expect("checked");
            self.apply(&change)?;
            done.push((change, Completed { index, term }));
        }
        Ok(done)
    }

    /// Makes every queued write durable (before a synchronous write, which a disk that writes
    /// in order finishes after them). The node learns of them through that write.
    pub fn complete_all(&mut self) -> Result<Vec<PersistChange>, ChangeError> {
        let done = self.complete_through(self.next_sequence)?;
        Ok(done.into_iter().map(|(change, _)| change).collect())
    }

    /// A crash: of the queued writes, a random prefix reached the disk, the last of it
    /// perhaps torn; the rest is lost. Returns what was written.
    pub fn crash_queued(&mut self, rng: &mut Stream) -> Result<Vec<PersistChange>, ChangeError> {
        if self.queued.is_empty() {
            return Ok(Vec::new()); // nothing drawn: runs without pipelining keep their draws
        }
        let queued: Vec<PersistChange> = self.queued.drain(..).map(|q| q.1).collect();
        let reached = rng.below(queued.len() as u64 + 1) as usize;
        let mut written = Vec::new();
        for (k, change) in queued.into_iter().take(reached).enumerate() {
            let torn = k + 1 == reached && rng.below(2) == 0;
            let change = match torn {
                true => change.prefix(rng.below(change.parts() as u64 + 1) as usize),
                false => change,
            };
            self.apply(&change)?;
            written.push(change);
        }
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
        let entry = |t| Entry::new(Term(t), b"c".as_slice().into());
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
