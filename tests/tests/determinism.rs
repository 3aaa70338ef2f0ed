//! Same seed, same bytes: a run's trace digest depends on the seed and nothing else.

use raft_sim::{lab, runner, Edition};
use raft_tests::run_lab;

/// Tests that exercise every fault the network has: drops, delays, long reordering,
/// partitions, crashes and restarts, snapshots.
const FAULTY_TESTS: [&str; 4] = [
    "TestFigure8Unreliable3C",
    "TestUnreliableChurn3C",
    "TestSnapshotInstallUnCrash3D",
    "TestBackup3B",
];

#[test]
fn same_seed_gives_the_same_trace_digest_and_figures() {
    for name in FAULTY_TESTS {
        for edition in Edition::ALL {
            let first = run_lab(name, edition, 7);
            let second = run_lab(name, edition, 7);
            assert_eq!(first.digest, second.digest, "{name} {edition:?}");
            assert_eq!(first.result, second.result, "{name} {edition:?}");
            assert_eq!(
                first.virtual_time, second.virtual_time,
                "{name} {edition:?}"
            );
        }
    }
}

#[test]
fn different_seeds_give_different_runs() {
    for name in FAULTY_TESTS {
        let a = run_lab(name, Edition::Y2025, 1);
        let b = run_lab(name, Edition::Y2025, 2);
        assert_ne!(a.digest, b.digest, "{name}");
    }
}

#[test]
fn a_run_does_not_depend_on_the_thread_it_runs_on() {
    let here = run_lab("TestUnreliableChurn3C", Edition::Y2024, 11).digest;
    let threads: Vec<_> = (0..2)
        .map(|_| std::thread::spawn(|| run_lab("TestUnreliableChurn3C", Edition::Y2024, 11).digest))
        .collect();
    for thread in threads {
        assert_eq!(thread.join().expect("no panic"), here);
    }
}

#[test]
fn the_trace_is_what_the_digest_summarises() {
    let test = lab::find("TestFailAgree3B").expect("exists");
    let traced = runner::run(&test, Edition::Y2024, 3, true);
    let untraced = runner::run(&test, Edition::Y2024, 3, false);
    assert_eq!(
        traced.digest, untraced.digest,
        "keeping lines must not change the run"
    );
    assert!(
        traced.trace.len() > 100,
        "one line per delivered message, apply and step"
    );
    assert!(untraced.trace.is_empty());
    assert!(traced.trace.iter().any(|l| l.contains("AppendEntries")));
    assert!(traced.trace.iter().any(|l| l.contains("disconnect s")));
}

/// Untraced runs mix their notes into the digest as they are formatted, traced runs build the
/// line first (`Trace::note_display`): every test of the suite must digest the same both ways.
#[test]
fn every_lab_test_digests_the_same_traced_or_not() {
    for test in lab::all() {
        for edition in [Edition::Y2024, Edition::Y2025] {
            if !test.runs_in(edition) {
                continue;
            }
            let traced = runner::run(&test, edition, 2, true);
            let untraced = runner::run(&test, edition, 2, false);
            assert_eq!(traced.digest, untraced.digest, "{} {edition:?}", test.name);
            assert!(traced.trace.iter().any(|line| line.contains("start s0")));
        }
    }
}

#[test]
fn editions_differ_where_the_lab_did() {
    // TestSnapshotInit3D runs on an unreliable network only in 2025
    // (raft-sim/docs/lab-harness.md, "Where the editions differ", 1).
    let y2024 = run_lab("TestSnapshotInit3D", Edition::Y2024, 5);
    let y2025 = run_lab("TestSnapshotInit3D", Edition::Y2025, 5);
    assert!(
        y2024.description.ends_with("after crash"),
        "{}",
        y2024.description
    );
    assert!(
        y2025.description.ends_with("(unreliable network)"),
        "{}",
        y2025.description
    );
}
