//! Runs one lab test on one seed and edition, to completion or failure.

use crate::lab::LabTest;
use crate::linearizability::CheckStats;
use crate::tester::{Failure, Setup, Stats, TestResult, Tester};
use crate::world::{Edition, SimTime, MS};
use std::future::Future;

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
    /// Every section the test closed with `end` (one "Passed" line each; most tests have
    /// one).
    pub sections: Vec<Stats>,
    /// The linearizability checks the test ran (Lab 4).
    pub checks: Vec<CheckStats>,
    /// Virtual time at the end of the run.
    pub virtual_time: SimTime,
    /// Digest of the whole run's trace: equal digests, identical runs.
    pub digest: u64,
    /// The trace lines, if asked for.
    pub trace: Vec<String>,
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

/// Runs `test` on `seed` in `edition`; keeps the trace lines if `trace`.
pub fn run(test: &LabTest, edition: Edition, seed: u64, trace: bool) -> Outcome {
    let setup = (test.setup)(edition);
    let mut outcome = if test.runs_in(edition) {
        run_body(setup, edition, seed, trace, test.body)
    } else {
        let why = format!(
            "{} is not a test of the {} edition",
            test.go_name,
            edition.year()
        );
        run_body(setup, edition, seed, trace, |t| async move { t.fail(why) })
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
    let t = Tester::new(setup, edition, seed, trace);
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
    let world = t.world();
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
        sections: t.sections(),
        checks: t.checks(),
        virtual_time: world.now(),
        digest: world.trace().digest(),
        trace: world.trace().lines().to_vec(),
    }
}
