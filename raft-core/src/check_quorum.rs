//! CheckQuorum (Ongaro's thesis §6.2) and leader stickiness (§4.2.3), enabled by
//! `Config::check_quorum`.
//!
//! **CheckQuorum.** A leader cut off from a majority cannot commit, yet without this it leads
//! on, asserting itself to the followers it can still reach. So a leader counts the followers
//! that answered it (any reply, or a forwarded read) during each span of `election_ticks_max`
//! ticks; if, with itself, they are fewer than a majority, it steps down (same term, no
//! leader known). Without stickiness this matters little; with it, it is what lets the
//! followers it still reaches vote for someone else (the *bridge* deadlock of openraft issue
//! 2080).
//!
//! **Stickiness.** A server that has heard from a leader of its term within the minimum
//! election timeout (by its own clock), or leads, or started less than that ago, ignores
//! `RequestVote` and `PreVote` of its own term or newer: it neither grants them nor adopts
//! their term. A server that can hear the leader therefore never helps depose it, whatever a
//! server with a flaky link asks. Only time ends it, never a term learned from someone else,
//! so a follower that acknowledged a leader's heartbeat refuses every vote for that long after
//! receiving it: the guarantee lease reads rest on (`lease`). A candidate a leader handed over
//! to asks with `TransferVote`, which stickiness lets through (thesis §3.10).
//!
//! Trade-off: a leader that hears from too few followers for a while steps down even if the
//! network would have recovered; and after a leader fails, followers wait out the minimum
//! election timeout before they vote for a successor (they would wait that long anyway
//! before standing themselves).

use crate::message::Message;
use crate::node::{RaftNode, Role};
use crate::types::NodeId;

impl RaftNode {
    /// Whether `message` is a vote request that leader stickiness ignores.
    pub(crate) fn ignore_vote_in_lease(&self, message: &Message) -> bool {
        let asks_vote = matches!(message, Message::RequestVote(_) | Message::PreVote(_));
        self.config.check_quorum
            && asks_vote
            && message.term() >= self.hard_state.term
            && self.hears_from_leader()
    }

    /// Whether this node leads, heard from a leader within the minimum election timeout, or
    /// started less than that ago (and so may have just acknowledged a leader before a crash).
    fn hears_from_leader(&self) -> bool {
        let min = u64::from(self.config.election_ticks_min);
        let recently = |at: u64| self.clock.saturating_sub(at) < min;
        matches!(self.role, Role::Leader(_))
            || self.clock < min
            || self.last_leader_contact.is_some_and(recently)
    }

    /// A follower answered the leader: it counts toward the quorum check.
    pub(crate) fn note_follower_active(&mut self, from: NodeId, message: &Message) {
        let answers = matches!(
            message,
            Message::AppendEntriesReply(_)
                | Message::InstallSnapshotReply(_)
                | Message::HeartbeatReply(_)
                | Message::ReadIndex(_)
        );
        let Role::Leader(leader) = &mut self.role else {
            return;
        };
        if let (true, Some(k)) = (answers, leader.position(from)) {
            leader.progress[k].recent_active = true;
        }
    }

    /// Every `election_ticks_max` ticks of leadership: step down unless a majority of the
    /// configuration in force (of each side while joint; ourselves only if we are a voter)
    /// answered.
    pub(crate) fn check_quorum_tick(&mut self) {
        if !self.config.check_quorum {
            return;
        }
        let (window, me) = (self.config.election_ticks_max, self.config.id);
        let leader = self.leader_state_mut();
        leader.quorum_elapsed_ticks += 1;
        if leader.quorum_elapsed_ticks < window {
            return;
        }
        leader.quorum_elapsed_ticks = 0;
        let leader = self.leader_state();
        let answered =
            |id: NodeId| id == me || leader.progress_of(id).is_some_and(|p| p.recent_active);
        let heard_from_quorum = self.membership.is_quorum(answered);
        let leader = self.leader_state_mut();
        leader
            .progress
            .iter_mut()
            .for_each(|p| p.recent_active = false);
        if !heard_from_quorum {
            let term = self.hard_state.term;
            self.become_follower(term, None);
        }
    }
}
