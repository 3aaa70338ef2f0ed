//! ReadIndex (Ongaro's thesis §6.4), enabled by `Config::read_index`: linearizable reads
//! without writing to the log.
//!
//! A read must see every write committed before it was asked for. The leader's commit index
//! covers them all once it has committed an entry of its own term (a new leader commits a
//! no-op first, see `become_leader`), provided it is still the leader: a newer leader may have
//! committed more without it knowing. So on `Event::ReadIndex` the leader
//!
//! 1. records its commit index as the read index (once it has committed an entry of its term);
//! 2. confirms it still leads with one round of numbered heartbeats (`Heartbeat { round }`)
//!    sent after the read arrived: a majority answering that round at our term proves no
//!    newer leader had committed anything when the read arrived (it would have needed a
//!    majority at a newer term, and terms only grow). Reads arriving together share a round,
//!    and only one round is in flight at a time: reads that arrive meanwhile wait for the
//!    next, sent as soon as that one is confirmed (or at the next heartbeat, if it was lost);
//! 3. answers `ReadReady { id, index }` once it has applied through the read index.
//!
//! A follower forwards the read to the leader it knows (`ReadIndex`), which confirms it the
//! same way and answers with the index (`ReadIndexResponse`); the follower answers its driver
//! once it has applied through that index itself. A read that cannot be confirmed fails
//! (`ReadFailed`): the leader lost office, or the forwarded read got no usable answer within
//! `election_ticks_max` ticks or before the follower's term changed.
//!
//! With `Config::lease_reads`, a leader whose lease holds (`lease`) skips step 2.
//!
//! Trade-off: a round trip to a majority per batch of reads (no disk write), and a no-op entry
//! at the start of every term.

use crate::io::{Action, Refusal};
use crate::message::{Heartbeat, HeartbeatReply, Message, ReadIndexRequest, ReadIndexResponse};
use crate::node::{RaftNode, Role};
use crate::types::{LogIndex, NodeId, Term, MAX_SANE_INDEX};
use std::collections::VecDeque;

/// How many recent rounds' send times a leader remembers (older answers still confirm reads,
/// but no longer extend a lease).
const ROUNDS_REMEMBERED: usize = 64;

/// Who asked for a read the leader is confirming.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    /// This node's driver.
    Local,
    /// A follower that forwarded it.
    Remote(NodeId),
}

/// A read the leader is confirming.
#[derive(Debug)]
struct PendingRead {
    id: u64,
    origin: Origin,
    /// The read index, once the leader has committed an entry of its term.
    index: Option<LogIndex>,
    /// The round whose confirmation the read needs (0: none, the lease covered it).
    round: u64,
}

/// The leader's reads and heartbeat rounds (leader-only state).
#[derive(Debug, Default)]
pub(crate) struct Reads {
    pending: Vec<PendingRead>,
    /// The number of the last round sent this term (0: none yet).
    pub(crate) round: u64,
    /// Some read waits for a round not sent yet.
    wanted: bool,
    /// The leader's clock when each recent round left, oldest first.
    sent_at: VecDeque<(u64, u64)>,
}

impl Reads {
    /// When round `round` left, if it is recent enough to be remembered.
    pub(crate) fn sent_at(&self, round: u64) -> Option<u64> {
        let found = self.sent_at.iter().find(|&&(r, _)| r == round);
        found.map(|&(_, at)| at)
    }
}

/// A read this node forwarded to the leader.
#[derive(Debug)]
pub(crate) struct ForwardedRead {
    id: u64,
    /// The leader it went to.
    to: NodeId,
    /// Our term when it left.
    term: Term,
    /// Our clock when it left.
    since: u64,
    /// The read index the leader answered with.
    index: Option<LogIndex>,
}

impl RaftNode {
    /// `Event::ReadIndex`.
    pub(crate) fn read_index(&mut self, id: u64) {
        if !self.config.read_index {
            return self.fail_read(id, Refusal::Disabled);
        }
        if self.is_leader() {
            return self.queue_read(id, Origin::Local);
        }
        let Some(to) = self.leader else {
            return self.fail_read(id, Refusal::NotLeader { leader_hint: None });
        };
        let term = self.hard_state.term;
        self.forwarded.push(ForwardedRead {
            id,
            to,
            term,
            since: self.clock,
            index: None,
        });
        self.send(to, Message::ReadIndex(ReadIndexRequest { term, id }));
    }

    fn fail_read(&mut self, id: u64, reason: Refusal) {
        self.out.push(Action::ReadFailed { id, reason });
    }

    /// A leader takes a read: its index now if it can tell, and the round that confirms it.
    fn queue_read(&mut self, id: u64, origin: Origin) {
        let index = self.own_term_committed().then_some(self.commit_index);
        let covered = (index.is_some() && self.lease_valid()) || self.alone_is_quorum();
        let reads = &mut self.leader_state_mut().reads;
        let round = match covered {
            true => 0,
            false => {
                reads.wanted = true;
                reads.round + 1
            }
        };
        let read = PendingRead {
            id,
            origin,
            index,
            round,
        };
        reads.pending.push(read);
    }

    /// Whether the commit index is an entry of our term: then it covers everything any
    /// earlier leader committed (§5.4.2, thesis §6.4).
    pub(crate) fn own_term_committed(&self) -> bool {
        self.log.term_at(self.commit_index) == Some(self.hard_state.term)
    }

    /// A follower forwarded a read to us.
    pub(crate) fn handle_forwarded_read(&mut self, from: NodeId, request: ReadIndexRequest) {
        if self.is_leader() && self.config.read_index {
            return self.queue_read(request.id, Origin::Remote(from));
        }
        let (term, id) = (self.hard_state.term, request.id);
        let refusal = ReadIndexResponse {
            term,
            id,
            index: None,
        };
        self.send(from, Message::ReadIndexResponse(refusal));
    }

    /// The leader answered a read we forwarded.
    pub(crate) fn handle_read_response(&mut self, from: NodeId, response: ReadIndexResponse) {
        let waiting = |r: &ForwardedRead| r.id == response.id && r.to == from && r.index.is_none();
        let Some(k) = self.forwarded.iter().position(waiting) else {
            return; // ignore_unknown_read: not ours, answered already, or failed
        };
        match response.index {
            Some(index) if index.0 <= MAX_SANE_INDEX => self.forwarded[k].index = Some(index),
            Some(_) => {} // ignore_absurd_index
            None => {
                let read = self.forwarded.remove(k);
                let leader_hint = self.leader.filter(|&l| l != from);
                self.fail_read(read.id, Refusal::NotLeader { leader_hint });
            }
        }
    }

    /// A numbered heartbeat from the leader of our term: like an empty AppendEntries without
    /// the log, answered with its round.
    pub(crate) fn handle_heartbeat(&mut self, from: NodeId, heartbeat: Heartbeat) {
        if self.ignore_rival_leader() {
            return;
        }
        self.become_follower(heartbeat.term, Some(from));
        self.heard_from_leader();
        let term = self.hard_state.term;
        let round = heartbeat.round;
        self.send(
            from,
            Message::HeartbeatReply(HeartbeatReply { term, round }),
        );
    }

    /// A follower answered round `reply.round` at our term: it accepted us after that round
    /// left.
    pub(crate) fn handle_heartbeat_reply(&mut self, from: NodeId, reply: HeartbeatReply) {
        let Role::Leader(leader) = &mut self.role else {
            return; // ignore_reply_when_not_leader
        };
        let Some(k) = leader.position(from) else {
            return;
        };
        if reply.round > leader.reads.round || reply.round <= leader.progress[k].round_acked {
            return; // ignore_impossible_round / ignore_stale_round
        }
        let sent_at = leader.reads.sent_at(reply.round);
        let p = &mut leader.progress[k];
        p.round_acked = reply.round;
        p.acked_sent_at = sent_at.or(p.acked_sent_at);
    }

    /// The highest round a majority (of each side while joint; ourselves included if we
    /// vote) has answered.
    fn confirmed_round(&self) -> u64 {
        let (leader, me) = (self.leader_state(), self.config.id);
        let acked = |id: NodeId| match id == me {
            true => leader.reads.round,
            false => leader.progress_of(id).map_or(0, |p| p.round_acked),
        };
        self.membership.quorum_value(acked)
    }

    /// Sends a new round: at the end of a call if a read waits for one and none is in flight,
    /// or, with `force`, at a heartbeat (a lost round must not strand reads; a lease needs
    /// fresh answers).
    pub(crate) fn send_read_round(&mut self, force: bool) {
        if !self.is_leader() || !(force || self.leader_state().reads.wanted) {
            return; // the common case, checked first: no read waits for a round
        }
        let in_flight = self.confirmed_round() < self.leader_state().reads.round;
        if !force && in_flight {
            return;
        }
        let (term, clock) = (self.hard_state.term, self.clock);
        let reads = &mut self.leader_state_mut().reads;
        reads.wanted = false;
        reads.round += 1;
        let round = reads.round;
        reads.sent_at.push_back((round, clock));
        if reads.sent_at.len() > ROUNDS_REMEMBERED {
            reads.sent_at.pop_front();
        }
        for peer in self.other_voters() {
            self.send(peer, Message::Heartbeat(Heartbeat { term, round }));
        }
    }

    /// At a heartbeat: whether a round should go out anyway.
    pub(crate) fn round_due(&self) -> bool {
        let reads = &self.leader_state().reads;
        if self.config.lease_reads || reads.pending.is_empty() {
            return self.config.lease_reads;
        }
        let confirmed = self.confirmed_round();
        reads.pending.iter().any(|r| r.round > confirmed)
    }

    /// After every event: answer the reads that are ready.
    pub(crate) fn serve_reads(&mut self) {
        if self.is_leader() {
            self.serve_leader_reads();
        }
        if !self.forwarded.is_empty() {
            self.serve_forwarded_reads();
        }
    }

    /// A read is ready once its round is confirmed and its index known; a local one also
    /// waits until the index is applied.
    fn serve_leader_reads(&mut self) {
        if self.leader_state().reads.pending.is_empty() {
            return;
        }
        let own_term = self.own_term_committed();
        let confirmed = self.confirmed_round();
        let (commit, applied, term) = (self.commit_index, self.last_applied, self.hard_state.term);
        let pending = std::mem::take(&mut self.leader_state_mut().reads.pending);
        let mut kept = Vec::with_capacity(pending.len());
        for mut read in pending {
            if read.index.is_none() && own_term {
                read.index = Some(commit);
            }
            let (Some(index), true) = (read.index, read.round <= confirmed) else {
                kept.push(read);
                continue;
            };
            match read.origin {
                Origin::Local if applied >= index => {
                    self.out.push(Action::ReadReady { id: read.id, index })
                }
                Origin::Local => kept.push(read),
                Origin::Remote(to) => {
                    let response = ReadIndexResponse {
                        term,
                        id: read.id,
                        index: Some(index),
                    };
                    self.send(to, Message::ReadIndexResponse(response));
                }
            }
        }
        self.leader_state_mut().reads.pending = kept;
    }

    /// A forwarded read is ready once its index is applied here; it fails if it has waited an
    /// election timeout, or if our term changed (or we lead now) before the leader answered.
    fn serve_forwarded_reads(&mut self) {
        let (term, applied, clock) = (self.hard_state.term, self.last_applied, self.clock);
        let patience = u64::from(self.config.election_ticks_max);
        let leads = self.is_leader();
        for read in std::mem::take(&mut self.forwarded) {
            let answer = match read.index {
                Some(index) if applied >= index => Action::ReadReady { id: read.id, index },
                _ if clock.saturating_sub(read.since) >= patience => {
                    let reason = Refusal::TimedOut;
                    Action::ReadFailed {
                        id: read.id,
                        reason,
                    }
                }
                None if read.term != term || leads => {
                    let reason = Refusal::LeaderChanged;
                    Action::ReadFailed {
                        id: read.id,
                        reason,
                    }
                }
                _ => {
                    self.forwarded.push(read);
                    continue;
                }
            };
            self.out.push(answer);
        }
    }

    /// A leader leaving office fails its own pending reads; followers' forwarded reads are
    /// dropped (they fail there on their own).
    pub(crate) fn fail_leader_reads(&mut self, reads: Reads) {
        for read in reads.pending {
            if read.origin == Origin::Local {
                self.fail_read(read.id, Refusal::LeaderChanged);
            }
        }
    }
}
