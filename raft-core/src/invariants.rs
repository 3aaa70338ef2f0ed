//! Internal invariants, checked at the end of every `step` in debug and test builds. A failure
//! here is a bug in the core, never the fault of a peer.

use crate::node::{RaftNode, Role};
use crate::persist::HardState;
use crate::types::{LogIndex, NodeId};

/// What the checks compare against: the state before the step.
pub(crate) struct Before {
    hard_state: HardState,
    commit_index: LogIndex,
    last_applied: LogIndex,
}

impl Before {
    pub(crate) fn capture(node: &RaftNode) -> Before {
        Before {
            hard_state: node.hard_state,
            commit_index: node.commit_index,
            last_applied: node.last_applied,
        }
    }
}

pub(crate) fn check(node: &RaftNode, before: &Before) {
    let log = &node.log;
    assert!(
        node.last_applied <= node.commit_index,
        "applied beyond commit"
    );
    assert!(
        node.commit_index <= log.last_index(),
        "commit beyond the log"
    );
    assert!(
        log.snapshot_index() <= node.last_applied,
        "snapshot beyond applied"
    );
    assert!(
        node.commit_index >= before.commit_index,
        "commit index went back"
    );
    assert!(
        node.last_applied >= before.last_applied,
        "applied index went back"
    );
    let (old, new) = (before.hard_state, node.hard_state);
    assert!(new.term >= old.term, "term went back");
    if new.term == old.term && old.voted_for.is_some() {
        assert_eq!(new.voted_for, old.voted_for, "two votes in one term");
    }
    // Terms never decrease along the log, and none is newer than the current term. The new
    // tail is checked where it joins the old log; appends only ever come in sorted runs.
    assert!(log.last_term() <= new.term, "log entry from a future term");
    if let Some(first) = log.entries().first() {
        assert!(
            first.term >= log.snapshot().term,
            "entry older than the snapshot"
        );
    }
    check_membership(node);
    if let Role::Leader(leader) = &node.role {
        assert_eq!(
            node.leader,
            Some(node.config.id),
            "leader does not know it leads"
        );
        assert!(
            leader.own.durable_index() <= log.last_index(),
            "leader durable beyond its log"
        );
        if node.commit_index > before.commit_index {
            check_commit_by_majority(node, leader);
        }
        for p in &leader.progress {
            assert!(
                p.match_index <= log.last_index(),
                "follower matched beyond our log"
            );
            assert!(
                p.next_index > p.match_index,
                "next_index at or below match_index"
            );
        }
    }
}

/// The configuration in force is the latest in the log, else the snapshot's, else the
/// bootstrap one (thesis §4.1); a leader replicates to exactly its other members.
fn check_membership(node: &RaftNode) {
    let (log, membership) = (&node.log, &node.membership);
    let mut latest = log.snapshot().membership.as_deref();
    for entry in log.entries() {
        latest = entry.membership().or(latest);
    }
    let expected = latest.unwrap_or(&node.bootstrap);
    assert_eq!(
        membership, expected,
        "configuration in force is not the log's latest"
    );
    if let Role::Leader(leader) = &node.role {
        let followers: Vec<NodeId> = leader.progress.iter().map(|p| p.id).collect();
        assert_eq!(
            followers,
            node.members_but_me(),
            "leader replicates to non-members"
        );
    }
}

/// A leader's new commit index is held by a majority, counting the leader only as far as its
/// own log is durable (thesis §10.2.1), and is an entry of its own term (§5.4.2).
fn check_commit_by_majority(node: &RaftNode, leader: &crate::leader::Leader) {
    let commit = node.commit_index;
    // Computed here, not by `self_match`, so that a slip there is caught.
    let own = if node.config.pipelined_persistence {
        leader.own.durable_index()
    } else {
        node.log.last_index()
    };
    let me = node.config.id;
    let holds = |id: NodeId| match id == me {
        true => own >= commit,
        false => leader
            .progress_of(id)
            .is_some_and(|p| p.match_index >= commit),
    };
    assert!(
        node.membership.is_quorum(holds),
        "committed {commit} not held by a quorum of {} (own log counted through {own})",
        node.membership
    );
    assert_eq!(
        node.log.term_at(commit),
        Some(node.hard_state.term),
        "committed by counting an entry of an older term"
    );
}
