//! Random membership changes (add, remove, replace, promote, shrink, grow) mixed with crashes,
//! restarts, partitions, snapshots and proposals, on `support::Cluster`, which checks after
//! every step that every index is applied with the same command (or configuration)
//! everywhere, that each term has at most one leader, and that persistence rebuilds each node;
//! the core checks its own invariants (among them: the configuration in force is the log's
//! latest). Then a liveness phase: everyone restarted and reconnected, the cluster must settle
//! in a committed, non-joint configuration and commit a new command.
//!
//! `PROPTEST_CASES` and `RAFT_CORE_PROPTEST_SEED` explore further.

mod support;

use proptest::prelude::*;
use raft_core::{Config, Event, NodeId};
use support::{cmd, config, proptest_config, Cluster};

/// Servers 1..=3 start as the cluster; 4..=SERVERS start empty, to be added.
const SERVERS: u64 = 6;

#[derive(Clone, Debug)]
enum Op {
    Run(u32),
    /// A change on the leader: bit k of each mask is server k+1.
    Change {
        voters: u8,
        learners: u8,
    },
    Crash(u64),
    Restart(u64),
    Isolate(u64),
    Heal,
    Propose,
    Snapshot(u64),
}

fn op() -> impl Strategy<Value = Op> {
    let server = 1..=SERVERS;
    prop_oneof![
        4 => (1u32..40).prop_map(Op::Run),
        3 => (1u8..64, 0u8..64).prop_map(|(voters, learners)| Op::Change { voters, learners }),
        1 => server.clone().prop_map(Op::Crash),
        1 => server.clone().prop_map(Op::Restart),
        1 => server.clone().prop_map(Op::Isolate),
        1 => Just(Op::Heal),
        2 => Just(Op::Propose),
        1 => server.prop_map(Op::Snapshot),
    ]
}

fn ids(mask: u8) -> Vec<NodeId> {
    (1..=SERVERS)
        .filter(|k| mask & (1 << (k - 1)) != 0)
        .map(NodeId)
        .collect()
}

fn cluster(pre_vote: bool, check_quorum: bool) -> Cluster {
    let configs = (1..=SERVERS)
        .map(|id| {
            let base = match id <= 3 {
                true => config(id, 3),
                false => Config::new(NodeId(id), vec![], 0x5eed_0000 + id),
            };
            Config {
                pre_vote,
                check_quorum,
                ..base
            }
        })
        .collect();
    Cluster::with_configs(configs)
}

fn apply(c: &mut Cluster, op: &Op, proposals: &mut u64) {
    match *op {
        Op::Run(ticks) => c.run(ticks),
        Op::Change { voters, learners } => {
            if let Some(leader) = c.leader() {
                let event = Event::ChangeMembership {
                    voters: ids(voters),
                    learners: ids(learners & !voters),
                };
                c.step(leader, event);
            }
        }
        Op::Crash(id) if c.is_up(NodeId(id)) => c.crash(NodeId(id)),
        Op::Restart(id) if !c.is_up(NodeId(id)) => c.restart(NodeId(id)),
        Op::Isolate(id) => c.isolate(NodeId(id)),
        Op::Heal => c.heal(),
        Op::Propose => {
            if let Some(leader) = c.leader() {
                *proposals += 1;
                c.propose(leader, cmd(&format!("p{proposals}")));
            }
        }
        Op::Snapshot(id) if c.is_up(NodeId(id)) => {
            let applied = c.service(NodeId(id)).last().0;
            if applied > c.node(NodeId(id)).snapshot_index().0 {
                c.snapshot(NodeId(id), applied);
            }
        }
        _ => {}
    }
}

/// Everyone up and connected: a leader with a committed, non-joint configuration commits a
/// new command on every voter.
fn settles(c: &mut Cluster) {
    c.heal();
    for id in 1..=SERVERS {
        if !c.is_up(NodeId(id)) {
            c.restart(NodeId(id));
        }
    }
    c.run_until(5_000, |c| {
        c.leader().is_some_and(|l| {
            let node = c.node(l);
            !node.membership().is_joint() && node.committed_membership() == node.membership()
        })
    });
    // An entry of an older term commits only with one of the leader's own (§5.4.2), so a
    // client retries until its command is applied by every voter.
    for attempt in 0..20 {
        let leader = c.leader().expect("a leader");
        let voters = c.node(leader).membership().voters.clone();
        if let Some((index, _)) = c.propose(leader, cmd(&format!("final {attempt}"))) {
            c.run(100);
            if voters.iter().all(|&v| c.service(v).last() >= index) {
                return;
            }
        }
        c.run_until(5_000, |c| c.leader().is_some());
    }
    panic!("no command committed on every voter after 20 attempts");
}

proptest! {
    #![proptest_config(proptest_config(128))]

    #[test]
    fn random_changes_stay_safe_and_settle(
        ops in proptest::collection::vec(op(), 1..60),
        pre_vote in any::<bool>(),
        check_quorum in any::<bool>(),
    ) {
        let mut c = cluster(pre_vote, check_quorum);
        let mut proposals = 0;
        for op in &ops {
            apply(&mut c, op, &mut proposals);
        }
        settles(&mut c);
    }
}
