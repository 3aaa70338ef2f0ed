//! `raft-sim swarm`: swarm runs over a seed range (a sweep with a progress bar and a table of
//! failures), or one seed replayed, traced or shrunk.

use crate::{default_jobs, parse_seed_range, WallClock};
use indicatif::{ProgressBar, ProgressStyle};
use raft_sim::swarm::{self, Class, Coverage, Limits, Plan, SwarmOutcome};
use std::ops::RangeInclusive;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// How many runs `--shrink` may spend.
const SHRINK_BUDGET: usize = 400;

#[derive(clap::Args)]
pub struct SwarmArgs {
    /// Sweep a seed range: `A..B` (B excluded) or `A..=B` (B included).
    #[arg(long, value_name = "A..B", value_parser = parse_seed_range, conflicts_with = "seed")]
    seeds: Option<RangeInclusive<u64>>,
    /// Run one seed (default 1).
    #[arg(long)]
    seed: Option<u64>,
    /// Cluster sizes to draw from, both ends included (`3..7`; `5` for one size).
    #[arg(long, value_name = "A..B", default_value = "3..7", value_parser = parse_nodes)]
    nodes: RangeInclusive<usize>,
    /// The longest fault phase, in virtual seconds (1 to 300).
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=300))]
    time: u64,
    /// Run this exact plan (as printed by a failure or by --shrink) instead of the seed's draw.
    #[arg(long, requires = "seed", value_parser = parse_plan)]
    plan: Option<Plan>,
    /// Disks that may lose their last write at a crash (illegal; shows the checkers catch it).
    #[arg(long)]
    unsafe_disk: bool,
    /// Print the run's trace (one seed only).
    #[arg(long, conflicts_with = "seeds")]
    trace: bool,
    /// Shrink a failing seed's plan to the smallest that still fails the same way.
    #[arg(long, conflicts_with = "seeds")]
    shrink: bool,
    /// Stop a sweep at its first failure (seeds already running finish; the lowest failing
    /// seed is reported).
    #[arg(long, requires = "seeds")]
    fail_fast: bool,
    /// Worker threads for a sweep (results do not depend on it).
    #[arg(long, default_value_t = default_jobs() as u64, value_parser = clap::value_parser!(u64).range(1..))]
    jobs: u64,
}

fn parse_nodes(text: &str) -> Result<RangeInclusive<usize>, String> {
    let bad = || format!("expected a cluster size N or a range A..B, got {text:?}");
    let (low, high) = match text.split_once("..") {
        Some((a, b)) => (a, b.trim_start_matches('=')),
        None => (text, text),
    };
    let low: usize = low.trim().parse().map_err(|_| bad())?;
    let high: usize = high.trim().parse().map_err(|_| bad())?;
    if low < 1 || high > 64 || low > high {
        return Err(format!(
            "cluster sizes must be 1 to 64 with A <= B, got {text:?}"
        ));
    }
    Ok(low..=high)
}

fn parse_plan(text: &str) -> Result<Plan, String> {
    text.parse()
}

pub fn swarm_command(args: SwarmArgs) -> ExitCode {
    let limits = Limits {
        nodes: args.nodes.clone(),
        max_time_ms: args.time * 1000,
    };
    match args.seeds.clone() {
        Some(seeds) => sweep(seeds, &limits, &args),
        None => one_seed(args.seed.unwrap_or(1), &limits, &args),
    }
}

fn plan_for(seed: u64, limits: &Limits, args: &SwarmArgs) -> Plan {
    let mut plan = args
        .plan
        .clone()
        .unwrap_or_else(|| Plan::draw(seed, limits));
    plan.unsafe_disk |= args.unsafe_disk;
    plan
}

fn one_seed(seed: u64, limits: &Limits, args: &SwarmArgs) -> ExitCode {
    let plan = plan_for(seed, limits, args);
    let outcome = swarm::run(seed, &plan, args.trace);
    for line in &outcome.trace {
        println!("{line}");
    }
    if args.trace {
        println!("trace digest {:016x}", outcome.digest);
    }
    report_one(&outcome);
    let Some(failure) = &outcome.failure else {
        return ExitCode::SUCCESS;
    };
    if args.shrink {
        println!("shrinking (up to {SHRINK_BUDGET} runs)...");
        let smallest = swarm::shrink(seed, &outcome, SHRINK_BUDGET);
        println!("smallest plan that still fails the same way:");
        report_one(&smallest);
    }
    ExitCode::from(failure.class.exit_code())
}

fn report_one(outcome: &SwarmOutcome) {
    println!("seed {}  plan {}", outcome.seed, outcome.plan);
    match &outcome.failure {
        None => println!(
            "passed: {:.1}s virtual, {} entries committed",
            outcome.virtual_time as f64 / 1e6,
            outcome.committed
        ),
        Some(failure) => {
            println!("FAILED ({})", failure.class);
            if let Some(invariant) = failure.invariant {
                println!("    invariant: {invariant}");
            }
            println!("    time:      {:.3}s virtual", failure.time as f64 / 1e6);
            println!("    check:     {}", failure.message);
            println!("    replay:    {}", outcome.replay_command());
            println!(
                "    shrink:    cargo run --release -p raft-sim -- swarm --seed {} --plan '{}' --shrink",
                outcome.seed, outcome.plan
            );
        }
    }
}

/// What the workers share: the next seed, counters and the failures found.
struct Tally {
    coverage: Coverage,
    failures: Vec<SwarmOutcome>,
    virtual_us: u64,
    /// The seed that took longest, and its wall-clock seconds.
    slowest: (u64, f64),
}

fn sweep(seeds: RangeInclusive<u64>, limits: &Limits, args: &SwarmArgs) -> ExitCode {
    let (first, last) = (*seeds.start(), *seeds.end());
    let total = last - first + 1;
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} seeds, {msg}, ETA {eta}")
            .expect("valid template"),
    );
    bar.set_message("0 failures");
    // A panic is a finding, reported in the table: keep the default hook's noise out of it.
    std::panic::set_hook(Box::new(|_| {}));
    let next = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let tally = Mutex::new(Tally {
        coverage: Coverage::default(),
        failures: Vec::new(),
        virtual_us: 0,
        slowest: (first, 0.0),
    });
    let clock = WallClock::start();
    std::thread::scope(|scope| {
        for _ in 0..args.jobs.min(total) {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= total || (args.fail_fast && stop.load(Ordering::Relaxed)) {
                    break;
                }
                let seed = first + k;
                let plan = plan_for(seed, limits, args);
                let clock = WallClock::start();
                let outcome = swarm::run(seed, &plan, false);
                let secs = clock.elapsed_secs();
                let mut tally = tally.lock().expect("tally");
                if secs > tally.slowest.1 {
                    tally.slowest = (seed, secs);
                }
                tally.coverage.add(&plan);
                tally.virtual_us += outcome.virtual_time;
                if let Some(failure) = &outcome.failure {
                    bar.println(format!(
                        "FAIL seed {seed} ({}): {}",
                        failure.class, failure.message
                    ));
                    tally.failures.push(outcome);
                    stop.store(true, Ordering::Relaxed);
                    bar.set_message(format!("{} failures", tally.failures.len()));
                }
                bar.inc(1);
            });
        }
    });
    bar.finish_and_clear();
    let _ = std::panic::take_hook();
    let wall = clock.elapsed_secs();
    let mut tally = tally.into_inner().expect("tally");
    tally.failures.sort_by_key(|o| o.seed);
    print_failures(&tally.failures);
    println!("fault mix over {} seeds:", tally.coverage.seeds());
    print!("{}", tally.coverage);
    let ran = tally.coverage.seeds();
    println!(
        "{ran} seeds, {} failed; {:.0}s virtual in {wall:.1}s wall ({:.0} seeds/s, {} jobs)",
        tally.failures.len(),
        tally.virtual_us as f64 / 1e6,
        ran as f64 / wall.max(1e-9),
        args.jobs
    );
    println!(
        "slowest seed: {} ({:.2}s wall)",
        tally.slowest.0, tally.slowest.1
    );
    let worst = [Class::Safety, Class::Panic, Class::Liveness]
        .into_iter()
        .find(|class| {
            tally
                .failures
                .iter()
                .any(|o| o.failure.as_ref().is_some_and(|f| f.class == *class))
        });
    worst.map_or(ExitCode::SUCCESS, |class| ExitCode::from(class.exit_code()))
}

fn print_failures(failures: &[SwarmOutcome]) {
    if failures.is_empty() {
        return;
    }
    println!(
        "{:<8} {:<9} {:<22} {:>10}  replay",
        "seed", "class", "invariant", "time"
    );
    for outcome in failures {
        let failure = outcome.failure.as_ref().expect("a failure");
        let invariant = failure.invariant.map_or("-".to_string(), |i| i.to_string());
        println!(
            "{:<8} {:<9} {:<22} {:>9.3}s  {}",
            outcome.seed,
            failure.class.name(),
            invariant,
            failure.time as f64 / 1e6,
            outcome.replay_command()
        );
    }
}
