//! Rules of the commit notice: when the commit index moves and nothing else is about to carry
//! it to a follower, the leader tells the follower at once (an empty AppendEntries), so a
//! follower applies one round trip after the leader, not a heartbeat interval later.

mod support;

use raft_core::{AppendEntries, Config, LogIndex, Message, NodeId, Term};
use support::*;

/// A leader of `n` nodes whose followers all answered its first heartbeat (replicate mode).
fn leader_of(n: u64) -> Harness {
    let mut h = Harness::fresh(1, n);
    h.elect();
    let term = h.node.term().0;
    for peer in 2..=n {
        h.receive(peer, matched(term, 0));
    }
    h
}

#[test]
fn followers_holding_the_new_commit_are_told_at_once() {
    let mut h = leader_of(5);
    let term = h.node.term();
    h.propose("x");
    h.receive(2, matched(term.0, 1));
    let actions = h.receive(3, matched(term.0, 1));
    assert_eq!(h.node.commit_index(), LogIndex(1));
    for peer in [2, 3] {
        let notice = only_append_to(&actions, peer);
        assert_eq!(
            notice,
            AppendEntries {
                term,
                prev_log_index: LogIndex(1),
                prev_log_term: term,
                entries: Vec::new(),
                leader_commit: LogIndex(1),
            },
            "n{peer}"
        );
    }
    // n4 and n5 still have the entry in flight: their acknowledgements will bring theirs.
    assert!(sent_to(&actions, 4).is_empty() && sent_to(&actions, 5).is_empty());
    let actions = h.receive(4, matched(term.0, 1));
    assert_eq!(only_append_to(&actions, 4).leader_commit, LogIndex(1));
    assert!(sent_to(&actions, 2).is_empty(), "n2 was told already");
}

#[test]
fn no_notice_when_the_next_message_carries_the_commit_anyway() {
    let mut h = leader_of(3);
    let term = h.node.term().0;
    h.propose("x");
    h.propose("y"); // flows behind x, in its own message
                    // n2 acknowledges x: 1 commits; y is still in flight to n2 (and both to n3), so no
                    // notice yet ...
    let actions = h.receive(2, matched(term, 1));
    assert_eq!(h.node.commit_index(), LogIndex(1));
    assert!(sends(&actions).is_empty(), "{actions:?}");
    // ... and a new proposal carries the commit index to both.
    let actions = h.propose("z");
    for peer in [2, 3] {
        let m = only_append_to(&actions, peer);
        assert_eq!(
            (m.entries.len(), m.leader_commit),
            (1, LogIndex(1)),
            "n{peer}"
        );
    }
    // n2's acknowledgement of y commits 2; z is in flight to both: no notice.
    let actions = h.receive(2, matched(term, 2));
    assert_eq!(h.node.commit_index(), LogIndex(2));
    assert!(sends(&actions).is_empty(), "{actions:?}");
}

#[test]
fn a_notice_is_anchored_at_what_the_follower_is_known_to_hold() {
    // The follower accepts it even though it lacks entries sent after its last
    // acknowledgement, and commits only through what the notice vouches for (§5.3).
    let mut follower = Harness::restored(2, 3, state(1, None, &[1, 1]));
    let notice = heartbeat(1, (2, 1), 4);
    let actions = follower.receive(1, notice);
    assert_eq!(sent_to(&actions, 1), [&matched(1, 2)]);
    assert_eq!(applied(&actions), [1, 2]);
    assert_eq!(follower.node.commit_index(), LogIndex(2));
}

#[test]
fn no_notice_to_a_follower_being_probed() {
    // n2 is known to hold entry 1, but rejects the next append: the leader probes it, one
    // message at a time, and the probe's answer (not a notice) carries the commit there.
    let mut h = Harness::restored(1, 3, state(1, None, &[1, 1]));
    h.elect();
    let term = h.node.term().0;
    h.receive(2, matched(term, 1));
    h.receive(3, matched(term, 2));
    h.propose("x");
    let actions = h.receive(2, too_short(term, 2, 2));
    assert_eq!(
        only_append_to(&actions, 2).prev_log_index,
        LogIndex(1),
        "the probe"
    );
    let actions = h.receive(3, matched(term, 3));
    assert_eq!(h.node.commit_index(), LogIndex(3));
    assert!(sent_to(&actions, 2).is_empty(), "{actions:?}");
    assert_eq!(only_append_to(&actions, 3).leader_commit, LogIndex(3));
}

#[test]
fn an_idle_cluster_sends_only_heartbeats() {
    let mut c = Cluster::new(3);
    let leader = c.wait_for_leader();
    let (index, _) = c.propose(leader, cmd("x")).expect("leads");
    c.wait_applied(index.0);
    c.run(5);
    let heartbeat_ticks = u64::from(c.node(leader).config().heartbeat_ticks);
    let before = c.stats.clone();
    c.run(10 * heartbeat_ticks as u32);
    let appends = c.stats.kind("AppendEntries") - before.kind("AppendEntries");
    assert_eq!(
        appends,
        2 * 10,
        "one heartbeat per follower per interval, nothing else"
    );
}

#[test]
fn followers_apply_within_the_proposals_round_trips_not_a_heartbeat_later() {
    // A heartbeat interval far longer than the test: only notices can tell the followers.
    let configs = (1..=3)
        .map(|id| Config {
            heartbeat_ticks: 1_000,
            election_ticks_min: 3_000,
            election_ticks_max: 3_001,
            ..config(id, 3)
        })
        .collect();
    let mut c = Cluster::with_configs(configs);
    let leader = NodeId(1);
    c.elect(leader);
    for round in 0..20 {
        let (index, _) = c.propose(leader, cmd(&format!("c{round}"))).expect("leads");
        c.deliver_all(); // no tick
        for id in c.ids.clone() {
            assert_eq!(c.service(id).last(), index, "{id} after proposal {round}");
        }
    }
}

#[test]
fn a_notice_reply_changes_nothing_and_starts_nothing() {
    let mut h = leader_of(3);
    let term = h.node.term();
    h.propose("x");
    let actions = h.receive(2, matched(term.0, 1));
    assert!(matches!(
        only_message_to(&actions, 2),
        Message::AppendEntries(_)
    ));
    // The follower answers the notice with the same match: no new message, no change.
    let actions = h.receive(2, matched(term.0, 1));
    assert!(actions.is_empty(), "{actions:?}");
    assert_eq!(h.node.commit_index(), LogIndex(1));
    assert_eq!(h.node.term(), Term(term.0));
}
