//! Property tests: random fault schedules on a simulated cluster, with shrinking.
//!
//! A schedule is a list of operations (crash, restart, disconnect, connect, propose, change
//! the network's reliability or long reordering, sleep). While it plays, every apply is checked
//! for agreement across servers and order (the lab's appliers), and every step for Election
//! Safety (one leader per term). Afterwards the cluster is healed and must agree on a new
//! command on every server within the lab's 10 s (liveness, and no committed entry lost).
//! `PROPTEST_CASES=N` runs more schedules.

use proptest::prelude::*;
use raft_sim::{Edition, Setup};
use raft_tests::schedule::{self, Op};

fn op(servers: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u64..400).prop_map(Op::Sleep),
        1 => (0..servers).prop_map(Op::Crash),
        1 => (0..servers).prop_map(Op::Restart),
        1 => (0..servers).prop_map(Op::Disconnect),
        1 => (0..servers).prop_map(Op::Connect),
        3 => (0..servers).prop_map(Op::Propose),
        1 => any::<bool>().prop_map(Op::Reliable),
        1 => any::<bool>().prop_map(Op::LongReordering),
    ]
}

fn check(setup: Setup, edition: Edition, seed: u64, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let outcome = schedule::run(setup, edition, seed, ops);
    match outcome.result {
        Ok(_) => Ok(()),
        Err(failure) => Err(TestCaseError::fail(failure.to_string())),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn three_servers_stay_safe_and_recover(
        seed in any::<u64>(),
        ops in prop::collection::vec(op(3), 1..60),
    ) {
        check(Setup { servers: 3, reliable: true, snapshot: false }, Edition::Y2024, seed, ops)?;
    }

    #[test]
    fn five_servers_stay_safe_and_recover(
        seed in any::<u64>(),
        ops in prop::collection::vec(op(5), 1..80),
    ) {
        check(Setup { servers: 5, reliable: true, snapshot: false }, Edition::Y2025, seed, ops)?;
    }

    /// With the lab's snapshotting applier: compaction, InstallSnapshot and restarts from
    /// snapshots under the same faults.
    #[test]
    fn snapshotting_servers_stay_safe_and_recover(
        seed in any::<u64>(),
        ops in prop::collection::vec(op(3), 1..120),
    ) {
        check(Setup { servers: 3, reliable: true, snapshot: true }, Edition::Y2025, seed, ops)?;
    }
}
