//! PreVote (Ongaro's thesis §9.6), enabled by `Config::pre_vote`.
//!
//! Without it, a server cut off from the cluster keeps timing out and raising its term; when
//! it comes back, its newer term (in a `RequestVote`, or in any reply) deposes a healthy
//! leader, and the cluster holds an election it did not need. With PreVote, a server whose
//! election timer fires first becomes a *pre-candidate*: it asks the others whether they would
//! vote for it in the next term (`PreVote`), changing neither its term nor anyone's vote, and
//! stands for election only once a majority says yes. A voter says yes if the pre-vote's term
//! is newer than its own and the candidate's log is at least as up-to-date (§5.4.1); with
//! CheckQuorum it also ignores pre-votes while it hears from a leader (`check_quorum`).
//!
//! A granted `PreVoteReply` carries the pre-vote's term (a term nobody holds yet), so neither
//! it nor the `PreVote` raises anyone's term; a refusal carries the voter's own term, which a
//! pre-candidate that is behind adopts, so a node with a stale term catches up instead of
//! pre-voting at a term everyone ignores (etcd issue 8243).
//!
//! Trade-off: every election takes one more round trip, and a pre-candidate does not defer to
//! candidates: safety is untouched, since votes are granted exactly as before.

use crate::message::{Message, RequestVote, RequestVoteReply};
use crate::node::{Candidate, RaftNode, Role};
use crate::types::{NodeId, TERM_CEILING};

impl RaftNode {
    /// Become a pre-candidate for the next term and ask every peer whether it would vote.
    pub(crate) fn start_pre_vote(&mut self) {
        let term = self.hard_state.term.next();
        let me = self.config.id;
        if term.0 >= TERM_CEILING || !self.may_stand() {
            self.reset_election_timer();
            return; // a term nobody would listen to, or we have no vote (see `election`)
        }
        self.role = Role::PreCandidate(Candidate { votes: vec![me] });
        // Our timer fired: we no longer know a leader.
        self.leader = None;
        self.reset_election_timer();
        if self.alone_is_quorum() {
            self.start_election(false);
            return;
        }
        let request = RequestVote {
            term,
            last_log_index: self.log.last_index(),
            last_log_term: self.log.last_term(),
        };
        for peer in self.other_voters() {
            self.send(peer, Message::PreVote(request.clone()));
        }
    }

    /// Would we vote for `from` in `request.term`? Nothing changes here: no term, no vote, no
    /// timer (a pre-vote must not delay our own election).
    pub(crate) fn handle_pre_vote(&mut self, from: NodeId, request: RequestVote) {
        let granted = request.term > self.hard_state.term && self.log_up_to_date(&request);
        let term = match granted {
            true => request.term,
            false => self.hard_state.term,
        };
        self.send(
            from,
            Message::PreVoteReply(RequestVoteReply { term, granted }),
        );
    }

    /// Count a pre-vote; a majority (of each side while joint) lets us stand for real.
    pub(crate) fn handle_pre_vote_reply(&mut self, from: NodeId, reply: RequestVoteReply) {
        let next = self.hard_state.term.next();
        let Role::PreCandidate(candidate) = &mut self.role else {
            return; // ignore_pre_vote_when_not_pre_candidate: that round is over.
        };
        if !reply.granted || reply.term != next || candidate.votes.contains(&from) {
            return; // ignore_refusal_or_other_round
        }
        candidate.votes.push(from);
        let votes = &candidate.votes;
        if self.membership.is_quorum(|id| votes.contains(&id)) {
            self.start_election(false);
        }
    }
}

/// Whether a message of a newer term makes its receiver adopt that term (§5.1). A `PreVote`
/// and a granted `PreVoteReply` carry a term nobody holds yet, so they do not.
pub(crate) fn raises_term(message: &Message) -> bool {
    match message {
        Message::PreVote(_) => false,
        Message::PreVoteReply(reply) => !reply.granted,
        _ => true,
    }
}
