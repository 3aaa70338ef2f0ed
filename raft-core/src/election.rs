//! Leader election (§5.2) with the election restriction (§5.4.1).

use crate::leader::Leader;
use crate::message::{Message, RequestVote, RequestVoteReply};
use crate::node::{Candidate, RaftNode, Role};
use crate::persist::HardState;
use crate::types::{Entry, NodeId, SharedBytes};

impl RaftNode {
    /// The election timer fired: stand for election, after a successful PreVote round if
    /// that is on (see `prevote`).
    pub(crate) fn campaign(&mut self) {
        match self.config.pre_vote {
            true => self.start_pre_vote(),
            false => self.start_election(false),
        }
    }

    /// Stand for the next term and vote for ourselves. A candidate that a leader handed over
    /// to (`transfer`, thesis §3.10) asks with `TransferVote`, which leader stickiness lets
    /// through.
    pub(crate) fn start_election(&mut self, transfer: bool) {
        let term = self.hard_state.term.next();
        let me = self.config.id;
        if term.0 >= crate::types::TERM_CEILING || !self.may_stand() {
            // A term nobody would listen to; or we have no say in the configuration in
            // force (a learner, a removed or joining server): we never stand (§6).
            self.reset_election_timer();
            return;
        }
        self.set_hard_state(HardState {
            term,
            voted_for: Some(me),
        });
        self.role = Role::Candidate(Candidate { votes: vec![me] });
        self.leader = None;
        self.reset_election_timer();
        if self.alone_is_quorum() {
            self.become_leader();
            return;
        }
        let request = RequestVote {
            term,
            last_log_index: self.log.last_index(),
            last_log_term: self.log.last_term(),
        };
        for peer in self.other_voters() {
            let message = match transfer {
                true => Message::TransferVote(request.clone()),
                false => Message::RequestVote(request.clone()),
            };
            self.send(peer, message);
        }
    }

    /// Whether a candidate's log is at least as up-to-date as ours (§5.4.1).
    pub(crate) fn log_up_to_date(&self, request: &RequestVote) -> bool {
        let ours = (self.log.last_term(), self.log.last_index());
        (request.last_log_term, request.last_log_index) >= ours
    }

    /// Grant at most one vote per term, and only to a candidate whose log is at least as
    /// up-to-date as ours (§5.4.1). The vote is persisted before the reply (Persist goes first).
    pub(crate) fn handle_request_vote(&mut self, from: NodeId, request: RequestVote) {
        let up_to_date = self.log_up_to_date(&request);
        let free_to_vote = match self.hard_state.voted_for {
            None => true,
            Some(candidate) => candidate == from,
        };
        let granted = up_to_date && free_to_vote;
        if granted {
            if self.hard_state.voted_for.is_none() {
                let term = self.hard_state.term;
                self.set_hard_state(HardState {
                    term,
                    voted_for: Some(from),
                });
            }
            // Granting a vote defers our own candidacy (Figure 2, "followers").
            self.election_elapsed_ticks = 0;
        }
        let term = self.hard_state.term;
        self.send(
            from,
            Message::RequestVoteReply(RequestVoteReply { term, granted }),
        );
    }

    /// Count a vote; a majority (of each side while joint, §6) makes us leader (§5.2). Only
    /// voters of the configuration in force count.
    pub(crate) fn handle_vote_reply(&mut self, from: NodeId, reply: RequestVoteReply) {
        let Role::Candidate(candidate) = &mut self.role else {
            return; // ignore_vote_when_not_candidate: the election is already decided.
        };
        if !reply.granted || candidate.votes.contains(&from) {
            return;
        }
        candidate.votes.push(from);
        let votes = &candidate.votes;
        if self.membership.is_quorum(|id| votes.contains(&id)) {
            self.become_leader();
        }
    }

    /// Take office: every follower starts probing just past our last entry, and learns of us
    /// at once through a heartbeat (§5.2). With ReadIndex, the heartbeat carries a no-op of
    /// our term (an empty command), so that we soon commit an entry of our own term and with
    /// it everything committed before us (thesis §6.4).
    pub(crate) fn become_leader(&mut self) {
        let next_index = self.log.last_index().next();
        let followers = self.members_but_me();
        let pipelined = self.config.pipelined_persistence;
        self.role = Role::Leader(Leader::new(&followers, next_index, pipelined));
        self.leader = Some(self.config.id);
        if self.config.read_index {
            let term = self.hard_state.term;
            let command = SharedBytes::from(&[][..]);
            self.append_to_log(vec![Entry::new(term, command)]);
        }
        self.repropose_uncommitted_config();
        self.broadcast_heartbeat();
        // A single-node cluster commits its own log straight away.
        self.advance_commit();
    }
}
