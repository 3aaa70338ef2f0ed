//! Bugs found after the fact, each kept as the scenario that exposed it.

mod support;

use raft_core::{Action, Event, NodeId};
use support::*;

/// Found in review: a follower answered an InstallSnapshot from an older term with the
/// request's index and its own, newer term. When the sender had meanwhile become leader of
/// that newer term, it took the answer as "the follower matches through the snapshot", never
/// backed up below it, and the follower stayed behind for the whole term. The answer to a
/// refused request now claims no match.
#[test]
fn a_refused_stale_snapshot_does_not_count_as_a_match() {
    // Node 1: term 2, snapshot through index 10, entries 11..=20. Node 2: term 3, empty log.
    let mut leader = Harness::restored(1, 3, state_after_snapshot(2, None, (10, 1), &[1; 10]));
    let mut follower = Harness::restored(2, 3, state(3, None, &[]));
    // A snapshot node 1 sent while it led term 2 arrives late.
    let refusal = only_message_to(&follower.receive(1, install(2, (10, 1), "snap")), 1);
    // Node 1 wins term 3 and only then sees the refusal.
    leader.elect();
    assert_eq!(leader.node.term().0, 3);
    leader.receive(2, refusal);
    leader.propose("x");
    // Nodes 1 and 2 talk for a while (node 3 is down): the follower must catch up, by snapshot.
    let (mut to_follower, mut to_leader) = (Vec::new(), Vec::new());
    for _ in 0..500 {
        let mut actions = leader.tick();
        for message in std::mem::take(&mut to_leader) {
            actions.extend(leader.receive(2, message));
        }
        to_follower.extend(actions.into_iter().filter_map(|a| match a {
            Action::Send {
                to: NodeId(2),
                message,
            } => Some(message),
            _ => None,
        }));
        let mut actions = follower.step(Event::Tick);
        for message in std::mem::take(&mut to_follower) {
            actions.extend(follower.receive(1, message));
        }
        to_leader.extend(actions.into_iter().filter_map(|a| match a {
            Action::Send {
                to: NodeId(1),
                message,
            } => Some(message),
            _ => None,
        }));
    }
    assert_eq!(follower.node.last_index().0, 21, "the follower caught up");
    assert_eq!(
        leader.node.commit_index().0,
        21,
        "and the new entry committed"
    );
}
