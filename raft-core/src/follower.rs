//! Accepting a leader's entries and snapshots (§5.3, §7), with guards for hostile input.

use crate::message::Message;
use crate::message::{AppendEntries, AppendEntriesReply, AppendOutcome, ConflictHint};
use crate::node::{RaftNode, Role};
use crate::types::{NodeId, MAX_SANE_INDEX};

impl RaftNode {
    pub(crate) fn handle_append_entries(&mut self, from: NodeId, request: AppendEntries) {
        if self.ignore_rival_leader() || ignore_malformed_append(&request) {
            return;
        }
        self.become_follower(request.term, Some(from));
        self.heard_from_leader();
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

    /// Two leaders in one term cannot happen (§5.2 Election Safety); if a peer claims it
    /// anyway, the message is dropped rather than trusted.
    pub(crate) fn ignore_rival_leader(&self) -> bool {
        matches!(self.role, Role::Leader(_))
    }
}

/// A configuration entry whose configuration is unusable (see `Membership::validate`), or
/// that carries a command too: a hostile or corrupt message, not a leader's.
fn malformed_config(entry: &crate::types::Entry) -> bool {
    entry
        .membership()
        .is_some_and(|m| m.validate().is_err() || !entry.command.is_empty())
}

/// A well-formed request has well-formed configuration entries, entry terms that never decrease, start no earlier than
/// `prev_log_term` and end no later than the request's term, and indexes far from overflow.
fn ignore_malformed_append(request: &AppendEntries) -> bool {
    let mut previous = request.prev_log_term;
    for entry in &request.entries {
        if entry.term < previous || malformed_config(entry) {
            return true;
        }
        previous = entry.term;
    }
    previous > request.term
        || request.prev_log_index.0 > MAX_SANE_INDEX
        || request.entries.len() as u64 > MAX_SANE_INDEX
        || request.leader_commit.0 > MAX_SANE_INDEX
}
