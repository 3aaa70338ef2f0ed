//! The `raft-sim` binary: filters, exit codes and messages for bad arguments.

use std::process::{Command, Output};

fn raft_sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_raft-sim"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn go_style_filters_select_the_same_tests() {
    for filter in [
        "3A",
        "PartA",
        "parta",
        "^InitialElection3A$|ReElection|many_elections",
    ] {
        let output = raft_sim(&["lab", "--run", filter, "--edition", "2024"]);
        assert!(output.status.success(), "{filter}: {output:?}");
        let text = stdout(&output);
        assert!(
            text.contains("3 runs, 3 passed, 0 failed"),
            "{filter}: {text}"
        );
        assert!(
            text.contains("Test (3A): initial election ... Passed -- time"),
            "{text}"
        );
    }
}

#[test]
fn both_editions_print_their_own_passed_lines() {
    let text = stdout(&raft_sim(&[
        "lab",
        "--run",
        "^BasicAgree3B$",
        "--seed",
        "3",
    ]));
    assert!(
        text.contains("Test (3B): basic agreement ... Passed -- time"),
        "{text}"
    );
    assert!(
        text.contains("#bytes"),
        "2024 prints bytes and commands: {text}"
    );
    assert!(
        text.contains("Test (3B): basic agreement (reliable network)... Passed --  time"),
        "{text}"
    );
    assert!(text.contains("#Ops 0"), "{text}");
}

#[test]
fn a_sweep_reports_totals_and_the_slowest_run() {
    let output = raft_sim(&["lab", "--run", "3B", "--seeds", "1..=3", "--jobs", "2"]);
    assert!(output.status.success());
    let text = stdout(&output);
    assert!(text.contains("60 runs, 60 passed, 0 failed"), "{text}");
    assert!(text.contains("slowest run:"), "{text}");
}

#[test]
fn a_trace_ends_with_its_digest_and_replays_identically() {
    let args = [
        "lab",
        "--run",
        "^FailAgree3B$",
        "--edition",
        "2025",
        "--seed",
        "9",
        "--trace",
    ];
    let first = stdout(&raft_sim(&args));
    assert!(
        first.contains("AppendEntries"),
        "one line per delivered message"
    );
    assert!(first.contains("trace digest "), "{first}");
    assert_eq!(
        first.lines().count(),
        stdout(&raft_sim(&args)).lines().count()
    );
    let digest = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("trace digest"))
            .map(str::to_owned)
    };
    assert_eq!(digest(&first), digest(&stdout(&raft_sim(&args))));
}

#[test]
fn bad_arguments_say_what_is_wrong_and_exit_2() {
    let cases: [(&[&str], &str); 6] = [
        (&["lab", "--edition", "2026"], "invalid value '2026'"),
        (&["lab", "--seeds", "5..2"], "is empty"),
        (&["lab", "--seeds", "abc"], "expected A..B or A..=B"),
        (&["lab", "--run", "("], "not a valid regex"),
        (&["lab", "--run", "nothing-matches-this"], "no test matches"),
        (
            &["lab", "--seed", "1", "--seeds", "1..3"],
            "cannot be used with",
        ),
    ];
    for (args, message) in cases {
        let output = raft_sim(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

#[test]
fn lab4_tests_run_in_their_own_edition_with_the_labs_lines() {
    // TestBasic4A is a key/value test in 2024 and an rsm test in 2025.
    let text = stdout(&raft_sim(&["lab", "--run", "^Basic4A$"]));
    assert!(text.contains("2 runs, 2 passed, 0 failed"), "{text}");
    assert!(
        text.contains("Test: one client (4A) ... Passed -- time"),
        "{text}"
    );
    assert!(
        text.contains("Test RSM basic (reliable network)... Passed -- time"),
        "{text}"
    );
    // Three sections, three Passed lines; a second title printed alone.
    let text = stdout(&raft_sim(&[
        "lab",
        "--run",
        "^OnePartition4B$|^SnapshotRPC4C$",
    ]));
    assert_eq!(text.matches("Passed --").count(), 4, "{text}");
    assert!(
        text.contains("Test: no progress in minority (4B) (unreliable network)... Passed"),
        "{text}"
    );
    assert!(
        text.contains("Test: snapshots, one client (4C SnapshotsRPC) (reliable network)...\n"),
        "{text}"
    );
    let output = raft_sim(&["lab", "--run", "^rsm_basic_4a$", "--edition", "2024"]);
    assert_eq!(output.status.code(), Some(2));
}
