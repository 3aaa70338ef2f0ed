//! Crash consistency at the persistence boundary: a store writes a change's parts in order
//! (hard state, snapshot, truncation, each appended entry), so a crash part-way leaves the
//! state before the change plus a prefix of its parts. Every such state must decode and
//! restore a node.

use proptest::prelude::*;
use raft_core::{
    Action, AppendEntries, Config, Entry, Event, HardState, InstallSnapshot, LogAppend, LogIndex,
    Message, NodeId, PersistChange, PersistentState, RaftNode, Term,
};

const LEADERS: [NodeId; 2] = [NodeId(0), NodeId(2)];

fn follower() -> RaftNode {
    let peers = vec![NodeId(0), NodeId(1), NodeId(2)];
    RaftNode::new(Config::new(NodeId(1), peers, 7), None).expect("valid")
}

fn entry(term: u64) -> Entry {
    Entry::new(Term(term), b"c".as_slice().into())
}

/// Every prefix of `change`, applied to `durable`, decodes and restores a node.
fn every_prefix_restores(durable: &PersistentState, change: &PersistChange) {
    for parts in 0..=change.parts() {
        let mut torn = durable.clone();
        torn.apply(&change.prefix(parts))
            .unwrap_or_else(|e| panic!("{parts} parts of {change:?}: {e}"));
        let decoded = PersistentState::decode(&torn.encode())
            .unwrap_or_else(|e| panic!("{parts} parts of {change:?} leave {torn:?}: {e}"));
        let peers = vec![NodeId(0), NodeId(1), NodeId(2)];
        RaftNode::new(Config::new(NodeId(1), peers, 9), Some(decoded))
            .unwrap_or_else(|e| panic!("{parts} parts of {change:?}: {e}"));
    }
}

/// Steps the node, checks every torn version of its write, then makes the write durable.
fn step(node: &mut RaftNode, durable: &mut PersistentState, event: Event) -> Vec<Action> {
    let actions = node.step(event);
    if let Some(Action::Persist(change)) = actions.first() {
        every_prefix_restores(durable, change);
        durable.apply(change).expect("the core's own change fits");
    }
    actions
}

#[test]
fn a_write_torn_between_an_installed_snapshot_and_its_truncation_restores() {
    // Found by reasoning about the swarm's torn writes: a follower holds ten term-1 entries,
    // then installs a term-2 leader's snapshot through index 8, whose entry 8 it holds with
    // another term. Its write is (hard state, snapshot, truncate after 8). Torn after the
    // snapshot, the disk used to hold the snapshot followed by the old term-1 entries 9 and 10,
    // a state that `decode` rightly refuses: the node could never restart.
    let mut node = follower();
    let mut durable = PersistentState::default();
    let append = AppendEntries {
        term: Term(1),
        prev_log_index: LogIndex(0),
        prev_log_term: Term(0),
        entries: (0..10).map(|_| entry(1)).collect(),
        leader_commit: LogIndex(5),
    };
    let message = Message::AppendEntries(append);
    step(
        &mut node,
        &mut durable,
        Event::Receive {
            from: LEADERS[0],
            message,
        },
    );
    let install = InstallSnapshot {
        term: Term(2),
        last_included_index: LogIndex(8),
        last_included_term: Term(2),
        data: b"s".as_slice().into(),
        membership: None,
    };
    let message = Message::InstallSnapshot(install);
    let actions = node.step(Event::Receive {
        from: LEADERS[1],
        message,
    });
    let Some(Action::Persist(change)) = actions.first() else {
        panic!("installing writes: {actions:?}");
    };
    assert!(change.snapshot.is_some() && change.truncate_after.is_some());
    let torn_after_snapshot = change.prefix(2);
    assert!(torn_after_snapshot.truncate_after.is_none());
    every_prefix_restores(&durable, change);
    let mut torn = durable.clone();
    torn.apply(&torn_after_snapshot).expect("fits");
    assert!(
        torn.entries.is_empty(),
        "the old history went with the snapshot"
    );
}

#[test]
fn parts_are_written_in_order_one_entry_at_a_time() {
    let change = PersistChange {
        hard_state: Some(HardState {
            term: Term(2),
            voted_for: None,
        }),
        snapshot: None,
        truncate_after: Some(LogIndex(0)),
        append: Some(LogAppend {
            first_index: LogIndex(1),
            entries: vec![entry(1), entry(2), entry(2)],
        }),
    };
    assert_eq!(change.parts(), 5);
    assert!(change.prefix(0).is_empty());
    let one = change.prefix(1);
    assert!(one.hard_state.is_some() && one.truncate_after.is_none());
    let three = change.prefix(3);
    assert_eq!(three.append.as_ref().map(|a| a.entries.len()), Some(1));
    assert_eq!(change.prefix(5), change);
    assert_eq!(change.prefix(9), change);
}

/// What a leader might send the follower: appends that overlap, conflict or run ahead,
/// snapshots ahead of it, and the follower's own compaction.
#[derive(Clone, Debug)]
enum Input {
    Append {
        leader: usize,
        new_term: bool,
        back: u64,
        entries: usize,
        wrong_prev: bool,
        commit: u64,
    },
    Install {
        leader: usize,
        new_term: bool,
        ahead: u64,
        older_term: bool,
    },
    Compact,
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        4 => (0..2usize, any::<bool>(), 0u64..6, 0usize..6, prop::bool::weighted(0.2), 0u64..8)
            .prop_map(|(leader, new_term, back, entries, wrong_prev, commit)| Input::Append {
                leader, new_term, back, entries, wrong_prev, commit
            }),
        1 => (0..2usize, any::<bool>(), 0u64..8, any::<bool>())
            .prop_map(|(leader, new_term, ahead, older_term)| Input::Install {
                leader, new_term, ahead, older_term
            }),
        1 => Just(Input::Compact),
    ]
}

/// The term of the entry at `index` in the durable state, if it holds it.
fn term_at(state: &PersistentState, index: LogIndex) -> Option<Term> {
    let offset = index.0.checked_sub(state.snapshot.index.0)?;
    match offset {
        0 => Some(state.snapshot.term),
        k => state.entries.get(k as usize - 1).map(|e| e.term),
    }
}

fn feed(node: &mut RaftNode, durable: &mut PersistentState, input: Input) {
    let term = |new_term: bool| Term(node.term().0 + u64::from(new_term).max(1));
    let event = match input {
        Input::Append {
            leader,
            new_term,
            back,
            entries,
            wrong_prev,
            commit,
        } => {
            let term = term(new_term);
            let prev = LogIndex(durable.last_index().0.saturating_sub(back));
            let Some(prev_term) = term_at(durable, prev) else {
                return;
            };
            let prev_term = Term(prev_term.0 + u64::from(wrong_prev)).min(term);
            let append = AppendEntries {
                term,
                prev_log_index: prev,
                prev_log_term: prev_term,
                entries: (0..entries).map(|_| entry(term.0)).collect(),
                leader_commit: LogIndex(commit.min(prev.0 + entries as u64)),
            };
            let message = Message::AppendEntries(append);
            Event::Receive {
                from: LEADERS[leader],
                message,
            }
        }
        Input::Install {
            leader,
            new_term,
            ahead,
            older_term,
        } => {
            let term = term(new_term);
            let install = InstallSnapshot {
                term,
                last_included_index: node.commit_index().plus(1 + ahead),
                last_included_term: Term(term.0 - u64::from(older_term && term.0 > 1)),
                data: b"s".as_slice().into(),
                membership: None,
            };
            let message = Message::InstallSnapshot(install);
            Event::Receive {
                from: LEADERS[leader],
                message,
            }
        }
        Input::Compact => Event::Snapshot {
            index: node.last_applied(),
            data: b"s".as_slice().into(),
        },
    };
    step(node, durable, event);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256)
    ))]

    /// Whatever a follower is sent, every torn version of every write it makes restores.
    #[test]
    fn every_torn_write_of_a_follower_restores(inputs in prop::collection::vec(input(), 1..40)) {
        let mut node = follower();
        let mut durable = PersistentState::default();
        for input in inputs {
            feed(&mut node, &mut durable, input);
        }
    }
}
