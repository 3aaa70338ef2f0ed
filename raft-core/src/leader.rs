//! The leader: proposals, replication with flow control, and commitment (§5.3, §5.4.2, §7).

use crate::io::Action;
use crate::message::{AppendEntries, AppendEntriesReply, AppendOutcome, ConflictHint};
use crate::message::{InstallSnapshot, InstallSnapshotReply, Message};
use crate::node::{RaftNode, Role};
use crate::pipeline::OwnWrites;
use crate::progress::{Mode, Progress};
use crate::read_index::Reads;
use crate::transfer::Transfer;
use crate::types::{Entry, LogIndex, NodeId, SharedBytes};

/// Leader-only state.
#[derive(Debug)]
pub(crate) struct Leader {
    pub(crate) progress: Vec<Progress>,
    heartbeat_elapsed_ticks: u32,
    /// How far the leader's own log is durable (see `pipeline`).
    pub(crate) own: OwnWrites,
    /// Entries were proposed during this call and wait for `send_new_entries`.
    proposed: bool,
    /// Reads being confirmed and the numbered heartbeat rounds (see `read_index`).
    pub(crate) reads: Reads,
    /// A leadership transfer under way (see `transfer`).
    pub(crate) transfer: Option<Transfer>,
    /// Ticks since the last quorum check (see `check_quorum`).
    pub(crate) quorum_elapsed_ticks: u32,
    /// The lease may be used this term (see `lease`; false once `TimeoutNow` has left).
    pub(crate) lease_allowed: bool,
}

impl Leader {
    pub(crate) fn new(followers: &[NodeId], next_index: LogIndex, pipelined: bool) -> Leader {
        Leader {
            own: OwnWrites::new(pipelined, next_index.prev()),
            proposed: false,
            progress: followers
                .iter()
                .map(|&id| Progress::new(id, next_index))
                .collect(),
            heartbeat_elapsed_ticks: 0,
            reads: Reads::default(),
            transfer: None,
            quorum_elapsed_ticks: 0,
            lease_allowed: true,
        }
    }

    /// The position of follower `id` in `progress`.
    pub(crate) fn position(&self, id: NodeId) -> Option<usize> {
        self.progress.iter().position(|p| p.id == id)
    }

    /// Follower `id`'s progress, if we replicate to it.
    pub(crate) fn progress_of(&self, id: NodeId) -> Option<&Progress> {
        self.progress.iter().find(|p| p.id == id)
    }

    /// New entries wait for `send_new_entries` at the end of the call.
    pub(crate) fn note_proposed(&mut self) {
        self.proposed = true;
    }
}

impl RaftNode {
    /// The lab's `Start`: append at once and answer in the same call.
    pub(crate) fn propose(&mut self, command: SharedBytes) {
        if let Some((index, term)) = self.append_proposals(std::iter::once(command)) {
            self.out.push(Action::Proposed { index, term });
        }
    }

    /// Appends the commands as new entries of the current term and starts replicating them;
    /// returns where the first one sits. A node that does not lead answers `NotLeader`.
    pub(crate) fn append_proposals(
        &mut self,
        commands: impl ExactSizeIterator<Item = SharedBytes>,
    ) -> Option<(LogIndex, crate::types::Term)> {
        if !self.is_leader() {
            self.out.push(Action::NotLeader {
                leader_hint: self.leader,
            });
            return None;
        }
        if self.refuse_during_transfer() {
            return None;
        }
        let term = self.hard_state.term;
        let first_index = self.log.last_index().next();
        if commands.len() == 0 {
            return Some((first_index, term));
        }
        let entries: Vec<Entry> = commands.map(|command| Entry::new(term, command)).collect();
        self.append_as_leader(entries);
        Some((first_index, term))
    }

    /// Appends entries of our term to our log and starts replicating them.
    pub(crate) fn append_as_leader(&mut self, entries: Vec<Entry>) {
        self.append_to_log(entries);
        self.leader_state_mut().proposed = true;
        // The entries leave at the end of the call (`send_new_entries`), together with any
        // others proposed in the same group.
        if self.alone_is_quorum() {
            self.advance_commit(); // only a lone voter commits by its own append
        }
    }

    pub(crate) fn leader_tick(&mut self) {
        let heartbeat_ticks = self.config.heartbeat_ticks;
        let leader = self.leader_state_mut();
        leader.heartbeat_elapsed_ticks += 1;
        let heartbeat = leader.heartbeat_elapsed_ticks >= heartbeat_ticks;
        if heartbeat {
            self.broadcast_heartbeat();
            let force = self.round_due();
            self.send_read_round(force);
        }
        self.transfer_tick(heartbeat);
        self.check_quorum_tick(); // last: it may end our leadership
    }

    /// One message to every follower: it asserts leadership (§5.2), carries the commit index,
    /// and retries whatever may have been lost since the last heartbeat.
    pub(crate) fn broadcast_heartbeat(&mut self) {
        let heartbeat_ticks = self.config.heartbeat_ticks;
        let leader = self.leader_state_mut();
        leader.heartbeat_elapsed_ticks = 0;
        for p in &mut leader.progress {
            p.inflight.clear();
            p.probe_sent = false;
            if let Mode::Snapshot {
                ticks_since_sent, ..
            } = &mut p.mode
            {
                *ticks_since_sent = ticks_since_sent.saturating_add(heartbeat_ticks);
            }
        }
        for k in 0..self.leader_state().progress.len() {
            self.send_append(k);
        }
    }

    /// At the end of a call: each follower gets the entries appended during it, as flow
    /// control allows, so that proposals fed together (`step_many`) travel together.
    pub(crate) fn send_new_entries(&mut self) {
        let Role::Leader(leader) = &mut self.role else {
            return;
        };
        if !std::mem::take(&mut leader.proposed) {
            return;
        }
        for k in 0..leader.progress.len() {
            self.send_entries_if_allowed(k);
        }
    }

    /// Sends follower `k` the entries it lacks, in as many messages as flow control allows
    /// (each send moves `next_index` on, marks a probe sent or switches to a snapshot, so the
    /// loop ends).
    pub(crate) fn send_entries_if_allowed(&mut self, k: usize) {
        let last_index = self.log.last_index();
        let max_inflight = self.config.max_inflight_messages;
        loop {
            let p = &self.leader_state().progress[k];
            if p.next_index > last_index || !p.may_send_entries(max_inflight) {
                return;
            }
            self.send_append(k);
        }
    }

    /// Sends follower `k` the entries from its `next_index` (none for a heartbeat), or the
    /// snapshot if those entries were discarded (§7).
    fn send_append(&mut self, k: usize) {
        let snapshot_index = self.log.snapshot_index();
        let p = &self.leader_state().progress[k];
        if let Mode::Snapshot {
            ticks_since_sent, ..
        } = p.mode
        {
            if ticks_since_sent < self.config.election_ticks_min {
                // The snapshot is on its way; only assert leadership.
                let heartbeat = self.append_request(snapshot_index.next(), Vec::new());
                self.send_append_request(k, heartbeat);
            } else {
                self.send_snapshot(k); // it may have been lost
            }
            return;
        }
        if p.next_index <= snapshot_index {
            self.send_snapshot(k);
            return;
        }
        let next_index = p.next_index;
        let entries = self.log.entries_from(
            next_index,
            self.config.max_entries_per_message,
            self.config.max_bytes_per_message,
        );
        let request = self.append_request(next_index, entries);
        let p = &mut self.leader_state_mut().progress[k];
        match p.mode {
            Mode::Replicate if !request.entries.is_empty() => {
                p.next_index = p.next_index.plus(request.entries.len() as u64);
                p.inflight.push_back(p.next_index.prev());
            }
            Mode::Probe => p.probe_sent = true,
            _ => {}
        }
        self.send_append_request(k, request);
    }

    /// An AppendEntries carrying `entries` from `next_index` on (which must be past the
    /// snapshot, or just past it).
    fn append_request(&self, next_index: LogIndex, entries: Vec<Entry>) -> AppendEntries {
        let prev_log_index = next_index.prev();
        AppendEntries {
            term: self.hard_state.term,
            prev_log_index,
            prev_log_term: self
                .log
                .term_at(prev_log_index)
                .expect("next_index is at most one past the snapshot"),
            entries,
            leader_commit: self.commit_index,
        }
    }

    /// Ships the whole snapshot to follower `k` (§7: no chunking).
    fn send_snapshot(&mut self, k: usize) {
        let snapshot = self.log.snapshot();
        let request = InstallSnapshot {
            term: self.hard_state.term,
            last_included_index: snapshot.index,
            last_included_term: snapshot.term,
            data: snapshot.data.clone(),
            membership: snapshot.membership.clone(),
        };
        let p = &mut self.leader_state_mut().progress[k];
        p.mode = Mode::Snapshot {
            index: request.last_included_index,
            ticks_since_sent: 0,
        };
        let to = p.id;
        self.send(to, Message::InstallSnapshot(request));
    }

    pub(crate) fn handle_append_reply(&mut self, from: NodeId, reply: AppendEntriesReply) {
        let last_index = self.log.last_index();
        let Role::Leader(leader) = &mut self.role else {
            return; // ignore_reply_when_not_leader: we lost office since sending.
        };
        let Some(k) = leader.position(from) else {
            return;
        };
        let p = &mut leader.progress[k];
        match reply.outcome {
            AppendOutcome::StaleTerm => {}
            AppendOutcome::Matched(index) => {
                if index > last_index {
                    return; // ignore_impossible_match: we never sent that far.
                }
                p.record_match(index);
                self.advance_commit();
                self.send_entries_if_allowed(k);
                self.send_timeout_now_if_ready(k);
            }
            AppendOutcome::Rejected { rejected, hint } => {
                if rejected > last_index || ignore_stale_rejection(p, rejected) {
                    // ignore_impossible_rejection: we never probed past our own log, and
                    // backing up there would point next_index beyond it.
                    return;
                }
                let next = self.next_index_after_conflict(hint);
                let Role::Leader(leader) = &mut self.role else {
                    unreachable!()
                };
                let p = &mut leader.progress[k];
                // Back up, but never below what is known to match nor past the rejected probe.
                p.next_index = next.clamp(p.match_index.next(), rejected);
                p.mode = Mode::Probe;
                p.inflight.clear();
                self.send_append(k);
            }
        }
    }

    /// The lab's fast back-up: skip the follower's whole conflicting term, or jump to the end
    /// of its short log, in one round trip.
    fn next_index_after_conflict(&self, hint: ConflictHint) -> LogIndex {
        match hint {
            ConflictHint::LogTooShort { next } => next,
            ConflictHint::TermMismatch { term, first_index } => self
                .log
                .last_index_of_term(term)
                .map_or(first_index, LogIndex::next),
        }
    }

    pub(crate) fn handle_snapshot_reply(&mut self, from: NodeId, reply: InstallSnapshotReply) {
        let last_index = self.log.last_index();
        let Role::Leader(leader) = &mut self.role else {
            return;
        };
        let Some(k) = leader.position(from) else {
            return;
        };
        let Some(matched) = reply.matched else {
            return; // ignore_refused_snapshot: it answers a request from an older term
        };
        if matched > last_index {
            return; // ignore_impossible_match
        }
        leader.progress[k].record_match(matched);
        self.advance_commit();
        self.send_entries_if_allowed(k);
        self.send_timeout_now_if_ready(k);
    }

    /// Commit the highest index a majority holds — of each side while joint (§6) — but only
    /// by counting replicas of an entry of the current term (§5.4.2, Figure 8); earlier
    /// entries commit indirectly. The leader counts itself only if it is a voter, and only
    /// through what it has made durable (see `pipeline`).
    pub(crate) fn advance_commit(&mut self) {
        let (me, last_index) = (self.config.id, self.log.last_index());
        let Role::Leader(leader) = &mut self.role else {
            return;
        };
        let own = leader.own.self_match(last_index);
        let progress = &leader.progress;
        let match_of = |id: NodeId| match id == me {
            true => own,
            false => (progress.iter().find(|p| p.id == id)).map_or(LogIndex(0), |p| p.match_index),
        };
        let majority_index = self.membership.quorum_value(match_of);
        if majority_index > self.commit_index
            && self.log.term_at(majority_index) == Some(self.hard_state.term)
        {
            self.commit_index = majority_index;
        }
    }

    pub(crate) fn leader_state(&self) -> &Leader {
        match &self.role {
            Role::Leader(leader) => leader,
            _ => unreachable!("leader state outside leadership"),
        }
    }

    pub(crate) fn leader_state_mut(&mut self) -> &mut Leader {
        match &mut self.role {
            Role::Leader(leader) => leader,
            _ => unreachable!("leader state outside leadership"),
        }
    }
}

/// A rejection is stale if it concerns entries already known to match, or (while probing) an
/// older probe than the one outstanding; acting on it would only resend.
fn ignore_stale_rejection(p: &Progress, rejected: LogIndex) -> bool {
    match p.mode {
        Mode::Snapshot { .. } => true,
        Mode::Probe => rejected != p.next_index.prev() || rejected <= p.match_index,
        Mode::Replicate => rejected <= p.match_index,
    }
}
