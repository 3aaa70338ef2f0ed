//! The `raft-sim` binary: filters, listing, traces, exit codes and messages for bad arguments,
//! closed pipes and full disks.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

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
        "^3A$",
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
    let cases: [(&[&str], &str); 10] = [
        (&["lab", "--jobs", "0"], "at least one worker"),
        (&["lab", "--seeds", "3..3"], "is empty"),
        (&["lab", "--edition", "2026"], "invalid value '2026'"),
        (&["lab", "--seeds", "5..2"], "is empty"),
        (&["lab", "--seeds", "abc"], "expected A..B or A..=B"),
        (&["lab", "--run", "("], "not a valid regex"),
        (&["lab", "--run", "nothing-matches-this"], "no test matches"),
        (&["lab", "--skip", "["], "--skip \"[\" is not a valid regex"),
        (&["lab", "--run", "3A", "--skip", "3A"], "no test matches"),
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
fn list_names_the_selected_tests_without_running_them() {
    let output = raft_sim(&["lab", "--list"]);
    assert!(output.status.success());
    let text = stdout(&output);
    assert_eq!(text.lines().count(), 28 + 53, "Lab 3, then Lab 4: {text}");
    assert!(text.starts_with("TestInitialElection3A"), "{text}");
    assert!(text.contains("snapshot_init_3d"), "{text}");
    assert!(!text.contains("Passed"), "{text}");
    let part_d = stdout(&raft_sim(&["lab", "--list", "--run", "^3D$"]));
    assert_eq!(part_d.lines().count(), 7, "{part_d}");
    assert!(part_d.lines().all(|l| l.contains("3D")), "{part_d}");
    let lab4 = stdout(&raft_sim(&["lab", "--list", "--run", "4[ABC]$"]));
    assert_eq!(lab4.lines().count(), 53, "{lab4}");
    let skipped = [
        "lab",
        "--list",
        "--run",
        "4[ABC]$",
        "--skip",
        "^LeaderPartition4A$",
    ];
    let skipped = stdout(&raft_sim(&skipped));
    assert_eq!(skipped.lines().count(), 52, "{skipped}");
    assert!(!skipped.contains("TestLeaderPartition4A"), "{skipped}");
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

#[test]
fn a_trace_file_is_headed_by_its_run_and_ends_with_its_digest() {
    let dir = scratch("trace-file");
    let file = dir.join("run.trace");
    let one_run = [
        "lab",
        "--run",
        "^FailAgree3B$",
        "--edition",
        "2025",
        "--seed",
        "9",
    ];
    let output = raft_sim(&[&one_run[..], &["--trace", file.to_str().unwrap()]].concat());
    assert!(output.status.success(), "{output:?}");
    let to_file = std::fs::read_to_string(&file).expect("the trace was written");
    assert_eq!(
        to_file.lines().next(),
        Some("trace of TestFailAgree3B (fail_agree_3b) edition 2025 seed 9")
    );
    assert!(to_file.lines().last().unwrap().starts_with("trace digest "));
    for event in [
        "AppendEntries",
        "DROPPED",
        "becomes Leader",
        "persist term=",
    ] {
        assert!(to_file.contains(event), "no {event} line");
    }
    // The same run traced to standard output gives the same lines.
    let to_stdout = stdout(&raft_sim(&[&one_run[..], &["--trace"]].concat()));
    assert!(to_stdout.starts_with(&to_file), "{to_stdout}");
}

#[test]
fn a_sweep_writes_one_headed_trace_per_run_into_a_directory() {
    let dir = scratch("trace-dir").join("traces");
    let args = [
        "lab",
        "--run",
        "^3A$",
        "--edition",
        "2024",
        "--seeds",
        "4..=5",
    ];
    let output = raft_sim(&[&args[..], &["--trace", dir.to_str().unwrap()]].concat());
    assert!(output.status.success(), "{output:?}");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("the directory was created")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 6, "{names:?}");
    assert!(names.contains(&"TestReElection3A-2024-5.trace".to_string()));
    let trace = std::fs::read_to_string(dir.join("TestReElection3A-2024-5.trace")).unwrap();
    assert!(trace.starts_with("trace of TestReElection3A (re_election_3a) edition 2024 seed 5\n"));
    // Several runs cannot go into one existing file.
    let file = scratch("trace-dir-file").join("plain");
    std::fs::write(&file, "").unwrap();
    let output = raft_sim(&[&args[..], &["--trace", file.to_str().unwrap()]].concat());
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("need a directory"));
}

#[test]
fn a_closed_pipe_ends_even_an_endless_traced_sweep_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_raft-sim"))
        .args(["lab", "--seeds", "0..=18446744073709551615", "--trace"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("a line").expect("text");
    assert_eq!(
        first,
        "trace of TestInitialElection3A (initial_election_3a) edition 2024 seed 0"
    );
    assert_eq!(
        lines.by_ref().take(10_000).count(),
        10_000,
        "the trace streams"
    );
    drop(lines); // like `| head`
    let output = child.wait_with_output().expect("it ends");
    assert_eq!(output.status.code(), Some(141), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "",
        "no panic, no message"
    );
}

#[test]
fn a_full_disk_is_a_clear_error_not_a_panic() {
    let Ok(full) = std::fs::File::create("/dev/full") else {
        return; // not Linux: nothing to test here
    };
    let output = Command::new(env!("CARGO_BIN_EXE_raft-sim"))
        .args(["lab", "--run", "^3A$"])
        .stdout(full)
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error: writing to standard output: No space left"),
        "{stderr}"
    );
    let output = raft_sim(&[
        "lab",
        "--run",
        "^InitialElection3A$",
        "--edition",
        "2024",
        "--trace",
        "/dev/full",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("writing the trace to /dev/full: No space left"),
        "{stderr}"
    );
}

/// The library's users get none of the binary's dependencies.
#[test]
fn the_library_does_not_depend_on_the_command_line_crates() {
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "-p",
            "raft-sim",
            "--no-default-features",
        ])
        .args(["--edges", "normal", "--prefix", "none", "--format", "{p}"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    let tree = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && tree.contains("raft-core"),
        "{output:?}"
    );
    for binary_only in ["clap ", "indicatif ", "regex "] {
        assert!(!tree.contains(binary_only), "{binary_only}in {tree}");
    }
}

#[test]
fn swarm_runs_one_seed_or_a_sweep_and_says_what_it_covered() {
    let one = raft_sim(&["swarm", "--seed", "2", "--time", "5"]);
    assert!(one.status.success(), "{one:?}");
    let text = stdout(&one);
    assert!(text.contains("seed 2  plan n="), "{text}");
    assert!(text.contains("passed: "), "{text}");
    let sweep = raft_sim(&["swarm", "--seeds", "1..=12", "--time", "5", "--jobs", "2"]);
    assert!(sweep.status.success(), "{sweep:?}");
    let text = stdout(&sweep);
    assert!(text.contains("12 seeds, 0 failed"), "{text}");
    assert!(text.contains("fault mix over 12 seeds:"), "{text}");
    assert!(text.contains("cluster sizes"), "{text}");
}

#[test]
fn swarm_failures_have_their_class_exit_code_a_table_and_a_replay() {
    // Disks that lose acknowledged writes: the checkers must catch them (exit 1, safety).
    let sweep = raft_sim(&["swarm", "--seeds", "1..=30", "--unsafe-disk", "--fail-fast"]);
    assert_eq!(sweep.status.code(), Some(1), "{sweep:?}");
    let text = stdout(&sweep);
    assert!(text.contains("FAIL seed "), "{text}");
    let row = text
        .lines()
        .find(|l| l.contains(" safety ") && l.contains("--trace"))
        .expect("a table row");
    let replay = row.split("-- ").nth(1).expect("a replay command");
    let args: Vec<String> = shell_words(replay);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let replayed = raft_sim(&args[..args.len() - 1]); // without --trace
    assert_eq!(replayed.status.code(), Some(1), "{replayed:?}");
    assert!(stdout(&replayed).contains("FAILED (safety)"));
}

#[test]
fn swarm_refuses_bad_arguments_with_exit_2() {
    for args in [
        &["swarm", "--nodes", "7..3"][..],
        &["swarm", "--seed", "1", "--plan", "n=3,loss=5000"],
        &["swarm", "--time", "0"],
        &["swarm", "--seeds", "5..5"],
    ] {
        let output = raft_sim(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        assert!(!output.stderr.is_empty(), "{args:?} says why");
    }
}

/// Splits a command line on spaces, honouring single quotes (enough for replay commands).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '\'' => quoted = !quoted,
            ' ' if !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
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
