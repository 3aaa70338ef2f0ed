//! Pipelined persistence (Ongaro's thesis §10.2.1), enabled by `Config::pipelined_persistence`.
//!
//! Normally every durable change is a `Persist` that the driver completes before carrying out
//! anything after it, so a leader's new entries leave for the followers only once its own
//! write is done: the write and the round trip happen one after the other. With pipelining a
//! leader's change that is nothing but its own new entries becomes a `PersistAsync`: the
//! entries leave at once and the write proceeds in parallel.
//!
//! Why it is safe:
//! - An entry commits once a majority has it *durably*. Followers still persist before they
//!   acknowledge (their changes stay plain `Persist`s), and the leader counts itself only
//!   through `durable_index`: what the driver reported with `Event::Persisted`, or what a
//!   later plain `Persist` covered (writes complete in order). So every committed entry is
//!   durable on a majority, as without pipelining, and Leader Completeness (§5.4) holds.
//! - Votes and terms are never pipelined: any change with a hard state, a snapshot or a
//!   truncation is a plain `Persist`. A leader leaves office only for a newer term, whose
//!   hard state is a plain `Persist`, so it never answers as a follower on the strength of a
//!   write still under way.
//! - A crash may lose the leader's unfinished write: its durable log is then a prefix of what
//!   it sent. Those entries were not committed on its account; followers that stored them
//!   keep them, and a later leader keeps or overwrites them as usual (§5.3). `Proposed` never
//!   promised more than "appended". The restarted node cannot lead the same term again (its
//!   vote for itself is durable), so no index gets two different entries of one term.

use crate::io::Action;
use crate::node::{RaftNode, Role};
use crate::persist::PersistChange;
use crate::types::{LogIndex, Term};

/// What a leader knows of its own durable log.
#[derive(Debug)]
pub(crate) struct OwnWrites {
    pipelined: bool,
    /// The leader's log is durable through here. Only meaningful when pipelined; without
    /// pipelining the whole log counts, since every `Persist` precedes what depends on it.
    durable_index: LogIndex,
}

impl OwnWrites {
    /// On taking office everything is durable: every earlier change was a plain `Persist`.
    pub(crate) fn new(pipelined: bool, last_index: LogIndex) -> OwnWrites {
        OwnWrites {
            pipelined,
            durable_index: last_index,
        }
    }

    /// The leader's log is durable through here (checked by the invariants).
    #[cfg(debug_assertions)]
    pub(crate) fn durable_index(&self) -> LogIndex {
        self.durable_index
    }

    /// How far the leader may count itself toward a majority (§5.3, thesis §10.2.1).
    pub(crate) fn self_match(&self, last_index: LogIndex) -> LogIndex {
        if self.pipelined {
            self.durable_index
        } else {
            last_index
        }
    }
}

impl RaftNode {
    /// The action that hands `change` to the driver: `PersistAsync` for a pipelining leader's
    /// own new entries, `Persist` for everything else.
    pub(crate) fn persist_action(&mut self, change: PersistChange) -> Action {
        let (index, term) = (self.log.last_index(), self.log.last_term());
        let Role::Leader(leader) = &mut self.role else {
            return Action::Persist(change);
        };
        if leader.own.pipelined && is_own_append(&change) {
            // A leader only appends at the end of its log, so its last entry ends the change.
            return Action::PersistAsync {
                change,
                index,
                term,
            };
        }
        // Writes complete in order: once this one is durable, so is everything before it.
        leader.own.durable_index = index;
        Action::Persist(change)
    }

    /// The driver finished a `PersistAsync`: the leader may now count itself through `index`.
    pub(crate) fn handle_persisted(&mut self, index: LogIndex, term: Term) {
        if self.log.term_at(index) != Some(term) {
            // ignore_unmatched_report: not (or no longer) our log's entry, e.g. a report from
            // before a crash or about entries since compacted or overwritten.
            return;
        }
        let Role::Leader(leader) = &mut self.role else {
            // ignore_report_when_not_leader: stepping down wrote a plain Persist (the new
            // term), which covered every earlier write; followers do not count themselves.
            return;
        };
        if index <= leader.own.durable_index {
            return; // ignore_stale_report
        }
        leader.own.durable_index = index;
        self.advance_commit();
    }
}

/// A change that only appends entries: the only kind a leader may leave unfinished.
fn is_own_append(change: &PersistChange) -> bool {
    change.hard_state.is_none()
        && change.snapshot.is_none()
        && change.truncate_after.is_none()
        && change.append.is_some()
}
