//! Reads through raft-core's ReadIndex (`Event::ReadIndex`): what the simulator asked for and
//! how each was answered. The `Linearizable Reads` checker judges every answer.

use raft_core::Refusal;
use std::collections::BTreeMap;

/// How a read was answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadOutcome {
    /// `ReadReady`: the server's state, which includes `index`, may be read.
    Ready {
        /// The read index.
        index: u64,
        /// What the server's service had applied through when it answered.
        applied: u64,
    },
    /// `ReadFailed`, and why.
    Failed(Refusal),
}

/// Every read asked for in a run, by id.
#[derive(Debug, Default)]
pub struct ReadLog {
    next_id: u64,
    outcomes: BTreeMap<u64, ReadOutcome>,
}

impl ReadLog {
    /// A fresh id for the next read.
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Records how read `id` was answered.
    pub fn answered(&mut self, id: u64, outcome: ReadOutcome) {
        self.outcomes.insert(id, outcome);
    }

    /// How read `id` was answered, if it has been.
    pub fn outcome(&self, id: u64) -> Option<ReadOutcome> {
        self.outcomes.get(&id).copied()
    }

    /// Reads asked for so far.
    pub fn asked(&self) -> u64 {
        self.next_id
    }

    /// Reads answered `Ready` so far.
    pub fn served(&self) -> u64 {
        let ready = |o: &&ReadOutcome| matches!(o, ReadOutcome::Ready { .. });
        self.outcomes.values().filter(ready).count() as u64
    }
}
