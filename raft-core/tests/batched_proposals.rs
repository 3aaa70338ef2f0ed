//! Rules of `Event::ProposeBatch`: many commands, one log append, one durable write, one
//! message per follower, answered in the same call.

mod support;

use raft_core::{Action, Config, Entry, Event, LogIndex, NodeId, SharedBytes};
use support::*;

fn commands(names: &[&str]) -> Vec<SharedBytes> {
    names.iter().map(|n| cmd(n)).collect()
}

fn batch(names: &[&str]) -> Event {
    Event::ProposeBatch {
        commands: commands(names),
    }
}

/// A leader of term 1 whose followers 2 and 3 answered its first heartbeat (replicate mode).
fn replicating_leader() -> Harness {
    let mut h = Harness::fresh(1, 3);
    h.elect();
    let term = h.node.term().0;
    h.receive(2, matched(term, 0));
    h.receive(3, matched(term, 0));
    h
}

#[test]
fn a_batch_is_one_append_one_persist_and_one_message_per_follower() {
    let mut h = replicating_leader();
    let term = h.node.term();
    let actions = h.step(batch(&["a", "b", "c"]));
    let change = persist(&actions).expect("one durable write");
    assert!(
        matches!(actions[0], Action::Persist(_)),
        "first: {actions:?}"
    );
    let append = change.append.as_ref().expect("an append");
    assert_eq!(append.first_index, LogIndex(1));
    let stored: Vec<&[u8]> = append.entries.iter().map(|e| &e.command[..]).collect();
    assert_eq!(stored, [b"a".as_slice(), b"b", b"c"]);
    assert!(append.entries.iter().all(|e| e.term == term));
    for peer in [2, 3] {
        let m = only_append_to(&actions, peer);
        assert_eq!(
            m.entries, append.entries,
            "n{peer} gets the whole batch at once"
        );
        assert_eq!(m.prev_log_index, LogIndex(0));
    }
    let answers: Vec<&Action> = actions
        .iter()
        .filter(|a| matches!(a, Action::ProposedBatch { .. }))
        .collect();
    assert_eq!(
        answers,
        [&Action::ProposedBatch {
            first_index: LogIndex(1),
            term
        }]
    );
    assert_eq!(h.node.last_index(), LogIndex(3));
}

#[test]
fn batches_follow_each_other_at_consecutive_indexes() {
    let mut h = replicating_leader();
    h.step(batch(&["a", "b"]));
    h.propose("c");
    let actions = h.step(batch(&["d", "e", "f"]));
    assert!(actions.iter().any(|a| matches!(
        a,
        Action::ProposedBatch {
            first_index: LogIndex(4),
            ..
        }
    )));
    let texts: Vec<Vec<u8>> = (1..=6)
        .map(|i| h.node.entry(LogIndex(i)).unwrap().command.to_vec())
        .collect();
    assert_eq!(texts, [b"a", b"b", b"c", b"d", b"e", b"f"]);
}

#[test]
fn a_batch_to_a_non_leader_is_refused_and_changes_nothing() {
    let mut follower = Harness::fresh(1, 3);
    follower.receive(2, heartbeat(1, (0, 0), 0));
    let mut candidate = Harness::fresh(1, 3);
    candidate.tick_until_candidate();
    for (mut h, hint) in [(follower, Some(NodeId(2))), (candidate, None)] {
        let before = h.node.persistent_state();
        let actions = h.step(batch(&["x", "y"]));
        assert_eq!(actions, [Action::NotLeader { leader_hint: hint }]);
        assert_eq!(h.node.persistent_state(), before);
    }
}

#[test]
fn an_empty_batch_appends_nothing_and_says_where_the_next_entry_goes() {
    let mut h = replicating_leader();
    h.propose("a");
    let actions = h.step(batch(&[]));
    assert_eq!(
        actions,
        [Action::ProposedBatch {
            first_index: LogIndex(2),
            term: h.node.term()
        }]
    );
    assert_eq!(h.node.last_index(), LogIndex(1));
}

#[test]
fn a_batch_beyond_the_message_limits_travels_in_several_messages() {
    let config = Config {
        max_entries_per_message: 2,
        ..config(1, 3)
    };
    let mut h = Harness::with_config(config, None);
    h.elect();
    let term = h.node.term().0;
    h.receive(2, matched(term, 0));
    let actions = h.step(batch(&["a", "b", "c", "d", "e"]));
    let to_2 = sent_to(&actions, 2);
    let sizes: Vec<usize> = to_2
        .iter()
        .map(|m| match m {
            raft_core::Message::AppendEntries(m) => m.entries.len(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        sizes,
        [2, 2, 1],
        "within max_entries_per_message and the window"
    );
    assert_eq!(
        persist(&actions)
            .unwrap()
            .append
            .as_ref()
            .unwrap()
            .entries
            .len(),
        5
    );
}

#[test]
fn a_lone_node_commits_a_batch_at_once() {
    let mut h = Harness::fresh(1, 1);
    h.elect();
    let actions = h.step(batch(&["a", "b"]));
    assert_eq!(applied(&actions), [1, 2]);
    assert!(matches!(actions[0], Action::Persist(_)));
}

#[test]
fn a_batch_commits_everywhere_with_one_durable_write_per_node() {
    let mut c = Cluster::new(3);
    let leader = c.wait_for_leader();
    c.run(20);
    let writes = c.stats.writes;
    let actions = c.step(
        leader,
        Event::ProposeBatch {
            commands: (0..64).map(|i| cmd(&format!("c{i}"))).collect(),
        },
    );
    let Some(Action::ProposedBatch { first_index, term }) = actions
        .iter()
        .find(|a| matches!(a, Action::ProposedBatch { .. }))
    else {
        panic!("no answer: {actions:?}");
    };
    assert_eq!(*term, c.node(leader).term());
    let last = first_index.0 + 63;
    let before = c.stats.clone();
    c.deliver_all();
    // One AppendEntries with all 64 entries per follower, one reply each, then the commit
    // notices and their replies: the followers apply without a tick.
    assert_eq!(c.stats.delivered - before.delivered, 8);
    assert_eq!(c.stats.writes - writes, 3, "one durable write per node");
    for id in c.ids.clone() {
        assert_eq!(c.service(id).last(), LogIndex(last), "{id}");
        let entry = c.node(id).entry(LogIndex(last)).cloned();
        let expected = Entry::new(*term, cmd("c63"));
        assert_eq!(entry, Some(expected));
    }
}
