//! Leader Completeness (§5.4): if an entry is committed in a term, it is in the log of the
//! leader of every later term. A leader never removes entries from its log (Leader
//! Append-Only), so it is checked once against everything committed when the node takes
//! office, then against what is committed while it leads.

use super::committed::{describe, Committed, Known};
use super::{Check, Invariant, Violation};
use raft_core::{LogIndex, RaftNode, Term};

#[derive(Debug)]
pub(crate) struct LeaderCompleteness {
    /// Per server: the term it leads and how far into the committed records it has been
    /// checked, while it leads.
    leading: Vec<Option<(Term, usize)>>,
}

impl LeaderCompleteness {
    pub(crate) fn new(n: usize) -> LeaderCompleteness {
        LeaderCompleteness {
            leading: vec![None; n],
        }
    }

    pub(crate) fn step_done(
        &mut self,
        server: usize,
        node: &RaftNode,
        committed: &Committed,
    ) -> Check {
        if !node.is_leader() {
            self.leading[server] = None;
            return Ok(());
        }
        let term = node.term();
        let cursor = match self.leading[server] {
            Some((led, cursor)) if led == term => cursor,
            _ => {
                // Newly in office: everything committed so far, above the node's snapshot.
                let above_snapshot = node.snapshot_index().0 + 1;
                for (index, known) in committed.from(above_snapshot) {
                    holds(server, node, index, known)?;
                }
                committed.recorded()
            }
        };
        for (index, known) in committed.recorded_since(cursor) {
            if index > node.snapshot_index().0 {
                holds(server, node, index, known)?;
            }
        }
        self.leading[server] = Some((term, committed.recorded()));
        Ok(())
    }

    pub(crate) fn crashed(&mut self, server: usize) {
        self.leading[server] = None;
    }
}

/// The leader `node` must hold the committed entry at `index`, if it was committed in an
/// earlier term than the one it leads.
fn holds(server: usize, node: &RaftNode, index: u64, known: &Known) -> Check {
    if known.commit_term >= node.term() {
        return Ok(());
    }
    let entry = node.entry(LogIndex(index));
    let held = entry.is_some_and(|e| {
        e.term == known.term
            && known
                .digest
                .is_none_or(|d| d == super::committed::entry_digest(e))
    });
    if held {
        return Ok(());
    }
    let found = match entry {
        Some(e) => describe(e.term, Some(super::committed::entry_digest(e))),
        None => format!("nothing (its log ends at {})", node.last_index().0),
    };
    Err(Violation::new(
        Invariant::LeaderCompleteness,
        format!(
            "server {server} leads term {} but holds {found} at index {index}, where {} was \
             committed by term {}",
            node.term().0,
            describe(known.term, known.digest),
            known.commit_term.0
        ),
    ))
}
