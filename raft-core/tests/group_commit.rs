//! Rules of group commit (`RaftNode::step_many`): the durable changes of several events come
//! out as one `Persist`, first, and everything else is what stepping each event alone gives.

mod support;

use proptest::collection::vec;
use proptest::prelude::*;
use raft_core::{
    Action, Event, HardState, LogAppend, LogIndex, Message, NodeId, PersistChange, PersistentState,
    RaftNode, Snapshot, Term,
};
use support::*;

fn hard(term: u64, voted_for: Option<u64>) -> Option<HardState> {
    Some(HardState {
        term: Term(term),
        voted_for: voted_for.map(NodeId),
    })
}

/// Steps `events` as one group on the harness's node, checking the persistence contract.
fn step_group(h: &mut Harness, events: Vec<Event>) -> Vec<Action> {
    let actions = h.node.step_many(events);
    persist_and_check(&h.node, &mut h.durable, &actions);
    actions
}

#[test]
fn proposals_in_a_group_cost_one_durable_write_and_one_message_per_follower() {
    let mut h = Harness::fresh(1, 3);
    h.elect();
    let term = h.node.term();
    h.receive(2, matched(term.0, 0));
    let events = (0..5)
        .map(|i| Event::Propose {
            command: cmd(&format!("c{i}")),
        })
        .collect();
    let actions = step_group(&mut h, events);
    let writes = actions.iter().filter(|a| is_persist(a)).count();
    assert_eq!(writes, 1);
    let append = persist(&actions).unwrap().append.as_ref().unwrap();
    assert_eq!((append.first_index, append.entries.len()), (LogIndex(1), 5));
    let answers: Vec<LogIndex> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Proposed { index, .. } => Some(*index),
            _ => None,
        })
        .collect();
    assert_eq!(answers, (1..=5).map(LogIndex).collect::<Vec<_>>());
    assert_eq!(
        only_append_to(&actions, 2).entries.len(),
        5,
        "all five at once"
    );
    assert!(
        sent_to(&actions, 3).is_empty(),
        "n3's probe is still unanswered"
    );
}

#[test]
fn a_follower_persists_a_group_of_appends_once_before_any_reply() {
    let mut h = Harness::restored(1, 3, state(1, None, &[]));
    let events = vec![
        Event::Receive {
            from: NodeId(2),
            message: append(2, (0, 0), entries_at(1, &[2, 2]), 0),
        },
        Event::Receive {
            from: NodeId(2),
            message: append(2, (2, 2), entries_at(3, &[2]), 2),
        },
    ];
    let actions = step_group(&mut h, events);
    let change = persist(&actions).unwrap();
    assert!(matches!(actions[0], Action::Persist(_)));
    assert_eq!(change.hard_state, hard(2, None));
    let append = change.append.as_ref().unwrap();
    assert_eq!((append.first_index, append.entries.len()), (LogIndex(1), 3));
    assert_eq!(sent_to(&actions, 2), [&matched(2, 2), &matched(2, 3)]);
    assert_eq!(applied(&actions), [1, 2]);
}

#[test]
fn a_truncation_later_in_the_group_cuts_the_groups_own_append() {
    let mut h = Harness::restored(1, 3, state(1, None, &[1]));
    let events = vec![
        Event::Receive {
            from: NodeId(2),
            message: append(1, (1, 1), entries_at(2, &[1, 1, 1]), 1),
        },
        // A newer leader overwrites index 3 onward.
        Event::Receive {
            from: NodeId(3),
            message: append(2, (2, 1), entries_at(3, &[2]), 1),
        },
    ];
    let actions = step_group(&mut h, events);
    let change = persist(&actions).unwrap();
    assert_eq!(
        change.truncate_after, None,
        "only the group's own entries were cut"
    );
    let append = change.append.as_ref().unwrap();
    let terms: Vec<u64> = append.entries.iter().map(|e| e.term.0).collect();
    assert_eq!((append.first_index, terms), (LogIndex(2), vec![1, 2]));
}

#[test]
fn a_snapshot_later_in_the_group_covers_the_groups_own_append() {
    // A follower appends 2..=5, learns they are committed, applies them, and the service
    // compacts through 4 in the same group: the write keeps only entry 5 after the snapshot.
    let mut h = Harness::restored(1, 3, state(1, None, &[1]));
    let events = vec![
        Event::Receive {
            from: NodeId(2),
            message: append(1, (1, 1), entries_at(2, &[1, 1, 1, 1]), 5),
        },
        Event::Snapshot {
            index: LogIndex(4),
            data: cmd("s4"),
        },
    ];
    let actions = step_group(&mut h, events);
    let change = persist(&actions).unwrap();
    assert_eq!(change.snapshot.as_ref().map(|s| s.index), Some(LogIndex(4)));
    let append = change.append.as_ref().unwrap();
    assert_eq!((append.first_index, append.entries.len()), (LogIndex(5), 1));
}

#[test]
fn an_empty_group_does_nothing() {
    let mut h = Harness::fresh(1, 3);
    assert!(step_group(&mut h, Vec::new()).is_empty());
}

// ---------------------------------------------------------------------------------------------
// PersistChange::merge
// ---------------------------------------------------------------------------------------------

fn change_appending(first: u64, terms: &[u64]) -> PersistChange {
    PersistChange {
        append: Some(LogAppend {
            first_index: LogIndex(first),
            entries: entries_at(first, terms),
        }),
        ..PersistChange::default()
    }
}

#[test]
fn a_change_that_does_not_fit_leaves_an_owning_store_untouched() {
    let mut durable = state(1, None, &[1, 1]);
    let before = durable.clone();
    assert!(durable.apply_owned(change_appending(5, &[1])).is_err());
    assert_eq!(durable, before);
    durable
        .apply_owned(change_appending(3, &[1]))
        .expect("fits");
    assert_eq!(durable.last_index(), LogIndex(3));
}

#[test]
fn merge_refuses_an_append_that_does_not_continue_the_log() {
    let mut change = change_appending(3, &[1, 1]);
    let before = change.clone();
    assert!(change.merge(change_appending(6, &[1])).is_err());
    assert!(change.merge(change_appending(4, &[1])).is_err());
    assert_eq!(change, before, "a refused merge changes nothing");
    assert!(change.merge(change_appending(5, &[1])).is_ok());
    let truncating = PersistChange {
        truncate_after: Some(LogIndex(1)),
        ..change_appending(2, &[2])
    };
    assert!(change.merge(truncating).is_ok(), "cut below our append");
    assert_eq!(change.truncate_after, Some(LogIndex(1)));
    assert_eq!(change.append.unwrap().entries, entries_at(2, &[2]));
}

/// A random change that fits `state` (as a node would produce one), applied to it.
fn random_change(state: &mut PersistentState, draw: &[u8]) -> PersistChange {
    let pick = |k: usize, n: u64| u64::from(draw[k % draw.len()]) % n.max(1);
    let mut change = PersistChange::default();
    let mut term = state.hard_state.term.0;
    if pick(0, 3) == 0 {
        term += 1;
        change.hard_state = hard(term, None);
    }
    let last = state.last_index().0;
    let snapshot_at = state.snapshot.index.0;
    if pick(1, 4) == 0 && last > snapshot_at {
        let index = snapshot_at + 1 + pick(2, last - snapshot_at);
        let at = (index - snapshot_at - 1) as usize;
        change.snapshot = Some(Snapshot {
            index: LogIndex(index),
            term: state.entries[at].term,
            data: cmd(&format!("s{index}")),
            membership: None,
        });
    }
    let floor = change.snapshot.as_ref().map_or(snapshot_at, |s| s.index.0);
    if pick(3, 3) == 0 && last > floor {
        change.truncate_after = Some(LogIndex(floor + pick(4, last - floor)));
    }
    let mut probe = state.clone();
    probe.apply(&change).expect("fits");
    if pick(5, 2) == 0 {
        let count = 1 + pick(6, 4) as usize;
        let from = probe.last_index().0 + 1;
        change.append = Some(LogAppend {
            first_index: LogIndex(from),
            entries: entries_at(from, &vec![term; count]),
        });
    }
    state.apply(&change).expect("fits");
    change
}

proptest! {
    #![proptest_config(proptest_config(256))]

    /// Applying the merge of a sequence of changes is applying them one by one.
    #[test]
    fn merging_changes_is_applying_them_in_turn(draws in vec(vec(any::<u8>(), 7), 1..12)) {
        let mut start = state(1, None, &[1, 1, 1]);
        start.hard_state.term = Term(1);
        let mut one_by_one = start.clone();
        let mut merged = PersistChange::default();
        for draw in &draws {
            let change = random_change(&mut one_by_one, draw);
            merged.merge(change).expect("successive changes merge");
        }
        let mut at_once = start.clone();
        at_once.apply(&merged).expect("the merged change fits");
        prop_assert_eq!(&at_once, &one_by_one);
        // A store that takes the change by value ends in the same state.
        let mut owned = start;
        owned.apply_owned(merged).expect("the merged change fits");
        prop_assert_eq!(owned, one_by_one);
    }
}

// ---------------------------------------------------------------------------------------------
// Equivalence with step, on event streams recorded from a faulty cluster
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Ticks(u8),
    Rounds(u8),
    Deliver(usize),
    Drop(usize),
    Propose(u8),
    Snapshot(usize),
    Isolate(usize),
    Heal,
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1u8..15).prop_map(Op::Ticks),
        3 => (1u8..6).prop_map(Op::Rounds),
        12 => any::<usize>().prop_map(Op::Deliver),
        2 => any::<usize>().prop_map(Op::Drop),
        6 => (0u8..4).prop_map(Op::Propose),
        2 => any::<usize>().prop_map(Op::Snapshot),
        1 => any::<usize>().prop_map(Op::Isolate),
        2 => Just(Op::Heal),
    ]
}

/// Every event node 1 saw during a faulty run of a 3-node cluster.
fn recorded_events(seed: u64, ops: &[Op]) -> Vec<Event> {
    let mut c = Cluster::with_seed(3, seed);
    c.record = Some(NodeId(1));
    let mut proposals = 0;
    for op in ops {
        match *op {
            Op::Ticks(n) => (0..n).for_each(|_| c.tick_all()),
            Op::Rounds(n) => c.run(u32::from(n)),
            Op::Deliver(k) => c.deliver_nth(k),
            Op::Drop(k) => c.drop_nth(k),
            Op::Propose(n) => {
                let Some(leader) = c.leader() else { continue };
                proposals += 1;
                let commands = (0..n).map(|k| cmd(&format!("p{proposals}.{k}"))).collect();
                // One command alone, or a batch of 0..=3.
                let event = match n {
                    1 => Event::Propose {
                        command: cmd(&format!("p{proposals}")),
                    },
                    _ => Event::ProposeBatch { commands },
                };
                c.step(leader, event);
            }
            Op::Snapshot(k) => {
                let id = NodeId(k as u64 % 3 + 1);
                let last = c.service(id).last().0;
                c.snapshot(id, last);
            }
            Op::Isolate(k) => c.isolate(NodeId(k as u64 % 3 + 1)),
            Op::Heal => c.heal(),
        }
    }
    c.recorded
}

/// What must not depend on grouping: applies, answers, and every message but AppendEntries
/// (a group sends the entries proposed in it together, and its commit notices once, at the
/// end; what the follower then answers is part of the recorded events).
fn observable(actions: &[Action]) -> Vec<Action> {
    actions
        .iter()
        .filter(|a| match a {
            Action::Persist(_) | Action::PersistAsync { .. } => false,
            Action::Send { message, .. } => !matches!(message, Message::AppendEntries(_)),
            _ => true,
        })
        .cloned()
        .collect()
}

proptest! {
    #![proptest_config(proptest_config(48))]

    #[test]
    fn a_group_is_its_events_stepped_one_by_one(
        seed in any::<u64>(),
        ops in vec(arb_op(), 1..250),
        sizes in vec(1usize..6, 1..40),
    ) {
        let events = recorded_events(seed, &ops);
        let config = raft_core::Config::new(NodeId(1), ids(3), seed.wrapping_mul(31).wrapping_add(1));
        let mut alone = Harness::with_config(config.clone(), None);
        let mut grouped = Harness::with_config(config, None);
        let mut rest = &events[..];
        for &size in sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (group, tail) = rest.split_at(size.min(rest.len()));
            rest = tail;
            let mut one_by_one = Vec::new();
            for event in group {
                one_by_one.extend(alone.step(event.clone()));
            }
            let together = step_group(&mut grouped, group.to_vec());
            prop_assert!(together.iter().filter(|a| is_persist(a)).count() <= 1);
            prop_assert_eq!(observable(&one_by_one), observable(&together));
            prop_assert_eq!(&alone.durable, &grouped.durable);
            let view = |n: &RaftNode| (n.role(), n.term(), n.commit_index(), n.last_applied());
            prop_assert_eq!(view(&alone.node), view(&grouped.node));
        }
    }
}
