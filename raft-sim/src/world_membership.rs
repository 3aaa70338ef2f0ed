//! The world's servers beyond a fixed cluster: a *universe* larger than the bootstrap
//! configuration. Spare servers start with no configuration (`Config::peers` empty) and join
//! when a leader adds them; removed servers can be stopped for good (*retired*) or left
//! running; a server can come back with its old disk or with a wiped one.
//!
//! Nothing here is used by a lab run: there, every server is in the bootstrap configuration.

use super::World;
use crate::checkers::describe_membership;
use crate::persister::Persister;
use raft_core::{Event, Membership, NodeId, Refusal};

/// What a leader said to a membership change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeAnswer {
    /// The change was appended: the joint entry (or, for a change of learners only, the new
    /// configuration's entry) sits at `index` in `term`.
    Proposed {
        /// The entry's index.
        index: u64,
        /// The leader's term.
        term: u64,
    },
    /// Refused: not the leader, a change still in progress, an invalid configuration, ...
    Refused(Refusal),
    /// The server is down.
    Down,
}

impl World {
    /// The bootstrap configuration: `members` are its voters and start with it as
    /// `Config::peers`; every other server is a spare that starts with no configuration and
    /// never campaigns until a leader's entries or snapshot bring it one. Call it before
    /// starting any server. By default every server is a bootstrap member.
    pub fn set_bootstrap(&mut self, members: &[usize]) {
        self.bootstrap = members.iter().map(|&i| NodeId(i as u64)).collect();
        self.bootstrap.sort_unstable();
        for (i, server) in self.servers.iter_mut().enumerate() {
            server.bootstrap = members.contains(&i);
        }
        self.checkers.set_bootstrap(members);
    }

    /// The bootstrap configuration's voters.
    pub fn bootstrap(&self) -> Vec<usize> {
        self.bootstrap.iter().map(|id| id.0 as usize).collect()
    }

    /// Crashes server `i` and replaces its disk by an empty one: what an operator does to a
    /// dead machine before it rejoins as a new member. It then starts with no configuration,
    /// like a spare, and its service forgets what it had applied.
    pub fn wipe(&mut self, i: usize) {
        self.crash(i);
        let server = &mut self.servers[i];
        server.disk = Persister::default();
        server.disk.set_unsafe(self.unsafe_disks);
        server.bootstrap = false;
        server.last_write_done = 0;
        self.checkers.wiped(i);
        self.service.wiped(i);
        self.trace.note(self.now, &format!("s{i} disk wiped"));
    }

    /// Marks server `i` as deliberately stopped (`true`: removed from the cluster for good) or
    /// back in service (`false`). Fault injectors do not restart a retired server.
    pub fn set_retired(&mut self, i: usize, retired: bool) {
        self.servers[i].retired = retired;
    }

    /// Whether server `i` was deliberately stopped ([`World::set_retired`]).
    pub fn is_retired(&self, i: usize) -> bool {
        self.servers[i].retired
    }

    /// Asks server `i` to move the cluster to `voters` and `learners`
    /// (`Event::ChangeMembership`), as an operator would, and returns its answer.
    pub fn change_membership(
        &mut self,
        i: usize,
        voters: &[usize],
        learners: &[usize],
    ) -> ChangeAnswer {
        if self.servers[i].node.is_none() {
            return ChangeAnswer::Down;
        }
        let ids = |list: &[usize]| list.iter().map(|&j| NodeId(j as u64)).collect::<Vec<_>>();
        let (voters, learners) = (ids(voters), ids(learners));
        let asked = describe_membership(&Membership::new(voters.clone(), learners.clone()));
        self.refusal = None;
        let event = Event::ChangeMembership { voters, learners };
        let answer = match self.step(i, event, None) {
            Some((index, term)) => ChangeAnswer::Proposed { index, term },
            None => match self.refusal.take() {
                Some(reason) => ChangeAnswer::Refused(reason),
                None => ChangeAnswer::Down, // it crashed in the step
            },
        };
        let note = format!("s{i} asked to change the configuration to {asked}: {answer:?}");
        self.trace.note(self.now, &note);
        answer
    }

    /// The configuration in force at server `i` (`None` if it is down).
    pub fn membership(&self, i: usize) -> Option<&Membership> {
        self.servers[i].node.as_ref().map(|n| n.membership())
    }

    /// Server `i` reported a new configuration in force (or restarted with one): traced when it
    /// departs from what was
    /// traced before (and, the first time, from the bootstrap configuration).
    pub(super) fn membership_changed(&mut self, i: usize, membership: Membership) {
        let previous = &self.traced_membership[i];
        let bootstrap = || membership.voters == self.bootstrap && !membership.is_joint();
        let news = match previous {
            Some(old) => *old != membership,
            None => !(bootstrap() && membership.learners.is_empty()),
        };
        if news {
            let text = format!("s{i} configuration {}", describe_membership(&membership));
            self.trace.note(self.now, &text);
            self.traced_membership[i] = Some(membership);
        }
    }
}
