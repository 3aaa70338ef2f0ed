//! `raft-sim lab`: runs the lab suite in the simulator, like `go test -run … ` in the lab.

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use raft_sim::lab::{self, LabTest};
use raft_sim::runner::{self, Outcome};
use raft_sim::Edition;
use std::ops::RangeInclusive;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The seed `cargo test` and a plain `raft-sim lab` use.
const DEFAULT_SEED: u64 = 1;

#[derive(Parser)]
#[command(
    name = "raft-sim",
    version,
    about = "Deterministic simulator for raft-core"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the MIT 6.5840 Lab 3 and Lab 4 suites in virtual time.
    Lab(LabArgs),
}

#[derive(clap::Args)]
struct LabArgs {
    /// Only tests matching this case-insensitive regex (Go names like `InitialElection3A`,
    /// parts like `3A` or `PartA`, or ours like `initial_election_3a`).
    #[arg(long, value_name = "REGEX")]
    run: Option<String>,
    /// Which edition of the lab's harness to mirror.
    #[arg(long, value_enum, default_value = "both")]
    edition: EditionArg,
    /// Run on this seed.
    #[arg(long, conflicts_with = "seeds")]
    seed: Option<u64>,
    /// Sweep a seed range: `A..B` (B excluded) or `A..=B` (B included).
    #[arg(long, value_name = "A..B", value_parser = parse_seed_range)]
    seeds: Option<RangeInclusive<u64>>,
    /// Print the full trace of every run (one line per delivered message, apply and step).
    #[arg(long)]
    trace: bool,
    /// Worker threads for a sweep (results do not depend on it).
    #[arg(long, default_value_t = default_jobs())]
    jobs: usize,
}

#[derive(Clone, Copy, ValueEnum)]
enum EditionArg {
    #[value(name = "2024")]
    Y2024,
    #[value(name = "2025")]
    Y2025,
    Both,
}

fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn parse_seed_range(text: &str) -> Result<RangeInclusive<u64>, String> {
    let bad = || format!("expected A..B or A..=B with integers A and B, got {text:?}");
    let (start, end, inclusive) = match text.split_once("..=") {
        Some((a, b)) => (a, b, true),
        None => text
            .split_once("..")
            .map(|(a, b)| (a, b, false))
            .ok_or_else(bad)?,
    };
    let start: u64 = start.trim().parse().map_err(|_| bad())?;
    let end: u64 = end.trim().parse().map_err(|_| bad())?;
    let last = if inclusive {
        Some(end)
    } else {
        end.checked_sub(1)
    };
    match last {
        Some(last) if last >= start => Ok(start..=last),
        _ => Err(format!("the seed range {text:?} is empty")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Lab(args) => lab_command(args),
    }
}

fn lab_command(args: LabArgs) -> ExitCode {
    let filter = match &args.run {
        None => None,
        Some(pattern) => match regex::RegexBuilder::new(pattern)
            .case_insensitive(true)
            .build()
        {
            Ok(re) => Some(re),
            Err(e) => {
                eprintln!("error: --run {pattern:?} is not a valid regex: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let tests: Vec<LabTest> = lab::all()
        .into_iter()
        .filter(|t| filter.as_ref().is_none_or(|f| t.matches(f)))
        .collect();
    if tests.is_empty() {
        eprintln!(
            "error: no test matches --run {:?}",
            args.run.unwrap_or_default()
        );
        return ExitCode::from(2);
    }
    let editions: &[Edition] = match args.edition {
        EditionArg::Y2024 => &[Edition::Y2024],
        EditionArg::Y2025 => &[Edition::Y2025],
        EditionArg::Both => &Edition::ALL,
    };
    let seeds = args.seeds.clone().unwrap_or_else(|| {
        let seed = args.seed.unwrap_or(DEFAULT_SEED);
        seed..=seed
    });
    let sweep = seeds.start() != seeds.end();
    let mut runs = Vec::new();
    for seed in seeds {
        for &edition in editions {
            for (i, test) in tests.iter().enumerate() {
                if test.runs_in(edition) {
                    runs.push((i, edition, seed));
                }
            }
        }
    }
    if runs.is_empty() {
        eprintln!("error: no selected test is in the selected edition");
        return ExitCode::from(2);
    }
    let clock = WallClock::start();
    let outcomes = run_all(&tests, &runs, args.trace, args.jobs.max(1), sweep);
    let wall = clock.elapsed_secs();
    report(&outcomes, sweep, args.trace, wall)
}

/// Runs every (test, edition, seed) on `jobs` threads; results come back in input order.
fn run_all(
    tests: &[LabTest],
    runs: &[(usize, Edition, u64)],
    trace: bool,
    jobs: usize,
    progress: bool,
) -> Vec<(Outcome, f64)> {
    let bar = if progress {
        let bar = ProgressBar::new(runs.len() as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40} {pos}/{len} runs, {elapsed} elapsed, ETA {eta} {msg}",
            )
            .expect("valid template"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<(Outcome, f64)>>> = Mutex::new(vec![None; runs.len()]);
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(runs.len()) {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(test, edition, seed)) = runs.get(k) else {
                    break;
                };
                let clock = WallClock::start();
                let outcome = runner::run(&tests[test], edition, seed, trace);
                let wall = clock.elapsed_secs();
                if !outcome.passed() {
                    bar.println(format!(
                        "FAIL {} {} seed {}",
                        outcome.go_name,
                        edition.year(),
                        seed
                    ));
                }
                results.lock().expect("results")[k] = Some((outcome, wall));
                bar.inc(1);
            });
        }
    });
    bar.finish_and_clear();
    results
        .into_inner()
        .expect("results")
        .into_iter()
        .map(|r| r.expect("every run ran"))
        .collect()
}

fn report(outcomes: &[(Outcome, f64)], sweep: bool, trace: bool, wall: f64) -> ExitCode {
    let mut failures = 0;
    let mut virtual_total = 0.0;
    for (outcome, _) in outcomes {
        virtual_total += outcome.virtual_time as f64 / 1e6;
        if trace {
            for line in &outcome.trace {
                println!("{line}");
            }
            println!("trace digest {:016x}", outcome.digest);
        }
        match &outcome.result {
            Ok(_) if !sweep => {
                for stats in &outcome.sections {
                    for title in &stats.preamble {
                        println!("{}", title_line(outcome, title));
                    }
                    println!("{}", passed_line(outcome, stats));
                }
            }
            Ok(_) => {}
            Err(failure) => {
                failures += 1;
                println!("{} ... FAILED", outcome.description);
                println!("    test:    {} ({})", outcome.go_name, outcome.name);
                println!("    edition: {}", outcome.edition.year());
                println!("    seed:    {}", outcome.seed);
                println!("    time:    {:.3}s virtual", failure.time as f64 / 1e6);
                println!("    check:   {}", failure.message);
                println!("    replay:  {}", outcome.replay_command());
            }
        }
    }
    let slowest = outcomes.iter().max_by(|a, b| a.1.total_cmp(&b.1));
    println!(
        "{} runs, {} passed, {} failed; {:.1}s virtual in {:.2}s wall",
        outcomes.len(),
        outcomes.len() - failures,
        failures,
        virtual_total,
        wall
    );
    if let Some((outcome, secs)) = slowest.filter(|_| sweep) {
        println!(
            "slowest run: {} {} seed {} ({:.3}s wall, {:.1}s virtual)",
            outcome.go_name,
            outcome.edition.year(),
            outcome.seed,
            secs,
            outcome.virtual_time as f64 / 1e6
        );
    }
    if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A title that a later one superseded before any "Passed" line (the lab prints it alone).
fn title_line(outcome: &Outcome, title: &str) -> String {
    match outcome.edition {
        Edition::Y2024 => format!("{title} ..."),
        Edition::Y2025 => format!("{title}..."),
    }
}

/// The lab's "Passed" line, with virtual seconds.
fn passed_line(outcome: &Outcome, stats: &raft_sim::Stats) -> String {
    let time = stats.time as f64 / 1e6;
    if let Some(ops) = stats.ops {
        return format!(
            "{} Passed -- time {time:.1}s #peers {} #RPCs {} #Ops {ops}",
            title_line(outcome, &stats.description),
            stats.peers,
            stats.rpcs
        );
    }
    match outcome.edition {
        Edition::Y2024 => format!(
            "{} ... Passed -- time {time:.1}s #peers {} #RPCs {} #bytes {} #cmds {}",
            stats.description, stats.peers, stats.rpcs, stats.bytes, stats.commands
        ),
        Edition::Y2025 => format!(
            "{}... Passed --  time {time:.1}s #peers {} #RPCs {} #Ops 0",
            stats.description, stats.peers, stats.rpcs
        ),
    }
}

/// Wall-clock time, only ever reported: it never influences a run, so the workspace's ban on
/// clocks (clippy.toml) is lifted here and nowhere else.
#[allow(clippy::disallowed_types)]
struct WallClock(std::time::Instant);

#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
impl WallClock {
    fn start() -> WallClock {
        WallClock(std::time::Instant::now())
    }

    fn elapsed_secs(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}
