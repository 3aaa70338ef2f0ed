//! Cluster configurations (Raft paper §6, Ongaro's thesis ch. 4): who votes, who only
//! listens, and the quorum arithmetic, joint-aware.
//!
//! A configuration is *simple* (one set of voters) or *joint* (C_old,new: the voters of the
//! configuration being moved to, and those of the one being left). While joint, every decision
//! (an election, a commitment, a quorum check, a read's confirmation) needs a majority of
//! each side, so neither the old nor the new voters can decide alone (§6). Learners receive the
//! log but never count toward any majority.

use crate::types::NodeId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The most members a configuration may list (voters of both sides and learners together).
/// Far beyond any real cluster; it bounds what a hostile message or state can make us hold.
pub const MAX_MEMBERS: usize = 1024;

/// A cluster configuration: the voters (of both sides while joint) and the learners.
///
/// The configuration *in force* on a server is the latest one in its log, committed or not
/// (thesis §4.1), or its snapshot's; see [`RaftNode::membership`](crate::RaftNode::membership).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawMembership")]
pub struct Membership {
    /// The voters of the configuration being moved to (C_new), or of the only one. Sorted,
    /// no duplicates.
    pub voters: Vec<NodeId>,
    /// While the cluster is in the joint configuration C_old,new: the voters of C_old.
    /// `None` otherwise.
    pub outgoing: Option<Vec<NodeId>>,
    /// Non-voting members: they receive the log and snapshots, never vote or count toward
    /// commit. Sorted, no duplicates, none of them in `voters` (one may be in `outgoing`: a
    /// voter being demoted to learner).
    pub learners: Vec<NodeId>,
}

/// The same fields without the checks, for decoding.
#[derive(Deserialize)]
struct RawMembership {
    voters: Vec<NodeId>,
    outgoing: Option<Vec<NodeId>>,
    learners: Vec<NodeId>,
}

impl TryFrom<RawMembership> for Membership {
    type Error = MembershipError;

    fn try_from(raw: RawMembership) -> Result<Membership, MembershipError> {
        let membership = Membership {
            voters: raw.voters,
            outgoing: raw.outgoing,
            learners: raw.learners,
        };
        membership.validate()?;
        Ok(membership)
    }
}

/// Why a configuration is unusable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MembershipError {
    /// No voters (in `voters`, or in `outgoing` while joint): nobody could decide anything.
    NoVoters,
    /// A node is listed twice in one list.
    Duplicate(NodeId),
    /// A list is not sorted.
    NotSorted,
    /// A node is both a voter of the new configuration and a learner.
    VoterAndLearner(NodeId),
    /// More than [`MAX_MEMBERS`] members.
    TooLarge,
}

impl fmt::Display for MembershipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MembershipError::NoVoters => write!(f, "a configuration needs at least one voter"),
            MembershipError::Duplicate(id) => write!(f, "{id} is listed twice"),
            MembershipError::NotSorted => write!(f, "a member list is not sorted"),
            MembershipError::VoterAndLearner(id) => write!(f, "{id} is both voter and learner"),
            MembershipError::TooLarge => write!(f, "more than {MAX_MEMBERS} members"),
        }
    }
}

impl std::error::Error for MembershipError {}

impl Membership {
    /// A simple (non-joint) configuration. The lists are sorted and deduplicated here; check
    /// the result with [`validate`](Self::validate) (a node both voter and learner, no voter).
    pub fn new(mut voters: Vec<NodeId>, mut learners: Vec<NodeId>) -> Membership {
        voters.sort_unstable();
        voters.dedup();
        learners.sort_unstable();
        learners.dedup();
        Membership {
            voters,
            outgoing: None,
            learners,
        }
    }

    /// Whether this is the joint configuration C_old,new.
    pub fn is_joint(&self) -> bool {
        self.outgoing.is_some()
    }

    /// Whether `id` votes: it is a voter of either side.
    pub fn is_voter(&self, id: NodeId) -> bool {
        self.voters.binary_search(&id).is_ok()
            || self
                .outgoing
                .as_ref()
                .is_some_and(|o| o.binary_search(&id).is_ok())
    }

    /// Whether `id` is a member: a voter of either side or a learner.
    pub fn contains(&self, id: NodeId) -> bool {
        self.is_voter(id) || self.learners.binary_search(&id).is_ok()
    }

    /// Every member, sorted, each once.
    pub fn members(&self) -> Vec<NodeId> {
        let mut all = self.voters.clone();
        all.extend(self.outgoing.iter().flatten().copied());
        all.extend(self.learners.iter().copied());
        all.sort_unstable();
        all.dedup();
        all
    }

    /// True if `granted` holds for a majority of `voters` and, when joint, also of
    /// `outgoing` (§6, thesis §4.3). False for a configuration without voters.
    pub fn is_quorum(&self, granted: impl Fn(NodeId) -> bool) -> bool {
        self.sides().all(|side| {
            let yes = side.iter().filter(|&&id| granted(id)).count();
            !side.is_empty() && yes > side.len() / 2
        })
    }

    /// The voter lists a decision needs a majority of: one, or two while joint.
    fn sides(&self) -> impl Iterator<Item = &[NodeId]> {
        std::iter::once(self.voters.as_slice()).chain(self.outgoing.as_deref())
    }

    /// The largest value that a majority of each side has reached: each voter's value is
    /// `value_of(id)`; a configuration without voters gives `T::default()`. Used for the
    /// commit index (match indexes), confirmed read rounds and lease starts, on every reply a
    /// leader gets, so it does not allocate for clusters of up to [`STACK_VOTERS`] voters.
    pub(crate) fn quorum_value<T: Ord + Copy + Default>(
        &self,
        value_of: impl Fn(NodeId) -> T,
    ) -> T {
        let mut result: Option<T> = None;
        for side in self.sides() {
            if side.is_empty() {
                return T::default();
            }
            let reached = majority_reached(side, &value_of);
            result = Some(result.map_or(reached, |r| r.min(reached)));
        }
        result.unwrap_or_default()
    }

    /// Checks the shape: sorted lists without duplicates, at least one voter on each side, no
    /// voter of the new configuration also a learner, at most [`MAX_MEMBERS`] members.
    pub fn validate(&self) -> Result<(), MembershipError> {
        let outgoing = self.outgoing.as_deref().unwrap_or(&[]);
        if self.voters.len() + outgoing.len() + self.learners.len() > MAX_MEMBERS {
            return Err(MembershipError::TooLarge);
        }
        if self.voters.is_empty() || self.outgoing.as_ref().is_some_and(|o| o.is_empty()) {
            return Err(MembershipError::NoVoters);
        }
        for list in [&self.voters[..], outgoing, &self.learners[..]] {
            check_sorted_unique(list)?;
        }
        match self
            .learners
            .iter()
            .find(|&&l| self.voters.binary_search(&l).is_ok())
        {
            Some(&id) => Err(MembershipError::VoterAndLearner(id)),
            None => Ok(()),
        }
    }
}

/// Sides of up to this many voters are ranked on the stack.
const STACK_VOTERS: usize = 16;

/// The largest value at least a majority of `side` has reached: the `len / 2`-th largest
/// (counting from 0), since that many plus one hold it or more.
fn majority_reached<T: Ord + Copy + Default>(
    side: &[NodeId],
    value_of: &impl Fn(NodeId) -> T,
) -> T {
    let rank = |values: &mut [T]| {
        values.sort_unstable_by(|a, b| b.cmp(a));
        values[values.len() / 2]
    };
    if side.len() <= STACK_VOTERS {
        let mut values = [T::default(); STACK_VOTERS];
        for (value, &id) in values.iter_mut().zip(side) {
            *value = value_of(id);
        }
        rank(&mut values[..side.len()])
    } else {
        rank(&mut side.iter().map(|&id| value_of(id)).collect::<Vec<T>>())
    }
}

fn check_sorted_unique(list: &[NodeId]) -> Result<(), MembershipError> {
    for pair in list.windows(2) {
        if pair[0] == pair[1] {
            return Err(MembershipError::Duplicate(pair[0]));
        }
        if pair[0] > pair[1] {
            return Err(MembershipError::NotSorted);
        }
    }
    Ok(())
}

impl fmt::Display for Membership {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |ids: &[NodeId]| {
            let names: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
            names.join(",")
        };
        write!(f, "voters {{{}}}", list(&self.voters))?;
        if let Some(outgoing) = &self.outgoing {
            write!(f, " joint with {{{}}}", list(outgoing))?;
        }
        if !self.learners.is_empty() {
            write!(f, " learners {{{}}}", list(&self.learners))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[u64]) -> Vec<NodeId> {
        list.iter().map(|&i| NodeId(i)).collect()
    }

    #[test]
    fn joint_quorum_needs_both_sides() {
        let joint = Membership {
            voters: ids(&[3, 4, 5]),
            outgoing: Some(ids(&[1, 2, 3])),
            learners: vec![],
        };
        // {3,4,5} has a majority in the new side, only one of the old.
        assert!(!joint.is_quorum(|id| id.0 >= 3));
        assert!(!joint.is_quorum(|id| id.0 <= 2));
        assert!(joint.is_quorum(|id| [2, 3, 4].contains(&id.0)));
        let value = joint.quorum_value(|id| id.0);
        // New side {3,4,5}: majority reaches 4; old {1,2,3}: 2.
        assert_eq!(value, 2);
    }

    #[test]
    fn quorum_value_is_the_same_on_the_stack_and_on_the_heap() {
        // Sides of 1 to 40 voters (the heap path starts past 16): the value a majority
        // reached is the smallest of the largest `len / 2 + 1` values.
        for len in 1..=40u64 {
            let side = Membership::new(ids(&(1..=len).collect::<Vec<_>>()), vec![]);
            let value_of = |id: NodeId| (id.0 * 7919) % 101; // scrambled
            let mut values: Vec<u64> = (1..=len).map(|id| value_of(NodeId(id))).collect();
            values.sort_unstable();
            let majority = len as usize / 2 + 1;
            let expected = values[values.len() - majority];
            assert_eq!(side.quorum_value(value_of), expected, "{len} voters");
        }
    }

    #[test]
    fn empty_configuration_is_never_a_quorum() {
        let none = Membership::new(vec![], vec![]);
        assert!(!none.is_quorum(|_| true));
        assert_eq!(none.quorum_value(|_| 7u64), 0);
        assert_eq!(none.validate(), Err(MembershipError::NoVoters));
    }

    #[test]
    fn validation_refuses_bad_shapes() {
        let bad = Membership {
            voters: ids(&[2, 1]),
            outgoing: None,
            learners: vec![],
        };
        assert_eq!(bad.validate(), Err(MembershipError::NotSorted));
        let dup = Membership::new(ids(&[1]), vec![]);
        let dup = Membership {
            learners: ids(&[4, 4]),
            ..dup
        };
        assert_eq!(dup.validate(), Err(MembershipError::Duplicate(NodeId(4))));
        let both = Membership::new(ids(&[1, 2]), ids(&[2]));
        assert_eq!(
            both.validate(),
            Err(MembershipError::VoterAndLearner(NodeId(2)))
        );
        let demoted = Membership {
            voters: ids(&[1, 2]),
            outgoing: Some(ids(&[1, 2, 3])),
            learners: ids(&[3]),
        };
        assert_eq!(demoted.validate(), Ok(()));
        assert_eq!(demoted.members(), ids(&[1, 2, 3]));
        assert!(demoted.is_voter(NodeId(3)) && demoted.contains(NodeId(3)));
    }
}
