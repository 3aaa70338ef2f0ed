//! `raft-sim replay` and `raft-sim diff`: a replay is the same run as the one that failed
//! (same digest), its structured trace is headed and ends with the digest, its timeline is
//! written, and `diff` finds where two traces part.

use std::path::PathBuf;
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

/// A fresh directory for this test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

fn digest_of(text: &str) -> Option<String> {
    text.lines()
        .rev()
        .find_map(|l| l.strip_prefix("trace digest ").map(str::to_owned))
}

/// A swarm plan that fails (Durability) at 14.5 s on unsafe disks, seed 10.
const PLAN: &str = concat!(
    "n=6,t=20447,lat=0,loss=0,dup=0,reorder=0,topo=split+isolate+oneway+bridge/64,",
    "flow=default,crash=3320/1151/813,skew=9,snap=106/2815,clients=4/43,heal=majority,unsafe-disk"
);

#[test]
fn a_swarm_replay_is_the_failing_run_with_a_headed_trace_and_a_timeline() {
    let dir = scratch("swarm-replay");
    let (jsonl, html) = (dir.join("run.jsonl"), dir.join("run.html"));
    let output = raft_sim(&[
        "replay",
        "--swarm",
        "--seed",
        "10",
        "--plan",
        PLAN,
        "--trace",
        jsonl.to_str().unwrap(),
        "--timeline",
        html.to_str().unwrap(),
    ]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "a safety failure: {output:?}"
    );
    let said = stdout(&output);
    assert!(said.contains("FAILED at 14.52"), "{said}");
    assert!(said.contains("Durability violated"), "{said}");
    // The same run as `swarm` traces: the same digest.
    let swarm = raft_sim(&["swarm", "--seed", "10", "--plan", PLAN, "--trace"]);
    assert_eq!(digest_of(&said), digest_of(&stdout(&swarm)));
    let trace = std::fs::read_to_string(&jsonl).expect("the trace was written");
    let first = trace.lines().next().unwrap();
    assert!(
        first.starts_with(r#"{"kind":"header","producer":"raft-sim replay""#),
        "{first}"
    );
    assert!(first.contains(r#""run":"swarm""#) && first.contains(r#""seed":10"#));
    let last = trace.lines().last().unwrap();
    let digest = digest_of(&said).unwrap();
    assert_eq!(last, format!(r#"{{"kind":"digest","digest":"{digest}"}}"#));
    assert!(trace.contains(r#""kind":"fail","invariant":"Durability""#));
    let page = std::fs::read_to_string(&html).expect("the timeline was written");
    assert!(page.contains("id=\"failure-mark\""));
    // Self-contained: nothing to fetch (the only URLs are the SVG namespace's name).
    for fetches in ["src=", "href=", "<link", "@import", "url(http"] {
        assert!(!page.contains(fetches), "{fetches}");
    }
    let svg_namespace = page.matches("http://www.w3.org/2000/svg").count();
    assert_eq!(page.matches("http").count(), svg_namespace);
}

#[test]
fn a_lab_replay_streams_json_lines_to_standard_output() {
    let output = raft_sim(&[
        "replay",
        "--run",
        "^FailAgree3B$",
        "--edition",
        "2024",
        "--seed",
        "3",
        "--trace",
        "-",
    ]);
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    assert!(
        text.lines().all(|l| l.starts_with('{') && l.ends_with('}')),
        "JSON lines only"
    );
    assert!(text.contains(r#""test":"TestFailAgree3B""#));
    assert!(text.contains(r#""kind":"disconnect""#));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("passed"), "{said}");
    let lab = raft_sim(&[
        "lab",
        "--run",
        "^FailAgree3B$",
        "--edition",
        "2024",
        "--seed",
        "3",
        "--trace",
    ]);
    let digest = digest_of(&stdout(&lab)).unwrap();
    assert!(text.ends_with(&format!(
        "{{\"kind\":\"digest\",\"digest\":\"{digest}\"}}\n"
    )));
}

#[test]
fn diff_finds_where_two_seeds_part_and_nothing_in_a_replay() {
    let dir = scratch("diff");
    let trace = |seed: &str, file: &str| {
        let path = dir.join(file);
        let output = raft_sim(&[
            "replay",
            "--run",
            "FailAgree3B",
            "--edition",
            "2025",
            "--seed",
            seed,
            "--trace",
            path.to_str().unwrap(),
        ]);
        assert!(output.status.success(), "{output:?}");
        path.to_str().unwrap().to_string()
    };
    let (a, again, b) = (
        trace("4", "a.jsonl"),
        trace("4", "again.jsonl"),
        trace("5", "b.jsonl"),
    );
    let same = raft_sim(&["diff", &a, &again]);
    assert_eq!(same.status.code(), Some(0), "{same:?}");
    assert!(
        stdout(&same).contains("the traces agree:"),
        "{}",
        stdout(&same)
    );
    let parted = raft_sim(&["diff", "--context", "2", &a, &b]);
    assert_eq!(parted.status.code(), Some(1), "{parted:?}");
    let text = stdout(&parted);
    assert!(text.contains("then part at"), "{text}");
    assert!(
        text.contains(r#"   {"kind":"header""#),
        "headers shown apart: {text}"
    );
    assert_eq!(
        text.lines().filter(|l| l.starts_with("  A {")).count(),
        2,
        "{text}"
    );
    assert_eq!(
        text.lines().filter(|l| l.starts_with("  B {")).count(),
        2,
        "{text}"
    );
}

#[test]
fn bad_replay_and_diff_arguments_say_what_is_wrong_and_exit_2() {
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "replay",
                "--run",
                "NoSuchTest",
                "--edition",
                "2024",
                "--seed",
                "1",
            ],
            "no lab test of the 2024 edition is named",
        ),
        (&["replay", "--seed", "1"], "--run"),
        (&["replay", "--run", "Backup3B", "--seed", "1"], "--edition"),
        (
            &["replay", "--swarm", "--seed", "1", "--plan", "n=x"],
            "bad plan field",
        ),
        (
            &["diff", "/nonexistent/a.jsonl", "/nonexistent/b.jsonl"],
            "cannot read",
        ),
    ];
    for (args, message) in cases {
        let output = raft_sim(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}
