//! Runs one lab test on one seed and edition, to completion or failure.

use crate::checkers::Invariant;
use crate::lab::LabTest;
use crate::linearizability::CheckStats;
use crate::tester::{Failure, Setup, Stats, TestResult, Tester};
use crate::trace::Trace;
use crate::world::{Edition, SimTime, MS};
use std::future::Future;
use std::io::{self, Write};
use std::sync::Arc;

/// A run that is still going after this much virtual time is stuck, whatever the test says.
pub const HARD_LIMIT: SimTime = 600_000 * MS;

/// The result of one run.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The Go name of the test (`TestInitialElection3A`).
    pub go_name: &'static str,
    /// Our name (`initial_election_3a`).
    pub name: &'static str,
    /// The edition mirrored.
    pub edition: Edition,
    /// The seed.
    pub seed: u64,
    /// The description `begin` recorded (empty if the test failed before it).
    pub description: String,
    /// The "Passed" figures (of the last section), or why it failed.
    pub result: Result<Stats, Failure>,
    /// The invariant whose violation failed the run, if a whole-cluster checker failed it.
    pub invariant: Option<Invariant>,
    /// Every section the test closed with `end` (one "Passed" line each; most tests have
    /// one).
    pub sections: Vec<Stats>,
    /// The linearizability checks the test ran (Lab 4).
    pub checks: Vec<CheckStats>,
    /// Virtual time at the end of the run.
    pub virtual_time: SimTime,
    /// Digest of the whole run's trace: equal digests, identical runs.
    pub digest: u64,
    /// The trace lines, if kept in memory (ending with the digest line).
    pub trace: Vec<String>,
    /// Why a streamed trace could not be written in full, if it could not.
    pub trace_error: Option<Arc<io::Error>>,
}

impl Outcome {
    /// Whether the test passed.
    pub fn passed(&self) -> bool {
        self.result.is_ok()
    }

    /// The command that replays exactly this run, with its trace.
    pub fn replay_command(&self) -> String {
        format!(
            "cargo run --release -p raft-sim -- lab --run '^{}$' --edition {} --seed {} --trace",
            self.go_name.trim_start_matches("Test"),
            self.edition.year(),
            self.seed
        )
    }
}

impl Outcome {
    /// The command that replays this run into a timeline page (and a structured trace).
    pub fn timeline_command(&self) -> String {
        let name = self.go_name.trim_start_matches("Test");
        let (year, seed) = (self.edition.year(), self.seed);
        format!(
            "cargo run --release -p raft-sim -- replay --run {name} --edition {year} --seed {seed} --timeline {name}-{year}-{seed}.html --trace {name}-{year}-{seed}.jsonl"
        )
    }
}

/// Runs `test` on `seed` in `edition`; keeps the trace lines if `trace`.
pub fn run(test: &LabTest, edition: Edition, seed: u64, trace: bool) -> Outcome {
    run_with(test, edition, seed, Trace::new(trace))
}

/// Runs `test` on `seed` in `edition`, streaming its trace to `out` as it happens: a header
/// line naming the test, edition and seed, one line per event, and the digest line.
pub fn run_traced(test: &LabTest, edition: Edition, seed: u64, out: Box<dyn Write>) -> Outcome {
    let mut trace = Trace::to_writer(out);
    trace.comment(&trace_header(test.go_name, test.name, edition, seed));
    run_with(test, edition, seed, trace)
}

/// The first line of a run's trace.
pub fn trace_header(go_name: &str, name: &str, edition: Edition, seed: u64) -> String {
    format!(
        "trace of {go_name} ({name}) edition {} seed {seed}",
        edition.year()
    )
}

/// Runs `test` on `seed` in `edition`, recording into `trace` (which may write anywhere).
pub fn run_with(test: &LabTest, edition: Edition, seed: u64, trace: Trace) -> Outcome {
    let setup = (test.setup)(edition);
    let mut outcome = if test.runs_in(edition) {
        run_body_with(setup, edition, seed, trace, test.body)
    } else {
        let why = format!(
            "{} is not a test of the {} edition",
            test.go_name,
            edition.year()
        );
        run_body_with(setup, edition, seed, trace, |t| async move { t.fail(why) })
    };
    outcome.go_name = test.go_name;
    outcome.name = test.name;
    outcome
}

/// Runs any test body (a property test's schedule, a regression scenario) on a cluster built
/// by `setup`, exactly as the lab tests run.
pub fn run_body<F, Fut>(setup: Setup, edition: Edition, seed: u64, trace: bool, body: F) -> Outcome
where
    F: FnOnce(Tester) -> Fut,
    Fut: Future<Output = TestResult> + 'static,
{
    run_body_with(setup, edition, seed, Trace::new(trace), body)
}

/// Like [`run_body`], recording into `trace` (which may stream to a file).
pub fn run_body_with<F, Fut>(
    setup: Setup,
    edition: Edition,
    seed: u64,
    trace: Trace,
    body: F,
) -> Outcome
where
    F: FnOnce(Tester) -> Fut,
    Fut: Future<Output = TestResult> + 'static,
{
    run_tester(Tester::with_trace(setup, edition, seed, trace), seed, body)
}

/// Runs `body` on an already built tester, to completion, failure or the hard limit.
pub fn run_tester<F, Fut>(t: Tester, seed: u64, body: F) -> Outcome
where
    F: FnOnce(Tester) -> Fut,
    Fut: Future<Output = TestResult> + 'static,
{
    let edition = t.edition();
    let main = t.go(body(t.clone()));
    loop {
        t.executor().run_ready();
        if main.is_finished() || t.world().failure().is_some() {
            break;
        }
        if t.now() > HARD_LIMIT {
            t.world()
                .fail("still running after 600 s of virtual time".into());
            break;
        }
        let next = t.world().run_next();
        match next {
            Some(Some(waker)) => waker.wake(),
            Some(None) => {}
            None => {
                t.world()
                    .fail("simulation stalled: no event left to run".into());
                break;
            }
        }
    }
    let mut world = t.world();
    let trace_error = world.trace_mut().finish().err().map(Arc::new);
    let result = match (world.failure(), t.stats()) {
        (Some((message, time)), _) => Err(Failure {
            message: message.to_string(),
            time,
        }),
        (None, Some(stats)) => Ok(stats),
        (None, None) => Err(Failure {
            message: "test ended without calling end()".into(),
            time: world.now(),
        }),
    };
    Outcome {
        go_name: "custom",
        name: "custom",
        edition,
        seed,
        description: t.description(),
        result,
        invariant: world.violation(),
        sections: t.sections(),
        checks: t.checks(),
        virtual_time: world.now(),
        digest: world.trace().digest(),
        trace: world.trace().lines().to_vec(),
        trace_error,
    }
}
