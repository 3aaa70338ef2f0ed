//! State Machine Safety (§5.4.3): once a server has applied an entry at an index, no server
//! applies a different one there. With the committed record as the one canonical sequence,
//! each service must also apply a prefix of it: in index order, each entry once per
//! incarnation, snapshots only forward.

use super::{Check, Invariant, Violation};
use raft_core::LogIndex;

#[derive(Debug)]
pub(crate) struct StateMachine {
    /// Per server: the last index its service holds (applied or from a snapshot).
    applied: Vec<u64>,
}

impl StateMachine {
    pub(crate) fn new(n: usize) -> StateMachine {
        StateMachine {
            applied: vec![0; n],
        }
    }

    pub(crate) fn applied(&mut self, server: usize, index: LogIndex) -> Check {
        let expected = self.applied[server] + 1;
        self.applied[server] = index.0;
        if index.0 == expected {
            return Ok(());
        }
        let what = if index.0 < expected {
            "applied again"
        } else {
            "skipped entries"
        };
        Err(Violation::new(
            Invariant::StateMachineSafety,
            format!(
                "server {server} applied index {} after index {}: {what}",
                index.0,
                expected - 1
            ),
        ))
    }

    pub(crate) fn snapshot_applied(&mut self, server: usize, index: LogIndex) -> Check {
        let before = std::mem::replace(&mut self.applied[server], index.0);
        if index.0 > before {
            return Ok(());
        }
        Err(Violation::new(
            Invariant::StateMachineSafety,
            format!(
                "server {server} installed a snapshot through index {} over a service that \
                 had applied through {before}: its state went back",
                index.0
            ),
        ))
    }

    /// A disagreement with the committed record, seen while `server` applied.
    pub(crate) fn conflict(&self, server: usize, why: String) -> Violation {
        Violation::new(
            Invariant::StateMachineSafety,
            format!("server {server}: {why}"),
        )
    }

    /// The last index `server`'s service holds.
    pub(crate) fn service_applied(&self, server: usize) -> u64 {
        self.applied[server]
    }

    pub(crate) fn restarted(&mut self, server: usize, snapshot_index: LogIndex) {
        self.applied[server] = snapshot_index.0;
    }
}
