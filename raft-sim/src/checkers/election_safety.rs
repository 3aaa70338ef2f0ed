//! Election Safety (§5.2): at most one leader can be elected in a given term — ever, not only
//! at the same instant, so a deposed leader's term stays taken.

use super::{Check, Invariant, Violation};
use raft_core::RaftNode;
use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub(crate) struct ElectionSafety {
    /// The server that led each term.
    leaders: BTreeMap<u64, usize>,
}

impl ElectionSafety {
    pub(crate) fn step_done(&mut self, server: usize, node: &RaftNode) -> Check {
        if !node.is_leader() {
            return Ok(());
        }
        let term = node.term().0;
        match self.leaders.insert(term, server) {
            Some(other) if other != server => Err(Violation::new(
                Invariant::ElectionSafety,
                format!("servers {other} and {server} both led term {term}"),
            )),
            _ => Ok(()),
        }
    }
}
