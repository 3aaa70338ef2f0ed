//! Measures the linearizability checker on the Lab 4 tests' own histories: runs every Lab 4
//! test of both editions over a seed range, then runs each linearizability check the tests
//! made again, timed, and reports how many histories there were, the largest, the search
//! steps, and the checker's total, median and worst wall time.
//!
//! ```sh
//! cargo run --release -p raft-sim --example lab4_checker -- 1..=200 [--jobs N]
//! ```

// Wall-clock time is only measured and reported here, never fed back into a run.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use raft_sim::linearizability::CheckStats;
use raft_sim::{lab, runner, CheckSink, Edition};
use std::cell::RefCell;
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// One timed check.
struct Timed {
    test: &'static str,
    edition: Edition,
    seed: u64,
    stats: CheckStats,
    secs: f64,
}

fn parse_range(text: &str) -> Option<(u64, u64)> {
    if let Some((a, b)) = text.split_once("..=") {
        return Some((a.parse().ok()?, b.parse().ok()?));
    }
    let (a, b) = text.split_once("..")?;
    Some((a.parse().ok()?, b.parse::<u64>().ok()?.checked_sub(1)?))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((first, last)) = args.first().and_then(|a| parse_range(a)) else {
        eprintln!("usage: lab4_checker A..=B [--jobs N]");
        return ExitCode::from(2);
    };
    let jobs = match args.get(1).map(String::as_str) {
        Some("--jobs") => match args.get(2).and_then(|n| n.parse().ok()) {
            Some(n) if n > 0 => n,
            _ => {
                eprintln!("--jobs needs a positive integer");
                return ExitCode::from(2);
            }
        },
        _ => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let tests = lab::lab4::all();
    let mut runs = Vec::new();
    for seed in first..=last {
        for edition in Edition::ALL {
            for (i, test) in tests.iter().enumerate() {
                if test.runs_in(edition) {
                    runs.push((i, edition, seed));
                }
            }
        }
    }
    let next = AtomicUsize::new(0);
    let timed: Mutex<Vec<Timed>> = Mutex::new(Vec::new());
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                let tests = lab::lab4::all();
                while let Some(&(i, edition, seed)) = runs.get(next.fetch_add(1, Ordering::Relaxed))
                {
                    let test = &tests[i];
                    let sink: CheckSink = Rc::new(RefCell::new(Vec::new()));
                    let outcome =
                        runner::run_body((test.setup)(edition), edition, seed, false, |t| {
                            t.set_check_sink(sink.clone());
                            (test.body)(t)
                        });
                    if let Err(f) = &outcome.result {
                        failures.lock().expect("lock").push(format!(
                            "{} {} seed {seed}: {}",
                            test.go_name,
                            edition.year(),
                            f.message
                        ));
                    }
                    for (k, replay) in sink.borrow().iter().enumerate() {
                        let start = Instant::now();
                        let stats = replay();
                        let secs = start.elapsed().as_secs_f64();
                        assert_eq!(
                            Some(&stats),
                            outcome.checks.get(k),
                            "replays are deterministic"
                        );
                        timed.lock().expect("lock").push(Timed {
                            test: test.go_name,
                            edition,
                            seed,
                            stats,
                            secs,
                        });
                    }
                }
            });
        }
    });
    report(
        &runs,
        &timed.into_inner().expect("lock"),
        &failures.into_inner().expect("lock"),
    )
}

fn report(runs: &[(usize, Edition, u64)], timed: &[Timed], failures: &[String]) -> ExitCode {
    for failure in failures {
        println!("FAIL {failure}");
    }
    println!("{} runs, {} failed", runs.len(), failures.len());
    if timed.is_empty() {
        return ExitCode::FAILURE;
    }
    let largest = timed.iter().max_by_key(|t| t.stats.ops).expect("some");
    let steppiest = timed
        .iter()
        .max_by_key(|t| t.stats.max_partition_steps)
        .expect("some");
    let slowest = timed
        .iter()
        .max_by(|a, b| a.secs.total_cmp(&b.secs))
        .expect("some");
    let mut secs: Vec<f64> = timed.iter().map(|t| t.secs).collect();
    secs.sort_by(f64::total_cmp);
    let total: f64 = secs.iter().sum();
    let ops: usize = timed.iter().map(|t| t.stats.ops).sum();
    let largest_partition = timed
        .iter()
        .map(|t| t.stats.largest_partition)
        .max()
        .unwrap_or(0);
    let show = |t: &Timed| format!("{} {} seed {}", t.test, t.edition.year(), t.seed);
    println!(
        "histories checked: {} ({ops} operations in all)",
        timed.len()
    );
    println!(
        "largest history: {} operations, largest partition {} operations ({})",
        largest.stats.ops,
        largest_partition,
        show(largest)
    );
    println!(
        "search steps: {} in all; at most {} in one partition ({}); budget {} per partition",
        timed.iter().map(|t| t.stats.steps).sum::<u64>(),
        steppiest.stats.max_partition_steps,
        show(steppiest),
        raft_sim::linearizability::Budget::DEFAULT_STEPS
    );
    println!(
        "checker wall time: {:.3} s in all, median {:.3} ms, worst {:.3} ms ({}, {} operations)",
        total,
        secs[secs.len() / 2] * 1e3,
        slowest.secs * 1e3,
        show(slowest),
        slowest.stats.ops
    );
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
