//! Membership change by joint consensus (Raft paper §6, Ongaro's thesis §4.3): the leader's
//! side of `Event::ChangeMembership`, and how every server follows the configuration in its
//! log.
//!
//! 1. The leader appends C_old,new (the new voters, with the old ones as `outgoing`). Like
//!    every configuration, it is in force on each server as soon as it is appended there,
//!    committed or not (thesis §4.1), and reverts if the entry is truncated. From then on
//!    elections, commitment, quorum checks and read confirmations need a majority of each
//!    side, so neither side can decide alone.
//! 2. Once C_old,new commits, the leader appends C_new (`advance_membership_change`). Only then
//!    may C_new decide alone: every server that could be elected by C_old alone lacks a
//!    committed entry, so it cannot win a C_new-side majority's votes too.
//! 3. A leader that is not in C_new leads on, without counting itself, until C_new commits,
//!    then steps down, handing over to a C_new voter that holds its whole log if one does
//!    (`TimeoutNow`, as in a leadership transfer). Until it knows C_new committed it may
//!    still stand (a crash may leave C_new on its disk alone, and then only it can finish the
//!    change; `may_stand`); after that, never.
//!
//! One change at a time: `ChangeMembership` is refused while the configuration in force is
//! joint or its entry is not committed. A new leader that finds the latest configuration
//! uncommitted appends it again in its own term, so that it commits (§5.4.2) and the change
//! finishes rather than sticking half-way (etcd issue 12136 is such a stuck joint state).
//! A change of learners only needs no joint step: learners never count.

use crate::io::{Action, Refusal};
use crate::membership::Membership;
use crate::node::{RaftNode, Role};
use crate::progress::Progress;
use crate::types::{Entry, NodeId};

impl RaftNode {
    /// `Event::ChangeMembership`.
    pub(crate) fn change_membership(&mut self, mut voters: Vec<NodeId>, mut learners: Vec<NodeId>) {
        if !self.is_leader() {
            let reason = Refusal::NotLeader {
                leader_hint: self.leader,
            };
            return self.out.push(Action::Refused { reason });
        }
        if self.refuse_during_transfer() {
            return;
        }
        voters.sort_unstable();
        learners.sort_unstable();
        let target = Membership {
            voters,
            outgoing: None,
            learners,
        };
        let next = match target.voters == self.membership.voters {
            true => target,
            false => Membership {
                outgoing: Some(self.membership.voters.clone()),
                ..target
            },
        };
        if let Err(error) = next.validate() {
            let reason = Refusal::InvalidMembership(error);
            return self.out.push(Action::Refused { reason });
        }
        if self.change_in_progress() {
            let reason = Refusal::ChangeInProgress;
            return self.out.push(Action::Refused { reason });
        }
        let (index, term) = (self.log.last_index().next(), self.hard_state.term);
        self.append_as_leader(vec![Entry::config(term, next)]);
        self.out.push(Action::MembershipProposed { index, term });
    }

    /// Whether a change is not finished: the configuration in force is joint, or its entry
    /// is not committed yet.
    fn change_in_progress(&self) -> bool {
        let uncommitted = self.uncommitted_config();
        self.membership.is_joint() || uncommitted
    }

    /// Whether the latest configuration entry is beyond the commit index.
    fn uncommitted_config(&self) -> bool {
        self.log
            .latest_membership()
            .is_some_and(|(index, _)| index > self.commit_index)
    }

    /// After every event, on the leader: once C_old,new commits, append C_new; once a C_new
    /// without us commits, step down (§6).
    pub(crate) fn advance_membership_change(&mut self) {
        if !self.is_leader() || self.uncommitted_config() {
            return;
        }
        if self.membership.is_joint() {
            let voters = self.membership.voters.clone();
            let learners = self.membership.learners.clone();
            let term = self.hard_state.term;
            let next = Membership::new(voters, learners);
            self.append_as_leader(vec![Entry::config(term, next)]);
            if self.uncommitted_config() {
                return; // not a lone voter: C_new commits later
            }
        }
        if !self.membership.is_voter(self.config.id) {
            // A last heartbeat tells C_new's voters that C_new is committed; then one that
            // holds the whole log is told to stand at once (else they elect one when their
            // timers fire).
            self.broadcast_heartbeat();
            self.hand_over_on_removal();
            let term = self.hard_state.term;
            self.become_follower(term, None);
        }
    }

    /// Whether this node may stand for election: as a voter of the configuration in force,
    /// or, while that configuration is not known to be committed, as a voter of the one it
    /// replaced (thesis §4.2.2: such a server "might still be needed until the C_new entry is
    /// committed"). A leader that removes itself and crashes with C_new on its disk alone is
    /// such a server: the others, still joint, need its vote, and it refuses theirs (their
    /// logs lack C_new), so only it can lead C_new to commitment. Where it is no voter its
    /// own vote does not count (`Membership::is_quorum`), and once it learns that C_new
    /// committed it never stands again. (Not "a voter of the committed configuration": after
    /// a restart the commit index is the snapshot's, which may predate this server.)
    pub(crate) fn may_stand(&self) -> bool {
        let me = self.config.id;
        if self.membership.is_voter(me) {
            return true;
        }
        let replaced = self.log.replaced_membership();
        self.uncommitted_config() && replaced.is_some_and(|m| m.is_voter(me))
    }

    /// On taking office: an uncommitted configuration is appended again in our term, so that
    /// committing our own entry commits it too and the change can go on.
    pub(crate) fn repropose_uncommitted_config(&mut self) {
        if self.uncommitted_config() {
            let term = self.hard_state.term;
            let again = Entry::config(term, self.membership.clone());
            self.append_as_leader(vec![again]);
        }
    }

    /// Follows the log: the configuration in force is its latest, else the bootstrap one.
    /// Tells the driver when it changes, and a leader adjusts whom it replicates to.
    pub(crate) fn refresh_membership(&mut self) {
        let latest = self.log.latest_membership().map(|(_, m)| m);
        let latest = latest.unwrap_or(&self.bootstrap);
        if *latest == self.membership {
            return;
        }
        self.membership = latest.clone();
        let membership = self.membership.clone();
        self.out.push(Action::MembershipChanged { membership });
        self.sync_progress();
    }

    /// A leader replicates to every member of the configuration in force (voters of both
    /// sides and learners) and only to them: an added server gets progress (probing from our
    /// log's end), a removed one is forgotten and hears from us no more.
    fn sync_progress(&mut self) {
        let members = self.members_but_me();
        let next_index = self.log.last_index().next();
        let Role::Leader(leader) = &mut self.role else {
            return;
        };
        let mut old = std::mem::take(&mut leader.progress);
        for id in members {
            match old.iter().position(|p| p.id == id) {
                Some(k) => leader.progress.push(old.swap_remove(k)),
                None => leader.progress.push(Progress::new(id, next_index)),
            }
        }
        leader.note_proposed(); // newcomers get the log at the end of the call
    }

    /// Every member of the configuration in force but this node, in id order.
    pub(crate) fn members_but_me(&self) -> Vec<NodeId> {
        let me = self.config.id;
        let mut members = self.membership.members();
        members.retain(|&id| id != me);
        members
    }
}
