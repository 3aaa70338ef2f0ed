//! Leadership transfer (Ongaro's thesis §3.10): `Event::TransferLeader { to }`.
//!
//! 1. The leader stops accepting proposals (they are answered `Refused { Transferring }`), so
//!    its log stops growing and the target can catch up.
//! 2. It brings `to` up to date with the usual replication.
//! 3. Once `to` holds its whole log, it sends `TimeoutNow`; `to` stands for election at once
//!    (skipping PreVote) with `TransferVote` requests, which voters judge like `RequestVote`
//!    but grant even while they hear from the leader (stickiness would refuse them otherwise).
//!    `to` has the most up-to-date log, so it normally wins the next term, and the old leader
//!    steps down when it sees that term.
//! 4. If that has not happened within `election_ticks_max` ticks (the target crashed, or is
//!    unreachable, or lost), the leader abandons the transfer and accepts proposals again.
//!
//! Once `TimeoutNow` has left, a vote may be granted in spite of stickiness, so the leader
//! stops using its lease (`lease`) for the rest of its term: a `TimeoutNow` delivered late
//! could still start the target's election after the transfer was abandoned.
//!
//! Trade-off: proposals are refused for up to an election timeout; no durable state is
//! involved, so a crash anywhere simply ends the transfer.

use crate::io::{Action, Refusal};
use crate::message::{Message, TimeoutNow};
use crate::node::{RaftNode, Role};
use crate::types::NodeId;

/// A transfer under way.
#[derive(Debug)]
pub(crate) struct Transfer {
    /// The peer taking over.
    pub(crate) to: NodeId,
    /// Leader ticks since it began.
    elapsed_ticks: u32,
}

impl RaftNode {
    /// `Event::TransferLeader`.
    pub(crate) fn transfer_leader(&mut self, to: NodeId) {
        if !self.is_leader() {
            let leader_hint = self.leader;
            let reason = Refusal::NotLeader { leader_hint };
            self.out.push(Action::Refused { reason });
            return;
        }
        if to == self.config.id {
            return; // we lead already
        }
        let voter = self.membership.is_voter(to);
        let leader = self.leader_state_mut();
        let Some(k) = leader.position(to).filter(|_| voter) else {
            let reason = Refusal::UnknownPeer;
            self.out.push(Action::Refused { reason });
            return;
        };
        if leader.transfer.as_ref().is_some_and(|t| t.to == to) {
            return; // already under way
        }
        leader.transfer = Some(Transfer {
            to,
            elapsed_ticks: 0,
        });
        self.send_entries_if_allowed(k);
        self.send_timeout_now_if_ready(k);
    }

    /// While leadership is handed over, proposals are refused: pushes the answer and returns
    /// true if so.
    pub(crate) fn refuse_during_transfer(&mut self) -> bool {
        let Role::Leader(leader) = &self.role else {
            return false;
        };
        let Some(transfer) = &leader.transfer else {
            return false;
        };
        let reason = Refusal::Transferring { to: transfer.to };
        self.out.push(Action::Refused { reason });
        true
    }

    /// A leader tick: abandon a transfer that has taken longer than an election timeout, or
    /// remind the target (a lost `TimeoutNow` is sent again at each heartbeat).
    pub(crate) fn transfer_tick(&mut self, heartbeat: bool) {
        let limit = self.config.election_ticks_max;
        let leader = self.leader_state_mut();
        let Some(transfer) = &mut leader.transfer else {
            return;
        };
        transfer.elapsed_ticks += 1;
        if transfer.elapsed_ticks >= limit {
            leader.transfer = None; // abandoned: proposals are welcome again
            return;
        }
        let to = transfer.to;
        if let (true, Some(k)) = (heartbeat, leader.position(to)) {
            self.send_timeout_now_if_ready(k);
        }
    }

    /// If follower `k` is the transfer's target and holds our whole log, tell it to stand.
    pub(crate) fn send_timeout_now_if_ready(&mut self, k: usize) {
        let (last_index, term) = (self.log.last_index(), self.hard_state.term);
        let Role::Leader(leader) = &mut self.role else {
            return;
        };
        let p = &leader.progress[k];
        let target = leader.transfer.as_ref().map(|t| t.to);
        if target != Some(p.id) || p.match_index < last_index {
            return;
        }
        // Votes for the target ignore stickiness from now on: no more lease this term.
        leader.lease_allowed = false;
        let to = p.id;
        self.send(to, Message::TimeoutNow(TimeoutNow { term }));
    }

    /// A leader stepping down because C_new, which it is not in, committed (§6): tells the
    /// C_new voter that holds its whole log (the lowest id, if several do) to stand at once,
    /// so the cluster need not wait an election timeout for its next leader (thesis §3.10
    /// names a removed leader as a use of transfer). If none holds it all, the voters elect
    /// one when their timers fire, as before.
    pub(crate) fn hand_over_on_removal(&mut self) {
        let (last_index, term) = (self.log.last_index(), self.hard_state.term);
        let Role::Leader(leader) = &self.role else {
            return;
        };
        let heir = leader
            .progress
            .iter()
            .filter(|p| p.match_index == last_index && self.membership.is_voter(p.id))
            .map(|p| p.id)
            .min();
        if let Some(to) = heir {
            self.send(to, Message::TimeoutNow(TimeoutNow { term }));
        }
    }

    /// The leader of our term hands over to us: stand for election now, skipping PreVote
    /// (`start_election` refuses if we have no vote).
    pub(crate) fn handle_timeout_now(&mut self) {
        if self.ignore_rival_leader() {
            return; // only a leader sends TimeoutNow, and we are the leader of this term
        }
        self.start_election(true);
    }
}
