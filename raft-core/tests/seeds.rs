//! Why every node needs its own seed (`Config::seed`): the crate docs' three-node example loop,
//! run with equal and with distinct seeds.

use raft_core::{Action, Config, Event, Message, NodeId, RaftNode};

/// The crate docs' example: three nodes ticked in lockstep on a perfect network, one proposal
/// once a leader appears. Returns how many nodes applied it after `rounds` rounds.
fn example_loop(seeds: [u64; 3], rounds: usize) -> usize {
    let ids = [NodeId(1), NodeId(2), NodeId(3)];
    let mut nodes: Vec<RaftNode> = ids
        .iter()
        .zip(seeds)
        .map(|(&id, seed)| RaftNode::new(Config::new(id, ids.to_vec(), seed), None).unwrap())
        .collect();
    let mut inbox: Vec<(NodeId, NodeId, Message)> = Vec::new();
    let mut applied = [0; 3];
    let mut proposed = false;
    let mut handle = |i: usize, actions: Vec<Action>, inbox: &mut Vec<_>| {
        for action in actions {
            match action {
                Action::Send { to, message } => inbox.push((ids[i], to, message)),
                Action::Apply { .. } => applied[i] += 1,
                _ => {}
            }
        }
    };
    for _ in 0..rounds {
        for (i, node) in nodes.iter_mut().enumerate() {
            let mut actions = node.step(Event::Tick);
            if node.is_leader() && !proposed {
                proposed = true;
                let command = b"hello".as_slice().into();
                actions.extend(node.step(Event::Propose { command }));
            }
            handle(i, actions, &mut inbox);
        }
        while let Some((from, to, message)) = inbox.pop() {
            let i = ids.iter().position(|&id| id == to).unwrap();
            let actions = nodes[i].step(Event::Receive { from, message });
            handle(i, actions, &mut inbox);
        }
    }
    applied.iter().filter(|&&n| n == 1).count()
}

#[test]
fn equal_seeds_in_lockstep_split_every_vote() {
    // Equal seeds draw equal timeouts: all three stand together, each votes for itself, and
    // the same happens again next term, forever.
    for seed in [0, 1, 7, 42] {
        assert_eq!(example_loop([seed; 3], 1000), 0, "seed {seed}");
    }
}

#[test]
fn distinct_seeds_elect_and_commit() {
    for base in 0..300u64 {
        let seeds = [base * 3 + 1, base * 3 + 2, base * 3 + 3];
        assert_eq!(example_loop(seeds, 1000), 3, "seeds {seeds:?}");
    }
}
