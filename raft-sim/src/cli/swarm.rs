//! `raft-sim swarm`: swarm runs over a seed range (a sweep with a progress bar, each failure as
//! it is found, then a table of failures and the fault mix covered), or one seed replayed,
//! traced or shrunk.

use super::args::SweepArgs;
use super::output::{Out, Stop};
use super::sweep::{self, Counts, ItemResult};
use super::WallClock;
use raft_sim::swarm::{self, Class, Coverage, Limits, Plan, SwarmFailure, SwarmOutcome};
use raft_sim::trace::Trace;
use raft_sim::Features;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code for a bad argument.
const USAGE: u8 = 2;

#[derive(clap::Args)]
pub struct SwarmArgs {
    #[command(flatten)]
    sweep: SweepArgs,
    /// Cluster sizes to draw from, both ends included (`3..7`, or `5` for one size).
    #[arg(long, value_name = "A..B", default_value = "3..7", value_parser = parse_nodes)]
    nodes: RangeInclusive<usize>,
    /// The longest fault phase, in virtual seconds (1 to 300).
    #[arg(long, value_name = "SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    time: u64,
    /// Run this exact plan (as a failure or --shrink prints it) instead of the seed's draw.
    #[arg(long, value_parser = parse_plan, conflicts_with = "seeds")]
    plan: Option<Plan>,
    /// Disks that may lose their last write at a crash: not a legal fault, so failures are
    /// expected; it shows what the checkers catch when a disk breaks its promise.
    #[arg(long)]
    unsafe_disk: bool,
    /// Write the run's trace (one seed): alone to standard output, or to FILE.
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "-",
          conflicts_with = "seeds")]
    trace: Option<PathBuf>,
    /// Shrink a failing seed's plan to the smallest that still fails the same way (one seed).
    #[arg(long, conflicts_with = "seeds")]
    shrink: bool,
    /// How many runs `--shrink` may spend.
    #[arg(long, value_name = "RUNS", default_value_t = 2000)]
    shrink_budget: usize,
    /// Stop a sweep at its first failure (the lowest failing seed).
    #[arg(long)]
    fail_fast: bool,
    /// The production features (PreVote, CheckQuorum, ReadIndex, lease reads, leadership
    /// transfers): `drawn` per seed, `all` on (the lease assuming exactly the plan's clock
    /// skew), `none`, or a list such as `prevote+checkquorum` (no transfers).
    #[arg(long, value_name = "WHICH", default_value = "drawn", value_parser = parse_features)]
    features: FeatureChoice,
    /// Every seed draws membership changes (kinds and pace): learners added and promoted,
    /// voters added, removed and replaced, 5 → 3, 3 → 7, the leader removed, removed servers
    /// re-added with their old disk (only on seeds that run PreVote). Without it, seeds change
    /// no membership.
    #[arg(long)]
    membership: bool,
}

/// What `--features` asked for.
#[derive(Clone, Debug)]
enum FeatureChoice {
    Drawn,
    All,
    These(Features),
}

fn parse_features(text: &str) -> Result<FeatureChoice, String> {
    match text {
        "drawn" => Ok(FeatureChoice::Drawn),
        "all" => Ok(FeatureChoice::All),
        list => list.parse().map(FeatureChoice::These),
    }
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

/// Runs the `swarm` subcommand.
pub fn run(args: SwarmArgs) -> ExitCode {
    let limits = Limits {
        nodes: args.nodes.clone(),
        max_time_ms: args.time * 1000,
    };
    let mut out = Out::default();
    let result = match args.sweep.is_sweep() {
        true => sweep_seeds(&args, &limits, &mut out),
        false => one_seed(&args, &limits, &out),
    };
    result.unwrap_or_else(|stop| match stop {
        Stop::Error(why) if why.starts_with("usage: ") => {
            let _ = writeln!(io::stderr(), "error: {}", &why["usage: ".len()..]);
            ExitCode::from(USAGE)
        }
        stop => stop.exit(),
    })
}

fn plan_for(seed: u64, limits: &Limits, args: &SwarmArgs) -> Plan {
    if let Some(plan) = &args.plan {
        let mut plan = plan.clone();
        plan.unsafe_disk |= args.unsafe_disk;
        return plan; // exactly as given, features included
    }
    let mut plan = Plan::draw(seed, limits);
    plan = match &args.features {
        FeatureChoice::Drawn => plan,
        FeatureChoice::All => plan.with_all_features(),
        FeatureChoice::These(features) => Plan {
            features: *features,
            ..plan.without_features()
        },
    };
    if args.membership {
        plan = plan.with_drawn_membership(seed);
    }
    plan.unsafe_disk |= args.unsafe_disk;
    plan
}

fn exit_code(failure: Option<&SwarmFailure>) -> ExitCode {
    failure.map_or(ExitCode::SUCCESS, |f| ExitCode::from(f.class.exit_code()))
}

fn one_seed(args: &SwarmArgs, limits: &Limits, out: &Out) -> Result<ExitCode, Stop> {
    let seed = args.sweep.seed_range().start().to_owned();
    let plan = plan_for(seed, limits, args);
    let outcome = match args.trace.as_deref() {
        None => swarm::run(seed, &plan),
        Some(path) if path.as_os_str() == "-" => {
            let trace = Trace::to_writer(Box::new(BufWriter::new(io::stdout())));
            swarm::run_with(seed, &plan, trace)
        }
        Some(path) => {
            let shown = path.display().to_string();
            let file =
                File::create(path).map_err(|e| Stop::io(&format!("creating {shown}"), &e))?;
            let outcome = swarm::run_with(
                seed,
                &plan,
                Trace::to_writer(Box::new(BufWriter::new(file))),
            );
            out.line(format!("trace written to {shown}"))?;
            outcome
        }
    };
    if let Some(error) = &outcome.trace_error {
        return Err(Stop::io("writing the trace", error));
    }
    report_one(out, &outcome)?;
    let Some(failure) = &outcome.failure else {
        return Ok(ExitCode::SUCCESS);
    };
    if args.shrink {
        out.line(format!("shrinking (up to {} runs)...", args.shrink_budget))?;
        let smallest = swarm::shrink(&outcome, args.shrink_budget);
        out.line("smallest plan that still fails the same way:")?;
        report_one(out, &smallest)?;
    }
    Ok(exit_code(Some(failure)))
}

fn report_one(out: &Out, outcome: &SwarmOutcome) -> Result<(), Stop> {
    out.line(format!("seed {}  plan {}", outcome.seed, outcome.plan))?;
    let Some(failure) = &outcome.failure else {
        return out.line(format!(
            "passed: {:.1}s virtual, {} entries committed",
            outcome.virtual_time as f64 / 1e6,
            outcome.committed
        ));
    };
    out.line(format!("FAILED ({})", failure.class))?;
    if let Some(invariant) = failure.invariant {
        out.line(format!("    invariant: {invariant}"))?;
    }
    out.line(format!(
        "    time:      {:.3}s virtual",
        failure.time as f64 / 1e6
    ))?;
    out.line(format!("    check:     {}", failure.message))?;
    out.line(format!("    replay:    {}", outcome.replay_command()))?;
    out.line(format!(
        "    shrink:    {}",
        outcome.replay_command().replace(" --trace", " --shrink")
    ))?;
    out.line(format!("    see:       {}", outcome.timeline_command()))
}

/// Counters kept as results stream in.
#[derive(Default)]
struct Tally {
    counts: Counts<u64>,
    coverage: Coverage,
    failures: Vec<SwarmOutcome>,
    virtual_us: u128,
}

impl Tally {
    fn record(
        &mut self,
        out: &Out,
        seed: u64,
        result: ItemResult<(SwarmOutcome, f64)>,
        fail_fast: bool,
    ) -> Result<(), Stop> {
        let (outcome, wall) = result.map_err(|panic| {
            Stop::Error(format!("the sweep itself panicked on seed {seed}: {panic}"))
        })?;
        self.coverage.add(&outcome.plan);
        self.coverage.add_changes(&outcome.changes);
        self.virtual_us += u128::from(outcome.virtual_time);
        self.counts.count(outcome.failure.is_some(), wall, seed);
        let Some(failure) = &outcome.failure else {
            return Ok(());
        };
        out.line(format!(
            "FAIL seed {seed} ({}): {}",
            failure.class, failure.message
        ))?;
        if let Some(bar) = out.progress() {
            bar.set_message(format!("{} failed", self.counts.failed));
        }
        self.failures.push(outcome);
        match fail_fast {
            true => Err(Stop::Enough),
            false => Ok(()),
        }
    }

    fn summary(&self, out: &Out, jobs: usize, wall: f64) -> Result<(), Stop> {
        if !self.failures.is_empty() {
            out.line(format!(
                "{:<8} {:<9} {:<22} {:>10}  replay",
                "seed", "class", "invariant", "time"
            ))?;
        }
        for outcome in &self.failures {
            let failure = outcome.failure.as_ref().expect("a failure");
            let invariant = failure.invariant.map_or("-".into(), |i| i.to_string());
            out.line(format!(
                "{:<8} {:<9} {:<22} {:>9.3}s  {}",
                outcome.seed,
                failure.class.name(),
                invariant,
                failure.time as f64 / 1e6,
                outcome.replay_command()
            ))?;
        }
        out.line(format!("fault mix over {} seeds:", self.coverage.seeds()))?;
        for line in self.coverage.to_string().lines() {
            out.line(format!("  {line}"))?;
        }
        out.line(format!(
            "{} seeds, {} failed; {:.0}s virtual in {wall:.1}s wall ({:.0} seeds/s, {jobs} jobs)",
            self.counts.done,
            self.counts.failed,
            self.virtual_us as f64 / 1e6,
            self.counts.done as f64 / wall.max(1e-9)
        ))?;
        match self.counts.slowest {
            Some((secs, seed)) => out.line(format!("slowest seed: {seed} ({secs:.2}s wall)")),
            None => Ok(()),
        }
    }

    /// Safety before panic before liveness: the worst class found decides the exit code.
    fn worst(&self) -> Option<&SwarmFailure> {
        let rank = |c: Class| match c {
            Class::Safety => 0,
            Class::Panic => 1,
            Class::Liveness => 2,
        };
        self.failures
            .iter()
            .filter_map(|o| o.failure.as_ref())
            .min_by_key(|f| rank(f.class))
    }
}

fn sweep_seeds(args: &SwarmArgs, limits: &Limits, out: &mut Out) -> Result<ExitCode, Stop> {
    let seeds = args.sweep.seed_range();
    let total = (seeds.end() - seeds.start()).saturating_add(1);
    let options = sweep::Options {
        jobs: args.sweep.jobs,
        progress: Some(total),
    };
    // A panic is a finding, reported in the table: keep the default hook's noise out of it.
    std::panic::set_hook(Box::new(|_| {}));
    let clock = WallClock::start();
    let mut tally = Tally::default();
    let swept = sweep::run(
        seeds,
        options,
        out,
        |&seed: &u64| {
            let clock = WallClock::start();
            let outcome = swarm::run(seed, &plan_for(seed, limits, args));
            (outcome, clock.elapsed_secs())
        },
        |out, seed, result| tally.record(out, seed, result, args.fail_fast),
    );
    let _ = std::panic::take_hook();
    match swept {
        Ok(()) | Err(Stop::Enough) => {}
        Err(stop) => return Err(stop),
    }
    tally.summary(out, args.sweep.jobs, clock.elapsed_secs())?;
    Ok(exit_code(tally.worst()))
}
