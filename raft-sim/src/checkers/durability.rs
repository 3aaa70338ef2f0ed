//! Durability: an entry reported committed (handed to some service) stays durable on a
//! majority of servers, whatever crashes, restarts and torn writes follow. It is what makes
//! Leader Completeness possible after crashes (§5.4, §5.6: followers and leaders persist
//! before they answer or count themselves).
//!
//! Checked on the highest committed index only: by Log Matching, a server durably holding that
//! entry (or a snapshot past it) holds every committed entry before it.

use super::committed::Committed;
use super::{durable_term_at, Check, Invariant, Violation};
use raft_core::PersistentState;

#[derive(Debug)]
pub(crate) struct Durability {
    majority: usize,
}

impl Durability {
    pub(crate) fn new(n: usize) -> Durability {
        Durability {
            majority: n / 2 + 1,
        }
    }

    pub(crate) fn check<'a>(
        &mut self,
        committed: &Committed,
        durable: impl Iterator<Item = &'a PersistentState>,
    ) -> Check {
        let Some((index, term)) = committed.highest() else {
            return Ok(());
        };
        let mut holders = Vec::new();
        for (server, state) in durable.enumerate() {
            if state.snapshot.index >= index || durable_term_at(state, index) == Some(term) {
                holders.push(server);
            }
        }
        if holders.len() >= self.majority {
            return Ok(());
        }
        Err(Violation::new(
            Invariant::Durability,
            format!(
                "index {} (term {}) is committed but durable only on servers {holders:?}; \
                 a majority is {}",
                index.0, term.0, self.majority
            ),
        ))
    }
}
