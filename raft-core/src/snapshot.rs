//! Snapshots (§7): the service compacting the log, and a follower installing the leader's.

use crate::io::Action;
use crate::message::{InstallSnapshot, InstallSnapshotReply, Message};
use crate::node::RaftNode;
use crate::persist::Snapshot;
use crate::types::{LogIndex, NodeId, SharedBytes, MAX_SANE_INDEX};

impl RaftNode {
    /// The service compacted its state through `index` (the lab's `Snapshot()`): discard the
    /// log up to there and persist the snapshot with the state it covers (§7).
    pub(crate) fn take_snapshot(&mut self, index: LogIndex, data: SharedBytes) {
        if index <= self.log.snapshot_index() || index > self.last_applied {
            return; // ignore_snapshot_not_ahead / ignore_snapshot_of_unapplied_entries
        }
        let term = self.log.term_at(index).expect("applied entries are held");
        // The log records the configuration in force at `index` in the snapshot (§7).
        self.log.compact(index, term, data);
        self.pending.snapshot = Some(self.log.snapshot().clone());
    }

    pub(crate) fn handle_install_snapshot(&mut self, from: NodeId, request: InstallSnapshot) {
        let bad_config = (request.membership.as_ref()).is_some_and(|m| m.validate().is_err());
        if self.ignore_rival_leader()
            || request.last_included_term > request.term
            || request.last_included_index.0 > MAX_SANE_INDEX
            || bad_config
        {
            return;
        }
        self.become_follower(request.term, Some(from));
        self.heard_from_leader();
        // Only a snapshot that moves us forward is installed; committed entries we hold
        // already match the leader's, so applied state never rolls back.
        if request.last_included_index > self.commit_index {
            self.install_snapshot(&request);
        }
        let reply = InstallSnapshotReply {
            term: self.hard_state.term,
            matched: Some(request.last_included_index),
        };
        self.send(from, Message::InstallSnapshotReply(reply));
    }

    fn install_snapshot(&mut self, request: &InstallSnapshot) {
        let snapshot = Snapshot {
            index: request.last_included_index,
            term: request.last_included_term,
            data: request.data.clone(),
            membership: request.membership.clone(),
        };
        let keeps_tail = self.log.term_at(snapshot.index) == Some(snapshot.term);
        self.log.install(snapshot.clone());
        self.pending.snapshot = Some(snapshot);
        if !keeps_tail {
            self.pending.truncate_after = Some(request.last_included_index);
        }
        self.refresh_membership(); // the snapshot's, unless a kept entry is newer
        self.commit_index = request.last_included_index;
        self.last_applied = request.last_included_index;
        self.out.push(Action::ApplySnapshot {
            index: request.last_included_index,
            term: request.last_included_term,
            data: request.data.clone(),
        });
    }
}
