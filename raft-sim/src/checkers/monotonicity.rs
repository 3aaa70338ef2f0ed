//! Monotonicity: within one incarnation a node's term, commit index and last applied index
//! never go back (§5.1, Figure 2); across a crash, the term and vote it restarts with are never
//! older than those it acted on, and its durable term and vote never go back (Figure 2:
//! "updated on stable storage before responding to RPCs").

use super::{Check, Invariant, Violation};
use raft_core::{HardState, LogIndex, PersistentState, RaftNode, Term};

#[derive(Debug)]
pub(crate) struct Monotonicity {
    /// Per server, this incarnation's last (term, commit index, last applied).
    volatile: Vec<Option<(Term, LogIndex, LogIndex)>>,
    /// Per server, the term and vote it last acted on (after a step whose actions were all
    /// carried out, so the durable state should hold them).
    acted: Vec<HardState>,
    /// Per server, the durable term and vote last seen.
    durable: Vec<HardState>,
}

impl Monotonicity {
    pub(crate) fn new(n: usize) -> Monotonicity {
        Monotonicity {
            volatile: vec![None; n],
            acted: vec![HardState::default(); n],
            durable: vec![HardState::default(); n],
        }
    }

    pub(crate) fn step_done(&mut self, server: usize, node: &RaftNode) -> Check {
        let now = (node.term(), node.commit_index(), node.last_applied());
        let before = self.volatile[server].replace(now);
        self.acted[server] = HardState {
            term: node.term(),
            voted_for: node.voted_for(),
        };
        let Some(before) = before else {
            return Ok(());
        };
        let went_back = [
            ("term", before.0 .0, now.0 .0),
            ("commit index", before.1 .0, now.1 .0),
            ("last applied", before.2 .0, now.2 .0),
        ]
        .into_iter()
        .find(|&(_, old, new)| new < old);
        match went_back {
            None => Ok(()),
            Some((what, old, new)) => Err(violation(format!(
                "server {server}'s {what} went back from {old} to {new}"
            ))),
        }
    }

    pub(crate) fn persisted(&mut self, server: usize, durable: &PersistentState) -> Check {
        let new = durable.hard_state;
        let old = std::mem::replace(&mut self.durable[server], new);
        not_older(server, "its durable", old, new)
    }

    pub(crate) fn crashed(&mut self, server: usize) {
        self.volatile[server] = None;
    }

    /// The server's disk was wiped: it starts over as a new member.
    pub(crate) fn wiped(&mut self, server: usize) {
        self.volatile[server] = None;
        self.acted[server] = HardState::default();
        self.durable[server] = HardState::default();
    }

    pub(crate) fn restarted(&mut self, server: usize, restored: &PersistentState) -> Check {
        let new = restored.hard_state;
        let durable = std::mem::replace(&mut self.durable[server], new);
        not_older(server, "the last", durable, new)?;
        not_older(server, "the acted-on", self.acted[server], new)
    }
}

/// `new` must not be an older term than `old`, nor another vote in the same term.
fn not_older(server: usize, which: &str, old: HardState, new: HardState) -> Check {
    if new.term < old.term {
        return Err(violation(format!(
            "server {server} has durable term {} after {which} term {}",
            new.term.0, old.term.0
        )));
    }
    if new.term == old.term && old.voted_for.is_some() && new.voted_for != old.voted_for {
        return Err(violation(format!(
            "server {server} has durable vote {:?} in term {} after {which} vote {:?}",
            new.voted_for.map(|n| n.0),
            new.term.0,
            old.voted_for.map(|n| n.0)
        )));
    }
    Ok(())
}

fn violation(detail: String) -> Violation {
    Violation::new(Invariant::Monotonicity, detail)
}
