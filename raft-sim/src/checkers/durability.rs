//! Durability: an entry reported committed (handed to some service) stays durable on a
//! majority of servers, whatever crashes, restarts and torn writes follow. It is what makes
//! Leader Completeness possible after crashes (§5.4, §5.6: followers and leaders persist
//! before they answer or count themselves).
//!
//! With membership changes the majority is of the voters of the configuration in force at that
//! index (by the committed configuration entries; while it is joint, of its incoming side,
//! C_new, which is what a leader that has moved on to C_new commits with, thesis §4.3).
//!
//! Checked on the highest committed index only: by Log Matching, a server durably holding that
//! entry (or a snapshot past it) holds every committed entry before it.

use super::committed::Committed;
use super::{durable_term_at, Check, Invariant, Violation};
use raft_core::PersistentState;

#[derive(Debug)]
pub(crate) struct Durability {
    /// The bootstrap configuration's voters.
    bootstrap: Vec<usize>,
}

impl Durability {
    pub(crate) fn new(n: usize) -> Durability {
        Durability {
            bootstrap: (0..n).collect(),
        }
    }

    pub(crate) fn set_bootstrap(&mut self, members: &[usize]) {
        self.bootstrap = members.to_vec();
    }

    pub(crate) fn check<'a>(
        &mut self,
        committed: &Committed,
        durable: impl Iterator<Item = &'a PersistentState>,
    ) -> Check {
        let Some((index, term)) = committed.highest() else {
            return Ok(());
        };
        let voters: Vec<usize> = match committed.configuration_at(index) {
            Some(membership) => membership.voters.iter().map(|id| id.0 as usize).collect(),
            None => self.bootstrap.clone(),
        };
        let majority = voters.len() / 2 + 1;
        let mut holders = Vec::new();
        for (server, state) in durable.enumerate() {
            if state.snapshot.index >= index || durable_term_at(state, index) == Some(term) {
                holders.push(server);
            }
        }
        let voting_holders = holders.iter().filter(|h| voters.contains(h)).count();
        if voting_holders >= majority {
            return Ok(());
        }
        Err(Violation::new(
            Invariant::Durability,
            format!(
                "index {} (term {}) is committed but durable only on servers {holders:?}; \
                 a majority of voters {voters:?} is {majority}",
                index.0, term.0
            ),
        ))
    }
}
