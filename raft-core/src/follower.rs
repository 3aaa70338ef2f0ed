//! Accepting a leader's entries and snapshots (§5.3, §7), with guards for hostile input.

use crate::io::Action;
use crate::message::{AppendEntries, AppendEntriesReply, AppendOutcome, ConflictHint};
use crate::message::{InstallSnapshot, InstallSnapshotReply, Message};
use crate::node::{RaftNode, Role};
use crate::persist::Snapshot;
use crate::types::{LogIndex, NodeId};

/// Indexes beyond this are refused outright: no real log gets near it, and refusing keeps all
/// index arithmetic far from overflow.
pub(crate) const MAX_SANE_INDEX: u64 = u64::MAX >> 2;

/// Terms at or beyond this are refused, and no node starts an election that would reach it,
/// so every term in circulation stays below it. (Only a hostile peer can bring a cluster near
/// it; such a cluster stops electing leaders rather than misbehaving.)
pub(crate) const TERM_CEILING: u64 = u64::MAX >> 2;

impl RaftNode {
    pub(crate) fn handle_append_entries(&mut self, from: NodeId, request: AppendEntries) {
        if self.ignore_rival_leader() || ignore_malformed_append(&request) {
            return;
        }
        self.become_follower(request.term, Some(from));
        self.election_elapsed_ticks = 0;
        let Some(outcome) = self.accept_entries(request) else {
            return;
        };
        let term = self.hard_state.term;
        self.send(
            from,
            Message::AppendEntriesReply(AppendEntriesReply { term, outcome }),
        );
    }

    /// Figure 2's receiver rules 2–5. `None` if the request would have us rewrite committed
    /// entries, which no legitimate leader asks (Leader Completeness, §5.4).
    fn accept_entries(&mut self, request: AppendEntries) -> Option<AppendOutcome> {
        let rejected = request.prev_log_index;
        let mut prev = request.prev_log_index;
        let mut prev_term = request.prev_log_term;
        // Entries before `skip` are covered by our snapshot.
        let mut skip = 0;
        let snapshot_index = self.log.snapshot_index();
        if prev < snapshot_index {
            // Entries through our snapshot are committed, hence already match: skip them.
            skip = (snapshot_index.0 - prev.0) as usize;
            if skip > request.entries.len() {
                let last = prev.plus(request.entries.len() as u64);
                return Some(AppendOutcome::Matched(last));
            }
            if skip > 0 {
                prev_term = request.entries[skip - 1].term;
            }
            prev = snapshot_index;
        }
        let last_index = self.log.last_index();
        if prev > last_index {
            let hint = ConflictHint::LogTooShort {
                next: last_index.next(),
            };
            return Some(AppendOutcome::Rejected { rejected, hint });
        }
        let our_term = self
            .log
            .term_at(prev)
            .expect("prev lies within the held log");
        if our_term != prev_term {
            let first_index = self.log.first_index_of_term_at(prev, our_term);
            let hint = ConflictHint::TermMismatch {
                term: our_term,
                first_index,
            };
            return Some(AppendOutcome::Rejected { rejected, hint });
        }
        // Keep matching entries; cut the log only at the first real conflict, so a stale or
        // reordered request never shortens it (§5.3).
        let entries = &request.entries[skip..];
        let mut new_from = entries.len();
        for (offset, entry) in entries.iter().enumerate() {
            let index = prev.plus(offset as u64 + 1);
            match self.log.term_at(index) {
                Some(term) if term == entry.term => continue,
                Some(_) if index <= self.commit_index => return None,
                Some(_) => self.truncate_log_after(index.prev()),
                None => {}
            }
            new_from = offset;
            break;
        }
        let last_new = prev.plus(entries.len() as u64);
        let mut new_entries = request.entries;
        new_entries.drain(..skip + new_from);
        self.append_to_log(new_entries);
        // Commit what the leader committed, but only as far as this request vouches for.
        let commit = request.leader_commit.min(last_new);
        self.commit_index = self.commit_index.max(commit);
        Some(AppendOutcome::Matched(last_new))
    }

    pub(crate) fn handle_install_snapshot(&mut self, from: NodeId, request: InstallSnapshot) {
        if self.ignore_rival_leader()
            || request.last_included_term > request.term
            || request.last_included_index.0 > MAX_SANE_INDEX
        {
            return;
        }
        self.become_follower(request.term, Some(from));
        self.election_elapsed_ticks = 0;
        // Only a snapshot that moves us forward is installed; committed entries we hold
        // already match the leader's, so applied state never rolls back.
        if request.last_included_index > self.commit_index {
            self.install_snapshot(&request);
        }
        let reply = InstallSnapshotReply {
            term: self.hard_state.term,
            last_included_index: request.last_included_index,
        };
        self.send(from, Message::InstallSnapshotReply(reply));
    }

    fn install_snapshot(&mut self, request: &InstallSnapshot) {
        let snapshot = Snapshot {
            index: request.last_included_index,
            term: request.last_included_term,
            data: request.data.clone(),
        };
        let keeps_tail = self.log.term_at(snapshot.index) == Some(snapshot.term);
        self.log.install(snapshot.clone());
        self.pending.snapshot = Some(snapshot);
        if !keeps_tail {
            self.pending.truncate_after = Some(request.last_included_index);
        }
        self.commit_index = request.last_included_index;
        self.last_applied = request.last_included_index;
        self.out.push(Action::ApplySnapshot {
            index: request.last_included_index,
            term: request.last_included_term,
            data: request.data.clone(),
        });
    }

    /// Two leaders in one term cannot happen (§5.2 Election Safety); if a peer claims it
    /// anyway, the message is dropped rather than trusted.
    fn ignore_rival_leader(&self) -> bool {
        matches!(self.role, Role::Leader(_))
    }

    /// The service compacted its state through `index` (the lab's `Snapshot()`): discard the
    /// log up to there and persist the snapshot with the state it covers (§7).
    pub(crate) fn take_snapshot(&mut self, index: LogIndex, data: crate::types::SharedBytes) {
        if index <= self.log.snapshot_index() || index > self.last_applied {
            return; // ignore_snapshot_not_ahead / ignore_snapshot_of_unapplied_entries
        }
        let term = self.log.term_at(index).expect("applied entries are held");
        self.log.compact(index, term, data.clone());
        self.pending.snapshot = Some(Snapshot { index, term, data });
    }
}

/// A well-formed request has entry terms that never decrease, start no earlier than
/// `prev_log_term` and end no later than the request's term, and indexes far from overflow.
fn ignore_malformed_append(request: &AppendEntries) -> bool {
    let mut previous = request.prev_log_term;
    for entry in &request.entries {
        if entry.term < previous {
            return true;
        }
        previous = entry.term;
    }
    previous > request.term
        || request.prev_log_index.0 > MAX_SANE_INDEX
        || request.entries.len() as u64 > MAX_SANE_INDEX
        || request.leader_commit.0 > MAX_SANE_INDEX
}
