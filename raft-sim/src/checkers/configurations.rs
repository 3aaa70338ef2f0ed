//! Quorum Intersection (§6, thesis §4.3): no two decisions may rest on disjoint majorities. A
//! membership change is safe only because, at every moment, any two configurations that can
//! decide anything have intersecting quorums: C_old and C_old,new share C_old's majority,
//! C_old,new and C_new share C_new's, while C_old and C_new alone could each gather a majority
//! that the other never hears from.
//!
//! Two checks, both from outside the nodes:
//! - **Elections.** Every vote a server casts is taken from its durable hard state (Figure 2:
//!   a vote counts once it is on stable storage). When a server takes office, the voters that
//!   durably granted it that term must be a quorum of the configuration in force at it, a
//!   majority of both sides while joint. A leader elected otherwise (a rewritten vote reply, a
//!   miscounted joint quorum) fires.
//! - **Configurations in force at once.** Servers whose logs hold the highest entry known to be
//!   committed share every configuration entry up to it (Log Matching), so each has either the
//!   last committed configuration in force or one proposed after it. Any two such servers'
//!   configurations must have intersecting quorums — checked exactly, by trying every way to
//!   split their voters — whenever one of them changes configuration or takes office. Servers
//!   left behind (crashed, cut off, removed) may hold older configurations: they cannot win an
//!   election against the up-to-date servers (§5.4.1), so they are left out.

use super::{Check, Invariant, Violation};
use raft_core::{LogIndex, Membership, NodeId, PersistentState, RaftNode, Term};
use std::collections::{BTreeMap, BTreeSet};

/// A configuration as plain id lists (orderable, for the cache).
type Shape = (Vec<u64>, Option<Vec<u64>>);

#[derive(Debug, Default)]
pub(crate) struct Configurations {
    /// (term, candidate) → the servers that durably voted for it in that term.
    votes: BTreeMap<(u64, usize), BTreeSet<usize>>,
    /// Per server: the term it leads (while it does).
    leading: Vec<Option<Term>>,
    /// Per server: the configuration it last had in force (while it is up).
    in_force: Vec<Option<Membership>>,
    /// The highest commit index any node reported, with its entry's term when known.
    committed: (LogIndex, Option<Term>),
    /// Whether two configurations' quorums can be disjoint, by shape.
    disjoint: BTreeMap<(Shape, Shape), bool>,
    /// A server whose configuration changed (or that took office) since the last overlap
    /// check.
    due: Option<usize>,
}

impl Configurations {
    pub(crate) fn new(n: usize) -> Configurations {
        Configurations {
            leading: vec![None; n],
            in_force: vec![None; n],
            ..Configurations::default()
        }
    }

    /// A durable hard state: its vote, if any, is a vote cast.
    pub(crate) fn persisted(&mut self, server: usize, durable: &PersistentState) {
        let hard = durable.hard_state;
        if let Some(candidate) = hard.voted_for {
            let voters = self.votes.entry((hard.term.0, candidate.0 as usize));
            voters.or_default().insert(server);
        }
    }

    /// After a step of `server`: a new leader's votes are checked; a change of configuration
    /// makes an overlap check due.
    pub(crate) fn step_done(&mut self, server: usize, node: &RaftNode) -> Check {
        self.saw_commit(node);
        let term = node.term();
        let newly_leader = node.is_leader() && self.leading[server] != Some(term);
        self.leading[server] = node.is_leader().then_some(term);
        let changed = self.in_force[server].as_ref() != Some(node.membership());
        if changed {
            self.in_force[server] = Some(node.membership().clone());
        }
        if changed || newly_leader {
            self.due = Some(server);
        }
        if newly_leader {
            self.check_votes(server, node)?;
        }
        Ok(())
    }

    /// The server whose configurations should be compared with everyone's now, if any.
    pub(crate) fn take_due(&mut self) -> Option<usize> {
        self.due.take()
    }

    /// Compares the configuration in force at `server` with that of every other live server,
    /// if both hold the highest entry known committed. `nodes` are every server's live nodes.
    pub(crate) fn check_overlap(&mut self, server: usize, nodes: &[Option<&RaftNode>]) -> Check {
        let Some(mine) = nodes[server].filter(|n| self.up_to_date(n)) else {
            return Ok(());
        };
        for (other, node) in nodes.iter().enumerate() {
            let Some(theirs) = node.filter(|n| other != server && self.up_to_date(n)) else {
                continue;
            };
            let (a, b) = (mine.membership(), theirs.membership());
            if a != b && self.can_be_disjoint(a, b) {
                return Err(Violation::new(
                    Invariant::QuorumIntersection,
                    format!(
                        "servers {server} and {other} both hold committed index {} but have \
                         configurations {} and {} in force, whose majorities can be disjoint",
                        self.committed.0 .0,
                        describe(a),
                        describe(b)
                    ),
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn crashed(&mut self, server: usize) {
        self.leading[server] = None;
        self.in_force[server] = None;
    }

    /// Takes note of `node`'s commit index, if it is the highest seen.
    pub(crate) fn saw_commit(&mut self, node: &RaftNode) {
        let index = node.commit_index();
        if index > self.committed.0 {
            self.committed = (index, node.entry(index).map(|e| e.term));
        } else if index == self.committed.0 && self.committed.1.is_none() {
            self.committed.1 = node.entry(index).map(|e| e.term);
        }
    }

    /// Whether `node`'s log holds the highest entry known committed (or a snapshot past it).
    fn up_to_date(&self, node: &RaftNode) -> bool {
        let (index, term) = self.committed;
        if index <= node.snapshot_index() {
            return true;
        }
        node.entry(index)
            .is_some_and(|e| term.is_none_or(|t| t == e.term))
    }

    /// The new leader `server` must have been granted its term by a quorum of the
    /// configuration in force at it.
    fn check_votes(&self, server: usize, node: &RaftNode) -> Check {
        let term = node.term().0;
        let granted = self.votes.get(&(term, server));
        let granted_by = |id: NodeId| granted.is_some_and(|g| g.contains(&(id.0 as usize)));
        let membership = node.membership();
        if is_quorum(membership, granted_by) {
            return Ok(());
        }
        let voters: Vec<usize> = granted.into_iter().flatten().copied().collect();
        Err(Violation::new(
            Invariant::QuorumIntersection,
            format!(
                "server {server} leads term {term}, but only servers {voters:?} durably voted \
                 for it: not a quorum of its configuration {}",
                describe(membership)
            ),
        ))
    }

    /// Whether some quorum of `a` and some quorum of `b` share no voter.
    fn can_be_disjoint(&mut self, a: &Membership, b: &Membership) -> bool {
        let key = (shape(a), shape(b));
        if let Some(&known) = self.disjoint.get(&key) {
            return known;
        }
        let answer = split_exists(a, b);
        self.disjoint.insert(key, answer);
        answer
    }
}

/// Tries every split of the voters of `a` and `b` into two groups: is there one where the
/// first group is a quorum of `a` and the second a quorum of `b`? (Quorums only grow with
/// their members, so the second group may as well be everything the first left.)
fn split_exists(a: &Membership, b: &Membership) -> bool {
    let mut voters: Vec<NodeId> = voters_of(a);
    voters.extend(voters_of(b));
    voters.sort_unstable();
    voters.dedup();
    if voters.len() > 20 {
        return false; // beyond any simulated cluster
    }
    let position = |id: NodeId| voters.binary_search(&id).ok();
    (0u32..1 << voters.len()).any(|first| {
        let in_first = |id: NodeId| position(id).is_some_and(|p| first & (1 << p) != 0);
        is_quorum(a, in_first) && is_quorum(b, |id| !in_first(id))
    })
}

/// Whether `granted` holds for a majority of `m`'s voters and, while joint, of its outgoing
/// voters too (§6). The checker's own arithmetic: an oracle that called the core's could not
/// see a bug in it.
fn is_quorum(m: &Membership, granted: impl Fn(NodeId) -> bool) -> bool {
    let majority = |side: &[NodeId]| {
        let yes = side.iter().filter(|&&id| granted(id)).count();
        !side.is_empty() && 2 * yes > side.len()
    };
    majority(&m.voters) && m.outgoing.as_deref().is_none_or(majority)
}

fn voters_of(m: &Membership) -> Vec<NodeId> {
    let mut all = m.voters.clone();
    all.extend(m.outgoing.iter().flatten().copied());
    all
}

fn shape(m: &Membership) -> Shape {
    let ids = |list: &[NodeId]| list.iter().map(|id| id.0).collect::<Vec<u64>>();
    (ids(&m.voters), m.outgoing.as_deref().map(ids))
}

/// "{0,1,2}", "{0,1,2}→{1,2,3}" while joint, learners after a "+".
pub(crate) fn describe(m: &Membership) -> String {
    let list = |ids: &[NodeId]| {
        let names: Vec<String> = ids.iter().map(|id| id.0.to_string()).collect();
        format!("{{{}}}", names.join(","))
    };
    let mut text = match &m.outgoing {
        Some(old) => format!("{}→{}", list(old), list(&m.voters)),
        None => list(&m.voters),
    };
    if !m.learners.is_empty() {
        text.push_str(&format!(" + learners {}", list(&m.learners)));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn simple(voters: &[u64]) -> Membership {
        Membership::new(voters.iter().map(|&v| NodeId(v)).collect(), Vec::new())
    }

    fn joint(old: &[u64], new: &[u64]) -> Membership {
        let mut m = simple(new);
        m.outgoing = Some(old.iter().map(|&v| NodeId(v)).collect());
        m
    }

    #[test]
    fn one_step_apart_always_intersects_two_steps_may_not() {
        let (old, new) = ([0, 1, 2], [2, 3, 4]);
        assert!(!split_exists(&simple(&old), &joint(&old, &new)));
        assert!(!split_exists(&joint(&old, &new), &simple(&new)));
        assert!(!split_exists(&joint(&old, &[0, 1, 3]), &joint(&old, &new)));
        assert!(split_exists(&simple(&old), &simple(&new)));
        // Growing by one server never allows disjoint majorities (thesis §4.1).
        assert!(!split_exists(&simple(&[0, 1, 2]), &simple(&[0, 1, 2, 3])));
        // Nor does a configuration without voters, which has no quorum at all.
        assert!(!split_exists(
            &simple(&[0, 1, 2]),
            &Membership::new(vec![], vec![])
        ));
    }

    #[test]
    fn describes_joint_configurations_and_learners() {
        let mut m = joint(&[0, 1, 2], &[1, 2, 3]);
        m.learners = vec![NodeId(5)];
        assert_eq!(describe(&m), "{0,1,2}→{1,2,3} + learners {5}");
    }
}
