//! `raft-sim lab`: runs the lab suite in the simulator, like `go test -run …` in the lab.

use super::args::SweepArgs;
use super::output::{Out, Stop};
use super::sweep::{self, Counts, ItemResult};
use super::WallClock;
use clap::ValueEnum;
use raft_sim::features::RunOptions;
use raft_sim::lab::{self, LabTest};
use raft_sim::runner::{self, Outcome};
use raft_sim::trace::Trace;
use raft_sim::Features;
use raft_sim::{Edition, Failure, Stats};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit code for a bad argument.
const USAGE: u8 = 2;

#[derive(clap::Args)]
pub struct LabArgs {
    /// Only tests matching this case-insensitive regex, tried against the Go name
    /// (`TestInitialElection3A`, `InitialElection3A`), ours (`initial_election_3a`) and the
    /// part (`3A`, `PartA`).
    #[arg(long, value_name = "REGEX")]
    run: Option<String>,
    /// Leave out the tests matching this regex (tried like `--run`'s, like `go test -skip`).
    #[arg(long, value_name = "REGEX")]
    skip: Option<String>,
    /// List the selected tests instead of running them (like `go test -list`).
    #[arg(long)]
    list: bool,
    /// Which edition of the lab's harness to mirror.
    #[arg(long, value_enum, default_value = "both")]
    edition: EditionArg,
    #[command(flatten)]
    sweep: SweepArgs,
    /// Write each run's trace (a header naming test, edition and seed; one line per delivered
    /// or dropped message, apply, persist, role change and harness step; the digest), streamed
    /// as it runs. Alone: to standard output, one run at a time. `--trace FILE`: one run's
    /// trace to FILE. `--trace DIR`: one file per run, `DIR/TEST-EDITION-SEED.trace` (DIR is
    /// created).
    #[arg(long, value_name = "PATH", num_args = 0..=1, default_missing_value = "-")]
    trace: Option<PathBuf>,
    /// Run every node with PreVote (Ongaro's thesis §9.6; off in the lab).
    #[arg(long)]
    pre_vote: bool,
    /// Run every node with CheckQuorum and leader stickiness (thesis §6.2, §4.2.3; off in the
    /// lab).
    #[arg(long)]
    check_quorum: bool,
    /// Lab 4 only: every node with ReadIndex (thesis §6.4), and the key/value servers answer
    /// Gets through it instead of the log. (A new leader's no-op moves Lab 3's indexes.)
    #[arg(long)]
    read_index: bool,
    /// Lab 4 only: lease reads (thesis §6.4.1), with CheckQuorum and ReadIndex.
    #[arg(long)]
    lease_reads: bool,
    /// The clock drift the lease assumes, in percent (default: the --skew given, else 10).
    #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u32).range(0..=90))]
    drift: Option<u32>,
    /// Every server's clock runs within this many percent of the nominal rate (drawn per
    /// server and seed; the lab's clocks are exact).
    #[arg(long, value_name = "PERCENT", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=90))]
    skew: u64,
}

impl LabArgs {
    /// The cluster the flags ask for, or what is wrong with them for these tests.
    fn options(&self, tests: &[LabTest]) -> Result<RunOptions, String> {
        let reads = self.read_index || self.lease_reads;
        if let Some(lab3) = tests
            .iter()
            .find(|t| t.part().starts_with('3'))
            .filter(|_| reads)
        {
            return Err(format!(
                "--read-index and --lease-reads are for Lab 4 (a new leader's no-op moves Lab 3's log indexes), and {} is a Lab 3 test: add --run 4",
                lab3.go_name
            ));
        }
        let features = Features {
            pre_vote: self.pre_vote,
            check_quorum: self.check_quorum || self.lease_reads,
            read_index: reads,
            lease_reads: self.lease_reads,
            drift_percent: self.drift.unwrap_or(match self.skew {
                0 => Features::default().drift_percent,
                skew => skew as u32,
            }),
        };
        features.check()?;
        Ok(RunOptions {
            features,
            clock_skew_percent: self.skew,
        })
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum EditionArg {
    #[value(name = "2024")]
    Y2024,
    #[value(name = "2025")]
    Y2025,
    Both,
}

/// Where traces go.
#[derive(Clone)]
enum TraceTo {
    Nowhere,
    Stdout,
    File(PathBuf),
    Dir(PathBuf),
}

/// One run: which test (by position in the selection), edition and seed.
type Run = (usize, Edition, u64);

/// A finished run and its wall-clock time.
struct Ran {
    outcome: Outcome,
    wall: f64,
}

/// Runs the `lab` subcommand.
pub fn run(args: LabArgs) -> ExitCode {
    let tests = match select(args.run.as_deref(), args.skip.as_deref()) {
        Ok(tests) => tests,
        Err(why) => return usage_error(&why),
    };
    let mut out = Out::default();
    if args.list {
        let listed = tests
            .iter()
            .try_for_each(|t| out.line(format!("{:<34} {}", t.go_name, t.name)));
        return listed.map_or_else(Stop::exit, |()| ExitCode::SUCCESS);
    }
    let editions: &'static [Edition] = match args.edition {
        EditionArg::Y2024 => &[Edition::Y2024],
        EditionArg::Y2025 => &[Edition::Y2025],
        EditionArg::Both => &Edition::ALL,
    };
    let seeds = args.sweep.seed_range();
    let seed_count = (seeds.end() - seeds.start()).saturating_add(1);
    let selected = |e: &Edition| tests.iter().filter(|t| t.runs_in(*e)).count();
    let total = seed_count.saturating_mul(editions.iter().map(selected).sum::<usize>() as u64);
    let trace = match trace_destination(args.trace.as_deref(), total) {
        Ok(trace) => trace,
        Err(why) => return usage_error(&why),
    };
    let sweeping = args.sweep.is_sweep();
    let options = sweep::Options {
        // A trace on standard output must not interleave with another run's.
        jobs: match trace {
            TraceTo::Stdout => 1,
            _ => args.sweep.jobs,
        },
        progress: (sweeping && !matches!(trace, TraceTo::Stdout)).then_some(total),
    };
    let cluster = match args.options(&tests) {
        Ok(cluster) => cluster,
        Err(why) => return usage_error(&why),
    };
    // Lab 3 runs in both editions; each Lab 4 test only in its own.
    let in_edition: Vec<Vec<usize>> = editions
        .iter()
        .map(|&e| (0..tests.len()).filter(|&k| tests[k].runs_in(e)).collect())
        .collect();
    let per_seed: usize = in_edition.iter().map(Vec::len).sum();
    if per_seed == 0 {
        return usage_error("no selected test is in the selected edition");
    }
    let runs = seeds.flat_map(move |seed| {
        let in_edition = in_edition.clone();
        editions
            .iter()
            .zip(in_edition)
            .flat_map(move |(&edition, tests)| {
                tests.into_iter().map(move |test| (test, edition, seed))
            })
    });
    let clock = WallClock::start();
    let mut tally = Tally::default();
    let swept = sweep::run(
        runs,
        options,
        &mut out,
        |&run: &Run| run_one(&tests, run, &trace, cluster),
        |out, run, result| tally.record(out, &tests, run, result, sweeping, cluster),
    );
    let wall = clock.elapsed_secs();
    match swept.and_then(|()| tally.summary(&out, sweeping, wall)) {
        Err(stop) => stop.exit(),
        Ok(()) if tally.counts.failed == 0 => ExitCode::SUCCESS,
        Ok(()) => ExitCode::FAILURE,
    }
}

fn usage_error(why: &str) -> ExitCode {
    let _ = writeln!(io::stderr(), "error: {why}");
    ExitCode::from(USAGE)
}

/// The tests a `--run` filter selects and a `--skip` filter leaves in, in the lab's order.
fn select(run: Option<&str>, skip: Option<&str>) -> Result<Vec<LabTest>, String> {
    let run_re = run.map(|pattern| regex("--run", pattern)).transpose()?;
    let skip_re = skip.map(|pattern| regex("--skip", pattern)).transpose()?;
    let tests: Vec<LabTest> = lab::all()
        .into_iter()
        .filter(|t| run_re.as_ref().is_none_or(|re| matches(t, re)))
        .filter(|t| skip_re.as_ref().is_none_or(|re| !matches(t, re)))
        .collect();
    if tests.is_empty() {
        return Err(format!(
            "no test matches --run {:?} and not --skip {:?} (see --list)",
            run.unwrap_or_default(),
            skip.unwrap_or_default()
        ));
    }
    Ok(tests)
}

/// A case-insensitive regex from a filter flag, or what is wrong with it.
fn regex(flag: &str, pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .case_insensitive(true)
        .build()
        .map_err(|e| format!("{flag} {pattern:?} is not a valid regex: {e}"))
}

/// Whether a `go test -run`-style filter selects `test`: it matches one of its names.
fn matches(test: &LabTest, filter: &regex::Regex) -> bool {
    test.names().iter().any(|name| filter.is_match(name))
}

/// Where `--trace PATH` sends the traces of `total` runs.
fn trace_destination(path: Option<&Path>, total: u64) -> Result<TraceTo, String> {
    let Some(path) = path else {
        return Ok(TraceTo::Nowhere);
    };
    if path == Path::new("-") {
        return Ok(TraceTo::Stdout);
    }
    if total == 1 && !path.is_dir() {
        return Ok(TraceTo::File(path.to_owned()));
    }
    if path.exists() && !path.is_dir() {
        return Err(format!(
            "--trace {}: {total} runs need a directory, and this is a file",
            path.display()
        ));
    }
    std::fs::create_dir_all(path).map_err(|e| {
        format!(
            "--trace {}: cannot create the directory: {e}",
            path.display()
        )
    })?;
    Ok(TraceTo::Dir(path.to_owned()))
}

/// Runs one test, streaming its trace where asked.
fn run_one(
    tests: &[LabTest],
    (test, edition, seed): Run,
    trace: &TraceTo,
    options: RunOptions,
) -> Result<Ran, Stop> {
    let test = &tests[test];
    let clock = WallClock::start();
    let run = |trace| runner::run_featured(test, edition, seed, trace, options);
    let (outcome, destination) = match trace {
        TraceTo::Nowhere => (run(Trace::new(false)), None),
        TraceTo::Stdout => {
            let out = Box::new(BufWriter::new(io::stdout()));
            let outcome = run(runner::traced_to(test, edition, seed, out));
            (outcome, Some("standard output".to_string()))
        }
        TraceTo::File(path) => traced_to_file(test, edition, seed, path, options)?,
        TraceTo::Dir(dir) => {
            let name = format!("{}-{}-{seed}.trace", test.go_name, edition.year());
            traced_to_file(test, edition, seed, &dir.join(name), options)?
        }
    };
    if let (Some(error), Some(destination)) = (&outcome.trace_error, destination) {
        return Err(Stop::io(
            &format!("writing the trace to {destination}"),
            error,
        ));
    }
    let wall = clock.elapsed_secs();
    Ok(Ran { outcome, wall })
}

fn traced_to_file(
    test: &LabTest,
    edition: Edition,
    seed: u64,
    path: &Path,
    options: RunOptions,
) -> Result<(Outcome, Option<String>), Stop> {
    let shown = path.display().to_string();
    let file = File::create(path).map_err(|e| Stop::io(&format!("creating {shown}"), &e))?;
    let trace = runner::traced_to(test, edition, seed, Box::new(BufWriter::new(file)));
    let outcome = runner::run_featured(test, edition, seed, trace, options);
    Ok((outcome, Some(shown)))
}

/// Counters kept as results stream in.
#[derive(Default)]
struct Tally {
    counts: Counts<Outcome>,
    virtual_us: u128,
}

impl Tally {
    /// Counts one run and prints what it must: a failure at once, a pass only outside sweeps.
    fn record(
        &mut self,
        out: &Out,
        tests: &[LabTest],
        run: Run,
        result: ItemResult<Result<Ran, Stop>>,
        sweeping: bool,
        options: RunOptions,
    ) -> Result<(), Stop> {
        let Ran { outcome, wall } = match result {
            Ok(ran) => ran?,
            Err(panic) => Ran {
                outcome: panicked(&tests[run.0], run, panic),
                wall: 0.0,
            },
        };
        self.virtual_us += u128::from(outcome.virtual_time);
        match &outcome.result {
            Ok(_) if !sweeping => {
                for stats in &outcome.sections {
                    for title in &stats.preamble {
                        out.line(title_line(&outcome, title))?;
                    }
                    out.line(passed_line(&outcome, stats))?;
                }
            }
            Ok(_) => {}
            Err(failure) => print_failure(out, &outcome, failure, options)?,
        }
        self.counts.count(!outcome.passed(), wall, outcome);
        Ok(())
    }

    fn summary(&self, out: &Out, sweeping: bool, wall: f64) -> Result<(), Stop> {
        out.line(format!(
            "{} runs, {} passed, {} failed; {:.1}s virtual in {:.2}s wall",
            self.counts.done,
            self.counts.passed(),
            self.counts.failed,
            self.virtual_us as f64 / 1e6,
            wall
        ))?;
        match &self.counts.slowest {
            Some((secs, outcome)) if sweeping => out.line(format!(
                "slowest run: {} {} seed {} ({secs:.3}s wall, {:.1}s virtual)",
                outcome.go_name,
                outcome.edition.year(),
                outcome.seed,
                outcome.virtual_time as f64 / 1e6
            )),
            _ => Ok(()),
        }
    }
}

/// A run that panicked (a bug in the simulator or an assertion in the core), as a failure.
fn panicked(test: &LabTest, (_, edition, seed): Run, panic: String) -> Outcome {
    Outcome {
        go_name: test.go_name,
        name: test.name,
        edition,
        seed,
        description: format!("Test ({}): {}", test.part(), test.name),
        result: Err(Failure {
            message: format!("panicked: {panic}"),
            time: 0,
        }),
        virtual_time: 0,
        digest: 0,
        trace: Vec::new(),
        trace_error: None,
        invariant: None,
        sections: Vec::new(),
        checks: Vec::new(),
    }
}

fn print_failure(
    out: &Out,
    outcome: &Outcome,
    failure: &Failure,
    options: RunOptions,
) -> Result<(), Stop> {
    out.line(format!("{} ... FAILED", outcome.description))?;
    out.line(format!(
        "    test:    {} ({})",
        outcome.go_name, outcome.name
    ))?;
    out.line(format!("    edition: {}", outcome.edition.year()))?;
    out.line(format!("    seed:    {}", outcome.seed))?;
    out.line(format!(
        "    time:    {:.3}s virtual",
        failure.time as f64 / 1e6
    ))?;
    out.line(format!("    check:   {}", failure.message))?;
    let flags = replay_flags(options);
    out.line(format!("    replay:  {}{flags}", outcome.replay_command()))?;
    out.line(format!("    see:     {}", outcome.timeline_command()))
}

/// The flags that rebuild a run's cluster, for its replay command.
fn replay_flags(options: RunOptions) -> String {
    let f = options.features;
    let mut flags = String::new();
    for (on, flag) in [
        (f.pre_vote, " --pre-vote"),
        (f.check_quorum && !f.lease_reads, " --check-quorum"),
        (f.read_index && !f.lease_reads, " --read-index"),
        (f.lease_reads, " --lease-reads"),
    ] {
        if on {
            flags.push_str(flag);
        }
    }
    if f.lease_reads {
        flags.push_str(&format!(" --drift {}", f.drift_percent));
    }
    if options.clock_skew_percent > 0 {
        flags.push_str(&format!(" --skew {}", options.clock_skew_percent));
    }
    flags
}

/// A title that a later one superseded before any "Passed" line (the lab prints it alone).
fn title_line(outcome: &Outcome, title: &str) -> String {
    match outcome.edition {
        Edition::Y2024 => format!("{title} ..."),
        Edition::Y2025 => format!("{title}..."),
    }
}

/// The lab's "Passed" line, with virtual seconds.
fn passed_line(outcome: &Outcome, stats: &Stats) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    fn outcome(test: &LabTest, seed: u64, fails: bool) -> Outcome {
        let mut outcome = panicked(test, (0, Edition::Y2024, seed), String::new());
        outcome.result = match fails {
            true => Err(Failure {
                message: format!("one(10{seed}) failed to reach agreement"),
                time: 12_345_000,
            }),
            false => Ok(Stats {
                description: "Test (3B): basic agreement".into(),
                time: 1_000_000,
                peers: 3,
                rpcs: 16,
                bytes: 1234,
                commands: 3,
                ops: None,
                preamble: Vec::new(),
            }),
        };
        outcome.sections = outcome.result.iter().cloned().collect();
        outcome
    }

    /// A sweep of seeds 0.. where seeds 3 and 7 fail, stopped after `seeds` results; returns
    /// what was printed and the tally.
    fn sweep_with_failures(jobs: usize, sweeping: bool, seeds: u64) -> (String, Tally) {
        let tests = vec![lab::find("BasicAgree3B").expect("exists")];
        let printed = Rc::new(RefCell::new(Vec::new()));
        let mut out = Out::capture(Rc::clone(&printed));
        let mut tally = Tally::default();
        let options = sweep::Options {
            jobs,
            progress: None,
        };
        let runs = (0u64..).map(|seed| (0, Edition::Y2024, seed));
        let result = sweep::run(
            runs,
            options,
            &mut out,
            |&(_, _, seed): &Run| {
                let outcome = outcome(&lab::find("BasicAgree3B").unwrap(), seed, seed % 4 == 3);
                Ok(Ran { outcome, wall: 0.0 })
            },
            |out, run, result| {
                tally.record(out, &tests, run, result, sweeping, RunOptions::default())?;
                match tally.counts.done {
                    n if n == seeds => Err(Stop::BrokenPipe), // stop the endless sweep here
                    _ => Ok(()),
                }
            },
        );
        assert!(matches!(result, Err(Stop::BrokenPipe)));
        let text = String::from_utf8(printed.borrow().clone()).unwrap();
        (text, tally)
    }

    #[test]
    fn a_sweep_prints_each_failure_when_it_is_known_and_no_pass() {
        for jobs in [1, 3] {
            // Stopped after 8 results: seeds 3 and 7 failed, and both were printed by then.
            let (text, tally) = sweep_with_failures(jobs, true, 8);
            assert_eq!((tally.counts.done, tally.counts.failed), (8, 2));
            assert_eq!(text.matches("... FAILED").count(), 2, "{text}");
            assert!(text.contains("    seed:    3\n"), "{text}");
            assert!(
                text.contains("    check:   one(107) failed to reach agreement"),
                "{text}"
            );
            assert!(text.contains("--edition 2024 --seed 7 --trace"), "{text}");
            let see = "replay --run BasicAgree3B --edition 2024 --seed 7 --timeline";
            assert!(text.contains(see), "{text}");
            assert!(!text.contains("Passed"), "{text}");
        }
    }

    #[test]
    fn outside_a_sweep_every_run_prints_its_line() {
        let (text, tally) = sweep_with_failures(2, false, 4);
        assert_eq!((tally.counts.done, tally.counts.failed), (4, 1));
        assert_eq!(
            text.matches("Test (3B): basic agreement ... Passed")
                .count(),
            3
        );
        assert_eq!(text.matches("... FAILED").count(), 1);
    }

    #[test]
    fn a_panicking_run_is_reported_as_a_failure_with_its_replay_command() {
        let tests = vec![lab::find("Figure83C").expect("exists")];
        let printed = Rc::new(RefCell::new(Vec::new()));
        let out = Out::capture(Rc::clone(&printed));
        let mut tally = Tally::default();
        let run = (0, Edition::Y2025, 42);
        tally
            .record(
                &out,
                &tests,
                run,
                Err("index out of bounds".into()),
                true,
                RunOptions::default(),
            )
            .expect("printed");
        let text = String::from_utf8(printed.borrow().clone()).unwrap();
        assert_eq!(tally.counts.failed, 1);
        assert!(
            text.contains("check:   panicked: index out of bounds"),
            "{text}"
        );
        assert!(
            text.contains("--run '^Figure83C$' --edition 2025 --seed 42"),
            "{text}"
        );
    }
}
