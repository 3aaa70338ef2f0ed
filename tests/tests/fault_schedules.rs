//! Property tests: random fault schedules on a simulated cluster, with shrinking.
//!
//! A schedule is a list of operations: the lab's (crash, restart, disconnect, connect, propose,
//! the network's reliability and long reordering, sleep) and the swarm's (one-way cuts and
//! healing, crashes inside a durable write, duplication, loss, latency jitter, clock skew).
//! While it plays, the whole-cluster checkers (Election Safety, Log Matching, Leader
//! Completeness, State Machine Safety, Durability, Monotonicity) and the lab's appliers watch
//! every event. Afterwards the cluster is healed and must agree on a new command on every
//! server within the lab's 10 s (liveness, and no committed entry lost). proptest shrinks a
//! failing schedule to a short list of steps; failures it found are kept in
//! `tests/proptest-regressions/` and replayed first. `PROPTEST_CASES=N` runs more schedules.

use proptest::prelude::*;
use raft_sim::{Edition, Setup};
use raft_tests::schedule::{self, Op};

fn op(servers: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0u64..400).prop_map(Op::Sleep),
        2 => (0..servers).prop_map(Op::Crash),
        2 => (0..servers).prop_map(Op::Restart),
        2 => (0..servers).prop_map(Op::Disconnect),
        2 => (0..servers).prop_map(Op::Connect),
        6 => (0..servers).prop_map(Op::Propose),
        1 => any::<bool>().prop_map(Op::Reliable),
        1 => any::<bool>().prop_map(Op::LongReordering),
        2 => (0..servers, 0..servers).prop_map(|(a, b)| Op::Cut(a, b)),
        1 => Just(Op::Heal),
        2 => (0..servers).prop_map(Op::CrashInWrite),
        1 => (0u64..500).prop_map(Op::Duplicate),
        1 => (0u64..300).prop_map(Op::Loss),
        1 => (0u64..60).prop_map(Op::Jitter),
        1 => (0..servers, 50u64..=150).prop_map(|(i, p)| Op::Skew(i, p)),
    ]
}

/// 256 schedules per test, or `PROPTEST_CASES` (which an explicit case count would override).
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256);
    ProptestConfig::with_cases(cases)
}

fn check(setup: Setup, edition: Edition, seed: u64, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let outcome = schedule::run(setup, edition, seed, ops);
    match outcome.result {
        Ok(_) => Ok(()),
        Err(failure) => Err(TestCaseError::fail(failure.to_string())),
    }
}

proptest! {
    #![proptest_config(config())]

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
